/* Shared by the test_net_* unit tests: see net_harness.h. */
#include "net_harness.h"

tctx_t g_ctx;
dmp_net_backend_t g_backend = DMP_NET_BACKEND_MMSG;
dmp_net_t *g_net;

void dump_stats(const char *where)
{
    if (!g_net) {
        return;
    }
    dmp_net_stats_t st;
    dmp_net_stats(g_net, &st);
    print_message("%s: udp rx %lu tx %lu drop %lu | tcp acc %lu rej %lu rx %lu tx %lu | handled "
                  "%lu ringfull %lu depth now %lu\n",
                  where, (unsigned long)st.udp_rx, (unsigned long)st.udp_tx,
                  (unsigned long)st.udp_dropped, (unsigned long)st.tcp_accepted,
                  (unsigned long)st.tcp_rejected, (unsigned long)st.tcp_rx,
                  (unsigned long)st.tcp_tx, (unsigned long)st.queries_handled,
                  (unsigned long)st.ring_full_drops, (unsigned long)st.ring_depth_now);
}

int t_route(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards)
{
    (void)ctx;
    if (len < 2) {
        return -1;
    }
    return pkt[1] == 0xFF ? -1 : (int)(pkt[1] % nshards);
}

dmp_net_admit_t t_admit(void *ctx, unsigned fe, const struct sockaddr *peer, socklen_t pl,
                        dmp_net_transport_t t)
{
    tctx_t *c = ctx;
    (void)fe;
    (void)t;
    assert_non_null(peer);
    assert_true(pl > 0);
    return (dmp_net_admit_t)atomic_load(&c->admit_mode);
}

void t_handle(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
              size_t *out_len)
{
    tctx_t *c = ctx;
    if (shard < 8) {
        c->shard_thread[shard] = pthread_self();
        atomic_store(&c->shard_seen[shard], 1);
    }
    *out_len = 0;
    if (q->len < 2 || q->len + 1 > cap) {
        return;
    }
    if (q->pkt[0] == 0xEE) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    if (q->pkt[0] == 0xDD) {
        return;
    }
    memcpy(out, q->pkt, q->len);
    if (q->len > 2) {
        out[2] |= 0x80;
    }
    out[q->len] = (uint8_t)shard;
    *out_len = q->len + 1;
}

int t_tick(void *ctx, unsigned shard)
{
    tctx_t *c = ctx;
    (void)shard;
    atomic_fetch_add(&c->ticks, 1);
    int again = atomic_load(&c->tick_again_ms);
    return again > 0 ? again : -1;
}

/* Answers UDP queries whose ID high byte is 0xFA on the frontend (last byte 0xFE); 0xFB: answered
 * with nothing (no reply at all); others go to their shard. */
bool t_frontend_answer(void *ctx, unsigned fe, const dmp_net_query_t *q, uint8_t *out, size_t cap,
                       size_t *out_len)
{
    (void)ctx;
    (void)fe;
    assert_true(q->transport == DMP_NET_UDP); /* never called for TCP */
    if (q->len < 2 || q->len + 1 > cap || (q->pkt[0] != 0xFA && q->pkt[0] != 0xFB)) {
        return false;
    }
    *out_len = 0;
    if (q->pkt[0] == 0xFA) {
        memcpy(out, q->pkt, q->len);
        out[q->len] = 0xFE;
        *out_len = q->len + 1;
    }
    return true;
}

bool g_use_fa;

size_t make_query(uint8_t *b, uint8_t hi, uint8_t lo)
{
    static const uint8_t tmpl[] = {0, 0, 0x01, 0x00, 0,    1, 0,  0, 0, 0,
                                   0, 0, 0x01, 'a',  0x00, 0, 16, 0, 1};
    memcpy(b, tmpl, sizeof tmpl);
    b[0] = hi;
    b[1] = lo;
    return sizeof tmpl;
}

