/* Shared helpers of the src/erasure unit tests (test_erasure_*.c): hex, deterministic test data,
 * ../shared/vectors/pipeline.json, and the set-up that forces the portable RS path. */
#ifndef DMP_ERASURE_HARNESS_H
#define DMP_ERASURE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "erasure/erasure.h"
#include "erasure/erasure_internal.h"
#include "util/b64_public.h"

/* ---------- helpers ---------- */

uint8_t *unhex(const char *hex, size_t *len_out);
void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex);
uint32_t rnd(void);
void rnd_fill(uint8_t *p, size_t n);

/* ---------- pipeline.json ---------- */

json_t *load_vectors(void);

/* the same RS-dependent tests again on the portable RS path (GFNI machines take another one) */
int setup_generic(void **state);
int teardown_generic(void **state);

#endif
