/* dnsmesh-bench rrl: a legitimate client at a fixed rate beside a flood from another source,
 * against one loopback server with response rate limiting on.
 *
 * One thread, two UDP sockets connected to the server: the legitimate sender bound to
 * --legit-src (default 127.0.1.1) sends --legit-rate queries/s open-loop (query i due at
 * start + i/rate) for names drawn at random from the --expect file; the flood sender bound to
 * --flood-src (default 127.0.0.1, another /24) sends the same question (--flood-name, TXT) at
 * --flood-rate queries/s (0: as fast as the socket takes them), as a spoofed-source reflection
 * attack would (or, with --flood-random-under ZONE, a different name that does not exist in every
 * query: a random-subdomain flood). The run stops after --duration seconds or --max-flood flood
 * queries, then waits --timeout-ms for stragglers.
 *
 * Every reply is parsed and checked against the expect file (name, RCODE, number of TXT answer
 * records, their total bytes and an order-independent hash of their values): a legitimate query
 * counts as answered in full only when its reply echoes the question, has TC=0, the expected
 * RCODE and exactly the expected TXT values. Flood replies are sorted into full (the same
 * check), slipped (TC=1: the RRL "slip") and wrong; what is neither was dropped. Every byte of
 * every datagram that comes back to the flood socket counts as reflected. Replies the kernel
 * dropped because the bench's receive buffer was full (SO_RXQ_OVFL) are reported apart so they
 * are never mistaken for the server's drops. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "bench_rrl_check.h"

#define QBUF 300
#define RBUF 4096
#define BATCH 64
#define ID_SPACE 65536

typedef struct {
    const char *server, *expect_file, *flood_name, *flood_under, *legit_src, *flood_src;
    int64_t port, edns, cpu, seed, timeout_ms, max_flood;
    double duration, legit_rate, flood_rate;
    bool json;
} opts_t;

typedef struct {
    uint64_t sent, full, truncated, wrong, lost, late, send_errors, behind;
    uint64_t rx_overflow;
    dmpb_hist_t hist;
} legit_stats_t;

typedef struct {
    uint64_t sent, full, slipped, wrong, replies, bytes, send_errors;
    uint64_t rx_overflow;
} flood_stats_t;

/* Legitimate queries in flight, indexed by DNS ID. IDs are handed out in order, so the oldest
 * outstanding query is always at `oldest`; sent_ns == 0 marks a free ID. */
