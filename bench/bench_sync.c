/* dnsmesh-bench sync: two stores holding N records that differ in D; time and bytes for the
 * lagging one to converge (1) through our Merkle protocol, (2) through the reference's digest
 * protocol (a fresh cursor, as after a restart), and (3) the size of an IXFR of the same change
 * from the journal. In one process: the engines talk through serve() without sockets, so the
 * bytes are the protocol's own (HTTP headers not counted) and the time is CPU + RocksDB. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
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

/* In-memory transport: every URL goes to the engine in ctx. */
static int http_fn(void *hctx, const char *url, const uint8_t *body, size_t len, const char *ctype,
                   dmp_cluster_http_resp_t *resp)
{
    (void)ctype;
    dmp_cluster_t *srv = hctx;
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
    dmp_cluster_reply_t r;
    int rc = dmp_cluster_serve(srv, body ? "POST" : "GET", p, &q, "Bearer b", body, len, &r);
    if (rc != 0)
        return rc;
    resp->status = r.status;
    resp->body = r.body.data;
    resp->len = r.body.len;
    return 0;
}

static int load(dmp_store_t **stores, int nst, size_t from, size_t to)
{
    enum { B = 4096 };
    static char names[B][64], vals[B][200];
    dmp_store_put_t p[B];
    for (size_t i = from; i < to;) {
        size_t n = 0;
        for (; n < B && i < to; n++, i++) {
            int nl = snprintf(names[n], sizeof(names[n]), "rec-%zu.h%012zx.mesh.test", i % 10,
                              i * 2654435761u);
            int vl = snprintf(vals[n], sizeof(vals[n]),
                              "v=spf1 record %zu xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                              i);
            p[n] = (dmp_store_put_t){names[n], (size_t)nl, (const uint8_t *)vals[n], (size_t)vl,
                                     86400};
        }
        for (int s = 0; s < nst; s++)
            if (dmp_store_put_batch_ex(stores[s], p, n, g_now, DMP_STORE_NOSYNC) != 0)
                return -1;
    }
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

static int bench_sync_main(int argc, char **argv)
{
    size_t n = 1000000, d = 1000;
    static const struct option lo[] = {
        {"records", 1, 0, 'n'}, {"diff", 1, 0, 'd'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:d:h", lo, NULL)) != -1) {
        if (o == 'n')
            n = strtoul(optarg, NULL, 10);
        else if (o == 'd')
            d = strtoul(optarg, NULL, 10);
        else {
            printf("usage: dnsmesh-bench sync [--records N (1000000)] [--diff D (1000)]\n");
            return o == 'h' ? 0 : 2;
        }
    }
    char dir[] = "/tmp/dmp_bench_sync_XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    g_now = 1800000000000LL;
    dmp_store_t *a, *b, *c;
    char path[300], err[256];
    dmp_store_opts_t so = {.create_if_missing = true};
    snprintf(path, sizeof(path), "%s/a", dir);
    so.path = path;
    if (dmp_store_open(&so, &a, err, sizeof(err)))
        return 1;
    snprintf(path, sizeof(path), "%s/b", dir);
    if (dmp_store_open(&so, &b, err, sizeof(err)))
        return 1;
    snprintf(path, sizeof(path), "%s/c", dir);
    if (dmp_store_open(&so, &c, err, sizeof(err)))
        return 1;
    double t0 = mono();
    dmp_store_t *all[3] = {a, b, c};
    if (load(all, 3, 0, n) != 0)
        return 1;
    uint32_t serial_before = dmp_store_soa_serial(a);
    if (load(all, 1, n, n + d) != 0) /* only a has the last d */
        return 1;
    uint32_t serial_after = dmp_store_soa_serial(a);
    printf("loaded %zu records into 3 stores (+%zu into the first) in %.1f s\n", n, d, mono() - t0);

    /* (1) Merkle: b pulls from a */
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
    dmp_cluster_env_t eb_env = {.store = b,
                                .apply = apply_fn,
                                .ctx = b,
                                .store_index = true,
                                .http = http_fn,
                                .http_ctx = srv_merkle,
                                .clock = {.now_ms = now_fn},
                                .token = "b"};
    dmp_cluster_new(&eb_env, &eb);
    dmp_cluster_env_t ec_env = eb_env;
    ec_env.store = c;
    ec_env.ctx = c;
    ec_env.store_index = false;
    ec_env.http_ctx = srv_ref;
    ec_env.round_budget_ms = 1000000; /* no wall-clock cap: measure the whole catch-up */
    dmp_cluster_new(&ec_env, &ec);
    dmp_cluster_peer_t peer = {.url = "http://a", .node_id = "a"};
    dmp_cluster_set_peers(eb, &peer, 1);
    dmp_cluster_set_peers(ec, &peer, 1);
    dmp_cluster_refresh(srv_merkle, true);
    dmp_cluster_refresh(eb, true);

    double t1 = mono();
    int rounds = 0;
    for (; rounds < 10 && count(b) < n + d; rounds++)
        if (dmp_cluster_sync_peer(eb, 0) != 0)
            break;
    double tm = mono() - t1;
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(eb, &st);
    printf("merkle:    converged=%s in %d round(s), %.3f s, %.0f bytes (%llu in, %llu out)\n",
           count(b) == n + d ? "yes" : "NO", rounds, tm, (double)(st.bytes_in + st.bytes_out),
           (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out);

    /* (2) the reference's digest protocol from a fresh cursor */
    double t2 = mono();
    rounds = 0;
    for (; rounds < 1000 && count(c) < n + d; rounds++)
        if (dmp_cluster_sync_peer(ec, 0) != 0)
            break;
    double tr = mono() - t2;
    dmp_cluster_stats_t st2;
    dmp_cluster_get_stats(ec, &st2);
    printf("digest:    converged=%s in %d round(s), %.3f s, %.0f bytes (%llu in, %llu out)\n",
           count(c) == n + d ? "yes" : "NO", rounds, tr, (double)(st2.bytes_in + st2.bytes_out),
           (unsigned long long)st2.bytes_in, (unsigned long long)st2.bytes_out);

    /* (3) the same change as an IXFR from a's journal */
    ixfr_count_t ic = {0};
    double t3 = mono();
    int rc = dmp_store_journal_read(a, serial_before, serial_after, ixfr_count, &ic);
    printf("ixfr:      %s, %llu RRs, ~%llu bytes, read in %.3f s\n", rc == 0 ? "ok" : "no journal",
           (unsigned long long)ic.rrs, (unsigned long long)(ic.bytes + 2 * 81), mono() - t3);
    printf("ratios:    digest/merkle time %.1fx, bytes %.1fx\n", tm > 0 ? tr / tm : 0,
           (double)(st2.bytes_in + st2.bytes_out) / (double)(st.bytes_in + st.bytes_out + 1));

    dmp_cluster_free(eb);
    dmp_cluster_free(ec);
    dmp_cluster_free(srv_merkle);
    dmp_cluster_free(srv_ref);
    dmp_store_close(a);
    dmp_store_close(b);
    dmp_store_close(c);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static const dmp_bench_cmd_t cmd = {"sync",
                                    "anti-entropy: Merkle vs reference digest protocol vs IXFR, "
                                    "N records differing in D",
                                    bench_sync_main};
DMP_BENCH_REGISTER(cmd);
