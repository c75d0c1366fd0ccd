/* Unit tests for the node core on threads: background threads, and the core with a threaded fake
 * executor (single- and multi-shard transactions, hand-off failure, frontends answering from the
 * shards' caches while writes go on). */
#include "node_core_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/resource.h>

/* ---- background threads ---- */
static _Atomic int g_ticks;

static void count_tick(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&g_ticks, 1);
}

static void wait_ticks(int want)
{
    for (int i = 0; i < 5000 && atomic_load(&g_ticks) < want; i++)
        usleep(1000);
}

static void t_bgthread(void **state)
{
    (void)state;
    atomic_store(&g_ticks, 0);
    dmp_node_bgthread_t b = {.name = "t", .interval_s = 0, .tick = count_tick};
    assert_int_equal(dmp_node_bgthread_start(&b), 0);
    assert_int_equal(atomic_load(&g_ticks), 0); /* interval 0: only kicks */
    dmp_node_bgthread_kick(&b);
    wait_ticks(1);
    assert_int_equal(atomic_load(&g_ticks), 1);
    dmp_node_bgthread_stop(&b);
    dmp_node_bgthread_stop(&b); /* idempotent */
    assert_int_equal(atomic_load(&g_ticks), 1);
    /* tick_on_stop: one more after stop */
    b = (dmp_node_bgthread_t){.interval_s = 3600, .tick = count_tick, .tick_on_stop = true};
    assert_int_equal(dmp_node_bgthread_start(&b), 0);
    dmp_node_bgthread_stop(&b);
    assert_int_equal(atomic_load(&g_ticks), 2);
    /* a short interval ticks by itself */
    b = (dmp_node_bgthread_t){.interval_s = 0.001, .tick = count_tick};
    assert_int_equal(dmp_node_bgthread_start(&b), 0);
    wait_ticks(5);
    dmp_node_bgthread_stop(&b);
    assert_true(atomic_load(&g_ticks) >= 5);
    dmp_node_bgthread_t bad = {.interval_s = 1};
    assert_int_equal(dmp_node_bgthread_start(&bad), DMP_EINVAL);
}

/* A background thread's tick sees its own policy and nice value. */
static _Atomic int g_policy = -1, g_nice = -100;

static void sched_tick(void *ctx)
{
    (void)ctx;
    atomic_store(&g_policy, sched_getscheduler(0));
    errno = 0;
    atomic_store(&g_nice, getpriority(PRIO_PROCESS, (id_t)gettid()));
    atomic_fetch_add(&g_ticks, 1);
}

static void *lowered_main(void *arg)
{
    (void)arg;
    dmp_node_background_thread();
    dmp_node_background_thread(); /* once: a second call changes nothing */
    sched_tick(NULL);
    return NULL;
}

static void t_bgthread_sched(void **state)
{
    (void)state;
    int policy0 = sched_getscheduler(0); /* SCHED_OTHER unless run under chrt */
    /* nice > 0: SCHED_BATCH (a waking write thread does not preempt the query path), at nice */
    atomic_store(&g_ticks, 0);
    dmp_node_bgthread_t b = {.name = "t", .interval_s = 0, .tick = sched_tick, .nice = 13};
    assert_int_equal(dmp_node_bgthread_start(&b), 0);
    dmp_node_bgthread_kick(&b);
    wait_ticks(1);
    dmp_node_bgthread_stop(&b);
    assert_int_equal(atomic_load(&g_policy), SCHED_BATCH);
    assert_int_equal(atomic_load(&g_nice), 13);
    /* nice 0: left as it was */
    atomic_store(&g_ticks, 0);
    b = (dmp_node_bgthread_t){.name = "t", .interval_s = 0, .tick = sched_tick};
    assert_int_equal(dmp_node_bgthread_start(&b), 0);
    dmp_node_bgthread_kick(&b);
    wait_ticks(1);
    dmp_node_bgthread_stop(&b);
    assert_int_equal(atomic_load(&g_policy), policy0);
    assert_int_equal(atomic_load(&g_nice), getpriority(PRIO_PROCESS, 0));
    /* the HTTP and MHD threads' call */
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, lowered_main, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&g_policy), SCHED_BATCH);
    assert_int_equal(atomic_load(&g_nice), 13);
    assert_int_equal(sched_getscheduler(0), policy0); /* the caller is untouched */
}

