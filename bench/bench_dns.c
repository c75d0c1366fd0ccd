/* dnsmesh-bench dns: a batched DNS load generator that checks every answer.
 *
 * The command line, the query mix and fixed-rate steps; the engine is bench_dns_engine.c, the
 * checks bench_dns_expect.c, the report bench_dns_report.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench.h"
#include "bench_dns.h"

#define MAX_STEPS 32

enum { K_EXIST, K_TC, K_ENT, K_NX, K_OTHER, K_N };
static const char *const kind_names[K_N] = {"exist", "tc", "ent", "nxdomain", "unchecked"};

typedef struct {
    const char *target, *server;
    int port;
    bool remote_ok;
    const char *names_file, *pattern, *records, *zone, *mix, *write_queries;
    int64_t count, queries;
    double duration;
    int64_t max_queries;
    int64_t sockets, batch, window, timeout_ms, edns, cpu, seed, show_wrong;
    uint16_t qtype;
    double rate;
    double rates[MAX_STEPS];
    int nrates;
    double step_seconds;
    bool json, quiet, tcp, uring, no_tc_retry;
} opts_t;

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dnsmesh-bench dns --target ADDR:PORT (--names FILE | --pattern P --count N |\n"
        "                         --records FILE.jsonl) [options]\n"
        "\n"
        "Batched DNS load generator (sendmmsg/recvmmsg over connected UDP sockets, or TCP)\n"
        "that checks every answer against the records it was told were published.\n"
        "\n"
        "Target:\n"
        "  --target ADDR:PORT   server to load: an IP literal ([V6]:PORT for IPv6)\n"
        "  --target-is-mine     allow a target outside loopback (127.0.0.0/8, ::1): only\n"
        "                       for servers you run or may load test\n"
        "  --server ADDR --port N   the same as --target ADDR:PORT\n"
        "Queries:\n"
        "  --names FILE         one query per line in dnsperf's format: 'name [TYPE]'\n"
        "                       ('#' comments and blank lines skipped; TYPE as --qtype)\n"
        "  --pattern P          name pattern containing {i}, e.g. 'c{i}.mesh.test'\n"
        "  --count N            with --pattern: i runs over 0..N-1\n"
        "  --records FILE       JSON lines {\"name\",\"value\"} that the server publishes (as\n"
        "                       gen_records.py writes): every TXT answer under --zone is\n"
        "                       checked (RCODE, answer count, each TXT value's bytes). Alone,\n"
        "                       it also makes the queries, by --mix\n"
        "  --zone Z             the served zone (default mesh.test)\n"
        "  --mix SPEC           with --records alone: percentages of existing names that fit\n"
        "                       in UDP, names whose answer needs TCP, empty non-terminals and\n"
        "                       missing names (default exist:85,tc:1,ent:4,nxdomain:10)\n"
        "  --write-queries F    write --queries N lines drawn as a run would (dnsperf's\n"
        "                       format, for `dnsperf -d F`) and exit\n"
        "  --queries N          lines for --write-queries (default: the number of names)\n"
        "  --qtype T            TXT, A, AAAA, NS, SOA or a number (default TXT)\n"
        "Load:\n"
        "  --duration S         seconds of load (default 5, max 3600)\n"
        "  --rate QPS           offer at most this many queries/s (default 0 = as fast as\n"
        "                       the window allows)\n"
        "  --rates R1,R2,...    fixed-rate steps, one report each (up to %d)\n"
        "  --step-seconds S     seconds per step (default 10)\n"
        "  --max-queries N      stop a step after N queries (default 10000000)\n"
        "  --sockets N          connected UDP sockets / TCP connections (default 4, max %d)\n"
        "  --batch N            queries per sendmmsg/recvmmsg (default 32, max %d)\n"
        "  --window N           outstanding queries across all sockets (default 512, max %d)\n"
        "  --timeout-ms N       a query unanswered this long is lost (default 1000)\n"
        "  --edns SIZE          EDNS0 UDP payload size, 0 = no OPT (default 1232)\n"
        "  --tcp                DNS over TCP: pipelined length-prefixed queries\n"
        "  --no-tc-retry        count a TC=1 UDP answer as it is instead of retrying over TCP\n"
        "  --io mmsg|uring      UDP I/O: sendmmsg/recvmmsg (default) or io_uring\n"
        "  --cpu N              pin the generator to CPU N\n"
        "  --seed N             PRNG seed for IDs and name order (default 1)\n"
        "Output:\n"
        "  --json               one JSON object per step instead of text\n"
        "  --show-wrong N       print the first N wrong answers on stderr (default 5)\n"
        "  --quiet              no progress line on stderr\n"
        "\n"
        "Prints sent, answered, lost (timed out), late/mismatched replies, an RCODE histogram,\n"
        "answered QPS, latency p50/p99/p99.9/max and, when answers are checked, right and\n"
        "wrong answers per kind (wrong RCODE, missing value or wrong count, unpublished data).\n"
        "A TC=1 answer is retried over TCP and counted once, when the TCP answer comes.\n"
        "Exit 0 if anything was answered and nothing was wrong, 1 if nothing was answered,\n"
        "3 if an answer was wrong, 2 on bad arguments.\n",
        MAX_STEPS, DMPB_MAX_SOCKETS, DMPB_MAX_BATCH, DMPB_MAX_WINDOW);
}

static int parse_rates(const char *opt, const char *v, void *dst)
{
    opts_t *o = dst;
    (void)opt;
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", v);
    o->nrates = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->nrates == MAX_STEPS) {
            fprintf(stderr, "--rates: at most %d steps\n", MAX_STEPS);
            return -1;
        }
        if (dmpb_opt_double("--rates", t, 1, 1e8, &o->rates[o->nrates]) != 0)
            return -1;
        o->nrates++;
    }
    return o->nrates ? 0 : -1;
}

static int parse_io(const char *opt, const char *v, void *dst)
{
    if (strcmp(v, "mmsg") != 0 && strcmp(v, "uring") != 0) {
        fprintf(stderr, "%s: give mmsg or uring, not '%s'\n", opt, v);
        return -1;
    }
    *(bool *)dst = strcmp(v, "uring") == 0;
    return 0;
}

static int parse_qtype(const char *opt, const char *v, void *dst)
{
    (void)opt;
    return dmpb_parse_qtype(v, dst);
}

static int parse_args(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){.server = NULL,
                  .port = -1,
                  .zone = "mesh.test",
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
                  .count = -1,
                  .queries = -1,
                  .show_wrong = 5,
                  .step_seconds = 10};
    const dmpb_opt_t tab[] = {
        DMPB_FLAG("--json", &o->json),
        DMPB_FLAG("--quiet", &o->quiet),
        DMPB_FLAG("--tcp", &o->tcp),
        DMPB_FLAG("--target-is-mine", &o->remote_ok),
        DMPB_FLAG("--no-tc-retry", &o->no_tc_retry),
        DMPB_STR("--target", &o->target),
        DMPB_STR("--server", &o->server),
        DMPB_FN("--io", parse_io, &o->uring),
        DMPB_INT("--port", &o->port, 1, 65535),
        DMPB_STR("--names", &o->names_file),
        DMPB_STR("--pattern", &o->pattern),
        DMPB_STR("--records", &o->records),
        DMPB_STR("--zone", &o->zone),
        DMPB_STR("--mix", &o->mix),
        DMPB_STR("--write-queries", &o->write_queries),
        DMPB_I64("--queries", &o->queries, 1, 100000000),
        DMPB_I64("--count", &o->count, 1, DMPB_MAX_NAMES),
        DMPB_DBL("--duration", &o->duration, 0.01, 3600),
        DMPB_DBL("--step-seconds", &o->step_seconds, 0.01, 3600),
        DMPB_FN("--rates", parse_rates, o),
        DMPB_I64("--max-queries", &o->max_queries, 1, 1000000000000LL),
        DMPB_I64("--sockets", &o->sockets, 1, DMPB_MAX_SOCKETS),
        DMPB_I64("--batch", &o->batch, 1, DMPB_MAX_BATCH),
        DMPB_I64("--window", &o->window, 1, DMPB_MAX_WINDOW),
        DMPB_I64("--timeout-ms", &o->timeout_ms, 1, 60000),
        DMPB_DBL("--rate", &o->rate, 0, 1e8),
        DMPB_I64("--edns", &o->edns, 0, 65535),
        DMPB_FN("--qtype", parse_qtype, &o->qtype),
        DMPB_I64("--cpu", &o->cpu, 0, 1023),
        DMPB_I64("--seed", &o->seed, 0, INT64_MAX),
        DMPB_I64("--show-wrong", &o->show_wrong, 0, 1000000),
    };
    if (dmpb_opts_parse("dns", tab, sizeof tab / sizeof tab[0], argc, argv, usage) != 0)
        return -1;
    if (o->edns != 0 && o->edns < 512) {
        fprintf(stderr, "--edns: give 0 (no OPT) or a size of at least 512\n");
        return -1;
    }
    if (!o->write_queries && !o->target && o->port < 0) {
        fprintf(stderr, "dns: give --target ADDR:PORT (or --port N)\n");
        return -1;
    }
    if (o->target && (o->server || o->port >= 0)) {
        fprintf(stderr, "dns: give --target or --server/--port, not both\n");
        return -1;
    }
    if ((o->names_file ? 1 : 0) + (o->pattern ? 1 : 0) > 1 ||
        (!o->names_file && !o->pattern && !o->records)) {
        fprintf(stderr, "dns: give one of --names FILE, --pattern P or --records FILE\n");
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
    if (o->mix && (o->names_file || o->pattern || !o->records)) {
        fprintf(stderr, "dns: --mix only goes with --records alone\n");
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
    if (o->nrates && o->rate > 0) {
        fprintf(stderr, "dns: give --rate or --rates, not both\n");
        return -1;
    }
    return 0;
}

/* ---- the query mix --------------------------------------------------------------------------- */

