/* index: types of the name index (index.h). */
#ifndef DMP_INDEX_TYPES_H
#define DMP_INDEX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The name index: an in-memory hash of owner name -> where that name's answer (its TXT RRs, as
 * the DNS path would build them from the store) sits in a file beside the store. */
typedef struct dmp_index dmp_index_t;

/* One name's answer read from the index. rrs points into the caller's buffer. */
typedef struct {
    const uint8_t *rrs;
    size_t rrs_len;
    uint16_t count;     /* RRs in rrs (>= 1) */
    int64_t expires_ms; /* the first of its values to expire */
} dmp_index_answer_t;

typedef enum {
    DMP_INDEX_BUILDING = 0, /* the walk over the store runs: names not reached fall back */
    DMP_INDEX_READY,        /* every name present at the walk's start is in it */
    DMP_INDEX_INCOMPLETE,   /* the walk stopped (node stopping, disk space, an error) */
} dmp_index_state_t;

/* Counters of the current generation unless said (relaxed reads). Reads are counted by their
 * callers (no shared counter on the read path). */
typedef struct {
    dmp_index_state_t state;
    uint64_t names;         /* names written to the file */
    uint64_t bytes;         /* bytes of the file */
    uint64_t skipped;       /* names the walk left out (a larger answer than one entry holds,
                               a slot taken by a write or a colliding name, a full table) */
    uint64_t slots;         /* the table's size */
    uint64_t used;          /* slots holding a name (built or invalidated) */
    uint64_t lost;          /* names whose entry writes took out of the file */
    uint64_t invalidations; /* writes that marked or published a name (every generation) */
    uint64_t rebuilds;      /* generations that replaced the first */
    uint64_t put_names;     /* new names whose answer a write appended (dmp_index_put; every
                               generation) */
    uint64_t appended;      /* bytes the writes appended (or reserved) */
    double build_seconds;   /* the last walk's wall time (0 until it ends) */
} dmp_index_stats_t;

#endif
