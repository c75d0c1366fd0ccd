/* cache: the answer cache's admission doorkeeper, a bitmap of the names that missed once since
 * its last reset, two bits per name in one 64-bit word (cache.h "admission doorkeeper"). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

struct dmp_cache_door {
    uint64_t *bits;
    uint64_t mask;     /* number of bits - 1 */
    uint64_t limit;    /* names recorded before a reset */
    uint64_t recorded; /* since the last reset */
    uint64_t resets;
    uint8_t key[crypto_shorthash_KEYBYTES];
};

int dmp_cache_door_new(unsigned bits_log2, dmp_cache_door_t **out)
{
    if (out == NULL || bits_log2 < 10 || bits_log2 > 30)
        return DMP_EINVAL;
    if (sodium_init() < 0)
        return DMP_ECRYPTO;
    dmp_cache_door_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return DMP_ENOMEM;
    uint64_t nbits = UINT64_C(1) << bits_log2;
    d->bits = calloc(nbits / 64, sizeof(uint64_t));
    if (d->bits == NULL) {
        free(d);
        return DMP_ENOMEM;
    }
    d->mask = nbits - 1;
    d->limit = nbits / 8;
    crypto_shorthash_keygen(d->key);
    *out = d;
    return 0;
}

void dmp_cache_door_free(dmp_cache_door_t *d)
{
    if (d == NULL)
        return;
    free(d->bits);
    free(d);
}

bool dmp_cache_door_admit(dmp_cache_door_t *d, const char *lname, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const uint8_t *)lname, len, d->key);
    uint64_t x;
    memcpy(&x, h, 8);
    /* both probes in one 64-bit word: one cache miss per name, not two */
    uint64_t *w = &d->bits[(x >> 12) & (d->mask >> 6)];
    uint64_t m = (UINT64_C(1) << (x & 63)) | (UINT64_C(1) << ((x >> 6) & 63));
    if ((*w & m) == m)
        return true;
    if (d->recorded >= d->limit) {
        memset(d->bits, 0, (d->mask + 1) / 8);
        d->recorded = 0;
        d->resets++;
    }
    *w |= m;
    d->recorded++;
    return false;
}

void dmp_cache_door_stats(const dmp_cache_door_t *d, uint64_t *recorded, uint64_t *resets)
{
    if (recorded)
        *recorded = d->recorded;
    if (resets)
        *resets = d->resets;
}
