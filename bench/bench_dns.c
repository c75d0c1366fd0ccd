/* dnsmesh-bench dns: a batched UDP DNS load generator for loopback servers.
 *
 * One thread drives several connected UDP sockets with sendmmsg/recvmmsg batches, keeping at
 * most --window queries outstanding in total. Every query gets a random ID that is unique among
 * the socket's outstanding queries; a reply counts only if its ID is outstanding on that socket
 * and its question matches the name sent. Latency runs from the clock read just before the
 * sendmmsg that carried the query to the clock read just after the recvmmsg that returned its
 * answer (so a batch shares one timestamp). Unanswered queries are written off as lost after
 * --timeout-ms. The run ends after --duration seconds or --max-queries queries, whichever comes
 * first, then waits at most --timeout-ms for stragglers.
 *
 * With --tcp each "socket" is a TCP connection carrying length-prefixed queries pipelined up to
 * its share of the window (RFC 7766); a connection the server closes is reopened and its
 * outstanding queries are counted as lost.
 *
 * With --io uring the UDP sockets are driven through one io_uring instead: a send SQE per query
 * (submitted in batches) and --batch receive SQEs kept armed per socket. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <liburing.h>

#include "bench.h"
#include "bench_dns_util.h"

#define MAX_NAMES 20000000
#define MAX_SOCKETS 64
#define MAX_BATCH 1024
#define MAX_WINDOW 65536
#define QBUF 300  /* a query: 12 header + 255 name + 4 + 11 OPT */
#define RBUF 4096 /* one received datagram */
#define SCAN_NS 20000000LL
#define TCP_IN_CAP (256 * 1024)
#define MAX_RECONNECTS 1000

static const char *rcode_names[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};

/* Query names in wire form, packed back to back. Owns `wire` and `off`; off[i]..off[i+1] is
 * name i (a full wire name ending in the root label). */
typedef struct {
    uint8_t *wire;
    size_t wire_len, wire_cap;
    uint32_t *off;
    size_t n, cap;
} names_t;

/* One outstanding query. sent_ns == 0 means the slot is free. */
typedef struct {
    int64_t sent_ns;
    uint32_t name;
    uint16_t id;
} slot_t;

/* One connected socket and its share of the window. id_map[id] = slot index + 1 while a query
 * with that ID is outstanding, else 0; free[0..nfree) lists the free slots. */
typedef struct {
    int fd;
    uint32_t nslots, nfree;
    slot_t *slots;
    uint32_t *free;
    uint32_t *id_map;
    uint8_t *qbuf;  /* batch * QBUF */
    uint8_t *rbuf;  /* batch * RBUF */
    uint32_t *pend; /* slots filled for the current send batch */
    /* TCP only: bytes not yet written (out[out_off..out_len)) and bytes read but not yet
     * parsed (in[0..in_len)); both owned here. */
    uint8_t *out, *in;
    size_t out_off, out_len, in_len;
} sock_t;

typedef struct {
    const char *server;
    int port;
    const char *names_file;
    const char *pattern;
    int64_t count;
    double duration;
    int64_t max_queries;
    int64_t sockets, batch, window, timeout_ms, edns, qtype, cpu, seed;
    double rate;
    bool json, quiet, tcp, uring;
} opts_t;

typedef struct {
    uint64_t sent, answered, lost, late, mismatched, malformed, truncated, send_errors, reconnects;
    uint64_t nodata; /* NOERROR replies without answer records */
    uint64_t rcode[16];
    dmpb_hist_t hist;
    int64_t t_start, t_send_end, t_last_answer;
} stats_t;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dnsmesh-bench dns --port N (--names FILE | --pattern P --count N) [options]\n"
        "\n"
        "Batched UDP DNS load generator (sendmmsg/recvmmsg over connected sockets).\n"
        "The target must be a loopback address (127.0.0.0/8 or ::1); anything else is\n"
        "refused.\n"
        "\n"
        "  --server ADDR        target IP literal, loopback only (default 127.0.0.1)\n"
        "  --port N             target UDP port (required)\n"
        "  --names FILE         query names, one per line ('#' comments, blank lines skipped)\n"
        "  --pattern P          name pattern containing {i}, e.g. 'c{i}.mesh.test'\n"
        "  --count N            with --pattern: i runs over 0..N-1\n"
        "  --duration S         seconds of load (default 5, max 3600)\n"
        "  --max-queries N      stop after N queries (default 10000000)\n"
        "  --sockets N          connected UDP sockets / TCP connections (default 4, max %d)\n"
        "  --batch N            queries per sendmmsg/recvmmsg (default 32, max %d)\n"
        "  --window N           outstanding queries across all sockets (default 512, max %d)\n"
        "  --timeout-ms N       a query unanswered this long is lost (default 1000)\n"
        "  --rate QPS           cap the send rate (default 0 = as fast as the window allows)\n"
        "  --edns SIZE          EDNS0 UDP payload size to advertise, 0 = no OPT (default "
        "1232)\n"
        "  --qtype T            TXT, A, AAAA, NS, SOA or a number (default TXT)\n"
        "  --tcp                DNS over TCP: pipelined length-prefixed queries per connection\n"
        "  --io mmsg|uring      UDP I/O: sendmmsg/recvmmsg (default) or io_uring\n"
        "  --cpu N              pin the generator to CPU N\n"
        "  --seed N             PRNG seed for IDs and name order (default 1)\n"
        "  --json               print one JSON object instead of text\n"
        "  --quiet              no progress line on stderr\n"
        "\n"
        "Prints sent, answered, lost (timed out), late/mismatched replies, an RCODE\n"
        "histogram (and how many NOERRORs had no answer), answered QPS and latency\n"
        "p50/p99/p99.9/max. Exit 0 if anything was answered, 1 if nothing was, 2 on bad\n"
        "arguments.\n",
        MAX_SOCKETS, MAX_BATCH, MAX_WINDOW);
}

