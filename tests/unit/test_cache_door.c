/* Unit tests for src/cache/cache_door.c: the answer cache's admission doorkeeper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cache/cache.h"

static size_t name_of(unsigned i, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "chunk-%04u-%08x.mesh.test", i % 10000, i * 2654435761u);
    return (size_t)n;
}

static void test_door_args(void **state)
{
    (void)state;
    dmp_cache_door_t *d = NULL;
    assert_int_equal(dmp_cache_door_new(16, NULL), DMP_EINVAL);
    assert_int_equal(dmp_cache_door_new(9, &d), DMP_EINVAL);
    assert_int_equal(dmp_cache_door_new(31, &d), DMP_EINVAL);
    assert_null(d);
    dmp_cache_door_free(NULL);
}

/* A name is admitted on its second miss, not its first; names differing in one byte or in
 * length are different names. */
static void test_door_second_miss(void **state)
{
    (void)state;
    dmp_cache_door_t *d;
    assert_int_equal(dmp_cache_door_new(20, &d), 0);
    assert_false(dmp_cache_door_admit(d, "a.mesh.test", 11));
    assert_true(dmp_cache_door_admit(d, "a.mesh.test", 11));
    assert_true(dmp_cache_door_admit(d, "a.mesh.test", 11));
    assert_false(dmp_cache_door_admit(d, "b.mesh.test", 11));
    assert_false(dmp_cache_door_admit(d, "a.mesh.tes", 10));
    char buf[64];
    unsigned first = 0, second = 0;
    for (unsigned i = 0; i < 1000; i++)
        first += dmp_cache_door_admit(d, buf, name_of(i, buf, sizeof buf));
    for (unsigned i = 0; i < 1000; i++)
        second += dmp_cache_door_admit(d, buf, name_of(i, buf, sizeof buf));
    assert_true(first <= 5); /* 1003 names in 2^20 bits: a wrong admission is ~4e-6 each */
    assert_int_equal(second, 1000);
    uint64_t rec, resets;
    dmp_cache_door_stats(d, &rec, &resets);
    assert_int_equal(rec, 1003 - first);
    assert_int_equal(resets, 0);
    dmp_cache_door_free(d);
}

/* Filled to its limit (2^bits / 8 names) it still admits under ~5 % of names never seen; the
 * next new name clears it, and a name recorded before the reset misses once more. */
static void test_door_full_and_reset(void **state)
{
    (void)state;
    dmp_cache_door_t *d;
    assert_int_equal(dmp_cache_door_new(16, &d), 0);
    const unsigned limit = (1u << 16) / 8;
    char buf[64];
    unsigned wrong = 0;
    for (unsigned i = 0; i < limit; i++)
        wrong += dmp_cache_door_admit(d, buf, name_of(i, buf, sizeof buf));
    assert_true(wrong < limit / 20);
    uint64_t rec, resets;
    dmp_cache_door_stats(d, &rec, &resets);
    assert_int_equal(rec, limit - wrong);
    assert_int_equal(resets, 0);
    /* fill up to the limit exactly, with names not yet seen */
    unsigned i = limit;
    for (; rec < limit; i++)
        if (!dmp_cache_door_admit(d, buf, name_of(i, buf, sizeof buf)))
            rec++;
    /* the last name recorded is still remembered until the reset */
    assert_true(dmp_cache_door_admit(d, buf, name_of(i - 1, buf, sizeof buf)));
    /* a new name (not admitted by mistake) resets it */
    for (; resets == 0; i++) {
        bool adm = dmp_cache_door_admit(d, buf, name_of(i, buf, sizeof buf));
        dmp_cache_door_stats(d, &rec, &resets);
        assert_true(adm || resets == 1);
    }
    assert_int_equal(rec, 1);
    assert_false(dmp_cache_door_admit(d, buf, name_of(0, buf, sizeof buf)));
    assert_true(dmp_cache_door_admit(d, buf, name_of(0, buf, sizeof buf)));
    dmp_cache_door_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_door_args),
        cmocka_unit_test(test_door_second_miss),
        cmocka_unit_test(test_door_full_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
