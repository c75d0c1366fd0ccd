/* node: the HTTP API on libmicrohttpd (one internal polling thread) with jansson bodies.
 * Writes travel to their shard; the connection is suspended until the shard has synced them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/node.h"

/* Owns the daemon, its listen socket, the HTTP limiter and the expected operator header. */
struct dmp_node_http {
    dmp_node_http_env_t env;
    struct MHD_Daemon *d;
    int lfd;
    uint16_t port;
    dmp_node_rl_t *rl;   /* touched only by the MHD thread */
    char *expected_auth; /* "Bearer <token>" or NULL; wiped on stop */
    size_t expected_auth_len;
    atomic_int inflight; /* writes handed to shards and not yet done */
};

typedef enum {
    RQ_NEW = 0,
    RQ_GET,     /* GET/HEAD headers seen; answered on the next call */
    RQ_BODY,    /* receiving the body */
    RQ_WAITING, /* suspended, the shard has the write */
    RQ_DONE,    /* shard answered (write.status) */
    RQ_ANSWERED,
} rq_stage_t;

/* Per-request state (MHD con_cls). Owns body and the write (whose value points into body's
 * decoded JSON string copy `val`). */
typedef struct {
    rq_stage_t stage;
    atomic_int shard_done;
    dmp_node_http_t *h;
    struct MHD_Connection *conn;
    const char *url; /* MHD's, valid for the whole request */
    bool is_delete;
    bool too_big;
    char name[256]; /* decoded name as given (for messages), NUL-terminated */
    size_t name_len;
    bool name_ok;
    dmp_buf_t body;
    uint8_t *val; /* malloc'd copy of the value */
    dmp_node_write_t w;
} rq_t;

/* ---- JSON ---- */
static char *dumps(json_t *j)
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
    return dumps(json_pack("{s:s}", "error", msg));
}

/* A JSON string from arbitrary bytes: invalid UTF-8 sequences become U+FFFD. */
static json_t *json_bytes(const uint8_t *p, size_t n)
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
static enum MHD_Result send_raw(rq_t *r, struct MHD_Connection *c, const char *method,
                                unsigned status, char *body, size_t len, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (r)
        r->stage = RQ_ANSWERED;
    dmp_node_tstats_t *st = r ? r->h->env.st : NULL;
    if (st)
        dmp_node_http_count(st, method, status);
    if (r && dmp_log_get_level() <= DMP_LOG_DEBUG)
        dmp_debug("http: %s %s %u", method, r->url ? r->url : "-", status);
    return ret;
}

static enum MHD_Result send_json(rq_t *r, struct MHD_Connection *c, const char *method,
                                 unsigned status, char *json)
{
    if (!json)
        return send_raw(r, c, method, 500, NULL, 0, NULL);
    return send_raw(r, c, method, status, json, strlen(json), "application/json");
}

static enum MHD_Result send_err(rq_t *r, struct MHD_Connection *c, const char *method,
                                unsigned status, const char *msg)
{
    return send_json(r, c, method, status, dmp_node_json_error(msg));
}

/* ---- auth and limits ---- */
static const char *auth_header(struct MHD_Connection *c)
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return a ? a : "";
}

/* /metrics and GET /v1/records: with an operator token the header must be "Bearer <token>". */
static bool operator_ok(dmp_node_http_t *h, struct MHD_Connection *c)
{
    if (!h->expected_auth)
        return true;
    const char *a = auth_header(c);
    return dmp_ct_equal(a, strlen(a), h->expected_auth, h->expected_auth_len);
}

/* Record writes (reference §5.1): open allows all; the operator token allows all; legacy
 * denies everything else. */
static bool write_ok(dmp_node_http_t *h, struct MHD_Connection *c)
{
    if (h->env.cfg->auth_mode == DMP_NODE_AUTH_OPEN)
        return true;
    return operator_ok(h, c);
}

static bool rate_ok(dmp_node_http_t *h, struct MHD_Connection *c)
{
    if (!h->rl)
        return true;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return true;
    const struct sockaddr *sa = ci->client_addr;
    const void *key = NULL;
    size_t klen = 0;
    if (sa->sa_family == AF_INET) {
        key = &((const struct sockaddr_in *)sa)->sin_addr;
        klen = 4;
    } else if (sa->sa_family == AF_INET6) {
        key = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        klen = 16;
    }
    if (dmp_node_rl_check(h->rl, key, klen, dmp_monotonic_ns()) == DMP_NODE_RL_ALLOW)
        return true;
    DMP_STAT_INC(h->env.st, http_rate_limited);
    return false;
}

/* ---- GET routes ---- */
typedef struct {
    json_t *arr;
} collect_t;

