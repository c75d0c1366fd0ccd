/* dns: RFC 2136 UPDATE: parse a message into a list of changes the node can apply
 * all-or-nothing, check prerequisites against the node's view of a name, build the reply.
 * The check order follows the reference (node.md §2.5) where it is RFC-correct; the
 * differences are listed in docs/dns.md. */
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

#define OPCODE_OF(b2) (((b2) >> 3) & 0xFu)

/* Strict UTF-8 (as Python's bytes.decode("utf-8")): no overlongs, no surrogates, <= U+10FFFF. */
bool dmp_dns_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            k = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return false;
        if (n - i <= k)
            return false;
        if (p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

void dmp_dns_update_free(dmp_dns_update_t *u)
{
    if (!u)
        return;
    free(u->ops);
    free(u->prqs);
    dmp_buf_free(&u->values);
    u->ops = NULL;
    u->prqs = NULL;
    u->n_ops = u->n_prqs = 0;
}

/* Meta types that may not appear as data (RFC 2136 §3.4.1.2, RFC 6895 §3.1: 128-255 are
 * QTYPEs / meta-TYPEs; OPT is meta too). */
static bool is_meta(uint16_t t)
{
    return t == DMP_DNS_T_OPT || (t >= 128 && t <= 255);
}

/* Joins the character-strings of a TXT RDATA into u->values. DMP_EFORMAT when the strings do
 * not exactly fill the RDATA. */
static int join_txt(const uint8_t *m, const dmp_dns_rr_t *rr, dmp_buf_t *vals, size_t *off,
                    size_t *len)
{
    *off = vals->len;
    size_t p = rr->rdata_off, end = rr->rdata_off + rr->rdlen;
    if (rr->rdlen == 0)
        return DMP_EFORMAT; /* TXT needs at least one character-string */
    while (p < end) {
        size_t l = m[p];
        if (end - p - 1 < l)
            return DMP_EFORMAT;
        int rc = dmp_buf_append(vals, m + p + 1, l);
        if (rc != 0)
            return rc;
        p += 1 + l;
    }
    *len = vals->len - *off;
    return 0;
}

static int owner_text(const dmp_dns_rr_t *rr, char *out, size_t *len, bool *ldh)
{
    int rc = dmp_dns_wire_name_text(rr->owner, rr->owner_len, out, 254, len, ldh);
    /* a NUL byte inside a label (legal on the wire, never LDH) must not cut the C string that
     * prerequisite lookups and the node use: it reads '?', still not LDH, so never stored */
    for (size_t i = 0; rc == 0 && i < *len; i++) {
        if (out[i] == '\0')
            out[i] = '?';
    }
    return rc;
}

static void *grow(void *p, size_t n, size_t sz)
{
    return realloc(p, (n ? n : 1) * sz);
}

/* Entries needed for a section of count RRs at off: no more than the rest of the message can
 * hold (an RR is at least 11 bytes: a 1-byte name and 10 fixed), so a forged count in a short
 * message cannot allocate megabytes (65535 ops were 19 MB). */
static size_t section_fit(unsigned count, size_t len, size_t off)
{
    size_t most = off < len ? (len - off) / 11 : 0;
    return count < most ? count : most;
}

int dmp_dns_update_parse(const uint8_t *m, size_t len, const char *zone,
                         const dmp_upd_limits_t *lim, dmp_dns_update_t *u)
{
    if (!m || !u)
        return DMP_EINVAL;
    memset(u, 0, sizeof(*u));
    dmp_buf_init(&u->values);
    if (len < DMP_DNS_HDR_LEN || (m[2] & 0x80))
        return DMP_EFORMAT;
    u->id = dmp_load_u16be(m);
    u->flags = dmp_load_u16be(m + 2);
    u->rcode = DMP_DNS_RCODE_FORMERR;
    uint16_t zo = dmp_load_u16be(m + 4), pr = dmp_load_u16be(m + 6), up = dmp_load_u16be(m + 8),
             ad = dmp_load_u16be(m + 10);
    if (OPCODE_OF(m[2]) != DMP_DNS_OPCODE_UPDATE)
        return 0;

    /* zone section (§3.1.1): exactly one entry of type SOA */
    if (zo != 1)
        return 0;
    dmp_dns_rr_t rr;
    if (dmp_dns_rr_read(m, len, DMP_DNS_HDR_LEN, true, &rr) != 0 || rr.type != DMP_DNS_T_SOA)
        return 0;
    memcpy(u->zone_wire, rr.owner, rr.owner_len);
    u->zone_wire_len = rr.owner_len;
    u->zone_class = rr.rclass;
    u->zone_end = rr.next;
    u->zone_ok = true;
    bool zldh = false;
    if (owner_text(&rr, u->zone, &u->zone_len, &zldh) != 0)
        return 0;
    /* §3.1.2: not a zone we are authoritative for */
    size_t szl = zone ? strlen(zone) : 0;
    if (szl == 0 || u->zone_len != szl || memcmp(u->zone, zone, szl) != 0 ||
        rr.rclass != DMP_DNS_C_IN) {
        u->rcode = DMP_DNS_RCODE_NOTAUTH;
        return 0;
    }
    size_t off = rr.next;

    /* prerequisites (§2.4, §3.2) */
    if (pr) {
        u->prqs = grow(NULL, section_fit(pr, len, off), sizeof(dmp_prq_t));
        if (!u->prqs)
            return DMP_ENOMEM;
    }
    for (unsigned i = 0; i < pr; i++) {
        if (dmp_dns_rr_read(m, len, off, false, &rr) != 0)
            return 0;
        off = rr.next;
        dmp_prq_t *q = &u->prqs[u->n_prqs];
        memset(q, 0, sizeof(*q));
        bool ldh;
        if (owner_text(&rr, q->owner, &q->owner_len, &ldh) != 0)
            return 0;
        if (!dmp_dns_name_in_zone(q->owner, q->owner_len, u->zone, u->zone_len)) {
            u->rcode = DMP_DNS_RCODE_NOTZONE;
            return 0;
        }
        if (rr.ttl != 0)
            return 0;
        q->type = rr.type;
        if (rr.rclass == DMP_DNS_C_ANY || rr.rclass == DMP_DNS_C_NONE) {
            if (rr.rdlen != 0)
                return 0;
            bool any = rr.rclass == DMP_DNS_C_ANY;
            if (rr.type == DMP_DNS_T_ANY)
                q->kind = any ? DMP_PRQ_NAME_IN_USE : DMP_PRQ_NAME_NOT_IN_USE;
            else if (is_meta(rr.type))
                return 0;
            else
                q->kind = any ? DMP_PRQ_RRSET_EXISTS : DMP_PRQ_RRSET_NOT_EXISTS;
        } else if (rr.rclass == u->zone_class) {
            if (is_meta(rr.type))
                return 0;
            q->kind = DMP_PRQ_RRSET_EXISTS_VALUE;
            if (rr.type == DMP_DNS_T_TXT) {
                int rc = join_txt(m, &rr, &u->values, &q->value_off, &q->value_len);
                if (rc == DMP_ENOMEM)
                    return rc;
                if (rc != 0)
                    return 0;
            }
        } else {
            return 0;
        }
        u->n_prqs++;
    }

    /* update section (§3.4.1 prescan; reference order: NOTZONE, then shape / UTF-8 per RR) */
    if (up) {
        u->ops = grow(NULL, section_fit(up, len, off), sizeof(dmp_upd_op_t));
        if (!u->ops)
            return DMP_ENOMEM;
    }
    bool refuse = false;
    for (unsigned i = 0; i < up; i++) {
        if (dmp_dns_rr_read(m, len, off, false, &rr) != 0)
            return 0;
        off = rr.next;
        dmp_upd_op_t *op = &u->ops[u->n_ops];
        memset(op, 0, sizeof(*op));
        bool ldh = false;
        if (owner_text(&rr, op->owner, &op->owner_len, &ldh) != 0)
            return 0;
        if (!dmp_dns_name_in_zone(op->owner, op->owner_len, u->zone, u->zone_len)) {
            u->rcode = DMP_DNS_RCODE_NOTZONE;
            return 0;
        }
        if (rr.rclass == u->zone_class) {
            if (is_meta(rr.type))
                return 0;
            if (rr.type != DMP_DNS_T_TXT || !ldh) {
                refuse = true; /* we only store TXT at LDH/underscore names */
                continue;
            }
            op->kind = DMP_UPD_ADD;
            int rc = join_txt(m, &rr, &u->values, &op->value_off, &op->value_len);
            if (rc == DMP_ENOMEM)
                return rc;
            if (rc != 0)
                return 0;
            op->ttl = rr.ttl > 0x7FFFFFFFu ? 0 : rr.ttl; /* RFC 2181 §8 */
            if (op->ttl == 0)
                op->ttl = 60;
        } else if (rr.rclass == DMP_DNS_C_ANY) {
            if (rr.ttl != 0 || rr.rdlen != 0 || (is_meta(rr.type) && rr.type != DMP_DNS_T_ANY))
                return 0;
            op->kind = !ldh                       ? DMP_UPD_NOOP
                       : rr.type == DMP_DNS_T_ANY ? DMP_UPD_DEL_NAME
                       : rr.type == DMP_DNS_T_TXT ? DMP_UPD_DEL_RRSET
                                                  : DMP_UPD_NOOP;
        } else if (rr.rclass == DMP_DNS_C_NONE) {
            if (rr.ttl != 0 || is_meta(rr.type))
                return 0;
            op->kind = DMP_UPD_NOOP;
            if (rr.type == DMP_DNS_T_TXT) {
                int rc = join_txt(m, &rr, &u->values, &op->value_off, &op->value_len);
                if (rc == DMP_ENOMEM)
                    return rc;
                if (rc != 0)
                    return 0;
                if (ldh)
                    op->kind = DMP_UPD_DEL_VALUE;
            }
        } else {
            return 0;
        }
        if ((op->kind == DMP_UPD_ADD || op->kind == DMP_UPD_DEL_VALUE) &&
            !dmp_dns_utf8_valid(dmp_dns_update_value(u, op->value_off), op->value_len))
            return 0; /* FORMERR: values are UTF-8 text (reference) */
        u->n_ops++;
    }

    /* additional section: shape only (OPT, TSIG and anything else are not data) */
    for (unsigned i = 0; i < ad; i++) {
        if (dmp_dns_rr_read(m, len, off, false, &rr) != 0)
            return 0;
        off = rr.next;
    }

    /* caps on adds (node.md §2.5 step 6) */
    for (size_t i = 0; i < u->n_ops && !refuse; i++) {
        const dmp_upd_op_t *op = &u->ops[i];
        if (op->kind != DMP_UPD_ADD || !lim)
            continue;
        if ((lim->max_value_bytes && op->value_len > lim->max_value_bytes) ||
            (lim->max_ttl && op->ttl > lim->max_ttl))
            refuse = true;
    }
    u->rcode = refuse ? DMP_DNS_RCODE_REFUSED : DMP_DNS_RCODE_NOERROR;
    return 0;
}

const uint8_t *dmp_dns_update_value(const dmp_dns_update_t *u, size_t off)
{
    return u->values.data ? u->values.data + off : (const uint8_t *)"";
}

static bool value_in(const dmp_dns_value_t *v, size_t n, const uint8_t *p, size_t l)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].len == l && (l == 0 || memcmp(v[i].data, p, l) == 0))
            return true;
    return false;
}

