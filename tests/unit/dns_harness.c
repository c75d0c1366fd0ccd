/* Shared fixtures of the src/dns responder unit tests; see dns_harness.h. */
#include "dns_harness.h"

dmp_dns_zone_t test_zone(void)
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

void fake_add(fake_t *f, const char *name, int ret, const dmp_dns_value_t *vals, size_t nv)
{
    fake_entry_t *e = &f->e[f->n++];
    e->name = name;
    e->ret = ret;
    dmp_buf_init(&e->rrs);
    assert_int_equal(dmp_dns_txt_rrs_build(vals, nv, 300, &e->rrs), 0);
    e->count = (uint16_t)nv;
}

void fake_add_str(fake_t *f, const char *name, const char *v)
{
    dmp_dns_value_t val = {(const uint8_t *)v, strlen(v)};
    fake_add(f, name, 0, &val, 1);
}

void fake_free(fake_t *f)
{
    for (size_t i = 0; i < f->n; i++)
        dmp_buf_free(&f->e[i].rrs);
}

int fake_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
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

size_t put_name(uint8_t *b, const char *name)
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

size_t mkq(uint8_t *b, qspec_t s)
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

void reply_free(reply_t *r)
{
    if (r->pkt)
        ldns_pkt_free(r->pkt);
    r->pkt = NULL;
}

/* Run the responder; when it produced bytes, parse them with ldns and require success. */
void run(reply_t *r, const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
         fake_t *f, size_t cap)
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

void runq(reply_t *r, const dmp_dns_zone_t *z, qspec_t s, dmp_dns_transport_t t, fake_t *f)
{
    uint8_t q[600];
    size_t n = mkq(q, s);
    run(r, z, q, n, t, f, 65535);
}

char *owner_str(const ldns_rr *rr)
{
    return ldns_rdf2str(ldns_rr_owner(rr));
}

void check_soa(ldns_rr *rr, const char *owner)
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
