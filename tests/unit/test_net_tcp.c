/* Tests for src/net: the TCP frontend (pipelining, caps, timeouts, slowloris, held slots,
 * descriptor exhaustion, bad lengths) on loopback with the trivial handler of net_harness.c,
 * under both the io_uring and the recvmmsg/sendmmsg backends. */
#include "net_harness.h"

static void test_tcp_pipelined_and_split(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.frontends = 2;
    cfg.shards = 2;
    dmp_net_t *n = start_server(&cfg, true);
    SKIP_IF_NULL(n);
    for (unsigned li = 0; li < cfg.nlisten; li++) {
        int port = dmp_net_tcp_port(n, li);
        assert_true(port > 0);
        int fd = tcp_client(li == 0 ? AF_INET : AF_INET6, (uint16_t)port);
        /* 5 pipelined queries in one write; the first is slow, so replies may come out of order */
        uint8_t buf[512];
        size_t off = 0, ql = 0;
        for (unsigned i = 0; i < 5; i++) {
            uint8_t q[64];
            ql = make_query(q, i == 0 ? 0xEE : 0x20, (uint8_t)i);
            buf[off] = 0;
            buf[off + 1] = (uint8_t)ql;
            memcpy(buf + off + 2, q, ql);
            off += 2 + ql;
        }
        assert_int_equal(send(fd, buf, off, 0), (ssize_t)off);
        unsigned seen = 0;
        for (unsigned i = 0; i < 5; i++) {
            uint8_t r[128];
            ssize_t rl = tcp_read_msg(fd, r, sizeof r);
            assert_int_equal(rl, (ssize_t)ql + 1);
            assert_true(r[1] < 5);
            assert_int_equal(r[ql], r[1] % 2);
            seen |= 1u << r[1];
        }
        assert_int_equal(seen, 0x1f);
        /* one query split byte by byte across writes */
        uint8_t q[64];
        ql = make_query(q, 0x21, 7);
        uint8_t framed[66];
        framed[0] = 0;
        framed[1] = (uint8_t)ql;
        memcpy(framed + 2, q, ql);
        for (size_t i = 0; i < ql + 2; i++) {
            assert_int_equal(send(fd, framed + i, 1, 0), 1);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        uint8_t r[128];
        assert_int_equal(tcp_read_msg(fd, r, sizeof r), (ssize_t)ql + 1);
        assert_int_equal(r[1], 7);
        assert_int_equal(r[ql], 1);
        close(fd);
    }
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_true(st.tcp_accepted >= 1);
    assert_true(st.tcp_rx >= 6);
    assert_true(st.tcp_tx >= 6);
    dmp_net_free(n);
}

static void test_tcp_pipeline_cap(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_max_pipelined = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    int fd = tcp_client(AF_INET, (uint16_t)dmp_net_tcp_port(n, 0));
    /* 40 queries in one burst with at most 2 in flight: every one is still answered */
    uint8_t buf[2048];
    size_t off = 0, ql = 0;
    for (unsigned i = 0; i < 40; i++) {
        uint8_t q[64];
        ql = make_query(q, 0x30, (uint8_t)i);
        buf[off] = 0;
        buf[off + 1] = (uint8_t)ql;
        memcpy(buf + off + 2, q, ql);
        off += 2 + ql;
    }
    assert_int_equal(send(fd, buf, off, 0), (ssize_t)off);
    uint64_t seen = 0;
    for (unsigned i = 0; i < 40; i++) {
        uint8_t r[128];
        assert_int_equal(tcp_read_msg(fd, r, sizeof r), (ssize_t)ql + 1);
        seen |= 1ULL << r[1];
    }
    assert_int_equal(seen, (1ULL << 40) - 1);
    close(fd);
    dmp_net_free(n);
}

static void test_tcp_nonreader_isolated(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_max_pipelined = 4;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_tcp_port(n, 0);
    /* A writes 1000-byte queries as fast as it can and never reads its replies */
    int a = tcp_client(AF_INET, port);
    static uint8_t big[1002];
    memset(big, 0, sizeof big);
    big[0] = 1000 >> 8;
    big[1] = 1000 & 0xff;
    size_t ql = make_query(big + 2, 0x31, 0);
    unsigned sent = 0;
    for (unsigned i = 0; i < 100000; i++) {
        ssize_t w = send(a, big, sizeof big, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
            break; /* the buffers are full: the server stopped reading us */
        }
        sent++;
    }
    assert_true(sent < 100000);
    uint8_t q[64], framed[66];
    /* B is served normally meanwhile */
    int b = tcp_client(AF_INET, port);
    ql = make_query(q, 0x32, 0);
    framed[0] = 0;
    framed[1] = (uint8_t)ql;
    memcpy(framed + 2, q, ql);
    assert_int_equal(send(b, framed, ql + 2, 0), (ssize_t)ql + 2);
    uint8_t r[128];
    assert_int_equal(tcp_read_msg(b, r, sizeof r), (ssize_t)ql + 1);
    assert_int_equal(r[0], 0x32);
    close(b);
    /* A's replies were held back, not dropped */
    static uint8_t rb[1100];
    assert_int_equal(tcp_read_msg(a, rb, sizeof rb), 1001);
    assert_int_equal(rb[0], 0x31);
    close(a);
    dmp_net_free(n);
}

static void test_tcp_idle_timeout(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_idle_timeout_ms = 200;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    int fd = tcp_client(AF_INET, (uint16_t)dmp_net_tcp_port(n, 0));
    /* half a message, then silence: the slow client is dropped */
    uint8_t part[3] = {0, 30, 0};
    assert_int_equal(send(fd, part, sizeof part, 0), 3);
    assert_true(tcp_closed(fd));
    close(fd);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.tcp_timeouts, 1);
    dmp_net_free(n);
}

