/* node: the core of dnsmeshd: shard state, the one write path (dmp_node_apply) and the shard
 * hooks the executor (net) calls (routing, query options and RRL are core_answer.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "net/net.h"
#include "node/core_int.h"

static int64_t now_ms_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* apply-env hooks. invalidate runs after the store write and before the acknowledgement (and
 * after write.c updated the name index, so a frontend that reads the sequence after it moved
 * cannot have read the index's old answer): it moves the shard's write sequence first (a
 * frontend fill read before it is dropped), then drops the name's cache entry. */
static void shard_invalidate(void *ctx, const char *lname, size_t len)
{
    shard_t *sh = ctx;
    atomic_fetch_add_explicit(&sh->wseq, 1, memory_order_release);
    if (sh->cache)
        dmp_cache_invalidate(sh->cache, lname, len);
}

/* A put on the shard's own thread: a name the cache was answering is read back from the store
 * at once (the write is committed: the read sees it), so the queries that follow hit instead of
 * each reading the store on a frontend, where the name's rows sit in the memtable (a skip-list
 * search, docs/store.md "Write path cost"), and handing fills that the next write makes stale.
 * A name that was not cached (a fresh chunk nobody asked for) costs nothing more. */
static void shard_refresh(void *ctx, const char *lname, size_t len)
{
    shard_t *sh = ctx;
    atomic_fetch_add_explicit(&sh->wseq, 1, memory_order_release);
    if (!sh->cache || !dmp_cache_invalidate(sh->cache, lname, len))
        return;
    sh->lookup.now_ms = dmp_node_core_now_coarse();
    dmp_dns_rrset_view_t v;
    dmp_node_fill_t f;
    int rc = dmp_node_lookup_store(&sh->lookup, lname, len, &v, &f);
    if ((rc == 0 || rc == DMP_ENOTFOUND) &&
        dmp_node_lookup_fill_cache(sh->cache, lname, len, &f) == 0)
        DMP_STAT_INC(sh->st, cache_fills_write);
}

static void core_invalidate(void *ctx, const char *lname, size_t len)
{
    dmp_node_core_t *c = ctx;
    shard_t *sh = &c->shards[dmp_node_core_shard_of(c, lname, len)];
    atomic_fetch_add_explicit(&sh->wseq, 1, memory_order_release);
    if (sh->cache)
        dmp_cache_invalidate(sh->cache, lname, len);
}

static void shard_on_write(void *ctx, const char *lname, size_t len)
{
    shard_t *sh = ctx;
    dmp_node_neggen_bump(&sh->core->neg, sh->core->apex, lname, len);
}

static void core_on_write(void *ctx, const char *lname, size_t len)
{
    dmp_node_core_t *c = ctx;
    dmp_node_neggen_bump(&c->neg, c->apex, lname, len);
}

/* The node's RRL table: DMP_RRL_TABLE_SIZE buckets per shard, as when each shard had its own. */
static dmp_node_rrl_config_t rrl_config(const dmp_node_config_t *cfg, unsigned nshards)
{
    return (dmp_node_rrl_config_t){.rate = cfg->rrl_rate,
                                   .slip = cfg->rrl_slip,
                                   .v4_prefix = cfg->rrl_v4_prefix,
                                   .v6_prefix = cfg->rrl_v6_prefix,
                                   .buckets = (size_t)cfg->rrl_table_size * nshards,
                                   .whitelist = cfg->rrl_whitelist,
                                   .nwhitelist = cfg->rrl_nwhitelist};
}

