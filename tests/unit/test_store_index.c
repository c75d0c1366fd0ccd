/* Unit tests for src/store: the indexes beside the records: descendants (empty
 * non-terminals), iteration since a cursor, names, prefix scans, Merkle buckets, the KV column
 * family. */
#include "store_harness.h"

/* ---- empty non-terminals: dmp_store_has_descendant ---- */

static bool desc(dmp_store_t *s, const char *name, int64_t now)
{
    bool out = true;
    assert_int_equal(dmp_store_has_descendant(s, name, strlen(name), now, &out), 0);
    return out;
}

static void test_descendant_basic(void **state)
{
    fx_t *f = *state;
    assert_false(desc(f->s, "mb-abc.mesh.test", T0));
    assert_int_equal(put_s(f->s, "slot-1.mb-abc.mesh.test", "v", 100, T0), 0);
    /* every proper ancestor, down to a single label */
    assert_true(desc(f->s, "mb-abc.mesh.test", T0));
    assert_true(desc(f->s, "mesh.test", T0));
    assert_true(desc(f->s, "test", T0));
    assert_true(desc(f->s, "MB-ABC.Mesh.TEST", T0)); /* case-insensitive */
    /* the name itself has no descendants; siblings and label-suffix names are not ancestors */
    assert_false(desc(f->s, "slot-1.mb-abc.mesh.test", T0));
    assert_false(desc(f->s, "b-abc.mesh.test", T0));
    assert_false(desc(f->s, "abc.mesh.test", T0));
    assert_false(desc(f->s, "mb-ab.mesh.test", T0));
    assert_false(desc(f->s, "mb-abcd.mesh.test", T0));
    assert_false(desc(f->s, "esh.test", T0));
    assert_false(desc(f->s, "other.test2", T0));
    /* label boundary: xa.b is below b but not below a.b */
    assert_int_equal(put_s(f->s, "xa.b", "v", 100, T0), 0);
    assert_false(desc(f->s, "a.b", T0));
    assert_true(desc(f->s, "b", T0));
    /* a name holding values of its own is not a descendant of itself */
    assert_int_equal(put_s(f->s, "leaf.only", "v", 100, T0), 0);
    assert_false(desc(f->s, "leaf.only", T0));
    assert_true(desc(f->s, "only", T0));
    /* several levels deep */
    assert_int_equal(put_s(f->s, "a1.b2.c3.d4.e5.f6", "v", 100, T0), 0);
    const char *anc[] = {"b2.c3.d4.e5.f6", "c3.d4.e5.f6", "d4.e5.f6", "e5.f6", "f6"};
    for (size_t i = 0; i < sizeof anc / sizeof anc[0]; i++)
        assert_true(desc(f->s, anc[i], T0));
    assert_false(desc(f->s, "a1.b2.c3.d4.e5.f6", T0));
    assert_false(desc(f->s, "x.c3.d4.e5.f6", T0));
    /* bad arguments */
    bool out;
    assert_int_equal(dmp_store_has_descendant(f->s, "", 0, T0, &out), DMP_ENAME);
    assert_int_equal(dmp_store_has_descendant(f->s, "a", 1, T0, NULL), DMP_EINVAL);
    assert_int_equal(dmp_store_has_descendant(NULL, "a", 1, T0, &out), DMP_EINVAL);
}

static void test_descendant_expiry(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "c1.ent.test", "v", 10, T0), 0);
    assert_true(desc(f->s, "ent.test", T0 + 9999));
    assert_false(desc(f->s, "ent.test", T0 + 10000)); /* expires_ms <= now is dead */
    /* a refresh moves the index entry's expiry both ways */
    assert_int_equal(put_s(f->s, "c1.ent.test", "v", 100, T0 + 1000), 0);
    assert_true(desc(f->s, "ent.test", T0 + 50000));
    assert_int_equal(put_s(f->s, "c1.ent.test", "v", 5, T0 + 2000), 0);
    assert_false(desc(f->s, "ent.test", T0 + 7000));
    assert_true(desc(f->s, "ent.test", T0 + 6999));
    /* one live child among dead ones is enough */
    assert_int_equal(put_s(f->s, "c2.ent.test", "w", 1000, T0), 0);
    assert_true(desc(f->s, "ent.test", T0 + 7000));
    /* the sweep removes the index entries with the rows: false even at a time they lived */
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 2000000, 0, &rem), 0);
    assert_int_equal(rem, 2);
    assert_false(desc(f->s, "ent.test", T0));
    assert_false(desc(f->s, "test", T0));
}

