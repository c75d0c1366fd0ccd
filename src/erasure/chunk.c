/* erasure: k/n choice, message <-> shares framing, chunk wrap/unwrap, chunk TXT values and the
 * sender/receiver pipelines. */
#include <stdlib.h>
#include <string.h>

#include "erasure/erasure.h"
#include "erasure/erasure_internal.h"
#include "util/b64_public.h"
#include "wire/wire.h"

#define BLK DMP_ERASURE_BLOCK_LEN
#define TXT_STRIDE (DMP_ERASURE_CHUNK_TXT_LEN + 1)

const char *dmp_erasure_strerror(int err)
{
    switch (err) {
    case DMP_EERASURE_PARAM:
        return "bad erasure parameters (k, n or share length)";
    case DMP_EERASURE_RS:
        return "Reed-Solomon: too many errors to correct";
    case DMP_EERASURE_CHECKSUM:
        return "chunk checksum mismatch";
    case DMP_EERASURE_SHARES:
        return "fewer than k usable shares";
    case DMP_EERASURE_DUPSHARE:
        return "duplicate share number";
    case DMP_EERASURE_LENGTH:
        return "message length prefix exceeds the decoded data";
    case DMP_EERASURE_NOTCHUNK:
        return "not a chunk record";
    case DMP_EERASURE_CHUNKHASH:
        return "chunk does not match the manifest's chunk hash";
    default:
        return dmp_strerror(err);
    }
}

int dmp_erasure_choose_kn(size_t msg_len, uint32_t *k_out, uint32_t *n_out)
{
    if (k_out == NULL || n_out == NULL)
        return DMP_EINVAL;
    if (msg_len > DMP_ERASURE_MAX_MSG_LEN)
        return DMP_ETOOBIG;
    size_t k = (msg_len + DMP_ERASURE_LEN_PREFIX + BLK - 1) / BLK;
    if (k == 0)
        k = 1;
    size_t parity = (3 * k + 9) / 10; /* == ceil(k * 0.3) in IEEE double for k <= 1099 */
    if (parity == 0)
        parity = 1;
    *k_out = (uint32_t)k;
    *n_out = (uint32_t)(k + parity);
    return 0;
}

/* Fills shares (n*128 bytes) for msg; k, n from choose_kn. */
static int encode_into(const uint8_t *msg, size_t len, uint32_t k, uint32_t n, uint8_t *shares)
{
    dmp_store_u32be(shares, (uint32_t)len);
    if (len)
        memcpy(shares + DMP_ERASURE_LEN_PREFIX, msg, len);
    memset(shares + DMP_ERASURE_LEN_PREFIX + len, 0,
           (size_t)k * BLK - DMP_ERASURE_LEN_PREFIX - len);
    const uint8_t *data[DMP_ERASURE_MAX_SHARES];
    uint8_t *parity[DMP_ERASURE_MAX_SHARES];
    for (uint32_t j = 0; j < k; j++)
        data[j] = shares + (size_t)j * BLK;
    for (uint32_t r = k; r < n; r++)
        parity[r - k] = shares + (size_t)r * BLK;
    return dmp_erasure_fec_encode(k, n, BLK, data, parity);
}

int dmp_erasure_encode_shares(const uint8_t *msg, size_t len, uint32_t *k_out, uint32_t *n_out,
                              uint8_t **shares_out)
{
    if ((msg == NULL && len) || k_out == NULL || n_out == NULL || shares_out == NULL)
        return DMP_EINVAL;
    *shares_out = NULL;
    uint32_t k, n;
    int rc = dmp_erasure_choose_kn(len, &k, &n);
    if (rc)
        return rc;
    uint8_t *shares = malloc((size_t)n * BLK);
    if (shares == NULL)
        return DMP_ENOMEM;
    rc = encode_into(msg, len, k, n, shares);
    if (rc) {
        free(shares);
        return rc;
    }
    *k_out = k;
    *n_out = n;
    *shares_out = shares;
    return 0;
}

