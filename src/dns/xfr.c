/* dns: zone transfer messages — the AXFR/IXFR query (RFC 5936, RFC 1995), the streamed answer
 * messages with uncompressed owner names, SOA RDATA, and NOTIFY (RFC 1996). The node drives the
 * transfer (src/node/xfr.c); nothing here does I/O. */
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

int dmp_dns_xfr_query_parse(const uint8_t *m, size_t len, dmp_dns_xfr_query_t *out)
{
    if (!m || !out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    dmp_dns_query_t q;
    int rc = dmp_dns_query_parse(m, len, &q);
    if (rc != 0)
        return rc;
    if ((q.flags & 0x8000) || ((q.flags >> 11) & 0xf) != 0)
        return DMP_EFORMAT; /* a response, or not a standard query */
    if (q.qtype != DMP_DNS_T_AXFR && q.qtype != DMP_DNS_T_IXFR)
        return DMP_ENOTFOUND;
    out->id = q.id;
    out->qtype = q.qtype;
    out->qclass = q.qclass;
    memcpy(out->zone, q.lname, q.lname_len + 1);
    out->zone_len = q.lname_len;
    out->question_end = q.question_end;
    if (q.qtype == DMP_DNS_T_IXFR && dmp_load_u16be(m + 8) >= 1) {
        /* RFC 1995 3: the authority section holds the client's SOA */
        dmp_dns_rr_t rr;
        if (dmp_dns_rr_read(m, len, q.question_end, false, &rr) != 0 || rr.type != DMP_DNS_T_SOA)
            return DMP_EFORMAT;
        uint8_t nm[255];
        size_t nl, off = rr.rdata_off, end = rr.rdata_off + rr.rdlen;
        if (dmp_dns_msg_name(m, len, off, nm, &nl, &off) != 0 ||
            dmp_dns_msg_name(m, len, off, nm, &nl, &off) != 0 || off + 20 > end)
            return DMP_EFORMAT;
        out->client_serial = dmp_load_u32be(m + off);
        out->has_client_serial = true;
    }
    return 0;
}

/* ---- answer messages ---- */

int dmp_dns_xfr_msg_begin(dmp_dns_xfr_msg_t *w, const uint8_t *q, size_t question_end, uint16_t id,
                          uint8_t rcode)
{
    if (!w || !q || question_end < 12 || question_end > sizeof(w->buf))
        return DMP_EINVAL;
    memset(w->buf, 0, 12);
    dmp_store_u16be(w->buf, id);
    w->buf[2] = 0x84; /* QR, AA */
    w->buf[3] = rcode & 0xf;
    dmp_store_u16be(w->buf + 4, 1);
    memcpy(w->buf + 12, q + 12, question_end - 12);
    w->len = question_end;
    w->count = 0;
    return 0;
}

int dmp_dns_xfr_msg_rr(dmp_dns_xfr_msg_t *w, const uint8_t *owner, size_t owner_len, uint16_t type,
                       uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
    if (!w || !owner || owner_len == 0 || owner_len > 255 || rdlen > 65535 || (rdlen && !rdata))
        return DMP_EINVAL;
    size_t need = owner_len + 10 + rdlen;
    if (w->len + need > DMP_DNS_XFR_MSG_RRS || w->count == 0xffff)
        return DMP_ETOOBIG; /* the caller sends this message and starts the next */
    uint8_t *p = w->buf + w->len;
    memcpy(p, owner, owner_len);
    p += owner_len;
    dmp_store_u16be(p, type);
    dmp_store_u16be(p + 2, 1); /* IN */
    dmp_store_u32be(p + 4, ttl);
    dmp_store_u16be(p + 8, (uint16_t)rdlen);
    if (rdlen)
        memcpy(p + 10, rdata, rdlen);
    w->len += need;
    w->count++;
    dmp_store_u16be(w->buf + 6, (uint16_t)w->count);
    return 0;
}

int dmp_dns_soa_rdata(const char *mname, const char *rname, uint32_t serial, uint32_t refresh,
                      uint32_t retry, uint32_t expire, uint32_t minimum, uint8_t *out, size_t cap,
                      size_t *out_len)
{
    size_t a, b;
    if (!mname || !rname || !out || cap < 2 * 255 + 20)
        return DMP_EINVAL;
    int rc = dmp_dns_name_from_text(mname, strlen(mname), out, 255, &a);
    if (rc == 0)
        rc = dmp_dns_name_from_text(rname, strlen(rname), out + a, 255, &b);
    if (rc != 0)
        return rc;
    uint8_t *p = out + a + b;
    dmp_store_u32be(p, serial);
    dmp_store_u32be(p + 4, refresh);
    dmp_store_u32be(p + 8, retry);
    dmp_store_u32be(p + 12, expire);
    dmp_store_u32be(p + 16, minimum);
    *out_len = a + b + 20;
    return 0;
}

int dmp_dns_notify_build(uint16_t id, const char *zone, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!zone || !out || !out_len || cap < 12 + 255 + 4)
        return DMP_EINVAL;
    memset(out, 0, 12);
    dmp_store_u16be(out, id);
    out[2] = (uint8_t)(4 << 3) | 0x04; /* opcode NOTIFY, AA */
    dmp_store_u16be(out + 4, 1);
    size_t nl;
    int rc = dmp_dns_name_from_text(zone, strlen(zone), out + 12, 255, &nl);
    if (rc != 0)
        return rc;
    dmp_store_u16be(out + 12 + nl, DMP_DNS_T_SOA);
    dmp_store_u16be(out + 14 + nl, 1);
    *out_len = 16 + nl;
    return 0;
}
