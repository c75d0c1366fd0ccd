/* Fuzz dmp_wire bootstrap parsing through the shared signed-record harness. */
#define FUZZ_WIRE_PREFIX "v=dmp1;t=bootstrap;"
#include "fuzz_wire_harness.h"

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len)
{
    (void)raw;
    (void)raw_len;
    dmp_wire_bootstrap_t r;
    (void)dmp_wire_bootstrap_parse(in, n, pk, now, "example.com.", &r);
}