static int collect_value(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    collect_t *cc = ctx;
    json_t *s = json_bytes(r->value, r->value_len);
    if (s)
        json_array_append_new(cc->arr, s);
    return 0;
}

static int probe_visit(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)ctx;
    (void)name;
    (void)name_len;
    (void)r;
    return 1;
}

static enum MHD_Result get_route(rq_t *r, struct MHD_Connection *c, const char *url,
                                 const char *method)
{
    dmp_node_http_t *h = r->h;
    int64_t now = h->env.now_ms();
    if (strcmp(url, "/health") == 0) {
        int rc = dmp_store_get(h->env.store, "__dmp_health_probe__", 20, now, probe_visit, NULL);
        if (rc == 0 || rc == DMP_ENOTFOUND)
            return send_json(r, c, method, 200, dumps(json_pack("{s:s}", "status", "ok")));
        return send_json(
            r, c, method, 503,
            dumps(json_pack("{s:s,s:s}", "status", "degraded", "store", dmp_store_strerror(rc))));
    }
    if (strcmp(url, "/stats") == 0) {
        uint64_t n = 0;
        int rc = dmp_store_record_count(h->env.store, &n);
        if (rc)
            return send_json(r, c, method, 200, dumps(json_pack("{s:n}", "records")));
        return send_json(r, c, method, 200, dumps(json_pack("{s:I}", "records", (json_int_t)n)));
    }
    if (strcmp(url, "/metrics") == 0) {
        if (!operator_ok(h, c))
            return send_err(r, c, method, 401, "unauthorized");
        dmp_node_gauges_t g;
        memset(&g, 0, sizeof(g));
        g.records_ok = dmp_store_record_count(h->env.store, &g.records) == 0;
        if (h->env.gauges)
            h->env.gauges(h->env.ctx, &g);
        dmp_buf_t b;
        dmp_buf_init(&b);
        if (dmp_node_metrics_render(h->env.metrics, &g, &b) != 0) {
            dmp_buf_free(&b);
            return send_err(r, c, method, 500, "internal error");
        }
        size_t len = b.len;
        return send_raw(r, c, method, 200, (char *)b.data, len, "text/plain; version=0.0.4");
    }
    if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0) {
        uint64_t n = 0;
        dmp_store_record_count(h->env.store, &n);
        char *page = NULL;
        const char *mode = h->env.cfg->auth_mode == DMP_NODE_AUTH_OPEN ? "open" : "legacy";
        int len = asprintf(&page,
                           "<!doctype html><html><head><meta charset=\"utf-8\">"
                           "<title>dnsmeshd</title></head><body><h1>dnsmeshd</h1>"
                           "<p>healthy &middot; %llu records &middot; auth mode %s</p>"
                           "<p><a href=\"/health\">/health</a> &middot; "
                           "<a href=\"/stats\">/stats</a></p></body></html>\n",
                           (unsigned long long)n, mode);
        if (len < 0)
            return send_err(r, c, method, 500, "internal error");
        struct MHD_Response *resp =
            MHD_create_response_from_buffer((size_t)len, page, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(page);
            return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
        MHD_add_response_header(resp, "Cache-Control", "public, max-age=30");
        enum MHD_Result ret = MHD_queue_response(c, 200, resp);
        MHD_destroy_response(resp);
        r->stage = RQ_ANSWERED;
        dmp_node_http_count(h->env.st, method, 200);
        dmp_debug("http: %s %s 200", method, url);
        return ret;
    }
    char name[512];
    size_t nlen = 0;
    int prc = dmp_node_record_path(url, strlen(url), name, sizeof(name), &nlen);
    if (prc == DMP_ENOTFOUND)
        return send_err(r, c, method, 404, "not found");
    if (!rate_ok(h, c))
        return send_err(r, c, method, 429, "rate limit exceeded");
    if (!operator_ok(h, c))
        return send_err(r, c, method, 401, "unauthorized");
    if (prc != 0)
        nlen = 0;
    collect_t cc = {json_array()};
    int rc =
        nlen ? dmp_store_get(h->env.store, name, nlen, now, collect_value, &cc) : DMP_ENOTFOUND;
    if (rc == DMP_ENAME || rc == DMP_ETOOBIG)
        rc = DMP_ENOTFOUND;
    if (rc != 0 && rc != DMP_ENOTFOUND) {
        json_decref(cc.arr);
        DMP_STAT_INC(h->env.st, store_errors);
        return send_err(r, c, method, 501, "reader not configured");
    }
    json_t *nm = json_stringn(name, nlen);
    if (!nm)
        nm = json_string("");
    unsigned status = json_array_size(cc.arr) ? 200 : 404;
    return send_json(r, c, method, status,
                     dumps(json_pack("{s:o,s:o}", "name", nm, "values", cc.arr)));
}

