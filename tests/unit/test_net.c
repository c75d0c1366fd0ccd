/* Tests for src/net: rings (single- and multi-threaded) and the UDP/TCP frontends on loopback
 * with a trivial handler, under both the io_uring and the recvmmsg/sendmmsg backends. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "net/ring.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------- */
/* rings */

static void test_spsc_wrap_full(void **state)
{
    (void)state;
    dmp_net_spsc_t r;
    assert_int_equal(dmp_net_spsc_init(&r, 3), DMP_EINVAL);
    assert_int_equal(dmp_net_spsc_init(&r, 4), 0);
    void *in[8], *out[8];
    for (uintptr_t i = 0; i < 8; i++) {
        in[i] = (void *)(i + 1);
    }
    bool was_empty = false;
    assert_int_equal(dmp_net_spsc_push(&r, in, 3, &was_empty), 3);
    assert_true(was_empty);
    assert_int_equal(dmp_net_spsc_push(&r, in + 3, 1, &was_empty), 1);
    assert_false(was_empty);
    /* full: nothing more fits */
    assert_int_equal(dmp_net_spsc_push(&r, in + 4, 2, &was_empty), 0);
    assert_int_equal(dmp_net_spsc_size(&r), 4);
    assert_int_equal(dmp_net_spsc_pop(&r, out, 2), 2);
    assert_ptr_equal(out[0], in[0]);
    assert_ptr_equal(out[1], in[1]);
    /* wraps around the end of the slot array; only 2 of 3 fit */
    assert_int_equal(dmp_net_spsc_push(&r, in + 4, 3, &was_empty), 2);
    assert_false(was_empty);
    assert_int_equal(dmp_net_spsc_pop(&r, out, 8), 4);
    assert_ptr_equal(out[0], in[2]);
    assert_ptr_equal(out[1], in[3]);
    assert_ptr_equal(out[2], in[4]);
    assert_ptr_equal(out[3], in[5]);
    assert_int_equal(dmp_net_spsc_pop(&r, out, 8), 0);
    assert_true(dmp_net_spsc_quiet(&r));
    assert_int_equal(dmp_net_spsc_push(&r, in + 6, 1, &was_empty), 1);
    assert_true(was_empty);
    assert_false(dmp_net_spsc_quiet(&r));
    dmp_net_spsc_destroy(&r);
}

#define SPSC_N 200000
#define RING_TEST_NS (20LL * 1000000000) /* every thread of a ring test stops by then */

/* Joins th, waiting at most until CLOCK_MONOTONIC-ns deadline_ns + 5 s (the threads stop on
 * their own by deadline_ns). false when it did not finish: the caller must then leak what the
 * thread still uses. */
static bool join_bounded(pthread_t th, int64_t deadline_ns)
{
    int64_t left = deadline_ns - dmp_monotonic_ns();
    if (left < 0)
        left = 0;
    left += 5LL * 1000000000;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + left;
    ts.tv_sec = (time_t)(t / 1000000000);
    ts.tv_nsec = (long)(t % 1000000000);
    return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

/* Shared by the SPSC test's two threads; heap-allocated so that a producer that somehow
 * outlives the test never touches a dead stack frame. */
typedef struct {
    dmp_net_spsc_t r;
    atomic_bool stop; /* set by the consumer when it gives up or is done */
    int64_t deadline_ns;
} spsc_ctx_t;

static void *spsc_producer(void *arg)
{
    spsc_ctx_t *c = arg;
    uintptr_t next = 1;
    while (next <= SPSC_N && !atomic_load(&c->stop) && dmp_monotonic_ns() < c->deadline_ns) {
        void *batch[7];
        size_t k = 0;
        while (k < 7 && next + k <= SPSC_N) {
            batch[k] = (void *)(next + k);
            k++;
        }
        size_t p = dmp_net_spsc_push(&c->r, batch, k, NULL);
        next += p;
        if (p == 0) {
            sched_yield();
        }
    }
    return NULL;
}

static void test_spsc_threads(void **state)
{
    (void)state;
    spsc_ctx_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(dmp_net_spsc_init(&c->r, 64), 0);
    atomic_init(&c->stop, false);
    c->deadline_ns = dmp_monotonic_ns() + RING_TEST_NS;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, spsc_producer, c), 0);
    uintptr_t expect = 1;
    bool in_order = true;
    /* no assert inside the loop: a failure must still stop and join the producer */
    while (in_order && expect <= SPSC_N && dmp_monotonic_ns() < c->deadline_ns) {
        void *out[16];
        size_t k = dmp_net_spsc_pop(&c->r, out, 16);
        for (size_t i = 0; i < k && in_order; i++) {
            in_order = (uintptr_t)out[i] == expect;
            expect += in_order;
        }
        if (!k) {
            sched_yield();
        }
    }
    atomic_store(&c->stop, true);
    bool joined = join_bounded(th, c->deadline_ns);
    assert_true(joined); /* on failure c is leaked: the producer may still use it */
    assert_true(in_order);
    assert_int_equal(expect, SPSC_N + 1);
    dmp_net_spsc_destroy(&c->r);
    free(c);
}

