/* node: the HTTP API server on libmicrohttpd (its epoll loop on our own thread, dmp-http): dispatch
 * through the route table, shared response/auth helpers, start/stop. Routes live in http_records.c
 * and http_pages.c. Writes go to the node core; the connection is suspended until they are durable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "node/http_int.h"

/* The route table: first match wins. */
static const dmp_node_route_t routes[] = {
    {"/health", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_health, NULL, NULL, NULL},
    {"/stats", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_stats, NULL, NULL, NULL},
    {"/metrics", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_metrics, NULL, NULL, NULL},
    {"/", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_index, NULL, NULL, NULL},
    {"/index.html", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_index, NULL, NULL, NULL},
    {"/v1/records/", DMP_NODE_MATCH_PREFIX, DMP_NODE_M_GET | DMP_NODE_M_POST | DMP_NODE_M_DELETE,
     dmp_node_http_get_record, dmp_node_http_begin_record, dmp_node_http_body_record,
     dmp_node_http_done_record},
    {"/v1/records", DMP_NODE_MATCH_PATH, DMP_NODE_M_POST, NULL, dmp_node_http_begin_batch,
     dmp_node_http_body_batch, dmp_node_http_done_batch},
    {"/v1/registration/challenge", DMP_NODE_MATCH_RAW, DMP_NODE_M_GET, dmp_node_http_get_challenge,
     NULL, NULL, NULL},
    {"/v1/registration/confirm", DMP_NODE_MATCH_PATH, DMP_NODE_M_POST, NULL,
     dmp_node_http_begin_reg, dmp_node_http_body_confirm, NULL},
    {"/v1/sync/", DMP_NODE_MATCH_PREFIX, DMP_NODE_M_GET | DMP_NODE_M_POST, dmp_node_http_get_sync,
     dmp_node_http_begin_sync, dmp_node_http_body_sync, NULL},
    {"/v1/admin", DMP_NODE_MATCH_PATH, DMP_NODE_M_POST, NULL, dmp_node_http_begin_admin,
     dmp_node_http_body_admin, NULL},
    {"/v1/registration/tsig-confirm", DMP_NODE_MATCH_PATH, DMP_NODE_M_POST, NULL,
     dmp_node_http_begin_tsig_reg, dmp_node_http_body_tsig_confirm, NULL},
};

static bool route_matches(const dmp_node_route_t *rt, const char *url)
{
    size_t pl = strlen(rt->path);
    switch (rt->match) {
    case DMP_NODE_MATCH_RAW:
        return strcmp(url, rt->path) == 0;
    case DMP_NODE_MATCH_PATH: {
        size_t ul = strcspn(url, "?");
        return ul == pl && memcmp(url, rt->path, pl) == 0;
    }
    default:
        return strncmp(url, rt->path, pl) == 0;
    }
}

static const dmp_node_route_t *route_find(const char *url, unsigned method)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if ((routes[i].methods & method) && route_matches(&routes[i], url))
            return &routes[i];
    }
    return NULL;
}

/* ---- JSON ---- */
char *dmp_node_http_dumps(json_t *j)
{
    if (!j)
        return NULL;
    /* no JSON_COMPACT: ", " and ": " separators, as Python's json.dumps */
    char *s = json_dumps(j, JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(j);
    return s;
}

char *dmp_node_json_error(const char *msg)
{
    return dmp_node_http_dumps(json_pack("{s:s}", "error", msg));
}

/* A JSON string from arbitrary bytes: invalid UTF-8 sequences become U+FFFD. */
json_t *dmp_node_http_json_bytes(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    if (s)
        return s;
    dmp_buf_t b;
    dmp_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x80)
            dmp_buf_append_u8(&b, p[i]);
        else
            dmp_buf_append(&b, "\xef\xbf\xbd", 3);
    }
    s = json_stringn(b.data ? (const char *)b.data : "", b.len);
    dmp_buf_free(&b);
    return s;
}

