/* dnsmesh-bench writefloor, the store's parts (bench_writefloor.h):
 *
 *   rocks  a fresh RocksDB with the store's column families takes, per DMP write of a new
 *          record, the rows store_txn.c / store_serial.c write for one (key and value sizes of
 *          `dnsmesh-bench writes`' records: a 33-byte name, a 241-byte value): the record
 *          (66-byte key, 270-byte value), its expiry and by-stored index entries (74-byte keys),
 *          the reversed-name and bucket entries (66 and 68 bytes), a Merkle XOR operand (4 ->
 *          32), and per batch the record count, the serial and the journal entry (280 bytes a
 *          record). WAL on, no sync, RocksDB's perf counting off (as the shard). Batches of 1,
 *          4 and 16 records; "+reads" adds, per record, the shard's two reads before a write (a
 *          prefix seek over the name's rows and a point lookup of the row). The SHA-256 hashes,
 *          the staging sort and the HTTP parsing are not in it.
 *   fsync  a writer appends one 1 KiB record (about one write's WAL record) per write at --rate
 *          with write(); "each" adds an fdatasync after every write; "N ms" leaves the syncing
 *          to a second thread that syncs at most every N ms, as the node's wal-sync thread
 *          (which settles near 8 ms at 2,000 writes/s); "none" never syncs (the baseline). The
 *          file is new ("append": every sync also commits the new size), preallocated with
 *          fallocate(FALLOC_FL_KEEP_SIZE) as RocksDB prepares its WAL ("prealloc"), or written
 *          and synced before ("overwrite": a sync of data alone).
 *
 * CPU is the measured thread's CLOCK_THREAD_CPUTIME_ID. Every run is bounded (--writes, or
 * --duration at --rate) and removes what it created. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "bench_dns_util.h"
#include "bench_writefloor.h"

static uint64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *f)
{
    (void)sb;
    (void)type;
    (void)f;
    return remove(p);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- rocks ---- */

static char *xor_merge(void *st, const char *key, size_t klen, const char *ex, size_t exlen,
                       const char *const *ops, const size_t *oplens, int n, unsigned char *ok,
                       size_t *outlen)
{
    (void)st;
    (void)key;
    (void)klen;
    char *out = calloc(1, 32);
    *ok = out != NULL;
    *outlen = 32;
    if (out == NULL)
        return NULL;
    if (ex && exlen == 32)
        memcpy(out, ex, 32);
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < 32 && oplens[i] == 32; j++)
            out[j] ^= ops[i][j];
    return out;
}

static char *xor_partial(void *st, const char *key, size_t klen, const char *const *ops,
                         const size_t *oplens, int n, unsigned char *ok, size_t *outlen)
{
    return xor_merge(st, key, klen, NULL, 0, ops, oplens, n, ok, outlen);
}

static void xor_free(void *st, const char *v, size_t len)
{
    (void)st;
    (void)len;
    free((void *)v);
}

static void xor_destroy(void *st)
{
    (void)st;
}

static const char *xor_name(void *st)
{
    (void)st;
    return "writefloor.xor256";
}

enum { C_DEF, C_REC, C_EXP, C_BYS, C_META, C_MERKLE, C_RNAMES, C_BUCKETS, C_JOURNAL, C_N };
static const char *const cf_names[C_N] = {"default", "records", "expiry",  "bystored", "meta",
                                          "merkle",  "rnames",  "buckets", "journal"};

typedef struct {
    rocksdb_t *db;
    rocksdb_options_t *opt, *cfo[C_N];
    rocksdb_column_family_handle_t *cf[C_N];
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    char dir[512];
} rdb_t;

static void rdb_close(rdb_t *r)
{
    for (int i = 0; i < C_N; i++)
        if (r->cf[i])
            rocksdb_column_family_handle_destroy(r->cf[i]);
    if (r->db)
        rocksdb_close(r->db);
    for (int i = 0; i < C_N; i++)
        if (r->cfo[i])
            rocksdb_options_destroy(r->cfo[i]);
    if (r->opt)
        rocksdb_options_destroy(r->opt);
    if (r->wo)
        rocksdb_writeoptions_destroy(r->wo);
    if (r->ro)
        rocksdb_readoptions_destroy(r->ro);
    if (r->dir[0])
        rm_tree(r->dir);
}

