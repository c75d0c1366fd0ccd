/* cluster: what an anti-entropy round uses: the quarantine of refused records, the peer
 * transport, pull pacing, refreshing the local Merkle tree from the store, the local state of a
 * (name, hash) pair, and pulling the wanted pairs from a peer and applying them through the node's
 * write path. The rounds (round_*.c) and the engine (engine.c) call in here; nothing here calls
 * back up into them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster_int.h"
#include "crypto/crypto.h"

/* ---- the local tree ---- */

int dmp_cluster_refresh(dmp_cluster_t *c, bool all)
{
    pthread_mutex_lock(&c->refresh_mu);
    int64_t now = cl_now(c);
    if (!all && now - c->last_full_refresh >= FULL_REFRESH_MS)
        all = true; /* the sweep changes leaves without touching them */
    int rc;
    if (all) {
        uint8_t(*leaves)[32] = malloc((size_t)DMP_CLUSTER_LEAVES * 32);
        rc = leaves ? dmp_store_bucket_digests(c->env.store, leaves) : DMP_ENOMEM;
        if (rc == 0)
            rc = dmp_cluster_tree_load(c->tree, (const uint8_t(*)[32])leaves);
        free(leaves);
    } else {
        rc = dmp_cluster_tree_refresh(c->tree, dmp_cluster_store_leaf, c->env.store, false);
    }
    if (rc == 0 && all)
        c->last_full_refresh = now;
    pthread_mutex_unlock(&c->refresh_mu);
    return rc;
}

/* ---- quarantine ---- */

static void quar_key(const char *name, size_t len, const uint8_t hash[32], uint8_t key[16])
{
    uint8_t buf[DMP_CLUSTER_NAME_MAX + 1 + 32], d[32];
    if (len > DMP_CLUSTER_NAME_MAX)
        len = DMP_CLUSTER_NAME_MAX;
    memcpy(buf, name, len);
    buf[len] = 0;
    memcpy(buf + len + 1, hash, 32);
    dmp_crypto_sha256(buf, len + 33, d);
    memcpy(key, d, 16);
}

bool dmp_cluster__quarantined(dmp_cluster_t *c, const char *name, size_t len,
                              const uint8_t hash[32])
{
    uint8_t k[16];
    quar_key(name, len, hash, k);
    size_t slot = dmp_load_u32be(k) % QUAR_SLOTS;
    pthread_mutex_lock(&c->mu);
    bool q = memcmp(c->quar[slot].key, k, 16) == 0 && c->quar[slot].until_ms > cl_now(c);
    pthread_mutex_unlock(&c->mu);
    return q;
}

void dmp_cluster__quarantine(dmp_cluster_t *c, const char *name, size_t len, const uint8_t hash[32])
{
    uint8_t k[16];
    quar_key(name, len, hash, k);
    size_t slot = dmp_load_u32be(k) % QUAR_SLOTS;
    pthread_mutex_lock(&c->mu);
    memcpy(c->quar[slot].key, k, 16);
    c->quar[slot].until_ms = cl_now(c) + QUAR_MS;
    pthread_mutex_unlock(&c->mu);
}

/* ---- transport ---- */

int dmp_cluster__http(dmp_cluster_t *c, const char *base_url, const char *path, const uint8_t *body,
                      size_t len, const char *ctype, dmp_cluster_http_resp_t *resp)
{
    if (atomic_load(&c->aborted))
        return DMP_EAGAIN;
    char url[DMP_CLUSTER_URL_MAX + 600];
    if (snprintf(url, sizeof(url), "%s%s", base_url, path) >= (int)sizeof(url))
        return DMP_ETOOBIG;
    int rc;
    if (c->env.http) {
        rc = c->env.http(c->env.http_ctx, url, body, len, ctype, resp);
    } else {
        dmp_cluster_http_opts_t o = {
            .token = c->token, .timeout_ms = c->env.timeout_ms, .max_response = 32u << 20};
        rc = dmp_cluster_http_request(&o, url, body, len, ctype, resp);
    }
    ST_ADD(c, bytes_out, len + strlen(path));
    if (rc == 0)
        ST_ADD(c, bytes_in, resp->len);
    return rc;
}

/* ---- pull pacing ---- */

#define PACE_STEP_MS 100 /* longest single wait: an abort is seen within this */

