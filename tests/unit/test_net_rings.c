/* Tests for src/net: the SPSC and MPSC rings (single- and multi-threaded) and config checks. */
#include "net_harness.h"
#include "net/net_internal.h"

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

/* When a frontend pushes its queued UDP replies out mid-batch: after 64 replies or once the
 * oldest waited 400 µs (a batch of store-read misses at ~10 µs each pushes every ~30 answers,
 * one wake-up of the client's reader per push), never with nothing queued. */
static void test_send_due(void **state)
{
    (void)state;
    assert_false(dmp_net_send_due(0, 10 * 1000 * 1000));
    assert_false(dmp_net_send_due(1, 0));
    assert_false(dmp_net_send_due(32, 100 * 1000)); /* 32 misses' worth: keep going */
    assert_false(dmp_net_send_due(63, 399 * 1000));
    assert_true(dmp_net_send_due(64, 0));
    assert_true(dmp_net_send_due(1, 400 * 1000));
    assert_true(dmp_net_send_due(5, 2 * 1000 * 1000));
}

int main(void)
{
    dmp_log_set_level(DMP_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spsc_wrap_full), cmocka_unit_test(test_spsc_threads),
        cmocka_unit_test(test_mpsc_full),      cmocka_unit_test(test_mpsc_threads),
        cmocka_unit_test(test_bad_config),     cmocka_unit_test(test_send_due),
    };
    return cmocka_run_group_tests_name("rings", tests, NULL, NULL) ? 1 : 0;
}
