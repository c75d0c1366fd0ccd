/* Unit tests for frontend reads (core_frontend.c): a frontend answers a cache miss from the store
 * and hands the fill to the owning shard; the shard drops a fill that a write outdated (its write
 * sequence, the negative generations), and never lets a stale answer into its cache. The first
 * test drives the shards by hand on the test thread (deterministic); the second runs writers,
 * shard threads and frontend readers at once (also under ThreadSanitizer, scripts/test.sh). */
#include "node_core_harness.h"

#include <stdatomic.h>

#define NSH 2
#define ZONE "zone.test"

/* The highest n of the TXT strings "k<n>" in a message, or -1. */

/* Asks frontend fe for name's TXT; returns the newest k answered (-1: none), *rcode the rcode. */
static int fe_ask(dmp_node_core_t *c, unsigned fe, const char *name, int *rcode)
{
    uint8_t q[512], out[4096];
    size_t ql = mkq(q, 0x5151, name, 16), ol = 0;
    assert_true(dmp_node_core_query_frontend(c, fe, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_true(ol >= 12 && out[0] == 0x51 && out[1] == 0x51);
    if (rcode)
        *rcode = out[3] & 0xF;
    return newest_k(out, ol);
}

static dmp_node_core_t *core_new(tstore_t *ts, dmp_node_metrics_t *m, dmp_node_config_t *cfg,
                                 unsigned nfe, bool reads, bool door, unsigned cache_mb)
{
    assert_int_equal(dmp_node_metrics_init(m, NSH + nfe), 0);
    memset(cfg, 0, sizeof(*cfg));
    cfg->served_zone = ZONE;
    cfg->dns_ttl = 60;
    cfg->cache_mb = cache_mb;
    cfg->cache_doorkeeper = door;
    dmp_node_core_opts_t o = {.cfg = cfg,
                              .store = ts->s,
                              .nshards = NSH,
                              .shard_st = m->t,
                              .now_ms = NULL, /* queries read the real clock: so must writes */
                              .no_syncer = true,
                              .nfrontends = nfe,
                              .frontend_st = &m->t[NSH],
                              .frontend_reads = reads};
    dmp_node_core_t *c = NULL;
    assert_int_equal(dmp_node_core_new(&o, &c), 0);
    return c;
}

/* ---- a hand-driven executor: tasks wait until the test runs them ---- */
typedef struct {
    void (*fn)(void *);
    void *arg;
} mtask_t;

typedef struct {
    mtask_t q[NSH][256];
    unsigned n[NSH];
} mexec_t;

static int mexec_submit(void *ctx, unsigned shard, void (*fn)(void *), void *arg)
{
    mexec_t *e = ctx;
    if (shard >= NSH || e->n[shard] == 256)
        return DMP_EFULL;
    e->q[shard][e->n[shard]++] = (mtask_t){fn, arg};
    return 0;
}

/* A store and a core with one frontend reading it, its shards' tasks queued on h->ex until
 * mexec_run (static: mexec_t is large). */
typedef struct {
    tstore_t ts;
    dmp_node_metrics_t m;
    dmp_node_config_t cfg;
    mexec_t ex;
} hand_t;

static dmp_node_core_t *hand_open(hand_t *h, bool door, unsigned cache_mb)
{
    tstore_open(&h->ts);
    dmp_node_core_t *c = core_new(&h->ts, &h->m, &h->cfg, 1, true, door, cache_mb);
    memset(&h->ex, 0, sizeof(h->ex));
    dmp_node_core_set_exec(c, mexec_submit, &h->ex);
    return c;
}

/* Runs shard s's queued tasks, then its tick (flushes its write batch, drains its fills). */
static void mexec_run(mexec_t *e, dmp_node_core_t *c, unsigned s)
{
    for (unsigned i = 0; i < e->n[s]; i++)
        e->q[s][i].fn(e->q[s][i].arg);
    e->n[s] = 0;
    dmp_node_core_tick(c, s);
}

static void done_count(dmp_node_txn_t *t)
{
    int *n = t->ctx;
    assert_int_equal(t->result, 0);
    ++*n;
}

/* A put of "k<k>" replacing name's values, acknowledged before it returns. */
static void put_k(mexec_t *e, dmp_node_core_t *c, const char *name, int k)
{
    char v[16];
    snprintf(v, sizeof(v), "k%d", k);
    dmp_node_change_t ch[2];
    mk(&ch[0], DMP_NODE_CH_DEL_ALL, name, NULL);
    mk(&ch[1], DMP_NODE_CH_PUT, name, v);
    int done = 0;
    dmp_node_txn_t t = {.changes = ch, .n = 2, .done = done_count, .ctx = &done};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    mexec_run(e, c, dmp_node_core_shard_of(c, name, strlen(name)));
    assert_int_equal(done, 1);
}

/* A name on shard s (or on another shard than s: other = true). */
static void name_on(dmp_node_core_t *c, unsigned s, bool other, const char *pfx, char out[64])
{
    for (int i = 0; i < 1000; i++) {
        snprintf(out, 64, "%s%d." ZONE, pfx, i);
        bool on = dmp_node_core_shard_of(c, out, strlen(out)) == s;
        if (on != other)
            return;
    }
    fail();
}

static void t_fill_rules(void **state)
{
    (void)state;
    static hand_t h;
    dmp_node_core_t *c = hand_open(&h, false, 4);
    uint64_t ap = 0, dr = 0;
    char x[64], y[64];
    name_on(c, 0, false, "x", x);
    name_on(c, 0, true, "y", y);

    /* a miss is answered on the frontend from the store; its fill waits for the shard */
    put_k(&h.ex, c, x, 1);
    assert_int_equal(fe_ask(c, 0, x, NULL), 1);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, 0);
    assert_int_equal(h.m.t[NSH].cache_misses, 1);

    /* a write to the shard between that read and the fill's apply: the fill is dropped (else
     * the cache would hold k1 after k2 was acknowledged) */
    put_k(&h.ex, c, x, 2);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, 0);
    assert_int_equal(dr, 1);
    assert_int_equal(fe_ask(c, 0, x, NULL), 2);
    assert_int_equal(h.m.t[NSH].cache_misses, 2);

    /* no write since: the shard's next wake-up applies it, and the frontend then hits */
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, 1);
    uint64_t hits = h.m.t[NSH].cache_hits;
    assert_int_equal(fe_ask(c, 0, x, NULL), 2);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);
    assert_int_equal(h.m.t[NSH].cache_misses, 2);

    /* a write to another shard does not drop this shard's fills */
    put_k(&h.ex, c, x, 3); /* invalidates x */
    assert_int_equal(fe_ask(c, 0, x, NULL), 3);
    put_k(&h.ex, c, y, 1);
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, 2);
    assert_int_equal(dr, 1);
    hits = h.m.t[NSH].cache_hits;
    assert_int_equal(fe_ask(c, 0, x, NULL), 3);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);

    /* a batched single put (the write queue, flushed at the tick) drops a fill read before it,
     * even when the tick that flushes it is the one that drains the fill */
    put_k(&h.ex, c, x, 4);
    assert_int_equal(fe_ask(c, 0, x, NULL), 4); /* fill(k4) queued */
    dmp_node_change_t ch;
    mk(&ch, DMP_NODE_CH_PUT, x, "k5");
    int done = 0;
    dmp_node_txn_t t = {.changes = &ch, .n = 1, .done = done_count, .ctx = &done};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    mexec_run(&h.ex, c, 0); /* take into the batch, flush, then drain */
    assert_int_equal(done, 1);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(dr, 2);
    assert_int_equal(fe_ask(c, 0, x, NULL), 5);
    /* /metrics counts the same (dmp_cache_fills_total) */
    dmp_node_tstats_t sum;
    dmp_node_metrics_sum(&h.m, &sum);
    assert_int_equal(sum.cache_fills_applied, ap);
    assert_int_equal(sum.cache_fills_stale, dr);

    /* NXDOMAIN: filled with its negative generation; a name written below it (on the other
     * shard, so the write sequence of its own shard does not move) outdates the fill */
    char nx[64], below[80];
    name_on(c, 0, false, "nope", nx);
    int rcode = 0;
    assert_int_equal(fe_ask(c, 0, nx, &rcode), -1);
    assert_int_equal(rcode, 3);
    for (int i = 0; i < 1000; i++) {
        snprintf(below, sizeof(below), "b%d.%s", i, nx);
        if (dmp_node_core_shard_of(c, below, strlen(below)) != 0)
            break;
    }
    assert_int_not_equal(dmp_node_core_shard_of(c, below, strlen(below)), 0);
    put_k(&h.ex, c, below, 1);
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(dr, 3);
    assert_int_equal(fe_ask(c, 0, nx, &rcode), -1);
    assert_int_equal(rcode, 0); /* NODATA: an empty non-terminal now */
    mexec_run(&h.ex, c, 0);     /* the empty non-terminal is cached */
    hits = h.m.t[NSH].cache_hits;
    assert_int_equal(fe_ask(c, 0, nx, &rcode), -1);
    assert_int_equal(rcode, 0);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);
    /* an NXDOMAIN fill that nothing outdated is applied and answered from the cache */
    char nx2[64];
    name_on(c, 0, false, "gone", nx2);
    assert_int_equal(fe_ask(c, 0, nx2, &rcode), -1);
    assert_int_equal(rcode, 3);
    mexec_run(&h.ex, c, 0);
    uint64_t nh = h.m.t[NSH].cache_neg_hits;
    assert_int_equal(fe_ask(c, 0, nx2, &rcode), -1);
    assert_int_equal(rcode, 3);
    assert_int_equal(h.m.t[NSH].cache_neg_hits, nh + 1);

    /* no wake-up per miss: a drain task is queued once a ring holds DMP_NODE_FILL_WAKE fills,
     * and only once until it runs */
    assert_int_equal(h.ex.n[0], 0);
    for (int i = 0, sent = 0; sent < 2 * DMP_NODE_FILL_WAKE && i < 100000; i++) {
        char nm[64];
        snprintf(nm, sizeof(nm), "w%d." ZONE, i);
        if (dmp_node_core_shard_of(c, nm, strlen(nm)) != 0)
            continue;
        fe_ask(c, 0, nm, NULL);
        sent++;
        assert_int_equal(h.ex.n[0], sent < DMP_NODE_FILL_WAKE ? 0 : 1);
    }
    dmp_node_core_fill_stats(c, &ap, &dr);
    uint64_t ap0 = ap;
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, ap0 + 2 * DMP_NODE_FILL_WAKE);

    dmp_node_core_free(c);
    dmp_node_metrics_free(&h.m);

    /* frontend reads off: a miss is the shard's (false), as before */
    c = core_new(&h.ts, &h.m, &h.cfg, 1, false, false, 4);
    uint8_t q[512], out[4096];
    size_t ql = mkq(q, 1, x, 16), ol = 1;
    assert_false(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
    assert_int_equal(ol, 0);
    dmp_node_core_free(c);
    dmp_node_metrics_free(&h.m);
    tstore_close(&h.ts);
}

