/* cluster: types for anti-entropy between nodes (Merkle tree, the reference's HTTP sync
 * protocol, our binary Merkle protocol), record re-verification and peer handling.
 * See docs/cluster.md and reference/cluster.md §3, §8. */
#ifndef DMP_CLUSTER_TYPES_H
#define DMP_CLUSTER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"
#include "util/util_types.h"

/* Cluster error codes (range -800..). Generic DMP_E* codes are used where they fit:
 * DMP_EFORMAT (malformed JSON / binary message), DMP_ETOOBIG (over a size cap), DMP_EAUTH. */
enum {
    DMP_CLUSTER_EHTTP = -800,   /* transport failure or a peer status we cannot use */
    DMP_CLUSTER_EREJECT = -801, /* a record refused by re-verification (cluster.md §3.6) */
    DMP_CLUSTER_EREQUEST = -802 /* a request the server answers 400 (message given) */
};

/* ---- protocol constants (reference/cluster.md §3.4, §3.5, §3.8) ---- */
#define DMP_CLUSTER_NAME_MAX 253           /* owner name bytes on the sync wire */
#define DMP_CLUSTER_DIGEST_LIMIT 1000      /* default digest page */
#define DMP_CLUSTER_DIGEST_LIMIT_MAX 10000 /* larger limits are clamped */
#define DMP_CLUSTER_PULL_MAX_NAMES 256     /* names per pull (over -> 400) */
#define DMP_CLUSTER_PULL_BODY_REF 16384    /* a reference node's request-body cap */
/* What we accept for a pull body: a reference worker sends up to 256 * (253 + 4) + 16 bytes. */
#define DMP_CLUSTER_PULL_BODY_MAX 69632
#define DMP_CLUSTER_TTL_SLOP 5         /* s: pull for a TTL refresh only beyond this */
#define DMP_CLUSTER_TTL_MAX 2147483648 /* digest ttl upper bound (2^31) */

/* ---- Merkle tree over the store's per-bucket leaves ----
 * Fixed fan-out 16; level 0 is the root, level 4 the 65,536 leaves (= store buckets, first 16
 * bits of SHA-256(lowercase name)). Node (L, i) has children (L+1, 16*i + k), k = 0..15. A leaf
 * is the store's XOR set digest; an inner node is SHA-256 of its 16 children's digests, except
 * that an inner node whose children are all zero is zero (an empty subtree). */
#define DMP_CLUSTER_FANOUT 16u
#define DMP_CLUSTER_DEPTH 4u /* leaf level */
#define DMP_CLUSTER_LEAVES DMP_STORE_MERKLE_BUCKETS
_Static_assert(DMP_CLUSTER_LEAVES == 65536u, "tree shape assumes 16-bit buckets");

/* A Merkle tree: all levels in memory (~2.2 MiB). Thread-safe: readers (HTTP handlers) and the
 * one refresher (the anti-entropy thread) are serialised by an internal rwlock; touch() is a
 * lock-free atomic bit set any thread may call. */
typedef struct dmp_cluster_tree dmp_cluster_tree_t;

/* Reads the leaf digest of one bucket (e.g. dmp_store_bucket_digest). 0 or a DMP_E* code. */
typedef int (*dmp_cluster_leaf_fn)(void *ctx, uint32_t bucket, uint8_t out[32]);

/* ---- our binary Merkle protocol (docs/cluster.md "Merkle protocol") ----
 * POST /v1/sync/merkle       request: u8 version(1) | u8 level (0..3) | u16 n | n x u16 index
 *                            response: u8 version | u8 level | 32 root | u16 n |
 *                                      n x (u16 index | 16 x 32 child digests)
 * POST /v1/sync/merkle-leaf  request: u8 version | u8 zero | u16 n | n x u16 bucket
 *                            response: u8 version | u16 n | n x (u16 bucket | u16 count |
 *                                      count x entry), entry = u8 flags | u8 name_len | name |
 *                                      32 hash | u32 ttl (s left on the sender)
 * All integers big-endian. n <= DMP_CLUSTER_MERKLE_MAX_NODES; a request with n = 0 at level 0
 * asks for the root only. */
