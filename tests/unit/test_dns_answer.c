/* Unit tests for src/dns answers: TXT answers and splitting, case echo, truncation (UDP 512,
 * EDNS sizes, TCP limits, the TC stub), negative answers, apex records, REFUSED and no zone.
 * Every reply is parsed with ldns. */
#include "dns_harness.h"

/* ---------------------------------------------------------------------------------------- */
/* answers                                                                                     */

static void test_txt_answer(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "slot-1.mb-abc." APEX, "hello");
    reply_t r;
    runq(&r, &z,
         (qspec_t){.id = 0x1234, .flags = 0x0100, .name = "slot-1.mb-abc." APEX, .qtype = 16},
         DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(r.res.qtype, 16);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(r.pkt));
    assert_true(ldns_pkt_rd(r.pkt));
    assert_false(ldns_pkt_tc(r.pkt));
    assert_false(ldns_pkt_edns(r.pkt)); /* no OPT in the query -> none in the reply */
    assert_int_equal(ldns_pkt_ancount(r.pkt), 1);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
    assert_int_equal(ldns_rr_ttl(rr), 300);
    assert_int_equal(ldns_rr_rd_count(rr), 1);
    ldns_rdf *rd = ldns_rr_rdf(rr, 0);
    assert_int_equal(ldns_rdf_size(rd), 6);
    assert_memory_equal(ldns_rdf_data(rd) + 1, "hello", 5);
    assert_int_equal(f.calls, 1);
    assert_string_equal(f.last, "slot-1.mb-abc." APEX);
    reply_free(&r);

    /* RD clear in the query -> clear in the reply */
    runq(&r, &z, (qspec_t){.id = 7, .name = "slot-1.mb-abc." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_false(ldns_pkt_rd(r.pkt));
    reply_free(&r);
    fake_free(&f);
}

static void test_case_echo(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "_dnsmesh-heartbeat." APEX, "beat");
    const char *mixed = "_DNSMESH-HeartBeat.dMp.ExAmPlE.cOm";
    uint8_t q[300];
    size_t n = mkq(q, (qspec_t){.id = 9, .name = mixed, .qtype = 16});
    reply_t r;
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_string_equal(f.last, "_dnsmesh-heartbeat." APEX);
    /* question bytes echoed exactly */
    assert_memory_equal(r.out + 12, q + 12, n - 12);
    char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(r.pkt), 0)));
    assert_string_equal(qn, "_DNSMESH-HeartBeat.dMp.ExAmPlE.cOm.");
    free(qn);
    char *an = owner_str(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0));
    assert_string_equal(an, "_DNSMESH-HeartBeat.dMp.ExAmPlE.cOm.");
    free(an);
    reply_free(&r);

    /* apex match is case-insensitive too */
    runq(&r, &z, (qspec_t){.name = "DMP.Example.COM", .qtype = 1}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    an = owner_str(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0));
    assert_string_equal(an, "DMP.Example.COM.");
    free(an);
    reply_free(&r);
    fake_free(&f);
}

