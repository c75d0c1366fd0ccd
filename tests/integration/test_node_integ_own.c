/* Integration tests: real dnsmeshd processes on ephemeral loopback ports with temporary stores,
 * queried over real UDP/TCP DNS and HTTP (replies decoded with ldns). argv[1] = dnsmeshd.
 * This file: tests that start their own node: legacy auth, bad config, restart, kill -9,
 * SIGTERM draining, the rate limit, IPv6, descriptor limits, a write visible under load. */
#include "integ_node.h"

static void t_auth_legacy(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    const char *env[] = {"DMP_OPERATOR_TOKEN=s3cret-token", NULL};
    assert_int_equal(itest_node_start(&n, env), 0);
    assert_int_equal(post_value(&n, "a.mesh.test", "x", 60), 401);
    assert_string_equal(g_body, "{\"error\": \"unauthorized\"}");
    assert_int_equal(
        post(&n, "a.mesh.test", "{\"value\": \"x\"}", "Authorization: Bearer nope\r\n"), 401);
    assert_int_equal(
        post(&n, "a.mesh.test", "{\"value\": \"x\"}", "Authorization: Bearer s3cret-token\r\n"),
        201);
    assert_int_equal(get(&n, "/metrics"), 401);
    assert_int_equal(itest_http(&n, "GET", "/metrics", "Authorization: Bearer s3cret-token\r\n",
                                NULL, 0, g_body, sizeof(g_body)),
                     200);
    assert_int_equal(get(&n, "/v1/records/a.mesh.test"), 401);
    assert_int_equal(get(&n, "/health"), 200);
    assert_int_equal(
        itest_http(&n, "DELETE", "/v1/records/a.mesh.test", NULL, NULL, 0, g_body, sizeof(g_body)),
        401);
    assert_int_equal(itest_node_stop(&n, SIGINT), 0);
    itest_node_cleanup(&n);
}