int dmp_node_core_new(const dmp_node_core_opts_t *o, dmp_node_core_t **out)
{
    *out = NULL;
    if (!o || !o->cfg || !o->store || o->nshards == 0 || !o->shard_st)
        return DMP_EINVAL;
    dmp_node_core_t *c = calloc(1, sizeof(*c));
    if (!c)
        return DMP_ENOMEM;
    c->cfg = o->cfg;
    c->store = o->store;
    c->nshards = o->nshards;
    c->now_ms = o->now_ms ? o->now_ms : now_ms_real;
    c->index = o->index;
    if (o->cfg->served_zone)
        snprintf(c->apex, sizeof(c->apex), "%s", o->cfg->served_zone);
    atomic_init(&c->serial, (uint32_t)(c->now_ms() / 1000));
    if (o->cfg->cookie_secret_set)
        memcpy(c->cookie_master, o->cfg->cookie_secret, sizeof(c->cookie_master));
    else
        randombytes_buf(c->cookie_master, sizeof(c->cookie_master));
    c->keepalive = o->tcp_keepalive_100ms;
    atomic_init(&c->cookie_required, o->cfg->cookie_required);
    pthread_mutex_init(&c->multi_mu, NULL);
    c->shards = calloc(c->nshards, sizeof(shard_t));
    if (!c->shards) {
        dmp_node_core_free(c);
        return DMP_ENOMEM;
    }
    if (!o->no_syncer) {
        if (dmp_node_syncer_start(&c->syncer, c->store) != 0) {
            dmp_node_core_free(c);
            return DMP_ESYS;
        }
        c->syncer_on = true;
    }
    size_t cache_bytes = (size_t)(o->cfg->cache_mb << 20) / c->nshards;
    dmp_node_rrl_t *rrl = NULL;
    dmp_node_rrl_config_t rrc = rrl_config(o->cfg, c->nshards);
    if (dmp_node_rrl_new(&rrc, &rrl) != 0) {
        dmp_node_core_free(c);
        return DMP_ENOMEM;
    }
    atomic_init(&c->rrl, rrl);
    for (unsigned i = 0; i < c->nshards; i++) {
        shard_t *sh = &c->shards[i];
        sh->core = c;
        sh->idx = i;
        sh->st = &o->shard_st[i];
        dmp_node_core_zone_from_cfg(o->cfg, &sh->zone);
        sh->cookie_epoch = UINT64_MAX;
        atomic_init(&sh->rrl_hz, NULL);
        atomic_init(&sh->wseq, 0);
        atomic_init(&sh->fill_queued, false);
        if (cache_bytes && (dmp_cache_new(cache_bytes, &sh->cache) != 0 ||
                            dmp_cache_readers(sh->cache, o->nfrontends) != 0)) {
            dmp_node_core_free(c);
            return DMP_ENOMEM;
        }
        dmp_node_lookup_init(&sh->lookup, c->store, sh->cache, &c->neg, sh->st, o->cfg->dns_ttl);
        sh->lookup.index = c->index;
        sh->wq = (dmp_node_wq_t){.env = {.store = c->store,
                                         .st = sh->st,
                                         .now_ms = c->now_ms,
                                         .serial = &c->serial,
                                         .syncer = c->syncer_on ? &c->syncer : NULL,
                                         .invalidate = shard_invalidate,
                                         .refresh = shard_refresh,
                                         .on_write = shard_on_write,
                                         .index = c->index,
                                         .ctx = sh},
                                 .max_batch = 64,
                                 .window_ns = (int64_t)o->write_window_us * 1000};
    }
    if (dmp_node_core_fe_init(c, o, cache_bytes > 0) != 0) {
        dmp_node_core_free(c);
        return DMP_ENOMEM;
    }
    *out = c;
    return 0;
}

void dmp_node_core_set_exec(dmp_node_core_t *c, dmp_node_exec_fn fn, void *ctx)
{
    c->exec = fn;
    c->exec_ctx = ctx;
}

/* ---- single-shard transactions ---- */
static void shard_task(void *arg)
{
    dmp_node_txn_t *t = arg;
    shard_t *sh = t->priv;
    dmp_node_wq_take(&sh->wq, t);
}

/* ---- multi-shard transactions: park every involved shard, apply once ---- */
typedef struct barrier barrier_t;
typedef struct {
    barrier_t *b;
    unsigned shard;
} part_t;