static void test_descendant_delete(void **state)
{
    fx_t *f = *state;
    size_t rem = 0;
    assert_int_equal(put_s(f->s, "v1.del.test", "a", 100, T0), 0);
    assert_int_equal(put_s(f->s, "v1.del.test", "b", 100, T0), 0);
    assert_int_equal(put_s(f->s, "v2.x.del.test", "c", 100, T0), 0);
    assert_true(desc(f->s, "del.test", T0));
    /* one value of two: still there */
    assert_int_equal(dmp_store_delete(f->s, "v1.del.test", 11, (const uint8_t *)"a", 1, &rem), 0);
    assert_true(desc(f->s, "del.test", T0));
    assert_int_equal(dmp_store_delete(f->s, "v1.del.test", 11, NULL, 0, &rem), 0);
    assert_true(desc(f->s, "del.test", T0)); /* v2.x.del.test remains */
    assert_true(desc(f->s, "x.del.test", T0));
    assert_int_equal(
        dmp_store_delete_ex(f->s, "V2.X.del.test", 13, NULL, 0, &rem, DMP_STORE_NOSYNC), 0);
    assert_false(desc(f->s, "x.del.test", T0));
    assert_false(desc(f->s, "del.test", T0));
    assert_false(desc(f->s, "test", T0));
}

static void test_descendant_bounded(void **state)
{
    fx_t *f = *state;
    /* dead, unswept entries are skipped ... */
    dmp_store_put_t puts[80];
    char names[80][32];
    for (int i = 0; i < 80; i++) {
        snprintf(names[i], sizeof names[i], "c%02d.dead.test", i);
        puts[i] = (dmp_store_put_t){names[i], strlen(names[i]), (const uint8_t *)"v", 1, 1};
    }
    assert_int_equal(dmp_store_put_batch(f->s, puts, 10, T0), 0);
    assert_false(desc(f->s, "dead.test", T0 + 5000));
    /* ... but only up to a bound: a long dead run answers "exists" (the safe answer) */
    assert_int_equal(dmp_store_put_batch(f->s, puts + 10, 70, T0), 0);
    assert_true(desc(f->s, "dead.test", T0 + 5000));
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 80);
    assert_false(desc(f->s, "dead.test", T0 + 5000));
}

static void test_descendant_reopen(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "k.keep.test", "v", 100, T0), 0);
    reopen(f);
    assert_true(desc(f->s, "keep.test", T0));
    assert_false(desc(f->s, "keep.test", T0 + 100000));
    uint32_t old = 0;
    dmp_store_close(f->s);
    f->s = NULL;
    raw_edit(f->path, 0, NULL, NULL, &old);
    assert_int_equal(old, DMP_STORE_SCHEMA_VERSION);
    reopen(f);
    assert_true(desc(f->s, "keep.test", T0));
}

static void test_descendant_migration(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "slot-1.mb-abc.mig.test", "v", 100, T0), 0);
    assert_int_equal(put_s(f->s, "slot-2.mb-abc.mig.test", "v", 100, T0), 0);
    assert_int_equal(put_s(f->s, "gone.old.mig.test", "v", 5, T0), 0); /* dead at T0 + 5000 */
    for (int i = 0; i < 5000; i++) { /* more than one migration batch */
        char nm[48];
        snprintf(nm, sizeof nm, "chunk-%04d-k.bulk.test", i);
        assert_int_equal(put_s(f->s, nm, "x", 100, T0), 0);
    }
    /* reopen first: the raw open below then replays no WAL with options lacking our merge
     * operators and prefix extractor */
    reopen(f);
    dmp_store_close(f->s);
    f->s = NULL;
    /* A schema-1 store: no name index, version 1. */
    uint32_t old = 0;
    raw_edit(f->path, 1, "rnames", NULL, &old);
    assert_int_equal(old, DMP_STORE_SCHEMA_VERSION);
    reopen(f); /* migrates */
    assert_true(desc(f->s, "mb-abc.mig.test", T0));
    assert_true(desc(f->s, "mig.test", T0));
    assert_true(desc(f->s, "bulk.test", T0));
    assert_false(desc(f->s, "chunk-0001-k.bulk.test", T0));
    assert_true(desc(f->s, "old.mig.test", T0 + 4999)); /* expired rows were indexed too */
    assert_false(desc(f->s, "old.mig.test", T0 + 5000));
    assert_false(desc(f->s, "abc.mig.test", T0));
    assert_int_equal(count_of(f->s), 5003);
    /* the rebuilt entries are the ones later deletes and sweeps remove */
    size_t rem = 0;
    assert_int_equal(dmp_store_delete(f->s, "slot-1.mb-abc.mig.test", 22, NULL, 0, &rem), 0);
    assert_true(desc(f->s, "mb-abc.mig.test", T0));
    assert_int_equal(dmp_store_delete(f->s, "slot-2.mb-abc.mig.test", 22, NULL, 0, &rem), 0);
    assert_false(desc(f->s, "mb-abc.mig.test", T0));
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_false(desc(f->s, "old.mig.test", T0));
    /* the new version was stamped: the next open does not migrate again */
    dmp_store_close(f->s);
    f->s = NULL;
    raw_edit(f->path, 0, NULL, NULL, &old);
    assert_int_equal(old, DMP_STORE_SCHEMA_VERSION);
    reopen(f);
    assert_true(desc(f->s, "bulk.test", T0));
}