/* ---- responses ---- */
/* what dmp_node_http_dumps makes of {"ok": true} */
#define OK_BODY "{\"ok\": true}"

/* Queues resp, whose reference is the caller's to give (owned) or h->created. While a body
 * handler runs in an upload call (r->defer, http_write.c) MHD takes no response: the answer
 * waits in r->pend for the request's final call. */
static enum MHD_Result queue(dmp_node_rq_t *r, unsigned status, struct MHD_Response *resp,
                             bool owned)
{
    r->stage = RQ_ANSWERED;
    if (r->defer) {
        r->pend = resp;
        r->pend_status = status;
        r->pend_owned = owned;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    if (owned)
        MHD_destroy_response(resp);
    dmp_node_http_kick(r);
    dmp_node_http_count(r->h->env.st, r->method, status);
    if (dmp_log_get_level() <= DMP_LOG_DEBUG)
        dmp_debug("http: %s %s %u", r->method, r->url ? r->url : "-", status);
    return ret;
}

enum MHD_Result dmp_node_http_send_raw(dmp_node_rq_t *r, unsigned status, char *body, size_t len,
                                       const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    if (ctype && strncmp(ctype, "text/html", 9) == 0)
        MHD_add_response_header(resp, "Cache-Control", "public, max-age=30");
    return queue(r, status, resp, true);
}

enum MHD_Result dmp_node_http_send_created(dmp_node_rq_t *r)
{
    if (!r->h->created) /* not built at start (out of memory): build it for this one */
        return dmp_node_http_send_json(r, 201, strdup(OK_BODY));
    return queue(r, 201, r->h->created, false); /* MHD counts its references: still ours */
}

enum MHD_Result dmp_node_http_send_json(dmp_node_rq_t *r, unsigned status, char *json)
{
    if (!json)
        return dmp_node_http_send_raw(r, 500, NULL, 0, NULL);
    return dmp_node_http_send_raw(r, status, json, strlen(json), "application/json");
}

enum MHD_Result dmp_node_http_send_err(dmp_node_rq_t *r, unsigned status, const char *msg)
{
    return dmp_node_http_send_json(r, status, dmp_node_json_error(msg));
}

/* ---- auth and limits ---- */
const char *dmp_node_http_auth_header(dmp_node_rq_t *r)
{
    const char *a = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    return a ? a : "";
}

/* /metrics and GET /v1/records: with an operator token the header must be "Bearer <token>". */
bool dmp_node_http_operator_ok(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    if (!h->expected_auth)
        return true;
    const char *a = dmp_node_http_auth_header(r);
    return dmp_ct_equal(a, strlen(a), h->expected_auth, h->expected_auth_len);
}

bool dmp_node_http_peer_allowed(dmp_node_rq_t *r, dmp_node_rl_t *rl)
{
    return dmp_node_http_peer_take(r, rl, 1);
}

/* The request's peer address as a rate-limit key (4 or 16 bytes); false if it has none. */
static bool peer_key(dmp_node_rq_t *r, const void **key, size_t *klen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        *key = &((const struct sockaddr_in *)sa)->sin_addr;
        *klen = 4;
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        *key = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        *klen = 16;
        return true;
    }
    return false;
}

bool dmp_node_http_peer_take(dmp_node_rq_t *r, dmp_node_rl_t *rl, unsigned n)
{
    const void *key = NULL;
    size_t klen = 0;
    if (!rl || !peer_key(r, &key, &klen))
        return true;
    return dmp_node_rl_take(rl, key, klen, dmp_monotonic_ns(), n) == DMP_NODE_RL_ALLOW;
}

void dmp_node_http_rate_give(dmp_node_rq_t *r, unsigned n)
{
    const void *key = NULL;
    size_t klen = 0;
    if (r->h->rl && peer_key(r, &key, &klen))
        dmp_node_rl_give(r->h->rl, key, klen, n);
}

