/* Unit tests for src/cache: the per-shard answer cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_basic),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_cache_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
