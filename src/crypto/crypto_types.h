/* crypto: types and sizes for the libsodium + libargon2 wrappers and the message layer
 * (reference/client.md §1.8, §1.9, §3). */
#ifndef DMP_CRYPTO_TYPES_H
#define DMP_CRYPTO_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util_types.h"

/* Crypto-specific error codes (range -500..). Generic codes (DMP_ECRYPTO, DMP_ESIG,
 * DMP_EWEAKKEY, DMP_ETRUNC, DMP_EFORMAT, ...) are used wherever they fit. */
enum {
    DMP_CRYPTO_EZEROSHARED = -500, /* X25519 produced the all-zero shared secret (low-order key) */
    DMP_CRYPTO_EADDR = -501,       /* address fails canonicalization (client.md §3.7) */
};

#define DMP_CRYPTO_SHA256_LEN 32
#define DMP_CRYPTO_X25519_LEN 32 /* X25519 private and public keys, shared secrets */
#define DMP_CRYPTO_ED25519_PK_LEN 32
#define DMP_CRYPTO_ED25519_SEED_LEN 32
#define DMP_CRYPTO_ED25519_SK_LEN 64 /* libsodium secret key: seed || pk */
#define DMP_CRYPTO_SIG_LEN 64
#define DMP_CRYPTO_AEAD_KEY_LEN 32
#define DMP_CRYPTO_AEAD_NONCE_LEN 12 /* ChaCha20-Poly1305 IETF (RFC 8439) */
#define DMP_CRYPTO_AEAD_TAG_LEN 16
/* EncryptedMessage = eph_pk(32) || nonce(12) || ct || tag(16) (client.md §1.8). */
#define DMP_CRYPTO_ENC_OVERHEAD 60
#define DMP_CRYPTO_USER_ID_LEN 32 /* SHA-256(x25519_pk) */
#define DMP_CRYPTO_MSG_ID_LEN 16

/* Argon2id parameters of the passphrase KDF (client.md §3.1). */
#define DMP_CRYPTO_ARGON2_T 2
#define DMP_CRYPTO_ARGON2_M_KIB 32768
#define DMP_CRYPTO_ARGON2_P 2
#define DMP_CRYPTO_ARGON2_MIN_SALT 8
#define DMP_CRYPTO_DEFAULT_SALT "DMP-default-v2-argon2id" /* 23 ASCII bytes */

/* Canonical address "local@host": local <= 64, host <= 253 (client.md §3.7). */
#define DMP_CRYPTO_ADDR_MAX 318
/* DMPv2 envelope: "DMPV2:" || header_json (<= 256 bytes) || "\n" || body. */
#define DMP_CRYPTO_ENVELOPE_MAGIC "DMPV2:"
#define DMP_CRYPTO_ENVELOPE_MAX_HEADER 256

/* Long-term identity derived from an X25519 private key (client.md §3.2).
 * Every field is secret or derived from a secret: wipe with dmp_crypto_identity_wipe. */
typedef struct {
    uint8_t x25519_sk[32]; /* unclamped, exactly as derived / stored */
    uint8_t x25519_pk[32];
    uint8_t ed_seed[32]; /* SHA-256(x25519_sk || "DMP-v1-Ed25519-signing-key") */
    uint8_t ed_pk[32];   /* the "spk" */
    uint8_t ed_sk[64];   /* libsodium form: ed_seed || ed_pk */
} dmp_crypto_identity_t;

/* One-time prekey (client.md §5.5): the crypto side only. id is never 0 once generated.
 * sk is secret: wipe with dmp_crypto_prekey_wipe. */
typedef struct {
    uint32_t id;
    uint8_t sk[32];
    uint8_t pk[32];
} dmp_crypto_prekey_t;

/* DMPHeader message types; the JSON form is the upper-case name. */
typedef enum {
    DMP_MSG_DATA = 0,
    DMP_MSG_ACK = 1,
    DMP_MSG_DISCOVERY = 2,
    DMP_MSG_IDENTITY = 3,
    DMP_MSG_MAILBOX = 4,
} dmp_msg_type_t;

/* DMPHeader (client.md §1.8). Plain value type: no pointers, no secrets.
 * Integers are kept as int64 (the reference uses unbounded Python ints; values outside int64
 * are rejected by the parser). */
typedef struct {
    int64_t v;
    dmp_msg_type_t type;
    uint8_t msg_id[16];
    uint8_t sender[32];    /* sender user_id */
    uint8_t recipient[32]; /* recipient user_id */
    int64_t total;
    int64_t chunk;
    int64_t ts;
    int64_t ttl;
} dmp_msg_header_t;

/* Parsed DMPMessage ("outer", client.md §1.8): u16 header_len || header_json || payload ||
 * signature(32). All pointers point into the caller's buffer (no copies); valid while it lives. */
typedef struct {
    const uint8_t *header_json;
    size_t header_len;
    const uint8_t *payload;
    size_t payload_len;
    const uint8_t *signature; /* 32-byte placeholder, ignored */
} dmp_msg_outer_t;

/* Parsed EncryptedMessage: pointers into the caller's buffer. ct_len includes the 16-byte tag. */
typedef struct {
    const uint8_t *eph_pk; /* 32 bytes */
    const uint8_t *nonce;  /* 12 bytes */
    const uint8_t *ct;     /* ciphertext || tag */
    size_t ct_len;
} dmp_crypto_enc_t;

#endif