/* Appends `name` (text, optional trailing dot) in wire form; -1 with a message if invalid. */
static int names_add(names_t *nm, const char *name, size_t len)
{
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253) {
        fprintf(stderr, "bad query name '%.*s': empty or longer than 253\n", (int)len, name);
        return -1;
    }
    if (nm->n + 1 >= nm->cap) {
        size_t nc = nm->cap ? nm->cap * 2 : 1024;
        uint32_t *no = realloc(nm->off, nc * sizeof(*no));
        if (!no)
            return -1;
        nm->off = no;
        nm->cap = nc;
    }
    if (nm->wire_len + len + 2 > nm->wire_cap) {
        size_t nc = nm->wire_cap ? nm->wire_cap * 2 : 65536;
        while (nc < nm->wire_len + len + 2)
            nc *= 2;
        uint8_t *nw = realloc(nm->wire, nc);
        if (!nw)
            return -1;
        nm->wire = nw;
        nm->wire_cap = nc;
    }
    if (nm->n == 0)
        nm->off[0] = 0;
    uint8_t *w = nm->wire + nm->wire_len;
    size_t o = 0, lab = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            size_t ll = i - lab;
            if (ll == 0 || ll > 63) {
                fprintf(stderr, "bad query name '%.*s': empty label or label over 63\n", (int)len,
                        name);
                return -1;
            }
            w[o++] = (uint8_t)ll;
            for (size_t j = lab; j < i; j++) {
                unsigned char c = (unsigned char)name[j];
                if (c <= ' ' || c >= 0x7f) {
                    fprintf(stderr, "bad query name '%.*s': unprintable byte\n", (int)len, name);
                    return -1;
                }
                w[o++] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            }
            lab = i + 1;
        }
    }
    w[o++] = 0;
    nm->wire_len += o;
    nm->n++;
    nm->off[nm->n] = (uint32_t)nm->wire_len;
    return 0;
}

static int names_load_file(names_t *nm, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open names file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        size_t l = strlen(line);
        if (l == sizeof(line) - 1 && line[l - 1] != '\n') {
            fprintf(stderr, "%s: line longer than %zu bytes\n", path, sizeof(line) - 2);
            rc = -1;
            break;
        }
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' ' ||
                         line[l - 1] == '\t'))
            line[--l] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == 0 || *s == '#')
            continue;
        if (nm->n >= MAX_NAMES) {
            fprintf(stderr, "%s: more than %d names\n", path, MAX_NAMES);
            rc = -1;
            break;
        }
        if (names_add(nm, s, strlen(s)) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && nm->n == 0) {
        fprintf(stderr, "%s: no names\n", path);
        rc = -1;
    }
    return rc;
}

static int names_from_pattern(names_t *nm, const char *pat, int64_t count)
{
    const char *p = strstr(pat, "{i}");
    if (!p || strstr(p + 3, "{i}")) {
        fprintf(stderr, "--pattern must contain {i} exactly once\n");
        return -1;
    }
    char buf[300];
    for (int64_t i = 0; i < count; i++) {
        int l = snprintf(buf, sizeof(buf), "%.*s%lld%s", (int)(p - pat), pat, (long long)i, p + 3);
        if (l < 0 || (size_t)l >= sizeof(buf)) {
            fprintf(stderr, "--pattern gives a name that is too long\n");
            return -1;
        }
        if (names_add(nm, buf, (size_t)l) != 0)
            return -1;
    }
    return 0;
}

