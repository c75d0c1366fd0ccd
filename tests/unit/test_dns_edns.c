/* Unit tests for the EDNS options of src/dns: DNS Cookies (RFC 7873 / RFC 9018), NSID (RFC
 * 5001), edns-tcp-keepalive (RFC 7828), answer TTLs lowered to the records' remaining lifetime,
 * and the name the reply gives response rate limiting. Replies are checked with ldns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <sodium.h>

#include "dns/dns.h"
#include "util/util.h"

#define APEX "dmp.example.com"

static dmp_dns_zone_t zone(void)
{
    dmp_dns_zone_t z;
    memset(&z, 0, sizeof(z));
    strcpy(z.apex, APEX);
    z.ttl = 60;
    strcpy(z.ns, "ns1.example.com");
    strcpy(z.soa_rname, "hostmaster.example.com");
    z.soa_serial = 7;
    return z;
}

static dmp_buf_t g_rrs;
static bool g_clamp;
static uint32_t g_clamp_ttl;

/* "a.<apex>" holds two TXT values with TTL 300; everything else is missing. */
static int lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    (void)ctx;
    if (len != strlen("a." APEX) || memcmp(lname, "a." APEX, len) != 0)
        return DMP_ENOTFOUND;
    out->rrs = g_rrs.data;
    out->len = g_rrs.len;
    out->count = 2;
    out->clamp_ttl = g_clamp;
    out->ttl = g_clamp_ttl;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    dmp_buf_init(&g_rrs);
    dmp_dns_value_t v[2] = {{(const uint8_t *)"one", 3}, {(const uint8_t *)"two", 3}};
    return dmp_dns_txt_rrs_build(v, 2, 300, &g_rrs);
}

static int teardown(void **state)
{
    (void)state;
    dmp_buf_free(&g_rrs);
    return 0;
}

/* Query for name/qtype with an OPT holding the given option bytes (opts may be NULL). */
static size_t mkq(uint8_t *b, const char *name, uint16_t qtype, const uint8_t *opts, size_t olen)
{
    memset(b, 0, 12);
    b[0] = 0x12;
    b[1] = 0x34;
    b[2] = 0x01; /* RD */
    b[5] = 1;
    b[11] = 1;
    size_t o = 12;
    size_t n = 0;
    assert_int_equal(dmp_dns_name_from_text(name, strlen(name), b + o, 256, &n), 0);
    o += n;
    dmp_store_u16be(b + o, qtype);
    dmp_store_u16be(b + o + 2, 1);
    o += 4;
    uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    dmp_store_u16be(opt + 9, (uint16_t)olen);
    memcpy(b + o, opt, 11);
    o += 11;
    if (olen)
        memcpy(b + o, opts, olen);
    return o + olen;
}

static size_t put_opt(uint8_t *p, uint16_t code, const uint8_t *d, size_t n)
{
    dmp_store_u16be(p, code);
    dmp_store_u16be(p + 2, (uint16_t)n);
    if (n)
        memcpy(p + 4, d, n);
    return 4 + n;
}

typedef struct {
    uint8_t out[65535];
    size_t len;
    dmp_dns_result_t res;
    ldns_pkt *pkt;
} reply_t;

static void run(reply_t *r, const dmp_dns_opts_t *o, const uint8_t *q, size_t qlen,
                dmp_dns_transport_t t)
{
    dmp_dns_zone_t z = zone();
    r->pkt = NULL;
    assert_int_equal(dmp_dns_respond_ex(&z, o, q, qlen, t, lookup, NULL, r->out, sizeof(r->out),
                                        &r->len, &r->res),
                     0);
    assert_true(r->len > 0);
    assert_int_equal(ldns_wire2pkt(&r->pkt, r->out, r->len), LDNS_STATUS_OK);
}

/* The data of option `code` in the reply's OPT (NULL when absent). */
static const uint8_t *reply_opt(const reply_t *r, uint16_t code, size_t *len)
{
    ldns_rdf *d = ldns_pkt_edns_data(r->pkt);
    if (!d)
        return NULL;
    const uint8_t *p = ldns_rdf_data(d);
    size_t n = ldns_rdf_size(d), off = 0;
    while (n - off >= 4) {
        uint16_t c = dmp_load_u16be(p + off), l = dmp_load_u16be(p + off + 2);
        if (n - off - 4 < l)
            return NULL;
        if (c == code) {
            *len = l;
            return p + off + 4;
        }
        off += 4 + (size_t)l;
    }
    return NULL;
}

