/* node: the frontends' query path (dmp_node_core_query_frontend): a UDP query answered on the
 * frontend thread that received it, from the owning shard's answer cache (read-only), and, with
 * frontend reads on, from the store on a miss; what a store read found goes back to the shard on
 * a fill ring, so the cache stays single-writer. docs/cache.md "Frontend reads" has the rules.
 *
 * Fill rings: one SPSC ring per (frontend, shard) pair, carrying fill_t pointers (malloc'd by
 * the frontend, freed by the shard). Nothing wakes the shard per fill: it drains its rings at
 * the end of every wake-up (dmp_node_core_tick, at least every 100 ms) and, when a ring holds
 * DMP_NODE_FILL_WAKE fills, on a drain task the frontend queues once (fill_queued). A full ring
 * drops the fill (the next miss of that name reads the store again).
 *
 * Staleness: the frontend reads the shard's write sequence (acquire) before its store read and
 * keeps it in the fill. A write moves the sequence after its store commit and before its cache
 * invalidation, on the shard's thread or on a thread that parked the shard; fills are applied
 * on the shard's thread too. So when a fill is applied either no write to that shard committed
 * after its read began (the sequence is unchanged: the fill holds what the store holds), or one
 * did and the sequence moved (the fill is dropped), or that write's invalidation is still to
 * run on this thread and removes the entry. An NXDOMAIN fill carries the negative generation
 * read before the store, checked on every hit as the shard's own entries are. */
#include <stdlib.h>
#include <string.h>

#include "node/core_int.h"

typedef struct {
    uint64_t wseq; /* the shard's write sequence before the store read */
    int64_t expires_ms;
    uint32_t gen;
    uint32_t rrs_len;
    uint16_t count;
    uint8_t kind; /* dmp_node_fill_kind_t */
    uint8_t name_len;
    uint8_t data[]; /* name, then rrs */
} fill_t;

static dmp_net_spsc_t *fill_ring(dmp_node_core_t *c, unsigned f, unsigned s)
{
    return &c->fill[(size_t)f * c->nshards + s];
}

static void fill_task(void *arg)
{
    shard_t *sh = arg;
    dmp_node_core_fill_drain(sh);
}

/* Frontend: hands what a store read found to shard s. */
static void fill_push(fe_t *f, unsigned s, const char *lname, size_t len, uint64_t wseq,
                      const dmp_node_fill_t *fl)
{
    dmp_node_core_t *c = f->core;
    if (fl->kind == DMP_NODE_FILL_NONE || len > 255 || fl->rrs_len > UINT32_MAX)
        return;
    size_t rl = fl->kind == DMP_NODE_FILL_TXT ? fl->rrs_len : 0;
    fill_t *x = malloc(sizeof(*x) + len + rl);
    if (!x)
        return;
    x->wseq = wseq;
    x->expires_ms = fl->expires_ms;
    x->gen = fl->gen;
    x->rrs_len = (uint32_t)rl;
    x->count = fl->count;
    x->kind = (uint8_t)fl->kind;
    x->name_len = (uint8_t)len;
    memcpy(x->data, lname, len);
    if (rl)
        memcpy(x->data + len, fl->rrs, rl);
    dmp_net_spsc_t *r = fill_ring(c, f->idx, s);
    void *item = x;
    if (dmp_net_spsc_push(r, &item, 1, NULL) != 1) {
        free(x);
        atomic_fetch_add_explicit(&c->fills_dropped, 1, memory_order_relaxed);
        return;
    }
    shard_t *sh = &c->shards[s];
    if (dmp_net_spsc_size(r) >= DMP_NODE_FILL_WAKE && c->exec &&
        !atomic_load_explicit(&sh->fill_queued, memory_order_relaxed) &&
        !atomic_exchange_explicit(&sh->fill_queued, true, memory_order_acq_rel) &&
        c->exec(c->exec_ctx, s, fill_task, sh) != 0)
        atomic_store_explicit(&sh->fill_queued, false, memory_order_release);
}