/* Slowloris (issue 10): a length prefix, then one byte every 150 ms. Each byte used to restart
 * the idle timer, so the connection held its slot for ever; it must close by the idle deadline
 * counted from the last complete message, well within the 3 s this client keeps trickling. */
static void test_tcp_slowloris(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_idle_timeout_ms = 400;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    int fd = tcp_client(AF_INET, (uint16_t)dmp_net_tcp_port(n, 0));
    uint8_t prefix[2] = {0, 40}, one = 0;
    assert_int_equal(send(fd, prefix, 2, 0), 2);
    bool closed = false;
    for (int i = 0; i < 20 && !closed; i++) {
        struct timespec ts = {0, 150 * 1000000L};
        nanosleep(&ts, NULL);
        uint8_t b[16];
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ||
            send(fd, &one, 1, MSG_NOSIGNAL) != 1) {
            closed = true;
        }
    }
    assert_true(closed);
    close(fd);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_true(st.tcp_timeouts >= 1);
    dmp_net_free(n);
}

/* Connect from a given loopback address (127.0.0.x). */
static int tcp_client_from(const char *src, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(port)};
    d.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&d, sizeof d), 0);
    return fd;
}

/* Held connections cannot lock out new TCP clients (issue 10: with every slot taken by
 * connections that sent a length prefix and nothing more, each fresh connection was reset, so
 * the TCP retry that TC answers rely on was gone). One source gets at most its share of the
 * slots, and a full table makes room by closing the longest-idle connection. */
static void test_tcp_held_slots(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_max_conns = 8;
    cfg.tcp_idle_timeout_ms = 5000;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_tcp_port(n, 0);
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x51, 0);
    uint8_t framed[66] = {0, (uint8_t)ql};
    memcpy(framed + 2, q, ql);
    int held[8];
    for (int i = 0; i < 8; i++) {
        held[i] = tcp_client_from("127.0.0.1", port);
        uint8_t prefix[2] = {0, 40};
        (void)send(held[i], prefix, 2, MSG_NOSIGNAL);
    }
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    /* another address is served */
    int fresh = tcp_client_from("127.0.0.2", port);
    assert_int_equal(send(fresh, framed, ql + 2, 0), (ssize_t)ql + 2);
    assert_int_equal(tcp_read_msg(fresh, r, sizeof r), (ssize_t)ql + 1);
    close(fresh);
    /* and so is the same address (at its share of the slots): its longest-idle held
     * connection makes room */
    int again = tcp_client_from("127.0.0.1", port);
    assert_int_equal(send(again, framed, ql + 2, 0), (ssize_t)ql + 2);
    assert_int_equal(tcp_read_msg(again, r, sizeof r), (ssize_t)ql + 1);
    close(again);
    for (int i = 0; i < 8; i++) {
        close(held[i]);
    }
    dmp_net_free(n);
}

