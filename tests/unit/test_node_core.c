/* Unit tests for the node core: changes, mixed store transactions, the apply path (cap, values,
 * invalidation, generations, serial), the answer lookup, background threads, and the core with
 * a threaded fake executor (single- and multi-shard transactions, hand-off failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

typedef struct {
    char dir[64];
    dmp_store_t *s;
} tstore_t;

static void tstore_open(tstore_t *t)
{
    strcpy(t->dir, "/tmp/dmp-node-core-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/db", t->dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    char err[256];
    assert_int_equal(dmp_store_open(&o, &t->s, err, sizeof(err)), 0);
}

static void tstore_close(tstore_t *t)
{
    dmp_store_close(t->s);
    nftw(t->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t g_now = 1700000000000;
static int64_t fake_now(void)
{
    return g_now;
}

static size_t count_at(dmp_store_t *s, const char *name)
{
    size_t n = 0;
    int rc = dmp_store_count_values(s, name, strlen(name), g_now, &n);
    assert_true(rc == 0 || rc == DMP_ENOTFOUND);
    return n;
}

static bool has(dmp_store_t *s, const char *name, const char *v)
{
    bool out = false;
    int rc = dmp_store_has_value(s, name, strlen(name), (const uint8_t *)v, strlen(v), g_now, &out);
    assert_true(rc == 0 || rc == DMP_ENOTFOUND);
    return out;
}

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
    int puts;
    char last_inval[256];
} hooks_t;

static void h_inval(void *ctx, const char *lname, size_t len)
{
    hooks_t *h = ctx;
    h->invalidated++;
    snprintf(h->last_inval, sizeof(h->last_inval), "%.*s", (int)len, lname);
}

static void h_put(void *ctx, const char *lname, size_t len)
{
    (void)lname;
    (void)len;
    ((hooks_t *)ctx)->puts++;
}

static void h_done(dmp_node_txn_t *t)
{
    ((hooks_t *)t->ctx)->done++;
}

static void mk(dmp_node_change_t *c, dmp_node_chop_t op, const char *name, const char *val)
{
    assert_int_equal(dmp_node_change_set(c, op, name, strlen(name), (const uint8_t *)val,
                                         val ? strlen(val) : 0, 60),
                     0);
}

static void t_txn_exec(void **state)
{
    (void)state;
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, 1), 0);
    _Atomic uint32_t serial = 0;
    hooks_t hk = {0};
    dmp_node_apply_env_t env = {.store = ts.s,
                                .st = &m.t[0],
                                .now_ms = fake_now,
                                .serial = &serial,
                                .invalidate = h_inval,
                                .on_put = h_put,
                                .ctx = &hk};
    assert_int_equal(dmp_store_put(ts.s, "n.test", 6, (const uint8_t *)"a", 1, 60, g_now), 0);
    dmp_node_change_t ch[3];
    dmp_node_txn_t t = {.changes = ch, .cap = 2, .done = h_done, .ctx = &hk};
    /* cap 2 with "a" stored: b fits, c does not -> the whole transaction fails */
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "b");
    mk(&ch[1], DMP_NODE_CH_PUT, "n.test", "c");
    t.n = 2;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EFULL);
    assert_int_equal(t.failed, 1);
    assert_int_equal(hk.done, 1);
    assert_false(has(ts.s, "n.test", "b"));
    assert_int_equal(hk.invalidated, 0);
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
    assert_int_equal(hk.done, 2);
    assert_int_equal(hk.invalidated, 3);
    assert_int_equal(hk.puts, 2);
    assert_int_equal(atomic_load(&serial), (uint32_t)(g_now / 1000));
    assert_false(has(ts.s, "n.test", "a"));
    assert_true(has(ts.s, "n.test", "b") && has(ts.s, "n.test", "c"));
    /* re-publishing an existing value at the cap is fine; a new one is not */
    mk(&ch[0], DMP_NODE_CH_PUT, "n.test", "b");
    t.n = 1;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    /* delete all then put: at most the put counts */
    mk(&ch[0], DMP_NODE_CH_DEL_ALL, "n.test", NULL);
    mk(&ch[1], DMP_NODE_CH_PUT, "n.test", "z");
    t.n = 2;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, 0);
    assert_int_equal(count_at(ts.s, "n.test"), 1);
    /* unsafe value: checked after the cap, only with the flag */
    mk(&ch[0], DMP_NODE_CH_PUT, "u.test", "bad\"");
    t.n = 1;
    t.flags = DMP_NODE_TXN_CHECK_VALUES;
    dmp_node_txn_exec(&env, &t);
    assert_int_equal(t.result, DMP_EINVAL);
    assert_int_equal(count_at(ts.s, "u.test"), 0);
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
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
}

