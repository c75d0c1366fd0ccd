/* node: the TSIG keystore (RocksDB column family "tsig" through dmp_store_kv_*), the
 * reference's scope rules (node.md §5.4), minting for registration, the registered-recipient
 * set (§5.5) and the UPDATE authoriser. */
#ifndef DMP_NODE_TSIG_KEYS_H
#define DMP_NODE_TSIG_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "dns/dns_types.h"
#include "store/store.h"

enum {
    DMP_NODE_TSIG_MAX_SUFFIXES = 16,
};

/* One key row. Owns nothing outside itself; the secret is wiped by dmp_node_tsig_rec_wipe.
 * Invariants: name and suffixes lowercase, no trailing dot; suffixes sorted, de-duplicated. */
typedef struct {
    dmp_tsig_key_t key; /* name, algorithm, secret */
    char suffixes[DMP_NODE_TSIG_MAX_SUFFIXES][254];
    size_t n_suffixes;
    char subject[256];
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
    bool revoked;
    char spk_hex[65];    /* registered Ed25519 key ("" = admin-made) */
    char x25519_hex[65]; /* registered X25519 key ("" = none) */
} dmp_node_tsig_rec_t;

void dmp_node_tsig_rec_wipe(dmp_node_tsig_rec_t *r);
/* Not revoked and (expires_at == 0 or expires_at > now). */
bool dmp_node_tsig_active(const dmp_node_tsig_rec_t *r, int64_t now_s);

/* Stored form: JSON object, version 1. Exposed for tests. */
int dmp_node_tsig_encode(const dmp_node_tsig_rec_t *r, dmp_buf_t *out);
int dmp_node_tsig_decode(const uint8_t *p, size_t len, dmp_node_tsig_rec_t *r);

/* Store access. Names are lowercased and stripped of a trailing dot. put overwrites. get:
 * DMP_ENOTFOUND when absent. list visits every row (fn returns nonzero to stop). revoke: sets
 * revoked (DMP_ENOTFOUND when absent). */
int dmp_node_tsig_put(dmp_store_t *s, const dmp_node_tsig_rec_t *r);
int dmp_node_tsig_get(dmp_store_t *s, const char *name, dmp_node_tsig_rec_t *r);
typedef int (*dmp_node_tsig_visit_fn)(void *ctx, const dmp_node_tsig_rec_t *r);
int dmp_node_tsig_list(dmp_store_t *s, dmp_node_tsig_visit_fn fn, void *ctx);
int dmp_node_tsig_revoke(dmp_store_t *s, const char *name);

/* Key lookup for dmp_tsig_verify_request: active keys only (ctx = dmp_node_tsig_env_t). */
typedef struct {
    dmp_store_t *store;
    int64_t now_s;
} dmp_node_tsig_env_t;
int dmp_node_tsig_lookup(void *ctx, const char *lname, dmp_tsig_key_t *out);

/* Scope (node.md §5.4): suffix match with '*' wildcards inside labels, right-aligned. */
bool dmp_node_tsig_scope_match(const char *owner, const char *suffix);
/* add: any suffix matches; delete: a matching suffix without '*'. */
bool dmp_node_tsig_covers(const dmp_node_tsig_rec_t *r, const char *owner, bool del);

/* Minting for registration (node.md §5.4): key name <local>-<spk8>-<sha256(subject)[:6]>.<zone>,
 * 32 random bytes, hmac-sha256, scope by mode (loose: the zone; tight: no wildcards), expiry
 * now + ttl (0 = never). x25519 may be NULL (no mb- suffix). Anti-takeover: an active key of
 * the same subject registered with another Ed25519 key -> DMP_EEXIST (409). DMP_ETOOBIG when
 * the label would exceed 63 characters (local part > 47). Atomic (process-wide lock). */
typedef struct {
    const char *zone;
    int64_t ttl_s;
    bool loose, tight;
} dmp_node_tsig_mint_opts_t;
int dmp_node_tsig_mint(dmp_store_t *s, const char *subject, const uint8_t spk[32],
                       const uint8_t *x25519, const dmp_node_tsig_mint_opts_t *o, int64_t now_s,
                       dmp_node_tsig_rec_t *out);

/* Registered-recipient test (node.md §5.5): whether hash12 is registered for mailbox writes in
 * zone by some active key. */
int dmp_node_tsig_recipient_registered(dmp_store_t *s, const char *zone, const char *hash12,
                                       int64_t now_s, bool *out);

/* A new random secret of n bytes for admin-made keys. */
void dmp_node_tsig_random_secret(uint8_t *out, size_t n);

/* ---- operator commands (admin_tsig.c), reached through dmp_node_admin_run ----
 * "tsig.list" {include_revoked}: array of keys (no secrets); "tsig.add" {name, scopes[],
 * algorithm?, secret_b64?, subject?, expires_in?}: the key with "secret_b64" and
 * "nsupdate_key" (ALG:NAME:SECRET); "tsig.revoke" {name}. 0, or an exit code (1 failed / not
 * found, 2 bad arguments) with err. */
typedef struct json_t json_t;
int dmp_node_admin_tsig(dmp_store_t *s, int64_t now_s, const char *op, json_t *args,
                        json_t **result, char *err, size_t cap);
/* A key as JSON, without its secret (new reference). */
json_t *dmp_node_tsig_rec_json(const dmp_node_tsig_rec_t *r, int64_t now_s);

#endif
