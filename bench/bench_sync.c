/* dnsmesh-bench sync: two stores holding N records that differ in D; time and bytes for the
 * lagging one to converge (1) through our Merkle protocol, (2) through the reference's digest
 * protocol (a fresh cursor, as after a restart), and (3) the size of an IXFR of the same change
 * from the journal. In one process: the engines talk through serve() without sockets, so the
 * bytes are the protocol's own (HTTP headers not counted) and the time is CPU + RocksDB. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bench_populate.h"
#include "cluster/cluster.h"
#include "dns/dns.h"
#include "store/store.h"
#include "wire/wire.h"

static int64_t g_now;
static int64_t now_fn(void *ctx)
{
    (void)ctx;
    return g_now;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int apply_fn(void *ctx, const dmp_cluster_change_t *ch, size_t n)
{
    dmp_store_t *s = ctx;
    dmp_store_put_t *p = malloc(n * sizeof(*p));
    if (!p)
        return DMP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!ch[i].del)
            p[k++] = (dmp_store_put_t){ch[i].name, ch[i].name_len, ch[i].value, ch[i].value_len,
                                       ch[i].ttl};
    int rc = dmp_store_put_batch_ex(s, p, k, g_now, DMP_STORE_NOSYNC);
    free(p);
    return rc;
}

/* In-memory transport: every URL goes to the engine in ctx; bytes are counted per route. */
enum { R_MERKLE, R_LEAF, R_PULL, R_DIGEST, R_OTHER, R_N };
static const char *const route_name[R_N] = {"merkle", "merkle-leaf", "pull", "digest", "other"};
typedef struct {
    dmp_cluster_t *srv;
    uint64_t bytes[R_N];
    uint64_t reqs[R_N];
} transport_t;

static int http_fn(void *hctx, const char *url, const uint8_t *body, size_t len, const char *ctype,
                   dmp_cluster_http_resp_t *resp)
{
    (void)ctype;
    transport_t *t = hctx;
    memset(resp, 0, sizeof(*resp));
    const char *path = strstr(url, "/v1/");
    if (!path)
        return DMP_CLUSTER_EHTTP;
    char p[600], cur[400] = "", lim[32] = "";
    snprintf(p, sizeof(p), "%s", path);
    dmp_cluster_query_t q = {0};
    char *qs = strchr(p, '?');
    if (qs) {
        *qs++ = 0;
        char *c = strstr(qs, "cursor="), *l = strstr(qs, "limit=");
        if (c) {
            snprintf(cur, sizeof(cur), "%.*s", (int)strcspn(c + 7, "&"), c + 7);
            q.cursor = cur;
        }
        if (l) {
            snprintf(lim, sizeof(lim), "%s", l + 6);
            q.limit = lim;
        }
    }
    int route = strcmp(p, "/v1/sync/merkle") == 0        ? R_MERKLE
                : strcmp(p, "/v1/sync/merkle-leaf") == 0 ? R_LEAF
                : strcmp(p, "/v1/sync/pull") == 0        ? R_PULL
                : strcmp(p, "/v1/sync/digest") == 0      ? R_DIGEST
                                                         : R_OTHER;
    dmp_cluster_reply_t r;
    int rc = dmp_cluster_serve(t->srv, body ? "POST" : "GET", p, &q, "Bearer b", body, len, &r);
    if (rc != 0)
        return rc;
    resp->status = r.status;
    resp->body = r.body.data;
    resp->len = r.body.len;
    t->bytes[route] += strlen(path) + len + r.body.len;
    t->reqs[route]++;
    return 0;
}

typedef struct {
    uint64_t bytes, rrs;
} ixfr_count_t;

static int ixfr_count(void *ctx, uint32_t serial, bool add, const char *name, size_t nl,
                      const uint8_t *v, size_t vl)
{
    (void)serial;
    (void)add;
    ixfr_count_t *c = ctx;
    if (!name) {
        c->bytes += 2 * (11 + 10 + 60); /* the step's two SOA RRs */
        c->rrs += 2;
        return 0;
    }
    dmp_buf_t rd;
    dmp_buf_init(&rd);
    dmp_wire_txt_split(v, vl, &rd);
    c->bytes += nl + 2 + 10 + rd.len; /* uncompressed owner, RR header, TXT RDATA */
    c->rrs++;
    dmp_buf_free(&rd);
    return 0;
}

