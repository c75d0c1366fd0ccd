/* Unit tests for src/crypto: known answers (RFCs, client.md Appendix A/B), the shared vectors
 * (skipped when DMP_SHARED_DIR is absent), and malformed-input handling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <jansson.h>

#include "crypto/crypto.h"

/* --- helpers ---------------------------------------------------------------------------- */

static void unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    assert_int_equal(dmp_hex_decode(hex, 2 * n, out, n), 0);
}

static void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char buf[4096];
    assert_true(2 * n + 1 <= sizeof buf);
    dmp_hex_encode(got, n, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static json_t *load_vectors(const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof path, "%s/vectors/%s", DMP_SHARED_DIR, name);
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "skipping: shared vectors not found at %s\n", path);
    return j;
}

static void sha256_str(const char *s, uint8_t out[32])
{
    dmp_crypto_sha256((const uint8_t *)s, strlen(s), out);
}

/* Appendix A fixed inputs. */
static const char *ALICE_SK = "1be520dc7f398c81caf5b84683fd1a2855649932c44f6d8c7195cc56ae86b105";
static const char *BOB_SK = "21a0f476f5d82c9bd39c29cc0dbcb6f084c8a9ab086911bfe3fe5c707ca5a7c4";
static const char *BOB_PK = "8c2e675a7028f6fe0a41a2b201a1d1fb001f7fc9341049d7ebf185c70454485f";
static const char *AAD_JSON =
    "{\"v\":1,\"type\":\"DATA\",\"msg_id\":\"00112233445566778899aabbccddeeff\",\"sender\":"
    "\"b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862\",\"recipient\":"
    "\"a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4\",\"total\":0,"
    "\"chunk\":0,\"ts\":1893456000,\"ttl\":300}";
static const char *ENC_HEX =
    "a1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e2e000102030405060708090a0bf2"
    "40a018feb8a6d26e4b13ca24364f81b6c48cfc7d52c06004";

static void appendix_a_header(dmp_msg_header_t *h)
{
    memset(h, 0, sizeof *h);
    h->v = 1;
    h->type = DMP_MSG_DATA;
    unhex("00112233445566778899aabbccddeeff", h->msg_id, 16);
    unhex("b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862", h->sender, 32);
    unhex("a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4", h->recipient, 32);
    h->total = 1;
    h->chunk = 0;
    h->ts = 1893456000;
    h->ttl = 300;
}

/* --- Argon2id + identity ---------------------------------------------------------------- */

