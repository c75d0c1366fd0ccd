/* Unit tests for src/dns query parsing: the routing hash of a query's name, name conversion
 * between wire and text, and the parser cross-checked against ldns. */
#include "dns_harness.h"

/* ---------------------------------------------------------------------------------------- */
/* routing, names                                                                              */

static void test_route_hash(void **state)
{
    (void)state;
    const char *names[] = {"Slot-7.MB-ABCDEF.Dmp.Example.COM", "_DNSMESH-HEARTBEAT.x", "a", ""};
    const char *lower[] = {"slot-7.mb-abcdef.dmp.example.com", "_dnsmesh-heartbeat.x", "a", ""};
    for (size_t i = 0; i < 4; i++) {
        uint8_t q[300];
        size_t n = mkq(q, (qspec_t){.name = names[i], .qtype = 16, .edns = 1232});
        uint64_t h = 0;
        assert_int_equal(dmp_dns_query_route(q, n, &h), 0);
        assert_true(h == dmp_dns_name_hash(lower[i], strlen(lower[i])));
        /* and equal to the hash of what the lookup receives */
        dmp_dns_query_t pq;
        assert_int_equal(dmp_dns_query_parse(q, n, &pq), 0);
        assert_string_equal(pq.lname, lower[i]);
        assert_true(h == dmp_dns_name_hash(pq.lname, pq.lname_len));
    }
    assert_true(dmp_dns_name_hash("a", 1) != dmp_dns_name_hash("b", 1));
    uint8_t q[300];
    uint64_t h;
    size_t n = mkq(q, (qspec_t){.name = "a.b", .qtype = 16});
    assert_int_equal(dmp_dns_query_route(q, 11, &h), DMP_EFORMAT);
    q[2] |= 0x80;
    assert_int_equal(dmp_dns_query_route(q, n, &h), DMP_EFORMAT);
    q[2] &= 0x7F;
    memcpy(q + 12, (uint8_t[]){0xC0, 0x0C}, 2);
    assert_int_equal(dmp_dns_query_route(q, n, &h), DMP_EFORMAT);
    q[12] = 60; /* overrun */
    assert_int_equal(dmp_dns_query_route(q, n, &h), DMP_EFORMAT);
}

static void test_names(void **state)
{
    (void)state;
    uint8_t w[300];
    size_t wl, tl, used;
    char t[300];
    assert_int_equal(dmp_dns_name_from_text("Ab.c.", 5, w, sizeof(w), &wl), 0);
    assert_int_equal(wl, 6);
    assert_memory_equal(w,
                        "\x02"
                        "Ab\x01"
                        "c\x00",
                        6);
    assert_int_equal(dmp_dns_name_to_text(w, wl, true, t, sizeof(t), &tl, &used), 0);
    assert_string_equal(t, "ab.c");
    assert_int_equal(used, 6);
    assert_int_equal(dmp_dns_name_to_text(w, wl, false, t, sizeof(t), &tl, &used), 0);
    assert_string_equal(t, "Ab.c");
    assert_int_equal(dmp_dns_name_from_text("", 0, w, sizeof(w), &wl), 0);
    assert_int_equal(wl, 1);
    assert_int_equal(dmp_dns_name_from_text(".", 1, w, sizeof(w), &wl), 0);
    assert_int_equal(wl, 1);
    assert_int_equal(dmp_dns_name_from_text("a..b", 4, w, sizeof(w), &wl), DMP_ENAME);
    assert_int_equal(dmp_dns_name_from_text("a..", 3, w, sizeof(w), &wl), DMP_ENAME);
    assert_int_equal(dmp_dns_name_from_text(".a", 2, w, sizeof(w), &wl), DMP_ENAME);
    char l64[65];
    memset(l64, 'a', 64);
    assert_int_equal(dmp_dns_name_from_text(l64, 64, w, sizeof(w), &wl), DMP_ENAME);
    assert_int_equal(dmp_dns_name_from_text(l64, 63, w, sizeof(w), &wl), 0);
    assert_int_equal(dmp_dns_name_from_text("abc", 3, w, 4, &wl), DMP_ETOOBIG);
    assert_int_equal(dmp_dns_name_to_text((const uint8_t *)"\x03"
                                                           "ab",
                                          3, true, t, sizeof(t), &tl, &used),
                     DMP_ENAME);
    assert_int_equal(
        dmp_dns_name_to_text((const uint8_t *)"\xC0\x0C", 2, true, t, sizeof(t), &tl, &used),
        DMP_ENAME);
    assert_string_equal(dmp_dns_outcome_name(DMP_DNS_OUT_NXDOMAIN), "nxdomain");
    assert_string_equal(dmp_dns_outcome_name(DMP_DNS_OUT_XFR), "xfr");
    assert_string_equal(dmp_dns_outcome_name(99), "unknown");
    assert_string_equal(dmp_dns_qtype_name(16), "TXT");
    assert_string_equal(dmp_dns_qtype_name(12345), "other");
    assert_string_equal(dmp_dns_rcode_name(16), "BADVERS");
    assert_non_null(dmp_dns_strerror(DMP_DNS_ENOSPACE));
    assert_non_null(dmp_dns_strerror(DMP_EINVAL));
}

/* Cross-check the parser against ldns on queries ldns builds. */
static void test_parse_vs_ldns(void **state)
{
    (void)state;
    const char *names[] = {"a.b.c.", "Slot-1.MB-x.Example.", "_x-y.z.", "."};
    uint16_t types[] = {LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_A, LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_ANY};
    for (size_t i = 0; i < 4; i++) {
        for (int edns = 0; edns < 2; edns++) {
            ldns_rdf *dn = ldns_dname_new_frm_str(names[i]);
            assert_non_null(dn);
            ldns_pkt *p = ldns_pkt_query_new(dn, types[i], LDNS_RR_CLASS_IN, LDNS_RD);
            assert_non_null(p);
            if (edns) {
                ldns_pkt_set_edns_udp_size(p, 1400);
                ldns_pkt_set_edns_do(p, true);
            }
            uint8_t *wire = NULL;
            size_t wl = 0;
            assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
            dmp_dns_query_t pq;
            assert_int_equal(dmp_dns_query_parse(wire, wl, &pq), 0);
            assert_int_equal(pq.qtype, types[i]);
            assert_int_equal(pq.qclass, 1);
            assert_int_equal(pq.id, ldns_pkt_id(p));
            assert_int_equal(pq.has_opt, edns);
            if (edns) {
                assert_int_equal(pq.opt_payload, 1400);
                assert_true(pq.opt_do);
            }
            char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
            /* ldns prints with trailing dot; ours has none and is lowercased */
            size_t sl = strlen(s);
            if (sl > 1)
                s[sl - 1] = '\0';
            else
                s[0] = '\0';
            for (char *c = s; *c; c++)
                if (*c >= 'A' && *c <= 'Z')
                    *c = (char)(*c | 0x20);
            assert_string_equal(pq.lname, s);
            free(s);
            free(wire);
            ldns_pkt_free(p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_hash),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_parse_vs_ldns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
