/* node: the pieces of dnsmeshd (config, rate limiter, validation, writes, HTTP API). The
 * program itself (main.c) wires them to net, dns and store. */
#ifndef DMP_NODE_H
#define DMP_NODE_H

#include <stdatomic.h>
#include <stdio.h>

#include <pthread.h>
#include <sys/socket.h>

#include "node/metrics.h"

#include "cache/cache.h"
#include "node/node_types.h"
#include <jansson.h>

#include "dns/dns.h"
#include "client/client_types.h"
#include "cluster/cluster.h"
#include "store/store.h"
#include "index/index.h"

const char *dmp_node_strerror(int err);

/* ---- configuration (config.c) ---- */
typedef const char *(*dmp_node_getenv_fn)(const char *name, void *ctx);
/* The knob table (env, flag, default, help), in --help order. */
const dmp_node_knob_t *dmp_node_knobs(size_t *n);
/* Reads every knob from the environment, then argv flags (argv[0] skipped). On error returns
 * DMP_NODE_ECONFIG and writes one line naming the variable (no trailing newline) to err; the
 * caller exits 2. *want_help = true when --help was given (c is then left empty). */
int dmp_node_config_load(dmp_node_config_t *c, dmp_node_getenv_fn getenv_fn, void *env_ctx,
                         int argc, char **argv, bool *want_help, char *err, size_t errcap);
void dmp_node_config_free(dmp_node_config_t *c);
void dmp_node_config_usage(FILE *f);
/* "localhost", 127.0.0.0/8, ::1 and ::ffff:127.x are loopback; everything else is public. */
bool dmp_node_host_is_loopback(const char *host);

/* ---- per-source token buckets (ratelimit.c) ---- */
typedef struct dmp_node_rl dmp_node_rl_t;
typedef enum {
    DMP_NODE_RL_ALLOW = 0,
    DMP_NODE_RL_DROP = 1,
    DMP_NODE_RL_SLIP = 2, /* limited, but this one may be answered with a TC=1 stub */
} dmp_node_rl_verdict_t;
/* rate tokens/s, bucket size burst, at most ~max_keys sources tracked (least recently seen
 * evicted); every slip-th limited packet of a source is a SLIP (0 = never). When rate or burst
 * is <= 0 the limiter is disabled: *out = NULL, and a NULL limiter allows everything. One
 * limiter per thread: not thread-safe. check takes 1 token; take n, all or none (a limited
 * verdict takes nothing; 0 allows). */
int dmp_node_rl_new(double rate, double burst, size_t max_keys, unsigned slip, dmp_node_rl_t **out);
void dmp_node_rl_free(dmp_node_rl_t *rl);
dmp_node_rl_verdict_t dmp_node_rl_check(dmp_node_rl_t *rl, const void *key, size_t key_len,
                                        int64_t now_ns);
dmp_node_rl_verdict_t dmp_node_rl_take(dmp_node_rl_t *rl, const void *key, size_t key_len,
                                       int64_t now_ns, unsigned n);
/* Gives n tokens back to a source that took them for work then refused (up to its burst; a
 * source no longer tracked is left alone: it would start full). */
void dmp_node_rl_give(dmp_node_rl_t *rl, const void *key, size_t key_len, unsigned n);

/* ---- response rate limiting (rrl.c; types in node_types.h) ---- */
/* Parses "10.0.0.0/8, 2001:db8::/32 192.0.2.1" (comma and/or space separated; a bare address is
 * /32 or /128) into a malloc'd array (*out, freed by the caller; NULL when n is 0). Host bits
 * beyond the prefix must be zero. DMP_EFORMAT names nothing: the caller reports the variable. */
int dmp_node_cidr_parse_list(const char *text, dmp_node_cidr_t **out, size_t *n);
/* True when the address (4 or 16 bytes of family) lies inside c. */
bool dmp_node_cidr_match(const dmp_node_cidr_t *c, int family, const uint8_t *addr);

/* *out = NULL (RRL off, every check passes) when cfg->rate <= 0. */
int dmp_node_rrl_new(const dmp_node_rrl_config_t *cfg, dmp_node_rrl_t **out);
void dmp_node_rrl_free(dmp_node_rrl_t *r);

/* Accounts one UDP response (res from dmp_dns_respond_ex, reply_len its size) to the bucket of
 * (source prefix, response class, qtype, name) and says what to send. now_ns: a monotonic clock
 * (injected in tests). Responses to TCP queries must not be passed here (TCP proves the
 * source). A NULL table or peer passes. */
dmp_node_rrl_verdict_t dmp_node_rrl_check(dmp_node_rrl_t *r, const struct sockaddr *peer,
                                          socklen_t peer_len, const dmp_dns_result_t *res,
                                          size_t reply_len, int64_t now_ns);
/* dmp_node_rrl_check for a table shared by several threads at once (each set of buckets is
 * updated under its own spinlock): the same verdicts as one thread calling dmp_node_rrl_check
 * for every response in turn. */
dmp_node_rrl_verdict_t dmp_node_rrl_check_mt(dmp_node_rrl_t *r, const struct sockaddr *peer,
                                             socklen_t peer_len, const dmp_dns_result_t *res,
                                             size_t reply_len, int64_t now_ns);

/* ---- running as a service (service.c) ---- */
typedef struct dmp_node_core dmp_node_core_t;
/* sd_notify(3) state ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."): > 0 sent, 0 no
 * NOTIFY_SOCKET (not under systemd), DMP_ESYS on error. */
int dmp_node_service_notify(const char *state);
/* Started as root (euid 0) with a user: chowns state_path (recursively, if not NULL) to
 * `user`, then switches every thread to that user and its groups for good. 0 when not root or
 * user is NULL (nothing done). */
int dmp_node_drop_privileges(const char *user, const char *state_path, char *err, size_t errcap);
/* KEY=VALUE lines of an environment file (# comments, optional quotes, "export " ignored), as
 * systemd's EnvironmentFile= and /etc/default files use them. Owns kv (wiped on free: tokens). */
typedef struct {
    char **kv;
    size_t n;
} dmp_node_envfile_t;
int dmp_node_envfile_load(const char *path, dmp_node_envfile_t *e);
const char *dmp_node_envfile_get(const dmp_node_envfile_t *e, const char *name);
void dmp_node_envfile_free(dmp_node_envfile_t *e);
/* SIGHUP: applies to cur (the running configuration) what can change without a restart from
 * nc (freshly loaded): log level and format, RRL parameters and DMP_COOKIE_REQUIRE (through
 * dmp_node_core_reload when core is set). done / restart receive comma-separated names of what
 * was reloaded and of what changed but needs a restart. nc keeps ownership of what it holds
 * (fields moved into cur are swapped with cur's old values). */
