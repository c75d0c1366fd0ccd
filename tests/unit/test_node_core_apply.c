/* Unit tests for the node core's write path: changes, mixed store transactions, the apply path
 * (cap, values, invalidation, generations, serial), the shard write queue, negative generations,
 * the answer lookup and the answer-size limit. */
#include "node_core_harness.h"

#include <rocksdb/c.h>

static void t_change_set(void **state)
{
    (void)state;
    dmp_node_change_t ch;
    assert_int_equal(dmp_node_change_set(&ch, DMP_NODE_CH_PUT, "Mb-AB.Zone.Test.", 16,
                                         (const uint8_t *)"v", 1, 60),
                     0);
    assert_string_equal(ch.lname, "mb-ab.zone.test");
    assert_int_equal(ch.lname_len, 15);
    assert_int_equal(ch.ttl, 60);
    assert_int_equal(
        dmp_node_change_set(&ch, DMP_NODE_CH_DEL_ALL, "a", 1, (const uint8_t *)"ignored", 7, 0), 0);
    assert_null(ch.value);
    assert_int_equal(ch.value_len, 0);
    assert_int_equal(dmp_node_change_set(&ch, DMP_NODE_CH_PUT, "...", 3, NULL, 0, 1), DMP_ENAME);
    char big[300];
    memset(big, 'a', sizeof(big));
    assert_int_equal(dmp_node_change_set(&ch, DMP_NODE_CH_PUT, big, 254, NULL, 0, 1), DMP_ENAME);
    assert_int_equal(dmp_node_change_set(&ch, DMP_NODE_CH_PUT, "a\0b", 3, NULL, 0, 1), DMP_ENAME);
}

