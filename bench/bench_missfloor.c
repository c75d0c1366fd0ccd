/* dnsmesh-bench missfloor: the floor of a cache miss's store read on this box (issue 11;
 * docs/store.md "Tenth pass").
 *
 * On the table files of an existing store (--store DIR: every *.sst opened O_RDONLY) and, per
 * round, the same uniformly random 4 KiB-aligned blocks for every arm, it measures per block the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID, user and kernel), the process's (which would also
 * count io_uring worker threads, had a read been punted to one), the wall time and the minor
 * faults, for:
 *   pread        one pread(2) per block (what RocksDB does per data block), 4 KiB and 512 B;
 *   uring/B      IORING_OP_READ, B reads per io_uring_enter (1, 8, 32, 64; and 512 B at 64);
 *   fixed/B      IORING_OP_READ_FIXED into registered buffers from registered files;
 *   mmap         every file mapped afresh, one byte of each block touched (minor faults), the
 *                same blocks touched again, the map + unmap; and mapped with MADV_RANDOM. These
 *                run in a process of their own each round (mmap_child);
 *   hash         a probe of the name -> location hash the issue weighs (bench_missfloor.h), for
 *                the round's names (random lines of --names FILE, else synthetic names);
 *   store        with --names: dmp_store_get_with of the same names through a kept reader, as
 *                `missread --store` and the node do, after --store-warm gets that fill the block
 *                cache. This opens the store read-write (RocksDB's lock): a copy, or a store no
 *                node has open.
 * Every arm once a round, in that order; medians and min-max over the rounds. The files are read
 * once sequentially first; mincore(2) over every page says how much of them was resident before
 * and after that read and at the end. Bounded: --blocks <= 10^6, --rounds <= 50, --max-seconds. */
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "bench_missfloor.h"
#include "store/store.h"

#define MF_QD 64

static int64_t clk_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long thread_minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt;
}

/* kB of field ("VmRSS:", "RssFile:") in /proc/self/status, -1 when absent. */
static long status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, field, fl) == 0) {
            v = atol(line + fl);
            break;
        }
    }
    if (f)
        fclose(f);
    return v;
}

typedef enum {
    K_PREAD,
    K_URING,
    K_FIXED,
    K_MMAP,
    K_MAPUNMAP,
    K_MMAP2,
    K_MMAPRND,
    K_HASH,
    K_STORE
} mf_kind_t;
typedef struct {
    const char *name;
    mf_kind_t kind;
    unsigned batch, bytes;
} mf_arm_t;
/* In this order every round. The four mmap rows come from one process of their own (mmap_child,
 * started where K_MMAP stands): K_MMAP2 touches the mapping K_MMAP made, then it is unmapped. */
static const mf_arm_t arms[] = {
    {"pread 4 KiB, 1 block per call", K_PREAD, 1, MF_BLOCK},
    {"io_uring READ 4 KiB, 1 per enter", K_URING, 1, MF_BLOCK},
    {"io_uring READ 4 KiB, 8 per enter", K_URING, 8, MF_BLOCK},
    {"io_uring READ 4 KiB, 32 per enter", K_URING, 32, MF_BLOCK},
    {"io_uring READ 4 KiB, 64 per enter", K_URING, 64, MF_BLOCK},
    {"io_uring READ_FIXED 4 KiB, 1 per enter", K_FIXED, 1, MF_BLOCK},
    {"io_uring READ_FIXED 4 KiB, 8 per enter", K_FIXED, 8, MF_BLOCK},
    {"io_uring READ_FIXED 4 KiB, 32 per enter", K_FIXED, 32, MF_BLOCK},
    {"io_uring READ_FIXED 4 KiB, 64 per enter", K_FIXED, 64, MF_BLOCK},
    {"pread 512 B, 1 per call", K_PREAD, 1, 512},
    {"io_uring READ 512 B, 64 per enter", K_URING, 64, 512},
    {"mmap afresh, touch 1 byte per block", K_MMAP, 0, 1},
    {"  the same blocks again (pages mapped)", K_MMAP2, 0, 1},
    {"  mmap + munmap of every file, per block", K_MAPUNMAP, 0, 0},
    {"mmap afresh + MADV_RANDOM, touch 1 byte", K_MMAPRND, 0, 1},
    {"hash probe, name -> location (no I/O)", K_HASH, 0, 0},
    {"store: dmp_store_get_with, random name", K_STORE, 0, 0},
};
enum { A_N = sizeof arms / sizeof arms[0] };

