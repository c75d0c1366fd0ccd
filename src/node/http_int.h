/* node: internals shared by the HTTP API's files (http.c: server + dispatch; http_records.c:
 * record routes; http_pages.c: health, stats, metrics, landing page). Not a public header. */
#ifndef DMP_NODE_HTTP_INT_H
#define DMP_NODE_HTTP_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>

#include "node/node.h"

/* ---- deadlines libmicrohttpd cannot enforce (http_guard.c) ---- */
typedef struct dmp_node_http_guard dmp_node_http_guard_t;
enum { DMP_NODE_GUARD_HEADERS = 0, DMP_NODE_GUARD_BODY = 1, DMP_NODE_GUARD_BUSY = 2 };
/* A watchdog thread; max_conns = MHD's connection limit. */
int dmp_node_http_guard_new(size_t max_conns, unsigned header_s, unsigned body_s,
                            dmp_node_http_guard_t **out);
void dmp_node_http_guard_free(dmp_node_http_guard_t *g);
/* MHD_OPTION_NOTIFY_CONNECTION callback (cls = the guard). */
void dmp_node_http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe);
/* The connection's request moved to headers (waiting for the next request), body or busy
 * (headers and body in: no deadline). MHD thread. */
void dmp_node_http_guard_phase(dmp_node_http_guard_t *g, struct MHD_Connection *c, int phase);
/* Connections closed by a deadline so far. */
uint64_t dmp_node_http_guard_closed(dmp_node_http_guard_t *g);

/* Owns the daemon, its listen socket, the HTTP limiter and the expected operator header. */
struct dmp_node_http {
    dmp_node_http_env_t env;
    struct MHD_Daemon *d;
    /* MHD runs in its external-epoll mode on this thread (http.c http_loop): every pass ends
     * by waking the shards it handed writes to (dmp_net_wakeups_flush), once each */
    pthread_t loop;
    bool loop_started;
    atomic_bool loop_stop;
    atomic_bool quiesce; /* stop: the loop stops accepting (MHD_quiesce_daemon on its thread) */
    atomic_bool quiesced;
    /* eventfd in MHD's epoll set (edge-triggered, never read): a resume from another thread
     * (a write done) signals it, since in external mode MHD has no channel of its own */
    int wake_fd;
    /* a wake_fd signal is on its way and the loop has not started its pass yet: the resumes
     * of one WAL sync's writes signal once, not once each */
    atomic_bool wake_pending;
    atomic_uint_fast64_t wakes;  /* wake_fd signals sent (metrics, tests) */
    atomic_uint_fast64_t passes; /* event-loop passes, one wait system call each (metrics) */
    /* a held write (http_write.c) was completed by the node since the loop last looked: the
     * next pass must not block before MHD calls the request's handler again */
    atomic_bool held_ready;
    bool hold_ok;   /* this libmicrohttpd keeps writes held, not suspended */
    unsigned nheld; /* writes holding their last byte now (MHD thread; DMP_NODE_HTTP_HOLD_MAX) */
    int epfd;       /* MHD's epoll set (MHD_DAEMON_INFO_EPOLL_FD) */
    atomic_uint_fast64_t held;      /* writes held for their durability without a suspend */
    atomic_uint_fast64_t suspended; /* writes suspended for it (no body byte to hold) */
    /* the 201 {"ok": true} every successful POST answers, built once and queued for each */
    struct MHD_Response *created;
    int lfd;
    uint16_t port;
    dmp_node_rl_t *rl;   /* touched only by the MHD thread */
    char *expected_auth; /* "Bearer <token>" or NULL; wiped on stop */
    size_t expected_auth_len;
    atomic_int inflight;   /* writes handed to the node and not yet done */
    dmp_node_reg_t *reg;   /* self-service registration, NULL when its gate is closed */
    dmp_node_rl_t *reg_rl; /* per-IP limiter shared by every /v1/registration/ route */
    dmp_node_http_guard_t *guard;
    /* requests whose write the node has not completed yet (for shutdown); under wmu */
    pthread_mutex_t wmu;
    struct dmp_node_rq *waiting;
};

/* dmp_node_rq_t.flags: who is done with the request. The request is freed by whichever of
 * MHD (completed_cb) and the node (txn_done) finishes last, so an abandoned write (answered
 * 503 at shutdown while its WAL sync stalls) is never used after it is freed. */
enum {
    RQF_NODE_DONE = 1, /* the node completed the write (txn.result set) */
    RQF_MHD_DONE = 2,  /* MHD finished with the connection's request */
    RQF_ABANDONED = 4, /* shutdown: answered 503 without waiting for the node */
    RQF_SUBMITTED = 8, /* handed to the node */
    RQF_HELD = 16,     /* waits with its body's last byte held, not suspended (http_write.c) */
};

