/* Unit tests for UPDATE (RFC 2136) in src/dns: requests captured from the real tools (nsupdate
 * 9.18, knsupdate 3.2) must parse; every malformed request answers the RCODE the RFC says;
 * prerequisites; building an UPDATE and parsing it back. */
#include "dns_update_harness.h"

#include <malloc.h>

/* ---------------------------------------------------------------------------------------- */
/* UPDATE parsing                                                                              */

static void test_update_vectors_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(k_vecs) / sizeof(k_vecs[0]); i++) {
        uint8_t m[4096];
        size_t len = 0;
        assert_int_equal(read_vec(k_vecs[i].file, m, sizeof(m), &len), 0);
        dmp_dns_update_t u;
        dmp_upd_limits_t lim = {2048, 86400};
        assert_int_equal(dmp_dns_update_parse(m, len, ZONE, &lim, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_NOERROR);
        assert_string_equal(u.zone, ZONE);
        assert_int_equal(u.n_prqs, 0);
        if (!k_vecs[i].big) {
            assert_int_equal(u.n_ops, 1);
            assert_int_equal(u.ops[0].kind, DMP_UPD_ADD);
            assert_string_equal(u.ops[0].owner, "a.mesh.test");
            assert_int_equal(u.ops[0].ttl, 60);
            assert_memory_equal(dmp_dns_update_value(&u, u.ops[0].value_off), "hi", 2);
            dmp_dns_update_free(&u);
            continue;
        }
        assert_int_equal(u.n_ops, 4);
        assert_int_equal(u.ops[0].kind, DMP_UPD_ADD);
        assert_string_equal(u.ops[0].owner, "hello.mesh.test"); /* sent as Hello.Mesh.Test */
        assert_int_equal(u.ops[0].ttl, 300);
        assert_int_equal(u.ops[0].value_len, 25 + 255 + 45); /* three strings, joined */
        const uint8_t *v = dmp_dns_update_value(&u, u.ops[0].value_off);
        assert_memory_equal(v, "v=dmp1;t=chunk;d=aGVsbG8=x", 26);
        assert_int_equal(v[25 + 254], 'x');
        assert_int_equal(v[25 + 255], 'y');
        assert_int_equal(u.ops[1].kind, DMP_UPD_DEL_VALUE);
        assert_string_equal(u.ops[1].owner, "old.mesh.test");
        assert_int_equal(u.ops[1].value_len, 4);
        assert_memory_equal(dmp_dns_update_value(&u, u.ops[1].value_off), "gone", 4);
        assert_int_equal(u.ops[2].kind, DMP_UPD_DEL_RRSET);
        assert_string_equal(u.ops[2].owner, "rrset.mesh.test");
        assert_int_equal(u.ops[3].kind, DMP_UPD_DEL_NAME);
        assert_string_equal(u.ops[3].owner, "name.mesh.test");
        dmp_dns_update_free(&u);
        /* a 300-byte cap refuses the 325-byte value; a 299 s TTL cap the 300 s TTL */
        lim.max_value_bytes = 300;
        assert_int_equal(dmp_dns_update_parse(m, len, ZONE, &lim, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_REFUSED);
        dmp_dns_update_free(&u);
        lim.max_value_bytes = 325;
        lim.max_ttl = 299;
        assert_int_equal(dmp_dns_update_parse(m, len, ZONE, &lim, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_REFUSED);
        dmp_dns_update_free(&u);
        /* another served zone -> NOTAUTH; no served zone -> NOTAUTH */
        assert_int_equal(dmp_dns_update_parse(m, len, "other.test", NULL, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_NOTAUTH);
        uint8_t out[512];
        size_t ol = 0;
        assert_int_equal(dmp_dns_update_reply(&u, m, len, u.rcode, out, sizeof(out), &ol), 0);
        ldns_pkt *p = NULL;
        assert_int_equal(ldns_wire2pkt(&p, out, ol), LDNS_STATUS_OK);
        assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
        assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTAUTH);
        assert_int_equal(ldns_pkt_id(p), dmp_load_u16be(m));
        assert_true(ldns_pkt_qr(p));
        ldns_pkt_free(p);
        dmp_dns_update_free(&u);
        assert_int_equal(dmp_dns_update_parse(m, len, "", NULL, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_NOTAUTH);
        dmp_dns_update_free(&u);
    }
}

/* builds an UPDATE with one RR given raw: owner text, type, class, ttl, rdata */
static size_t raw_update(uint8_t *m, const char *zone, const char *owner, uint16_t type,
                         uint16_t cls, uint32_t ttl, const uint8_t *rd, uint16_t rdlen, int section)
{
    memset(m, 0, 12);
    m[0] = 0xAB;
    m[1] = 0xCD;
    m[2] = DMP_DNS_OPCODE_UPDATE << 3;
    dmp_store_u16be(m + 4, 1);
    size_t n = 12, wl = 0;
    assert_int_equal(dmp_dns_name_from_text(zone, strlen(zone), m + n, 255, &wl), 0);
    n += wl;
    dmp_store_u16be(m + n, DMP_DNS_T_SOA);
    dmp_store_u16be(m + n + 2, DMP_DNS_C_IN);
    n += 4;
    if (!owner)
        return n;
    dmp_store_u16be(m + 6 + 2 * section, 1);
    assert_int_equal(dmp_dns_name_from_text(owner, strlen(owner), m + n, 255, &wl), 0);
    n += wl;
    dmp_store_u16be(m + n, type);
    dmp_store_u16be(m + n + 2, cls);
    dmp_store_u32be(m + n + 4, ttl);
    dmp_store_u16be(m + n + 8, rdlen);
    n += 10;
    if (rdlen)
        memcpy(m + n, rd, rdlen);
    return n + rdlen;
}

static uint8_t parse_rc(const uint8_t *m, size_t len)
{
    dmp_dns_update_t u;
    dmp_upd_limits_t lim = {2048, 86400};
    assert_int_equal(dmp_dns_update_parse(m, len, ZONE, &lim, &u), 0);
    uint8_t rc = u.rcode;
    dmp_dns_update_free(&u);
    return rc;
}

static void test_update_rcodes(void **state)
{
    (void)state;
    uint8_t m[1024];
    size_t n;
    static const uint8_t hi[] = {2, 'h', 'i'};
    const int UP = 1, PR = 0;
    /* plain add */
    n = raw_update(m, ZONE, "A.MESH.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 0, hi, 3, UP);
    dmp_dns_update_t u;
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), 0);
    assert_int_equal(u.rcode, 0);
    assert_string_equal(u.ops[0].owner, "a.mesh.test");
    assert_int_equal(u.ops[0].ttl, 60); /* TTL 0 -> 60 as the reference */
    dmp_dns_update_free(&u);
    /* TTL with the top bit set reads as 0 (RFC 2181 §8) -> 60 */
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 0x80000001u, hi, 3, UP);
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), 0);
    assert_int_equal(u.ops[0].ttl, 60);
    dmp_dns_update_free(&u);
    /* the apex itself is in the zone */
    n = raw_update(m, ZONE, ZONE, DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), 0);
    /* outside the zone, including a suffix that is not a label boundary */
    n = raw_update(m, ZONE, "a.other.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_NOTZONE);
    n = raw_update(m, ZONE, "amesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_NOTZONE);
    n = raw_update(m, ZONE, "a.other.test", DMP_DNS_T_ANY, DMP_DNS_C_ANY, 0, NULL, 0, PR);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_NOTZONE);
    /* bad UTF-8 (add and delete-value), overlong and surrogate forms */
    static const uint8_t bad[][5] = {{4, 'a', 0xC3, 0x28, 'b'},
                                     {4, 0xC0, 0xAF, 'a', 'b'},
                                     {4, 0xED, 0xA0, 0x80, 'b'},
                                     {4, 0xF4, 0x90, 0x80, 0x80}};
    for (size_t i = 0; i < 4; i++) {
        n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, bad[i], 5, UP);
        assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
        n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_NONE, 0, bad[i], 5, UP);
        assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    }
    static const uint8_t good2[] = {6, 'a', 0xC3, 0xA9, 0xE2, 0x82, 0xAC};
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, good2, 7, UP);
    assert_int_equal(parse_rc(m, n), 0);
    /* TXT with character-strings that overrun the RDATA / empty RDATA */
    static const uint8_t over[] = {5, 'a', 'b'};
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, over, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, NULL, 0, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    /* class ANY with data or TTL, meta types -> FORMERR */
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_ANY, 0, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_ANY, 5, NULL, 0, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_AXFR, DMP_DNS_C_ANY, 0, NULL, 0, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_ANY, DMP_DNS_C_IN, 0, NULL, 0, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_CH, 0, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    /* adding another type: we store only TXT -> REFUSED; deleting one: nothing to do */
    static const uint8_t a4[] = {192, 0, 2, 1};
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_A, DMP_DNS_C_IN, 60, a4, 4, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_REFUSED);
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_A, DMP_DNS_C_ANY, 0, NULL, 0, UP);
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), 0);
    assert_int_equal(u.rcode, 0);
    assert_int_equal(u.ops[0].kind, DMP_UPD_NOOP);
    dmp_dns_update_free(&u);
    /* names the store cannot hold: add refused, delete is a no-op */
    n = raw_update(m, ZONE, "a b.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 60, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_REFUSED);
    /* zone section: 0 or 2 entries, or not SOA -> FORMERR; not IN -> NOTAUTH */
    n = raw_update(m, ZONE, NULL, 0, 0, 0, NULL, 0, UP);
    assert_int_equal(parse_rc(m, n), 0); /* empty update: a no-op */
    dmp_store_u16be(m + 4, 0);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    dmp_store_u16be(m + 4, 2);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    dmp_store_u16be(m + 4, 1);
    dmp_store_u16be(m + n - 4, DMP_DNS_T_TXT);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    dmp_store_u16be(m + n - 4, DMP_DNS_T_SOA);
    dmp_store_u16be(m + n - 2, DMP_DNS_C_CH);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_NOTAUTH);
    /* header only, QR set -> nothing to answer */
    m[2] |= 0x80;
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), DMP_EFORMAT);
    dmp_dns_update_free(&u);
    assert_int_equal(dmp_dns_update_parse(m, 11, ZONE, NULL, &u), DMP_EFORMAT);
    dmp_dns_update_free(&u);
    /* first NOTZONE/FORMERR in wire order wins over a later cap */
    n = raw_update(m, ZONE, "a.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 999999, hi, 3, UP);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_REFUSED);
}

