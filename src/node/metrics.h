/* node: per-thread counters, summed on read, rendered as Prometheus text. */
#ifndef DMP_NODE_METRICS_H
#define DMP_NODE_METRICS_H

#include <stdint.h>

#include "cluster/cluster.h"
#include "index/index_types.h"
#include "util/util.h"

#define DMP_NODE_LAT_BUCKETS 14 /* + the implicit +Inf */
#define DMP_NODE_QT_SLOTS 16
#define DMP_NODE_RCODE_SLOTS 18 /* rcodes 0..16, slot 17 = other */
#define DMP_NODE_OUT_SLOTS 16   /* dns outcome enum values */
#define DMP_NODE_HTTP_METHODS 5 /* GET HEAD POST DELETE other */
#define DMP_NODE_HTTP_STATUSES 16

/* One thread's counters. Written only by its owning thread (plain load + relaxed atomic
 * store, so no locked instruction on the hot path); any thread may read them (relaxed loads).
 * Cache-line aligned so two threads never share a line. */
typedef struct {
    _Alignas(64) uint64_t dns_rcode[DMP_NODE_RCODE_SLOTS];
    uint64_t dns_outcome[DMP_NODE_OUT_SLOTS];
    uint64_t dns_qtype[DMP_NODE_QT_SLOTS];
    uint64_t dns_rate_limited;  /* admit() said drop */
    uint64_t dns_slipped;       /* admit() said slip (TC=1 stub) */
    uint64_t dns_malformed;     /* nothing sent back */
    uint64_t rrl_dropped;       /* response rate limiting: response not sent */
    uint64_t rrl_slipped;       /* response rate limiting: TC=1 reply sent instead */
    uint64_t rrl_exempt_cookie; /* over no limit: a valid server cookie */
    uint64_t rrl_exempt_list;   /* over no limit: DMP_RRL_WHITELIST */
    uint64_t dns_cookie[5];     /* queries by dmp_dns_cookie_state_t */
    uint64_t lat_bucket[DMP_NODE_LAT_BUCKETS + 1];
    uint64_t lat_sum_ns;
    uint64_t http[DMP_NODE_HTTP_METHODS][DMP_NODE_HTTP_STATUSES];
    uint64_t http_rate_limited;
    uint64_t http_body_too_large;
    uint64_t writes;        /* values written (acknowledged) */
    uint64_t write_batches; /* put_batch calls */
    uint64_t write_errors;
    uint64_t deletes; /* delete requests applied */
    uint64_t cache_hits, cache_neg_hits, cache_misses;
    uint64_t cache_fills_applied, cache_fills_stale; /* frontend store reads handed to the shard */
    uint64_t cache_fills_write; /* names read back into the cache by the write that changed them */
    uint64_t cache_bytes;       /* a gauge: the shard's current cache size */
    uint64_t store_errors;
    uint64_t index_hits, index_fallbacks; /* misses answered from the name index, or not */
    uint64_t sweep_runs, sweep_removed;
    uint64_t token_auth[3];    /* multi-tenant user-token checks: ok, rejected, throttled */
    uint64_t registrations[2]; /* /v1/registration/confirm: issued, refused */
} dmp_node_tstats_t;

#define DMP_STAT_ADD(st, field, n)                                                                 \
    __atomic_store_n(&(st)->field, (st)->field + (uint64_t)(n), __ATOMIC_RELAXED)
#define DMP_STAT_INC(st, field) DMP_STAT_ADD(st, field, 1)
#define DMP_STAT_SET(st, field, v) __atomic_store_n(&(st)->field, (uint64_t)(v), __ATOMIC_RELAXED)

/* Owns `t` (n slots, one per thread that counts). */
typedef struct {
    dmp_node_tstats_t *t;
    unsigned n;
} dmp_node_metrics_t;

/* Gauges gathered at scrape time by the caller (store, net). */
typedef struct {
    uint64_t records;
    int records_ok; /* 0 when the store could not be read */
    uint64_t ring_depth_now, ring_depth_max;
    uint64_t ring_full_drops;
    uint64_t udp_rx, udp_tx, udp_rx_dropped;
    uint64_t tcp_accepted, tcp_rejected, tcp_timeouts, tcp_bad_length;
    uint64_t tcp_evicted, tcp_source_capped;
    uint64_t tasks_run;
    uint64_t wal_syncs; /* group-commit WAL syncs */
    int have_net;
    /* DNS UPDATE (dmp_node_update_stats), when enabled */
    int have_update;
    uint64_t upd_result[7]; /* noerror refused notauth formerr servfail notzone prereq_failed */
    uint64_t tsig_error[3]; /* badkey badsig badtime */
    uint64_t claims[2];     /* accepted throttled */
    int have_index;         /* the name index (DMP_NAME_INDEX) */
    dmp_index_stats_t index;
} dmp_node_gauges_t;

int dmp_node_metrics_init(dmp_node_metrics_t *m, unsigned nslots);
void dmp_node_metrics_free(dmp_node_metrics_t *m);
/* Sums every slot into *sum. */
void dmp_node_metrics_sum(const dmp_node_metrics_t *m, dmp_node_tstats_t *sum);

/* Slot helpers for the hot path. */
unsigned dmp_node_qtype_slot(uint16_t qtype);
const char *dmp_node_qtype_slot_name(unsigned slot);
void dmp_node_lat_observe(dmp_node_tstats_t *st, int64_t ns);
unsigned dmp_node_http_method_slot(const char *method);
unsigned dmp_node_http_status_slot(unsigned status);
void dmp_node_http_count(dmp_node_tstats_t *st, const char *method, unsigned status);

/* Appends the Prometheus text exposition (format 0.0.4) of every metric to out. */
int dmp_node_metrics_render(const dmp_node_metrics_t *m, const dmp_node_gauges_t *g,
                            dmp_buf_t *out);
/* Appends the anti-entropy engine's counters (dmp_cluster_get_stats) and per-peer health;
 * nothing when c is NULL (no DMP_SYNC_PEER_TOKEN). */
int dmp_node_metrics_render_cluster(dmp_cluster_t *c, dmp_buf_t *out);

#endif
