/* crypto: libsodium + libargon2 wrappers, the message-layer structures and the DMPv2 envelope
 * (reference/client.md §1.8, §1.9, §3, §5.5; node.md §5.3/§5.4).
 *
 * Conventions: every function returns 0 or a negative DMP_E* code. Call dmp_crypto_init()
 * once before anything else (it is cheap, idempotent and thread-safe). Functions that take
 * outside bytes never read past the given length. Output dmp_buf_t arguments are appended to;
 * on error their previous contents are kept but trailing bytes may have been appended. */
#ifndef DMP_CRYPTO_H
#define DMP_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto_types.h"
#include "util/util.h"

/* --- setup ------------------------------------------------------------------------------ */
int dmp_crypto_init(void); /* sodium_init; idempotent, thread-safe; DMP_ECRYPTO on failure */
/* Names the crypto codes; falls back to dmp_strerror. */
const char *dmp_crypto_strerror(int err);

/* --- hashes, MAC, KDF --------------------------------------------------------------------- */
void dmp_crypto_sha256(const uint8_t *in, size_t len, uint8_t out[32]);
void dmp_crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                            uint8_t out[32]);
/* RFC 5869 HKDF-SHA256; salt may be NULL/0 (=32 zero bytes). out_len <= 255*32 else DMP_EINVAL. */
int dmp_crypto_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                           const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);
/* user_id = SHA-256(x25519_pk) (client.md §3.3). */
void dmp_crypto_user_id(const uint8_t x25519_pk[32], uint8_t out[32]);

/* Writes the first nchars (<= 64) lowercase hex digits of SHA-256(in) plus NUL to out
 * (hash12 = 12, hash16 = 16 in client.md's glossary). */
int dmp_crypto_sha256_hex(const uint8_t *in, size_t len, size_t nchars, char *out);
/* Mailbox hash of a recipient: hex(SHA-256(SHA-256(x25519_pk)))[:12] (the "mb-<h>" label of
 * client.md §2 and the TSIG scope of node.md §5.4). out gets 12 chars + NUL. */
void dmp_crypto_mailbox_hash(const uint8_t x25519_pk[32], char out[13]);

/* --- Ed25519 ------------------------------------------------------------------------------- */
/* sk64 = libsodium secret key (seed||pk). */
int dmp_crypto_ed25519_from_seed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk64[64]);
int dmp_crypto_sign(const uint8_t sk64[64], const uint8_t *msg, size_t len, uint8_t sig[64]);
/* 0, DMP_EWEAKKEY (pk on the 14-entry blocked list of client.md §3.4) or DMP_ESIG. */
int dmp_crypto_verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64]);
bool dmp_crypto_is_weak_ed25519_key(const uint8_t pk[32]);
/* The 14 blocked encodings (for tests and tooling); *count receives 14. */
const uint8_t (*dmp_crypto_weak_ed25519_keys(size_t *count))[32];

/* --- identity (client.md §3.1, §3.2) ----------------------------------------------------- */
/* identity from an X25519 private key: x25519 pk, ed25519 seed =
 * SHA-256(sk||"DMP-v1-Ed25519-signing-key"), ed pk/sk. */
int dmp_crypto_identity_from_x25519(const uint8_t x25519_sk[32], dmp_crypto_identity_t *out);
/* Argon2id t=2 m=32MiB p=2 via libargon2 (argon2id_hash_raw). salt NULL -> the default salt
 * "DMP-default-v2-argon2id"; salt_len < 8 -> DMP_EINVAL. The output is the unclamped
 * X25519 private key. */
int dmp_crypto_derive_x25519(const char *passphrase, size_t len, const uint8_t *salt,
                             size_t salt_len, uint8_t sk_out[32]);
/* dmp_crypto_derive_x25519 followed by dmp_crypto_identity_from_x25519. */
int dmp_crypto_identity_from_passphrase(const char *passphrase, size_t len, const uint8_t *salt,
                                        size_t salt_len, dmp_crypto_identity_t *out);
void dmp_crypto_identity_wipe(dmp_crypto_identity_t *id);

/* --- X25519 -------------------------------------------------------------------------------- */
/* Public key of a (possibly unclamped) private key. */
int dmp_crypto_x25519_public(const uint8_t sk[32], uint8_t pk[32]);
/* Fresh random key pair. */
int dmp_crypto_x25519_keypair(uint8_t sk[32], uint8_t pk[32]);
/* shared = X25519(sk, peer_pk); DMP_CRYPTO_EZEROSHARED when the result is all zero. */
int dmp_crypto_x25519_shared(const uint8_t sk[32], const uint8_t peer_pk[32], uint8_t shared[32]);

