/* dns: authoritative query parser and answer builder.
 *
 * The whole query path works on the caller's packet and output buffer: nothing is allocated,
 * every read is bounds-checked against qlen and every write against the reply limit. The
 * behaviour (and where it differs from the Python reference) is described in docs/dns.md. */
#include "dns/dns.h"

#include <string.h>

#include "util/util.h"

#include "dns/parse_int.h"

#define SOA_REFRESH 3600u
#define SOA_RETRY 600u
#define SOA_EXPIRE 604800u

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
    /* EDNS options of this reply (COOKIE, NSID, keepalive), written into every OPT we send */
    uint8_t eopt[4 + 40 + 4 + DMP_DNS_NSID_MAX + 4 + 2];
    size_t eopt_len;
    int cookie_state; /* dmp_dns_cookie_state_t of the query */
    const dmp_dns_zone_t *z;
} zone_wire_t;

static void zone_prepare(const dmp_dns_zone_t *z, zone_wire_t *zw)
{
    zw->apex_len = zw->ns_len = zw->rname_len = 0;
    zw->payload = z->edns_payload ? z->edns_payload : DMP_DNS_DEFAULT_EDNS_PAYLOAD;
    if (zw->payload < DMP_DNS_MIN_UDP)
        zw->payload = DMP_DNS_MIN_UDP;
    zw->apex_tlen = strnlen(z->apex, sizeof(z->apex));
    zw->rr_ready = false;
    zw->eopt_len = 0;
    zw->cookie_state = DMP_DNS_COOKIE_NONE;
    zw->z = z;
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

/* RFC 1035 4.1.4 compression of the SOA's MNAME and RNAME, as Knot and NSD do (18 bytes less per
 * negative answer): finds the longest suffix of wire name nm[0..nl) that equals (ignoring ASCII
 * case) a suffix of the uncompressed name written at w->p + ptr (the apex inside the question).
 * Returns the length of the prefix to write before a pointer to *at; nl when nothing matches. */
static size_t compress_prefix(const wr_t *w, const uint8_t *nm, size_t nl, uint16_t ptr,
                              uint16_t *at)
{
    const uint8_t *sfx = w->p + ptr;
    size_t slen = 0;
    while (ptr + slen < w->len && sfx[slen] != 0 && (sfx[slen] & 0xC0) == 0)
        slen += 1u + sfx[slen];
    if (ptr + slen >= w->len || sfx[slen] != 0)
        return nl; /* not an uncompressed name inside what is written: never point at it */
    slen++;
    for (size_t i = 0; i < nl && nm[i] != 0; i += 1u + nm[i]) {
        for (size_t j = 0; j < slen && sfx[j] != 0; j += 1u + sfx[j]) {
            if (nl - i != slen - j)
                continue;
            size_t k = 0;
            while (k < slen - j && lower_ascii(nm[i + k]) == lower_ascii(sfx[j + k]))
                k++;
            if (k == slen - j) {
                *at = (uint16_t)(ptr + j);
                return i;
            }
        }
    }
    return nl;
}

static void w_name_ptr(wr_t *w, const uint8_t *nm, size_t nl, size_t pre, uint16_t at)
{
    w_bytes(w, nm, pre);
    if (pre < nl) {
        uint8_t b[2];
        dmp_store_u16be(b, (uint16_t)(0xC000u | at));
        w_bytes(w, b, 2);
    }
}

static void w_soa(wr_t *w, const zone_wire_t *zw, const dmp_dns_zone_t *z, uint16_t owner_ptr)
{
    uint16_t mat = 0, rat = 0;
    size_t mpre = compress_prefix(w, zw->ns, zw->ns_len, owner_ptr, &mat);
    size_t rpre = compress_prefix(w, zw->rname, zw->rname_len, owner_ptr, &rat);
    size_t mlen = mpre < zw->ns_len ? mpre + 2 : zw->ns_len;
    size_t rlen = rpre < zw->rname_len ? rpre + 2 : zw->rname_len;
    w_rrhdr(w, owner_ptr, DMP_DNS_T_SOA, z->ttl, (uint16_t)(mlen + rlen + 20));
    w_name_ptr(w, zw->ns, zw->ns_len, mpre, mat);
    w_name_ptr(w, zw->rname, zw->rname_len, rpre, rat);
    w_u32(w, z->soa_serial);
    w_u32(w, SOA_REFRESH);
    w_u32(w, SOA_RETRY);
    w_u32(w, SOA_EXPIRE);
    w_u32(w, z->ttl);
}

static void w_opt(wr_t *w, const zone_wire_t *zw, uint16_t rcode)
{
    uint8_t b[11] = {0};
    dmp_store_u16be(b + 1, DMP_DNS_T_OPT);
    dmp_store_u16be(b + 3, zw->payload);
    b[5] = (uint8_t)(rcode >> 4); /* extended rcode; version 0, flags 0 */
    dmp_store_u16be(b + 9, (uint16_t)zw->eopt_len);
    w_bytes(w, b, sizeof(b));
    w_bytes(w, zw->eopt, zw->eopt_len);
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
                   uint16_t rcode, bool aa, bool tc, const zone_wire_t *zw)
{
    w->len = 0;
    w->ovf = false;
    w_start(w, q, qi, with_q, rcode, aa, tc);
    if (qi->has_opt) {
        w_opt(w, zw, rcode);
        w_counts(w, 0, 0, 1);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* responder                                                                                   */

static int finish(wr_t *w, const zone_wire_t *zw, size_t *out_len, dmp_dns_result_t *res,
                  const dmp_dns_query_t *qi, int outcome, uint16_t rcode)
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
        res->cookie = zw->cookie_state;
        if (outcome == DMP_DNS_OUT_ANSWERED || outcome == DMP_DNS_OUT_NODATA ||
            outcome == DMP_DNS_OUT_TRUNCATED)
            res->rrl_name_hash = dmp_dns_name_hash(qi->lname, qi->lname_len);
        else if (qi->qname_wire)
            res->rrl_name_hash = dmp_dns_name_hash(zw->z->apex, zw->apex_tlen);
        else
            res->rrl_name_hash = 0;
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

/* Appends one option to the reply's EDNS options (dropped when it would not fit: cannot happen
 * with the sizes zone_wire_t reserves). */
static void eopt_add(zone_wire_t *zw, uint16_t code, const uint8_t *d, size_t n)
{
    if (sizeof(zw->eopt) - zw->eopt_len < 4 + n)
        return;
    dmp_store_u16be(zw->eopt + zw->eopt_len, code);
    dmp_store_u16be(zw->eopt + zw->eopt_len + 2, (uint16_t)n);
    if (n)
        memcpy(zw->eopt + zw->eopt_len + 4, d, n);
    zw->eopt_len += 4 + n;
}

/* RFC 7873 5.2: classify the query's COOKIE option and put the reply's COOKIE (client cookie +
 * our server cookie) into zw. Returns false when the option is malformed (FORMERR). */
static bool cookie_process(const dmp_dns_opts_t *o, const dmp_dns_query_t *qi, zone_wire_t *zw)
{
    if (!o || !o->cookie || !o->client_ip || !qi->cookie ||
        (o->client_ip_len != 4 && o->client_ip_len != 16))
        return true;
    size_t n = qi->cookie_len;
    if (n != DMP_DNS_CLIENT_COOKIE_LEN && (n < 16 || n > 40)) {
        zw->cookie_state = DMP_DNS_COOKIE_MALFORMED;
        return false;
    }
    bool refresh = true;
    if (n == DMP_DNS_CLIENT_COOKIE_LEN)
        zw->cookie_state = DMP_DNS_COOKIE_CLIENT_ONLY;
    else if (dmp_dns_cookie_check(o->cookie, qi->cookie, n, o->client_ip, o->client_ip_len,
                                  o->now_s, &refresh) == 0)
        zw->cookie_state = DMP_DNS_COOKIE_VALID;
    else
        zw->cookie_state = DMP_DNS_COOKIE_INVALID;
    uint8_t c[DMP_DNS_CLIENT_COOKIE_LEN + DMP_DNS_SERVER_COOKIE_LEN];
    memcpy(c, qi->cookie, DMP_DNS_CLIENT_COOKIE_LEN);
    if (!refresh)
        memcpy(c + 8, qi->cookie + 8, DMP_DNS_SERVER_COOKIE_LEN);
    else if (dmp_dns_cookie_make(o->cookie, qi->cookie, o->client_ip, o->client_ip_len, o->now_s,
                                 c + 8) != 0)
        return true;
    eopt_add(zw, DMP_DNS_OPT_COOKIE, c, sizeof(c));
    return true;
}

/* Lowers the TTL of each of the `count` RRs written at p[0..len) (owner a 2-byte pointer, as
 * dmp_dns_txt_rrs_build makes them) to at most ttl. */
static void clamp_ttls(uint8_t *p, size_t len, uint16_t count, uint32_t ttl)
{
    size_t off = 0;
    for (uint16_t i = 0; i < count && len - off >= 12; i++) {
        if (dmp_load_u32be(p + off + 6) > ttl)
            dmp_store_u32be(p + off + 6, ttl);
        off += 12 + (size_t)dmp_load_u16be(p + off + 10);
        if (off > len)
            break;
    }
}

int dmp_dns_respond(const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
                    dmp_dns_lookup_fn lookup, void *ctx, uint8_t *out, size_t cap, size_t *out_len,
                    dmp_dns_result_t *res)
{
    return dmp_dns_respond_ex(z, NULL, q, qlen, t, lookup, ctx, out, cap, out_len, res);
}

int dmp_dns_respond_ex(const dmp_dns_zone_t *z, const dmp_dns_opts_t *opts, const uint8_t *q,
                       size_t qlen, dmp_dns_transport_t t, dmp_dns_lookup_fn lookup, void *ctx,
                       uint8_t *out, size_t cap, size_t *out_len, dmp_dns_result_t *res)
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
        res->cookie = DMP_DNS_COOKIE_NONE;
        res->rrl_name_hash = 0;
    }
    if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80))
        return 0; /* not a query: never answer (no reply loops) */

    zone_wire_t zw;
    zone_prepare(z, &zw);
    label_map_t lm = {{0, 0, 0, 0}};
    int pr = dmp_dns__parse_query(q, qlen, &qi, &lm);

    wr_t w = {.p = out, .lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap, .len = 0};
    unsigned opcode = OPCODE_OF(qi.flags);

    if (opcode != DMP_DNS_OPCODE_QUERY) {
        /* The question is echoed only when the packet parsed; else a bare header. */
        if (pr != 0) {
            qi.has_opt = false;
            qi.qtype = 0;
        }
        w_bare(&w, q, &qi, pr == 0, DMP_DNS_RCODE_NOTIMP, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi,
                      opcode == DMP_DNS_OPCODE_UPDATE ? DMP_DNS_OUT_UPDATE : DMP_DNS_OUT_NOTIMP,
                      DMP_DNS_RCODE_NOTIMP);
    }
    if (pr != 0) {
        qi.has_opt = false;
        w_bare(&w, q, &qi, false, DMP_DNS_RCODE_FORMERR, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_FORMERR, DMP_DNS_RCODE_FORMERR);
    }
    if (qi.has_opt && !cookie_process(opts, &qi, &zw)) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_FORMERR, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_FORMERR, DMP_DNS_RCODE_FORMERR);
    }
    if (qi.has_opt && qi.want_nsid && opts && opts->nsid && opts->nsid_len)
        eopt_add(&zw, DMP_DNS_OPT_NSID, opts->nsid,
                 opts->nsid_len > DMP_DNS_NSID_MAX ? DMP_DNS_NSID_MAX : opts->nsid_len);
    if (qi.has_opt && qi.want_keepalive && t == DMP_DNS_TCP && opts && opts->tcp_keepalive_100ms) {
        uint8_t ka[2];
        dmp_store_u16be(ka, opts->tcp_keepalive_100ms);
        eopt_add(&zw, DMP_DNS_OPT_KEEPALIVE, ka, 2);
    }
    if (qi.has_opt && qi.opt_version > 0) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_BADVERS, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_BADVERS, DMP_DNS_RCODE_BADVERS);
    }

    /* RFC 7873 5.2.3/5.2.4: policy "require": a UDP query without a valid server cookie gets
     * BADCOOKIE with a fresh cookie, so an off-path spoofer learns nothing and reflects little. */
    if (t == DMP_DNS_UDP && opts && opts->cookie_required &&
        (zw.cookie_state == DMP_DNS_COOKIE_CLIENT_ONLY ||
         zw.cookie_state == DMP_DNS_COOKIE_INVALID)) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_BADCOOKIE, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_BADCOOKIE, DMP_DNS_RCODE_BADCOOKIE);
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
    /* TSIG is never valid as a question (RFC 8945 5.2). A question of type OPT is answered
     * like any type we hold no data of (NODATA/NXDOMAIN with the SOA), as Knot and NSD do. */
    if (qt == DMP_DNS_T_TSIG) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_FORMERR, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_FORMERR, DMP_DNS_RCODE_FORMERR);
    }
    if (qi.qclass != DMP_DNS_C_IN && qi.qclass != DMP_DNS_C_ANY) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_REFUSED, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_REFUSED, DMP_DNS_RCODE_REFUSED);
    }

    long apex_off = -1; /* offset of the apex inside the question name */
    bool at_apex = false;
    if (zw.apex_tlen) {
        apex_off = zone_offset(z, &qi, &lm, &zw);
        if (apex_off < 0) {
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_REFUSED, false, false, &zw);
            return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_REFUSED, DMP_DNS_RCODE_REFUSED);
        }
        at_apex = apex_off == DMP_DNS_HDR_LEN;
    }
    if (qt == DMP_DNS_T_AXFR || qt == DMP_DNS_T_IXFR) {
        if (t == DMP_DNS_TCP) {
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_NOTIMP, false, false, &zw);
            return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_XFR, DMP_DNS_RCODE_NOTIMP);
        }
        if (qt == DMP_DNS_T_IXFR && at_apex && zone_has_soa(z, &zw)) {
            /* RFC 1995 2: over UDP, a single SOA tells the client to retry over TCP */
            w.len = 0;
            w.ovf = false;
            w_start(&w, q, &qi, true, DMP_DNS_RCODE_NOERROR, true, false);
            w_soa(&w, &zw, z, DMP_DNS_HDR_LEN);
            if (qi.has_opt)
                w_opt(&w, &zw, 0);
            w_counts(&w, 1, 0, qi.has_opt ? 1 : 0);
            return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_ANSWERED, DMP_DNS_RCODE_NOERROR);
        }
        /* AXFR over UDP (RFC 5936 4.2 forbids it): NOTIMP, as Knot and NSD answer */
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_NOTIMP, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_NOTIMP, DMP_DNS_RCODE_NOTIMP);
    }
    if (qt == DMP_DNS_T_MAILA || qt == DMP_DNS_T_MAILB || qt == DMP_DNS_T_TKEY) {
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_NOTIMP, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_NOTIMP, DMP_DNS_RCODE_NOTIMP);
    }

    /* Decide the answer. */
    enum { ANS_NONE, ANS_TXT, ANS_A, ANS_AAAA, ANS_NS, ANS_SOA } ans = ANS_NONE;
    bool exists = false;
    dmp_dns_rrset_view_t view = {NULL, 0, 0, false, 0};

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
            w_bare(&w, q, &qi, true, DMP_DNS_RCODE_SERVFAIL, false, false, &zw);
            return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_SERVFAIL, DMP_DNS_RCODE_SERVFAIL);
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
    case ANS_TXT: {
        size_t at = w.len;
        w_bytes(&w, view.rrs, view.len);
        if (view.clamp_ttl && !w.ovf)
            clamp_ttls(w.p + at, view.len, view.count, view.ttl);
        an = view.count;
        break;
    }
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
        w_opt(&w, &zw, rcode);
    w_counts(&w, an, ns, qi.has_opt ? 1 : 0);

    if (w.ovf) {
        w.lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap;
        if (t == DMP_DNS_UDP) {
            /* RFC 2181 9: set TC and send only what is needed to retry over TCP */
            w_bare(&w, q, &qi, true, rcode, true, true, &zw);
            return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_TRUNCATED, rcode);
        }
        w_bare(&w, q, &qi, true, DMP_DNS_RCODE_SERVFAIL, false, false, &zw);
        return finish(&w, &zw, out_len, res, &qi, DMP_DNS_OUT_SERVFAIL, DMP_DNS_RCODE_SERVFAIL);
    }
    return finish(&w, &zw, out_len, res, &qi, outcome, rcode);
}

int dmp_dns_tc_stub(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!out_len || (!q && qlen) || (!out && cap))
        return DMP_EINVAL;
    *out_len = 0;
    if (qlen < DMP_DNS_HDR_LEN || (q[2] & 0x80))
        return 0;
    dmp_dns_query_t qi;
    if (dmp_dns__parse_query(q, qlen, &qi, NULL) != 0 ||
        OPCODE_OF(qi.flags) != DMP_DNS_OPCODE_QUERY)
        return 0;
    wr_t w = {.p = out, .lim = cap > DMP_DNS_MAX_MSG ? DMP_DNS_MAX_MSG : cap, .len = 0};
    zone_wire_t zw;
    zw.payload = DMP_DNS_DEFAULT_EDNS_PAYLOAD;
    zw.eopt_len = 0;
    w_bare(&w, q, &qi, true, 0, true, true, &zw);
    if (!w.ovf)
        *out_len = w.len;
    return 0;
}
