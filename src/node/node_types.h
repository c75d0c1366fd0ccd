/* node: types shared by the dnsmeshd pieces (config, rate limiter, metrics, HTTP). */
#ifndef DMP_NODE_TYPES_H
#define DMP_NODE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util_types.h"

/* node error codes (-700..) */
enum {
    DMP_NODE_ECONFIG = -700, /* a configuration value is invalid */
    DMP_NODE_EBIND = -701,   /* a listener could not be bound */
};

typedef enum {
    DMP_NODE_AUTH_OPEN = 0,
    DMP_NODE_AUTH_LEGACY = 1,
} dmp_node_auth_mode_t;

/* Parsed configuration. Owns every string (malloc'd, freed by dmp_node_config_free; the
 * operator token is wiped first). Invariant after dmp_node_config_load() returned 0: every
 * field holds a validated value and the open-bind guard has passed. */
typedef struct {
    char *db_path;
    char *dns_host;
    uint16_t dns_port; /* 0 = ephemeral */
    char *http_host;
    uint16_t http_port; /* 0 = ephemeral */
    uint32_t dns_ttl;
    double dns_rate, dns_burst;   /* limiter off unless both > 0 */
    double http_rate, http_burst; /* likewise */
    uint32_t dns_max_concurrency; /* TCP connection cap = max(8*this, 256) */
    uint32_t http_max_concurrency;
    uint32_t max_ttl;
    uint32_t max_value_bytes;
    uint32_t max_values_per_name; /* 0 = no cap */
    char *operator_token;         /* NULL when none; DMP_HTTP_TOKEN is the alias */
    dmp_node_auth_mode_t auth_mode;
    bool auth_mode_set; /* DMP_AUTH_MODE given explicitly */
    bool allow_open_public_bind;
    char *served_zone; /* lowercased, no trailing dot; NULL when none */
    char *apex_a;      /* dotted quad or NULL */
    char *apex_aaaa;   /* IPv6 literal or NULL */
    char *apex_ns;     /* name or NULL */
    char *apex_soa_rname;
    double cleanup_interval; /* seconds, > 0 */
    dmp_log_level_t log_level;
    dmp_log_format_t log_format;
    uint32_t frontends;     /* F io_uring frontend threads */
    uint32_t shards;        /* S shard threads */
    uint64_t cache_mb;      /* answer cache, total over all shards, MiB; 0 = off */
    uint32_t ring_size;     /* entries per SPSC ring */
    char *ports_file;       /* where to write the bound ports, or NULL */
    uint32_t http_max_body; /* bytes accepted in a request body */
    /* anti-entropy (docs/cluster.md) */
    char *sync_peers;     /* DMP_SYNC_PEERS as given, or NULL */
    char *sync_token;     /* DMP_SYNC_PEER_TOKEN or NULL (wiped on free) */
    double sync_interval; /* seconds between rounds, > 0 */
    uint8_t sync_operator_spk[32];
    bool has_sync_operator_spk;
    char *sync_self_endpoint;  /* or NULL */
    char *node_id;             /* DMP_NODE_ID or NULL */
    char *cluster_base_domain; /* DMP_CLUSTER_BASE_DOMAIN, lowercased, or NULL */
} dmp_node_config_t;

/* One configuration knob: the environment variable, the command-line flag that overrides it,
 * its default (as text, parsed like a user value) and help. The table drives parsing, --help and
 * docs/node.md. */
typedef struct {
    const char *env;    /* e.g. "DMP_DNS_PORT" */
    const char *alias;  /* second env name or NULL */
    const char *flag;   /* e.g. "dns-port" (used as --dns-port) */
    const char *defval; /* default as text; NULL = unset */
    const char *help;
    bool is_bool; /* a bare --flag means "1" */
} dmp_node_knob_t;

#endif
