/* index: the generations, the table and the file's entry layout, shared by index.c (reads,
 * marks, generations), index_build.c (the walks) and index_put.c (writes: entries and marks). Not
 * part of the API. */
#ifndef DMP_INDEX_INT_H
#define DMP_INDEX_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "index/index.h"

/* A slot: the name's 64-bit hash (0 = free; a hash of 0 is stored as 1), then its location:
 * LOC_EMPTY (none yet), LOC_INVALID (written since its generation's walk began) or (file offset
 * << 24 | entry length). A slot's hash is set once (compare-and-swap from 0); its location moves
 * only from LOC_EMPTY to a location (the walk, or the put that inserted the slot) or from
 * anything to LOC_INVALID (a write). Slots are never freed within a generation, so a probe window
 * that is full stays full until the next generation. */
typedef struct {
    _Atomic uint64_t h;
    _Atomic uint64_t loc;
} dmp_index_slot_t;

#define DMP_INDEX_LOC_EMPTY 0u
#define DMP_INDEX_LOC_INVALID UINT64_MAX
#define DMP_INDEX_LEN_BITS 24
#define DMP_INDEX_MAX_ENTRY ((1u << DMP_INDEX_LEN_BITS) - 1u)
#define DMP_INDEX_MAX_PROBE 128 /* slots looked at from a hash's home slot */

/* An entry in the file: this header, the name, the RRs. */
typedef struct {
    int64_t expires_ms;
    uint32_t rrs_len;
    uint16_t count;
    uint8_t name_len;
    uint8_t version; /* DMP_INDEX_VERSION */
} dmp_index_entry_t;
#define DMP_INDEX_VERSION 1

/* Users of a generation in flight, striped by thread so that frontends on different cores do
 * not share one counter's cache line. */
#define DMP_INDEX_REF_STRIPES 16
typedef struct {
    _Alignas(64) _Atomic uint64_t n;
} dmp_index_ref_t;

/* One table and its file: the start's walk fills the first; a rebuild (dmp_index_rebuild) walks
 * the store into a new one and makes it current. A generation's struct lives until
 * dmp_index_free (a reader may touch its counters after it was replaced); its table and file are
 * released once no reader or writer holds it. */
typedef struct dmp_index_gen {
    /* what every read looks at, on a line of its own */
    dmp_index_slot_t *slots;
    uint64_t mask;
    int fd;
    _Atomic int state; /* dmp_index_state_t */
    /* counters the writes and the walk move */
    _Alignas(64) atomic_flag full_logged;
    _Atomic uint64_t names, bytes, skipped, used, invalidations, lost, build_ns;
    /* writes' entries (dmp_index_put), once the walk is READY: appended at end (atomic), up to
     * append_max bytes in all; no_append once the disk is below min_free */
    _Atomic uint64_t end, appended, put_names;
    uint64_t append_max, min_free;
    atomic_bool no_append;
    int64_t built_at_ns; /* monotonic time its walk ended */
    dmp_index_ref_t refs[DMP_INDEX_REF_STRIPES];
    struct dmp_index_gen *older; /* every generation, newest first (dmp_index_free) */
    bool released;               /* table and file freed */
} dmp_index_gen_t;

struct dmp_index {
    _Atomic(dmp_index_gen_t *) cur;  /* what reads and writes use */
    _Atomic(dmp_index_gen_t *) next; /* a rebuild's generation while it walks: writes mark it too */
    dmp_index_gen_t *gens;           /* newest first; the rebuilder's (one thread) */
    char *dir;
    uint32_t ttl;
    atomic_flag built; /* the first walk has run */
    _Atomic uint64_t rebuilds;
    _Atomic uint64_t old_invalidations, old_put_names; /* of replaced generations */
};

uint64_t dmp_index_hash(const char *lname, size_t len);
/* The slot of hash h in g, inserting it (when insert) in the first free slot of its window. NULL:
 * not there (or no room). */
dmp_index_slot_t *dmp_index_find(dmp_index_gen_t *g, uint64_t h, bool insert);
/* dmp_index_find(g, h, true) that tells whether this call inserted the slot. */
dmp_index_slot_t *dmp_index_find_ins(dmp_index_gen_t *g, uint64_t h, bool *inserted);
/* Marks hash h's slot in g LOC_INVALID (inserting it), counting a name that loses its entry. */
void dmp_index_mark(dmp_index_gen_t *g, uint64_t h);

/* For a write of the name hashed h: marks it in the generation a rebuild walks, if any, and
 * returns the current generation referenced (release with dmp_index_unref(g, *cs); NULL: none)
 * for the caller to mark or publish in. */
dmp_index_gen_t *dmp_index_writer_cur(dmp_index_t *x, uint64_t h, unsigned *cs);

/* A reference on the generation *which points at (cur or next), or NULL when it points at none;
 * *stripe is for dmp_index_unref. */
dmp_index_gen_t *dmp_index_ref(_Atomic(dmp_index_gen_t *) *which, unsigned *stripe);
void dmp_index_unref(dmp_index_gen_t *g, unsigned stripe);

/* A new generation sized for expected_names, with its file in dir. */
int dmp_index_gen_new(const char *dir, uint64_t expected_names, dmp_index_gen_t **out);
/* Waits until no one holds g (it is neither cur nor next any more), then frees its table and
 * closes its file. */
void dmp_index_gen_release(dmp_index_gen_t *g);

/* Bytes appended past which writes stop adding entries: the walk's size, at least 1 GiB. */
#define DMP_INDEX_APPEND_MIN (1ull << 30)
/* Writes' appends between two free-space checks. */
#define DMP_INDEX_SPACE_EVERY (64ull << 20)

#endif