/* A put of one value of `len` bytes at name, acknowledged before it returns. */
static void put_big(mexec_t *e, dmp_node_core_t *c, const char *name, size_t len)
{
    char v[4096];
    assert_true(len < sizeof(v));
    memset(v, 'p', len);
    v[len] = '\0';
    dmp_node_change_t ch;
    mk(&ch, DMP_NODE_CH_PUT, name, v);
    int done = 0;
    dmp_node_txn_t t = {.changes = &ch, .n = 1, .done = done_count, .ctx = &done};
    assert_int_equal(dmp_node_apply(c, &t), 0);
    mexec_run(e, c, dmp_node_core_shard_of(c, name, strlen(name)));
    assert_int_equal(done, 1);
}

/* The doorkeeper (cfg->cache_doorkeeper) stays open while a shard's cache holds less than half
 * its bytes: on an empty cache (a restarted node) every first miss fills, so one pass warms it.
 * Past half, a name's first miss is answered from the store and fills nothing; its second miss
 * fills the shard's cache; the third query hits. Names that are asked once (a one-pass client)
 * then leave the cache as it is. A write still invalidates, and a fill outdated by a write is
 * still dropped. */
static void t_doorkeeper(void **state)
{
    (void)state;
    static hand_t h;
    /* 1 MiB over two shards: each fills to half with ~125 answers of 2,000 bytes */
    dmp_node_core_t *c = hand_open(&h, true, 1);
    uint64_t ap = 0, dr = 0;
    char n[64];
    for (int i = 0; i < 400; i++) { /* ~200 per shard: more than half, less than all */
        snprintf(n, sizeof(n), "pad%d." ZONE, i);
        put_big(&h.ex, c, n, 2000);
    }
    for (int i = 0; i < 400; i++) { /* asked once each, every fill applied before the next */
        snprintf(n, sizeof(n), "pad%d." ZONE, i);
        (void)fe_ask(c, 0, n, NULL);
        mexec_run(&h.ex, c, 0);
        mexec_run(&h.ex, c, 1);
        if (i == 149) { /* ~75 answers per shard, under half: the door was open for all */
            dmp_node_core_fill_stats(c, &ap, &dr);
            assert_int_equal(dmp_node_core_fills_held(c), 0);
            assert_int_equal(ap, 150);
        }
    }
    mexec_run(&h.ex, c, 0);
    mexec_run(&h.ex, c, 1);
    dmp_node_core_fill_stats(c, &ap, &dr);
    uint64_t held = dmp_node_core_fills_held(c);
    assert_true(held > 0 && held < 200); /* past half the doorkeeper held the rest */
    assert_int_equal(ap + held, 400);
    uint64_t ap_pad = ap;
    uint64_t hits = h.m.t[NSH].cache_hits, miss0 = h.m.t[NSH].cache_misses;
    (void)fe_ask(c, 0, "pad7." ZONE, NULL);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);

    /* both caches past half: the doorkeeper holds first misses */
    char x[64];
    name_on(c, 0, false, "x", x);
    put_k(&h.ex, c, x, 1);
    assert_int_equal(fe_ask(c, 0, x, NULL), 1); /* first miss: held */
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, ap_pad);
    assert_int_equal(dmp_node_core_fills_held(c), held + 1);
    assert_int_equal(h.m.t[NSH].cache_misses, miss0 + 1);
    assert_int_equal(fe_ask(c, 0, x, NULL), 1); /* second miss: filled */
    assert_int_equal(h.m.t[NSH].cache_misses, miss0 + 2);
    mexec_run(&h.ex, c, 0);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(ap, ap_pad + 1);
    assert_int_equal(dmp_node_core_fills_held(c), held + 1);
    hits = h.m.t[NSH].cache_hits;
    assert_int_equal(fe_ask(c, 0, x, NULL), 1);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);
    assert_int_equal(h.m.t[NSH].cache_misses, miss0 + 2);

    /* a write invalidates; the name is known to the doorkeeper, so its next miss fills at
     * once, and that fill is dropped when a write comes between the read and the apply */
    put_k(&h.ex, c, x, 2);
    assert_int_equal(fe_ask(c, 0, x, NULL), 2);
    put_k(&h.ex, c, x, 3);
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_int_equal(dr, 1);
    assert_int_equal(fe_ask(c, 0, x, NULL), 3);
    mexec_run(&h.ex, c, 0);
    hits = h.m.t[NSH].cache_hits;
    assert_int_equal(fe_ask(c, 0, x, NULL), 3);
    assert_int_equal(h.m.t[NSH].cache_hits, hits + 1);

    /* 500 names asked once each (NXDOMAIN and existing): no fill reaches a shard but the
     * doorkeeper's false positives (its key is random per process: a name whose two bits
     * another name set, ~1e-5 a name here), each a fill applied or dropped (a later write to
     * its shard moved the sequence) */
    dmp_node_core_fill_stats(c, &ap, &dr);
    uint64_t ap0 = ap, dr0 = dr, held0 = dmp_node_core_fills_held(c);
    for (int i = 0; i < 500; i++) {
        snprintf(n, sizeof(n), "once%d." ZONE, i);
        if (i % 2)
            put_k(&h.ex, c, n, 7);
        assert_int_equal(fe_ask(c, 0, n, NULL), i % 2 ? 7 : -1);
    }
    mexec_run(&h.ex, c, 0);
    mexec_run(&h.ex, c, 1);
    dmp_node_core_fill_stats(c, &ap, &dr);
    uint64_t held500 = dmp_node_core_fills_held(c) - held0;
    assert_true(held500 >= 497);
    assert_int_equal(held500 + (ap - ap0) + (dr - dr0), 500);

    dmp_node_core_free(c);
    dmp_node_metrics_free(&h.m);
    tstore_close(&h.ts);
}

