/* libFuzzer: chunk TXT value parse + unwrap (dmp_erasure_chunk_txt_parse, _chunk_unwrap).
 * Invariants: never crashes; a parsed wire re-encodes to a TXT value that parses back to it; an
 * unwrapped block wraps to a wire chunk that unwraps to the same block; the fast canonical base64
 * decoder agrees with dmp_b64_decode. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "erasure/erasure.h"
#include "util/b64_public.h"

/* The chunk path's fast base64 decoder must agree with the exact CPython-compatible decoder
 * (both modes) on everything it accepts. */
static void check_canonical(const uint8_t *data, size_t size)
{
    static uint8_t out[4096];
    size_t got = 0;
    if (size > 4096 || dmp_b64_decode_canonical((const char *)data, size, out, sizeof out, &got))
        return;
    for (int mode = 0; mode < 2; mode++) {
        dmp_buf_t b;
        dmp_buf_init(&b);
        if (dmp_b64_decode((const char *)data, size, mode ? DMP_B64_STRICT : DMP_B64_LAX, &b) !=
                0 ||
            b.len != got || (got && memcmp(b.data, out, got) != 0))
            abort();
        dmp_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t wire[DMP_ERASURE_CHUNK_LEN], wire2[DMP_ERASURE_CHUNK_LEN];
    uint8_t block[DMP_ERASURE_BLOCK_LEN], block2[DMP_ERASURE_BLOCK_LEN];
    check_canonical(data, size);
    if (dmp_erasure_chunk_txt_parse(data, size, wire) != 0)
        return 0;
    char txt[DMP_ERASURE_CHUNK_TXT_LEN + 1];
    if (dmp_erasure_chunk_txt_encode(wire, txt, sizeof txt) != 0)
        abort();
    if (dmp_erasure_chunk_txt_parse((const uint8_t *)txt, strlen(txt), wire2) != 0 ||
        memcmp(wire, wire2, sizeof wire) != 0)
        abort();
    if (dmp_erasure_chunk_unwrap(wire, sizeof wire, block) != 0)
        return 0;
    dmp_erasure_chunk_wrap(block, wire2);
    if (dmp_erasure_chunk_unwrap(wire2, sizeof wire2, block2) != 0 ||
        memcmp(block, block2, sizeof block) != 0)
        abort();
    return 0;
}