typedef struct {
    dmpb_names_t *nm;
    uint64_t rng;
    bool mixed; /* draw a kind by weight, then a name of that kind */
    uint32_t start[K_N], end[K_N];
    uint32_t cum[K_N]; /* cumulative weights, out of cum[K_N - 1] */
} picker_t;

static int parse_mix(const char *spec, uint32_t w[K_N])
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    memset(w, 0, sizeof(uint32_t) * K_N);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *c = strchr(t, ':');
        int k = -1;
        if (c) {
            *c = 0;
            for (int i = 0; i < K_OTHER; i++)
                if (strcmp(t, kind_names[i]) == 0 || (i == K_NX && strcmp(t, "nx") == 0))
                    k = i;
        }
        int64_t x;
        if (k < 0 || dmpb_opt_i64("--mix", c + 1, 0, 1000000, &x) != 0) {
            fprintf(stderr, "--mix: want exist:N,tc:N,ent:N,nxdomain:N\n");
            return -1;
        }
        w[k] = (uint32_t)x;
    }
    return 0;
}

static int64_t pick(void *ctx, int64_t now, uint8_t *kind)
{
    (void)now;
    picker_t *p = ctx;
    uint64_t r = dmpb_rand(&p->rng);
    uint32_t name;
    if (p->mixed) {
        uint32_t x = (uint32_t)(r >> 32) % p->cum[K_N - 1], k = 0;
        while (x >= p->cum[k])
            k++;
        name = p->start[k] + (uint32_t)((r & 0xffffffffu) % (p->end[k] - p->start[k]));
    } else {
        name = (uint32_t)(r % p->nm->n);
    }
    *kind = p->nm->kind[name];
    return name;
}