static void test_tcp_conn_cap(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_max_conns = 2;
    cfg.tcp_max_per_source = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_tcp_port(n, 0);
    int fds[2];
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x50, 0);
    uint8_t framed[66] = {0, (uint8_t)ql};
    memcpy(framed + 2, q, ql);
    for (int i = 0; i < 2; i++) {
        fds[i] = tcp_client(AF_INET, port);
        assert_int_equal(send(fds[i], framed, ql + 2, 0), (ssize_t)ql + 2);
        assert_int_equal(tcp_read_msg(fds[i], r, sizeof r), (ssize_t)ql + 1);
    }
    /* both idle: a third connection takes the slot of the longest-idle one (RFC 7766 6.2.3) */
    int third = tcp_client(AF_INET, port);
    assert_int_equal(send(third, framed, ql + 2, 0), (ssize_t)ql + 2);
    assert_int_equal(tcp_read_msg(third, r, sizeof r), (ssize_t)ql + 1);
    assert_true(tcp_closed(fds[0]));
    close(third);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.tcp_evicted, 1);
    /* after one closes, a new connection is served */
    close(fds[0]);
    bool served = false;
    for (int attempt = 0; attempt < 20 && !served; attempt++) {
        int fd = tcp_client(AF_INET, port);
        (void)send(fd, framed, ql + 2, MSG_NOSIGNAL);
        served = tcp_read_msg(fd, r, sizeof r) == (ssize_t)ql + 1;
        close(fd);
        if (!served) {
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(served);
    close(fds[1]);
    dmp_net_free(n);
}

/* accept() failing with EMFILE (no descriptor left) must not make the frontend spin on the
 * listen socket it cannot drain: accepting pauses briefly, then resumes once descriptors are
 * free again, and the waiting clients are served. */
static void test_tcp_accept_emfile(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_tcp_port(n, 0);
    udp_roundtrip(AF_INET, (uint16_t)dmp_net_udp_port(n, 0), 1); /* frontend fully set up */
    enum { K = 3 };
    int cl[K];
    struct sockaddr_storage ss[K];
    socklen_t sl[K];
    for (int i = 0; i < K; i++) {
        cl[i] = sock_to(AF_INET, SOCK_STREAM, port, &ss[i], &sl[i]);
        assert_true(cl[i] >= 0);
    }
    /* use up every descriptor this process may open */
    struct rlimit orig, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &orig), 0);
    low = orig;
    low.rlim_cur = 256;
    if (orig.rlim_cur < 256 || setrlimit(RLIMIT_NOFILE, &low) != 0) {
        dmp_net_free(n);
        skip();
    }
    static int fill[256];
    int nfill = 0;
    for (int fd; nfill < 256 && (fd = dup(0)) >= 0;)
        fill[nfill++] = fd;
    for (int i = 0; i < K; i++) {
        assert_int_equal(connect(cl[i], (struct sockaddr *)&ss[i], sl[i]), 0);
    }
    struct timespec ts = {0, 400 * 1000000};
    nanosleep(&ts, NULL);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &orig), 0);
    print_message("accept errors in 400 ms without descriptors: %llu\n",
                  (unsigned long long)st.tcp_accept_errors);
    assert_true(st.tcp_accept_errors >= 1);
    assert_true(st.tcp_accept_errors <= 20); /* a spinning frontend makes thousands */
    /* descriptors are back: the waiting clients are accepted and served */
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x51, 0);
    uint8_t framed[66] = {0, (uint8_t)ql};
    memcpy(framed + 2, q, ql);
    for (int i = 0; i < K; i++) {
        assert_int_equal(send(cl[i], framed, ql + 2, 0), (ssize_t)ql + 2);
        assert_int_equal(tcp_read_msg(cl[i], r, sizeof r), (ssize_t)ql + 1);
        close(cl[i]);
    }
    dmp_net_free(n);
}

static void test_tcp_bad_lengths(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.tcp_max_query = 512;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_tcp_port(n, 0);
    int fd = tcp_client(AF_INET, port);
    uint8_t zero[2] = {0, 0};
    assert_int_equal(send(fd, zero, 2, 0), 2);
    assert_true(tcp_closed(fd));
    close(fd);
    fd = tcp_client(AF_INET, port);
    uint8_t big[2] = {0x03, 0xE8}; /* 1000 > tcp_max_query */
    assert_int_equal(send(fd, big, 2, 0), 2);
    assert_true(tcp_closed(fd));
    close(fd);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.tcp_bad_length, 2);
    assert_int_equal(st.queries_handled, 0);
    dmp_net_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_pipelined_and_split),
        cmocka_unit_test(test_tcp_pipeline_cap),
        cmocka_unit_test(test_tcp_nonreader_isolated),
        cmocka_unit_test(test_tcp_idle_timeout),
        cmocka_unit_test(test_tcp_slowloris),
        cmocka_unit_test(test_tcp_held_slots),
        cmocka_unit_test(test_tcp_conn_cap),
        cmocka_unit_test(test_tcp_accept_emfile),
        cmocka_unit_test(test_tcp_bad_lengths),
    };
    return net_run_backends("tcp", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
