/* dnsmesh-bench update: TSIG-signed RFC 2136 UPDATE load. --conc threads each keep one UPDATE
 * in flight (send, wait for the reply, next): every UPDATE adds one new TXT record at
 * u<thread>-<n>.<zone>, signed with the given key (our own signer, dmp_tsig_sign, checked
 * against nsupdate/ldns in the unit tests). Counts acknowledged (NOERROR) updates per second
 * and their latency; --query-threads adds a closed-loop TXT query load on one name during the
 * run and reports its rate (the "queries during updates" figure). --rate paces the UPDATE
 * threads to a fixed offered load instead (queries-under-updates.sh). Loopback only. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "dns/dns.h"
#include "util/util.h"

typedef struct {
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *zone;
    dmp_tsig_key_t key;
    double duration;
    double rate; /* updates/s over all update threads; 0 = closed loop */
    int64_t conc, qthreads, value_bytes, timeout_ms;
    const char *qname;
    bool json;
} uopts_t;

typedef struct {
    const uopts_t *o;
    unsigned idx;
    bool query;
    uint64_t ok, err, timeouts, other_rcode;
    uint64_t late; /* --rate: sends more than 10 ms after their slot */
    uint64_t rcodes[16];
    dmpb_hist_t hist;
} worker_t;

static atomic_int g_go;
static atomic_int g_stop;
static int64_t g_t0; /* set before g_go */

/* --rate: thread idx's k-th UPDATE is due at t0 + (k * conc + idx) / rate; waits for it, and
 * counts it late when it goes out more than 10 ms after (the previous one's answer was slow). */
static void pace(worker_t *w, uint64_t k)
{
    const uopts_t *o = w->o;
    int64_t due = g_t0 + (int64_t)(((double)k * (double)o->conc + w->idx) * 1e9 / o->rate);
    int64_t now = dmpb_now_ns();
    while (now < due && !atomic_load(&g_stop)) {
        int64_t left = due - now;
        usleep((useconds_t)(left > 20000000 ? 20000 : (left + 999) / 1000));
        now = dmpb_now_ns();
    }
    if (now - due > 10000000)
        w->late++;
}