/* Names for --records alone: each class of the records file, then missing names. */
static int mix_names(const opts_t *o, dmpb_names_t *nm, picker_t *p)
{
    uint32_t w[K_N];
    if (parse_mix(o->mix ? o->mix : "exist:85,tc:1,ent:4,nxdomain:10", w) != 0)
        return -1;
    dmpb_record_names_t rn;
    unsigned udp = o->tcp ? 65535 : o->edns ? (unsigned)o->edns : 512;
    if (dmpb_expect_record_names(o->records, o->zone, udp, &rn) != 0)
        return -1;
    const char *lists[3] = {rn.exist, rn.tc, rn.ent};
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++) {
        p->start[k] = (uint32_t)nm->n;
        for (const char *s = lists[k]; rc == 0 && s && *s;) {
            const char *e = strchr(s, '\n');
            rc = dmpb_names_add(nm, s, (size_t)(e - s), o->qtype, (uint8_t)k);
            s = e + 1;
        }
        p->end[k] = (uint32_t)nm->n;
    }
    size_t nx = rn.exist_n / 10 > 1000 ? rn.exist_n / 10 : 1000;
    dmpb_record_names_free(&rn);
    p->start[K_NX] = (uint32_t)nm->n;
    char buf[300];
    for (size_t i = 0; rc == 0 && i < nx; i++) {
        int l =
            snprintf(buf, sizeof(buf), "nx-%llx-%zu.%s", (unsigned long long)o->seed, i, o->zone);
        rc = dmpb_names_add(nm, buf, (size_t)l, o->qtype, K_NX);
    }
    p->end[K_NX] = (uint32_t)nm->n;
    p->start[K_OTHER] = p->end[K_OTHER] = (uint32_t)nm->n;
    uint32_t cum = 0;
    for (int k = 0; k < K_N; k++) {
        if (p->end[k] == p->start[k] && w[k]) {
            if (k != K_TC || !o->tcp) /* over TCP nothing is truncated */
                fprintf(stderr, "dns: the records have no '%s' names; mix weight ignored\n",
                        kind_names[k]);
            w[k] = 0;
        }
        cum += w[k];
        p->cum[k] = cum;
    }
    if (cum == 0) {
        fprintf(stderr, "dns: --mix leaves nothing to query\n");
        return -1;
    }
    p->mixed = true;
    return rc;
}

