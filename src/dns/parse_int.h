/* dns: the query parser's internals (parse.c), which the answer builder (dns.c) uses too;
 * not part of the API. */
#ifndef DMP_DNS_PARSE_INT_H
#define DMP_DNS_PARSE_INT_H

#include "dns/dns.h"

#define F_QR 0x8000u
#define F_AA 0x0400u
#define F_TC 0x0200u
#define F_RD 0x0100u
#define F_CD 0x0010u
#define OPCODE_OF(f) (((f) >> 11) & 0xFu)

static inline uint8_t lower_ascii(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c;
}

/* Label starts of the question name: bit i set when a label length byte sits at name offset i
 * (wire offsets relative to the name). */
typedef struct {
    uint64_t label_start[4];
} label_map_t;

/* Header, question and additional section of a query (see dmp_dns_query_parse); lm may be
 * NULL. */
int dmp_dns__parse_query(const uint8_t *q, size_t qlen, dmp_dns_query_t *out, label_map_t *lm);

#endif