void dmp_node_core_fill_drain(shard_t *sh)
{
    dmp_node_core_t *c = sh->core;
    if (!c->fill || !sh->cache)
        return;
    /* cleared first: fills pushed from here on may queue another task */
    atomic_store_explicit(&sh->fill_queued, false, memory_order_release);
    uint64_t now_seq = atomic_load_explicit(&sh->wseq, memory_order_acquire);
    int64_t now = dmp_node_core_now_coarse();
    uint64_t applied = 0, dropped = 0;
    void *items[64];
    for (unsigned f = 0; f < c->nfe; f++) {
        dmp_net_spsc_t *r = fill_ring(c, f, sh->idx);
        size_t k, taken = 0;
        /* bounded: a frontend refilling its ring meanwhile cannot keep the shard here */
        while (taken < DMP_NODE_FILL_RING && (k = dmp_net_spsc_pop(r, items, 64)) > 0) {
            taken += k;
            for (size_t i = 0; i < k; i++) {
                fill_t *x = items[i];
                const char *name = (const char *)x->data;
                if (x->wseq != now_seq) {
                    dropped++; /* a write to this shard came between its read and now */
                    free(x);
                    continue;
                }
                /* an NXDOMAIN or empty non-terminal whose generation moved since its read is
                 * outdated already */
                uint32_t gen = atomic_load_explicit(
                    &c->neg.gen[dmp_node_neg_slot(name, x->name_len)], memory_order_acquire);
                if ((x->kind == DMP_NODE_FILL_NX || x->kind == DMP_NODE_FILL_ENT) &&
                    x->gen != gen) {
                    dropped++;
                    free(x);
                    continue;
                }
                /* already cached and still valid (the same answer: nothing was written since):
                 * keep it */
                size_t bl = 0;
                const uint8_t *b = NULL;
                uint16_t cnt = 0;
                int64_t exp = 0;
                dmp_cache_result_t cr =
                    dmp_cache_get_exp(sh->cache, name, x->name_len, now, &b, &bl, &cnt, &exp);
                dmp_dns_rrset_view_t v;
                bool neg_hit = false;
                bool have = dmp_node_lookup_cached(&c->neg, name, x->name_len, cr, b, bl, cnt, exp,
                                                   now, &v, &neg_hit) != DMP_EAGAIN;
                if (!have && x->expires_ms > now) {
                    dmp_node_fill_t fl = {.kind = (dmp_node_fill_kind_t)x->kind,
                                          .rrs = x->data + x->name_len,
                                          .rrs_len = x->rrs_len,
                                          .count = x->count,
                                          .gen = x->gen,
                                          .expires_ms = x->expires_ms};
                    if (dmp_node_lookup_fill_cache(sh->cache, name, x->name_len, &fl) == 0)
                        applied++;
                }
                free(x);
            }
        }
    }
    if (applied) {
        atomic_fetch_add_explicit(&c->fills_applied, applied, memory_order_relaxed);
        DMP_STAT_ADD(sh->st, cache_fills_applied, applied);
    }
    if (dropped) {
        atomic_fetch_add_explicit(&c->fills_dropped, dropped, memory_order_relaxed);
        DMP_STAT_ADD(sh->st, cache_fills_stale, dropped);
    }
}

/* dmp_dns_lookup_fn for a frontend: the owning shard's cache entry, read with dmp_cache_read,
 * interpreted as dmp_node_lookup does (see the cache entry kinds in lookup.c); on a miss, with
 * frontend reads, the store (dmp_node_lookup_store) and a fill for the shard. Anything else
 * marks the query missed; the caller then hands it to the shard. */
static int fe_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    fe_t *f = ctx;
    dmp_node_core_t *c = f->core;
    unsigned s = dmp_node_core_shard_of(c, lname, len);
    dmp_cache_t *cache = c->shards[s].cache;
    dmp_cache_result_t cr = DMP_CACHE_MISS;
    if (cache) {
        size_t blen = 0;
        uint16_t count = 0;
        int64_t exp = 0;
        cr = dmp_cache_read(cache, f->idx, lname, len, f->now_ms, f->blob, sizeof(f->blob), &blen,
                            &count, &exp);
        bool neg_hit = false; /* read as the shard reads its own entries */
        int hr = dmp_node_lookup_cached(&c->neg, lname, len, cr, f->blob, blen, count, exp,
                                        f->now_ms, out, &neg_hit);
        if (hr != DMP_EAGAIN) {
            if (neg_hit)
                f->neg_hits++;
            else
                f->hits++;
            return hr;
        }
    }
    if (!c->fe_reads) {
        f->missed = true;
        return DMP_EAGAIN;
    }
    /* before the store read: a write committed after it moves the sequence (fill dropped) */
    uint64_t wseq = atomic_load_explicit(&c->shards[s].wseq, memory_order_acquire);
    f->lk.now_ms = f->now_ms;
    dmp_node_fill_t fl;
    int rc = dmp_node_lookup_store(&f->lk, lname, len, out, &fl);
    if (rc != 0 && rc != DMP_ENOTFOUND) {
        f->missed = true; /* the shard answers, logs and counts the store error */
        return DMP_EAGAIN;
    }
    f->misses++;
    if (cache && c->fill) {
        /* the doorkeeper holds first misses back only once the cache is half full: a node
         * restarted on an empty cache warms it on the first pass */
        if (f->door == NULL ||
            dmp_cache_below(cache, DMP_NODE_DOOR_OPEN_NUM, DMP_NODE_DOOR_OPEN_DEN) ||
            dmp_cache_door_admit(f->door, lname, len))
            fill_push(f, s, lname, len, wseq, &fl);
        else
            atomic_fetch_add_explicit(&c->fills_held, 1, memory_order_relaxed);
    }
    return rc;
}

