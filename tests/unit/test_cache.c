/* Unit tests for src/cache: the per-shard answer cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

#define T0 INT64_C(1800000000000)

/* ---- cache ---- */

static void test_cache_basic(void **state)
{
    (void)state;
    dmp_cache_t *c;
    assert_int_equal(dmp_cache_new(1 << 20, &c), 0);
    const uint8_t *blob = (const uint8_t *)"x";
    size_t bl = 9;
    uint16_t cnt = 9;
    assert_int_equal(dmp_cache_get(c, "a.test", 6, T0, &blob, &bl, &cnt), DMP_CACHE_MISS);
    assert_null(blob);
    assert_int_equal(dmp_cache_put(c, "a.test", 6, (const uint8_t *)"RRSET", 5, 3, T0 + 1000), 0);
    assert_int_equal(dmp_cache_get(c, "a.test", 6, T0, &blob, &bl, &cnt), DMP_CACHE_HIT);
    assert_int_equal(bl, 5);
    assert_memory_equal(blob, "RRSET", 5);
    assert_int_equal(cnt, 3);
    /* different name, a prefix of it, a longer one */
    assert_int_equal(dmp_cache_get(c, "a.tes", 5, T0, NULL, NULL, NULL), DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_get(c, "a.testx", 7, T0, NULL, NULL, NULL), DMP_CACHE_MISS);
    /* replace */
    assert_int_equal(dmp_cache_put(c, "a.test", 6, (const uint8_t *)"NEW", 3, 1, T0 + 1000), 0);
    assert_int_equal(dmp_cache_get(c, "a.test", 6, T0, &blob, &bl, &cnt), DMP_CACHE_HIT);
    assert_int_equal(bl, 3);
    assert_memory_equal(blob, "NEW", 3);
    /* negative */
    assert_int_equal(dmp_cache_put_negative(c, "nx.test", 7, T0 + 500), 0);
    blob = (const uint8_t *)"x";
    assert_int_equal(dmp_cache_get(c, "nx.test", 7, T0, &blob, &bl, &cnt), DMP_CACHE_NEGATIVE);
    assert_null(blob);
    assert_int_equal(bl, 0);
    /* expiry: dead at expires_ms */
    assert_int_equal(dmp_cache_get(c, "nx.test", 7, T0 + 499, NULL, NULL, NULL),
                     DMP_CACHE_NEGATIVE);
    assert_int_equal(dmp_cache_get(c, "nx.test", 7, T0 + 500, NULL, NULL, NULL), DMP_CACHE_MISS);
    size_t entries, bytes;
    uint64_t hits, misses;
    dmp_cache_stats(c, &hits, &misses, &bytes, &entries);
    assert_int_equal(entries, 1); /* the expired entry was dropped */
    assert_int_equal(hits, 4);
    assert_int_equal(misses, 4);
    assert_true(bytes > 0);
    /* invalidate */
    dmp_cache_invalidate(c, "a.test", 6);
    dmp_cache_invalidate(c, "never.test", 10);
    assert_int_equal(dmp_cache_get(c, "a.test", 6, T0, NULL, NULL, NULL), DMP_CACHE_MISS);
    dmp_cache_stats(c, NULL, NULL, &bytes, &entries);
    assert_int_equal(entries, 0);
    assert_int_equal(bytes, 0);
    dmp_cache_free(c);
    dmp_cache_free(NULL);
}

/* dmp_cache_below follows the bytes held, up through puts and down through invalidations,
 * evictions and clear. */
