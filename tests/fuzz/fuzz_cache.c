/* libFuzzer target: the answer cache driven by an operation stream, cross-checked against a
 * small shadow table (names are one byte, so collisions and replacements are frequent). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cache/cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_cache_t *c;
    /* Small byte bound so eviction happens constantly. */
    if (dmp_cache_new(2048, &c) != 0)
        return 0;
    /* one registered reader: every lookup is also made through dmp_cache_read, which must agree
     * with the shadow table (and with get: before get, which may drop an expired entry) */
    if (dmp_cache_readers(c, 1) != 0) {
        dmp_cache_free(c);
        return 0;
    }
    uint8_t rbuf[255];
    int64_t shadow_exp[256];
    uint8_t shadow_len[256];
    uint8_t shadow_cnt[256];
    bool present[256];
    memset(present, 0, sizeof present);
    uint8_t blob[255];
    memset(blob, 0x5a, sizeof blob);
    int64_t now = 1000;
    for (size_t i = 0; i + 3 <= size; i += 3) {
        uint8_t op = data[i] & 7, key = data[i + 1], arg = data[i + 2];
        char nm[2] = {(char)key, 'x'};
        size_t nl = 1 + (key & 1); /* names of length 1 and 2 */
        const uint8_t *b;
        size_t bl;
        uint16_t cnt;
        switch (op) {
        case 1: /* an NXDOMAIN with its bytes, held in the negative class */
            if (dmp_cache_put_nx(c, nm, nl, blob, arg & 7, now + (arg & 15)) == 0) {
                present[key] = true;
                shadow_exp[key] = now + (arg & 15);
                shadow_len[key] = arg & 7;
                shadow_cnt[key] = 0;
            } else {
                present[key] = false;
            }
            break;
        case 0:
            if (dmp_cache_put(c, nm, nl, blob, arg, arg, now + (arg & 15)) == 0) {
                present[key] = true;
                shadow_exp[key] = now + (arg & 15);
                shadow_len[key] = arg;
                shadow_cnt[key] = arg;
            } else {
                present[key] = false;
            }
            break;
        case 2:
            if (dmp_cache_put_negative(c, nm, nl, now + (arg & 15)) == 0) {
                present[key] = true;
                shadow_exp[key] = now + (arg & 15);
                shadow_len[key] = 0;
                shadow_cnt[key] = 0;
            } else {
                present[key] = false;
            }
            break;
        case 3:
            dmp_cache_invalidate(c, nm, nl);
            present[key] = false;
            break;
        case 4:
            now += arg & 7;
            break;
        case 5:
            dmp_cache_reclaim(c);
            break;
        default: {
            size_t rl;
            uint16_t rc;
            dmp_cache_result_t rr =
                dmp_cache_read(c, 0, nm, nl, now, rbuf, sizeof rbuf, &rl, &rc, NULL);
            dmp_cache_result_t r = dmp_cache_get(c, nm, nl, now, &b, &bl, &cnt);
            /* single-threaded, nothing moves between the two: they agree exactly */
            if (rr != r || (r == DMP_CACHE_HIT &&
                            (rl != bl || rc != cnt || (bl > 0 && memcmp(rbuf, b, bl) != 0))))
                __builtin_trap();
            /* The cache may have evicted it; it must never return stale or wrong data. */
            if (r != DMP_CACHE_MISS && (!present[key] || shadow_exp[key] <= now))
                __builtin_trap();
            if (r == DMP_CACHE_HIT && (bl != shadow_len[key] || cnt != shadow_cnt[key] ||
                                       (bl > 0 && memcmp(b, blob, bl) != 0)))
                __builtin_trap();
            break;
        }
        }
        size_t bytes, pos, neg;
        dmp_cache_stats(c, NULL, NULL, &bytes, NULL);
        dmp_cache_class_stats(c, &pos, &neg);
        if (bytes > 2048 || neg > 2048 / 8 || pos + neg != bytes)
            __builtin_trap();
    }
    dmp_cache_free(c);
    return 0;
}