/* ---- write routes ---- */
static void write_done(dmp_node_write_t *w)
{
    rq_t *r = w->done_ctx;
    dmp_node_http_t *h = r->h;
    atomic_store(&r->shard_done, 1);
    MHD_resume_connection(r->conn);
    atomic_fetch_sub(&h->inflight, 1);
}

static enum MHD_Result submit(rq_t *r, struct MHD_Connection *c, const char *method)
{
    dmp_node_http_t *h = r->h;
    r->w.done = write_done;
    r->w.done_ctx = r;
    r->stage = RQ_WAITING;
    atomic_fetch_add(&h->inflight, 1);
    MHD_suspend_connection(c);
    int rc = h->env.submit(h->env.ctx, &r->w);
    if (rc != 0) {
        /* not queued: answer 503 once MHD calls us again after the resume */
        r->w.status = 503;
        atomic_store(&r->shard_done, 1);
        atomic_fetch_sub(&h->inflight, 1);
        MHD_resume_connection(c);
    }
    (void)method;
    return MHD_YES;
}

static void set_lname(rq_t *r)
{
    size_t n = r->name_len < sizeof(r->w.lname) - 1 ? r->name_len : sizeof(r->w.lname) - 1;
    for (size_t i = 0; i < n; i++)
        r->w.lname[i] = (char)tolower((unsigned char)r->name[i]);
    r->w.lname[n] = 0;
    r->w.lname_len = n;
}

static enum MHD_Result post_body(rq_t *r, struct MHD_Connection *c, const char *method)
{
    const dmp_node_config_t *cfg = r->h->env.cfg;
    dmp_node_post_t p;
    char msg[160];
    int st = dmp_node_post_parse(cfg, r->body.data, r->body.len, &p, msg, sizeof(msg));
    if (st)
        return send_err(r, c, method, (unsigned)st, msg);
    /* a name that fails the rule holds no values, so the cap check (step 9) cannot fire for it
     * and checking the name here keeps the reference's order */
    if (!r->name_ok) {
        free(p.value);
        return send_err(r, c, method, 400, "invalid record name");
    }
    r->val = p.value;
    r->w.op = DMP_NODE_W_PUT;
    set_lname(r);
    r->w.value = r->val;
    r->w.value_len = p.value_len;
    r->w.ttl = p.ttl;
    r->w.cap = cfg->max_values_per_name;
    r->w.value_unsafe = !dmp_node_value_safe(r->val, p.value_len);
    return submit(r, c, method);
}

static enum MHD_Result delete_body(rq_t *r, struct MHD_Connection *c, const char *method)
{
    char msg[160];
    size_t vlen = 0;
    int st = dmp_node_delete_parse(r->body.data, r->body.len, &r->val, &vlen, msg, sizeof(msg));
    if (st)
        return send_err(r, c, method, (unsigned)st, msg);
    r->w.op = DMP_NODE_W_DELETE;
    set_lname(r);
    r->w.value = r->val;
    r->w.value_len = vlen;
    return submit(r, c, method);
}

static enum MHD_Result write_result(rq_t *r, struct MHD_Connection *c, const char *method)
{
    int st = r->w.status;
    if (st == 503)
        return send_err(r, c, method, 503, "node busy, retry");
    if (r->is_delete) {
        if (st == 204 || st == 404)
            return send_raw(r, c, method, (unsigned)st, NULL, 0, NULL);
        return send_json(r, c, method, (unsigned)st, dumps(json_pack("{s:b}", "ok", 0)));
    }
    switch (st) {
    case 201:
        return send_json(r, c, method, 201, dumps(json_pack("{s:b}", "ok", 1)));
    case 413: {
        char msg[400];
        snprintf(msg, sizeof(msg), "RRset at %s already holds %u values", r->name,
                 r->h->env.cfg->max_values_per_name);
        return send_err(r, c, method, 413, msg);
    }
    case 400:
        return send_err(r, c, method, 400, "invalid record value");
    case 503:
        return send_err(r, c, method, 503, "node busy, retry");
    default:
        return send_json(r, c, method, 502, dumps(json_pack("{s:b}", "ok", 0)));
    }
}

