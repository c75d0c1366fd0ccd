/* store: types of the RocksDB record store. */
#ifndef DMP_STORE_TYPES_H
#define DMP_STORE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Store-specific error codes (range -400..). Generic DMP_E* codes are used where they fit:
 * DMP_EIO (RocksDB error), DMP_EVERSION (store written by a newer build), DMP_ENOTFOUND,
 * DMP_ENAME (empty name, longer than DMP_STORE_MAX_NAME, or containing a NUL byte),
 * DMP_ETOOBIG (value longer than DMP_STORE_MAX_VALUE). */
enum {
    DMP_STORE_ECORRUPT = -400, /* a stored record or index entry does not decode */
    DMP_STORE_ENOSPC = -401,   /* the disk is full: nothing was written */
};

#define DMP_STORE_SCHEMA_VERSION 4u    /* 2: CF rnames; 3: buckets, tombs; 4: journal (IXFR) */
#define DMP_STORE_MAX_NAME 255u        /* bytes of an owner name (no trailing dot) */
#define DMP_STORE_MAX_VALUE (1u << 20) /* hard store limit; the node's caps are lower */
#define DMP_STORE_MERKLE_BITS 16u      /* bucket = first 16 bits of SHA-256(lowercase name) */
#define DMP_STORE_MERKLE_BUCKETS (1u << DMP_STORE_MERKLE_BITS)

/* A store handle. Thread-safe: any number of threads may read and write concurrently.
 * Ordering of writes to ONE name is the caller's job (a name is owned by one shard thread);
 * the expiry sweep may run concurrently with writers (internally serialised against them). */
typedef struct dmp_store dmp_store_t;
/* One thread's read state for repeated gets (dmp_store_get_with): owned by its creator, used by
 * one thread at a time, freed before its store is closed. */
typedef struct dmp_store_reader dmp_store_reader_t;

/* The block cache: RocksDB's lock-free HyperClockCache (the default) or its sharded LRU cache
 * (the default until 2026-12-03; docs/store.md "Sixth pass"). */
typedef enum {
    DMP_STORE_CACHE_DEFAULT = 0,
    DMP_STORE_CACHE_CLOCK,
    DMP_STORE_CACHE_LRU,
} dmp_store_cache_kind_t;

/* Open options. `path` is borrowed for the duration of dmp_store_open only.
 * 0 for a size means the built-in default (256 MiB block cache, filled only as blocks are read;
 * 64 MiB write buffer). */
typedef struct {
    const char *path;
    size_t block_cache_bytes;
    size_t write_buffer_bytes;
    bool create_if_missing;
    /* Block-cache admission of the DNS reads (dmp_store_get, dmp_store_has_descendant): while
     * the cache has room every block they read is inserted; once it is full, one block in N
     * (0 = the default, DMP_STORE_DEFAULT_ADMIT; 1 = every block, RocksDB's own policy). A store
     * many times the cache, read at random, then stops paying an insert and an eviction per
     * miss for a hit rate of cache/store; blocks read often still get in. docs/store.md. */
    unsigned block_cache_admit;
    /* The block cache's kind (0 = the default, DMP_STORE_CACHE_CLOCK). The table files do not
     * depend on it: a store reads the same with either. */
    dmp_store_cache_kind_t cache_kind;
} dmp_store_opts_t;
#define DMP_STORE_DEFAULT_ADMIT 16u

/* The store's block cache as opened (dmp_store_read_setup): cache_kind is RocksDB's own name of
 * its implementation ("HyperClockCache", "LRUCache"), cache_bytes its capacity. */
typedef struct {
    const char *cache_kind;
    size_t cache_bytes;
    size_t cache_usage; /* bytes the cache holds now */
} dmp_store_read_setup_t;

/* A reading of the free space on the disk holding the store's directory `path`: 0 with
 * *free_bytes set, or a negative code. The default is statvfs() (f_bavail * f_frsize); tests
 * inject their own (dmp_store_space_set_source). */
typedef int (*dmp_store_space_fn)(void *ctx, const char *path, uint64_t *free_bytes);

/* One record to write. All pointers borrowed for the call. The name is lowercased (ASCII)
 * by the store; value is opaque bytes (the TXT string, UTF-8). ttl in seconds; ttl 0 stores
 * a record that is already dead (invisible, removed by the next sweep), like the reference. */
typedef struct {
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
    uint32_t ttl;
} dmp_store_put_t;

/* A record as handed to a visitor. `value` points into store-owned memory valid only during
 * the callback. expires_ms = stored_ms + ttl*1000 (of the last write); hash = SHA-256(value). */
typedef struct {
    const uint8_t *value;
    size_t value_len;
    uint32_t ttl;
    int64_t stored_ms;
    int64_t expires_ms;
    uint8_t hash[32];
} dmp_store_record_t;

/* Visitor: `name` is the stored (lowercase) owner name, valid only during the call, not
 * NUL-terminated. Return 0 to continue, nonzero to stop (the iterating call then returns 0). */
typedef int (*dmp_store_visit_fn)(void *ctx, const char *name, size_t name_len,
                                  const dmp_store_record_t *r);
/* One name's live RRset (dmp_store_scan_rrsets): recs[0..n) in dmp_store_get's order, valid only
 * during the call; name as in dmp_store_visit_fn. Return 0 to continue, nonzero to stop. */
typedef int (*dmp_store_rrset_fn)(void *ctx, const char *name, size_t name_len,
                                  const dmp_store_record_t *recs, size_t n);

/* Bucket visitor (anti-entropy leaf listing): one live row (tombstone false; expires_ms = the
 * row's expiry) or one delete marker (tombstone true; expires_ms = expiry of the row it
 * deleted). name is lowercase, valid only during the call. Nonzero stops. */
typedef int (*dmp_store_bucket_fn)(void *ctx, const char *name, size_t name_len,
                                   const uint8_t hash[32], int64_t expires_ms, bool tombstone);

/* Journal visitor (IXFR): one row added (add true) or removed in the change set that made
 * serial; name and value valid only during the call. After each change set's rows it is called
 * once more with name NULL (end of that step). Nonzero stops. */
typedef int (*dmp_store_change_fn)(void *ctx, uint32_t serial, bool add, const char *name,
                                   size_t name_len, const uint8_t *value, size_t value_len);

/* The reserved auxiliary column families, as plain synced key/value maps (keys and values
 * are opaque bytes; the owning module defines their encoding). */
typedef enum {
    DMP_STORE_KV_TOKENS = 0,
    DMP_STORE_KV_TSIG = 1,
    DMP_STORE_KV_HEARTBEATS = 2,
    DMP_STORE_KV_CLUSTER = 3, /* anti-entropy state (digest cursors); in "meta", key-prefixed */
} dmp_store_kv_t;

/* KV visitor: key/value valid only during the call. Nonzero stops. */
typedef int (*dmp_store_kv_visit_fn)(void *ctx, const uint8_t *key, size_t key_len,
                                     const uint8_t *val, size_t val_len);

/* What dmp_store_prefetch read (store_prefetch.c). */
typedef struct {
    unsigned files; /* table files opened */
    uint64_t bytes; /* bytes read into the page cache */
    bool capped;    /* the budget ran out */
    bool stopped;   /* *stop was set before the end */
} dmp_store_prefetch_stats_t;

#endif
