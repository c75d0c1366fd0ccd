/* Unit tests: zone transfer messages (src/dns/xfr.c) — AXFR/IXFR query parsing (checked against
 * queries built by ldns), message building and splitting, SOA RDATA, NOTIFY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/dns.h"

static size_t ldns_query(const char *zone, ldns_rr_type t, uint32_t ixfr_serial, uint8_t *out,
                         size_t cap)
{
    ldns_pkt *p = NULL;
    ldns_rdf *dn = ldns_dname_new_frm_str(zone);
    p = ldns_pkt_query_new(dn, t, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(p, 0x4242);
    if (t == LDNS_RR_TYPE_IXFR) {
        char soa[300];
        snprintf(soa, sizeof(soa), "%s 0 IN SOA ns1.%s h.%s %u 1 1 1 1", zone, zone, zone,
                 ixfr_serial);
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, soa, 0, NULL, NULL), LDNS_STATUS_OK);
        ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
    }
    uint8_t *wire = NULL;
    size_t wl = 0;
    assert_int_equal(ldns_pkt2wire(&wire, p, &wl), LDNS_STATUS_OK);
    assert_true(wl <= cap);
    memcpy(out, wire, wl);
    LDNS_FREE(wire);
    ldns_pkt_free(p);
    return wl;
}

static void test_query_parse(void **state)
{
    (void)state;
    uint8_t q[512];
    dmp_dns_xfr_query_t x;
    size_t l = ldns_query("Mesh.Test.", LDNS_RR_TYPE_AXFR, 0, q, sizeof(q));
    assert_int_equal(dmp_dns_xfr_query_parse(q, l, &x), 0);
    assert_int_equal(x.qtype, 252);
    assert_int_equal(x.id, 0x4242);
    assert_string_equal(x.zone, "mesh.test");
    assert_false(x.has_client_serial);
    l = ldns_query("mesh.test.", LDNS_RR_TYPE_IXFR, 123456789u, q, sizeof(q));
    assert_int_equal(dmp_dns_xfr_query_parse(q, l, &x), 0);
    assert_int_equal(x.qtype, 251);
    assert_true(x.has_client_serial);
    assert_int_equal(x.client_serial, 123456789u);
    /* other types, responses, truncation */
    l = ldns_query("mesh.test.", LDNS_RR_TYPE_SOA, 0, q, sizeof(q));
    assert_int_equal(dmp_dns_xfr_query_parse(q, l, &x), DMP_ENOTFOUND);
    l = ldns_query("mesh.test.", LDNS_RR_TYPE_AXFR, 0, q, sizeof(q));
    q[2] |= 0x80;
    assert_int_equal(dmp_dns_xfr_query_parse(q, l, &x), DMP_EFORMAT);
    l = ldns_query("mesh.test.", LDNS_RR_TYPE_IXFR, 5, q, sizeof(q));
    assert_int_not_equal(dmp_dns_xfr_query_parse(q, l - 3, &x), 0);
    assert_int_not_equal(dmp_dns_xfr_query_parse(q, 5, &x), 0);
}

static void test_messages_parse_with_ldns(void **state)
{
    (void)state;
    uint8_t q[512];
    size_t ql = ldns_query("mesh.test.", LDNS_RR_TYPE_AXFR, 0, q, sizeof(q));
    dmp_dns_xfr_query_t x;
    assert_int_equal(dmp_dns_xfr_query_parse(q, ql, &x), 0);
    static dmp_dns_xfr_msg_t m;
    assert_int_equal(dmp_dns_xfr_msg_begin(&m, q, x.question_end, x.id, 0), 0);
    uint8_t owner[255], rd[600];
    size_t ol, rl;
    assert_int_equal(dmp_dns_name_from_text("mesh.test", 9, owner, sizeof(owner), &ol), 0);
    assert_int_equal(dmp_dns_soa_rdata("ns1.mesh.test", "hostmaster.mesh.test", 77, 3600, 600,
                                       604800, 60, rd, sizeof(rd), &rl),
                     0);
    assert_int_equal(dmp_dns_xfr_msg_rr(&m, owner, ol, 6, 60, rd, rl), 0);
    /* fill until the message is full: the writer says so instead of overflowing */
    uint8_t txt[256];
    memset(txt, 'a', sizeof(txt));
    txt[0] = 255;
    int n = 1, rc = 0;
    while ((rc = dmp_dns_xfr_msg_rr(&m, owner, ol, 16, 60, txt, 256)) == 0)
        n++;
    assert_int_equal(rc, DMP_ETOOBIG);
    assert_true(m.len <= sizeof(m.buf));
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, m.buf, m.len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_ancount(p), n);
    assert_true(ldns_pkt_aa(p));
    assert_true(ldns_pkt_qr(p));
    ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 77);
    ldns_pkt_free(p);
    /* REFUSED: header + question only */
    assert_int_equal(dmp_dns_xfr_msg_begin(&m, q, x.question_end, x.id, 5), 0);
    assert_int_equal(ldns_wire2pkt(&p, m.buf, m.len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    assert_int_equal(ldns_pkt_qdcount(p), 1);
    ldns_pkt_free(p);
    /* NOTIFY */
    uint8_t nb[300];
    size_t nl;
    assert_int_equal(dmp_dns_notify_build(0x1111, "mesh.test", nb, sizeof(nb), &nl), 0);
    assert_int_equal(ldns_wire2pkt(&p, nb, nl), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
    assert_true(ldns_pkt_aa(p));
    assert_false(ldns_pkt_qr(p));
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)), LDNS_RR_TYPE_SOA);
    ldns_pkt_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_parse),
        cmocka_unit_test(test_messages_parse_with_ldns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
