/* Unit tests: the bulk load (SST ingestion) leaves the store exactly as the write path would.
 * The same records go through dmp_store_put_batch into one store and through
 * dmp_store_load_* into another; every column family is then compared row by row (the record's
 * seq, seeded per process, is compared by rank), plus the Merkle buckets, the count, the serial
 * step and the journal entry. Also: into a store that already holds rows and tombstones, the
 * per-name check refusing a load (nothing written), and the marker of an interrupted load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store_ingest_int.h"
#include <sodium.h>

#include "store/store.h"
#include "store/store_internal.h"

#define NREC 3000

typedef struct {
    char names[NREC][64];
    uint8_t vals[NREC][600];
    dmp_store_put_t p[NREC];
    size_t n;
} recs_t;

/* Records with the shapes that matter: several values per name, names in mixed case, the same
 * (name, value) twice with another ttl (the later wins), an empty value, values over 255
 * bytes, different ttls, names that are ancestors of others. */
static void make_recs(recs_t *r, uint32_t seed, size_t n)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u;
        if (i % 17 == 5 && i > 0) { /* a duplicate of an earlier record, another ttl */
            size_t j = (x >> 3) % i;
            r->p[i] = r->p[j];
            r->p[i].ttl = r->p[j].ttl + 7;
            continue;
        }
        int nl;
        if (i % 11 == 0)
            nl = snprintf(r->names[i], 64, "Slot-%u.MB-%u.mesh.test", x % 7, (x >> 8) % 50);
        else if (i % 13 == 0)
            nl = snprintf(r->names[i], 64, "mb-%u.mesh.test", (x >> 8) % 50);
        else
            nl = snprintf(r->names[i], 64, "chunk-%04zu-%08x.mesh.test", i % 9, x);
        size_t vl = i % 29 == 0 ? 0 : 20 + (x >> 5) % 560;
        for (size_t k = 0; k < vl; k++)
            r->vals[i][k] = (uint8_t)('a' + (x + k * 7) % 26);
        r->p[i] = (dmp_store_put_t){r->names[i], (size_t)nl, r->vals[i], vl,
                                    (uint32_t)(60 + (i % 3) * 600)};
    }
}

static dmp_store_t *open_new(char *dir, const char *sub)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    char err[300];
    assert_int_equal(dmp_store_open(&o, &s, err, sizeof err), 0);
    return s;
}

static int load(dmp_store_t *s, const char *dir, const recs_t *r, int64_t now,
                dmp_store_load_name_fn check, void *ctx, dmp_store_load_stats_t *st)
{
    dmp_store_load_t *l = NULL;
    assert_int_equal(dmp_store_load_new(&l), 0);
    for (size_t i = 0; i < r->n; i++)
        assert_int_equal(dmp_store_load_add(l, r->p[i].name, r->p[i].name_len, r->p[i].value,
                                            r->p[i].value_len, r->p[i].ttl),
                         0);
    char tmp[400], err[300];
    snprintf(tmp, sizeof tmp, "%s/staging", dir);
    int rc = dmp_store_load_commit(l, s, now, tmp, check, NULL, ctx, st, err, sizeof err);
    dmp_store_load_free(l);
    assert_int_not_equal(access(tmp, F_OK), 0); /* staging directory removed */
    return rc;
}

/* Every row of one column family equal in both stores (records: the seq field masked). */
static void compare_cf(dmp_store_t *a, dmp_store_t *b, int cf)
{
    rocksdb_iterator_t *ia = rocksdb_create_iterator_cf(a->db, a->rdefault, a->cf[cf]);
    rocksdb_iterator_t *ib = rocksdb_create_iterator_cf(b->db, b->rdefault, b->cf[cf]);
    rocksdb_iter_seek_to_first(ia);
    rocksdb_iter_seek_to_first(ib);
    size_t rows = 0;
    while (rocksdb_iter_valid(ia) || rocksdb_iter_valid(ib)) {
        assert_true(rocksdb_iter_valid(ia));
        assert_true(rocksdb_iter_valid(ib));
        size_t kla, klb, vla, vlb;
        const char *ka = rocksdb_iter_key(ia, &kla), *kb = rocksdb_iter_key(ib, &klb);
        const char *va = rocksdb_iter_value(ia, &vla), *vb = rocksdb_iter_value(ib, &vlb);
        bool serial = cf == CF_META && kla == 10 && memcmp(ka, "soa_serial", 10) == 0;
        if (cf != CF_JOURNAL) { /* journal keys are serials: compared by value below */
            assert_int_equal(kla, klb);
            assert_memory_equal(ka, kb, kla);
        }
        if (!serial) {
            assert_int_equal(vla, vlb);
            if (cf == CF_RECORDS) {
                assert_true(vla >= DMP_STORE_REC_HDR);
                assert_memory_equal(va, vb, 21); /* format, ttl, stored, expires */
                assert_memory_equal(va + 29, vb + 29, vla - 29);
            } else {
                assert_memory_equal(va, vb, vla);
            }
        }
        rows++;
        rocksdb_iter_next(ia);
        rocksdb_iter_next(ib);
    }
    rocksdb_iter_destroy(ia);
    rocksdb_iter_destroy(ib);
}

