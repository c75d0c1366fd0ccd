/* erasure: internal helpers shared by the module's files (not part of the public API). */
#ifndef DMP_ERASURE_INTERNAL_H
#define DMP_ERASURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* GF(2^8) with polynomial 0x11D and generator 2. Tables are filled by dmp_erasure_gf_init()
 * (idempotent, thread-safe) and read-only afterwards. gf_exp has 510 entries so that
 * gf_exp[log a + log b] needs no reduction. */
extern uint8_t dmp_erasure_gf_exp[512];
extern uint8_t dmp_erasure_gf_log[256];
void dmp_erasure_gf_init(void);

static inline uint8_t dmp_gf_mul(uint8_t a, uint8_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return dmp_erasure_gf_exp[dmp_erasure_gf_log[a] + dmp_erasure_gf_log[b]];
}

/* a^e for the generator a = 2, any e >= 0. */
static inline uint8_t dmp_gf_pow2(unsigned e)
{
    return dmp_erasure_gf_exp[e % 255];
}

/* Caller guarantees b != 0. */
static inline uint8_t dmp_gf_div(uint8_t a, uint8_t b)
{
    if (a == 0)
        return 0;
    return dmp_erasure_gf_exp[(dmp_erasure_gf_log[a] + 255 - dmp_erasure_gf_log[b]) % 255];
}

/* Tests: 1 = use the portable RS remainder even where GFNI is available. */
void dmp_erasure_rs_force_generic(int on);

/* SHA-256 (OpenSSL libcrypto when built with it: SHA-NI; libsodium otherwise). */
void dmp_erasure_sha256(const uint8_t *p, size_t len, uint8_t out[32]);

#endif
