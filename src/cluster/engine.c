/* cluster: the anti-entropy engine — peers, round robin with back-off, quarantine of refused
 * records, pulling and applying through the node's write path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cluster/cluster_int.h"
#include "crypto/crypto.h"

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

/* The store's bucket indexes as the engine's callbacks (ctx is ignored: the store comes from
 * the environment, reached through the engine itself). */
typedef struct {
    dmp_cluster_entry_fn fn;
    void *fctx;
    int64_t now;
} bucket_fwd_t;

static int bucket_fwd(void *ctx, const char *name, size_t len, const uint8_t hash[32],
                      int64_t expires_ms, bool tombstone)
{
    bucket_fwd_t *f = ctx;
    if (len == 0 || len > DMP_CLUSTER_NAME_MAX)
        return 0;
    dmp_cluster_leaf_entry_t e = {.name_len = len, .tombstone = tombstone};
    memcpy(e.name, name, len);
    memcpy(e.hash, hash, 32);
    int64_t left = (expires_ms - f->now) / 1000;
    e.ttl = left < 0 ? 0 : left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    return f->fn(f->fctx, &e);
}

static int store_list_bucket(void *ctx, uint32_t bucket, int64_t now_ms, dmp_cluster_entry_fn fn,
                             void *fctx)
{
    dmp_cluster_t *c = ctx;
    bucket_fwd_t f = {.fn = fn, .fctx = fctx, .now = now_ms};
    return dmp_store_bucket_scan(c->env.store, bucket, now_ms, bucket_fwd, &f);
}

static int store_tomb_get(void *ctx, const char *lname, size_t len, const uint8_t hash[32],
                          bool *found, int64_t *tomb_expires_ms)
{
    dmp_cluster_t *c = ctx;
    return dmp_store_tomb_get(c->env.store, lname, len, hash, cl_now(c), found, tomb_expires_ms);
}

int dmp_cluster_new(const dmp_cluster_env_t *env, dmp_cluster_t **out)
{
    if (!env || !out || !env->store || !env->apply || !env->clock.now_ms)
        return DMP_EINVAL;
    dmp_cluster_t *c = calloc(1, sizeof(*c));
    if (!c)
        return DMP_ENOMEM;
    c->env = *env;
    c->token = dup_or_null(env->token);
    c->base = dup_or_null(env->base_domain);
    c->self_url = dup_or_null(env->self_url);
    c->self_id = dup_or_null(env->self_id);
    c->env.token = c->token;
    c->env.base_domain = c->base;
    c->env.self_url = c->self_url;
    c->env.self_id = c->self_id;
    if (env->operator_spk) {
        memcpy(c->spk, env->operator_spk, 32);
        c->has_spk = true;
        c->env.operator_spk = c->spk;
    }
    if (!c->env.timeout_ms)
        c->env.timeout_ms = 5000;
    if (!c->env.max_diff_buckets)
        c->env.max_diff_buckets = 4096;
    if (!c->env.max_pull_records)
        c->env.max_pull_records = 20000;
    if (!c->env.round_budget_ms)
        c->env.round_budget_ms = 10000;
    if (env->store_index) {
        c->env.list_bucket = store_list_bucket;
        c->env.tomb_get = store_tomb_get;
    }
    c->idx_ctx = env->store_index ? (void *)c : env->ctx;
    c->installed_seq = -1;
    c->quar = calloc(QUAR_SLOTS, sizeof(*c->quar));
    int rc = c->quar ? dmp_cluster_tree_new(&c->tree) : DMP_ENOMEM;
    if (rc != 0) {
        dmp_cluster_free(c);
        return rc;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->refresh_mu, NULL);
    pthread_mutex_init(&c->pace_mu, NULL);
    dmp_cluster_pace_init(&c->pace, env->pull_rate, cl_now(c));
    *out = c;
    return 0;
}

void dmp_cluster_free(dmp_cluster_t *c)
{
    if (!c)
        return;
    dmp_cluster_tree_free(c->tree);
    free(c->peers);
    free(c->quar);
    if (c->token) {
        sodium_memzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->base);
    free(c->self_url);
    free(c->self_id);
    free(c);
}