int dmp_dns_update_prereqs(const dmp_dns_update_t *u, dmp_upd_name_fn fn, void *ctx, uint8_t *rcode)
{
    if (!u || !fn || !rcode)
        return DMP_EINVAL;
    *rcode = DMP_DNS_RCODE_NOERROR;
    for (size_t i = 0; i < u->n_prqs; i++) {
        const dmp_prq_t *q = &u->prqs[i];
        /* value-dependent prerequisites with the same name and type are one set: handle the
         * group at its first member */
        bool seen = false;
        if (q->kind == DMP_PRQ_RRSET_EXISTS_VALUE)
            for (size_t j = 0; j < i && !seen; j++)
                seen = u->prqs[j].kind == DMP_PRQ_RRSET_EXISTS_VALUE &&
                       u->prqs[j].type == q->type && u->prqs[j].owner_len == q->owner_len &&
                       memcmp(u->prqs[j].owner, q->owner, q->owner_len) == 0;
        if (seen)
            continue;
        dmp_upd_name_state_t st = {0};
        int rc = fn(ctx, q->owner, q->owner_len, &st);
        if (rc != 0)
            return rc;
        bool has_txt = st.n_txt > 0;
        bool exists = st.exists || has_txt || st.has_other_types;
        switch (q->kind) {
        case DMP_PRQ_NAME_IN_USE:
            if (!exists)
                *rcode = DMP_DNS_RCODE_NXDOMAIN;
            break;
        case DMP_PRQ_NAME_NOT_IN_USE:
            if (exists)
                *rcode = DMP_DNS_RCODE_YXDOMAIN;
            break;
        case DMP_PRQ_RRSET_EXISTS:
            if (q->type != DMP_DNS_T_TXT || !has_txt)
                *rcode = DMP_DNS_RCODE_NXRRSET;
            break;
        case DMP_PRQ_RRSET_NOT_EXISTS:
            if (q->type == DMP_DNS_T_TXT && has_txt)
                *rcode = DMP_DNS_RCODE_YXRRSET;
            break;
        case DMP_PRQ_RRSET_EXISTS_VALUE: {
            if (q->type != DMP_DNS_T_TXT || !has_txt) {
                *rcode = DMP_DNS_RCODE_NXRRSET;
                break;
            }
            /* every listed value stored, and every stored value listed */
            size_t listed = 0;
            for (size_t j = i; j < u->n_prqs && *rcode == 0; j++) {
                const dmp_prq_t *r = &u->prqs[j];
                if (r->kind != DMP_PRQ_RRSET_EXISTS_VALUE || r->type != q->type ||
                    r->owner_len != q->owner_len || memcmp(r->owner, q->owner, q->owner_len))
                    continue;
                listed++;
                if (!value_in(st.txt, st.n_txt, dmp_dns_update_value(u, r->value_off),
                              r->value_len))
                    *rcode = DMP_DNS_RCODE_NXRRSET;
            }
            for (size_t k = 0; k < st.n_txt && *rcode == 0; k++) {
                bool found = false;
                for (size_t j = i; j < u->n_prqs && !found; j++) {
                    const dmp_prq_t *r = &u->prqs[j];
                    found = r->kind == DMP_PRQ_RRSET_EXISTS_VALUE && r->type == q->type &&
                            r->owner_len == q->owner_len &&
                            !memcmp(r->owner, q->owner, q->owner_len) &&
                            r->value_len == st.txt[k].len &&
                            (r->value_len == 0 || !memcmp(dmp_dns_update_value(u, r->value_off),
                                                          st.txt[k].data, r->value_len));
                }
                if (!found)
                    *rcode = DMP_DNS_RCODE_NXRRSET;
            }
            (void)listed;
            break;
        }
        }
        if (*rcode != DMP_DNS_RCODE_NOERROR)
            return 0;
    }
    return 0;
}

