/* Integration tests: real dnsmeshd processes on ephemeral loopback ports with temporary stores,
 * queried over real UDP/TCP DNS and HTTP (replies decoded with ldns). argv[1] = dnsmeshd.
 * This file: the HTTP API's error answers, RRset caps, slow clients and pipelining, on one
 * shared node. */
#include "integ_node.h"

/* Reads from fd until `want` HTTP status lines arrived, EOF, or 3 s passed. Returns how many
 * status lines were seen; `out` gets the NUL-terminated bytes. */
static int read_http_responses(int fd, int want, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int waited = 0; waited < 3000;) {
        int seen = 0;
        for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
            seen++;
        if (seen >= want)
            return seen;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        out[len] = 0;
    }
    int seen = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        seen++;
    return seen;
}

static void t_http_errors(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "keep.mesh.test", "keep-me", 300), 201);
    /* oversized body, announced by Content-Length: 413, nothing written */
    size_t big = 100000; /* over the records cap, 6 x the value cap + 4096 */
    char *body = malloc(big + 1);
    memset(body, 'x', big);
    memcpy(body, "{\"value\": \"", 11);
    memcpy(body + big - 2, "\"}", 2);
    body[big] = 0;
    int st = itest_http(&g_node, "POST", "/v1/records/keep.mesh.test", NULL, body, big, g_body,
                        sizeof(g_body));
    assert_true(st == 413 || st == -1);
    /* chunked body: refused up front with 411 (bodies must announce their Content-Length, so
     * a huge chunk size cannot hold the connection; see node_http_slow.py), nothing written */
    {
        int fd = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fd >= 0);
        const char *h = "POST /v1/records/keep.mesh.test HTTP/1.1\r\nHost: x\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        send(fd, h, strlen(h), MSG_NOSIGNAL);
        char ch[64];
        for (int i = 0; i < 5; i++) {
            int cl = snprintf(ch, sizeof(ch), "%x\r\n", 5000);
            send(fd, ch, (size_t)cl, MSG_NOSIGNAL);
            send(fd, body, 5000, MSG_NOSIGNAL);
            send(fd, "\r\n", 2, MSG_NOSIGNAL);
        }
        send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
        char resp[2048] = {0};
        size_t got = 0;
        for (int i = 0; i < 50 && got < sizeof(resp) - 1; i++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 200) <= 0)
                continue;
            ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        assert_non_null(strstr(resp, " 411 "));
    }
    free(body);
    assert_int_equal(get(&g_node, "/v1/records/keep.mesh.test"), 200);
    assert_string_equal(g_body, "{\"name\": \"keep.mesh.test\", \"values\": [\"keep-me\"]}");

    /* bodies and fields, in the reference's order and words */
    assert_int_equal(post(&g_node, "keep.mesh.test", "not json", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid body\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "[1,2]", NULL), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"x\", \"ttl\": 0}", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"value (str) and ttl (int > 0) required\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": 5}", NULL), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"x\", \"ttl\": 999999}", NULL),
                     400);
    assert_string_equal(g_body, "{\"error\": \"ttl exceeds cap of 86400s\"}");
    char *lv = malloc(13000);
    memset(lv, 'v', 12289);
    lv[12289] = 0;
    assert_int_equal(post_value(&g_node, "keep.mesh.test", lv, 60), 400);
    assert_string_equal(g_body, "{\"error\": \"value exceeds cap of 12288 bytes\"}");
    free(lv);
    assert_int_equal(post_value(&g_node, "bad..name.mesh.test", "x", 60), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid record name\"}");
    assert_int_equal(post_value(&g_node, "-bad.mesh.test", "x", 60), 400);
    assert_int_equal(post_value(&g_node, "a%0Ab.mesh.test", "x", 60), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"a\\nb\"}", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid record value\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"a\\\"b\"}", NULL), 400);
    /* unknown path, unknown method */
    assert_int_equal(get(&g_node, "/nope"), 404);
    assert_string_equal(g_body, "{\"error\": \"not found\"}");
    assert_int_equal(get(&g_node, "/v1/records/absent.mesh.test"), 404);
    assert_string_equal(g_body, "{\"name\": \"absent.mesh.test\", \"values\": []}");
    /* nothing of the above changed the record */
    assert_int_equal(get(&g_node, "/v1/records/keep.mesh.test"), 200);
    assert_string_equal(g_body, "{\"name\": \"keep.mesh.test\", \"values\": [\"keep-me\"]}");
    assert_int_equal(get(&g_node, "/health"), 200);
    assert_string_equal(g_body, "{\"status\": \"ok\"}");
}