/* Kind of each loaded name from what it should answer (answers over `udp` bytes need TCP). */
static void classify(const dmpb_expect_t *e, dmpb_names_t *nm, unsigned udp)
{
    for (size_t i = 0; i < nm->n; i++) {
        uint32_t x = nm->exp[i];
        if (x == DMPB_EXP_NONE) {
            nm->kind[i] = K_OTHER;
        } else if (x == DMPB_EXP_NXDOMAIN) {
            nm->kind[i] = K_NX;
        } else if (x == DMPB_EXP_NODATA) {
            nm->kind[i] = K_ENT;
        } else {
            const dmpb_entry_t *en = &e->ents[x - DMPB_EXP_ENTRY];
            uint64_t size = 12 + (nm->off[i + 1] - nm->off[i]) + 4 + 11;
            for (uint32_t v = en->first; v; v = e->vals[v - 1].next) {
                uint32_t l = e->vals[v - 1].len;
                size += 12 + l + (l ? (l + 254) / 255 : 1);
            }
            nm->kind[i] = size > udp ? K_TC : K_EXIST;
        }
    }
}

static int write_queries(const opts_t *o, picker_t *p)
{
    FILE *f = fopen(o->write_queries, "w");
    if (!f) {
        perror(o->write_queries);
        return 2;
    }
    int64_t n = o->queries > 0 ? o->queries : (int64_t)p->nm->n;
    char buf[300], tb[8];
    for (int64_t i = 0; i < n; i++) {
        uint8_t kind;
        uint32_t name = (uint32_t)pick(p, 0, &kind);
        fprintf(f, "%s %s\n", dmpb_name_text(p->nm, name, buf, sizeof(buf)),
                dmpb_qtype_name(p->nm->qtype[name], tb));
    }
    if (fclose(f) != 0) {
        perror(o->write_queries);
        return 2;
    }
    fprintf(stderr, "wrote %lld queries to %s\n", (long long)n, o->write_queries);
    return 0;
}

