/* store: internals shared by the store's source files (not part of the public API).
 * Key schema, column families and durability: docs/store.md. */
#ifndef DMP_STORE_INTERNAL_H
#define DMP_STORE_INTERNAL_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_codec.h"

enum {
    CF_DEFAULT = 0,
    CF_RECORDS,
    CF_EXPIRY,
    CF_BYSTORED,
    CF_META,
    CF_MERKLE,
    CF_TOKENS,
    CF_TSIG,
    CF_HEARTBEATS,
    CF_RNAMES,  /* schema 2: reversed-label name index for "has descendants" */
    CF_BUCKETS, /* schema 3: rows by Merkle bucket (anti-entropy leaf listings) */
    CF_TOMBS,   /* schema 3: delete markers by Merkle bucket (anti-entropy) */
    CF_JOURNAL, /* schema 4: zone changes per serial (IXFR) */
    CF_OURS     /* number of column families this build knows */
};

/* Each column family's name on disk, by id (store_open.c). */
extern const char *const dmp_store_cf_names[CF_OURS];

#define META_VERSION "schema_version"
#define META_COUNT "record_count"

#define SWEEP_CHUNK 1024u
#define MIGRATE_CHUNK 4096u
/* has_descendant gives up (answers true) after this many dead index entries in a row. */
#define DESC_MAX_DEAD 64u
#define DEFAULT_CACHE_BYTES ((size_t)256 << 20) /* filled lazily: small stores use less */
#define DEFAULT_WBUF_BYTES ((size_t)64 << 20)
/* Keys per restart run in index blocks (store_options.c). */
#define DMP_STORE_INDEX_RESTART 16

/* The store. Owns every RocksDB object below. Invariants kept by every write batch:
 * - each row in CF_RECORDS has exactly one CF_EXPIRY entry ob64(expires)|rkey, one
 *   CF_BYSTORED entry ob64(stored)|rkey (value = ob64 expires) and one CF_RNAMES entry
 *   reversed(lname)|0x00|hash (value = ob64 expires);
 * - meta "record_count" = number of rows in CF_RECORDS;
 * - merkle bucket b = XOR of item digests of the rows whose name falls in b.
 * `lock`: writers (put/delete/kv) hold it shared across their RocksDB write and the setting of
 * write_failed, the sweep exclusive, so a sweep never deletes a row that a concurrent put is
 * refreshing; dmp_store_sync_wal takes it exclusive when the disk is near full or a write has
 * failed, so no WAL append is in flight (possibly failing) while RocksDB syncs the WAL.
 * Readers take no lock. */
struct dmp_store {
    rocksdb_t *db;
    rocksdb_options_t *dbopts;
    rocksdb_options_t *cfopts[CF_OURS];
    rocksdb_options_t *extra_opts; /* options for column families of a newer schema */
    rocksdb_column_family_handle_t *cf[CF_OURS];
    rocksdb_column_family_handle_t **extra_cf;
    size_t n_extra;
    rocksdb_cache_t *cache;
    rocksdb_block_based_table_options_t *bbt;
    rocksdb_block_based_table_options_t *bbt_rec;
    rocksdb_slicetransform_t *prefix;
    rocksdb_mergeoperator_t *add_op;
    rocksdb_mergeoperator_t *xor_op;
    rocksdb_writeoptions_t *wsync;
    rocksdb_writeoptions_t *wnosync;
    rocksdb_readoptions_t *rdefault;
    rocksdb_readoptions_t *rprefix; /* prefix_same_as_start: one RRset per seek */
    rocksdb_readoptions_t *rquery;  /* the DNS read path's (store_read.c) */
    rocksdb_readoptions_t *rquery_nofill;
    unsigned admit;         /* XXX experiment */
    _Atomic int cache_full; /* XXX */
    pthread_rwlock_t lock;
    _Atomic uint64_t seq;
    /* Moves on a change that does not advance RocksDB's sequence (a bulk load's table files
     * ingested below everything): readers (dmp_store_reader_t) refresh when it moved. */
    _Atomic uint64_t rgen;
    _Atomic int readers; /* live dmp_store_reader_t: must be 0 at close */
    /* A write failed (e.g. ENOSPC while appending to the WAL): RocksDB's WAL writer must not
     * be flushed or synced again (its debug build asserts, a release build would sync a file
     * in an unknown state) until a synced probe write succeeds (see dmp_store_sync_wal). */
    _Atomic int write_failed;
    /* Free space (store_space.c): the store's directory, the reading, the reserve below which
     * puts are refused (bytes, 0 = none) and the margin above it below which WAL syncs take
     * `lock` exclusive; space_low = the last reading was below the reserve. */
    char *path;
    dmp_store_space_fn space_fn;
    void *space_ctx;
    _Atomic uint64_t space_min_free;
    uint64_t space_margin;
    _Atomic int space_low;
    /* Every expiry entry with time < sweep_from has been swept: the sweep seeks here instead
     * of walking the tombstones its earlier runs left. Puts lower it (CAS-min) under the
     * shared lock; the sweep raises it under the exclusive lock. In memory only. */
    _Atomic int64_t sweep_from;
    /* Where the next sweep's tombstone collection resumes (CF_TOMBS key; empty = start). */
    pthread_mutex_t tomb_mu;
    /* CF_TOMBS may hold a tombstone: false only while it has held none since the open (found
     * empty there); set before any batch that writes one. A put of a new row deletes its
     * tombstone only when set, which saves a memtable insert per put in a store that never
     * saw a delete. Never cleared while open (the collection may empty it: harmless). */
    _Atomic bool has_tombs;
    /* The zone serial (store_serial.c): assigned and written under serial_mu. */
    pthread_mutex_t serial_mu;
    _Atomic uint64_t serial;
    /* meta "record_count" as last written (under serial_mu): a change set writes the new
     * absolute count with a Put, not an add merge (store_serial.c). */
    uint64_t count;
    uint8_t tomb_from[2 + DMP_STORE_RKEY_MAX];
    size_t tomb_from_len;
};