/* ---- writers, shard threads and frontend readers at once ---- */
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
    unsigned idx;
    dmp_node_core_t *core;
} fshard_t;

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
        if (!s->head) { /* end of a drain, as net calls tick */
            pthread_mutex_unlock(&s->mu);
            dmp_node_core_tick(s->core, s->idx);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int fexec_submit(void *ctx, unsigned shard, void (*fn)(void *), void *arg)
{
    fshard_t *sh = ctx;
    fshard_t *s = &sh[shard];
    task_t *t = calloc(1, sizeof(*t));
    if (!t)
        return DMP_ENOMEM;
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
    return 0;
}

typedef struct {
    _Atomic int done;
} wg_t;

static void wg_done(dmp_node_txn_t *t)
{
    wg_t *w = t->ctx;
    assert_int_equal(t->result, 0);
    atomic_fetch_add(&w->done, 1);
}

static void nop_task(void *arg)
{
    (void)arg;
}

#define NNAMES 3
#define NFE 2

typedef struct {
    dmp_node_core_t *c;
    unsigned fe;
    char names[NNAMES][64];
    _Atomic int *acked; /* NNAMES: highest k acknowledged per name */
    _Atomic int *stop;
    _Atomic int stale, answered;
} reader_t;

/* A frontend: every answer must hold the newest value acknowledged before the query. */
static void *reader_main(void *arg)
{
    reader_t *r = arg;
    uint8_t q[512], out[4096];
    for (int i = 0; i < 400000 && !atomic_load(r->stop); i++) {
        int n = i % NNAMES;
        int a = atomic_load(&r->acked[n]);
        size_t ql = mkq(q, (uint16_t)i, r->names[n], 16), ol = 0;
        if (!dmp_node_core_query_frontend(r->c, r->fe, q, ql, NULL, 0, out, sizeof(out), &ol))
            continue; /* not expected: counted as no answer below */
        atomic_fetch_add(&r->answered, 1);
        if (a > 0 && newest_k(out, ol) < a)
            atomic_fetch_add(&r->stale, 1);
    }
    return NULL;
}

static void t_concurrent(void **state)
{
    (void)state;
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    dmp_node_config_t cfg;
    dmp_node_core_t *c = core_new(&ts, &m, &cfg, NFE, true, false, 4);
    static fshard_t sh[NSH];
    memset(sh, 0, sizeof(sh));
    for (unsigned i = 0; i < NSH; i++) {
        sh[i].idx = i;
        sh[i].core = c;
        pthread_mutex_init(&sh[i].mu, NULL);
        pthread_cond_init(&sh[i].cv, NULL);
        assert_int_equal(pthread_create(&sh[i].th, NULL, fshard_main, &sh[i]), 0);
    }
    dmp_node_core_set_exec(c, fexec_submit, sh);

    static _Atomic int acked[NNAMES], stop;
    static reader_t rd[NFE];
    atomic_store(&stop, 0);
    for (int n = 0; n < NNAMES; n++)
        atomic_store(&acked[n], 0);
    for (unsigned f = 0; f < NFE; f++) {
        memset(&rd[f], 0, sizeof(rd[f]));
        rd[f].c = c;
        rd[f].fe = f;
        rd[f].acked = acked;
        rd[f].stop = &stop;
        for (int n = 0; n < NNAMES; n++)
            snprintf(rd[f].names[n], 64, "race%d." ZONE, n);
    }
    pthread_t th[NFE];
    for (unsigned f = 0; f < NFE; f++)
        assert_int_equal(pthread_create(&th[f], NULL, reader_main, &rd[f]), 0);

    /* writes of three kinds: a replacing transaction (runs at once on the shard), a single put
     * (batched, flushed at the tick), and a two-name transaction across both shards (the
     * parked-shard path) */
    wg_t wg = {0};
    int sent = 0;
    for (int k = 1; k <= 90; k++) {
        int n = k % NNAMES;
        const char *name = rd[0].names[n];
        char v[16];
        snprintf(v, sizeof(v), "k%d", k);
        dmp_node_change_t ch[3];
        dmp_node_txn_t t = {.changes = ch, .done = wg_done, .ctx = &wg};
        if (k % 3 == 0) {
            mk(&ch[0], DMP_NODE_CH_DEL_ALL, name, NULL);
            mk(&ch[1], DMP_NODE_CH_PUT, name, v);
            t.n = 2;
        } else if (k % 3 == 1) {
            mk(&ch[0], DMP_NODE_CH_PUT, name, v); /* values pile up; newest_k still rises */
            t.n = 1;
        } else {
            mk(&ch[0], DMP_NODE_CH_DEL_ALL, name, NULL);
            mk(&ch[1], DMP_NODE_CH_PUT, name, v);
            mk(&ch[2], DMP_NODE_CH_PUT, "other.multi." ZONE, v);
            t.n = 3;
        }
        assert_int_equal(dmp_node_apply(c, &t), 0);
        sent++;
        for (int i = 0; i < 20000 && atomic_load(&wg.done) < sent; i++)
            usleep(200);
        assert_int_equal(atomic_load(&wg.done), sent);
        atomic_store(&acked[n], k);
        usleep(1500); /* let the readers miss, fill and hit */
    }
    atomic_store(&stop, 1);
    for (unsigned f = 0; f < NFE; f++)
        pthread_join(th[f], NULL);
    int answered = 0;
    for (unsigned f = 0; f < NFE; f++) {
        assert_int_equal(atomic_load(&rd[f].stale), 0);
        answered += atomic_load(&rd[f].answered);
    }
    assert_true(answered > 0);

    /* once every fill was drained, the caches hold the newest values only */
    for (unsigned i = 0; i < NSH; i++)
        assert_int_equal(fexec_submit(sh, i, nop_task, NULL), 0); /* a wake-up: tick drains */
    usleep(20000);
    for (unsigned f = 0; f < NFE; f++)
        for (int n = 0; n < NNAMES; n++)
            assert_int_equal(fe_ask(c, f, rd[0].names[n], NULL), atomic_load(&acked[n]));
    uint64_t ap = 0, dr = 0;
    dmp_node_core_fill_stats(c, &ap, &dr);
    assert_true(ap > 0);
    dmp_node_tstats_t sum;
    dmp_node_metrics_sum(&m, &sum);
    assert_true(sum.cache_hits > 0);

    for (unsigned i = 0; i < NSH; i++) {
        pthread_mutex_lock(&sh[i].mu);
        sh[i].stop = true;
        pthread_cond_signal(&sh[i].cv);
        pthread_mutex_unlock(&sh[i].mu);
        pthread_join(sh[i].th, NULL);
    }
    dmp_node_core_free(c);
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fill_rules),
        cmocka_unit_test(t_concurrent),
        cmocka_unit_test(t_doorkeeper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