static void test_argon2_default_salt(void **state)
{
    (void)state;
    uint8_t sk[32];
    dmp_crypto_identity_t id;
    assert_int_equal(dmp_crypto_derive_x25519("test", 4, NULL, 0, sk), 0);
    assert_hex(sk, 32, "d415283370089e8d61ba0e35eaeac5c8006009f01e84c8f7fa09a37a7597413c");
    /* The explicit default salt gives the same key. */
    uint8_t sk2[32];
    assert_int_equal(
        dmp_crypto_derive_x25519("test", 4, (const uint8_t *)DMP_CRYPTO_DEFAULT_SALT, 23, sk2), 0);
    assert_memory_equal(sk, sk2, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    assert_hex(id.x25519_pk, 32,
               "d7ad6ce850324e3ffa72b412f63457a035943c86dd07c8c1b2da99778d1b873c");
    assert_hex(id.ed_pk, 32, "a300a1d6efcace7dc6d8c0145a9a84f5bfa9d2e9eeafce3c27ead580994c907c");
    dmp_crypto_identity_wipe(&id);
    uint8_t zero[sizeof id] = {0};
    assert_memory_equal(&id, zero, sizeof id);
}

static void test_argon2_appendix_a(void **state)
{
    (void)state;
    uint8_t salt[32];
    dmp_crypto_identity_t id;
    sha256_str("vectors/kdf-salt", salt);
    assert_hex(salt, 32, "b4f452e6daa569daa368b0588375515dec36f1376e6752621dbda045a4e7a742");
    assert_int_equal(dmp_crypto_identity_from_passphrase("alice-pass", 10, salt, 32, &id), 0);
    assert_hex(id.x25519_sk, 32, ALICE_SK);
    dmp_crypto_identity_wipe(&id);
    uint8_t sk[32];
    assert_int_equal(dmp_crypto_derive_x25519("bob-pass", 8, salt, 32, sk), 0);
    assert_hex(sk, 32, BOB_SK);
    /* Salt shorter than 8 bytes is rejected; 8 is accepted. */
    assert_int_equal(dmp_crypto_derive_x25519("x", 1, salt, 7, sk), DMP_EINVAL);
    assert_int_equal(dmp_crypto_derive_x25519("x", 1, salt, 0, sk), DMP_EINVAL);
    assert_int_equal(dmp_crypto_derive_x25519("x", 1, salt, 8, sk), 0);
}

static void test_identity_appendix_a(void **state)
{
    (void)state;
    uint8_t sk[32], uid[32];
    dmp_crypto_identity_t id;
    unhex(ALICE_SK, sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    assert_hex(id.x25519_pk, 32,
               "6519f08adaa1056c854ea3909f57bf0b93f253546e1068e05db38b889e793b2b");
    assert_hex(id.ed_seed, 32, "f4c4839055c6165848d17f7be109f45373848ec6540c3cc035aa68fe25ae7767");
    assert_hex(id.ed_pk, 32, "26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e");
    assert_memory_equal(id.ed_sk, id.ed_seed, 32);
    assert_memory_equal(id.ed_sk + 32, id.ed_pk, 32);
    dmp_crypto_user_id(id.x25519_pk, uid);
    assert_hex(uid, 32, "b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862");
    unhex(BOB_SK, sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    assert_hex(id.x25519_pk, 32, BOB_PK);
    assert_hex(id.ed_seed, 32, "9c7cc5af52cf1a15e23405baade85eeb5c505eaf6f30e1190be04638f2096256");
    assert_hex(id.ed_pk, 32, "6bace9efdb6692b932fa56bb9b71164b4a2e465f826450ce5f51d5db88a24309");
    dmp_crypto_user_id(id.x25519_pk, uid);
    assert_hex(uid, 32, "a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4");
    dmp_crypto_identity_wipe(&id);
}

/* Every "<who>_seed_hex" in the vector files is an X25519 private key; its derived spk must
 * equal "inputs.<who>_spk_hex" (identity: ed25519_spk_hex and x25519_pk_hex). And every
 * round-trip record's trailing signature must be exactly what we sign (Ed25519 is
 * deterministic) and must verify. */
static const char *const VECTOR_FILES[] = {
    "identity_record.json",   "prekey.json",           "slot_manifest.json",
    "cluster_manifest.json",  "bootstrap_record.json", "rotation_record.json",
    "revocation_record.json",
};

/* For a record whose description does not say "failure": our signature over the body must
 * equal the stored one byte for byte and verify. For a "failure" record: verifying with the
 * case's verify_with_*_spk_hex key (or, when absent, the derived key) must give DMP_ESIG,
 * except for a rotation's old-key signature, which stays valid. Returns 1 when checked. */
static int check_record_sig(json_t *c, const char *who, const dmp_crypto_identity_t *id)
{
    json_t *wire = json_object_get(c, "expected_wire_hex");
    const char *desc = json_string_value(json_object_get(c, "description"));
    if (!wire || !desc)
        return 0;
    bool failure = strstr(desc, "failure") != NULL;
    dmp_buf_t w, blob;
    dmp_buf_init(&w);
    dmp_buf_init(&blob);
    assert_int_equal(dmp_hex_decode_buf(json_string_value(wire), json_string_length(wire), &w), 0);
    /* "v=dmp1;t=<type>;" then optional "d=", then base64(body || sig...) */
    size_t semis = 0, off = 0;
    while (off < w.len && semis < 2)
        if (w.data[off++] == ';')
            semis++;
    if (off + 2 <= w.len && memcmp(w.data + off, "d=", 2) == 0)
        off += 2;
    assert_int_equal(dmp_b64_decode((const char *)w.data + off, w.len - off, DMP_B64_LAX, &blob),
                     0);
    bool rotation = w.len > 18 && memcmp(w.data, "v=dmp1;t=rotation;", 18) == 0;
    size_t trailer = rotation ? 128 : 64;
    assert_true(blob.len > trailer);
    size_t body_len = blob.len - trailer;
    const uint8_t *sig = blob.data + body_len;
    bool is_new = rotation && strcmp(who, "new") == 0;
    if (is_new)
        sig += 64;
    if (!failure) {
        uint8_t mine[64];
        assert_int_equal(dmp_crypto_sign(id->ed_sk, blob.data, body_len, mine), 0);
        assert_memory_equal(mine, sig, 64);
        assert_int_equal(dmp_crypto_verify(id->ed_pk, blob.data, body_len, sig), 0);
    } else {
        uint8_t other[32];
        const uint8_t *key = id->ed_pk;
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            size_t kl = strlen(k);
            if (strncmp(k, "verify_with_", 12) == 0 && kl > 8 &&
                strcmp(k + kl - 8, "_spk_hex") == 0 && json_is_string(v)) {
                unhex(json_string_value(v), other, 32);
                key = other;
            }
        }
        int want = (rotation && !is_new) ? 0 : DMP_ESIG;
        assert_int_equal(dmp_crypto_verify(key, blob.data, body_len, sig), want);
    }
    dmp_buf_free(&w);
    dmp_buf_free(&blob);
    return 1;
}

static void test_identity_and_signatures_vectors(void **state)
{
    (void)state;
    int keys = 0, sigs = 0;
    for (size_t f = 0; f < sizeof VECTOR_FILES / sizeof VECTOR_FILES[0]; f++) {
        json_t *root = load_vectors(VECTOR_FILES[f]);
        if (!root)
            skip();
        size_t i;
        json_t *c;
        json_array_foreach(root, i, c)
        {
            const char *k;
            json_t *v;
            json_t *inputs = json_object_get(c, "inputs");
            json_object_foreach(c, k, v)
            {
                size_t kl = strlen(k);
                if (kl <= 9 || strcmp(k + kl - 9, "_seed_hex") != 0)
                    continue;
                char who[64];
                assert_true(kl - 9 < sizeof who);
                memcpy(who, k, kl - 9);
                who[kl - 9] = '\0';
                uint8_t sk[32];
                dmp_crypto_identity_t id;
                unhex(json_string_value(v), sk, 32);
                assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
                char name[96];
                if (strcmp(who, "identity") == 0) {
                    const char *x = json_string_value(json_object_get(inputs, "x25519_pk_hex"));
                    const char *e = json_string_value(json_object_get(inputs, "ed25519_spk_hex"));
                    if (x && e) {
                        assert_hex(id.x25519_pk, 32, x);
                        assert_hex(id.ed_pk, 32, e);
                        keys++;
                    }
                } else {
                    snprintf(name, sizeof name, "%s_spk_hex", who);
                    const char *e = json_string_value(json_object_get(inputs, name));
                    if (e) {
                        assert_hex(id.ed_pk, 32, e);
                        keys++;
                    }
                }
                /* Rotation records carry two signers; all others one. */
                sigs += check_record_sig(c, who, &id);
                dmp_crypto_identity_wipe(&id);
            }
        }
        json_decref(root);
    }
    assert_true(keys >= 20);
    assert_true(sigs >= 33);
    printf("checked %d derived public keys and %d record signatures\n", keys, sigs);
}

/* --- Ed25519 ---------------------------------------------------------------------------- */

static void test_sign_verify(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sk[64], sig[64], sig2[64], pk2[32], sk2[64];
    memset(seed, 7, sizeof seed);
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pk, sk), 0);
    const uint8_t msg[] = "dnsmesh";
    assert_int_equal(dmp_crypto_sign(sk, msg, 7, sig), 0);
    assert_int_equal(dmp_crypto_sign(sk, msg, 7, sig2), 0);
    assert_memory_equal(sig, sig2, 64); /* deterministic */
    assert_int_equal(dmp_crypto_verify(pk, msg, 7, sig), 0);
    uint8_t m2[7];
    memcpy(m2, msg, 7);
    m2[3] ^= 0x01;
    assert_int_equal(dmp_crypto_verify(pk, m2, 7, sig), DMP_ESIG);
    for (int bit = 0; bit < 512; bit += 37) {
        memcpy(sig2, sig, 64);
        sig2[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(dmp_crypto_verify(pk, msg, 7, sig2), DMP_ESIG);
    }
    seed[0] ^= 1;
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pk2, sk2), 0);
    assert_int_equal(dmp_crypto_verify(pk2, msg, 7, sig), DMP_ESIG);
    /* Empty message. */
    assert_int_equal(dmp_crypto_sign(sk, NULL, 0, sig), 0);
    assert_int_equal(dmp_crypto_verify(pk, NULL, 0, sig), 0);
    /* RFC 8032 7.1 test 1. */
    unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pk, sk), 0);
    assert_hex(pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert_int_equal(dmp_crypto_sign(sk, NULL, 0, sig), 0);
    assert_hex(sig, 64,
               "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
               "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

static void test_weak_keys(void **state)
{
    (void)state;
    static const char *const weak[14] = {
        "0100000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "0100000000000000000000000000000000000000000000000000000000000080",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    uint8_t pk[32], sig[64] = {0};
    size_t count = 0;
    const uint8_t(*list)[32] = dmp_crypto_weak_ed25519_keys(&count);
    assert_int_equal(count, 14);
    for (int i = 0; i < 14; i++) {
        unhex(weak[i], pk, 32);
        assert_memory_equal(list[i], pk, 32);
        assert_true(dmp_crypto_is_weak_ed25519_key(pk));
        assert_int_equal(dmp_crypto_verify(pk, (const uint8_t *)"m", 1, sig), DMP_EWEAKKEY);
    }
    /* The identity point with the all-zero signature would otherwise be a universal forgery
     * candidate; a normal key is not flagged. */
    unhex("26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e", pk, 32);
    assert_false(dmp_crypto_is_weak_ed25519_key(pk));
    assert_int_equal(dmp_crypto_verify(pk, (const uint8_t *)"m", 1, sig), DMP_ESIG);
}

/* --- HKDF, HMAC, X25519, AEAD ----------------------------------------------------------- */

static void test_hkdf_rfc5869(void **state)
{
    (void)state;
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    /* Test case 1. */
    assert_int_equal(dmp_crypto_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm, 42), 0);
    assert_hex(okm, 42,
               "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b88718"
               "5865");
    /* Test case 3: empty salt and info. */
    assert_int_equal(dmp_crypto_hkdf_sha256(NULL, 0, ikm, 22, NULL, 0, okm, 42), 0);
    assert_hex(okm, 42,
               "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a"
               "96c8");
    /* Test case 2 (long inputs, 82-byte output spanning 3 blocks). */
    uint8_t ikm2[80], salt2[80], info2[80], okm2[82];
    for (int i = 0; i < 80; i++) {
        ikm2[i] = (uint8_t)i;
        salt2[i] = (uint8_t)(0x60 + i);
        info2[i] = (uint8_t)(0xb0 + i);
    }
    assert_int_equal(dmp_crypto_hkdf_sha256(salt2, 80, ikm2, 80, info2, 80, okm2, 82), 0);
    assert_hex(okm2, 82,
               "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac78272"
               "71cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f"
               "1d87");
    assert_int_equal(dmp_crypto_hkdf_sha256(salt, 13, ikm, 22, info, 10, okm2, 255 * 32 + 1),
                     DMP_EINVAL);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t out[32];
    /* RFC 4231 test case 2. */
    dmp_crypto_hmac_sha256((const uint8_t *)"Jefe", 4,
                           (const uint8_t *)"what do ya want for nothing?", 28, out);
    assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_x25519(void **state)
{
    (void)state;
    uint8_t a[32], b[32], apk[32], bpk[32], s1[32], s2[32];
    /* RFC 7748 6.1. */
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    assert_int_equal(dmp_crypto_x25519_public(a, apk), 0);
    assert_hex(apk, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    assert_int_equal(dmp_crypto_x25519_public(b, bpk), 0);
    assert_int_equal(dmp_crypto_x25519_shared(a, bpk, s1), 0);
    assert_int_equal(dmp_crypto_x25519_shared(b, apk, s2), 0);
    assert_memory_equal(s1, s2, 32);
    assert_hex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    /* Low-order peer keys give the all-zero secret. */
    uint8_t zero[32] = {0}, one[32] = {1};
    assert_int_equal(dmp_crypto_x25519_shared(a, zero, s1), DMP_CRYPTO_EZEROSHARED);
    assert_int_equal(dmp_crypto_x25519_shared(a, one, s1), DMP_CRYPTO_EZEROSHARED);
    /* Random pairs agree. */
    assert_int_equal(dmp_crypto_x25519_keypair(a, apk), 0);
    assert_int_equal(dmp_crypto_x25519_keypair(b, bpk), 0);
    assert_int_equal(dmp_crypto_x25519_shared(a, bpk, s1), 0);
    assert_int_equal(dmp_crypto_x25519_shared(b, apk, s2), 0);
    assert_memory_equal(s1, s2, 32);
}

static void test_aead(void **state)
{
    (void)state;
    /* RFC 8439 2.8.2. */
    uint8_t key[32], nonce[12], aad[12], ct[114 + 16], pt[114];
    const char *text = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
                       "tip for the future, sunscreen would be it.";
    assert_int_equal(strlen(text), 114);
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x80 + i);
    unhex("070000004041424344454647", nonce, 12);
    unhex("50515253c0c1c2c3c4c5c6c7", aad, 12);
    assert_int_equal(dmp_crypto_aead_seal(key, nonce, aad, 12, (const uint8_t *)text, 114, ct), 0);
    assert_hex(ct + 114, 16, "1ae10b594f09e26a7e902ecbd0600691");
    assert_hex(ct, 8, "d31a8d34648e60db");
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), 0);
    assert_memory_equal(pt, text, 114);
    /* Tamper with ct, tag, ad, nonce, key: each DMP_ECRYPTO. */
    ct[5] ^= 1;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), DMP_ECRYPTO);
    ct[5] ^= 1;
    ct[120] ^= 0x80;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), DMP_ECRYPTO);
    ct[120] ^= 0x80;
    aad[0] ^= 1;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), DMP_ECRYPTO);
    aad[0] ^= 1;
    nonce[11] ^= 1;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), DMP_ECRYPTO);
    nonce[11] ^= 1;
    key[0] ^= 1;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, sizeof ct, pt), DMP_ECRYPTO);
    key[0] ^= 1;
    assert_int_equal(dmp_crypto_aead_open(key, nonce, aad, 12, ct, 15, pt), DMP_ETRUNC);
    /* Empty plaintext: tag only. */
    uint8_t tag[16];
    assert_int_equal(dmp_crypto_aead_seal(key, nonce, NULL, 0, NULL, 0, tag), 0);
    assert_int_equal(dmp_crypto_aead_open(key, nonce, NULL, 0, tag, 16, NULL), 0);
}

