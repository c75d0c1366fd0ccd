/* Fuzz dmp_wire heartbeat parsing through the shared signed-record harness. */
#define FUZZ_WIRE_PREFIX "v=dmp1;t=heartbeat;"
#include "fuzz_wire_harness.h"

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len)
{
    (void)pk;
    dmp_wire_heartbeat_t r;
    (void)dmp_wire_heartbeat_parse(in, n, now, -1, &r);
    (void)dmp_wire_heartbeat_endpoint_check((const char *)raw, raw_len);
}
