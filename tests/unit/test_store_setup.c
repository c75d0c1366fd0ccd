/* Tests for the store's block cache (store_options.c, store_cache.cc; docs/store.md "Sixth
 * pass"): the store reports the cache it was opened with, the clock cache keeps to its
 * capacity, readers on several threads share it, and a store written under one cache (main's
 * LRU one) reads the same under the other (the write path's flushed files and the bulk
 * loader's), through dmp_store_get, a kept reader and the zone transfer's walk; and the page
 * cache pass after a start (dmp_store_prefetch). */
#include "store_harness.h"

#define N_NAMES 3000u
#define NOW (T0 + 1000)

static dmp_store_t *open_with(const char *path, dmp_store_cache_kind_t ck, size_t cache_bytes)
{
    dmp_store_opts_t o = {.path = path,
                          .block_cache_bytes = cache_bytes,
                          .write_buffer_bytes = 1u << 20, /* several flushed table files */
                          .create_if_missing = true,
                          .cache_kind = ck};
    dmp_store_t *s = NULL;
    char err[256];
    int rc = dmp_store_open(&o, &s, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "open %s: %d %s\n", path, rc, err);
    assert_int_equal(rc, 0);
    return s;
}

/* Name i: "n<i>.z<i%7>.mesh.test", so names share prefixes ("n1." and "n12.") and suffixes. */
static void name_of(unsigned i, char *out, size_t cap)
{
    snprintf(out, cap, "n%u.z%u.mesh.test", i, i % 7);
}

static void value_of(unsigned i, unsigned v, char *out, size_t cap)
{
    /* ~300 bytes so 3000 names span many 4 KiB blocks and table files */
    snprintf(out, cap, "%u-%u-%0280u", i, v, i * 31 + v);
}

static int count_row(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

/* Every name of [0, n) holds its 1 + i % 3 values (in stored order) and nothing else; absent
 * names around them are absent; both through dmp_store_get and through a reader. */
static void check_all(dmp_store_t *s, unsigned n)
{
    dmp_store_reader_t *rd = NULL;
    assert_int_equal(dmp_store_reader_new(s, &rd), 0);
    for (unsigned i = 0; i < n; i++) {
        char nm[64], want[320];
        name_of(i, nm, sizeof nm);
        for (int via = 0; via < 2; via++) {
            coll_t c;
            memset(&c, 0, sizeof c);
            int rc = via ? dmp_store_get_with(s, rd, nm, strlen(nm), NOW, collect, &c)
                         : dmp_store_get(s, nm, strlen(nm), NOW, collect, &c);
            assert_int_equal(rc, 0);
            assert_int_equal(c.n, 1 + i % 3);
            for (unsigned v = 0; v < c.n; v++) {
                assert_string_equal(c.names[v], nm);
                value_of(i, v, want, sizeof want);
                assert_int_equal(c.recs[v].value_len, strlen(want));
                assert_memory_equal(c.vals[v], want, 63); /* collect keeps 63 bytes */
            }
        }
        /* a longer name with this one as a prefix, and one sorting just before it */
        char absent[80];
        snprintf(absent, sizeof absent, "%sx", nm);
        coll_t c;
        assert_int_equal(dmp_store_get_with(s, rd, absent, strlen(absent), NOW, collect, &c),
                         DMP_ENOTFOUND);
        snprintf(absent, sizeof absent, "n%u.z%u.mesh.tesa", i, i % 7);
        assert_int_equal(dmp_store_get(s, absent, strlen(absent), NOW, collect, &c), DMP_ENOTFOUND);
    }
    dmp_store_reader_free(rd);
    /* the zone transfer's walk (no prefix mode: SeekToFirst and Next over every file) */
    size_t rows = 0;
    uint32_t serial = 0;
    assert_int_equal(dmp_store_zone_scan(s, NOW, &serial, count_row, &rows), 0);
    assert_int_equal(rows, (size_t)n / 3 * 6 + (n % 3 >= 1) + (n % 3 >= 2) * 2);
}

/* Names [from, to) through the write path, one name's values per batch. */
static void put_range(dmp_store_t *s, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        char nm[64], vals[3][320];
        dmp_store_put_t p[3];
        name_of(i, nm, sizeof nm);
        for (unsigned v = 0; v < 1 + i % 3; v++) {
            value_of(i, v, vals[v], sizeof vals[v]);
            p[v] = (dmp_store_put_t){.name = nm,
                                     .name_len = strlen(nm),
                                     .value = (const uint8_t *)vals[v],
                                     .value_len = strlen(vals[v]),
                                     .ttl = 3600};
        }
        assert_int_equal(dmp_store_put_batch(s, p, 1 + i % 3, T0), 0);
    }
}