int dmp_node_config_reload(dmp_node_config_t *cur, dmp_node_config_t *nc, dmp_node_core_t *core,
                           char *done, size_t donecap, char *restart, size_t restartcap);
/* The environment file template: every knob, commented, with its help and default (packaging's
 * /etc/default/dnsmeshd). */
void dmp_node_config_env_template(FILE *f);

/* ---- validation (validate.c) ---- */
/* The reference's record-name rule: <= 253 chars, labels _?[A-Za-z0-9]([A-Za-z0-9-]{0,61}
 * [A-Za-z0-9])? separated by dots (one trailing dot tolerated). */
bool dmp_node_name_valid(const char *name, size_t len);
/* The reference's value rule: no '"', no byte < 0x20, no 0x7f (bytes >= 0x80 allowed). */
bool dmp_node_value_safe(const uint8_t *v, size_t len);
/* Extracts {name} from a raw request path "/v1/records/{name}[/]" (no query string):
 * percent-decodes, strips surrounding whitespace and trailing dots. Writes a NUL-terminated
 * name to out. DMP_ENOTFOUND when the path is not a record path, DMP_ETOOBIG when the decoded
 * name does not fit out. */
int dmp_node_record_path(const char *path, size_t len, char *out, size_t cap, size_t *out_len);

/* ---- request bodies (body.c) ---- */
/* Checks a POST body in the reference's order (invalid body; value str + ttl int > 0, default
 * 300; ttl cap; value byte cap). Returns 0, or the HTTP status (400) with the reference's message
 * in msg. An empty body is {}. */
int dmp_node_post_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                        dmp_node_post_t *out, char *msg, size_t msgcap);
/* A batch publish (POST /v1/records): {"records": [{"name": .., "value": .., "ttl": ..}, ...]},
 * 1..DMP_NODE_BATCH_MAX records, each with a name that passes dmp_node_name_valid and the single
 * POST's value and TTL rules (dmp_node_batch_t, node_types.h). The node writes a batch as one
 * transaction: all or nothing.
 * Returns 0 with out filled (free it with dmp_node_batch_free), or the HTTP status (400; 413 for
 * more than DMP_NODE_BATCH_MAX records; 500) with a message in msg and, when one record is at
 * fault, its index in *bad_index (else SIZE_MAX); out is then empty. */
int dmp_node_batch_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                         dmp_node_batch_t *out, size_t *bad_index, char *msg, size_t msgcap);
void dmp_node_batch_free(dmp_node_batch_t *b);
/* DELETE body: empty = delete all (*value NULL); {"value": "<safe str>"} = that value
 * (malloc'd, caller frees); {"value": null} or {} = all. Anything else is 400 ("invalid body" for
 * malformed / non-object JSON, "invalid record value" for a bad value) and deletes nothing. */
int dmp_node_delete_parse(const uint8_t *body, size_t len, uint8_t **value, size_t *value_len,
                          char *msg, size_t msgcap);

/* ---- background threads (bg.c) ----
 * One type for every periodic or event-driven helper thread of the node (expiry sweep, WAL
 * syncer, the cluster's anti-entropy and heartbeat to come). The caller fills the public fields
 * and owns the struct; start/stop/kick may be called from any thread but the bgthread itself. */
typedef struct dmp_node_bgthread {
    const char *name;  /* for logs (borrowed) */
    double interval_s; /* > 0: tick every interval_s after the previous tick ended;
                        * 0: tick only when kicked */
    void (*tick)(void *ctx);
    void *ctx;
    int nice;          /* > 0: the thread runs SCHED_BATCH at this nice value (the node uses 13) */
    bool tick_on_stop; /* run one last tick after stop (e.g. to drain a queue) */
    /* private */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    bool stop, kicked, started;
    _Atomic uint64_t ticks;
} dmp_node_bgthread_t;

int dmp_node_bgthread_start(dmp_node_bgthread_t *b);
/* Wakes the thread for a tick now (a kick during a tick runs one more tick after it). */
void dmp_node_bgthread_kick(dmp_node_bgthread_t *b);
/* Stops (after the running tick, plus the final tick if tick_on_stop) and joins. Idempotent. */
void dmp_node_bgthread_stop(dmp_node_bgthread_t *b);

/* Lowers the calling thread's CPU priority (SCHED_BATCH, nice 13) once: HTTP, WAL-sync and
 * sweep threads share cores with the DNS frontends and shards, and must yield to them under
 * load (SCHED_BATCH: their wake-ups do not preempt a running frontend or shard). */
void dmp_node_background_thread(void);
/* The calling thread: SCHED_BATCH, and nice (when > 0). DMP_ESYS when either failed (the rest
 * is still done). Threads started with dmp_node_bgthread_t.nice > 0 call it. */
int dmp_node_thread_lower(int nice);

/* ---- the disk watcher (diskwatch.c) ----
 * Reads the free space on the store's disk every DMP_NODE_DISKWATCH_S (dmp_store_space_check):
 * below the reserve the store refuses puts (507, UPDATE SERVFAIL; /health 503) until space
 * returns. Logs each change of state once. */
#define DMP_NODE_DISKWATCH_S 0.1
typedef struct {
    dmp_node_bgthread_t bg;
    dmp_store_t *store;
    uint64_t min_free; /* bytes */
    bool low;          /* as last logged (the watcher thread only) */
    bool read_failed;
} dmp_node_diskwatch_t;
/* Sets the store's reserve, takes a first reading and starts the thread; min_free_bytes 0 = no
 * reserve and no thread (0 returned). DMP_ESYS when the thread cannot start. */
int dmp_node_diskwatch_start(dmp_node_diskwatch_t *w, dmp_store_t *store, uint64_t min_free_bytes);
/* Joins the thread; idempotent, and a no-op on a zeroed or never-started watcher. */
void dmp_node_diskwatch_stop(dmp_node_diskwatch_t *w);

/* ---- the page cache after a start (prefetch.c) ----
 * One background thread (nice 13) when the node starts: the name index's walk (dmp_index_build),
 * then one pass over the table files of the DNS read path (dmp_store_prefetch_ex: the names index
 * only when the walk completed, since it read the records' tables), at most a budget of bytes;
 * then, every DMP_NODE_INDEX_CHECK_S, the index's rebuild when it is due one. */