/* ---- MHD callbacks ---- */
static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    dmp_node_background_thread(); /* MHD's thread: once, on its first request */
    dmp_node_http_t *h = cls;
    rq_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->h = h;
        r->conn = c;
        r->url = url;
        dmp_buf_init(&r->body);
        *con_cls = r;
        bool is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
        bool is_post = strcmp(method, "POST") == 0;
        bool is_del = strcmp(method, "DELETE") == 0;
        if (is_get) {
            /* Answered on the next call: MHD treats a response queued on the first call as
             * "early" (before the request was read) and closes the connection, dropping any
             * request pipelined behind it and defeating keep-alive. */
            r->stage = RQ_GET;
            return MHD_YES;
        }
        if (!is_post && !is_del)
            return send_err(r, c, method, 501, "unsupported method");
        size_t nlen = 0;
        int prc = dmp_node_record_path(url, strlen(url), r->name, sizeof(r->name), &nlen);
        if (prc == DMP_ENOTFOUND)
            return send_err(r, c, method, 404, "not found");
        r->name_len = prc == 0 ? nlen : 0;
        r->name_ok = prc == 0 && dmp_node_name_valid(r->name, nlen);
        if (prc != 0)
            r->name[0] = 0;
        r->is_delete = is_del;
        if (!rate_ok(h, c))
            return send_err(r, c, method, 429, "rate limit exceeded");
        if (!write_ok(h, c))
            return send_err(r, c, method, 401, "unauthorized");
        if (is_del && !r->name_ok)
            return send_err(r, c, method, 400, "invalid record name");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            int64_t n;
            if (dmp_parse_i64(cl, 0, INT64_MAX, &n) == 0 &&
                n > (int64_t)h->env.cfg->http_max_body) {
                DMP_STAT_INC(h->env.st, http_body_too_large);
                return send_err(r, c, method, 413, "request body too large");
            }
        }
        r->stage = RQ_BODY;
        return MHD_YES;
    }
    switch (r->stage) {
    case RQ_GET:
        if (*upload_size) {
            *upload_size = 0; /* a GET body means nothing here */
            return MHD_YES;
        }
        return get_route(r, c, r->url, method);
    case RQ_BODY:
        if (*upload_size) {
            if (!r->too_big && r->body.len + *upload_size <= r->h->env.cfg->http_max_body) {
                if (dmp_buf_append(&r->body, upload, *upload_size) != 0)
                    r->too_big = true;
            } else {
                r->too_big = true;
            }
            *upload_size = 0;
            return MHD_YES;
        }
        if (r->too_big) {
            DMP_STAT_INC(h->env.st, http_body_too_large);
            return send_err(r, c, method, 413, "request body too large");
        }
        return r->is_delete ? delete_body(r, c, method) : post_body(r, c, method);
    case RQ_WAITING:
        if (!atomic_load(&r->shard_done)) {
            *upload_size = 0;
            return MHD_YES;
        }
        r->stage = RQ_DONE;
        /* fall through */
    case RQ_DONE:
        return write_result(r, c, method);
    default:
        *upload_size = 0; /* answered already; discard what is left of the body */
        return MHD_YES;
    }
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    rq_t *r = *con_cls;
    if (!r)
        return;
    dmp_buf_free(&r->body);
    free(r->val);
    free(r);
    *con_cls = NULL;
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

int dmp_node_http_start(const dmp_node_http_env_t *env, const char *host, uint16_t port,
                        dmp_node_http_t **out, char *err, size_t errcap)
{
    *out = NULL;
    dmp_node_http_t *h = calloc(1, sizeof(*h));
    if (!h)
        return DMP_ENOMEM;
    h->env = *env;
    atomic_init(&h->inflight, 0);
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
    h->lfd = bind_listen(host, port, &h->port, err, errcap);
    if (h->lfd < 0) {
        rc = DMP_NODE_EBIND;
        goto fail;
    }
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, access_cb, h, MHD_OPTION_EXTERNAL_LOGGER, log_cb, h,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->lfd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)env->cfg->http_max_concurrency, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)10, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, h, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errcap, "http: libmicrohttpd failed to start");
        rc = DMP_NODE_EBIND;
        close(h->lfd);
        goto fail;
    }
    *out = h;
    return 0;
fail:
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
        MHD_quiesce_daemon(h->d);
        for (int waited = 0; waited < timeout_ms; waited += 5) {
            const union MHD_DaemonInfo *di =
                MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
            unsigned conns = di ? di->num_connections : 0;
            if (atomic_load(&h->inflight) == 0 && (conns == 0 || waited >= 2000))
                break;
            usleep(5000);
        }
        MHD_stop_daemon(h->d);
        h->d = NULL;
    }
    if (h->lfd >= 0)
        close(h->lfd);
    dmp_node_rl_free(h->rl);
    if (h->expected_auth) {
        dmp_wipe(h->expected_auth, h->expected_auth_len);
        free(h->expected_auth);
    }
    free(h);
}
