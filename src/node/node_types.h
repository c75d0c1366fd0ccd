/* node: types shared by the dnsmeshd pieces (config, rate limiter, metrics, HTTP). */
#ifndef DMP_NODE_TYPES_H
#define DMP_NODE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "cache/cache_types.h"
#include "dns/dns_types.h"
#include "index/index_types.h"
#include "node/metrics.h"
#include "store/store_types.h"
#include "util/util_types.h"

/* node error codes (-700..) */
enum {
    DMP_NODE_ECONFIG = -700,     /* a configuration value is invalid */
    DMP_NODE_EBIND = -701,       /* a listener could not be bound */
    DMP_NODE_ENOTDURABLE = -702, /* applied and visible, but its WAL sync failed */
};

typedef enum {
    DMP_NODE_AUTH_OPEN = 0,
    DMP_NODE_AUTH_LEGACY = 1,
    DMP_NODE_AUTH_MULTI_TENANT = 2, /* per-user bearer tokens (node.md §5.2) */
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
    uint32_t http_header_timeout; /* s: headers must be in by then (408) */
    uint32_t http_body_timeout;   /* s: the body must be in by then, counted from the headers */
    uint32_t http_max_per_ip;     /* connections from one address (resolved: never 0) */
    uint32_t shutdown_timeout;    /* s SIGTERM waits for writes in flight, then 503 */
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
    uint32_t frontends;            /* F io_uring frontend threads */
    uint32_t shards;               /* S shard threads */
    uint64_t cache_mb;             /* answer cache, total over all shards, MiB; 0 = off */
    uint64_t store_min_free_mb;    /* free-space reserve on the store's disk, MiB; 0 = off */
    bool dns_fe_reads;             /* UDP cache misses read the store on the frontend thread */
    uint32_t write_window_ms;      /* a shard writes its queued single puts at most once per this */
    bool cache_doorkeeper;         /* a frontend read fills the cache on the name's 2nd miss only */
    uint64_t store_cache_mb;       /* RocksDB block cache, MiB (> 0) */
    uint64_t store_wbuf_mb;        /* RocksDB memtable of the records column family, MiB (> 0) */
    bool name_index;               /* DMP_NAME_INDEX: answers of names unwritten since start */
    uint32_t name_index_rebuild_s; /* DMP_NAME_INDEX_REBUILD_S: 0 = never */
    int64_t store_prefetch_mb;     /* page cache pass at start, MiB; -1 = auto, 0 = off */
    uint32_t ring_size;            /* entries per SPSC ring */
    char *ports_file;              /* where to write the bound ports, or NULL */
    uint32_t http_max_body;        /* bytes accepted in a request body */
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
    /* self-service registration (node.md §1.7) */
    char *node_hostname; /* DMP_NODE_HOSTNAME as given (stripped, case kept) or NULL */
    bool registration_enabled;
    char **reg_allowlist; /* lowercased domains without trailing dot; NULL-terminated */
    size_t reg_allowlist_n;
    int64_t reg_token_ttl_s; /* 0 = tokens never expire */
    double reg_issued_rate;  /* per-token rate stamped on self-service tokens */
    int64_t reg_issued_burst;
    double reg_endpoint_rate; /* per-IP limiter on the registration routes */
    double reg_endpoint_burst;
    /* anti-entropy (docs/cluster.md) */
    char *sync_peers;        /* DMP_SYNC_PEERS as given, or NULL */
    char *sync_token;        /* DMP_SYNC_PEER_TOKEN or NULL (wiped on free) */
    double sync_interval;    /* seconds between rounds, > 0 */
    uint32_t sync_pull_rate; /* DMP_SYNC_PULL_RATE: records pulled per second, 0 = unpaced */
    uint8_t sync_operator_spk[32];
    bool has_sync_operator_spk;
    char *sync_self_endpoint;  /* or NULL */
    char *node_id;             /* DMP_NODE_ID or NULL */
    char *cluster_base_domain; /* DMP_CLUSTER_BASE_DOMAIN, lowercased, or NULL */
    /* zone transfers (docs/node.md "Zone transfers") */
    char *xfr_allow; /* DMP_XFR_ALLOW as given, or NULL (transfers NOTIMP) */
    char *notify;    /* DMP_NOTIFY as given, or NULL */
    /* heartbeat / discovery (docs/node.md "Heartbeat"; node.md §1.9) */
    bool hb_enabled;
    char *hb_self_endpoint; /* or NULL */
    char *hb_key_path;      /* or NULL */
    uint32_t hb_seen_max_rows;
    char *hb_seeds; /* comma list or NULL */
    double hb_interval;
    uint32_t hb_ttl;
    uint32_t hb_max_peers;
    char *hb_version;   /* or NULL = the node's version */
    char *hb_seed_urls; /* comma list or NULL */
    bool hb_seed_urls_disabled;
    char *hb_resolvers; /* comma list or NULL = /etc/resolv.conf */
    bool hb_dnssec;
    bool hb_seed_allow_local; /* tests: http:// and non-public seed URL addresses */
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
/* ---- multi-tenant tokens (node.md §5.2) ---- */
#define DMP_NODE_TOKEN_LEN 59 /* "dmp_v1_" + 52 base32 characters */

/* A token row: the reference's `tokens` columns. Empty strings / 0 stand for SQL NULL
 * (expires_at 0 = never; revoked_at 0 = not revoked). The token itself is never kept. */
typedef struct {
    char token_hash[65]; /* sha256(token) hex */
    char subject[256];   /* canonical user@domain */
    int subject_type;    /* 1 = user identity */
    char subject_hash12[13];
    double rate_per_sec;
    int64_t rate_burst;
    int64_t issued_at;
    int64_t expires_at;
    int64_t revoked_at;
    char issuer[128];
    char note[256];
    char registered_spk[65]; /* Ed25519 key hex of a self-service registration, else "" */
} dmp_node_token_t;

/* One audit row (token_audit): empty strings are NULL. */
typedef struct {
    int64_t ts;
    char event[16]; /* issued | revoked | used | rejected | throttled */
    char token_hash[65];
    char subject[256];
    char remote_addr[64];
    char detail[400];
} dmp_node_audit_t;

/* Issue options. Strings borrowed; NULL = empty. */
typedef struct {
    double rate_per_sec;  /* default 10 */
    int64_t rate_burst;   /* default 50 */
    int64_t expires_in_s; /* 0 = never */
    const char *issuer;
    const char *note;
    const char *subject_hash12; /* --with-prekey-scope */
    const char *registered_spk;
    const char *remote;
} dmp_node_issue_t;

typedef enum {
    DMP_NODE_AUTHZ_OK = 0,
    DMP_NODE_AUTHZ_REJECT = 1,    /* 401 */
    DMP_NODE_AUTHZ_THROTTLED = 2, /* 429 per-token rate limit exceeded */
} dmp_node_authz_t;

typedef enum {
    DMP_NODE_SCOPE_UNKNOWN = 0,
    DMP_NODE_SCOPE_OWNER = 1,    /* owner-exclusive: subject names the owner */
    DMP_NODE_SCOPE_SHARED = 2,   /* shared pool (mailbox slots, chunks): publish only */
    DMP_NODE_SCOPE_OPERATOR = 3, /* operator token only */
} dmp_node_scope_kind_t;

typedef struct {
    dmp_node_scope_kind_t kind;
    /* OWNER: "user@domain", "#id16:<hex16>@domain", "#prekeys:<hex12>@domain" or "#<hex12>" */
    char subject[300];
    const char *reason; /* static text for the audit log */
} dmp_node_scope_t;

/* ---- self-service registration (node.md §5.3) ---- */
typedef struct {
    char challenge_hex[65];
    char node[256];
    int64_t expires_at;
    char server_x25519_pub_hex[65];
} dmp_node_challenge_t;

/* A failure of the ceremony: the reference's HTTP status and `error` text. */
typedef struct {
    int status;
    char msg[800];
} dmp_node_reg_err_t;

/* ---- landing page (landing.c) ---- */
/* One peer heard by heartbeat (strings are peer-derived: the page escapes them). */
typedef struct {
    char endpoint[256];
    char operator_spk_hex[65];
    char version[64];
    int64_t ts;
    unsigned sources;
} dmp_node_peer_row_t;

/* What the landing page shows. Strings borrowed, may be NULL. */
typedef struct {
    const char *self_endpoint;    /* heartbeat self endpoint, else NULL */
    const char *host_header;      /* the request's Host header (untrusted) */
    const char *operator_spk_hex; /* heartbeat operator key, else NULL */
    const char *zone;             /* served zone or NULL */
    const char *version;
    bool healthy;
    bool records_ok;
    uint64_t records;
    int auth_mode; /* dmp_node_auth_mode_t */
    bool registration_open;
    bool tsig_enabled; /* DNS UPDATE on: registration also mints TSIG keys */
    int64_t token_ttl_s;
    const char *const *allowlist;
    size_t allowlist_n;
    bool heartbeat_on;
    const dmp_node_peer_row_t *peers; /* newest first */
    size_t npeers;
    int64_t now_s;
} dmp_node_landing_t;

/* ---- request bodies (body.c) ---- */
/* A parsed POST body. Owns value (malloc'd; free it). */
typedef struct {
    uint8_t *value;
    size_t value_len;
    uint32_t ttl;
} dmp_node_post_t;
/* The records of a batch publish (POST /v1/records), parsed by dmp_node_batch_parse. */
#define DMP_NODE_BATCH_MAX 64u
typedef struct {
    char name[256]; /* as given, NUL-terminated */
    size_t name_len;
    uint8_t *value; /* malloc'd */
    size_t value_len;
    uint32_t ttl;
} dmp_node_batch_rec_t;
typedef struct {
    dmp_node_batch_rec_t *recs;
    size_t n;
} dmp_node_batch_t;

/* ---- the answer lookup (lookup.c) ---- */
#define DMP_NODE_NEG_SLOTS 4096

/* Negative-cache generations, shared by every shard: a cached NXDOMAIN for X is valid only
 * while gen[slot(X)] still holds the value read before X was looked up in the store. A put of
 * N bumps the slot of each proper ancestor of N below the zone apex (after the store write,
 * before the acknowledgement), so a cached NXDOMAIN of an ancestor that just became an empty
 * non-terminal is never served again: no cross-shard message, no window. */
typedef struct {
    _Atomic uint32_t gen[DMP_NODE_NEG_SLOTS];
} dmp_node_neggen_t;

/* One shard's lookup state (single-threaded). store, neg borrowed; cache owned by the shard. */
typedef struct {
    dmp_store_t *store;
    dmp_store_reader_t *rd; /* owned: made on the first store read, freed by lookup_free */
    dmp_index_t *index;     /* may be NULL: the name index read before the store */
    dmp_cache_t *cache;     /* may be NULL (cache off) */
    dmp_node_neggen_t *neg;
    dmp_node_tstats_t *st;
    uint32_t ttl;   /* TTL on answer RRs */
    int64_t now_ms; /* set by the caller before each query */
    dmp_buf_t rrs;  /* answer RRs built on a miss (valid until the next lookup) */
    dmp_buf_t vals;
    dmp_dns_value_t *vv;
    size_t vv_cap, vv_n;
    size_t *voff;
    int64_t min_exp;
} dmp_node_lookup_t;

/* What a store read found, in the form the answer cache holds it (see the entry kinds in
 * lookup.c). rrs borrowed from the lookup state that made it (valid until its next lookup). */
typedef enum {
    DMP_NODE_FILL_NONE = 0, /* nothing to cache */
    DMP_NODE_FILL_TXT,      /* rrs[0..rrs_len): count TXT RRs, until expires_ms */
    DMP_NODE_FILL_ENT,      /* exists without values (an empty non-terminal), while the
                               negative generation is still gen, until expires_ms */
    DMP_NODE_FILL_NX,       /* NXDOMAIN, valid while the negative generation is still gen */
} dmp_node_fill_kind_t;

typedef struct {
    dmp_node_fill_kind_t kind;
    const uint8_t *rrs;
    size_t rrs_len;
    uint16_t count;
    uint32_t gen;
    int64_t expires_ms;
} dmp_node_fill_t;

#endif