/* ---- the core with a threaded fake executor: one thread and FIFO per shard ---- */
#define NSH 4

typedef struct task {
    void (*fn)(void *);
    void *arg;
    struct task *next;
} task_t;

typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    task_t *head, *tail;
    bool stop;
} fshard_t;

typedef struct {
    fshard_t sh[NSH];
    int fail_shard; /* -1 = none: submissions to it fail (ring full) */
    dmp_node_core_t *core;
    int delay_us; /* after each submission: lets the shards arrive before the submitter */
} fexec_t;

static fexec_t *g_ex;

static void *fshard_main(void *arg)
{
    fshard_t *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (!s->head)
            break;
        task_t *t = s->head;
        s->head = t->next;
        if (!s->head)
            s->tail = NULL;
        pthread_mutex_unlock(&s->mu);
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&s->mu);
        if (!s->head && g_ex->core) { /* end of a drain, as net calls tick */
            pthread_mutex_unlock(&s->mu);
            dmp_node_core_tick(g_ex->core, (unsigned)(s - g_ex->sh));
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int fexec_submit(void *ctx, unsigned shard, void (*fn)(void *), void *arg)
{
    fexec_t *e = ctx;
    if ((int)shard == e->fail_shard)
        return DMP_EFULL;
    fshard_t *s = &e->sh[shard];
    task_t *t = calloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&s->mu);
    if (s->tail)
        s->tail->next = t;
    else
        s->head = t;
    s->tail = t;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (e->delay_us)
        usleep((useconds_t)e->delay_us);
    return 0;
}

static void fexec_start(fexec_t *e)
{
    memset(e, 0, sizeof(*e));
    e->fail_shard = -1;
    g_ex = e;
    for (int i = 0; i < NSH; i++) {
        pthread_mutex_init(&e->sh[i].mu, NULL);
        pthread_cond_init(&e->sh[i].cv, NULL);
        pthread_create(&e->sh[i].th, NULL, fshard_main, &e->sh[i]);
    }
}

static void fexec_stop(fexec_t *e)
{
    for (int i = 0; i < NSH; i++) {
        pthread_mutex_lock(&e->sh[i].mu);
        e->sh[i].stop = true;
        pthread_cond_signal(&e->sh[i].cv);
        pthread_mutex_unlock(&e->sh[i].mu);
        pthread_join(e->sh[i].th, NULL);
    }
}

typedef struct {
    _Atomic int done;
    _Atomic int errors;
} waitgrp_t;

static void wg_done(dmp_node_txn_t *t)
{
    waitgrp_t *w = t->ctx;
    if (t->result != 0)
        atomic_fetch_add(&w->errors, 1);
    atomic_fetch_add(&w->done, 1);
}

static void wg_wait(waitgrp_t *w, int n)
{
    for (int i = 0; i < 20000 && atomic_load(&w->done) < n; i++)
        usleep(500);
    assert_int_equal(atomic_load(&w->done), n);
}

/* Two names on different shards. */
static void two_names(dmp_node_core_t *c, char a[32], char b[32])
{
    strcpy(a, "n0.zone.test");
    unsigned sa = dmp_node_core_shard_of(c, a, strlen(a));
    for (int i = 1; i < 100; i++) {
        snprintf(b, 32, "n%d.zone.test", i);
        if (dmp_node_core_shard_of(c, b, strlen(b)) != sa)
            return;
    }
    fail();
}

typedef struct {
    dmp_node_core_t *c;
    int id;
    waitgrp_t *wg;
} hammer_t;

static void *hammer(void *arg)
{
    hammer_t *h = arg;
    enum { N = 50 };
    dmp_node_change_t *ch = calloc(N * 3, sizeof(*ch));
    dmp_node_txn_t *t = calloc(N, sizeof(*t));
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 3; k++) {
            char nm[64];
            snprintf(nm, sizeof(nm), "h%d-%d-%d.zone.test", h->id, i, k);
            dmp_node_change_set(&ch[i * 3 + k], DMP_NODE_CH_PUT, nm, strlen(nm),
                                (const uint8_t *)"v", 1, 60);
        }
        t[i] = (dmp_node_txn_t){.changes = &ch[i * 3], .n = 3, .done = wg_done, .ctx = h->wg};
        while (dmp_node_apply(h->c, &t[i]) != 0)
            usleep(100);
    }
    wg_wait(h->wg, N);
    free(ch);
    free(t);
    return NULL;
}