typedef struct {
    mf_files_t fs;
    struct io_uring ring;
    bool ring_ok, fixed_ok;
    char *buf; /* MF_QD blocks, touched before use */
    void *map[MF_MAX_FILES];
    char **names;
    size_t nnames;
    mf_hash_t hash;
    char *qbuf; /* a round's query names, back to back (as names arrive in packets) */
    uint32_t *qoff;
    dmp_store_t *store;
    dmp_store_reader_t *rd;
    int64_t now_ms;
    const char *dir;
    long rss_map_kb, rssfile_map_kb;
    volatile unsigned sink;
    size_t bad;
} mf_ctx_t;

static int visit_count(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static void arm_pread(mf_ctx_t *c, const mf_block_t *b, size_t n, unsigned bytes)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) {
        if (pread(c->fs.fd[b[i].file], c->buf, bytes, (off_t)b[i].off) != (ssize_t)bytes)
            c->bad++;
        s += (unsigned char)c->buf[17];
    }
    c->sink += s;
}

static void arm_uring(mf_ctx_t *c, const mf_block_t *b, size_t n, unsigned batch, bool fixed,
                      unsigned bytes)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i += batch) {
        unsigned k = n - i < batch ? (unsigned)(n - i) : batch;
        for (unsigned j = 0; j < k; j++) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
            const mf_block_t *x = &b[i + j];
            if (fixed) {
                io_uring_prep_read_fixed(sqe, (int)x->file, c->buf + (size_t)j * MF_BLOCK, bytes,
                                         x->off, (int)j);
                io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
            } else {
                io_uring_prep_read(sqe, c->fs.fd[x->file], c->buf + (size_t)j * MF_BLOCK, bytes,
                                   x->off);
            }
        }
        if (io_uring_submit_and_wait(&c->ring, k) < 0) {
            c->bad += k;
            continue;
        }
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&c->ring, head, cqe)
        {
            if (cqe->res != (int)bytes)
                c->bad++;
            seen++;
        }
        io_uring_cq_advance(&c->ring, seen);
        if (seen != k)
            c->bad += k > seen ? k - seen : seen - k;
        s += (unsigned char)c->buf[17];
    }
    c->sink += s;
}

static int map_all(mf_ctx_t *c, int advice)
{
    for (size_t f = 0; f < c->fs.n; f++) {
        c->map[f] = NULL;
        if (c->fs.size[f] == 0)
            continue;
        void *m = mmap(NULL, c->fs.size[f], PROT_READ, MAP_SHARED, c->fs.fd[f], 0);
        if (m == MAP_FAILED)
            return -1;
        if (advice != MADV_NORMAL)
            madvise(m, c->fs.size[f], advice);
        c->map[f] = m;
    }
    return 0;
}

static void unmap_all(mf_ctx_t *c)
{
    for (size_t f = 0; f < c->fs.n; f++) {
        if (c->map[f] != NULL)
            munmap(c->map[f], c->fs.size[f]);
        c->map[f] = NULL;
    }
}

static void arm_mmap(mf_ctx_t *c, const mf_block_t *b, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += *(volatile const unsigned char *)((const char *)c->map[b[i].file] + b[i].off + 17);
    c->sink += s;
}

/* The round's query names, back to back: random names of the --names file (else synthetic). */
static int fill_queries(mf_ctx_t *c, size_t n, uint64_t seed)
{
    size_t len = 0, cap = n * 48 + 256;
    char *q = realloc(c->qbuf, cap);
    uint32_t *o = realloc(c->qoff, (n + 1) * sizeof *o);
    if (q == NULL || o == NULL) {
        c->qbuf = q ? q : c->qbuf;
        c->qoff = o ? o : c->qoff;
        return -1;
    }
    c->qbuf = q;
    c->qoff = o;
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)(mf_rand(&st) % c->nnames);
        char nm[64];
        const char *x = nm;
        size_t l;
        if (c->names != NULL) {
            x = c->names[k];
            l = strlen(x);
        } else {
            l = (size_t)snprintf(nm, sizeof nm, "n%zu.mesh.test", k);
        }
        if (len + l + 1 > cap) {
            char *nq = realloc(c->qbuf, cap = cap * 2 + l + 1);
            if (nq == NULL)
                return -1;
            c->qbuf = nq;
        }
        o[i] = (uint32_t)len;
        memcpy(c->qbuf + len, x, l + 1);
        len += l + 1;
    }
    c->qoff[n] = (uint32_t)len;
    return 0;
}

