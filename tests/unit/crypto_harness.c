/* Shared helpers of the src/crypto unit tests; see crypto_harness.h. */
#include "crypto_harness.h"

/* --- helpers ---------------------------------------------------------------------------- */

void unhex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    assert_int_equal(dmp_hex_decode(hex, 2 * n, out, n), 0);
}

void assert_hex(const uint8_t *got, size_t n, const char *want)
{
    char buf[4096];
    assert_true(2 * n + 1 <= sizeof buf);
    dmp_hex_encode(got, n, buf, sizeof buf);
    assert_string_equal(buf, want);
}

json_t *load_vectors(const char *name)
{
    char path[512];
    json_error_t err;
    snprintf(path, sizeof path, "%s/vectors/%s", DMP_SHARED_DIR, name);
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fprintf(stderr, "skipping: shared vectors not found at %s\n", path);
    return j;
}

void sha256_str(const char *s, uint8_t out[32])
{
    dmp_crypto_sha256((const uint8_t *)s, strlen(s), out);
}

/* Appendix A fixed inputs. */
const char *ALICE_SK = "1be520dc7f398c81caf5b84683fd1a2855649932c44f6d8c7195cc56ae86b105";

const char *BOB_SK = "21a0f476f5d82c9bd39c29cc0dbcb6f084c8a9ab086911bfe3fe5c707ca5a7c4";

const char *BOB_PK = "8c2e675a7028f6fe0a41a2b201a1d1fb001f7fc9341049d7ebf185c70454485f";