static void test_cache_below(void **state)
{
    (void)state;
    dmp_cache_t *c;
    const size_t max = 64 * 1024;
    assert_int_equal(dmp_cache_new(max, &c), 0);
    assert_true(dmp_cache_below(c, 1, 2));
    assert_false(dmp_cache_below(c, 1, 0));
    uint8_t blob[1000];
    memset(blob, 0xCD, sizeof blob);
    char nm[32];
    int i = 0;
    for (; dmp_cache_below(c, 1, 2); i++) {
        assert_true(i < 64);
        snprintf(nm, sizeof nm, "b%03d.test", i);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), blob, sizeof blob, 1, T0 + 1000), 0);
    }
    size_t bytes;
    dmp_cache_stats(c, NULL, NULL, &bytes, NULL);
    assert_true(bytes >= max / 2 && bytes < max / 2 + 1200);
    assert_true(dmp_cache_below(c, 3, 4));
    dmp_cache_invalidate(c, "b000.test", 9);
    assert_true(dmp_cache_below(c, 1, 2));
    for (int j = 0; j < 200; j++) { /* full, evicting: never below 3/4 again */
        snprintf(nm, sizeof nm, "e%03d.test", j);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), blob, sizeof blob, 1, T0 + 1000), 0);
    }
    assert_false(dmp_cache_below(c, 3, 4));
    assert_true(dmp_cache_below(c, 2, 1));
    dmp_cache_clear(c);
    assert_true(dmp_cache_below(c, 1, 64));
    dmp_cache_free(c);
}

static void test_cache_eviction(void **state)
{
    (void)state;
    dmp_cache_t *c;
    const size_t max = 64 * 1024;
    assert_int_equal(dmp_cache_new(max, &c), 0);
    uint8_t blob[1000];
    memset(blob, 0xAB, sizeof blob);
    /* too big alone */
    uint8_t *huge = calloc(1, max + 1);
    assert_int_equal(dmp_cache_put(c, "h", 1, huge, max + 1, 1, T0 + 1000), DMP_ETOOBIG);
    free(huge);
    char nm[32];
    for (int i = 0; i < 500; i++) {
        snprintf(nm, sizeof nm, "n%03d.test", i);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), blob, sizeof blob, 1, T0 + 1000), 0);
        size_t bytes;
        dmp_cache_stats(c, NULL, NULL, &bytes, NULL);
        assert_true(bytes <= max);
        /* keep n000 hot: LRU must never evict it */
        assert_int_equal(dmp_cache_get(c, "n000.test", 9, T0, NULL, NULL, NULL), DMP_CACHE_HIT);
    }
    size_t entries;
    dmp_cache_stats(c, NULL, NULL, NULL, &entries);
    assert_true(entries > 10 && entries < 70);
    assert_int_equal(dmp_cache_get(c, "n001.test", 9, T0, NULL, NULL, NULL), DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_get(c, "n499.test", 9, T0, NULL, NULL, NULL), DMP_CACHE_HIT);
    /* every resident entry still found (table consistent after many removals) */
    size_t found = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(nm, sizeof nm, "n%03d.test", i);
        const uint8_t *b;
        size_t bl;
        if (dmp_cache_get(c, nm, strlen(nm), T0, &b, &bl, NULL) == DMP_CACHE_HIT) {
            assert_int_equal(bl, sizeof blob);
            assert_memory_equal(b, blob, sizeof blob);
            found++;
        }
    }
    assert_int_equal(found, entries);
    dmp_cache_clear(c);
    dmp_cache_stats(c, NULL, NULL, NULL, &entries);
    assert_int_equal(entries, 0);
    dmp_cache_free(c);
}

/* A flood of names that do not exist (NXDOMAINs held with dmp_cache_put_nx, and plain negative
 * entries) recycles only the negative class: the hot set of real answers stays cached, the
 * negative class stays within its budget, and NXDOMAINs are still cached. */