static atomic_int g_task_sum;
static void task_add(void *arg)
{
    atomic_fetch_add(&g_task_sum, (int)(intptr_t)arg);
}

static void test_mpsc_full(void **state)
{
    (void)state;
    dmp_net_mpsc_t r;
    assert_int_equal(dmp_net_mpsc_init(&r, 5), DMP_EINVAL);
    assert_int_equal(dmp_net_mpsc_init(&r, 4), 0);
    bool was_empty = false;
    assert_true(dmp_net_mpsc_quiet(&r));
    for (intptr_t i = 0; i < 4; i++) {
        assert_true(dmp_net_mpsc_push(&r, task_add, (void *)(i + 1), &was_empty));
        assert_int_equal(was_empty, i == 0);
    }
    assert_false(dmp_net_mpsc_push(&r, task_add, (void *)99, &was_empty));
    dmp_net_task_fn fn;
    void *arg;
    for (intptr_t i = 0; i < 3; i++) {
        assert_true(dmp_net_mpsc_pop(&r, &fn, &arg));
        assert_ptr_equal(fn, task_add);
        assert_int_equal((intptr_t)arg, i + 1);
    }
    /* wrap */
    assert_true(dmp_net_mpsc_push(&r, task_add, (void *)5, &was_empty));
    assert_false(was_empty);
    assert_true(dmp_net_mpsc_pop(&r, &fn, &arg));
    assert_int_equal((intptr_t)arg, 4);
    assert_true(dmp_net_mpsc_pop(&r, &fn, &arg));
    assert_int_equal((intptr_t)arg, 5);
    assert_false(dmp_net_mpsc_pop(&r, &fn, &arg));
    assert_true(dmp_net_mpsc_quiet(&r));
    dmp_net_mpsc_destroy(&r);
}

#define MPSC_P 4
#define MPSC_N 50000
typedef struct {
    dmp_net_mpsc_t *r;
    uintptr_t id;
    atomic_bool *stop;
    int64_t deadline_ns;
} mpsc_arg_t;

static void *mpsc_producer(void *arg)
{
    mpsc_arg_t *a = arg;
    for (uintptr_t i = 0;
         i < MPSC_N && !atomic_load(a->stop) && dmp_monotonic_ns() < a->deadline_ns;) {
        if (dmp_net_mpsc_push(a->r, task_add, (void *)(a->id << 32 | i), NULL)) {
            i++;
        } else {
            sched_yield();
        }
    }
    return NULL;
}

