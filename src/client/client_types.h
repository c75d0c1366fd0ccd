/* client: types for composing and opening DMP messages (client.md §5.1-§5.3). */
#ifndef DMP_CLIENT_TYPES_H
#define DMP_CLIENT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "crypto/crypto_types.h"
#include "util/util_types.h"

#define DMP_CLIENT_NAME_MAX 256
/* The largest user message (v1, 10-digit ts, ttl 300): outer 25,084 bytes, k=196 n=255. */
#define DMP_CLIENT_MAX_MESSAGE 24724

/* One TXT record to publish. Owns value (malloc'd, NUL-terminated). */
typedef struct {
    char name[DMP_CLIENT_NAME_MAX];
    char *value;
    size_t value_len;
    uint32_t ttl;
} dmp_client_record_t;

/* A list of records; owns every record and the array. */
typedef struct {
    dmp_client_record_t *v;
    size_t n;
} dmp_client_records_t;

/* What a sender needs for one message. Pointers are borrowed for the call. */
typedef struct {
    const dmp_crypto_identity_t *sender;
    const char *sender_domain;   /* zone the chunks and the manifest are published in */
    const uint8_t *recipient_pk; /* recipient's long-term X25519 pk (gives recipient_id) */
    const uint8_t *prekey_pk;    /* chosen one-time prekey pk, or NULL (no forward secrecy) */
    uint32_t prekey_id;          /* id of prekey_pk; 0 when prekey_pk is NULL */
    int64_t now;                 /* Unix seconds */
    uint32_t ttl;                /* seconds; inner ttl, manifest exp = now + ttl, DNS TTL */
    const uint8_t *msg_id;       /* 16 bytes, or NULL for a random UUIDv4 */
    const uint8_t *eph_sk;       /* 32 bytes, or NULL for a fresh ephemeral key */
    const uint8_t *nonce;        /* 12 bytes, or NULL for a random nonce */
    const char *envelope_from;   /* sender address for a DMPv2 envelope, or NULL (v1) */
} dmp_client_send_t;

/* A TXT RRset handed to the receiver: values borrowed until the next fetch call. */
typedef struct {
    const uint8_t *data;
    size_t len;
} dmp_client_txt_t;

/* Resolves name to its TXT values (strings of one RR already joined). Returns 0 with *n >= 0, or
 * DMP_ENOTFOUND. The arrays stay valid until the next call on the same ctx. */
typedef int (*dmp_client_fetch_fn)(void *ctx, const char *name, const dmp_client_txt_t **vals,
                                   size_t *n);
/* Gives the private key of one of the receiver's prekeys; DMP_ENOTFOUND when unknown. */
typedef int (*dmp_client_prekey_fn)(void *ctx, uint32_t prekey_id, uint8_t sk[32]);

/* A fetch source over composed records, standing in for DNS (selftest, tests): serves the
 * values of recs whose name matches, at most 16 per name. Borrows recs. */
typedef struct {
    const dmp_client_records_t *recs;
    dmp_client_txt_t vals[16];
    unsigned lookups; /* fetch calls so far */
} dmp_client_memzone_t;

/* One delivered message. Owns body and from (wiped on free). */
typedef struct {
    uint8_t sender_spk[32];
    uint8_t msg_id[16];
    int64_t ts;
    uint32_t prekey_id;
    dmp_buf_t body;
    char from[DMP_CRYPTO_ADDR_MAX + 1]; /* envelope sender address, "" when none */
    int64_t exp;                        /* the manifest's expiry (replay-cache lifetime) */
} dmp_client_message_t;

/* What the receiver walks. Pointers are borrowed for the call. */
typedef struct {
    const dmp_crypto_identity_t *self;
    const char *zone; /* mailbox zone to walk (slot-0..9.mb-<h>.<zone>) */
    int64_t now;
    dmp_client_fetch_fn fetch;
    void *fetch_ctx;
    dmp_client_prekey_fn prekey; /* may be NULL: prekey messages are then skipped */
    void *prekey_ctx;
    const uint8_t (*pinned_spks)[32]; /* accept only manifests signed by these; NULL = any */
    size_t npinned;
    /* Optional gates, asked before any chunk is fetched: accept (signer allowed from this zone,
     * e.g. pinned and not revoked) and seen (already delivered: replay cache). */
    bool (*accept)(void *ctx, const uint8_t spk[32]);
    bool (*seen)(void *ctx, const uint8_t spk[32], const uint8_t msg_id[16]);
    void *gate_ctx;
    /* Optional: called after each chunk name is fetched (done of need = k). */
    void (*progress)(void *ctx, uint32_t done, uint32_t need);
    void *progress_ctx;
    /* counters (added to, never reset): manifests skipped for being malformed/unverifiable,
     * chunk values rejected (bad framing or hash), messages undeliverable */
    unsigned bad_manifests, bad_chunks, undeliverable;
} dmp_client_recv_t;