#define DMP_NODE_INDEX_CHECK_S 5.0
typedef struct {
    dmp_node_bgthread_t bg;
    dmp_store_t *store;
    dmp_index_t *index;       /* NULL: no walk */
    uint64_t index_min_free;  /* the walk stops below this many free bytes */
    uint32_t index_rebuild_s; /* DMP_NAME_INDEX_REBUILD_S: 0 = no rebuilds */
    uint64_t budget;          /* bytes */
    atomic_bool stop;         /* set by dmp_node_prefetch_stop: the pass ends early */
    bool done;                /* the thread only */
} dmp_node_prefetch_t;
/* budget_mb: DMP_STORE_PREFETCH_MB, < 0 = auto (half of the kernel's MemAvailable), 0 = no pass
 * (and no thread without an index: 0 returned). index_rebuild_s: DMP_NAME_INDEX_REBUILD_S.
 * DMP_ESYS when the thread cannot start. */
int dmp_node_prefetch_start(dmp_node_prefetch_t *p, dmp_store_t *store, int64_t budget_mb,
                            dmp_index_t *index, uint64_t index_min_free, uint32_t index_rebuild_s);
/* Ends the pass early and joins the thread; a no-op on a zeroed or never-started one. */
void dmp_node_prefetch_stop(dmp_node_prefetch_t *p);

/* ---- changes and transactions: the one write path (write.c, core.c) ----
 * Every writer of a running node (HTTP, DNS UPDATE, anti-entropy pulls) describes what it
 * wants as a transaction of changes and hands it to dmp_node_apply(). The node applies it on
 * the shard(s) owning the names, all or nothing in one RocksDB WriteBatch, invalidates the
 * answer cache, bumps the negative-cache generations of the names' ancestors, advances the
 * zone serial, and completes the transaction only once the WAL holds it (group commit). */
typedef enum {
    DMP_NODE_CH_PUT = 0,       /* add (name, value) or refresh its TTL */
    DMP_NODE_CH_DEL_VALUE = 1, /* remove (name, value) */
    DMP_NODE_CH_DEL_ALL = 2,   /* remove every value at name */
} dmp_node_chop_t;

/* One change. Invariant: lname is lowercase, NUL-terminated, lname_len < sizeof(lname). value is
 * borrowed from the caller until the transaction completes. */
typedef struct {
    dmp_node_chop_t op;
    char lname[256];
    size_t lname_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t ttl;
    size_t removed; /* out: rows a delete removed */
} dmp_node_change_t;

/* Fills ch with name lowercased. DMP_ENAME when the name is empty or longer than 253 bytes
 * (after trailing dots are removed); the name rule itself is the front door's business. */
int dmp_node_change_set(dmp_node_change_t *ch, dmp_node_chop_t op, const char *name,
                        size_t name_len, const uint8_t *value, size_t value_len, uint32_t ttl);

/* Check flags of a transaction. */
#define DMP_NODE_TXN_CHECK_VALUES 1u /* refuse unsafe values (dmp_node_value_safe) */
#define DMP_NODE_TXN_CHECK_SIZE 2u   /* refuse a put whose name's answer would exceed one message */

/* Largest DNS message (RFC 1035 4.2.2: a TCP message carries a 16-bit length). */
#define DMP_NODE_ANSWER_MAX 65535u

/* Bytes of the largest reply the node can send to a TXT query for a name of lname_len
 * characters (no trailing dot) holding nrr values whose TXT RDATA totals rdata_bytes (the sum of
 * dmp_store_txt_rdata_len). Exact for dmp_dns_respond's positive answer:
 *   header 12
 *   + question: name in wire form (lname_len + 2: a length byte per label replaces each dot,
 *     plus the first length byte and the root byte) + type 2 + class 2
 *   + per RR: owner 2 (pointer 0xC00C) + type 2 + class 2 + TTL 4 + RDLENGTH 2 = 12, + RDATA
 *     (the value plus one length byte per 255-byte character-string, at least one string)
 *   + OPT RR 11 (root owner 1 + type 2 + class 2 + TTL 4 + RDLENGTH 2) plus the options the
 *     node may echo at their largest: COOKIE 4+8+16, NSID 4+DMP_DNS_NSID_MAX, keepalive 4+2. */
size_t dmp_node_answer_size(size_t lname_len, size_t nrr, size_t rdata_bytes);

typedef struct dmp_node_txn dmp_node_txn_t;

/* A transaction. Owned by the caller (changes too) until done() is called, exactly once, on a
 * node thread (a shard or the WAL-sync thread). result codes:
 *   0            applied and durable; `changed` = puts + rows removed (0: nothing matched)
 *   DMP_EFULL    a put would give its name more than `cap` live values (changes[failed])
 *   DMP_EMSGSIZE with DMP_NODE_TXN_CHECK_SIZE: a put would make its name's TXT answer larger
 *                than DMP_NODE_ANSWER_MAX (dmp_node_answer_size; changes[failed]), checked after
 *                the cap
 *   DMP_EINVAL   an unsafe value with DMP_NODE_TXN_CHECK_VALUES (changes[failed]), checked
 *                after the cap, the reference's order
 *   DMP_ETOOBIG / DMP_ENAME  the store refuses a value or name
 *   DMP_EIO      store or WAL failure (nothing acknowledged)
 *   DMP_EAGAIN   not run (a multi-shard transaction whose hand-off failed half-way)
 * On any error nothing of the transaction is in the store. */
struct dmp_node_txn {
    dmp_node_change_t *changes;
    size_t n;
    uint32_t cap;   /* DMP_MAX_VALUES_PER_NAME; 0 = no cap */
    unsigned flags; /* DMP_NODE_TXN_* */
    int result;
    size_t failed;
    size_t changed;
    void (*done)(dmp_node_txn_t *t);
    void *ctx; /* the caller's */
    /* node-private */
    dmp_node_txn_t *next;
    void *priv;
    int64_t now_ms;
};

/* Group commit (syncer.c): shards write without waiting for the disk and hand their finished
 * transactions here; one background thread syncs the WAL once for everything handed over since
 * its last sync and only then completes them, so no shard (and no query) waits on an fsync. */
