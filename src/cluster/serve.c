/* cluster: the server side of the sync routes — the reference's /v1/sync/digest, /v1/sync/pull
 * and /v1/sync/cluster-manifest (cluster.md §3.4) and our /v1/sync/merkle(-leaf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_int.h"
#include "wire/wire.h"

static const char JSON[] = "application/json";
static const char BIN[] = "application/octet-stream";

bool dmp_cluster_is_sync_path(const char *p)
{
    return p && (strcmp(p, "/v1/sync/digest") == 0 || strcmp(p, "/v1/sync/pull") == 0 ||
                 strcmp(p, "/v1/sync/cluster-manifest") == 0 || strcmp(p, "/v1/sync/merkle") == 0 ||
                 strcmp(p, "/v1/sync/merkle-leaf") == 0);
}

void dmp_cluster_reply_free(dmp_cluster_reply_t *r)
{
    if (r)
        dmp_buf_free(&r->body);
}

static int reply_error(dmp_cluster_reply_t *r, int status, const char *msg)
{
    r->status = status;
    r->content_type = JSON;
    r->body.len = 0;
    /* messages are fixed ASCII strings without quotes or backslashes */
    int rc = dmp_buf_append_str(&r->body, "{\"error\": \"");
    if (rc == 0)
        rc = dmp_buf_append_str(&r->body, msg);
    if (rc == 0)
        rc = dmp_buf_append_str(&r->body, "\"}");
    return rc;
}