/* ---- config home (client.md §6.4, §6.5) ---- */

#define DMP_CLIENT_STR 256
#define DMP_CLIENT_PATH 1024

/* One contacts entry of config.yaml: key -> {pub, spk, domain, remote_username?}. */
typedef struct {
    char name[DMP_CLIENT_STR];
    char pub[130]; /* hex as stored (64 chars when valid); "" for an spk-only pin */
    char spk[130];
    char domain[DMP_CLIENT_STR];
    char remote_username[DMP_CLIENT_STR];
    bool has_remote_username; /* the key is written back only when it was present */
} dmp_client_contact_t;

/* config.yaml, every field of the reference's CLIConfig (same names, same defaults). "Optional"
 * strings of the reference (null in YAML) carry a *_set flag. Owns contacts and resolvers. */
typedef struct {
    char username[DMP_CLIENT_STR];
    char domain[DMP_CLIENT_STR];
    char endpoint[512];
    char http_token[512];
    bool http_token_set;
    char dns_host[DMP_CLIENT_STR];
    bool dns_host_set;
    int64_t dns_port;
    char (*dns_resolvers)[80];
    size_t n_resolvers;
    char passphrase_file[DMP_CLIENT_PATH];
    bool passphrase_file_set;
    char kdf_salt[130];
    char identity_domain[DMP_CLIENT_STR];
    char cluster_base_domain[DMP_CLIENT_STR];
    char cluster_operator_spk[130];
    int64_t cluster_refresh_interval;
    char cluster_node_token[512];
    bool cluster_enabled;
    char bootstrap_user_domain[DMP_CLIENT_STR];
    char bootstrap_signer_spk[130];
    dmp_client_contact_t *contacts;
    size_t n_contacts;
    char verify_pubkey[130];
    bool allow_tofu;
    bool dnssec_required;
    char claim_provider_override[512];
    char claim_provider_zone[DMP_CLIENT_STR];
    char tsig_key_name[DMP_CLIENT_STR];
    char tsig_secret_hex[300];
    char tsig_algorithm[64];
    char tsig_zone[DMP_CLIENT_STR];
    char tsig_dns_server[DMP_CLIENT_STR];
    int64_t tsig_dns_port;
    int64_t recv_primary_interval_seconds;
    int64_t recv_secondary_interval_seconds;
    bool recv_secondary_disable;
    char local_node_dns_server[DMP_CLIENT_STR];
    int64_t local_node_dns_port;
} dmp_client_config_t;

/* One first-contact intro (intros.db row). Owns plaintext. */
typedef struct {
    int64_t id;
    uint8_t sender_spk[32];
    uint8_t msg_id[16];
    dmp_buf_t plaintext;
    char zone[DMP_CLIENT_STR]; /* sender_mailbox_domain */
    char label[DMP_CLIENT_STR];
    int64_t received_at;
    int64_t msg_exp;
} dmp_client_intro_t;

/* Replay cache (client.md §5.4): (sender_spk, msg_id) -> expiry, persisted as the reference's
 * replay_cache.json. Owns its entries. */
typedef struct {
    uint8_t spk[32];
    uint8_t msg_id[16];
    int64_t exp;
} dmp_client_seen_t;
typedef struct {
    dmp_client_seen_t *v;
    size_t n;
    char path[DMP_CLIENT_PATH];
} dmp_client_replay_t;

/* ---- DNS reads (client.md §5.9, cluster.md §5) ---- */

#define DMP_CLIENT_RESOLVERS_MAX 16

/* TXT values of one answer, strings of each RR joined (client.md §1.0). Owns data; v[i].data
 * points into data and stays valid until the next fill or dmp_client_txtset_free. */
typedef struct {
    dmp_client_txt_t *v;
    size_t n;
    size_t cap;
    size_t *off; /* offsets of the values in data while building */
    dmp_buf_t data;
} dmp_client_txtset_t;

/* One upstream of the resolver pool, with its health. */
typedef struct {
    char text[80]; /* "ip:port" or "[v6]:port", canonical */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    int64_t cooldown_until_ms; /* skipped (tried last) until then */
    uint32_t consecutive_failures;
    uint64_t answers, failures;
} dmp_client_resolver_t;

/* Resolver pool: tries upstreams that are not cooling down in order, then the cooling ones;
 * the first non-empty answer wins (reference ResolverPool), or with union_all the union of every
 * upstream's answer (cluster union reader). A transport failure cools the upstream down for
 * cooldown_ms << min(consecutive_failures - 1, 4) (back-off); an answer resets it. */
typedef struct {
    dmp_client_resolver_t r[DMP_CLIENT_RESOLVERS_MAX];
    size_t n;
    int timeout_ms;  /* one attempt (UDP, then TCP on TC) */
    int lifetime_ms; /* one query over all upstreams */
    int cooldown_ms;
    bool dnssec; /* EDNS DO; answers without AD are dropped */
    bool union_all;
    int64_t (*now_ms)(void);  /* injectable clock; NULL = monotonic */
    dmp_client_txtset_t last; /* what dmp_client_dns_fetch hands out */
    uint64_t queries, tcp_retries;
} dmp_client_dns_t;