static void test_update_compression_loops(void **state)
{
    (void)state;
    uint8_t m[64];
    size_t n = raw_update(m, ZONE, NULL, 0, 0, 0, NULL, 0, 1);
    dmp_store_u16be(m + 8, 1);
    /* owner: "a" then a pointer to itself */
    size_t o = n;
    m[n++] = 1;
    m[n++] = 'a';
    m[n++] = 0xC0;
    m[n++] = (uint8_t)o;
    memset(m + n, 0, 10);
    n += 10;
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    /* pointer to a later offset */
    m[o + 3] = (uint8_t)(o + 4);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    /* pointer to the zone name: fine */
    m[o + 2] = 0xC0;
    m[o + 3] = 12;
    dmp_store_u16be(m + o + 4, DMP_DNS_T_TXT);
    dmp_store_u16be(m + o + 6, DMP_DNS_C_ANY);
    dmp_dns_update_t u;
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), 0);
    assert_int_equal(u.rcode, 0);
    assert_string_equal(u.ops[0].owner, "a.mesh.test");
    assert_int_equal(u.ops[0].kind, DMP_UPD_DEL_RRSET);
    dmp_dns_update_free(&u);
}

/* ---------------------------------------------------------------------------------------- */
/* prerequisites                                                                               */

typedef struct {
    const char *name;
    dmp_dns_value_t vals[2];
    size_t n;
    bool exists;
} fake_name_t;