static int dns_main(int argc, char **argv)
{
    opts_t o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;
    dmpb_gen_cfg_t cfg = {0};
    char host[64] = "", target[100];
    int port = 0;
    if (!o.write_queries) {
        char spec[100];
        if (!o.target)
            snprintf(spec, sizeof(spec), "%s", o.server ? o.server : "127.0.0.1");
        if (dmpb_target_parse(o.target ? o.target : spec, o.port, o.remote_ok, &cfg.target,
                              &cfg.target_len, host, &port) != 0)
            return 2;
    }
    snprintf(target, sizeof(target), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    dmpb_names_t nm = {0};
    dmpb_expect_t ex = {0};
    picker_t pk = {.nm = &nm};
    pk.rng = (uint64_t)o.seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (pk.rng == 0)
        pk.rng = 1;
    int ret = 2;
    dmpb_gen_t *g = NULL;
    int rc = o.names_file ? dmpb_names_load_file(&nm, o.names_file, o.qtype)
             : o.pattern  ? dmpb_names_from_pattern(&nm, o.pattern, o.count, o.qtype)
                          : mix_names(&o, &nm, &pk);
    size_t nrec = 0;
    if (rc == 0 && o.records) {
        rc = dmpb_expect_init(&ex, o.zone);
        if (rc == 0)
            rc = dmpb_expect_load(&ex, &nm, o.records, &nrec);
        if (rc == 0 && !pk.mixed)
            classify(&ex, &nm, o.tcp ? 65535 : o.edns ? (unsigned)o.edns : 512);
    } else if (rc == 0) {
        memset(nm.kind, K_OTHER, nm.n);
    }
    if (rc != 0)
        goto out;
    if (o.write_queries) {
        ret = write_queries(&o, &pk);
        goto out;
    }
    if (o.cpu >= 0 && dmpb_pin_cpu((int)o.cpu) != 0)
        goto out;
    cfg.sockets = (int)o.sockets;
    cfg.batch = (int)o.batch;
    cfg.window = (int)o.window;
    cfg.timeout_ms = o.timeout_ms;
    cfg.edns = (int)o.edns;
    cfg.tcp = o.tcp;
    cfg.uring = o.uring;
    cfg.tc_retry = !o.no_tc_retry;
    cfg.show_wrong = (int)o.show_wrong;
    cfg.kind_names = kind_names;
    cfg.nkinds = K_N;
    cfg.names = &nm;
    cfg.expect = o.records ? &ex : NULL;
    cfg.pick = pick;
    cfg.ctx = &pk;
    if (dmpb_gen_new(&cfg, &g) != 0)
        goto out;
    dmpb_catch_signals();
    if (!o.nrates) {
        o.rates[0] = o.rate;
        o.nrates = 1;
        o.step_seconds = o.duration;
    }
    dmpb_stats_t *st = calloc(1, sizeof(*st));
    if (!st)
        goto out;
    bool any = false, wrong = false;
    for (int s = 0; s < o.nrates && !dmpb_stop; s++) {
        dmpb_gen_run(g, o.step_seconds, o.max_queries, o.rates[s], !o.quiet && !o.json, NULL, st);
        dmpb_report_info_t ri = {target,        "dns",      (int)o.sockets, (int)o.batch,
                                 (int)o.window, o.tcp,      o.uring,        o.records != NULL,
                                 nm.n,          o.rates[s], kind_names,     o.records ? K_N : 0};
        if (o.json) {
            json_t *j = dmpb_report_json(&ri, st);
            if (j) {
                json_object_set_new(j, "server", json_string(host));
                json_object_set_new(j, "port", json_integer(port));
                json_object_set_new(j, "records", json_integer((json_int_t)nrec));
                char *txt = json_dumps(j, JSON_COMPACT);
                if (txt)
                    printf("%s\n", txt);
                free(txt);
                json_decref(j);
            }
        } else {
            if (o.nrates > 1)
                printf("== step %d of %d: %.0f q/s offered for %.1f s\n", s + 1, o.nrates,
                       o.rates[s], o.step_seconds);
            dmpb_report_text(stdout, &ri, st);
        }
        fflush(stdout);
        any = any || st->answered > 0;
        wrong = wrong || st->wrong > 0;
    }
    free(st);
    ret = !any ? 1 : wrong ? 3 : 0;
out:
    dmpb_gen_free(g);
    dmpb_expect_free(&ex);
    dmpb_names_free(&nm);
    return ret;
}

static const dmp_bench_cmd_t cmd = {
    "dns", "batched DNS load generator that checks every answer (QPS, latency, wrong, lost)",
    dns_main};
DMP_BENCH_REGISTER(cmd)