/* --- AEAD: ChaCha20-Poly1305 IETF -------------------------------------------------------- */
/* out receives pt_len + 16 bytes (ct || tag); out may equal pt. */
int dmp_crypto_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                         size_t ad_len, const uint8_t *pt, size_t pt_len, uint8_t *out);
/* ct_len includes the tag; out receives ct_len - 16 bytes. DMP_ETRUNC if ct_len < 16,
 * DMP_ECRYPTO on authentication failure (out then zeroed). */
int dmp_crypto_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *ad,
                         size_t ad_len, const uint8_t *ct, size_t ct_len, uint8_t *out);

/* --- message encryption (client.md §3.5) ------------------------------------------------- */
/* key = HKDF-SHA256(IKM=shared, salt="DMP-v1", info="DMP-Message-Encryption", L=32). */
int dmp_crypto_message_key(const uint8_t shared[32], uint8_t key[32]);
/* Appends EncryptedMessage (eph_pk || nonce || ct || tag) to out, with a fresh ephemeral key
 * and random nonce. recipient_pk = the chosen prekey pk or the contact's long-term x25519 pk. */
int dmp_crypto_encrypt(const uint8_t recipient_pk[32], const uint8_t *aad, size_t aad_len,
                       const uint8_t *pt, size_t pt_len, dmp_buf_t *out);
/* Deterministic form for known-answer tests: caller supplies the ephemeral sk and nonce. */
int dmp_crypto_encrypt_with(const uint8_t recipient_pk[32], const uint8_t eph_sk[32],
                            const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                            const uint8_t *pt, size_t pt_len, dmp_buf_t *out);
/* Splits an EncryptedMessage (>= 60 bytes, else DMP_ETRUNC) into views of buf. */
int dmp_crypto_enc_parse(const uint8_t *buf, size_t len, dmp_crypto_enc_t *out);
/* Opens an EncryptedMessage with the recipient's private key (prekey sk or long-term sk).
 * Appends the plaintext to out. DMP_ETRUNC (short), DMP_CRYPTO_EZEROSHARED, DMP_ECRYPTO. */
int dmp_crypto_decrypt(const uint8_t sk[32], const uint8_t *aad, size_t aad_len, const uint8_t *buf,
                       size_t len, dmp_buf_t *out);

/* --- DMPHeader / DMPMessage (client.md §1.8, §3.6) ---------------------------------------- */
const char *dmp_msg_type_name(dmp_msg_type_t t); /* "DATA", ...; NULL when out of range */
/* Appends the canonical compact JSON (fixed key order, no spaces, lowercase hex). */
int dmp_crypto_header_json(const dmp_msg_header_t *h, dmp_buf_t *out);
/* Parses header JSON (Python json.loads semantics for the fields the reference reads; extra
 * keys ignored). DMP_EFORMAT for bad JSON/type/missing key/non-integer or out-of-int64
 * number/wrong-length hex field, DMP_EHEX for non-hex digits. */
int dmp_crypto_header_parse(const uint8_t *buf, size_t len, dmp_msg_header_t *out);
/* AAD = header JSON with total=0, chunk=0 || u32_be(prekey_id) (client.md §3.6). */
int dmp_crypto_aad(const dmp_msg_header_t *h, uint32_t prekey_id, dmp_buf_t *out);
/* Appends u16 header_len || header_json || payload || 32 zero bytes. DMP_ETOOBIG if the JSON
 * exceeds 65535 bytes. */
int dmp_crypto_outer_build(const dmp_msg_header_t *h, const uint8_t *payload, size_t payload_len,
                           dmp_buf_t *out);
/* Splits a DMPMessage: len >= 34 and len >= 2 + header_len + 32, else DMP_ETRUNC. */
int dmp_crypto_outer_parse(const uint8_t *buf, size_t len, dmp_msg_outer_t *out);

/* Sender side of one message: AAD from h (total/chunk forced to 0) and prekey_id (0 = none),
 * encrypt to recipient_pk (the prekey pk when prekey_id != 0), then append the outer
 * DMPMessage built from h to out. */
int dmp_crypto_seal_message(const dmp_msg_header_t *h, uint32_t prekey_id,
                            const uint8_t recipient_pk[32], const uint8_t *pt, size_t pt_len,
                            dmp_buf_t *out);
/* Receiver side: parse outer + header, rebuild AAD from the parsed header and prekey_id,
 * decrypt with sk (the prekey sk when prekey_id != 0, else the long-term x25519 sk).
 * hdr_out (may be NULL) receives the parsed header; the plaintext is appended to pt_out. */
