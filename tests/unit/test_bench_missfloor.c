/* dnsmesh-bench missfloor's pure parts (bench/bench_missfloor_pick.c): the blocks every arm
 * reads, the per-round statistics and the name -> location hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench_missfloor.h"

/* Every block whole, aligned and inside its file; files drawn in proportion to their blocks;
 * files under one block never drawn; the same seed gives the same blocks. */
static void t_pick_blocks(void **state)
{
    (void)state;
    const uint64_t sizes[4] = {10 * MF_BLOCK + 100, 4095, 30 * MF_BLOCK, 0};
    enum { N = 40000 };
    static mf_block_t a[N], b[N];
    assert_int_equal(mf_pick_blocks(sizes, 4, 7, a, N), 40);
    size_t per[4] = {0}, seen[40] = {0};
    for (size_t i = 0; i < N; i++) {
        assert_true(a[i].file < 4);
        assert_int_equal(a[i].off % MF_BLOCK, 0);
        assert_true(a[i].off + MF_BLOCK <= sizes[a[i].file]);
        per[a[i].file]++;
        seen[(a[i].file ? 10 : 0) + a[i].off / MF_BLOCK]++;
    }
    assert_int_equal(per[1] + per[3], 0);
    /* 10 of 40 blocks in file 0: a quarter of the draws, within a few percent */
    assert_in_range(per[0], N / 4 - N / 50, N / 4 + N / 50);
    for (size_t i = 0; i < 40; i++) /* every block drawn, none more than twice its share */
        assert_in_range(seen[i], 1, 2 * N / 40);
    assert_int_equal(mf_pick_blocks(sizes, 4, 7, b, N), 40);
    assert_memory_equal(a, b, sizeof a);
    mf_pick_blocks(sizes, 4, 8, b, N);
    assert_memory_not_equal(a, b, sizeof a);
    const uint64_t tiny[2] = {100, 4095};
    b[0] = (mf_block_t){9, 9};
    assert_int_equal(mf_pick_blocks(tiny, 2, 1, b, 1), 0);
    assert_int_equal(b[0].file, 9);
}

static void t_stats(void **state)
{
    (void)state;
    double odd[5] = {5, 1, 4, 2, 3};
    mf_stats_t s = mf_stats(odd, 5);
    assert_true(s.median == 3 && s.min == 1 && s.max == 5);
    double even[4] = {10, 2, 8, 4};
    s = mf_stats(even, 4);
    assert_true(s.median == 6 && s.min == 2 && s.max == 10);
    double one[1] = {7.5};
    s = mf_stats(one, 1);
    assert_true(s.median == 7.5 && s.min == 7.5 && s.max == 7.5);
    s = mf_stats(NULL, 0);
    assert_true(s.median == 0 && s.min == 0 && s.max == 0);
}

static void t_hash(void **state)
{
    (void)state;
    enum { N = 5000 };
    mf_hash_t h;
    assert_int_equal(mf_hash_init(&h, N), 0);
    assert_true((h.mask + 1) * 3 >= (uint64_t)N * 4); /* load at most 0.75 */
    char nm[64];
    for (uint32_t i = 0; i < N; i++) {
        int l = snprintf(nm, sizeof nm, "slot-%u.mb-x.mesh.test", i);
        assert_int_equal(mf_hash_put(&h, mf_name_hash(nm, (size_t)l), i), 0);
    }
    assert_int_equal(h.used, N);
    for (uint32_t i = 0; i < N; i++) {
        int l = snprintf(nm, sizeof nm, "slot-%u.mb-x.mesh.test", i);
        uint32_t loc = UINT32_MAX;
        assert_int_equal(mf_hash_get(&h, mf_name_hash(nm, (size_t)l), &loc), 1);
        assert_int_equal(loc, i);
        l = snprintf(nm, sizeof nm, "nx-%u.mb-x.mesh.test", i);
        assert_int_equal(mf_hash_get(&h, mf_name_hash(nm, (size_t)l), &loc), 0);
    }
    /* a name put again is replaced, not added */
    assert_int_equal(mf_hash_put(&h, mf_name_hash("slot-3.mb-x.mesh.test", 21), 77), 0);
    assert_int_equal(h.used, N);
    uint32_t loc = 0;
    assert_int_equal(mf_hash_get(&h, mf_name_hash("slot-3.mb-x.mesh.test", 21), &loc), 1);
    assert_int_equal(loc, 77);
    /* past the load bound a put is refused, never an endless probe */
    size_t cap = (h.mask + 1) * 3 / 4, extra = 0;
    while (mf_hash_put(&h, 1000000 + extra, 1) == 0)
        extra++;
    assert_int_equal(h.used, cap);
    assert_true(mf_name_hash("", 0) != 0);
    mf_hash_free(&h);
    assert_null(h.slots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_pick_blocks),
        cmocka_unit_test(t_stats),
        cmocka_unit_test(t_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