static void t_rrset_cap(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "one", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "two", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "three", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "four", 300), 413);
    assert_string_equal(g_body, "{\"error\": \"RRset at cap.mesh.test already holds 3 values\"}");
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "two", 300), 201); /* refresh ok */
}

/* A write on an otherwise idle HTTP API is answered soon after its WAL sync: the HTTP thread
 * is woken by the resume, not by other traffic or its loop's 50 ms bound. Without that wake-up
 * every write waits out the bound (each took >= 50 ms); the median of 21 writes is compared, so
 * one slow fsync on a busy machine does not fail the test. */
static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static void t_http_write_ack_prompt(void **state)
{
    (void)state;
    long ms[21];
    char name[64];
    for (int i = 0; i < 21; i++) {
        struct timespec a, b;
        snprintf(name, sizeof(name), "prompt%d.mesh.test", i);
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(post_value(&g_node, name, "v", 300), 201);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ms[i] = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    }
    qsort(ms, 21, sizeof ms[0], cmp_long);
    if (ms[10] >= 45)
        fail_msg("median write took %ld ms (each waited for the HTTP loop's bound?)", ms[10]);
}

static void t_http_slow_clients(void **state)
{
    (void)state;
    /* clients that send half a request and stall do not block anyone else */
    int fds[12];
    for (int i = 0; i < 12; i++) {
        fds[i] = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fds[i] >= 0);
        const char *part = (i % 2) ? "POST /v1/records/slow.mesh.test HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 100\r\n\r\n{\"val"
                                   : "GET /heal";
        send(fds[i], part, strlen(part), MSG_NOSIGNAL);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get(&g_node, "/health"), 200);
        assert_int_equal(post_value(&g_node, "fast.mesh.test", "ok", 60), 201);
    }
    for (int i = 0; i < 12; i++)
        close(fds[i]);
    assert_int_equal(get(&g_node, "/v1/records/slow.mesh.test"), 404);
}

/* HTTP/1.1 keep-alive and pipelining: a GET must not end the connection, and requests sent
 * behind it on the same connection are answered in order. */
static void t_http_pipelining(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "pipe.mesh.test", "p1", 300), 201);
    int fd = itest_connect_tcp(&g_node, g_node.http_port);
    assert_true(fd >= 0);
    const char *reqs = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /v1/records/pipe.mesh.test HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /v1/records/pipe.mesh.test HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 24\r\n\r\n{\"value\":\"p2\",\"ttl\":300}"
                       "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, reqs, strlen(reqs), MSG_NOSIGNAL), (ssize_t)strlen(reqs));
    static char buf[16384];
    int n = read_http_responses(fd, 4, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 4);
    const char *a = strstr(buf, "HTTP/1.1 200");
    assert_non_null(a);
    const char *b = strstr(a + 1, "\"values\": [\"p1\"]");
    assert_non_null(b);
    const char *c = strstr(b, "HTTP/1.1 201");
    assert_non_null(c);
    assert_non_null(strstr(c, "\"records\": "));
    /* the pipelined POST landed */
    assert_int_equal(get(&g_node, "/v1/records/pipe.mesh.test"), 200);
    assert_non_null(strstr(g_body, "\"p2\""));
}