typedef struct dmp_node_syncer {
    dmp_store_t *store;
    dmp_node_bgthread_t bg;
    pthread_mutex_t mu;          /* guards head/tail (write path only) */
    dmp_node_txn_t *head, *tail; /* handed over, not yet synced; result set */
    int64_t last_start_ns;
    size_t last_carried;    /* transactions the last sync completed (sets the next gap) */
    _Atomic uint64_t syncs; /* WAL syncs done (metrics) */
} dmp_node_syncer_t;

/* The least time between the starts of two WAL syncs after one that carried `carried`
 * transactions: 2 ms x sqrt(carried), at most 10 ms (from 25 on), 0 after an empty one. */
int64_t dmp_node_sync_gap_ns(size_t carried);

int dmp_node_syncer_start(dmp_node_syncer_t *sy, dmp_store_t *store);
/* Hands a chain of applied transactions (linked by next) over; any thread. */
void dmp_node_syncer_defer(dmp_node_syncer_t *sy, dmp_node_txn_t *head, dmp_node_txn_t *tail);
/* Syncs and completes whatever is pending, then joins the thread. Idempotent. */
void dmp_node_syncer_stop(dmp_node_syncer_t *sy);

/* What applying a transaction touches besides the store (write.c). All may be NULL except
 * store, st and now_ms. */
typedef struct {
    dmp_store_t *store;
    dmp_node_tstats_t *st;
    int64_t (*now_ms)(void);
    /* the zone's SOA serial shared by every shard: advanced on each stored change */
    _Atomic uint32_t *serial;
    /* NULL: each batch is written synced and completed at once (tests); otherwise batches are
     * written unsynced and completed by the syncer after its next WAL sync */
    dmp_node_syncer_t *syncer;
    /* drops lname's answer-cache entry on the shard that owns it; the caller guarantees that
     * shard is not running (it is this thread, or parked for a multi-shard transaction) */
    void (*invalidate)(void *ctx, const char *lname, size_t len);
    /* for a put, instead of invalidate when set: drops lname's entry and, when there was one
     * (the name is being answered from the cache), reads the name back from the store into
     * it; same threads as invalidate */
    void (*refresh)(void *ctx, const char *lname, size_t len);
    /* called for each change (put or delete) once it is in the store, before it is acknowledged
     * (the node bumps the negative-cache generations of the name's ancestors here) */
    void (*on_write)(void *ctx, const char *lname, size_t len);
    /* the name index (may be NULL): each change updates it (dmp_index_put for a name's only put
     * in the transaction, dmp_index_invalidate otherwise) before invalidate / refresh run */
    dmp_index_t *index;
    void *ctx;
} dmp_node_apply_env_t;

/* Checks (cap, values) and applies t now, in one WriteBatch, then completes it (at once, or
 * through env->syncer once durable). The caller runs on the thread owning every name of t, or
 * has parked those threads. */
void dmp_node_txn_exec(const dmp_node_apply_env_t *env, dmp_node_txn_t *t);
/* Prefix seeks the cap and size checks made on the calling thread so far (tests: a put of a
 * value already stored needs none, only a point lookup). */
uint64_t dmp_node_write_prefix_probes(void);

/* Shard-local write queue: single-put transactions are batched into one WriteBatch; anything
 * else flushes the batch and runs alone. Single-threaded (the shard's). With a window, the
 * batch is written at most once per window (a write after a quiet spell at once, the writes
 * of a busy spell together at the window's end: the group commit makes them wait for the next
 * WAL sync anyway); without one, at every ring drain (dmp_node_wq_tick). */
typedef struct {
    dmp_node_apply_env_t env;
    dmp_node_txn_t *head, *tail; /* pending single puts (cap-checked, values checked) */
    size_t n;
    size_t max_batch;
    int64_t window_ns;     /* 0 = write the batch at every tick */
    int64_t last_flush_ns; /* monotonic time of the last flush (0 = none yet) */
} dmp_node_wq_t;

/* Takes one transaction; done() is called exactly once, possibly later and on another thread. */
void dmp_node_wq_take(dmp_node_wq_t *q, dmp_node_txn_t *t);
/* Writes the pending batch in one WriteBatch and completes its transactions. */
void dmp_node_wq_flush(dmp_node_wq_t *q);
/* The shard's tick: flushes the batch if it is due at now_ns (monotonic). Returns the ns until
 * the pending batch falls due (the caller ticks again by then), or -1 when nothing is pending. */
int64_t dmp_node_wq_tick(dmp_node_wq_t *q, int64_t now_ns);
/* The SOA serial is the Unix time (s) of the latest change this process made to the zone (its
 * start time before any): it moves only when the zone does (RFC 1996) and never backwards.
 * Raises *serial to now_ms / 1000 if that is later (any thread). */
void dmp_node_serial_touch(_Atomic uint32_t *serial, int64_t now_ms);

/* ---- answer lookup (lookup.c): the answer cache and the negative-cache generations ---- */
/* Longest life of a cached NXDOMAIN or empty non-terminal (ms). Their generation, checked on
 * every hit, outdates them the moment a name below is written or deleted (a change at N also
 * drops N's own entry), and an empty non-terminal ends when the live record found below it
 * expires; so this bounds nothing that could go stale, it only keeps an entry from living for
 * ever. (It was 30 s: then every name asked for again after half a minute, as DMP clients
 * polling empty mailbox slots every 30 s do, read the store twice.) */
#define DMP_NODE_NX_CACHE_MS 3600000
/* Life of an empty non-terminal answered from the store's dead-entry bound (no live record seen
 * below, only a run of expired ones not yet swept; dmp_store_has_descendant), ms. */
#define DMP_NODE_NEG_CACHE_MS 30000

unsigned dmp_node_neg_slot(const char *lname, size_t len);
/* Bumps the generations of lname's proper ancestors strictly below apex (apex "" = every
 * ancestor of >= 2 labels); nothing when lname is outside apex. */
void dmp_node_neggen_bump(dmp_node_neggen_t *g, const char *apex, const char *lname, size_t len);

void dmp_node_lookup_init(dmp_node_lookup_t *l, dmp_store_t *store, dmp_cache_t *cache,
                          dmp_node_neggen_t *neg, dmp_node_tstats_t *st, uint32_t ttl);
void dmp_node_lookup_free(dmp_node_lookup_t *l);
/* The dmp_dns_lookup_fn of a shard (ctx = dmp_node_lookup_t): 0 with the RRset view (count 0 =
 * the name exists without values, RFC 8020), DMP_ENOTFOUND (NXDOMAIN), other = SERVFAIL. */
