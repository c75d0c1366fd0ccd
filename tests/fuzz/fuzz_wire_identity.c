/* Fuzz dmp_wire identity parsing through the shared signed-record harness. */
#define FUZZ_WIRE_PREFIX "v=dmp1;t=identity;d="
#include "fuzz_wire_harness.h"

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len)
{
    (void)pk;
    (void)now;
    (void)raw;
    (void)raw_len;
    dmp_wire_identity_t r;
    (void)dmp_wire_identity_parse(in, n, &r);
}
