/* Fuzz the DMPv2 envelope decoder and address canonicalization. Invariants: the body view lies
 * inside the input; a canonical address is a fixed point of canonicalization; encoding a
 * decoded (body, from) and decoding again yields the same pair. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char canon[DMP_CRYPTO_ADDR_MAX + 1], again[DMP_CRYPTO_ADDR_MAX + 1];
    size_t clen = 0, alen = 0;
    if (dmp_crypto_canonicalize_address((const char *)data, size, canon, sizeof canon, &clen) ==
        0) {
        if (clen != strlen(canon) ||
            dmp_crypto_canonicalize_address(canon, clen, again, sizeof again, &alen) != 0 ||
            alen != clen || memcmp(canon, again, clen) != 0)
            abort();
    }

    const uint8_t *body;
    size_t blen;
    char from[DMP_CRYPTO_ADDR_MAX + 1];
    bool has;
    if (dmp_crypto_envelope_decode(data, size, &body, &blen, from, sizeof from, &has) != 0)
        abort();
    if (blen > size || (size && (body < data || body + blen != data + size)))
        abort();
    if (has) {
        dmp_buf_t enc;
        dmp_buf_init(&enc);
        const uint8_t *b2;
        size_t b2len;
        char f2[DMP_CRYPTO_ADDR_MAX + 1];
        bool has2;
        if (dmp_crypto_envelope_encode(body, blen, from, strlen(from), &enc) != 0)
            abort();
        if (dmp_crypto_envelope_decode(enc.data, enc.len, &b2, &b2len, f2, sizeof f2, &has2) != 0)
            abort();
        /* A from longer than 245 bytes cannot be re-wrapped (header cap 256): v1 form. */
        if (strlen(from) + 11 <= DMP_CRYPTO_ENVELOPE_MAX_HEADER) {
            if (!has2 || strcmp(from, f2) != 0 || b2len != blen ||
                (blen && memcmp(b2, body, blen) != 0))
                abort();
        }
        dmp_buf_free(&enc);
    }
    return 0;
}