static void test_mpsc_threads(void **state)
{
    (void)state;
    /* heap-allocated and leaked if a producer cannot be joined (see test_spsc_threads) */
    typedef struct {
        dmp_net_mpsc_t r;
        atomic_bool stop;
        mpsc_arg_t args[MPSC_P];
    } mpsc_ctx_t;
    mpsc_ctx_t *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    assert_int_equal(dmp_net_mpsc_init(&c->r, 128), 0);
    atomic_init(&c->stop, false);
    int64_t deadline = dmp_monotonic_ns() + RING_TEST_NS;
    pthread_t th[MPSC_P];
    int started = 0;
    for (int p = 0; p < MPSC_P; p++) {
        c->args[p] = (mpsc_arg_t){&c->r, (uintptr_t)p, &c->stop, deadline};
        if (pthread_create(&th[p], NULL, mpsc_producer, &c->args[p]) != 0)
            break;
        started++;
    }
    uintptr_t next[MPSC_P] = {0};
    size_t got = 0;
    bool ok = started == MPSC_P;
    /* no assert inside the loop: a failure must still stop and join the producers */
    while (ok && got < (size_t)MPSC_P * MPSC_N && dmp_monotonic_ns() < deadline) {
        dmp_net_task_fn fn;
        void *arg;
        if (!dmp_net_mpsc_pop(&c->r, &fn, &arg)) {
            sched_yield();
            continue;
        }
        uintptr_t v = (uintptr_t)arg;
        uintptr_t p = v >> 32, i = v & 0xffffffffu;
        ok = p < MPSC_P && i == next[p]; /* per-producer order is kept */
        if (ok) {
            next[p]++;
            got++;
        }
    }
    atomic_store(&c->stop, true);
    bool joined = true;
    for (int p = 0; p < started; p++)
        joined = join_bounded(th[p], deadline) && joined;
    assert_true(joined); /* on failure c is leaked: a producer may still use it */
    assert_int_equal(started, MPSC_P);
    assert_true(ok);
    assert_int_equal(got, (size_t)MPSC_P * MPSC_N);
    dmp_net_mpsc_destroy(&c->r);
    free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* server tests: handler and clients */

/* Test query: a DNS query for "a." TXT whose ID's low byte picks the shard (route) and whose
 * ID high byte selects behaviour: 0xEE = handler sleeps 20 ms, 0xDD = no reply. The reply is
 * the query with QR set and one extra byte: the shard that handled it. */
typedef struct {
    _Atomic int admit_mode; /* dmp_net_admit_t */
    _Atomic int ticks;
    pthread_t shard_thread[8];
    _Atomic int shard_seen[8];
} tctx_t;

static tctx_t g_ctx;
static dmp_net_backend_t g_backend = DMP_NET_BACKEND_MMSG;
static dmp_net_t *g_net;

static void dump_stats(const char *where)
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

static int t_route(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards)
{
    (void)ctx;
    if (len < 2) {
        return -1;
    }
    return pkt[1] == 0xFF ? -1 : (int)(pkt[1] % nshards);
}

static dmp_net_admit_t t_admit(void *ctx, unsigned fe, const struct sockaddr *peer, socklen_t pl,
                               dmp_net_transport_t t)
{
    tctx_t *c = ctx;
    (void)fe;
    (void)t;
    assert_non_null(peer);
    assert_true(pl > 0);
    return (dmp_net_admit_t)atomic_load(&c->admit_mode);
}

static void t_handle(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
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

static void t_tick(void *ctx, unsigned shard)
{
    tctx_t *c = ctx;
    (void)shard;
    atomic_fetch_add(&c->ticks, 1);
}

/* Answers UDP queries whose ID high byte is 0xFA on the frontend (last byte 0xFE); 0xFB: answered
 * with nothing (no reply at all); others go to their shard. */
static bool t_frontend_answer(void *ctx, unsigned fe, const dmp_net_query_t *q, uint8_t *out,
                              size_t cap, size_t *out_len)
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

static bool g_use_fa;

static size_t make_query(uint8_t *b, uint8_t hi, uint8_t lo)
{
    static const uint8_t tmpl[] = {0, 0, 0x01, 0x00, 0,    1, 0,  0, 0, 0,
                                   0, 0, 0x01, 'a',  0x00, 0, 16, 0, 1};
    memcpy(b, tmpl, sizeof tmpl);
    b[0] = hi;
    b[1] = lo;
    return sizeof tmpl;
}

static dmp_net_t *start_server(dmp_net_config_t *cfg, bool want_v6)
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

static int sock_to(int family, int type, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl)
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

static int udp_client(int family, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = sock_to(family, SOCK_DGRAM, port, &ss, &sl);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

static int tcp_client(int family, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd = sock_to(family, SOCK_STREAM, port, &ss, &sl);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

/* recv, retried on EINTR (io_uring task work can interrupt a blocking call with a timeout). */
static ssize_t rrecv(int fd, void *b, size_t n, int flags)
{
    ssize_t r;
    do {
        r = recv(fd, b, n, flags);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* Waits up to ms for fd to become readable. */
static bool readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    do {
        r = poll(&p, 1, ms);
    } while (r < 0 && errno == EINTR);
    return r > 0;
}

static ssize_t read_full(int fd, uint8_t *b, size_t n)
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
static ssize_t tcp_read_msg(int fd, uint8_t *b, size_t cap)
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
static bool tcp_closed(int fd)
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

static void udp_roundtrip(int family, uint16_t port, unsigned nshards)
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

#define SKIP_IF_NULL(n)                                                                            \
    do {                                                                                           \
        if (!(n)) {                                                                                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void test_udp_echo(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.frontends = 2;
    cfg.shards = 3;
    dmp_net_t *n = start_server(&cfg, true);
    SKIP_IF_NULL(n);
    if (g_backend == DMP_NET_BACKEND_URING) {
        assert_int_equal(dmp_net_backend(n), DMP_NET_BACKEND_URING);
    }
    int p4 = dmp_net_udp_port(n, 0);
    assert_true(p4 > 0);
    assert_int_equal(dmp_net_tcp_port(n, 0), p4); /* same ephemeral port for UDP and TCP */
    udp_roundtrip(AF_INET, (uint16_t)p4, 3);
    if (cfg.nlisten > 1) {
        int p6 = dmp_net_udp_port(n, 1);
        assert_true(p6 > 0);
        udp_roundtrip(AF_INET6, (uint16_t)p6, 3);
    }
    /* route() = -1 goes to shard 0 */
    int fd = udp_client(AF_INET, (uint16_t)p4);
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x11, 0xFF);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    assert_int_equal(r[ql], 0);
    /* no reply when the handler gives none; the next query still works */
    ql = make_query(q, 0xDD, 1);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_false(readable(fd, 200));
    ql = make_query(q, 0x12, 1);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    close(fd);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_true(st.udp_rx >= 23);
    assert_true(st.udp_tx >= 22);
    assert_true(st.queries_handled >= 23);
    dmp_net_free(n);
}

static void test_udp_pktinfo(void **state)
{
    (void)state;
    /* the local-address path wildcard sockets use, forced on for loopback sockets */
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.udp_force_pktinfo = true;
    cfg.shards = 2;
    dmp_net_t *n = start_server(&cfg, true);
    SKIP_IF_NULL(n);
    udp_roundtrip(AF_INET, (uint16_t)dmp_net_udp_port(n, 0), 2);
    if (cfg.nlisten > 1) {
        udp_roundtrip(AF_INET6, (uint16_t)dmp_net_udp_port(n, 1), 2);
    }
    /* SLIP replies (sent by the frontend itself) carry it too */
    atomic_store(&g_ctx.admit_mode, DMP_NET_SLIP);
    int fd = udp_client(AF_INET, (uint16_t)dmp_net_udp_port(n, 0));
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x13, 0);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_true(rrecv(fd, r, sizeof r, 0) >= 12);
    assert_true(r[2] & 0x02);
    close(fd);
    dmp_net_free(n);
}

static void test_frontend_answer(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.shards = 2;
    g_use_fa = true;
    dmp_net_t *n = start_server(&cfg, false);
    g_use_fa = false;
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_udp_port(n, 0);
    int fd = udp_client(AF_INET, port);
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0xFB, 1); /* answered with nothing: no datagram comes back */
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    ql = make_query(q, 0xFA, 1);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    assert_int_equal(r[0], 0xFA);
    assert_int_equal(r[ql], 0xFE); /* by the frontend */
    ql = make_query(q, 0x14, 1);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    assert_int_equal(r[ql], 1); /* by shard 1 */
    close(fd);
    /* TCP never takes the frontend path: the shard answers 0xFA too */
    int t = tcp_client(AF_INET, port);
    uint8_t buf[64];
    ql = make_query(q, 0xFA, 0);
    buf[0] = 0;
    buf[1] = (uint8_t)ql;
    memcpy(buf + 2, q, ql);
    assert_int_equal(send(t, buf, ql + 2, 0), (ssize_t)ql + 2);
    assert_int_equal(tcp_read_msg(t, r, sizeof r), (ssize_t)ql + 1);
    assert_int_not_equal(r[ql], 0xFE);
    close(t);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.frontend_answered, 2);
    assert_int_equal(st.queries_handled, 2);
    assert_int_equal(st.udp_tx, 2);
    dmp_net_free(n);
}

static void test_udp_oversize_dropped(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.udp_max_payload = 512;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    int fd = udp_client(AF_INET, (uint16_t)dmp_net_udp_port(n, 0));
    uint8_t big[600];
    size_t ql = make_query(big, 0x10, 0);
    memset(big + ql, 0, sizeof big - ql);
    assert_int_equal(send(fd, big, sizeof big, 0), (ssize_t)sizeof big);
    assert_false(readable(fd, 300));
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.udp_dropped, 1);
    assert_int_equal(st.queries_handled, 0);
    /* still serving */
    assert_int_equal(send(fd, big, ql, 0), (ssize_t)ql);
    uint8_t r[128];
    assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    close(fd);
    dmp_net_free(n);
}

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

static void test_admit_drop_and_slip(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    uint16_t port = (uint16_t)dmp_net_udp_port(n, 0);
    int fd = udp_client(AF_INET, port);
    uint8_t q[64], r[128];
    size_t ql = make_query(q, 0x40, 1);
    atomic_store(&g_ctx.admit_mode, DMP_NET_DROP);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    assert_false(readable(fd, 300));
    /* SLIP: a TC=1 stub comes back from the frontend without reaching a shard */
    atomic_store(&g_ctx.admit_mode, DMP_NET_SLIP);
    assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    ssize_t rl = rrecv(fd, r, sizeof r, 0);
    assert_true(rl >= 12);
    assert_int_equal(r[0], 0x40);
    assert_int_equal(r[1], 1);
    assert_true(r[2] & 0x80); /* QR */
    assert_true(r[2] & 0x02); /* TC */
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.admit_drops, 1);
    assert_int_equal(st.slips, 1);
    assert_int_equal(st.queries_handled, 0);
    /* TCP + DROP: the connection is closed without an answer */
    atomic_store(&g_ctx.admit_mode, DMP_NET_DROP);
    int tfd = tcp_client(AF_INET, (uint16_t)dmp_net_tcp_port(n, 0));
    uint8_t framed[66] = {0, (uint8_t)ql};
    memcpy(framed + 2, q, ql);
    assert_int_equal(send(tfd, framed, ql + 2, 0), (ssize_t)ql + 2);
    assert_true(tcp_closed(tfd));
    close(tfd);
    close(fd);
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

static void test_ring_full_drops(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.ring_capacity = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    int fd = udp_client(AF_INET, (uint16_t)dmp_net_udp_port(n, 0));
    uint8_t q[64];
    size_t ql = make_query(q, 0xEE, 0); /* each takes the shard 20 ms */
    for (int i = 0; i < 40; i++) {
        q[1] = (uint8_t)(i * 2); /* all to shard 0 (nshards = 1) */
        assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
    }
    unsigned replies = 0;
    uint8_t r[128];
    while (readable(fd, 500)) {
        if (rrecv(fd, r, sizeof r, 0) > 0) {
            replies++;
        }
    }
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_true(st.ring_full_drops > 0);
    assert_int_equal(replies + st.ring_full_drops, 40);
    assert_int_equal(st.queries_handled, replies);
    assert_true(st.ring_depth_max <= 2);
    close(fd);
    dmp_net_free(n);
}

typedef struct {
    pthread_t th;
    unsigned shard;
    _Atomic int done;
} sub_t;

static void sub_task(void *arg)
{
    sub_t *s = arg;
    s->th = pthread_self();
    atomic_store(&s->done, 1);
}

static void test_submit_and_tick(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.shards = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    /* learn each shard's thread through a query routed to it */
    int fd = udp_client(AF_INET, (uint16_t)dmp_net_udp_port(n, 0));
    for (uint8_t s = 0; s < 2; s++) {
        uint8_t q[64], r[128];
        size_t ql = make_query(q, 0x60, s);
        assert_int_equal(send(fd, q, ql, 0), (ssize_t)ql);
        assert_int_equal(rrecv(fd, r, sizeof r, 0), (ssize_t)ql + 1);
    }
    close(fd);
    assert_int_equal(dmp_net_submit(n, 2, sub_task, NULL), DMP_EINVAL);
    sub_t subs[2];
    for (unsigned s = 0; s < 2; s++) {
        memset(&subs[s], 0, sizeof subs[s]);
        assert_int_equal(dmp_net_submit(n, s, sub_task, &subs[s]), 0);
    }
    for (int i = 0; i < 200 && !(atomic_load(&subs[0].done) && atomic_load(&subs[1].done)); i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    for (unsigned s = 0; s < 2; s++) {
        assert_true(atomic_load(&subs[s].done));
        assert_true(pthread_equal(subs[s].th, g_ctx.shard_thread[s]));
    }
    assert_false(pthread_equal(subs[0].th, subs[1].th));
    /* idle shards tick about every 100 ms */
    int t0 = atomic_load(&g_ctx.ticks);
    for (int i = 0; i < 300 && atomic_load(&g_ctx.ticks) <= t0 + 2; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_true(atomic_load(&g_ctx.ticks) > t0 + 2);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_int_equal(st.tasks_run, 2);
    dmp_net_stop(n);
    dmp_net_stop(n); /* idempotent */
    assert_int_equal(dmp_net_submit(n, 0, sub_task, &subs[0]), DMP_NET_ESTOPPED);
    dmp_net_free(n);
}

static _Atomic int g_gate, g_gated_runs;

static void gate_task(void *arg)
{
    (void)arg;
    for (int i = 0; i < 500 && !atomic_load(&g_gate); i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&g_gated_runs, 1);
}

static void test_submit_full(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.task_ring_capacity = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    atomic_store(&g_gate, 0);
    atomic_store(&g_gated_runs, 0);
    /* the first task holds the shard; the ring then takes 2 more and refuses the next */
    assert_int_equal(dmp_net_submit(n, 0, gate_task, NULL), 0);
    int accepted = 1, full = 0;
    for (int i = 0; i < 200 && !full; i++) {
        int rc = dmp_net_submit(n, 0, gate_task, NULL);
        if (rc == DMP_EFULL) {
            full = 1;
        } else {
            assert_int_equal(rc, 0);
            accepted++;
            struct timespec ts = {0, 5 * 1000000};
            nanosleep(&ts, NULL); /* let the shard pick up the first one */
        }
    }
    assert_true(full);
    assert_true(accepted <= 3);
    atomic_store(&g_gate, 1);
    for (int i = 0; i < 300 && atomic_load(&g_gated_runs) < accepted; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(atomic_load(&g_gated_runs), accepted);
    dmp_net_free(n);
}

typedef struct {
    uint16_t port;
    _Atomic int stop;
    unsigned sent;
} blaster_t;

static void *blaster(void *arg)
{
    blaster_t *b = arg;
    int fd = udp_client(AF_INET, b->port);
    int tfd = tcp_client(AF_INET, b->port);
    uint8_t q[64], framed[66];
    size_t ql = make_query(q, 0x70, 0);
    framed[0] = 0;
    framed[1] = (uint8_t)ql;
    memcpy(framed + 2, q, ql);
    for (unsigned i = 0; i < 200000 && !atomic_load(&b->stop); i++) {
        q[1] = (uint8_t)i;
        (void)send(fd, q, ql, MSG_DONTWAIT);
        if (i % 16 == 0) {
            (void)send(tfd, framed, ql + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        b->sent++;
        uint8_t r[128];
        while (recv(fd, r, sizeof r, MSG_DONTWAIT) > 0) {
        }
        while (recv(tfd, r, sizeof r, MSG_DONTWAIT) > 0) {
        }
    }
    close(fd);
    close(tfd);
    return NULL;
}

static void test_stop_with_traffic(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.frontends = 2;
    cfg.shards = 2;
    dmp_net_t *n = start_server(&cfg, false);
    SKIP_IF_NULL(n);
    blaster_t b = {.port = (uint16_t)dmp_net_udp_port(n, 0)};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blaster, &b), 0);
    struct timespec ts = {0, 300 * 1000000};
    nanosleep(&ts, NULL);
    dmp_net_stop(n); /* from another thread than the client, with queries in flight */
    atomic_store(&b.stop, 1);
    pthread_join(th, NULL);
    dmp_net_stats_t st;
    dmp_net_stats(n, &st);
    assert_true(st.udp_rx > 0);
    assert_true(st.queries_handled > 0);
    dmp_net_free(n);
}

static void test_bad_config(void **state)
{
    (void)state;
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    dmp_net_handler_t h = {.handle = t_handle, .ctx = &g_ctx};
    dmp_net_t *n = NULL;
    char err[128];
    assert_int_equal(dmp_net_start(&cfg, &h, &n, err, sizeof err), DMP_EINVAL); /* no listen */
    dmp_net_config_add_listen(&cfg, "localhost", 0);
    assert_int_equal(dmp_net_start(&cfg, &h, &n, err, sizeof err), DMP_NET_EADDR);
    cfg.nlisten = 0;
    dmp_net_config_add_listen(&cfg, "127.0.0.1", 0);
    cfg.ring_capacity = 100;
    assert_int_equal(dmp_net_start(&cfg, &h, &n, err, sizeof err), DMP_EINVAL);
    assert_null(n);
    assert_non_null(strstr(err, "ring_capacity"));
    dmp_net_free(NULL);
}

static int set_mmsg(void **state)
{
    (void)state;
    g_backend = DMP_NET_BACKEND_MMSG;
    return 0;
}

static int set_uring(void **state)
{
    (void)state;
    g_backend = DMP_NET_BACKEND_URING;
    return 0;
}

#define SERVER_TESTS                                                                               \
    cmocka_unit_test(test_udp_echo), cmocka_unit_test(test_udp_oversize_dropped),                  \
        cmocka_unit_test(test_udp_pktinfo), cmocka_unit_test(test_frontend_answer),                \
        cmocka_unit_test(test_tcp_pipelined_and_split), cmocka_unit_test(test_tcp_pipeline_cap),   \
        cmocka_unit_test(test_tcp_nonreader_isolated), cmocka_unit_test(test_admit_drop_and_slip), \
        cmocka_unit_test(test_tcp_idle_timeout), cmocka_unit_test(test_tcp_slowloris),             \
        cmocka_unit_test(test_tcp_held_slots), cmocka_unit_test(test_tcp_conn_cap),                \
        cmocka_unit_test(test_tcp_bad_lengths), cmocka_unit_test(test_tcp_accept_emfile),          \
        cmocka_unit_test(test_ring_full_drops), cmocka_unit_test(test_submit_and_tick),            \
        cmocka_unit_test(test_submit_full), cmocka_unit_test(test_stop_with_traffic)

int main(void)
{
    dmp_log_set_level(DMP_LOG_WARN);
    if (getenv("NET_TEST_FILTER")) {
        cmocka_set_test_filter(getenv("NET_TEST_FILTER"));
    }
    const struct CMUnitTest rings[] = {
        cmocka_unit_test(test_spsc_wrap_full), cmocka_unit_test(test_spsc_threads),
        cmocka_unit_test(test_mpsc_full),      cmocka_unit_test(test_mpsc_threads),
        cmocka_unit_test(test_bad_config),
    };
    const struct CMUnitTest mmsg[] = {SERVER_TESTS};
    const struct CMUnitTest uring[] = {SERVER_TESTS};
    int fails = cmocka_run_group_tests_name("rings", rings, NULL, NULL);
    fails += cmocka_run_group_tests_name("backend_mmsg", mmsg, set_mmsg, NULL);
    fails += cmocka_run_group_tests_name("backend_io_uring", uring, set_uring, NULL);
    return fails ? 1 : 0;
}
