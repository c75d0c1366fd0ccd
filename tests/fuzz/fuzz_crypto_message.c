/* Fuzz the message-layer parsers: DMPMessage (outer), DMPHeader JSON, EncryptedMessage and the
 * whole open path (outer -> header -> AAD -> X25519 -> AEAD) with a fixed recipient key.
 * Invariants checked: views stay inside the input; a header that parses re-serializes to JSON
 * that parses back to the same header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sk[32] = {0x21, 0xa0, 0xf4, 0x76, 0xf5, 0xd8, 0x2c, 0x9b, 0xd3, 0x9c, 0x29,
                                   0xcc, 0x0d, 0xbc, 0xb6, 0xf0, 0x84, 0xc8, 0xa9, 0xab, 0x08, 0x69,
                                   0x11, 0xbf, 0xe3, 0xfe, 0x5c, 0x70, 0x7c, 0xa5, 0xa7, 0xc4};
    static int inited;
    if (!inited) {
        if (dmp_crypto_init() != 0)
            abort();
        inited = 1;
    }

    dmp_msg_header_t h, h2;
    if (dmp_crypto_header_parse(data, size, &h) == 0) {
        dmp_buf_t j;
        dmp_buf_init(&j);
        if (dmp_crypto_header_json(&h, &j) != 0 ||
            dmp_crypto_header_parse(j.data, j.len, &h2) != 0 || memcmp(&h, &h2, sizeof h) != 0)
            abort();
        dmp_buf_free(&j);
    }

    dmp_msg_outer_t o;
    if (dmp_crypto_outer_parse(data, size, &o) == 0) {
        if (o.header_json != data + 2 || o.header_len + o.payload_len + 34 != size ||
            o.signature != data + size - 32)
            abort();
    }

    dmp_crypto_enc_t e;
    if (dmp_crypto_enc_parse(data, size, &e) == 0 && e.ct + e.ct_len != data + size)
        abort();

    dmp_buf_t pt;
    dmp_buf_init(&pt);
    uint32_t prekey_id = size >= 4 ? dmp_load_u32be(data) & 1u : 0;
    int rc = dmp_crypto_open_message(data, size, prekey_id, sk, &h, &pt);
    if (rc != 0 && pt.len != 0)
        abort();
    dmp_buf_free(&pt);
    (void)dmp_crypto_decrypt(sk, data, size < 16 ? size : 16, data, size, &pt);
    dmp_buf_free(&pt);
    return 0;
}