int dmp_erasure_decode_shares(uint32_t k, uint32_t n, const uint32_t *ids, const uint8_t *shares,
                              size_t count, dmp_buf_t *out)
{
    if (k == 0 || n < k || n > DMP_ERASURE_MAX_SHARES || out == NULL ||
        (count && (ids == NULL || shares == NULL)))
        return DMP_EERASURE_PARAM;
    if (count > DMP_ERASURE_MAX_SHARES) {
        /* more shares than distinct numbers: a duplicate or an id >= n must exist */
        for (size_t i = 0; i < count; i++) {
            if (ids[i] >= n)
                return DMP_EERASURE_PARAM;
        }
        return DMP_EERASURE_DUPSHARE;
    }
    const uint8_t *sp[DMP_ERASURE_MAX_SHARES];
    for (size_t i = 0; i < count; i++)
        sp[i] = shares + i * BLK;
    uint8_t *data = malloc((size_t)k * BLK);
    if (data == NULL)
        return DMP_ENOMEM;
    uint8_t *dp[DMP_ERASURE_MAX_SHARES];
    for (uint32_t j = 0; j < k; j++)
        dp[j] = data + (size_t)j * BLK;
    int rc = dmp_erasure_fec_decode(k, n, BLK, ids, sp, count, dp);
    if (rc == 0) {
        uint32_t mlen = dmp_load_u32be(data);
        if (mlen > (size_t)k * BLK - DMP_ERASURE_LEN_PREFIX)
            rc = DMP_EERASURE_LENGTH;
        else
            rc = dmp_buf_append(out, data + DMP_ERASURE_LEN_PREFIX, mlen);
    }
    free(data);
    return rc;
}

void dmp_erasure_chunk_wrap(const uint8_t block[BLK], uint8_t wire[DMP_ERASURE_CHUNK_LEN])
{
    uint8_t h[32];
    dmp_erasure_sha256(block, BLK, h);
    memcpy(wire, h, DMP_ERASURE_CHECKSUM_LEN);
    memmove(wire + DMP_ERASURE_CHECKSUM_LEN, block, BLK);
    dmp_erasure_rs_encode(wire + DMP_ERASURE_CHECKSUM_LEN, BLK,
                          wire + DMP_ERASURE_CHECKSUM_LEN + BLK);
}

int dmp_erasure_chunk_unwrap(const uint8_t *wire, size_t len, uint8_t block[BLK])
{
    if (wire == NULL || block == NULL || len != DMP_ERASURE_CHUNK_LEN)
        return DMP_EERASURE_PARAM;
    uint8_t cw[DMP_ERASURE_RS_CW_LEN];
    memcpy(cw, wire + DMP_ERASURE_CHECKSUM_LEN, sizeof cw);
    int rc = dmp_erasure_rs_decode(cw, sizeof cw, NULL);
    if (rc)
        return rc;
    uint8_t h[32];
    dmp_erasure_sha256(cw, BLK, h);
    if (memcmp(h, wire, DMP_ERASURE_CHECKSUM_LEN) != 0)
        return DMP_EERASURE_CHECKSUM;
    memcpy(block, cw, BLK);
    return 0;
}

int dmp_erasure_chunk_txt_encode(const uint8_t wire[DMP_ERASURE_CHUNK_LEN], char *out, size_t cap)
{
    if (wire == NULL || out == NULL || cap < DMP_ERASURE_CHUNK_TXT_LEN + 1)
        return DMP_EINVAL;
    memcpy(out, DMP_ERASURE_CHUNK_PREFIX, DMP_ERASURE_CHUNK_PREFIX_LEN);
    /* chunk data is ciphertext, public: the fast variable-time encoder is fine */
    return dmp_b64_encode_public(wire, DMP_ERASURE_CHUNK_LEN, out + DMP_ERASURE_CHUNK_PREFIX_LEN,
                                 cap - DMP_ERASURE_CHUNK_PREFIX_LEN);
}

int dmp_erasure_chunk_txt_parse(const uint8_t *txt, size_t len, uint8_t wire[DMP_ERASURE_CHUNK_LEN])
{
    if ((txt == NULL && len) || wire == NULL)
        return DMP_EINVAL;
    const uint8_t *d;
    size_t dl;
    /* one framing parser for the project: wire's (docs/wire.md divergence #3) */
    int rc = dmp_wire_chunk_fields(txt, len, &d, &dl);
    if (rc == DMP_EWIRE_B64)
        return DMP_EFORMAT; /* non-ASCII d=: Python's b64decode refuses str input */
    if (rc)
        return DMP_EERASURE_NOTCHUNK;
    if (d == NULL || dl > 4096)
        return DMP_EFORMAT;
    /* fast path for canonical base64 (what every encoder emits); on those inputs CPython's lax
     * decoder gives the same bytes, anything else goes through the exact lax decoder */
    size_t got = 0;
    rc = dmp_b64_decode_canonical((const char *)d, dl, wire, DMP_ERASURE_CHUNK_LEN, &got);
    if (rc == 0)
        return got == DMP_ERASURE_CHUNK_LEN ? 0 : DMP_EFORMAT;
    if (rc == DMP_ETOOBIG)
        return DMP_EFORMAT;
    dmp_buf_t b;
    dmp_buf_init(&b);
    rc = dmp_b64_decode((const char *)d, dl, DMP_B64_LAX, &b);
    if (rc == 0 && b.len != DMP_ERASURE_CHUNK_LEN)
        rc = DMP_EFORMAT;
    if (rc == 0)
        memcpy(wire, b.data, DMP_ERASURE_CHUNK_LEN);
    else if (rc != DMP_ENOMEM)
        rc = DMP_EFORMAT;
    dmp_buf_free(&b);
    return rc;
}