static int rdb_open(rdb_t *r, const char *base)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/writefloor-rocks.XXXXXX", base);
    if (mkdtemp(r->dir) == NULL) {
        r->dir[0] = 0;
        perror("writefloor: mkdtemp");
        return -1;
    }
    r->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(r->opt, 1);
    rocksdb_options_set_create_missing_column_families(r->opt, 1);
    rocksdb_options_increase_parallelism(r->opt, 2);
    const rocksdb_options_t *cfo[C_N];
    for (int i = 0; i < C_N; i++) {
        r->cfo[i] = rocksdb_options_create_copy(r->opt);
        if (i == C_MERKLE) {
            rocksdb_options_set_merge_operator(
                r->cfo[i], rocksdb_mergeoperator_create(NULL, xor_destroy, xor_merge, xor_partial,
                                                        xor_free, xor_name));
            rocksdb_options_set_write_buffer_size(r->cfo[i], 1 << 20); /* as the store */
        }
        cfo[i] = r->cfo[i];
    }
    char *err = NULL;
    r->db = rocksdb_open_column_families(r->opt, r->dir, C_N, cf_names, cfo, r->cf, &err);
    if (err) {
        fprintf(stderr, "writefloor: rocksdb open: %s\n", err);
        rocksdb_free(err);
        r->db = NULL;
        return -1;
    }
    r->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wo, 0);
    r->ro = rocksdb_readoptions_create();
    return 0;
}

static void be64(uint8_t *o, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        o[i] = (uint8_t)v;
}

/* The writer's state: the open store, one batch, the PRNG of names and hashes, the counters. */
struct dmpb_wf_rdb {
    rdb_t r;
    rocksdb_writebatch_t *wb;
    uint64_t rng, count, serial;
    int64_t now_ms;
    uint8_t val[270], jr[64 * 280];
};

dmpb_wf_rdb_t *dmpb_wf_rdb_open(const char *base)
{
    dmpb_wf_rdb_t *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    if (rdb_open(&w->r, base) != 0 || (w->wb = rocksdb_writebatch_create()) == NULL) {
        dmpb_wf_rdb_close(w);
        return NULL;
    }
    w->rng = 0x9e3779b97f4a7c15ULL;
    w->now_ms = 1764800000000;
    for (size_t i = 0; i < sizeof w->val; i++)
        w->val[i] = (uint8_t)('A' + i % 26);
    memset(w->jr, 'j', sizeof w->jr);
    return w;
}

void dmpb_wf_rdb_close(dmpb_wf_rdb_t *w)
{
    if (w == NULL)
        return;
    if (w->wb)
        rocksdb_writebatch_destroy(w->wb);
    rdb_close(&w->r);
    free(w);
}