static void test_cache_negative_flood(void **state)
{
    (void)state;
    dmp_cache_t *c;
    const size_t max = 256 * 1024;
    assert_int_equal(dmp_cache_new(max, &c), 0);
    uint8_t blob[400];
    memset(blob, 0x5C, sizeof blob);
    char nm[64];
    const int hot = 100; /* ~48 KiB: well within the positive share */
    for (int i = 0; i < hot; i++) {
        snprintf(nm, sizeof nm, "hot%03d.mesh.test", i);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), blob, sizeof blob, 1, T0 + 60000), 0);
    }
    const uint32_t gen = 7;
    for (int i = 0; i < 50000; i++) {
        snprintf(nm, sizeof nm, "nx-%08x.mesh.test", (unsigned)(i * 2654435761u));
        int rc = (i % 5 == 0) ? dmp_cache_put_negative(c, nm, strlen(nm), T0 + 60000)
                              : dmp_cache_put_nx(c, nm, strlen(nm), (const uint8_t *)&gen,
                                                 sizeof gen, T0 + 60000);
        assert_int_equal(rc, 0);
        size_t pos = 0, neg = 0, bytes = 0;
        dmp_cache_class_stats(c, &pos, &neg);
        dmp_cache_stats(c, NULL, NULL, &bytes, NULL);
        assert_true(neg <= max / 8);
        assert_true(bytes <= max && bytes == pos + neg);
    }
    /* every hot entry is still there (never touched during the flood: not even LRU order helped) */
    for (int i = 0; i < hot; i++) {
        snprintf(nm, sizeof nm, "hot%03d.mesh.test", i);
        const uint8_t *b;
        size_t bl;
        uint16_t cnt;
        assert_int_equal(dmp_cache_get(c, nm, strlen(nm), T0, &b, &bl, &cnt), DMP_CACHE_HIT);
        assert_int_equal(bl, sizeof blob);
        assert_int_equal(cnt, 1);
    }
    /* the newest NXDOMAIN is cached and reads back as put (a HIT with count 0 and its blob) */
    snprintf(nm, sizeof nm, "nx-%08x.mesh.test", (unsigned)(49999 * 2654435761u));
    const uint8_t *b;
    size_t bl;
    uint16_t cnt = 9;
    assert_int_equal(dmp_cache_get(c, nm, strlen(nm), T0, &b, &bl, &cnt), DMP_CACHE_HIT);
    assert_int_equal(cnt, 0);
    assert_int_equal(bl, sizeof gen);
    assert_memory_equal(b, &gen, sizeof gen);
    /* the oldest ones were recycled */
    assert_int_equal(dmp_cache_get(c, "nx-00000000.mesh.test", 21, T0, NULL, NULL, NULL),
                     DMP_CACHE_MISS);
    dmp_cache_free(c);
}

/* Positive entries may use the whole cache, but only their share (max - negative budget) is
 * safe from negative inserts; a negative budget of 0 caches no negative entry at all. */
static void test_cache_negative_budget(void **state)
{
    (void)state;
    dmp_cache_t *c;
    const size_t max = 64 * 1024;
    assert_int_equal(dmp_cache_new(max, &c), 0);
    uint8_t blob[1000];
    memset(blob, 1, sizeof blob);
    char nm[32];
    for (int i = 0; i < 200; i++) { /* positives fill everything */
        snprintf(nm, sizeof nm, "p%03d.test", i);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), blob, sizeof blob, 1, T0 + 1000), 0);
    }
    size_t pos = 0, neg = 0;
    dmp_cache_class_stats(c, &pos, &neg);
    assert_true(pos > max - max / 8 && neg == 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(nm, sizeof nm, "n%05d.test", i);
        assert_int_equal(dmp_cache_put_negative(c, nm, strlen(nm), T0 + 1000), 0);
    }
    dmp_cache_class_stats(c, &pos, &neg);
    /* negatives took back their budget only: positives keep at least their share */
    assert_true(pos >= max - max / 8 - (sizeof blob + 256));
    assert_true(neg <= max / 8 && neg > max / 16);
    /* the most recent positives survived */
    assert_int_equal(dmp_cache_get(c, "p199.test", 9, T0, NULL, NULL, NULL), DMP_CACHE_HIT);
    /* budget 0: negatives are dropped and no longer cached */
    assert_int_equal(dmp_cache_set_negative_bytes(c, 0), 0);
    dmp_cache_class_stats(c, &pos, &neg);
    assert_int_equal(neg, 0);
    assert_int_equal(dmp_cache_put_negative(c, "z.test", 6, T0 + 1000), DMP_ETOOBIG);
    assert_int_equal(dmp_cache_get(c, "z.test", 6, T0, NULL, NULL, NULL), DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_set_negative_bytes(c, max + 1), DMP_EINVAL);
    dmp_cache_free(c);
}