bool dmp_node_http_rate_ok(dmp_node_rq_t *r)
{
    return dmp_node_http_rate_ok_n(r, 1);
}

bool dmp_node_http_rate_ok_n(dmp_node_rq_t *r, unsigned n)
{
    if (dmp_node_http_peer_take(r, r->h->rl, n))
        return true;
    DMP_STAT_INC(r->h->env.st, http_rate_limited);
    return false;
}

void dmp_node_http_remote(dmp_node_rq_t *r, char *out, size_t cap)
{
    out[0] = 0;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)cap);
}

bool dmp_node_http_length_ok(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    size_t cap = r->body_cap ? r->body_cap : h->env.cfg->http_max_body;
    if (cl) {
        int64_t n;
        if (dmp_parse_i64(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > cap) {
            DMP_STAT_INC(h->env.st, http_body_too_large);
            dmp_node_http_send_err(r, 413, "request body too large");
            return false;
        }
    }
    return true;
}

/* ---- writes (http_write.c) ---- */
/* An HTTP server whose abandoned writes had not completed when it stopped (kept: txn_done
 * still uses it; the process is exiting). */
static dmp_node_http_t *g_abandoned_http;

/* ---- MHD callbacks ---- */
static unsigned method_bit(const char *method)
{
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
        return DMP_NODE_M_GET;
    if (strcmp(method, "POST") == 0)
        return DMP_NODE_M_POST;
    if (strcmp(method, "DELETE") == 0)
        return DMP_NODE_M_DELETE;
    return 0;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    dmp_node_background_thread(); /* MHD's thread: once, on its first request */
    dmp_node_http_t *h = cls;
    dmp_node_rq_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->h = h;
        r->conn = c;
        r->url = url;
        r->method = method;
        r->clen = -1;
        dmp_buf_init(&r->body);
        *con_cls = r;
        unsigned mb = method_bit(method);
        /* headers are in: a body (if any) now has DMP_HTTP_BODY_TIMEOUT to arrive */
        dmp_node_http_guard_phase(h->guard, c,
                                  mb == DMP_NODE_M_GET ? DMP_NODE_GUARD_BUSY : DMP_NODE_GUARD_BODY);
        if (mb == 0)
            return dmp_node_http_send_err(r, 501, "unsupported method");
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding")) {
            /* bodies are at most DMP_HTTP_MAX_BODY bytes and must say so up front; a chunked
             * body (e.g. a chunk size of ffffffffffffffff) would otherwise hold the connection
             * for the whole body deadline. The reference reads Content-Length only. */
            return dmp_node_http_send_err(r, 411,
                                          "send the body with Content-Length (chunked request "
                                          "bodies are not accepted)");
        }
        r->route = route_find(url, mb);
        if (mb == DMP_NODE_M_GET) {
            /* Answered on the next call: MHD treats a response queued on the first call as
             * "early" (before the request was read) and closes the connection, dropping any
             * request pipelined behind it and defeating keep-alive. */
            r->stage = RQ_GET;
            return MHD_YES;
        }
        if (!r->route || !r->route->begin)
            return dmp_node_http_send_err(r, 404, "not found");
        r->is_delete = mb == DMP_NODE_M_DELETE;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && dmp_parse_i64(cl, 0, INT64_MAX, &r->clen) != 0)
            r->clen = -1;
        return r->route->begin(r);
    }
    switch (r->stage) {
    case RQ_GET:
        if (*upload_size) {
            *upload_size = 0; /* a GET body means nothing here */
            return MHD_YES;
        }
        if (!r->route || !r->route->get)
            return dmp_node_http_send_err(r, 404, "not found");
        return r->route->get(r);
    case RQ_BODY:
        if (*upload_size)
            return dmp_node_http_body_data(r, upload, upload_size);
        dmp_node_http_guard_phase(h->guard, c, DMP_NODE_GUARD_BUSY); /* the body is in */
        if (r->too_big) {
            DMP_STAT_INC(h->env.st, http_body_too_large);
            return dmp_node_http_send_err(r, 413, "request body too large");
        }
        return r->route->body(r);
    case RQ_WAITING:
        return dmp_node_http_waiting(r, upload_size);
    default:
        if (r->pend && !*upload_size) { /* answered in an upload call: queue it now */
            struct MHD_Response *p = r->pend;
            r->pend = NULL;
            return queue(r, r->pend_status, p, r->pend_owned);
        }
        *upload_size = 0; /* answered already; discard what is left of the body */
        return MHD_YES;
    }
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    dmp_node_http_t *h = cls;
    /* the request is over: a keep-alive connection has DMP_HTTP_HEADER_TIMEOUT to send the
     * next one */
    dmp_node_http_guard_phase(h->guard, c, DMP_NODE_GUARD_HEADERS);
    dmp_node_rq_t *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    if (r->byte_held) { /* the client left while its write was held */
        r->byte_held = false;
        h->nheld--;
    }
    int prev = atomic_fetch_or(&r->flags, RQF_MHD_DONE);
    if ((prev & RQF_SUBMITTED) && !(prev & RQF_NODE_DONE))
        return; /* the node still holds it: txn_done frees it */
    dmp_node_http_rq_free(r);
}

