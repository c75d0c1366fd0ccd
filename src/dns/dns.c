/* dns: authoritative query parser and answer builder.
 *
 * The whole query path works on the caller's packet and output buffer: nothing is allocated,
 * every read is bounds-checked against qlen and every write against the reply limit. The
 * behaviour (and where it differs from the Python reference) is described in docs/dns.md. */
#include "dns/dns.h"

#include <string.h>

#include "util/util.h"

/* Header flag bits (second 16-bit word). */
#define F_QR 0x8000u
#define F_AA 0x0400u
#define F_TC 0x0200u
#define F_RD 0x0100u
#define F_CD 0x0010u
#define OPCODE_OF(f) (((f) >> 11) & 0xFu)

#define SOA_REFRESH 3600u
#define SOA_RETRY 600u
#define SOA_EXPIRE 604800u

/* ---------------------------------------------------------------------------------------- */
/* names                                                                                       */

static inline uint8_t lower_ascii(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* 1 for the bytes allowed in names that reach the lookup: LDH (either case) and underscore. */
static const uint8_t k_ldh[256] = {
    ['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['-'] = 1, ['_'] = 1,
};

int dmp_dns_name_to_text(const uint8_t *wire, size_t len, bool lower, char *out, size_t cap,
                         size_t *out_len, size_t *consumed)
{
    if (!wire || !out || cap == 0)
        return DMP_EINVAL;
    size_t off = 0, o = 0;
    for (;;) {
        if (off >= len)
            return DMP_ENAME;
        uint8_t l = wire[off];
        if (l == 0) {
            off++;
            break;
        }
        if (l > 63 || off + 1 + l > len || off + 1 + l >= 255)
            return DMP_ENAME;
        if (o != 0) {
            if (o + 1 >= cap)
                return DMP_ETOOBIG;
            out[o++] = '.';
        }
        if (o + l >= cap)
            return DMP_ETOOBIG;
        for (size_t i = 0; i < l; i++) {
            uint8_t c = wire[off + 1 + i];
            out[o++] = (char)(lower ? lower_ascii(c) : c);
        }
        off += 1 + (size_t)l;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    if (consumed)
        *consumed = off;
    return 0;
}

int dmp_dns_name_from_text(const char *name, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!name || !out)
        return DMP_EINVAL;
    if (len > 0 && name[len - 1] == '.')
        len--;
    size_t o = 0;
    size_t i = 0;
    while (len > 0) {
        const char *dot = memchr(name + i, '.', len - i);
        size_t j = dot ? (size_t)(dot - name) : len;
        size_t l = j - i;
        if (l == 0 || l > 63)
            return DMP_ENAME;
        if (o + 1 + l + 1 > 255)
            return DMP_ENAME;
        if (o + 1 + l + 1 > cap)
            return DMP_ETOOBIG;
        out[o++] = (uint8_t)l;
        memcpy(out + o, name + i, l);
        o += l;
        if (j == len)
            break;
        i = j + 1;
    }
    if (o + 1 > cap)
        return DMP_ETOOBIG;
    out[o++] = 0;
    *out_len = o;
    return 0;
}

/* Word-at-a-time hash of the lowercased dotted text: wyhash-style 64x64->128 multiply-fold per
 * 8 bytes (little-endian loads, so the value is the same on every host), finished with the
 * murmur3 fmix64 avalanche so the low bits (used as `hash % shards`) are well mixed. Seedless
 * and stable: it may be used for routing and in-memory tables, never as a security boundary. */
#define HK0 0xa0761d6478bd642fULL
#define HK1 0xe7037ed1a0b428dbULL
#define HK2 0x8ebc6af09c88c6e3ULL

static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static uint64_t hash_bytes(const uint8_t *p, size_t len)
{
    uint64_t h = HK2 ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        h = mum(load_le64(p + i) ^ HK0, h ^ HK1);
    uint8_t t[8] = {0};
    memcpy(t, p + i, len - i);
    h = mum(load_le64(t) ^ HK0, h ^ HK1);
    return fmix64(h);
}

uint64_t dmp_dns_name_hash(const char *lname, size_t len)
{
    if (!lname)
        len = 0;
    return hash_bytes((const uint8_t *)lname, len);
}

/* ---------------------------------------------------------------------------------------- */
/* query parsing                                                                               */

/* Question name: plain labels only (a compression pointer in the first name of a message can
 * only point into the header or back into itself, so it is refused: no loops are possible).
 * Fills the lowercased text and a bitmap of label starts (wire offsets relative to the name). */
typedef struct {
    uint64_t label_start[4]; /* bit i set: a label length byte sits at name offset i */
} label_map_t;

static int parse_qname(const uint8_t *q, size_t qlen, size_t off, dmp_dns_query_t *out,
                       label_map_t *lm)
{
    size_t start = off, o = 0;
    bool ldh = true;
    for (;;) {
        if (off >= qlen)
            return DMP_EFORMAT;
        uint8_t l = q[off];
        if (l == 0) {
            off++;
            break;
        }
        if (l & 0xC0) /* pointer or reserved extended label type */
            return DMP_EFORMAT;
        size_t rel = off - start;
        if (rel + 1 + l + 1 > 255 || off + 1 + l > qlen)
            return DMP_EFORMAT;
        if (lm)
            lm->label_start[rel >> 6] |= 1ULL << (rel & 63);
        if (o != 0)
            out->lname[o++] = '.';
        const uint8_t *p = q + off + 1;
        uint8_t ok = 1;
        for (size_t i = 0; i < l; i++) {
            ok &= k_ldh[p[i]];
            out->lname[o + i] = (char)lower_ascii(p[i]);
        }
        o += l;
        ldh &= ok != 0;
        off += 1 + (size_t)l;
    }
    /* o <= 253 because the wire name is <= 255 bytes */
    out->lname[o] = '\0';
    out->lname_len = o;
    out->qname_wire = q + start;
    out->qname_wire_len = off - start;
    out->name_ldh = ldh;
    return (int)off;
}

/* Skip an RR owner name outside the question: labels, ended by a root byte or a pointer
 * (pointers are not followed, so no loops). Returns the new offset or <0. */
static long skip_name(const uint8_t *q, size_t qlen, size_t off)
{
    size_t start = off;
    for (;;) {
        if (off >= qlen)
            return DMP_EFORMAT;
        uint8_t l = q[off];
        if (l == 0)
            return (long)(off + 1);
        if ((l & 0xC0) == 0xC0)
            return off + 2 <= qlen ? (long)(off + 2) : DMP_EFORMAT;
        if (l & 0xC0)
            return DMP_EFORMAT;
        if (off + 1 + l > qlen || off - start + 1 + l > 255)
            return DMP_EFORMAT;
        off += 1 + (size_t)l;
    }
}

static int parse_query(const uint8_t *q, size_t qlen, dmp_dns_query_t *out, label_map_t *lm)
{
    if (qlen < DMP_DNS_HDR_LEN)
        return DMP_ETRUNC;
    out->id = dmp_load_u16be(q);
    out->flags = dmp_load_u16be(q + 2);
    out->has_opt = false;
    out->opt_payload = 0;
    out->opt_version = 0;
    out->opt_do = false;
    out->qname_wire = NULL;
    out->qname_wire_len = 0;
    out->lname[0] = '\0';
    out->lname_len = 0;
    out->qtype = 0;
    out->qclass = 0;
    out->question_end = 0;
    uint16_t qd = dmp_load_u16be(q + 4);
    if (qd != 1)
        return DMP_EUNSUPPORTED;
    int r = parse_qname(q, qlen, DMP_DNS_HDR_LEN, out, lm);
    if (r < 0)
        return r;
    size_t off = (size_t)r;
    if (off + 4 > qlen)
        return DMP_EFORMAT;
    out->qtype = dmp_load_u16be(q + off);
    out->qclass = dmp_load_u16be(q + off + 2);
    off += 4;
    out->question_end = off;

    uint32_t an = dmp_load_u16be(q + 6), ns = dmp_load_u16be(q + 8), ar = dmp_load_u16be(q + 10);
    uint32_t total = an + ns + ar;
    for (uint32_t i = 0; i < total; i++) {
        size_t owner = off;
        long s = skip_name(q, qlen, off);
        if (s < 0)
            return DMP_EFORMAT;
        off = (size_t)s;
        if (off + 10 > qlen)
            return DMP_EFORMAT;
        uint16_t type = dmp_load_u16be(q + off);
        uint16_t cls = dmp_load_u16be(q + off + 2);
        uint32_t ttl = dmp_load_u32be(q + off + 4);
        uint16_t rdlen = dmp_load_u16be(q + off + 8);
        off += 10;
        if (off + rdlen > qlen)
            return DMP_EFORMAT;
        if (type == DMP_DNS_T_OPT) {
            /* RFC 6891 6.1.1: one OPT, in the additional section, owned by the root */
            if (i < an + ns || out->has_opt || q[owner] != 0)
                return DMP_EFORMAT;
            size_t p = off, end = off + rdlen;
            while (p < end) {
                if (end - p < 4)
                    return DMP_EFORMAT;
                size_t olen = dmp_load_u16be(q + p + 2);
                if (end - p - 4 < olen)
                    return DMP_EFORMAT;
                p += 4 + olen;
            }
            out->has_opt = true;
            out->opt_payload = cls;
            out->opt_version = (uint8_t)(ttl >> 16);
            out->opt_do = (ttl & 0x8000u) != 0;
        }
        off += rdlen;
    }
    /* Bytes after the last declared RR are ignored (see docs/dns.md). */
    return 0;
}

int dmp_dns_query_parse(const uint8_t *q, size_t qlen, dmp_dns_query_t *out)
{
    if (!q || !out)
        return DMP_EINVAL;
    return parse_query(q, qlen, out, NULL);
}

int dmp_dns_query_route(const uint8_t *q, size_t qlen, uint64_t *hash)
{
    if (!q || !hash)
        return DMP_EINVAL;
    if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80) || dmp_load_u16be(q + 4) != 1)
        return DMP_EFORMAT;
    uint8_t text[256];
    size_t off = DMP_DNS_HDR_LEN, o = 0;
    for (;;) {
        if (off >= qlen)
            return DMP_EFORMAT;
        uint8_t l = q[off];
        if (l == 0)
            break;
        if ((l & 0xC0) || off - DMP_DNS_HDR_LEN + 1 + l + 1 > 255 || off + 1 + l > qlen)
            return DMP_EFORMAT;
        if (o != 0)
            text[o++] = '.';
        const uint8_t *p = q + off + 1;
        for (size_t i = 0; i < l; i++)
            text[o + i] = lower_ascii(p[i]);
        o += l;
        off += 1 + (size_t)l;
    }
    *hash = hash_bytes(text, o);
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* reply writer                                                                                */

/* Writes into out[0..lim); once a write does not fit, ovf is set and later writes are no-ops,
 * so a builder can run to the end and check once. Invariant: len <= lim. */
typedef struct {
    uint8_t *p;
    size_t lim;
    size_t len;
    bool ovf;
} wr_t;

static inline void w_bytes(wr_t *w, const void *d, size_t n)
{
    if (w->ovf || w->lim - w->len < n) {
        w->ovf = true;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}

static inline void w_u32(wr_t *w, uint32_t v)
{
    uint8_t b[4];
    dmp_store_u32be(b, v);
    w_bytes(w, b, 4);
}

/* RR header: owner given as a compression pointer to offset ptr. */
static inline void w_rrhdr(wr_t *w, uint16_t ptr, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
    uint8_t b[12];
    dmp_store_u16be(b, (uint16_t)(0xC000u | ptr));
    dmp_store_u16be(b + 2, type);
    dmp_store_u16be(b + 4, DMP_DNS_C_IN);
    dmp_store_u32be(b + 6, ttl);
    dmp_store_u16be(b + 10, rdlen);
    w_bytes(w, b, 12);
}

/* Per-query view of the zone configuration, in wire form. Lives on the stack. */
typedef struct {
    uint8_t apex[256];
    size_t apex_len;  /* wire length, only after zone_offset converted it (non-LDH names) */
    size_t apex_tlen; /* text length of z->apex; 0: no served zone */
    uint8_t ns[256];
    size_t ns_len; /* 0: no NS */
    uint8_t rname[256];
    size_t rname_len; /* 0: no RNAME */
    bool rr_ready;    /* ns / rname converted (lazily: positive TXT answers never need them) */
    uint16_t payload; /* advertised EDNS payload */
} zone_wire_t;

static void zone_prepare(const dmp_dns_zone_t *z, zone_wire_t *zw)
{
    zw->apex_len = zw->ns_len = zw->rname_len = 0;
    zw->payload = z->edns_payload ? z->edns_payload : DMP_DNS_DEFAULT_EDNS_PAYLOAD;
    if (zw->payload < DMP_DNS_MIN_UDP)
        zw->payload = DMP_DNS_MIN_UDP;
    zw->apex_tlen = strnlen(z->apex, sizeof(z->apex));
    zw->rr_ready = false;
}

/* Converts NS and RNAME on first use. */
static void zone_rr(const dmp_dns_zone_t *z, zone_wire_t *zw)
{
    if (zw->rr_ready)
        return;
    zw->rr_ready = true;
    size_t n;
    size_t nl = strnlen(z->ns, sizeof(z->ns));
    if (nl > 0 && nl < sizeof(z->ns) &&
        dmp_dns_name_from_text(z->ns, nl, zw->ns, sizeof(zw->ns), &n) == 0)
        zw->ns_len = n;
    size_t rl = strnlen(z->soa_rname, sizeof(z->soa_rname));
    if (rl > 0 && rl < sizeof(z->soa_rname) &&
        dmp_dns_name_from_text(z->soa_rname, rl, zw->rname, sizeof(zw->rname), &n) == 0)
        zw->rname_len = n;
}

static bool zone_has_soa(const dmp_dns_zone_t *z, zone_wire_t *zw)
{
    if (!zw->apex_tlen)
        return false;
    zone_rr(z, zw);
    return zw->ns_len && zw->rname_len;
}

static void w_soa(wr_t *w, const zone_wire_t *zw, const dmp_dns_zone_t *z, uint16_t owner_ptr)
{
    size_t rdlen = zw->ns_len + zw->rname_len + 20;
    w_rrhdr(w, owner_ptr, DMP_DNS_T_SOA, z->ttl, (uint16_t)rdlen);
    w_bytes(w, zw->ns, zw->ns_len);
    w_bytes(w, zw->rname, zw->rname_len);
    w_u32(w, z->soa_serial);
    w_u32(w, SOA_REFRESH);
    w_u32(w, SOA_RETRY);
    w_u32(w, SOA_EXPIRE);
    w_u32(w, z->ttl);
}

static void w_opt(wr_t *w, uint16_t payload, uint16_t rcode)
{
    uint8_t b[11] = {0};
    dmp_store_u16be(b + 1, DMP_DNS_T_OPT);
    dmp_store_u16be(b + 3, payload);
    b[5] = (uint8_t)(rcode >> 4); /* extended rcode; version 0, flags 0 */
    w_bytes(w, b, sizeof(b));
}

/* Header + (optionally) the question copied verbatim from the query (0x20 case preserved).
 * Counts other than QDCOUNT start at 0 and are patched by finish(). */
static void w_start(wr_t *w, const uint8_t *q, const dmp_dns_query_t *qi, bool with_q,
                    uint16_t rcode, bool aa, bool tc)
{
    uint16_t f = F_QR | (qi->flags & (0x7800u | F_RD | F_CD)) | (rcode & 0xF);
    if (aa)
        f |= F_AA;
    if (tc)
        f |= F_TC;
    uint8_t h[12] = {0};
    dmp_store_u16be(h, qi->id);
    dmp_store_u16be(h + 2, f);
    dmp_store_u16be(h + 4, with_q ? 1 : 0);
    w_bytes(w, h, 12);
    if (with_q)
        w_bytes(w, q + DMP_DNS_HDR_LEN, qi->question_end - DMP_DNS_HDR_LEN);
}

static void w_counts(wr_t *w, uint16_t an, uint16_t ns, uint16_t ar)
{
    if (w->ovf || w->len < 12)
        return;
    dmp_store_u16be(w->p + 6, an);
    dmp_store_u16be(w->p + 8, ns);
    dmp_store_u16be(w->p + 10, ar);
}

/* A reply with no records besides the question and (when the query had one) the OPT. */
static void w_bare(wr_t *w, const uint8_t *q, const dmp_dns_query_t *qi, bool with_q,
                   uint16_t rcode, bool aa, bool tc, uint16_t payload)
{
    w->len = 0;
    w->ovf = false;
    w_start(w, q, qi, with_q, rcode, aa, tc);
    if (qi->has_opt) {
        w_opt(w, payload, rcode);
        w_counts(w, 0, 0, 1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* responder                                                                                   */

static int finish(wr_t *w, size_t *out_len, dmp_dns_result_t *res, const dmp_dns_query_t *qi,
                  int outcome, uint16_t rcode)
{
    if (w->ovf) { /* output buffer too small even for this reply: send nothing */
        *out_len = 0;
        outcome = DMP_DNS_OUT_DROPPED;
    } else {
        *out_len = w->len;
    }
    if (res) {
        res->qtype = qi->qtype;
        res->rcode = (uint8_t)rcode;
        res->outcome = outcome;
    }
    return 0;
}

/* Offset of the apex inside the question name (a compression pointer target), or -1 when the
 * name is not at or below the apex (or the apex is not a valid name: then nothing is in zone).
 * LDH names hold no '.' inside a label, so their lowercased text can be compared directly (a
 * label starts at the same offset in text and wire). Other names are compared in wire form at
 * label boundaries so a label holding a '.' byte cannot fake a match. */
static long zone_offset(const dmp_dns_zone_t *z, const dmp_dns_query_t *qi, const label_map_t *lm,
                        zone_wire_t *zw)
{
    size_t al = zw->apex_tlen;
    if (al >= sizeof(z->apex))
        return -1;
    if (qi->name_ldh) {
        /* An invalid apex (empty or long label, trailing dot, odd bytes) can never equal the
         * suffix of an LDH name, so it matches nothing, as in the wire path. */
        if (qi->lname_len < al)
            return -1;
        size_t rel = qi->lname_len - al;
        if (rel != 0 && (rel == 1 || qi->lname[rel - 1] != '.'))
            return -1;
        for (size_t i = 0; i < al; i++)
            if ((uint8_t)qi->lname[rel + i] != lower_ascii((uint8_t)z->apex[i]))
                return -1;
        return (long)(DMP_DNS_HDR_LEN + rel);
    }
    size_t n;
    if (dmp_dns_name_from_text(z->apex, al, zw->apex, sizeof(zw->apex), &n) != 0 || n <= 1 ||
        z->apex[al - 1] == '.')
        return -1;
    zw->apex_len = n;
    if (qi->qname_wire_len < n)
        return -1;
    size_t rel = qi->qname_wire_len - n;
    if (!(lm->label_start[rel >> 6] & (1ULL << (rel & 63))))
        return -1;
    const uint8_t *a = zw->apex, *b = qi->qname_wire + rel;
    for (size_t i = 0; i < n; i++)
        if (lower_ascii(a[i]) != lower_ascii(b[i]))
            return -1;
    return (long)(DMP_DNS_HDR_LEN + rel);
}

int dmp_dns_respond(const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
                    dmp_dns_lookup_fn lookup, void *ctx, uint8_t *out, size_t cap, size_t *out_len,
                    dmp_dns_result_t *res)
{
    if (!z || !out_len || (!q && qlen) || (!out && cap)) {
        if (out_len)
            *out_len = 0;
        return DMP_EINVAL;
    }
    *out_len = 0;
    dmp_dns_query_t qi;
    qi.qtype = 0;
    if (res) {
        res->qtype = 0;
        res->rcode = 0;
        res->outcome = DMP_DNS_OUT_DROPPED;
    }
    if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80))
        return 0; /* not a query: never answer (no reply loops) */

    zone_wire_t zw;
    zone_prepare(z, &zw);
    label_map_t lm = {{0, 0, 0, 0}};
    int pr = parse_query(q, qlen, &qi, &lm);

    wr_t w = {.p = out, .lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap, .len = 0};
    unsigned opcode = OPCODE_OF(qi.flags);

    if (opcode != DMP_DNS_OPCODE_QUERY) {
        /* The question is echoed only when the packet parsed; else a bare header. */
        if (pr != 0) {
            qi.has_opt = false;
            qi.qtype = 0;
        }
        w_bare(&w, q, &qi, pr == 0, DMP_DNS_RCODE_NOTIMP, false, false, zw.payload);
        return finish(&w, out_len, res, &qi,
                      opcode == DMP_DNS_OPCODE_UPDATE ? DMP_DNS_OUT_UPDATE : DMP_DNS_OUT_NOTIMP,
                      DMP_DNS_RCODE_NOTIMP);
    }
    if (pr != 0) {
        qi.has_opt = false;
        w_bare(&w, q, &qi, false, DMP_DNS_RCODE_FORMERR, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_FORMERR, DMP_DNS_RCODE_FORMERR);
    }
    if (qi.has_opt && qi.opt_version > 0) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_BADVERS, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_BADVERS, DMP_DNS_RCODE_BADVERS);
    }

    /* UDP size limit: the requester's payload (at least 512), capped by what we advertise. */
    size_t udp_lim = DMP_DNS_MIN_UDP;
    if (qi.has_opt) {
        udp_lim = qi.opt_payload < DMP_DNS_MIN_UDP ? DMP_DNS_MIN_UDP : qi.opt_payload;
        if (udp_lim > zw.payload)
            udp_lim = zw.payload;
    }
    if (t == DMP_DNS_UDP && udp_lim < w.lim)
        w.lim = udp_lim;

    uint16_t qt = qi.qtype;
    /* Meta types that are never valid as a question (RFC 6891 6.1.1, RFC 8945 5.2). */
    if (qt == DMP_DNS_T_OPT || qt == DMP_DNS_T_TSIG) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_FORMERR, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_FORMERR, DMP_DNS_RCODE_FORMERR);
    }
    if (qi.qclass != DMP_DNS_C_IN && qi.qclass != DMP_DNS_C_ANY) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_REFUSED, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_REFUSED, DMP_DNS_RCODE_REFUSED);
    }

    long apex_off = -1; /* offset of the apex inside the question name */
    bool at_apex = false;
    if (zw.apex_tlen) {
        apex_off = zone_offset(z, &qi, &lm, &zw);
        if (apex_off < 0) {
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_REFUSED, false, false, zw.payload);
            return finish(&w, out_len, res, &qi, DMP_DNS_OUT_REFUSED, DMP_DNS_RCODE_REFUSED);
        }
        at_apex = apex_off == DMP_DNS_HDR_LEN;
    }
    if (qt == DMP_DNS_T_AXFR || qt == DMP_DNS_T_IXFR) {
        if (t == DMP_DNS_TCP) {
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_NOTIMP, false, false, zw.payload);
            return finish(&w, out_len, res, &qi, DMP_DNS_OUT_XFR, DMP_DNS_RCODE_NOTIMP);
        }
        if (qt == DMP_DNS_T_IXFR && at_apex && zone_has_soa(z, &zw)) {
            /* RFC 1995 2: over UDP, a single SOA tells the client to retry over TCP */
            w.len = 0;
            w.ovf = false;
            w_start(&w, q, &qi, true, DMP_DNS_RCODE_NOERROR, true, false);
            w_soa(&w, &zw, z, DMP_DNS_HDR_LEN);
            if (qi.has_opt)
                w_opt(&w, zw.payload, 0);
            w_counts(&w, 1, 0, qi.has_opt ? 1 : 0);
            return finish(&w, out_len, res, &qi, DMP_DNS_OUT_ANSWERED, DMP_DNS_RCODE_NOERROR);
        }
        uint16_t rc = qt == DMP_DNS_T_AXFR ? DMP_DNS_RCODE_FORMERR : DMP_DNS_RCODE_NOTIMP;
        w_bare(&w, q, &qi, true, rc, false, false, zw.payload);
        return finish(&w, out_len, res, &qi,
                      rc == DMP_DNS_RCODE_FORMERR ? DMP_DNS_OUT_FORMERR : DMP_DNS_OUT_NOTIMP, rc);
    }
    if (qt == DMP_DNS_T_MAILA || qt == DMP_DNS_T_MAILB || qt == DMP_DNS_T_TKEY) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_NOTIMP, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_NOTIMP, DMP_DNS_RCODE_NOTIMP);
    }

    /* Decide the answer. */
    enum { ANS_NONE, ANS_TXT, ANS_A, ANS_AAAA, ANS_NS, ANS_SOA } ans = ANS_NONE;
    bool exists = false;
    dmp_dns_rrset_view_t view = {NULL, 0, 0};

    if (at_apex) {
        exists = true;
        zone_rr(z, &zw);
        if (qt == DMP_DNS_T_A && z->has_a)
            ans = ANS_A;
        else if (qt == DMP_DNS_T_AAAA && z->has_aaaa)
            ans = ANS_AAAA;
        else if (qt == DMP_DNS_T_NS && zw.ns_len)
            ans = ANS_NS;
        else if (qt == DMP_DNS_T_SOA && zone_has_soa(z, &zw))
            ans = ANS_SOA;
    }
    bool need_lookup = ans == ANS_NONE && qi.name_ldh && qi.lname_len > 0 &&
                       (!at_apex || qt == DMP_DNS_T_TXT || qt == DMP_DNS_T_ANY);
    if (need_lookup) {
        int lr = lookup ? lookup(ctx, qi.lname, qi.lname_len, &view) : DMP_EUNSUPPORTED;
        if (lr == 0 && view.count > 0 && (view.len < 12u * view.count || !view.rrs))
            lr = DMP_EFORMAT; /* a view that cannot hold its RRs: treat as a store error */
        if (lr == 0) {
            exists = true;
            if (view.count > 0 && (qt == DMP_DNS_T_TXT || qt == DMP_DNS_T_ANY))
                ans = ANS_TXT;
        } else if (lr != DMP_ENOTFOUND) {
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_SERVFAIL, false, false, zw.payload);
            return finish(&w, out_len, res, &qi, DMP_DNS_OUT_SERVFAIL, DMP_DNS_RCODE_SERVFAIL);
        }
    }
    if (ans == ANS_NONE && at_apex && qt == DMP_DNS_T_ANY && zone_has_soa(z, &zw))
        ans = ANS_SOA; /* RFC 8482: one RRset is enough for ANY */
    /* The root name (no served zone) exists: it is never looked up. */
    if (qi.lname_len == 0)
        exists = true;

    uint16_t rcode = (ans == ANS_NONE && !exists) ? DMP_DNS_RCODE_NXDOMAIN : 0;
    int outcome = ans != ANS_NONE ? DMP_DNS_OUT_ANSWERED
                  : exists        ? DMP_DNS_OUT_NODATA
                                  : DMP_DNS_OUT_NXDOMAIN;

    w.len = 0;
    w.ovf = false;
    w_start(&w, q, &qi, true, rcode, true, false);
    uint16_t an = 0, ns = 0;
    switch (ans) {
    case ANS_TXT:
        w_bytes(&w, view.rrs, view.len);
        an = view.count;
        break;
    case ANS_A:
        w_rrhdr(&w, DMP_DNS_HDR_LEN, DMP_DNS_T_A, z->ttl, 4);
        w_bytes(&w, z->a, 4);
        an = 1;
        break;
    case ANS_AAAA:
        w_rrhdr(&w, DMP_DNS_HDR_LEN, DMP_DNS_T_AAAA, z->ttl, 16);
        w_bytes(&w, z->aaaa, 16);
        an = 1;
        break;
    case ANS_NS:
        w_rrhdr(&w, DMP_DNS_HDR_LEN, DMP_DNS_T_NS, z->ttl, (uint16_t)zw.ns_len);
        w_bytes(&w, zw.ns, zw.ns_len);
        an = 1;
        break;
    case ANS_SOA:
        w_soa(&w, &zw, z, DMP_DNS_HDR_LEN);
        an = 1;
        break;
    case ANS_NONE:
        if (apex_off >= 0 &&
            zone_has_soa(z, &zw)) { /* RFC 2308 3: SOA in authority of negative answers */
            w_soa(&w, &zw, z, (uint16_t)apex_off);
            ns = 1;
        }
        break;
    }
    if (qi.has_opt)
        w_opt(&w, zw.payload, rcode);
    w_counts(&w, an, ns, qi.has_opt ? 1 : 0);

    if (w.ovf) {
        w.lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap;
        if (t == DMP_DNS_UDP) {
            /* RFC 2181 9: set TC and send only what is needed to retry over TCP */
            w_bare(&w, q, &qi, true, rcode, true, true, zw.payload);
            return finish(&w, out_len, res, &qi, DMP_DNS_OUT_TRUNCATED, rcode);
        }
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_SERVFAIL, false, false, zw.payload);
        return finish(&w, out_len, res, &qi, DMP_DNS_OUT_SERVFAIL, DMP_DNS_RCODE_SERVFAIL);
    }
    return finish(&w, out_len, res, &qi, outcome, rcode);
}

