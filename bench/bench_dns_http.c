/* dnsmesh-bench load / writes: HTTP/1.1 keep-alive record writers for dnsmeshd's
 * POST /v1/records/{name} API (or, with --batch K, K records per POST /v1/records), used by the
 * DNS benchmarks.
 *
 *   load    posts every line of a JSON-lines file ({"name","value","ttl"}) as fast as the
 *           connections allow (or at --rate), for preloading a node before a query run;
 *   writes  posts synthetic chunk records at a fixed --rate for --duration seconds, the
 *           background write load of the "queries under writes" benchmark.
 *
 * One thread, --conns non-blocking connections, one request in flight per connection (no
 * pipelining). Requests are scheduled open-loop at --rate records/s: request i is due at
 * start + i * batch / rate;
 * when every connection is busy the request goes out late and `behind` counts it. Latency runs
 * from the first byte written to the last byte of the response. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "bench_dns_http.h"
#include "bench_dns_util.h"
#include "util/util.h"

enum { C_DOWN, C_CONNECTING, C_IDLE, C_SENDING, C_WAITING };

static void usage(FILE *f, bool writes)
{
    if (writes)
        fprintf(f, "usage: dnsmesh-bench writes --port N --rate R [options]\n"
                   "\nPosts synthetic DMP chunk records (chunk-NNNN-<hex12>.<zone>) to\n"
                   "POST /v1/records/{name} at a fixed rate, for the queries-under-writes\n"
                   "benchmark.\n\n");
    else
        fprintf(f,
                "usage: dnsmesh-bench load --port N --file records.jsonl [options]\n"
                "\nPosts every line of a JSON-lines file ({\"name\":..,\"value\":..,\"ttl\":..})\n"
                "to POST /v1/records/{name} over keep-alive HTTP/1.1 connections.\n\n");
    fprintf(f,
            "The target must be a loopback address (127.0.0.0/8 or ::1); anything else is\n"
            "refused.\n\n"
            "  --server ADDR      target IP literal, loopback only (default 127.0.0.1)\n"
            "  --port N           HTTP port (required)\n"
            "  --token T          send 'Authorization: Bearer T'\n"
            "  --conns N          connections (default %s, max %d)\n"
            "  --rate R           records/s%s (default %s)\n"
            "  --batch K          K records per request, as one POST /v1/records (the node's\n"
            "                     batch publish, all or nothing; 1..64, default 1: one\n"
            "                     POST /v1/records/{name} per record); requests/s = R / K\n"
            "  --duration S       stop after S seconds (default %s, max 86400)\n"
            "  --max-requests N   stop after N requests (default %s)\n"
            "  --timeout-ms N     a request unanswered this long fails and its connection is\n"
            "                     reopened (default 10000)\n",
            "16", DMPB_HTTP_MAX_CONNS, writes ? ", > 0" : ", 0 = as fast as possible",
            writes ? "2000" : "0", writes ? "10" : "3600", writes ? "rate x duration" : "10000000");
    if (writes)
        fprintf(f, "  --zone Z           zone of the generated names (default mesh.test)\n"
                   "  --ttl N            record TTL (default 300)\n"
                   "  --seed N           seed of the generated names and values (default: time)\n");
    else
        fprintf(f, "  --file F           JSON-lines input (required)\n"
                   "  --failed F         write the input lines that did not get a 2xx (error,\n"
                   "                     timeout, other status) to F, to post them again\n");
    fprintf(f, "  --cpu N            pin to CPU N\n"
               "  --json             one JSON object instead of text\n"
               "  --quiet            no progress line on stderr\n"
               "\nPrints requests sent/answered, HTTP status counts, errors, timeouts, the\n"
               "achieved rate, how many requests went out late, and latency p50/p99/p99.9;\n"
               "with --batch, also the records acknowledged and their rate.\n"
               "Exit 0 if every answered request got a 2xx and nothing failed, 1 otherwise,\n"
               "2 on bad arguments.\n");
}

static void usage_writes(FILE *f)
{
    usage(f, true);
}

static void usage_load(FILE *f)
{
    usage(f, false);
}

static int parse_token(const char *opt, const char *v, void *dst)
{
    for (const char *p = v; *p; p++)
        if (*p <= ' ' || *p >= 0x7f) {
            fprintf(stderr, "%s: only printable ASCII without spaces\n", opt);
            return -1;
        }
    *(const char **)dst = v;
    return 0;
}

static int parse_zone(const char *opt, const char *v, void *dst)
{
    size_t zl = strlen(v);
    if (zl == 0 || zl > 200 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-.") != zl) {
        fprintf(stderr, "%s: a lower-case DNS name of at most 200 chars\n", opt);
        return -1;
    }
    *(const char **)dst = v;
    return 0;
}

static int parse_args(int argc, char **argv, bool writes, dmpb_http_opts_t *o)
{
    *o = (dmpb_http_opts_t){.writes = writes,
                            .host = "127.0.0.1",
                            .port = -1,
                            .zone = "mesh.test",
                            .conns = 16,
                            .max_requests = -1,
                            .timeout_ms = 10000,
                            .ttl = 300,
                            .cpu = -1,
                            .seed = -1,
                            .batch = 1,
                            .rate = writes ? 2000 : 0,
                            .duration = writes ? 10 : 3600};
    dmpb_opt_t tab[] = {
        DMPB_FLAG("--json", &o->json),
        DMPB_FLAG("--quiet", &o->quiet),
        DMPB_STR("--server", &o->host),
        DMPB_INT("--port", &o->port, 1, 65535),
        DMPB_FN("--token", parse_token, &o->token),
        DMPB_I64("--conns", &o->conns, 1, DMPB_HTTP_MAX_CONNS),
        DMPB_DBL("--rate", &o->rate, 0, 1e7),
        DMPB_DBL("--duration", &o->duration, 0.01, 86400),
        DMPB_I64("--max-requests", &o->max_requests, 1, 1000000000LL),
        DMPB_I64("--timeout-ms", &o->timeout_ms, 1, 600000),
        DMPB_I64("--cpu", &o->cpu, 0, 1023),
        DMPB_I64("--batch", &o->batch, 1, DMPB_HTTP_BATCH_MAX),
        /* writes only */
        DMPB_FN("--zone", parse_zone, &o->zone),
        DMPB_I64("--ttl", &o->ttl, 1, 86400),
        DMPB_I64("--seed", &o->seed, 0, INT64_MAX),
        /* load only */
        DMPB_STR("--file", &o->file),
        DMPB_STR("--failed", &o->failed),
    };
    size_t n = sizeof tab / sizeof tab[0];
    if (writes) {
        n -= 2; /* no --file, --failed */
    } else {
        memmove(&tab[n - 5], &tab[n - 2], 2 * sizeof tab[0]); /* no --zone, --ttl, --seed */
        n -= 3;
    }
    if (dmpb_opts_parse(argv[0], tab, n, argc, argv, writes ? usage_writes : usage_load) != 0)
        return -1;
    if (o->port < 0) {
        fprintf(stderr, "%s: --port is required\n", argv[0]);
        return -1;
    }
    if (!writes && !o->file) {
        fprintf(stderr, "load: --file is required\n");
        return -1;
    }
    if (writes && o->rate <= 0) {
        fprintf(stderr, "writes: --rate must be > 0\n");
        return -1;
    }
    o->rec_rate = o->rate;
    o->rate /= (double)o->batch;
    if (o->max_requests < 0) {
        if (writes) {
            double m = o->rate * o->duration;
            o->max_requests = m < 1 ? 1 : (m > 1e9 ? 1000000000LL : (int64_t)m);
        } else {
            o->max_requests = 10000000;
        }
    }
    return 0;
}

