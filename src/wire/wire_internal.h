/* wire: helpers shared by the record files (not part of the public API). */
#ifndef DMP_WIRE_INTERNAL_H
#define DMP_WIRE_INTERNAL_H

#include "crypto/crypto.h"
#include "wire/wire.h"

/* Strict UTF-8 as Python's codec (no overlongs, surrogates or > U+10FFFF). */
bool dmp_wire__utf8_ok(const uint8_t *p, size_t n);
/* Number of code points in valid UTF-8. */
size_t dmp_wire__utf8_chars(const uint8_t *p, size_t n);
bool dmp_wire__ascii(const uint8_t *p, size_t n);

/* Checks the exact prefix, an optional byte cap on the whole value (max_len 0 = none), and
 * base64-decodes the rest into blob (freshly initialised by the callee; caller frees). In LAX
 * mode non-ASCII characters are rejected, as Python's b64decode(str) does. */
int dmp_wire__unwrap(const uint8_t *buf, size_t len, const char *prefix, size_t max_len,
                     dmp_b64_mode_t mode, dmp_buf_t *blob);
/* Signs body with sk64, appends prefix || b64(body || sig) to out; max_len 0 = no cap
 * (DMP_EWIRE_TOOBIG, out untouched). */
int dmp_wire__wrap(const char *prefix, const uint8_t *body, size_t body_len, const uint8_t sk64[64],
                   size_t max_len, dmp_buf_t *out);
/* dmp_crypto_verify mapped to DMP_EWIRE_WEAKKEY / DMP_EWIRE_SIG. */
int dmp_wire__verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64]);
/* 0 when the public half of sk64 equals spk, else DMP_EWIRE_SIGNER. */
int dmp_wire__key_matches(const uint8_t sk64[64], const uint8_t spk[32]);

/* Time comparisons of an unsigned wire field against a signed now, without overflow. */
static inline __int128 dmp_wire__diff(uint64_t t, int64_t now)
{
    return (__int128)t - (__int128)now;
}

/* Copies n bytes and NUL-terminates (dst has room for n + 1). */
static inline void dmp_wire__copy_str(char *dst, const uint8_t *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* One-dot-strip + DNS check for a domain field of cluster/bootstrap bodies: the effective
 * length (after the dot) must be 1..64. Writes the stripped name. */
int dmp_wire__domain_field(const uint8_t *p, size_t n, char *dst, size_t *dst_len);

/* ASCII case-insensitive equality after stripping one trailing dot on each side. */
bool dmp_wire__name_eq(const char *a, size_t alen, const char *b, size_t blen);

/* Body parsers of the records whose signature is checked before the body (exposed for fuzzing):
 * body excludes the signature. */
int dmp_wire__cluster_body(const uint8_t *b, size_t bl, dmp_wire_cluster_t *out);
int dmp_wire__bootstrap_body(const uint8_t *b, size_t bl, dmp_wire_bootstrap_t *out);

#endif