typedef struct {
    int64_t sent_ns[ID_SPACE];
    uint32_t name[ID_SPACE];
    uint32_t next, oldest, outstanding;
} inflight_t;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench rrl --port P --expect FILE --flood-name NAME [options]\n"
            "\n"
            "A legitimate client at a fixed rate and a one-name flood from another /24 against\n"
            "one loopback DNS server with response rate limiting on; every reply is verified.\n"
            "\n"
            "  --server ADDR       server address, loopback only (default 127.0.0.1)\n"
            "  --port P            server UDP port\n"
            "  --expect FILE       lines 'name rcode count bytes hash16': the legitimate names\n"
            "                      and the answers they must get (bench/rrl-vs-knot.sh writes it)\n"
            "  --flood-name NAME   the flooded name (must be in FILE)\n"
            "  --flood-random-under ZONE\n"
            "                      instead: flood <12 random hex digits>.ZONE, a name that does\n"
            "                      not exist, different in every query (NXDOMAIN expected)\n"
            "  --legit-src ADDR    source of the legitimate client (default 127.0.1.1)\n"
            "  --flood-src ADDR    source of the flood (default 127.0.0.1)\n"
            "  --legit-rate R      legitimate queries/s (default 5000, 1..50000)\n"
            "  --flood-rate R      flood queries/s (default 50000; 0 = as fast as possible)\n"
            "  --duration S        seconds of sending (default 10, 0.1..120)\n"
            "  --max-flood N       at most N flood queries (default 10000000)\n"
            "  --timeout-ms T      a legitimate query unanswered after T is lost; also the wait\n"
            "                      for stragglers at the end (default 1000, 10..1000)\n"
            "  --edns N            EDNS UDP payload size in every query; 0 = no OPT (default "
            "1232)\n"
            "  --cpu N             pin to CPU N (default: no pinning)\n"
            "  --seed N            PRNG seed for the legitimate names (default 1)\n"
            "  --json              print one JSON object instead of text\n"
            "\n"
            "Exit 0 when the run completed, 1 when nothing was answered, 2 on bad arguments.\n");
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->server = "127.0.0.1";
    o->legit_src = "127.0.1.1";
    o->flood_src = "127.0.0.1";
    o->edns = 1232;
    o->cpu = -1;
    o->seed = 1;
    o->timeout_ms = 1000;
    o->max_flood = 10000000;
    o->duration = 10;
    o->legit_rate = 5000;
    o->flood_rate = 50000;
    const dmpb_opt_t tab[] = {
        DMPB_FLAG("--json", &o->json),
        DMPB_STR("--server", &o->server),
        DMPB_I64("--port", &o->port, 1, 65535),
        DMPB_STR("--expect", &o->expect_file),
        DMPB_STR("--flood-name", &o->flood_name),
        DMPB_STR("--flood-random-under", &o->flood_under),
        DMPB_STR("--legit-src", &o->legit_src),
        DMPB_STR("--flood-src", &o->flood_src),
        DMPB_DBL("--legit-rate", &o->legit_rate, 1, 50000),
        DMPB_DBL("--flood-rate", &o->flood_rate, 0, 10000000),
        DMPB_DBL("--duration", &o->duration, 0.1, 120),
        DMPB_I64("--max-flood", &o->max_flood, 1, 1000000000),
        DMPB_I64("--timeout-ms", &o->timeout_ms, 10, 1000),
        DMPB_I64("--edns", &o->edns, 0, 65535),
        DMPB_I64("--cpu", &o->cpu, 0, 1023),
        DMPB_I64("--seed", &o->seed, 0, INT64_MAX),
    };
    if (dmpb_opts_parse("rrl", tab, sizeof tab / sizeof tab[0], argc, argv, usage) != 0)
        return -1;
    if (!o->port || !o->expect_file || !o->flood_name == !o->flood_under) {
        fprintf(stderr, "rrl: --port, --expect and one of --flood-name and --flood-random-under "
                        "are required (see --help)\n");
        return -1;
    }
    if (o->edns > 0 && o->edns < 512) {
        fprintf(stderr, "rrl: --edns must be 0 or 512..65535\n");
        return -1;
    }
    /* IDs are reused after 65536 queries: that must be long after they were written off */
    if (o->legit_rate * (double)o->timeout_ms / 1000.0 > ID_SPACE / 2) {
        fprintf(stderr, "rrl: --legit-rate x --timeout-ms must stay under %d outstanding\n",
                ID_SPACE / 2);
        return -1;
    }
    return 0;
}

static int open_sock(const char *src, const struct sockaddr_storage *dst, socklen_t dstlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    if (dmpb_loopback_addr(src, 0, &sa, &salen) != 0)
        return -1;
    if (sa.ss_family != dst->ss_family) {
        fprintf(stderr, "rrl: source %s and server differ in address family\n", src);
        return -1;
    }
    int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        fprintf(stderr, "rrl: socket: %s\n", strerror(errno));
        return -1;
    }
    int sz = 8 << 20, one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, salen) != 0 ||
        connect(fd, (const struct sockaddr *)dst, dstlen) != 0) {
        fprintf(stderr, "rrl: bind %s / connect: %s\n", src, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Receives up to BATCH datagrams into rbuf; lens[i] is each length (0: truncated by us);
 * *ovfl gets the socket's drop counter when the kernel reported one. */
static int recv_some(int fd, uint8_t *rbuf, size_t *lens, uint32_t *ovfl, bool *have_ovfl)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    static char ctl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = rbuf + (size_t)i * RBUF;
        iov[i].iov_len = RBUF;
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_control = ctl[i];
        msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
    }
    int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < r; i++) {
        lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c;
             c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                memcpy(ovfl, CMSG_DATA(c), sizeof(*ovfl));
                *have_ovfl = true;
            }
        }
    }
    return r;
}

