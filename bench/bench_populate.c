/* dnsmesh-bench populate: writes N synthetic records straight into a (stopped) node's store
 * through the store API, the fast way to give a benchmark node a million records; and the
 * helpers the cluster benchmarks share (record generator, store copy). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_populate.h"

void dmp_bench_record(size_t i, const char *zone, char name[128], size_t *name_len, char value[256],
                      size_t *value_len)
{
    int nl = snprintf(name, 128, "rec-%zu.x4f1c2a9e7d3b.%s", i, zone);
    int vl = snprintf(value, 256,
                      "v=spf1 record %zu xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                      i);
    *name_len = nl > 0 && nl < 128 ? (size_t)nl : 0;
    *value_len = vl > 0 && vl < 256 ? (size_t)vl : 0;
}

enum { POP_BATCH = 8192 };

int dmp_bench_populate(dmp_store_t *s, size_t from, size_t to, const char *zone, uint32_t ttl,
                       int64_t now_ms, int progress)
{
    char(*names)[128] = malloc((size_t)POP_BATCH * 128);
    char(*vals)[256] = malloc((size_t)POP_BATCH * 256);
    dmp_store_put_t *p = malloc((size_t)POP_BATCH * sizeof(*p));
    int rc = names && vals && p ? 0 : DMP_ENOMEM;
    size_t next_note = from + 100000;
    for (size_t i = from; i < to && rc == 0;) {
        size_t n = 0;
        for (; n < POP_BATCH && i < to; n++, i++) {
            size_t nl, vl;
            dmp_bench_record(i, zone, names[n], &nl, vals[n], &vl);
            p[n] = (dmp_store_put_t){names[n], nl, (const uint8_t *)vals[n], vl, ttl};
        }
        rc = dmp_store_put_batch_ex(s, p, n, now_ms, DMP_STORE_NOSYNC);
        if (progress && i >= next_note) {
            fprintf(stderr, "  %zu records\n", i - from);
            next_note += 100000;
        }
    }
    if (rc == 0)
        rc = dmp_store_sync_wal(s);
    free(names);
    free(vals);
    free(p);
    return rc;
}

static int copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[1 << 16];
    ssize_t r;
    int rc = 0;
    while ((r = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (r < 0)
        rc = -1;
    close(in);
    if (close(out) != 0)
        rc = -1;
    return rc;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int dmp_bench_store_clone(const char *src, const char *dst)
{
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, "LOCK") == 0 || strncmp(e->d_name, "LOG", 3) == 0 ||
            e->d_name[0] == '.')
            continue;
        char a[4096], b[4096];
        snprintf(a, sizeof(a), "%s/%s", src, e->d_name);
        snprintf(b, sizeof(b), "%s/%s", dst, e->d_name);
        struct stat st;
        if (stat(a, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (ends_with(e->d_name, ".sst") && link(a, b) == 0)
            continue;
        rc = copy_file(a, b);
    }
    closedir(d);
    return rc;
}

int dmp_bench_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc |= dmp_bench_rmtree(p);
        else if (unlink(p) != 0)
            rc = -1;
    }
    closedir(d);
    if (rmdir(dir) != 0)
        rc = -1;
    return rc;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench populate --store DIR --records N [--from 0] [--ttl 86400]\n"
            "                              [--zone mesh.test]\n"
            "\n"
            "Writes records rec-<i>.x4f1c2a9e7d3b.<zone> for i in [from, from+N) with ~150-byte\n"
            "text values straight into the store at DIR (created if missing) through the store\n"
            "API: unsynced batches of %d, one WAL sync at the end. The node that owns DIR must\n"
            "be stopped. Stored time is the real clock, so the records expire after --ttl.\n"
            "Query them with: dnsmesh-bench dns --pattern 'rec-{i}.x4f1c2a9e7d3b.<zone>'\n"
            "--count N.\n",
            POP_BATCH);
}

static int populate_main(int argc, char **argv)
{
    const char *dir = NULL, *zone = "mesh.test";
    size_t n = 0, from = 0;
    unsigned long ttl = 86400;
    static const struct option lo[] = {
        {"store", 1, 0, 's'}, {"records", 1, 0, 'n'}, {"from", 1, 0, 'f'}, {"ttl", 1, 0, 't'},
        {"zone", 1, 0, 'z'},  {"help", 0, 0, 'h'},    {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "s:n:f:t:z:h", lo, NULL)) != -1) {
        char *end = NULL;
        switch (o) {
        case 's':
            dir = optarg;
            break;
        case 'n':
            n = strtoul(optarg, &end, 10);
            break;
        case 'f':
            from = strtoul(optarg, &end, 10);
            break;
        case 't':
            ttl = strtoul(optarg, &end, 10);
            break;
        case 'z':
            zone = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        if (end && *end) {
            fprintf(stderr, "populate: bad number '%s'\n", optarg);
            return 2;
        }
    }
    if (!dir || n == 0 || n > 100000000 || ttl == 0 || ttl > 0x7fffffff || strlen(zone) > 80) {
        usage(stderr);
        return 2;
    }
    char err[256];
    dmp_store_opts_t so = {.path = dir, .create_if_missing = true};
    dmp_store_t *s;
    if (dmp_store_open(&so, &s, err, sizeof(err)) != 0) {
        fprintf(stderr, "populate: %s\n", err);
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    double t0 = mono();
    int rc = dmp_bench_populate(s, from, from + n, zone, (uint32_t)ttl, now, 1);
    uint64_t count = 0;
    dmp_store_record_count(s, &count);
    dmp_store_close(s);
    if (rc != 0) {
        fprintf(stderr, "populate: %s\n", dmp_store_strerror(rc));
        return 1;
    }
    printf("populate: %zu records written in %.1f s; the store holds %llu\n", n, mono() - t0,
           (unsigned long long)count);
    return 0;
}

static const dmp_bench_cmd_t cmd = {
    "populate", "write N synthetic records straight into a stopped node's store", populate_main};
DMP_BENCH_REGISTER(cmd);
