/* Shared harness of the signed-record wire fuzz targets. The including file defines
 * FUZZ_WIRE_PREFIX (the record's TXT prefix) and
 *   static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
 *                          const uint8_t *raw, size_t raw_len);
 * First input byte even: the rest is a TXT value as received; odd: the rest is a body signed
 * here with a fixed key under FUZZ_WIRE_PREFIX, so the body rules and the time checks behind the
 * signature are reached. Invariant: no crash, no read past the input.
 *
 * Speed: Ed25519 signing and verifying took about two thirds of each execution (perf, 2 Dec
 * 2026), spent outside the parser under test. These targets are linked with
 * -Wl,--wrap=dmp_crypto_sign,--wrap=dmp_crypto_verify (tests/fuzz/wire.cmake): every signature
 * the wire code makes or checks is then a keyed BLAKE2b-512 of the message under the public key
 * (same length, same argument and weak-key checks, same success and failure codes), so a body
 * signed here still verifies, a changed byte still fails, and the parser runs exactly the code
 * it runs with Ed25519. DMP_FUZZ_REAL_ED25519=1 in the environment uses the real signatures. */
#ifndef FUZZ_WIRE_HARNESS_H
#define FUZZ_WIRE_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire/wire_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __real_dmp_crypto_sign(const uint8_t sk64[64], const uint8_t *msg, size_t len, uint8_t sig[64]);
int __real_dmp_crypto_verify(const uint8_t pk[32], const uint8_t *msg, size_t len,
                             const uint8_t sig[64]);
int __wrap_dmp_crypto_sign(const uint8_t sk64[64], const uint8_t *msg, size_t len, uint8_t sig[64]);
int __wrap_dmp_crypto_verify(const uint8_t pk[32], const uint8_t *msg, size_t len,
                             const uint8_t sig[64]);

static int fuzz_real_sig;

/* libsodium's sk64 is seed || public key: the stand-in signature is keyed by the public key */
int __wrap_dmp_crypto_sign(const uint8_t sk64[64], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    if (fuzz_real_sig)
        return __real_dmp_crypto_sign(sk64, msg, len, sig);
    if (!sk64 || !sig || (!msg && len))
        return DMP_EINVAL;
    return crypto_generichash(sig, 64, msg ? msg : (const uint8_t *)"", len, sk64 + 32, 32) == 0
               ? 0
               : DMP_ECRYPTO;
}

int __wrap_dmp_crypto_verify(const uint8_t pk[32], const uint8_t *msg, size_t len,
                             const uint8_t sig[64])
{
    if (fuzz_real_sig)
        return __real_dmp_crypto_verify(pk, msg, len, sig);
    if (!pk || !sig || (!msg && len))
        return DMP_EINVAL;
    if (dmp_crypto_is_weak_ed25519_key(pk))
        return DMP_EWEAKKEY;
    uint8_t want[64];
    if (crypto_generichash(want, 64, msg ? msg : (const uint8_t *)"", len, pk, 32) != 0)
        return DMP_ECRYPTO;
    return sodium_memcmp(want, sig, 64) == 0 ? 0 : DMP_ESIG;
}

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len);

static uint8_t fuzz_pk[32], fuzz_sk[64];
static int fuzz_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_ready) {
        uint8_t seed[32];
        memset(seed, 0x42, sizeof seed);
        const char *real = getenv("DMP_FUZZ_REAL_ED25519");
        fuzz_real_sig = real && strcmp(real, "1") == 0;
        if (dmp_crypto_init() != 0 || dmp_crypto_ed25519_from_seed(seed, fuzz_pk, fuzz_sk) != 0)
            abort();
        fuzz_ready = 1;
    }
    if (size == 0)
        return 0;
    dmp_buf_t w;
    dmp_buf_init(&w);
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        if (dmp_wire__wrap(FUZZ_WIRE_PREFIX, in, n, fuzz_sk, 0, &w) != 0)
            return 0;
        in = w.data;
        n = w.len;
    }
    fuzz_parse(in, n, fuzz_pk, 1893456000, data, size);
    dmp_buf_free(&w);
    return 0;
}

#endif
