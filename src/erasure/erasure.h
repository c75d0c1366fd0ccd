/* erasure: functions. All functions are thread-safe; coding matrices are built once per k on
 * first use and cached for the life of the process (lock-free reads). */
#ifndef DMP_ERASURE_H
#define DMP_ERASURE_H

#include "erasure/erasure_types.h"
#include "util/util.h"

const char *dmp_erasure_strerror(int err);

/* --- k and n (reference erasure.py choose_kn) ---
 * k = max(1, ceil((msg_len + 4) / 128)), n = k + max(1, ceil(3k / 10)).
 * DMP_ETOOBIG when n would exceed 256 (msg_len > DMP_ERASURE_MAX_MSG_LEN). */
int dmp_erasure_choose_kn(size_t msg_len, uint32_t *k, uint32_t *n);

/* --- zfec-compatible k-of-n code over GF(2^8)/0x11D (ISA-L arithmetic) ---
 * Share r (0 <= r < n) = sum_j E[r][j] * data_j with E = V * inverse(V[0:k]), V the Vandermonde
 * matrix at the points 0, 1, a, a^2, ... (zfec fec_new). Shares 0..k-1 are the data itself.
 * Parameters: 1 <= k <= n <= 256, else DMP_EERASURE_PARAM. */

/* Writes row `row` (0..255) of E for this k into out[0..k-1]. */
int dmp_erasure_fec_row(uint32_t k, uint32_t row, uint8_t *out);

/* Computes parity shares k..n-1 (parity[i] is share k+i) of `len` bytes each from k data
 * buffers. Buffers are caller-owned and must not overlap. */
int dmp_erasure_fec_encode(uint32_t k, uint32_t n, size_t len, const uint8_t *const *data,
                           uint8_t *const *parity);

/* Recovers the k data buffers from `count` >= k shares: shares[i] is share number ids[i] (any
 * order). Uses the k lowest share numbers, like zfec/the reference. Errors: DMP_EERASURE_PARAM
 * (k, n or an id >= n), DMP_EERASURE_DUPSHARE, DMP_EERASURE_SHARES (count < k). data_out[j]
 * receives data block j (len bytes each, caller-owned, not overlapping the shares). */
int dmp_erasure_fec_decode(uint32_t k, uint32_t n, size_t len, const uint32_t *ids,
                           const uint8_t *const *shares, size_t count, uint8_t *const *data_out);

/* --- message <-> shares (reference erasure.encode / erasure.decode) --- */

/* u32be(len) || msg || zero padding to k*128, then k-of-n coded. *shares_out is a malloc'd
 * n*128-byte array (share r at r*128) that the caller frees. */
int dmp_erasure_encode_shares(const uint8_t *msg, size_t len, uint32_t *k_out, uint32_t *n_out,
                              uint8_t **shares_out);

/* Inverse: shares is count*128 bytes (share i has number ids[i]); appends the message to out.
 * DMP_EERASURE_LENGTH when the length prefix exceeds k*128-4. */
int dmp_erasure_decode_shares(uint32_t k, uint32_t n, const uint32_t *ids, const uint8_t *shares,
                              size_t count, dmp_buf_t *out);

/* --- reedsolo RSCodec(32)-compatible Reed-Solomon (prim 0x11D, generator 2, fcr 0) ---
 * Codeword = msg || 32 parity bytes, msg[0] the highest-degree coefficient. */

/* msg_len <= 223. */
int dmp_erasure_rs_encode(const uint8_t *msg, size_t msg_len, uint8_t parity[DMP_ERASURE_RS_NSYM]);

/* Corrects cw (33..255 bytes) in place. Returns 0 (and the number of corrected bytes in
 * *nfixed if non-NULL) or DMP_EERASURE_RS when the errors cannot be corrected; cw is then left
 * unchanged. Never returns a word that is not a codeword. */
int dmp_erasure_rs_decode(uint8_t *cw, size_t len, int *nfixed);

/* --- chunks --- */

/* wire = SHA-256(block)[0:8] || block || RS parity(block). */
void dmp_erasure_chunk_wrap(const uint8_t block[DMP_ERASURE_BLOCK_LEN],
                            uint8_t wire[DMP_ERASURE_CHUNK_LEN]);

/* RS-corrects and checks a wire chunk; wire must be 168 bytes (DMP_EERASURE_PARAM otherwise),
 * DMP_EERASURE_RS, DMP_EERASURE_CHECKSUM. Writes the block only on success. */
int dmp_erasure_chunk_unwrap(const uint8_t *wire, size_t len, uint8_t block[DMP_ERASURE_BLOCK_LEN]);

/* "v=dmp1;t=chunk;d=" + base64(wire): writes DMP_ERASURE_CHUNK_TXT_LEN chars plus NUL
 * (cap >= 242). */
int dmp_erasure_chunk_txt_encode(const uint8_t wire[DMP_ERASURE_CHUNK_LEN], char *out, size_t cap);

/* Parses a chunk TXT value with the project's one framing parser, dmp_wire_chunk_fields (the
 * reference's generic k=v parse; v= must be the integer 1, docs/wire.md divergence #3; t defaults
 * to chunk); d is lax base64 and must decode to exactly 168 bytes. DMP_EERASURE_NOTCHUNK or
 * DMP_EFORMAT otherwise (wire is then unspecified). Does not RS-decode. The metadata part (m=) is
 * ignored, as the reference client does. */
int dmp_erasure_chunk_txt_parse(const uint8_t *txt, size_t len,
                                uint8_t wire[DMP_ERASURE_CHUNK_LEN]);

/* --- whole pipeline --- */

/* Sender: ciphertext (the outer DMP message) -> k, n, n chunk TXT values and their manifest
 * hashes. out is overwritten; on error it is left empty. */
int dmp_erasure_encode_message(const uint8_t *msg, size_t len, dmp_erasure_chunks_t *out);
void dmp_erasure_chunks_free(dmp_erasure_chunks_t *c);

/* Receiver: any chunk values (missing, duplicated, garbage or corrupted ones allowed) -> the
 * message, appended to out. k and n come from the manifest; hashes (n*32 bytes, the manifest's
 * chunk hashes) may be NULL, otherwise a value whose wire chunk does not hash to hashes[index]
 * is skipped (as the reference does before RS). The first usable value per index is used.
 * DMP_EERASURE_SHARES when fewer than k indices are usable. */
int dmp_erasure_decode_message(uint32_t k, uint32_t n, const dmp_erasure_chunk_in_t *chunks,
                               size_t count, const uint8_t *hashes, dmp_buf_t *out);

#endif