/* --- connections ------------------------------------------------------------------------ */

static FILE *g_failed; /* load --failed: lines whose request did not get a 2xx */

/* The request in flight on c did not get a 2xx: keep its input line for --failed. */
static void req_failed(dmpb_http_conn_t *c)
{
    if (g_failed && c->src) {
        fputs(c->src, g_failed);
        if (c->src[0] && c->src[strlen(c->src) - 1] != '\n')
            fputc('\n', g_failed);
    }
    free(c->src);
    c->src = NULL;
}

static void conn_close(dmpb_http_conn_t *c)
{
    if (c->state == C_SENDING || c->state == C_WAITING)
        req_failed(c); /* closed with a request in flight: it failed */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = C_DOWN;
    c->resp_len = 0;
}

static int conn_open(dmpb_http_conn_t *c, const struct sockaddr_storage *ss, socklen_t sslen)
{
    c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    int one = 1;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->resp_len = 0;
    c->served = 0;
    c->t_start = dmpb_now_ns();
    if (connect(c->fd, (const struct sockaddr *)ss, sslen) == 0) {
        c->state = C_IDLE;
        return 0;
    }
    if (errno == EINPROGRESS) {
        c->state = C_CONNECTING;
        return 0;
    }
    conn_close(c);
    return -1;
}

