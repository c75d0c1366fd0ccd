/* dnsmesh-bench sweep: how long a shard's write flush waits while the expiry sweep removes many
 * expired records (issue 11, "nothing slow on a query thread").
 *
 * A fresh store in a temporary directory gets N records that are already expired for the
 * sweep's clock (ttl 1 s, swept 60 s later by the store's injected clock: no waiting). Then,
 * all on one CPU as a node pinned to one core would be: W writer threads each flush a batch of
 * B new records (nice 0, NOSYNC, as a shard's write queue does) in a loop and time every
 * flush; an optional busy thread (nice 0) stands for the frontend answering queries; the sweep
 * thread runs dmp_store_sweep at nice 13, as dnsmeshd's sweep thread does. Reported: the flush
 * latencies while the sweep runs (p50/p99/p99.9/max), the same without a sweep just before, the
 * sweep's duration, and the store's record count checked against what must be left. Bounded:
 * at most 120 s and 10^6 flushes per phase. Local disk and memory only, no network. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "store/store.h"
#include "util/util.h"

#define MAX_FLUSHES 1000000u
#define MAX_SECONDS 120

typedef struct {
    dmp_store_t *s;
    int cpu;
    int64_t now0;
    unsigned batch;
    unsigned id;
    _Atomic bool *stop;
    _Atomic bool *go;
    uint64_t *lat; /* ns per flush */
    size_t n;
    uint64_t written;
    int rc;
} writer_t;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof set, &set);
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    pin(w->cpu);
    while (!atomic_load(w->go))
        sched_yield();
    char names[64][48];
    dmp_store_put_t p[64];
    unsigned b = w->batch > 64 ? 64 : w->batch;
    int64_t end = mono_ns() + (int64_t)MAX_SECONDS * 1000000000;
    while (!atomic_load(w->stop) && w->n < MAX_FLUSHES && mono_ns() < end) {
        for (unsigned i = 0; i < b; i++) {
            int nl = snprintf(names[i], sizeof names[i], "w%u-%llu.live.bench", w->id,
                              (unsigned long long)w->written + i);
            p[i] = (dmp_store_put_t){names[i], (size_t)nl,
                                     (const uint8_t *)"v=dmp1;t=chunk;d=aGk=", 21, 3600};
        }
        int64_t t0 = mono_ns();
        int rc = dmp_store_put_batch_ex(w->s, p, b, w->now0, DMP_STORE_NOSYNC);
        int64_t t1 = mono_ns();
        if (rc != 0) {
            w->rc = rc;
            break;
        }
        w->lat[w->n++] = (uint64_t)(t1 - t0);
        w->written += b;
    }
    return NULL;
}

typedef struct {
    int cpu;
    _Atomic bool *stop;
} hog_t;

static void *hog_main(void *arg)
{
    hog_t *h = arg;
    pin(h->cpu);
    volatile uint64_t x = 0;
    int64_t end = mono_ns() + (int64_t)MAX_SECONDS * 1000000000;
    while (!atomic_load(h->stop) && mono_ns() < end)
        for (int i = 0; i < 10000; i++)
            x += (uint64_t)i;
    return NULL;
}

typedef struct {
    dmp_store_t *s;
    int cpu;
    int nice;
    int64_t sweep_now;
    _Atomic bool *stop;
    _Atomic bool *go;
    size_t removed;
    int64_t ns;
    int rc;
} sweeper_t;

static void *sweeper_main(void *arg)
{
    sweeper_t *sw = arg;
    pin(sw->cpu);
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), sw->nice);
    while (!atomic_load(sw->go))
        sched_yield();
    usleep(20000); /* the writers are flushing by now */
    int64_t t0 = mono_ns();
    sw->rc = dmp_store_sweep(sw->s, sw->sweep_now, 0, &sw->removed);
    sw->ns = mono_ns() - t0;
    usleep(20000);
    atomic_store(sw->stop, true);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1));
    return (double)v[i] / 1000.0;
}

/* Runs the writers (and the hog) for one phase; with sw != NULL the sweeper too, and the phase
 * ends when it is done, else after `ms`. Prints one line. */
