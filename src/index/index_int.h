/* index: the table and the file's entry layout, shared by index.c (reads, invalidations),
 * index_build.c (the walk) and index_put.c (writes' entries). Not part of the API. */
#ifndef DMP_INDEX_INT_H
#define DMP_INDEX_INT_H

#include <stdatomic.h>
#include <stdint.h>

#include "index/index.h"

/* A slot: the name's 64-bit hash (0 = free; a hash of 0 is stored as 1), then its location:
 * LOC_EMPTY (none yet), LOC_INVALID (written since the start) or (file offset << 24 | entry
 * length). A slot's hash is set once (compare-and-swap from 0); its location moves only from
 * LOC_EMPTY to a location (the walk, or the put that inserted the slot) or from anything to
 * LOC_INVALID (a write). Slots are never freed, so a probe window that is full stays full. */
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

struct dmp_index {
    dmp_index_slot_t *slots;
    uint64_t mask;
    int fd;
    uint32_t ttl;
    char *dir;
    _Atomic int state; /* dmp_index_state_t */
    atomic_flag built;
    atomic_flag full_logged;
    _Atomic uint64_t names, bytes, skipped, used, invalidations, build_ns;
    /* writes' entries (dmp_index_put), once the walk is READY: appended at end (atomic), up to
     * append_max bytes in all; no_append once the disk is below min_free */
    _Atomic uint64_t end, appended, put_names;
    uint64_t append_max, min_free;
    atomic_bool no_append;
};

uint64_t dmp_index_hash(const char *lname, size_t len);
/* The slot of hash h, inserting it (when insert) in the first free slot of its window. NULL: not
 * there (or no room). */
dmp_index_slot_t *dmp_index_find(dmp_index_t *x, uint64_t h, bool insert);
/* dmp_index_find(x, h, true) that tells whether this call inserted the slot. */
dmp_index_slot_t *dmp_index_find_ins(dmp_index_t *x, uint64_t h, bool *inserted);
/* Bytes appended past which writes stop adding entries: the walk's size, at least 1 GiB. */
#define DMP_INDEX_APPEND_MIN (1ull << 30)
/* Writes' appends between two free-space checks. */
#define DMP_INDEX_SPACE_EVERY (64ull << 20)

#endif
