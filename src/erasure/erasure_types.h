/* erasure: types and constants of the message pipeline (length prefix, zfec-compatible k-of-n
 * erasure code, per-chunk reedsolo-compatible RS(160,128), chunk checksums and TXT values). */
#ifndef DMP_ERASURE_TYPES_H
#define DMP_ERASURE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define DMP_ERASURE_BLOCK_LEN 128 /* one erasure share */
#define DMP_ERASURE_LEN_PREFIX 4  /* u32 big-endian message length before the message */
#define DMP_ERASURE_RS_NSYM 32    /* RS parity bytes per chunk (corrects up to 16 errors) */
#define DMP_ERASURE_RS_MAX_ERRORS 16
#define DMP_ERASURE_RS_CW_LEN 160 /* block || parity */
#define DMP_ERASURE_RS_MAX_CW_LEN 255
#define DMP_ERASURE_CHECKSUM_LEN 8 /* SHA-256(block)[0:8] */
#define DMP_ERASURE_CHUNK_LEN 168  /* checksum || block || parity: the "wire chunk" */
#define DMP_ERASURE_HASH_LEN 32    /* SHA-256 of a wire chunk, as carried in the manifest */
#define DMP_ERASURE_MAX_SHARES 256 /* GF(2^8): at most 256 distinct evaluation points */
/* Largest message whose (k, n) from dmp_erasure_choose_kn fits n <= 256: k = 196, n = 255. */
#define DMP_ERASURE_MAX_K 196
#define DMP_ERASURE_MAX_MSG_LEN (DMP_ERASURE_MAX_K * DMP_ERASURE_BLOCK_LEN - DMP_ERASURE_LEN_PREFIX)
#define DMP_ERASURE_CHUNK_PREFIX "v=dmp1;t=chunk;d="
#define DMP_ERASURE_CHUNK_PREFIX_LEN 17
#define DMP_ERASURE_CHUNK_TXT_LEN 241 /* prefix + base64 of 168 bytes (224 chars) */

/* Module error codes (range -200..-299); dmp_erasure_strerror falls back to dmp_strerror. */
enum {
    DMP_EERASURE_PARAM = -200,     /* bad k / n / share length */
    DMP_EERASURE_RS = -201,        /* Reed-Solomon: more errors than the code can correct */
    DMP_EERASURE_CHECKSUM = -202,  /* chunk checksum does not match its block */
    DMP_EERASURE_SHARES = -203,    /* fewer than k usable shares */
    DMP_EERASURE_DUPSHARE = -204,  /* the same share number given twice */
    DMP_EERASURE_LENGTH = -205,    /* length prefix larger than the decoded capacity */
    DMP_EERASURE_NOTCHUNK = -206,  /* TXT value is not a chunk record */
    DMP_EERASURE_CHUNKHASH = -207, /* wire chunk does not match the manifest's chunk hash */
};

/* Output of the sender pipeline. Owns both arrays, which share one malloc'd block (free only with
 * dmp_erasure_chunks_free).
 * Invariant: txt holds n NUL-terminated values of exactly DMP_ERASURE_CHUNK_TXT_LEN chars, value i
 * at txt + i * (DMP_ERASURE_CHUNK_TXT_LEN + 1); hashes holds n SHA-256 digests of the 168-byte wire
 * chunks (manifest order), digest i at hashes + 32 * i. Chunk i is published as chunk-{i:04d}. */
typedef struct {
    uint32_t k;
    uint32_t n;
    char *txt;
    uint8_t *hashes;
} dmp_erasure_chunks_t;

/* One received chunk for the receiver pipeline. The caller owns txt; index is the chunk number
 * (0..n-1) the value was fetched from. txt is the concatenation of the RR's strings. */
typedef struct {
    uint32_t index;
    const uint8_t *txt;
    size_t len;
} dmp_erasure_chunk_in_t;

#endif