/* Looks for one complete response in c->resp. Returns 1 and sets *status / *close_after when
 * complete, 0 when more bytes are needed, -1 when the bytes are not an HTTP response. */
static int parse_response(dmpb_http_conn_t *c, int *status, bool *close_after)
{
    c->resp[c->resp_len < DMPB_HTTP_RESP_CAP ? c->resp_len : DMPB_HTTP_RESP_CAP - 1] = 0;
    char *hend = strstr(c->resp, "\r\n\r\n");
    if (!hend)
        return c->resp_len >= DMPB_HTTP_RESP_CAP - 1 ? -1 : 0;
    if (strncmp(c->resp, "HTTP/1.", 7) != 0 || c->resp_len < 12)
        return -1;
    int64_t code;
    char cbuf[4] = {c->resp[9], c->resp[10], c->resp[11], 0};
    if (dmp_parse_i64(cbuf, 100, 599, &code) != 0)
        return -1;
    size_t hlen = (size_t)(hend - c->resp) + 4;
    int64_t clen = -1;
    bool chunked = false;
    *close_after = c->resp[7] == '0';
    for (char *p = strstr(c->resp, "\r\n"); p && p < hend; p = strstr(p + 2, "\r\n")) {
        char *h = p + 2;
        if (strncasecmp(h, "content-length:", 15) == 0) {
            char num[24];
            size_t k = 0;
            for (char *q = h + 15; *q && *q != '\r' && k < sizeof(num) - 1; q++)
                num[k++] = *q;
            num[k] = 0;
            if (dmp_parse_i64(num, 0, DMPB_HTTP_RESP_CAP, &clen) != 0)
                return -1;
        } else if (strncasecmp(h, "transfer-encoding:", 18) == 0) {
            chunked = strstr(h, "chunked") != NULL && strstr(h, "chunked") < strstr(h, "\r\n");
        } else if (strncasecmp(h, "connection:", 11) == 0) {
            char *e = strstr(h, "\r\n");
            char *cl = strcasestr(h, "close");
            if (cl && cl < e)
                *close_after = true;
        }
    }
    *status = (int)code;
    if (code == 204 || code == 304 || code < 200)
        return 1;
    if (chunked) { /* enough for the bench: wait for the terminating zero-size chunk */
        const char *body = c->resp + hlen;
        size_t bl = c->resp_len - hlen;
        return (bl >= 5 && memcmp(body + bl - 5, "0\r\n\r\n", 5) == 0) ? 1 : 0;
    }
    if (clen < 0) { /* no length: the body runs to EOF */
        *close_after = true;
        return 0;
    }
    return c->resp_len >= hlen + (size_t)clen ? 1 : 0;
}

static void record_status(dmpb_http_stats_t *st, int status, int64_t lat)
{
    st->done++;
    st->status[status]++;
    if (status >= 200 && status < 300)
        st->ok++;
    else if (status >= 400 && status < 500)
        st->s4xx++;
    else if (status >= 500)
        st->s5xx++;
    else
        st->other++;
    dmpb_hist_add(&st->hist, lat > 0 ? (uint64_t)lat : 0);
}