typedef struct {
    char buf[NREC * 2][700];
    size_t n;
} order_t;

static int collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    order_t *o = ctx;
    snprintf(o->buf[o->n++], 700, "%.*s=%.*s/%u", (int)nl, name, (int)r->value_len, r->value,
             r->ttl);
    return 0;
}

static void compare_stores(dmp_store_t *a, dmp_store_t *b, const recs_t *r, int64_t now)
{
    static const int cfs[] = {CF_RECORDS, CF_EXPIRY,  CF_BYSTORED, CF_META,   CF_MERKLE,
                              CF_RNAMES,  CF_BUCKETS, CF_TOMBS,    CF_JOURNAL};
    for (size_t i = 0; i < sizeof cfs / sizeof cfs[0]; i++)
        compare_cf(a, b, cfs[i]);
    uint64_t ca, cb;
    assert_int_equal(dmp_store_record_count(a, &ca), 0);
    assert_int_equal(dmp_store_record_count(b, &cb), 0);
    assert_int_equal(ca, cb);
    static uint8_t da[DMP_STORE_MERKLE_BUCKETS][32], db[DMP_STORE_MERKLE_BUCKETS][32];
    assert_int_equal(dmp_store_bucket_digests(a, da), 0);
    assert_int_equal(dmp_store_bucket_digests(b, db), 0);
    assert_memory_equal(da, db, sizeof da);
    /* answers in the same order (stored time, then seq) */
    static order_t oa, ob;
    for (size_t i = 0; i < r->n; i++) {
        oa.n = ob.n = 0;
        int ra = dmp_store_get(a, r->p[i].name, r->p[i].name_len, now, collect, &oa);
        int rb = dmp_store_get(b, r->p[i].name, r->p[i].name_len, now, collect, &ob);
        assert_int_equal(ra, rb);
        assert_int_equal(oa.n, ob.n);
        for (size_t k = 0; k < oa.n; k++)
            assert_string_equal(oa.buf[k], ob.buf[k]);
    }
}

static recs_t R1, R2;

/* "index block size (user-key? 1, delta-value? 1)=N" and "# data blocks=M" of a column family's
 * table files, from RocksDB's aggregated table properties. */
static void index_stats(dmp_store_t *s, int cf, uint64_t *index_bytes, uint64_t *blocks)
{
    char *p = rocksdb_property_value_cf(s->db, s->cf[cf], "rocksdb.aggregated-table-properties");
    assert_non_null(p);
    const char *ib = strstr(p, "index block size");
    const char *db = strstr(p, "# data blocks=");
    assert_non_null(ib);
    assert_non_null(db);
    ib = strchr(ib, '=');
    assert_non_null(ib);
    *index_bytes = strtoull(ib + 1, NULL, 10);
    *blocks = strtoull(db + strlen("# data blocks="), NULL, 10);
    rocksdb_free(p);
}