static int parse_qtype(const char *s, int64_t *out)
{
    static const struct {
        const char *n;
        int v;
    } t[] = {{"A", 1}, {"NS", 2}, {"SOA", 6}, {"TXT", 16}, {"AAAA", 28}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcasecmp(s, t[i].n) == 0) {
            *out = t[i].v;
            return 0;
        }
    return dmpb_opt_i64("--qtype", s, 1, 65535, out);
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.server = "127.0.0.1",
                  .port = -1,
                  .duration = 5,
                  .max_queries = 10000000,
                  .sockets = 4,
                  .batch = 32,
                  .window = 512,
                  .timeout_ms = 1000,
                  .edns = 1232,
                  .qtype = 16,
                  .cpu = -1,
                  .seed = 1,
                  .count = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t x;
        int used = 1, rc = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
            used = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            used = 0;
        } else if (strcmp(a, "--tcp") == 0) {
            o->tcp = true;
            used = 0;
        } else if (!v) {
            fprintf(stderr, "dns: option '%s' needs a value or is unknown\n", a);
            return -1;
        } else if (strcmp(a, "--server") == 0) {
            o->server = v;
        } else if (strcmp(a, "--io") == 0) {
            if (strcmp(v, "mmsg") == 0) {
                o->uring = false;
            } else if (strcmp(v, "uring") == 0) {
                o->uring = true;
            } else {
                fprintf(stderr, "--io: give mmsg or uring, not '%s'\n", v);
                return -1;
            }
        } else if (strcmp(a, "--port") == 0) {
            rc = dmpb_opt_i64(a, v, 1, 65535, &x);
            o->port = (int)x;
        } else if (strcmp(a, "--names") == 0) {
            o->names_file = v;
        } else if (strcmp(a, "--pattern") == 0) {
            o->pattern = v;
        } else if (strcmp(a, "--count") == 0) {
            rc = dmpb_opt_i64(a, v, 1, MAX_NAMES, &o->count);
        } else if (strcmp(a, "--duration") == 0) {
            rc = dmpb_opt_double(a, v, 0.01, 3600, &o->duration);
        } else if (strcmp(a, "--max-queries") == 0) {
            rc = dmpb_opt_i64(a, v, 1, 1000000000000LL, &o->max_queries);
        } else if (strcmp(a, "--sockets") == 0) {
            rc = dmpb_opt_i64(a, v, 1, MAX_SOCKETS, &o->sockets);
        } else if (strcmp(a, "--batch") == 0) {
            rc = dmpb_opt_i64(a, v, 1, MAX_BATCH, &o->batch);
        } else if (strcmp(a, "--window") == 0) {
            rc = dmpb_opt_i64(a, v, 1, MAX_WINDOW, &o->window);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            rc = dmpb_opt_i64(a, v, 1, 60000, &o->timeout_ms);
        } else if (strcmp(a, "--rate") == 0) {
            rc = dmpb_opt_double(a, v, 0, 1e8, &o->rate);
        } else if (strcmp(a, "--edns") == 0) {
            rc = dmpb_opt_i64(a, v, 0, 65535, &o->edns);
            if (rc == 0 && o->edns != 0 && o->edns < 512) {
                fprintf(stderr, "--edns: give 0 (no OPT) or a size of at least 512\n");
                rc = -1;
            }
        } else if (strcmp(a, "--qtype") == 0) {
            rc = parse_qtype(v, &o->qtype);
        } else if (strcmp(a, "--cpu") == 0) {
            rc = dmpb_opt_i64(a, v, 0, 1023, &o->cpu);
        } else if (strcmp(a, "--seed") == 0) {
            rc = dmpb_opt_i64(a, v, 0, INT64_MAX, &o->seed);
        } else {
            fprintf(stderr, "dns: unknown option '%s' (see --help)\n", a);
            return -1;
        }
        if (rc != 0)
            return -1;
        i += used;
    }
    if (o->port < 0) {
        fprintf(stderr, "dns: --port is required\n");
        return -1;
    }
    if (!!o->names_file == !!o->pattern) {
        fprintf(stderr, "dns: give exactly one of --names FILE or --pattern P\n");
        return -1;
    }
    if (o->pattern && o->count < 0) {
        fprintf(stderr, "dns: --pattern needs --count N\n");
        return -1;
    }
    if (!o->pattern && o->count >= 0) {
        fprintf(stderr, "dns: --count only goes with --pattern\n");
        return -1;
    }
    if (o->uring && o->tcp) {
        fprintf(stderr, "dns: --io uring is for UDP only; drop --tcp or --io uring\n");
        return -1;
    }
    if (o->window < o->sockets) {
        fprintf(stderr, "dns: --window must be at least --sockets\n");
        return -1;
    }
    return 0;
}

static size_t build_query(uint8_t *q, const names_t *nm, uint32_t name, uint16_t id,
                          const opts_t *o)
{
    size_t nl = nm->off[name + 1] - nm->off[name];
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    q[2] = 0; /* QUERY, RD=0: these are authoritative servers */
    q[3] = 0;
    q[4] = 0;
    q[5] = 1;
    memset(q + 6, 0, 6);
    memcpy(q + 12, nm->wire + nm->off[name], nl);
    size_t p = 12 + nl;
    q[p++] = (uint8_t)(o->qtype >> 8);
    q[p++] = (uint8_t)o->qtype;
    q[p++] = 0;
    q[p++] = 1;
    if (o->edns) {
        q[11] = 1;
        q[p++] = 0; /* root owner */
        q[p++] = 0;
        q[p++] = 41; /* OPT */
        q[p++] = (uint8_t)(o->edns >> 8);
        q[p++] = (uint8_t)o->edns;
        memset(q + p, 0, 6); /* ext-rcode, version, flags, rdlen */
        p += 6;
    }
    return p;
}

static void slot_free(sock_t *s, uint32_t si)
{
    s->id_map[s->slots[si].id] = 0;
    s->slots[si].sent_ns = 0;
    s->free[s->nfree++] = si;
}

