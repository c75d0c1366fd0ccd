/* cluster: one anti-entropy round with a peer that speaks our Merkle protocol: compare trees,
 * list the differing buckets on both sides, pull what we lack, apply the peer's tombstones. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster/cluster_int.h"

/* buckets per leaf request: a slow peer still answers well inside the request timeout */
#define LEAF_BATCH 128
#define LEAF_BODY_MAX 65536u /* a leaf request stays under the peer's sync body cap */
#define MAX_PASSES 64        /* passes of one round (each pulls at most max_pull_records) */
_Static_assert(LEAF_BODY_MAX + 4 + DMP_CLUSTER_HAVE_BYTES <= DMP_CLUSTER_PULL_BODY_MAX,
               "leaf requests fit the sync routes' body cap");

/* Our live rows of one bucket as a have-list (keys under the request's salt). */
typedef struct {
    dmp_cluster_have_t *h;
    size_t n, cap;
    const uint8_t *salt;
    int rc;
} have_ctx_t;

static int have_visit(void *ctx, const dmp_cluster_leaf_entry_t *e)
{
    have_ctx_t *hc = ctx;
    if (e->tombstone)
        return 0;
    if (hc->n == hc->cap) {
        size_t nc = hc->cap ? hc->cap * 2 : 64;
        dmp_cluster_have_t *nh = realloc(hc->h, nc * sizeof(*nh));
        if (!nh) {
            hc->rc = DMP_ENOMEM;
            return 1;
        }
        hc->h = nh;
        hc->cap = nc;
    }
    hc->h[hc->n++] = (dmp_cluster_have_t){
        .key = dmp_cluster_have_key(hc->salt, e->name, e->name_len, e->hash), .ttl = e->ttl};
    return 0;
}

/* Encodes the next leaf request (version 2) for buckets[*off..]: as many buckets as fit in
 * LEAF_BATCH and LEAF_BODY_MAX, each with our have-list; req gets the buckets. */
static int build_leaf_req(dmp_cluster_t *c, const uint16_t *buckets, size_t nb, size_t *off,
                          int64_t now, dmp_cluster_mreq_t *req, dmp_buf_t *b)
{
    uint8_t salt[16];
    randombytes_buf(salt, sizeof(salt));
    req->level = DMP_CLUSTER_DEPTH;
    req->n = 0;
    have_ctx_t hc = {.salt = salt};
    int rc = dmp_cluster_lreq2_begin(b, salt);
    while (rc == 0 && *off < nb && req->n < LEAF_BATCH) {
        hc.n = 0;
        rc = c->env.list_bucket(c->idx_ctx, buckets[*off], now, have_visit, &hc);
        if (rc == 0)
            rc = hc.rc;
        if (rc != 0)
            break;
        size_t need = 4 + hc.n * DMP_CLUSTER_HAVE_BYTES, k = hc.n;
        if (b->len + need > LEAF_BODY_MAX) {
            if (req->n > 0)
                break; /* the next request takes it */
            k = (LEAF_BODY_MAX - b->len - 4) / DMP_CLUSTER_HAVE_BYTES; /* a hint: shortened */
        }
        rc = dmp_cluster_lreq2_bucket(b, buckets[*off], hc.h, k);
        req->idx[req->n++] = buckets[(*off)++];
    }
    if (rc == 0)
        rc = dmp_cluster_lreq2_end(b, req->n);
    free(hc.h);
    return rc;
}

typedef struct {
    dmp_cluster_t *c;
    const char *url;
} remote_ctx_t;

static int remote_children(void *ctx, const dmp_cluster_mreq_t *req, uint8_t root[32],
                           uint8_t (*children)[DMP_CLUSTER_FANOUT][32])
{
    remote_ctx_t *r = ctx;
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_cluster_mreq_encode(req, &b);
    if (rc != 0)
        return rc;
    dmp_cluster_http_resp_t resp;
    rc = dmp_cluster__http(r->c, r->url, "/v1/sync/merkle", b.data, b.len,
                           "application/octet-stream", &resp);
    dmp_buf_free(&b);
    if (rc != 0)
        return rc;
    if (resp.status == 404 || resp.status == 405)
        rc = DMP_EUNSUPPORTED; /* a reference node: use the digest protocol */
    else if (resp.status != 200)
        rc = DMP_CLUSTER_EHTTP;
    else
        rc = dmp_cluster_mresp_parse(resp.body, resp.len, req, root, children);
    dmp_cluster_http_resp_free(&resp);
    return rc;
}

/* Deletes our copy of (name, hash) through the write path (a peer's tombstone covers it). */
typedef struct {
    const uint8_t *hash;
    uint8_t *value;
    size_t len;
    bool found;
} grab_t;

static int grab(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    grab_t *g = ctx;
    if (memcmp(r->hash, g->hash, 32) != 0)
        return 0;
    g->value = malloc(r->value_len ? r->value_len : 1);
    if (g->value) {
        memcpy(g->value, r->value, r->value_len);
        g->len = r->value_len;
        g->found = true;
    }
    return 1;
}