struct barrier {
    dmp_node_core_t *c;
    dmp_node_txn_t *t;
    _Atomic unsigned arrived;  /* participants arrived (shards + the submitter) */
    _Atomic unsigned expected; /* 0 until the submitter knows how many tasks were queued */
    _Atomic bool cancelled;    /* a hand-off failed: do not run, do not touch t */
    _Atomic unsigned refs;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool released;
    bool go; /* the submitter arrived last: parts[0]'s shard runs the transaction */
    unsigned nparts;
    part_t parts[];
};

static void barrier_unref(barrier_t *b)
{
    if (atomic_fetch_sub(&b->refs, 1) == 1) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        free(b);
    }
}

/* Every involved shard is parked (the caller is one of them): apply the whole transaction,
 * counting in the caller's own metrics slot, then release the others. */
static void barrier_run(barrier_t *b, dmp_node_tstats_t *st)
{
    if (!atomic_load(&b->cancelled)) {
        dmp_node_core_t *c = b->c;
        dmp_node_apply_env_t env = {.store = c->store,
                                    .st = st,
                                    .now_ms = c->now_ms,
                                    .serial = &c->serial,
                                    .syncer = c->syncer_on ? &c->syncer : NULL,
                                    .invalidate = core_invalidate,
                                    .on_write = core_on_write,
                                    .index = c->index,
                                    .ctx = c};
        dmp_node_txn_exec(&env, b->t);
    }
    pthread_mutex_lock(&b->mu);
    b->released = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* The last participant to arrive starts the transaction. A shard runs it itself; the submitter
 * (any thread, never waiting) hands it to the first part's shard, which is parked by then, so
 * only shard threads ever touch shard state and their own counters. */
static void barrier_arrive(barrier_t *b, dmp_node_tstats_t *st, bool submitter)
{
    unsigned now = atomic_fetch_add(&b->arrived, 1) + 1;
    unsigned exp = atomic_load(&b->expected);
    if (exp == 0 || now != exp)
        return;
    if (!submitter || atomic_load(&b->cancelled)) {
        barrier_run(b, st);
        return;
    }
    pthread_mutex_lock(&b->mu);
    b->go = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void part_task(void *arg)
{
    part_t *p = arg;
    barrier_t *b = p->b;
    shard_t *sh = &b->c->shards[p->shard];
    dmp_node_wq_flush(&sh->wq); /* earlier writes to these names land first */
    barrier_arrive(b, sh->st, false);
    pthread_mutex_lock(&b->mu);
    while (!b->released) {
        if (b->go && p == &b->parts[0]) {
            b->go = false;
            pthread_mutex_unlock(&b->mu);
            barrier_run(b, sh->st);
            pthread_mutex_lock(&b->mu);
            continue;
        }
        pthread_cond_wait(&b->cv, &b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    barrier_unref(b);
}

static int apply_multi(dmp_node_core_t *c, dmp_node_txn_t *t, const unsigned *shards, unsigned ns)
{
    barrier_t *b = calloc(1, sizeof(*b) + ns * sizeof(part_t));
    if (!b)
        return DMP_ENOMEM;
    b->c = c;
    b->t = t;
    b->nparts = ns;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    atomic_init(&b->arrived, 0);
    atomic_init(&b->expected, 0);
    atomic_init(&b->cancelled, false);
    atomic_init(&b->refs, ns + 1);
    unsigned queued = 0;
    pthread_mutex_lock(&c->multi_mu);
    for (unsigned i = 0; i < ns; i++) {
        b->parts[i] = (part_t){b, shards[i]};
        if (c->exec(c->exec_ctx, shards[i], part_task, &b->parts[i]) != 0)
            break;
        queued++;
    }
    pthread_mutex_unlock(&c->multi_mu);
    /* the parts wait for each other on their shards: wake every one now, even on a thread that
     * defers its wake-ups (the HTTP thread) */
    dmp_net_wakeups_flush();
    if (queued < ns) {
        atomic_store(&b->cancelled, true);
        for (unsigned i = queued; i < ns; i++)
            barrier_unref(b); /* the parts never queued */
    }
    atomic_store(&b->expected, queued + 1);
    barrier_arrive(b, NULL, true); /* the submitter never waits */
    barrier_unref(b);
    return queued < ns ? DMP_EAGAIN : 0;
}

int dmp_node_apply(dmp_node_core_t *c, dmp_node_txn_t *t)
{
    if (!c || !t || !t->changes || t->n == 0 || !c->exec)
        return DMP_EINVAL;
    unsigned stack[16];
    unsigned *shards = c->nshards <= 16 ? stack : malloc(c->nshards * sizeof(*shards));
    if (!shards)
        return DMP_ENOMEM;
    unsigned ns = 0;
    for (size_t i = 0; i < t->n; i++) {
        const dmp_node_change_t *ch = &t->changes[i];
        if (ch->lname_len == 0 || ch->lname_len >= sizeof(ch->lname)) {
            if (shards != stack)
                free(shards);
            return DMP_EINVAL;
        }
        unsigned s = dmp_node_core_shard_of(c, ch->lname, ch->lname_len);
        bool seen = false;
        for (unsigned j = 0; j < ns && !seen; j++)
            seen = shards[j] == s;
        if (!seen)
            shards[ns++] = s;
    }
    /* ascending shard order: a stable order for the multi-shard hand-off */
    for (unsigned i = 1; i < ns; i++)
        for (unsigned j = i; j > 0 && shards[j - 1] > shards[j]; j--) {
            unsigned x = shards[j];
            shards[j] = shards[j - 1];
            shards[j - 1] = x;
        }
    int rc;
    t->result = 0;
    t->changed = 0;
    t->failed = 0;
    t->next = NULL;
    if (ns == 1) {
        t->priv = &c->shards[shards[0]];
        rc = c->exec(c->exec_ctx, shards[0], shard_task, t) == 0 ? 0 : DMP_EAGAIN;
    } else {
        rc = apply_multi(c, t, shards, ns);
    }
    if (shards != stack)
        free(shards);
    return rc;
}

/* ---- shard hooks ---- */

void dmp_node_core_query(dmp_node_core_t *c, unsigned shard, const uint8_t *pkt, size_t len,
                         bool tcp, const struct sockaddr *peer, socklen_t peer_len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    shard_t *sh = &c->shards[shard < c->nshards ? shard : 0];
    int64_t t0 = dmp_monotonic_ns();
    sh->lookup.now_ms = dmp_node_core_now_coarse();
    /* the store's persisted serial: one per change set, survives restarts (docs/store.md) */
    sh->zone.soa_serial = dmp_store_soa_serial(c->store);
    dmp_dns_result_t res = {0};
    dmp_dns_opts_t opts;
    dmp_node_core_query_opts(c, &sh->cookie, &sh->cookie_epoch, peer, peer_len, sh->lookup.now_ms,
                             &opts);
    *out_len = 0;
    dmp_dns_respond_ex(&sh->zone, &opts, pkt, len, tcp ? DMP_DNS_TCP : DMP_DNS_UDP, dmp_node_lookup,
                       &sh->lookup, out, cap, out_len, &res);
    if (res.cookie >= 0 && res.cookie < 5)
        DMP_STAT_INC(sh->st, dns_cookie[res.cookie]);
    /* response rate limiting: UDP only (TCP proves the source), after the answer is known */
    if (!tcp && *out_len > 0 &&
        dmp_node_core_rrl_apply(c, &sh->rrl_hz, sh->st, peer, peer_len, &res, pkt, len, out, cap,
                                out_len, t0)) {
        dmp_node_lat_observe(sh->st, dmp_monotonic_ns() - t0);
        return;
    }
    if (*out_len == 0) {
        DMP_STAT_INC(sh->st, dns_malformed);
    } else {
        unsigned rs = res.rcode < DMP_NODE_RCODE_SLOTS - 1 ? res.rcode : DMP_NODE_RCODE_SLOTS - 1;
        DMP_STAT_INC(sh->st, dns_rcode[rs]);
        if (res.outcome >= 0 && res.outcome < DMP_NODE_OUT_SLOTS)
            DMP_STAT_INC(sh->st, dns_outcome[res.outcome]);
    }
    DMP_STAT_INC(sh->st, dns_qtype[res.qtype ? dmp_node_qtype_slot(res.qtype) : 14]);
    dmp_node_lat_observe(sh->st, dmp_monotonic_ns() - t0);
}

int dmp_node_core_reload(dmp_node_core_t *c, const dmp_node_config_t *nc)
{
    if (!c || !nc)
        return DMP_EINVAL;
    atomic_store_explicit(&c->cookie_required, nc->cookie_required, memory_order_relaxed);
    dmp_node_rrl_config_t rc = rrl_config(nc, c->nshards);
    dmp_node_rrl_t *r = NULL;
    int rv = dmp_node_rrl_new(&rc, &r);
    if (rv != 0)
        return rv;
    /* from the next query on, every thread uses the new table (or none) */
    dmp_node_core_rrl_retire(c, atomic_exchange(&c->rrl, r));
    return 0;
}

int dmp_node_core_tick(dmp_node_core_t *c, unsigned shard)
{
    shard_t *sh = &c->shards[shard < c->nshards ? shard : 0];
    int64_t due_ns = dmp_node_wq_tick(&sh->wq, dmp_monotonic_ns());
    if (sh->cache) {
        size_t bytes = 0;
        if (c->fill)
            dmp_node_core_fill_drain(sh); /* after the flush: its writes drop what they outdate */
        dmp_cache_reclaim(sh->cache);     /* what frontends may have held, once they are past it */
        dmp_cache_stats(sh->cache, NULL, NULL, &bytes, NULL);
        DMP_STAT_SET(sh->st, cache_bytes, bytes);
    }
    /* the pending writes' window: ms, rounded up (the shard's wait is in ms) */
    return due_ns < 0 ? -1 : (int)((due_ns + 999999) / 1000000);
}

void dmp_node_core_drain(dmp_node_core_t *c)
{
    if (!c)
        return;
    for (unsigned i = 0; c->shards && i < c->nshards; i++)
        dmp_node_wq_flush(&c->shards[i].wq);
    if (c->syncer_on) {
        dmp_node_syncer_stop(&c->syncer); /* syncs, then completes what the flushes handed over */
        c->syncer_on = false;
        for (unsigned i = 0; c->shards && i < c->nshards; i++)
            c->shards[i].wq.env.syncer = NULL;
    }
}

void dmp_node_core_free(dmp_node_core_t *c)
{
    if (!c)
        return;
    dmp_node_core_drain(c);
    dmp_node_core_fe_free(c); /* before the caches: it frees the fills still queued */
    for (unsigned i = 0; c->shards && i < c->nshards; i++) {
        dmp_node_lookup_free(&c->shards[i].lookup);
        dmp_cache_free(c->shards[i].cache);
        sodium_memzero(&c->shards[i].cookie, sizeof(c->shards[i].cookie));
    }
    dmp_node_rrl_free(atomic_load(&c->rrl));
    free(c->shards);
    pthread_mutex_destroy(&c->multi_mu);
    sodium_memzero(c->cookie_master, sizeof(c->cookie_master));
    free(c);
}

void dmp_node_core_fill_stats(dmp_node_core_t *c, uint64_t *applied, uint64_t *dropped)
{
    if (applied)
        *applied = c ? atomic_load_explicit(&c->fills_applied, memory_order_relaxed) : 0;
    if (dropped)
        *dropped = c ? atomic_load_explicit(&c->fills_dropped, memory_order_relaxed) : 0;
}

uint64_t dmp_node_core_fills_held(dmp_node_core_t *c)
{
    return c ? atomic_load_explicit(&c->fills_held, memory_order_relaxed) : 0;
}

uint64_t dmp_node_core_wal_syncs(dmp_node_core_t *c)
{
    return atomic_load_explicit(&c->syncer.syncs, memory_order_relaxed);
}

uint32_t dmp_node_core_serial(dmp_node_core_t *c)
{
    return dmp_store_soa_serial(c->store);
}