static void test_reports_setup(void **state)
{
    fx_t *f = *state; /* the harness's store: the cache's kind left at its default */
    dmp_store_read_setup_t rs;
    dmp_store_read_setup(f->s, &rs);
    assert_string_equal(rs.cache_kind, "HyperClockCache");
    assert_int_equal(rs.cache_bytes, 8u << 20);
    dmp_store_close(f->s);

    f->s = open_with(f->path, DMP_STORE_CACHE_LRU, 0);
    dmp_store_read_setup(f->s, &rs);
    assert_string_equal(rs.cache_kind, "LRUCache");
    assert_int_equal(rs.cache_bytes, (size_t)256 << 20); /* the built-in default */
    dmp_store_close(f->s);

    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 3u << 20);
    dmp_store_read_setup(f->s, &rs);
    assert_string_equal(rs.cache_kind, "HyperClockCache");
    assert_int_equal(rs.cache_bytes, 3u << 20);
}

/* The clock cache holds no more than its capacity while far more blocks than fit are read (the
 * RSS the block cache adds is bounded as with the LRU one), and still hits on a block just
 * read. */
static void test_clock_capacity(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 256u << 10);
    put_range(f->s, 0, N_NAMES); /* ~1.8 MiB of records: several table files */
    dmp_store_close(f->s);
    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 256u << 10);
    check_all(f->s, N_NAMES);
    dmp_store_read_setup_t rs;
    dmp_store_read_setup(f->s, &rs);
    assert_string_equal(rs.cache_kind, "HyperClockCache");
    assert_true(rs.cache_usage > 0);
    assert_true(rs.cache_usage <= rs.cache_bytes);
}

/* Written (write path, then bulk load) under cache a, read under b and back under a. */
static void cross_cache(fx_t *f, dmp_store_cache_kind_t a, dmp_store_cache_kind_t b)
{
    static char names[N_NAMES][64], vals[N_NAMES][3][320];
    dmp_store_close(f->s);
    f->s = open_with(f->path, a, 1u << 20);
    put_range(f->s, 0, N_NAMES / 2);
    dmp_store_load_t *l = NULL;
    assert_int_equal(dmp_store_load_new(&l), 0);
    for (unsigned i = N_NAMES / 2; i < N_NAMES; i++) {
        name_of(i, names[i], sizeof names[i]);
        for (unsigned v = 0; v < 1 + i % 3; v++) {
            value_of(i, v, vals[i][v], sizeof vals[i][v]);
            assert_int_equal(dmp_store_load_add(l, names[i], strlen(names[i]),
                                                (const uint8_t *)vals[i][v], strlen(vals[i][v]),
                                                3600),
                             0);
        }
    }
    char tmp[128], err[256];
    snprintf(tmp, sizeof tmp, "%s/load.tmp", f->dir);
    dmp_store_load_stats_t st;
    int rc = dmp_store_load_commit(l, f->s, T0, tmp, NULL, NULL, NULL, &st, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "load: %d %s\n", rc, err);
    assert_int_equal(rc, 0);
    dmp_store_load_free(l);
    check_all(f->s, N_NAMES);
    dmp_store_close(f->s);
    f->s = open_with(f->path, b, 1u << 20);
    check_all(f->s, N_NAMES);
    dmp_store_close(f->s);
    f->s = open_with(f->path, a, 1u << 20);
    check_all(f->s, N_NAMES);
    assert_int_equal(count_of(f->s), (uint64_t)N_NAMES / 3 * 6);
}

static void test_lru_then_clock(void **state)
{
    cross_cache(*state, DMP_STORE_CACHE_LRU, DMP_STORE_CACHE_CLOCK);
}

static void test_clock_then_lru(void **state)
{
    cross_cache(*state, DMP_STORE_CACHE_CLOCK, DMP_STORE_CACHE_LRU);
}

/* Readers on several threads through one clock cache smaller than what they read (its
 * lock-free lookups, inserts and evictions; run under ThreadSanitizer by scripts/test.sh). */
typedef struct {
    dmp_store_t *s;
    unsigned seed;
    int bad;
} rd_arg_t;