#define DMP_CLUSTER_MERKLE_VERSION 1u
#define DMP_CLUSTER_MERKLE_MAX_NODES 4096u  /* indexes per request */
#define DMP_CLUSTER_LEAF_MAX_ENTRIES 65535u /* entries per bucket in one response */
#define DMP_CLUSTER_ENTRY_TOMBSTONE 0x01u   /* the entry is a delete marker */

typedef struct {
    unsigned level; /* 0..3: the nodes whose children are wanted */
    size_t n;
    uint16_t idx[DMP_CLUSTER_MERKLE_MAX_NODES];
} dmp_cluster_mreq_t;

/* Leaf request version 2, the "have-list": the requester says which live rows of each bucket it
 * already holds, so the response carries only what differs.
 *   request  u8 version(2) | u8 zero | 16 salt | u16 n |
 *            n x (u16 bucket | u16 k | k x (u64 key | u32 ttl)), buckets and keys strictly
 *            ascending; key = SipHash-2-4 keyed by salt of (lowercase name | 0x00 | SHA-256
 *            (value)), ttl = seconds the requester's copy has left
 *   response as for version 1, without the live rows whose key the requester listed, unless
 *            the responder's copy outlives the requester's by more than DMP_CLUSTER_TTL_SLOP
 *            (tombstones are always listed)
 * The list is a hint: a row left out of it is listed back (bytes, not correctness). The salt is
 * fresh per request, so nobody can make two rows' keys collide on purpose. */
#define DMP_CLUSTER_LEAF_VERSION 2u
#define DMP_CLUSTER_HAVE_BYTES 12u /* one have-list entry on the wire */

typedef struct {
    uint64_t key;
    uint32_t ttl;
} dmp_cluster_have_t;

/* A parsed have-list (dmp_cluster_lreq2_parse): bucket i of the request has cnt[i] entries at
 * have + off[i] (have = the request body, borrowed). */
typedef struct {
    uint8_t salt[16];
    const uint8_t *have;
    uint32_t off[DMP_CLUSTER_MERKLE_MAX_NODES]; /* byte offset of bucket i's first entry */
    uint16_t cnt[DMP_CLUSTER_MERKLE_MAX_NODES];
} dmp_cluster_lhave_t;

/* One leaf entry: a live row or a tombstone. ttl = seconds the row has left on the sender (for
 * a tombstone: seconds left of the row it deleted). Relative times keep clock skew out: the
 * receiver reads it as now + ttl on its own clock (the reference's rule, ±1 s per hop). */
typedef struct {
    char name[DMP_CLUSTER_NAME_MAX + 1]; /* lowercase, NUL-terminated */
    size_t name_len;
    uint8_t hash[32];
    uint32_t ttl;
    bool tombstone;
    uint16_t bucket;
} dmp_cluster_leaf_entry_t;

/* A growable list of leaf entries (heap; dmp_cluster_leaves_free). */
typedef struct {
    dmp_cluster_leaf_entry_t *e;
    size_t n, cap;
} dmp_cluster_leaves_t;

/* ---- the reference's JSON sync protocol (cluster.md §3.4) ---- */

/* Digest cursor "<ts>:<name>:<value_hash>" (hash may be absent: the 2-field legacy form). */
typedef struct {
    int64_t ts;
    char name[DMP_CLUSTER_NAME_MAX + 2]; /* + room for the legacy "\xff" sentinel */
    size_t name_len;
    uint8_t hash[32];
    bool has_hash;
} dmp_cluster_cursor_t;

/* One digest entry (a record advertised by a peer). */
typedef struct {
    char name[DMP_CLUSTER_NAME_MAX + 1];
    size_t name_len;
    uint8_t hash[32];
    int64_t ts;   /* the peer's stored time, ms: opaque to us except as a cursor */
    uint32_t ttl; /* seconds left on the peer; 0 = hash-only entry */
} dmp_cluster_dentry_t;

/* A parsed digest page (heap; dmp_cluster_digest_free). Invalid entries are dropped and
 * counted in `rejected`, as the reference's worker does. */
typedef struct {
    dmp_cluster_dentry_t *e;
    size_t n, cap;
    size_t rejected;
    bool has_more;
} dmp_cluster_digest_t;

