/* Shared helpers of the src/wire unit tests; see wire_harness.h. */
#include "wire_harness.h"

static const char *ALICE_SK = "1be520dc7f398c81caf5b84683fd1a2855649932c44f6d8c7195cc56ae86b105";

static const char *ALICE_SPK = "26b6ebb6cd94835f72d44b54ecb357f4d7fb32242ce4a1ef38fd494868090a0e";

void hexn(const char *h, uint8_t *out, size_t n)
{
    assert_int_equal(dmp_hex_decode(h, strlen(h), out, n), 0);
}

dmp_crypto_identity_t alice(void)
{
    uint8_t sk[32];
    dmp_crypto_identity_t id;
    hexn(ALICE_SK, sk, 32);
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    uint8_t spk[32];
    hexn(ALICE_SPK, spk, 32);
    assert_memory_equal(id.ed_pk, spk, 32);
    return id;
}

dmp_crypto_identity_t key_n(uint8_t n)
{
    uint8_t sk[32];
    memset(sk, n, sizeof sk);
    dmp_crypto_identity_t id;
    assert_int_equal(dmp_crypto_identity_from_x25519(sk, &id), 0);
    return id;
}

/* Signs an arbitrary body under a prefix (to reach body-level errors behind a valid sig). */
void craft(const char *prefix, const uint8_t *body, size_t bl, const uint8_t sk[64], dmp_buf_t *out)
{
    dmp_buf_init(out);
    assert_int_equal(dmp_wire__wrap(prefix, body, bl, sk, 0, out), 0);
}