int dmp_node_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out);

/* What a cache entry (read by dmp_cache_get_exp or dmp_cache_read: result cr, blob, count,
 * expiry exp) answers for lname, by the entry kinds in lookup.c: 0 with *out (an RRset, or count 0
 * = exists without values), DMP_ENOTFOUND (NXDOMAIN), or DMP_EAGAIN (a miss: not cached, or its
 * negative generation moved). *neg_hit tells a negative answer (NXDOMAIN) from the rest. */
int dmp_node_lookup_cached(dmp_node_neggen_t *neg, const char *lname, size_t len,
                           dmp_cache_result_t cr, const uint8_t *blob, size_t blen, uint16_t count,
                           int64_t exp, int64_t now_ms, dmp_dns_rrset_view_t *out, bool *neg_hit);

/* The store half of dmp_node_lookup (cache untouched, nothing logged): any thread with its own l
 * (l->cache unused). The name index first when l->index is set (counted in l->st when set),
 * RocksDB otherwise. 0 with the view, DMP_ENOTFOUND, or a store error; *fill
 * says what the cache may hold for lname (the negative generation is read before the store). */
int dmp_node_lookup_store(dmp_node_lookup_t *l, const char *lname, size_t len,
                          dmp_dns_rrset_view_t *out, dmp_node_fill_t *fill);
/* Puts what *f describes into cache (its writer's thread only). */
int dmp_node_lookup_fill_cache(dmp_cache_t *cache, const char *lname, size_t len,
                               const dmp_node_fill_t *f);
/* Answer TTL of a TXT RRset expiring at expires_ms: sets out->clamp_ttl/ttl (used by the shard's
 * lookup and the frontends'). */
void dmp_node_lookup_clamp_ttl(dmp_dns_rrset_view_t *out, int64_t expires_ms, int64_t now_ms);

/* ---- the node core (core.c): shards, routing, the apply API ----
 * Owns the per-shard state (write queue, answer cache, lookup buffers), the negative-cache
 * generations, the zone serial and the group-commit syncer. It runs code on a shard through an
 * executor the program provides (dnsmeshd: net's task rings); nothing else calls the executor,
 * so the HTTP API, UPDATE and the cluster threads only see dmp_node_apply(). */
typedef struct dmp_node_core dmp_node_core_t;
/* Runs fn(arg) on shard `shard`'s thread, later; 0 = queued, else not queued (ring full). */
typedef int (*dmp_node_exec_fn)(void *ctx, unsigned shard, void (*fn)(void *arg), void *arg);

typedef struct {
    const dmp_node_config_t *cfg; /* zone, TTL, cache size; borrowed for the core's life */
    dmp_store_t *store;
    unsigned nshards;
    dmp_node_tstats_t *shard_st;  /* nshards slots */
    int64_t (*now_ms)(void);      /* NULL = CLOCK_REALTIME */
    bool no_syncer;               /* tests: every batch written synced, completed at once */
    uint16_t tcp_keepalive_100ms; /* RFC 7828 timeout sent in TCP answers that ask; 0 = never */
    /* threads that may call dmp_node_core_query_frontend (dnsmeshd: net frontends), each with
     * its own index; 0 = none. frontend_st: their counter slots (nfrontends, may be NULL). */
    unsigned nfrontends;
    dmp_node_tstats_t *frontend_st;
    /* frontends answer cache misses too, reading the store themselves (docs/cache.md "Frontend
     * reads"); false: a miss returns false (the shard answers it) */
    bool frontend_reads;
    /* single puts written together at most once per this many us (dmp_node_wq_t); 0 = at
     * every ring drain */
    uint32_t write_window_us;
    /* the name index (may be NULL): read before the store on every miss, invalidated by every
     * write before its write sequence moves; borrowed for the core's life */
    dmp_index_t *index;
} dmp_node_core_opts_t;

int dmp_node_core_new(const dmp_node_core_opts_t *o, dmp_node_core_t **out);
void dmp_node_core_set_exec(dmp_node_core_t *c, dmp_node_exec_fn fn, void *ctx);
unsigned dmp_node_core_shard_of(const dmp_node_core_t *c, const char *lname, size_t len);
/* Hands t to the shard(s) owning its names. 0 = t->done will be called; DMP_EAGAIN = not
 * queued (the shard's ring is full: the caller answers "busy"), DMP_EINVAL = empty or bad t;
 * done is then NOT called.
 * Multi-shard transactions (names on several shards) stay atomic: they are handed out under a
 * core mutex, so every shard sees them in the same order; each involved shard flushes its
 * batch and parks on arrival, and the last to arrive applies the whole transaction in one
 * WriteBatch while the others wait (queries on those shards wait for that one batch). */
int dmp_node_apply(dmp_node_core_t *c, dmp_node_txn_t *t);
/* Shard-thread hooks for the executor: answer one DNS query; end of a ring drain (flush). */
/* peer (may be NULL) is the client: DNS Cookies and response rate limiting use it. */
void dmp_node_core_query(dmp_node_core_t *c, unsigned shard, const uint8_t *pkt, size_t len,
                         bool tcp, const struct sockaddr *peer, socklen_t peer_len, uint8_t *out,
                         size_t cap, size_t *out_len);
/* Returns the ms after which the shard wants to tick again (its pending writes' window), or -1. */
int dmp_node_core_tick(dmp_node_core_t *c, unsigned shard);
/* Frontend `frontend` (< opts.nfrontends; any thread, one at a time per index): answers a UDP
 * standard query without crossing threads and returns true, or returns false (*out_len 0) when
 * only the shard can answer it (a non-QUERY opcode; a store error; without opts.frontend_reads,
 * a cache miss or an outdated NXDOMAIN). Hits come from the owning shard's answer cache
 * (read-only); with frontend_reads a miss reads the store here (RocksDB reads take no lock of
 * ours) and hands what it found to the shard on a fill ring, without waking it per miss: the
 * shard drains the rings when it next wakes (tick) or when a ring holds DMP_NODE_FILL_WAKE fills,
 * and drops a fill if any write touched that shard since the read began (its write sequence), so
 * a stale answer never enters the cache. Cookies, EDNS, RRL as on the shard. A write invalidates
 * its name's entry on the shard after the store commit and before it is acknowledged, so a query
 * that arrives after the acknowledgement never gets the old answer from here. */