static uint64_t count(dmp_store_t *s)
{
    uint64_t n = 0;
    dmp_store_record_count(s, &n);
    return n;
}

typedef struct {
    double secs, cpu; /* wall, and CPU of this thread (the engines run on it) */
    uint64_t bytes, in, out;
    int rounds;
    bool converged;
    transport_t tr;
} run_t;

/* Syncs engine e (store s) from its peer until s holds want records or max_rounds pass. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_sync(dmp_cluster_t *e, dmp_store_t *s, uint64_t want, int max_rounds, run_t *r)
{
    double t = mono(), c0 = thread_cpu();
    r->rounds = 0;
    for (; r->rounds < max_rounds && count(s) < want; r->rounds++)
        if (dmp_cluster_sync_peer(e, 0) != 0)
            break;
    r->secs = mono() - t;
    r->cpu = thread_cpu() - c0;
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(e, &st);
    r->in = st.bytes_in;
    r->out = st.bytes_out;
    r->bytes = st.bytes_in + st.bytes_out;
    r->converged = count(s) == want;
}

static void print_run(const char *what, const run_t *r)
{
    printf("%-7s converged=%s in %d round(s), %.3f s (CPU %.3f s), %llu bytes (%llu in, %llu out)",
           what, r->converged ? "yes" : "NO", r->rounds, r->secs, r->cpu,
           (unsigned long long)r->bytes, (unsigned long long)r->in, (unsigned long long)r->out);
    const char *sep = "; by route:";
    for (int i = 0; i < R_N; i++)
        if (r->tr.reqs[i]) {
            printf("%s %s %llu req %llu B", sep, route_name[i], (unsigned long long)r->tr.reqs[i],
                   (unsigned long long)r->tr.bytes[i]);
            sep = ",";
        }
    printf("\n");
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static dmp_store_t *open_store(const char *dir, const char *name)
{
    char path[4200], err[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    dmp_store_opts_t so = {.path = path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    if (dmp_store_open(&so, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "sync: %s\n", err);
        return NULL;
    }
    return s;
}

/* The base store (N records) at dir/base: reused when its marker says it holds N. */
static int make_base(const char *dir, size_t n)
{
    char marker[4200], path[4200];
    snprintf(marker, sizeof(marker), "%s/base.records", dir);
    snprintf(path, sizeof(path), "%s/base", dir);
    FILE *f = fopen(marker, "r");
    unsigned long have = 0;
    if (f) {
        if (fscanf(f, "%lu", &have) != 1)
            have = 0;
        fclose(f);
        if (have == n) {
            printf("base: reusing %s (%zu records)\n", path, n);
            return 0;
        }
    }
    unlink(marker);
    dmp_bench_rmtree(path);
    dmp_store_t *s = open_store(dir, "base");
    if (!s)
        return -1;
    double t = mono();
    int rc = dmp_bench_populate(s, 0, n, "mesh.test", 86400, g_now, 1);
    dmp_store_close(s);
    if (rc != 0) {
        fprintf(stderr, "sync: loading the base failed: %s\n", dmp_store_strerror(rc));
        return -1;
    }
    /* reopened once: RocksDB replays the WAL into SST files at open, so the copies start
     * from SSTs and an empty WAL instead of replaying N records each */
    if (!(s = open_store(dir, "base")))
        return -1;
    dmp_store_close(s);
    printf("base: %zu records written into one store in %.1f s\n", n, mono() - t);
    f = fopen(marker, "w");
    if (!f)
        return -1;
    fprintf(f, "%zu\n", n);
    return fclose(f) == 0 ? 0 : -1;
}

/* One repetition: copies of the base as a, b, c; a gets D more; b syncs from a through Merkle,
 * c through the digest protocol; the same change as an IXFR from a's journal. */
static bool g_skip_digest, g_skip_merkle;
static unsigned g_settle = 20; /* s between opening the copies and timing (compactions) */

