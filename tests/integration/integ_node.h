/* Shared by the test_node_integ_* integration tests: one dnsmeshd for a group (zone mesh.test),
 * DNS queries decoded with ldns, HTTP helpers, and the argv check of every main(). */
#ifndef DMP_TEST_INTEG_NODE_H
#define DMP_TEST_INTEG_NODE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "itest.h"

extern itest_node_t g_node;       /* shared node of the group (zone mesh.test) */
extern const char *const g_env[]; /* its environment */
extern char g_body[1 << 16];      /* body of the last post()/get() */

typedef struct {
    uint8_t raw[65536];
    int len;
    ldns_pkt *pkt;
} reply_t;

void sleep_ms(int ms);
void reply_free(reply_t *r);
int query(const itest_node_t *n, bool tcp, const char *name, uint16_t qtype, int edns, reply_t *r);
int rcode_of(const reply_t *r);
bool tc_of(const reply_t *r);
size_t txt_value(const reply_t *r, size_t i, char *out, size_t cap, size_t *nstrings);
size_t ancount(const reply_t *r);
size_t nscount(const reply_t *r);
int post(const itest_node_t *n, const char *name, const char *json, const char *hdr);
int get(const itest_node_t *n, const char *path);
int post_value(const itest_node_t *n, const char *name, const char *value, int ttl);
int group_setup(void **state);
int group_teardown(void **state);
void assert_still_serving(void);

/* argv[1] = dnsmeshd: sets itest_bin; 0, or 77 (skip) when it is missing. */
int integ_init(int argc, char **argv);

#endif