typedef enum {
    RQ_NEW = 0,
    RQ_GET,     /* GET/HEAD headers seen; answered on the next call */
    RQ_BODY,    /* receiving the body */
    RQ_WAITING, /* held or suspended: the node has the write */
    RQ_DONE,    /* the node answered (txn.result) */
    RQ_ANSWERED,
} dmp_node_rq_stage_t;

typedef struct dmp_node_route dmp_node_route_t;

/* Per-request state (MHD con_cls). Owns body and val (the value the change points into). */
typedef struct dmp_node_rq {
    dmp_node_rq_stage_t stage;
    atomic_int flags;                  /* RQF_* */
    struct dmp_node_rq *wprev, *wnext; /* in h->waiting while submitted and not done */
    dmp_node_http_t *h;
    struct MHD_Connection *conn;
    const char *url; /* MHD's, valid for the whole request */
    const char *method;
    const dmp_node_route_t *route;
    bool is_delete;
    bool too_big;
    bool defer;     /* the body handler runs in an upload call: an answer waits in pend */
    bool held;      /* held, not suspended: its answer re-arms the socket (MHD thread) */
    bool byte_held; /* the body's last byte is still unread (counted in h->nheld) */
    int64_t clen;   /* Content-Length, -1 when absent */
    struct MHD_Response *pend; /* an answer given while defer, queued by the final call */
    unsigned pend_status;
    bool pend_owned; /* pend is our reference (not h->created) */
    size_t body_cap; /* 0 = cfg->http_max_body; the sync routes accept more */
    char name[256];  /* decoded record name as given (for messages), NUL-terminated */
    size_t name_len;
    bool name_ok;
    dmp_buf_t body;
    uint8_t *val; /* malloc'd copy of the value */
    dmp_node_change_t ch;
    dmp_node_txn_t txn;
    struct dmp_node_http_batch *batch;      /* POST /v1/records: its records and changes (owned) */
    void (*cleanup)(struct dmp_node_rq *r); /* a route's own state, freed with the request */
} dmp_node_rq_t;

typedef enum MHD_Result (*dmp_node_route_fn)(dmp_node_rq_t *r);

/* One row of the route table. GET/HEAD rows answer in get(); POST/DELETE rows check headers in
 * begin() (which either answers, or returns MHD_YES with r->stage = RQ_BODY to read the body)
 * and act on the whole body in body(); a write handed to the node is answered by done(). */
typedef enum {
    DMP_NODE_MATCH_RAW = 0,    /* the raw path equals `path` (a query string does not match) */
    DMP_NODE_MATCH_PATH = 1,   /* the path without its query string equals `path` */
    DMP_NODE_MATCH_PREFIX = 2, /* the raw path starts with `path` */
} dmp_node_match_t;

#define DMP_NODE_M_GET 1u /* GET and HEAD */
#define DMP_NODE_M_POST 2u
#define DMP_NODE_M_DELETE 4u

struct dmp_node_route {
    const char *path;
    dmp_node_match_t match;
    unsigned methods;
    dmp_node_route_fn get;
    dmp_node_route_fn begin;
    dmp_node_route_fn body;
    dmp_node_route_fn done;
};

/* responses (count the status in metrics and mark r answered) */
enum MHD_Result dmp_node_http_send_raw(dmp_node_rq_t *r, unsigned status, char *body, size_t len,
                                       const char *ctype);