static void test_load_equals_write_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp_singest_XXXXXX";
    assert_non_null(mkdtemp(dir));
    dmp_store_t *a = open_new(dir, "a"), *b = open_new(dir, "b");
    uint32_t sa = dmp_store_soa_serial(a), sb = dmp_store_soa_serial(b);
    const int64_t now = 1800000000000;
    make_recs(&R1, 1, NREC);
    assert_int_equal(dmp_store_put_batch(a, R1.p, R1.n, now), 0);
    dmp_store_load_stats_t st;
    assert_int_equal(load(b, dir, &R1, now, NULL, NULL, &st), 0);
    assert_int_equal(st.records, NREC);
    assert_true(st.duplicates > 100);
    assert_int_equal(st.added + st.duplicates, NREC);
    assert_int_equal(st.refreshed, 0);
    assert_true(st.journaled);
    assert_true(st.sst_files >= 5);
    assert_int_equal(dmp_store_soa_serial(a), sa + 1);
    assert_int_equal(dmp_store_soa_serial(b), sb + 1);
    assert_int_equal(st.serial, sb + 1);
    compare_stores(a, b, &R1, now);
    /* the loaded tables' index blocks hold their keys in runs (DMP_STORE_INDEX_RESTART), not a
     * full key and a restart point per data block (RocksDB's default) */
    uint64_t ibytes, iblocks;
    index_stats(b, CF_RECORDS, &ibytes, &iblocks);
    print_message("records index: %llu bytes for %llu data blocks\n", (unsigned long long)ibytes,
                  (unsigned long long)iblocks);
    assert_true(iblocks > 100);
    assert_true(ibytes < iblocks * 16); /* ~8 a block with runs of 16, ~25 without */
    /* the journal serves the load as one IXFR step */
    assert_int_equal(dmp_store_journal_read(b, sb, sb + 1, NULL, NULL), 0);

    /* again into stores that hold rows, expired rows and tombstones: an overlapping load
     * refreshes what is there, lifts tombstones, adds the rest */
    const int64_t t2 = now + 120000; /* the 60 s rows of R1 have expired, not swept */
    make_recs(&R2, 2, NREC / 2);
    for (size_t i = 0; i < NREC / 2; i += 3)
        R2.p[i] = R1.p[i * 2]; /* overlap (fields point into R1) */
    for (size_t i = 0; i < NREC; i += 10) {
        size_t ra, rb;
        int x = dmp_store_delete(a, R1.p[i].name, R1.p[i].name_len, R1.p[i].value,
                                 R1.p[i].value_len, &ra);
        int y = dmp_store_delete(b, R1.p[i].name, R1.p[i].name_len, R1.p[i].value,
                                 R1.p[i].value_len, &rb);
        assert_int_equal(x, y);
    }
    assert_int_equal(dmp_store_put_batch(a, R2.p, R2.n, t2), 0);
    assert_int_equal(load(b, dir, &R2, t2, NULL, NULL, &st), 0);
    assert_true(st.refreshed > 0);
    assert_int_equal(dmp_store_soa_serial(a) - sa, dmp_store_soa_serial(b) - sb);
    compare_stores(a, b, &R2, t2);
    compare_stores(a, b, &R1, t2);
    dmp_store_close(a);
    dmp_store_close(b);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct {
    const char *refuse; /* name to refuse */
    size_t calls;
    size_t values;
} chk_t;

static int check_fn(void *ctx, const char *name, size_t nl, size_t values, size_t bytes,
                    size_t last)
{
    (void)bytes;
    (void)last;
    chk_t *c = ctx;
    c->calls++;
    if (strlen(c->refuse) == nl && memcmp(name, c->refuse, nl) == 0) {
        c->values = values;
        return 1;
    }
    return 0;
}

/* the same with every split over the threads (hashing, the sorts' halves and their merge) */
static void test_load_equals_write_path_threaded(void **state)
{
    size_t old = dmp_store_ingest_par_min;
    dmp_store_ingest_par_min = 2;
    test_load_equals_write_path(state);
    dmp_store_ingest_par_min = old;
}

static void test_load_refused_and_marker(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp_singest_XXXXXX";
    assert_non_null(mkdtemp(dir));
    dmp_store_t *s = open_new(dir, "s");
    const int64_t now = 1800000000000;
    static const uint8_t v[] = "old";
    assert_int_equal(dmp_store_put(s, "mb-1.mesh.test", 14, v, 3, 600, now), 0);
    uint32_t serial = dmp_store_soa_serial(s);
    make_recs(&R1, 3, 400);
    static const uint8_t n1[] = "new", n2[] = "newer";
    R1.p[100] = (dmp_store_put_t){"MB-1.mesh.test", 14, n1, 3, 60};
    R1.p[200] = (dmp_store_put_t){"mb-1.mesh.test", 14, n2, 5, 60};
    /* refuse the name with the most values: DMP_EINVAL, bad_index = its last record */
    chk_t c = {.refuse = "mb-1.mesh.test"};
    dmp_store_load_stats_t st;
    assert_int_equal(load(s, dir, &R1, now, check_fn, &c, &st), DMP_EINVAL);
    assert_true(c.calls > 0);
    assert_true(c.values >= 2); /* the stored value counts */
    bool later = false;         /* bad_index = the name's last record in the input */
    for (size_t i = 201; i < R1.n; i++)
        later = later ||
                (R1.p[i].name_len == 14 && strncasecmp(R1.p[i].name, "mb-1.mesh.test", 14) == 0);
    if (!later)
        assert_int_equal(st.bad_index, 200);
    assert_int_equal(strncasecmp(R1.p[st.bad_index].name, "mb-1.mesh.test", 14), 0);
    uint64_t cnt;
    assert_int_equal(dmp_store_record_count(s, &cnt), 0);
    assert_int_equal(cnt, 1); /* nothing written */
    assert_int_equal(dmp_store_soa_serial(s), serial);

    /* a marker left by an interrupted load: the store refuses to open, saying why */
    char *err = NULL;
    rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], "bulk_load", 9, "\0\0\0\0\0\0\0\1", 8, &err);
    assert_null(err);
    dmp_store_close(s);
    char path[300], msg[600];
    snprintf(path, sizeof path, "%s/s", dir);
    dmp_store_opts_t o = {.path = path};
    assert_int_equal(dmp_store_open(&o, &s, msg, sizeof msg), DMP_STORE_ECORRUPT);
    assert_non_null(strstr(msg, "bulk load"));
    assert_non_null(strstr(msg, "interrupted"));
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* the refused load with every split over the threads: the table writers, already running
 * while the names are checked, stop and leave nothing (load() checks the staging directory) */
