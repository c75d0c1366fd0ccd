/* Tests for src/net: the UDP frontends, admission, frontend answers and the shard rings, on
 * loopback with the trivial handler of net_harness.c, under both the io_uring and the
 * recvmmsg/sendmmsg backends. */
#include "net_harness.h"

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

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* A server on 127.0.0.1 with one shard and the defaults (start_server copies the config). */
static dmp_net_t *start_one_shard(void)
{
    dmp_net_config_t cfg;
    dmp_net_config_default(&cfg);
    cfg.shards = 1;
    return start_server(&cfg, false);
}

/* A tick that asks to run again after 2 ms is run again by then although nothing arrives (the
 * shard's wait honours it: the node's write window), instead of every ~100 ms. */
static void test_tick_asks_again(void **state)
{
    (void)state;
    dmp_net_t *n = start_one_shard();
    SKIP_IF_NULL(n);
    atomic_store(&g_ctx.tick_again_ms, 2);
    int t0 = atomic_load(&g_ctx.ticks);
    sleep_ms(400);
    int asked = atomic_load(&g_ctx.ticks) - t0;
    atomic_store(&g_ctx.tick_again_ms, 0);
    sleep_ms(150); /* the last asked-for tick has run: from here on every ~100 ms */
    t0 = atomic_load(&g_ctx.ticks);
    sleep_ms(400);
    int idle = atomic_load(&g_ctx.ticks) - t0;
    dmp_net_stop(n);
    dmp_net_free(n);
    /* ~200 and ~4 on a quiet machine; the bounds leave room for a loaded one */
    assert_true(asked >= 20);
    assert_true(idle <= 8);
}

/* After dmp_net_wakeups_defer(true) a submitted task waits (the shard sleeps until its next ~100 ms
 * tick) until dmp_net_wakeups_flush wakes the shard. Submitted right after a tick, so that
 * only a flush can run it within the next ~70 ms. */
static void test_submit_wakeups_deferred(void **state)
{
    (void)state;
    dmp_net_t *n = start_one_shard();
    SKIP_IF_NULL(n);
    sub_t sub[2];
    memset(sub, 0, sizeof sub);
    int t0 = atomic_load(&g_ctx.ticks);
    for (int i = 0; i < 300 && atomic_load(&g_ctx.ticks) == t0; i++)
        sleep_ms(1);
    dmp_net_wakeups_defer(true);
    assert_int_equal(dmp_net_submit(n, 0, sub_task, &sub[0]), 0);
    assert_int_equal(dmp_net_submit(n, 0, sub_task, &sub[1]), 0);
    sleep_ms(25);
    assert_false(atomic_load(&sub[0].done));
    int64_t f0 = dmp_monotonic_ns();
    dmp_net_wakeups_flush();
    for (int i = 0; i < 2000 && !atomic_load(&sub[1].done); i++)
        sleep_ms(1);
    assert_true(atomic_load(&sub[0].done) && atomic_load(&sub[1].done));
    assert_true(dmp_monotonic_ns() - f0 < 40 * 1000000LL); /* the flush woke it, not a tick */
    /* deferral off: the next submit wakes the shard at once */
    dmp_net_wakeups_defer(false);
    memset(sub, 0, sizeof sub);
    t0 = atomic_load(&g_ctx.ticks);
    for (int i = 0; i < 300 && atomic_load(&g_ctx.ticks) == t0; i++)
        sleep_ms(1);
    f0 = dmp_monotonic_ns();
    assert_int_equal(dmp_net_submit(n, 0, sub_task, &sub[0]), 0);
    for (int i = 0; i < 2000 && !atomic_load(&sub[0].done); i++)
        sleep_ms(1);
    assert_true(atomic_load(&sub[0].done));
    assert_true(dmp_monotonic_ns() - f0 < 40 * 1000000LL);
    dmp_net_stop(n);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_echo),
        cmocka_unit_test(test_udp_pktinfo),
        cmocka_unit_test(test_frontend_answer),
        cmocka_unit_test(test_udp_oversize_dropped),
        cmocka_unit_test(test_admit_drop_and_slip),
        cmocka_unit_test(test_ring_full_drops),
        cmocka_unit_test(test_submit_and_tick),
        cmocka_unit_test(test_submit_wakeups_deferred),
        cmocka_unit_test(test_tick_asks_again),
        cmocka_unit_test(test_submit_full),
        cmocka_unit_test(test_stop_with_traffic),
    };
    return net_run_backends("udp", tests, sizeof tests / sizeof tests[0]) ? 1 : 0;
}