/* Matches one reply against the socket's outstanding queries and records it. */
static void handle_reply(sock_t *s, const uint8_t *r, size_t len, int64_t now, const names_t *nm,
                         const opts_t *o, stats_t *st)
{
    if (len < 12 || !(r[2] & 0x80)) {
        st->malformed++;
        return;
    }
    uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
    uint32_t m = s->id_map[id];
    if (m == 0) {
        st->late++;
        return;
    }
    uint32_t si = m - 1;
    slot_t *sl = &s->slots[si];
    /* The question must echo the name and type sent (case-insensitively, for 0x20 servers). */
    size_t nl = nm->off[sl->name + 1] - nm->off[sl->name];
    const uint8_t *w = nm->wire + nm->off[sl->name];
    bool ok = r[4] == 0 && r[5] == 1 && len >= 12 + nl + 4;
    for (size_t i = 0; ok && i < nl; i++) {
        uint8_t c = r[12 + i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        ok = c == w[i];
    }
    if (ok)
        ok = r[12 + nl] == (uint8_t)(o->qtype >> 8) && r[13 + nl] == (uint8_t)o->qtype;
    if (!ok) {
        st->mismatched++;
        return;
    }
    if (r[2] & 0x02)
        st->truncated++;
    st->rcode[r[3] & 0x0f]++;
    if ((r[3] & 0x0f) == 0 && r[6] == 0 && r[7] == 0)
        st->nodata++;
    st->answered++;
    int64_t lat = now - sl->sent_ns;
    dmpb_hist_add(&st->hist, lat > 0 ? (uint64_t)lat : 0);
    st->t_last_answer = now;
    slot_free(s, si);
}

static void expire(sock_t *socks, int n, int64_t now, int64_t timeout_ns, stats_t *st)
{
    for (int k = 0; k < n; k++) {
        sock_t *s = &socks[k];
        for (uint32_t i = 0; i < s->nslots; i++) {
            if (s->slots[i].sent_ns != 0 && now - s->slots[i].sent_ns > timeout_ns) {
                st->lost++;
                slot_free(s, i);
            }
        }
    }
}

/* Opens s->fd: a connected non-blocking UDP socket, or a TCP connection (blocking connect on
 * loopback, then non-blocking). */
static int sock_connect(sock_t *s, bool tcp, const struct sockaddr_storage *ss, socklen_t sslen)
{
    s->fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fprintf(stderr, "socket: %s\n", strerror(errno));
        return -1;
    }
    int sz = 4 << 20, one = 1;
    (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    (void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (tcp)
        (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (const struct sockaddr *)ss, sslen) != 0 ||
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "connect: %s\n", strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    s->out_off = s->out_len = s->in_len = 0;
    return 0;
}

static int sock_setup(sock_t *s, uint32_t nslots, int batch, bool tcp,
                      const struct sockaddr_storage *ss, socklen_t sslen)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if (sock_connect(s, tcp, ss, sslen) != 0)
        return -1;
    if (tcp) {
        s->out = malloc((size_t)batch * (QBUF + 2));
        s->in = malloc(TCP_IN_CAP);
        if (!s->out || !s->in) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
    }
    s->nslots = nslots;
    s->slots = calloc(nslots, sizeof(*s->slots));
    s->free = calloc(nslots, sizeof(*s->free));
    s->id_map = calloc(65536, sizeof(*s->id_map));
    s->qbuf = malloc((size_t)batch * QBUF);
    s->rbuf = malloc((size_t)batch * RBUF);
    s->pend = calloc((size_t)batch, sizeof(*s->pend));
    if (!s->slots || !s->free || !s->id_map || !s->qbuf || !s->rbuf || !s->pend) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    for (uint32_t i = 0; i < nslots; i++)
        s->free[i] = nslots - 1 - i;
    s->nfree = nslots;
    return 0;
}

static void sock_close(sock_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    free(s->out);
    free(s->in);
    free(s->slots);
    free(s->free);
    free(s->id_map);
    free(s->qbuf);
    free(s->rbuf);
    free(s->pend);
}

/* Fills up to `want` free slots of `s` with queries and sends them in one sendmmsg. Returns the
 * number sent (slots of unsent queries are returned to the free list). */
static int send_batch(sock_t *s, int want, const names_t *nm, const opts_t *o, uint64_t *rng,
                      stats_t *st)
{
    struct mmsghdr msgs[MAX_BATCH];
    struct iovec iov[MAX_BATCH];
    int n = 0;
    int64_t now = dmpb_now_ns();
    while (n < want && s->nfree > 0) {
        uint32_t si = s->free[--s->nfree];
        uint16_t id;
        int tries = 0;
        do {
            id = (uint16_t)(dmpb_rand(rng) >> 48);
        } while (s->id_map[id] != 0 && ++tries < 64);
        if (s->id_map[id] != 0) { /* window nearly fills the ID space: retry later */
            s->nfree++;
            break;
        }
        uint32_t name = (uint32_t)(dmpb_rand(rng) % nm->n);
        slot_t *sl = &s->slots[si];
        sl->id = id;
        sl->name = name;
        sl->sent_ns = now;
        s->id_map[id] = si + 1;
        s->pend[n] = si;
        uint8_t *q = s->qbuf + (size_t)n * QBUF;
        iov[n].iov_base = q;
        iov[n].iov_len = build_query(q, nm, name, id, o);
        memset(&msgs[n], 0, sizeof(msgs[n]));
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        n++;
    }
    if (n == 0)
        return 0;
    int r = sendmmsg(s->fd, msgs, (unsigned)n, 0);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != ECONNREFUSED)
            st->send_errors++;
        r = 0;
    }
    for (int i = r; i < n; i++)
        slot_free(s, s->pend[i]);
    st->sent += (uint64_t)r;
    return r;
}