static void fe_count(fe_t *f, const dmp_dns_result_t *res, bool limited, int64_t t0)
{
    dmp_node_tstats_t *st = f->st;
    if (!st)
        return;
    if (res->cookie >= 0 && res->cookie < 5)
        DMP_STAT_INC(st, dns_cookie[res->cookie]);
    if (!limited) {
        unsigned rs = res->rcode < DMP_NODE_RCODE_SLOTS - 1 ? res->rcode : DMP_NODE_RCODE_SLOTS - 1;
        DMP_STAT_INC(st, dns_rcode[rs]);
        if (res->outcome >= 0 && res->outcome < DMP_NODE_OUT_SLOTS)
            DMP_STAT_INC(st, dns_outcome[res->outcome]);
        DMP_STAT_INC(st, dns_qtype[res->qtype ? dmp_node_qtype_slot(res->qtype) : 14]);
    }
    DMP_STAT_ADD(st, cache_hits, f->hits);
    DMP_STAT_ADD(st, cache_neg_hits, f->neg_hits);
    DMP_STAT_ADD(st, cache_misses, f->misses);
    dmp_node_lat_observe(st, dmp_monotonic_ns() - t0);
}

bool dmp_node_core_query_frontend(dmp_node_core_t *c, unsigned frontend, const uint8_t *pkt,
                                  size_t len, const struct sockaddr *peer, socklen_t peer_len,
                                  uint8_t *out, size_t cap, size_t *out_len)
{
    *out_len = 0;
    if (!c || frontend >= c->nfe || len < 12 || ((pkt[2] >> 3) & 0xF) != 0)
        return false; /* only standard queries: the rest go to the shard */
    fe_t *f = &c->fe[frontend];
    int64_t t0 = dmp_monotonic_ns();
    f->now_ms = dmp_node_core_now_coarse();
    f->zone.soa_serial = dmp_store_soa_serial(c->store);
    f->missed = false;
    f->hits = f->neg_hits = f->misses = 0;
    dmp_dns_result_t res = {0};
    dmp_dns_opts_t opts;
    dmp_node_core_query_opts(c, &f->cookie, &f->cookie_epoch, peer, peer_len, f->now_ms, &opts);
    dmp_dns_respond_ex(&f->zone, &opts, pkt, len, DMP_DNS_UDP, fe_lookup, f, out, cap, out_len,
                       &res);
    if (f->missed || *out_len == 0 || res.outcome == DMP_DNS_OUT_UPDATE) {
        *out_len = 0;
        return false; /* the shard answers (and counts) it */
    }
    /* rate limited exactly as the shard would (one table for both) */
    bool limited = dmp_node_core_rrl_apply(c, &f->rrl_hz, f->st, peer, peer_len, &res, pkt, len,
                                           out, cap, out_len, t0);
    fe_count(f, &res, limited, t0); /* limited: *out_len 0 (nothing sent) or the TC stub */
    return true;
}

int dmp_node_core_fe_init(dmp_node_core_t *c, const dmp_node_core_opts_t *o, bool cache_on)
{
    c->fe_reads = o->frontend_reads;
    if (!o->nfrontends || !(cache_on || o->frontend_reads))
        return 0;
    c->fe = calloc(o->nfrontends, sizeof(fe_t));
    if (!c->fe)
        return DMP_ENOMEM;
    c->nfe = o->nfrontends;
    for (unsigned i = 0; i < c->nfe; i++) {
        fe_t *f = &c->fe[i];
        f->core = c;
        f->idx = i;
        f->st = o->frontend_st ? &o->frontend_st[i] : NULL;
        f->cookie_epoch = UINT64_MAX;
        atomic_init(&f->rrl_hz, NULL);
        dmp_node_core_zone_from_cfg(o->cfg, &f->zone);
        /* st: lookup_store counts its name-index reads there (nothing else of it counts) */
        dmp_node_lookup_init(&f->lk, c->store, NULL, &c->neg, f->st, o->cfg->dns_ttl);
        f->lk.index = c->index;
    }
    if (!c->fe_reads || !cache_on)
        return 0;
    for (unsigned i = 0; i < c->nfe && o->cfg->cache_doorkeeper; i++)
        if (dmp_cache_door_new(DMP_NODE_DOOR_BITS, &c->fe[i].door) != 0)
            return DMP_ENOMEM;
    size_t n = (size_t)c->nfe * c->nshards;
    c->fill = calloc(n, sizeof(*c->fill));
    if (!c->fill)
        return DMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (dmp_net_spsc_init(&c->fill[i], DMP_NODE_FILL_RING) != 0) {
            for (size_t j = 0; j < i; j++)
                dmp_net_spsc_destroy(&c->fill[j]);
            free(c->fill);
            c->fill = NULL;
            return DMP_ENOMEM;
        }
    }
    return 0;
}

void dmp_node_core_fe_free(dmp_node_core_t *c)
{
    if (c->fill) {
        size_t n = (size_t)c->nfe * c->nshards;
        void *items[64];
        for (size_t i = 0; i < n; i++) {
            size_t k;
            while ((k = dmp_net_spsc_pop(&c->fill[i], items, 64)) > 0)
                for (size_t j = 0; j < k; j++)
                    free(items[j]);
            dmp_net_spsc_destroy(&c->fill[i]);
        }
        free(c->fill);
        c->fill = NULL;
    }
    for (unsigned i = 0; c->fe && i < c->nfe; i++) {
        dmp_node_lookup_free(&c->fe[i].lk);
        dmp_cache_door_free(c->fe[i].door);
    }
    free(c->fe);
    c->fe = NULL;
    c->nfe = 0;
}