static int fake_state(void *ctx, const char *lname, size_t len, dmp_upd_name_state_t *out)
{
    const fake_name_t *f = ctx;
    for (; f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, lname, len) == 0) {
            out->exists = f->exists || f->n > 0;
            out->txt = f->vals;
            out->n_txt = f->n;
            return 0;
        }
    out->exists = false;
    out->n_txt = 0;
    return 0;
}

static uint8_t prereq_rc(const uint8_t *m, size_t n, const fake_name_t *names)
{
    dmp_dns_update_t u;
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, NULL, &u), 0);
    assert_int_equal(u.rcode, 0);
    uint8_t rc = 0xFF;
    assert_int_equal(dmp_dns_update_prereqs(&u, fake_state, (void *)names, &rc), 0);
    dmp_dns_update_free(&u);
    return rc;
}

static void test_update_prereqs(void **state)
{
    (void)state;
    const fake_name_t names[] = {
        {"full.mesh.test", {{(const uint8_t *)"one", 3}, {(const uint8_t *)"two", 3}}, 2, true},
        {"ent.mesh.test", {{0}}, 0, true},
        {NULL, {{0}}, 0, false},
    };
    uint8_t m[512];
    size_t n;
    const int PR = 0;
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_ANY, DMP_DNS_C_ANY, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), 0);
    n = raw_update(m, ZONE, "none.mesh.test", DMP_DNS_T_ANY, DMP_DNS_C_ANY, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), DMP_DNS_RCODE_NXDOMAIN);
    n = raw_update(m, ZONE, "ent.mesh.test", DMP_DNS_T_ANY, DMP_DNS_C_NONE, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), DMP_DNS_RCODE_YXDOMAIN);
    n = raw_update(m, ZONE, "none.mesh.test", DMP_DNS_T_ANY, DMP_DNS_C_NONE, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), 0);
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_ANY, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), 0);
    n = raw_update(m, ZONE, "ent.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_ANY, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), DMP_DNS_RCODE_NXRRSET);
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_NONE, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), DMP_DNS_RCODE_YXRRSET);
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_A, DMP_DNS_C_NONE, 0, NULL, 0, PR);
    assert_int_equal(prereq_rc(m, n, names), 0);
    /* value-dependent: one of two values is not the whole set */
    static const uint8_t one[] = {3, 'o', 'n', 'e'};
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_IN, 0, one, 4, PR);
    assert_int_equal(prereq_rc(m, n, names), DMP_DNS_RCODE_NXRRSET);
    /* both values -> the set matches */
    static const uint8_t two_rr[] = {0xC0, 29, 0, 16, 0, 1, 0, 0, 0, 0, 0, 4, 3, 't', 'w', 'o'};
    memcpy(m + n, two_rr, sizeof(two_rr));
    /* offset 29: owner of the first prerequisite (12 + 11 zone + 4 + ... ) */
    size_t first_owner = 12 + 11 + 4;
    m[n + 1] = (uint8_t)first_owner;
    dmp_store_u16be(m + 6, 2);
    assert_int_equal(prereq_rc(m, n + sizeof(two_rr), names), 0);
    /* prerequisite with TTL != 0 or class ANY with data -> FORMERR */
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_ANY, 1, NULL, 0, PR);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
    n = raw_update(m, ZONE, "full.mesh.test", DMP_DNS_T_TXT, DMP_DNS_C_NONE, 0, one, 4, PR);
    assert_int_equal(parse_rc(m, n), DMP_DNS_RCODE_FORMERR);
}