dmp_net_t *start_server(dmp_net_config_t *cfg, bool want_v6)
{
    memset(&g_ctx, 0, sizeof g_ctx);
    cfg->backend = g_backend;
    if (cfg->nlisten == 0) {
        dmp_net_config_add_listen(cfg, "127.0.0.1", 0);
        if (want_v6) {
            dmp_net_config_add_listen(cfg, "::1", 0);
        }
    }
    dmp_net_handler_t h = {
        .route = t_route, .admit = t_admit, .handle = t_handle, .tick = t_tick, .ctx = &g_ctx};
    if (g_use_fa) {
        h.frontend_answer = t_frontend_answer;
    }
    dmp_net_t *n = NULL;
    char err[256];
    int rc = dmp_net_start(cfg, &h, &n, err, sizeof err);
    if (rc != 0 && want_v6) {
        /* no IPv6 loopback here: retry IPv4 only */
        cfg->nlisten = 1;
        rc = dmp_net_start(cfg, &h, &n, err, sizeof err);
    }
    if (rc == DMP_EUNSUPPORTED) {
        print_message("io_uring backend unavailable: %s\n", err);
        return NULL;
    }
    if (rc != 0) {
        fail_msg("dmp_net_start: %s", err);
    }
    g_net = n;
    return n;
}

int sock_to(int family, int type, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_loopback;
        *sl = sizeof *a;
    }
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

int udp_client(int family, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = sock_to(family, SOCK_DGRAM, port, &ss, &sl);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

int tcp_client(int family, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = sock_to(family, SOCK_STREAM, port, &ss, &sl);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

/* recv, retried on EINTR (io_uring task work can interrupt a blocking call with a timeout). */
ssize_t rrecv(int fd, void *b, size_t n, int flags)
{
    ssize_t r;
    do {
        r = recv(fd, b, n, flags);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* Waits up to ms for fd to become readable. */
bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do {
        r = poll(&p, 1, ms);
    } while (r < 0 && errno == EINTR);
    return r > 0;
}

ssize_t read_full(int fd, uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, b + got, n - got, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r < 0 ? -1 : (ssize_t)got;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Reads one framed TCP reply into b (cap), returns its length or -1. */
ssize_t tcp_read_msg(int fd, uint8_t *b, size_t cap)
{
    uint8_t hdr[2];
    if (read_full(fd, hdr, 2) != 2) {
        dump_stats("tcp_read_msg");
        return -1;
    }
    size_t l = (size_t)hdr[0] << 8 | hdr[1];
    if (l > cap || read_full(fd, b, l) != (ssize_t)l) {
        dump_stats("tcp_read_msg body");
        return -1;
    }
    return (ssize_t)l;
}

/* true when the peer closed (EOF or reset) within ~3 s */
bool tcp_closed(int fd)
{
    uint8_t b[256];
    for (int i = 0; i < 30; i++) {
        if (!readable(fd, 100)) {
            continue;
        }
        ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            return true;
        }
    }
    return false;
}

void udp_roundtrip(int family, uint16_t port, unsigned nshards)
{
    int fd = udp_client(family, port);
    for (unsigned i = 0; i < 20; i++) {
        uint8_t q[64], r[128];
        size_t ql = make_query(q, 0x10, (uint8_t)i);
        assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
        ssize_t rl = rrecv(fd, r, sizeof r, 0);
        if (rl != (ssize_t)ql + 1) {
            dump_stats("udp_roundtrip");
        }
        assert_int_equal(rl, (ssize_t)ql + 1);
        assert_int_equal(r[0], 0x10);
        assert_int_equal(r[1], (uint8_t)i);
        assert_true(r[2] & 0x80);
        assert_memory_equal(r + 3, q + 3, ql - 3);
        assert_int_equal(r[ql], i % nshards); /* handled by the shard route() chose */
    }
    close(fd);
}

int net_set_mmsg(void **state)
{
    (void)state;
    g_backend = DMP_NET_BACKEND_MMSG;
    return 0;
}

int net_set_uring(void **state)
{
    (void)state;
    g_backend = DMP_NET_BACKEND_URING;
    return 0;
}

int net_run_backends(const char *name, const struct CMUnitTest *tests, size_t n)
{
    dmp_log_set_level(DMP_LOG_WARN);
    if (getenv("NET_TEST_FILTER")) {
        cmocka_set_test_filter(getenv("NET_TEST_FILTER"));
    }
    char g[64];
    snprintf(g, sizeof g, "%s_mmsg", name);
    int fails = _cmocka_run_group_tests(g, tests, n, net_set_mmsg, NULL);
    snprintf(g, sizeof g, "%s_io_uring", name);
    fails += _cmocka_run_group_tests(g, tests, n, net_set_uring, NULL);
    return fails;
}
