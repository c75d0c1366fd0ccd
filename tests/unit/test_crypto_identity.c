/* Unit tests for src/crypto identities: Argon2id derivation, Appendix A identities, the shared
 * identity and signature vectors, Ed25519 sign/verify, weak keys, and registration proofs. */
#include "crypto_harness.h"

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

/* --- misc ------------------------------------------------------------------------------- */

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
        cmocka_unit_test(test_registration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
