/* dnsmesh-bench writefloor: the pure logic (request framing, /proc parsing, medians) shared by
 * bench_writefloor.c (the HTTP parts), bench_writefloor_store.c (RocksDB, fdatasync) and the
 * unit test; and the entry points of the store parts. */
#ifndef DMP_BENCH_WRITEFLOOR_H
#define DMP_BENCH_WRITEFLOOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Length of the first complete HTTP/1.x request in buf[0..len) (request line, headers and a
 * Content-Length body): > 0 when complete, 0 when more bytes are needed, -1 when it is not a
 * request we serve (no "HTTP/1." request line, a chunked body, a bad or repeated
 * Content-Length) or would not fit in cap bytes. Never reads past len. */
ssize_t dmpb_wf_request_len(const char *buf, size_t len, size_t cap);

/* utime + stime (clock ticks) from the text of /proc/PID/task/TID/stat (the comm field may hold
 * spaces and parentheses). 0, or -1 when the line is not such a line. */
int dmpb_wf_stat_ticks(const char *line, size_t len, uint64_t *ticks);

/* The first field of /proc/.../schedstat: ns on the CPU. 0, or -1. */
int dmpb_wf_schedstat_ns(const char *line, size_t len, uint64_t *ns);

/* Median of v[0..n) (sorts v); 0 when n == 0. */
double dmpb_wf_median(double *v, size_t n);

/* Microseconds per item of ns nanoseconds over n items (0 when n == 0). */
static inline double dmpb_wf_us_per(uint64_t ns, uint64_t n)
{
    return n ? (double)ns / 1e3 / (double)n : 0;
}

/* ---- bench_writefloor_store.c, bench_writefloor_sys.c ---- */
typedef struct {
    const char *dir; /* where the fresh stores and sync files go */
    int cpu;         /* pin the measured threads here */
    double rate;     /* fsync part: writes per second */
    double duration; /* fsync part: seconds per run */
    int64_t writes;  /* rocks part: writes per run */
    int rounds;
} dmpb_wf_store_opts_t;

/* RocksDB: CPU per DMP write of a new record (~the store's rows), alone and in batches. */
int dmpb_wf_rocks(const dmpb_wf_store_opts_t *o);
/* The rocks part's writer, for the HTTP parts' "node" shapes: a fresh store under base; one
 * WriteBatch of `batch` (1..64) new records (with the shard's two reads each when reads); the
 * WAL synced (FlushWAL(sync), as the store's dmp_store_sync_wal). 0 or -1. */
typedef struct dmpb_wf_rdb dmpb_wf_rdb_t;
dmpb_wf_rdb_t *dmpb_wf_rdb_open(const char *base);
int dmpb_wf_rdb_write(dmpb_wf_rdb_t *w, int batch, bool reads);
int dmpb_wf_rdb_sync(dmpb_wf_rdb_t *w);
void dmpb_wf_rdb_close(dmpb_wf_rdb_t *w);
/* fdatasync per write against one per group (1 ms, 8 ms) by a sync thread. */
int dmpb_wf_fsync(const dmpb_wf_store_opts_t *o);
/* bench_writefloor_sys.c: the system calls and wake-ups an HTTP write is made of, one by one. */
int dmpb_wf_syscalls(const dmpb_wf_store_opts_t *o);

#endif