/* Many concurrent publishers of distinct values on one name: the cap holds exactly. */
static void t_rrset_cap_concurrent(void **state)
{
    (void)state;
    enum { N = 12 };
    int fds[N];
    char req[512];
    for (int i = 0; i < N; i++) {
        fds[i] = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        char body[64];
        int bl = snprintf(body, sizeof(body), "{\"value\": \"v%d\", \"ttl\": 300}", i);
        int rl = snprintf(
            req, sizeof(req),
            "POST /v1/records/race.mesh.test HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s", bl, body);
        assert_int_equal(send(fds[i], req, (size_t)rl, MSG_NOSIGNAL), rl);
    }
    int created = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        char resp[1024] = {0};
        size_t got = 0;
        for (int k = 0; k < 100 && got < sizeof(resp) - 1; k++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = recv(fds[i], resp + got, sizeof(resp) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fds[i]);
        if (strstr(resp, " 201 "))
            created++;
        else if (strstr(resp, " 413 "))
            refused++;
    }
    assert_int_equal(created, 3);
    assert_int_equal(refused, N - 3);
}

/* One sample of /metrics; -1 when absent. */
static long long metric(const char *series)
{
    if (get(&g_node, "/metrics") != 200)
        return -1;
    const char *p = strstr(g_body, series);
    return p ? atoll(p + strlen(series)) : -1;
}

/* Writes finished by one WAL sync wake the HTTP thread about once, not once each; every 201
 * (one response built at start, queued each time) still carries its body. */
static void t_http_resume_wakeups(void **state)
{
    (void)state;
    enum { N = 12, K = 3 }; /* N: the test node's per-address cap is 16 */
    int fds[N];
    char req[512];
    long long w0 = metric("\ndmp_http_resume_wakeups_total ");
    assert_true(w0 >= 0);
    for (int i = 0; i < N; i++) {
        fds[i] = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fds[i] >= 0);
    }
    /* K writes per connection, pipelined (keep-alive): K x N 201s */
    for (int i = 0; i < N; i++) {
        const char *body = "{\"value\": \"w\", \"ttl\": 300}";
        int rl = 0;
        for (int k = 0; k < K; k++)
            rl +=
                snprintf(req + rl, sizeof(req) - (size_t)rl,
                         "POST /v1/records/wake%d.mesh.test HTTP/1.1\r\nHost: x\r\n%s"
                         "Content-Length: %zu\r\n\r\n%s",
                         i + k * N, k == K - 1 ? "Connection: close\r\n" : "", strlen(body), body);
        assert_true(rl < (int)sizeof(req));
        assert_int_equal(send(fds[i], req, (size_t)rl, MSG_NOSIGNAL), rl);
    }
    static char buf[16384];
    for (int i = 0; i < N; i++) {
        size_t len = 0; /* up to the close the second request asked for */
        for (int waited = 0; waited < 5000 && len < sizeof(buf) - 1;) {
            struct pollfd pf = {fds[i], POLLIN, 0};
            if (poll(&pf, 1, 100) <= 0) {
                waited += 100;
                continue;
            }
            ssize_t r = recv(fds[i], buf + len, sizeof(buf) - 1 - len, 0);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        buf[len] = 0;
        close(fds[i]);
        const char *a = buf;
        for (int k = 0; k < K; k++) {
            a = strstr(a, "HTTP/1.1 201");
            if (!a)
                fail_msg("connection %d, write %d: %.300s", i, k, buf);
            assert_non_null(strstr(a, "Content-Type: application/json"));
            a = strstr(a, "\r\n\r\n{\"ok\": true}");
            assert_non_null(a);
        }
    }
    long long w1 = metric("\ndmp_http_resume_wakeups_total ");
    /* one per write before; a sync carries many of these writes */
    if (w1 - w0 < 1 || w1 - w0 > N * K / 2)
        fail_msg("%lld wake-ups for %d writes", w1 - w0, N * K);
    assert_int_equal(get(&g_node, "/v1/records/wake0.mesh.test"), 200);
    assert_int_equal(get(&g_node, "/v1/records/wake35.mesh.test"), 200);
}

/* The HTTP thread's loop waits in MHD's epoll_wait, with the wake-up eventfd (edge-triggered,
 * never read) in MHD's epoll set: after writes have signalled it, an idle node's loop still
 * sleeps (a level-triggered or unread-and-rearmed descriptor would spin it), and it wakes at
 * least every 50 ms to look at its stop flags. */
