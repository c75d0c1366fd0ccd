/* dnsmesh-bench missfloor: block picking, statistics and the name hash (bench_missfloor.h). */
#include <stdlib.h>
#include <string.h>

#include "bench_missfloor.h"

uint64_t mf_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t mf_pick_blocks(const uint64_t *sizes, size_t nfiles, uint64_t seed, mf_block_t *out,
                        size_t n)
{
    uint64_t total = 0;
    for (size_t f = 0; f < nfiles; f++)
        total += sizes[f] / MF_BLOCK;
    if (total == 0)
        return 0;
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = mf_rand(&st) % total; /* bias below 2^-40 for any real store */
        size_t f = 0;
        while (b >= sizes[f] / MF_BLOCK) /* a few hundred files at most: linear is fine */
            b -= sizes[f++] / MF_BLOCK;
        out[i] = (mf_block_t){(uint32_t)f, b * MF_BLOCK};
    }
    return total;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

mf_stats_t mf_stats(double *v, size_t n)
{
    mf_stats_t s = {0, 0, 0};
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, cmp_d);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

#define MF_SLOT 12

uint64_t mf_name_hash(const char *name, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

int mf_hash_init(mf_hash_t *h, size_t names)
{
    uint64_t n = 16;
    while (n * 3 < (uint64_t)names * 4)
        n <<= 1;
    h->slots = calloc(n, MF_SLOT);
    h->mask = n - 1;
    h->used = 0;
    return h->slots ? 0 : -1;
}

void mf_hash_free(mf_hash_t *h)
{
    free(h->slots);
    h->slots = NULL;
}

int mf_hash_put(mf_hash_t *h, uint64_t hash, uint32_t loc)
{
    for (uint64_t i = hash & h->mask, k = 0; k <= h->mask; i = (i + 1) & h->mask, k++) {
        uint8_t *s = h->slots + i * MF_SLOT;
        uint64_t cur;
        memcpy(&cur, s, 8);
        if (cur == 0 || cur == hash) {
            if (cur == 0) {
                if ((h->used + 1) * 4 > (h->mask + 1) * 3)
                    return -1;
                h->used++;
            }
            memcpy(s, &hash, 8);
            memcpy(s + 8, &loc, 4);
            return 0;
        }
    }
    return -1;
}

int mf_hash_get(const mf_hash_t *h, uint64_t hash, uint32_t *loc)
{
    for (uint64_t i = hash & h->mask;; i = (i + 1) & h->mask) {
        const uint8_t *s = h->slots + i * MF_SLOT;
        uint64_t cur;
        memcpy(&cur, s, 8);
        if (cur == hash) {
            memcpy(loc, s + 8, 4);
            return 1;
        }
        if (cur == 0) /* the load bound keeps an empty slot: the loop ends */
            return 0;
    }
}
