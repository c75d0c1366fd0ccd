/* node: serving RFC 2136 UPDATE signed with TSIG (RFC 8945), and the anonymous claim exception
 * (node.md §2.5-§2.8). See docs/auth.md and docs/dns.md. */
#ifndef DMP_NODE_DNS_UPDATE_H
#define DMP_NODE_DNS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/node.h"

typedef struct dmp_node_update dmp_node_update_t;

/* The UPDATE knobs (environment only, read at start; node.md §1.2, §1.5, §1.6). */
typedef struct {
    bool enabled;          /* DMP_DNS_UPDATE_ENABLED (truthy: 1/true/yes/on) */
    bool claim_provider;   /* served zone set and DMP_CLAIM_PROVIDER not 0/false/no/off */
    bool receiver_claims;  /* DMP_RECEIVER_CLAIM_NOTIFICATIONS */
    int64_t claim_max_ttl; /* DMP_CLAIM_MAX_TTL (86400; a non-integer keeps the default) */
    double claim_rate;     /* DMP_CLAIM_RATE_PER_USER_PER_SEC (0.5) */
    double claim_burst;    /* DMP_CLAIM_RATE_BURST (30) */
    bool tsig_loose;       /* DMP_TSIG_LOOSE_SCOPE: minted scope = the zone */
    bool tsig_tight;       /* DMP_TSIG_TIGHT_SCOPE: minted scope without wildcards */
    unsigned workers;      /* DMP_UPDATE_WORKERS (32): UPDATEs handled at once */
} dmp_node_update_cfg_t;

void dmp_node_update_cfg_load(dmp_node_update_cfg_t *u, const dmp_node_config_t *cfg,
                              dmp_node_getenv_fn getenv_fn, void *env_ctx);

typedef struct {
    const dmp_node_config_t *cfg;
    dmp_node_update_cfg_t ucfg;
    dmp_store_t *store;
    dmp_node_core_t *core;
    int64_t (*now_ms)(void);
} dmp_node_update_opts_t;

int dmp_node_update_new(const dmp_node_update_opts_t *o, dmp_node_update_t **out);
void dmp_node_update_free(dmp_node_update_t *u);
bool dmp_node_update_enabled(const dmp_node_update_t *u);

/* UPDATE worker threads the program must run (net shards after the name-owning ones). */
unsigned dmp_node_update_workers(const dmp_node_update_t *u);

/* Frontend thread: true when pkt is an UPDATE request this node serves (enabled, QR=0,
 * opcode 5); *worker = which UPDATE worker takes it (by message ID). */
bool dmp_node_update_route(const dmp_node_update_t *u, const uint8_t *pkt, size_t len,
                           unsigned *worker);

/* UPDATE worker thread (never a name-owning shard: it blocks): answers an UPDATE. The
 * changes go through dmp_node_apply() to the shards owning the names (all or nothing, group
 * commit) and the reply is written only once they are durable: NOERROR means in the WAL.
 * *out_len = 0: send nothing. */
void dmp_node_update_handle(dmp_node_update_t *u, const uint8_t *pkt, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len);

/* Counters (any thread). */
typedef struct {
    uint64_t received, noerror, refused, notauth, formerr, servfail, notzone, prereq_failed,
        tsig_badkey, tsig_badsig, tsig_badtime, claims_accepted, claims_throttled;
} dmp_node_update_stats_t;
void dmp_node_update_stats(const dmp_node_update_t *u, dmp_node_update_stats_t *out);

#endif