static void test_txt_split(void **state)
{
    (void)state;
    uint8_t big[600], v255[255], v256[256];
    memset(big, 'A', sizeof(big));
    memset(v255, 'b', sizeof(v255));
    memset(v256, 'c', sizeof(v256));
    dmp_dns_value_t vals[4] = {{big, 600}, {(const uint8_t *)"", 0}, {v255, 255}, {v256, 256}};
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add(&f, "big." APEX, 0, vals, 4);
    reply_t r;
    runq(&r, &z, (qspec_t){.name = "big." APEX, .qtype = 16, .edns = 4096}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 4);
    size_t expect_strings[4] = {3, 1, 1, 2};
    const uint8_t *expect_data[4] = {big, (const uint8_t *)"", v255, v256};
    size_t expect_len[4] = {600, 0, 255, 256};
    for (size_t i = 0; i < 4; i++) {
        ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), i);
        assert_int_equal(ldns_rr_rd_count(rr), expect_strings[i]);
        uint8_t cat[1024];
        size_t cl = 0;
        for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
            ldns_rdf *rd = ldns_rr_rdf(rr, k);
            size_t sl = ldns_rdf_data(rd)[0];
            assert_int_equal(ldns_rdf_size(rd), sl + 1);
            assert_true(sl <= 255);
            if (k + 1 < ldns_rr_rd_count(rr))
                assert_int_equal(sl, 255); /* raw 255-byte chunks, remainder last */
            memcpy(cat + cl, ldns_rdf_data(rd) + 1, sl);
            cl += sl;
        }
        assert_int_equal(cl, expect_len[i]);
        if (cl)
            assert_memory_equal(cat, expect_data[i], cl);
    }
    reply_free(&r);
    fake_free(&f);

    /* one RR's RDATA may not exceed 65535 bytes */
    static uint8_t huge[65535];
    dmp_buf_t b;
    dmp_buf_init(&b);
    dmp_dns_value_t hv = {huge, sizeof(huge)};
    assert_int_equal(dmp_dns_txt_rrs_build(&hv, 1, 60, &b), DMP_ETOOBIG);
    assert_int_equal(b.len, 0);
    hv.len = 65280; /* 256 strings: rdlen 65536 */
    assert_int_equal(dmp_dns_txt_rrs_build(&hv, 1, 60, &b), DMP_ETOOBIG);
    hv.len = 65279; /* 256 strings: rdlen exactly 65535 */
    assert_int_equal(dmp_dns_txt_rrs_build(&hv, 1, 60, &b), 0);
    assert_int_equal(b.len, 12 + 65535);
    assert_int_equal(b.data[0], 0xC0);
    assert_int_equal(b.data[1], 0x0C);
    dmp_buf_free(&b);
    assert_int_equal(dmp_dns_txt_rrs_build(NULL, 1, 60, &b), DMP_EINVAL);
}

/* ---------------------------------------------------------------------------------------- */
/* truncation                                                                                  */

/* Fake entry named `name` whose single value makes the full UDP reply exactly `total` bytes
 * (header 12 + question + RR 12 + 1 + len [+ OPT 11]). Values stay under 256 bytes... except
 * when they don't: compute string count properly. */
static void add_sized(fake_t *f, const char *name, size_t total, bool edns, uint8_t *buf)
{
    uint8_t tmp[300];
    size_t qlen = put_name(tmp, name) + 4;
    size_t fixed = 12 + qlen + 12 + (edns ? 11 : 0);
    size_t rd = total - fixed; /* rdata bytes = len + ceil(len/255) */
    size_t len = rd - (rd + 255) / 256;
    assert_int_equal(len + (len + 254) / 255, rd);
    memset(buf, 'x', len);
    dmp_dns_value_t v = {buf, len};
    fake_add(f, name, 0, &v, 1);
}