int dmp_dns_tc_stub(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!out_len || (!q && qlen) || (!out && cap))
        return DMP_EINVAL;
    *out_len = 0;
    if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80))
        return 0;
    dmp_dns_query_t qi;
    if (parse_query(q, qlen, &qi, NULL) != 0 || OPCODE_OF(qi.flags) != DMP_DNS_OPCODE_QUERY)
        return 0;
    wr_t w = {.p = out, .lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap, .len = 0};
    w_bare(&w, q, &qi, true, 0, true, true, DMP_DNS_DEFAULT_EDNS_PAYLOAD);
    if (!w.ovf)
        *out_len = w.len;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* TXT RR precompilation                                                                       */

int dmp_dns_txt_rrs_build(const dmp_dns_value_t *vals, size_t n, uint32_t ttl, dmp_buf_t *out)
{
    if ((!vals && n) || !out)
        return DMP_EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!vals[i].data && vals[i].len)
            return DMP_EINVAL;
        size_t chunks = vals[i].len == 0 ? 1 : (vals[i].len + 254) / 255;
        size_t rdlen = vals[i].len + chunks;
        if (rdlen > 65535)
            return DMP_ETOOBIG;
        total += 12 + rdlen;
    }
    int r = dmp_buf_reserve(out, total);
    if (r != 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        size_t len = vals[i].len;
        size_t chunks = len == 0 ? 1 : (len + 254) / 255;
        uint8_t *p = out->data + out->len;
        dmp_store_u16be(p, 0xC00C);
        dmp_store_u16be(p + 2, DMP_DNS_T_TXT);
        dmp_store_u16be(p + 4, DMP_DNS_C_IN);
        dmp_store_u32be(p + 6, ttl);
        dmp_store_u16be(p + 10, (uint16_t)(len + chunks));
        p += 12;
        const uint8_t *d = vals[i].data;
        size_t left = len;
        for (size_t c = 0; c < chunks; c++) {
            size_t k = left > 255 ? 255 : left;
            *p++ = (uint8_t)k;
            if (k)
                memcpy(p, d, k);
            p += k;
            d += k;
            left -= k;
        }
        out->len += 12 + len + chunks;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* names for metrics                                                                           */

const char *dmp_dns_outcome_name(int outcome)
{
    static const char *const names[DMP_DNS_OUT_COUNT_] = {
        "answered", "nodata",    "nxdomain", "refused", "formerr", "notimp",
        "servfail", "truncated", "badvers",  "dropped", "update",  "xfr",
    };
    if (outcome < 0 || outcome >= DMP_DNS_OUT_COUNT_)
        return "unknown";
    return names[outcome];
}

const char *dmp_dns_qtype_name(uint16_t qtype)
{
    switch (qtype) {
    case DMP_DNS_T_A:
        return "A";
    case DMP_DNS_T_NS:
        return "NS";
    case DMP_DNS_T_CNAME:
        return "CNAME";
    case DMP_DNS_T_SOA:
        return "SOA";
    case DMP_DNS_T_PTR:
        return "PTR";
    case DMP_DNS_T_MX:
        return "MX";
    case DMP_DNS_T_TXT:
        return "TXT";
    case DMP_DNS_T_AAAA:
        return "AAAA";
    case DMP_DNS_T_SRV:
        return "SRV";
    case DMP_DNS_T_OPT:
        return "OPT";
    case DMP_DNS_T_DS:
        return "DS";
    case DMP_DNS_T_RRSIG:
        return "RRSIG";
    case DMP_DNS_T_DNSKEY:
        return "DNSKEY";
    case 65:
        return "HTTPS";
    case 257:
        return "CAA";
    case DMP_DNS_T_TKEY:
        return "TKEY";
    case DMP_DNS_T_TSIG:
        return "TSIG";
    case DMP_DNS_T_IXFR:
        return "IXFR";
    case DMP_DNS_T_AXFR:
        return "AXFR";
    case DMP_DNS_T_ANY:
        return "ANY";
    default:
        return "other";
    }
}

const char *dmp_dns_rcode_name(int rcode)
{
    switch (rcode) {
    case DMP_DNS_RCODE_NOERROR:
        return "NOERROR";
    case DMP_DNS_RCODE_FORMERR:
        return "FORMERR";
    case DMP_DNS_RCODE_SERVFAIL:
        return "SERVFAIL";
    case DMP_DNS_RCODE_NXDOMAIN:
        return "NXDOMAIN";
    case DMP_DNS_RCODE_NOTIMP:
        return "NOTIMP";
    case DMP_DNS_RCODE_REFUSED:
        return "REFUSED";
    case 9:
        return "NOTAUTH";
    case 10:
        return "NOTZONE";
    case DMP_DNS_RCODE_BADVERS:
        return "BADVERS";
    default:
        return "other";
    }
}

const char *dmp_dns_strerror(int err)
{
    switch (err) {
    case DMP_DNS_ENOSPACE:
        return "DNS reply does not fit the output buffer";
    default:
        return dmp_strerror(err);
    }
}