/* Drains up to a few batches from `s`; returns the number of datagrams received. */
static int recv_batch(sock_t *s, int batch, const names_t *nm, const opts_t *o, stats_t *st)
{
    struct mmsghdr msgs[MAX_BATCH];
    struct iovec iov[MAX_BATCH];
    int total = 0;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < batch; i++) {
            iov[i].iov_base = s->rbuf + (size_t)i * RBUF;
            iov[i].iov_len = RBUF;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(s->fd, msgs, (unsigned)batch, MSG_DONTWAIT, NULL);
        if (r <= 0)
            break;
        int64_t now = dmpb_now_ns();
        for (int i = 0; i < r; i++) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                st->malformed++;
                continue;
            }
            handle_reply(s, s->rbuf + (size_t)i * RBUF, msgs[i].msg_len, now, nm, o, st);
        }
        total += r;
        if (r < batch)
            break;
    }
    return total;
}

/* --- TCP ------------------------------------------------------------------------------- */

static struct sockaddr_storage g_target; /* set once in dns_main before any connection */
static socklen_t g_target_len;

/* The server closed or broke the connection: write off its outstanding queries as lost and
 * reconnect (at most MAX_RECONNECTS times per run, then stop the run). */
static void tcp_reset(sock_t *s, stats_t *st)
{
    for (uint32_t i = 0; i < s->nslots; i++)
        if (s->slots[i].sent_ns != 0) {
            st->lost++;
            slot_free(s, i);
        }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (++st->reconnects > MAX_RECONNECTS) {
        fprintf(stderr, "dns: more than %d TCP reconnects; stopping\n", MAX_RECONNECTS);
        dmpb_stop = 1;
        return;
    }
    if (sock_connect(s, true, &g_target, g_target_len) != 0)
        dmpb_stop = 1;
}

/* Writes pending bytes; 0 when all were written or the socket is full, -1 on a broken
 * connection. */
static int tcp_flush(sock_t *s)
{
    while (s->out_off < s->out_len) {
        ssize_t w = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (w > 0)
            s->out_off += (size_t)w;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    s->out_off = s->out_len = 0;
    return 0;
}

static int tcp_send_batch(sock_t *s, int want, const names_t *nm, const opts_t *o, uint64_t *rng,
                          stats_t *st)
{
    if (s->fd < 0)
        return 0;
    if (s->out_len > 0) {
        if (tcp_flush(s) != 0)
            tcp_reset(s, st);
        return 0; /* send new queries only once the previous batch is fully written */
    }
    int64_t now = dmpb_now_ns();
    int n = 0;
    size_t len = 0;
    while (n < want && s->nfree > 0) {
        uint32_t si = s->free[--s->nfree];
        uint16_t id;
        int tries = 0;
        do {
            id = (uint16_t)(dmpb_rand(rng) >> 48);
        } while (s->id_map[id] != 0 && ++tries < 64);
        if (s->id_map[id] != 0) {
            s->nfree++;
            break;
        }
        uint32_t name = (uint32_t)(dmpb_rand(rng) % nm->n);
        slot_t *sl = &s->slots[si];
        sl->id = id;
        sl->name = name;
        sl->sent_ns = now;
        s->id_map[id] = si + 1;
        size_t ql = build_query(s->out + len + 2, nm, name, id, o);
        s->out[len] = (uint8_t)(ql >> 8);
        s->out[len + 1] = (uint8_t)ql;
        len += ql + 2;
        n++;
    }
    if (n == 0)
        return 0;
    s->out_off = 0;
    s->out_len = len;
    st->sent += (uint64_t)n;
    if (tcp_flush(s) != 0)
        tcp_reset(s, st);
    return n;
}

static int tcp_recv(sock_t *s, const names_t *nm, const opts_t *o, stats_t *st)
{
    int got = 0;
    for (int round = 0; round < 4 && s->fd >= 0; round++) {
        ssize_t r = recv(s->fd, s->in + s->in_len, TCP_IN_CAP - s->in_len, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            tcp_reset(s, st);
            break;
        }
        s->in_len += (size_t)r;
        int64_t now = dmpb_now_ns();
        size_t off = 0;
        while (s->in_len - off >= 2) {
            size_t ml = (size_t)s->in[off] << 8 | s->in[off + 1];
            if (s->in_len - off - 2 < ml)
                break;
            handle_reply(s, s->in + off + 2, ml, now, nm, o, st);
            off += 2 + ml;
            got++;
        }
        memmove(s->in, s->in + off, s->in_len - off);
        s->in_len -= off;
    }
    return got;
}

/* --- io_uring (UDP) ---------------------------------------------------------------------- */

/* One ring for all sockets. Owns sbuf[i] (socket i's per-slot query buffers: a query's bytes
 * stay put until its send completes, since a slot is reused only after its reply or timeout).
 * Receive buffers are the sockets' rbuf; the ring must be torn down before they are freed. */
typedef struct {
    struct io_uring ring;
    bool inited;
    int batch;
    uint8_t *sbuf[MAX_SOCKETS];
} uring_t;

enum { UD_RECV = 1, UD_SEND = 2 };

static uint64_t ud_make(unsigned type, unsigned sock, uint64_t low40)
{
    return (uint64_t)type << 60 | (uint64_t)sock << 40 | (low40 & 0xffffffffffULL);
}

static struct io_uring_sqe *uring_sqe(uring_t *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static int uring_arm_recv(uring_t *u, sock_t *s, unsigned sock, uint32_t b)
{
    struct io_uring_sqe *sqe = uring_sqe(u);
    if (!sqe)
        return -1;
    io_uring_prep_recv(sqe, s->fd, s->rbuf + (size_t)b * RBUF, RBUF, 0);
    io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, sock, b));
    return 0;
}