static void test_tc_512(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    static uint8_t b1[2048], b2[2048];
    fake_t f = {0};
    add_sized(&f, "fits." APEX, 512, false, b1);
    add_sized(&f, "over." APEX, 513, false, b2);
    reply_t r;
    runq(&r, &z, (qspec_t){.id = 1, .name = "fits." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.len, 512);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_false(ldns_pkt_tc(r.pkt));
    reply_free(&r);
    runq(&r, &z, (qspec_t){.id = 2, .name = "over." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_TRUNCATED);
    assert_true(ldns_pkt_tc(r.pkt));
    assert_true(ldns_pkt_aa(r.pkt));
    assert_int_equal(ldns_pkt_qdcount(r.pkt), 1);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
    assert_int_equal(ldns_pkt_arcount(r.pkt), 0);
    assert_false(ldns_pkt_edns(r.pkt));
    reply_free(&r);
    /* the same over TCP is answered in full */
    runq(&r, &z, (qspec_t){.id = 3, .name = "over." APEX, .qtype = 16}, DMP_DNS_TCP, &f);
    assert_int_equal(r.len, 513);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    reply_free(&r);
    /* EDNS with a payload under 512 still gets 512 */
    fake_t g = {0};
    add_sized(&g, "fits." APEX, 512, true, b1);
    runq(&r, &z, (qspec_t){.name = "fits." APEX, .qtype = 16, .edns = 100}, DMP_DNS_UDP, &g);
    assert_int_equal(r.len, 512);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    reply_free(&r);
    fake_free(&f);
    fake_free(&g);
}

static void test_tc_edns(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    static uint8_t b1[4096], b2[4096], b3[4096];
    fake_t f = {0};
    add_sized(&f, "fits." APEX, 1232, true, b1);
    add_sized(&f, "over." APEX, 1233, true, b2);
    add_sized(&f, "large." APEX, 3000, true, b3);
    reply_t r;
    runq(&r, &z, (qspec_t){.name = "fits." APEX, .qtype = 16, .edns = 1232}, DMP_DNS_UDP, &f);
    assert_int_equal(r.len, 1232);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_true(ldns_pkt_edns(r.pkt));
    assert_int_equal(ldns_pkt_edns_udp_size(r.pkt), 1232);
    assert_int_equal(ldns_pkt_edns_version(r.pkt), 0);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "over." APEX, .qtype = 16, .edns = 1232}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_TRUNCATED);
    assert_true(ldns_pkt_tc(r.pkt));
    assert_true(ldns_pkt_edns(r.pkt)); /* OPT kept in the TC reply */
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    reply_free(&r);
    /* requester offers 4096 but we advertise 1232: capped */
    runq(&r, &z, (qspec_t){.name = "over." APEX, .qtype = 16, .edns = 4096}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_TRUNCATED);
    reply_free(&r);
    /* requester offers 1000 (< our 1232): its limit wins */
    runq(&r, &z, (qspec_t){.name = "fits." APEX, .qtype = 16, .edns = 1000}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_TRUNCATED);
    reply_free(&r);
    /* operator raises the payload to 4096: the reference's behaviour */
    z.edns_payload = 4096;
    runq(&r, &z, (qspec_t){.name = "large." APEX, .qtype = 16, .edns = 4096}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(r.len, 3000);
    assert_int_equal(ldns_pkt_edns_udp_size(r.pkt), 4096);
    reply_free(&r);
    /* edns_payload 0 means the default */
    z.edns_payload = 0;
    runq(&r, &z, (qspec_t){.name = "fits." APEX, .qtype = 16, .edns = 4096}, DMP_DNS_UDP, &f);
    assert_int_equal(ldns_pkt_edns_udp_size(r.pkt), 1232);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    reply_free(&r);
    fake_free(&f);
}

static void test_tcp_limits(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    /* ~66 KB of RRs: over TCP -> SERVFAIL; over UDP -> TC */
    static uint8_t v[60000];
    memset(v, 'z', sizeof(v));
    dmp_dns_value_t vals[2] = {{v, 60000}, {v, 6000}};
    fake_t f = {0};
    fake_add(&f, "huge." APEX, 0, vals, 2);
    dmp_dns_value_t one = {v, 60000};
    fake_add(&f, "big." APEX, 0, &one, 1);
    reply_t r;
    runq(&r, &z, (qspec_t){.name = "huge." APEX, .qtype = 16}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_SERVFAIL);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "huge." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_TRUNCATED);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "big." APEX, .qtype = 16}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_true(r.len > 60000);
    reply_free(&r);
    /* a TCP output buffer smaller than the answer -> SERVFAIL, within cap */
    uint8_t q[300];
    size_t n = mkq(q, (qspec_t){.name = "big." APEX, .qtype = 16});
    run(&r, &z, q, n, DMP_DNS_TCP, &f, 4096);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_SERVFAIL);
    reply_free(&r);
    /* a buffer too small for any reply -> nothing sent, nothing written past cap */
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 11);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_DROPPED);
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 0);
    assert_int_equal(r.len, 0);
    fake_free(&f);
}

/* ---------------------------------------------------------------------------------------- */
/* zone, negative answers                                                                      */

