/* dns: placeholder while the implementation lands; API in dns.h is stable. */
#include "dns/dns.h"

#include <string.h>

int dmp_dns_respond(const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
                    dmp_dns_lookup_fn lookup, void *ctx, uint8_t *out, size_t cap, size_t *out_len,
                    dmp_dns_result_t *res)
{
    (void)z, (void)q, (void)qlen, (void)t, (void)lookup, (void)ctx, (void)out, (void)cap;
    if (out_len)
        *out_len = 0;
    if (res)
        memset(res, 0, sizeof(*res)), res->outcome = DMP_DNS_OUT_DROPPED;
    return DMP_EUNSUPPORTED;
}