static const uint8_t k_ip[4] = {192, 0, 2, 55};
static const uint8_t k_client[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static dmp_dns_opts_t cookie_opts(dmp_dns_cookie_secret_t *s, uint32_t now)
{
    memset(s, 0, sizeof(*s));
    memset(s->cur, 0x11, sizeof(s->cur));
    memset(s->prev, 0x22, sizeof(s->prev));
    s->has_prev = true;
    return (dmp_dns_opts_t){.client_ip = k_ip, .client_ip_len = 4, .cookie = s, .now_s = now};
}

static void test_cookie_round_trip(void **state)
{
    (void)state;
    dmp_dns_cookie_secret_t s;
    dmp_dns_opts_t o = cookie_opts(&s, 1000000);
    uint8_t q[512], ob[64];
    reply_t r;
    /* client cookie only: answered, with client cookie + a 16-byte server cookie */
    size_t on = put_opt(ob, DMP_DNS_OPT_COOKIE, k_client, 8);
    size_t n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_CLIENT_ONLY);
    size_t cl = 0;
    const uint8_t *c = reply_opt(&r, DMP_DNS_OPT_COOKIE, &cl);
    assert_non_null(c);
    assert_int_equal(cl, 24);
    assert_memory_equal(c, k_client, 8);
    assert_int_equal(c[8], 1); /* RFC 9018 version */
    assert_int_equal(dmp_load_u32be(c + 12), 1000000);
    uint8_t full[24];
    memcpy(full, c, 24);
    ldns_pkt_free(r.pkt);

    /* the cookie we handed out comes back: valid, echoed unchanged (not yet half-life old) */
    o.now_s += 60;
    on = put_opt(ob, DMP_DNS_OPT_COOKIE, full, 24);
    n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_VALID);
    c = reply_opt(&r, DMP_DNS_OPT_COOKIE, &cl);
    assert_non_null(c);
    assert_memory_equal(c, full, 24);
    ldns_pkt_free(r.pkt);

    /* from another address it is not valid */
    static const uint8_t other[4] = {192, 0, 2, 56};
    o.client_ip = other;
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_INVALID);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED); /* not required: answered */
    ldns_pkt_free(r.pkt);
    o.client_ip = k_ip;

    /* after 40 minutes it is still valid but replaced by a fresh one */
    o.now_s = 1000000 + 2400;
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_VALID);
    c = reply_opt(&r, DMP_DNS_OPT_COOKIE, &cl);
    assert_int_equal(dmp_load_u32be(c + 12), 1000000 + 2400);
    ldns_pkt_free(r.pkt);

    /* after more than an hour it has expired; five minutes ahead is fine, ten are not */
    o.now_s = 1000000 + 3601;
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_INVALID);
    ldns_pkt_free(r.pkt);
    o.now_s = 1000000 - 299;
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_VALID);
    ldns_pkt_free(r.pkt);
    o.now_s = 1000000 - 600;
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_INVALID);
    ldns_pkt_free(r.pkt);

    /* one flipped bit in the hash: invalid */
    o.now_s = 1000000 + 10;
    full[23] ^= 1;
    on = put_opt(ob, DMP_DNS_OPT_COOKIE, full, 24);
    n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_INVALID);
    ldns_pkt_free(r.pkt);
}

