/* store: RocksDB record store (records + expiry index + stored-time index + Merkle buckets)
 *. See docs/store.md for the key schema and durability. */
#ifndef DMP_STORE_H
#define DMP_STORE_H

#include <stdatomic.h>

#include "store/store_types.h"
#include "util/util.h"

const char *dmp_store_strerror(int err);

/* Threads. One dmp_store_t is shared by every thread of the process: the reads below
 * (dmp_store_get, dmp_store_count_values[_ex], dmp_store_has_value, dmp_store_has_descendant,
 * dmp_store_get_names, dmp_store_record_count, dmp_store_soa_serial, the scans and the kv gets)
 * may be called from any number of threads at once, beside the writes and the sweep, with no
 * lock of the caller's: they take no store lock, keep their state on the caller's stack (plus
 * per-thread counters, and a dmp_store_reader_t the caller gives dmp_store_get_with, one per
 * thread), share only RocksDB's thread-safe handles and read options, and see every
 * write that returned before they started (each name's read is one RocksDB iterator or get: one
 * consistent view; a write racing a read is either wholly in it or not). Only open and close are
 * not concurrent: no call may be in flight during dmp_store_close. */

/* Open (or create) a store. On failure returns a negative code and writes a human-readable
 * message to errbuf (always NUL-terminated when errlen > 0): DMP_EVERSION when the store's
 * schema version is newer than DMP_STORE_SCHEMA_VERSION, DMP_EIO for RocksDB errors. */
int dmp_store_open(const dmp_store_opts_t *o, dmp_store_t **out, char *errbuf, size_t errlen);
/* Close and free; NULL is a no-op. No call may be in flight. */
void dmp_store_close(dmp_store_t *s);
/* The block cache s was opened with and what it holds now (store_types.h); any thread. */
void dmp_store_read_setup(const dmp_store_t *s, dmp_store_read_setup_t *out);

/* Insert or refresh n records in ONE WriteBatch written with sync=true (durable in the WAL
 * when this returns 0). Re-putting an existing (name, value) refreshes ttl, stored_ms and
 * expires_ms (may shorten). Validates every entry first: nothing is written on error.
 * The same (name, value) twice in one batch: the later entry wins. */
int dmp_store_put_batch(dmp_store_t *s, const dmp_store_put_t *puts, size_t n, int64_t now_ms);
int dmp_store_put(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                  size_t value_len, uint32_t ttl, int64_t now_ms);

/* Delete one value (value != NULL; value_len may be 0 for the empty value) or every value
 * (value == NULL) at name; synced. Physically present but expired rows count as removed (as
 * the reference). Returns 0 when at least one row was removed, DMP_ENOTFOUND when none.
 * *removed (may be NULL) receives the count in both cases. */
int dmp_store_delete(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                     size_t value_len, size_t *removed);

/* Group commit: with DMP_STORE_NOSYNC the _ex forms write without waiting for the disk; the
 * change is visible at once but durable only once a later dmp_store_sync_wal() returns 0
 * (which makes every earlier write durable). Lets the caller acknowledge many writes per fsync
 * from a thread that does not serve reads. flags 0 = as the plain forms. */
#define DMP_STORE_NOSYNC 1u
int dmp_store_put_batch_ex(dmp_store_t *s, const dmp_store_put_t *puts, size_t n, int64_t now_ms,
                           unsigned flags);
int dmp_store_delete_ex(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, size_t *removed, unsigned flags);
int dmp_store_sync_wal(dmp_store_t *s);
/* True from a failed write (DMP_EIO, DMP_STORE_ENOSPC) until a later dmp_store_sync_wal
 * succeeds: while true, writes fail (the node answers 507/503 and /health says so). */
bool dmp_store_writes_failing(const dmp_store_t *s);
/* Turns RocksDB's per-thread perf counting (key comparisons, memtable seeks...) off for the
 * calling thread, for the rest of its life; a no-op after the first call on a thread. By
 * default RocksDB counts into a thread-local context on every memtable key comparison; the
 * store never sets or reads the level itself, so a thread that wants the counts keeps them.
 * dnsmeshd's shard threads call it before their first write (write.c). */
void dmp_store_perf_off(void);

