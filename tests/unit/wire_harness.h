/* Shared helpers of the src/wire unit tests (test_wire_*.c): Appendix A's Alice, keys made from
 * a repeated byte, hex decoding, and signing an arbitrary body to reach body-level errors. */
#ifndef DMP_WIRE_HARNESS_H
#define DMP_WIRE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "crypto/crypto.h"
#include "wire/wire.h"
#include "wire/wire_internal.h"

#define TS_2030 1893456000LL
#define S(x) (const uint8_t *)(x), strlen(x)

void hexn(const char *h, uint8_t *out, size_t n);
dmp_crypto_identity_t alice(void);
dmp_crypto_identity_t key_n(uint8_t n);

/* Signs an arbitrary body under a prefix (to reach body-level errors behind a valid sig). */
void craft(const char *prefix, const uint8_t *body, size_t bl, const uint8_t sk[64],
           dmp_buf_t *out);

#endif
