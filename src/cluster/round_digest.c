/* cluster: one anti-entropy round through the reference's digest protocol (a peer without our
 * Merkle routes, e.g. a reference node). Unlike the reference's worker (cluster.md §3.5, §3.8,
 * §8.1): pages are followed while has_more within the round's budget, the watermark moves past
 * a record we refuse (which goes to the quarantine instead of blocking the peer for good), and
 * pulls are split to the reference's 16 KiB body cap. */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster_int.h"

#define DIGEST_PAGE 1000
#define MAX_PAGES 256

static int cursor_cmp(const dmp_cluster_cursor_t *a, const dmp_cluster_cursor_t *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    size_t m = a->name_len < b->name_len ? a->name_len : b->name_len;
    int r = memcmp(a->name, b->name, m);
    if (r)
        return r;
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    if (a->has_hash != b->has_hash)
        return a->has_hash ? 1 : -1;
    return a->has_hash ? memcmp(a->hash, b->hash, 32) : 0;
}

int dmp_cluster__round_digest(dmp_cluster_t *c, peer_state_t *ps)
{
    ST_ADD(c, digest_rounds, 1);
    int64_t start = cl_now(c);
    int rc = 0;
    for (int page = 0; page < MAX_PAGES; page++) {
        if (cl_now(c) - start > c->env.round_budget_ms)
            break;
        char cur[400], path[512];
        rc = dmp_cluster_cursor_format(&ps->cursor, cur, sizeof(cur));
        if (rc != 0)
            return rc;
        /* names on the digest wire are [A-Za-z0-9._-]: the cursor needs no escaping */
        snprintf(path, sizeof(path), "/v1/sync/digest?cursor=%s&limit=%d", cur, DIGEST_PAGE);
        dmp_cluster_http_resp_t resp;
        rc = dmp_cluster__http(c, ps->p.url, path, NULL, 0, NULL, &resp);
        if (rc != 0)
            return rc;
        dmp_cluster_digest_t d;
        rc = resp.status == 200 ? dmp_cluster_digest_parse(resp.body, resp.len, &d)
                                : DMP_CLUSTER_EHTTP;
        dmp_cluster_http_resp_free(&resp);
        if (rc != 0)
            return rc;
        ST_ADD(c, rejected, d.rejected);
        if (d.n == 0) {
            dmp_cluster_digest_free(&d);
            break;
        }
        int64_t now = cl_now(c);
        wants_t ws = {0};
        for (size_t i = 0; i < d.n && rc == 0; i++) {
            const dmp_cluster_dentry_t *e = &d.e[i];
            /* ttl 0 is a hash-only entry: having the row at all is enough */
            dmp_cluster_state_t remote = {.present = true,
                                          .expires_ms = now + (int64_t)e->ttl * 1000};
            dmp_cluster_state_t local;
            /* digest names may carry capitals; the store lowercases them itself */
            rc = dmp_cluster__local_state(c, e->name, e->name_len, e->hash, now, &local);
            if (rc != 0)
                break;
            if (dmp_cluster_decide(&local, &remote) == DMP_CLUSTER_PULL &&
                !dmp_cluster__quarantined(c, e->name, e->name_len, e->hash))
                rc = dmp_cluster__wants_add(&ws, e->name, e->name_len, e->hash);
        }
        if (rc == 0)
            rc = dmp_cluster__pull_apply(c, ps->p.url, &ws, DMP_CLUSTER_PULL_BODY_REF);
        dmp_cluster__wants_free(&ws);
        if (rc == 0) {
            /* everything on this page is handled: present, applied, or quarantined */
            const dmp_cluster_dentry_t *last = &d.e[d.n - 1];
            dmp_cluster_cursor_t nc = {
                .ts = last->ts, .name_len = last->name_len, .has_hash = true};
            memcpy(nc.name, last->name, last->name_len);
            memcpy(nc.hash, last->hash, 32);
            if (cursor_cmp(&nc, &ps->cursor) > 0)
                ps->cursor = nc;
        }
        bool more = d.has_more;
        dmp_cluster_digest_free(&d);
        if (rc != 0 || !more)
            break;
    }
    return rc;
}