/* ---- the store's mixed transactions ---- */
static void t_store_apply(void **state)
{
    (void)state;
    tstore_t a, b;
    tstore_open(&a);
    tstore_open(&b);
    const uint8_t *v1 = (const uint8_t *)"one", *v2 = (const uint8_t *)"two",
                  *v3 = (const uint8_t *)"three";
    dmp_store_put_t p[2] = {{"n.test", 6, v1, 3, 60}, {"n.test", 6, v2, 3, 60}};
    assert_int_equal(dmp_store_put_batch(a.s, p, 2, g_now), 0);
    /* replace the RRset in one batch: delete all, put three, put one again then delete it */
    dmp_store_op_t ops[4] = {
        {.op = DMP_STORE_OP_DEL_ALL, .name = "N.test", .name_len = 6},
        {.op = DMP_STORE_OP_PUT,
         .name = "n.test",
         .name_len = 6,
         .value = v3,
         .value_len = 5,
         .ttl = 60},
        {.op = DMP_STORE_OP_PUT,
         .name = "n.test",
         .name_len = 6,
         .value = v1,
         .value_len = 3,
         .ttl = 60},
        {.op = DMP_STORE_OP_DEL_VALUE,
         .name = "n.test",
         .name_len = 6,
         .value = v1,
         .value_len = 3},
    };
    size_t changed = 0;
    assert_int_equal(dmp_store_apply_ex(a.s, ops, 4, g_now, 0, &changed), 0);
    assert_int_equal(ops[0].removed, 2);
    assert_int_equal(ops[3].removed, 1);
    assert_int_equal(changed, 5);
    assert_int_equal(count_at(a.s, "n.test"), 1);
    assert_true(has(a.s, "n.test", "three"));
    uint64_t rc_a = 0;
    assert_int_equal(dmp_store_record_count(a.s, &rc_a), 0);
    assert_int_equal(rc_a, 1);
    /* the Merkle bucket equals that of a store that only ever held "three" */
    dmp_store_put_t p3 = {"n.test", 6, v3, 5, 60};
    assert_int_equal(dmp_store_put_batch(b.s, &p3, 1, g_now), 0);
    uint32_t bucket;
    assert_int_equal(dmp_store_bucket_of("n.test", 6, &bucket), 0);
    uint8_t da[32], db[32];
    assert_int_equal(dmp_store_bucket_digest(a.s, bucket, da), 0);
    assert_int_equal(dmp_store_bucket_digest(b.s, bucket, db), 0);
    assert_memory_equal(da, db, 32);
    /* the name index follows: no descendants left under a deleted subtree */
    dmp_store_op_t o2[2] = {
        {.op = DMP_STORE_OP_PUT,
         .name = "x.sub.test",
         .name_len = 10,
         .value = v1,
         .value_len = 3,
         .ttl = 60},
        {.op = DMP_STORE_OP_DEL_ALL, .name = "x.sub.test", .name_len = 10},
    };
    assert_int_equal(dmp_store_apply_ex(a.s, o2, 2, g_now, 0, NULL), 0);
    bool below = true;
    assert_int_equal(dmp_store_has_descendant(a.s, "sub.test", 8, g_now, &below), 0);
    assert_false(below);
    /* a bad op anywhere: nothing written */
    dmp_store_op_t bad[2] = {
        {.op = DMP_STORE_OP_PUT,
         .name = "ok.test",
         .name_len = 7,
         .value = v1,
         .value_len = 3,
         .ttl = 60},
        {.op = DMP_STORE_OP_PUT, .name = "", .name_len = 0, .value = v1, .value_len = 3, .ttl = 60},
    };
    assert_int_not_equal(dmp_store_apply_ex(a.s, bad, 2, g_now, 0, NULL), 0);
    assert_int_equal(count_at(a.s, "ok.test"), 0);
    /* deleting what is not there changes nothing and writes nothing */
    dmp_store_op_t none = {.op = DMP_STORE_OP_DEL_ALL, .name = "nope.test", .name_len = 9};
    assert_int_equal(dmp_store_apply_ex(a.s, &none, 1, g_now, DMP_STORE_NOSYNC, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(none.removed, 0);
    tstore_close(&a);
    tstore_close(&b);
}

/* ---- the apply path ---- */
typedef struct {
    int done;
    int invalidated;
    int writes;
    char last_inval[256];
} hooks_t;

static void h_inval(void *ctx, const char *lname, size_t len)
{
    hooks_t *h = ctx;
    h->invalidated++;
    snprintf(h->last_inval, sizeof(h->last_inval), "%.*s", (int)len, lname);
}

static void h_write(void *ctx, const char *lname, size_t len)
{
    (void)lname;
    (void)len;
    ((hooks_t *)ctx)->writes++;
}

static void h_done(dmp_node_txn_t *t)
{
    ((hooks_t *)t->ctx)->done++;
}

/* A temporary store, one shard's metrics and the hooks, with an apply environment over them. */
typedef struct {
    tstore_t ts;
    dmp_node_metrics_t m;
    hooks_t hk;
    dmp_node_apply_env_t env;
} fix_t;

static void fix_open(fix_t *f)
{
    memset(f, 0, sizeof(*f));
    tstore_open(&f->ts);
    assert_int_equal(dmp_node_metrics_init(&f->m, 1), 0);
    f->env = (dmp_node_apply_env_t){.store = f->ts.s,
                                    .st = &f->m.t[0],
                                    .now_ms = fake_now,
                                    .invalidate = h_inval,
                                    .on_write = h_write,
                                    .ctx = &f->hk};
}

static void fix_close(fix_t *f)
{
    dmp_node_metrics_free(&f->m);
    tstore_close(&f->ts);
}

/* Eight single-put transactions of value "v" at <prefix>0.test .. <prefix>7.test. */
typedef struct {
    char names[8][16];
    dmp_node_change_t ch[8];
    dmp_node_txn_t t[8];
} puts8_t;

static void puts8_make(puts8_t *p, fix_t *f, char prefix)
{
    for (int i = 0; i < 8; i++) {
        snprintf(p->names[i], sizeof(p->names[i]), "%c%d.test", prefix, i);
        mk(&p->ch[i], DMP_NODE_CH_PUT, p->names[i], "v");
        p->t[i] = (dmp_node_txn_t){.changes = &p->ch[i], .n = 1, .done = h_done, .ctx = &f->hk};
    }
}

static void t_txn_exec(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    _Atomic uint32_t serial = 0;
    dmp_node_apply_env_t env = f.env;
    env.serial = &serial;
    assert_int_equal(dmp_store_put(f.ts.s, "n.test", 6, (const uint8_t *)"a", 1, 60, g_now), 0);
    dmp_node_change_t ch[3];
    dmp_node_txn_t t = {.changes = ch, .cap = 2, .done = h_done, .ctx = &f.hk};
    /* cap 2 with "a" stored: b fits, c does not -> the whole transaction fails */
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "b");
    mk(&ch[1], DMP_NODE_CH_PUT, "n.test", "c");
    t.n = 2;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EFULL);
    assert_int_equal(t.failed, 1);
    assert_int_equal(f.hk.done, 1);
    assert_false(has(f.ts.s, "n.test", "b"));
    assert_int_equal(f.hk.invalidated, 0);
    assert_int_equal(atomic_load(&serial), 0);
    /* deleting "a" first makes room for both */
    mk(&ch[0], DMP_NODE_CH_DEL_VALUE, "n.test", "a");
    mk(&ch[1], DMP_NODE_CH_PUT, "n.test", "b");
    mk(&ch[2], DMP_NODE_CH_PUT, "n.test", "c");
    t.n = 3;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(t.changed, 3);
    assert_int_equal(ch[0].removed, 1);
    assert_int_equal(f.hk.done, 2);
    assert_int_equal(f.hk.invalidated, 3);
    assert_int_equal(f.hk.writes, 3); /* the delete too: it may empty an ancestor */
    assert_int_equal(atomic_load(&serial), (uint32_t)(g_now / 1000));
    assert_false(has(f.ts.s, "n.test", "a"));
    assert_true(has(f.ts.s, "n.test", "b") && has(f.ts.s, "n.test", "c"));
    /* re-publishing an existing value at the cap is fine (a point lookup, no prefix seek:
     * with the answer-size check too); a new one is not */
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "b");
    t.n = 1;
    t.flags = DMP_NODE_TXN_CHECK_SIZE;
    uint64_t probes = dmp_node_write_prefix_probes();
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(dmp_node_write_prefix_probes(), probes);
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "d");
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EFULL);
    assert_int_equal(dmp_node_write_prefix_probes(), probes + 1);
    assert_false(has(f.ts.s, "n.test", "d"));
    t.flags = 0;
    /* delete all then put: at most the put counts */
    mk(&ch[0], DMP_NODE_CH_DEL_ALL, "n.test", NULL);
    mk(&ch[1], DMP_NODE_CH_PUT, "n.test", "z");
    t.n = 2;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(count_at(f.ts.s, "n.test"), 1);
    /* unsafe value: checked after the cap, only with the flag */
    mk(&ch[0], DMP_NODE_CH_PUT, "u.test", "bad\"");
    t.n = 1;
    t.flags = DMP_NODE_TXN_CHECK_VALUES;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EINVAL);
    assert_int_equal(count_at(f.ts.s, "u.test"), 0);
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "new\"");
    dmp_node_txn_exec(&env, &t); /* at the cap: 413 comes first, as the reference */
    t.cap = 1;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EFULL);
    /* deleting nothing: result 0, nothing changed, serial untouched */
    atomic_store(&serial, 5);
    mk(&ch[0], DMP_NODE_CH_DEL_ALL, "absent.test", NULL);
    t.flags = 0;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(t.changed, 0);
    assert_int_equal(atomic_load(&serial), 5);
    fix_close(&f);
}

