/* dnsmesh-bench missread: what the store reads a shard makes synchronously cost (issue 11,
 * "nothing slow on a query thread"): the answer-cache miss of a name that exists (one prefix
 * seek), of a name that does not (the prefix seek, then the descendant check through the
 * reversed-name index: two seeks), and a write's cap check (dmp_store_count_values_ex).
 *
 * A fresh store in a temporary directory gets N records under "mb-<i>.mesh.test" style names
 * (slot-<k>.mb-<i>: every mb-<i> is an empty non-terminal), flushed and compacted so the reads
 * go through table files as on a long-running node; then each read kind runs R times over
 * shuffled names and the median of 5 rounds is printed in microseconds per read. Local disk
 * only, bounded by N <= 10^7 and R <= 10^6.
 *
 * With --store DIR --names FILE it reads an existing store instead (e.g. one bulk-loaded by
 * bench/store-scale.sh with 10M records; no node may have it open): uniformly random names of
 * FILE (one per line, as bench/gen_records.py writes them), absent names, and the descendant
 * checks of absent names outside and inside the reversed-name index's key range, printing
 * per read the wall time and the thread's CPU time (the figure that holds on a shared box). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "store/store.h"
#include "util/util.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int visit_nop(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

enum { K_GET_HIT, K_GET_MISS, K_DESC_MISS, K_DESC_HIT, K_CAP, K_N };
static const char *kname[K_N] = {
    "get, name exists (cache miss of a live name)", "get, name absent (1st seek of an NXDOMAIN)",
    "has_descendant, absent (2nd seek of an NXDOMAIN)", "has_descendant, empty non-terminal",
    "count_values_ex (a write's cap check)"};

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum { S_GET_HIT, S_GET_READER, S_GET_MISS, S_DESC_OUT, S_DESC_IN, S_N };
static const char *sname[S_N] = {
    "get, random existing name (a DNS cache miss)",
    "the same through a reader (the node's DNS path)", "get, absent name (1st read of an NXDOMAIN)",
    "has_descendant, absent, past the index's range", "has_descendant, absent, inside the range"};

/* --store mode: reads of an existing store's names. */
static int missread_store(const char *store, const char *names_file, long reads, long cache_mb)
{
    size_t n = 0;
    char **names = dmpb_read_names(names_file, &n);
    if (names == NULL) {
        fprintf(stderr, "missread: cannot read names from %s\n", names_file);
        return 1;
    }
    dmp_store_opts_t o = {
        .path = store, .create_if_missing = false, .block_cache_bytes = (size_t)cache_mb << 20};
    dmp_store_t *s = NULL;
    char err[512];
    if (dmp_store_open(&o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "missread: open %s: %s\n", store, err);
        dmpb_free_names(names, n);
        return 1;
    }
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t now = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    char cb[32] = "the default";
    if (cache_mb)
        snprintf(cb, sizeof cb, "%ld MiB", cache_mb);
    printf("missread: store %s, %zu names, block cache %s, %ld reads per kind and round, median "
           "of 5 rounds (wall / thread CPU per read)\n",
           store, n, cb, reads);
    double wall[S_N][5], cpu[S_N][5];
    unsigned seed = 11;
    dmp_store_reader_t *rd = NULL;
    int rc = dmp_store_reader_new(s, &rd);
    for (int round = 0; round < 5 && rc == 0; round++) {
        for (int k = 0; k < S_N && rc == 0; k++) {
            size_t found = 0;
            int64_t t0 = mono_ns(), c0 = cpu_ns();
            for (long r = 0; r < reads; r++) {
                char nm[300];
                const char *x = names[((size_t)rand_r(&seed) << 16 ^ (size_t)rand_r(&seed)) % n];
                int nl;
                bool b = false;
                switch (k) {
                case S_GET_HIT:
                    dmp_store_get(s, x, strlen(x), now, visit_nop, &found);
                    break;
                case S_GET_READER:
                    dmp_store_get_with(s, rd, x, strlen(x), now, visit_nop, &found);
                    break;
                case S_GET_MISS:
                    nl = snprintf(nm, sizeof nm, "nx-%08x%ld.%s", rand_r(&seed), r, x);
                    dmp_store_get(s, nm, (size_t)nl, now, visit_nop, &found);
                    break;
                case S_DESC_OUT: /* "nx-..." + the zone: sorts after every reversed name */
                    nl = snprintf(nm, sizeof nm, "nx-%08x%ld%s", rand_r(&seed), r,
                                  strchr(x, '.') ? strchr(x, '.') : ".");
                    dmp_store_has_descendant(s, nm, (size_t)nl, now, &b);
                    found += b;
                    break;
                default: /* a child of an existing name: inside the range, absent */
                    nl = snprintf(nm, sizeof nm, "zz%08x.%s", rand_r(&seed), x);
                    dmp_store_has_descendant(s, nm, (size_t)nl, now, &b);
                    found += b;
                    break;
                }
            }
            wall[k][round] = (double)(mono_ns() - t0) / 1e3 / (double)reads;
            cpu[k][round] = (double)(cpu_ns() - c0) / 1e3 / (double)reads;
            if ((found > 0) != (k == S_GET_HIT || k == S_GET_READER)) {
                fprintf(stderr, "missread: %s: wrong answers\n", sname[k]);
                rc = 1;
            }
        }
    }
    for (int k = 0; k < S_N && rc == 0; k++) {
        qsort(wall[k], 5, sizeof(double), cmp_d);
        qsort(cpu[k], 5, sizeof(double), cmp_d);
        printf("  %-50s %7.2f us wall, %7.2f us CPU (CPU min %.2f, max %.2f)\n", sname[k],
               wall[k][2], cpu[k][2], cpu[k][0], cpu[k][4]);
    }
    dmp_store_reader_free(rd);
    dmp_store_close(s);
    dmpb_free_names(names, n);
    return rc;
}