static int one_rep(const char *dir, size_t n, size_t d, run_t *rm, run_t *rd, uint64_t *ixfr_bytes)
{
    char base[4200], p[4200];
    snprintf(base, sizeof(base), "%s/base", dir);
    static const char *const names[3] = {"a", "b", "c"};
    double t = mono();
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        dmp_bench_rmtree(p);
        if (dmp_bench_store_clone(base, p) != 0) {
            fprintf(stderr, "sync: cannot copy the base store to %s\n", p);
            return -1;
        }
    }
    dmp_store_t *a = open_store(dir, "a"), *b = open_store(dir, "b"), *c = open_store(dir, "c");
    if (!a || !b || !c)
        return -1;
    uint32_t serial_before = dmp_store_soa_serial(a);
    /* the differences are written a second after the base, as writes a node missed are: they
     * have the newest stored time, so the digest protocol reaches them last (reference
     * cluster.md §3.8), whatever their names */
    g_now += 1000;
    if (dmp_bench_populate(a, n, n + d, "mesh.test", 86400, g_now, 0) != 0)
        return -1;
    uint32_t serial_after = dmp_store_soa_serial(a);
    printf("  3 copies of the base + %zu records into the first in %.1f s; %u s for their "
           "compactions to settle\n",
           d, mono() - t, g_settle);
    fflush(stdout);
    sleep(g_settle);

    memset(rm, 0, sizeof(*rm));
    memset(rd, 0, sizeof(*rd));
    dmp_cluster_env_t ea = {.store = a,
                            .apply = apply_fn,
                            .ctx = a,
                            .store_index = true,
                            .clock = {.now_ms = now_fn},
                            .token = "b"};
    dmp_cluster_t *srv_merkle, *srv_ref, *eb, *ec;
    dmp_cluster_new(&ea, &srv_merkle);
    dmp_cluster_env_t eref = ea;
    eref.store_index = false; /* serves digest/pull only: what a reference node offers */
    dmp_cluster_new(&eref, &srv_ref);
    rm->tr.srv = srv_merkle;
    rd->tr.srv = srv_ref;
    dmp_cluster_env_t eb_env = {.store = b,
                                .apply = apply_fn,
                                .ctx = b,
                                .store_index = true,
                                .http = http_fn,
                                .http_ctx = &rm->tr,
                                .clock = {.now_ms = now_fn},
                                .token = "b"};
    dmp_cluster_new(&eb_env, &eb);
    dmp_cluster_env_t ec_env = eb_env;
    ec_env.store = c;
    ec_env.ctx = c;
    ec_env.store_index = false;
    ec_env.http_ctx = &rd->tr;
    ec_env.round_budget_ms = 1000000; /* no wall-clock cap: measure the whole catch-up */
    dmp_cluster_new(&ec_env, &ec);
    dmp_cluster_peer_t peer = {.url = "http://a", .node_id = "a"};
    dmp_cluster_set_peers(eb, &peer, 1);
    dmp_cluster_set_peers(ec, &peer, 1);
    /* both trees as at start (one iterator each), not timed: a running node keeps its tree */
    if (!g_skip_merkle) {
        dmp_cluster_refresh(srv_merkle, true);
        dmp_cluster_refresh(eb, true);
    }

    if (!g_skip_merkle) {
        run_sync(eb, b, n + d, 10, rm);
        print_run("merkle:", rm);
    } else {
        rm->converged = true;
    }
    if (!g_skip_digest) {
        run_sync(ec, c, n + d, 1000, rd);
        print_run("digest:", rd);
    } else {
        rd->converged = true;
    }

    ixfr_count_t ic = {0};
    int rc = dmp_store_journal_read(a, serial_before, serial_after, ixfr_count, &ic);
    *ixfr_bytes = rc == 0 ? ic.bytes + 2 * 81 : 0;
    printf("ixfr:   %s, %llu RRs, ~%llu bytes\n", rc == 0 ? "ok" : "no journal",
           (unsigned long long)ic.rrs, (unsigned long long)*ixfr_bytes);

    dmp_cluster_free(eb);
    dmp_cluster_free(ec);
    dmp_cluster_free(srv_merkle);
    dmp_cluster_free(srv_ref);
    dmp_store_close(a);
    dmp_store_close(b);
    dmp_store_close(c);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        dmp_bench_rmtree(p);
    }
    return rm->converged && rd->converged ? 0 : 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench sync [--records N (1000000)] [--diff D (1000)] [--reps R (3)]\n"
            "                          [--base-dir DIR] [--skip-digest] [--skip-merkle]\n"
            "                          [--settle S (20)]\n"
            "\n"
            "Loads N records into one store (straight through the store API), copies it three\n"
            "times (hard-linked SST files, as a RocksDB checkpoint), writes D more records into\n"
            "the first copy a second later (the newest stored time, as missed writes have),\n"
            "then times the second copy's convergence through our Merkle protocol and the\n"
            "third's through the reference's digest protocol (fresh cursor: the whole log), and\n"
            "sizes an IXFR of the same change. R repetitions from fresh copies; prints medians.\n"
            "--base-dir keeps the loaded store there and reuses it when it holds N records\n"
            "(default: a temporary directory, removed at the end). --skip-digest leaves the\n"
            "digest protocol out (it reads every record), --skip-merkle the Merkle one. --settle:\n"
            "seconds between opening the copies and timing, for RocksDB's compactions of the\n"
            "fresh copies to run first. Times: wall, and CPU of the thread the engines run on\n"
            "(RocksDB's background threads excluded). Bytes: request and response bodies and\n"
            "paths, HTTP headers not counted.\n");
}