/* Free-space reserve (store_space.c). While the last reading of the free space on the store's
 * disk is below the reserve, puts (and any dmp_store_apply_ex holding a put) are refused up front
 * with DMP_STORE_ENOSPC and nothing reaches RocksDB; deletes and the sweep go on (they free
 * space). Readings come from dmp_store_space_check (the node's disk watcher, every 100 ms) and
 * from every dmp_store_sync_wal, which also takes the store's lock exclusive (no write in
 * flight while the WAL is synced) when free space is within the margin (twice the write buffer)
 * of the reserve or a write has failed. reserve 0 = none (the default). Any thread. */
void dmp_store_space_set_reserve(dmp_store_t *s, uint64_t min_free_bytes);
/* Replaces the reading (NULL = statvfs); only before other threads use the store. */
void dmp_store_space_set_source(dmp_store_t *s, dmp_store_space_fn fn, void *ctx);

/* Page cache after a start (store_prefetch.c): reads the table files of the DNS read path
 * (the records, then the names index) once from start to end, at most budget bytes, so that
 * misses on a cold page cache do not each wait for the disk on the thread answering DNS. Checks
 * *stop (may be NULL) between 1 MiB reads. Meant for a background thread; any thread, beside
 * readers and writers (a file compacted away meanwhile is skipped). 0, or DMP_EIO / ENOMEM. */
int dmp_store_prefetch(dmp_store_t *s, uint64_t budget, const atomic_bool *stop,
                       dmp_store_prefetch_stats_t *st);
/* The same for some of those files only: what is DMP_STORE_PREFETCH_RECORDS and/or
 * DMP_STORE_PREFETCH_RNAMES (dmp_store_prefetch reads both, in that order). */
#define DMP_STORE_PREFETCH_RECORDS 1u
#define DMP_STORE_PREFETCH_RNAMES 2u
int dmp_store_prefetch_ex(dmp_store_t *s, unsigned what, uint64_t budget, const atomic_bool *stop,
                          dmp_store_prefetch_stats_t *st);
/* Takes a reading now: 0 with *free_bytes (may be NULL) set, or the reading's error (then the
 * previous state stands). */
int dmp_store_space_check(dmp_store_t *s, uint64_t *free_bytes);
/* True while the last reading was below the reserve (puts refused). */
bool dmp_store_space_low(const dmp_store_t *s);

/* Visit the live values (expires_ms > now_ms) at name, ordered by stored_ms then insertion
 * order. Returns DMP_ENOTFOUND when there are none (fn not called), 0 otherwise. */
int dmp_store_get(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                  dmp_store_visit_fn fn, void *ctx);
/* dmp_store_get through a reader (rd NULL: as dmp_store_get). The reader keeps its RocksDB
 * iterator between gets instead of building one over every level per call, and refreshes it
 * when any write returned since its last get (and at least every second), so a get still sees
 * every write that returned before it started. One thread at a time per reader; any number of
 * readers at once. Made by dmp_store_reader_new (DMP_ENOMEM), freed by dmp_store_reader_free
 * (NULL: no-op) before dmp_store_close. An idle reader holds the memtable and table files of
 * its last get (disk space and memory after a flush or compaction) until its next get. */
int dmp_store_reader_new(dmp_store_t *s, dmp_store_reader_t **out);
void dmp_store_reader_free(dmp_store_reader_t *r);
int dmp_store_get_with(dmp_store_t *s, dmp_store_reader_t *rd, const char *name, size_t name_len,
                       int64_t now_ms, dmp_store_visit_fn fn, void *ctx);
/* Every name's live RRset, one call of fn per name in name byte order, each RRset's values in
 * dmp_store_get's order (so an answer built from it is the one a get would give at now_ms). One
 * iterator over the records from one implicit snapshot (writes after the call began are not
 * seen); the block cache is not filled (a full walk must not evict the hot set). Checks *stop
 * (may be NULL) every 1,024 names and returns 0 early when it is set. fn returning nonzero stops
 * the walk (returns 0). For a background thread, beside readers and writers. */
int dmp_store_scan_rrsets(dmp_store_t *s, int64_t now_ms, const atomic_bool *stop,
                          dmp_store_rrset_fn fn, void *ctx);
/* Number of live values at name (0 when none; returns 0). Cheap: one prefix seek. */
int dmp_store_count_values(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                           size_t *out);
/* RDATA bytes of one TXT RR holding a value_len-byte value: the value plus one length byte per
 * 255-byte character-string, at least one string (an empty value is one empty string). */