static void t_core(void **state)
{
    (void)state;
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, NSH), 0);
    dmp_node_config_t cfg = {0};
    cfg.served_zone = "zone.test";
    cfg.dns_ttl = 60;
    cfg.cache_mb = 4;
    dmp_node_core_t *c = NULL;
    dmp_node_core_opts_t o = {
        .cfg = &cfg, .store = ts.s, .nshards = NSH, .shard_st = m.t, .now_ms = fake_now};
    assert_int_equal(dmp_node_core_new(&o, &c), 0);
    dmp_node_txn_t t0 = {0};
    assert_int_equal(dmp_node_apply(c, &t0), DMP_EINVAL); /* no executor, no changes */
    fexec_t ex;
    fexec_start(&ex);
    ex.core = c;
    dmp_node_core_set_exec(c, fexec_submit, &ex);
    uint32_t serial0 = dmp_node_core_serial(c);

    /* single-shard */
    waitgrp_t wg = {0};
    dmp_node_change_t ch[4];
    mk(&ch[0], DMP_NODE_CH_PUT, "One.Zone.Test", "v1");
    dmp_node_txn_t t = {.changes = ch, .n = 1, .done = wg_done, .ctx = &wg};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(&wg, 1);
    assert_int_equal(t.result, 0);
    assert_true(has(ts.s, "one.zone.test", "v1"));
    assert_true(dmp_node_core_wal_syncs(c) >= 1); /* acknowledged after a WAL sync */

    /* multi-shard, all or nothing: the second name is over its cap */
    char a[32], b[32];
    two_names(c, a, b);
    assert_int_equal(dmp_store_put(ts.s, b, strlen(b), (const uint8_t *)"x", 1, 60, g_now), 0);
    mk(&ch[0], DMP_NODE_CH_PUT, a, "va");
    mk(&ch[1], DMP_NODE_CH_PUT, b, "vb");
    t = (dmp_node_txn_t){.changes = ch, .n = 2, .cap = 1, .done = wg_done, .ctx = &wg};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(&wg, 2);
    assert_int_equal(t.result, DMP_EFULL);
    assert_int_equal(t.failed, 1);
    assert_false(has(ts.s, a, "va"));
    /* and without the cap both land */
    t.cap = 0;
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(&wg, 3);
    assert_int_equal(t.result, 0);
    assert_true(has(ts.s, a, "va") && has(ts.s, b, "vb"));
    assert_true(dmp_node_core_serial(c) >= serial0);

    /* the submitter arriving last hands the work to a parked shard: same result */
    ex.delay_us = 20000;
    mk(&ch[0], DMP_NODE_CH_PUT, a, "late-submitter");
    mk(&ch[1], DMP_NODE_CH_DEL_VALUE, b, "vb");
    t = (dmp_node_txn_t){.changes = ch, .n = 2, .done = wg_done, .ctx = &wg};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(&wg, 4);
    assert_int_equal(t.result, 0);
    assert_int_equal(ch[1].removed, 1);
    assert_true(has(ts.s, a, "late-submitter") && !has(ts.s, b, "vb"));
    ex.delay_us = 0;

    /* a hand-off that fails half-way runs nothing, never calls done, leaves no shard parked */
    ex.fail_shard = (int)dmp_node_core_shard_of(c, b, strlen(b));
    mk(&ch[0], DMP_NODE_CH_PUT, a, "late");
    mk(&ch[1], DMP_NODE_CH_PUT, b, "late");
    t = (dmp_node_txn_t){.changes = ch, .n = 2, .done = wg_done, .ctx = &wg};
    assert_int_equal(dmp_node_apply(c, &t), DMP_EAGAIN);
    ex.fail_shard = -1;
    mk(&ch[0], DMP_NODE_CH_PUT, a, "after");
    t = (dmp_node_txn_t){.changes = ch, .n = 1, .done = wg_done, .ctx = &wg};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(&wg, 5); /* the shard of a was not left parked */
    assert_false(has(ts.s, a, "late"));
    assert_true(has(ts.s, a, "after"));

    /* concurrent multi-shard transactions from several threads never deadlock */
    waitgrp_t wgs[3] = {0};
    hammer_t hs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        hs[i] = (hammer_t){c, i, &wgs[i]};
        pthread_create(&th[i], NULL, hammer, &hs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&wgs[i].errors), 0);
    }
    assert_int_equal(count_at(ts.s, "h2-49-2.zone.test"), 1);

    fexec_stop(&ex);
    dmp_node_core_free(c);
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
}

