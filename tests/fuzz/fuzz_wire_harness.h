/* Shared harness of the signed-record wire fuzz targets. The including file defines
 * FUZZ_WIRE_PREFIX (the record's TXT prefix) and
 *   static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
 *                          const uint8_t *raw, size_t raw_len);
 * First input byte even: the rest is a TXT value as received; odd: the rest is a body signed
 * here with a fixed key under FUZZ_WIRE_PREFIX, so the body rules and the time checks behind the
 * signature are reached. Invariant: no crash, no read past the input. */
#ifndef FUZZ_WIRE_HARNESS_H
#define FUZZ_WIRE_HARNESS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len);

static uint8_t fuzz_pk[32], fuzz_sk[64];
static int fuzz_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_ready) {
        uint8_t seed[32];
        memset(seed, 0x42, sizeof seed);
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