static int uring_init(uring_t *u, sock_t *socks, int nsock, int batch, int64_t window)
{
    memset(u, 0, sizeof(*u));
    u->batch = batch;
    unsigned need = (unsigned)(nsock * batch + window), entries = 64;
    while (entries < need && entries < 16384)
        entries <<= 1;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    int rc = io_uring_queue_init_params(entries, &u->ring, &p);
    if (rc < 0) {
        fprintf(stderr, "io_uring unavailable (%s); use --io mmsg\n", strerror(-rc));
        return -1;
    }
    u->inited = true;
    for (int i = 0; i < nsock; i++) {
        u->sbuf[i] = malloc((size_t)socks[i].nslots * QBUF);
        if (!u->sbuf[i]) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
        for (int b = 0; b < batch; b++)
            if (uring_arm_recv(u, &socks[i], (unsigned)i, (uint32_t)b) != 0) {
                fprintf(stderr, "io_uring: no submission entry for a receive\n");
                return -1;
            }
    }
    io_uring_submit(&u->ring);
    return 0;
}

/* Cancels everything in flight (io_uring_queue_exit waits for it) and frees the send buffers. */
static void uring_exit(uring_t *u, int nsock)
{
    if (u->inited)
        io_uring_queue_exit(&u->ring);
    u->inited = false;
    for (int i = 0; i < nsock; i++) {
        free(u->sbuf[i]);
        u->sbuf[i] = NULL;
    }
}

/* Prepares up to `want` sends on socket `sock` (submitted by uring_pump). */
static int uring_send(uring_t *u, sock_t *s, unsigned sock, int want, const names_t *nm,
                      const opts_t *o, uint64_t *rng, stats_t *st)
{
    int64_t now = dmpb_now_ns();
    int n = 0;
    while (n < want && s->nfree > 0) {
        uint16_t id;
        int tries = 0;
        do {
            id = (uint16_t)(dmpb_rand(rng) >> 48);
        } while (s->id_map[id] != 0 && ++tries < 64);
        if (s->id_map[id] != 0)
            break;
        struct io_uring_sqe *sqe = uring_sqe(u);
        if (!sqe)
            break;
        uint32_t si = s->free[--s->nfree];
        uint32_t name = (uint32_t)(dmpb_rand(rng) % nm->n);
        slot_t *sl = &s->slots[si];
        sl->id = id;
        sl->name = name;
        sl->sent_ns = now;
        s->id_map[id] = si + 1;
        uint8_t *q = u->sbuf[sock] + (size_t)si * QBUF;
        size_t ql = build_query(q, nm, name, id, o);
        io_uring_prep_send(sqe, s->fd, q, ql, 0);
        io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, sock, (uint64_t)si << 16 | id));
        n++;
    }
    st->sent += (uint64_t)n;
    return n;
}

/* Submits what is prepared, waits up to 1 ms for a completion if `may_wait`, and handles every
 * completion that is ready. Returns the number handled. */