/* --- Appendix A: message encryption transcript ------------------------------------------ */

static void test_appendix_a_message(void **state)
{
    (void)state;
    uint8_t eph_sk[32], eph_pk[32], bob_pk[32], bob_sk[32], shared[32], key[32], nonce[12];
    sha256_str("vectors/ephemeral", eph_sk);
    assert_hex(eph_sk, 32, "4dd7813486844ac9daed36cf2b14003872c50fa51578108133f6428fce6eeeb9");
    assert_int_equal(dmp_crypto_x25519_public(eph_sk, eph_pk), 0);
    assert_hex(eph_pk, 32, "a1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e55af09d716e2e");
    unhex(BOB_PK, bob_pk, 32);
    unhex(BOB_SK, bob_sk, 32);
    assert_int_equal(dmp_crypto_x25519_shared(eph_sk, bob_pk, shared), 0);
    assert_hex(shared, 32, "3658cdd8a6550559ef63dad55c3d09bf7c2c645b7d735892c177e5ffc394344b");
    assert_int_equal(dmp_crypto_message_key(shared, key), 0);
    assert_hex(key, 32, "ee9ed65ed8ae5f3b6f73fb0f5bd60dea91156d8af9c10b55bfa5dfdfaa8773ed");

    dmp_msg_header_t h;
    appendix_a_header(&h);
    dmp_buf_t aad, enc, outer, pt, hj;
    dmp_buf_init(&aad);
    dmp_buf_init(&enc);
    dmp_buf_init(&outer);
    dmp_buf_init(&pt);
    dmp_buf_init(&hj);
    assert_int_equal(dmp_crypto_aad(&h, 0, &aad), 0);
    assert_int_equal(aad.len, strlen(AAD_JSON) + 4);
    assert_memory_equal(aad.data, AAD_JSON, strlen(AAD_JSON));
    assert_memory_equal(aad.data + strlen(AAD_JSON), "\0\0\0\0", 4);
    assert_int_equal(dmp_crypto_header_json(&h, &hj), 0);
    assert_int_equal(hj.len, 266);

    unhex("000102030405060708090a0b", nonce, 12);
    assert_int_equal(dmp_crypto_encrypt_with(bob_pk, eph_sk, nonce, aad.data, aad.len,
                                             (const uint8_t *)"hello bob", 9, &enc),
                     0);
    assert_int_equal(enc.len, 9 + DMP_CRYPTO_ENC_OVERHEAD);
    assert_hex(enc.data, enc.len, ENC_HEX);

    assert_int_equal(dmp_crypto_outer_build(&h, enc.data, enc.len, &outer), 0);
    assert_int_equal(outer.len, 369);
    assert_int_equal(outer.data[0], 0x01);
    assert_int_equal(outer.data[1], 0x0a);
    /* Appendix A's data shares 0..2 (128 B each) are u32 length (0x171 = 369) || outer || pad. */
    static const char *const shares[3] = {
        "00000171010a7b2276223a312c2274797065223a2244415441222c226d73675f6964223a223030313132"
        "323333343435353636373738383939616162626363646465656666222c2273656e646572223a22623363"
        "333463373166386634373234653433326236363264366363316364663463643738663332376137376563"
        "3965",
        "3131313533623931666265653031383632222c22726563697069656e74223a2261326133393966313861"
        "343864633964656164393237366466623162613639626438356663653361396231623031386634353536"
        "366164313739613233666534222c22746f74616c223a312c226368756e6b223a302c227473223a313839"
        "3334",
        "35363030302c2274746c223a3330307da1db04c1184353be439f6af75c77ab2e4e48b0d4a4d3b09639e5"
        "5af09d716e2e000102030405060708090a0bf240a018feb8a6d26e4b13ca24364f81b6c48cfc7d52c060"
        "040000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000",
    };
    uint8_t joined[384];
    for (int i = 0; i < 3; i++)
        unhex(shares[i], joined + 128 * i, 128);
    assert_int_equal(dmp_load_u32be(joined), 369);
    assert_memory_equal(joined + 4, outer.data, 369);

    /* Bob opens it: rebuilds the AAD from the parsed header. */
    dmp_msg_header_t got;
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, &got, &pt), 0);
    assert_int_equal(pt.len, 9);
    assert_memory_equal(pt.data, "hello bob", 9);
    assert_memory_equal(&got.msg_id, h.msg_id, 16);
    assert_int_equal(got.total, 1);
    assert_int_equal(got.ts, 1893456000);
    /* Wrong prekey id in the AAD, wrong key, or any flipped ciphertext byte: DMP_ECRYPTO. */
    pt.len = 0;
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 5, bob_sk, NULL, &pt),
                     DMP_ECRYPTO);
    uint8_t alice_sk[32];
    unhex(ALICE_SK, alice_sk, 32);
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, alice_sk, NULL, &pt),
                     DMP_ECRYPTO);
    for (size_t i = 268; i < 268 + enc.len; i += 7) {
        outer.data[i] ^= 0x40;
        assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, NULL, &pt),
                         DMP_ECRYPTO);
        outer.data[i] ^= 0x40;
    }
    /* The header is authenticated through the AAD: change ts digit -> fails. */
    outer.data[2 + 250] = (uint8_t)(outer.data[2 + 250] == '1' ? '2' : '1');
    assert_int_equal(dmp_crypto_open_message(outer.data, outer.len, 0, bob_sk, NULL, &pt),
                     DMP_ECRYPTO);
    assert_int_equal(pt.len, 0);
    /* Direct decrypt of the EncryptedMessage. */
    assert_int_equal(dmp_crypto_decrypt(bob_sk, aad.data, aad.len, enc.data, enc.len, &pt), 0);
    assert_memory_equal(pt.data, "hello bob", 9);
    dmp_buf_free(&aad);
    dmp_buf_free(&enc);
    dmp_buf_free(&outer);
    dmp_buf_free(&pt);
    dmp_buf_free(&hj);
}