#define DMP_NODE_FILL_WAKE 64
#define DMP_NODE_FILL_RING 1024
/* With cfg->cache_doorkeeper each frontend keeps a doorkeeper of 2^this bits (1 MiB), cleared
 * after 2^20 names: a fill goes to the shard on a name's second miss since then. */
#define DMP_NODE_DOOR_BITS 23
/* ... and lets every fill through while the shard's cache holds less than NUM/DEN of its bytes
 * (an empty cache after a restart fills on the first miss; one-shot traffic grows it to half). */
#define DMP_NODE_DOOR_OPEN_NUM 1u
#define DMP_NODE_DOOR_OPEN_DEN 2u
bool dmp_node_core_query_frontend(dmp_node_core_t *c, unsigned frontend, const uint8_t *pkt,
                                  size_t len, const struct sockaddr *peer, socklen_t peer_len,
                                  uint8_t *out, size_t cap, size_t *out_len);
/* After the executor stopped (no shard thread runs): flushes every shard, syncs and completes
 * everything pending, stops the syncer. */
void dmp_node_core_drain(dmp_node_core_t *c);
void dmp_node_core_free(dmp_node_core_t *c);
uint64_t dmp_node_core_wal_syncs(dmp_node_core_t *c);
/* Frontend fills so far: applied to a shard's cache, dropped (a write came between the read and
 * the apply, or the fill ring was full). Any thread; tests and metrics. */
void dmp_node_core_fill_stats(dmp_node_core_t *c, uint64_t *applied, uint64_t *dropped);
/* Store reads whose fill the doorkeeper kept out (the name's first miss; cfg->cache_doorkeeper). */
uint64_t dmp_node_core_fills_held(dmp_node_core_t *c);
/* SIGHUP: applies what can change while running (RRL parameters, a table swapped in on each
 * shard's thread; cookie_required) from nc. DMP_EAGAIN when a shard's task ring was full (that
 * shard keeps its old table). */
int dmp_node_core_reload(dmp_node_core_t *c, const dmp_node_config_t *nc);
uint32_t dmp_node_core_serial(dmp_node_core_t *c);

/* ---- tokens: shapes, subjects, scopes (scope.c) ---- */
void dmp_node_token_generate(char out[DMP_NODE_TOKEN_LEN + 1]);
/* "dmp_v1_" + 52 of [A-Z0-9] with at least one letter (the reference's shape check). */
bool dmp_node_token_shape_ok(const char *tok, size_t len);
void dmp_node_token_hash(const char *tok, size_t len, char hex[65]);
void dmp_node_sha256_hex(const void *data, size_t len, char hex[65]);
/* The reference's canonicalize_subject: NFKC, strip, lowercase, ASCII, <local>@<fqdn>. On
 * error returns DMP_EINVAL with the reference's message in detail. */
int dmp_node_subject_canonical(const char *raw, size_t len, char *out, size_t cap, char *detail,
                               size_t dcap);
/* The reference's classify_name (node.md §5.2), fail-closed. */
void dmp_node_classify_name(const char *name, size_t len, dmp_node_scope_t *out);

/* ---- the token store (tokens.c) on the store's TOKENS column family ----
 * Thread-safe (one mutex). Audit rows are buffered in memory and written in batches by
 * dmp_node_tokens_flush (the node flushes every second and on stop; issuance and revocation
 * flush at once). */
typedef struct dmp_node_tokens dmp_node_tokens_t;
int dmp_node_tokens_open(dmp_store_t *store, int64_t (*now_s)(void), dmp_node_tokens_t **out);
void dmp_node_tokens_close(dmp_node_tokens_t *t); /* flushes */
int dmp_node_tokens_flush(dmp_node_tokens_t *t);
bool dmp_node_token_live(const dmp_node_token_t *r, int64_t now_s);
/* May the bearer of token write (or delete) name? The reference's order and audit rows; takes
 * cost tokens of the token's bucket, all or none (1 a record; 0: the scope only). */
dmp_node_authz_t dmp_node_tokens_authorize(dmp_node_tokens_t *t, const char *token, size_t tlen,
                                           const char *name, size_t nlen, const char *remote,
                                           bool is_delete, unsigned cost);
/* Admin issuance (no revocation of earlier tokens). DMP_EINVAL for a bad subject. */
int dmp_node_tokens_issue(dmp_node_tokens_t *t, const char *subject, const dmp_node_issue_t *o,
                          char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row);
/* Self-service issuance, atomic: DMP_EEXIST (409) when a live self-service token of the subject
 * carries another Ed25519 key; else revokes the subject's self-service tokens and issues one. */
int dmp_node_tokens_rotate_self_service(dmp_node_tokens_t *t, const char *canon_subject,
                                        const char *spk_hex, const dmp_node_issue_t *o,
                                        char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row);
/* DMP_ENOTFOUND when no such live token. */
int dmp_node_tokens_revoke_hash(dmp_node_tokens_t *t, const char *hash, const char *remote);
/* Revokes every live token of the (canonicalised) subject; *count = how many. */
int dmp_node_tokens_revoke_subject(dmp_node_tokens_t *t, const char *subject, const char *remote,
                                   size_t *count);
int dmp_node_tokens_get(dmp_node_tokens_t *t, const char *hash_hex, dmp_node_token_t *out);
/* The admin CLI's revoke: every live token of target as a subject; else the one live token
 * whose hash starts with target (DMP_ENOTFOUND: none; DMP_EDUP: ambiguous, *count = matches;
 * *which = the token revoked by prefix). */
int dmp_node_tokens_revoke_target(dmp_node_tokens_t *t, const char *target, const char *remote,
                                  size_t *count, dmp_node_token_t *which);
/* Visits every row (any order); fn returns nonzero to stop. */
int dmp_node_tokens_scan(dmp_node_tokens_t *t, int (*fn)(void *ctx, const dmp_node_token_t *r),
                         void *ctx);
void dmp_node_tokens_audit(dmp_node_tokens_t *t, const char *event, const char *hash,
                           const char *subject, const char *remote, const char *detail);
/* Bulk load (import of a reference node's token DB): a row as is (token_hash must be 64
 * lowercase hex), and an audit row with its own timestamp. */
int dmp_node_tokens_put(dmp_node_tokens_t *t, const dmp_node_token_t *row);
void dmp_node_tokens_audit_at(dmp_node_tokens_t *t, int64_t ts, const char *event, const char *hash,
                              const char *subject, const char *remote, const char *detail);
