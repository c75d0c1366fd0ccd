/* Unit tests for src/crypto primitives against their RFC known answers: HKDF (RFC 5869), HMAC
 * (RFC 4231), X25519 and the AEAD. */
#include "crypto_harness.h"

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

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_rfc5869),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_x25519),
        cmocka_unit_test(test_aead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
