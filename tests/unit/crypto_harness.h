/* Shared helpers of the src/crypto unit tests (test_crypto_*.c): hex in and out, the shared
 * vector files (skipped when DMP_SHARED_DIR is absent), and the Appendix A fixed keys. */
#ifndef DMP_CRYPTO_HARNESS_H
#define DMP_CRYPTO_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <jansson.h>
#include "crypto/crypto.h"

/* --- helpers ---------------------------------------------------------------------------- */

void unhex(const char *hex, uint8_t *out, size_t n);
void assert_hex(const uint8_t *got, size_t n, const char *want);
json_t *load_vectors(const char *name);
void sha256_str(const char *s, uint8_t out[32]);

/* Appendix A fixed inputs. */
extern const char *ALICE_SK;
extern const char *BOB_SK;
extern const char *BOB_PK;

#endif
