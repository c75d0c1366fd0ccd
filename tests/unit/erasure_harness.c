/* Shared helpers of the src/erasure unit tests; see erasure_harness.h. */
#include "erasure_harness.h"

/* ---------- helpers ---------- */

uint8_t *unhex(const char *hex, size_t *len_out)
{
    size_t hl = strlen(hex);
    assert_int_equal(hl % 2, 0);
    uint8_t *b = malloc(hl / 2 + 1);
    assert_non_null(b);
    assert_int_equal(dmp_hex_decode(hex, hl, b, hl / 2), 0);
    if (len_out)
        *len_out = hl / 2;
    return b;
}

void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex)
{
    char *h = malloc(2 * len + 1);
    assert_non_null(h);
    assert_int_equal(dmp_hex_encode(got, len, h, 2 * len + 1), 0);
    assert_string_equal(h, want_hex);
    free(h);
}

/* deterministic xorshift for test data */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

void rnd_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* ---------- pipeline.json ---------- */

json_t *load_vectors(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/vectors/pipeline.json", DMP_SHARED_DIR);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (root == NULL)
        fprintf(stderr, "skip: %s not readable (%s)\n", path, err.text);
    return root;
}

/* the same RS-dependent tests again on the portable RS path (GFNI machines take another one) */
int setup_generic(void **state)
{
    (void)state;
    dmp_erasure_rs_force_generic(1);
    return 0;
}

int teardown_generic(void **state)
{
    (void)state;
    dmp_erasure_rs_force_generic(0);
    return 0;
}