static void arm_hash(mf_ctx_t *c, size_t n)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) {
        const char *x = c->qbuf + c->qoff[i];
        uint32_t loc = 0;
        if (!mf_hash_get(&c->hash, mf_name_hash(x, c->qoff[i + 1] - c->qoff[i] - 1), &loc))
            c->bad++;
        s += loc;
    }
    c->sink += s;
}

static void arm_store(mf_ctx_t *c, size_t n)
{
    size_t found = 0, misses = 0;
    for (size_t i = 0; i < n; i++) {
        const char *x = c->qbuf + c->qoff[i];
        size_t before = found;
        dmp_store_get_with(c->store, c->rd, x, c->qoff[i + 1] - c->qoff[i] - 1, c->now_ms,
                           visit_count, &found);
        misses += found == before;
    }
    if (misses * 100 > n) /* names.txt and the store should agree on (nearly) every name */
        c->bad += misses;
}

static int build_hash(mf_ctx_t *c)
{
    if (mf_hash_init(&c->hash, c->nnames) != 0)
        return -1;
    char nm[64];
    for (size_t i = 0; i < c->nnames; i++) {
        uint64_t h;
        if (c->names != NULL) {
            h = mf_name_hash(c->names[i], strlen(c->names[i]));
        } else {
            int l = snprintf(nm, sizeof nm, "n%zu.mesh.test", i);
            h = mf_name_hash(nm, (size_t)l);
        }
        if (mf_hash_put(&c->hash, h, (uint32_t)i) != 0)
            return -1;
    }
    return 0;
}

typedef struct {
    double cpu[50], pcpu[50], wall[50], flt[50];
    size_t bad; /* short or failed reads, names not found */
} mf_res_t;

static void print_res(const char *label, mf_res_t *r, int rounds)
{
    double flt[50];
    memcpy(flt, r->flt, sizeof flt);
    mf_stats_t c = mf_stats(r->cpu, (size_t)rounds), p = mf_stats(r->pcpu, (size_t)rounds),
               w = mf_stats(r->wall, (size_t)rounds), f = mf_stats(flt, (size_t)rounds);
    printf("  %-43s %7.3f us CPU (%.3f-%.3f)  proc %7.3f  wall %7.3f  faults %.3f\n", label,
           c.median, c.min, c.max, p.median, w.median, f.median);
}

static int setup(mf_ctx_t *c, const char *store, const char *names_file, long hash_names,
                 long cache_mb)
{
    if (names_file != NULL) {
        c->names = dmpb_read_names(names_file, &c->nnames);
        if (c->names == NULL) {
            fprintf(stderr, "missfloor: no names in %s\n", names_file);
            return -1;
        }
        dmp_store_opts_t o = {.path = store, .block_cache_bytes = (size_t)cache_mb << 20};
        char err[512];
        if (dmp_store_open(&o, &c->store, err, sizeof err) != 0 ||
            dmp_store_reader_new(c->store, &c->rd) != 0) {
            fprintf(stderr, "missfloor: open %s: %s\n", store, err);
            return -1;
        }
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        c->now_ms = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    } else {
        c->nnames = (size_t)hash_names;
    }
    c->dir = store;
    if (mf_open_tables(store, &c->fs) != 0) {
        fprintf(stderr, "missfloor: no table files in %s\n", store);
        return -1;
    }
    if (build_hash(c) != 0) {
        fprintf(stderr, "missfloor: hash table: out of memory\n");
        return -1;
    }
    c->buf = aligned_alloc(MF_BLOCK, (size_t)MF_QD * MF_BLOCK);
    c->ring_ok = c->buf != NULL && io_uring_queue_init(MF_QD, &c->ring, 0) == 0;
    if (!c->ring_ok) {
        fprintf(stderr, "missfloor: io_uring_queue_init failed\n");
        return -1;
    }
    memset(c->buf, 0, (size_t)MF_QD * MF_BLOCK);
    struct iovec iov[MF_QD];
    for (int i = 0; i < MF_QD; i++)
        iov[i] = (struct iovec){c->buf + (size_t)i * MF_BLOCK, MF_BLOCK};
    c->fixed_ok = io_uring_register_buffers(&c->ring, iov, MF_QD) == 0 &&
                  io_uring_register_files(&c->ring, c->fs.fd, (unsigned)c->fs.n) == 0;
    return 0;
}

