/* cluster: the anti-entropy engine — the cluster object, its peers and their stats, and the
 * round robin with back-off that picks the next peer to sync (the rounds are round_*.c; what
 * they use to pull and apply is pull.c). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster/cluster_int.h"

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