/* A transaction of puts only (a batch publish) goes through the store's put batch: the same
 * rows, counts and answers as the puts one by one, a value given twice stored once, and a
 * failing check writes none of it. */
static void t_txn_puts_only(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    dmp_node_change_t ch[5];
    dmp_node_txn_t t = {.changes = ch, .cap = 3, .done = h_done, .ctx = &f.hk};
    mk(&ch[0], DMP_NODE_CH_PUT, "x.test", "a");
    mk(&ch[1], DMP_NODE_CH_PUT, "y.test", "b");
    mk(&ch[2], DMP_NODE_CH_PUT, "x.test", "c");
    mk(&ch[3], DMP_NODE_CH_PUT, "x.test", "a"); /* the same row twice: an indexed batch */
    mk(&ch[4], DMP_NODE_CH_PUT, "z.test", "d");
    t.n = 5;
    dmp_node_txn_exec(&f.env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(t.changed, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ch[i].removed, 0);
    assert_int_equal(f.hk.invalidated, 5);
    assert_int_equal(count_at(f.ts.s, "x.test"), 2);
    assert_int_equal(count_at(f.ts.s, "y.test"), 1);
    assert_true(has(f.ts.s, "z.test", "d"));
    uint64_t rc = 0;
    assert_int_equal(dmp_store_record_count(f.ts.s, &rc), 0);
    assert_int_equal(rc, 4);
    /* x.test holds 2 of 3: two new values in one batch overflow it at the second */
    mk(&ch[0], DMP_NODE_CH_PUT, "w.test", "e");
    mk(&ch[1], DMP_NODE_CH_PUT, "x.test", "f");
    mk(&ch[2], DMP_NODE_CH_PUT, "x.test", "g");
    t.n = 3;
    dmp_node_txn_exec(&f.env, &t);
    assert_int_equal(t.result, DMP_EFULL);
    assert_int_equal(t.failed, 2);
    assert_false(has(f.ts.s, "w.test", "e"));
    assert_false(has(f.ts.s, "x.test", "f"));
    assert_int_equal(dmp_store_record_count(f.ts.s, &rc), 0);
    assert_int_equal(rc, 4);
    fix_close(&f);
}

/* the shard queue's window: a put after a quiet spell is written at the tick at once, the puts
 * after it wait until the window since that write has passed (or the batch bound) */
static void t_write_queue_window(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    const int64_t win = 50 * 1000000LL;
    dmp_node_wq_t q = {.env = f.env, .max_batch = 4, .window_ns = win};
    assert_int_equal(dmp_node_wq_tick(&q, dmp_monotonic_ns()), -1); /* nothing pending */
    puts8_t p;
    puts8_make(&p, &f, 'w');
    dmp_node_txn_t *t = p.t;
    dmp_node_wq_take(&q, &t[0]);
    assert_int_equal(f.hk.done, 0);
    assert_int_equal(dmp_node_wq_tick(&q, dmp_monotonic_ns()), -1); /* first: at once */
    assert_int_equal(f.hk.done, 1);
    assert_int_equal(count_at(f.ts.s, "w0.test"), 1);
    int64_t t0 = q.last_flush_ns;
    assert_true(t0 > 0);
    dmp_node_wq_take(&q, &t[1]);
    dmp_node_wq_take(&q, &t[2]);
    int64_t left = dmp_node_wq_tick(&q, t0 + win / 5);
    assert_int_equal(left, win - win / 5); /* waits for the rest of the window */
    assert_int_equal(f.hk.done, 1);
    assert_int_equal(q.n, 2);
    assert_int_equal(count_at(f.ts.s, "w1.test"), 0);     /* not written yet */
    assert_int_equal(dmp_node_wq_tick(&q, t0 + win), -1); /* due: both in one batch */
    assert_int_equal(f.hk.done, 3);
    assert_int_equal(count_at(f.ts.s, "w1.test"), 1);
    assert_int_equal(count_at(f.ts.s, "w2.test"), 1);
    /* within the next window the batch bound still writes at once */
    for (int i = 3; i < 7; i++)
        dmp_node_wq_take(&q, &t[i]);
    assert_int_equal(q.n, 0);
    assert_int_equal(f.hk.done, 7);
    /* a clock that went back (not monotonic to the caller) writes rather than waits */
    dmp_node_wq_take(&q, &t[7]);
    assert_int_equal(dmp_node_wq_tick(&q, q.last_flush_ns - 1), -1);
    assert_int_equal(f.hk.done, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(t[i].result, 0);
    fix_close(&f);
}

/* the shard queue: single puts are batched, cap counted over pending values */
static void t_write_queue(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    dmp_node_wq_t q = {.env = f.env, .max_batch = 8};
    dmp_node_change_t ch[12];
    dmp_node_txn_t t[12];
    const char *vals[4] = {"one", "two", "three", "one"};
    for (int i = 0; i < 4; i++) {
        mk(&ch[i], DMP_NODE_CH_PUT, "n.test", vals[i]);
        t[i] = (dmp_node_txn_t){.changes = &ch[i], .n = 1, .cap = 2, .done = h_done, .ctx = &f.hk};
        dmp_node_wq_take(&q, &t[i]);
    }
    assert_int_equal(t[2].result, DMP_EFULL); /* over the cap counting pending values */
    assert_int_equal(f.hk.done, 1);           /* the others wait for the batch */
    assert_int_equal(q.n, 3);
    dmp_node_wq_flush(&q);
    assert_int_equal(f.hk.done, 4);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(t[1].result, 0);
    assert_int_equal(t[3].result, 0);
    assert_int_equal(count_at(f.ts.s, "n.test"), 2);
    assert_string_equal(f.hk.last_inval, "n.test");
    /* a delete flushes the pending puts first, then runs */
    mk(&ch[4], DMP_NODE_CH_PUT, "d.test", "x");
    t[4] = (dmp_node_txn_t){.changes = &ch[4], .n = 1, .done = h_done, .ctx = &f.hk};
    dmp_node_wq_take(&q, &t[4]);
    mk(&ch[5], DMP_NODE_CH_DEL_ALL, "d.test", NULL);
    t[5] = (dmp_node_txn_t){.changes = &ch[5], .n = 1, .done = h_done, .ctx = &f.hk};
    dmp_node_wq_take(&q, &t[5]);
    assert_int_equal(t[4].result, 0);
    assert_int_equal(t[5].result, 0);
    assert_int_equal(t[5].changed, 1);
    dmp_node_wq_take(&q, &t[5]);
    assert_int_equal(t[5].changed, 0); /* nothing left: HTTP answers 404 */
    /* the batch bound flushes by itself */
    puts8_t p;
    puts8_make(&p, &f, 'b');
    dmp_node_txn_t *mt = p.t;
    for (int i = 0; i < 8; i++) {
        mt[i].result = 99;
        dmp_node_wq_take(&q, &mt[i]);
    }
    assert_int_equal(q.n, 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(mt[i].result, 0);
    dmp_node_tstats_t sum;
    dmp_node_metrics_sum(&f.m, &sum);
    assert_true(sum.writes >= 12);
    assert_true(sum.write_batches >= 3);
    assert_int_equal(sum.deletes, 1); /* the second delete removed nothing */
    fix_close(&f);
}

/* ---- generations and the lookup ---- */
static void t_neggen(void **state)
{
    (void)state;
    dmp_node_neggen_t *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    unsigned s_b = dmp_node_neg_slot("b.zone.test", 11);
    unsigned s_z = dmp_node_neg_slot("zone.test", 9);
    dmp_node_neggen_bump(g, "zone.test", "a.b.zone.test", 13);
    assert_int_equal(atomic_load(&g->gen[s_b]), 1);
    if (s_z != s_b)
        assert_int_equal(atomic_load(&g->gen[s_z]), 0);         /* the apex itself is not bumped */
    dmp_node_neggen_bump(g, "zone.test", "a.b.other.test", 14); /* outside: nothing */
    assert_int_equal(atomic_load(&g->gen[s_b]), 1);
    /* no zone: every ancestor of >= 2 labels */
    unsigned s_bc = dmp_node_neg_slot("b.c", 3), s_c = dmp_node_neg_slot("c", 1);
    dmp_node_neggen_bump(g, "", "a.b.c", 5);
    assert_int_equal(atomic_load(&g->gen[s_bc]), s_bc == s_b ? 2 : 1);
    if (s_c != s_bc && s_c != s_b)
        assert_int_equal(atomic_load(&g->gen[s_c]), 0);
    free(g);
}

static void t_lookup(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    dmp_cache_t *cache = NULL;
    assert_int_equal(dmp_cache_new(1 << 20, &cache), 0);
    dmp_node_neggen_t *g = calloc(1, sizeof(*g));
    dmp_node_lookup_t l;
    dmp_node_lookup_init(&l, f.ts.s, cache, g, &f.m.t[0], 60);
    l.now_ms = g_now;
    dmp_dns_rrset_view_t v;
    /* NXDOMAIN, cached */
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(f.m.t[0].cache_neg_hits, 1);
    /* a child appears in the store: the cached NXDOMAIN still answers until the bump */
    assert_int_equal(
        dmp_store_put(f.ts.s, "slot-0.mb.zone.test", 19, (const uint8_t *)"v", 1, 60, g_now), 0);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    dmp_node_neggen_bump(g, "zone.test", "slot-0.mb.zone.test", 19);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), 0); /* NODATA (RFC 8020) */
    assert_int_equal(v.count, 0);
    /* the child: a miss, then a hit with the same bytes */
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(v.count, 1);
    uint64_t misses = f.m.t[0].cache_misses;
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(f.m.t[0].cache_misses, misses);
    assert_true(f.m.t[0].cache_hits >= 1);
    /* entries end with the earliest expiry */
    l.now_ms = g_now + 61000;
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), DMP_ENOTFOUND);
    /* Cached NXDOMAINs and empty non-terminals are outdated by their generation, not by their
     * age (records put or deleted straight in the store below, with no bump and no invalidation,
     * are not seen for DMP_NODE_NX_CACHE_MS); an empty non-terminal also ends when the record
     * found below it expires. */
    int64_t t0 = g_now + 100000;
    l.now_ms = t0;
    assert_int_equal(dmp_node_lookup(&l, "nx.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(
        dmp_store_put(f.ts.s, "a.ent.zone.test", 15, (const uint8_t *)"e", 1, 86400, t0), 0);
    assert_int_equal(
        dmp_store_put(f.ts.s, "b.short.zone.test", 17, (const uint8_t *)"s", 1, 100, t0), 0);
    assert_int_equal(dmp_node_lookup(&l, "ent.zone.test", 13, &v), 0); /* NODATA, cached */
    assert_int_equal(v.count, 0);
    assert_int_equal(dmp_node_lookup(&l, "short.zone.test", 15, &v), 0);
    assert_int_equal(dmp_store_put(f.ts.s, "nx.zone.test", 12, (const uint8_t *)"n", 1, 86400, t0),
                     0);
    assert_int_equal(dmp_store_delete(f.ts.s, "a.ent.zone.test", 15, (const uint8_t *)"e", 1, NULL),
                     0);
    l.now_ms = t0 + 60000; /* longer than the 30 s these entries used to live */
    uint64_t neg = f.m.t[0].cache_neg_hits, hits = f.m.t[0].cache_hits;
    assert_int_equal(dmp_node_lookup(&l, "nx.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(f.m.t[0].cache_neg_hits, neg + 1);
    assert_int_equal(dmp_node_lookup(&l, "ent.zone.test", 13, &v), 0);
    assert_int_equal(v.count, 0);
    assert_int_equal(f.m.t[0].cache_hits, hits + 1);
    /* the delete's bump (as dmp_node_apply makes it) outdates the non-terminal */
    dmp_node_neggen_bump(g, "zone.test", "a.ent.zone.test", 15);
    assert_int_equal(dmp_node_lookup(&l, "ent.zone.test", 13, &v), DMP_ENOTFOUND);
    /* the only record below short.zone.test expired at t0 + 100 s: so did its entry */
    l.now_ms = t0 + 101000;
    assert_int_equal(dmp_node_lookup(&l, "short.zone.test", 15, &v), DMP_ENOTFOUND);
    l.now_ms = t0 + DMP_NODE_NX_CACHE_MS + 1000;
    assert_int_equal(dmp_node_lookup(&l, "nx.zone.test", 12, &v), 0);
    assert_int_equal(v.count, 1);
    /* without a cache every lookup reads the store */
    dmp_node_lookup_t l2;
    dmp_node_lookup_init(&l2, f.ts.s, NULL, NULL, &f.m.t[0], 60);
    l2.now_ms = g_now;
    assert_int_equal(dmp_node_lookup(&l2, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(v.count, 1);
    dmp_node_lookup_free(&l2);
    dmp_node_lookup_free(&l);
    dmp_cache_free(cache);
    free(g);
    fix_close(&f);
}

/* ---- answer size: a put that would make the name's answer exceed one DNS message ---- */
static void t_answer_size(void **state)
{
    (void)state;
    /* TXT RDATA: value + one length byte per 255-byte string, at least one string */
    assert_int_equal(dmp_store_txt_rdata_len(0), 1);
    assert_int_equal(dmp_store_txt_rdata_len(255), 256);
    assert_int_equal(dmp_store_txt_rdata_len(256), 258);
    assert_int_equal(dmp_store_txt_rdata_len(12288), 12288 + 49);
    /* header 12 + question (13 + 2 + 4) + OPT 11 + options 28 + 132 + 6, + 12 per RR */
    assert_int_equal(dmp_node_answer_size(13, 0, 0), 12 + 19 + 177);
    assert_int_equal(dmp_node_answer_size(13, 2, 100), 12 + 19 + 177 + 24 + 100);

    fix_t f;
    fix_open(&f);
    dmp_node_wq_t q = {.env = f.env, .max_batch = 16};
    const char *name = "big.zone.test"; /* 13 */
    enum { VL = 12288, NV = 8 };
    static uint8_t vals[NV][VL];
    dmp_node_change_t ch[NV];
    dmp_node_txn_t t[NV];
    /* 5 x 12,288-byte values: 208 + 5 x 12,349 = 61,953 bytes fit; a sixth would not */
    for (int i = 0; i < NV; i++) {
        memset(vals[i], 'a' + i, VL);
        assert_int_equal(
            dmp_node_change_set(&ch[i], DMP_NODE_CH_PUT, name, strlen(name), vals[i], VL, 60), 0);
    }
    for (int i = 0; i < 6; i++) {
        t[i] = (dmp_node_txn_t){.changes = &ch[i],
                                .n = 1,
                                .cap = 64,
                                .flags = DMP_NODE_TXN_CHECK_SIZE,
                                .done = h_done,
                                .ctx = &f.hk};
        dmp_node_wq_take(&q, &t[i]);
    }
    /* the five earlier ones are still pending in the batch: they count */
    assert_int_equal(q.n, 5);
    assert_int_equal(t[5].result, DMP_EMSGSIZE);
    assert_int_equal(f.hk.done, 1);
    dmp_node_wq_flush(&q);
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i].result, 0);
    assert_int_equal(count_at(f.ts.s, name), 5);
    /* against the store alone: still refused; a value already there only refreshes */
    t[6] = (dmp_node_txn_t){.changes = &ch[6],
                            .n = 1,
                            .cap = 64,
                            .flags = DMP_NODE_TXN_CHECK_SIZE,
                            .done = h_done,
                            .ctx = &f.hk};
    dmp_node_txn_exec(&q.env, &t[6]);
    assert_int_equal(t[6].result, DMP_EMSGSIZE);
    assert_int_equal(t[6].failed, 0);
    t[0].result = 99;
    dmp_node_txn_exec(&q.env, &t[0]);
    assert_int_equal(t[0].result, 0);
    size_t cnt = 0, bytes = 0;
    assert_int_equal(dmp_store_count_values_ex(f.ts.s, name, strlen(name), g_now, &cnt, &bytes), 0);
    assert_int_equal(cnt, 5);
    assert_int_equal(bytes, 5 * (VL + 49));
    /* every stored value is served, in an answer that fits one message */
    dmp_node_lookup_t l;
    dmp_node_lookup_init(&l, f.ts.s, NULL, NULL, &f.m.t[0], 60);
    l.now_ms = g_now;
    dmp_dns_rrset_view_t v;
    assert_int_equal(dmp_node_lookup(&l, name, strlen(name), &v), 0);
    assert_int_equal(v.count, 5);
    assert_int_equal(v.len, 5 * (12 + VL + 49)); /* the formula's per-RR bytes, exactly */
    assert_true(dmp_node_answer_size(strlen(name), v.count, v.len - 12 * v.count) <= 65535);
    dmp_node_lookup_free(&l);

    /* earlier changes of one transaction count: clear + 5 puts fit, clear + 6 do not */
    dmp_node_change_t tc[7];
    assert_int_equal(
        dmp_node_change_set(&tc[0], DMP_NODE_CH_DEL_ALL, name, strlen(name), NULL, 0, 60), 0);
    for (int i = 0; i < 6; i++)
        tc[i + 1] = ch[i + 2]; /* c..h */
    dmp_node_txn_t tt = {.changes = tc,
                         .n = 7,
                         .cap = 64,
                         .flags = DMP_NODE_TXN_CHECK_SIZE,
                         .done = h_done,
                         .ctx = &f.hk};
    dmp_node_txn_exec(&q.env, &tt);
    assert_int_equal(tt.result, DMP_EMSGSIZE);
    assert_int_equal(tt.failed, 6);
    assert_int_equal(count_at(f.ts.s, name), 5); /* nothing of it applied */
    tt.n = 6;
    dmp_node_txn_exec(&q.env, &tt);
    assert_int_equal(tt.result, 0);
    assert_int_equal(count_at(f.ts.s, name), 5);
    /* a small value still fits beside them: 61,953 + 12 + 2 */
    dmp_node_change_t sc;
    assert_int_equal(
        dmp_node_change_set(&sc, DMP_NODE_CH_PUT, name, strlen(name), (const uint8_t *)"s", 1, 60),
        0);
    dmp_node_txn_t st = {
        .changes = &sc, .n = 1, .flags = DMP_NODE_TXN_CHECK_SIZE, .done = h_done, .ctx = &f.hk};
    dmp_node_txn_exec(&q.env, &st);
    assert_int_equal(st.result, 0);
    assert_int_equal(count_at(f.ts.s, name), 6);
    fix_close(&f);
}

/* the shard's write path turns RocksDB's perf counting off on its thread: a read there counts
 * no key comparisons afterwards (a new thread counts them by default) */
typedef struct {
    fix_t *f;
    uint64_t before, after;
} perf_t;

static uint64_t comparisons_of_reads(dmp_store_t *s)
{
    rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create();
    rocksdb_perfcontext_reset(pc);
    for (int i = 0; i < 8; i++)
        (void)has(s, "p.test", i % 2 ? "one" : "two");
    uint64_t n = rocksdb_perfcontext_metric(pc, rocksdb_user_key_comparison_count);
    rocksdb_perfcontext_destroy(pc);
    return n;
}

static void *perf_writer(void *arg)
{
    perf_t *p = arg;
    p->before = comparisons_of_reads(p->f->ts.s);
    dmp_node_wq_t q = {.env = p->f->env, .max_batch = 8};
    dmp_node_change_t ch;
    mk(&ch, DMP_NODE_CH_PUT, "p.test", "two");
    dmp_node_txn_t t = {.changes = &ch, .n = 1, .done = h_done, .ctx = &p->f->hk};
    dmp_node_wq_take(&q, &t);
    dmp_node_wq_flush(&q);
    assert_int_equal(t.result, 0);
    p->after = comparisons_of_reads(p->f->ts.s);
    return NULL;
}

static void t_write_queue_perf_off(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f);
    dmp_store_put_t one = {"p.test", 6, (const uint8_t *)"one", 3, 60};
    assert_int_equal(dmp_store_put_batch(f.ts.s, &one, 1, g_now), 0); /* a row to look for */
    perf_t p = {.f = &f};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, perf_writer, &p), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_true(p.before > 0);
    assert_int_equal(p.after, 0);
    fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_change_set),  cmocka_unit_test(t_store_apply),
        cmocka_unit_test(t_txn_exec),    cmocka_unit_test(t_txn_puts_only),
        cmocka_unit_test(t_write_queue), cmocka_unit_test(t_write_queue_window),
        cmocka_unit_test(t_neggen),      cmocka_unit_test(t_lookup),
        cmocka_unit_test(t_answer_size), cmocka_unit_test(t_write_queue_perf_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
