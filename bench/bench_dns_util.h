/* Helpers shared by the dnsmesh-bench DNS and HTTP load generators: a log-bucket latency
 * histogram, strict option parsing, CPU pinning and the loopback-only address check. */
#ifndef DMP_BENCH_DNS_UTIL_H
#define DMP_BENCH_DNS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* HDR-style histogram of nanosecond values: values below 2^SUB_BITS are exact, above that each
 * power of two is split into 2^SUB_BITS linear sub-buckets (relative error < 1/64). Fixed size,
 * no allocation; counts only grow. */
#define DMPB_HIST_SUB_BITS 6
#define DMPB_HIST_BUCKETS (64 << DMPB_HIST_SUB_BITS)
typedef struct {
    uint64_t b[DMPB_HIST_BUCKETS];
    uint64_t count;
    uint64_t max;
    double sum;
} dmpb_hist_t;

void dmpb_hist_add(dmpb_hist_t *h, uint64_t v);
/* Value at quantile q in [0,1] (upper edge of its bucket, capped at the max seen); 0 if empty. */
uint64_t dmpb_hist_quantile(const dmpb_hist_t *h, double q);

int64_t dmpb_now_ns(void); /* CLOCK_MONOTONIC */

/* Parses `val` as a base-10 integer in [min,max] for option `opt`; prints a clear error to
 * stderr and returns -1 on anything else (empty, trailing junk, overflow, out of range). */
int dmpb_opt_i64(const char *opt, const char *val, int64_t min, int64_t max, int64_t *out);
int dmpb_opt_double(const char *opt, const char *val, double min, double max, double *out);

/* Pins the calling thread to `cpu`; prints the reason and returns -1 on failure. */
int dmpb_pin_cpu(int cpu);

/* Fills `ss` with host:port if host is an IPv4 address in 127.0.0.0/8 or the IPv6 address ::1;
 * anything else (names, other addresses) is refused with a message on stderr and -1. */
int dmpb_loopback_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sslen);

/* "ADDR:PORT", "[V6]:PORT" or "ADDR" (then default_port; -1 = a port is required): IP literals
 * only. Addresses outside 127.0.0.0/8 and ::1 only with allow_remote (the operator's
 * --target-is-mine). On success host_out[64] (may be NULL) gets the address text. */
int dmpb_target_parse(const char *spec, int default_port, bool allow_remote,
                      struct sockaddr_storage *ss, socklen_t *sslen, char *host_out, int *port_out);

/* Signal flag set by SIGINT/SIGTERM once dmpb_catch_signals() was called. */
extern volatile int dmpb_stop;
void dmpb_catch_signals(void);

/* xorshift64* PRNG; state must be non-zero. */
static inline uint64_t dmpb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

#endif
