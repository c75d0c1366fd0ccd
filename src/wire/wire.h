/* wire: encode+sign and parse+verify every DMP v1 TXT record, owner names, DNS-name checks,
 * multi-string TXT split/join.
 *
 * Conventions:
 * - Parsers take the joined TXT value (all character-strings of one RR concatenated) as
 *   (buf, len), never read past len, and return 0 or a negative code (DMP_EWIRE_* from
 *   wire_types.h, or DMP_ENOMEM / DMP_EINVAL). On error *out is unspecified.
 * - `now` is Unix seconds, injected by the caller (tests pin it).
 * - Encoders append the TXT value (ASCII, no NUL) to `out`; on error `out` is left as it was.
 *   `sk64` is a libsodium Ed25519 secret key (seed || public key); where the record embeds its
 *   signer, the key's public half must equal it (DMP_EWIRE_SIGNER otherwise).
 * - Owner-name builders write a NUL-terminated name into out[cap] (DMP_ETOOBIG if it does not
 *   fit; DMP_WIRE_NAME_MAX always suffices for valid inputs).
 * Deliberate divergences from the reference are listed in docs/wire.md. */
#ifndef DMP_WIRE_H
#define DMP_WIRE_H

#include "util/util.h"
#include "wire/wire_types.h"

const char *dmp_wire_strerror(int err);

/* ---- DNS names ---- */
/* cluster.md §1.5: ASCII, not ending "..", one trailing dot stripped, labels 1..63 of
 * [A-Za-z0-9-] not starting/ending with '-'. On success *stripped_len (may be NULL) is the length
 * without the trailing dot. Returns DMP_EWIRE_NAME otherwise. */
int dmp_wire_dns_name_check(const char *name, size_t len, size_t *stripped_len);
/* node.md §3.2 rule 10 (HTTP record names): <= 253 chars, one trailing dot tolerated, each
 * label `_?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?`. Returns 0 or DMP_EWIRE_NAME. */
int dmp_wire_http_name_check(const char *name, size_t len);

/* ---- classification (cluster.md §3.6) ---- */
dmp_wire_rec_t dmp_wire_classify(const uint8_t *buf, size_t len);
const char *dmp_wire_rec_name(dmp_wire_rec_t t); /* "manifest", "identity", ... */
/* True if the owner name (ASCII case-insensitive) matches a DMP-reserved pattern:
 * slot-N.mb-H., chunk-N-H., mb-H., id-H., prekeys.id-H., _dnsmesh-, claim-N.mb-H., cluster.,
 * _dmp., dmp., rotate. (N decimal digits, H lowercase hex after lowercasing). */
bool dmp_wire_owner_reserved(const char *name, size_t len);

/* ---- multi-string TXT ---- */
/* Appends TXT RDATA (<len><bytes>... with <=255-byte raw pieces; an empty value is one empty
 * string) for `val` to rdata. */
int dmp_wire_txt_split(const uint8_t *val, size_t len, dmp_buf_t *rdata);
/* Parses TXT RDATA and appends the concatenation of its strings to out.
 * DMP_EWIRE_TRUNC when a string overruns the RDATA; DMP_EWIRE_SHORT on empty RDATA. */
int dmp_wire_txt_join(const uint8_t *rdata, size_t len, dmp_buf_t *out);

/* ---- owner names (client.md §2, cluster.md §1.2/§2.2, node.md §6.1) ---- */
/* Mailbox slot chosen by a sender: u32_be(msg_id[0:4]) % 10. */
unsigned dmp_wire_slot_for_msg_id(const uint8_t msg_id[16]);
/* slot-{N}.mb-{hash12(recipient_id)}.{zone} (zone verbatim). */
int dmp_wire_name_slot(const uint8_t recipient_id[32], unsigned slot, const char *zone, char *out,
                       size_t cap);
/* chunk-{NNNN}-{hash12(msg_id||recipient_id||sender_spk)}.{zone} */
int dmp_wire_name_chunk(unsigned idx, const uint8_t msg_id[16], const uint8_t recipient_id[32],
                        const uint8_t sender_spk[32], const char *zone, char *out, size_t cap);
/* id-{hash16(username)}.{domain minus trailing dots} */
int dmp_wire_name_identity(const char *username, size_t ulen, const char *domain, char *out,
                           size_t cap);
/* dmp.{identity_domain minus trailing dots} */
int dmp_wire_name_identity_zone(const char *identity_domain, char *out, size_t cap);
/* prekeys.id-{hash12(username)}.{domain minus trailing dots} */
int dmp_wire_name_prekeys(const char *username, size_t ulen, const char *domain, char *out,
                          size_t cap);