static void test_iter_since(void **state)
{
    fx_t *f = *state;
    /* stored times: a@T0 (two values), b@T0, ab@T0+1, c@T0+2 (expired at query time) */
    assert_int_equal(put_s(f->s, "b.test", "1", 100, T0), 0);
    assert_int_equal(put_s(f->s, "a.test", "1", 100, T0), 0);
    assert_int_equal(put_s(f->s, "a.test", "2", 100, T0), 0);
    assert_int_equal(put_s(f->s, "ab.test", "1", 100, T0 + 1), 0);
    assert_int_equal(put_s(f->s, "c.test", "1", 1, T0 + 2), 0);
    int64_t now = T0 + 5000;
    coll_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_iter_since(f->s, 0, "", NULL, 0, now, collect, &c), 0);
    assert_int_equal(c.n, 4);
    /* order: (T0,a.test,h(1|2) sorted), (T0,b.test), (T0+1,ab.test) */
    uint8_t h1[32], h2[32];
    crypto_hash_sha256(h1, (const uint8_t *)"1", 1);
    crypto_hash_sha256(h2, (const uint8_t *)"2", 1);
    bool h1first = memcmp(h1, h2, 32) < 0;
    assert_string_equal(c.names[0], "a.test");
    assert_string_equal(c.names[1], "a.test");
    assert_string_equal(c.vals[0], h1first ? "1" : "2");
    assert_string_equal(c.vals[1], h1first ? "2" : "1");
    assert_string_equal(c.names[2], "b.test");
    assert_string_equal(c.names[3], "ab.test");
    assert_true(c.recs[3].stored_ms == T0 + 1);

    /* Strictly after a full cursor: resume after the first a.test row. */
    coll_t d;
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0, "a.test", c.recs[0].hash, 0, now, collect, &d),
                     0);
    assert_int_equal(d.n, 3);
    assert_string_equal(d.vals[0], c.vals[1]);
    assert_string_equal(d.names[1], "b.test");
    /* 2-field cursor (hash NULL = ""): every row of that name at that ts is after it */
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0, "a.test", NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 4);
    /* name cursor between names; "a.test" < "a.testz" < "b.test" */
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0, "a.testz", NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.names[0], "b.test");
    /* legacy since mapping ("\xff", hash "g" ~ after everything at that ts) */
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0, "\xff", NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.names[0], "ab.test");
    /* paging with limit reproduces the full order */
    coll_t all;
    memset(&all, 0, sizeof all);
    int64_t cts = 0;
    char cname[64] = "";
    uint8_t chash[32];
    bool have_hash = false;
    for (int page = 0; page < 10; page++) {
        memset(&d, 0, sizeof d);
        assert_int_equal(
            dmp_store_iter_since(f->s, cts, cname, have_hash ? chash : NULL, 1, now, collect, &d),
            0);
        if (d.n == 0)
            break;
        assert_int_equal(d.n, 1);
        strcpy(all.names[all.n], d.names[0]);
        strcpy(all.vals[all.n], d.vals[0]);
        all.n++;
        cts = d.recs[0].stored_ms;
        strcpy(cname, d.names[0]);
        memcpy(chash, d.recs[0].hash, 32);
        have_hash = true;
    }
    assert_int_equal(all.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(all.names[i], c.names[i]);
        assert_string_equal(all.vals[i], c.vals[i]);
    }
    /* a refresh moves a row to its new stored time */
    assert_int_equal(put_s(f->s, "b.test", "1", 100, T0 + 3), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, 0, NULL, NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.names[3], "b.test");
    assert_true(d.recs[3].stored_ms == T0 + 3);

    /* A cursor name longer than any stored name: a 255-byte name equal to its first 255
     * bytes sorts before it and is skipped; "ab.test" sorts after it. */
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(dmp_store_put(f->s, longname, 255, (const uint8_t *)"v", 1, 100, T0 + 1), 0);
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0 + 1, longname, NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.names[0], "ab.test");
    assert_string_equal(d.names[1], "b.test");
    /* ... while the 255-byte cursor itself puts that row strictly after (empty hash) */
    longname[255] = 0;
    memset(&d, 0, sizeof d);
    assert_int_equal(dmp_store_iter_since(f->s, T0 + 1, longname, NULL, 0, now, collect, &d), 0);
    assert_int_equal(d.n, 3);
}