static void test_load_refused_threaded(void **state)
{
    size_t old = dmp_store_ingest_par_min;
    dmp_store_ingest_par_min = 2;
    test_load_refused_and_marker(state);
    dmp_store_ingest_par_min = old;
}

/* Few names holding many values, split over the threads: the layout's cut between its two
 * parts moves to a name boundary (to the end when one name holds every row), and a name's
 * rows stay together, as the write path leaves them. */
static void test_load_few_names_threaded(void **state)
{
    (void)state;
    size_t old = dmp_store_ingest_par_min;
    dmp_store_ingest_par_min = 2;
    static const char *const names[] = {"one.mesh.test", "Two.mesh.test", "a.two.mesh.test"};
    for (size_t shape = 0; shape < 3; shape++) {
        char dir[] = "/tmp/dmp_singest_XXXXXX";
        assert_non_null(mkdtemp(dir));
        dmp_store_t *a = open_new(dir, "a"), *b = open_new(dir, "b");
        const int64_t now = 1800000000000;
        make_recs(&R1, 7, 900);
        for (size_t i = 0; i < R1.n; i++) {
            /* shape 0: one name; 1: two names, the first holding most rows; 2: three names */
            size_t k = shape == 0 ? 0 : shape == 1 ? (i % 10 == 0) : i % 3;
            R1.p[i].name = names[k];
            R1.p[i].name_len = strlen(names[k]);
        }
        assert_int_equal(dmp_store_put_batch(a, R1.p, R1.n, now), 0);
        dmp_store_load_stats_t st;
        assert_int_equal(load(b, dir, &R1, now, NULL, NULL, &st), 0);
        assert_int_equal(st.names, shape == 0 ? 1 : shape == 1 ? 2 : 3);
        assert_int_equal(st.added + st.duplicates, R1.n);
        compare_stores(a, b, &R1, now);
        dmp_store_close(a);
        dmp_store_close(b);
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
    dmp_store_ingest_par_min = old;
}

static void test_load_bad_args(void **state)
{
    (void)state;
    dmp_store_load_t *l = NULL;
    assert_int_equal(dmp_store_load_new(&l), 0);
    assert_int_equal(dmp_store_load_add(l, "", 0, (const uint8_t *)"x", 1, 60), DMP_ENAME);
    assert_int_equal(dmp_store_load_add(l, "a\0b", 3, (const uint8_t *)"x", 1, 60), DMP_ENAME);
    assert_int_equal(dmp_store_load_add(l, "a", 1, NULL, 1, 60), DMP_EINVAL);
    assert_int_equal(
        dmp_store_load_add(l, "a", 1, (const uint8_t *)"x", DMP_STORE_MAX_VALUE + 1, 60),
        DMP_ETOOBIG);
    assert_int_equal(dmp_store_load_add(l, "A", 1, (const uint8_t *)"x", 1, 60), 0);
    dmp_store_load_free(l);
    dmp_store_load_free(NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_equals_write_path),
        cmocka_unit_test(test_load_equals_write_path_threaded),
        cmocka_unit_test(test_load_refused_and_marker),
        cmocka_unit_test(test_load_refused_threaded),
        cmocka_unit_test(test_load_few_names_threaded),
        cmocka_unit_test(test_load_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
