/* Unit tests for src/store: RocksDB record store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_codec.h"

#define T0 INT64_C(1800000000000)

/* ---- temp dir helpers ---- */

static void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_rf(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

typedef struct {
    char dir[64];
    char path[96];
    dmp_store_t *s;
} fx_t;

static dmp_store_t *open_at(const char *path, int *rc_out, char *err, size_t errlen)
{
    dmp_store_opts_t o = {.path = path,
                          .block_cache_bytes = 8u << 20,
                          .write_buffer_bytes = 4u << 20,
                          .create_if_missing = true};
    dmp_store_t *s = NULL;
    int rc = dmp_store_open(&o, &s, err, errlen);
    if (rc_out)
        *rc_out = rc;
    return s;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/dmp_store_XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/db", f->dir);
    char err[256];
    int rc;
    f->s = open_at(f->path, &rc, err, sizeof err);
    if (f->s == NULL) {
        fprintf(stderr, "open: %d %s\n", rc, err);
        rm_rf(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void reopen(fx_t *f)
{
    dmp_store_close(f->s);
    char err[256];
    int rc;
    f->s = open_at(f->path, &rc, err, sizeof err);
    assert_non_null(f->s);
    assert_int_equal(rc, 0);
}

/* ---- collecting visitor ---- */

typedef struct {
    size_t n;
    char names[64][64];
    char vals[64][64];
    dmp_store_record_t recs[64];
    size_t stop_after; /* 0 = never */
} coll_t;

static int collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    coll_t *c = ctx;
    if (c->n < 64) {
        snprintf(c->names[c->n], 64, "%.*s", (int)nl, name);
        snprintf(c->vals[c->n], 64, "%.*s", (int)r->value_len, (const char *)r->value);
        c->recs[c->n] = *r;
        c->recs[c->n].value = NULL;
    }
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static int put_s(dmp_store_t *s, const char *name, const char *val, uint32_t ttl, int64_t now)
{
    return dmp_store_put(s, name, strlen(name), (const uint8_t *)val, strlen(val), ttl, now);
}

static int get_s(dmp_store_t *s, const char *name, int64_t now, coll_t *c)
{
    memset(c, 0, sizeof *c);
    return dmp_store_get(s, name, strlen(name), now, collect, c);
}

static uint64_t count_of(dmp_store_t *s)
{
    uint64_t n = 99999;
    assert_int_equal(dmp_store_record_count(s, &n), 0);
    return n;
}

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

/* Edits a closed store directly with RocksDB, opening every column family on disk (plus
 * add_cf, created when not NULL): drops drop_cf when not NULL, stamps schema_version = ver when
 * ver != 0, and reports the version found before in *old (0 when absent). */
static void raw_edit(const char *path, uint32_t ver, const char *drop_cf, const char *add_cf,
                     uint32_t *old)
{
    char *err = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    size_t ncf = 0;
    char **cfs = rocksdb_list_column_families(o, path, &ncf, &err);
    assert_null(err);
    assert_true(ncf >= 9);
    size_t nall = ncf + (add_cf != NULL);
    const rocksdb_options_t **opts = calloc(nall, sizeof *opts);
    rocksdb_column_family_handle_t **h = calloc(nall, sizeof *h);
    const char **names = calloc(nall, sizeof *names);
    size_t meta = SIZE_MAX, drop = SIZE_MAX;
    for (size_t i = 0; i < ncf; i++) {
        opts[i] = o;
        names[i] = cfs[i];
        if (strcmp(cfs[i], "meta") == 0)
            meta = i;
        if (drop_cf != NULL && strcmp(cfs[i], drop_cf) == 0)
            drop = i;
    }
    if (add_cf != NULL) {
        names[ncf] = add_cf;
        opts[ncf] = o;
    }
    rocksdb_options_set_create_missing_column_families(o, 1);
    assert_true(meta != SIZE_MAX);
    assert_true(drop_cf == NULL || drop != SIZE_MAX);
    rocksdb_t *db = rocksdb_open_column_families(o, path, (int)nall, names, opts, h, &err);
    assert_null(err);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    size_t vl = 0;
    char *v = rocksdb_get_cf(db, ro, h[meta], "schema_version", 14, &vl, &err);
    assert_null(err);
    *old = v != NULL && vl == 4 ? dmp_load_u32be((const uint8_t *)v) : 0;
    rocksdb_free(v);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    if (ver != 0) {
        uint8_t vb[4];
        dmp_store_u32be(vb, ver);
        rocksdb_put_cf(db, wo, h[meta], "schema_version", 14, (const char *)vb, 4, &err);
        assert_null(err);
    }
    if (drop != SIZE_MAX) {
        rocksdb_drop_column_family(db, h[drop], &err);
        assert_null(err);
    }
    for (size_t i = 0; i < nall; i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    rocksdb_list_column_families_destroy(cfs, ncf);
    free(opts);
    free(h);
    free(names);
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

static void xor32(uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++)
        a[i] ^= b[i];
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
typedef struct {
    dmp_store_t *s;
    int id;
    int rc;
} wctx_t;

static void *writer_main(void *arg)
{
    wctx_t *w = arg;
    char names[10][32];
    for (int round = 0; round < 30 && w->rc == 0; round++) {
        dmp_store_put_t p[10];
        for (int i = 0; i < 10; i++) {
            snprintf(names[i], 32, "w%d-%02d.conc.test", w->id, (round * 10 + i) % 150);
            /* every third record is dead on arrival, so the sweeper has work */
            p[i] = (dmp_store_put_t){names[i], strlen(names[i]), (const uint8_t *)names[i],
                                     (size_t)(i % 4), (uint32_t)(i % 3 ? 100 : 0)};
        }
        w->rc = dmp_store_put_batch(w->s, p, 10, T0);
        if (w->rc == 0 && round % 5 == 4)
            w->rc = dmp_store_delete(w->s, names[1], strlen(names[1]), NULL, 0, NULL);
        if (w->rc == DMP_ENOTFOUND)
            w->rc = 0;
    }
    return NULL;
}

static void *sweeper_main(void *arg)
{
    wctx_t *w = arg;
    for (int i = 0; i < 200 && w->rc == 0; i++) {
        size_t rem;
        w->rc = dmp_store_sweep(w->s, T0, 5, &rem);
    }
    return NULL;
}

/* Accumulates acc[0..7] = number of rows, acc[8..39] = XOR of their item digests. */
static int count_all(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    uint8_t *acc = ctx;
    uint8_t it[32];
    if (dmp_store_item_digest(name, nl, r->hash, it) != 0)
        return 1;
    uint64_t n;
    memcpy(&n, acc, 8);
    n++;
    memcpy(acc, &n, 8);
    for (int i = 0; i < 32; i++)
        acc[8 + i] ^= it[i];
    return 0;
}

static void test_concurrent(void **state)
{
    fx_t *f = *state;
    pthread_t th[3];
    wctx_t w[3] = {{f->s, 0, 0}, {f->s, 1, 0}, {f->s, 2, 0}};
    assert_int_equal(pthread_create(&th[0], NULL, writer_main, &w[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, writer_main, &w[1]), 0);
    assert_int_equal(pthread_create(&th[2], NULL, sweeper_main, &w[2]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    size_t rem;
    assert_int_equal(dmp_store_sweep(f->s, T0, 0, &rem), 0);
    /* Now every present row is live at T0. */
    uint8_t acc[40] = {0};
    assert_int_equal(dmp_store_scan_prefix(f->s, NULL, 0, T0, count_all, acc), 0);
    uint64_t live;
    memcpy(&live, acc, 8);
    assert_true(live > 0);
    assert_int_equal(count_of(f->s), live);
    /* XOR of all bucket digests = XOR of all item digests. */
    uint8_t all[32] = {0}, d[32];
    for (uint32_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++) {
        assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
        xor32(all, d);
    }
    assert_memory_equal(all, acc + 8, 32);
    /* Removing everything returns every digest to zero. */
    assert_int_equal(dmp_store_sweep(f->s, T0 + 100000, 0, &rem), 0);
    assert_int_equal(rem, live);
    assert_int_equal(count_of(f->s), 0);
    memset(all, 0, 32);
    for (uint32_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++) {
        assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
        xor32(all, d);
    }
    uint8_t zero[32] = {0};
    assert_memory_equal(all, zero, 32);
}

/* The sweep walks the expiry index without the lock and takes it only per small chunk: writers
 * (some records dead on arrival, i.e. due before the walk's position) racing whole multi-chunk
 * sweeps must leave nothing due behind (the next sweep finds it) and keep the counter and the
 * Merkle digests exact. */
static void *sweeper_full_main(void *arg)
{
    wctx_t *w = arg;
    for (int i = 0; i < 20 && w->rc == 0; i++) {
        size_t rem;
        w->rc = dmp_store_sweep(w->s, T0, 0, &rem);
    }
    return NULL;
}

static void test_sweep_concurrent_chunks(void **state)
{
    fx_t *f = *state;
    enum { N = 3000 };
    dmp_store_put_t *p = calloc(N, sizeof *p);
    char(*names)[32] = calloc(N, 32);
    assert_non_null(p);
    assert_non_null(names);
    for (int i = 0; i < N; i++) { /* dead at T0: many chunks of work for the first sweeps */
        snprintf(names[i], 32, "old%05d.conc.test", i);
        p[i] = (dmp_store_put_t){names[i], strlen(names[i]), (const uint8_t *)"v", 1, 0};
    }
    assert_int_equal(dmp_store_put_batch(f->s, p, N, T0 - 5000), 0);
    pthread_t th[3];
    wctx_t w[3] = {{f->s, 0, 0}, {f->s, 1, 0}, {f->s, 2, 0}};
    assert_int_equal(pthread_create(&th[2], NULL, sweeper_full_main, &w[2]), 0);
    assert_int_equal(pthread_create(&th[0], NULL, writer_main, &w[0]), 0);
    assert_int_equal(pthread_create(&th[1], NULL, writer_main, &w[1]), 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
    }
    size_t rem;
    assert_int_equal(dmp_store_sweep(f->s, T0, 0, &rem), 0);
    uint8_t acc[40] = {0};
    assert_int_equal(dmp_store_scan_prefix(f->s, NULL, 0, T0, count_all, acc), 0);
    uint64_t live;
    memcpy(&live, acc, 8);
    assert_true(live > 0);
    assert_int_equal(count_of(f->s), live); /* no dead row left behind */
    uint8_t all[32] = {0}, d[32];
    for (uint32_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++) {
        assert_int_equal(dmp_store_bucket_digest(f->s, b, d), 0);
        xor32(all, d);
    }
    assert_memory_equal(all, acc + 8, 32);
    /* a record due before where the last sweep stopped is still found by the next one */
    assert_int_equal(
        dmp_store_put(f->s, "late.conc.test", 14, (const uint8_t *)"x", 1, 0, T0 - 9000), 0);
    assert_int_equal(dmp_store_sweep(f->s, T0, 0, &rem), 0);
    assert_int_equal(rem, 1);
    assert_int_equal(count_of(f->s), live);
    free(p);
    free(names);
}

/* Crash safety: a child writes records and reports each acknowledged index through a pipe;
 * the parent SIGKILLs it mid-way and checks every acknowledged record after reopening. */
/* ThreadSanitizer cannot follow a fork() after threads have started (RocksDB's are running):
 * the crash tests run in the plain and ASan builds only. */
#if defined(__SANITIZE_THREAD__)
#define DMP_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DMP_TEST_TSAN 1
#endif
#endif

static void crash_run(fx_t *f, bool group)
{
#ifdef DMP_TEST_TSAN
    (void)f;
    (void)group;
    skip();
#endif
    dmp_store_close(f->s);
    f->s = NULL;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        char err[256];
        int rc;
        dmp_store_t *s = open_at(f->path, &rc, err, sizeof err);
        if (s == NULL)
            _exit(2);
        for (uint32_t i = 0; i < 1000000; i++) {
            char nm[32], v[32];
            snprintf(nm, sizeof nm, "k%07u.crash.test", i);
            snprintf(v, sizeof v, "value-%u", i);
            if (!group) {
                if (dmp_store_put(s, nm, strlen(nm), (const uint8_t *)v, strlen(v), 3600, T0))
                    _exit(3);
                if (write(pfd[1], &i, sizeof i) != (ssize_t)sizeof i)
                    _exit(4);
                continue;
            }
            /* group commit: unsynced writes, acknowledged 10 at a time after a WAL sync */
            dmp_store_put_t p = {nm, strlen(nm), (const uint8_t *)v, strlen(v), 3600};
            if (dmp_store_put_batch_ex(s, &p, 1, T0, DMP_STORE_NOSYNC))
                _exit(3);
            if (i % 10 == 9) {
                if (dmp_store_sync_wal(s))
                    _exit(5);
                for (uint32_t j = i - 9; j <= i; j++)
                    if (write(pfd[1], &j, sizeof j) != (ssize_t)sizeof j)
                        _exit(4);
            }
        }
        _exit(0);
    }
    close(pfd[1]);
    /* Let it acknowledge at least 200 writes, then kill it without warning. */
    uint32_t last = 0, got = 0, idx;
    bool have = false;
    while (got < 200 && read(pfd[0], &idx, sizeof idx) == (ssize_t)sizeof idx) {
        last = idx;
        have = true;
        got++;
    }
    kill(pid, SIGKILL);
    /* Drain: acknowledgements already written before the kill count too. */
    while (read(pfd[0], &idx, sizeof idx) == (ssize_t)sizeof idx) {
        last = idx;
        have = true;
    }
    close(pfd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_true(have);

    char err[256];
    int rc;
    f->s = open_at(f->path, &rc, err, sizeof err);
    assert_non_null(f->s);
    for (uint32_t i = 0; i <= last; i++) {
        char nm[32], v[32];
        snprintf(nm, sizeof nm, "k%07u.crash.test", i);
        snprintf(v, sizeof v, "value-%u", i);
        bool has = false;
        assert_int_equal(
            dmp_store_has_value(f->s, nm, strlen(nm), (const uint8_t *)v, strlen(v), T0, &has), 0);
        if (!has)
            fail_msg("acknowledged record %u lost", i);
    }
    uint64_t n = count_of(f->s);
    assert_true(n >= (uint64_t)last + 1);
    /* at most the writes not yet acknowledged when the kill came landed too */
    assert_true(n <= (uint64_t)last + (group ? 11 : 2));
}

/* Unsynced writes are visible at once; a WAL sync then succeeds; deletes work the same way. */
static void test_nosync_visible(void **state)
{
    fx_t *f = *state;
    dmp_store_put_t p = {"ns.test", 7, (const uint8_t *)"v1", 2, 60};
    assert_int_equal(dmp_store_put_batch_ex(f->s, &p, 1, T0, DMP_STORE_NOSYNC), 0);
    bool has = false;
    assert_int_equal(dmp_store_has_value(f->s, "ns.test", 7, (const uint8_t *)"v1", 2, T0, &has),
                     0);
    assert_true(has);
    assert_int_equal(dmp_store_sync_wal(f->s), 0);
    size_t removed = 0;
    assert_int_equal(dmp_store_delete_ex(f->s, "NS.test", 7, NULL, 0, &removed, DMP_STORE_NOSYNC),
                     0);
    assert_int_equal(removed, 1);
    assert_int_equal(dmp_store_sync_wal(f->s), 0);
    assert_int_equal(dmp_store_has_value(f->s, "ns.test", 7, (const uint8_t *)"v1", 2, T0, &has),
                     0);
    assert_false(has);
    assert_int_equal(dmp_store_sync_wal(NULL), DMP_EINVAL);
}

static void test_crash_safety(void **state)
{
    crash_run(*state, false);
}

static void test_crash_safety_group_commit(void **state)
{
    crash_run(*state, true);
}

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
        cmocka_unit_test_setup_teardown(test_sweep_concurrent_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lowercase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
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
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nosync_visible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety_group_commit, setup, teardown),
        cmocka_unit_test(test_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
