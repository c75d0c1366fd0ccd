/* dnsmesh-bench missfloor: the pure parts (bench_missfloor_pick.c), unit-tested by
 * tests/unit/test_bench_missfloor.c: the blocks every arm reads, the per-round statistics and the
 * name -> location hash whose probe the write-up's estimate needs. */
#ifndef DMP_BENCH_MISSFLOOR_H
#define DMP_BENCH_MISSFLOOR_H

#include <stddef.h>
#include <stdint.h>

#define MF_BLOCK 4096u

typedef struct {
    uint32_t file; /* index into the sizes the blocks were picked from */
    uint64_t off;  /* MF_BLOCK-aligned; off + MF_BLOCK <= that file's size */
} mf_block_t;

/* splitmix64: the benchmark's one generator (same seed, same blocks, every arm). */
uint64_t mf_rand(uint64_t *state);

/* Fills out[0..n) with blocks drawn uniformly over every whole MF_BLOCK block of the files
 * (a file holding twice the blocks is read twice as often), from seed. Files shorter than one
 * block hold none. Returns the number of whole blocks, 0 when there are none (out untouched). */
uint64_t mf_pick_blocks(const uint64_t *sizes, size_t nfiles, uint64_t seed, mf_block_t *out,
                        size_t n);

typedef struct {
    double median, min, max;
} mf_stats_t;

/* Median (of the middle two for even n), min and max of v[0..n); sorts v. n 0: all zero. */
mf_stats_t mf_stats(double *v, size_t n);

/* An open-addressed table of name -> 32-bit location, 12 bytes a slot (a 64-bit hash of the name,
 * the location), the structure the issue weighs: slots a power of two at least 4/3 of the names
 * (load <= 0.75), linear probing, hash 0 marks an empty slot. */
typedef struct {
    uint8_t *slots; /* nslots * 12 bytes */
    uint64_t mask;
    size_t used;
} mf_hash_t;

uint64_t mf_name_hash(const char *name, size_t len); /* never 0 */
int mf_hash_init(mf_hash_t *h, size_t names);        /* 0, or -1 when out of memory */
void mf_hash_free(mf_hash_t *h);
/* 0 inserted or replaced, -1 full (more names than the init said). */
int mf_hash_put(mf_hash_t *h, uint64_t hash, uint32_t loc);
/* 1 with *loc when present, 0 when absent. */
int mf_hash_get(const mf_hash_t *h, uint64_t hash, uint32_t *loc);

/* ---- bench_missfloor_files.c: the table files an arm reads ---- */
#define MF_MAX_FILES 4096
typedef struct {
    size_t n;
    int fd[MF_MAX_FILES];
    uint64_t size[MF_MAX_FILES];
} mf_files_t;

/* Opens every *.sst of dir read-only, in name order, into fs. 0, or -1 when none opened. */
int mf_open_tables(const char *dir, mf_files_t *fs);
/* Pages of the files resident in the page cache (mincore over a fresh mapping of each). */
void mf_resident(const mf_files_t *fs, uint64_t *res, uint64_t *pages);
/* Reads every file once from start to end through buf[0..len); returns the seconds taken. */
double mf_warm(const mf_files_t *fs, char *buf, size_t len);

#endif