static void t_bad_config(void **state)
{
    (void)state;
    char err[2048];
    const char *e1[] = {"DMP_DNS_PORT=abc", "DMP_HTTP_HOST=127.0.0.1", NULL};
    assert_int_equal(itest_run_once(e1, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_DNS_PORT"));
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* exactly one line */
    const char *e2[] = {"DMP_HTTP_HOST=0.0.0.0", NULL};
    assert_int_equal(itest_run_once(e2, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_ALLOW_OPEN_PUBLIC_BIND"));
    const char *e3[] = {"DMP_HTTP_HOST=127.0.0.1", NULL};
    const char *a3[] = {"--dns-ttl=-5", NULL};
    assert_int_equal(itest_run_once(e3, a3, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_DNS_TTL"));
    const char *e4[] = {"DMP_HTTP_HOST=127.0.0.1", "DMP_AUTH_MODE=bogus", NULL};
    assert_int_equal(itest_run_once(e4, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_AUTH_MODE"));
    const char *a5[] = {"--help", NULL};
    assert_int_equal(itest_run_once(NULL, a5, err, sizeof(err)), 0);
}

static void t_restart_persistence(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    assert_int_equal(post_value(&n, "persist.mesh.test", "still-here", 3600), 201);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    reply_t r;
    assert_int_equal(query(&n, false, "persist.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static void t_kill9_keeps_acked(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    char name[64], val[64];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "k%d.mesh.test", i);
        snprintf(val, sizeof(val), "value-%d", i);
        assert_int_equal(post_value(&n, name, val, 3600), 201);
    }
    assert_int_equal(itest_node_stop(&n, SIGKILL), 128 + SIGKILL);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "k%d.mesh.test", i);
        snprintf(val, sizeof(val), "value-%d", i);
        reply_t r;
        assert_int_equal(query(&n, i % 2, name, LDNS_RR_TYPE_TXT, -1, &r), 0);
        assert_int_equal(ancount(&r), 1);
        char got[128];
        size_t ns;
        txt_value(&r, 0, got, sizeof(got), &ns);
        assert_string_equal(got, val);
        reply_free(&r);
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* SIGTERM with writes in flight: every acknowledged write survives, the exit is clean. */
static void t_sigterm_drains_writes(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    enum { N = 24 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = itest_connect_tcp(&n, n.http_port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        char body[64], req[256];
        int bl = snprintf(body, sizeof(body), "{\"value\": \"d%d\", \"ttl\": 600}", i);
        int rl = snprintf(req, sizeof(req),
                          "POST /v1/records/drain%d.mesh.test HTTP/1.0\r\n"
                          "Content-Length: %d\r\n\r\n%s",
                          i, bl, body);
        send(fds[i], req, (size_t)rl, MSG_NOSIGNAL);
    }
    kill(n.pid, SIGTERM);
    bool acked[N];
    int nacked = 0;
    for (int i = 0; i < N; i++) {
        char resp[1024] = {0};
        size_t got = 0;
        for (int k = 0; k < 100 && got < sizeof(resp) - 1; k++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t r = recv(fds[i], resp + got, sizeof(resp) - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fds[i]);
        acked[i] = strstr(resp, " 201 ") != NULL;
        nacked += acked[i];
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    for (int i = 0; i < N; i++) {
        if (!acked[i])
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/v1/records/drain%d.mesh.test", i);
        assert_int_equal(get(&n, path), 200);
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
    print_message("  %d of %d writes acknowledged before shutdown, all present after restart\n",
                  nacked, N);
}

static void t_rate_limit(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    const char *env[] = {"DMP_DNS_RATE=0.5", "DMP_DNS_BURST=5", "DMP_HTTP_RATE=0.1",
                         "DMP_HTTP_BURST=2", NULL};
    assert_int_equal(itest_node_start(&n, env), 0);
    uint8_t q[600], resp[4096];
    int answered = 0, tc = 0, silent = 0;
    for (int i = 0; i < 20; i++) {
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, "x.mesh.test", 16, -1, 0, 0);
        int l = itest_udp(&n, q, ql, resp, sizeof(resp), 400);
        if (l <= 0)
            silent++;
        else if (resp[2] & 0x02)
            tc++;
        else
            answered++;
    }
    /* burst 5 plus at most a few refilled tokens (0.5/s) while the loop runs */
    assert_true(answered >= 5 && answered <= 9);
    assert_true(tc >= 3);     /* every 2nd limited answer slips with TC=1 */
    assert_true(silent >= 3); /* the others are dropped */
    assert_true(tc + silent + answered == 20);
    /* the TCP retry has its own bucket */
    reply_t r;
    assert_int_equal(query(&n, true, "x.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    reply_free(&r);
    /* a limited TCP query is closed without a reply */
    int closed = 0;
    for (int i = 0; i < 8; i++) {
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, "x.mesh.test", 16, -1, 0, 0);
        if (itest_tcp(&n, q, ql, resp, sizeof(resp), 2000) <= 0)
            closed++;
    }
    assert_true(closed >= 3);
    assert_int_equal(get(&n, "/metrics"), 200);
    assert_non_null(strstr(g_body, "dmp_dns_drops_total{reason=\"rate_limited\"}"));
    /* HTTP: a per-IP bucket on the record routes only */
    assert_int_equal(get(&n, "/v1/records/x.mesh.test"), 404);
    assert_int_equal(post_value(&n, "x.mesh.test", "v", 60), 201);
    assert_int_equal(get(&n, "/v1/records/x.mesh.test"), 429);
    assert_string_equal(g_body, "{\"error\": \"rate limit exceeded\"}");
    assert_int_equal(get(&n, "/health"), 200);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static void t_ipv6(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    snprintf(n.host, sizeof(n.host), "::1");
    if (itest_node_start(&n, NULL) != 0) {
        itest_node_cleanup(&n);
        skip(); /* no IPv6 loopback here */
    }
    assert_int_equal(post_value(&n, "six.mesh.test", "v6", 60), 201);
    reply_t r;
    assert_int_equal(query(&n, false, "six.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(query(&n, true, "six.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* Opens up to n TCP connections to the node's DNS port (fds[] gets them, -1 for failures). */
static void open_conns(const itest_node_t *n, int *fds, int count)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)n->dns_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < count; i++) {
        /* non-blocking connect bounded to 3 s (a SYN dropped on a full backlog is resent after
         * 1 s); the first failure ends the loop, so the test stays bounded */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fds[i] < 0)
            continue;
        if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0) {
            struct pollfd pf = {fds[i], POLLOUT, 0};
            int err = 0;
            socklen_t el = sizeof(err);
            if (errno != EINPROGRESS || poll(&pf, 1, 3000) != 1 ||
                getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                close(fds[i]);
                for (int j = i; j < count; j++)
                    fds[j] = -1; /* the node stopped accepting: do not wait for the rest */
                return;
            }
        }
        int fl = fcntl(fds[i], F_GETFL);
        fcntl(fds[i], F_SETFL, fl & ~O_NONBLOCK);
    }
}

static void close_conns(int *fds, int count)
{
    for (int i = 0; i < count; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A fresh TCP connection is dealt with promptly: answered, or accepted and closed at once
 * (over the connection cap). It must not sit unaccepted in the backlog (fd exhaustion). */
static bool tcp_prompt(const itest_node_t *n)
{
    uint8_t q[512], resp[1024];
    size_t ql = itest_build_query(q, sizeof(q), 7, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, 0, 0);
    return itest_tcp(n, q, ql, resp, sizeof(resp), 2000) >= 0;
}

/* File descriptors: a low soft RLIMIT_NOFILE is raised to the hard limit at start, and when
 * the hard limit is too low for the configured connection caps the caps are lowered to fit, so
 * many TCP clients cannot exhaust the descriptors the store and the HTTP API need. */
static void t_fd_limits(void **state)
{
    (void)state;
    enum { N = 300 };
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * N + 64 || rl.rlim_max < 4 * N)
        skip(); /* this test process itself needs the descriptors */
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_DNS_MAX_CONCURRENCY=40",
                                      NULL}; /* TCP cap 320 */
    static int fds[N];

    /* soft 128, hard unchanged: the node raises its soft limit and serves all N clients */
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    n.nofile_soft = 128;
    assert_int_equal(itest_node_start(&n, env), 0);
    open_conns(&n, fds, N);
    uint8_t q[512], resp[1024];
    size_t ql = itest_build_query(q, sizeof(q), 9, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, 0, 0);
    uint8_t fq[514];
    fq[0] = (uint8_t)(ql >> 8);
    fq[1] = (uint8_t)ql;
    memcpy(fq + 2, q, ql);
    assert_true(fds[N - 1] >= 0);
    assert_int_equal(send(fds[N - 1], fq, ql + 2, MSG_NOSIGNAL), (ssize_t)(ql + 2));
    struct pollfd pf = {fds[N - 1], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 3000), 1); /* the last client was accepted and answered */
    assert_true(recv(fds[N - 1], resp, sizeof(resp), 0) > 2);
    close_conns(fds, N);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);

    /* hard limit 200: the caps shrink to fit; extra clients are refused at once, and the HTTP
     * API and the store keep working */
    assert_int_equal(itest_node_init(&n), 0);
    n.nofile_soft = 200;
    n.nofile_hard = 200;
    assert_int_equal(itest_node_start(&n, env), 0);
    open_conns(&n, fds, N);
    assert_true(tcp_prompt(&n));
    assert_int_equal(post_value(&n, "fd.mesh.test", "still-writable", 60), 201);
    reply_t r;
    assert_int_equal(query(&n, false, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    close_conns(fds, N);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* ---- a write is visible over DNS right after its 201, while queries keep the name hot ---- */

typedef struct {
    itest_node_t *node;
    _Atomic int stop;
    _Atomic int round; /* which names the load threads ask for */
    _Atomic long sent, unanswered;
} hot_t;

static hot_t g_hot;

static void *hot_load(void *arg)
{
    (void)arg;
    uint8_t q[600], resp[4096];
    time_t until = time(NULL) + 60;
    for (long i = 0; i < 2000000 && !atomic_load(&g_hot.stop) && time(NULL) < until; i++) {
        int k = atomic_load(&g_hot.round);
        char nm[64];
        switch (i % 3) {
        case 0:
            snprintf(nm, sizeof(nm), "hot%d.mesh.test", k);
            break;
        case 1:
            snprintf(nm, sizeof(nm), "nx%d.mesh.test", k);
            break;
        default:
            snprintf(nm, sizeof(nm), "p%d.mesh.test", k);
            break;
        }
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, nm, LDNS_RR_TYPE_TXT, -1, 0, 0);
        if (ql == 0 || itest_udp(g_hot.node, q, ql, resp, sizeof(resp), 1000) <= 0)
            atomic_fetch_add(&g_hot.unanswered, 1);
        atomic_fetch_add(&g_hot.sent, 1);
    }
    return NULL;
}

/* True when the TXT answer to name holds value (UDP, as resolvers ask first). */
static bool answer_has(const char *name, const char *value, int *rcode)
{
    reply_t r;
    *rcode = -1;
    if (query(g_hot.node, false, name, LDNS_RR_TYPE_TXT, 1232, &r) != 0)
        return false;
    *rcode = rcode_of(&r);
    bool found = false;
    for (size_t i = 0; i < ancount(&r) && !found; i++) {
        char v[4096];
        size_t ns;
        txt_value(&r, i, v, sizeof(v), &ns);
        found = strcmp(v, value) == 0;
    }
    reply_free(&r);
    return found;
}

static void t_write_visible_under_load(void **state)
{
    (void)state;
    /* its own node: no DNS rate limit nor RRL (the load comes from one address), several
     * shards, and the frontends answering cache hits (the default when RRL is off) */
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test",
                                      "DMP_MAX_VALUES_PER_NAME=3",
                                      "DMP_DNS_RATE=0",
                                      "DMP_DNS_BURST=0",
                                      "DMP_RRL_RATE=0", /* frontends answer only with RRL off */
                                      "DMP_SHARDS=4",
                                      "DMP_FRONTENDS=2",
                                      NULL};
    static itest_node_t node;
    assert_int_equal(itest_node_init(&node), 0);
    assert_int_equal(itest_node_start(&node, env), 0);
    memset(&g_hot, 0, sizeof(g_hot));
    g_hot.node = &node;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hot_load, NULL), 0);
    int stale = 0, rc;
    for (int k = 0; k < 12; k++) {
        char hot[64], nx[64], p[64], child[80], v[32];
        snprintf(hot, sizeof(hot), "hot%d.mesh.test", k);
        snprintf(nx, sizeof(nx), "nx%d.mesh.test", k);
        snprintf(p, sizeof(p), "p%d.mesh.test", k);
        snprintf(child, sizeof(child), "c.p%d.mesh.test", k);
        assert_int_equal(post_value(&node, hot, "first", 300), 201);
        atomic_store(&g_hot.round, k);
        sleep_ms(30); /* the load threads cache hot (answer), nx and p (NXDOMAIN) */
        for (int j = 2; j <= 3; j++) { /* DMP_MAX_VALUES_PER_NAME=3 */
            snprintf(v, sizeof(v), "value-%d", j);
            assert_int_equal(post_value(&node, hot, v, 300), 201);
            stale += !answer_has(hot, v, &rc);
            sleep_ms(5);
        }
        assert_int_equal(post_value(&node, nx, "now-here", 300), 201);
        stale += !answer_has(nx, "now-here", &rc);
        /* a name below p makes p an empty non-terminal: NODATA, no longer NXDOMAIN */
        assert_int_equal(post_value(&node, child, "below", 300), 201);
        answer_has(p, "-", &rc);
        stale += rc != 0;
    }
    atomic_store(&g_hot.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(itest_node_stop(&node, SIGTERM), 0);
    itest_node_cleanup(&node);
    assert_int_equal(stale, 0);
    assert_true(atomic_load(&g_hot.sent) > 100);
    assert_int_equal(atomic_load(&g_hot.unanswered), 0);
}

int main(int argc, char **argv)
{
    int rc = integ_init(argc, argv);
    if (rc != 0) {
        return rc;
    }
    const struct CMUnitTest own[] = {
        cmocka_unit_test(t_auth_legacy),
        cmocka_unit_test(t_bad_config),
        cmocka_unit_test(t_restart_persistence),
        cmocka_unit_test(t_kill9_keeps_acked),
        cmocka_unit_test(t_sigterm_drains_writes),
        cmocka_unit_test(t_rate_limit),
        cmocka_unit_test(t_ipv6),
        cmocka_unit_test(t_fd_limits),
        cmocka_unit_test(t_write_visible_under_load),
    };
    return cmocka_run_group_tests_name("node_own", own, NULL, NULL);
}