void dmp_cluster_abort(dmp_cluster_t *c)
{
    if (c)
        atomic_store(&c->aborted, true);
}

dmp_cluster_tree_t *dmp_cluster_get_tree(dmp_cluster_t *c)
{
    return c ? c->tree : NULL;
}

void dmp_cluster_get_stats(dmp_cluster_t *c, dmp_cluster_stats_t *o)
{
    memset(o, 0, sizeof(*o));
#define LD(f) o->f = atomic_load_explicit(&c->st.f, memory_order_relaxed)
    LD(rounds);
    LD(merkle_rounds);
    LD(digest_rounds);
    LD(in_sync);
    LD(pulled);
    LD(written);
    LD(rejected);
    LD(deleted);
    LD(errors);
    LD(bytes_in);
    LD(bytes_out);
    LD(gossip_installed);
#undef LD
}

size_t dmp_cluster_get_peer_stats(dmp_cluster_t *c, dmp_cluster_peer_stats_t *out, size_t cap)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->npeers;
    for (size_t i = 0; i < n && i < cap; i++) {
        const peer_state_t *ps = &c->peers[i];
        dmp_cluster_peer_stats_t *o = &out[i];
        memset(o, 0, sizeof(*o));
        memcpy(o->url, ps->p.url, sizeof(o->url));
        memcpy(o->node_id, ps->p.node_id, sizeof(o->node_id));
        o->last_ok_ms = ps->last_ok_ms;
        o->failures = ps->failures;
        o->failing_now = ps->p.bo.failures;
        o->merkle = ps->merkle;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

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

/* ---- peers ---- */

static void norm_ep(const char *in, char *out, size_t cap)
{
    size_t l = strlen(in);
    while (l > 0 && (in[l - 1] == '/' || in[l - 1] == ' '))
        l--;
    size_t s = 0;
    while (s < l && in[s] == ' ')
        s++;
    size_t k = 0;
    for (size_t i = s; i < l && k + 1 < cap; i++)
        out[k++] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[k] = '\0';
}

static bool is_self(const dmp_cluster_t *c, const dmp_cluster_peer_t *p)
{
    if (c->self_id && strcmp(c->self_id, p->node_id) == 0)
        return true;
    if (c->self_url) {
        char a[DMP_CLUSTER_URL_MAX + 1], b[DMP_CLUSTER_URL_MAX + 1];
        norm_ep(c->self_url, a, sizeof(a));
        norm_ep(p->url, b, sizeof(b));
        if (strcmp(a, b) == 0)
            return true;
    }
    return false;
}

int dmp_cluster_set_peers(dmp_cluster_t *c, const dmp_cluster_peer_t *p, size_t n)
{
    if (!c || (n && !p))
        return DMP_EINVAL;
    peer_state_t *np = calloc(n ? n : 1, sizeof(*np));
    /* persisted cursors, read before the lock (a store read per peer) */
    peer_state_t *stored = calloc(n ? n : 1, sizeof(*stored));
    bool *has_stored = calloc(n ? n : 1, sizeof(*has_stored));
    if (!np || !stored || !has_stored) {
        free(np);
        free(stored);
        free(has_stored);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        stored[i].p = p[i];
        has_stored[i] = dmp_cluster__cursor_load(c, &stored[i]);
    }
    pthread_mutex_lock(&c->mu);
    size_t k = 0;
    for (size_t i = 0; i < n && k < DMP_CLUSTER_MAX_PEERS; i++) {
        if (is_self(c, &p[i]))
            continue;
        bool dup = false;
        for (size_t j = 0; j < k && !dup; j++)
            dup = strcmp(np[j].p.node_id, p[i].node_id) == 0;
        if (dup)
            continue;
        peer_state_t *ps = &np[k++];
        ps->p = p[i];
        ps->merkle = -1;
        if (has_stored[i])
            ps->cursor = stored[i].cursor;
        char want[DMP_CLUSTER_URL_MAX + 1];
        norm_ep(p[i].url, want, sizeof(want));
        for (size_t j = 0; j < c->npeers; j++) {
            char have[DMP_CLUSTER_URL_MAX + 1];
            norm_ep(c->peers[j].p.url, have, sizeof(have));
            if (strcmp(have, want) != 0)
                continue;
            if (strcmp(c->peers[j].p.node_id, p[i].node_id) == 0 || c->peers[j].p.synthetic_id) {
                ps->cursor = c->peers[j].cursor;
                ps->merkle = c->peers[j].merkle;
                ps->p.bo = c->peers[j].p.bo;
                ps->last_ok_ms = c->peers[j].last_ok_ms;
                ps->failures = c->peers[j].failures;
            }
            break;
        }
    }
    free(c->peers);
    c->peers = np;
    c->npeers = k;
    c->rr = k ? c->rr % k : 0;
    c->grr = k ? c->grr % k : 0;
    pthread_mutex_unlock(&c->mu);
    free(stored);
    free(has_stored);
    return 0;
}

size_t dmp_cluster_get_peers(dmp_cluster_t *c, dmp_cluster_peer_t *out, size_t cap)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->npeers;
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = c->peers[i].p;
    pthread_mutex_unlock(&c->mu);
    return n;
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

/* ---- rounds ---- */

int dmp_cluster_sync_peer(dmp_cluster_t *c, size_t i)
{
    pthread_mutex_lock(&c->mu);
    if (i >= c->npeers) {
        pthread_mutex_unlock(&c->mu);
        return DMP_ENOTFOUND;
    }
    peer_state_t ps = c->peers[i];
    pthread_mutex_unlock(&c->mu);
    const dmp_cluster_cursor_t cursor0 = ps.cursor;

    ST_ADD(c, rounds, 1);
    int rc = DMP_EUNSUPPORTED;
    bool probe = ps.merkle != 0 || ++ps.rounds_since_probe >= PROBE_EVERY;
    if (probe && c->env.list_bucket) {
        rc = dmp_cluster__round_merkle(c, &ps);
        if (rc == DMP_EUNSUPPORTED)
            ps.merkle = 0;
        else
            ps.merkle = 1;
        ps.rounds_since_probe = 0;
    }
    if (rc == DMP_EUNSUPPORTED)
        rc = dmp_cluster__round_digest(c, &ps);
    int64_t now = cl_now(c);
    if (memcmp(&ps.cursor, &cursor0, sizeof(cursor0)) != 0) {
        int src = dmp_cluster__cursor_save(c, &ps);
        if (src != 0)
            dmp_debug("anti-entropy: cannot persist the digest cursor of %s: %s", ps.p.url,
                      dmp_cluster_strerror(src));
    }
    if (rc == 0) {
        dmp_cluster_backoff_ok(&ps.p.bo);
        ps.last_ok_ms = now;
    } else {
        ST_ADD(c, errors, 1);
        ps.failures++;
        dmp_cluster_backoff_fail(&ps.p.bo, now, BACKOFF_BASE_MS, BACKOFF_MAX_MS,
                                 randombytes_random());
        dmp_debug("anti-entropy with %s failed: %s", ps.p.url, dmp_cluster_strerror(rc));
    }
    /* write the result back to the same peer if it is still there */
    pthread_mutex_lock(&c->mu);
    for (size_t j = 0; j < c->npeers; j++)
        if (strcmp(c->peers[j].p.url, ps.p.url) == 0 &&
            strcmp(c->peers[j].p.node_id, ps.p.node_id) == 0) {
            c->peers[j] = ps;
            break;
        }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int dmp_cluster_tick(dmp_cluster_t *c)
{
    int64_t now = cl_now(c);
    pthread_mutex_lock(&c->mu);
    size_t n = c->npeers, pick = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        size_t i = (c->rr + k) % n;
        if (dmp_cluster_backoff_ready(&c->peers[i].p.bo, now)) {
            pick = i;
            break;
        }
    }
    if (pick != SIZE_MAX)
        c->rr = (pick + 1) % n;
    pthread_mutex_unlock(&c->mu);
    if (pick == SIZE_MAX)
        return DMP_ENOTFOUND;
    return dmp_cluster_sync_peer(c, pick);
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