static void test_enc_parse(void **state)
{
    (void)state;
    uint8_t buf[80] = {0}, sk[32] = {9};
    dmp_crypto_enc_t e;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_crypto_enc_parse(buf, 43, &e), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_enc_parse(buf, 44, &e), 0);
    assert_int_equal(e.ct_len, 0);
    assert_ptr_equal(e.nonce, buf + 32);
    /* 44..59 bytes parse but cannot hold a tag. */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 59, &out), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 10, &out), DMP_ETRUNC);
    /* All-zero ephemeral key: low order. */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 60, &out), DMP_CRYPTO_EZEROSHARED);
    buf[0] = 9; /* base point: valid key, garbage tag */
    assert_int_equal(dmp_crypto_decrypt(sk, NULL, 0, buf, 80, &out), DMP_ECRYPTO);
    assert_int_equal(out.len, 0);
    dmp_buf_free(&out);
}

/* --- DMPHeader / DMPMessage parse ------------------------------------------------------- */

static int parse_str(const char *s, dmp_msg_header_t *h)
{
    return dmp_crypto_header_parse((const uint8_t *)s, strlen(s), h);
}

static void test_header_parse(void **state)
{
    (void)state;
    dmp_msg_header_t h, want;
    appendix_a_header(&want);
    dmp_buf_t j;
    dmp_buf_init(&j);
    assert_int_equal(dmp_crypto_header_json(&want, &j), 0);
    assert_int_equal(dmp_crypto_header_parse(j.data, j.len, &h), 0);
    assert_memory_equal(&h, &want, sizeof h);
    dmp_buf_free(&j);

    /* Key order, whitespace, upper-case hex and bytes.fromhex spaces are all accepted; extra
     * keys ignored; duplicate keys: last wins. */
    const char *loose =
        " { \"ttl\" : 300, \"ts\":1893456000,\"chunk\":0,\"total\":1, \"extra\":[1,{}],"
        "\"recipient\":\"A2A399F18A48DC9DEAD9276DFB1BA69BD85FCE3A9B1B018F45566AD179A23FE4\","
        "\"sender\":\"b3 c3 4c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862 \","
        "\"msg_id\":\"00112233445566778899aabbccddeeff\",\"type\":\"ACK\",\"type\":\"DATA\","
        "\"v\":1}\n";
    assert_int_equal(parse_str(loose, &h), 0);
    assert_memory_equal(&h, &want, sizeof h);

    const char *mid = "\"msg_id\":\"00112233445566778899aabbccddeeff\",";
    const char *ids =
        "\"sender\":\"b3c34c71f8f4724e432b662d6cc1cdf4cd78f327a77ec9e11153b91fbee01862"
        "\",\"recipient\":\"a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad"
        "179a23fe4\",";
    char buf[1024];
#define HDR(v, type, m, tail)                                                                      \
    (snprintf(buf, sizeof buf, "{\"v\":%s,\"type\":%s,%s%s%s}", v, type, m, ids, tail), buf)
    const char *tail = "\"total\":1,\"chunk\":0,\"ts\":5,\"ttl\":300";
    assert_int_equal(parse_str(HDR("1", "\"MAILBOX\"", mid, tail), &h), 0);
    assert_int_equal(h.type, DMP_MSG_MAILBOX);
    assert_int_equal(h.ts, 5);
    assert_int_equal(parse_str(HDR("1", "\"data\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "1", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1.0", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("true", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("\"1\"", "\"DATA\"", mid, tail), &h), DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", mid, "\"total\":1,\"chunk\":0,\"ts\":5"), &h),
                     DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0011zz\",", tail), &h), DMP_EHEX);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"001\",", tail), &h), DMP_EHEX);
    assert_int_equal(parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0011\",", tail), &h),
                     DMP_EFORMAT);
    assert_int_equal(
        parse_str(HDR("1", "\"DATA\"", "\"msg_id\":\"0 0112233445566778899aabbccddeeff\",", tail),
                  &h),
        DMP_EHEX);
    assert_int_equal(parse_str(HDR("99999999999999999999", "\"DATA\"", mid, tail), &h),
                     DMP_EFORMAT);
    assert_int_equal(parse_str(HDR("-3", "\"DATA\"", mid, tail), &h), 0);
    assert_int_equal(h.v, -3);
