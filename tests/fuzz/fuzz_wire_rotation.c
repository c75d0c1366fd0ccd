/* Fuzz dmp_wire rotation parsing. First byte even: the rest is a TXT value; odd: the rest is a
 * body signed here with a fixed key under the record prefix, so body rules and the time checks
 * behind the signature are reached. Invariant: no crash, no read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[32], sk[64];
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        uint8_t seed[32];
        memset(seed, 0x42, sizeof seed);
        if (dmp_crypto_init() != 0 || dmp_crypto_ed25519_from_seed(seed, pk, sk) != 0)
            abort();
        ready = 1;
    }
    if (size == 0)
        return 0;
    dmp_buf_t w;
    dmp_buf_init(&w);
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        if (dmp_wire__wrap("v=dmp1;t=rotation;", in, n, sk, 0, &w) != 0)
            return 0;
        in = w.data;
        n = w.len;
    }
    const int64_t now = 1893456000;
    dmp_wire_rotation_t r;
    (void)dmp_wire_rotation_parse(in, n, now, NULL, "alice@example.com", 17, &r);
    dmp_buf_free(&w);
    return 0;
}
