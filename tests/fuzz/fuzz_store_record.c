/* libFuzzer target: decoders of the store's on-disk keys and record values. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/store.h"
#include "store/store_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_store_rec_t r;
    if (dmp_store_rec_parse(data, size, &r) == 0) {
        /* Re-encoding the header reproduces the input exactly. */
        uint8_t hdr[DMP_STORE_REC_HDR];
        dmp_store_rec_hdr(hdr, r.ttl, r.stored_ms, r.expires_ms, r.seq);
        if (memcmp(hdr, data, DMP_STORE_REC_HDR) != 0 || r.value != data + DMP_STORE_REC_HDR ||
            r.value_len != size - DMP_STORE_REC_HDR)
            __builtin_trap();
    }
    const char *name;
    size_t nl;
    const uint8_t *hash;
    if (dmp_store_rkey_parse(data, size, &name, &nl, &hash) == 0) {
        uint8_t k[DMP_STORE_RKEY_MAX];
        if (nl > DMP_STORE_MAX_NAME || dmp_store_rkey_make(k, name, nl, hash) != size ||
            memcmp(k, data, size) != 0)
            __builtin_trap();
    }
    int64_t t;
    const uint8_t *rk;
    size_t rkl;
    if (dmp_store_ikey_parse(data, size, &t, &rk, &rkl) == 0) {
        uint8_t b[8];
        dmp_store_ob64_put(b, t);
        if (memcmp(b, data, 8) != 0 || rk != data + 8 || rkl != size - 8)
            __builtin_trap();
    }
    char out[DMP_STORE_MAX_NAME];
    if (dmp_store_normalize_name((const char *)data, size, out, sizeof out) == 0) {
        for (size_t i = 0; i < size; i++)
            if (out[i] >= 'A' && out[i] <= 'Z')
                __builtin_trap();
    }
    return 0;
}