#undef HDR
    assert_int_equal(parse_str("[]", &h), DMP_EFORMAT);
    assert_int_equal(parse_str("", &h), DMP_EFORMAT);
    assert_int_equal(parse_str("{\"v\":1", &h), DMP_EFORMAT);
    assert_int_equal(dmp_crypto_header_parse((const uint8_t *)"{\"v\":\"\xff\"}", 10, &h),
                     DMP_EFORMAT);
}

static void test_outer_parse(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    dmp_msg_outer_t o;
    assert_int_equal(dmp_crypto_outer_parse(buf, 33, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(NULL, 0, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(buf, 34, &o), 0);
    assert_int_equal(o.header_len, 0);
    assert_int_equal(o.payload_len, 0);
    assert_ptr_equal(o.signature, buf + 2);
    buf[1] = 10; /* header_len 10 needs >= 44 bytes */
    assert_int_equal(dmp_crypto_outer_parse(buf, 43, &o), DMP_ETRUNC);
    assert_int_equal(dmp_crypto_outer_parse(buf, 44, &o), 0);
    assert_int_equal(dmp_crypto_outer_parse(buf, 64, &o), 0);
    assert_int_equal(o.payload_len, 20);
    assert_ptr_equal(o.payload, buf + 12);
    buf[0] = 0xff;
    assert_int_equal(dmp_crypto_outer_parse(buf, 64, &o), DMP_ETRUNC);
    /* open_message propagates structure errors before doing any crypto. */
    dmp_buf_t pt;
    dmp_buf_init(&pt);
    uint8_t sk[32] = {1};
    assert_int_equal(dmp_crypto_open_message(buf, 20, 0, sk, NULL, &pt), DMP_ETRUNC);
    buf[0] = 0;
    buf[1] = 2;
    memcpy(buf + 2, "{}", 2);
    assert_int_equal(dmp_crypto_open_message(buf, 64, 0, sk, NULL, &pt), DMP_EFORMAT);
}

/* --- prekey forward-secrecy path -------------------------------------------------------- */

static void test_prekey_path(void **state)
{
    (void)state;
    dmp_crypto_prekey_t pk;
    dmp_crypto_identity_t bob;
    uint8_t bob_sk[32];
    unhex(BOB_SK, bob_sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(bob_sk, &bob), 0);
    assert_int_equal(dmp_crypto_prekey_generate(&pk), 0);
    assert_int_not_equal(pk.id, 0);
    uint8_t chk[32];
    assert_int_equal(dmp_crypto_x25519_public(pk.sk, chk), 0);
    assert_memory_equal(chk, pk.pk, 32);

    dmp_msg_header_t h, got;
    appendix_a_header(&h);
    dmp_buf_t msg, pt;
    dmp_buf_init(&msg);
    dmp_buf_init(&pt);
    const uint8_t body[] = "forward secret";
    assert_int_equal(dmp_crypto_seal_message(&h, pk.id, pk.pk, body, sizeof body, &msg), 0);
    assert_int_equal(msg.len, 360 + sizeof body);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id, pk.sk, &got, &pt), 0);
    assert_int_equal(pt.len, sizeof body);
    assert_memory_equal(pt.data, body, sizeof body);
    /* The long-term key cannot open it, nor the prekey sk under another id. */
    pt.len = 0;
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id, bob.x25519_sk, NULL, &pt),
                     DMP_ECRYPTO);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, 0, pk.sk, NULL, &pt), DMP_ECRYPTO);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, pk.id ^ 1, pk.sk, NULL, &pt),
                     DMP_ECRYPTO);
    /* Two seals of the same message differ (fresh ephemeral key and nonce). */
    dmp_buf_t msg2;
    dmp_buf_init(&msg2);
    assert_int_equal(dmp_crypto_seal_message(&h, pk.id, pk.pk, body, sizeof body, &msg2), 0);
    assert_int_equal(msg2.len, msg.len);
    assert_memory_not_equal(msg.data + 268, msg2.data + 268, 44);
    /* Non-FS path with the long-term key. */
    msg.len = 0;
    assert_int_equal(dmp_crypto_seal_message(&h, 0, bob.x25519_pk, NULL, 0, &msg), 0);
    assert_int_equal(dmp_crypto_open_message(msg.data, msg.len, 0, bob.x25519_sk, NULL, &pt), 0);
    assert_int_equal(pt.len, 0);
    dmp_crypto_prekey_wipe(&pk);
    assert_int_equal(pk.id, 0);
    dmp_crypto_identity_wipe(&bob);
    dmp_buf_free(&msg);
    dmp_buf_free(&msg2);
    dmp_buf_free(&pt);
}

