/* Unit tests for src/crypto's DMPv2 envelope: JSON canonicalization, our own envelopes, and the
 * shared envelope vectors (skipped when DMP_SHARED_DIR is absent). */
#include "crypto_harness.h"

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

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonicalize),
        cmocka_unit_test(test_envelope_own),
        cmocka_unit_test(test_envelope_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