static inline size_t dmp_store_txt_rdata_len(size_t value_len)
{
    return value_len + (value_len ? (value_len + 254) / 255 : 1);
}
/* Like dmp_store_count_values, and *rdata_bytes = the sum of dmp_store_txt_rdata_len over the
 * live values (the TXT RDATA an answer for name carries). Either out may be NULL. */
int dmp_store_count_values_ex(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                              size_t *count, size_t *rdata_bytes);
/* The per-name checks of one put in one prefix seek (store_write.c): *count and *rdata_bytes
 * as dmp_store_count_values_ex, *present as dmp_store_has_value (the value's hash is compared
 * against the keys the seek walks, so the point lookup is saved). Any out may be NULL. */
int dmp_store_put_probe(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, int64_t now_ms, size_t *count, size_t *rdata_bytes,
                        bool *present);
/* *out = true when (name, value) is present and live. One point lookup. */
int dmp_store_has_value(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, int64_t now_ms, bool *out);

/* *out = true when some live record exists strictly below name (an empty non-terminal when
 * name holds no values itself): "b" is below nothing but is an ancestor of "a.b", and "a.b" is
 * not an ancestor of "xa.b". One prefix seek on the reversed-label name index; after 64 dead
 * (expired, not yet swept) entries without a live one it answers true (bounded work; "exists"
 * is the safe answer for DNS). Names are lowercased as everywhere. */
int dmp_store_has_descendant(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                             bool *out);
/* The same, and *until (not NULL) = the expiry (ms) of the live record found below name, so
 * name stays a non-terminal at least until then unless something below it is deleted; 0 when
 * *out is false or came from the dead-entry bound. */
int dmp_store_has_descendant_until(dmp_store_t *s, const char *name, size_t name_len,
                                   int64_t now_ms, bool *out, int64_t *until);

/* Rows physically in the store (live + expired-not-yet-swept). O(1): a persisted counter
 * updated in the same WriteBatch as every insert/removal. */
int dmp_store_record_count(dmp_store_t *s, uint64_t *out);

/* Remove up to max_records (0 = no limit) rows with expires_ms <= now_ms, oldest expiry
 * first, walking only the expiry index. *removed (may be NULL) receives the count. */
int dmp_store_sweep(dmp_store_t *s, int64_t now_ms, size_t max_records, size_t *removed);

/* Anti-entropy digest: visit up to `limit` (0 = no limit) live rows strictly after the
 * cursor in ascending (stored_ms, name, hash) byte order (hash compares as raw bytes, which
 * equals lowercase-hex order). cursor_name may be NULL (= ""), cursor_hash NULL means the
 * empty hash (smaller than any hash), as the reference's 2-field cursor. */
int dmp_store_iter_since(dmp_store_t *s, int64_t cursor_ms, const char *cursor_name,
                         const uint8_t cursor_hash[32], size_t limit, int64_t now_ms,
                         dmp_store_visit_fn fn, void *ctx);

/* Sync pull: visit the live rows of every listed name (duplicates, in any case, count once;
 * invalid or unknown names are skipped) in (stored_ms, name, hash) order. Returns 0 even when
 * nothing matched. Meant for small lists (the reference caps a pull at 256 names). */
int dmp_store_get_names(dmp_store_t *s, const char *const *names, const size_t *name_lens, size_t n,
                        int64_t now_ms, dmp_store_visit_fn fn, void *ctx);

/* Visit live rows whose lowercase name starts with prefix (prefix_len 0 = everything), in
 * (name, hash) byte order. For list_names-like scans (e.g. stored "cluster." manifests). */
int dmp_store_scan_prefix(dmp_store_t *s, const char *prefix, size_t prefix_len, int64_t now_ms,
                          dmp_store_visit_fn fn, void *ctx);

/* Merkle support (cluster.md §8.3). item digest = SHA-256(lowercase name || 0x00 || hash);
 * bucket = first 16 bits (big-endian) of SHA-256(lowercase name); the bucket digest is the
 * XOR of the item digests of every row physically present (maintained on every write in the
 * same batch, so it is O(1) per write; a never-touched bucket is all zeros). */
int dmp_store_item_digest(const char *name, size_t name_len, const uint8_t hash[32],
                          uint8_t out[32]);