typedef struct {
    opts_t o;
    dmpb_rrl_expect_t *ex;
    size_t nex;
    const dmpb_rrl_expect_t *flood;
    int lfd, ffd;
    inflight_t *inf;
    legit_stats_t ls;
    flood_stats_t fs;
    uint8_t *rbuf;
    uint64_t rng, frng;
    dmpb_rrl_expect_t flood_nx; /* --flood-random-under */
} run_t;

static void legit_recv(run_t *R)
{
    size_t lens[BATCH];
    for (int round = 0; round < 8; round++) {
        uint32_t ovfl = 0;
        bool have = false;
        int n = recv_some(R->lfd, R->rbuf, lens, &ovfl, &have);
        if (n <= 0)
            return;
        int64_t now = dmpb_now_ns();
        if (have)
            R->ls.rx_overflow = ovfl;
        for (int i = 0; i < n; i++) {
            const uint8_t *r = R->rbuf + (size_t)i * RBUF;
            if (lens[i] < 12) {
                R->ls.wrong++;
                continue;
            }
            uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
            if (R->inf->sent_ns[id] == 0) {
                R->ls.late++;
                continue;
            }
            const dmpb_rrl_expect_t *e = &R->ex[R->inf->name[id]];
            dmpb_rrl_reply_t rp;
            dmpb_rrl_parse_reply(r, lens[i], e, &rp);
            if (!rp.question_ok) {
                /* not the answer to this query (a very late one to an earlier query with the
                 * same ID): this one stays outstanding, so it is counted once, when it ends */
                R->ls.late++;
                continue;
            }
            if (dmpb_rrl_reply_full(&rp, e)) {
                R->ls.full++;
                int64_t lat = now - R->inf->sent_ns[id];
                dmpb_hist_add(&R->ls.hist, lat > 0 ? (uint64_t)lat : 0);
            } else if (rp.tc) {
                R->ls.truncated++;
            } else {
                R->ls.wrong++;
            }
            R->inf->sent_ns[id] = 0;
            R->inf->outstanding--;
        }
        if (n < BATCH)
            return;
    }
}

static void flood_recv(run_t *R)
{
    size_t lens[BATCH];
    for (int round = 0; round < 16; round++) {
        uint32_t ovfl = 0;
        bool have = false;
        int n = recv_some(R->ffd, R->rbuf, lens, &ovfl, &have);
        if (n <= 0)
            return;
        if (have)
            R->fs.rx_overflow = ovfl;
        for (int i = 0; i < n; i++) {
            R->fs.replies++;
            R->fs.bytes += lens[i];
            dmpb_rrl_reply_t rp;
            dmpb_rrl_parse_reply(R->rbuf + (size_t)i * RBUF, lens[i], R->flood, &rp);
            if (dmpb_rrl_reply_full(&rp, R->flood))
                R->fs.full++;
            else if (rp.question_ok && rp.tc)
                R->fs.slipped++;
            else
                R->fs.wrong++;
        }
        if (n < BATCH)
            return;
    }
}

/* Writes off legitimate queries older than the timeout (oldest first). */
static void legit_expire(run_t *R, int64_t now, int64_t timeout_ns)
{
    inflight_t *f = R->inf;
    while (f->oldest != f->next) {
        uint32_t id = f->oldest & (ID_SPACE - 1);
        if (f->sent_ns[id] != 0) {
            if (now - f->sent_ns[id] <= timeout_ns)
                return;
            f->sent_ns[id] = 0;
            f->outstanding--;
            R->ls.lost++;
        }
        f->oldest++;
    }
}

static void legit_send(run_t *R, int want)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    static uint8_t qb[BATCH][QBUF];
    uint16_t ids[BATCH];
    if (want > BATCH)
        want = BATCH;
    int64_t now = dmpb_now_ns();
    for (int i = 0; i < want; i++) {
        uint16_t id = (uint16_t)(R->inf->next & (ID_SPACE - 1));
        uint32_t name = (uint32_t)(dmpb_rand(&R->rng) % R->nex);
        ids[i] = id;
        R->inf->name[id] = name;
        iov[i].iov_base = qb[i];
        iov[i].iov_len = dmpb_rrl_build_query(qb[i], &R->ex[name], id, R->o.edns);
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        R->inf->next++;
    }
    int r = sendmmsg(R->lfd, msgs, (unsigned)want, 0);
    if (r < 0) {
        R->ls.send_errors++;
        r = 0;
    }
    for (int i = 0; i < r; i++) {
        R->inf->sent_ns[ids[i]] = now;
        R->inf->outstanding++;
    }
    /* unsent queries: their IDs stay free; count them as sent and lost (the client failed) */
    R->ls.sent += (uint64_t)want;
    R->ls.lost += (uint64_t)(want - r);
}