int dmp_dns_update_reply(const dmp_dns_update_t *u, const uint8_t *req, size_t len, uint8_t rcode,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    if (!req || !out || !out_len)
        return DMP_EINVAL;
    *out_len = 0;
    if (len < DMP_DNS_HDR_LEN || (req[2] & 0x80))
        return 0;
    bool zone = u && u->zone_ok;
    size_t need = DMP_DNS_HDR_LEN + (zone ? u->zone_wire_len + 4 : 0);
    if (cap < need)
        return DMP_ETOOBIG;
    memcpy(out, req, 2);
    out[2] = (uint8_t)(0x80 | (req[2] & 0x78)); /* QR, opcode */
    out[3] = rcode & 0x0F;
    dmp_store_u16be(out + 4, zone ? 1 : 0);
    memset(out + 6, 0, 6);
    size_t n = DMP_DNS_HDR_LEN;
    if (zone) {
        memcpy(out + n, u->zone_wire, u->zone_wire_len);
        n += u->zone_wire_len;
        dmp_store_u16be(out + n, DMP_DNS_T_SOA);
        dmp_store_u16be(out + n + 2, u->zone_class);
        n += 4;
    }
    *out_len = n;
    return 0;
}

int dmp_dns_update_build(uint16_t id, const char *zone, const dmp_upd_op_t *ops, size_t n,
                         const uint8_t *values, dmp_buf_t *out)
{
    if (!zone || (n && !ops) || !out)
        return DMP_EINVAL;
    uint8_t w[255];
    size_t wl = 0;
    int rc = dmp_dns_name_from_text(zone, strlen(zone), w, sizeof(w), &wl);
    if (rc != 0 || n > 0xFFFF)
        return rc ? rc : DMP_ETOOBIG;
    uint8_t h[DMP_DNS_HDR_LEN] = {0};
    dmp_store_u16be(h, id);
    h[2] = DMP_DNS_OPCODE_UPDATE << 3;
    dmp_store_u16be(h + 4, 1);
    dmp_store_u16be(h + 8, (uint16_t)n);
    if ((rc = dmp_buf_append(out, h, sizeof(h))) || (rc = dmp_buf_append(out, w, wl)) ||
        (rc = dmp_buf_append_u16be(out, DMP_DNS_T_SOA)) ||
        (rc = dmp_buf_append_u16be(out, DMP_DNS_C_IN)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        const dmp_upd_op_t *op = &ops[i];
        rc = dmp_dns_name_from_text(op->owner, op->owner_len, w, sizeof(w), &wl);
        if (rc != 0)
            return rc;
        uint16_t type = DMP_DNS_T_TXT, cls = DMP_DNS_C_IN;
        uint32_t ttl = op->ttl;
        bool data = false;
        switch (op->kind) {
        case DMP_UPD_ADD:
            data = true;
            break;
        case DMP_UPD_DEL_VALUE:
            cls = DMP_DNS_C_NONE;
            ttl = 0;
            data = true;
            break;
        case DMP_UPD_DEL_RRSET:
            cls = DMP_DNS_C_ANY;
            ttl = 0;
            break;
        case DMP_UPD_DEL_NAME:
            cls = DMP_DNS_C_ANY;
            type = DMP_DNS_T_ANY;
            ttl = 0;
            break;
        default:
            return DMP_EINVAL;
        }
        size_t rdlen = 0;
        if (data) {
            size_t vl = op->value_len;
            rdlen = vl == 0 ? 1 : vl + (vl + 254) / 255;
            if (rdlen > 0xFFFF)
                return DMP_ETOOBIG;
        }
        if ((rc = dmp_buf_append(out, w, wl)) || (rc = dmp_buf_append_u16be(out, type)) ||
            (rc = dmp_buf_append_u16be(out, cls)) || (rc = dmp_buf_append_u32be(out, ttl)) ||
            (rc = dmp_buf_append_u16be(out, (uint16_t)rdlen)))
            return rc;
        if (data) {
            const uint8_t *v = values + op->value_off;
            size_t vl = op->value_len, p = 0;
            if (vl == 0 && (rc = dmp_buf_append_u8(out, 0)))
                return rc;
            while (p < vl) {
                size_t l = vl - p > 255 ? 255 : vl - p;
                if ((rc = dmp_buf_append_u8(out, (uint8_t)l)) ||
                    (rc = dmp_buf_append(out, v + p, l)))
                    return rc;
                p += l;
            }
        }
    }
    return 0;
}