static int uring_pump(uring_t *u, sock_t *socks, const names_t *nm, const opts_t *o, stats_t *st,
                      bool may_wait)
{
    struct io_uring_cqe *cqes[256];
    io_uring_submit(&u->ring);
    unsigned n = io_uring_peek_batch_cqe(&u->ring, cqes, 256);
    if (n == 0 && may_wait) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        struct io_uring_cqe *c;
        if (io_uring_wait_cqe_timeout(&u->ring, &c, &ts) == 0)
            n = io_uring_peek_batch_cqe(&u->ring, cqes, 256);
    }
    int64_t now = dmpb_now_ns();
    for (unsigned i = 0; i < n; i++) {
        uint64_t ud = io_uring_cqe_get_data64(cqes[i]);
        int res = cqes[i]->res;
        unsigned type = (unsigned)(ud >> 60), sock = (unsigned)(ud >> 40) & 0xfffff;
        if (sock >= MAX_SOCKETS)
            continue;
        sock_t *s = &socks[sock];
        if (type == UD_RECV) {
            uint32_t b = (uint32_t)(ud & 0xffffffffffULL);
            if (res > 0)
                handle_reply(s, s->rbuf + (size_t)b * RBUF, (size_t)res, now, nm, o, st);
            if (res != -ECANCELED)
                (void)uring_arm_recv(u, s, sock, b);
        } else if (type == UD_SEND && res < 0) {
            uint32_t si = (uint32_t)(ud >> 16) & 0xffffff;
            uint16_t id = (uint16_t)ud;
            if (res != -ECONNREFUSED && res != -EAGAIN && res != -ENOBUFS)
                st->send_errors++;
            if (st->sent > 0)
                st->sent--;
            if (si < s->nslots && s->slots[si].sent_ns != 0 && s->slots[si].id == id)
                slot_free(s, si);
        }
    }
    io_uring_cq_advance(&u->ring, n);
    return (int)n;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void report(const opts_t *o, const stats_t *st, size_t nnames)
{
    double send_s = (double)(st->t_send_end - st->t_start) / 1e9;
    double ans_s = (double)(st->t_last_answer - st->t_start) / 1e9;
    if (ans_s < send_s)
        ans_s = send_s;
    double qps = ans_s > 0 ? (double)st->answered / ans_s : 0;
    double sent_qps = send_s > 0 ? (double)st->sent / send_s : 0;
    uint64_t p50 = dmpb_hist_quantile(&st->hist, 0.50);
    uint64_t p99 = dmpb_hist_quantile(&st->hist, 0.99);
    uint64_t p999 = dmpb_hist_quantile(&st->hist, 0.999);
    double lost_pct = st->sent ? 100.0 * (double)st->lost / (double)st->sent : 0;
    if (o->json) {
        json_t *rc = json_object();
        for (int i = 0; i < 16; i++)
            if (st->rcode[i])
                json_object_set_new(rc, rcode_names[i], json_integer((json_int_t)st->rcode[i]));
        json_t *j = json_pack(
            "{s:s, s:i, s:i, s:i, s:i, s:i, s:f, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, "
            "s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
            "server", o->server, "port", o->port, "sockets", (int)o->sockets, "batch",
            (int)o->batch, "window", (int)o->window, "names", (int)nnames, "duration_s", ans_s,
            "sent", (json_int_t)st->sent, "answered", (json_int_t)st->answered, "lost",
            (json_int_t)st->lost, "lost_pct", lost_pct, "late", (json_int_t)st->late, "mismatched",
            (json_int_t)st->mismatched, "malformed", (json_int_t)st->malformed, "truncated",
            (json_int_t)st->truncated, "send_errors", (json_int_t)st->send_errors, "rcodes", rc,
            "qps", qps, "sent_qps", sent_qps, "p50_us", us(p50), "p99_us", us(p99), "p999_us",
            us(p999), "max_us", us(st->hist.max), "mean_us",
            st->hist.count ? st->hist.sum / (double)st->hist.count / 1000.0 : 0.0);
        if (j) {
            json_object_set_new(j, "nodata", json_integer((json_int_t)st->nodata));
            json_object_set_new(j, "transport", json_string(o->tcp ? "tcp" : "udp"));
            json_object_set_new(j, "io", json_string(o->uring ? "uring" : "mmsg"));
            json_object_set_new(j, "tcp_reconnects", json_integer((json_int_t)st->reconnects));
            char *s = json_dumps(j, JSON_COMPACT);
            if (s)
                printf("%s\n", s);
            free(s);
            json_decref(j);
        }
        return;
    }
    printf("target %s port %d (%s%s): %zu names, %d sockets, batch %d, window %d, %.2f s\n",
           o->server, o->port, o->tcp ? "TCP" : "UDP", o->uring ? ", io_uring" : "", nnames,
           (int)o->sockets, (int)o->batch, (int)o->window, ans_s);
    if (o->tcp)
        printf("tcp reconnects %llu\n", (unsigned long long)st->reconnects);
    printf("sent %llu  answered %llu  lost %llu (%.3f%%)  late %llu  mismatched %llu  "
           "malformed %llu  truncated %llu  send_errors %llu\n",
           (unsigned long long)st->sent, (unsigned long long)st->answered,
           (unsigned long long)st->lost, lost_pct, (unsigned long long)st->late,
           (unsigned long long)st->mismatched, (unsigned long long)st->malformed,
           (unsigned long long)st->truncated, (unsigned long long)st->send_errors);
    printf("rcodes:");
    for (int i = 0; i < 16; i++)
        if (st->rcode[i])
            printf(" %s %llu", rcode_names[i], (unsigned long long)st->rcode[i]);
    printf("  (NOERROR without answers: %llu)\n", (unsigned long long)st->nodata);
    printf("qps %.0f (sent %.0f/s)\n", qps, sent_qps);
    printf("latency_us p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", us(p50), us(p99), us(p999),
           us(st->hist.max));
}

