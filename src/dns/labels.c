/* dns: precompiled TXT RRs and the labels used by metrics. */
#include <string.h>

#include "dns/dns.h"
#include "util/util.h"

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
        "answered",  "nodata",  "nxdomain", "refused", "formerr", "notimp",    "servfail",
        "truncated", "badvers", "dropped",  "update",  "xfr",     "badcookie",
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
    case DMP_DNS_RCODE_BADCOOKIE:
        return "BADCOOKIE";
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
