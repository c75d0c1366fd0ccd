/* Unit tests for src/dns: hand-built query packets, a fake lookup, and ldns to prove that every
 * reply is well-formed DNS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------- */
/* fixtures                                                                                    */

#define APEX "dmp.example.com"

static dmp_dns_zone_t test_zone(void)
{
    dmp_dns_zone_t z;
    memset(&z, 0, sizeof(z));
    strcpy(z.apex, APEX);
    z.ttl = 60;
    z.has_a = true;
    memcpy(z.a, (uint8_t[]){192, 0, 2, 1}, 4);
    z.has_aaaa = true;
    memcpy(z.aaaa, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 16);
    strcpy(z.ns, "ns1.example.com");
    strcpy(z.soa_rname, "hostmaster.example.com");
    z.soa_serial = 2026112901u;
    z.edns_payload = 1232;
    return z;
}

/* Fake store: a few names with precompiled TXT RRsets. */
typedef struct {
    const char *name;
    int ret;
    dmp_buf_t rrs;
    uint16_t count;
} fake_entry_t;

typedef struct {
    fake_entry_t e[16];
    size_t n;
    int calls;
    char last[256];
} fake_t;

static void fake_add(fake_t *f, const char *name, int ret, const dmp_dns_value_t *vals, size_t nv)
{
    fake_entry_t *e = &f->e[f->n++];
    e->name = name;
    e->ret = ret;
    dmp_buf_init(&e->rrs);
    assert_int_equal(dmp_dns_txt_rrs_build(vals, nv, 300, &e->rrs), 0);
    e->count = (uint16_t)nv;
}

static void fake_add_str(fake_t *f, const char *name, const char *v)
{
    dmp_dns_value_t val = {(const uint8_t *)v, strlen(v)};
    fake_add(f, name, 0, &val, 1);
}

static void fake_free(fake_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        dmp_buf_free(&f->e[i].rrs);
}

static int fake_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    fake_t *f = ctx;
    f->calls++;
    assert_true(len < sizeof(f->last));
    assert_int_equal(strlen(lname), len);
    memcpy(f->last, lname, len + 1);
    for (size_t i = 0; i < f->n; i++) {
        if (strlen(f->e[i].name) == len && memcmp(f->e[i].name, lname, len) == 0) {
            if (f->e[i].ret != 0)
                return f->e[i].ret;
            out->rrs = f->e[i].rrs.data;
            out->len = f->e[i].rrs.len;
            out->count = f->e[i].count;
            return 0;
        }
    }
    return DMP_ENOTFOUND;
}

/* Hand-built query: header, one question (text name encoded label by label, no escapes),
 * optional OPT (payload, version). */
typedef struct {
    uint16_t id;
    uint16_t flags; /* default RD */
    const char *name;
    uint16_t qtype;
    uint16_t qclass;
    int edns;        /* 0: no OPT, else payload */
    uint8_t version; /* EDNS version */
} qspec_t;

static size_t put_name(uint8_t *b, const char *name)
{
    size_t o = 0;
    const char *p = name;
    while (*p) {
        const char *d = strchr(p, '.');
        size_t l = d ? (size_t)(d - p) : strlen(p);
        b[o++] = (uint8_t)l;
        memcpy(b + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    b[o++] = 0;
    return o;
}

static size_t mkq(uint8_t *b, qspec_t s)
{
    memset(b, 0, 12);
    b[0] = (uint8_t)(s.id >> 8);
    b[1] = (uint8_t)s.id;
    b[2] = (uint8_t)(s.flags >> 8);
    b[3] = (uint8_t)s.flags;
    b[5] = 1;
    size_t o = 12 + put_name(b + 12, s.name);
    uint16_t qc = s.qclass ? s.qclass : 1;
    b[o++] = (uint8_t)(s.qtype >> 8);
    b[o++] = (uint8_t)s.qtype;
    b[o++] = (uint8_t)(qc >> 8);
    b[o++] = (uint8_t)qc;
    if (s.edns) {
        b[11] = 1;
        uint8_t opt[11] = {0, 0, 41, (uint8_t)(s.edns >> 8), (uint8_t)s.edns, 0, s.version, 0,
                           0, 0, 0};
        memcpy(b + o, opt, 11);
        o += 11;
    }
    return o;
}

typedef struct {
    uint8_t out[65535 + 16];
    size_t len;
    dmp_dns_result_t res;
    ldns_pkt *pkt;
} reply_t;

static void reply_free(reply_t *r)
{
    if (r->pkt)
        ldns_pkt_free(r->pkt);
    r->pkt = NULL;
}

/* Run the responder; when it produced bytes, parse them with ldns and require success. */
static void run(reply_t *r, const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen,
                dmp_dns_transport_t t, fake_t *f, size_t cap)
{
    memset(r->out, 0xA5, sizeof(r->out));
    r->pkt = NULL;
    int rc = dmp_dns_respond(z, q, qlen, t, fake_lookup, f, r->out, cap, &r->len, &r->res);
    assert_int_equal(rc, 0);
    assert_true(r->len <= cap);
    for (size_t i = cap; i < cap + 16 && i < sizeof(r->out); i++)
        assert_int_equal(r->out[i], 0xA5);
    if (r->len) {
        ldns_status st = ldns_wire2pkt(&r->pkt, r->out, r->len);
        assert_int_equal(st, LDNS_STATUS_OK);
        assert_true(ldns_pkt_qr(r->pkt));
        assert_false(ldns_pkt_ra(r->pkt));
        if (qlen >= 2)
            assert_int_equal(ldns_pkt_id(r->pkt), (uint16_t)(q[0] << 8 | q[1]));
    }
}

static void runq(reply_t *r, const dmp_dns_zone_t *z, qspec_t s, dmp_dns_transport_t t, fake_t *f)
{
    uint8_t q[600];
    size_t n = mkq(q, s);
    run(r, z, q, n, t, f, 65535);
}

static char *owner_str(const ldns_rr *rr)
{
    return ldns_rdf2str(ldns_rr_owner(rr));
}

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
/* zone, negative answers                                                                      */

static void check_soa(ldns_rr *rr, const char *owner)
{
    assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
    char *o = owner_str(rr);
    assert_string_equal(o, owner);
    free(o);
    assert_int_equal(ldns_rr_ttl(rr), 60);
    assert_int_equal(ldns_rr_rd_count(rr), 7);
    char *m = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    char *rn = ldns_rdf2str(ldns_rr_rdf(rr, 1));
    assert_string_equal(m, "ns1.example.com.");
    assert_string_equal(rn, "hostmaster.example.com.");
    free(m);
    free(rn);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)), 2026112901u);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 3)), 3600);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 4)), 600);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 5)), 604800);
    assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(rr, 6)), 60);
}

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

/* ---------------------------------------------------------------------------------------- */
/* routing, stubs, names                                                                       */

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
        cmocka_unit_test(test_txt_answer),
        cmocka_unit_test(test_case_echo),
        cmocka_unit_test(test_txt_split),
        cmocka_unit_test(test_tc_512),
        cmocka_unit_test(test_tc_edns),
        cmocka_unit_test(test_tcp_limits),
        cmocka_unit_test(test_badvers),
        cmocka_unit_test(test_opt_errors),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_apex_records),
        cmocka_unit_test(test_refused_and_no_zone),
        cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_xfr),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_formerr),
        cmocka_unit_test(test_route_hash),
        cmocka_unit_test(test_tc_stub),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_parse_vs_ldns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
