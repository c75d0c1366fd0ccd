/* Shared by the test_net_* unit tests: a trivial DNS-like handler for the net frontends, a
 * server started under the backend the current group selects, and loopback clients. */
#ifndef DMP_TEST_NET_HARNESS_H
#define DMP_TEST_NET_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "net/ring.h"
#include "util/util.h"

/* Test query: a DNS query for "a." TXT whose ID's low byte picks the shard (route) and whose
 * ID high byte selects behaviour: 0xEE = handler sleeps 20 ms, 0xDD = no reply. The reply is
 * the query with QR set and one extra byte: the shard that handled it. */
typedef struct {
    _Atomic int admit_mode; /* dmp_net_admit_t */
    _Atomic int ticks;
    _Atomic int tick_again_ms; /* > 0: t_tick asks to run again after this many ms */
    pthread_t shard_thread[8];
    _Atomic int shard_seen[8];
} tctx_t;

extern tctx_t g_ctx;
extern dmp_net_backend_t g_backend;
extern dmp_net_t *g_net;
extern bool g_use_fa; /* start_server installs t_frontend_answer */

void dump_stats(const char *where);
int t_route(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards);
dmp_net_admit_t t_admit(void *ctx, unsigned fe, const struct sockaddr *peer, socklen_t pl,
                        dmp_net_transport_t t);
void t_handle(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
              size_t *out_len);
int t_tick(void *ctx, unsigned shard);
bool t_frontend_answer(void *ctx, unsigned fe, const dmp_net_query_t *q, uint8_t *out, size_t cap,
                       size_t *out_len);
size_t make_query(uint8_t *b, uint8_t hi, uint8_t lo);
dmp_net_t *start_server(dmp_net_config_t *cfg, bool want_v6);
int sock_to(int family, int type, uint16_t port, struct sockaddr_storage *ss, socklen_t *sl);
int udp_client(int family, uint16_t port);
int tcp_client(int family, uint16_t port);
ssize_t rrecv(int fd, void *b, size_t n, int flags);
bool readable(int fd, int ms);
ssize_t read_full(int fd, uint8_t *b, size_t n);
ssize_t tcp_read_msg(int fd, uint8_t *b, size_t cap);
bool tcp_closed(int fd);
void udp_roundtrip(int family, uint16_t port, unsigned nshards);

/* cmocka group set-ups selecting the backend start_server uses */
int net_set_mmsg(void **state);
int net_set_uring(void **state);

#define SKIP_IF_NULL(n)                                                                            \
    do {                                                                                           \
        if (!(n)) {                                                                                \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Runs tests[] once per backend (groups "<name>_mmsg" and "<name>_io_uring"); returns failures. */
int net_run_backends(const char *name, const struct CMUnitTest *tests, size_t n);

#endif