/* Keep the raw path: record names are percent-decoded by dmp_node_record_path. */
static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void log_cb(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char m[512];
    vsnprintf(m, sizeof(m), fmt, ap);
    size_t n = strlen(m);
    while (n && m[n - 1] == '\n')
        m[--n] = 0;
    dmp_debug("http: %s", m);
}

static int bind_listen(const char *host, uint16_t port, uint16_t *bound, char *err, size_t errcap)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    int grc = getaddrinfo(host, ps, &hints, &ai);
    if (grc != 0 || !ai) {
        snprintf(err, errcap, "DMP_HTTP_HOST: cannot resolve '%s': %s", host, gai_strerror(grc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errcap, "http: socket: %s", strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        snprintf(err, errcap, "http: cannot listen on %s port %u: %s", host, port, strerror(errno));
        close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET)
        *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else
        *bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* The HTTP thread: MHD's event loop (external epoll mode), one pass at a time. The writes a
 * pass hands to the shards wake each shard once, at the end of the pass, so that a shard at
 * nice 0 does not preempt this nice-13 thread after every request on a shared core, and takes
 * the pass's writes in one ring drain (one WriteBatch). MHD is called from here only. Each pass
 * is one MHD_run_wait, whose epoll_wait blocks: the eventfd the resumes from other threads
 * signal sits in MHD's own epoll set (see wake_attach), so a pass costs one wait system call,
 * not a poll() of MHD's descriptor beside the eventfd, a read of the eventfd and then MHD's
 * epoll_wait. A resume is taken up by the pass after the one its signal ends (MHD resumes
 * suspended connections before it waits, and then does not block). */
static void *http_loop(void *arg)
{
    dmp_node_http_t *h = arg;
    pthread_setname_np(pthread_self(), "dmp-http");
    dmp_node_background_thread();
    dmp_net_wakeups_defer(true);
    while (!atomic_load(&h->loop_stop)) {
        if (atomic_load(&h->quiesce) && !atomic_load(&h->quiesced)) {
            MHD_quiesce_daemon(h->d); /* the listening socket is ours (h->lfd): closed at stop */
            atomic_store(&h->quiesced, true);
        }
        /* before the wait: a resume from here on signals again (loop_wake) */
        atomic_store(&h->wake_pending, false);
        /* at most until MHD's next timeout and 50 ms (the stop flags are looked at that often);
         * not at all when a held write is done (http_write.c) */
        MHD_run_wait(h->d, atomic_exchange(&h->held_ready, false) ? 0 : 50);
        atomic_fetch_add_explicit(&h->passes, 1, memory_order_relaxed);
        dmp_net_wakeups_flush();
    }
    dmp_net_wakeups_defer(false);
    return NULL;
}

/* Puts wake_fd in MHD's epoll set, edge-triggered so that it is never read: every write to an
 * eventfd is a new edge (the counter only grows, by one per wake-up). Its event carries a NULL
 * pointer, which MHD's epoll loop skips (it reserves NULL for a signal it ignores), so MHD_run_wait
 * just returns after it. */
static int wake_attach(dmp_node_http_t *h)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!di || di->epoll_fd < 0)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    return epoll_ctl(di->epoll_fd, EPOLL_CTL_ADD, h->wake_fd, &ev);
}

