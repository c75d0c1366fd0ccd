/* node: the node core's state, shared by core.c (shards, the write path, the shard hooks),
 * core_frontend.c (the frontends' query path and the fill rings) and core_answer.c (what both
 * use to answer). Not part of the API. */
#ifndef DMP_NODE_CORE_INT_H
#define DMP_NODE_CORE_INT_H

#include <time.h>

#include "net/ring.h"
#include "node/node.h"

/* One shard's state, touched only by that shard's thread (or by a thread that parked it for a
 * multi-shard transaction, or by main after the executor stopped), but for wseq and
 * fill_queued, which frontends read. */
typedef struct {
    dmp_node_core_t *core;
    unsigned idx;
    dmp_dns_zone_t zone;
    dmp_cache_t *cache;
    dmp_node_tstats_t *st;
    dmp_node_lookup_t lookup;
    dmp_node_wq_t wq;
    _Atomic(dmp_node_rrl_t *) rrl_hz; /* the RRL table this thread is using (core->rrl) */
    dmp_dns_cookie_secret_t cookie;   /* secrets of cookie_epoch (derived from the master) */
    uint64_t cookie_epoch;            /* UINT64_MAX: not derived yet */
    /* Write sequence: raised (release) after every store write to a name of this shard,
     * before the write's cache invalidation and acknowledgement, by whoever runs the write
     * (this shard's thread, or the one that parked it). A frontend reads it (acquire) before
     * a store read; the shard applies that read's fill only if it has not moved since. */
    _Alignas(64) _Atomic uint64_t wseq;
    _Atomic bool fill_queued; /* a fill-drain task is queued on this shard */
} shard_t;

/* One frontend's state for dmp_node_core_query_frontend: touched only by that frontend's thread
 * (reader index idx of every shard's answer cache). */
typedef struct {
    dmp_node_core_t *core;
    unsigned idx;
    dmp_node_tstats_t *st;
    dmp_dns_zone_t zone;
    int64_t now_ms;
    bool missed; /* the answer needs the shard (a miss without reads, a store error) */
    unsigned hits, neg_hits, misses;  /* this query's cache answers and store reads */
    dmp_dns_cookie_secret_t cookie;   /* this frontend's copy of the cookie secrets */
    uint64_t cookie_epoch;            /* UINT64_MAX: not derived yet */
    _Atomic(dmp_node_rrl_t *) rrl_hz; /* the RRL table this thread is using (core->rrl) */
    dmp_node_lookup_t lk;             /* store reads (frontend_reads); its cache unused */
    dmp_cache_door_t *door;           /* cfg->cache_doorkeeper: fills on a 2nd miss only */
    uint8_t blob[65535];
} fe_t;

struct dmp_node_core {
    const dmp_node_config_t *cfg;
    dmp_store_t *store;
    unsigned nshards;
    shard_t *shards;
    char apex[256]; /* served zone or "" */
    int64_t (*now_ms)(void);
    dmp_node_neggen_t neg;
    _Atomic uint32_t serial; /* SOA serial: see dmp_node_serial_touch() */
    dmp_node_syncer_t syncer;
    bool syncer_on;
    dmp_node_exec_fn exec;
    void *exec_ctx;
    /* multi-shard transactions are handed out one at a time, so every shard sees them in
     * the same order and two of them can never park each other's shards (no deadlock) */
    pthread_mutex_t multi_mu;
    unsigned nfe;
    fe_t *fe; /* nfe frontends that may answer from the caches (dmp_node_core_query_frontend) */
    bool fe_reads;      /* frontends read the store on a miss (opts.frontend_reads) */
    dmp_index_t *index; /* opts.index */
    /* fill rings, frontend f -> shard s at fill[f * nshards + s] (fill_t *, see
     * core_frontend.c); NULL without frontend reads or without a cache */
    dmp_net_spsc_t *fill;
    _Atomic uint64_t fills_applied, fills_dropped, fills_held;
    uint8_t cookie_master[32];    /* DMP_COOKIE_SECRET or random; wiped on free */
    uint16_t keepalive;           /* RFC 7828 value for TCP answers (100 ms units) */
    _Atomic bool cookie_required; /* reloadable (SIGHUP) */
    /* Response rate limiting: one table for the node (NULL: off), shared by the shards and the
     * frontends (dmp_node_rrl_check_mt), so a response is limited the same whichever thread
     * answers it. A SIGHUP swaps it: each query thread announces the table it uses in its
     * rrl_hz (a hazard pointer), and the old table is freed once no thread announces it. */
    _Atomic(dmp_node_rrl_t *) rrl;
};

static inline int64_t dmp_node_core_now_coarse(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- core_answer.c (dmp_node_core_shard_of is in node.h) ---- */
void dmp_node_core_zone_from_cfg(const dmp_node_config_t *c, dmp_dns_zone_t *z);
/* EDNS options of one query (cookies with the caller's secrets, NSID, keepalive). */
void dmp_node_core_query_opts(dmp_node_core_t *c, dmp_dns_cookie_secret_t *cookie,
                              uint64_t *cookie_epoch, const struct sockaddr *peer,
                              socklen_t peer_len, int64_t now_ms, dmp_dns_opts_t *o);
/* Response rate limiting of one UDP answer, the same on a shard and on a frontend: a dropped
 * answer leaves *out_len 0, a slipped one is replaced by a TC=1 stub. True when dropped or
 * slipped (counted in st). */
bool dmp_node_core_rrl_apply(dmp_node_core_t *c, _Atomic(dmp_node_rrl_t *) *hz,
                             dmp_node_tstats_t *st, const struct sockaddr *peer, socklen_t peer_len,
                             const dmp_dns_result_t *res, const uint8_t *pkt, size_t len,
                             uint8_t *out, size_t cap, size_t *out_len, int64_t now_ns);
/* Waits until no query thread announces r (each holds it for one check), then frees it. */
void dmp_node_core_rrl_retire(dmp_node_core_t *c, dmp_node_rrl_t *r);

/* ---- core_frontend.c ---- */
/* Sets up the frontends (c->fe, and the fill rings when c->fe_reads and the cache is on). */
int dmp_node_core_fe_init(dmp_node_core_t *c, const dmp_node_core_opts_t *o, bool cache_on);
void dmp_node_core_fe_free(dmp_node_core_t *c);
/* Shard thread (or whoever parked it): applies or drops every fill waiting for shard sh. */
void dmp_node_core_fill_drain(shard_t *sh);

#endif