static int missread_main(int argc, char **argv)
{
    long records = 100000, reads = 20000, cache_mb = 0;
    const char *dir = "/tmp", *store = NULL, *names = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: dnsmesh-bench missread [--records N] [--reads R] [--dir PATH]\n"
                   "       dnsmesh-bench missread --store DIR --names FILE [--reads R]\n"
                   "  --records N  records in the store (default 100000)\n"
                   "  --reads R    reads per kind and round (default 20000)\n"
                   "  --dir PATH   parent directory of the temporary store (default /tmp)\n"
                   "  --store DIR  read this existing store instead (not open elsewhere)\n"
                   "  --names FILE its names, one per line (bench/gen_records.py names.txt)\n"
                   "  --cache-mb M the store's block cache (default: the store's default)\n");
            return 0;
        }
        if (i + 1 >= argc)
            return 2;
        if (strcmp(argv[i], "--records") == 0)
            records = atol(argv[++i]);
        else if (strcmp(argv[i], "--reads") == 0)
            reads = atol(argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else if (strcmp(argv[i], "--store") == 0)
            store = argv[++i];
        else if (strcmp(argv[i], "--names") == 0)
            names = argv[++i];
        else if (strcmp(argv[i], "--cache-mb") == 0)
            cache_mb = atol(argv[++i]);
        else
            return 2;
    }
    if (store != NULL || names != NULL) {
        if (store == NULL || names == NULL || reads < 100 || reads > 1000000 || cache_mb < 0 ||
            cache_mb > 65536)
            return 2;
        return missread_store(store, names, reads, cache_mb);
    }
    if (records < 100 || records > 10000000 || reads < 100 || reads > 1000000)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/dmp-bench-missread.XXXXXX", dir);
    if (!mkdtemp(path))
        return 1;
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    char err[256];
    if (dmp_store_open(&o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "missread: open: %s\n", err);
        return 1;
    }
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t now = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    static char nb[1000][64];
    dmp_store_put_t p[1000];
    char val[120];
    memset(val, 'A', sizeof val);
    for (long done = 0; done < records;) {
        long n = records - done > 1000 ? 1000 : records - done;
        for (long i = 0; i < n; i++) {
            long k = done + i;
            int nl = snprintf(nb[i], sizeof nb[i], "slot-%ld.mb-%08lx.mesh.test", k % 10, k / 10);
            memcpy(val, &k, sizeof k);
            p[i] = (dmp_store_put_t){nb[i], (size_t)nl, (const uint8_t *)val, sizeof val, 86400};
        }
        if (dmp_store_put_batch_ex(s, p, (size_t)n, now, DMP_STORE_NOSYNC) != 0)
            return 1;
        done += n;
    }
    dmp_store_sync_wal(s);
    /* reopen: the memtable is flushed into table files, as on a node that has run a while */
    dmp_store_close(s);
    if (dmp_store_open(&o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "missread: reopen: %s\n", err);
        return 1;
    }
    printf("missread: %ld records (%ld empty non-terminals), %ld reads per kind and round, median "
           "of 5 rounds\n",
           records, records / 10, reads);
    double res[K_N][5];
    unsigned seed = 7;
    for (int round = 0; round < 5; round++) {
        for (int k = 0; k < K_N; k++) {
            size_t found = 0;
            int64_t t0 = mono_ns();
            for (long r = 0; r < reads; r++) {
                char nm[64];
                long x = (long)(rand_r(&seed) % (unsigned)records);
                int nl;
                bool b = false;
                size_t cnt = 0, bytes = 0;
                switch (k) {
                case K_GET_HIT:
                    nl = snprintf(nm, sizeof nm, "slot-%ld.mb-%08lx.mesh.test", x % 10, x / 10);
                    dmp_store_get(s, nm, (size_t)nl, now, visit_nop, &found);
                    break;
                case K_GET_MISS:
                    nl = snprintf(nm, sizeof nm, "nx-%08x%ld.mesh.test", rand_r(&seed), x);
                    dmp_store_get(s, nm, (size_t)nl, now, visit_nop, &found);
                    break;
                case K_DESC_MISS:
                    nl = snprintf(nm, sizeof nm, "nx-%08x%ld.mesh.test", rand_r(&seed), x);
                    dmp_store_has_descendant(s, nm, (size_t)nl, now, &b);
                    found += b;
                    break;
                case K_DESC_HIT:
                    nl = snprintf(nm, sizeof nm, "mb-%08lx.mesh.test", x / 10);
                    dmp_store_has_descendant(s, nm, (size_t)nl, now, &b);
                    found += b;
                    break;
                default:
                    nl = snprintf(nm, sizeof nm, "slot-%ld.mb-%08lx.mesh.test", x % 10, x / 10);
                    dmp_store_count_values_ex(s, nm, (size_t)nl, now, &cnt, &bytes);
                    found += cnt;
                    break;
                }
            }
            res[k][round] = (double)(mono_ns() - t0) / 1e3 / (double)reads;
            bool want = k == K_GET_HIT || k == K_DESC_HIT || k == K_CAP;
            if ((found > 0) != want) {
                fprintf(stderr, "missread: %s: wrong answers\n", kname[k]);
                return 1;
            }
        }
    }
    for (int k = 0; k < K_N; k++) {
        qsort(res[k], 5, sizeof(double), cmp_d);
        printf("  %-50s %7.2f us (min %.2f, max %.2f)\n", kname[k], res[k][2], res[k][0],
               res[k][4]);
    }
    dmp_store_close(s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "missread: could not remove %s\n", path);
    return 0;
}

static const dmp_bench_cmd_t cmd = {"missread", "cost of the store reads a shard makes per miss",
                                    missread_main};
DMP_BENCH_REGISTER(cmd);
