/* Unit tests for src/dns error answers: EDNS version and OPT errors, opcodes, transfers asked of
 * the responder, dropped packets and malformed questions (FORMERR). Every reply is parsed with
 * ldns. */
#include "dns_harness.h"

/* ---------------------------------------------------------------------------------------- */
/* EDNS                                                                                        */

static void test_badvers(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "a." APEX, "v");
    reply_t r;
    runq(&r, &z, (qspec_t){.id = 77, .name = "a." APEX, .qtype = 16, .edns = 1232, .version = 1},
         DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_BADVERS);
    assert_int_equal(r.res.rcode, 16);
    assert_int_equal(f.calls, 0);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), 0); /* low 4 bits of 16 */
    assert_true(ldns_pkt_edns(r.pkt));
    assert_int_equal(ldns_pkt_edns_extended_rcode(r.pkt), 1); /* 16 >> 4 */
    assert_int_equal(ldns_pkt_edns_version(r.pkt), 0);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    assert_false(ldns_pkt_aa(r.pkt));
    reply_free(&r);
    fake_free(&f);
}

/* Raw query with arbitrary RRs appended after the question. */
static size_t mkq_raw(uint8_t *b, const char *name, uint16_t qt, uint16_t an, uint16_t ns,
                      uint16_t ar, const uint8_t *tail, size_t tlen)
{
    size_t n = mkq(b, (qspec_t){.id = 0x4242, .name = name, .qtype = qt});
    b[6] = (uint8_t)(an >> 8), b[7] = (uint8_t)an;
    b[8] = (uint8_t)(ns >> 8), b[9] = (uint8_t)ns;
    b[10] = (uint8_t)(ar >> 8), b[11] = (uint8_t)ar;
    if (tlen)
        memcpy(b + n, tail, tlen);
    return n + tlen;
}

static void expect_formerr(const uint8_t *q, size_t n, dmp_dns_transport_t t)
{
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    reply_t r;
    run(&r, &z, q, n, t, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_FORMERR);
    assert_int_equal(r.res.rcode, 1);
    assert_int_equal(f.calls, 0);
    assert_non_null(r.pkt);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_FORMERR);
    assert_false(ldns_pkt_aa(r.pkt));
    reply_free(&r);
}

static void test_opt_errors(void **state)
{
    (void)state;
    static const uint8_t opt[11] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    uint8_t two[22];
    memcpy(two, opt, 11);
    memcpy(two + 11, opt, 11);
    uint8_t q[400];
    size_t n;
    /* two OPTs */
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 2, two, 22);
    expect_formerr(q, n, DMP_DNS_UDP);
    /* OPT in the answer / authority section */
    n = mkq_raw(q, "a." APEX, 16, 1, 0, 0, opt, 11);
    expect_formerr(q, n, DMP_DNS_UDP);
    n = mkq_raw(q, "a." APEX, 16, 0, 1, 0, opt, 11);
    expect_formerr(q, n, DMP_DNS_TCP);
    /* OPT not owned by the root */
    uint8_t bad_owner[13] = {1, 'x', 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 1, bad_owner, 13);
    expect_formerr(q, n, DMP_DNS_UDP);
    /* OPT option overrunning its RDATA */
    uint8_t bad_opt[17] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 6, 0, 10, 0, 8, 1, 2};
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 1, bad_opt, 17);
    expect_formerr(q, n, DMP_DNS_UDP);
    /* OPT RDATA longer than the packet */
    uint8_t short_opt[11] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 4};
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 1, short_opt, 11);
    expect_formerr(q, n, DMP_DNS_UDP);
    /* additional count promising an RR that is not there */
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 1, NULL, 0);
    expect_formerr(q, n, DMP_DNS_UDP);

    /* a well-formed OPT with a cookie option, after a TSIG-like RR with a compressed owner:
     * accepted; the reply carries our OPT without options */
    uint8_t rr[15] = {0xC0, 0x0C, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 2, 'h', 'i'};
    uint8_t cookie_full[23] = {0,  0, 41, 2, 0, 0, 0, 0x80, 0, 0, 12, 0,
                               10, 0, 8,  1, 2, 3, 4, 5,    6, 7, 8};
    uint8_t tail[15 + 23];
    memcpy(tail, rr, 15);
    memcpy(tail + 15, cookie_full, 23);
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 2, tail, sizeof(tail));
    dmp_dns_query_t pq;
    assert_int_equal(dmp_dns_query_parse(q, n, &pq), 0);
    assert_true(pq.has_opt);
    assert_true(pq.opt_do);
    assert_int_equal(pq.opt_payload, 512);
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    fake_add_str(&f, "a." APEX, "v");
    reply_t r;
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_true(ldns_pkt_edns(r.pkt));
    assert_false(ldns_pkt_edns_do(r.pkt));
    assert_null(ldns_pkt_edns_data(r.pkt));
    reply_free(&r);
    fake_free(&f);
}