/* ---- HTTP writer (libcurl; client.md §5.9) ---- */

/* Result of one publish/delete. status 0 = no HTTP answer (transport failure). */
typedef struct {
    int status;
    char error[200]; /* the node's {"error": ...} text, or curl's */
} dmp_client_http_result_t;

/* Keep-alive HTTP client for one node: a libcurl multi handle with up to `conns` connections
 * used concurrently. Owns the curl handles. */
typedef struct {
    char endpoint[512]; /* normalized: scheme://host[:port], no trailing slash */
    char auth[600];     /* "Authorization: Bearer <token>" or "" */
    unsigned conns;
    long timeout_ms;
    unsigned max_retries;           /* on 429/503, with back-off */
    unsigned max_transport_retries; /* on no HTTP answer */
    int64_t retry_budget_ms;        /* 429/503 keep being retried this long after the first */
    void *multi;                    /* CURLM* */
    void **easy;                    /* CURL*[conns], reused so connections stay alive */
    unsigned batch_max; /* records per POST /v1/records (dnsmesh-c nodes); < 2 = one a request */
    bool no_batch;      /* the node has no batch endpoint (the reference): one a request */
    uint64_t requests, retries;
    uint64_t batches, batch_fallbacks; /* batches stored whole / sent again one by one */
} dmp_client_http_t;

/* The node's cap on records per batch publish (dnsmeshd DMP_NODE_BATCH_MAX). */
#define DMP_CLIENT_HTTP_BATCH_MAX 64
/* Body bytes per batch publish: the node takes at least 1 MiB (dnsmeshd BATCH_BODY_MAX) and
 * answers 413 above it; a batch stays under it with room for the headers' slack. */
#define DMP_CLIENT_HTTP_BATCH_BYTES ((1u << 20) - 4096)

/* What a send did (send.c), with the time spent in each part (ns). */
typedef struct {
    char contact[DMP_CLIENT_STR];
    uint32_t prekey_id; /* 0: long-term key (no forward secrecy for this message) */
    uint8_t prekey_pk[32];
    char manifest_name[DMP_CLIENT_NAME_MAX];
    char chunk0_name[DMP_CLIENT_NAME_MAX]; /* chunk-0000-<key>.<zone> */
    char msg_id_hex[33];
    uint32_t k, n;
    size_t records;
    unsigned attempts;                /* > 1 when a slot was refused and another msg id was used */
    unsigned claims_ok, claims_total; /* first-contact claims published / attempted */
    bool v2;                          /* sent with the DMPv2 envelope (our address inside) */
    int64_t lookup_ns, compose_ns, network_ns;
} dmp_client_send_report_t;

/* Counters of one receive: records skipped, never shown; intros queued. */
typedef struct {
    unsigned bad_manifests, bad_chunks, undeliverable;
    unsigned new_intros;
} dmp_client_recv_stats_t;

/* A claim provider: zone the claims go under, and the node to send them to ("" = the zone's
 * own host). */
typedef struct {
    char zone[DMP_CLIENT_STR];
    char endpoint[512];
} dmp_client_provider_t;

/* ---- session: one CLI invocation's state (session.c) ---- */

#define DMP_CLIENT_MAX_WRITERS 32

/* Everything a command needs: the config (and where it lives), the derived identity, the
 * reader (resolver pool, or the union over cluster nodes), the writers (one HTTP node, or every
 * cluster node with a quorum) and the local databases. Owns all of them. */
typedef struct {
    char home[DMP_CLIENT_PATH];
    char config_path[DMP_CLIENT_PATH];
    dmp_client_config_t cfg;
    dmp_crypto_identity_t id;
    bool have_id;
    char domain[DMP_CLIENT_STR];  /* effective domain: cluster base when anchors pinned */
    dmp_client_dns_t dns;         /* resolver pool (bootstrap / non-cluster reads) */
    dmp_client_dns_t cluster_dns; /* union over cluster nodes' DNS endpoints */
    bool cluster;
    bool cluster_reads_all; /* every read through the cluster union (identity --via-bootstrap) */
    dmp_client_http_t http[DMP_CLIENT_MAX_WRITERS];
    size_t nhttp;
    unsigned quorum;
    /* RFC 2136 UPDATE + TSIG writer, used instead of HTTP when config has a TSIG key */
    bool tsig;
    char tsig_ip[64];
    uint16_t tsig_port;
    char tsig_b64[400];
    char tsig_alg[80];
    void *prekeys;
    void *intros;
    dmp_client_replay_t replay;
    bool replay_loaded;
    int64_t (*now)(void); /* Unix seconds; injectable */
    char err[512];        /* the one-line reason of the last failure */
} dmp_client_session_t;

#endif
