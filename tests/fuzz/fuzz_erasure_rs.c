/* libFuzzer: Reed-Solomon decoder (dmp_erasure_rs_decode). Input: the codeword (33..255 bytes).
 * Invariants: never crashes; on success the result is a codeword (its parity re-encodes), at most
 * 16 bytes differ from the input and nfixed counts them; on failure the input is unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "erasure/erasure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t cw[DMP_ERASURE_RS_MAX_CW_LEN];
    if (size > sizeof cw)
        size = sizeof cw;
    memcpy(cw, data, size);
    int fixed = -1;
    int rc = dmp_erasure_rs_decode(cw, size, &fixed);
    if (size <= DMP_ERASURE_RS_NSYM) {
        if (rc != DMP_EINVAL)
            abort();
        return 0;
    }
    int diff = 0;
    for (size_t i = 0; i < size; i++)
        diff += cw[i] != data[i];
    if (rc != 0) {
        if (rc != DMP_EERASURE_RS || diff != 0)
            abort();
        return 0;
    }
    if (diff > DMP_ERASURE_RS_MAX_ERRORS || diff != fixed)
        abort();
    uint8_t p[DMP_ERASURE_RS_NSYM];
    if (dmp_erasure_rs_encode(cw, size - DMP_ERASURE_RS_NSYM, p) != 0 ||
        memcmp(p, cw + size - DMP_ERASURE_RS_NSYM, sizeof p) != 0)
        abort();
    return 0;
}
