/* dnsmesh-bench: synthetic records written straight into a store (the fast set-up path of the
 * cluster benchmarks), and a store copied the way a RocksDB checkpoint copies it. */
#ifndef DMP_BENCH_POPULATE_H
#define DMP_BENCH_POPULATE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Record i: name "rec-<i>.x4f1c2a9e7d3b.<zone>" (~30 bytes), a ~150-byte "v=spf1 ..." value
 * (plain text at an owner that is not DMP-reserved, so peers accept it). Returns the lengths. */
void dmp_bench_record(size_t i, const char *zone, char name[128], size_t *name_len, char value[256],
                      size_t *value_len);
/* Writes records [from, to) into s in unsynced batches of 8192, then syncs the WAL once.
 * progress: print a line to stderr every 100,000 records. */
int dmp_bench_populate(dmp_store_t *s, size_t from, size_t to, const char *zone, uint32_t ttl,
                       int64_t now_ms, int progress);
/* Copies a closed store directory: SST files (immutable) as hard links, everything else byte
 * for byte (the LOCK file and RocksDB's info logs are skipped), what a checkpoint does. */
int dmp_bench_store_clone(const char *src, const char *dst);
/* rm -rf of a directory this process created (only plain files and subdirectories). */
int dmp_bench_rmtree(const char *dir);

#endif
