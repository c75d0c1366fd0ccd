/* index: the name index, a read path beside the store. docs/store.md "The name index" has the
 * design and the measurements.
 *
 * At start a background walk (dmp_index_build) writes every name's answer (the TXT RRs the DNS
 * path would build from dmp_store_get, with their count and first expiry) to an unlinked file in
 * the store's directory and publishes its location in an open-addressed table of (name hash,
 * location) slots. A DNS miss that finds a location reads it with one pread (dmp_index_read)
 * instead of a RocksDB seek; anything else falls back to the store. Table and file make a
 * generation; a rebuild (dmp_index_rebuild, when dmp_index_rebuild_due says so) walks the store
 * again into a new generation sized for the store as it is now, makes it current, and frees the
 * old one once no reader holds it, so the table grows with the store, and names that writes
 * took out of the file come back.
 *
 * Consistency: every store write calls dmp_index_invalidate or dmp_index_put for each name it
 * changed after its commit and before its acknowledgement (and before anything that tells a
 * reader the write happened, such as the node's write sequence): the name's slot becomes
 * "invalid" for the rest of the generation (a slot is inserted when the name has none), but for a
 * new name's only put once the walk is done, whose answer is published instead. A walk publishes
 * a location only over an empty slot (compare-and-swap), so a write that lands while the walk
 * reads the name wins whichever comes first; during a rebuild, writes mark the generation being
 * walked as well as the current one. A read never answers from an invalid slot, an entry whose
 * first value has expired (the store's read would drop it), or an entry whose name differs (a hash
 * collision). The sweep removes only expired rows, which reads drop by themselves.
 *
 * Threads: dmp_index_read, _invalidate and _put from any number of threads, beside one thread
 * that calls dmp_index_build and then dmp_index_rebuild; dmp_index_free after all of them. */
#ifndef DMP_INDEX_H
#define DMP_INDEX_H

#include <stdatomic.h>

#include "index/index_types.h"
#include "store/store.h"
#include "util/util.h"

/* A rebuild is due (dmp_index_rebuild_due) at most once per min_gap_s seconds (the node's
 * DMP_NAME_INDEX_REBUILD_S) and per DMP_INDEX_REBUILD_WALKS times the last walk's duration, so
 * walks take at most 2 % of a core; and only when the table is 3/4 full, the writes' append
 * budget is spent, or writes took at least DMP_INDEX_REBUILD_LOST names, and an eighth of those
 * indexed, out of the file. */
#define DMP_INDEX_REBUILD_WALKS 50
#define DMP_INDEX_REBUILD_LOST 4096

/* A table for about expected_names names (slots: the power of two at or above 1.5x it, at least
 * 65,536; 16 bytes each, touched as they fill) and an empty file created in dir and unlinked at
 * once (nothing is left behind, whatever ends the process). ttl: the TTL the RRs carry
 * (DMP_DNS_TTL, fixed for the run). DMP_EINVAL, DMP_ENOMEM, DMP_EIO (the file: errno logged). */
int dmp_index_new(const char *dir, uint64_t expected_names, uint32_t ttl, dmp_index_t **out);
void dmp_index_free(dmp_index_t *x);

/* The walk: every live RRset of store into the file, each published unless a write took its slot
 * first. Stops when *stop (may be NULL) is set, or when the disk holding the file has less than
 * min_free_bytes free (checked every 64 MiB written): then INCOMPLETE, and what was published
 * stays usable. Once per index. 0 (also when stopped), or the store's or the file's error. */
int dmp_index_build(dmp_index_t *x, dmp_store_t *store, int64_t now_ms, const atomic_bool *stop,
                    uint64_t min_free_bytes);

/* A new generation: a walk of store (as dmp_index_build, at most one at a time, never before
 * dmp_index_build returned) into a table sized for the store's record count now and a new file;
 * reads keep the current generation until the walk has completed, then move to the new one, and
 * the old table and file are freed once no read holds them. A walk that stops or fails leaves
 * the current generation as it was. 0 (also when stopped), DMP_EAGAIN before the first walk
 * ended, or the store's or the file's error. */
int dmp_index_rebuild(dmp_index_t *x, dmp_store_t *store, int64_t now_ms, const atomic_bool *stop,
                      uint64_t min_free_bytes);
/* Whether a rebuild is due at monotonic time mono_ns (above): false before the current
 * generation's walk completed, and always when min_gap_s is 0. */
bool dmp_index_rebuild_due(dmp_index_t *x, int64_t mono_ns, uint32_t min_gap_s);

/* After a committed change of the RRset at name (any case; put, delete or anything else): no
 * read answers that name from the file again. Never fails: a name that finds no slot and no
 * room for one in its probe window never gets one from the walk either (slots are never freed),
 * so it is read from the store. */
void dmp_index_invalidate(dmp_index_t *x, const char *name, size_t len);

/* After a committed put of (name, value, ttl at now_ms) that is the name's only change in its
 * transaction: when the walk is READY and the name has no slot (so it had no live value and no
 * write since the start, and its RRset is now this one value), appends its answer to the file
 * and publishes it, up to a budget of bytes (the walk's size, at least 1 GiB, and while the
 * disk keeps the walk's free-space floor); otherwise as dmp_index_invalidate. Same threads and
 * the same place in the write path as dmp_index_invalidate; writes to one name must not run at
 * once (the node's shards own their names). */
void dmp_index_put(dmp_index_t *x, const char *name, size_t len, const uint8_t *value, size_t vlen,
                   uint32_t ttl, int64_t now_ms);

/* The answer of lname (lowercase, as the store holds it) at now_ms from the file: 0 with *out
 * (its rrs in buf, which grows as needed), or DMP_ENOTFOUND when the caller must read the
 * store (not in the file, invalidated, expired, a collision, a short read). x may be NULL. */
int dmp_index_read(dmp_index_t *x, const char *lname, size_t len, int64_t now_ms, dmp_buf_t *buf,
                   dmp_index_answer_t *out);

void dmp_index_stats(const dmp_index_t *x, dmp_index_stats_t *out);
const char *dmp_index_state_name(dmp_index_state_t s);

#endif