static void test_get_names(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "b.test", "b1", 100, T0), 0);
    assert_int_equal(put_s(f->s, "a.test", "a1", 100, T0 + 1), 0);
    assert_int_equal(put_s(f->s, "a.test", "a2", 100, T0), 0);
    assert_int_equal(put_s(f->s, "c.test", "c1", 1, T0), 0); /* expired at query time */
    const char *names[] = {"a.test", "B.TEST", "c.test", "nope.test", "A.test", ""};
    size_t lens[] = {6, 6, 6, 9, 6, 0};
    coll_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_get_names(f->s, names, lens, 6, T0 + 2000, collect, &c), 0);
    assert_int_equal(c.n, 3);
    /* (stored_ms, name, hash): a2@T0 < b1@T0 < a1@T0+1 */
    assert_string_equal(c.vals[0], "a2");
    assert_string_equal(c.vals[1], "b1");
    assert_string_equal(c.vals[2], "a1");
    assert_string_equal(c.names[1], "b.test");
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_get_names(f->s, names + 3, lens + 3, 1, T0, collect, &c), 0);
    assert_int_equal(c.n, 0);
}

static void test_scan_prefix(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "cluster.mesh.test", "m1", 100, T0), 0);
    assert_int_equal(put_s(f->s, "cluster.other.test", "m2", 100, T0), 0);
    assert_int_equal(put_s(f->s, "clusterx.test", "m3", 1, T0), 0);
    assert_int_equal(put_s(f->s, "a.test", "m4", 100, T0), 0);
    coll_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_scan_prefix(f->s, "CLUSTER.", 8, T0, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "cluster.mesh.test");
    assert_string_equal(c.names[1], "cluster.other.test");
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_scan_prefix(f->s, NULL, 0, T0 + 2000, collect, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.names[0], "a.test");
}

static void test_merkle(void **state)
{
    fx_t *f = *state;
    uint8_t zero[32] = {0}, d[32], exp[32] = {0}, it[32], h[32];
    uint32_t b, b2;
    assert_int_equal(dmp_store_bucket_of("m.test", 6, &b), 0);
    assert_int_equal(dmp_store_bucket_of("M.TEST", 6, &b2), 0);
    assert_int_equal(b, b2);
    assert_true(b < DMP_STORE_MERKLE_BUCKETS);
    uint8_t nh[32];
    crypto_hash_sha256(nh, (const uint8_t *)"m.test", 6);
    assert_int_equal(b, (uint32_t)nh[0] << 8 | nh[1]);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, zero, 32);
    assert_int_equal(dmp_store_bucket_digest(f->s, DMP_STORE_MERKLE_BUCKETS, d), DMP_EINVAL);

    const char *vals[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(put_s(f->s, "m.test", vals[i], 100, T0), 0);
        crypto_hash_sha256(h, (const uint8_t *)vals[i], 1);
        assert_int_equal(dmp_store_item_digest("m.test", 6, h, it), 0);
        xor32(exp, it);
    }
    /* item digest = SHA-256(name || 0 || hash) */
    uint8_t buf[6 + 1 + 32], manual[32];
    memcpy(buf, "m.test", 6);
    buf[6] = 0;
    memcpy(buf + 7, h, 32);
    crypto_hash_sha256(manual, buf, sizeof buf);
    assert_memory_equal(manual, it, 32);

    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, exp, 32);
    /* refresh does not change the set */
    assert_int_equal(put_s(f->s, "m.test", "a", 50, T0 + 1), 0);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, exp, 32);
    /* delete removes the item's contribution */
    assert_int_equal(dmp_store_delete(f->s, "m.test", 6, (const uint8_t *)"c", 1, NULL), 0);
    xor32(exp, it);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, exp, 32);
    /* expiry via sweep removes "a" (ttl 50 from T0+1) */
    size_t rem;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 51001, 0, &rem), 0);
    assert_int_equal(rem, 1);
    crypto_hash_sha256(h, (const uint8_t *)"a", 1);
    assert_int_equal(dmp_store_item_digest("m.test", 6, h, it), 0);
    xor32(exp, it);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, exp, 32);
    assert_int_equal(dmp_store_delete(f->s, "m.test", 6, NULL, 0, NULL), 0);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
    assert_memory_equal(d, zero, 32);
}