static void test_negative(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "id-abc." APEX, "v");
    fake_add(&f, "mb-abc." APEX, 0, NULL, 0); /* exists (has descendants), no TXT */
    reply_t r;

    /* missing name, TXT -> NXDOMAIN + SOA (owner = apex, as the query spelled it) */
    runq(&r, &z, (qspec_t){.name = "nope.DMP.example.com", .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
    assert_true(ldns_pkt_aa(r.pkt));
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    check_soa(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0), "DMP.example.com.");
    reply_free(&r);
    /* missing name, AAAA -> NXDOMAIN too (the reference says NODATA) */
    runq(&r, &z, (qspec_t){.name = "nope." APEX, .qtype = 28}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    reply_free(&r);
    /* name with values, A -> NODATA + SOA */
    runq(&r, &z, (qspec_t){.name = "id-abc." APEX, .qtype = 1}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    check_soa(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0), APEX ".");
    reply_free(&r);
    /* empty non-terminal (RFC 8020): NODATA for TXT */
    runq(&r, &z, (qspec_t){.name = "mb-abc." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    reply_free(&r);
    /* apex TXT without values -> NODATA; apex MX -> NODATA without a lookup */
    f.calls = 0;
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    assert_int_equal(f.calls, 1);
    check_soa(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0), APEX ".");
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 15, .edns = 1232}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    assert_int_equal(f.calls, 1);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    assert_true(ldns_pkt_edns(r.pkt));
    reply_free(&r);
    /* no SOA configured: negative answers have an empty authority section */
    z.soa_rname[0] = '\0';
    runq(&r, &z, (qspec_t){.name = "nope." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
    reply_free(&r);
    /* ... and an SOA query at the apex is NODATA */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 6}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    reply_free(&r);
    /* a non-LDH name cannot exist: NXDOMAIN without a lookup */
    z = test_zone();
    f.calls = 0;
    runq(&r, &z, (qspec_t){.name = "we*rd." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(f.calls, 0);
    reply_free(&r);
    /* a view claiming RRs it does not hold -> SERVFAIL, never a malformed reply */
    fake_add(&f, "liar." APEX, 0, NULL, 0);
    f.e[f.n - 1].count = 3;
    runq(&r, &z, (qspec_t){.name = "liar." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_SERVFAIL);
    reply_free(&r);
    /* lookup error -> SERVFAIL, AA=0 */
    fake_add(&f, "broken." APEX, DMP_EIO, NULL, 0);
    runq(&r, &z, (qspec_t){.name = "broken." APEX, .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_SERVFAIL);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_SERVFAIL);
    assert_false(ldns_pkt_aa(r.pkt));
    reply_free(&r);
    fake_free(&f);
}

static void test_apex_records(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    reply_t r;
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 1}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    char *s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    assert_string_equal(s, "192.0.2.1");
    free(s);
    assert_int_equal(ldns_rr_ttl(rr), 60);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 28}, DMP_DNS_UDP, &f);
    rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    assert_string_equal(s, "2001:db8::1");
    free(s);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 2}, DMP_DNS_UDP, &f);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 1);
    rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    assert_string_equal(s, "ns1.example.com.");
    free(s);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 6}, DMP_DNS_UDP, &f);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 1);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
    check_soa(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), APEX ".");
    reply_free(&r);
    /* ANY at the apex: the SOA (RFC 8482 subset) */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 255}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    check_soa(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), APEX ".");
    reply_free(&r);
    /* A below the apex is not the apex A */
    fake_add_str(&f, "x." APEX, "v");
    runq(&r, &z, (qspec_t){.name = "x." APEX, .qtype = 1}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    reply_free(&r);
    /* ANY below the apex: the TXT RRset */
    runq(&r, &z, (qspec_t){.name = "x." APEX, .qtype = 255}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0)),
                     LDNS_RR_TYPE_TXT);
    reply_free(&r);
    /* unconfigured A/AAAA/NS -> NODATA */
    z.has_a = z.has_aaaa = false;
    z.ns[0] = '\0';
    for (uint16_t t = 1; t <= 28; t += 27) {
        runq(&r, &z, (qspec_t){.name = APEX, .qtype = t}, DMP_DNS_UDP, &f);
        assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
        assert_int_equal(ldns_pkt_nscount(r.pkt), 0); /* no NS -> no SOA */
        reply_free(&r);
    }
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 2}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    reply_free(&r);
    fake_free(&f);
}