/* claim-{slot}.mb-{hash12(recipient_id)}.{zone verbatim}; slot 0..9, zone non-empty. */
int dmp_wire_name_claim(const uint8_t recipient_id[32], unsigned slot, const char *zone, char *out,
                        size_t cap);
/* rotate.id-{hash16(username)}.{domain} / rotate.dmp.{zone} */
int dmp_wire_name_rotate_user(const char *username, size_t ulen, const char *domain, char *out,
                              size_t cap);
int dmp_wire_name_rotate_user_zone(const char *zone, char *out, size_t cap);
/* rotate.cluster.{base} / rotate._dmp.{user_domain} / cluster.{base} / _dmp.{user_domain}: the
 * domain must pass dmp_wire_dns_name_check (DMP_EWIRE_NAME), one trailing dot stripped. */
int dmp_wire_name_rotate_cluster(const char *base, char *out, size_t cap);
int dmp_wire_name_rotate_bootstrap(const char *user_domain, char *out, size_t cap);
int dmp_wire_name_cluster(const char *base, char *out, size_t cap);
int dmp_wire_name_bootstrap(const char *user_domain, char *out, size_t cap);
/* node.md §2.6: owner must be exactly claim-<digits>.mb-<12 lowercase hex>.<zone>, compared
 * after stripping surrounding ASCII whitespace and trailing dots and lowercasing both. On
 * success hash12 (may be NULL) receives the recipient hash (NUL-terminated). DMP_EWIRE_NAME
 * otherwise. Digits are ASCII only (Python's isdigit() also takes other Unicode digits). */
int dmp_wire_claim_owner_match(const char *owner, size_t olen, const char *zone, size_t zlen,
                               char hash12[13]);
/* _dnsmesh-heartbeat.{zone} / _dnsmesh-seen.{zone} (verbatim) */
int dmp_wire_name_heartbeat(const char *zone, char *out, size_t cap);
int dmp_wire_name_seen(const char *zone, char *out, size_t cap);
/* user@host: split at the first '@', user stripped of ASCII whitespace, host stripped and all
 * trailing dots removed; both non-empty. Writes NUL-terminated halves. */
int dmp_wire_parse_address(const char *addr, size_t len, char *user, size_t ucap, char *host,
                           size_t hcap);

/* ---- identity (client.md §1.1): self-signed by the embedded ed25519_spk ---- */
/* versions may be unsorted/duplicated (normalized); {1} emits no suffix. n_versions == 0 is
 * DMP_EWIRE_VERSION. */
int dmp_wire_identity_encode(const dmp_wire_identity_t *rec, const uint8_t sk64[64],
                             dmp_buf_t *out);
int dmp_wire_identity_parse(const uint8_t *buf, size_t len, dmp_wire_identity_t *out);

/* ---- prekey (client.md §1.2): signed by the identity key the caller pins ---- */
int dmp_wire_prekey_encode(const dmp_wire_prekey_t *rec, const uint8_t sk64[64], dmp_buf_t *out);
/* Rejects exp - now > 30 d (DMP_EWIRE_FUTURE); expiry (now > exp) is the caller's check, see
 * dmp_wire_prekey_expired. */
int dmp_wire_prekey_parse(const uint8_t *buf, size_t len, const uint8_t signer_spk[32], int64_t now,
                          dmp_wire_prekey_t *out);
bool dmp_wire_prekey_expired(const dmp_wire_prekey_t *rec, int64_t now);

/* ---- slot manifest (client.md §1.3): signed by the embedded sender_spk ---- */
/* has_hashes false encodes a legacy 108-byte body (only for vectors; receivers refuse it). */
int dmp_wire_manifest_encode(const dmp_wire_manifest_t *m, const uint8_t sk64[64], dmp_buf_t *out);
/* Rejects exp - now > 30 d. require_hashes: legacy bodies -> DMP_EWIRE_NOHASHES (the receive
 * path must pass true). Expiry (now > exp) is the caller's check: dmp_wire_manifest_expired. */
int dmp_wire_manifest_parse(const uint8_t *buf, size_t len, int64_t now, bool require_hashes,
                            dmp_wire_manifest_t *out);
bool dmp_wire_manifest_expired(const dmp_wire_manifest_t *m, int64_t now);
/* 0 if SHA-256(chunk) equals chunk_hashes[idx]; DMP_EWIRE_NOHASHES, DMP_EWIRE_COUNT (idx >= n)
 * or DMP_EWIRE_CHUNKHASH otherwise. */
int dmp_wire_manifest_check_chunk(const dmp_wire_manifest_t *m, uint32_t idx, const uint8_t *chunk,
                                  size_t len);

