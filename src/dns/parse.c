/* dns: query parsing, name conversion and the routing hash. Every read is bounds-checked
 * against the packet length; nothing is allocated. */
#include <string.h>

#include "dns/parse_int.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------- */
/* names                                                                                       */

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

int dmp_dns__parse_query(const uint8_t *q, size_t qlen, dmp_dns_query_t *out, label_map_t *lm)
{
    if (qlen < DMP_DNS_HDR_LEN)
        return DMP_ETRUNC;
    out->id = dmp_load_u16be(q);
    out->flags = dmp_load_u16be(q + 2);
    out->has_opt = false;
    out->opt_payload = 0;
    out->opt_version = 0;
    out->opt_do = false;
    out->cookie = NULL;
    out->cookie_len = 0;
    out->want_nsid = false;
    out->want_keepalive = false;
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
                uint16_t code = dmp_load_u16be(q + p);
                size_t olen = dmp_load_u16be(q + p + 2);
                if (end - p - 4 < olen)
                    return DMP_EFORMAT;
                if (code == DMP_DNS_OPT_COOKIE && !out->cookie) {
                    /* kept even when malformed: the responder answers FORMERR (RFC 7873
                     * 5.2.2); only the first COOKIE option counts */
                    out->cookie = q + p + 4;
                    out->cookie_len = olen;
                } else if (code == DMP_DNS_OPT_NSID) {
                    out->want_nsid = true;
                } else if (code == DMP_DNS_OPT_KEEPALIVE) {
                    out->want_keepalive = true;
                }
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
    return dmp_dns__parse_query(q, qlen, out, NULL);
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