static int dns_main(int argc, char **argv)
{
    opts_t o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (dmpb_loopback_addr(o.server, o.port, &ss, &sslen) != 0)
        return 2;
    names_t nm = {0};
    int rc = o.names_file ? names_load_file(&nm, o.names_file)
                          : names_from_pattern(&nm, o.pattern, o.count);
    if (rc != 0) {
        free(nm.wire);
        free(nm.off);
        return 2;
    }
    if (o.cpu >= 0 && dmpb_pin_cpu((int)o.cpu) != 0) {
        free(nm.wire);
        free(nm.off);
        return 2;
    }
    int nsock = (int)o.sockets;
    sock_t socks[MAX_SOCKETS];
    memset(socks, 0, sizeof(socks));
    for (int i = 0; i < MAX_SOCKETS; i++)
        socks[i].fd = -1;
    stats_t *st = calloc(1, sizeof(*st));
    uring_t *u = NULL;
    int ret = 1;
    if (!st)
        goto out;
    for (int i = 0; i < nsock; i++) {
        uint32_t share = (uint32_t)(o.window / nsock + (i < o.window % nsock ? 1 : 0));
        if (sock_setup(&socks[i], share, (int)o.batch, o.tcp, &ss, sslen) != 0) {
            ret = 2;
            goto out;
        }
    }
    if (o.uring) {
        u = calloc(1, sizeof(*u));
        if (!u || uring_init(u, socks, nsock, (int)o.batch, o.window) != 0) {
            ret = 2;
            goto out;
        }
    }
    dmpb_catch_signals();
    g_target = ss;
    g_target_len = sslen;
    uint64_t rng = (uint64_t)o.seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (rng == 0)
        rng = 1;
    int64_t timeout_ns = o.timeout_ms * 1000000LL;
    st->t_start = dmpb_now_ns();
    int64_t t_end = st->t_start + (int64_t)(o.duration * 1e9);
    int64_t next_scan = st->t_start + SCAN_NS, next_progress = st->t_start + 1000000000LL;
    uint64_t last_answered = 0;
    bool sending = true;
    int64_t drain_end = 0;
    struct pollfd pfd[MAX_SOCKETS];
    for (;;) {
        int64_t now = dmpb_now_ns();
        if (sending && (now >= t_end || st->sent >= (uint64_t)o.max_queries || dmpb_stop)) {
            sending = false;
            st->t_send_end = now;
            drain_end = now + timeout_ns;
        }
        if (!sending) {
            uint64_t out = 0;
            for (int i = 0; i < nsock; i++)
                out += socks[i].nslots - socks[i].nfree;
            if (out == 0 || now >= drain_end)
                break;
        }
        int progress = 0;
        if (sending) {
            for (int i = 0; i < nsock; i++) {
                int64_t want = o.batch;
                int64_t budget = o.max_queries - (int64_t)st->sent;
                if (want > budget)
                    want = budget;
                if (o.rate > 0) {
                    int64_t allowed =
                        (int64_t)(o.rate * (double)(now - st->t_start) / 1e9) - (int64_t)st->sent;
                    if (want > allowed)
                        want = allowed;
                }
                if (want <= 0)
                    break;
                if (u)
                    progress += uring_send(u, &socks[i], (unsigned)i, (int)want, &nm, &o, &rng, st);
                else
                    progress += o.tcp ? tcp_send_batch(&socks[i], (int)want, &nm, &o, &rng, st)
                                      : send_batch(&socks[i], (int)want, &nm, &o, &rng, st);
            }
        }
        if (u) {
            int got = uring_pump(u, socks, &nm, &o, st, progress == 0);
            progress += got > 0 ? got : 1; /* the pump already waited */
        } else {
            for (int i = 0; i < nsock; i++)
                progress += o.tcp ? tcp_recv(&socks[i], &nm, &o, st)
                                  : recv_batch(&socks[i], (int)o.batch, &nm, &o, st);
        }
        if (now >= next_scan) {
            expire(socks, nsock, now, timeout_ns, st);
            next_scan = now + SCAN_NS;
        }
        if (!o.quiet && !o.json && now >= next_progress) {
            fprintf(stderr, "\r%6.1f s  %llu answered/s   ", (double)(now - st->t_start) / 1e9,
                    (unsigned long long)(st->answered - last_answered));
            last_answered = st->answered;
            next_progress += 1000000000LL;
        }
        if (progress == 0) {
            for (int i = 0; i < nsock; i++)
                pfd[i] =
                    (struct pollfd){.fd = socks[i].fd,
                                    .events = (short)(POLLIN | (socks[i].out_len ? POLLOUT : 0))};
            (void)poll(pfd, (nfds_t)nsock, 1);
        }
    }
    if (!o.quiet && !o.json)
        fprintf(stderr, "\n");
    /* Whatever is still outstanding after the drain is lost. */
    for (int i = 0; i < nsock; i++)
        st->lost += socks[i].nslots - socks[i].nfree;
    report(&o, st, nm.n);
    ret = st->answered > 0 ? 0 : 1;
out:
    if (u)
        uring_exit(u, nsock); /* before the sockets' receive buffers go */
    free(u);
    for (int i = 0; i < nsock; i++)
        sock_close(&socks[i]);
    free(st);
    free(nm.wire);
    free(nm.off);
    return ret;
}

static const dmp_bench_cmd_t cmd = {"dns", "batched UDP DNS load generator (QPS, latency)",
                                    dns_main};
DMP_BENCH_REGISTER(cmd)