int dmp_node_http_start(const dmp_node_http_env_t *env, const char *host, uint16_t port,
                        dmp_node_http_t **out, char *err, size_t errcap)
{
    *out = NULL;
    dmp_node_http_t *h = calloc(1, sizeof(*h));
    if (!h)
        return DMP_ENOMEM;
    h->env = *env;
    atomic_init(&h->inflight, 0);
    pthread_mutex_init(&h->wmu, NULL);
    int rc = dmp_node_rl_new(env->cfg->http_rate, env->cfg->http_burst, 10000, 0, &h->rl);
    if (rc)
        goto fail;
    if (env->cfg->operator_token) {
        size_t tl = strlen(env->cfg->operator_token);
        h->expected_auth = malloc(tl + 8);
        if (!h->expected_auth) {
            rc = DMP_ENOMEM;
            goto fail;
        }
        memcpy(h->expected_auth, "Bearer ", 7);
        memcpy(h->expected_auth + 7, env->cfg->operator_token, tl + 1);
        h->expected_auth_len = tl + 7;
    }
    rc = dmp_node_http_guard_new(env->cfg->http_max_concurrency, env->cfg->http_header_timeout,
                                 env->cfg->http_body_timeout, &h->guard);
    if (rc)
        goto fail;
    if (dmp_node_reg_enabled(env->cfg, env->tokens)) {
        rc = dmp_node_reg_new(env->cfg, env->tokens, NULL, &h->reg);
        if (rc == 0)
            rc = dmp_node_rl_new(env->cfg->reg_endpoint_rate, env->cfg->reg_endpoint_burst, 10000,
                                 0, &h->reg_rl);
        if (rc)
            goto fail;
    }
    h->lfd = bind_listen(host, port, &h->port, err, errcap);
    if (h->lfd < 0) {
        rc = DMP_NODE_EBIND;
        goto fail;
    }
    h->created = MHD_create_response_from_buffer(sizeof OK_BODY - 1, (void *)OK_BODY,
                                                 MHD_RESPMEM_PERSISTENT);
    if (h->created)
        MHD_add_response_header(h->created, "Content-Type", "application/json");
    h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h->wake_fd < 0) {
        snprintf(err, errcap, "http: eventfd: %s", strerror(errno));
        rc = DMP_ESYS;
        close(h->lfd);
        goto fail;
    }
    h->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, access_cb, h,
        MHD_OPTION_EXTERNAL_LOGGER, log_cb, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)env->cfg->http_max_concurrency,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)env->cfg->http_max_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)32768, /* request line + headers cap: larger is refused by MHD */
        MHD_OPTION_CONNECTION_TIMEOUT, DMP_NODE_HTTP_CONN_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
        completed_cb, h, MHD_OPTION_NOTIFY_CONNECTION, dmp_node_http_guard_notify, h->guard,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, h, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errcap, "http: libmicrohttpd failed to start");
        rc = DMP_NODE_EBIND;
        close(h->lfd);
        close(h->wake_fd);
        goto fail;
    }
    if (wake_attach(h) != 0) {
        snprintf(err, errcap, "http: cannot add the wake-up eventfd to MHD's epoll set: %s",
                 strerror(errno));
        MHD_stop_daemon(h->d);
        rc = DMP_ESYS;
        close(h->lfd);
        close(h->wake_fd);
        goto fail;
    }
    if (!dmp_node_http_hold_init(h)) /* before the loop: its callbacks read it */
        dmp_debug("http: libmicrohttpd %s: writes are suspended while they wait",
                  MHD_get_version());
    if (pthread_create(&h->loop, NULL, http_loop, h) != 0) {
        snprintf(err, errcap, "http: cannot start the HTTP thread");
        MHD_stop_daemon(h->d);
        rc = DMP_ESYS;
        close(h->lfd);
        close(h->wake_fd);
        goto fail;
    }
    h->loop_started = true;
    *out = h;
    return 0;