void dmp_erasure_chunks_free(dmp_erasure_chunks_t *c)
{
    if (c == NULL)
        return;
    free(c->hashes); /* the allocation that also holds txt */
    memset(c, 0, sizeof *c);
}

int dmp_erasure_encode_message(const uint8_t *msg, size_t len, dmp_erasure_chunks_t *out)
{
    if (out == NULL)
        return DMP_EINVAL;
    memset(out, 0, sizeof *out);
    if (msg == NULL && len)
        return DMP_EINVAL;
    uint32_t k, n;
    int rc = dmp_erasure_choose_kn(len, &k, &n);
    if (rc)
        return rc;
    /* one allocation: n hashes, then n TXT values (see dmp_erasure_chunks_t) */
    uint8_t *mem = malloc((size_t)n * (DMP_ERASURE_HASH_LEN + TXT_STRIDE));
    if (mem == NULL)
        return DMP_ENOMEM;
    uint8_t *hashes = mem;
    char *txt = (char *)mem + (size_t)n * DMP_ERASURE_HASH_LEN;
    uint8_t shares[DMP_ERASURE_MAX_SHARES * BLK]; /* 32 KiB */
    rc = encode_into(msg, len, k, n, shares);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        uint8_t wire[DMP_ERASURE_CHUNK_LEN];
        dmp_erasure_chunk_wrap(shares + (size_t)i * BLK, wire);
        dmp_erasure_sha256(wire, sizeof wire, hashes + (size_t)i * DMP_ERASURE_HASH_LEN);
        rc = dmp_erasure_chunk_txt_encode(wire, txt + (size_t)i * TXT_STRIDE, TXT_STRIDE);
    }
    if (rc) {
        free(mem);
        return rc;
    }
    out->k = k;
    out->n = n;
    out->txt = txt;
    out->hashes = hashes;
    return 0;
}

int dmp_erasure_decode_message(uint32_t k, uint32_t n, const dmp_erasure_chunk_in_t *chunks,
                               size_t count, const uint8_t *hashes, dmp_buf_t *out)
{
    if (k == 0 || n < k || n > DMP_ERASURE_MAX_SHARES || out == NULL || (count && chunks == NULL))
        return DMP_EERASURE_PARAM;
    uint8_t *blocks = malloc((size_t)n * BLK);
    if (blocks == NULL)
        return DMP_ENOMEM;
    uint8_t have[DMP_ERASURE_MAX_SHARES] = {0};
    uint32_t ids[DMP_ERASURE_MAX_SHARES];
    uint32_t nhave = 0, ndata = 0;
    for (size_t i = 0; i < count && ndata < k; i++) {
        uint32_t idx = chunks[i].index;
        if (idx >= n || have[idx] || (chunks[i].txt == NULL && chunks[i].len))
            continue;
        uint8_t wire[DMP_ERASURE_CHUNK_LEN];
        if (dmp_erasure_chunk_txt_parse(chunks[i].txt, chunks[i].len, wire) != 0)
            continue;
        if (hashes != NULL) {
            uint8_t h[32];
            dmp_erasure_sha256(wire, sizeof wire, h);
            if (memcmp(h, hashes + (size_t)idx * DMP_ERASURE_HASH_LEN, 32) != 0)
                continue;
        }
        if (dmp_erasure_chunk_unwrap(wire, sizeof wire, blocks + (size_t)idx * BLK) != 0)
            continue;
        have[idx] = 1;
        nhave++;
        if (idx < k)
            ndata++; /* all data blocks present: nothing else can change the result */
    }
    int rc = DMP_EERASURE_SHARES;
    if (nhave >= k) {
        /* compact the usable blocks in id order (the k lowest are the ones decoded) */
        uint32_t m = 0;
        for (uint32_t idx = 0; idx < n && m < k; idx++) {
            if (!have[idx])
                continue;
            if (m != idx)
                memcpy(blocks + (size_t)m * BLK, blocks + (size_t)idx * BLK, BLK);
            ids[m++] = idx;
        }
        rc = dmp_erasure_decode_shares(k, n, ids, blocks, m, out);
    }
    free(blocks);
    return rc;
}