/* Per-batch accumulation of Merkle bucket deltas (one merge per touched bucket). */
typedef struct {
    uint32_t bucket;
    uint8_t x[32];
} dmp_store_mdelta_t;

typedef struct {
    dmp_store_mdelta_t *d;
    size_t n, cap;
    int64_t count_delta;
    /* the change set's zone diff for the journal (store_serial.c): entries
     * u8 op (1 add, 2 del) | u8 name_len | name | u32 value_len | value */
    dmp_buf_t journal;
    bool journal_failed; /* out of memory: the entry is dropped, IXFR falls back to AXFR */
} dmp_store_deltas_t;

typedef void (*dmp_store_merge_fn)(void *batch, rocksdb_column_family_handle_t *cf, const char *k,
                                   size_t kl, const char *v, size_t vl);

/* ---- store_options.c ---- */
/* Creates every options object of s from o; DMP_ENOMEM when one cannot be made. */
int dmp_store_build_options(dmp_store_t *s, const dmp_store_opts_t *o);
/* Consumes a RocksDB error string; returns DMP_EIO when there was one. */
int dmp_store_rerr(char *err);
/* dmp_store_rerr for a write: also marks the store's writes as failing (write_failed). */
int dmp_store_werr(dmp_store_t *s, char *err);

/* ---- store_open.c ---- */
/* True when column family cf holds no live key (one seek to its first key). */
bool dmp_store_cf_empty(dmp_store_t *s, int cf);

/* ---- store_space.c ---- */
/* Takes a fresh reading and says whether the WAL sync must exclude writers: free space within
 * space_margin of the reserve, or no reading to be had. */
bool dmp_store_space_tight(dmp_store_t *s);

/* ---- store_sha.c ---- */
typedef struct {
    const void *p;
    size_t len;
} dmp_store_iov_t;
/* SHA-256 of the concatenated parts (OpenSSL, libsodium as the fallback). Any thread. */
void dmp_store_sha256v(uint8_t out[32], const dmp_store_iov_t *v, size_t n);
void dmp_store_sha256(uint8_t out[32], const void *p, size_t len);

/* ---- store_merkle.c ---- */
void dmp_store_item_digest_raw(const char *lname, size_t nl, const uint8_t hash[32],
                               uint8_t out[32]);
uint32_t dmp_store_bucket_raw(const char *lname, size_t nl);
/* Adds one row's digest to its bucket's delta (a row added or removed: XOR either way). */
int dmp_store_deltas_add(dmp_store_deltas_t *dl, const char *lname, size_t nl,
                         const uint8_t hash[32]);
/* Emits one merge per touched bucket into batch through mf (the count delta is written by
 * dmp_store_write_stamped, which every change set goes through). */
void dmp_store_deltas_emit(dmp_store_t *s, const dmp_store_deltas_t *dl, void *batch,
                           dmp_store_merge_fn mf);
void dmp_store_wb_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                        const char *v, size_t vl);
void dmp_store_wbi_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                         const char *v, size_t vl);

/* ---- store_write.c ---- */
/* Adds the removal of one row (its record, index entries, count and Merkle deltas) to wb.
 * rkey/rec describe the row as currently stored (rec NULL: it did not decode). tomb: a delete
 * (not an expiry): leave a tombstone that lasts until the row would have expired. */
int dmp_store_remove_row(dmp_store_t *s, rocksdb_writebatch_t *wb, dmp_store_deltas_t *dl,
                         const uint8_t *rkey, size_t rkl, const dmp_store_rec_t *rec, bool tomb);

