/* Shared fixtures of the src/dns responder unit tests (test_dns_*.c): a fake zone lookup with
 * precompiled TXT RRsets, hand-built query packets, and a runner that parses every reply with ldns
 * to prove it is well-formed DNS. */
#ifndef DMP_DNS_HARNESS_H
#define DMP_DNS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>
#include "dns/dns.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------- */
/* fixtures                                                                                    */

#define APEX "dmp.example.com"

dmp_dns_zone_t test_zone(void);

/* Fake store: a few names with precompiled TXT RRsets. */
typedef struct {
    const char *name;
    int ret;
    dmp_buf_t rrs;
    uint16_t count;
} fake_entry_t;

typedef struct {
    fake_entry_t e[16];
    size_t n;
    int calls;
    char last[256];
} fake_t;

void fake_add(fake_t *f, const char *name, int ret, const dmp_dns_value_t *vals, size_t nv);
void fake_add_str(fake_t *f, const char *name, const char *v);
void fake_free(fake_t *f);
int fake_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out);

/* Hand-built query: header, one question (text name encoded label by label, no escapes),
 * optional OPT (payload, version). */
typedef struct {
    uint16_t id;
    uint16_t flags; /* default RD */
    const char *name;
    uint16_t qtype;
    uint16_t qclass;
    int edns;        /* 0: no OPT, else payload */
    uint8_t version; /* EDNS version */
} qspec_t;

size_t put_name(uint8_t *b, const char *name);
size_t mkq(uint8_t *b, qspec_t s);

typedef struct {
    uint8_t out[65535 + 16];
    size_t len;
    dmp_dns_result_t res;
    ldns_pkt *pkt;
} reply_t;

void reply_free(reply_t *r);

/* Run the responder; when it produced bytes, parse them with ldns and require success. */
void run(reply_t *r, const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
         fake_t *f, size_t cap);

void runq(reply_t *r, const dmp_dns_zone_t *z, qspec_t s, dmp_dns_transport_t t, fake_t *f);
char *owner_str(const ldns_rr *rr);

void check_soa(ldns_rr *rr, const char *owner);

#endif