static void test_cache_churn(void **state)
{
    /* Many small entries with random invalidations: cross-check against a shadow table. */
    (void)state;
    dmp_cache_t *c;
    assert_int_equal(dmp_cache_new(1 << 22, &c), 0);
    enum { N = 3000 };
    static int64_t shadow[N]; /* 0 = absent, else expiry */
    memset(shadow, 0, sizeof shadow);
    uint32_t x = 12345;
    for (int step = 0; step < 40000; step++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % N);
        char nm[16];
        snprintf(nm, sizeof nm, "%d", k);
        int op = (int)((x >> 24) % 4);
        if (op == 0) {
            dmp_cache_invalidate(c, nm, strlen(nm));
            shadow[k] = 0;
        } else if (op == 1) {
            uint8_t v = (uint8_t)k;
            assert_int_equal(dmp_cache_put(c, nm, strlen(nm), &v, 1, 1, T0 + 1 + k % 7), 0);
            shadow[k] = T0 + 1 + k % 7;
        } else {
            int64_t now = T0 + (int)((x >> 4) % 4);
            dmp_cache_result_t r = dmp_cache_get(c, nm, strlen(nm), now, NULL, NULL, NULL);
            dmp_cache_result_t want = shadow[k] > now ? DMP_CACHE_HIT : DMP_CACHE_MISS;
            assert_int_equal(r, want);
            if (shadow[k] <= now)
                shadow[k] = 0;
        }
    }
    dmp_cache_free(c);
}

/* ---- concurrent readers ---- */