static void t_http_loop_passes(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "passes.mesh.test", "p", 300), 201);
    long long p0 = metric("\ndmp_http_loop_passes_total ");
    assert_true(p0 > 0);
    usleep(500 * 1000);
    long long p1 = metric("\ndmp_http_loop_passes_total ");
    /* ~10 timeouts, plus the passes of the two /metrics requests; the lower bound leaves room
     * for a loaded machine, where this nice-13 SCHED_BATCH thread waits for its turn */
    if (p1 - p0 < 3 || p1 - p0 > 40)
        fail_msg("%lld loop passes in 500 ms of idleness", p1 - p0);
    assert_int_equal(post_value(&g_node, "passes.mesh.test", "q", 300), 201);
}

/* A write with a body waits for its WAL sync holding its body's last byte unread
 * (src/node/http_write.c), not suspended: libmicrohttpd's suspend and resume cost the HTTP
 * thread two epoll_ctl and a read that finds nothing per write. Writes with a body count as
 * held; a DELETE of a whole name (no body, nothing to hold) is still suspended. A client that
 * closes while its write waits leaves the write applied and the node serving. */
static void t_http_writes_held(void **state)
{
    (void)state;
    const char *held = "\ndmp_http_writes_waited_total{how=\"held\"} ";
    const char *susp = "\ndmp_http_writes_waited_total{how=\"suspended\"} ";
    long long h0 = metric(held), s0 = metric(susp);
    assert_true(h0 >= 0 && s0 >= 0);
    char name[64];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "held%d.mesh.test", i);
        assert_int_equal(post_value(&g_node, name, "h", 300), 201);
        assert_string_equal(g_body, "{\"ok\": true}");
    }
    assert_int_equal(post_value(&g_node, "held0.mesh.test", "i", 300), 201);
    const char *one = "{\"value\": \"h\"}";
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/held0.mesh.test", NULL, one,
                                strlen(one), g_body, sizeof(g_body)),
                     204);
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/held1.mesh.test", NULL, NULL, 0,
                                g_body, sizeof(g_body)),
                     204);
    long long h1 = metric(held), s1 = metric(susp);
    assert_int_equal(h1 - h0, 7);
    assert_int_equal(s1 - s0, 1);
    assert_int_equal(get(&g_node, "/v1/records/held0.mesh.test"), 200);
    assert_string_equal(g_body, "{\"name\": \"held0.mesh.test\", \"values\": [\"i\"]}");
    /* clients gone before their answers */
    for (int i = 0; i < 8; i++) {
        int fd = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fd >= 0);
        const char *body = "{\"value\": \"gone\", \"ttl\": 300}";
        char req[256];
        int rl = snprintf(req, sizeof(req),
                          "POST /v1/records/gone%d.mesh.test HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: %zu\r\n\r\n%s",
                          i, strlen(body), body);
        assert_int_equal(send(fd, req, (size_t)rl, MSG_NOSIGNAL), rl);
        close(fd);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "/v1/records/gone%d.mesh.test", i);
        int st = 0;
        for (int k = 0; k < 50 && (st = get(&g_node, name)) != 200; k++)
            usleep(20 * 1000);
        assert_int_equal(st, 200);
    }
    assert_int_equal(post_value(&g_node, "held2.mesh.test", "after", 300), 201);
}

int main(int argc, char **argv)
{
    int rc = integ_init(argc, argv);
    if (rc != 0) {
        return rc;
    }
    const struct CMUnitTest http[] = {
        cmocka_unit_test(t_http_errors),          cmocka_unit_test(t_rrset_cap),
        cmocka_unit_test(t_rrset_cap_concurrent), cmocka_unit_test(t_http_slow_clients),
        cmocka_unit_test(t_http_pipelining),      cmocka_unit_test(t_http_write_ack_prompt),
        cmocka_unit_test(t_http_resume_wakeups),  cmocka_unit_test(t_http_loop_passes),
        cmocka_unit_test(t_http_writes_held),
    };
    return cmocka_run_group_tests_name("node_http", http, group_setup, group_teardown);
}