static uint32_t ttl_left(int64_t expires_ms, int64_t now)
{
    int64_t t = (expires_ms - now) / 1000;
    return t < 1 ? 1 : t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* ---- digest ---- */

typedef struct {
    dmp_cluster_digest_writer_t w;
    size_t n, limit;
    bool more;
    int64_t now;
    int rc;
} digest_ctx_t;

static int digest_visit(void *ctx, const char *name, size_t len, const dmp_store_record_t *r)
{
    digest_ctx_t *d = ctx;
    if (d->n == d->limit) {
        d->more = true;
        return 1;
    }
    if (len > DMP_CLUSTER_NAME_MAX)
        return 0;
    d->rc = dmp_cluster_digest_writer_add(&d->w, name, len, r->hash, r->stored_ms,
                                          ttl_left(r->expires_ms, d->now));
    if (d->rc == DMP_EFORMAT)
        d->rc = 0; /* a name that is not UTF-8 cannot be listed */
    d->n++;
    return d->rc != 0;
}

static int serve_digest(dmp_cluster_t *c, const dmp_cluster_query_t *q, dmp_cluster_reply_t *r)
{
    dmp_cluster_cursor_t cur;
    size_t lim;
    char msg[100];
    int rc = dmp_cluster_digest_query(q ? q->cursor : NULL, q ? q->since : NULL,
                                      q ? q->limit : NULL, &cur, &lim, msg, sizeof(msg));
    if (rc == DMP_CLUSTER_EREQUEST)
        return reply_error(r, 400, msg);
    if (rc != 0)
        return rc;
    digest_ctx_t d = {.limit = lim, .now = cl_now(c)};
    rc = dmp_cluster_digest_writer_init(&d.w);
    if (rc != 0)
        return rc;
    char cname[DMP_CLUSTER_NAME_MAX + 2];
    memcpy(cname, cur.name, cur.name_len);
    cname[cur.name_len] = '\0';
    rc = dmp_store_iter_since(c->env.store, cur.ts, cname, cur.has_hash ? cur.hash : NULL, lim + 1,
                              d.now, digest_visit, &d);
    if (rc == 0)
        rc = d.rc;
    if (rc == 0) {
        r->status = 200;
        r->content_type = JSON;
        rc = dmp_cluster_digest_writer_finish(&d.w, d.more, &cur, &r->body);
    } else {
        rc = reply_error(r, 500, "internal error");
    }
    dmp_cluster_digest_writer_free(&d.w);
    return rc;
}

/* ---- pull ---- */

typedef struct {
    dmp_cluster_pull_writer_t w;
    int64_t now;
    int rc;
} pull_ctx_t;

static int pull_visit(void *ctx, const char *name, size_t len, const dmp_store_record_t *r)
{
    pull_ctx_t *p = ctx;
    /* a row with less than a second left is not handed out: the wire's TTL is whole seconds of
     * at least 1, so it would live up to a second longer at the puller, and two peers pulling it
     * back from each other after each sweep could keep an expired record alive for ever */
    if (r->expires_ms - p->now < 1000)
        return 0;
    int rc = dmp_cluster_pull_writer_add(&p->w, name, len, r->value, r->value_len,
                                         ttl_left(r->expires_ms, p->now));
    if (rc != 0 && rc != DMP_EFORMAT) {
        p->rc = rc;
        return 1;
    }
    return 0;
}

static int serve_pull(dmp_cluster_t *c, const uint8_t *body, size_t len, dmp_cluster_reply_t *r)
{
    if (len > DMP_CLUSTER_PULL_BODY_MAX)
        return reply_error(r, 400, "invalid body");
    dmp_cluster_names_t nm;
    char msg[100];
    int rc = dmp_cluster_pull_req_parse(body, len, &nm, msg, sizeof(msg));
    if (rc == DMP_CLUSTER_EREQUEST)
        return reply_error(r, 400, msg);
    if (rc != 0)
        return rc;
    pull_ctx_t p = {.now = cl_now(c)};
    rc = dmp_cluster_pull_writer_init(&p.w);
    if (rc == 0 && nm.n > 0)
        rc = dmp_store_get_names(c->env.store, (const char *const *)nm.names, nm.lens, nm.n, p.now,
                                 pull_visit, &p);
    if (rc == 0)
        rc = p.rc;
    if (rc == 0) {
        r->status = 200;
        r->content_type = JSON;
        rc = dmp_cluster_pull_writer_finish(&p.w, &r->body);
    } else if (rc != DMP_ENOMEM) {
        rc = reply_error(r, 500, "internal error");
    }
    dmp_cluster_pull_writer_free(&p.w);
    dmp_cluster_names_free(&nm);
    return rc;
}

/* ---- cluster manifest ---- */

typedef struct {
    dmp_cluster_t *c;
    int64_t now_s;
    int64_t best_seq;
    uint64_t exp;
    dmp_buf_t wire;
    char name[DMP_WIRE_DOMAIN_MAX + 1];
} manifest_ctx_t;

/* Structural peek of the reference's endpoint without a pinned key (§3.4.3): seq at body[7:15],
 * exp at body[15:23], name at body[56 : 56 + body[55]]. */
static bool peek_manifest(const uint8_t *v, size_t len, uint64_t *seq, uint64_t *exp, char *name,
                          size_t cap)
{
    static const char prefix[] = "v=dmp1;t=cluster;";
    size_t pl = sizeof(prefix) - 1;
    if (len < pl || memcmp(v, prefix, pl) != 0)
        return false;
    dmp_buf_t b;
    dmp_buf_init(&b);
    bool ok = dmp_b64_decode((const char *)v + pl, len - pl, DMP_B64_STRICT, &b) == 0 &&
              b.len >= 56 + 64 && 56 + (size_t)b.data[55] <= b.len && b.data[55] < cap;
    if (ok) {
        *seq = dmp_load_u64be(b.data + 7);
        *exp = dmp_load_u64be(b.data + 15);
        size_t nl = b.data[55];
        memcpy(name, b.data + 56, nl);
        while (nl > 0 && name[nl - 1] == '.')
            nl--;
        name[nl] = '\0';
    }
    dmp_buf_free(&b);
    return ok;
}

static int manifest_visit(void *ctx, const char *name, size_t len, const dmp_store_record_t *r)
{
    (void)name;
    (void)len;
    manifest_ctx_t *m = ctx;
    uint64_t seq, exp;
    char cname[DMP_WIRE_DOMAIN_MAX + 1];
    if (m->c->has_spk) {
        dmp_wire_cluster_t cl;
        if (dmp_wire_cluster_parse(r->value, r->value_len, m->c->spk, m->now_s, m->c->base, &cl) !=
            0)
            return 0;
        seq = cl.seq;
        exp = cl.exp;
        snprintf(cname, sizeof(cname), "%s", cl.cluster_name);
    } else if (!peek_manifest(r->value, r->value_len, &seq, &exp, cname, sizeof(cname))) {
        return 0;
    }
    if (seq > INT64_MAX || (int64_t)seq <= m->best_seq)
        return 0; /* strict: ties keep the first in store order */
    m->best_seq = (int64_t)seq;
    m->exp = exp;
    m->wire.len = 0;
    dmp_buf_append(&m->wire, r->value, r->value_len);
    snprintf(m->name, sizeof(m->name), "%s", cname);
    return 0;
}

/* Best stored manifest at cluster.<base> (verified when a key is pinned). *seq = -1: none. */
static int best_manifest(dmp_cluster_t *c, manifest_ctx_t *m)
{
    memset(m, 0, sizeof(*m));
    m->c = c;
    m->best_seq = -1;
    m->now_s = cl_now(c) / 1000;
    dmp_buf_init(&m->wire);
    char owner[DMP_WIRE_NAME_MAX];
    if (!c->base || dmp_wire_name_cluster(c->base, owner, sizeof(owner)) != 0)
        return 0;
    int rc = dmp_store_get(c->env.store, owner, strlen(owner), cl_now(c), manifest_visit, m);
    return rc == DMP_ENOTFOUND ? 0 : rc;
}

int dmp_cluster__best_seq(dmp_cluster_t *c, int64_t *seq)
{
    manifest_ctx_t m;
    int rc = best_manifest(c, &m);
    *seq = m.best_seq;
    dmp_buf_free(&m.wire);
    return rc;
}

int dmp_cluster__best_wire(dmp_cluster_t *c, dmp_buf_t *wire, int64_t *seq)
{
    manifest_ctx_t m;
    int rc = best_manifest(c, &m);
    *seq = m.best_seq;
    if (rc == 0 && m.best_seq >= 0)
        rc = dmp_buf_append(wire, m.wire.data, m.wire.len);
    dmp_buf_free(&m.wire);
    return rc;
}

static int serve_manifest(dmp_cluster_t *c, dmp_cluster_reply_t *r)
{
    manifest_ctx_t m;
    int rc = best_manifest(c, &m);
    if (rc == 0 && m.best_seq >= 0) {
        r->status = 200;
        r->content_type = JSON;
        rc = dmp_cluster_manifest_resp_encode((const char *)m.wire.data, m.wire.len,
                                              (uint64_t)m.best_seq, m.exp, m.name, &r->body);
        if (rc == DMP_EFORMAT) {
            r->status = 204;
            r->body.len = 0;
            rc = 0;
        }
    } else if (rc == 0) {
        r->status = 204;
        r->content_type = JSON;
    }
    dmp_buf_free(&m.wire);
    return rc;
}

/* ---- Merkle ---- */

typedef struct {
    dmp_cluster_lresp_t *w;
    const dmp_cluster_lhave_t *have; /* version-2 request: the requester's have-list */
    size_t i;                        /* the request's bucket number */
    int rc;
} leaf_ctx_t;

static int leaf_visit(void *ctx, const dmp_cluster_leaf_entry_t *e)
{
    leaf_ctx_t *l = ctx;
    if (l->have && dmp_cluster_lhave_covers(l->have, l->i, e))
        return 0; /* the requester holds it, at least as long */
    l->rc = dmp_cluster_lresp_entry(l->w, e);
    return l->rc != 0;
}

static int serve_merkle(dmp_cluster_t *c, bool leaf, const uint8_t *body, size_t len,
                        dmp_cluster_reply_t *r)
{
    dmp_cluster_mreq_t *q = malloc(sizeof(*q));
    dmp_cluster_lhave_t *have = NULL;
    if (!q)
        return DMP_ENOMEM;
    int rc;
    if (leaf && len > 0 && body[0] == DMP_CLUSTER_LEAF_VERSION) {
        have = malloc(sizeof(*have));
        rc = have ? dmp_cluster_lreq2_parse(body, len, q, have) : DMP_ENOMEM;
    } else {
        rc = leaf ? dmp_cluster_lreq_parse(body, len, q) : dmp_cluster_mreq_parse(body, len, q);
    }
    if (rc != 0) {
        free(q);
        free(have);
        return rc == DMP_ENOMEM ? rc : reply_error(r, 400, "invalid body");
    }
    if (!leaf) {
        if (q->level == 0)
            dmp_cluster_refresh(c, false); /* answer with what was written until now */
        r->status = 200;
        r->content_type = BIN;
        rc = dmp_cluster_mresp_build(c->tree, q, &r->body);
        free(q);
        return rc;
    }
    dmp_cluster_lresp_t w;
    rc = dmp_cluster_lresp_begin(&w, &r->body, q->n, 32u << 20);
    int64_t now = cl_now(c);
    for (size_t i = 0; i < q->n && rc == 0; i++) {
        rc = dmp_cluster_lresp_bucket(&w, q->idx[i]);
        leaf_ctx_t l = {.w = &w, .have = have, .i = i};
        if (rc == 0)
            rc = c->env.list_bucket(c->idx_ctx, q->idx[i], now, leaf_visit, &l);
        if (rc == 0)
            rc = l.rc;
    }
    if (rc == 0)
        rc = dmp_cluster_lresp_end(&w);
    free(q);
    free(have);
    if (rc == 0) {
        r->status = 200;
        r->content_type = BIN;
        return 0;
    }
    return rc == DMP_ENOMEM ? rc : reply_error(r, 500, "internal error");
}

int dmp_cluster_serve(dmp_cluster_t *c, const char *method, const char *path,
                      const dmp_cluster_query_t *q, const char *authorization, const uint8_t *body,
                      size_t len, dmp_cluster_reply_t *r)
{
    if (!c || !method || !path || !r)
        return DMP_EINVAL;
    memset(r, 0, sizeof(*r));
    dmp_buf_init(&r->body);
    if (!dmp_cluster_is_sync_path(path))
        return reply_error(r, 404, "not found");
    if (!dmp_cluster_auth_ok(authorization, c->token))
        return reply_error(r, 403, "forbidden");
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(path, "/v1/sync/digest") == 0 && get)
        return serve_digest(c, q, r);
    if (strcmp(path, "/v1/sync/cluster-manifest") == 0 && get)
        return serve_manifest(c, r);
    if (strcmp(path, "/v1/sync/pull") == 0 && post)
        return serve_pull(c, body, len, r);
    if (!c->env.list_bucket) /* no bucket listing: do not advertise the Merkle protocol */
        return reply_error(r, 404, "not found");
    if (strcmp(path, "/v1/sync/merkle") == 0 && post)
        return serve_merkle(c, false, body, len, r);
    if (strcmp(path, "/v1/sync/merkle-leaf") == 0 && post)
        return serve_merkle(c, true, body, len, r);
    return reply_error(r, 405, "method not allowed");
}