static int delete_local(dmp_cluster_t *c, const dmp_cluster_leaf_entry_t *e, int64_t now)
{
    grab_t g = {.hash = e->hash};
    int rc = dmp_store_get(c->env.store, e->name, e->name_len, now, grab, &g);
    if (rc == DMP_ENOTFOUND || (rc == 0 && !g.found))
        return 0;
    if (rc != 0)
        return rc;
    dmp_cluster_change_t ch = {.del = true,
                               .name = e->name,
                               .name_len = e->name_len,
                               .value = g.value,
                               .value_len = g.len};
    rc = c->env.apply(c->env.ctx, &ch, 1);
    free(g.value);
    if (rc == 0) {
        ST_ADD(c, deleted, 1);
        dmp_cluster_tree_touch_name(c->tree, e->name, e->name_len);
    }
    return rc == DMP_ENOTFOUND ? 0 : rc;
}

/* One pass: compare trees, list the differing buckets (up to the pull cap), pull, apply.
 * *more: the pass stopped at a bound (differing buckets, pulls), so another pass has work. */
static int merkle_pass(dmp_cluster_t *c, peer_state_t *ps, uint16_t *buckets, bool first,
                       bool *more)
{
    *more = false;
    int rc = dmp_cluster_refresh(c, false);
    if (rc != 0)
        return rc;
    remote_ctx_t rctx = {.c = c, .url = ps->p.url};
    dmp_cluster_remote_t rem = {.children = remote_children, .ctx = &rctx};
    size_t nb = 0;
    bool truncated = false;
    rc = dmp_cluster_tree_diff(c->tree, &rem, buckets, c->env.max_diff_buckets, &nb, &truncated,
                               NULL);
    if (rc != 0)
        return rc;
    if (nb == 0) {
        if (first)
            ST_ADD(c, in_sync, 1);
        return 0;
    }
    wants_t ws = {0};
    dmp_cluster_mreq_t *req = malloc(sizeof(*req));
    if (!req)
        return DMP_ENOMEM;
    int64_t now = cl_now(c);
    size_t off = 0;
    /* listing more buckets than this pass can pull would only be listed again next pass */
    while (off < nb && rc == 0 && ws.n < c->env.max_pull_records) {
        rc = dmp_cluster__pace_wait(c); /* the last pulls are paid for before listing more */
        if (rc != 0)
            break;
        now = cl_now(c);
        dmp_buf_t b;
        dmp_buf_init(&b);
        rc = build_leaf_req(c, buckets, nb, &off, now, req, &b);
        dmp_cluster_http_resp_t resp;
        if (rc == 0)
            rc = dmp_cluster__http(c, ps->p.url, "/v1/sync/merkle-leaf", b.data, b.len,
                                   "application/octet-stream", &resp);
        dmp_buf_free(&b);
        if (rc != 0)
            break;
        dmp_cluster_leaves_t l = {0};
        rc = resp.status == 200 ? dmp_cluster_lresp_parse(resp.body, resp.len, req, &l)
                                : DMP_CLUSTER_EHTTP;
        dmp_cluster_http_resp_free(&resp);
        for (size_t i = 0; i < l.n && rc == 0; i++) {
            const dmp_cluster_leaf_entry_t *e = &l.e[i];
            int64_t rexp = now + (int64_t)e->ttl * 1000;
            dmp_cluster_state_t remote = {.present = !e->tombstone,
                                          .expires_ms = rexp,
                                          .tombstone = e->tombstone,
                                          .tomb_expires = rexp};
            dmp_cluster_state_t local;
            rc = dmp_cluster__local_state(c, e->name, e->name_len, e->hash, now, &local);
            if (rc != 0)
                break;
            switch (dmp_cluster_decide(&local, &remote)) {
            case DMP_CLUSTER_PULL:
                if (ws.n >= c->env.max_pull_records)
                    *more = true;
                else if (!dmp_cluster__quarantined(c, e->name, e->name_len, e->hash))
                    rc = dmp_cluster__wants_add(&ws, e->name, e->name_len, e->hash);
                break;
            case DMP_CLUSTER_DELETE:
                rc = delete_local(c, e, now);
                break;
            default:
                break;
            }
        }
        dmp_cluster_leaves_free(&l);
    }
    if (off < nb || truncated)
        *more = true;
    if (rc == 0)
        rc = dmp_cluster__pull_apply(c, ps->p.url, &ws, DMP_CLUSTER_PULL_BODY_MAX);
    if (ws.n == 0)
        *more = false; /* nothing pulled (all quarantined or covered): another pass repeats it */
    dmp_cluster__wants_free(&ws);
    free(req);
    return rc;
}

int dmp_cluster__round_merkle(dmp_cluster_t *c, peer_state_t *ps)
{
    uint16_t *buckets = malloc(c->env.max_diff_buckets * sizeof(*buckets));
    if (!buckets)
        return DMP_ENOMEM;
    int64_t start = cl_now(c);
    bool more = false;
    int rc = merkle_pass(c, ps, buckets, true, &more);
    if (rc == 0)
        ST_ADD(c, merkle_rounds, 1);
    /* catching up (a backfill, a long partition): more passes, each bounded by the pull cap.
     * Unpaced, while the round's budget lasts (the applying node's writes are the slow part,
     * so the serving peer sees a few reads per pass). Paced (DMP_SYNC_PULL_RATE), until caught
     * up: the pace already bounds what the peer serves, and a budget would make a backfill
     * wait DMP_SYNC_INTERVAL every few passes. At most MAX_PASSES either way. */
    bool paced = c->env.pull_rate > 0;
    for (int pass = 1; rc == 0 && more && pass < MAX_PASSES; pass++) {
        if (!paced && cl_now(c) - start >= c->env.round_budget_ms)
            break;
        rc = merkle_pass(c, ps, buckets, false, &more);
    }
    free(buckets);
    return rc;
}
