/* Integration-test helpers: start/stop real dnsmeshd processes on ephemeral loopback ports with
 * temporary stores, a tiny DNS client (UDP/TCP) and a tiny HTTP/1.x client. Every wait is
 * bounded; only PIDs started here are signalled. */
#ifndef DMP_ITEST_H
#define DMP_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char dir[256]; /* temp dir: store, ports file, logs (removed by itest_cleanup) */
    char db[320];  /* store path */
    int dns_port;
    int http_port;
    char host[64]; /* "127.0.0.1" or "::1" */
    bool own_dir;
    /* RLIMIT_NOFILE for the child (soft, hard); 0 = inherit ours */
    unsigned long nofile_soft, nofile_hard;
} itest_node_t;

/* Path of the dnsmeshd binary (argv[1] of the test program). */
extern const char *itest_bin;

/* The start of every integration test's main: argv[1] must be an executable dnsmeshd (else a
 * usage line, naming usage_more after it when not NULL, or a skip line, and 77: ctest's skip
 * code); sets itest_bin, ignores SIGPIPE and seeds rand(). 0 when the test can run. */
int itest_init(int argc, char **argv, const char *usage_more);

/* Makes a fresh temp dir for a node (no process yet). */
int itest_node_init(itest_node_t *n);
/* Starts dnsmeshd with the defaults for tests plus `env` (NULL-terminated "K=V" list, later
 * entries win) and waits (<= 20 s) for its ports file. 0 on success. */
int itest_node_start(itest_node_t *n, const char *const *env);
/* Sends sig and waits (<= 15 s, then SIGKILL). Returns the exit status, 128+signal when killed
 * by a signal, or -1. */
int itest_node_stop(itest_node_t *n, int sig);
/* Removes the temp dir (rm -rf of our own mkdtemp dir only). */
void itest_node_cleanup(itest_node_t *n);
/* Runs dnsmeshd with env + argv to completion (<= 10 s); captures stderr into err. */
int itest_run_once(const char *const *env, const char *const *argv, char *err, size_t errcap);

/* DNS */
size_t itest_build_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                         int edns_payload, uint8_t edns_version, uint8_t opcode);
/* UDP exchange: returns reply length, 0 on timeout (timeout_ms), -1 on error. */
int itest_udp(const itest_node_t *n, const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
              int timeout_ms);
/* TCP exchange of one framed message: returns reply length, 0 when the server closed without a
 * reply, -1 on error/timeout. */
int itest_tcp(const itest_node_t *n, const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
              int timeout_ms);
int itest_connect_tcp(const itest_node_t *n, int port);

/* HTTP: returns the status (or -1); body (NUL-terminated) into resp_body. extra_headers is
 * "Name: v\r\n..." or NULL. */
int itest_http(const itest_node_t *n, const char *method, const char *path,
               const char *extra_headers, const char *body, size_t body_len, char *resp_body,
               size_t cap);

#endif
