/* Shared fixtures of the TSIG and UPDATE unit tests (test_dns_tsig.c, test_dns_update.c): the zone
 * the captured requests update and the requests themselves, captured from nsupdate 9.18 and
 * knsupdate 3.2 (tests/unit/data/dns_update/). */
#ifndef DMP_DNS_UPDATE_HARNESS_H
#define DMP_DNS_UPDATE_HARNESS_H

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

#define ZONE "mesh.test"

/* ---------------------------------------------------------------------------------------- */
/* fixtures                                                                                    */

int read_vec(const char *name, uint8_t *buf, size_t cap, size_t *len);

typedef struct {
    const char *file;
    dmp_tsig_alg_t alg;
    bool big; /* the 4-op message with a 325-byte value */
} vec_t;

/* The size is spelled out so that sizeof works in the tests; the compiler checks it against the
 * definition's initializer. */
extern const vec_t k_vecs[11];

#endif