/* --- registration + TSIG PoP ------------------------------------------------------------ */

static void test_registration(void **state)
{
    (void)state;
    uint8_t challenge[32], sk[32], sig[64];
    dmp_crypto_identity_t id;
    for (int i = 0; i < 32; i++)
        challenge[i] = (uint8_t)(0xa0 + i);
    unhex(ALICE_SK, sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    dmp_buf_t m;
    dmp_buf_init(&m);
    assert_int_equal(dmp_crypto_registration_message(challenge, "alice@mesh.example", 18,
                                                     "node1.mesh.example", 18, &m),
                     0);
    assert_int_equal(m.len, 32 + 18 + 18 + 1);
    assert_memory_equal(m.data, challenge, 32);
    assert_memory_equal(m.data + 32, "alice@mesh.examplenode1.mesh.example\x01", 37);
    assert_int_equal(dmp_crypto_registration_sign(id.ed_sk, challenge, "alice@mesh.example", 18,
                                                  "node1.mesh.example", 18, sig),
                     0);
    uint8_t direct[64];
    assert_int_equal(dmp_crypto_sign(id.ed_sk, m.data, m.len, direct), 0);
    assert_memory_equal(direct, sig, 64);
    assert_int_equal(dmp_crypto_registration_verify(id.ed_pk, challenge, "alice@mesh.example", 18,
                                                    "node1.mesh.example", 18, sig),
                     0);
    assert_int_equal(dmp_crypto_registration_verify(id.ed_pk, challenge, "alice@mesh.example", 18,
                                                    "node2.mesh.example", 18, sig),
                     DMP_ESIG);
    challenge[0] ^= 1;
    assert_int_equal(dmp_crypto_registration_verify(id.ed_pk, challenge, "alice@mesh.example", 18,
                                                    "node1.mesh.example", 18, sig),
                     DMP_ESIG);
    challenge[0] ^= 1;
    dmp_buf_free(&m);

    /* PoP: client computes with (own sk, server pub), server checks with (eph sk, claimed). */
    uint8_t srv_sk[32], srv_pk[32], pop[32], shared[32], want[32];
    assert_int_equal(dmp_crypto_x25519_keypair(srv_sk, srv_pk), 0);
    assert_int_equal(dmp_crypto_x25519_pop(id.x25519_sk, srv_pk, challenge, "alice@mesh.example",
                                           18, id.x25519_pk, pop),
                     0);
    /* Independent recomputation: HMAC(shared, challenge || subject || x25519_pub). */
    assert_int_equal(dmp_crypto_x25519_shared(srv_sk, id.x25519_pk, shared), 0);
    uint8_t msg[32 + 18 + 32];
    memcpy(msg, challenge, 32);
    memcpy(msg + 32, "alice@mesh.example", 18);
    memcpy(msg + 50, id.x25519_pk, 32);
    dmp_crypto_hmac_sha256(shared, 32, msg, sizeof msg, want);
    assert_memory_equal(pop, want, 32);
    assert_int_equal(dmp_crypto_x25519_pop_verify(srv_sk, id.x25519_pk, challenge,
                                                  "alice@mesh.example", 18, pop),
                     0);
    pop[31] ^= 1;
    assert_int_equal(dmp_crypto_x25519_pop_verify(srv_sk, id.x25519_pk, challenge,
                                                  "alice@mesh.example", 18, pop),
                     DMP_EAUTH);
    pop[31] ^= 1;
    assert_int_equal(
        dmp_crypto_x25519_pop_verify(srv_sk, id.x25519_pk, challenge, "bob@mesh.example", 16, pop),
        DMP_EAUTH);
    uint8_t zero[32] = {0};
    assert_int_equal(
        dmp_crypto_x25519_pop_verify(srv_sk, zero, challenge, "alice@mesh.example", 18, pop),
        DMP_EAUTH);
    dmp_crypto_identity_wipe(&id);
}

/* --- DMPv2 envelope --------------------------------------------------------------------- */

static void canon_ok(const char *in, const char *want)
{
    char out[DMP_CRYPTO_ADDR_MAX + 1];
    size_t n = 99;
    int rc = dmp_crypto_canonicalize_address(in, strlen(in), out, sizeof out, &n);
    if (rc != 0)
        fail_msg("canonicalize(\"%s\") = %d", in, rc);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void canon_bad(const char *in)
{
    char out[DMP_CRYPTO_ADDR_MAX + 1];
    int rc = dmp_crypto_canonicalize_address(in, strlen(in), out, sizeof out, NULL);
    if (rc != DMP_CRYPTO_EADDR)
        fail_msg("canonicalize(\"%s\") = %d, want reject (got \"%s\")", in, rc, out);
    assert_string_equal(out, "");
}

static void test_canonicalize(void **state)
{
    (void)state;
    char l64[65], l65[66], host253[254], lab63[64], lab64[65], buf[400];
    canon_ok("alice@example.com", "alice@example.com");
    canon_ok("  ALICE@Example.COM...\t\n", "alice@example.com");
    canon_ok("\x1f"
             "a@b\x0b",
             "a@b");
    canon_ok("a.b_c-d@x-y.z9", "a.b_c-d@x-y.z9");
    canon_ok("0@0", "0@0");
    canon_ok("a-@b", "a-@b");
    canon_ok("a_@b", "a_@b");
    canon_bad("not-an-address");
    canon_bad("a@b@c");
    canon_bad("@b");
    canon_bad("a@");
    canon_bad("a@...");
    canon_bad(".a@b");
    canon_bad("_a@b");
    canon_bad("a.@b");
    canon_bad("a..b@c");
    canon_bad("a b@c");
    canon_bad("a@b c");
    canon_bad("a@-b");
    canon_bad("a@b-");
    canon_bad("a@b..c");
    canon_bad("a@.b");
    canon_bad("a@b_c");
    canon_bad("a+b@c");
    canon_bad("alice\n@example.com"); /* Python `$` quirk: deliberately rejected */
    canon_bad("al\xc3\xa9@example.com");
    canon_bad("");
    canon_bad("   ");
    memset(l64, 'a', 64);
    l64[64] = 0;
    memset(l65, 'a', 65);
    l65[65] = 0;
    snprintf(buf, sizeof buf, "%s@x", l64);
    canon_ok(buf, buf);
    snprintf(buf, sizeof buf, "%s@x", l65);
    canon_bad(buf);
    memset(lab63, 'b', 63);
    lab63[63] = 0;
    memset(lab64, 'b', 64);
    lab64[64] = 0;
    snprintf(buf, sizeof buf, "a@%s", lab63);
    canon_ok(buf, buf);
    snprintf(buf, sizeof buf, "a@%s", lab64);
    canon_bad(buf);
    /* host of exactly 253 chars: 3 labels of 63, 3 dots, one label of 61. */
    char l61[62];
    memset(l61, 'c', 61);
    l61[61] = 0;
    snprintf(host253, sizeof host253, "%s.%s.%s.%s", lab63, lab63, lab63, l61);
    assert_int_equal(strlen(host253), 253);
    snprintf(buf, sizeof buf, "a@%s", host253);
    canon_ok(buf, buf);
    snprintf(buf, sizeof buf, "a@%sc", host253);
    canon_bad(buf);
    /* Too-small output buffer is reported, not overrun. */
    char tiny[4];
    assert_int_equal(dmp_crypto_canonicalize_address("ab@cd", 5, tiny, sizeof tiny, NULL),
                     DMP_ETOOBIG);
}

static void test_envelope_own(void **state)
{
    (void)state;
    dmp_buf_t out;
    dmp_buf_init(&out);
    const uint8_t *body;
    size_t blen;
    char from[DMP_CRYPTO_ADDR_MAX + 1];
    bool has;

    assert_int_equal(
        dmp_crypto_envelope_encode((const uint8_t *)"hi", 2, "Bob@Mesh.Example.", 17, &out), 0);
    const char *want = "DMPV2:{\"from\":\"bob@mesh.example\"}\nhi";
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    assert_int_equal(
        dmp_crypto_envelope_decode(out.data, out.len, &body, &blen, from, sizeof from, &has), 0);
    assert_true(has);
    assert_string_equal(from, "bob@mesh.example");
    assert_int_equal(blen, 2);
    assert_memory_equal(body, "hi", 2);

    /* A canonical address whose header would exceed 256 bytes falls back to v1. */
    char big[400], l64[65], l63[64];
    memset(l64, 'a', 64);
    l64[64] = 0;
    memset(l63, 'b', 63);
    l63[63] = 0;
    snprintf(big, sizeof big, "%s@%s.%s.%s", l64, l63, l63, l63);
    out.len = 0;
    assert_int_equal(dmp_crypto_envelope_encode((const uint8_t *)"x", 1, big, strlen(big), &out),
                     0);
    assert_int_equal(out.len, 1);
    /* Boundary: header of exactly 256 bytes is wrapped (11 + 245). */
    snprintf(big, sizeof big, "%s@%s.%s.%.52s", l64, l63, l63, l63);
    assert_int_equal(strlen(big), 245);
    out.len = 0;
    assert_int_equal(dmp_crypto_envelope_encode((const uint8_t *)"x", 1, big, strlen(big), &out),
                     0);
    assert_int_equal(out.len, 6 + 256 + 1 + 1);
    assert_int_equal(
        dmp_crypto_envelope_decode(out.data, out.len, &body, &blen, from, sizeof from, &has), 0);
    assert_true(has);
    assert_string_equal(from, big);
    assert_int_equal(blen, 1);

    struct {
        const char *pt;
        const char *body;
        const char *from;
    } cases[] = {
        {"hello", "hello", NULL},
        {"DMPV2", "DMPV2", NULL},
        {"DMPV2:", "DMPV2:", NULL},
        {"DMPV2:{}\nbody", "body", NULL},
        {"DMPV2:{}\n", "", NULL},
        {"DMPV2:[1]\nbody", "DMPV2:[1]\nbody", NULL},
        {"DMPV2:\"s\"\nbody", "DMPV2:\"s\"\nbody", NULL},
        {"DMPV2:{\"from\":5}\nb", "b", NULL},
        {"DMPV2:{\"from\":\"bad\"}\nb", "b", NULL},
        {"DMPV2:{\"from\":\"x@y\",\"from\":\"Z@W\"}\nb\nc", "b\nc", "z@w"},
        {"DMPV2: {\"from\" : \"A@B\"} \r\n\nb", "\nb", "a@b"},
        {"DMPV2:{\"from\":\"a\\u0040b\"}\nb", "b", "a@b"},
        {"DMPV2:{\"from\":\"a@b\\u0000\"}\nb", "b", NULL},
        {"DMPV2:{\"from\":\"a@b\",}\nb", "DMPV2:{\"from\":\"a@b\",}\nb", NULL},
        {"DMPV2:{\"from\":\"\xc3\xa9@b\"}\nb", "DMPV2:{\"from\":\"\xc3\xa9@b\"}\nb", NULL},
        {"dmpv2:{}\nb", "dmpv2:{}\nb", NULL},
        {"DMPV2:{\"n\":123456789012345678901234567890,\"from\":\"a@b\"}\nb", "b", "a@b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].pt);
        assert_int_equal(dmp_crypto_envelope_decode((const uint8_t *)cases[i].pt, n, &body, &blen,
                                                    from, sizeof from, &has),
                         0);
        if (blen != strlen(cases[i].body) || memcmp(body, cases[i].body, blen) != 0)
            fail_msg("case %zu: body mismatch", i);
        if (cases[i].from) {
            assert_true(has);
            assert_string_equal(from, cases[i].from);
        } else {
            assert_false(has);
            assert_string_equal(from, "");
        }
    }
    /* Newline search window: header of 256 bytes is found, 257 is not. */
    uint8_t p[6 + 258 + 2];
    memcpy(p, "DMPV2:", 6);
    memset(p + 6, ' ', 258);
    p[6] = '{';
    p[6 + 255] = '}';
    p[6 + 256] = '\n';
    p[6 + 257] = 'b';
    assert_int_equal(dmp_crypto_envelope_decode(p, 6 + 258, &body, &blen, from, sizeof from, &has),
                     0);
    assert_int_equal(blen, 1);
    p[6 + 256] = ' ';
    p[6 + 257] = '\n';
    assert_int_equal(dmp_crypto_envelope_decode(p, 6 + 258, &body, &blen, from, sizeof from, &has),
                     0);
    assert_int_equal(blen, 6 + 258);
    dmp_buf_free(&out);
}

static void test_envelope_vectors(void **state)
{
    (void)state;
    json_t *root = load_vectors("dmpv2_envelope.json");
    if (!root)
        skip();
    size_t i, n = 0;
    json_t *c;
    json_array_foreach(root, i, c)
    {
        json_t *in = json_object_get(c, "inputs");
        json_t *pth = json_object_get(c, "expected_plaintext_hex");
        json_t *pt_in = json_object_get(in, "plaintext_hex");
        dmp_buf_t pt, body_want;
        dmp_buf_init(&pt);
        dmp_buf_init(&body_want);
        if (pt_in) {
            assert_int_equal(
                dmp_hex_decode_buf(json_string_value(pt_in), json_string_length(pt_in), &pt), 0);
        } else {
            dmp_buf_t body, want;
            dmp_buf_init(&body);
            dmp_buf_init(&want);
            json_t *bh = json_object_get(in, "body_hex");
            json_t *addr = json_object_get(in, "sender_addr");
            assert_int_equal(
                dmp_hex_decode_buf(json_string_value(bh), json_string_length(bh), &body), 0);
            assert_int_equal(dmp_crypto_envelope_encode(
                                 body.data, body.len,
                                 json_is_string(addr) ? json_string_value(addr) : NULL,
                                 json_is_string(addr) ? json_string_length(addr) : 0, &pt),
                             0);
            assert_int_equal(
                dmp_hex_decode_buf(json_string_value(pth), json_string_length(pth), &want), 0);
            assert_int_equal(pt.len, want.len);
            if (want.len)
                assert_memory_equal(pt.data, want.data, want.len);
            dmp_buf_free(&body);
            dmp_buf_free(&want);
        }
        json_t *bw = json_object_get(c, "expected_decode_body_hex");
        assert_int_equal(
            dmp_hex_decode_buf(json_string_value(bw), json_string_length(bw), &body_want), 0);
        const uint8_t *body;
        size_t blen;
        char from[DMP_CRYPTO_ADDR_MAX + 1];
        bool has;
        assert_int_equal(
            dmp_crypto_envelope_decode(pt.data, pt.len, &body, &blen, from, sizeof from, &has), 0);
        assert_int_equal(blen, body_want.len);
        if (blen)
            assert_memory_equal(body, body_want.data, blen);
        json_t *fw = json_object_get(c, "expected_decode_from");
        if (json_is_string(fw)) {
            assert_true(has);
            assert_string_equal(from, json_string_value(fw));
        } else {
            assert_false(has);
        }
        dmp_buf_free(&pt);
        dmp_buf_free(&body_want);
        n++;
    }
    assert_int_equal(n, 8);
    json_decref(root);
}

static void test_misc(void **state)
{
    (void)state;
    assert_int_equal(dmp_crypto_init(), 0);
    assert_int_equal(dmp_crypto_init(), 0);
    assert_string_equal(dmp_msg_type_name(DMP_MSG_IDENTITY), "IDENTITY");
    assert_null(dmp_msg_type_name((dmp_msg_type_t)9));
    assert_string_equal(dmp_crypto_strerror(DMP_ECRYPTO), dmp_strerror(DMP_ECRYPTO));
    assert_string_not_equal(dmp_crypto_strerror(DMP_CRYPTO_EADDR), dmp_strerror(DMP_CRYPTO_EADDR));
    uint8_t d[32];
    dmp_crypto_sha256((const uint8_t *)"abc", 3, d);
    assert_hex(d, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_hashed_names(void **state)
{
    (void)state;
    uint8_t bob_pk[32], spk[32];
    char h[65], name[128];
    unhex(BOB_PK, bob_pk, 32);
    dmp_crypto_mailbox_hash(bob_pk, h);
    assert_string_equal(h, "7cce4761260b"); /* Appendix A: mb-7cce4761260b */
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"alice", 5, 16, h), 0);
    assert_string_equal(h, "2bd806c97f0e00af");
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"abc", 3, 64, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(dmp_crypto_sha256_hex((const uint8_t *)"abc", 3, 65, h), DMP_EINVAL);
    /* Appendix A chunk key: hex(SHA-256(msg_id || recipient_id || sender_spk))[:12]. */
    uint8_t ck[16 + 32 + 32];
    unhex("00112233445566778899aabbccddeeff", ck, 16);
    unhex("a2a399f18a48dc9dead9276dfb1ba69bd85fce3a9b1b018f45566ad179a23fe4", ck + 16, 32);
    unhex("26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e", ck + 48, 32);
    assert_int_equal(dmp_crypto_sha256_hex(ck, sizeof ck, 12, h), 0);
    assert_string_equal(h, "99dcc09a82e6");

    /* TSIG key name (node.md 5.4). */
    memcpy(spk, ck + 48, 32);
    assert_int_equal(dmp_crypto_tsig_key_name(" Alice", 6, spk, "Alice@Mesh.Example", 18,
                                              " Mesh.Example.. ", 16, name, sizeof name),
                     0);
    assert_string_equal(name, "alice-26b6ebb6-0fae28.mesh.example.");
    assert_int_equal(dmp_crypto_tsig_key_name("alice", 5, spk, NULL, 0, "z", 1, name, sizeof name),
                     0);
    assert_string_equal(name, "alice-26b6ebb6.z.");
    assert_int_equal(dmp_crypto_tsig_key_name("", 0, spk, "a@z", 3, "z", 1, name, sizeof name),
                     DMP_EINVAL);
    assert_int_equal(dmp_crypto_tsig_key_name("a", 1, spk, "a@z", 3, "...", 3, name, sizeof name),
                     DMP_EINVAL);
    char l47[48], l48[49];
    memset(l47, 'x', 47);
    l47[47] = 0;
    memset(l48, 'x', 48);
    l48[48] = 0;
    assert_int_equal(dmp_crypto_tsig_key_name(l47, 47, spk, "s@z", 3, "z", 1, name, sizeof name),
                     0);
    assert_int_equal(strlen(name), 63 + 3);
    assert_int_equal(dmp_crypto_tsig_key_name(l48, 48, spk, "s@z", 3, "z", 1, name, sizeof name),
                     DMP_ENAME);
    assert_int_equal(dmp_crypto_tsig_key_name("a", 1, spk, "s@z", 3, "zone", 4, name, 20),
                     DMP_ETOOBIG);
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_argon2_default_salt),
        cmocka_unit_test(test_argon2_appendix_a),
        cmocka_unit_test(test_identity_appendix_a),
        cmocka_unit_test(test_identity_and_signatures_vectors),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_weak_keys),
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_x25519),
        cmocka_unit_test(test_aead),
        cmocka_unit_test(test_appendix_a_message),
        cmocka_unit_test(test_enc_parse),
        cmocka_unit_test(test_header_parse),
        cmocka_unit_test(test_outer_parse),
        cmocka_unit_test(test_prekey_path),
        cmocka_unit_test(test_registration),
        cmocka_unit_test(test_hashed_names),
        cmocka_unit_test(test_canonicalize),
        cmocka_unit_test(test_envelope_own),
        cmocka_unit_test(test_envelope_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