static void test_cache_readers_basic(void **state)
{
    (void)state;
    dmp_cache_t *c;
    uint8_t buf[64];
    size_t bl = 99;
    uint16_t cnt = 99;
    assert_int_equal(dmp_cache_new(1 << 20, &c), 0);
    /* no readers registered: every read misses */
    assert_int_equal(dmp_cache_read(c, 0, "a.test", 6, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_readers(c, 2), 0);
    assert_int_equal(dmp_cache_readers(c, 2), DMP_EINVAL); /* once */
    assert_int_equal(dmp_cache_put(c, "a.test", 6, (const uint8_t *)"RRSET", 5, 3, T0 + 1000), 0);
    int64_t exp = 0;
    assert_int_equal(dmp_cache_read(c, 1, "a.test", 6, T0, buf, sizeof buf, &bl, &cnt, &exp),
                     DMP_CACHE_HIT);
    assert_int_equal(bl, 5);
    assert_int_equal(cnt, 3);
    assert_memory_equal(buf, "RRSET", 5);
    assert_int_equal(exp, T0 + 1000);
    assert_int_equal(dmp_cache_read(c, 2, "a.test", 6, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS); /* no such reader */
    assert_int_equal(dmp_cache_read(c, 0, "a.test", 6, T0, buf, 4, &bl, &cnt, NULL),
                     DMP_CACHE_MISS); /* does not fit */
    assert_int_equal(dmp_cache_read(c, 0, "a.test", 6, T0 + 1000, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS); /* expired */
    assert_int_equal(dmp_cache_put(c, "a.test", 6, (const uint8_t *)"NEW", 3, 1, T0 + 1000), 0);
    assert_int_equal(dmp_cache_read(c, 0, "a.test", 6, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_HIT);
    assert_int_equal(bl, 3);
    assert_memory_equal(buf, "NEW", 3);
    dmp_cache_invalidate(c, "a.test", 6);
    assert_int_equal(dmp_cache_read(c, 0, "a.test", 6, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_put_negative(c, "nx.test", 7, T0 + 500), 0);
    assert_int_equal(dmp_cache_read(c, 0, "nx.test", 7, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_NEGATIVE);
    assert_int_equal(dmp_cache_put(c, "ent.test", 8, NULL, 0, 0, T0 + 500), 0);
    assert_int_equal(dmp_cache_read(c, 0, "ent.test", 8, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_HIT);
    assert_int_equal(bl, 0);
    assert_int_equal(cnt, 0);
    uint64_t h, m;
    size_t retired;
    dmp_cache_reader_stats(c, &h, &m, &retired);
    assert_int_equal(h, 4);
    assert_int_equal(m, 3);   /* too big, expired, invalidated (reader 2 does not exist) */
    assert_true(retired > 0); /* two replaced/invalidated entries wait for reclamation */
    dmp_cache_reclaim(c);     /* no reader inside a read: everything goes */
    dmp_cache_reader_stats(c, NULL, NULL, &retired);
    assert_int_equal(retired, 0);
    dmp_cache_free(c);
}

/* Entries hit only by readers survive eviction once (second chance), untouched ones go first. */
static void test_cache_readers_second_chance(void **state)
{
    (void)state;
    dmp_cache_t *c;
    uint8_t v[200] = {0}, buf[256];
    size_t bl;
    uint16_t cnt;
    assert_int_equal(dmp_cache_new(4096, &c), 0);
    assert_int_equal(dmp_cache_readers(c, 1), 0);
    char nm[16];
    int n = 0;
    for (;; n++) { /* fill until the first eviction would happen */
        snprintf(nm, sizeof nm, "n%d", n);
        size_t e0, e1;
        dmp_cache_stats(c, NULL, NULL, NULL, &e0);
        assert_int_equal(dmp_cache_put(c, nm, strlen(nm), v, sizeof v, 1, T0 + 1000), 0);
        dmp_cache_stats(c, NULL, NULL, NULL, &e1);
        if (e1 <= e0)
            break;
    }
    /* n0 was evicted by the put of n<n>; n1 is now the least recently used: read it */
    assert_true(n >= 4);
    assert_int_equal(dmp_cache_read(c, 0, "n0", 2, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS);
    assert_int_equal(dmp_cache_read(c, 0, "n1", 2, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_HIT);
    assert_int_equal(dmp_cache_put(c, "x", 1, v, sizeof v, 1, T0 + 1000), 0);
    assert_int_equal(dmp_cache_read(c, 0, "n1", 2, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_HIT);
    assert_int_equal(dmp_cache_read(c, 0, "n2", 2, T0, buf, sizeof buf, &bl, &cnt, NULL),
                     DMP_CACHE_MISS); /* evicted in n1's place */
    dmp_cache_free(c);
}

/* One writer (puts, replacements, invalidations, evictions, growth, shard-side gets) and two
 * readers. Every value carries its version and a pattern derived from it: a reader checks the
 * bytes are whole (not torn) and, through floor[], that it never sees a version older than one
 * the writer had replaced or invalidated before the read began. */
enum { RN = 97, WRITER_OPS = 60000 };

typedef struct {
    dmp_cache_t *c;
    _Atomic uint64_t floor[RN]; /* lowest version a read may return for name k */
    _Atomic int done;
    _Atomic uint64_t hits, checked;
    unsigned reader;
    _Atomic int bad;
} rw_t;

static size_t val_make(uint8_t *b, unsigned k, uint64_t v)
{
    size_t len = 8 + (size_t)(v % 113);
    memcpy(b, &v, 8);
    for (size_t i = 8; i < len; i++)
        b[i] = (uint8_t)(v * 31 + k + i);
    return len;
}

static void *rw_writer(void *arg)
{
    rw_t *w = arg;
    uint64_t ver[RN] = {0};
    uint8_t b[160];
    uint32_t x = 99;
    for (int op = 0; op < WRITER_OPS; op++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % RN;
        char nm[16];
        snprintf(nm, sizeof nm, "k%u.test", k);
        unsigned what = (x >> 20) % 8;
        if (what == 0) {
            dmp_cache_invalidate(w->c, nm, strlen(nm));
            atomic_store_explicit(&w->floor[k], ++ver[k], memory_order_release);
        } else if (what == 1) {
            dmp_cache_get(w->c, nm, strlen(nm), T0, NULL, NULL, NULL);
        } else {
            uint64_t v = ++ver[k];
            size_t len = val_make(b, k, v);
            if (dmp_cache_put(w->c, nm, strlen(nm), b, len, (uint16_t)k, T0 + 1000) == 0)
                atomic_store_explicit(&w->floor[k], v, memory_order_release);
        }
    }
    atomic_store(&w->done, 1);
    return NULL;
}

typedef struct {
    rw_t *w;
    unsigned idx;
} rarg_t;

static void *rw_reader(void *arg)
{
    rarg_t *a = arg;
    rw_t *w = a->w;
    uint8_t b[256];
    uint32_t x = 7 + a->idx;
    /* until the writer is done, and at least 100,000 reads (some after it: hits guaranteed) */
    for (long i = 0; i < 50000000L && (i < 100000 || !atomic_load(&w->done)); i++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % RN;
        char nm[16];
        snprintf(nm, sizeof nm, "k%u.test", k);
        uint64_t fl = atomic_load_explicit(&w->floor[k], memory_order_acquire);
        size_t bl;
        uint16_t cnt;
        if (dmp_cache_read(w->c, a->idx, nm, strlen(nm), T0, b, sizeof b, &bl, &cnt, NULL) !=
            DMP_CACHE_HIT)
            continue;
        uint64_t v;
        memcpy(&v, b, 8);
        uint8_t want[160];
        size_t wl = val_make(want, k, v);
        if (cnt != k || bl != wl || memcmp(b, want, wl) != 0 || v < fl)
            atomic_store(&w->bad, 1);
        atomic_fetch_add(&w->hits, 1);
    }
    return NULL;
}

static void test_cache_readers_threads(void **state)
{
    (void)state;
    static rw_t w;
    memset(&w, 0, sizeof w);
    /* small: constant eviction, and it starts at the minimum table size so it grows */
    assert_int_equal(dmp_cache_new(12 << 10, &w.c), 0);
    assert_int_equal(dmp_cache_readers(w.c, 2), 0);
    pthread_t wt, rt[2];
    rarg_t ra[2] = {{&w, 0}, {&w, 1}};
    assert_int_equal(pthread_create(&rt[0], NULL, rw_reader, &ra[0]), 0);
    assert_int_equal(pthread_create(&rt[1], NULL, rw_reader, &ra[1]), 0);
    assert_int_equal(pthread_create(&wt, NULL, rw_writer, &w), 0);
    pthread_join(wt, NULL);
    pthread_join(rt[0], NULL);
    pthread_join(rt[1], NULL);
    assert_int_equal(atomic_load(&w.bad), 0);
    assert_true(atomic_load(&w.hits) > 0);
    uint64_t h;
    dmp_cache_reader_stats(w.c, &h, NULL, NULL);
    assert_int_equal(h, atomic_load(&w.hits));
    dmp_cache_free(w.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_basic),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_cache_below),
        cmocka_unit_test(test_cache_churn),
        cmocka_unit_test(test_cache_negative_flood),
        cmocka_unit_test(test_cache_negative_budget),
        cmocka_unit_test(test_cache_readers_basic),
        cmocka_unit_test(test_cache_readers_second_chance),
        cmocka_unit_test(test_cache_readers_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
