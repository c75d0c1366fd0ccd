/* Unit tests: the reference's JSON sync messages (cluster.md §3.4) and the libcurl peer client
 * against a tiny HTTP server thread on loopback (status, auth header, size cap, timeout). */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cluster/cluster.h"
#include "crypto/crypto.h"

static const char H64[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_cursor(void **state)
{
    (void)state;
    dmp_cluster_cursor_t c;
    char s[200];
    snprintf(s, sizeof(s), "1795967274857:a.mesh.test:%s", H64);
    assert_int_equal(dmp_cluster_cursor_parse(s, strlen(s), &c), 0);
    assert_int_equal(c.ts, 1795967274857LL);
    assert_string_equal(c.name, "a.mesh.test");
    assert_true(c.has_hash);
    assert_int_equal(c.hash[1], 0x11);
    char back[400];
    assert_int_equal(dmp_cluster_cursor_format(&c, back, sizeof(back)), 0);
    assert_string_equal(back, s);
    assert_int_equal(dmp_cluster_cursor_parse("0::", 3, &c), 0);
    assert_int_equal(c.ts, 0);
    assert_int_equal(c.name_len, 0);
    assert_false(c.has_hash);
    assert_int_equal(dmp_cluster_cursor_parse("5:x.y", 5, &c), 0); /* legacy 2-field */
    assert_false(c.has_hash);
    const char *bad[] = {"",
                         "5",
                         "-1:a:",
                         "x:a:",
                         "5:a:ABCD",
                         "5:a:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
                         "99999999999999999999:a:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_not_equal(dmp_cluster_cursor_parse(bad[i], strlen(bad[i]), &c), 0);
}

static void test_digest_query(void **state)
{
    (void)state;
    dmp_cluster_cursor_t c;
    size_t lim;
    char msg[100];
    assert_int_equal(dmp_cluster_digest_query(NULL, NULL, NULL, &c, &lim, msg, sizeof(msg)), 0);
    assert_int_equal(lim, 1000);
    assert_int_equal(c.ts, 0);
    assert_int_equal(dmp_cluster_digest_query("0::", NULL, "50000", &c, &lim, msg, sizeof(msg)), 0);
    assert_int_equal(lim, 10000);
    assert_int_equal(dmp_cluster_digest_query("zz", NULL, NULL, &c, &lim, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "cursor must be '<ts>:<name>:<value_hash>'");
    assert_int_equal(dmp_cluster_digest_query(NULL, "x", NULL, &c, &lim, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "since must be an integer");
    assert_int_equal(dmp_cluster_digest_query(NULL, "-3", NULL, &c, &lim, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "since must be >= 0");
    assert_int_equal(dmp_cluster_digest_query(NULL, "12", NULL, &c, &lim, msg, sizeof(msg)), 0);
    assert_int_equal(c.ts, 12);
    assert_int_equal((unsigned char)c.name[0], 0xff);
    assert_int_equal(dmp_cluster_digest_query(NULL, NULL, "1.5", &c, &lim, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "limit must be an integer");
    assert_int_equal(dmp_cluster_digest_query(NULL, NULL, "0", &c, &lim, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "limit must be > 0");
}

static void test_digest_roundtrip(void **state)
{
    (void)state;
    dmp_cluster_digest_writer_t w;
    assert_int_equal(dmp_cluster_digest_writer_init(&w), 0);
    uint8_t h[32];
    memset(h, 0xab, 32);
    assert_int_equal(dmp_cluster_digest_writer_add(&w, "a.mesh.test", 11, h, 1795967274857LL, 297),
                     0);
    dmp_cluster_cursor_t in = {0};
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_cluster_digest_writer_finish(&w, true, &in, &out), 0);
    dmp_cluster_digest_writer_free(&w);
    char want[600];
    char hex[65];
    memset(hex, 'a', 64);
    for (int i = 1; i < 64; i += 2)
        hex[i] = 'b';
    hex[64] = '\0';
    snprintf(
        want, sizeof(want),
        "{\"records\": [{\"name\": \"a.mesh.test\", \"hash\": \"%s\", \"ts\": 1795967274857, "
        "\"ttl\": 297}], \"has_more\": true, \"next_cursor\": \"1795967274857:a.mesh.test:%s\"}",
        hex, hex);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    dmp_cluster_digest_t d;
    assert_int_equal(dmp_cluster_digest_parse(out.data, out.len, &d), 0);
    assert_int_equal(d.n, 1);
    assert_true(d.has_more);
    assert_int_equal(d.e[0].ts, 1795967274857LL);
    assert_int_equal(d.e[0].ttl, 297);
    assert_memory_equal(d.e[0].hash, h, 32);
    dmp_cluster_digest_free(&d);
    dmp_buf_free(&out);
    /* an empty page echoes the input cursor */
    assert_int_equal(dmp_cluster_digest_writer_init(&w), 0);
    dmp_buf_init(&out);
    in.ts = 7;
    strcpy(in.name, "q.x");
    in.name_len = 3;
    assert_int_equal(dmp_cluster_digest_writer_finish(&w, false, &in, &out), 0);
    dmp_cluster_digest_writer_free(&w);
    const char *want2 = "{\"records\": [], \"has_more\": false, \"next_cursor\": \"7:q.x:\"}";
    assert_int_equal(out.len, strlen(want2));
    assert_memory_equal(out.data, want2, out.len);
    dmp_buf_free(&out);
}

static void test_digest_parse_filters(void **state)
{
    (void)state;
    char body[3000];
    snprintf(
        body, sizeof(body),
        "{\"records\": ["
        "{\"name\": \"ok.test\", \"hash\": \"%s\", \"ts\": 1, \"ttl\": 0},"
        "{\"name\": \"ok2.test\", \"hash\": \"%s\", \"ts\": 99999999999999, \"ttl\": 2147483648},"
        "{\"name\": \"bad name\", \"hash\": \"%s\", \"ts\": 1, \"ttl\": 1},"
        "{\"name\": \"x.test\", \"hash\": \"ABCD\", \"ts\": 1, \"ttl\": 1},"
        "{\"name\": \"x.test\", \"hash\": \"%s\", \"ts\": true, \"ttl\": 1},"
        "{\"name\": \"x.test\", \"hash\": \"%s\", \"ts\": 1, \"ttl\": 1.0},"
        "{\"name\": \"x.test\", \"hash\": \"%s\", \"ts\": -1, \"ttl\": 1},"
        "{\"name\": \"x.test\", \"hash\": \"%s\", \"ts\": 1, \"ttl\": 2147483649},"
        "{\"name\": \"x.test\", \"hash\": \"%s\", \"ttl\": 1},"
        "5, null],"
        "\"has_more\": 1}",
        H64, H64, H64, H64, H64, H64, H64, H64);
    dmp_cluster_digest_t d;
    assert_int_equal(dmp_cluster_digest_parse((const uint8_t *)body, strlen(body), &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.rejected, 9);
    assert_false(d.has_more); /* only JSON true counts */
    /* a far-future ts is the peer's opaque cursor: kept (reference drops > now + 60 s) */
    assert_int_equal(d.e[1].ts, 99999999999999LL);
    dmp_cluster_digest_free(&d);
    const char *bad[] = {"", "[]", "{}", "{\"records\": {}}", "{\"records\": [", "nul", "\"x\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(dmp_cluster_digest_parse((const uint8_t *)bad[i], strlen(bad[i]), &d),
                         DMP_EFORMAT);
}

static void test_pull_request(void **state)
{
    (void)state;
    /* 300 names of 69 chars: split by the body cap and by 256 names */
    static char names[300][80];
    const char *ptr[300];
    size_t lens[300];
    for (int i = 0; i < 300; i++) {
        snprintf(names[i], sizeof(names[i]), "n%03d-%s.mesh.test", i,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        ptr[i] = names[i];
        lens[i] = strlen(names[i]);
    }
    dmp_buf_t b;
    dmp_buf_init(&b);
    size_t taken;
    assert_int_equal(
        dmp_cluster_pull_req_encode(ptr, lens, 300, DMP_CLUSTER_PULL_BODY_REF, &b, &taken), 0);
    assert_true(b.len <= DMP_CLUSTER_PULL_BODY_REF);
    assert_true(taken > 100 && taken < 256);
    dmp_cluster_names_t nm;
    char msg[100];
    assert_int_equal(dmp_cluster_pull_req_parse(b.data, b.len, &nm, msg, sizeof(msg)), 0);
    assert_int_equal(nm.n, taken);
    assert_string_equal(nm.names[5], names[5]);
    dmp_cluster_names_free(&nm);
    dmp_buf_free(&b);
    dmp_buf_init(&b);
    assert_int_equal(
        dmp_cluster_pull_req_encode(ptr, lens, 300, DMP_CLUSTER_PULL_BODY_MAX, &b, &taken), 0);
    assert_int_equal(taken, 256);
    /* our server accepts what a reference worker sends */
    assert_true(b.len > DMP_CLUSTER_PULL_BODY_REF && b.len <= DMP_CLUSTER_PULL_BODY_MAX);
    assert_int_equal(dmp_cluster_pull_req_parse(b.data, b.len, &nm, msg, sizeof(msg)), 0);
    assert_int_equal(nm.n, 256);
    dmp_cluster_names_free(&nm);
    dmp_buf_free(&b);
    /* names that cannot travel unescaped are refused */
    const char *q[] = {"a\"b"};
    size_t ql[] = {3};
    dmp_buf_init(&b);
    assert_int_equal(dmp_cluster_pull_req_encode(q, ql, 1, 1000, &b, &taken), DMP_EINVAL);
    assert_int_equal(dmp_cluster_pull_req_encode(ptr, lens, 1, 20, &b, &taken), DMP_ETOOBIG);
    dmp_buf_free(&b);

    /* server-side parse: strip, trailing dots, the reference's messages */
    const char *ok = "{\"names\": [\"  a.mesh.test..  \", \"\\tb.x\"]}";
    assert_int_equal(dmp_cluster_pull_req_parse((const uint8_t *)ok, strlen(ok), &nm, msg, 100), 0);
    assert_int_equal(nm.n, 2);
    assert_string_equal(nm.names[0], "a.mesh.test");
    assert_string_equal(nm.names[1], "b.x");
    dmp_cluster_names_free(&nm);
    struct {
        const char *body, *msg;
    } cases[] = {
        {"nope", "invalid body"},
        {"[1]", "invalid body"},
        {"", "names must be a list"},
        {"{}", "names must be a list"},
        {"{\"names\": \"a\"}", "names must be a list"},
        {"{\"names\": [1]}", "names must be strings"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dmp_cluster_pull_req_parse((const uint8_t *)cases[i].body,
                                                    strlen(cases[i].body), &nm, msg, sizeof(msg)),
                         DMP_CLUSTER_EREQUEST);
        assert_string_equal(msg, cases[i].msg);
    }
    dmp_buf_init(&b);
    dmp_buf_append_str(&b, "{\"names\": [");
    for (int i = 0; i < 257; i++)
        dmp_buf_append_str(&b, i ? ", \"a\"" : "\"a\"");
    dmp_buf_append_str(&b, "]}");
    assert_int_equal(dmp_cluster_pull_req_parse(b.data, b.len, &nm, msg, sizeof(msg)),
                     DMP_CLUSTER_EREQUEST);
    assert_string_equal(msg, "at most 256 names per request");
    dmp_buf_free(&b);
}

static void test_pull_response(void **state)
{
    (void)state;
    dmp_cluster_pull_writer_t w;
    assert_int_equal(dmp_cluster_pull_writer_init(&w), 0);
    assert_int_equal(
        dmp_cluster_pull_writer_add(&w, "a.x", 3, (const uint8_t *)"v=spf1 \xc3\xa9", 9, 30), 0);
    assert_int_equal(dmp_cluster_pull_writer_add(&w, "a.x", 3, (const uint8_t *)"\xff", 1, 30),
                     DMP_EFORMAT);
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_cluster_pull_writer_finish(&w, &b), 0);
    dmp_cluster_pull_writer_free(&w);
    const char *want =
        "{\"records\": [{\"name\": \"a.x\", \"value\": \"v=spf1 \\u00e9\", \"ttl\": 30}]}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    dmp_cluster_pull_t p;
    assert_int_equal(dmp_cluster_pull_parse(b.data, b.len, &p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].value_len, 9);
    assert_memory_equal(p.r[0].value, "v=spf1 \xc3\xa9", 9);
    dmp_cluster_pull_free(&p);
    dmp_buf_free(&b);
    const char *mixed = "{\"records\": [{\"name\": \"a\", \"value\": \"v\", \"ttl\": 0},"
                        "{\"name\": \"a\", \"value\": \"v\", \"ttl\": true},"
                        "{\"name\": \"a\", \"value\": 5, \"ttl\": 5},"
                        "{\"name\": \"a\", \"value\": \"v\", \"ttl\": 4294967296},"
                        "{\"name\": \"a\", \"value\": \"\", \"ttl\": 5}]}";
    assert_int_equal(dmp_cluster_pull_parse((const uint8_t *)mixed, strlen(mixed), &p), 0);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.rejected, 4);
    assert_int_equal(p.r[0].value_len, 0);
    dmp_cluster_pull_free(&p);
    assert_int_equal(dmp_cluster_pull_parse((const uint8_t *)"{}", 2, &p), DMP_EFORMAT);
}

static void test_manifest_response(void **state)
{
    (void)state;
    dmp_buf_t b, w;
    dmp_buf_init(&b);
    dmp_buf_init(&w);
    assert_int_equal(
        dmp_cluster_manifest_resp_encode("v=dmp1;t=cluster;AAAA", 21, 3, 99, "mesh.test", &b), 0);
    const char *want = "{\"wire\": \"v=dmp1;t=cluster;AAAA\", \"seq\": 3, \"exp\": 99, "
                       "\"cluster_name\": \"mesh.test\"}";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    assert_int_equal(dmp_cluster_manifest_resp_parse(b.data, b.len, &w), 0);
    assert_int_equal(w.len, 21);
    dmp_buf_free(&w);
    const char *bad[] = {"{\"wire\": \"\"}", "{\"wire\": 5}", "[]", "x"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(
            dmp_cluster_manifest_resp_parse((const uint8_t *)bad[i], strlen(bad[i]), &w),
            DMP_EFORMAT);
    dmp_buf_free(&b);
}

/* ---- tiny HTTP server for the client ---- */

typedef enum { SRV_OK, SRV_BIG, SRV_SILENT, SRV_404 } srv_mode_t;

typedef struct {
    int lfd;
    uint16_t port;
    srv_mode_t mode;
    char req[8192];
    size_t req_len;
    pthread_t th;
    int stop_pipe[2];
} srv_t;

static void *srv_main(void *arg)
{
    srv_t *s = arg;
    struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
                          {.fd = s->stop_pipe[0], .events = POLLIN}};
    if (poll(p, 2, 10000) <= 0 || (p[1].revents & POLLIN))
        return NULL;
    int c = accept(s->lfd, NULL, NULL);
    if (c < 0)
        return NULL;
    /* read the request head (and a small body) */
    s->req_len = 0;
    for (int i = 0; i < 50; i++) {
        struct pollfd q = {.fd = c, .events = POLLIN};
        if (poll(&q, 1, 100) <= 0)
            break;
        ssize_t r = read(c, s->req + s->req_len, sizeof(s->req) - 1 - s->req_len);
        if (r <= 0)
            break;
        s->req_len += (size_t)r;
        s->req[s->req_len] = '\0';
        char *hend = strstr(s->req, "\r\n\r\n");
        if (hend) {
            char *cl = strcasestr(s->req, "Content-Length: ");
            size_t want = cl ? (size_t)atoi(cl + 16) : 0;
            if (s->req_len - (size_t)(hend + 4 - s->req) >= want)
                break;
        }
    }
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    if (s->mode == SRV_OK) {
        (void)!write(c, ok, strlen(ok));
    } else if (s->mode == SRV_404) {
        const char *r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!write(c, r, strlen(r));
    } else if (s->mode == SRV_BIG) {
        const char *h = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
        (void)!write(c, h, strlen(h));
        char chunk[4096];
        memset(chunk, 'x', sizeof(chunk));
        for (int i = 0; i < 64; i++) /* an endless-looking stream, bounded here */
            if (write(c, chunk, sizeof(chunk)) < 0)
                break;
    } else { /* silent: hold the connection until told to stop */
        struct pollfd q = {.fd = s->stop_pipe[0], .events = POLLIN};
        poll(&q, 1, 10000);
    }
    close(c);
    return NULL;
}

static void srv_start(srv_t *s, srv_mode_t mode)
{
    memset(s, 0, sizeof(*s));
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(pipe(s->stop_pipe), 0);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(srv_t *s)
{
    (void)!write(s->stop_pipe[1], "x", 1);
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
}

static void test_http_client(void **state)
{
    (void)state;
    char url[100];
    dmp_cluster_http_opts_t o = {.token = "tok", .timeout_ms = 400, .max_response = 4096};
    dmp_cluster_http_resp_t r;
    srv_t s;

    srv_start(&s, SRV_OK);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/sync/pull", s.port);
    assert_int_equal(
        dmp_cluster_http_request(&o, url, (const uint8_t *)"{\"names\": []}", 13, NULL, &r), 0);
    srv_stop(&s);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 2);
    assert_non_null(strstr(s.req, "POST /v1/sync/pull HTTP/1.1\r\n"));
    assert_non_null(strstr(s.req, "Authorization: Bearer tok\r\n"));
    assert_non_null(strstr(s.req, "Content-Type: application/json\r\n"));
    assert_null(strstr(s.req, "Expect:"));
    assert_non_null(strstr(s.req, "{\"names\": []}"));
    dmp_cluster_http_resp_free(&r);

    srv_start(&s, SRV_404);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/sync/merkle", s.port);
    assert_int_equal(dmp_cluster_http_request(&o, url, NULL, 0, NULL, &r), 0);
    srv_stop(&s);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(s.req, "GET /v1/sync/merkle HTTP/1.1\r\n"));
    dmp_cluster_http_resp_free(&r);

    srv_start(&s, SRV_BIG);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    assert_int_equal(dmp_cluster_http_request(&o, url, NULL, 0, NULL, &r), DMP_ETOOBIG);
    srv_stop(&s);
    assert_int_equal(r.status, 0);
    assert_null(r.body);

    srv_start(&s, SRV_SILENT);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    assert_int_equal(dmp_cluster_http_request(&o, url, NULL, 0, NULL, &r), DMP_CLUSTER_EHTTP);
    srv_stop(&s);
    assert_int_equal(r.status, 0);

    /* nobody listening */
    srv_start(&s, SRV_OK);
    uint16_t dead = s.port;
    srv_stop(&s);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", dead);
    assert_int_equal(dmp_cluster_http_request(&o, url, NULL, 0, NULL, &r), DMP_CLUSTER_EHTTP);
    assert_int_equal(r.status, 0);
    /* no redirects to other schemes */
    assert_int_equal(dmp_cluster_http_request(&o, "file:///etc/passwd", NULL, 0, NULL, &r),
                     DMP_CLUSTER_EHTTP);
}

int main(void)
{
    /* the fake peer may write to a client that already hung up: an error, not a signal */
    signal(SIGPIPE, SIG_IGN);
    if (dmp_crypto_init() != 0 || dmp_cluster_http_global_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_digest_query),
        cmocka_unit_test(test_digest_roundtrip),
        cmocka_unit_test(test_digest_parse_filters),
        cmocka_unit_test(test_pull_request),
        cmocka_unit_test(test_pull_response),
        cmocka_unit_test(test_manifest_response),
        cmocka_unit_test(test_http_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