static void test_update_build_roundtrip(void **state)
{
    (void)state;
    uint8_t val[700];
    for (size_t i = 0; i < sizeof(val); i++)
        val[i] = (uint8_t)('a' + i % 26);
    dmp_upd_op_t ops[4] = {
        {.kind = DMP_UPD_ADD,
         .owner = "big.mesh.test",
         .owner_len = 13,
         .ttl = 120,
         .value_off = 0,
         .value_len = 700},
        {.kind = DMP_UPD_DEL_VALUE,
         .owner = "x.mesh.test",
         .owner_len = 11,
         .value_off = 0,
         .value_len = 5},
        {.kind = DMP_UPD_DEL_RRSET, .owner = "y.mesh.test", .owner_len = 11},
        {.kind = DMP_UPD_DEL_NAME, .owner = "z.mesh.test", .owner_len = 11},
    };
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_dns_update_build(1, ZONE, ops, 4, val, &b), 0);
    /* ldns reads it as an UPDATE with 4 update RRs */
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, b.data, b.len), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
    assert_int_equal(ldns_pkt_nscount(p), 4);
    ldns_pkt_free(p);
    dmp_dns_update_t u;
    assert_int_equal(dmp_dns_update_parse(b.data, b.len, ZONE, NULL, &u), 0);
    assert_int_equal(u.rcode, 0);
    assert_int_equal(u.n_ops, 4);
    assert_int_equal(u.ops[0].value_len, 700);
    assert_memory_equal(dmp_dns_update_value(&u, u.ops[0].value_off), val, 700);
    assert_int_equal(u.ops[1].kind, DMP_UPD_DEL_VALUE);
    assert_int_equal(u.ops[2].kind, DMP_UPD_DEL_RRSET);
    assert_int_equal(u.ops[3].kind, DMP_UPD_DEL_NAME);
    dmp_dns_update_free(&u);
    dmp_buf_free(&b);
}