/* the shard queue: single puts are batched, cap counted over pending values */
static void t_write_queue(void **state)
{
    (void)state;
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, 1), 0);
    hooks_t hk = {0};
    dmp_node_wq_t q = {.env = {.store = ts.s,
                               .st = &m.t[0],
                               .now_ms = fake_now,
                               .invalidate = h_inval,
                               .on_put = h_put,
                               .ctx = &hk},
                       .max_batch = 8};
    dmp_node_change_t ch[12];
    dmp_node_txn_t t[12];
    const char *vals[4] = {"one", "two", "three", "one"};
    for (int i = 0; i < 4; i++) {
        mk(&ch[i], DMP_NODE_CH_PUT, "n.test", vals[i]);
        t[i] = (dmp_node_txn_t){.changes = &ch[i], .n = 1, .cap = 2, .done = h_done, .ctx = &hk};
        dmp_node_wq_take(&q, &t[i]);
    }
    assert_int_equal(t[2].result, DMP_EFULL); /* over the cap counting pending values */
    assert_int_equal(hk.done, 1);             /* the others wait for the batch */
    assert_int_equal(q.n, 3);
    dmp_node_wq_flush(&q);
    assert_int_equal(hk.done, 4);
    assert_int_equal(t[0].result, 0);
    assert_int_equal(t[1].result, 0);
    assert_int_equal(t[3].result, 0);
    assert_int_equal(count_at(ts.s, "n.test"), 2);
    assert_string_equal(hk.last_inval, "n.test");
    /* a delete flushes the pending puts first, then runs */
    mk(&ch[4], DMP_NODE_CH_PUT, "d.test", "x");
    t[4] = (dmp_node_txn_t){.changes = &ch[4], .n = 1, .done = h_done, .ctx = &hk};
    dmp_node_wq_take(&q, &t[4]);
    mk(&ch[5], DMP_NODE_CH_DEL_ALL, "d.test", NULL);
    t[5] = (dmp_node_txn_t){.changes = &ch[5], .n = 1, .done = h_done, .ctx = &hk};
    dmp_node_wq_take(&q, &t[5]);
    assert_int_equal(t[4].result, 0);
    assert_int_equal(t[5].result, 0);
    assert_int_equal(t[5].changed, 1);
    dmp_node_wq_take(&q, &t[5]);
    assert_int_equal(t[5].changed, 0); /* nothing left: HTTP answers 404 */
    /* the batch bound flushes by itself */
    char names[8][16];
    dmp_node_change_t mc[8];
    dmp_node_txn_t mt[8];
    for (int i = 0; i < 8; i++) {
        snprintf(names[i], sizeof(names[i]), "b%d.test", i);
        mk(&mc[i], DMP_NODE_CH_PUT, names[i], "v");
        mt[i] = (dmp_node_txn_t){.changes = &mc[i], .n = 1, .done = h_done, .ctx = &hk};
        mt[i].result = 99;
        dmp_node_wq_take(&q, &mt[i]);
    }
    assert_int_equal(q.n, 0);
    for (int i = 0; i < 8; i++)
        assert_int_equal(mt[i].result, 0);
    dmp_node_tstats_t sum;
    dmp_node_metrics_sum(&m, &sum);
    assert_true(sum.writes >= 12);
    assert_true(sum.write_batches >= 3);
    assert_int_equal(sum.deletes, 1); /* the second delete removed nothing */
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
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
    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, 1), 0);
    dmp_cache_t *cache = NULL;
    assert_int_equal(dmp_cache_new(1 << 20, &cache), 0);
    dmp_node_neggen_t *g = calloc(1, sizeof(*g));
    dmp_node_lookup_t l;
    dmp_node_lookup_init(&l, ts.s, cache, g, &m.t[0], 60);
    l.now_ms = g_now;
    dmp_dns_rrset_view_t v;
    /* NXDOMAIN, cached */
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    assert_int_equal(m.t[0].cache_neg_hits, 1);
    /* a child appears in the store: the cached NXDOMAIN still answers until the bump */
    assert_int_equal(
        dmp_store_put(ts.s, "slot-0.mb.zone.test", 19, (const uint8_t *)"v", 1, 60, g_now), 0);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), DMP_ENOTFOUND);
    dmp_node_neggen_bump(g, "zone.test", "slot-0.mb.zone.test", 19);
    assert_int_equal(dmp_node_lookup(&l, "mb.zone.test", 12, &v), 0); /* NODATA (RFC 8020) */
    assert_int_equal(v.count, 0);
    /* the child: a miss, then a hit with the same bytes */
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(v.count, 1);
    uint64_t misses = m.t[0].cache_misses;
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(m.t[0].cache_misses, misses);
    assert_true(m.t[0].cache_hits >= 1);
    /* entries end with the earliest expiry */
    l.now_ms = g_now + 61000;
    assert_int_equal(dmp_node_lookup(&l, "slot-0.mb.zone.test", 19, &v), DMP_ENOTFOUND);
    /* without a cache every lookup reads the store */
    dmp_node_lookup_t l2;
    dmp_node_lookup_init(&l2, ts.s, NULL, NULL, &m.t[0], 60);
    l2.now_ms = g_now;
    assert_int_equal(dmp_node_lookup(&l2, "slot-0.mb.zone.test", 19, &v), 0);
    assert_int_equal(v.count, 1);
    dmp_node_lookup_free(&l2);
    dmp_node_lookup_free(&l);
    dmp_cache_free(cache);
    free(g);
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
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

    tstore_t ts;
    tstore_open(&ts);
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, 1), 0);
    hooks_t hk = {0};
    dmp_node_wq_t q = {.env = {.store = ts.s,
                               .st = &m.t[0],
                               .now_ms = fake_now,
                               .invalidate = h_inval,
                               .on_put = h_put,
                               .ctx = &hk},
                       .max_batch = 16};
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
                                .ctx = &hk};
        dmp_node_wq_take(&q, &t[i]);
    }
    /* the five earlier ones are still pending in the batch: they count */
    assert_int_equal(q.n, 5);
    assert_int_equal(t[5].result, DMP_EMSGSIZE);
    assert_int_equal(hk.done, 1);
    dmp_node_wq_flush(&q);
    for (int i = 0; i < 5; i++)
        assert_int_equal(t[i].result, 0);
    assert_int_equal(count_at(ts.s, name), 5);
    /* against the store alone: still refused; a value already there only refreshes */
    t[6] = (dmp_node_txn_t){.changes = &ch[6],
                            .n = 1,
                            .cap = 64,
                            .flags = DMP_NODE_TXN_CHECK_SIZE,
                            .done = h_done,
                            .ctx = &hk};
    dmp_node_txn_exec(&q.env, &t[6]);
    assert_int_equal(t[6].result, DMP_EMSGSIZE);
    assert_int_equal(t[6].failed, 0);
    t[0].result = 99;
    dmp_node_txn_exec(&q.env, &t[0]);
    assert_int_equal(t[0].result, 0);
    size_t cnt = 0, bytes = 0;
    assert_int_equal(dmp_store_count_values_ex(ts.s, name, strlen(name), g_now, &cnt, &bytes), 0);
    assert_int_equal(cnt, 5);
    assert_int_equal(bytes, 5 * (VL + 49));
    /* every stored value is served, in an answer that fits one message */
    dmp_node_lookup_t l;
    dmp_node_lookup_init(&l, ts.s, NULL, NULL, &m.t[0], 60);
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
                         .ctx = &hk};
    dmp_node_txn_exec(&q.env, &tt);
    assert_int_equal(tt.result, DMP_EMSGSIZE);
    assert_int_equal(tt.failed, 6);
    assert_int_equal(count_at(ts.s, name), 5); /* nothing of it applied */
    tt.n = 6;
    dmp_node_txn_exec(&q.env, &tt);
    assert_int_equal(tt.result, 0);
    assert_int_equal(count_at(ts.s, name), 5);
    /* a small value still fits beside them: 61,953 + 12 + 2 */
    dmp_node_change_t sc;
    assert_int_equal(
        dmp_node_change_set(&sc, DMP_NODE_CH_PUT, name, strlen(name), (const uint8_t *)"s", 1, 60),
        0);
    dmp_node_txn_t st = {
        .changes = &sc, .n = 1, .flags = DMP_NODE_TXN_CHECK_SIZE, .done = h_done, .ctx = &hk};
    dmp_node_txn_exec(&q.env, &st);
    assert_int_equal(st.result, 0);
    assert_int_equal(count_at(ts.s, name), 6);
    dmp_node_metrics_free(&m);
    tstore_close(&ts);
}

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