static int phase(const char *label, dmp_store_t *s, int cpu, unsigned nw, unsigned batch, bool hog,
                 sweeper_t *sw, int ms, int64_t now0, unsigned *idbase)
{
    _Atomic bool stop = false, go = false;
    writer_t w[8];
    pthread_t wt[8], ht, st;
    hog_t h = {cpu, &stop};
    for (unsigned i = 0; i < nw; i++) {
        w[i] = (writer_t){.s = s,
                          .cpu = cpu,
                          .now0 = now0,
                          .batch = batch,
                          .id = (*idbase)++,
                          .stop = &stop,
                          .go = &go};
        w[i].lat = malloc(sizeof(uint64_t) * MAX_FLUSHES);
        if (!w[i].lat)
            return 1;
        pthread_create(&wt[i], NULL, writer_main, &w[i]);
    }
    if (hog)
        pthread_create(&ht, NULL, hog_main, &h);
    if (sw) {
        sw->stop = &stop;
        sw->go = &go;
        pthread_create(&st, NULL, sweeper_main, sw);
    }
    atomic_store(&go, true);
    if (sw) {
        pthread_join(st, NULL);
    } else {
        usleep((useconds_t)ms * 1000);
        atomic_store(&stop, true);
    }
    for (unsigned i = 0; i < nw; i++)
        pthread_join(wt[i], NULL);
    if (hog)
        pthread_join(ht, NULL);
    size_t tot = 0;
    for (unsigned i = 0; i < nw; i++)
        tot += w[i].n;
    uint64_t *all = malloc(sizeof(uint64_t) * (tot ? tot : 1));
    size_t k = 0;
    int rc = 0;
    for (unsigned i = 0; i < nw; i++) {
        memcpy(all + k, w[i].lat, w[i].n * sizeof(uint64_t));
        k += w[i].n;
        if (w[i].rc)
            rc = w[i].rc;
        free(w[i].lat);
    }
    qsort(all, tot, sizeof(uint64_t), cmp_u64);
    printf("%s: flushes %zu  flush latency us: p50 %.1f p99 %.1f p99.9 %.1f max %.1f", label, tot,
           pct(all, tot, 0.5), pct(all, tot, 0.99), pct(all, tot, 0.999),
           tot ? (double)all[tot - 1] / 1000.0 : 0.0);
    if (sw)
        printf("  sweep: removed %zu in %.1f ms (rc %d)", sw->removed, (double)sw->ns / 1e6,
               sw->rc);
    printf("\n");
    free(all);
    return rc;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh-bench sweep [--records N] [--writers W] [--batch B] [--cpu C]\n"
               "                           [--no-hog] [--nice K] [--dir PATH]\n"
               "  --records N  expired records the sweep removes (default 100000)\n"
               "  --writers W  threads flushing write batches during the sweep, 1..8 (default 1)\n"
               "  --batch B    records per flush, 1..64 (default 16)\n"
               "  --cpu C      CPU every thread is pinned to (default 0; -1 = not pinned)\n"
               "  --no-hog     no busy thread standing for the frontend\n"
               "  --nice K     the sweep thread's nice value (default 13, as dnsmeshd)\n"
               "  --dir PATH   parent directory of the temporary store (default /tmp)\n");
    return f == stdout ? 0 : 2;
}

static void usage_f(FILE *f)
{
    (void)usage(f);
}

static int sweep_main(int argc, char **argv)
{
    int64_t records = 100000, writers = 1, batch = 16, cpu = 0, nice_v = 13;
    bool no_hog = false;
    const char *dir = "/tmp";
    const dmpb_opt_t tab[] = {
        DMPB_FLAG("--no-hog", &no_hog),
        DMPB_I64("--records", &records, 1, 10000000),
        DMPB_I64("--writers", &writers, 1, 8),
        DMPB_I64("--batch", &batch, 1, 64),
        DMPB_I64("--cpu", &cpu, 0, 1023),
        DMPB_I64("--nice", &nice_v, 0, 19),
        DMPB_STR("--dir", &dir),
    };
    if (dmpb_opts_parse("sweep", tab, sizeof tab / sizeof tab[0], argc, argv, usage_f) != 0)
        return 2;
    bool hog = !no_hog;
    char path[4096];
    snprintf(path, sizeof path, "%s/dmp-bench-sweep.XXXXXX", dir);
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        return 1;
    }
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    char err[256];
    if (dmp_store_open(&o, &s, err, sizeof err) != 0) {
        fprintf(stderr, "sweep: open: %s\n", err);
        return 1;
    }
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t now0 = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    /* the records to sweep: ttl 1 s at now0, swept at now0 + 60 s */
    int64_t t0 = mono_ns();
    char nb[1000][40];
    dmp_store_put_t p[1000];
    for (long done = 0; done < records;) {
        long n = records - done > 1000 ? 1000 : records - done;
        for (long i = 0; i < n; i++) {
            int nl = snprintf(nb[i], sizeof nb[i], "x%ld.expiring.bench", done + i);
            p[i] = (dmp_store_put_t){nb[i], (size_t)nl,
                                     (const uint8_t *)"v=dmp1;t=chunk;d=aGk=", 21, 1};
        }
        int rc = dmp_store_put_batch_ex(s, p, (size_t)n, now0, DMP_STORE_NOSYNC);
        if (rc != 0) {
            fprintf(stderr, "sweep: load: %s\n", dmp_store_strerror(rc));
            dmp_store_close(s);
            return 1;
        }
        done += n;
    }
    dmp_store_sync_wal(s);
    printf("sweep bench: %ld expired records loaded in %.1f s; %ld writer(s) x %ld records per "
           "flush, %s, sweep at nice %ld, all on CPU %ld\n",
           records, (double)(mono_ns() - t0) / 1e9, writers, batch,
           hog ? "one busy thread (the frontend)" : "no busy thread", nice_v, cpu);
    unsigned idbase = 0;
    int rc = phase("no sweep  ", s, (int)cpu, (unsigned)writers, (unsigned)batch, hog, NULL, 1000,
                   now0, &idbase);
    sweeper_t sw = {.s = s, .cpu = (int)cpu, .nice = (int)nice_v, .sweep_now = now0 + 60000};
    if (rc == 0)
        rc = phase("with sweep", s, (int)cpu, (unsigned)writers, (unsigned)batch, hog, &sw, 0, now0,
                   &idbase);
    uint64_t count = 0;
    dmp_store_record_count(s, &count);
    printf("record_count after: %llu (expired left: %s)\n", (unsigned long long)count,
           sw.removed == (size_t)records ? "none" : "SOME");
    dmp_store_close(s);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "sweep: could not remove %s\n", path);
    return rc != 0 || sw.rc != 0 || sw.removed != (size_t)records;
}

static const dmp_bench_cmd_t cmd = {"sweep", "write-flush latency while the expiry sweep runs",
                                    sweep_main};
DMP_BENCH_REGISTER(cmd);