/* ---- chunk TXT framing (client.md §1.4); the 168-byte body belongs to erasure ---- */
int dmp_wire_chunk_encode(const uint8_t *body, size_t len, dmp_buf_t *out);
/* The one chunk-TXT framing parser (docs/wire.md divergence #3): the generic k=v parse, v= must
 * be the integer 1 ("dmp" removed), t= (default chunk) must be chunk. On 0, *d / *dn span the
 * stripped d= value inside buf (NULL/0 when absent; always ASCII). */
int dmp_wire_chunk_fields(const uint8_t *buf, size_t len, const uint8_t **d, size_t *dn);
/* dmp_wire_chunk_fields, then d is lax base64 (missing d -> empty body), appended to `body`. */
int dmp_wire_chunk_parse(const uint8_t *buf, size_t len, dmp_buf_t *body);

/* ---- rotation (client.md §1.5): co-signed by old_spk then new_spk ---- */
int dmp_wire_rotation_encode(const dmp_wire_rotation_t *r, const uint8_t old_sk64[64],
                             const uint8_t new_sk64[64], dmp_buf_t *out);
/* expected_old_spk / expected_subject may be NULL (not checked). Expired: exp < now. */
int dmp_wire_rotation_parse(const uint8_t *buf, size_t len, int64_t now,
                            const uint8_t *expected_old_spk, const char *expected_subject,
                            size_t expected_subject_len, dmp_wire_rotation_t *out);
/* Normalized comparison form of a subject (type 1: user@casefold(host); 2/3: casefold(name)),
 * one trailing dot stripped from the host. Writes NUL-terminated into out[cap]; *out_len (may be
 * NULL) receives its length. */
int dmp_wire_subject_normalize(uint8_t subject_type, const char *subject, size_t len, char *out,
                               size_t cap, size_t *out_len);

/* ---- revocation (client.md §1.6): self-signed by revoked_spk ---- */
int dmp_wire_revocation_encode(const dmp_wire_revocation_t *r, const uint8_t sk64[64],
                               dmp_buf_t *out);
/* max_age_seconds < 0: no age limit (reference default). ts > now + 300 -> DMP_EWIRE_FUTURE. */
int dmp_wire_revocation_parse(const uint8_t *buf, size_t len, int64_t now,
                              const uint8_t *expected_revoked_spk, const char *expected_subject,
                              size_t expected_subject_len, int64_t max_age_seconds,
                              dmp_wire_revocation_t *out);

/* ---- claim (client.md §1.7): signed by sender_spk; wire <= 255 bytes ---- */
int dmp_wire_claim_encode(const dmp_wire_claim_t *c, const uint8_t sk64[64], dmp_buf_t *out);
int dmp_wire_claim_parse(const uint8_t *buf, size_t len, int64_t now, dmp_wire_claim_t *out);

/* ---- cluster manifest (cluster.md §1): signed by the pinned operator key ---- */
/* Validates like the reference's sign (1..32 nodes, unique ids, name rules, wire <= 1200). */
int dmp_wire_cluster_encode(const dmp_wire_cluster_t *c, const uint8_t sk64[64], dmp_buf_t *out);
/* expected_name may be NULL; compared after one-dot strip, ASCII case-insensitively. */
int dmp_wire_cluster_parse(const uint8_t *buf, size_t len, const uint8_t operator_spk[32],
                           int64_t now, const char *expected_name, dmp_wire_cluster_t *out);

/* ---- bootstrap (cluster.md §2): signed by the pinned zone signer ---- */
/* Entries are encoded priority-sorted (stable) whatever their order in *b. */
int dmp_wire_bootstrap_encode(const dmp_wire_bootstrap_t *b, const uint8_t sk64[64],
                              dmp_buf_t *out);
int dmp_wire_bootstrap_parse(const uint8_t *buf, size_t len, const uint8_t signer_spk[32],
                             int64_t now, const char *expected_user_domain,
                             dmp_wire_bootstrap_t *out);

/* ---- heartbeat (cluster.md §6): self-signed by the embedded operator_spk ---- */
/* Always emits DMPHB03. */
int dmp_wire_heartbeat_encode(const dmp_wire_heartbeat_t *h, const uint8_t sk64[64],
                              dmp_buf_t *out);
/* Accepts DMPHB03 and legacy DMPHB02. ts_skew < 0 means the default 300 s. */
int dmp_wire_heartbeat_parse(const uint8_t *buf, size_t len, int64_t now, int64_t ts_skew,
                             dmp_wire_heartbeat_t *out);
/* Endpoint rules (https/http, host only, no userinfo/path/query/fragment, no localhost or
 * non-public IP literal). Returns 0 or DMP_EWIRE_ENDPOINT / DMP_EWIRE_CHARS. */
int dmp_wire_heartbeat_endpoint_check(const char *ep, size_t len);

#endif