static void teardown(mf_ctx_t *c)
{
    if (c->ring_ok)
        io_uring_queue_exit(&c->ring);
    free(c->buf);
    mf_hash_free(&c->hash);
    dmp_store_reader_free(c->rd);
    dmp_store_close(c->store);
    dmpb_free_names(c->names, c->nnames);
    free(c->qbuf);
    free(c->qoff);
    for (size_t f = 0; f < c->fs.n; f++)
        close(c->fs.fd[f]);
}

static void cache_line(mf_ctx_t *c, const char *when)
{
    dmp_store_read_setup_t rs;
    dmp_store_read_setup(c->store, &rs);
    printf("store block cache %s: %s, %.0f of %.0f MiB used\n", when, rs.cache_kind,
           (double)rs.cache_usage / 1048576.0, (double)rs.cache_bytes / 1048576.0);
}

/* Gets of random names before the rounds, so that the store arm measures a node past the fill
 * of its block cache (fresh block buffers fault; the eighth pass in docs/store.md). */
static int store_warm(mf_ctx_t *c, size_t n, uint64_t seed)
{
    if (c->store == NULL || n == 0)
        return 0;
    if (fill_queries(c, n, seed) != 0)
        return -1;
    long f0 = thread_minflt();
    int64_t c0 = clk_ns(CLOCK_THREAD_CPUTIME_ID);
    arm_store(c, n);
    printf("store warm-up: %zu gets of random names, %.2f us thread CPU and %.3f minor faults per "
           "get\n",
           n, (double)(clk_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3 / (double)n,
           (double)(thread_minflt() - f0) / (double)n);
    cache_line(c, "after the warm-up");
    return 0;
}

/* One arm over blocks b (the hash and store arms over the round's queries) into res[a], round r. */
static void measure(mf_ctx_t *c, int a, const mf_block_t *b, size_t blocks, int r, mf_res_t *res)
{
    mf_kind_t k = arms[a].kind;
    size_t bad0 = c->bad;
    long f0 = thread_minflt();
    int64_t w0 = clk_ns(CLOCK_MONOTONIC), c0 = clk_ns(CLOCK_THREAD_CPUTIME_ID),
            p0 = clk_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (k == K_PREAD)
        arm_pread(c, b, blocks, arms[a].bytes);
    else if (k == K_URING || k == K_FIXED)
        arm_uring(c, b, blocks, arms[a].batch, k == K_FIXED, arms[a].bytes);
    else if (k == K_MMAP || k == K_MMAP2 || k == K_MMAPRND)
        arm_mmap(c, b, blocks);
    else if (k == K_HASH)
        arm_hash(c, blocks);
    else
        arm_store(c, blocks);
    double nb = (double)blocks;
    res[a].cpu[r] = (double)(clk_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e3 / nb;
    res[a].pcpu[r] = (double)(clk_ns(CLOCK_PROCESS_CPUTIME_ID) - p0) / 1e3 / nb;
    res[a].wall[r] = (double)(clk_ns(CLOCK_MONOTONIC) - w0) / 1e3 / nb;
    res[a].flt[r] = (double)(thread_minflt() - f0) / nb;
    res[a].bad += c->bad - bad0;
}

static int arm_index(mf_kind_t k)
{
    for (int a = 0; a < A_N; a++)
        if (arms[a].kind == k)
            return a;
    return 0;
}

/* The mmap arms of round r, in the process --mmap-child starts: map every file, touch the
 * blocks, touch them again, unmap; map with MADV_RANDOM, touch, unmap. One line per arm on
 * stdout: "MF <arm> <cpu> <pcpu> <wall> <faults> <bad>" (µs and faults per block), then
 * "MFRSS <VmRSS kB> <RssFile kB>" with every file mapped and touched. */
static int mmap_rounds(mf_ctx_t *c, const mf_block_t *b, size_t blocks, int r)
{
    static mf_res_t res[A_N];
    int64_t mapcost = 0;
    long kb = 0, fkb = 0;
    for (int pass = 0; pass < 2; pass++) {
        int64_t m0 = clk_ns(CLOCK_THREAD_CPUTIME_ID);
        if (map_all(c, pass ? MADV_RANDOM : MADV_NORMAL) != 0)
            return -1;
        mapcost += pass ? 0 : clk_ns(CLOCK_THREAD_CPUTIME_ID) - m0;
        measure(c, arm_index(pass ? K_MMAPRND : K_MMAP), b, blocks, r, res);
        if (pass == 0) {
            kb = status_kb("VmRSS:");
            fkb = status_kb("RssFile:");
            measure(c, arm_index(K_MMAP2), b, blocks, r, res);
        }
        int64_t u0 = clk_ns(CLOCK_THREAD_CPUTIME_ID);
        unmap_all(c);
        mapcost += pass ? 0 : clk_ns(CLOCK_THREAD_CPUTIME_ID) - u0;
    }
    mf_res_t *m = &res[arm_index(K_MAPUNMAP)];
    m->cpu[r] = m->pcpu[r] = m->wall[r] = (double)mapcost / 1e3 / (double)blocks;
    const mf_kind_t ks[4] = {K_MMAP, K_MMAP2, K_MAPUNMAP, K_MMAPRND};
    for (int i = 0; i < 4; i++) {
        const mf_res_t *x = &res[arm_index(ks[i])];
        printf("MF %d %.6f %.6f %.6f %.6f %zu\n", arm_index(ks[i]), x->cpu[r], x->pcpu[r],
               x->wall[r], x->flt[r], x->bad);
    }
    printf("MFRSS %ld %ld\n", kb, fkb);
    return 0;
}

/* Runs round r's mmap arms in a process of their own (this program, --mmap-child): unmapping
 * the mapped files makes this paravirtualised guest charge the process's next touches of its
 * other memory (the hash, the store's block cache) several times their cost, so in-process they
 * would inflate the arms after them. popen spawns without copying this address space. */
static int mmap_child(mf_ctx_t *c, size_t blocks, uint64_t seed, int r, mf_res_t *res)
{
    char cmd[4608];
    snprintf(cmd, sizeof cmd,
             "/proc/%d/exe missfloor --store '%s' --blocks %zu --seed %llu "
             "--mmap-child %d",
             (int)getpid(), c->dir, blocks, (unsigned long long)seed, r);
    FILE *f = popen(cmd, "r");
    char line[256];
    int got = 0;
    while (f && fgets(line, sizeof line, f)) {
        int a;
        double cpu, pcpu, wall, flt;
        size_t bad;
        long kb, fkb;
        if (sscanf(line, "MF %d %lf %lf %lf %lf %zu", &a, &cpu, &pcpu, &wall, &flt, &bad) == 6 &&
            a >= 0 && a < A_N) {
            res[a].cpu[r] = cpu;
            res[a].pcpu[r] = pcpu;
            res[a].wall[r] = wall;
            res[a].flt[r] = flt;
            res[a].bad += bad;
            got++;
        } else if (sscanf(line, "MFRSS %ld %ld", &kb, &fkb) == 2) {
            c->rss_map_kb = kb > c->rss_map_kb ? kb : c->rss_map_kb;
            c->rssfile_map_kb = fkb > c->rssfile_map_kb ? fkb : c->rssfile_map_kb;
        }
    }
    if (f == NULL || pclose(f) != 0 || got != 4) {
        fprintf(stderr, "missfloor: the mmap arms' process failed (round %d)\n", r);
        return -1;
    }
    return 0;
}

static int run(mf_ctx_t *c, size_t blocks, int rounds, long max_s, uint64_t seed, size_t warm_n)
{
    uint64_t total_bytes = 0, res0, pages;
    for (size_t f = 0; f < c->fs.n; f++)
        total_bytes += c->fs.size[f];
    struct utsname u;
    uname(&u);
    printf("missfloor: %zu table files, %.1f MiB, %zu blocks of 4 KiB per arm and round, %d "
           "rounds (arms interleaved), seed %llu, kernel %s\n",
           c->fs.n, (double)total_bytes / 1048576.0, blocks, rounds, (unsigned long long)seed,
           u.release);
    mf_resident(&c->fs, &res0, &pages);
    double ws = mf_warm(&c->fs, c->buf, (size_t)MF_QD * MF_BLOCK);
    uint64_t res1, res2;
    mf_resident(&c->fs, &res1, &pages);
    printf("page cache: %.1f %% of the files' pages resident before one sequential read of "
           "every file (%.2f s), %.1f %% after (mincore of every page)\n",
           100.0 * (double)res0 / (double)(pages ? pages : 1), ws,
           100.0 * (double)res1 / (double)(pages ? pages : 1));
    printf("hash: %zu names (%s), %.1f MiB of slots (12 bytes each, load %.2f)\n", c->nnames,
           c->names ? "the --names file" : "synthetic", (double)(c->hash.mask + 1) * 12 / 1048576.0,
           (double)c->hash.used / (double)(c->hash.mask + 1));
    if (store_warm(c, warm_n, ~seed) != 0)
        return 1;
    if (!c->fixed_ok)
        printf("READ_FIXED arms skipped: registering buffers or files failed\n");
    mf_block_t *b = malloc(blocks * sizeof *b);
    static mf_res_t res[A_N];
    if (b == NULL)
        return 1;
    long rss0 = status_kb("VmRSS:");
    int64_t start = clk_ns(CLOCK_MONOTONIC);
    int done = 0;
    for (int r = 0; r < rounds; r++) {
        mf_pick_blocks(c->fs.size, c->fs.n, seed + (uint64_t)r, b, blocks);
        if (fill_queries(c, blocks, seed + (uint64_t)r) != 0) {
            free(b);
            return 1;
        }
        for (int a = 0; a < A_N; a++) {
            mf_kind_t k = arms[a].kind;
            if (k == K_MMAP) {
                if (mmap_child(c, blocks, seed, r, res) != 0) {
                    free(b);
                    return 1;
                }
            } else if (!(k == K_MAPUNMAP || k == K_MMAP2 || k == K_MMAPRND ||
                         (k == K_STORE && c->store == NULL) || (k == K_FIXED && !c->fixed_ok))) {
                measure(c, a, b, blocks, r, res);
            }
        }
        done = r + 1;
        if ((clk_ns(CLOCK_MONOTONIC) - start) / 1000000000 >= max_s && done < rounds) {
            printf("stopped after round %d: --max-seconds %ld passed\n", done, max_s);
            break;
        }
    }
    free(b);
    mf_resident(&c->fs, &res2, &pages);
    printf("per block, median of %d rounds (thread CPU, its min-max; process CPU; wall; thread "
           "minor faults per block):\n",
           done);
    for (int a = 0; a < A_N; a++) {
        if ((arms[a].kind == K_STORE && c->store == NULL) ||
            (arms[a].kind == K_FIXED && !c->fixed_ok))
            continue;
        if (arms[a].kind == K_STORE) { /* the block cache fills over the first rounds */
            printf("  (store arm, thread CPU by round:");
            for (int r = 0; r < done; r++)
                printf(" %.2f", res[a].cpu[r]);
            printf(")\n");
        }
        print_res(arms[a].name, &res[a], done);
        if (res[a].bad)
            printf("    FAILED: %zu short or failed reads or names not found\n", res[a].bad);
    }
    printf("RSS: %ld MiB (this process, before the arms); the mmap arms' process with every file "
           "mapped and touched at %zu random blocks: VmRSS %ld MiB, of which RssFile %ld MiB (max "
           "over rounds; a daemon keeping the maps keeps every page it touched in its RSS)\n",
           rss0 / 1024, blocks, c->rss_map_kb / 1024, c->rssfile_map_kb / 1024);
    if (c->store != NULL)
        cache_line(c, "at the end");
    printf("page cache at the end: %.1f %% resident; reads short or failed: %zu\n",
           100.0 * (double)res2 / (double)(pages ? pages : 1), c->bad);
    return c->bad ? 1 : 0;
}

static void missfloor_usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh-bench missfloor --store DIR [--names FILE] [--blocks N]\n"
               "         [--rounds R] [--max-seconds S] [--seed X] [--store-warm N]\n"
               "         [--cache-mb M] [--hash-names N]\n"
               "  Per-block cost of fetching 4 KiB from the page cache: pread, io_uring\n"
               "  batches (plain and registered), mmap; a name-hash probe; the store's get.\n"
               "  --store DIR     a store's directory; its *.sst files are opened read-only\n"
               "  --names FILE    its names, one per line: adds the store arm\n"
               "                  (dmp_store_get_with; opens the store read-write, so no\n"
               "                  node may have it open) and hashes these names\n"
               "  --blocks N      blocks per arm and round (default 20000, 100..10^6)\n"
               "  --rounds R      rounds, every arm once each (default 7, 5..50)\n"
               "  --max-seconds S stop after the round that passes S (default 300, 1..3600)\n"
               "  --seed X        the blocks' seed (round r uses X + r; default 38)\n"
               "  --cache-mb M    the store's block cache (default 192, the node's default)\n"
               "  --store-warm N  gets before the rounds, to fill the block cache (default\n"
               "                  100000, at most 10^7)\n"
               "  --hash-names N  synthetic names in the hash without --names (default "
               "10^6)\n");
}