/* Two writer threads (disjoint names) race a sweeper; afterwards the counter and the Merkle
 * digests must match the rows actually present. */

static int kv_collect(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    coll_t *c = ctx;
    if (c->n < 64) {
        snprintf(c->names[c->n], 64, "%.*s", (int)kl, (const char *)k);
        snprintf(c->vals[c->n], 64, "%.*s", (int)vl, (const char *)v);
    }
    c->n++;
    return 0;
}

static void test_kv(void **state)
{
    fx_t *f = *state;
    dmp_buf_t b;
    dmp_buf_init(&b);
    const uint8_t *k1 = (const uint8_t *)"tok:alice";
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_TOKENS, k1, 9, &b), DMP_ENOTFOUND);
    assert_int_equal(dmp_store_kv_put(f->s, DMP_STORE_KV_TOKENS, k1, 9, (const uint8_t *)"A", 1),
                     0);
    assert_int_equal(
        dmp_store_kv_put(f->s, DMP_STORE_KV_TOKENS, (const uint8_t *)"tok:bob", 7, NULL, 0), 0);
    assert_int_equal(
        dmp_store_kv_put(f->s, DMP_STORE_KV_TSIG, (const uint8_t *)"tok:zed", 7, NULL, 0), 0);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_TOKENS, k1, 9, &b), 0);
    assert_int_equal(b.len, 1);
    assert_memory_equal(b.data, "A", 1);
    /* the maps are separate, and separate from the records */
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_HEARTBEATS, k1, 9, &b), DMP_ENOTFOUND);
    assert_int_equal(count_of(f->s), 0);
    coll_t c;
    memset(&c, 0, sizeof c);
    assert_int_equal(
        dmp_store_kv_scan(f->s, DMP_STORE_KV_TOKENS, (const uint8_t *)"tok:", 4, kv_collect, &c),
        0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.names[0], "tok:alice");
    assert_string_equal(c.names[1], "tok:bob");
    reopen(f);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_TOKENS, k1, 9, &b), 0);
    assert_int_equal(dmp_store_kv_delete(f->s, DMP_STORE_KV_TOKENS, k1, 9), 0);
    assert_int_equal(dmp_store_kv_delete(f->s, DMP_STORE_KV_TOKENS, k1, 9), 0);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_TOKENS, k1, 9, &b), DMP_ENOTFOUND);
    /* the cluster map shares "meta" under a prefix: its keys come back without it, and the
     * store's own meta keys stay invisible and intact */
    assert_int_equal(dmp_store_kv_put(f->s, DMP_STORE_KV_CLUSTER, (const uint8_t *)"dc/x", 4,
                                      (const uint8_t *)"cur", 3),
                     0);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_CLUSTER, k1, 9, &b), DMP_ENOTFOUND);
    assert_int_equal(
        dmp_store_kv_get(f->s, DMP_STORE_KV_CLUSTER, (const uint8_t *)"schema_version", 14, &b),
        DMP_ENOTFOUND);
    memset(&c, 0, sizeof c);
    assert_int_equal(dmp_store_kv_scan(f->s, DMP_STORE_KV_CLUSTER, NULL, 0, kv_collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "dc/x");
    assert_string_equal(c.vals[0], "cur");
    reopen(f);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_CLUSTER, (const uint8_t *)"dc/x", 4, &b),
                     0);
    assert_memory_equal(b.data, "cur", 3);
    assert_int_equal(dmp_store_kv_delete(f->s, DMP_STORE_KV_CLUSTER, (const uint8_t *)"dc/x", 4),
                     0);
    assert_int_equal(dmp_store_kv_get(f->s, DMP_STORE_KV_CLUSTER, (const uint8_t *)"dc/x", 4, &b),
                     DMP_ENOTFOUND);
    assert_int_equal(count_of(f->s), 0);
    assert_int_equal(dmp_store_kv_put(f->s, (dmp_store_kv_t)7, k1, 9, NULL, 0), DMP_EINVAL);
    assert_int_equal(dmp_store_kv_put(f->s, DMP_STORE_KV_TSIG, k1, 0, NULL, 0), DMP_EINVAL);
    dmp_buf_free(&b);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_descendant_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descendant_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descendant_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descendant_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descendant_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_descendant_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merkle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
