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
#include "store/store.h"

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
 * limiter per thread: not thread-safe. */
int dmp_node_rl_new(double rate, double burst, size_t max_keys, unsigned slip, dmp_node_rl_t **out);
void dmp_node_rl_free(dmp_node_rl_t *rl);
dmp_node_rl_verdict_t dmp_node_rl_check(dmp_node_rl_t *rl, const void *key, size_t key_len,
                                        int64_t now_ns);

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
/* A parsed POST body. Owns value (malloc'd; free it). */
typedef struct {
    uint8_t *value;
    size_t value_len;
    uint32_t ttl;
} dmp_node_post_t;
/* Checks a POST body in the reference's order (invalid body; value str + ttl int > 0, default
 * 300; ttl cap; value byte cap). Returns 0, or the HTTP status (400) with the reference's message
 * in msg. An empty body is {}. */
int dmp_node_post_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                        dmp_node_post_t *out, char *msg, size_t msgcap);
/* DELETE body: empty = delete all (*value NULL); {"value": "<safe str>"} = that value
 * (malloc'd, caller frees); {"value": null} or {} = all. Anything else is 400 ("invalid body" for
 * malformed / non-object JSON, "invalid record value" for a bad value) and deletes nothing. */
int dmp_node_delete_parse(const uint8_t *body, size_t len, uint8_t **value, size_t *value_len,
                          char *msg, size_t msgcap);

/* ---- writes (write.c): applied on the shard thread that owns the name ---- */
typedef enum {
    DMP_NODE_W_PUT = 0,
    DMP_NODE_W_DELETE = 1,
} dmp_node_wop_t;

/* One HTTP write travelling to its shard. Owned by the HTTP request that made it; the shard
 * only fills `status` and calls done(). Invariant: lname is lowercase, NUL-terminated. */
typedef struct dmp_node_write {
    dmp_node_wop_t op;
    char lname[256];
    size_t lname_len;
    const uint8_t *value; /* borrowed from the request; NULL = no value (delete all) */
    size_t value_len;
    uint32_t ttl;
    uint32_t cap;      /* DMP_MAX_VALUES_PER_NAME (0 = none) */
    bool value_unsafe; /* PUT: answer 400 invalid value after the cap check (reference order) */
    int status;        /* filled by the shard: HTTP status */
    void (*done)(struct dmp_node_write *w); /* called once, on the shard thread */
    void *done_ctx;
    void *route;                 /* the submitter's own use (dnsmeshd: the owning shard) */
    struct dmp_node_write *next; /* shard's pending list */
} dmp_node_write_t;

/* Group commit (write.c): shards write without waiting for the disk and hand their finished
 * writes here; one thread syncs the WAL once for everything handed over since its last sync and
 * only then completes them, so no shard (and no query behind it) waits on an fsync. Owns its
 * thread; the pending list is guarded by mu (write path only, never the query path). */
typedef struct dmp_node_syncer {
    dmp_store_t *store;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dmp_node_write_t *head, *tail; /* handed over, not yet synced; each has its status set */
    bool stop, started;
    _Atomic uint64_t syncs; /* WAL syncs done (metrics) */
} dmp_node_syncer_t;

int dmp_node_syncer_start(dmp_node_syncer_t *sy, dmp_store_t *store);
/* Hands a chain of finished writes (linked by next, statuses set) over; any thread. */
void dmp_node_syncer_defer(dmp_node_syncer_t *sy, dmp_node_write_t *head, dmp_node_write_t *tail);
/* Syncs and completes whatever is pending, then joins the thread. Idempotent. */
void dmp_node_syncer_stop(dmp_node_syncer_t *sy);

/* Lowers the calling thread's CPU priority (nice 13) once: HTTP, WAL-sync and sweep threads
 * share cores with the DNS frontends and shards, and must yield to them under load. */
void dmp_node_background_thread(void);

/* Shard-local write state: a pending batch of PUTs not yet in the store. Single-threaded. */
typedef struct {
    dmp_store_t *store;
    dmp_cache_t *cache; /* may be NULL */
    /* the zone's SOA serial, shared by every shard (may be NULL): advanced by
     * dmp_node_serial_touch() on each stored put or delete */
    _Atomic uint32_t *serial;
    dmp_node_tstats_t *st;
    dmp_node_write_t *head, *tail;
    size_t n;
    size_t max_batch;
    int64_t (*now_ms)(void);
    /* NULL: each batch is written synced and completed at once (tests); otherwise batches are
     * written unsynced and their writes completed by the syncer after its next WAL sync */
    dmp_node_syncer_t *syncer;
    /* may be NULL: called for each put once it is in the store, before it is acknowledged */
    void (*on_stored)(void *ctx, const dmp_node_write_t *w);
    void *on_stored_ctx;
} dmp_node_wq_t;

/* Takes one write (PUT: cap check then queue, flushing when max_batch is reached; DELETE:
 * flush, then delete). done() is called for every write exactly once, possibly later and on
 * another thread (after the WAL sync that makes it durable). */
void dmp_node_wq_take(dmp_node_wq_t *q, dmp_node_write_t *w);
/* Writes the pending batch in one WriteBatch and completes its writes (at once, or through
 * the syncer once durable). */
void dmp_node_wq_flush(dmp_node_wq_t *q);
/* The SOA serial is the Unix time (s) of the latest change this process made to the zone (its
 * start time before any): it moves only when the zone does (RFC 1996) and never backwards.
 * Raises *serial to now_ms / 1000 if that is later (any thread). */
void dmp_node_serial_touch(_Atomic uint32_t *serial, int64_t now_ms);

/* ---- HTTP API (http.c) ---- */
typedef struct dmp_node_http dmp_node_http_t;

/* What the HTTP server needs from the rest of the node. All borrowed, valid until stop. */
typedef struct {
    const dmp_node_config_t *cfg;
    dmp_store_t *store;
    dmp_node_metrics_t *metrics;
    dmp_node_tstats_t *st; /* the HTTP thread's counter slot */
    /* Hands w to the shard owning w->lname; 0 = w->done will be called later. Any other code
     * = not queued (the request answers 503). Required. */
    int (*submit)(void *ctx, dmp_node_write_t *w);
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

#endif
