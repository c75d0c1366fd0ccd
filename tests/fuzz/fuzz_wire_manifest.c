/* Fuzz dmp_wire manifest parsing through the shared signed-record harness. */
#define FUZZ_WIRE_PREFIX "v=dmp1;t=manifest;d="
#include "fuzz_wire_harness.h"

static void fuzz_parse(const uint8_t *in, size_t n, const uint8_t pk[32], int64_t now,
                       const uint8_t *raw, size_t raw_len)
{
    (void)pk;
    (void)raw;
    (void)raw_len;
    dmp_wire_manifest_t *m = malloc(sizeof *m);
    if (m) {
        if (dmp_wire_manifest_parse(in, n, now, false, m) == 0 && m->has_hashes)
            (void)dmp_wire_manifest_check_chunk(m, m->total_chunks - 1, in, n);
        (void)dmp_wire_manifest_parse(in, n, now, true, m);
        free(m);
    }
}
