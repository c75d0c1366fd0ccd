/* Helpers shared by the dnsmesh-bench DNS and HTTP load generators (see bench_dns_util.h). */
#include "bench_dns_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

static unsigned hist_index(uint64_t v)
{
    if (v < (1u << DMPB_HIST_SUB_BITS))
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - DMPB_HIST_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) & ((1u << DMPB_HIST_SUB_BITS) - 1);
    return ((shift + 1) << DMPB_HIST_SUB_BITS) + sub;
}

/* Largest value that falls into bucket i. */
static uint64_t hist_upper(unsigned i)
{
    unsigned grp = i >> DMPB_HIST_SUB_BITS;
    uint64_t sub = i & ((1u << DMPB_HIST_SUB_BITS) - 1);
    if (grp == 0)
        return sub;
    unsigned shift = grp - 1;
    uint64_t base = ((uint64_t)1 << DMPB_HIST_SUB_BITS) | sub;
    return ((base + 1) << shift) - 1;
}

void dmpb_hist_add(dmpb_hist_t *h, uint64_t v)
{
    unsigned i = hist_index(v);
    if (i >= DMPB_HIST_BUCKETS)
        i = DMPB_HIST_BUCKETS - 1;
    h->b[i]++;
    h->count++;
    h->sum += (double)v;
    if (v > h->max)
        h->max = v;
}

uint64_t dmpb_hist_quantile(const dmpb_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count)
        rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < DMPB_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen > rank) {
            uint64_t up = hist_upper(i);
            return up < h->max ? up : h->max;
        }
    }
    return h->max;
}

int64_t dmpb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int dmpb_opt_i64(const char *opt, const char *val, int64_t min, int64_t max, int64_t *out)
{
    if (val == NULL) {
        fprintf(stderr, "%s needs a value\n", opt);
        return -1;
    }
    if (dmp_parse_i64(val, min, max, out) != 0) {
        fprintf(stderr, "%s: '%s' is not an integer in %lld..%lld\n", opt, val, (long long)min,
                (long long)max);
        return -1;
    }
    return 0;
}

int dmpb_opt_double(const char *opt, const char *val, double min, double max, double *out)
{
    if (val == NULL) {
        fprintf(stderr, "%s needs a value\n", opt);
        return -1;
    }
    if (dmp_parse_double(val, min, max, out) != 0) {
        fprintf(stderr, "%s: '%s' is not a number in %g..%g\n", opt, val, min, max);
        return -1;
    }
    return 0;
}

int dmpb_opts_parse(const char *cmd, const dmpb_opt_t *tab, size_t n, int argc, char **argv,
                    void (*usage)(FILE *))
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        const dmpb_opt_t *o = NULL;
        for (size_t k = 0; k < n && !o; k++)
            if (strcmp(a, tab[k].name) == 0)
                o = &tab[k];
        if (!o) {
            fprintf(stderr, "%s: unknown option '%s' (see --help)\n", cmd, a);
            return -1;
        }
        if (o->kind == DMPB_OPT_FLAG) {
            *(bool *)o->dst = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s: option %s needs a value\n", cmd, a);
            return -1;
        }
        const char *v = argv[++i];
        int64_t x;
        int rc = 0;
        switch (o->kind) {
        case DMPB_OPT_STR:
            *(const char **)o->dst = v;
            break;
        case DMPB_OPT_I64:
            rc = dmpb_opt_i64(a, v, o->imin, o->imax, (int64_t *)o->dst);
            break;
        case DMPB_OPT_INT:
            rc = dmpb_opt_i64(a, v, o->imin, o->imax, &x);
            if (rc == 0)
                *(int *)o->dst = (int)x;
            break;
        case DMPB_OPT_DBL:
            rc = dmpb_opt_double(a, v, o->dmin, o->dmax, (double *)o->dst);
            break;
        default:
            rc = o->fn(a, v, o->dst);
            break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int dmpb_pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        fprintf(stderr, "cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        return -1;
    }
    return 0;
}

int dmpb_loopback_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *sslen)
{
    memset(ss, 0, sizeof(*ss));
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        if ((ntohl(a4.s_addr) >> 24) != 127) {
            fprintf(stderr, "refusing target %s: only loopback (127.0.0.0/8, ::1) is allowed\n",
                    host);
            return -1;
        }
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr = a4;
        *sslen = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&a6)) {
            fprintf(stderr, "refusing target %s: only loopback (127.0.0.0/8, ::1) is allowed\n",
                    host);
            return -1;
        }
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sin6->sin6_addr = a6;
        *sslen = sizeof(*sin6);
        return 0;
    }
    fprintf(stderr,
            "target '%s' is not an IP literal: give a loopback address (127.0.0.0/8 or ::1)\n",
            host);
    return -1;
}

int dmpb_target_parse(const char *spec, int default_port, bool allow_remote,
                      struct sockaddr_storage *ss, socklen_t *sslen, char *host_out, int *port_out)
{
    char host[64];
    const char *port_s = NULL;
    size_t hl;
    if (spec[0] == '[') {
        const char *e = strchr(spec, ']');
        if (!e || (e[1] != 0 && e[1] != ':')) {
            fprintf(stderr, "target '%s': want [V6]:PORT\n", spec);
            return -1;
        }
        hl = (size_t)(e - spec - 1);
        if (hl >= sizeof(host)) {
            fprintf(stderr, "target '%s': address too long\n", spec);
            return -1;
        }
        memcpy(host, spec + 1, hl);
        if (e[1] == ':')
            port_s = e + 2;
    } else {
        const char *c = strchr(spec, ':');
        if (c && strchr(c + 1, ':'))
            c = NULL; /* a bare IPv6 address */
        hl = c ? (size_t)(c - spec) : strlen(spec);
        if (hl >= sizeof(host)) {
            fprintf(stderr, "target '%s': address too long\n", spec);
            return -1;
        }
        memcpy(host, spec, hl);
        if (c)
            port_s = c + 1;
    }
    host[hl] = 0;
    int64_t port = default_port;
    if (port_s && dmpb_opt_i64("target port", port_s, 1, 65535, &port) != 0)
        return -1;
    if (port < 1) {
        fprintf(stderr, "target '%s': give ADDR:PORT\n", spec);
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    bool loop;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *sslen = sizeof(*sin);
        loop = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof(*sin6);
        loop = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
    } else {
        fprintf(stderr, "target '%s' is not an IP address literal\n", host);
        return -1;
    }
    if (!loop && !allow_remote) {
        fprintf(stderr,
                "refusing target %s: it is not loopback (127.0.0.0/8, ::1); add --target-is-mine "
                "to load a server you run or may test\n",
                host);
        return -1;
    }
    if (host_out)
        snprintf(host_out, 64, "%s", host);
    if (port_out)
        *port_out = (int)port;
    return 0;
}

volatile int dmpb_stop;

static void on_signal(int sig)
{
    (void)sig;
    dmpb_stop = 1;
}

void dmpb_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

char **dmpb_read_names(const char *file, size_t *out_n)
{
    *out_n = 0;
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char **names = malloc(cap * sizeof *names);
    char line[512];
    while (names && n < 20000000 && fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        if (l == 0 || l > 250)
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap *= 2) * sizeof *names);
            if (nn == NULL)
                break;
            names = nn;
        }
        line[l] = '\0';
        if ((names[n] = strdup(line)) == NULL)
            break;
        n++;
    }
    fclose(f);
    if (names != NULL && n == 0) {
        free(names);
        names = NULL;
    }
    *out_n = n;
    return names;
}

void dmpb_free_names(char **names, size_t n)
{
    for (size_t i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
}