/* ---- store_stage.c ---- */
/* The index entries of a plain put batch, staged (store_stage.c). RocksDB inserts each entry
 * into its column family's memtable skiplist starting from where the previous insert into that
 * skiplist ended: a refresh's delete of an old expiry or by-stored entry and its put at the
 * head, one after the other, each search from the top; staged and written as each family's
 * deletes, then its puts, in key order, the puts at the head follow one another (and so do the
 * ops of the other indexes, in key order). The order only matters between ops on one key: a
 * delete before a put (a refresh whose new index key equals its old one); a plain batch never
 * writes one row twice, so no other pair of ops shares a key. */
typedef struct {
    rocksdb_column_family_handle_t *cf;
    bool put;
    uint16_t kl, vl;
    size_t off; /* key then value, in bytes */
} dmp_store_sop_t;
typedef struct {
    dmp_store_sop_t *ops;
    size_t n, cap;
    dmp_buf_t bytes; /* the ops' keys and values */
    bool failed;     /* out of memory: the batch must not be written */
} dmp_store_stage_t;
void dmp_store_stage_add(dmp_store_stage_t *st, rocksdb_column_family_handle_t *cf, bool put,
                         const void *k, size_t kl, const void *v, size_t vl);
/* Sorts the staged ops: by column family, deletes first, by key, equal keys in staging order. */
void dmp_store_stage_sort(dmp_store_stage_t *st);
/* Appends the staged ops to wb (sorted as above) and empties st; DMP_ENOMEM if an add failed. */
int dmp_store_stage_emit(dmp_store_stage_t *st, rocksdb_writebatch_t *wb);
void dmp_store_stage_free(dmp_store_stage_t *st);

/* ---- store_txn.c ---- */
/* A write batch: indexed (wi set: reads through it see its earlier ops) or plain (only when no
 * two ops in it touch the same row). */
typedef struct {
    rocksdb_writebatch_wi_t *wi;
    rocksdb_writebatch_t *plain;
    dmp_store_stage_t *stage; /* plain only: the index entries go here, the row to plain */
} dmp_store_wb_t;
/* Adds one put (p->name/value/ttl; ln = its normalised name) to wb: the record, its expiry,
 * by-stored, name and bucket index entries, the lifted tombstone, and (for a new row) the count,
 * Merkle and journal deltas in dl; a refresh replaces the old row's index entries. *vbuf and *vcap
 * is a scratch buffer the caller frees. */
int dmp_store_apply_put(dmp_store_t *s, dmp_store_wb_t *wb, dmp_store_deltas_t *dl,
                        const dmp_store_op_t *p, const char *ln, int64_t now_ms, uint8_t **vbuf,
                        size_t *vcap);

/* ---- store_serial.c ---- */
/* Loads the persisted serial (a fresh store: the current Unix time, persisted). */
int dmp_store_serial_load(dmp_store_t *s);
/* Writes batch (a rocksdb_writebatch_wi_t when wi, else a rocksdb_writebatch_t) with the next
 * serial stamped into it; the in-memory serial advances only when the write succeeded. */
int dmp_store_write_stamped(dmp_store_t *s, const rocksdb_writeoptions_t *wo, void *batch, bool wi,
                            dmp_store_deltas_t *dl);
/* Notes one row added (op 1) or removed (op 2) in the change set's journal entry. */
void dmp_store_journal_note(dmp_store_deltas_t *dl, uint8_t op, const char *lname, size_t nl,
                            const uint8_t *value, size_t vlen);
#define DMP_STORE_JOURNAL_MAX 4096u /* change sets kept for IXFR */

/* ---- store_bucket.c ---- */
/* Bucket key: u16 BE Merkle bucket of lname | rkey; out holds DMP_STORE_BKEY_MAX. */
#define DMP_STORE_BKEY_MAX (2 + DMP_STORE_RKEY_MAX)
size_t dmp_store_bkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32]);
/* Removes up to max tombstones whose time is past now, resuming where the last call stopped
 * (bounded work per sweep). */
int dmp_store_tombs_gc(dmp_store_t *s, int64_t now_ms, size_t max, size_t *removed);

/* ---- store_ingest.c ---- */
/* DMP_STORE_ECORRUPT with a message when an interrupted bulk load left its marker. */
int dmp_store_load_check(dmp_store_t *s, const char *path, char *errbuf, size_t errlen);

/* ---- store_refresh.cc ---- */
/* rocksdb::Iterator::Refresh() on it: 0, or -1 when RocksDB refused (the caller rebuilds it). */
int dmp_store_iter_refresh(rocksdb_iterator_t *it);

/* ---- store_cache.cc ---- */
/* A HyperClockCache of capacity bytes (entry_charge: the expected charge of one entry) as a C
 * API cache handle (rocksdb_cache_destroy frees it); NULL when it cannot be made. */
rocksdb_cache_t *dmp_store_cache_create_clock(size_t capacity, size_t entry_charge);
/* RocksDB's name of the cache's implementation ("HyperClockCache", "LRUCache"). */
const char *dmp_store_cache_kind(rocksdb_cache_t *c);

#endif