/* A forged section count in a short message: the parser allocated an entry per counted RR
 * (65535 ops, 19 MB) before reading any; now no more than the message can hold. */
static void test_update_forged_counts(void **state)
{
    (void)state;
    uint8_t m[600];
    size_t n = raw_update(m, ZONE, "a." ZONE, DMP_DNS_T_TXT, DMP_DNS_C_IN, 60,
                          (const uint8_t *)"\x02hi", 3, 1);
    for (int section = 0; section < 2; section++) {
        uint8_t f[600];
        memcpy(f, m, n);
        dmp_store_u16be(f + 6 + 2 * section, 65535);
        dmp_dns_update_t u;
        dmp_upd_limits_t lim = {2048, 86400};
        assert_int_equal(dmp_dns_update_parse(f, n, ZONE, &lim, &u), 0);
        assert_int_equal(u.rcode, DMP_DNS_RCODE_FORMERR);
        void *arr = section == 0 ? (void *)u.prqs : (void *)u.ops;
        size_t one = section == 0 ? sizeof(dmp_prq_t) : sizeof(dmp_upd_op_t);
        assert_non_null(arr);
        assert_true(malloc_usable_size(arr) < 8 * one);
        dmp_dns_update_free(&u);
    }
}

/* Found by fuzz_dns_update (10M-execution run, 2 Dec 2026): a delete at an owner with NUL
 * bytes inside a label gave an op whose owner string was cut short at the first NUL (a C string
 * shorter than owner_len); and an empty value to delete did pointer arithmetic on NULL (UBSan). */
static void test_update_nul_label_and_empty_value(void **state)
{
    (void)state;
    static const uint8_t crash[] = {
        0xe8, 0x04, 0x28, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x04, 0x6d, 0x65,
        0x73, 0x68, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x06, 0x00, 0x01, 0x01, 0x61, 0x07,
        0x74, 0x65, 0x88, 0x7f, 0x00, 0x00, 0x00, 0x04, 0x6d, 0x65, 0x73, 0x68, 0x04, 0x74, 0x65,
        0x73, 0x74, 0x00, 0x08, 0x31, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x74,
        0x65, 0x88, 0x8b, 0x94, 0x9a, 0x79, 0x04, 0x6d, 0x65, 0x73, 0x68, 0x04, 0x74, 0x65, 0x73,
        0x74, 0x00, 0x08, 0x31, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x3b, 0x3f};
    dmp_dns_update_t u;
    dmp_upd_limits_t lim = {300, 3600};
    assert_int_equal(dmp_dns_update_parse(crash, sizeof crash, ZONE, &lim, &u), 0);
    assert_int_equal(u.n_ops, 1);
    assert_int_equal(u.ops[0].kind, DMP_UPD_NOOP);
    assert_int_equal(strlen(u.ops[0].owner), u.ops[0].owner_len);
    assert_string_equal(u.ops[0].owner, "a.te\x88\x7f???.mesh.test");
    dmp_dns_update_free(&u);
    /* delete of the empty value "" (nothing in the values buffer: the NULL + 0 case) */
    uint8_t m[600];
    size_t n = raw_update(m, ZONE, "a." ZONE, DMP_DNS_T_TXT, DMP_DNS_C_NONE, 0,
                          (const uint8_t *)"\x00", 1, 1);
    assert_int_equal(dmp_dns_update_parse(m, n, ZONE, &lim, &u), 0);
    assert_int_equal(u.rcode, DMP_DNS_RCODE_NOERROR);
    assert_int_equal(u.n_ops, 1);
    assert_int_equal(u.ops[0].kind, DMP_UPD_DEL_VALUE);
    assert_int_equal(u.ops[0].value_len, 0);
    dmp_dns_update_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_vectors_parse),
        cmocka_unit_test(test_update_rcodes),
        cmocka_unit_test(test_update_compression_loops),
        cmocka_unit_test(test_update_prereqs),
        cmocka_unit_test(test_update_build_roundtrip),
        cmocka_unit_test(test_update_forged_counts),
        cmocka_unit_test(test_update_nul_label_and_empty_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