int dmp_store_bucket_of(const char *name, size_t name_len, uint32_t *bucket);
int dmp_store_bucket_digest(dmp_store_t *s, uint32_t bucket, uint8_t out[32]);
/* Every bucket digest at once (one iterator over the merkle CF; a never-touched bucket is
 * zeros): out holds DMP_STORE_MERKLE_BUCKETS x 32 bytes. */
int dmp_store_bucket_digests(dmp_store_t *s, uint8_t (*out)[32]);

/* Anti-entropy leaf listing: visits the live rows (expires_ms > now) and the unexpired
 * tombstones of one Merkle bucket, rows first, each group in (name, hash) order. Two prefix
 * seeks on the bucket indexes (CF buckets, CF tombs). */
int dmp_store_bucket_scan(dmp_store_t *s, uint32_t bucket, int64_t now_ms, dmp_store_bucket_fn fn,
                          void *ctx);
/* Tombstones: a delete (not the sweep) of a row leaves (name, hash) -> the row's expiry; a put
 * of the same (name, value) lifts it; the sweep collects expired ones. *found = false when there
 * is none or it has expired. */
int dmp_store_tomb_get(dmp_store_t *s, const char *name, size_t name_len, const uint8_t hash[32],
                       int64_t now_ms, bool *found, int64_t *expires_ms);

/* The zone's SOA serial: persisted, advanced by one in the same WriteBatch as every change
 * set (put batch, delete that removed something, transaction that changed something, sweep
 * chunk that removed rows); a new store starts at its creation's Unix time. RFC 1982
 * arithmetic applies (it wraps after 2^32 change sets). One atomic load. */
uint32_t dmp_store_soa_serial(dmp_store_t *s);
/* IXFR read: fn visits the changes of every change set after `from` up to `upto` (<= the
 * current serial), oldest first, each set's rows (removed / added) then one call with name NULL
 * ending that set. fn NULL: only checks that every set is there. DMP_ENOTFOUND when the journal
 * does not cover them (more than DMP_STORE_JOURNAL_MAX back, or a set without an entry): send
 * AXFR instead. Entries at or below the current serial never change. */
int dmp_store_journal_read(dmp_store_t *s, uint32_t from, uint32_t upto, dmp_store_change_fn fn,
                           void *ctx);
/* Zone transfer read: from ONE RocksDB snapshot, *serial = the serial of that version and fn
 * visits every row present in (name, hash) order — expired rows too until the sweep removes
 * them, since the sweep is the change set that takes them out of the zone (and the journal);
 * block cache not filled. Writers are not blocked. now_ms is unused. */
int dmp_store_zone_scan(dmp_store_t *s, int64_t now_ms, uint32_t *serial, dmp_store_visit_fn fn,
                        void *ctx);

/* Lowercase ASCII copy of name into out (cap >= name_len); validates like the store. */
int dmp_store_normalize_name(const char *name, size_t name_len, char *out, size_t cap);

/* ---- Auxiliary key/value maps (tokens, TSIG keys, seen heartbeats) ----
 * put/delete are synced single writes; get copies the value into out (reset first) and
 * returns DMP_ENOTFOUND when absent; delete of an absent key returns 0. scan visits keys
 * starting with prefix (prefix_len 0 = all) in byte order. Keys 1..1024 bytes. */
int dmp_store_kv_put(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len,
                     const uint8_t *val, size_t val_len);
int dmp_store_kv_get(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len,
                     dmp_buf_t *out);
int dmp_store_kv_delete(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len);
int dmp_store_kv_scan(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *prefix, size_t prefix_len,
                      dmp_store_kv_visit_fn fn, void *ctx);

/* ---- Mixed transactions (appended for the node's all-or-nothing write path) ----
 * One op of a transaction. name/value borrowed for the call. removed is an output: the rows a
 * delete removed (0 when nothing matched; physically present but expired rows count, as in
 * dmp_store_delete). A value longer than DMP_STORE_MAX_VALUE matches nothing. */
typedef enum {
    DMP_STORE_OP_PUT = 0,       /* insert or refresh (name, value) with ttl */
    DMP_STORE_OP_DEL_VALUE = 1, /* remove (name, value) */
    DMP_STORE_OP_DEL_ALL = 2,   /* remove every value at name */
} dmp_store_op_kind_t;

typedef struct {
    dmp_store_op_kind_t op;
    const char *name;
    size_t name_len;
    const uint8_t *value; /* PUT, DEL_VALUE */
    size_t value_len;
    uint32_t ttl;   /* PUT */
    size_t removed; /* out */
} dmp_store_op_t;