int dmpb_wf_rdb_sync(dmpb_wf_rdb_t *w)
{
    char *err = NULL;
    rocksdb_flush_wal(w->r.db, 1, &err); /* FlushWAL(sync): what the store's WAL sync does */
    if (err) {
        fprintf(stderr, "writefloor: rocksdb sync: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    return 0;
}

int dmpb_wf_rdb_write(dmpb_wf_rdb_t *w, int batch, bool reads)
{
    rdb_t *r = &w->r;
    rocksdb_writebatch_t *wb = w->wb;
    uint8_t rkey[66], ikey[74], dkey[66], bkey[68], ev[8], mk[4], md[32], cnt[8], ser[8];
    if (batch < 1 || batch > 64)
        return -1;
    rocksdb_set_perf_level(rocksdb_disable); /* per thread, as the shard */
    rocksdb_writebatch_clear(wb);
    size_t jl = 0;
    for (int b = 0; b < batch; b++) {
        char name[40];
        uint64_t x = dmpb_rand(&w->rng);
        int nl = snprintf(name, sizeof name, "chunk-%04u-%012llx.mesh.test", (unsigned)(x % 11),
                          (unsigned long long)(x >> 16));
        memcpy(rkey, name, (size_t)nl);
        rkey[nl] = 0;
        for (int k = 0; k < 32; k += 8) {
            uint64_t h = dmpb_rand(&w->rng);
            memcpy(rkey + nl + 1 + k, &h, 8);
        }
        size_t rkl = (size_t)nl + 33;
        if (reads) { /* the shard's probe (a prefix seek) and the row's lookup */
            rocksdb_iterator_t *it = rocksdb_create_iterator_cf(r->db, r->ro, r->cf[C_REC]);
            rocksdb_iter_seek(it, (const char *)rkey, (size_t)nl + 1);
            if (rocksdb_iter_valid(it)) {
                size_t kl;
                (void)rocksdb_iter_key(it, &kl);
            }
            rocksdb_iter_destroy(it);
            size_t vl;
            char *err = NULL;
            char *old =
                rocksdb_get_cf(r->db, r->ro, r->cf[C_REC], (const char *)rkey, rkl, &vl, &err);
            rocksdb_free(old);
            rocksdb_free(err);
        }
        be64(w->val + 5, (uint64_t)w->now_ms); /* a 29-byte header: ttl, stored, expires, seq */
        rocksdb_writebatch_put_cf(wb, r->cf[C_REC], (const char *)rkey, rkl, (const char *)w->val,
                                  sizeof w->val);
        be64(ikey, (uint64_t)w->now_ms + 300000);
        memcpy(ikey + 8, rkey, rkl);
        rocksdb_writebatch_put_cf(wb, r->cf[C_EXP], (const char *)ikey, rkl + 8, "", 0);
        be64(ev, (uint64_t)w->now_ms + 300000);
        be64(ikey, (uint64_t)w->now_ms);
        rocksdb_writebatch_put_cf(wb, r->cf[C_BYS], (const char *)ikey, rkl + 8, (const char *)ev,
                                  8);
        for (int k = 0; k < nl; k++) /* not the real reversal: same length, same spread */
            dkey[k] = (uint8_t)name[nl - 1 - k];
        memcpy(dkey + nl, rkey + nl, 33);
        rocksdb_writebatch_put_cf(wb, r->cf[C_RNAMES], (const char *)dkey, rkl, (const char *)ev,
                                  8);
        bkey[0] = rkey[nl + 1];
        bkey[1] = rkey[nl + 2];
        memcpy(bkey + 2, rkey, rkl);
        rocksdb_writebatch_put_cf(wb, r->cf[C_BUCKETS], (const char *)bkey, rkl + 2,
                                  (const char *)ev, 8);
        mk[0] = mk[1] = 0;
        mk[2] = rkey[nl + 1];
        mk[3] = rkey[nl + 2];
        memcpy(md, rkey + nl + 1, 32);
        rocksdb_writebatch_merge_cf(wb, r->cf[C_MERKLE], (const char *)mk, 4, (const char *)md, 32);
        jl += 280; /* the journal entry: op, name, value length, value */
        w->count++;
        w->now_ms++;
    }
    be64(cnt, w->count);
    rocksdb_writebatch_put_cf(wb, r->cf[C_META], "record_count", 12, (const char *)cnt, 8);
    be64(ser, ++w->serial);
    rocksdb_writebatch_put_cf(wb, r->cf[C_META], "soa_serial", 10, (const char *)ser, 8);
    rocksdb_writebatch_put_cf(wb, r->cf[C_JOURNAL], (const char *)ser, 8, (const char *)w->jr, jl);
    char *err = NULL;
    rocksdb_write(r->db, r->wo, wb, &err);
    if (err) {
        fprintf(stderr, "writefloor: rocksdb write: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    return 0;
}

/* n DMP writes of new records in batches of `batch`; us of the calling thread's CPU a write */
static int rocks_run(const char *base, int batch, bool reads, int64_t n, double *us)
{
    dmpb_wf_rdb_t *w = dmpb_wf_rdb_open(base);
    if (w == NULL)
        return -1;
    w->rng ^= (uint64_t)batch;
    int rc = 0;
    uint64_t t0 = thread_ns();
    for (int64_t done = 0; done < n && rc == 0; done += batch)
        rc = dmpb_wf_rdb_write(w, batch, reads);
    uint64_t t1 = thread_ns();
    dmpb_wf_rdb_close(w);
    *us = dmpb_wf_us_per(t1 - t0, (uint64_t)n);
    return rc;
}

int dmpb_wf_rocks(const dmpb_wf_store_opts_t *o)
{
    static const struct {
        int batch;
        bool reads;
    } cfg[] = {{1, false}, {4, false}, {16, false}, {1, true}, {16, true}};
    enum { NC = sizeof cfg / sizeof cfg[0] };
    double us[NC][9];
    if (dmpb_pin_cpu(o->cpu) != 0)
        return 1;
    printf("# writefloor rocks: %lld DMP writes of new records per run on a fresh store under "
           "%s, WAL on, no sync, pinned to CPU %d; us of thread CPU per write\n",
           (long long)o->writes, o->dir, o->cpu);
    int n = 0;
    for (int r = 0; r < o->rounds && !dmpb_stop; r++, n++)
        for (int i = 0; i < NC; i++) {
            int64_t w = o->writes - o->writes % cfg[i].batch;
            if (rocks_run(o->dir, cfg[i].batch, cfg[i].reads, w, &us[i][r]) != 0)
                return 1;
            printf("round %d  batch %2d%-7s %6.2f us/write\n", r + 1, cfg[i].batch,
                   cfg[i].reads ? " +reads" : "", us[i][r]);
            fflush(stdout);
        }
    printf("# medians over %d rounds\n", n);
    for (int i = 0; i < NC; i++)
        printf("median batch %2d%-7s %6.2f us/write\n", cfg[i].batch, cfg[i].reads ? " +reads" : "",
               dmpb_wf_median(us[i], (size_t)n));
    return 0;
}

/* ---- fsync ---- */

typedef struct {
    int fd;
    int64_t group_ns;
    atomic_uint_fast64_t written; /* records written by the writer */
    atomic_int stop;
    uint64_t syncs, cpu_ns;
} syncer_t;

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL);
}

static void *syncer(void *arg)
{
    syncer_t *s = arg;
    uint64_t t0 = thread_ns(), synced = 0;
    while (!atomic_load(&s->stop)) {
        sleep_ns(s->group_ns);
        uint64_t w = atomic_load(&s->written);
        if (w != synced) {
            fdatasync(s->fd);
            s->syncs++;
            synced = w;
        }
    }
    s->cpu_ns = thread_ns() - t0;
    return NULL;
}

enum { F_APPEND, F_PREALLOC, F_OVERWRITE };

/* mode: 0 none, -1 each, > 0 the group in ms; file: how the file takes the writes */
static int fsync_run(const dmpb_wf_store_opts_t *o, int mode, int file, double *wus, double *sus)
{
    char path[512];
    snprintf(path, sizeof path, "%s/writefloor-wal.XXXXXX", o->dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("writefloor: mkstemp");
        return -1;
    }
    static char rec[1024];
    memset(rec, 'w', sizeof rec);
    uint64_t n = (uint64_t)(o->rate * o->duration);
    if (file == F_PREALLOC) { /* as RocksDB prepares a WAL file: space kept, size not */
        if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)(n * sizeof rec)) != 0)
            perror("writefloor: fallocate");
    } else if (file == F_OVERWRITE) { /* written and synced before: a data-only sync */
        for (uint64_t i = 0; i < n; i++)
            if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec)
                break;
        fsync(fd);
        lseek(fd, 0, SEEK_SET);
    }
    syncer_t s = {.fd = fd, .group_ns = (int64_t)(mode > 0 ? mode : 1) * 1000000};
    pthread_t th;
    bool group = mode > 0;
    if (group && pthread_create(&th, NULL, syncer, &s) != 0) {
        close(fd);
        unlink(path);
        return -1;
    }
    int64_t step = (int64_t)(1e9 / o->rate);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t t0 = thread_ns();
    for (uint64_t i = 0; i < n && !dmpb_stop; i++) {
        next.tv_nsec += step;
        while (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec)
            break;
        if (mode < 0)
            fdatasync(fd);
        atomic_store(&s.written, i + 1);
    }
    uint64_t t1 = thread_ns();
    if (group) {
        atomic_store(&s.stop, 1);
        pthread_join(th, NULL);
    }
    close(fd);
    unlink(path);
    *wus = dmpb_wf_us_per(t1 - t0, n);
    *sus = dmpb_wf_us_per(s.cpu_ns, n);
    printf("  (%llu writes, %llu group syncs)", (unsigned long long)n, (unsigned long long)s.syncs);
    return 0;
}

