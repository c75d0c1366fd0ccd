/* libFuzzer: AXFR/IXFR queries as a client sends them to the transfer path
 * (dmp_dns_xfr_query_parse). Checks: never crash; what parses is a transfer query whose
 * question ends inside the message. */
#include <stdlib.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_dns_xfr_query_t x;
    if (dmp_dns_xfr_query_parse(data, size, &x) == 0) {
        if ((x.qtype != 251 && x.qtype != 252) || x.question_end > size || x.zone_len > 255)
            abort();
        static dmp_dns_xfr_msg_t m;
        if (dmp_dns_xfr_msg_begin(&m, data, x.question_end, x.id, 0) != 0 && x.question_end < 16384)
            abort();
    }
    return 0;
}