/* Applies ops in order in ONE WriteBatch: all of them or none (every op is validated first;
 * a later op sees the earlier ones, so "delete all, then put" replaces an RRset). Nothing is
 * written when no op changes anything. *changed (may be NULL) = puts + rows removed.
 * flags: DMP_STORE_NOSYNC as for the other _ex writes. */
int dmp_store_apply_ex(dmp_store_t *s, dmp_store_op_t *ops, size_t n, int64_t now_ms,
                       unsigned flags, size_t *changed);

/* ---- Bulk load (store_ingest.c; `dnsmesh-admin load`) ----
 * Adds many records through RocksDB SST ingestion instead of the write path, leaving the store
 * as dmp_store_put_batch of the same records at one now_ms would (every index, the record
 * count, the Merkle buckets, the serial advanced by one change set and its journal entry),
 * bypassing the WAL and the memtables. Meant for a store no node has open (RocksDB's lock
 * guarantees no other process does); nothing else may write the handle during the commit.
 * Usage: new, add every record, commit, free. add borrows name and value until free (keep them
 * alive and unchanged); it only validates like the write path (DMP_ENAME, DMP_ETOOBIG). */
typedef struct dmp_store_load dmp_store_load_t;

/* Per distinct name of the load, in name order: the live values the name will hold after the
 * load (the store's plus the new ones) and their TXT RDATA bytes; last_index = the largest add
 * index among this name's new rows (SIZE_MAX when every one refreshes an existing row). Nonzero
 * refuses the load: commit returns DMP_EINVAL with stats->bad_index = last_index. */
typedef int (*dmp_store_load_name_fn)(void *ctx, const char *name, size_t name_len, size_t values,
                                      size_t rdata_bytes, size_t last_index);
/* Progress: stage ("hash", "sort", "layout", "orders", "check", "deltas", "write", "ingest",
 * "commit", in that order), done of total. Each stage reports done = 0 when it starts, so the
 * time from one stage's first report to the next one's is that stage's (the table writers run
 * from "orders" on: "orders", "check" and "deltas" run beside them on the calling thread,
 * "write" is the wait for them). */
typedef void (*dmp_store_load_progress_fn)(void *ctx, const char *stage, uint64_t done,
                                           uint64_t total);

typedef struct {
    uint64_t records;    /* records added to the loader */
    uint64_t duplicates; /* the same (name, value) again in the input: the later one won */
    uint64_t added;      /* new rows */
    uint64_t refreshed;  /* rows the store held already (ttl and times refreshed) */
    uint64_t names;      /* distinct names */
    uint64_t sst_files, sst_bytes;
    uint32_t serial;  /* the zone serial after the load */
    bool journaled;   /* false: the change set exceeds DMP_STORE_LOAD_JOURNAL_MAX; IXFR
                       * across it falls back to AXFR */
    size_t bad_index; /* see dmp_store_load_name_fn */
} dmp_store_load_stats_t;

#define DMP_STORE_LOAD_JOURNAL_MAX ((size_t)64 << 20) /* bytes of one journal entry */

int dmp_store_load_new(dmp_store_load_t **out);
int dmp_store_load_add(dmp_store_load_t *l, const char *name, size_t name_len, const uint8_t *value,
                       size_t value_len, uint32_t ttl);
/* Moves every record of src to the end of dst (add indexes continue after dst's), so several
 * threads can each fill a loader with one part of an input; src is left empty. */
int dmp_store_load_append(dmp_store_load_t *dst, dmp_store_load_t *src);
/* Sorts, checks (check may be NULL), writes the table files under tmpdir (created; on the
 * store's filesystem, so ingestion links instead of copying; removed afterwards), ingests them
 * and writes the count, Merkle, serial and journal in one synced batch. Before the first
 * ingestion a marker is written (synced) and the final batch removes it: a store whose load was
 * interrupted in between refuses to open (dmp_store_open says so). On error err says why. */
int dmp_store_load_commit(dmp_store_load_t *l, dmp_store_t *s, int64_t now_ms, const char *tmpdir,
                          dmp_store_load_name_fn check, dmp_store_load_progress_fn progress,
                          void *ctx, dmp_store_load_stats_t *stats, char *err, size_t errlen);
void dmp_store_load_free(dmp_store_load_t *l);

#endif