static void *reader_main(void *p)
{
    rd_arg_t *a = p;
    dmp_store_reader_t *rd = NULL;
    if (dmp_store_reader_new(a->s, &rd) != 0) {
        a->bad = -1;
        return NULL;
    }
    for (unsigned k = 0; k < 4000; k++) {
        unsigned i = (k * 2654435761u + a->seed) % N_NAMES;
        char nm[64];
        name_of(i, nm, sizeof nm);
        coll_t c;
        memset(&c, 0, sizeof c);
        if (dmp_store_get_with(a->s, rd, nm, strlen(nm), NOW, collect, &c) != 0 || c.n != 1 + i % 3)
            a->bad++;
    }
    dmp_store_reader_free(rd);
    return NULL;
}

static void test_clock_concurrent(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 128u << 10);
    put_range(f->s, 0, N_NAMES);
    pthread_t th[4];
    rd_arg_t a[4];
    for (int t = 0; t < 4; t++) {
        a[t] = (rd_arg_t){.s = f->s, .seed = (unsigned)t * 977u, .bad = 0};
        assert_int_equal(pthread_create(&th[t], NULL, reader_main, &a[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(a[t].bad, 0);
    }
    dmp_store_read_setup_t rs;
    dmp_store_read_setup(f->s, &rs);
    assert_true(rs.cache_usage <= rs.cache_bytes);
}

/* Bytes of every table file (*.sst) of the store at path. */
static uint64_t sst_bytes(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".sst") != 0)
            continue;
        char fp[4352];
        if (snprintf(fp, sizeof fp, "%s/%s", path, e->d_name) >= (int)sizeof fp)
            continue;
        struct stat st;
        assert_int_equal(stat(fp, &st), 0);
        sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

/* The page cache pass after a start (store_prefetch.c): it reads the table files of the records
 * and the names index (not the other column families'), or either alone, no more than its
 * budget, and stops when told; the store reads the same afterwards. */
static void test_prefetch(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 1u << 20);
    put_range(f->s, 0, N_NAMES);
    dmp_store_close(f->s); /* reopened, the WAL's rest is flushed into table files too */
    f->s = open_with(f->path, DMP_STORE_CACHE_CLOCK, 1u << 20);
    uint64_t all = sst_bytes(f->path);

    dmp_store_prefetch_stats_t st;
    assert_int_equal(dmp_store_prefetch(f->s, UINT64_MAX, NULL, &st), 0);
    assert_true(st.files >= 2); /* records and rnames */
    assert_true(st.bytes > 0);
    assert_true(st.bytes < all); /* expiry, bystored, merkle, ... are left out */
    assert_false(st.capped);
    assert_false(st.stopped);

    assert_int_equal(dmp_store_prefetch(f->s, 4096, NULL, &st), 0);
    assert_int_equal(st.bytes, 4096);
    assert_int_equal(st.files, 1);
    assert_true(st.capped);

    atomic_bool stop;
    atomic_init(&stop, true);
    assert_int_equal(dmp_store_prefetch(f->s, UINT64_MAX, &stop, &st), 0);
    assert_true(st.stopped);
    assert_int_equal(st.bytes, 0);

    /* each part alone: the two add up to the whole pass */
    dmp_store_prefetch_stats_t rec, rn, both;
    assert_int_equal(dmp_store_prefetch(f->s, UINT64_MAX, NULL, &both), 0);
    assert_int_equal(
        dmp_store_prefetch_ex(f->s, DMP_STORE_PREFETCH_RECORDS, UINT64_MAX, NULL, &rec), 0);
    assert_int_equal(dmp_store_prefetch_ex(f->s, DMP_STORE_PREFETCH_RNAMES, UINT64_MAX, NULL, &rn),
                     0);
    assert_true(rec.files >= 1 && rn.files >= 1);
    assert_int_equal(rec.files + rn.files, both.files);
    assert_int_equal(rec.bytes + rn.bytes, both.bytes);
    assert_int_equal(dmp_store_prefetch_ex(f->s, 0, UINT64_MAX, NULL, &st), 0);
    assert_int_equal(st.files, 0);

    assert_int_equal(dmp_store_prefetch(f->s, 0, NULL, &st), 0);
    assert_int_equal(st.files, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(dmp_store_prefetch(NULL, 1, NULL, &st), DMP_EINVAL);
    check_all(f->s, N_NAMES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reports_setup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_capacity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru_then_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_then_lru, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clock_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefetch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