/* One pulled record (value heap-owned by the page). */
typedef struct {
    char name[DMP_CLUSTER_NAME_MAX + 1];
    size_t name_len;
    uint8_t *value;
    size_t value_len;
    uint32_t ttl;
} dmp_cluster_precord_t;

/* A parsed pull response (heap; dmp_cluster_pull_free). Records that are not
 * {"name": str, "value": str, "ttl": int > 0} are dropped and counted in `rejected`. */
typedef struct {
    dmp_cluster_precord_t *r;
    size_t n, cap;
    size_t rejected;
} dmp_cluster_pull_t;

/* A parsed pull request (server side): names stripped of surrounding whitespace and every
 * trailing dot, in request order (heap; dmp_cluster_names_free). */
typedef struct {
    char **names;
    size_t *lens;
    size_t n;
} dmp_cluster_names_t;

/* ---- peers ---- */
#define DMP_CLUSTER_URL_MAX 256
#define DMP_CLUSTER_NODE_ID_MAX 16
#define DMP_CLUSTER_MAX_PEERS 64

/* Exponential back-off of one peer: after k consecutive failures the next attempt waits
 * base * 2^(k-1) (capped), plus up to 1/4 of that as jitter. */
typedef struct {
    unsigned failures;
    int64_t next_ms; /* earliest next attempt (clock ms) */
} dmp_cluster_backoff_t;

typedef struct {
    char url[DMP_CLUSTER_URL_MAX + 1]; /* base URL, no trailing '/' */
    char node_id[DMP_CLUSTER_NODE_ID_MAX + 1];
    bool synthetic_id; /* node_id derived from the URL (DMP_SYNC_PEERS), not a manifest */
    dmp_cluster_backoff_t bo;
} dmp_cluster_peer_t;

/* Result of an HTTP exchange with a peer. body is heap-owned (dmp_buf_t semantics). */
typedef struct {
    long status; /* 0 = transport failure */
    uint8_t *body;
    size_t len;
} dmp_cluster_http_resp_t;

/* Options of the peer HTTP client. */
typedef struct {
    const char *token;   /* DMP_SYNC_PEER_TOKEN: sent as "Authorization: Bearer <token>" */
    long timeout_ms;     /* whole request (0 = 5000) */
    long connect_ms;     /* connect phase (0 = 2000) */
    size_t max_response; /* larger bodies fail the request (0 = 8 MiB) */
} dmp_cluster_http_opts_t;

/* ---- conflict decisions (cluster.md §3.5 step 5, §3.7, tombstones) ---- */
typedef enum {
    DMP_CLUSTER_KEEP = 0,   /* local state is as good: nothing to do */
    DMP_CLUSTER_PULL = 1,   /* fetch the value from the peer and apply it */
    DMP_CLUSTER_DELETE = 2, /* remove the local row and keep the tombstone */
} dmp_cluster_action_t;

/* What one node knows about (name, hash): a live row, a tombstone, or nothing. */
typedef struct {
    bool present;         /* a live row */
    int64_t expires_ms;   /* of the live row */
    bool tombstone;       /* a delete marker */
    int64_t tomb_expires; /* expiry of the row the tombstone deleted */
} dmp_cluster_state_t;

/* ---- the anti-entropy engine (engine.c, round_*.c, pull.c, serve.c) ---- */

/* One change handed to the node's write path. Borrowed for the call. */
typedef struct {
    bool del; /* true: remove (name, value); false: put (name, value, ttl) */
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t ttl;
} dmp_cluster_change_t;

typedef int (*dmp_cluster_entry_fn)(void *fctx, const dmp_cluster_leaf_entry_t *e);

/* Pacing of the records a node pulls (a token bucket on the engine's clock, in thousandths of a
 * record): before each pull request the puller waits until the bucket is not in debt, after it
 * the records received are charged. Full after a second of rest (rate records), so a small
 * sync goes out at once. */
typedef struct {
    uint32_t rate;   /* records per second; 0 = unpaced */
    int64_t tokens;  /* thousandths of a record available (negative: owed) */
    int64_t last_ms; /* clock of the last refill */
} dmp_cluster_pace_t;