int dmp_crypto_open_message(const uint8_t *buf, size_t len, uint32_t prekey_id,
                            const uint8_t sk[32], dmp_msg_header_t *hdr_out, dmp_buf_t *pt_out);

/* --- prekeys (client.md §5.5) -------------------------------------------------------------- */
/* Fresh X25519 pair with a random non-zero 32-bit id (callers re-draw on collision). */
int dmp_crypto_prekey_generate(dmp_crypto_prekey_t *out);
void dmp_crypto_prekey_wipe(dmp_crypto_prekey_t *pk);

/* --- DMPv2 envelope + addresses (client.md §1.9, §3.7) ------------------------------------ */
/* Canonicalizes addr (len bytes, no NUL needed) into out (NUL-terminated, cap >=
 * DMP_CRYPTO_ADDR_MAX + 1); *out_len (may be NULL) gets its length. DMP_CRYPTO_EADDR on
 * reject. Python's `$`-before-newline quirk is NOT reproduced. */
int dmp_crypto_canonicalize_address(const char *addr, size_t len, char *out, size_t out_cap,
                                    size_t *out_len);
/* Appends the envelope of body to out: sender_addr NULL or failing canonicalization -> the
 * body unchanged (v1 form). */
int dmp_crypto_envelope_encode(const uint8_t *body, size_t body_len, const char *sender_addr,
                               size_t sender_len, dmp_buf_t *out);
/* Decodes a plaintext. *body and *body_len point into pt. from (cap >= DMP_CRYPTO_ADDR_MAX + 1)
 * receives the canonical sender and *has_from = true, or "" and false. Never fails on
 * content (non-envelopes come back whole); DMP_EINVAL only for bad arguments. */
int dmp_crypto_envelope_decode(const uint8_t *pt, size_t len, const uint8_t **body,
                               size_t *body_len, char *from, size_t from_cap, bool *has_from);

/* --- registration + TSIG proof of possession (client.md §3.8, node.md §5.3/§5.4) --------- */
/* Appends the signed bytes: challenge(32) || subject || node || 0x01 (no separators). */
int dmp_crypto_registration_message(const uint8_t challenge[32], const char *subject,
                                    size_t subject_len, const char *node, size_t node_len,
                                    dmp_buf_t *out);
int dmp_crypto_registration_sign(const uint8_t sk64[64], const uint8_t challenge[32],
                                 const char *subject, size_t subject_len, const char *node,
                                 size_t node_len, uint8_t sig[64]);
/* 0, DMP_EWEAKKEY or DMP_ESIG. */
int dmp_crypto_registration_verify(const uint8_t spk[32], const uint8_t challenge[32],
                                   const char *subject, size_t subject_len, const char *node,
                                   size_t node_len, const uint8_t sig[64]);
/* pop = HMAC-SHA256(key = X25519(my_sk, peer_pk), challenge(32) || subject || x25519_pub).
 * Client: my_sk = own x25519 sk, peer_pk = server_x25519_pub, x25519_pub = own pk.
 * Server: my_sk = challenge's ephemeral sk, peer_pk = x25519_pub = the claimed pk. */
int dmp_crypto_x25519_pop(const uint8_t my_sk[32], const uint8_t peer_pk[32],
                          const uint8_t challenge[32], const char *subject, size_t subject_len,
                          const uint8_t x25519_pub[32], uint8_t pop[32]);
/* Server check, constant-time: 0 or DMP_EAUTH (mismatch or zero shared secret). */
int dmp_crypto_x25519_pop_verify(const uint8_t server_eph_sk[32], const uint8_t claimed_pub[32],
                                 const uint8_t challenge[32], const char *subject,
                                 size_t subject_len, const uint8_t pop[32]);

/* TSIG key name of node.md §5.4: "<local>-<hex(spk)[:8]>-<sha256(subject)hex[:6]>.<zone>."
 * local, subject and zone are stripped of surrounding whitespace and ASCII-lowercased; zone
 * also loses all trailing dots; an empty subject drops the "-<6 hex>" part. Writes the name
 * plus NUL to out. DMP_EINVAL for empty local/zone, DMP_ENAME when the first label exceeds
 * 63 octets, DMP_ETOOBIG when out is too small. */
int dmp_crypto_tsig_key_name(const char *local, size_t local_len, const uint8_t spk[32],
                             const char *subject, size_t subject_len, const char *zone,
                             size_t zone_len, char *out, size_t out_cap);

#endif