/* ---------------------------------------------------------------------------------------- */
/* opcodes, transfers, drops                                                                   */

static void test_opcodes(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    reply_t r;
    struct {
        uint16_t opcode;
        int outcome;
    } cases[] = {{1, DMP_DNS_OUT_NOTIMP},
                 {2, DMP_DNS_OUT_NOTIMP},
                 {4, DMP_DNS_OUT_NOTIMP},
                 {5, DMP_DNS_OUT_UPDATE},
                 {15, DMP_DNS_OUT_NOTIMP}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        runq(&r, &z,
             (qspec_t){
                 .id = 5, .flags = (uint16_t)(cases[i].opcode << 11), .name = APEX, .qtype = 6},
             DMP_DNS_UDP, &f);
        assert_int_equal(r.res.outcome, cases[i].outcome);
        assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOTIMPL);
        assert_int_equal(ldns_pkt_get_opcode(r.pkt), cases[i].opcode);
        assert_int_equal(ldns_pkt_qdcount(r.pkt), 1);
        reply_free(&r);
    }
    /* unparseable UPDATE: NOTIMP header only, still the UPDATE outcome */
    uint8_t q[12] = {0, 9, 5 << 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    run(&r, &z, q, 12, DMP_DNS_UDP, &f, 512);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_UPDATE);
    assert_int_equal(ldns_pkt_qdcount(r.pkt), 0);
    reply_free(&r);
    assert_int_equal(f.calls, 0);
}

static void test_xfr(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    reply_t r;
    /* AXFR over UDP: NOTIMP with the question, as Knot and NSD */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 252}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NOTIMP);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOTIMPL);
    assert_int_equal(ldns_pkt_qdcount(r.pkt), 1);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 252}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_XFR);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOTIMPL);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 251}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_XFR);
    reply_free(&r);
    /* IXFR over UDP at the apex: one SOA, telling the client to use TCP (RFC 1995 2) */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 251}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    check_soa(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), APEX ".");
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = "sub." APEX, .qtype = 251}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NOTIMP);
    reply_free(&r);
    /* out of zone beats XFR */
    runq(&r, &z, (qspec_t){.name = "other.org", .qtype = 252}, DMP_DNS_TCP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_REFUSED);
    reply_free(&r);
    /* meta types: MAILA NOTIMP; TSIG FORMERR */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 254}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NOTIMP);
    reply_free(&r);
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 250}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_FORMERR);
    reply_free(&r);
    assert_int_equal(f.calls, 0);
    /* a question of type OPT: NOERROR/NODATA with the SOA at the apex (Knot, NSD) */
    runq(&r, &z, (qspec_t){.name = APEX, .qtype = 41, .edns = 1232}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NODATA);
    assert_int_equal(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    check_soa(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0), APEX ".");
    reply_free(&r);
    /* ... and below the apex it is looked up: a missing name is NXDOMAIN */
    runq(&r, &z, (qspec_t){.name = "nope." APEX, .qtype = 41}, DMP_DNS_UDP, &f);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    reply_free(&r);
}