/* What the engine needs from the node. Everything is borrowed for the engine's life. */
typedef struct {
    dmp_store_t *store; /* reads: get, get_names, iter_since, bucket digests */
    /* The node's one write path, synchronous: 0 once applied and durable, else a DMP_E* code
     * (nothing applied). Required. */
    int (*apply)(void *ctx, const dmp_cluster_change_t *ch, size_t n);
    /* Lists the live rows and tombstones of one bucket (fn returns nonzero to stop). NULL: the
     * node serves no Merkle protocol and syncs through the reference's digest protocol only. */
    int (*list_bucket)(void *ctx, uint32_t bucket, int64_t now_ms, dmp_cluster_entry_fn fn,
                       void *fctx);
    /* Tombstone lookup: *found and the expiry (ms) of the row it deleted. NULL: none. */
    int (*tomb_get)(void *ctx, const char *lname, size_t len, const uint8_t hash[32], bool *found,
                    int64_t *tomb_expires_ms);
    void *ctx;
    /* true: list_bucket and tomb_get are the store's own indexes (dmp_store_bucket_scan,
     * dmp_store_tomb_get), what dnsmeshd uses; the two callbacks above are then ignored. */
    bool store_index;
    /* HTTP transport (NULL = dmp_cluster_http_request; tests route to another engine). */
    int (*http)(void *hctx, const char *url, const uint8_t *body, size_t len,
                const char *content_type, dmp_cluster_http_resp_t *resp);
    void *http_ctx;
    dmp_clock_t clock;
    const char *token;           /* DMP_SYNC_PEER_TOKEN (NULL: sync routes answer 403) */
    const uint8_t *operator_spk; /* DMP_SYNC_OPERATOR_SPK, 32 bytes, or NULL */
    const char *base_domain;     /* DMP_CLUSTER_BASE_DOMAIN, lowercase, or NULL (no gossip) */
    const char *self_url;        /* DMP_SYNC_SELF_ENDPOINT or NULL */
    const char *self_id;         /* DMP_NODE_ID or NULL */
    long timeout_ms;             /* per peer request (0 = 5000) */
    size_t max_diff_buckets;     /* per round (0 = 4096) */
    size_t max_pull_records;     /* per round (0 = 20000) */
    int64_t round_budget_ms;     /* wall time of one round (0 = 10000) */
    /* DMP_SYNC_PULL_RATE: records pulled per second (0 = unpaced); the engine syncs with one
     * peer at a time, so this bounds what any one peer serves us and the node's total. */
    uint32_t pull_rate;
    /* Waits ms milliseconds (NULL = nanosleep; tests advance their clock). The engine waits in
     * steps of at most 100 ms and stops waiting once aborted. */
    void (*sleep_ms)(void *sctx, int64_t ms);
    void *sleep_ctx;
} dmp_cluster_env_t;

/* Counters (monotonic; read without locks). */
typedef struct {
    uint64_t rounds, merkle_rounds, digest_rounds, in_sync;
    uint64_t pulled, written, rejected, deleted, errors;
    uint64_t bytes_in, bytes_out;
    uint64_t gossip_installed;
} dmp_cluster_stats_t;

/* Per-peer health (dmp_cluster_get_peer_stats). */
typedef struct {
    char url[DMP_CLUSTER_URL_MAX + 1];
    char node_id[DMP_CLUSTER_NODE_ID_MAX + 1];
    int64_t last_ok_ms;   /* end of the last successful round, engine clock ms; 0 = never */
    uint64_t failures;    /* failed rounds with this peer */
    unsigned failing_now; /* consecutive failures (back-off) */
    int merkle;           /* 1 speaks our Merkle protocol, 0 digest only, -1 not known yet */
} dmp_cluster_peer_stats_t;

/* The engine: peers, tree, quarantine, stats. Thread-safe: tick() and gossip_tick() from their
 * own threads, serve() from HTTP handler threads. */
typedef struct dmp_cluster dmp_cluster_t;

/* A reply of serve(): status, content type (static string) and body (heap). */
typedef struct {
    int status;
    const char *content_type;
    dmp_buf_t body;
} dmp_cluster_reply_t;

#endif