static void report(const dmpb_http_opts_t *o, const dmpb_http_stats_t *st)
{
    double secs = (double)(st->t_end - st->t_start) / 1e9;
    double rate = secs > 0 ? (double)st->done / secs : 0;
    uint64_t p50 = dmpb_hist_quantile(&st->hist, 0.5), p99 = dmpb_hist_quantile(&st->hist, 0.99),
             p999 = dmpb_hist_quantile(&st->hist, 0.999);
    if (o->json) {
        json_t *codes = json_object();
        for (int i = 0; i < 600; i++)
            if (st->status[i]) {
                char k[8];
                snprintf(k, sizeof(k), "%d", i);
                json_object_set_new(codes, k, json_integer((json_int_t)st->status[i]));
            }
        json_t *j = json_pack(
            "{s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f, s:f, s:f, "
            "s:f, s:f, s:f}",
            "mode", o->writes ? "writes" : "load", "duration_s", secs, "sent", (json_int_t)st->sent,
            "answered", (json_int_t)st->done, "ok", (json_int_t)st->ok, "4xx", (json_int_t)st->s4xx,
            "5xx", (json_int_t)st->s5xx, "errors", (json_int_t)st->errors, "timeouts",
            (json_int_t)st->timeouts, "behind", (json_int_t)st->behind, "reconnects",
            (json_int_t)st->reconnects, "bad_lines", (json_int_t)st->bad_lines, "status", codes,
            "rate", rate, "target_rate", o->rate, "p50_ms", (double)p50 / 1e6, "p99_ms",
            (double)p99 / 1e6, "p999_ms", (double)p999 / 1e6, "max_ms", (double)st->hist.max / 1e6);
        if (j) {
            json_object_set_new(j, "batch", json_integer((json_int_t)o->batch));
            json_object_set_new(j, "records_ok", json_integer((json_int_t)st->records_ok));
        }
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            printf("%s\n", s);
        free(s);
        json_decref(j);
        return;
    }
    printf("%s: %s:%d, %d conns, %.2f s\n", o->writes ? "writes" : "load", o->host, o->port,
           (int)o->conns, secs);
    printf("sent %llu  answered %llu  2xx %llu  4xx %llu  5xx %llu  errors %llu  timeouts %llu  "
           "bad_lines %llu  reconnects %llu\n",
           (unsigned long long)st->sent, (unsigned long long)st->done, (unsigned long long)st->ok,
           (unsigned long long)st->s4xx, (unsigned long long)st->s5xx,
           (unsigned long long)st->errors, (unsigned long long)st->timeouts,
           (unsigned long long)st->bad_lines, (unsigned long long)st->reconnects);
    printf("status:");
    for (int i = 0; i < 600; i++)
        if (st->status[i])
            printf(" %d=%llu", i, (unsigned long long)st->status[i]);
    printf("\n");
    if (o->rate > 0)
        printf("rate %.0f/s (target %.0f/s, %llu sent late)\n", rate, o->rate,
               (unsigned long long)st->behind);
    else
        printf("rate %.0f/s\n", rate);
    if (o->batch > 1)
        printf("batches of %d records: %llu records acknowledged, %.0f records/s (target "
               "%.0f/s)\n",
               (int)o->batch, (unsigned long long)st->records_ok,
               secs > 0 ? (double)st->records_ok / secs : 0.0, o->rec_rate);
    printf("latency_ms p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", (double)p50 / 1e6,
           (double)p99 / 1e6, (double)p999 / 1e6, (double)st->hist.max / 1e6);
}

