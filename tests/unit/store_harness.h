/* Shared by the test_store_* unit tests: a store in a fresh temporary directory per test
 * (setup/teardown), reopening it, and helpers that put, get and collect rows. */
#ifndef DMP_TEST_STORE_HARNESS_H
#define DMP_TEST_STORE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_codec.h"

#define T0 INT64_C(1800000000000)

typedef struct {
    char dir[64];
    char path[96];
    dmp_store_t *s;
} fx_t;

typedef struct {
    size_t n;
    char names[64][64];
    char vals[64][64];
    dmp_store_record_t recs[64];
    size_t stop_after; /* 0 = never */
} coll_t;

void rm_rf(const char *path);
dmp_store_t *open_at(const char *path, int *rc_out, char *err, size_t errlen);
int setup(void **state);
int teardown(void **state);
void reopen(fx_t *f);
int collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r);
int put_s(dmp_store_t *s, const char *name, const char *val, uint32_t ttl, int64_t now);
int get_s(dmp_store_t *s, const char *name, int64_t now, coll_t *c);
uint64_t count_of(dmp_store_t *s);

void raw_edit(const char *path, uint32_t ver, const char *drop_cf, const char *add_cf,
              uint32_t *old);

/* a ^= b over 32 bytes (Merkle bucket digests) */
void xor32(uint8_t *a, const uint8_t *b);

#endif