fail:
    if (h->created)
        MHD_destroy_response(h->created);
    dmp_node_http_guard_free(h->guard);
    dmp_node_reg_free(h->reg);
    dmp_node_rl_free(h->reg_rl);
    dmp_node_rl_free(h->rl);
    free(h->expected_auth);
    free(h);
    return rc;
}

uint16_t dmp_node_http_port(const dmp_node_http_t *h)
{
    return h->port;
}

void dmp_node_http_stop(dmp_node_http_t *h, int timeout_ms)
{
    if (!h)
        return;
    if (h->d) {
        /* No new connections; requests already on open connections get up to 2 s to finish
         * (idle keep-alive clients do not hold shutdown longer), and writes already handed to
         * a shard are always waited for (bounded by timeout_ms): the shard resumes them. */
        atomic_store(&h->quiesce, true);
        int64_t t0 = dmp_monotonic_ns() / 1000000;
        for (;;) {
            int64_t waited = dmp_monotonic_ns() / 1000000 - t0;
            const union MHD_DaemonInfo *di =
                MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            unsigned conns = di ? di->num_connections : 0;
            if ((atomic_load(&h->inflight) == 0 && (conns == 0 || waited >= 2000)) ||
                waited >= timeout_ms)
                break;
            usleep(5000);
        }
        /* Writes still waiting (a stalled WAL sync): answer them 503 now rather than leave
         * them suspended, which MHD_stop_daemon cannot survive. Their requests stay allocated
         * until the node completes them. */
        int abandoned = dmp_node_http_abandon_waiting(h);
        if (abandoned) {
            dmp_warn("shutdown: %d write(s) still wait on the WAL sync after %d ms: answered 503",
                     abandoned, timeout_ms);
            for (int i = 0; i < 400; i++) { /* up to 2 s for MHD to send the 503s */
                bool all = true;
                pthread_mutex_lock(&h->wmu);
                for (dmp_node_rq_t *r = h->waiting; r && all; r = r->wnext)
                    all = (atomic_load(&r->flags) & RQF_MHD_DONE) != 0;
                pthread_mutex_unlock(&h->wmu);
                if (all)
                    break;
                usleep(5000);
            }
        }
        atomic_store(&h->loop_stop, true);
        if (h->loop_started)
            pthread_join(h->loop, NULL);
        h->loop_started = false;
        MHD_stop_daemon(h->d);
        h->d = NULL;
        close(h->wake_fd);
        h->wake_fd = -1;
    }
    if (h->created) /* after MHD: a connection may still hold it */
        MHD_destroy_response(h->created);
    h->created = NULL;
    dmp_node_http_guard_free(h->guard); /* after MHD: its callbacks use the guard */
    h->guard = NULL;
    if (h->lfd >= 0)
        close(h->lfd);
    h->lfd = -1;
    dmp_node_rl_free(h->rl);
    h->rl = NULL;
    dmp_node_rl_free(h->reg_rl);
    dmp_node_reg_free(h->reg);
    if (h->expected_auth) {
        dmp_wipe(h->expected_auth, h->expected_auth_len);
        free(h->expected_auth);
        h->expected_auth = NULL;
    }
    if (atomic_load(&h->inflight) != 0) {
        /* abandoned writes complete later (txn_done uses h): keep it, reachable */
        g_abandoned_http = h;
        return;
    }
    pthread_mutex_destroy(&h->wmu);
    free(h);
}