static void test_drop(void **state)
{
    (void)state;
    dmp_dns_zone_t z = test_zone();
    fake_t f = {0};
    reply_t r;
    uint8_t q[300];
    size_t n = mkq(q, (qspec_t){.flags = 0x8000, .name = APEX, .qtype = 16});
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_DROPPED);
    for (size_t l = 0; l < 12; l++) {
        n = mkq(q, (qspec_t){.name = APEX, .qtype = 16});
        run(&r, &z, q, l, DMP_DNS_TCP, &f, 65535);
        assert_int_equal(r.len, 0);
        assert_int_equal(r.res.outcome, DMP_DNS_OUT_DROPPED);
    }
    size_t ol = 1;
    assert_int_equal(
        dmp_dns_respond(&z, NULL, 0, DMP_DNS_UDP, fake_lookup, &f, r.out, 512, &ol, NULL), 0);
    assert_int_equal(ol, 0);
    assert_int_equal(
        dmp_dns_respond(NULL, q, n, DMP_DNS_UDP, fake_lookup, &f, r.out, 512, &ol, NULL),
        DMP_EINVAL);
    assert_int_equal(f.calls, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* malformed questions                                                                         */

static void test_formerr(void **state)
{
    (void)state;
    uint8_t q[600];
    uint8_t hdr[12] = {0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    /* qdcount 0 and 2 */
    memcpy(q, hdr, 12);
    q[5] = 0;
    expect_formerr(q, 12, DMP_DNS_UDP);
    size_t n = mkq(q, (qspec_t){.id = 0xABCD, .name = "a." APEX, .qtype = 16});
    q[5] = 2;
    expect_formerr(q, n, DMP_DNS_UDP);
    /* truncated question at every length */
    n = mkq(q, (qspec_t){.id = 0xABCD, .name = "a." APEX, .qtype = 16});
    for (size_t l = 12; l < n; l++)
        expect_formerr(q, l, DMP_DNS_UDP);
    /* compression pointer loop at the question: 0xC00C points to itself */
    memcpy(q, hdr, 12);
    memcpy(q + 12, (uint8_t[]){0xC0, 0x0C, 0, 16, 0, 1}, 6);
    expect_formerr(q, 18, DMP_DNS_UDP);
    /* pointer after a label, back to the label (loop), and into the header */
    memcpy(q + 12, (uint8_t[]){1, 'a', 0xC0, 0x0C, 0, 16, 0, 1}, 8);
    expect_formerr(q, 20, DMP_DNS_UDP);
    memcpy(q + 12, (uint8_t[]){1, 'a', 0xC0, 0x02, 0, 16, 0, 1}, 8);
    expect_formerr(q, 20, DMP_DNS_TCP);
    /* pointer past the end */
    memcpy(q + 12, (uint8_t[]){0xFF, 0xFF}, 2);
    expect_formerr(q, 14, DMP_DNS_UDP);
    /* extended label types 0x40 / 0x80 */
    memcpy(q + 12, (uint8_t[]){0x41, 'a', 0, 0, 16, 0, 1}, 7);
    expect_formerr(q, 19, DMP_DNS_UDP);
    memcpy(q + 12, (uint8_t[]){0x81, 'a', 0, 0, 16, 0, 1}, 7);
    expect_formerr(q, 19, DMP_DNS_UDP);
    /* label length running past the packet */
    memcpy(q + 12, (uint8_t[]){63, 'a', 'b', 0, 0, 16, 0, 1}, 8);
    expect_formerr(q, 20, DMP_DNS_UDP);
    /* name longer than 255 bytes: 5 labels of 63 */
    n = 12;
    for (int i = 0; i < 5; i++) {
        q[n++] = 63;
        memset(q + n, 'a', 63);
        n += 63;
    }
    q[n++] = 0;
    memcpy(q + n, (uint8_t[]){0, 16, 0, 1}, 4);
    n += 4;
    expect_formerr(q, n, DMP_DNS_UDP);
    /* 255 exactly is fine: 3 x 63 + 1 x 61 + 5 = 255 */
    n = 12;
    for (int i = 0; i < 4; i++) {
        int l = i < 3 ? 63 : 61;
        q[n++] = (uint8_t)l;
        memset(q + n, 'a', (size_t)l);
        n += (size_t)l;
    }
    q[n++] = 0;
    assert_int_equal(n - 12, 255);
    memcpy(q + n, (uint8_t[]){0, 16, 0, 1}, 4);
    n += 4;
    dmp_dns_zone_t z;
    memset(&z, 0, sizeof(z));
    fake_t f = {0};
    reply_t r;
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(strlen(f.last), 253);
    reply_free(&r);
    /* RR after the question with a pointer loop in its owner: not followed -> accepted */
    uint8_t tail[13] = {0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 9};
    n = mkq_raw(q, "a." APEX, 16, 0, 0, 1, tail, 13);
    run(&r, &z, q, n, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    reply_free(&r);
    /* trailing garbage after the declared sections is ignored */
    n = mkq(q, (qspec_t){.name = "a." APEX, .qtype = 16});
    memset(q + n, 0xEE, 7);
    run(&r, &z, q, n + 7, DMP_DNS_UDP, &f, 65535);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    reply_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_badvers), cmocka_unit_test(test_opt_errors),
        cmocka_unit_test(test_opcodes), cmocka_unit_test(test_xfr),
        cmocka_unit_test(test_drop),    cmocka_unit_test(test_formerr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