static int http_main(int argc, char **argv, bool writes)
{
    dmpb_http_opts_t o;
    if (parse_args(argc, argv, writes, &o) != 0)
        return 2;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (dmpb_loopback_addr(o.host, o.port, &ss, &sslen) != 0)
        return 2;
    dmpb_http_source_t src = {0};
    if (!writes) {
        src.f = fopen(o.file, "r");
        if (!src.f) {
            fprintf(stderr, "load: cannot open %s: %s\n", o.file, strerror(errno));
            return 2;
        }
        if (o.failed && !(g_failed = fopen(o.failed, "w"))) {
            fprintf(stderr, "load: cannot create %s: %s\n", o.failed, strerror(errno));
            fclose(src.f);
            return 2;
        }
    } else {
        uint64_t seed = o.seed >= 0 ? (uint64_t)o.seed : (uint64_t)dmpb_now_ns();
        src.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
        if (src.rng == 0)
            src.rng = 1;
        src.tag = dmpb_rand(&src.rng);
    }
    if (o.cpu >= 0 && dmpb_pin_cpu((int)o.cpu) != 0) {
        if (src.f)
            fclose(src.f);
        return 2;
    }
    dmpb_catch_signals();
    int n = (int)o.conns;
    dmpb_http_conn_t *cs = calloc((size_t)n, sizeof(*cs));
    dmpb_http_stats_t *st = calloc(1, sizeof(*st));
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    int ret = 1;
    if (!cs || !st || !pfd) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    for (int i = 0; i < n; i++)
        cs[i].fd = -1;
    int64_t timeout_ns = o.timeout_ms * 1000000LL;
    st->t_start = dmpb_now_ns();
    int64_t t_stop = st->t_start + (int64_t)(o.duration * 1e9);
    int64_t next_progress = st->t_start + 1000000000LL;
    uint64_t consecutive_fail = 0, last_done = 0;
    bool eof = false;
    for (;;) {
        int64_t now = dmpb_now_ns();
        bool can_start = !eof && !dmpb_stop && now < t_stop && st->sent < (uint64_t)o.max_requests;
        int busy = 0;
        for (int i = 0; i < n; i++)
            if (cs[i].state == C_SENDING || cs[i].state == C_WAITING)
                busy++;
        if (!can_start && busy == 0)
            break;
        if (dmpb_stop || now >= t_stop + timeout_ns)
            break; /* stragglers past the deadline count as timeouts below */
        if (consecutive_fail > 200) {
            fprintf(stderr,
                    "%s: giving up: %llu connection failures in a row (is the node "
                    "listening on %s:%d?)\n",
                    argv[0], (unsigned long long)consecutive_fail, o.host, o.port);
            break;
        }
        /* Start requests that are due on idle connections. */
        int64_t next_due = now + 10000000LL;
        for (int i = 0; i < n && can_start; i++) {
            dmpb_http_conn_t *c = &cs[i];
            if (c->state == C_DOWN) {
                if (conn_open(c, &ss, sslen) != 0) {
                    st->errors++;
                    consecutive_fail++;
                    continue;
                }
                st->reconnects++;
            }
            if (c->state != C_IDLE)
                continue;
            if (o.rate > 0) {
                int64_t due = st->t_start + (int64_t)((double)st->sent * 1e9 / o.rate);
                if (due > now) {
                    next_due = due;
                    break;
                }
                if (now - due > 10000000LL) /* more than 10 ms behind schedule */
                    st->behind++;
            }
            int r = dmpb_http_next_request(&src, &o, c, st);
            if (r == 1) {
                eof = true;
                break;
            }
            if (r < 0)
                continue;
            c->state = C_SENDING;
            c->t_start = now;
            c->resp_len = 0;
            st->sent++;
            if (st->sent >= (uint64_t)o.max_requests)
                break;
        }
        /* Push pending bytes. */
        for (int i = 0; i < n; i++) {
            dmpb_http_conn_t *c = &cs[i];
            if (c->state != C_SENDING)
                continue;
            ssize_t w = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
            if (w > 0) {
                c->req_off += (size_t)w;
                if (c->req_off == c->req_len)
                    c->state = C_WAITING;
            } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                st->errors++;
                consecutive_fail++;
                conn_close(c);
            }
        }
        /* Sleep until the next request is due (sub-millisecond: at 2,000/s one is due every
         * 0.5 ms, and a poll timeout rounded down to 0 ms would spin the core). */
        int64_t wait_ns = next_due - now;
        if (wait_ns < 0)
            wait_ns = 0;
        if (wait_ns > 10000000LL)
            wait_ns = 10000000LL;
        struct timespec wait_ts = {.tv_sec = 0, .tv_nsec = (long)wait_ns};
        for (int i = 0; i < n; i++) {
            dmpb_http_conn_t *c = &cs[i];
            pfd[i].fd = c->fd;
            pfd[i].revents = 0;
            pfd[i].events = c->state == C_CONNECTING || c->state == C_SENDING ? POLLOUT
                            : c->state == C_WAITING || c->state == C_IDLE     ? POLLIN
                                                                              : 0;
            if (c->state == C_DOWN)
                pfd[i].fd = -1;
        }
        (void)ppoll(pfd, (nfds_t)n, &wait_ts, NULL);
        now = dmpb_now_ns();
        for (int i = 0; i < n; i++) {
            dmpb_http_conn_t *c = &cs[i];
            if (c->state == C_CONNECTING && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    st->errors++;
                    consecutive_fail++;
                    conn_close(c);
                } else {
                    c->state = C_IDLE;
                }
                continue;
            }
            if (c->state == C_IDLE && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                conn_close(c); /* the server closed an idle keep-alive connection */
                continue;
            }
            if (c->state == C_WAITING && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t r =
                    recv(c->fd, c->resp + c->resp_len, DMPB_HTTP_RESP_CAP - 1 - c->resp_len, 0);
                int status = 0;
                bool close_after = false;
                if (r > 0) {
                    c->resp_len += (size_t)r;
                    int pr = parse_response(c, &status, &close_after);
                    if (pr == 1) {
                        record_status(st, status, now - c->t_start);
                        if (status >= 200 && status < 300)
                            st->records_ok += c->nrec;
                        if (status < 200 || status >= 300)
                            req_failed(c);
                        free(c->src);
                        c->src = NULL;
                        consecutive_fail = 0;
                        c->served++;
                        c->resp_len = 0;
                        if (close_after)
                            conn_close(c);
                        else
                            c->state = C_IDLE;
                    } else if (pr < 0) {
                        st->errors++;
                        conn_close(c);
                    }
                } else if (r == 0) {
                    /* EOF: a complete length-less response, or a dropped connection. */
                    if (parse_response(c, &status, &close_after) >= 0 && status > 0 &&
                        c->resp_len > 0) {
                        record_status(st, status, now - c->t_start);
                        if (status >= 200 && status < 300)
                            st->records_ok += c->nrec;
                        if (status < 200 || status >= 300)
                            req_failed(c);
                        free(c->src);
                        c->src = NULL;
                        consecutive_fail = 0;
                    } else {
                        st->errors++;
                        consecutive_fail++;
                    }
                    conn_close(c);
                } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    st->errors++;
                    consecutive_fail++;
                    conn_close(c);
                }
            }
            if ((c->state == C_SENDING || c->state == C_WAITING || c->state == C_CONNECTING) &&
                now - c->t_start > timeout_ns) {
                if (c->state != C_CONNECTING)
                    st->timeouts++;
                else
                    st->errors++;
                conn_close(c);
            }
        }
        if (!o.quiet && !o.json && now >= next_progress) {
            fprintf(stderr, "\r%6.1f s  %llu done/s  %llu total   ",
                    (double)(now - st->t_start) / 1e9, (unsigned long long)(st->done - last_done),
                    (unsigned long long)st->done);
            last_done = st->done;
            next_progress += 1000000000LL;
        }
    }
    st->t_end = dmpb_now_ns();
    for (int i = 0; i < n; i++) {
        if (cs[i].state == C_SENDING || cs[i].state == C_WAITING)
            st->timeouts++;
        conn_close(&cs[i]);
    }
    if (!o.quiet && !o.json)
        fprintf(stderr, "\n");
    report(&o, st);
    ret = (st->done > 0 && st->ok == st->done && st->errors == 0 && st->timeouts == 0 &&
           st->bad_lines == 0)
              ? 0
              : 1;
out:
    if (cs)
        for (int i = 0; i < n; i++) {
            if (cs[i].fd >= 0)
                close(cs[i].fd);
            free(cs[i].src);
        }
    if (g_failed && fclose(g_failed) != 0) {
        fprintf(stderr, "load: writing %s failed\n", o.failed);
        ret = 1;
    }
    g_failed = NULL;
    free(cs);
    free(st);
    free(pfd);
    if (src.f)
        fclose(src.f);
    free(src.line);
    return ret;
}

static int load_main(int argc, char **argv)
{
    return http_main(argc, argv, false);
}

static int writes_main(int argc, char **argv)
{
    return http_main(argc, argv, true);
}

static const dmp_bench_cmd_t load_cmd = {"load", "HTTP loader: POST a JSON-lines record file",
                                         load_main};
DMP_BENCH_REGISTER(load_cmd)
static const dmp_bench_cmd_t writes_cmd = {"writes", "HTTP write load at a fixed rate",
                                           writes_main};
DMP_BENCH_REGISTER(writes_cmd)