static void test_refused_and_no_zone(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "id-1.other.org", "v");
    reply_t r;
    const char *outside[] = {"id-1.other.org", "example.com", "xdmp.example.com", "com", ""};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        runq(&r, &z, (qspec_t){.name = outside[i], .qtype = 16, .edns = 1232}, DMP_DNS_UDP, &f);
        assert_int_equal(r.res.outcome, DMP_DNS_OUT_REFUSED);
        assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_REFUSED);
        assert_false(ldns_pkt_aa(r.pkt));
        assert_int_equal(ldns_pkt_qdcount(r.pkt), 1);
        assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
        assert_true(ldns_pkt_edns(r.pkt));
        reply_free(&r);
    }
    assert_int_equal(f.calls, 0);
    /* a label holding a '.' byte cannot fake the zone suffix: "a.dmp" + "example" + "com" */
    uint8_t q[64] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t n = 12;
    q[n++] = 5;
    memcpy(q + n, "a.dmp", 5);
    n += 5;
    n += put_name(q + n, "example.com");
    memcpy(q + n, (uint8_t[]){0, 16, 0, 1}, 4);
    n += 4;
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_REFUSED);
    reply_free(&r);
    /* ... but one dotted label inside the zone is in zone (and can't exist) */
    n = 12;
    q[n++] = 3;
    memcpy(q + n, "a.b", 3);
    n += 3;
    n += put_name(q + n, APEX);
    memcpy(q + n, (uint8_t[]){0, 16, 0, 1}, 4);
    n += 4;
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(f.calls, 0);
    reply_free(&r);
    /* class CH -> REFUSED; class ANY answered */
    fake_add_str(&f, "c." APEX, "v");
    runq(&r, &z, (qspec_t){.name = "c." APEX, .qtype = 16, .qclass = 3}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_REFUSED);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "c." APEX, .qtype = 16, .qclass = 255}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    reply_free(&r);

    /* no served zone: any name is answered, negative answers have no SOA */
    memset(&z, 0, sizeof(z));
    z.ttl = 60;
    runq(&r, &z, (qspec_t){.name = "id-1.other.org", .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "nope.other.org", .qtype = 16}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 0);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "id-1.other.org", .qtype = 1}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "", .qtype = 2}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    reply_free(&r);
    fake_free(&f);
}

static void test_tc_stub(void **state)
{
    (void)state;
    uint8_t q[300], out[600];
    size_t n = mkq(
        q, (qspec_t){.id = 0x7777, .flags = 0x0100, .name = "X." APEX, .qtype = 16, .edns = 4096});
    size_t ol = 0;
    assert_int_equal(dmp_dns_tc_stub(q, n, out, sizeof(out), &ol), 0);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, ol), LDNS_STATUS_OK);
    assert_true(ldns_pkt_tc(p));
    assert_true(ldns_pkt_qr(p));
    assert_true(ldns_pkt_rd(p));
    assert_int_equal(ldns_pkt_id(p), 0x7777);
    assert_int_equal(ldns_pkt_qdcount(p), 1);
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_memory_equal(out + 12, q + 12, n - 12 - 11);
    ldns_pkt_free(p);
    q[2] |= 0x80;
    assert_int_equal(dmp_dns_tc_stub(q, n, out, sizeof(out), &ol), 0);
    assert_int_equal(ol, 0);
    assert_int_equal(dmp_dns_tc_stub(q, 5, out, sizeof(out), &ol), 0);
    assert_int_equal(ol, 0);
    q[2] &= 0x7F;
    assert_int_equal(dmp_dns_tc_stub(q, n, out, 20, &ol), 0); /* too small: nothing */
    assert_int_equal(ol, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txt_answer),
        cmocka_unit_test(test_case_echo),
        cmocka_unit_test(test_txt_split),
        cmocka_unit_test(test_tc_512),
        cmocka_unit_test(test_tc_edns),
        cmocka_unit_test(test_tcp_limits),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_apex_records),
        cmocka_unit_test(test_refused_and_no_zone),
        cmocka_unit_test(test_tc_stub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
