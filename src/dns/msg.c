/* dns: walking the records of a whole message (UPDATE and TSIG need every section, the query
 * path does not). Every read is bounds-checked; compression pointers must point strictly
 * backwards, so a hostile packet cannot make the reader loop. */
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

int dmp_dns_msg_name(const uint8_t *m, size_t len, size_t off, uint8_t *out, size_t *out_len,
                     size_t *next)
{
    if (!m || !out || !out_len)
        return DMP_EINVAL;
    size_t o = 0;
    size_t end = 0;     /* offset after the name in the original position; 0 = not jumped yet */
    size_t limit = off; /* each pointer must point before the run of labels it ends */
    for (;;) {
        if (off >= len)
            return DMP_EFORMAT;
        uint8_t l = m[off];
        if ((l & 0xC0) == 0xC0) {
            if (off + 1 >= len)
                return DMP_EFORMAT;
            size_t target = ((size_t)(l & 0x3F) << 8) | m[off + 1];
            if (!end)
                end = off + 2;
            if (target >= limit)
                return DMP_EFORMAT;
            limit = target;
            off = target;
            continue;
        }
        if (l & 0xC0)
            return DMP_EFORMAT; /* 0x40 / 0x80: reserved label types */
        if (o + 1 + l > 255 || off + 1 + l > len)
            return DMP_EFORMAT;
        out[o++] = l;
        if (l == 0) {
            off++;
            break;
        }
        memcpy(out + o, m + off + 1, l);
        o += l;
        off += 1 + (size_t)l;
    }
    *out_len = o;
    if (next)
        *next = end ? end : off;
    return 0;
}

int dmp_dns_rr_read(const uint8_t *m, size_t len, size_t off, bool question, dmp_dns_rr_t *rr)
{
    if (!m || !rr)
        return DMP_EINVAL;
    rr->start = off;
    size_t p = 0;
    int rc = dmp_dns_msg_name(m, len, off, rr->owner, &rr->owner_len, &p);
    if (rc != 0)
        return rc;
    size_t need = question ? 4 : 10;
    if (p > len || len - p < need)
        return DMP_EFORMAT;
    rr->type = dmp_load_u16be(m + p);
    rr->rclass = dmp_load_u16be(m + p + 2);
    if (question) {
        rr->ttl = 0;
        rr->rdlen = 0;
        rr->rdata_off = p + 4;
        rr->next = p + 4;
        return 0;
    }
    rr->ttl = dmp_load_u32be(m + p + 4);
    rr->rdlen = dmp_load_u16be(m + p + 8);
    rr->rdata_off = p + 10;
    if (len - rr->rdata_off < rr->rdlen)
        return DMP_EFORMAT;
    rr->next = rr->rdata_off + rr->rdlen;
    return 0;
}

int dmp_dns_wire_name_text(const uint8_t *wire, size_t wlen, char *out, size_t cap, size_t *out_len,
                           bool *ldh)
{
    if (!wire || !out)
        return DMP_EINVAL;
    size_t o = 0, i = 0;
    bool ok = true;
    while (i < wlen && wire[i] != 0) {
        uint8_t l = wire[i];
        if (i + 1 + l > wlen)
            return DMP_ENAME;
        if (o && o + 1 < cap)
            out[o++] = '.';
        else if (o)
            return DMP_ETOOBIG;
        if (o + l >= cap)
            return DMP_ETOOBIG;
        for (size_t k = 0; k < l; k++) {
            uint8_t c = wire[i + 1 + k];
            if (c >= 'A' && c <= 'Z')
                c |= 0x20;
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                ok = false;
            out[o++] = (char)c;
        }
        i += 1 + (size_t)l;
    }
    if (o >= cap)
        return DMP_ETOOBIG;
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    if (ldh)
        *ldh = ok;
    return 0;
}

bool dmp_dns_name_in_zone(const char *name, size_t nlen, const char *zone, size_t zlen)
{
    if (zlen == 0)
        return true;
    if (nlen == zlen)
        return memcmp(name, zone, zlen) == 0;
    if (nlen > zlen)
        return name[nlen - zlen - 1] == '.' && memcmp(name + nlen - zlen, zone, zlen) == 0;
    return false;
}