/* ---- frontend answers from the shards' caches ---- */

/* a shard query run on the shard's own thread (as net would), waited for */
typedef struct {
    dmp_node_core_t *c;
    unsigned shard;
    const uint8_t *q;
    size_t qlen;
    uint8_t out[4096];
    size_t out_len;
    _Atomic int done;
    const struct sockaddr *peer; /* NULL: none (no RRL) */
    socklen_t peer_len;
} squery_t;

static void squery_task(void *arg)
{
    squery_t *s = arg;
    dmp_node_core_query(s->c, s->shard, s->q, s->qlen, false, s->peer, s->peer_len, s->out,
                        sizeof(s->out), &s->out_len);
    atomic_store(&s->done, 1);
}

static void shard_query(fexec_t *ex, dmp_node_core_t *c, const char *name, const uint8_t *q,
                        size_t qlen, squery_t *s)
{
    s->c = c;
    s->shard = dmp_node_core_shard_of(c, name, strlen(name));
    s->q = q;
    s->qlen = qlen;
    s->out_len = 0;
    atomic_store(&s->done, 0);
    assert_int_equal(fexec_submit(ex, s->shard, squery_task, s), 0);
    for (int i = 0; i < 20000 && !atomic_load(&s->done); i++)
        usleep(200);
    assert_true(atomic_load(&s->done));
}

static bool has_txt(const uint8_t *m, size_t len, const char *v)
{
    size_t vl = strlen(v);
    for (size_t i = 0; i + 1 + vl <= len; i++)
        if (m[i] == vl && memcmp(m + i + 1, v, vl) == 0)
            return true;
    return false;
}

/* The highest n of the TXT strings "k<n>" in a message, or -1. */

static void put_wait(dmp_node_core_t *c, waitgrp_t *wg, int *n, const char *name, const char *v)
{
    dmp_node_change_t ch;
    /* a record TTL well above DMP_DNS_TTL: answers carry 60 whenever they are made (the TTL is
     * clamped to the remaining lifetime), so frontend and shard answers compare byte for byte */
    assert_int_equal(dmp_node_change_set(&ch, DMP_NODE_CH_PUT, name, strlen(name),
                                         (const uint8_t *)v, strlen(v), 3600),
                     0);
    dmp_node_txn_t t = {.changes = &ch, .n = 1, .done = wg_done, .ctx = wg};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    wg_wait(wg, ++*n);
    assert_int_equal(t.result, 0);
}

typedef struct {
    dmp_node_core_t *c;
    fexec_t *ex;
    _Atomic int acked; /* highest k whose "k<k>" (replacing the name's value) was acknowledged */
    _Atomic int stop;
    _Atomic int stale, fe_hits, wrong;
} fe_race_t;

/* A frontend: asks its cache first, the shard on a miss (as net does); every answer must hold
 * the value acknowledged before the query was asked. */
static void *fe_reader(void *arg)
{
    fe_race_t *r = arg;
    uint8_t q[512], out[4096];
    size_t ql = mkq(q, 0x4242, "race.zone.test", 16);
    static squery_t s;
    for (int i = 0; i < 200000 && !atomic_load(&r->stop); i++) {
        int a = atomic_load(&r->acked);
        size_t ol = 0;
        const uint8_t *ans = out;
        if (dmp_node_core_query_frontend(r->c, 1, q, ql, NULL, 0, out, sizeof(out), &ol)) {
            atomic_fetch_add(&r->fe_hits, 1);
        } else {
            shard_query(r->ex, r->c, "race.zone.test", q, ql, &s);
            ans = s.out;
            ol = s.out_len;
        }
        if (ol < 12 || ans[0] != 0x42 || ans[1] != 0x42)
            atomic_fetch_add(&r->wrong, 1);
        if (a > 0 && newest_k(ans, ol) < a)
            atomic_fetch_add(&r->stale, 1);
    }
    return NULL;
}