static void test_cookie_rotation(void **state)
{
    (void)state;
    uint8_t master[32];
    memset(master, 7, sizeof(master));
    dmp_dns_cookie_secret_t s1, s2, s3;
    assert_int_equal(dmp_dns_cookie_secret_at(master, 7200, 3600, &s1), 0);
    assert_int_equal(dmp_dns_cookie_secret_at(master, 10800, 3600, &s2), 0);
    assert_int_equal(dmp_dns_cookie_secret_at(master, 14400, 3600, &s3), 0);
    assert_memory_equal(s2.prev, s1.cur, 16);
    assert_memory_not_equal(s2.cur, s1.cur, 16);
    uint8_t sc[16], opt[24];
    assert_int_equal(dmp_dns_cookie_make(&s1, k_client, k_ip, 4, 10700, sc), 0);
    memcpy(opt, k_client, 8);
    memcpy(opt + 8, sc, 16);
    bool refresh = false;
    /* made under s1.cur, checked after one rotation: accepted through prev, and refreshed */
    assert_int_equal(dmp_dns_cookie_check(&s2, opt, 24, k_ip, 4, 10900, &refresh), 0);
    assert_true(refresh);
    /* after two rotations: gone */
    assert_int_equal(dmp_dns_cookie_check(&s3, opt, 24, k_ip, 4, 10900, &refresh), DMP_EAUTH);
    /* a different master gives different secrets */
    master[0] ^= 1;
    dmp_dns_cookie_secret_t o1;
    assert_int_equal(dmp_dns_cookie_secret_at(master, 7200, 3600, &o1), 0);
    assert_memory_not_equal(o1.cur, s1.cur, 16);
    /* IPv6 client addresses hash all 16 bytes */
    uint8_t ip6[16] = {0x20, 1, 0xd, 0xb8};
    assert_int_equal(dmp_dns_cookie_make(&s1, k_client, ip6, 16, 7300, sc), 0);
    memcpy(opt + 8, sc, 16);
    assert_int_equal(dmp_dns_cookie_check(&s1, opt, 24, ip6, 16, 7300, &refresh), 0);
    ip6[15] = 1;
    assert_int_equal(dmp_dns_cookie_check(&s1, opt, 24, ip6, 16, 7300, &refresh), DMP_EAUTH);
    assert_int_equal(dmp_dns_cookie_check(&s1, opt, 20, ip6, 16, 7300, &refresh), DMP_EMISMATCH);
}

static void test_cookie_required_and_malformed(void **state)
{
    (void)state;
    dmp_dns_cookie_secret_t s;
    dmp_dns_opts_t o = cookie_opts(&s, 5000);
    o.cookie_required = true;
    uint8_t q[512], ob[64];
    reply_t r;
    size_t on = put_opt(ob, DMP_DNS_OPT_COOKIE, k_client, 8);
    size_t n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    /* UDP, client cookie only, cookies required: BADCOOKIE (23 = header 7 + OPT ext 1) with a
     * fresh cookie and no answer */
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_BADCOOKIE);
    assert_int_equal(r.res.rcode, 23);
    assert_int_equal(r.out[3] & 0xF, 7);
    assert_int_equal(ldns_pkt_edns_extended_rcode(r.pkt), 1);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 0);
    size_t cl = 0;
    const uint8_t *c = reply_opt(&r, DMP_DNS_OPT_COOKIE, &cl);
    assert_non_null(c);
    assert_int_equal(cl, 24);
    uint8_t full[24];
    memcpy(full, c, 24);
    ldns_pkt_free(r.pkt);
    /* the same over TCP is answered (TCP proves the source) */
    run(&r, &o, q, n, DMP_DNS_TCP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    ldns_pkt_free(r.pkt);
    /* retry with the server cookie: answered */
    on = put_opt(ob, DMP_DNS_OPT_COOKIE, full, 24);
    n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_VALID);
    ldns_pkt_free(r.pkt);
    /* no COOKIE option at all: answered (nothing to say BADCOOKIE with) */
    n = mkq(q, "a." APEX, DMP_DNS_T_TXT, NULL, 0);
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_NONE);
    ldns_pkt_free(r.pkt);
    /* malformed lengths (RFC 7873 5.2.2): FORMERR */
    static const size_t bad[] = {0, 7, 9, 15, 41};
    uint8_t junk[48] = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        on = put_opt(ob, DMP_DNS_OPT_COOKIE, junk, bad[i]);
        n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
        run(&r, &o, q, n, DMP_DNS_UDP);
        assert_int_equal(r.res.outcome, DMP_DNS_OUT_FORMERR);
        assert_int_equal(r.res.cookie, DMP_DNS_COOKIE_MALFORMED);
        ldns_pkt_free(r.pkt);
    }
    /* cookies off (no secret): the option is ignored, even a malformed one */
    dmp_dns_opts_t off = {0};
    run(&r, &off, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_ANSWERED);
    assert_null(reply_opt(&r, DMP_DNS_OPT_COOKIE, &cl));
    ldns_pkt_free(r.pkt);
}