static void sleep_real(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int dmp_cluster__pace_wait(dmp_cluster_t *c)
{
    for (;;) {
        if (atomic_load(&c->aborted))
            return DMP_EAGAIN;
        pthread_mutex_lock(&c->pace_mu);
        int64_t d = dmp_cluster_pace_delay(&c->pace, cl_now(c));
        pthread_mutex_unlock(&c->pace_mu);
        if (d <= 0)
            return 0;
        if (d > PACE_STEP_MS)
            d = PACE_STEP_MS;
        if (c->env.sleep_ms)
            c->env.sleep_ms(c->env.sleep_ctx, d);
        else
            sleep_real(d);
    }
}

void dmp_cluster__pace_charge(dmp_cluster_t *c, uint64_t n)
{
    pthread_mutex_lock(&c->pace_mu);
    dmp_cluster_pace_charge(&c->pace, n, cl_now(c));
    pthread_mutex_unlock(&c->pace_mu);
}

/* ---- local state ---- */

typedef struct {
    const uint8_t *hash;
    bool found;
    int64_t exp;
} find_t;

static int find_hash(void *ctx, const char *name, size_t len, const dmp_store_record_t *r)
{
    (void)name;
    (void)len;
    find_t *f = ctx;
    if (memcmp(r->hash, f->hash, 32) == 0) {
        f->found = true;
        f->exp = r->expires_ms;
        return 1;
    }
    return 0;
}

int dmp_cluster__local_state(dmp_cluster_t *c, const char *name, size_t len, const uint8_t hash[32],
                             int64_t now_ms, dmp_cluster_state_t *out)
{
    memset(out, 0, sizeof(*out));
    find_t f = {.hash = hash};
    int rc = dmp_store_get(c->env.store, name, len, now_ms, find_hash, &f);
    if (rc != 0 && rc != DMP_ENOTFOUND)
        return rc;
    out->present = f.found;
    out->expires_ms = f.exp;
    if (c->env.tomb_get) {
        rc = c->env.tomb_get(c->idx_ctx, name, len, hash, &out->tombstone, &out->tomb_expires);
        if (rc != 0)
            return rc;
        if (out->tombstone && out->tomb_expires + DMP_CLUSTER_TTL_SLOP * 1000 < now_ms)
            out->tombstone = false; /* the deleted row would have expired by now */
    }
    return 0;
}

/* ---- wanted pairs, pull and apply ---- */

int dmp_cluster__wants_add(wants_t *ws, const char *name, size_t len, const uint8_t hash[32])
{
    if (len == 0 || len > DMP_CLUSTER_NAME_MAX)
        return DMP_EINVAL;
    if (ws->n == ws->cap) {
        size_t nc = ws->cap ? ws->cap * 2 : 256;
        want_t *nw = realloc(ws->w, nc * sizeof(*nw));
        if (!nw)
            return DMP_ENOMEM;
        ws->w = nw;
        ws->cap = nc;
    }
    want_t *w = &ws->w[ws->n++];
    memcpy(w->name, name, len);
    w->name[len] = '\0';
    w->name_len = len;
    memcpy(w->hash, hash, 32);
    return 0;
}

void dmp_cluster__wants_free(wants_t *ws)
{
    free(ws->w);
    memset(ws, 0, sizeof(*ws));
}

static int want_cmp(const void *a, const void *b)
{
    const want_t *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : memcmp(x->hash, y->hash, 32);
}

/* Applies changes; when a batch fails, one by one so one refused record does not hold back
 * the others (the refused one is quarantined). */
static int apply_batch(dmp_cluster_t *c, dmp_cluster_change_t *ch, size_t n, const uint8_t (*h)[32])
{
    if (n == 0)
        return 0;
    int rc = c->env.apply(c->env.ctx, ch, n);
    if (rc == 0) {
        ST_ADD(c, written, n);
        for (size_t i = 0; i < n; i++)
            dmp_cluster_tree_touch_name(c->tree, ch[i].name, ch[i].name_len);
        return 0;
    }
    if (rc == DMP_EIO || rc == DMP_EAGAIN || rc == DMP_ENOMEM)
        return rc; /* the node is in trouble: stop the round */
    for (size_t i = 0; i < n; i++) {
        int r1 = c->env.apply(c->env.ctx, &ch[i], 1);
        if (r1 == 0) {
            ST_ADD(c, written, 1);
            dmp_cluster_tree_touch_name(c->tree, ch[i].name, ch[i].name_len);
        } else if (r1 == DMP_EIO || r1 == DMP_EAGAIN || r1 == DMP_ENOMEM) {
            return r1;
        } else {
            ST_ADD(c, rejected, 1);
            dmp_cluster__quarantine(c, ch[i].name, ch[i].name_len, h[i]);
        }
    }
    return 0;
}

/* Verified records are handed to the write path in groups of up to APPLY_GROUP, gathered
 * over several pull pages (kept alive until applied): the write path acknowledges a group after
 * one WAL sync, so a backfill waits for one sync per group instead of one per page. */
#define APPLY_GROUP 4096
#define PAGE_MAX DMP_CLUSTER_PULL_MAX_NAMES /* records in one pull page (names asked) */
#define MAX_PAGES (APPLY_GROUP / 64)

typedef struct {
    dmp_cluster_change_t *ch;
    uint8_t (*hs)[32];
    size_t nch;
    dmp_cluster_pull_t *pages;
    size_t npages;
} group_t;

/* Applies the gathered changes; their pages stay alive. */
static int group_apply(dmp_cluster_t *c, group_t *g)
{
    int rc = apply_batch(c, g->ch, g->nch, (const uint8_t(*)[32])g->hs);
    g->nch = 0;
    return rc;
}

/* Applies the gathered changes and frees their pages. */
static int group_flush(dmp_cluster_t *c, group_t *g)
{
    int rc = group_apply(c, g);
    for (size_t i = 0; i < g->npages; i++)
        dmp_cluster_pull_free(&g->pages[i]);
    g->npages = 0;
    return rc;
}

int dmp_cluster__pull_apply(dmp_cluster_t *c, const char *base_url, wants_t *ws, size_t body_cap)
{
    if (ws->n == 0)
        return 0;
    qsort(ws->w, ws->n, sizeof(*ws->w), want_cmp);
    /* distinct names, in order */
    const char **names = malloc(ws->n * sizeof(*names));
    size_t *lens = malloc(ws->n * sizeof(*lens));
    group_t g = {.ch = malloc(APPLY_GROUP * sizeof(*g.ch)),
                 .hs = malloc(APPLY_GROUP * 32),
                 .pages = calloc(MAX_PAGES, sizeof(*g.pages))};
    int rc = 0;
    if (!names || !lens || !g.ch || !g.hs || !g.pages) {
        rc = DMP_ENOMEM;
        goto out;
    }
    size_t nn = 0;
    for (size_t i = 0; i < ws->n; i++)
        if (nn == 0 || strcmp(names[nn - 1], ws->w[i].name) != 0) {
            names[nn] = ws->w[i].name;
            lens[nn++] = ws->w[i].name_len;
        }
    int64_t now_s = cl_now(c) / 1000;
    for (size_t off = 0; off < nn && rc == 0;) {
        dmp_buf_t req;
        dmp_buf_init(&req);
        size_t taken = 0;
        rc = dmp_cluster_pull_req_encode(names + off, lens + off, nn - off, body_cap, &req, &taken);
        if (rc != 0) {
            dmp_buf_free(&req);
            break;
        }
        dmp_cluster_http_resp_t resp;
        rc = dmp_cluster__pace_wait(c); /* DMP_SYNC_PULL_RATE */
        if (rc == 0)
            rc = dmp_cluster__http(c, base_url, "/v1/sync/pull", req.data, req.len,
                                   "application/json", &resp);
        dmp_buf_free(&req);
        if (rc != 0)
            break;
        dmp_cluster_pull_t *pr = &g.pages[g.npages];
        if (resp.status != 200) {
            rc = DMP_CLUSTER_EHTTP;
        } else {
            rc = dmp_cluster_pull_parse(resp.body, resp.len, pr);
        }
        dmp_cluster_http_resp_free(&resp);
        if (rc != 0)
            break;
        dmp_cluster__pace_charge(c, pr->n);
        g.npages++;
        ST_ADD(c, rejected, pr->rejected);
        for (size_t i = 0; i < pr->n && rc == 0; i++) {
            dmp_cluster_precord_t *r = &pr->r[i];
            want_t key;
            memset(&key, 0, sizeof(key));
            memcpy(key.name, r->name, r->name_len);
            key.name_len = r->name_len;
            dmp_crypto_sha256(r->value, r->value_len, key.hash);
            /* only what we asked for: the requested name and an advertised hash (extra values
             * at a requested name are ones we have already) */
            if (!bsearch(&key, ws->w, ws->n, sizeof(*ws->w), want_cmp))
                continue;
            /* expired at the peer but not yet swept there (pulls list such rows until the
             * sweep removes them): copying it would store a row our sweep just removed, and
             * nodes could hand an expired record back and forth */
            if (r->ttl == 0)
                continue;
            ST_ADD(c, pulled, 1);
            const char *why = NULL;
            if (dmp_cluster_verify_record(r->name, r->name_len, r->value, r->value_len,
                                          c->has_spk ? c->spk : NULL, now_s, &why) != 0) {
                ST_ADD(c, rejected, 1);
                dmp_cluster__quarantine(c, r->name, r->name_len, key.hash);
                dmp_debug("anti-entropy: refused %s from %s: %s", r->name, base_url, why);
                continue;
            }
            g.ch[g.nch] = (dmp_cluster_change_t){.name = r->name,
                                                 .name_len = r->name_len,
                                                 .value = r->value,
                                                 .value_len = r->value_len,
                                                 .ttl = r->ttl};
            memcpy(g.hs[g.nch], key.hash, 32);
            if (++g.nch == APPLY_GROUP)
                rc = group_apply(c, &g); /* a page bigger than asked for: apply mid-page */
        }
        off += taken;
        /* room for one more full page of records, and for its parsed page */
        if (rc == 0 && (g.nch + PAGE_MAX > APPLY_GROUP || g.npages == MAX_PAGES))
            rc = group_flush(c, &g);
    }
    if (rc == 0)
        rc = group_flush(c, &g);
out:
    if (g.pages)
        for (size_t i = 0; i < g.npages; i++)
            dmp_cluster_pull_free(&g.pages[i]);
    free(names);
    free(lens);
    free(g.ch);
    free(g.hs);
    free(g.pages);
    return rc;
}