static void flood_send(run_t *R, int want, const uint8_t *tmpl, size_t tlen)
{
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    static uint8_t qb[BATCH][QBUF];
    if (want > BATCH)
        want = BATCH;
    for (int i = 0; i < want; i++) {
        memcpy(qb[i], tmpl, tlen);
        if (R->flood->random_label) {
            uint64_t x = dmpb_rand(&R->frng);
            for (int k = 0; k < DMPB_RRL_RANDOM_LABEL; k++, x >>= 4)
                qb[i][13 + k] = (uint8_t) "0123456789abcdef"[x & 15];
        }
        uint16_t id = (uint16_t)(R->fs.sent + (uint64_t)i);
        qb[i][0] = (uint8_t)(id >> 8);
        qb[i][1] = (uint8_t)id;
        iov[i].iov_base = qb[i];
        iov[i].iov_len = tlen;
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(R->ffd, msgs, (unsigned)want, 0);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            R->fs.send_errors++;
        r = 0;
    }
    R->fs.sent += (uint64_t)r;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void report(const run_t *R, double send_s, double bench_cpu)
{
    const legit_stats_t *l = &R->ls;
    const flood_stats_t *f = &R->fs;
    uint64_t dropped = f->sent > f->replies ? f->sent - f->replies : 0;
    double full_pct = l->sent ? 100.0 * (double)l->full / (double)l->sent : 0;
    double bpq = f->sent ? (double)f->bytes / (double)f->sent : 0;
    double p50 = (double)dmpb_hist_quantile(&l->hist, 0.5) / 1000.0;
    double p99 = (double)dmpb_hist_quantile(&l->hist, 0.99) / 1000.0;
    if (R->o.json) {
        json_t *j = json_pack(
            "{s:f, s:f, s:{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I},"
            " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:I, s:I}}",
            "duration_s", send_s, "bench_cpu_s", bench_cpu, "legit", "sent", (json_int_t)l->sent,
            "full", (json_int_t)l->full, "full_pct", full_pct, "truncated",
            (json_int_t)l->truncated, "wrong", (json_int_t)l->wrong, "lost", (json_int_t)l->lost,
            "late", (json_int_t)l->late, "behind", (json_int_t)l->behind, "rx_overflow",
            (json_int_t)l->rx_overflow, "p50_us", p50, "p99_us", p99, "send_errors",
            (json_int_t)l->send_errors, "flood", "sent", (json_int_t)f->sent, "replies",
            (json_int_t)f->replies, "full", (json_int_t)f->full, "slipped", (json_int_t)f->slipped,
            "wrong", (json_int_t)f->wrong, "dropped", (json_int_t)dropped, "bytes",
            (json_int_t)f->bytes, "bytes_per_query", bpq, "rate",
            send_s > 0 ? (double)f->sent / send_s : 0.0, "rx_overflow", (json_int_t)f->rx_overflow,
            "send_errors", (json_int_t)f->send_errors);
        if (j) {
            char *s = json_dumps(j, JSON_COMPACT);
            if (s)
                printf("%s\n", s);
            free(s);
            json_decref(j);
        }
        return;
    }
    printf("sending for %.2f s, bench CPU %.2f s\n", send_s, bench_cpu);
    printf("legit: sent %llu, answered in full %llu (%.3f %%), truncated %llu, wrong %llu, "
           "lost %llu, late %llu; p50 %.1f us, p99 %.1f us; behind schedule %llu; "
           "rx overflow %llu\n",
           (unsigned long long)l->sent, (unsigned long long)l->full, full_pct,
           (unsigned long long)l->truncated, (unsigned long long)l->wrong,
           (unsigned long long)l->lost, (unsigned long long)l->late, p50, p99,
           (unsigned long long)l->behind, (unsigned long long)l->rx_overflow);
    printf("flood: sent %llu (%.0f/s), full %llu, slipped %llu, wrong %llu, dropped %llu; "
           "reflected %llu bytes = %.2f bytes per flood query; rx overflow %llu\n",
           (unsigned long long)f->sent, send_s > 0 ? (double)f->sent / send_s : 0,
           (unsigned long long)f->full, (unsigned long long)f->slipped,
           (unsigned long long)f->wrong, (unsigned long long)dropped, (unsigned long long)f->bytes,
           bpq, (unsigned long long)f->rx_overflow);
}

/* The send loop: legitimate and flood queries due by now go out, replies are drained, and the
 * thread sleeps in ppoll until the next query is due or a reply arrives. */
static void run_loop(run_t *R, const uint8_t *tmpl, size_t tlen, double *send_s)
{
    const opts_t *o = &R->o;
    int64_t timeout_ns = o->timeout_ms * 1000000LL;
    int64_t t0 = dmpb_now_ns();
    int64_t t_end = t0 + (int64_t)(o->duration * 1e9);
    int64_t l_gap = (int64_t)(1e9 / o->legit_rate);
    int64_t f_gap = o->flood_rate > 0 ? (int64_t)(1e9 / o->flood_rate) : 0;
    if (f_gap == 0 && o->flood_rate > 0)
        f_gap = 1;
    uint64_t l_idx = 0, f_idx = 0; /* queries scheduled so far */
    int64_t t_stop = 0;
    struct pollfd pfd[2] = {{.fd = R->lfd, .events = POLLIN}, {.fd = R->ffd, .events = POLLIN}};
    for (;;) {
        int64_t now = dmpb_now_ns();
        bool sending = t_stop == 0;
        if (sending && (now >= t_end || dmpb_stop)) {
            t_stop = now;
            sending = false;
        }
        if (!sending && now - t_stop >= timeout_ns)
            break;
        if (sending) {
            /* legitimate queries first: they are what is measured */
            while (t0 + (int64_t)l_idx * l_gap <= now) {
                int64_t due = (now - t0) / l_gap + 1 - (int64_t)l_idx;
                if (due > BATCH)
                    due = BATCH;
                if (now - (t0 + (int64_t)l_idx * l_gap) > 10000000LL)
                    R->ls.behind += (uint64_t)due;
                legit_send(R, (int)due);
                l_idx += (uint64_t)due;
            }
            for (int k = 0; k < 4 && R->fs.sent < (uint64_t)o->max_flood; k++) {
                int64_t due;
                if (f_gap == 0) {
                    due = BATCH;
                } else {
                    if (t0 + (int64_t)f_idx * f_gap > now)
                        break;
                    due = (now - t0) / f_gap + 1 - (int64_t)f_idx;
                    if (due > BATCH)
                        due = BATCH;
                }
                if ((uint64_t)due > (uint64_t)o->max_flood - R->fs.sent)
                    due = (int64_t)((uint64_t)o->max_flood - R->fs.sent);
                uint64_t before = R->fs.sent;
                flood_send(R, (int)due, tmpl, tlen);
                /* a full socket buffer: the schedule moves on (the flood is open-loop) */
                f_idx += f_gap == 0 ? R->fs.sent - before : (uint64_t)due;
                if (f_gap == 0 && R->fs.sent == before)
                    break;
            }
        }
        legit_recv(R);
        flood_recv(R);
        legit_expire(R, dmpb_now_ns(), timeout_ns);
        if (!sending && R->inf->outstanding == 0 && now - t_stop >= 200000000LL)
            break; /* every legitimate query settled; flood stragglers had 200 ms */
        int64_t next = sending ? t0 + (int64_t)l_idx * l_gap : t_stop + timeout_ns;
        if (sending && f_gap && R->fs.sent < (uint64_t)o->max_flood) {
            int64_t fn = t0 + (int64_t)f_idx * f_gap;
            if (fn < next)
                next = fn;
        }
        if (sending && f_gap == 0 && R->fs.sent < (uint64_t)o->max_flood)
            next = now;
        int64_t wait = next - dmpb_now_ns();
        if (!sending && wait > 50000000LL)
            wait = 50000000LL;
        if (wait > 0) {
            struct timespec ts = {.tv_sec = wait / 1000000000LL, .tv_nsec = wait % 1000000000LL};
            (void)ppoll(pfd, 2, &ts, NULL);
        }
    }
    *send_s = (double)((t_stop ? t_stop : dmpb_now_ns()) - t0) / 1e9;
}

static int rrl_main(int argc, char **argv)
{
    run_t *R = calloc(1, sizeof(*R));
    if (!R)
        return 2;
    int ret = 2;
    R->lfd = R->ffd = -1;
    if (parse_args(argc, argv, &R->o) != 0)
        goto out;
    if (dmpb_rrl_expect_load(R->o.expect_file, &R->ex, &R->nex) != 0)
        goto out;
    if (R->o.flood_under) {
        /* the template's first label is overwritten in every query (flood_send) */
        char nm[300];
        int nl = snprintf(nm, sizeof(nm), "%.*s.%s", DMPB_RRL_RANDOM_LABEL, "000000000000000000",
                          R->o.flood_under);
        if (nl <= 0 || (size_t)nl >= sizeof(nm) ||
            dmpb_rrl_name_to_wire(nm, (size_t)nl, R->flood_nx.wire, &R->flood_nx.wire_len) != 0) {
            fprintf(stderr, "rrl: bad --flood-random-under\n");
            goto out;
        }
        R->flood_nx.rcode = 3; /* NXDOMAIN, no TXT */
        R->flood_nx.random_label = true;
        R->flood = &R->flood_nx;
    } else {
        uint8_t fw[256];
        uint16_t fwl;
        if (dmpb_rrl_name_to_wire(R->o.flood_name, strlen(R->o.flood_name), fw, &fwl) != 0) {
            fprintf(stderr, "rrl: bad --flood-name\n");
            goto out;
        }
        for (size_t i = 0; i < R->nex && !R->flood; i++)
            if (R->ex[i].wire_len == fwl && memcmp(R->ex[i].wire, fw, fwl) == 0)
                R->flood = &R->ex[i];
        if (!R->flood) {
            fprintf(stderr, "rrl: --flood-name %s is not in %s\n", R->o.flood_name,
                    R->o.expect_file);
            goto out;
        }
    }
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (dmpb_loopback_addr(R->o.server, (int)R->o.port, &ss, &sslen) != 0)
        goto out;
    if ((R->lfd = open_sock(R->o.legit_src, &ss, sslen)) < 0 ||
        (R->ffd = open_sock(R->o.flood_src, &ss, sslen)) < 0)
        goto out;
    if (R->o.cpu >= 0 && dmpb_pin_cpu((int)R->o.cpu) != 0)
        goto out;
    R->inf = calloc(1, sizeof(*R->inf));
    R->rbuf = malloc((size_t)BATCH * RBUF);
    if (!R->inf || !R->rbuf) {
        fprintf(stderr, "rrl: out of memory\n");
        goto out;
    }
    R->rng = (uint64_t)R->o.seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (R->rng == 0)
        R->rng = 1;
    R->frng = R->rng ^ 0x5DEECE66DULL;
    uint8_t tmpl[QBUF];
    size_t tlen = dmpb_rrl_build_query(tmpl, R->flood, 0, R->o.edns);
    dmpb_catch_signals();
    double c0 = cpu_s(), send_s = 0;
    run_loop(R, tmpl, tlen, &send_s);
    R->ls.lost += R->inf->outstanding; /* still unanswered when the wait ended */
    R->inf->outstanding = 0;
    report(R, send_s, cpu_s() - c0);
    ret = R->ls.full + R->fs.replies > 0 ? 0 : 1;
out:
    if (R->lfd >= 0)
        close(R->lfd);
    if (R->ffd >= 0)
        close(R->ffd);
    free(R->ex);
    free(R->inf);
    free(R->rbuf);
    free(R);
    return ret;
}

static const dmp_bench_cmd_t cmd = {
    "rrl", "legitimate client at a fixed rate beside a one-name flood, RRL on (verified answers)",
    rrl_main};
DMP_BENCH_REGISTER(cmd);