static void test_nsid_keepalive(void **state)
{
    (void)state;
    dmp_dns_opts_t o = {
        .nsid = (const uint8_t *)"node-7", .nsid_len = 6, .tcp_keepalive_100ms = 100};
    uint8_t q[512], ob[64];
    reply_t r;
    size_t on = put_opt(ob, DMP_DNS_OPT_NSID, NULL, 0);
    on += put_opt(ob + on, DMP_DNS_OPT_KEEPALIVE, NULL, 0);
    size_t n = mkq(q, "a." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &o, q, n, DMP_DNS_TCP);
    size_t l = 0;
    const uint8_t *d = reply_opt(&r, DMP_DNS_OPT_NSID, &l);
    assert_non_null(d);
    assert_int_equal(l, 6);
    assert_memory_equal(d, "node-7", 6);
    d = reply_opt(&r, DMP_DNS_OPT_KEEPALIVE, &l);
    assert_non_null(d);
    assert_int_equal(l, 2);
    assert_int_equal(dmp_load_u16be(d), 100);
    ldns_pkt_free(r.pkt);
    /* UDP: NSID yes, keepalive never (RFC 7828 3.3.1) */
    run(&r, &o, q, n, DMP_DNS_UDP);
    assert_non_null(reply_opt(&r, DMP_DNS_OPT_NSID, &l));
    assert_null(reply_opt(&r, DMP_DNS_OPT_KEEPALIVE, &l));
    ldns_pkt_free(r.pkt);
    /* not asked: neither is sent */
    n = mkq(q, "a." APEX, DMP_DNS_T_TXT, NULL, 0);
    run(&r, &o, q, n, DMP_DNS_TCP);
    assert_null(ldns_pkt_edns_data(r.pkt));
    ldns_pkt_free(r.pkt);
    /* asked but not configured: not sent; the negative answer still carries the SOA */
    dmp_dns_opts_t none = {0};
    on = put_opt(ob, DMP_DNS_OPT_NSID, NULL, 0);
    n = mkq(q, "b." APEX, DMP_DNS_T_TXT, ob, on);
    run(&r, &none, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_null(reply_opt(&r, DMP_DNS_OPT_NSID, &l));
    assert_int_equal(ldns_pkt_nscount(r.pkt), 1);
    ldns_pkt_free(r.pkt);
}

static void test_ttl_clamp(void **state)
{
    (void)state;
    uint8_t q[512];
    reply_t r;
    size_t n = mkq(q, "a." APEX, DMP_DNS_T_TXT, NULL, 0);
    g_clamp = false;
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(ldns_pkt_ancount(r.pkt), 2);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0)), 300);
    ldns_pkt_free(r.pkt);
    /* 2 s left: both RRs say 2, and the cached bytes are untouched */
    g_clamp = true;
    g_clamp_ttl = 2;
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0)), 2);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 1)), 2);
    assert_int_equal(dmp_load_u32be(g_rrs.data + 6), 300);
    ldns_pkt_free(r.pkt);
    /* a clamp above the compiled TTL changes nothing */
    g_clamp_ttl = 1000;
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 1)), 300);
    ldns_pkt_free(r.pkt);
    g_clamp = false;
}

static void test_rrl_name(void **state)
{
    (void)state;
    uint8_t q[512];
    reply_t r;
    uint64_t apex = dmp_dns_name_hash(APEX, strlen(APEX));
    size_t n = mkq(q, "a." APEX, DMP_DNS_T_TXT, NULL, 0);
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.rrl_name_hash, dmp_dns_name_hash("a." APEX, strlen("a." APEX)));
    ldns_pkt_free(r.pkt);
    /* NXDOMAINs for random names share the zone's bucket */
    n = mkq(q, "x1." APEX, DMP_DNS_T_TXT, NULL, 0);
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.outcome, DMP_DNS_OUT_NXDOMAIN);
    assert_int_equal(r.res.rrl_name_hash, apex);
    ldns_pkt_free(r.pkt);
    n = mkq(q, "x2." APEX, DMP_DNS_T_TXT, NULL, 0);
    run(&r, NULL, q, n, DMP_DNS_UDP);
    assert_int_equal(r.res.rrl_name_hash, apex);
    ldns_pkt_free(r.pkt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_round_trip),
        cmocka_unit_test(test_cookie_rotation),
        cmocka_unit_test(test_cookie_required_and_malformed),
        cmocka_unit_test(test_nsid_keepalive),
        cmocka_unit_test(test_ttl_clamp),
        cmocka_unit_test(test_rrl_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
