/* Shared fixtures of the node core unit tests (test_node_core_*.c): a temporary store, an
 * injectable clock, and helpers that count and find stored records. */
#ifndef DMP_NODE_CORE_HARNESS_H
#define DMP_NODE_CORE_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "node/node.h"

typedef struct {
    char dir[64];
    dmp_store_t *s;
} tstore_t;

void tstore_open(tstore_t *t);
void tstore_close(tstore_t *t);
extern int64_t g_now;
int64_t fake_now(void);
size_t count_at(dmp_store_t *s, const char *name);
bool has(dmp_store_t *s, const char *name, const char *v);
void mk(dmp_node_change_t *c, dmp_node_chop_t op, const char *name, const char *val);
size_t mkq(uint8_t *b, uint16_t id, const char *name, uint16_t qtype);
int newest_k(const uint8_t *m, size_t len);

#endif