static int exchange(int fd, const uopts_t *o, const uint8_t *q, size_t ql, uint8_t *r, size_t cap,
                    uint16_t id)
{
    if (sendto(fd, q, ql, 0, (const struct sockaddr *)&o->ss, o->sslen) < 0)
        return -1;
    int64_t deadline = dmpb_now_ns() + o->timeout_ms * 1000000;
    for (;;) {
        int64_t left = (deadline - dmpb_now_ns()) / 1000000;
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(fd, r, cap, 0);
        if (n >= 12 && dmp_load_u16be(r) == id)
            return (int)n;
    }
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    const uopts_t *o = w->o;
    int fd = socket(o->ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return NULL;
    uint8_t *val = malloc((size_t)o->value_bytes + 1);
    memset(val, 'b', (size_t)o->value_bytes);
    memcpy(val, "v=dmp1;t=bench;", o->value_bytes > 15 ? 15 : (size_t)o->value_bytes);
    dmp_buf_t b;
    dmp_buf_init(&b);
    uint8_t resp[4096];
    uint64_t seq = 0, rnd = 0x9E3779B97F4A7C15ULL ^ (w->idx + 1);
    while (!atomic_load(&g_go))
        usleep(100);
    for (uint64_t k = 0; !atomic_load(&g_stop); k++) {
        if (!w->query && o->rate > 0) {
            pace(w, k);
            if (atomic_load(&g_stop))
                break;
        }
        uint16_t id = (uint16_t)dmpb_rand(&rnd);
        b.len = 0;
        if (w->query) {
            uint8_t h[12] = {0};
            dmp_store_u16be(h, id);
            dmp_store_u16be(h + 4, 1);
            uint8_t nw[256];
            size_t nl = 0;
            dmp_dns_name_from_text(o->qname, strlen(o->qname), nw, sizeof(nw), &nl);
            dmp_buf_append(&b, h, 12);
            dmp_buf_append(&b, nw, nl);
            dmp_buf_append_u16be(&b, DMP_DNS_T_TXT);
            dmp_buf_append_u16be(&b, DMP_DNS_C_IN);
        } else {
            dmp_upd_op_t op;
            memset(&op, 0, sizeof(op));
            op.kind = DMP_UPD_ADD;
            op.owner_len = (size_t)snprintf(
                op.owner, sizeof(op.owner), "u%u-%llu-%llx.%s", w->idx, (unsigned long long)seq++,
                (unsigned long long)(dmpb_rand(&rnd) & 0xffffff), o->zone);
            op.ttl = 3600;
            op.value_len = (size_t)o->value_bytes;
            if (dmp_dns_update_build(id, o->zone, &op, 1, val, &b) != 0 ||
                dmp_buf_reserve(&b, 512) != 0)
                break;
            size_t len = b.len;
            if (dmp_tsig_sign(b.data, &len, b.cap, &o->key, NULL, 0, (uint64_t)time(NULL), 300, 0,
                              NULL, 0) != 0)
                break;
            b.len = len;
        }
        int64_t t0 = dmpb_now_ns();
        int n = exchange(fd, o, b.data, b.len, resp, sizeof(resp), id);
        int64_t dt = dmpb_now_ns() - t0;
        if (n < 0) {
            w->err++;
            continue;
        }
        if (n == 0) {
            w->timeouts++;
            continue;
        }
        unsigned rc = resp[3] & 0xF;
        w->rcodes[rc]++;
        if (rc == 0 || (w->query && rc == 3)) {
            w->ok++;
            dmpb_hist_add(&w->hist, (uint64_t)dt);
        } else {
            w->other_rcode++;
        }
    }
    dmp_buf_free(&b);
    free(val);
    close(fd);
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench update --port N --zone Z --key ALG:NAME:SECRET_B64 [options]\n"
            "  --host H            server (127.0.0.0/8 or ::1; default 127.0.0.1)\n"
            "  --duration S        seconds (default 5)\n"
            "  --conc C            update threads, one UPDATE in flight each (default 8)\n"
            "  --rate R            UPDATEs/s offered over all threads, each thread on its own\n"
            "                      schedule (default 0: each thread sends at once on an answer);\n"
            "                      sends more than 10 ms behind count as late\n"
            "  --value-bytes B     TXT value size (default 120)\n"
            "  --query-threads Q   closed-loop TXT query threads during the run (default 0)\n"
            "  --qname NAME        name those queries ask (default <zone>)\n"
            "  --timeout-ms T      per-request timeout (default 2000)\n"
            "  --json              one JSON object instead of text\n");
}