static size_t mkq(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = 0;
    b[n++] = (uint8_t)(id >> 8);
    b[n++] = (uint8_t)id;
    b[n++] = 0x01; /* RD */
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = 1; /* QDCOUNT */
    memset(b + n, 0, 6);
    n += 6;
    for (const char *p = name; *p;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        b[n++] = (uint8_t)l;
        memcpy(b + n, p, l);
        n += l;
        p += l + (dot ? 1 : 0);
    }
    b[n++] = 0;
    b[n++] = (uint8_t)(qtype >> 8);
    b[n++] = (uint8_t)qtype;
    b[n++] = 0;
    b[n++] = 1;
    return n;
}

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
static int newest_k(const uint8_t *m, size_t len)
{
    int best = -1;
    for (size_t i = 0; i + 2 < len; i++) {
        size_t l = m[i];
        if (l < 2 || l > 6 || i + 1 + l > len || m[i + 1] != 'k')
            continue;
        int n = 0;
        size_t j = 1;
        while (j < l && m[i + 1 + j] >= '0' && m[i + 1 + j] <= '9')
            n = n * 10 + (m[i + 1 + j++] - '0');
        if (j == l && n > best)
            best = n;
    }
    return best;
}

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
    /* an acknowledged write is never answered from the old entry */
    put_wait(c, &wg, &nw, "x.zone.test", "v2");
    assert_false(dmp_node_core_query_frontend(c, 0, q, ql, NULL, 0, out, sizeof(out), &ol));
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
        cmocka_unit_test(t_change_set),  cmocka_unit_test(t_store_apply),
        cmocka_unit_test(t_txn_exec),    cmocka_unit_test(t_write_queue),
        cmocka_unit_test(t_neggen),      cmocka_unit_test(t_lookup),
        cmocka_unit_test(t_answer_size), cmocka_unit_test(t_bgthread),
        cmocka_unit_test(t_core),        cmocka_unit_test(t_core_frontend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