enum MHD_Result dmp_node_http_send_json(dmp_node_rq_t *r, unsigned status, char *json);
/* The 201 {"ok": true} of a successful POST: one response built at start, queued each time. */
enum MHD_Result dmp_node_http_send_created(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_send_err(dmp_node_rq_t *r, unsigned status, const char *msg);
/* json.dumps style of j (consumed); NULL on failure */
char *dmp_node_http_dumps(json_t *j);
json_t *dmp_node_http_json_bytes(const uint8_t *p, size_t n);

/* auth and limits */
const char *dmp_node_http_auth_header(dmp_node_rq_t *r);
bool dmp_node_http_operator_ok(dmp_node_rq_t *r);
/* One token of the per-address bucket rl (NULL = no limit) for the request's peer. */
bool dmp_node_http_peer_allowed(dmp_node_rq_t *r, dmp_node_rl_t *rl);
/* n tokens of rl for the request's peer address, all or none (dmp_node_rl_take). */
bool dmp_node_http_peer_take(dmp_node_rq_t *r, dmp_node_rl_t *rl, unsigned n);
bool dmp_node_http_rate_ok(dmp_node_rq_t *r);
/* The per-address write limiter for n records at once, all or none. */
bool dmp_node_http_rate_ok_n(dmp_node_rq_t *r, unsigned n);
/* Gives n tokens back to the peer's write bucket (a batch refused after it took them). */
void dmp_node_http_rate_give(dmp_node_rq_t *r, unsigned n);
/* The peer's IP address as text ("" when unknown). */
void dmp_node_http_remote(dmp_node_rq_t *r, char *out, size_t cap);
/* Reads Content-Length: answers 413 and returns false when it announces more than the cap
 * (r->body_cap, or cfg->http_max_body when 0). */
bool dmp_node_http_length_ok(dmp_node_rq_t *r);
/* Body cap of a record publish: cfg->http_max_body, raised so a value at max_value_bytes is
 * accepted at its worst JSON escaping (\u00XX: 6 bytes a byte) with a 253-byte name escaped
 * likewise, the TTL and the keys (4,096 bytes of room). */
size_t dmp_node_http_records_body_max(const dmp_node_config_t *cfg);
/* Hands r->txn to the node; the connection waits (held or suspended, http_write.c) until the
 * write is done; answers 503 when the node could not take it. */
enum MHD_Result dmp_node_http_submit(dmp_node_rq_t *r);

/* http_write.c: a write's wait for its durability. MHD thread unless said otherwise. */
/* MHD's connection timeout (seconds), restored when a held write is answered. */
#define DMP_NODE_HTTP_CONN_TIMEOUT_S 10u
/* At most this many writes are held at once (MHD looks at each on every pass of its loop);
 * more are suspended. */
#define DMP_NODE_HTTP_HOLD_MAX 256u
/* Whether the hold works with the libmicrohttpd in use (its version); MHD_start_daemon first. */
bool dmp_node_http_hold_init(dmp_node_http_t *h);
/* An upload call brought `n` bytes: appends them; when they complete a write route's body, runs
 * its body handler there and holds the last byte (*upload_size = 1) while the write waits. */
enum MHD_Result dmp_node_http_body_data(dmp_node_rq_t *r, const char *upload, size_t *upload_size);
/* A call on a waiting write (RQ_WAITING): keeps the held byte until the node is done, then
 * answers on the final call. */
enum MHD_Result dmp_node_http_waiting(dmp_node_rq_t *r, size_t *upload_size);
/* After a response was queued for r: a held request's connection is put back in MHD's ready
 * list (it is in no list MHD looks at by itself). */
void dmp_node_http_kick(dmp_node_rq_t *r);
void dmp_node_http_rq_free(dmp_node_rq_t *r);
/* Shutdown (any thread): the writes still waiting are answered 503; returns how many. */
int dmp_node_http_abandon_waiting(dmp_node_http_t *h);

/* route handlers */
enum MHD_Result dmp_node_http_get_health(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_get_stats(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_get_metrics(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_get_index(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_get_record(dmp_node_rq_t *r);
/* Record writes (reference §5.1) of `name`: open allows all; the operator token allows all;
 * legacy denies everything else; multi-tenant asks the token store (owner/shared-pool scopes,
 * the per-token bucket, one token a call). Returns 0 or the status to answer (401, 429). */
unsigned dmp_node_http_write_auth(dmp_node_rq_t *r, const char *name, size_t name_len);
/* The same, taking cost tokens of a multi-tenant token's bucket at once, all or none. */
unsigned dmp_node_http_write_auth_n(dmp_node_rq_t *r, const char *name, size_t name_len,
                                    unsigned cost);
enum MHD_Result dmp_node_http_begin_record(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_record(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_done_record(dmp_node_rq_t *r);
/* A write's store failure (no space: 507 "not written"; WAL sync failed: 503 "applied but not
 * confirmed durable"), answered {"ok": false, "error": ..}: true with *ret set, false when res
 * is neither. */
bool dmp_node_http_store_failure(dmp_node_rq_t *r, int res, enum MHD_Result *ret);
/* 503 {"ok": false, "error": "store error: <what>"}. */
enum MHD_Result dmp_node_http_store_error(dmp_node_rq_t *r, const char *what);
/* http_batch.c: POST /v1/records, several records in one all-or-nothing write */
enum MHD_Result dmp_node_http_begin_batch(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_batch(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_done_batch(dmp_node_rq_t *r);
/* the /v1/sync routes (http_sync.c), answered by the cluster engine */
enum MHD_Result dmp_node_http_get_sync(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_begin_sync(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_sync(dmp_node_rq_t *r);

/* registration (http_reg.c). A new registration POST route (tsig-confirm) uses begin_reg and
 * then dmp_node_reg_parse + dmp_node_reg_verify on r->body in its body handler. */
bool dmp_node_http_reg_gate(dmp_node_rq_t *r);
bool dmp_node_http_reg_rate_ok(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_get_challenge(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_begin_reg(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_confirm(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_begin_admin(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_admin(dmp_node_rq_t *r);
/* http_tsig.c: POST /v1/registration/tsig-confirm */
enum MHD_Result dmp_node_http_begin_tsig_reg(dmp_node_rq_t *r);
enum MHD_Result dmp_node_http_body_tsig_confirm(dmp_node_rq_t *r);

#endif