/* The newest `limit` audit rows (optionally of one event), newest first, into out[*n]. */
int dmp_node_tokens_audit_tail(dmp_node_tokens_t *t, const char *event, size_t limit,
                               dmp_node_audit_t *out, size_t *n);

/* ---- self-service registration (registration.c) ---- */
typedef struct dmp_node_reg dmp_node_reg_t;

/* A parsed confirm body (both confirm and tsig-confirm). Owns body (the JSON object, for the
 * fields a flow adds, e.g. x25519_pub / x25519_pop); free with dmp_node_reg_req_free. */
typedef struct {
    json_t *body;
    char subject[256]; /* canonical */
    uint8_t spk[32];
    char spk_hex[65]; /* lowercase */
    uint8_t sig[64];
    uint8_t challenge[32];
    char challenge_text[65];   /* as sent (the challenge store's key) */
    uint8_t server_eph_sk[32]; /* set by verify: the challenge's X25519 key, for the PoP */
} dmp_node_reg_req_t;

/* The reference's route gate: DMP_REGISTRATION_ENABLED, multi-tenant, a token store and
 * DMP_NODE_HOSTNAME. Otherwise every registration route is 404. */
bool dmp_node_reg_enabled(const dmp_node_config_t *cfg, const dmp_node_tokens_t *tokens);
int dmp_node_reg_new(const dmp_node_config_t *cfg, dmp_node_tokens_t *tokens,
                     int64_t (*now_s)(void), dmp_node_reg_t **out);
void dmp_node_reg_free(dmp_node_reg_t *r);
/* A fresh single-use challenge (60 s) with its own ephemeral X25519 key. */
int dmp_node_reg_challenge(dmp_node_reg_t *r, dmp_node_challenge_t *out);
size_t dmp_node_reg_pending(dmp_node_reg_t *r);
/* Parses a confirm body: JSON object (else 400 "invalid body"), the four string fields in the
 * reference's order, canonical subject, hex of spk, signature, challenge. 0 or err->status. */
int dmp_node_reg_parse(const uint8_t *buf, size_t len, dmp_node_reg_req_t *q,
                       dmp_node_reg_err_t *err);
void dmp_node_reg_req_free(dmp_node_reg_req_t *q);
/* Consumes the challenge (single use, even on later failure), verifies the Ed25519 signature
 * (401, weak keys refused) and the allowlist (403). Shared by confirm and tsig-confirm. */
int dmp_node_reg_verify(dmp_node_reg_t *r, dmp_node_reg_req_t *q, dmp_node_reg_err_t *err);
/* verify, then the atomic self-service token rotation (409 for another key's subject). */
int dmp_node_reg_confirm(dmp_node_reg_t *r, dmp_node_reg_req_t *q, const char *remote,
                         char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row,
                         dmp_node_reg_err_t *err);

/* ---- operator commands (admin.c): one implementation for dnsmesh-admin on a stopped node's
 * store and for POST /v1/admin on a running node ---- */
typedef struct {
    dmp_store_t *store;
    dmp_node_tokens_t *tokens;
    const dmp_node_config_t *cfg; /* registration settings; may be NULL */
    const char *actor;            /* "admin:<user>" for the issuer column */
    const char *remote;           /* for the audit log */
    int64_t (*now_ms)(void);
} dmp_node_admin_env_t;

/* Runs op ("token.issue", "token.list", "token.revoke", "token.rotate", "audit.tail",
 * "registration.show", "records") with its JSON args; *result (new reference) is the JSON
 * answer. Returns 0, or an exit code (1 = not found / failed, 2 = bad arguments / ambiguous)
 * with the message in err. */
int dmp_node_admin_run(const dmp_node_admin_env_t *env, const char *op, json_t *args,
                       json_t **result, char *err, size_t errcap);

/* ---- landing page (landing.c) ---- */
/* Appends s HTML-escaped (& < > " ' and control characters). */
void dmp_node_html_escape(dmp_buf_t *b, const char *s);
int dmp_node_landing_render(const dmp_node_landing_t *in, dmp_buf_t *out);

/* ---- HTTP API (http.c) ---- */
typedef struct dmp_node_http dmp_node_http_t;

/* What the HTTP server needs from the rest of the node. All borrowed, valid until stop. */
typedef struct {
    const dmp_node_config_t *cfg;
    dmp_store_t *store;
    dmp_node_metrics_t *metrics;
    dmp_node_tstats_t *st;     /* the HTTP thread's counter slot */
    dmp_node_core_t *core;     /* where writes go (dmp_node_apply) */
    dmp_node_tokens_t *tokens; /* the token store (user tokens write in multi-tenant mode) */
    /* Heartbeat (may be NULL: discovery off): the peers heard, newest first, into rows[cap];
     * returns how many. The self endpoint and operator key shown on the landing page. */
    size_t (*peers)(void *ctx, dmp_node_peer_row_t *rows, size_t cap);
    const char *self_endpoint;
    const char *operator_spk_hex;
    bool tsig_enabled; /* DNS UPDATE on (registration also mints TSIG keys) */
    const char *version;
    dmp_cluster_t *cluster; /* serves the /v1/sync routes; NULL = no sync token: 403 */
    /* Fills the net gauges for /metrics; may be NULL. */
    void (*gauges)(void *ctx, dmp_node_gauges_t *g);
    void *ctx;
    int64_t (*now_ms)(void);
} dmp_node_http_env_t;

/* Binds host:port (port 0 = ephemeral) and starts serving on one internal thread. */
int dmp_node_http_start(const dmp_node_http_env_t *env, const char *host, uint16_t port,
                        dmp_node_http_t **out, char *err, size_t errcap);
uint16_t dmp_node_http_port(const dmp_node_http_t *h);
/* Stops accepting, waits (bounded by timeout_ms) for writes in flight, stops the thread. */
void dmp_node_http_stop(dmp_node_http_t *h, int timeout_ms);

/* JSON helpers (exposed for tests): the reference's json.dumps style ("k": v, ", "). Returns a
 * malloc'd string. */
char *dmp_node_json_error(const char *msg);

/* ---- the cluster (cluster.c): anti-entropy and manifest gossip threads ---- */
typedef struct dmp_node_cluster dmp_node_cluster_t;
/* Creates the anti-entropy engine when DMP_SYNC_PEER_TOKEN is set (else *out = NULL: the sync
 * routes answer 403, as the reference's), with peers from DMP_SYNC_PEERS or, failing that, the
 * verified cluster manifest in the store. Pulled records go through dmp_node_apply(). Starts
 * the anti-entropy thread when there are peers and the gossip thread when a pinned key and a
 * base domain are set (both nice 13). On error writes one line to err. */