static int missfloor_main(int argc, char **argv)
{
    int64_t blocks = 20000, rounds = 7, max_s = 300, hash_names = 1000000, warm_n = 100000,
            cache_mb = 192, seed = 38, child_round = -1;
    const char *store = NULL, *names = NULL;
    dmpb_opt_t tab[] = {
        DMPB_STR("--store", &store),
        DMPB_STR("--names", &names),
        DMPB_I64("--blocks", &blocks, 100, 1000000),
        DMPB_I64("--rounds", &rounds, 5, 50),
        DMPB_I64("--max-seconds", &max_s, 1, 3600),
        DMPB_I64("--seed", &seed, 0, INT64_MAX),
        DMPB_I64("--cache-mb", &cache_mb, 1, 65536),
        DMPB_I64("--store-warm", &warm_n, 0, 10000000),
        DMPB_I64("--hash-names", &hash_names, 1, 100000000),
        DMPB_I64("--mmap-child", &child_round, 0, 49), /* internal: see mmap_child */
    };
    if (dmpb_opts_parse(argv[0], tab, sizeof tab / sizeof tab[0], argc, argv, missfloor_usage) != 0)
        return 2;
    if (store == NULL) {
        fprintf(stderr, "missfloor: --store DIR is required\n");
        missfloor_usage(stderr);
        return 2;
    }
    if (strchr(store, '\'') != NULL) { /* the mmap rounds' child gets it in a shell command */
        fprintf(stderr, "missfloor: --store: a path without a single quote, please\n");
        return 2;
    }
    static mf_ctx_t c;
    if (child_round >= 0) {
        mf_block_t *b = malloc((size_t)blocks * sizeof *b);
        int rc = b != NULL && mf_open_tables(store, &c.fs) == 0 ? 0 : 1;
        if (rc == 0) {
            mf_pick_blocks(c.fs.size, c.fs.n, seed + (uint64_t)child_round, b, (size_t)blocks);
            rc = mmap_rounds(&c, b, (size_t)blocks, (int)child_round) == 0 ? 0 : 1;
        }
        free(b);
        for (size_t f = 0; f < c.fs.n; f++)
            close(c.fs.fd[f]);
        return rc;
    }
    int rc = setup(&c, store, names, hash_names, cache_mb) == 0
                 ? run(&c, (size_t)blocks, (int)rounds, max_s, seed, (size_t)warm_n)
                 : 1;
    teardown(&c);
    return rc;
}

static const dmp_bench_cmd_t cmd = {
    "missfloor", "per-block floor of a miss's read (pread, io_uring, mmap)", missfloor_main};
DMP_BENCH_REGISTER(cmd);