static void t_core_frontend(void **state)
{
    (void)state;
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, NSH + 2), 0);
    dmp_node_config_t cfg = {0};
    cfg.served_zone = "zone.test";
    cfg.dns_ttl = 60;
    cfg.cache_mb = 4;
    dmp_node_core_t *c = NULL;
    dmp_node_core_opts_t o = {.cfg = &cfg,
                              .store = ts.s,
                              .nshards = NSH,
                              .shard_st = m.t,
                              .now_ms = NULL, /* queries read the real clock: so must writes */
                              .nfrontends = 2,
                              .frontend_st = &m.t[NSH]};
    assert_int_equal(dmp_node_core_new(&o, &c), 0);
    static fexec_t ex;
    fexec_start(&ex);
    ex.core = c;
    dmp_node_core_set_exec(c, fexec_submit, &ex);
    waitgrp_t wg = {0};
    int nw = 0;
    uint8_t q[512], out[4096];
    size_t ol;
    static squery_t s;

    put_wait(c, &wg, &nw, "x.zone.test", "v1");
    size_t ql = mkq(q, 0x1234, "x.zone.test", 16);
    assert_false(
        dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol)); /* not cached */
    assert_int_equal(ol, 0);
    assert_false(
        dmp_node_core_query_frontend(c, 2, q, ql, NULL, 0, out, sizeof(out), &ol)); /* no such fe */
    shard_query(&ex, c, "x.zone.test", q, ql, &s); /* the shard answers and caches */
    assert_true(has_txt(s.out, s.out_len, "v1"));
    assert_true(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_int_equal(ol, s.out_len);
    assert_memory_equal(out, s.out, ol); /* byte for byte what the shard says */
    /* an acknowledged write is never answered from the old entry: the put read the cached
     * name back (shard_refresh), so the frontend answers the new RRset at once */
    put_wait(c, &wg, &nw, "x.zone.test", "v2");
    assert_true(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_true(has_txt(out, ol, "v1") && has_txt(out, ol, "v2"));
    dmp_node_tstats_t ts0;
    dmp_node_metrics_sum(&m, &ts0);
    assert_int_equal(ts0.cache_fills_write, 1);
    /* a name nobody had cached is not read back */
    put_wait(c, &wg, &nw, "fresh.zone.test", "f1");
    dmp_node_metrics_sum(&m, &ts0);
    assert_int_equal(ts0.cache_fills_write, 1);
    shard_query(&ex, c, "x.zone.test", q, ql, &s);
    assert_true(dmp_node_core_query_frontend(c, 1, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_true(has_txt(out, ol, "v1") && has_txt(out, ol, "v2"));
    /* with RRL on the frontends still answer, rate limited by the same table as the shards:
     * one bucket of 5 per second (slip 2) for this source and answer, whichever thread answers */
    dmp_node_config_t rcfg = cfg;
    rcfg.rrl_rate = 5;
    rcfg.rrl_slip = 2;
    rcfg.rrl_v4_prefix = 24;
    rcfg.rrl_v6_prefix = 56;
    rcfg.rrl_table_size = 1024;
    assert_int_equal(dmp_node_core_reload(c, &rcfg), 0);
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(5353)};
    peer.sin_addr.s_addr = htonl(0x7F000001);
    dmp_node_tstats_t before;
    dmp_node_metrics_sum(&m, &before);
    unsigned full = 0, tc = 0, none = 0;
    for (int i = 0; i < 20; i++) {
        assert_true(dmp_node_core_query_frontend(c, i & 1, q, ql, (struct sockaddr *)&peer,
                                                 sizeof(peer), out, sizeof(out), &ol));
        if (ol == 0)
            none++;
        else if (out[2] & 0x02)
            tc++;
        else
            full++;
    }
    assert_true(full >= 5 && full <= 6); /* the bucket, plus what refills meanwhile */
    assert_true(tc >= 6 && none >= 6);
    /* the shard's path draws on the same (now empty) bucket: limited as well */
    s.peer = (struct sockaddr *)&peer;
    s.peer_len = sizeof(peer);
    unsigned shard_full = 0;
    for (int i = 0; i < 4; i++) {
        shard_query(&ex, c, "x.zone.test", q, ql, &s);
        shard_full += s.out_len > 0 && !(s.out[2] & 0x02);
    }
    assert_true(shard_full <= 1);
    s.peer = NULL;
    s.peer_len = 0;
    dmp_node_tstats_t after;
    dmp_node_metrics_sum(&m, &after);
    assert_true(after.rrl_dropped - before.rrl_dropped >= none);
    assert_true(after.rrl_slipped - before.rrl_slipped >= tc);
    rcfg.rrl_rate = 0;
    assert_int_equal(dmp_node_core_reload(c, &rcfg), 0);
    for (int i = 0; i < 20; i++) {
        assert_true(dmp_node_core_query_frontend(c, 1, q, ql, (struct sockaddr *)&peer,
                                                 sizeof(peer), out, sizeof(out), &ol));
        assert_true(ol > 0 && !(out[2] & 0x02));
    }
    /* UPDATE (opcode 5) is never answered here */
    q[2] = (uint8_t)(5 << 3);
    assert_false(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));

    /* NXDOMAIN from the cache, until a name below it is written (negative generations) */
    ql = mkq(q, 0x2222, "nope.zone.test", 16);
    shard_query(&ex, c, "nope.zone.test", q, ql, &s);
    assert_int_equal(s.out[3] & 0xF, 3);
    assert_true(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_int_equal(out[3] & 0xF, 3);
    put_wait(c, &wg, &nw, "a.nope.zone.test", "below");
    assert_false(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    shard_query(&ex, c, "nope.zone.test", q, ql, &s);
    assert_int_equal(s.out[3] & 0xF, 0); /* NODATA now (an empty non-terminal) */
    assert_true(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_int_equal(out[3] & 0xF, 0);
    /* cached as such on its shard, until the name below is deleted: outdated at once (the
     * frontend misses; here, without frontend reads, the shard answers), then NXDOMAIN */
    shard_query(&ex, c, "nope.zone.test", q, ql, &s);
    assert_int_equal(s.out[3] & 0xF, 0);
    {
        dmp_node_change_t dc;
        mk(&dc, DMP_NODE_CH_DEL_ALL, "a.nope.zone.test", NULL);
        dmp_node_txn_t dt = {.changes = &dc, .n = 1, .done = wg_done, .ctx = &wg};
        assert_int_equal(dmp_node_apply(c, &dt), 0);
        wg_wait(&wg, ++nw);
        assert_int_equal(dt.result, 0);
    }
    assert_false(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    shard_query(&ex, c, "nope.zone.test", q, ql, &s);
    assert_int_equal(s.out[3] & 0xF, 3);
    assert_true(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_int_equal(out[3] & 0xF, 3);

    /* a writer and a frontend at once: never an answer older than the last acknowledged write */
    static fe_race_t r;
    memset(&r, 0, sizeof(r));
    r.c = c;
    r.ex = &ex;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fe_reader, &r), 0);
    for (int k = 1; k <= 60; k++) {
        /* replace the name's one value: its answer stays small (no truncation) */
        char v[16];
        snprintf(v, sizeof(v), "k%d", k);
        dmp_node_change_t ch[2];
        mk(&ch[0], DMP_NODE_CH_DEL_ALL, "race.zone.test", NULL);
        mk(&ch[1], DMP_NODE_CH_PUT, "race.zone.test", v);
        dmp_node_txn_t tx = {.changes = ch, .n = 2, .done = wg_done, .ctx = &wg};
        assert_int_equal(dmp_node_apply(c, &tx), 0);
        wg_wait(&wg, ++nw);
        assert_int_equal(tx.result, 0);
        atomic_store(&r.acked, k);
        usleep(2000); /* let the reader hit the refilled entry */
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&r.wrong), 0);
    assert_int_equal(atomic_load(&r.stale), 0);
    assert_true(atomic_load(&r.fe_hits) > 0);

    fexec_stop(&ex);
    dmp_node_core_free(c);
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_bgthread),
        cmocka_unit_test(t_bgthread_sched),
        cmocka_unit_test(t_core),
        cmocka_unit_test(t_core_frontend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