int dmp_node_cluster_start(const dmp_node_config_t *cfg, dmp_store_t *store, dmp_node_core_t *core,
                           dmp_node_cluster_t **out, char *err, size_t errcap);
dmp_cluster_t *dmp_node_cluster_engine(dmp_node_cluster_t *nc);
/* Stops both threads (a round in flight gives up at its next request). The engine stays
 * usable for serve() until dmp_node_cluster_free. */
void dmp_node_cluster_stop(dmp_node_cluster_t *nc);
void dmp_node_cluster_free(dmp_node_cluster_t *nc);

/* ---- zone transfers (xfr.c) ---- */
typedef struct dmp_node_xfr dmp_node_xfr_t;
/* With DMP_XFR_ALLOW or DMP_NOTIFY: checks the zone has its apex NS and SOA (else
 * DMP_NODE_ECONFIG with one line in err), starts the transfer thread and, with targets, the
 * NOTIFY thread. Neither set: *out = NULL, transfers stay NOTIMP. */
int dmp_node_xfr_start(const dmp_node_config_t *cfg, dmp_store_t *store, dmp_node_xfr_t **out,
                       char *err, size_t errcap);
/* The TCP frontend's takeover hook: true when pkt is an AXFR/IXFR of the served zone and the
 * connection was queued for the transfer thread (which then owns fd). */
bool dmp_node_xfr_takeover(dmp_node_xfr_t *x, int fd, const struct sockaddr *peer,
                           socklen_t peer_len, const uint8_t *pkt, size_t len);
void dmp_node_xfr_stop(dmp_node_xfr_t *x);

/* ---- heartbeat / discovery (heartbeat.c, heartbeat_seen.c; docs/node.md "Heartbeat") ----
 * The node signs and publishes its heartbeat at _dnsmesh-heartbeat.<zone>, harvests its peers'
 * heartbeats (and their seen lists) over DNS into the SeenStore (the store's heartbeats column
 * family) and republishes the most recent ones at _dnsmesh-seen.<zone> (node.md §6). */
typedef struct dmp_node_hb dmp_node_hb_t;

typedef struct {
    const dmp_node_config_t *cfg;
    dmp_store_t *store;
    dmp_node_core_t *core; /* own records go through dmp_node_apply (unless apply is set) */
    const char *version;   /* default heartbeat version (DMP_HEARTBEAT_VERSION overrides) */
    bool claim_provider;   /* capability bit 0: claim provider on and DNS UPDATE enabled */
    /* injectables for tests (NULL = the real thing) */
    int64_t (*now_s)(void *ctx);
    /* TXT values at name (harvest): 0, DMP_ENOTFOUND or DMP_EIO */
    int (*txt)(void *ctx, const char *name, dmp_client_txtset_t *out);
    /* GET of a seed-list URL: 0 with the body of a 200 answer, else an error */
    int (*http_get)(void *ctx, const char *url, dmp_buf_t *body);
    /* applies the changes to one name, all or nothing, durably */
    int (*apply)(void *ctx, dmp_node_change_t *ch, size_t n);
    void *ctx;
} dmp_node_hb_env_t;

/* Returns 0 with *out NULL when heartbeat is off, or misconfigured (an ERROR is logged and the
 * node runs without it, as the reference does). env is copied; its pointees are borrowed. */
int dmp_node_hb_new(const dmp_node_hb_env_t *env, dmp_node_hb_t **out);
/* One tick: publish own, refresh seed lists (every 6 h), harvest, publish the seen list. */
void dmp_node_hb_tick(dmp_node_hb_t *hb);
/* Ticks now and then every DMP_HEARTBEAT_INTERVAL_SECONDS on a background thread. */
int dmp_node_hb_start(dmp_node_hb_t *hb);
void dmp_node_hb_free(dmp_node_hb_t *hb); /* stops the thread first; NULL ok */
/* The landing page's peer table: the SeenStore's live rows plus our own (always fresh), newest
 * first. */
size_t dmp_node_hb_peers(dmp_node_hb_t *hb, dmp_node_peer_row_t *rows, size_t cap);
const char *dmp_node_hb_spk_hex(const dmp_node_hb_t *hb);
const char *dmp_node_hb_endpoint(const dmp_node_hb_t *hb);

/* SeenStore over DMP_STORE_KV_HEARTBEATS: key operator_spk || endpoint; value ts, exp,
 * received_at (u64 BE each) || wire. accept verifies (skew s, < 0 = 300) and upserts unless the
 * stored ts is newer; DMP_EEXIST when an older ts was refused. */
typedef struct {
    dmp_wire_heartbeat_t hb;
    char wire[DMP_WIRE_MAX_WIRE + 1];
    size_t wire_len;
    int64_t received_at;
} dmp_node_seen_row_t;

int dmp_node_seen_accept(dmp_store_t *s, const uint8_t *wire, size_t len, int64_t now, int64_t skew,
                         dmp_wire_heartbeat_t *out);
/* Deletes expired rows (exp <= now), then the oldest received beyond max_rows. */
int dmp_node_seen_trim(dmp_store_t *s, int64_t now, size_t max_rows);
/* Live rows (exp > now, re-verified) by ts descending, at most cap; returns the count. */
size_t dmp_node_seen_recent(dmp_store_t *s, int64_t now, dmp_node_seen_row_t *rows, size_t cap);
/* Seed normalisation (reference _zone_from_seed): a URL gives its lower-cased host; a bare
 * name loses its :port and is lower-cased. DMP_EINVAL when nothing is left. */
int dmp_node_hb_zone_norm(const char *seed, size_t len, char *out, size_t cap);
/* A seed list body: lines stripped, blank and # lines skipped, each normalised; appends zones
 * (malloc'd) to *zones / *n. DMP_EINVAL when the body is not UTF-8. */
int dmp_node_hb_seed_list_parse(const uint8_t *body, size_t len, char ***zones, size_t *n);
/* GET url with libcurl for seed lists: https only (unless allow_local), connected address must
 * be public (unless allow_local), 5 s, no redirects, 200 only, body cut at 64 KiB. */
int dmp_node_hb_http_get(const char *url, bool allow_local, dmp_buf_t *body);

#endif
