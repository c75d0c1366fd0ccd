/* node: types shared by the dnsmeshd pieces (config, rate limiter, metrics, HTTP). */
#ifndef DMP_NODE_TYPES_H
#define DMP_NODE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_types.h"
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
    /* response rate limiting (rrl.c) */
    double rrl_rate;                     /* identical responses/s per bucket; 0 = off */
    uint32_t rrl_slip;                   /* every Nth limited response is TC=1; 0 = drop all */
    uint32_t rrl_v4_prefix;              /* 1..32 */
    uint32_t rrl_v6_prefix;              /* 1..128 */
    uint32_t rrl_table_size;             /* buckets per shard */
    struct dmp_node_cidr *rrl_whitelist; /* malloc'd array (dmp_node_cidr_t), or NULL */
    size_t rrl_nwhitelist;
    /* EDNS */
    char *nsid; /* NSID payload (RFC 5001), NULL = not answered */
    size_t nsid_len;
    bool cookies;              /* answer DNS Cookies (RFC 7873) */
    bool cookie_required;      /* BADCOOKIE for UDP queries without a valid server cookie */
    bool cookie_secret_set;    /* cookie_secret came from DMP_COOKIE_SECRET (else random) */
    uint8_t cookie_secret[32]; /* master key of the rotating cookie secrets; wiped on free */
    uint32_t cookie_rotate;    /* seconds per cookie secret */
    char *user;                /* DMP_USER: drop to this user after binding when run as root */
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

/* ---- response rate limiting (rrl.c) ---- */
/* An address prefix: family AF_INET or AF_INET6, addr in network order, bits 0..32/128. */
typedef struct dmp_node_cidr {
    int family;
    uint8_t addr[16];
    unsigned bits;
} dmp_node_cidr_t;

typedef struct {
    double rate;        /* identical responses per second per bucket; <= 0: RRL off */
    unsigned slip;      /* 0: drop every limited response; N: every Nth is a TC=1 reply */
    unsigned v4_prefix; /* source prefix that shares a bucket, 1..32 (24) */
    unsigned v6_prefix; /* 1..128 (56) */
    size_t buckets;     /* table size (rounded up to a power of two; 0 = 65536) */
    const dmp_node_cidr_t *whitelist; /* never limited; copied */
    size_t nwhitelist;
} dmp_node_rrl_config_t;

typedef enum {
    DMP_NODE_RRL_PASS = 0,      /* under the limit */
    DMP_NODE_RRL_EXEMPT_COOKIE, /* a valid server cookie proves the source: never limited */
    DMP_NODE_RRL_EXEMPT_LIST,   /* source in the whitelist */
    DMP_NODE_RRL_DROP,          /* over the limit: send nothing */
    DMP_NODE_RRL_SLIP,          /* over the limit: send a TC=1 reply instead */
} dmp_node_rrl_verdict_t;

/* One table, used by one thread (each shard owns one: identical responses are about one name,
 * and a name always lands on the same shard). */
typedef struct dmp_node_rrl dmp_node_rrl_t;

#endif
