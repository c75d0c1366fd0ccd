/* Helpers shared by the dnsmesh-bench DNS and HTTP load generators: a log-bucket latency
 * histogram, strict option parsing, CPU pinning and the loopback-only address check. */
#ifndef DMP_BENCH_DNS_UTIL_H
#define DMP_BENCH_DNS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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

/* One option of a dnsmesh-bench subcommand, for dmpb_opts_parse: a flag (bool *), a string
 * (const char **, pointing into argv), an integer (int64_t * or int *) or a number (double *) in
 * a range, or a value handed to fn (dst is fn's context). */
typedef enum {
    DMPB_OPT_FLAG,
    DMPB_OPT_STR,
    DMPB_OPT_I64,
    DMPB_OPT_INT,
    DMPB_OPT_DBL,
    DMPB_OPT_FN
} dmpb_opt_kind_t;
typedef struct {
    const char *name; /* "--port" */
    dmpb_opt_kind_t kind;
    void *dst;
    int64_t imin, imax;                                     /* DMPB_OPT_I64 / DMPB_OPT_INT */
    double dmin, dmax;                                      /* DMPB_OPT_DBL */
    int (*fn)(const char *opt, const char *val, void *dst); /* DMPB_OPT_FN: 0, or -1 once it
                                                               has said why on stderr */
} dmpb_opt_t;
#define DMPB_FLAG(n, p)                                                                            \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_FLAG, .dst = (p)                                             \
    }
#define DMPB_STR(n, p)                                                                             \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_STR, .dst = (p)                                              \
    }
#define DMPB_I64(n, p, lo, hi)                                                                     \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_I64, .dst = (p), .imin = (lo), .imax = (hi)                  \
    }
#define DMPB_INT(n, p, lo, hi)                                                                     \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_INT, .dst = (p), .imin = (lo), .imax = (hi)                  \
    }
#define DMPB_DBL(n, p, lo, hi)                                                                     \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_DBL, .dst = (p), .dmin = (lo), .dmax = (hi)                  \
    }
#define DMPB_FN(n, f, p)                                                                           \
    {                                                                                              \
        .name = (n), .kind = DMPB_OPT_FN, .dst = (p), .fn = (f)                                    \
    }

/* Parses argv[1..argc-1] against tab[0..n-1]. --help or -h prints usage(stdout) and exits 0; an
 * unknown option, a missing value or a bad one prints a clear error (prefixed "cmd: ") and
 * returns -1. Later occurrences of an option override earlier ones. */
int dmpb_opts_parse(const char *cmd, const dmpb_opt_t *tab, size_t n, int argc, char **argv,
                    void (*usage)(FILE *));

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

/* The names of FILE, one per line (line ends stripped; empty lines and lines over 250 bytes
 * skipped; at most 20,000,000), each a strdup. NULL when the file cannot be read or holds no name;
 * else *out_n names, which dmpb_free_names frees. */
char **dmpb_read_names(const char *file, size_t *out_n);
void dmpb_free_names(char **names, size_t n);

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