int dmpb_wf_fsync(const dmpb_wf_store_opts_t *o)
{
    static const struct {
        int mode, file;
        const char *name;
    } cfg[] = {{0, F_APPEND, "none, append"},        {-1, F_APPEND, "each, append"},
               {1, F_APPEND, "1 ms, append"},        {8, F_APPEND, "8 ms, append"},
               {-1, F_PREALLOC, "each, prealloc"},   {8, F_PREALLOC, "8 ms, prealloc"},
               {-1, F_OVERWRITE, "each, overwrite"}, {8, F_OVERWRITE, "8 ms, overwrite"}};
    enum { NM = sizeof cfg / sizeof cfg[0] };
    double w[NM][9], sy[NM][9], tot[NM][9];
    if (dmpb_pin_cpu(o->cpu) != 0)
        return 1;
    printf("# writefloor fsync: a 1 KiB write() per write at %g/s for %g s per run under %s, "
           "writer and syncer on CPU %d; us of thread CPU per write. each = fdatasync after "
           "every write; N ms = a sync thread's fdatasync at most every N ms; append = a new "
           "file, prealloc = fallocate(KEEP_SIZE) first (RocksDB's WAL), overwrite = a file "
           "written and synced before\n",
           o->rate, o->duration, o->dir, o->cpu);
    int n = 0;
    for (int r = 0; r < o->rounds && !dmpb_stop; r++, n++)
        for (int i = 0; i < NM; i++) {
            printf("round %d  %-16s", r + 1, cfg[i].name);
            if (fsync_run(o, cfg[i].mode, cfg[i].file, &w[i][r], &sy[i][r]) != 0)
                return 1;
            tot[i][r] = w[i][r] + sy[i][r];
            printf("  writer %6.2f  syncer %6.2f  total %6.2f us/write\n", w[i][r], sy[i][r],
                   tot[i][r]);
            fflush(stdout);
        }
    printf("# medians over %d rounds\n", n);
    for (int i = 0; i < NM; i++)
        printf("median %-16s writer %6.2f  syncer %6.2f  total %6.2f us/write\n", cfg[i].name,
               dmpb_wf_median(w[i], (size_t)n), dmpb_wf_median(sy[i], (size_t)n),
               dmpb_wf_median(tot[i], (size_t)n));
    return 0;
}
