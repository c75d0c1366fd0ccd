/* crypto: primitives (hashes, HKDF, Ed25519, X25519, AEAD, Argon2id identity derivation). */
#include "crypto/crypto.h"

#include <argon2.h>
#include <sodium.h>

static const char ED_SEED_LABEL[] = "DMP-v1-Ed25519-signing-key"; /* 26 bytes, no NUL */

int dmp_crypto_init(void)
{
    /* sodium_init is itself thread-safe and returns 1 when already initialised. */
    return sodium_init() < 0 ? DMP_ECRYPTO : 0;
}

const char *dmp_crypto_strerror(int err)
{
    switch (err) {
    case DMP_CRYPTO_EZEROSHARED:
        return "X25519 shared secret is all zero (low-order public key)";
    case DMP_CRYPTO_EADDR:
        return "address is not canonicalizable";
    default:
        return dmp_strerror(err);
    }
}

void dmp_crypto_sha256(const uint8_t *in, size_t len, uint8_t out[32])
{
    crypto_hash_sha256(out, in, len);
}

void dmp_crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                            uint8_t out[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, key_len);
    crypto_auth_hmacsha256_update(&st, msg, msg_len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

int dmp_crypto_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                           const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    static const uint8_t zero_salt[32];
    uint8_t prk[32], t[32];
    crypto_auth_hmacsha256_state st;

    if ((!out && out_len) || out_len > 255 * 32 || (!ikm && ikm_len) || (!info && info_len))
        return DMP_EINVAL;
    if (!salt || salt_len == 0) {
        salt = zero_salt;
        salt_len = sizeof zero_salt;
    }
    /* Extract: PRK = HMAC(salt, IKM). */
    dmp_crypto_hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
    /* Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
    size_t done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
        if (i > 1)
            crypto_auth_hmacsha256_update(&st, t, sizeof t);
        if (info_len)
            crypto_auth_hmacsha256_update(&st, info, info_len);
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t);
        size_t n = out_len - done < 32 ? out_len - done : 32;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(&st, sizeof st);
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(t, sizeof t);
    return 0;
}

void dmp_crypto_user_id(const uint8_t x25519_pk[32], uint8_t out[32])
{
    crypto_hash_sha256(out, x25519_pk, 32);
}

/* --- Ed25519 ---------------------------------------------------------------------------- */

/* The 14 blocked encodings of client.md §3.4: the small-order points and their
 * non-canonical aliases. */
static const uint8_t WEAK_KEYS[14][32] = {
    {0x01},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
    {[31] = 0x80},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
     0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
     0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x85},
    {0},
    {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
     0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
     0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa},
    {0x01, [31] = 0x80},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
};

const uint8_t (*dmp_crypto_weak_ed25519_keys(size_t *count))[32]
{
    if (count)
        *count = sizeof WEAK_KEYS / sizeof WEAK_KEYS[0];
    return WEAK_KEYS;
}

bool dmp_crypto_is_weak_ed25519_key(const uint8_t pk[32])
{
    /* Public data: plain compares are fine. */
    for (size_t i = 0; i < sizeof WEAK_KEYS / sizeof WEAK_KEYS[0]; i++)
        if (memcmp(pk, WEAK_KEYS[i], 32) == 0)
            return true;
    return false;
}

int dmp_crypto_ed25519_from_seed(const uint8_t seed[32], uint8_t pk[32], uint8_t sk64[64])
{
    if (!seed || !pk || !sk64)
        return DMP_EINVAL;
    return crypto_sign_seed_keypair(pk, sk64, seed) == 0 ? 0 : DMP_ECRYPTO;
}

int dmp_crypto_sign(const uint8_t sk64[64], const uint8_t *msg, size_t len, uint8_t sig[64])
{
    if (!sk64 || !sig || (!msg && len))
        return DMP_EINVAL;
    return crypto_sign_detached(sig, NULL, msg ? msg : (const uint8_t *)"", len, sk64) == 0
               ? 0
               : DMP_ECRYPTO;
}

int dmp_crypto_verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    if (!pk || !sig || (!msg && len))
        return DMP_EINVAL;
    if (dmp_crypto_is_weak_ed25519_key(pk))
        return DMP_EWEAKKEY;
    return crypto_sign_verify_detached(sig, msg ? msg : (const uint8_t *)"", len, pk) == 0
               ? 0
               : DMP_ESIG;
}

/* --- identity --------------------------------------------------------------------------- */

int dmp_crypto_x25519_public(const uint8_t sk[32], uint8_t pk[32])
{
    if (!sk || !pk)
        return DMP_EINVAL;
    return crypto_scalarmult_curve25519_base(pk, sk) == 0 ? 0 : DMP_ECRYPTO;
}

int dmp_crypto_identity_from_x25519(const uint8_t x25519_sk[32], dmp_crypto_identity_t *out)
{
    crypto_hash_sha256_state st;
    int rc;

    if (!x25519_sk || !out)
        return DMP_EINVAL;
    memmove(out->x25519_sk, x25519_sk, 32);
    rc = dmp_crypto_x25519_public(out->x25519_sk, out->x25519_pk);
    if (rc)
        goto fail;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, out->x25519_sk, 32);
    crypto_hash_sha256_update(&st, (const uint8_t *)ED_SEED_LABEL, sizeof ED_SEED_LABEL - 1);
    crypto_hash_sha256_final(&st, out->ed_seed);
    sodium_memzero(&st, sizeof st);
    rc = dmp_crypto_ed25519_from_seed(out->ed_seed, out->ed_pk, out->ed_sk);
    if (rc)
        goto fail;
    return 0;
fail:
    dmp_crypto_identity_wipe(out);
    return rc;
}

int dmp_crypto_derive_x25519(const char *passphrase, size_t len, const uint8_t *salt,
                             size_t salt_len, uint8_t sk_out[32])
{
    if (!sk_out || (!passphrase && len))
        return DMP_EINVAL;
    if (!salt) {
        salt = (const uint8_t *)DMP_CRYPTO_DEFAULT_SALT;
        salt_len = sizeof DMP_CRYPTO_DEFAULT_SALT - 1;
    }
    if (salt_len < DMP_CRYPTO_ARGON2_MIN_SALT || salt_len > UINT32_MAX || len > UINT32_MAX)
        return DMP_EINVAL;
    int rc = argon2id_hash_raw(DMP_CRYPTO_ARGON2_T, DMP_CRYPTO_ARGON2_M_KIB, DMP_CRYPTO_ARGON2_P,
                               passphrase ? passphrase : "", len, salt, salt_len, sk_out, 32);
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return DMP_ENOMEM;
    if (rc != ARGON2_OK) {
        sodium_memzero(sk_out, 32);
        return DMP_ECRYPTO;
    }
    return 0;
}

int dmp_crypto_identity_from_passphrase(const char *passphrase, size_t len, const uint8_t *salt,
                                        size_t salt_len, dmp_crypto_identity_t *out)
{
    uint8_t sk[32];
    if (!out)
        return DMP_EINVAL;
    int rc = dmp_crypto_derive_x25519(passphrase, len, salt, salt_len, sk);
    if (rc == 0)
        rc = dmp_crypto_identity_from_x25519(sk, out);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

void dmp_crypto_identity_wipe(dmp_crypto_identity_t *id)
{
    if (id)
        sodium_memzero(id, sizeof *id);
}