static int bench_update_main(int argc, char **argv)
{
    uopts_t o;
    memset(&o, 0, sizeof(o));
    const char *host = "127.0.0.1", *key = NULL;
    int64_t port = 0;
    o.duration = 5;
    o.conc = 8;
    o.value_bytes = 120;
    o.timeout_ms = 2000;
    const dmpb_opt_t tab[] = {
        DMPB_FLAG("--json", &o.json),
        DMPB_STR("--host", &host),
        DMPB_I64("--port", &port, 1, 65535),
        DMPB_STR("--zone", &o.zone),
        DMPB_STR("--key", &key),
        DMPB_DBL("--duration", &o.duration, 0.1, 600),
        DMPB_DBL("--rate", &o.rate, 0, 1e6),
        DMPB_I64("--conc", &o.conc, 0, 256),
        DMPB_I64("--query-threads", &o.qthreads, 0, 64),
        DMPB_I64("--value-bytes", &o.value_bytes, 1, 60000),
        DMPB_I64("--timeout-ms", &o.timeout_ms, 10, 60000),
        DMPB_STR("--qname", &o.qname),
    };
    if (dmpb_opts_parse("update", tab, sizeof tab / sizeof tab[0], argc, argv, usage) != 0)
        return 2;
    if (!port || !o.zone || !key) {
        usage(stderr);
        return 2;
    }
    if (dmpb_loopback_addr(host, (int)port, &o.ss, &o.sslen) != 0)
        return 2;
    if (!o.qname)
        o.qname = o.zone;
    /* ALG:NAME:SECRET */
    const char *c1 = strchr(key, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || dmp_tsig_alg_parse(key, (size_t)(c1 - key), &o.key.alg) != 0 ||
        (size_t)(c2 - c1 - 1) >= sizeof(o.key.name)) {
        fprintf(stderr, "dnsmesh-bench update: --key must be ALG:NAME:SECRET_B64\n");
        return 2;
    }
    memcpy(o.key.name, c1 + 1, (size_t)(c2 - c1 - 1));
    dmp_buf_t sb;
    dmp_buf_init(&sb);
    if (dmp_b64_decode(c2 + 1, strlen(c2 + 1), DMP_B64_STRICT, &sb) != 0 || sb.len == 0 ||
        sb.len > DMP_TSIG_MAX_SECRET) {
        fprintf(stderr, "dnsmesh-bench update: bad base64 secret\n");
        return 2;
    }
    memcpy(o.key.secret, sb.data, sb.len);
    o.key.secret_len = sb.len;
    dmp_buf_free_secret(&sb);

    size_t nw = (size_t)(o.conc + o.qthreads);
    worker_t *ws = calloc(nw ? nw : 1, sizeof(*ws));
    pthread_t *th = calloc(nw ? nw : 1, sizeof(*th));
    for (size_t i = 0; i < nw; i++) {
        ws[i].o = &o;
        ws[i].idx = (unsigned)i;
        ws[i].query = i >= (size_t)o.conc;
        pthread_create(&th[i], NULL, worker, &ws[i]);
    }
    dmpb_catch_signals();
    int64_t t0 = dmpb_now_ns();
    g_t0 = t0;
    atomic_store(&g_go, 1);
    while (!dmpb_stop && dmpb_now_ns() - t0 < (int64_t)(o.duration * 1e9))
        usleep(20000);
    atomic_store(&g_stop, 1);
    for (size_t i = 0; i < nw; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(dmpb_now_ns() - t0) / 1e9;
    worker_t u = {0}, q = {0};
    for (size_t i = 0; i < nw; i++) {
        worker_t *d = ws[i].query ? &q : &u;
        d->ok += ws[i].ok;
        d->err += ws[i].err;
        d->timeouts += ws[i].timeouts;
        d->other_rcode += ws[i].other_rcode;
        d->late += ws[i].late;
        for (int r = 0; r < 16; r++)
            d->rcodes[r] += ws[i].rcodes[r];
        for (size_t k = 0; k < DMPB_HIST_BUCKETS; k++)
            d->hist.b[k] += ws[i].hist.b[k];
        d->hist.count += ws[i].hist.count;
        if (ws[i].hist.max > d->hist.max)
            d->hist.max = ws[i].hist.max;
    }
    double ups = (double)u.ok / secs, qps = (double)q.ok / secs;
    double p50 = (double)dmpb_hist_quantile(&u.hist, 0.5) / 1e3,
           p99 = (double)dmpb_hist_quantile(&u.hist, 0.99) / 1e3;
    if (o.json)
        printf("{\"updates_per_s\": %.1f, \"acked\": %llu, \"refused_or_other\": %llu, "
               "\"timeouts\": %llu, \"errors\": %llu, \"p50_us\": %.1f, \"p99_us\": %.1f, "
               "\"queries_per_s\": %.1f, \"seconds\": %.2f, \"late\": %llu}\n",
               ups, (unsigned long long)u.ok, (unsigned long long)u.other_rcode,
               (unsigned long long)u.timeouts, (unsigned long long)u.err, p50, p99, qps, secs,
               (unsigned long long)u.late);
    else
        printf("updates: %.1f acked/s (%llu acked, %llu other rcode, %llu timeouts, %llu sent "
               "late), latency p50 %.1f us p99 %.1f us; queries during the run: %.1f/s\n",
               ups, (unsigned long long)u.ok, (unsigned long long)u.other_rcode,
               (unsigned long long)u.timeouts, (unsigned long long)u.late, p50, p99, qps);
    free(ws);
    free(th);
    return u.ok > 0 || o.conc == 0 ? 0 : 1;
}

static const dmp_bench_cmd_t cmd = {"update", "TSIG-signed DNS UPDATE load (acked/s, latency)",
                                    bench_update_main};
DMP_BENCH_REGISTER(cmd)
