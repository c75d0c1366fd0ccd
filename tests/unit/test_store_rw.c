/* Unit tests for src/store: puts, gets, refreshes, batches, deletes, expiry and the sweep,
 * counts, names, persistence, the schema version, open errors and the record codec. */
#include "store_harness.h"

/* ---- store tests ---- */

static void test_put_get_order(void **state)
{
    fx_t *f = *state;
    coll_t c;
    assert_int_equal(get_s(f->s, "a.mesh.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(c.n, 0);
    assert_int_equal(put_s(f->s, "a.mesh.test", "v=one", 300, T0), 0);
    assert_int_equal(put_s(f->s, "a.mesh.test", "v=two", 300, T0 + 5), 0);
    /* Same stored_ms: insertion order decides. Hash order of these differs from insertion. */
    assert_int_equal(put_s(f->s, "a.mesh.test", "zzz", 300, T0 + 10), 0);
    assert_int_equal(put_s(f->s, "a.mesh.test", "aaa", 300, T0 + 10), 0);
    assert_int_equal(put_s(f->s, "a.mesh.test", "mmm", 300, T0 + 10), 0);
    assert_int_equal(get_s(f->s, "a.mesh.test", T0 + 20, &c), 0);
    assert_int_equal(c.n, 5);
    assert_string_equal(c.vals[0], "v=one");
    assert_string_equal(c.vals[1], "v=two");
    assert_string_equal(c.vals[2], "zzz");
    assert_string_equal(c.vals[3], "aaa");
    assert_string_equal(c.vals[4], "mmm");
    assert_string_equal(c.names[0], "a.mesh.test");
    assert_int_equal(c.recs[0].ttl, 300);
    assert_true(c.recs[0].stored_ms == T0);
    assert_true(c.recs[0].expires_ms == T0 + 300000);
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)"v=one", 5);
    assert_memory_equal(c.recs[0].hash, h, 32);

    /* Visitor may stop early; still returns 0. */
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(dmp_store_get(f->s, "a.mesh.test", 11, T0, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(count_of(f->s), 5);
}

static void test_refresh_and_set(void **state)
{
    fx_t *f = *state;
    coll_t c;
    assert_int_equal(put_s(f->s, "n.test", "x", 100, T0), 0);
    assert_int_equal(put_s(f->s, "n.test", "y", 100, T0 + 1), 0);
    assert_int_equal(put_s(f->s, "n.test", "x", 50, T0 + 2), 0); /* refresh, shorter TTL */
    assert_int_equal(get_s(f->s, "n.test", T0 + 3, &c), 0);
    assert_int_equal(c.n, 2); /* set semantics: no duplicate */
    assert_string_equal(c.vals[0], "y");
    assert_string_equal(c.vals[1], "x"); /* moved to the end */
    assert_int_equal(c.recs[1].ttl, 50);
    assert_true(c.recs[1].stored_ms == T0 + 2);
    assert_true(c.recs[1].expires_ms == T0 + 2 + 50000);
    assert_int_equal(count_of(f->s), 2);
    /* The refreshed row's old expiry no longer applies: alive at T0+60s, not at T0+2+50s. */
    assert_int_equal(get_s(f->s, "n.test", T0 + 52001, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.vals[0], "y");
    /* Sweeping removes x at its new expiry, y later at its own. */
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 52001, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(count_of(f->s), 1);
    assert_int_equal(dmp_store_sweep(f->s, T0 + 200000, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(count_of(f->s), 0);
}

static void test_batch(void **state)
{
    fx_t *f = *state;
    dmp_store_put_t p[4] = {
        {"b.test", 6, (const uint8_t *)"one", 3, 100},
        {"B.TEST", 6, (const uint8_t *)"two", 3, 100},
        {"b.test", 6, (const uint8_t *)"one", 3, 200}, /* same row twice: later wins */
        {"c.test", 6, (const uint8_t *)"", 0, 100},    /* empty value is a value */
    };
    assert_int_equal(dmp_store_put_batch(f->s, p, 4, T0), 0);
    assert_int_equal(count_of(f->s), 3);
    coll_t c;
    assert_int_equal(get_s(f->s, "b.test", T0, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.vals[0], "two");
    assert_string_equal(c.vals[1], "one");
    assert_int_equal(c.recs[1].ttl, 200);
    assert_int_equal(get_s(f->s, "c.test", T0, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.recs[0].value_len, 0);
    /* One stale expiry entry must not exist for the overwritten duplicate: sweeping at the
     * first TTL removes only "two". */
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 100000, 0, &rem), 0);
    assert_int_equal(rem, 2); /* "two" and the empty value */
    assert_int_equal(count_of(f->s), 1);
    assert_int_equal(get_s(f->s, "b.test", T0 + 100000, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.vals[0], "one");

    /* Validation failure writes nothing. */
    dmp_store_put_t bad[2] = {
        {"d.test", 6, (const uint8_t *)"ok", 2, 100},
        {"", 0, (const uint8_t *)"x", 1, 100},
    };
    assert_int_equal(dmp_store_put_batch(f->s, bad, 2, T0), DMP_ENAME);
    assert_int_equal(get_s(f->s, "d.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(dmp_store_put(f->s, "a\0b", 3, (const uint8_t *)"x", 1, 10, T0), DMP_ENAME);
    char big[300];
    memset(big, 'a', sizeof big);
    assert_int_equal(dmp_store_put(f->s, big, 256, (const uint8_t *)"x", 1, 10, T0), DMP_ENAME);
    assert_int_equal(dmp_store_put(f->s, big, 255, (const uint8_t *)"x", 1, 10, T0), 0);
    assert_int_equal(dmp_store_put_batch(f->s, NULL, 0, T0), 0);
}

static void test_delete(void **state)
{
    fx_t *f = *state;
    coll_t c;
    size_t rem = 99;
    assert_int_equal(put_s(f->s, "d.test", "a", 100, T0), 0);
    assert_int_equal(put_s(f->s, "d.test", "b", 100, T0), 0);
    assert_int_equal(put_s(f->s, "d.test", "c", 100, T0), 0);
    assert_int_equal(put_s(f->s, "d.testx", "a", 100, T0), 0);
    assert_int_equal(put_s(f->s, "d.tes", "a", 100, T0), 0);
    assert_int_equal(count_of(f->s), 5);
    /* absent value */
    assert_int_equal(dmp_store_delete(f->s, "d.test", 6, (const uint8_t *)"zz", 2, &rem),
                     DMP_ENOTFOUND);
    assert_int_equal(rem, 0);
    /* absent name */
    assert_int_equal(dmp_store_delete(f->s, "nope.test", 9, NULL, 0, &rem), DMP_ENOTFOUND);
    assert_int_equal(rem, 0);
    /* one value, name given in upper case */
    assert_int_equal(dmp_store_delete(f->s, "D.Test", 6, (const uint8_t *)"b", 1, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(get_s(f->s, "d.test", T0, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.vals[0], "a");
    assert_string_equal(c.vals[1], "c");
    /* all values: neighbours sharing a prefix are untouched */
    assert_int_equal(dmp_store_delete(f->s, "d.test", 6, NULL, 0, &rem), 0);
    assert_int_equal(rem, 2);
    assert_int_equal(get_s(f->s, "d.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(get_s(f->s, "d.testx", T0, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(get_s(f->s, "d.tes", T0, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(count_of(f->s), 2);
    /* deleted rows leave no expiry entries behind */
    assert_int_equal(dmp_store_sweep(f->s, T0 + 1000000, 0, &rem), 0);
    assert_int_equal(rem, 2);
    assert_int_equal(count_of(f->s), 0);
    /* expired-but-unswept rows count as removed (as the reference) */
    assert_int_equal(put_s(f->s, "e.test", "a", 1, T0), 0);
    assert_int_equal(dmp_store_delete(f->s, "e.test", 6, NULL, 0, &rem), 0);
    assert_int_equal(rem, 1);
}

static void test_expiry_and_sweep(void **state)
{
    fx_t *f = *state;
    coll_t c;
    assert_int_equal(put_s(f->s, "x.test", "short", 10, T0), 0);
    assert_int_equal(put_s(f->s, "x.test", "long", 1000, T0), 0);
    assert_int_equal(put_s(f->s, "y.test", "zero", 0, T0), 0); /* dead at once */
    assert_int_equal(get_s(f->s, "y.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(get_s(f->s, "x.test", T0 + 9999, &c), 0);
    assert_int_equal(c.n, 2);
    /* expires_ms <= now is dead: exactly at the boundary */
    assert_int_equal(get_s(f->s, "x.test", T0 + 10000, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.vals[0], "long");
    size_t n = 9;
    assert_int_equal(dmp_store_count_values(f->s, "x.test", 6, T0 + 10000, &n), 0);
    assert_int_equal(n, 1);
    bool has = true;
    assert_int_equal(
        dmp_store_has_value(f->s, "x.test", 6, (const uint8_t *)"short", 5, T0 + 10000, &has), 0);
    assert_false(has);
    assert_int_equal(
        dmp_store_has_value(f->s, "X.TEST", 6, (const uint8_t *)"short", 5, T0 + 9999, &has), 0);
    assert_true(has);
    /* Invisible, but physically present until swept. */
    assert_int_equal(count_of(f->s), 3);
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 9999, 0, &rem), 0);
    assert_int_equal(rem, 1); /* only the ttl=0 row */
    assert_int_equal(count_of(f->s), 2);
    assert_int_equal(dmp_store_sweep(f->s, T0 + 10000, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(count_of(f->s), 1);
    assert_int_equal(get_s(f->s, "x.test", T0 + 10000, &c), 0);
    assert_int_equal(c.n, 1);
    /* max_records bounds one sweep */
    for (int i = 0; i < 30; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "m%02d.test", i);
        assert_int_equal(put_s(f->s, nm, "v", 5, T0), 0);
    }
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 7, &rem), 0);
    assert_int_equal(rem, 7);
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 23);
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 0);
    assert_int_equal(count_of(f->s), 1);
}

static void test_sweep_many(void **state)
{
    /* More than one internal sweep chunk (1024). */
    fx_t *f = *state;
    enum { N = 2500 };
    dmp_store_put_t *p = calloc(N, sizeof *p);
    char(*names)[32] = calloc(N, 32);
    assert_non_null(p);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 32, "s%05d.test", i);
        p[i] = (dmp_store_put_t){names[i], strlen(names[i]), (const uint8_t *)"v", 1,
                                 (uint32_t)(i % 2 ? 10 : 1000)};
    }
    assert_int_equal(dmp_store_put_batch(f->s, p, N, T0), 0);
    assert_int_equal(count_of(f->s), N);
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 10000, 0, &rem), 0);
    assert_int_equal(rem, N / 2);
    assert_int_equal(count_of(f->s), N / 2);
    coll_t c;
    assert_int_equal(get_s(f->s, "s00001.test", T0, &c), DMP_ENOTFOUND);
    assert_int_equal(get_s(f->s, "s00002.test", T0, &c), 0);
    free(p);
    free(names);
}

static void test_count_values(void **state)
{
    fx_t *f = *state;
    size_t n = 7;
    assert_int_equal(dmp_store_count_values(f->s, "cap.test", 8, T0, &n), 0);
    assert_int_equal(n, 0);
    for (int i = 0; i < 10; i++) {
        char v[8];
        snprintf(v, sizeof v, "v%d", i);
        assert_int_equal(put_s(f->s, "cap.test", v, (uint32_t)(10 + i), T0), 0);
    }
    assert_int_equal(put_s(f->s, "cap.testing", "other", 100, T0), 0);
    assert_int_equal(dmp_store_count_values(f->s, "CAP.test", 8, T0, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(dmp_store_count_values(f->s, "cap.test", 8, T0 + 15000, &n), 0);
    assert_int_equal(n, 4); /* ttls 16..19 still alive */
    bool has = false;
    assert_int_equal(
        dmp_store_has_value(f->s, "cap.test", 8, (const uint8_t *)"v9", 2, T0 + 15000, &has), 0);
    assert_true(has);
    assert_int_equal(dmp_store_has_value(f->s, "cap.test", 8, (const uint8_t *)"v99", 3, T0, &has),
                     0);
    assert_false(has);
}

static void test_lowercase(void **state)
{
    fx_t *f = *state;
    coll_t c;
    assert_int_equal(put_s(f->s, "MiXeD.Mesh.TEST", "hello", 100, T0), 0);
    assert_int_equal(get_s(f->s, "mixed.mesh.test", T0, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], "mixed.mesh.test");
    assert_int_equal(get_s(f->s, "MIXED.MESH.TEST", T0, &c), 0);
    assert_int_equal(c.n, 1);
    /* the same name in another case is the same row */
    assert_int_equal(put_s(f->s, "mixed.MESH.test", "hello", 100, T0 + 1), 0);
    assert_int_equal(count_of(f->s), 1);
    char out[16];
    assert_int_equal(dmp_store_normalize_name("AbC-_9", 6, out, sizeof out), 0);
    assert_memory_equal(out, "abc-_9", 6);
    /* non-ASCII bytes are kept as they are */
    assert_int_equal(dmp_store_normalize_name("\xc3\x89", 2, out, sizeof out), 0);
    assert_memory_equal(out, "\xc3\x89", 2);
}

static void test_persistence(void **state)
{
    fx_t *f = *state;
    coll_t c;
    assert_int_equal(put_s(f->s, "p.test", "one", 100, T0), 0);
    assert_int_equal(put_s(f->s, "p.test", "two", 100, T0 + 1), 0);
    assert_int_equal(put_s(f->s, "q.test", "three", 5, T0), 0);
    uint32_t b;
    uint8_t d1[32], d2[32];
    assert_int_equal(dmp_store_bucket_of("p.test", 6, &b), 0);
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d1), 0);
    reopen(f);
    assert_int_equal(count_of(f->s), 3);
    assert_int_equal(get_s(f->s, "p.test", T0 + 2, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.vals[0], "one");
    assert_string_equal(c.vals[1], "two");
    assert_int_equal(dmp_store_bucket_digest(f->s, b, d2), 0);
    assert_memory_equal(d1, d2, 32);
    /* ordering stays by insertion across restarts for equal stored_ms */
    assert_int_equal(put_s(f->s, "p.test", "three", 100, T0 + 1), 0);
    assert_int_equal(get_s(f->s, "p.test", T0 + 2, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.vals[2], "three");
    /* expiry index survives too */
    size_t rem = 0;
    assert_int_equal(dmp_store_sweep(f->s, T0 + 5000, 0, &rem), 0);
    assert_int_equal(rem, 1);
    reopen(f);
    assert_int_equal(count_of(f->s), 3);
}

static void test_schema_version(void **state)
{
    fx_t *f = *state;
    assert_int_equal(put_s(f->s, "v.test", "x", 100, T0), 0);
    dmp_store_close(f->s);
    f->s = NULL;

    /* Stamp a newer version directly with RocksDB; a newer schema may add column families. */
    uint32_t old = 0;
    raw_edit(f->path, DMP_STORE_SCHEMA_VERSION + 1, NULL, "from_the_future", &old);
    assert_int_equal(old, DMP_STORE_SCHEMA_VERSION);

    char msg[512];
    int rc = 0;
    dmp_store_t *s = open_at(f->path, &rc, msg, sizeof msg);
    assert_null(s);
    assert_int_equal(rc, DMP_EVERSION);
    char want[64];
    snprintf(want, sizeof want, "schema version %u", DMP_STORE_SCHEMA_VERSION + 1);
    assert_non_null(strstr(msg, want));
    assert_non_null(strstr(msg, "newer"));
    /* teardown closes f->s; reopen would fail, so leave a fresh store in another dir */
    char p2[128];
    snprintf(p2, sizeof p2, "%s/db2", f->dir);
    f->s = open_at(p2, &rc, msg, sizeof msg);
    assert_non_null(f->s);
}

static void test_open_errors(void **state)
{
    fx_t *f = *state;
    char msg[256];
    dmp_store_t *s = NULL;
    char p[128];
    snprintf(p, sizeof p, "%s/absent", f->dir);
    dmp_store_opts_t o = {.path = p, .create_if_missing = false};
    assert_int_equal(dmp_store_open(&o, &s, msg, sizeof msg), DMP_EIO);
    assert_null(s);
    assert_true(strlen(msg) > 0);
    assert_int_equal(dmp_store_open(NULL, &s, msg, sizeof msg), DMP_EINVAL);
    /* A second open of a store in use fails (RocksDB lock) with a message. */
    o.path = f->path;
    assert_int_equal(dmp_store_open(&o, &s, msg, sizeof msg), DMP_EIO);
    assert_non_null(strstr(msg, f->path));
}

/* ---- codec ---- */

static void test_codec(void **state)
{
    (void)state;
    uint8_t b[8];
    int64_t xs[] = {INT64_MIN, -1, 0, 1, T0, INT64_MAX};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        dmp_store_ob64_put(b, xs[i]);
        assert_true(dmp_store_ob64_get(b) == xs[i]);
        if (i > 0) {
            uint8_t p[8];
            dmp_store_ob64_put(p, xs[i - 1]);
            assert_true(memcmp(p, b, 8) < 0);
        }
    }
    uint8_t hdr[DMP_STORE_REC_HDR + 3];
    dmp_store_rec_hdr(hdr, 7, -5, T0, 42);
    memcpy(hdr + DMP_STORE_REC_HDR, "abc", 3);
    dmp_store_rec_t r;
    assert_int_equal(dmp_store_rec_parse(hdr, sizeof hdr, &r), 0);
    assert_int_equal(r.ttl, 7);
    assert_true(r.stored_ms == -5 && r.expires_ms == T0 && r.seq == 42);
    assert_int_equal(r.value_len, 3);
    assert_int_equal(dmp_store_rec_parse(hdr, DMP_STORE_REC_HDR - 1, &r), DMP_STORE_ECORRUPT);
    hdr[0] = 9;
    assert_int_equal(dmp_store_rec_parse(hdr, sizeof hdr, &r), DMP_STORE_ECORRUPT);
    uint8_t k[DMP_STORE_RKEY_MAX], h[32];
    memset(h, 0, 32); /* a hash with zero bytes must still split correctly */
    size_t kl = dmp_store_rkey_make(k, "ab", 2, h);
    const char *nm;
    size_t nl;
    const uint8_t *hh;
    assert_int_equal(dmp_store_rkey_parse(k, kl, &nm, &nl, &hh), 0);
    assert_int_equal(nl, 2);
    k[1] = 0;
    assert_int_equal(dmp_store_rkey_parse(k, kl, &nm, &nl, &hh), DMP_STORE_ECORRUPT);
    char rv[16];
    dmp_store_name_reverse("a.bc.d", 6, rv);
    assert_memory_equal(rv, "d.bc.a", 6);
    dmp_store_name_reverse("abc", 3, rv);
    assert_memory_equal(rv, "abc", 3);
    dmp_store_name_reverse("a.", 2, rv);
    assert_memory_equal(rv, ".a", 2);
    dmp_store_name_reverse(".a", 2, rv);
    assert_memory_equal(rv, "a.", 2);
    dmp_store_name_reverse("a..b", 4, rv);
    assert_memory_equal(rv, "b..a", 4);
    assert_string_equal(dmp_store_strerror(DMP_STORE_ECORRUPT),
                        "store: stored record does not decode");
    assert_string_equal(dmp_store_strerror(DMP_EIO), dmp_strerror(DMP_EIO));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_and_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lowercase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
