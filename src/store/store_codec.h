/* store: internal encodings of RocksDB keys and values (see docs/store.md). Every decoder
 * takes (buf, len), never reads past len and returns DMP_STORE_ECORRUPT on malformed input. */
#ifndef DMP_STORE_CODEC_H
#define DMP_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_types.h"

#define DMP_STORE_REC_FORMAT 1u
/* Record value: u8 format | u32 ttl | i64 stored_ms | i64 expires_ms | u64 seq | value. */
#define DMP_STORE_REC_HDR 29u
/* Record key: lname | 0x00 | sha256(value). Max length 255 + 1 + 32. */
#define DMP_STORE_RKEY_MAX (DMP_STORE_MAX_NAME + 1u + 32u)
/* Index key (expiry and by-stored-time): ob64(time) | record key. */
#define DMP_STORE_IKEY_MAX (8u + DMP_STORE_RKEY_MAX)

/* Decoded record header; value points into the decoded buffer. */
typedef struct {
    uint32_t ttl;
    int64_t stored_ms;
    int64_t expires_ms;
    uint64_t seq;
    const uint8_t *value;
    size_t value_len;
} dmp_store_rec_t;

/* Order-preserving encoding of a signed time: big-endian of (x XOR 2^63). */
void dmp_store_ob64_put(uint8_t out[8], int64_t x);
int64_t dmp_store_ob64_get(const uint8_t in[8]);

/* Lowercase + validate: 1..DMP_STORE_MAX_NAME bytes, no NUL. Returns DMP_ENAME otherwise. */
int dmp_store_name_norm(const char *name, size_t len, char *out);

/* Writes lname|0|hash into out (cap DMP_STORE_RKEY_MAX); returns the key length. */
size_t dmp_store_rkey_make(uint8_t *out, const char *lname, size_t name_len,
                           const uint8_t hash[32]);
/* Labels of name in reverse order, joined with '.' ("a.b.c" -> "c.b.a"); out holds len bytes.
 * Descendants of X are exactly the names whose reversed form starts with reversed(X) ".".
 * Empty labels stay empty, so the mapping is its own inverse for every byte string. */
void dmp_store_name_reverse(const char *name, size_t len, char *out);
/* Splits a record key; name points into buf. */
int dmp_store_rkey_parse(const uint8_t *buf, size_t len, const char **name, size_t *name_len,
                         const uint8_t **hash);
/* Splits an index key into its time and the record key that follows. */
int dmp_store_ikey_parse(const uint8_t *buf, size_t len, int64_t *t, const uint8_t **rkey,
                         size_t *rkey_len);

/* Index key: ob64(t) | rkey; out holds DMP_STORE_IKEY_MAX. */
size_t dmp_store_ikey_make(uint8_t *out, int64_t t, const uint8_t *rkey, size_t rkl);
/* Name-index key: reversed(lname) | 0x00 | hash (same length as the record key); out holds
 * DMP_STORE_RKEY_MAX. */
size_t dmp_store_dkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32]);

/* Encodes the header into hdr[DMP_STORE_REC_HDR]; the value bytes follow it on disk. */
void dmp_store_rec_hdr(uint8_t hdr[DMP_STORE_REC_HDR], uint32_t ttl, int64_t stored_ms,
                       int64_t expires_ms, uint64_t seq);
int dmp_store_rec_parse(const uint8_t *buf, size_t len, dmp_store_rec_t *out);
/* The public view of a parsed row (pointers into rec's buffer) with its value hash. */
void dmp_store_to_public(const dmp_store_rec_t *rec, const uint8_t hash[32], dmp_store_record_t *r);

#endif
