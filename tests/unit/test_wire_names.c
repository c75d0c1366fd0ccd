/* Unit tests for src/wire's names and text: DNS-name rules, TXT split/join, addresses and
 * subjects, claim owner names, and the error strings. */
#include "wire_harness.h"

#define S2(x) (x), strlen(x)

/* ------------------------------------------------------------------ names, TXT, misc */

static void test_dns_names(void **state)
{
    (void)state;
    static const char *ok[] = {"mesh.example.com",  "a.b",   "x.y.z.w", "node-1.mesh.example.com",
                               "mesh.example.com.", "A.B.C", "a1.b2.c3"};
    static const char *bad[] = {"",
                                ".",
                                "mesh..",
                                ".mesh",
                                "x..",
                                "a..b",
                                "-bad.",
                                "bad-.",
                                "bad_name.com",
                                "caf\xc3\xa9.com",
                                "a/b",
                                "a b",
                                "mesh.example.com.."};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_int_equal(dmp_wire_dns_name_check(ok[i], strlen(ok[i]), NULL), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_dns_name_check(bad[i], strlen(bad[i]), NULL) != DMP_EWIRE_NAME)
            fail_msg("should be rejected: %s", bad[i]);
    char l63[80], l64[80];
    memset(l63, 'a', 63);
    l63[63] = 0;
    memset(l64, 'a', 64);
    l64[64] = 0;
    size_t sl = 0;
    assert_int_equal(dmp_wire_dns_name_check(l63, 63, &sl), 0);
    assert_int_equal(sl, 63);
    assert_int_equal(dmp_wire_dns_name_check(l64, 64, NULL), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_dns_name_check("a.b.", 4, &sl), 0);
    assert_int_equal(sl, 3);
    /* HTTP record-name rule */
    assert_int_equal(dmp_wire_http_name_check(S2("_dnsmesh-heartbeat.example.com")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("slot-1.mb-abc.example.com.")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("a")), 0);
    assert_int_equal(dmp_wire_http_name_check(S2("__x.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("_.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a-.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a..com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2("a\n.com")), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(S2(".")), DMP_EWIRE_NAME);
    char longname[300];
    memset(longname, 'a', 254);
    for (int i = 50; i < 254; i += 50)
        longname[i] = '.';
    longname[254] = 0;
    assert_int_equal(dmp_wire_http_name_check(longname, 254), DMP_EWIRE_NAME);
    assert_int_equal(dmp_wire_http_name_check(longname, 253), 0);
}

static void test_txt(void **state)
{
    (void)state;
    uint8_t val[600];
    for (size_t i = 0; i < sizeof val; i++)
        val[i] = (uint8_t)('A' + i % 26);
    const size_t lens[] = {0, 1, 255, 256, 510, 511, 600};
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        dmp_buf_t rd, back;
        dmp_buf_init(&rd);
        dmp_buf_init(&back);
        assert_int_equal(dmp_wire_txt_split(val, lens[t], &rd), 0);
        size_t pieces = lens[t] == 0 ? 1 : (lens[t] + 254) / 255;
        assert_int_equal(rd.len, lens[t] + pieces);
        assert_int_equal(dmp_wire_txt_join(rd.data, rd.len, &back), 0);
        assert_int_equal(back.len, lens[t]);
        if (lens[t])
            assert_memory_equal(back.data, val, lens[t]);
        dmp_buf_free(&rd);
        dmp_buf_free(&back);
    }
    dmp_buf_t out;
    dmp_buf_init(&out);
    static const uint8_t two[] = {2, 'a', 'b', 1, 'c', 0};
    assert_int_equal(dmp_wire_txt_join(two, sizeof two, &out), 0);
    assert_int_equal(out.len, 3);
    static const uint8_t trunc[] = {3, 'a', 'b'};
    assert_int_equal(dmp_wire_txt_join(trunc, sizeof trunc, &out), DMP_EWIRE_TRUNC);
    assert_int_equal(out.len, 3);
    assert_int_equal(dmp_wire_txt_join(two, 0, &out), DMP_EWIRE_SHORT);
    dmp_buf_free(&out);
}

static void test_address_subject(void **state)
{
    (void)state;
    char u[80], h[80];
    assert_int_equal(
        dmp_wire_parse_address(S2(" alice @ Example.com.. "), u, sizeof u, h, sizeof h), 0);
    assert_string_equal(u, "alice");
    assert_string_equal(h, "Example.com");
    assert_int_equal(dmp_wire_parse_address(S2("alice"), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    assert_int_equal(dmp_wire_parse_address(S2("@host"), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    assert_int_equal(dmp_wire_parse_address(S2("a@."), u, sizeof u, h, sizeof h),
                     DMP_EWIRE_SUBJECT);
    char n[80];
    size_t nl;
    assert_int_equal(dmp_wire_subject_normalize(1, S2(" Bob @ Example.COM. "), n, sizeof n, &nl),
                     0);
    assert_string_equal(n, "Bob@example.com");
    assert_int_equal(nl, 15);
    assert_int_equal(dmp_wire_subject_normalize(2, S2("Mesh.Example.COM."), n, sizeof n, &nl), 0);
    assert_string_equal(n, "mesh.example.com");
    assert_int_equal(dmp_wire_subject_normalize(2, S2("Mesh.Example.COM."), n, 4, &nl),
                     DMP_ETOOBIG);
}

static void test_claim_owner(void **state)
{
    (void)state;
    char h[13];
    assert_int_equal(dmp_wire_claim_owner_match(S2("Claim-7.MB-7CCE4761260B.Provider.Example."),
                                                S2("provider.example"), h),
                     0);
    assert_string_equal(h, "7cce4761260b");
    assert_int_equal(dmp_wire_claim_owner_match(S2("claim-123.mb-7cce4761260b.p.example"),
                                                S2(" p.example. "), NULL),
                     0);
    static const char *bad[] = {"claim-.mb-7cce4761260b.p.example",
                                "claim-1.mb-7cce4761260.p.example",
                                "claim-1.mb-7cce4761260bb.p.example",
                                "claim-1.mb-7cce4761260g.p.example",
                                "x.claim-1.mb-7cce4761260b.p.example",
                                "claim-1a.mb-7cce4761260b.p.example",
                                "claim-1.mx-7cce4761260b.p.example",
                                "claim-1.mb-7cce4761260b.q.example",
                                "claim-1.mb-7cce4761260bp.example",
                                "p.example",
                                ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_claim_owner_match(bad[i], strlen(bad[i]), S2("p.example"), h) !=
            DMP_EWIRE_NAME)
            fail_msg("should be refused: %s", bad[i]);
    assert_int_equal(dmp_wire_claim_owner_match(S2("claim-1.mb-7cce4761260b."), S2("."), h),
                     DMP_EWIRE_NAME);
}

static void test_strerror(void **state)
{
    (void)state;
    for (int e = DMP_EWIRE_CHUNKHASH; e <= DMP_EWIRE_PREFIX; e++) {
        const char *s = dmp_wire_strerror(e);
        assert_non_null(s);
        assert_string_not_equal(s, dmp_strerror(-999));
    }
    assert_string_equal(dmp_wire_strerror(DMP_ENOMEM), dmp_strerror(DMP_ENOMEM));
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns_names),       cmocka_unit_test(test_txt),
        cmocka_unit_test(test_address_subject), cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_claim_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