static int bench_sync_main(int argc, char **argv)
{
    size_t n = 1000000, d = 1000;
    int reps = 3;
    const char *base_dir = NULL;
    static const struct option lo[] = {
        {"records", 1, 0, 'n'},     {"diff", 1, 0, 'd'},        {"reps", 1, 0, 'r'},
        {"base-dir", 1, 0, 'b'},    {"skip-digest", 0, 0, 's'}, {"settle", 1, 0, 'w'},
        {"skip-merkle", 0, 0, 'm'}, {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:d:r:b:smw:h", lo, NULL)) != -1) {
        if (o == 'n')
            n = strtoul(optarg, NULL, 10);
        else if (o == 'd')
            d = strtoul(optarg, NULL, 10);
        else if (o == 'r')
            reps = atoi(optarg);
        else if (o == 'b')
            base_dir = optarg;
        else if (o == 's')
            g_skip_digest = true;
        else if (o == 'm')
            g_skip_merkle = true;
        else if (o == 'w')
            g_settle = (unsigned)strtoul(optarg, NULL, 10) % 601;
        else {
            usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? 0 : 2;
        }
    }
    if (n == 0 || n > 20000000 || d == 0 || d > 1000000 || reps < 1 || reps > 15) {
        usage(stderr);
        return 2;
    }
    char tmp[] = "/tmp/dmp_bench_sync_XXXXXX";
    const char *dir = base_dir;
    if (!dir) {
        if (!mkdtemp(tmp))
            return 1;
        dir = tmp;
    } else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    g_now = 1800000000000LL;
    if (make_base(dir, n) != 0)
        return 1;
    double tm[15], tr[15], bm[15], br[15], cm[15], cr[15];
    uint64_t ixfr = 0;
    int bad = 0;
    for (int i = 0; i < reps; i++) {
        printf("rep %d/%d:\n", i + 1, reps);
        fflush(stdout);
        run_t rm, rd;
        if (one_rep(dir, n, d, &rm, &rd, &ixfr) != 0)
            bad = 1;
        tm[i] = rm.secs;
        tr[i] = rd.secs;
        cm[i] = rm.cpu;
        cr[i] = rd.cpu;
        bm[i] = (double)rm.bytes;
        br[i] = (double)rd.bytes;
        fflush(stdout);
    }
    double mtm = median(tm, reps), mtr = median(tr, reps), mbm = median(bm, reps),
           mbr = median(br, reps), mcm = median(cm, reps), mcr = median(cr, reps);
    printf("median of %d, N = %zu, D = %zu:\n", reps, n, d);
    if (!g_skip_merkle)
        printf("  merkle  %.3f s (CPU %.3f s)  %.0f bytes\n", mtm, mcm, mbm);
    if (!g_skip_digest) {
        printf("  digest  %.3f s (CPU %.3f s)  %.0f bytes\n", mtr, mcr, mbr);
        if (!g_skip_merkle)
            printf("  digest/merkle: time %.1fx, bytes %.1fx\n", mtm > 0 ? mtr / mtm : 0,
                   mbm > 0 ? mbr / mbm : 0);
    }
    printf("  ixfr                       ~%llu bytes\n", (unsigned long long)ixfr);
    printf("  load average now: ");
    fflush(stdout);
    if (system("cut -d' ' -f1-3 /proc/loadavg") != 0)
        printf("?\n");
    if (!base_dir)
        dmp_bench_rmtree(dir);
    return bad;
}

static const dmp_bench_cmd_t cmd = {"sync",
                                    "anti-entropy: Merkle vs reference digest protocol vs IXFR, "
                                    "N records differing in D",
                                    bench_sync_main};
DMP_BENCH_REGISTER(cmd);
