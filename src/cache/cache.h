/* cache: the per-shard answer cache (byte-bounded, LRU). Holds no RocksDB: the node fills it
 * from the store and invalidates it on every write. See docs/cache.md. */
#ifndef DMP_CACHE_H
#define DMP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache_types.h"
#include "util/util.h"

/* Answer cache: one per shard. Every function but dmp_cache_read is for one writer at a time
 * (the owning shard thread). Keys are names compared byte-for-byte: pass the lowercase name. An
 * entry is dead once expires_ms <= now_ms. get never allocates and is O(1) expected. */
int dmp_cache_new(size_t max_bytes, dmp_cache_t **out);
void dmp_cache_free(dmp_cache_t *c);
/* HIT: *blob, *blob_len and *count set (blob owned by the cache, valid until the next call on this
 * cache). A HIT with count 0 and blob_len 0 is how the node caches "the name exists without
 * values" (an empty non-terminal): dmp_cache_put(c, name, len, NULL, 0, 0, exp). NEGATIVE: *blob =
 * NULL, *blob_len = 0, *count = 0. Any out pointer may be NULL. */
dmp_cache_result_t dmp_cache_get(dmp_cache_t *c, const char *lname, size_t len, int64_t now_ms,
                                 const uint8_t **blob, size_t *blob_len, uint16_t *count);
/* dmp_cache_get that also reports the entry's expiry (HIT and NEGATIVE; expires_ms may be
 * NULL). */
dmp_cache_result_t dmp_cache_get_exp(dmp_cache_t *c, const char *lname, size_t len, int64_t now_ms,
                                     const uint8_t **blob, size_t *blob_len, uint16_t *count,
                                     int64_t *expires_ms);
/* Insert or replace (copies name and blob). DMP_ETOOBIG when one entry alone exceeds the
 * byte bound; evicts least recently used entries to make room. */
int dmp_cache_put(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                  size_t blob_len, uint16_t count, int64_t expires_ms);
int dmp_cache_put_negative(dmp_cache_t *c, const char *lname, size_t len, int64_t expires_ms);
/* An answer that the name does not exist, with opaque bytes the caller checks on a hit (dnsmeshd
 * keeps the negative-cache generation there): read back exactly as dmp_cache_put(c, lname, len,
 * blob, blob_len, 0, expires_ms) would be (a HIT with count 0), but held in the negative class.
 *
 * Classes: entries from dmp_cache_put_negative and dmp_cache_put_nx are "negative", the rest
 * "positive"; each class has its own LRU list. Negative entries never hold more than the
 * negative budget (default max_bytes / 8; dmp_cache_set_negative_bytes) and only evict other
 * negative entries, or positive ones that hold more than max_bytes minus that budget: a flood of
 * names that do not exist cannot evict the positive entries that fit in their share. */
int dmp_cache_put_nx(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                     size_t blob_len, int64_t expires_ms);
/* Sets the negative budget (<= max_bytes), evicting negative entries down to it. */
int dmp_cache_set_negative_bytes(dmp_cache_t *c, size_t bytes);
/* Bytes held by each class (any out pointer may be NULL). */
void dmp_cache_class_stats(const dmp_cache_t *c, size_t *pos_bytes, size_t *neg_bytes);
/* Drops lname's entry (positive or negative); true when there was one. */
bool dmp_cache_invalidate(dmp_cache_t *c, const char *lname, size_t len);
void dmp_cache_clear(dmp_cache_t *c);

/* ---- concurrent readers ----
 * dmp_cache_readers (once, before any reader runs) lets `nreaders` other threads read the cache
 * while its writer works: reader r (0..nreaders-1, one thread at a time per r) calls
 * dmp_cache_read (expires_ms, if not NULL, gets the entry's expiry as dmp_cache_get_exp reports
 * it). A read takes no lock, never blocks and never allocates; it copies a hit's blob
 * into blob[0..cap) (a blob larger than cap reads as a miss) and does not touch the LRU order
 * (a hit gives the entry a second chance at eviction instead). It may miss an entry the writer
 * is moving at that moment (ask the owner then), but never returns a torn entry, and never one
 * that was invalidated or replaced before the read began. Memory the writer drops is freed once
 * no read can hold it (on later writes, or dmp_cache_reclaim). dmp_cache_free only after every
 * reader stopped. */
#define DMP_CACHE_MAX_READERS 256u
int dmp_cache_readers(dmp_cache_t *c, unsigned nreaders);
dmp_cache_result_t dmp_cache_read(dmp_cache_t *c, unsigned reader, const char *lname, size_t len,
                                  int64_t now_ms, uint8_t *blob, size_t cap, size_t *blob_len,
                                  uint16_t *count, int64_t *expires_ms);
/* Writer: frees what readers can no longer hold (also done every 64 drops). */
void dmp_cache_reclaim(dmp_cache_t *c);
/* Reads answered / missed by dmp_cache_read (any thread) and items waiting to be freed (writer). */
void dmp_cache_reader_stats(dmp_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *retired);
/* Any out pointer may be NULL. bytes = accounted bytes (<= max_bytes). */
void dmp_cache_stats(const dmp_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *bytes,
                     size_t *entries);
/* Any thread: true while the cache holds less than num/den of its byte bound (a relaxed snapshot
 * of what the writer last published: a reader may see it a few puts late). */
bool dmp_cache_below(const dmp_cache_t *c, unsigned num, unsigned den);

/* ---- admission doorkeeper (cache_door.c) ----
 * Traffic that fetches each name about once (a DMP client reading a message's chunks) only
 * churns an LRU: every miss inserts, evicting an entry that may be asked again, and nothing it
 * inserts is read. A doorkeeper admits a name on its second miss since the last reset: the
 * first miss only sets two bits for it (of 2^bits_log2, both in one 64-bit word, placed by
 * SipHash with a random key). Once it
 * has recorded 2^bits_log2 / 8 names it is cleared, so a name missed twice far apart may have
 * to miss a third time; a name never seen is admitted by mistake (both bits set by others) at
 * most ~5 % of the time. bits_log2: 10..30 (a 2^23-bit doorkeeper is 1 MiB and remembers 1M
 * names). */
int dmp_cache_door_new(unsigned bits_log2, dmp_cache_door_t **out);
void dmp_cache_door_free(dmp_cache_door_t *d);
/* True: lname missed before (since the last reset), put it in the cache. False: its first miss,
 * now recorded. */
bool dmp_cache_door_admit(dmp_cache_door_t *d, const char *lname, size_t len);
/* Names recorded since the last reset, and resets so far (any out pointer may be NULL). */
void dmp_cache_door_stats(const dmp_cache_door_t *d, uint64_t *recorded, uint64_t *resets);

#endif
