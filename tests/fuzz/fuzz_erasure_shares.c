/* libFuzzer: share-set decode (dmp_erasure_decode_shares) and the receiver pipeline
 * (dmp_erasure_decode_message). Input: k, n-1, then records of (share number, 128 share bytes);
 * the bytes after the records, split at newlines, are offered as chunk TXT values 0, 1, ...
 * Invariants: never crashes;
 * a decoded message fits k*128-4 bytes; re-encoding a decoded message with its own k/n and
 * decoding the first k shares gives it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "erasure/erasure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t k = data[0], n = (uint32_t)data[1] + 1;
    data += 2;
    size -= 2;
    uint32_t ids[DMP_ERASURE_MAX_SHARES];
    static uint8_t shares[DMP_ERASURE_MAX_SHARES * DMP_ERASURE_BLOCK_LEN];
    size_t count = 0;
    while (size >= 1 + DMP_ERASURE_BLOCK_LEN && count < DMP_ERASURE_MAX_SHARES) {
        ids[count] = data[0];
        memcpy(shares + count * DMP_ERASURE_BLOCK_LEN, data + 1, DMP_ERASURE_BLOCK_LEN);
        data += 1 + DMP_ERASURE_BLOCK_LEN;
        size -= 1 + DMP_ERASURE_BLOCK_LEN;
        count++;
    }
    dmp_buf_t out;
    dmp_buf_init(&out);
    int rc = dmp_erasure_decode_shares(k, n, ids, shares, count, &out);
    if (rc == 0) {
        if (out.len > (size_t)k * DMP_ERASURE_BLOCK_LEN - DMP_ERASURE_LEN_PREFIX)
            abort();
        uint32_t k2, n2;
        uint8_t *sh = NULL;
        if (dmp_erasure_encode_shares(out.data, out.len, &k2, &n2, &sh) == 0) {
            uint32_t id2[DMP_ERASURE_MAX_SHARES];
            for (uint32_t i = 0; i < k2; i++)
                id2[i] = n2 - 1 - i; /* the last k shares */
            uint8_t *sub = malloc((size_t)k2 * DMP_ERASURE_BLOCK_LEN);
            if (sub == NULL)
                abort();
            for (uint32_t i = 0; i < k2; i++)
                memcpy(sub + (size_t)i * DMP_ERASURE_BLOCK_LEN,
                       sh + (size_t)id2[i] * DMP_ERASURE_BLOCK_LEN, DMP_ERASURE_BLOCK_LEN);
            dmp_buf_t back;
            dmp_buf_init(&back);
            if (dmp_erasure_decode_shares(k2, n2, id2, sub, k2, &back) != 0 ||
                back.len != out.len || (out.len && memcmp(back.data, out.data, out.len) != 0))
                abort();
            dmp_buf_free(&back);
            free(sub);
            free(sh);
        }
    }
    dmp_buf_free(&out);

    /* the tail after the share records, split at newlines, as chunk TXT values 0.. */
    dmp_erasure_chunk_in_t in[16];
    size_t m = 0, start = 0;
    for (size_t i = 0; i <= size && m < 16; i++) {
        if (i == size || data[i] == '\n') {
            in[m].index = (uint32_t)m;
            in[m].txt = data + start;
            in[m].len = i - start;
            m++;
            start = i + 1;
        }
    }
    dmp_buf_init(&out);
    rc = dmp_erasure_decode_message(k, n, in, m, NULL, &out);
    if (rc == 0 && out.len > (size_t)k * DMP_ERASURE_BLOCK_LEN - DMP_ERASURE_LEN_PREFIX)
        abort();
    dmp_buf_free(&out);
    return 0;
}
