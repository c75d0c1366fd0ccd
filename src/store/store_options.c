/* store: RocksDB options for the store: merge operators (record count, Merkle XOR), the
 * record-key prefix extractor, table and column-family options. docs/store.md explains them. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- merge operators (allocated results are freed by merge_free) ---- */

static char *add_full(void *st, const char *key, size_t klen, const char *ex, size_t exlen,
                      const char *const *ops, const size_t *oplens, int n, unsigned char *ok,
                      size_t *outlen)
{
    (void)st;
    (void)key;
    (void)klen;
    uint64_t sum = 0;
    if (ex != NULL && exlen == 8)
        sum = dmp_load_u64be((const uint8_t *)ex);
    for (int i = 0; i < n; i++)
        if (oplens[i] == 8)
            sum += dmp_load_u64be((const uint8_t *)ops[i]);
    char *out = malloc(8);
    if (out == NULL) {
        *ok = 0;
        return NULL;
    }
    dmp_store_u64be((uint8_t *)out, sum);
    *outlen = 8;
    *ok = 1;
    return out;
}

static char *add_partial(void *st, const char *key, size_t klen, const char *const *ops,
                         const size_t *oplens, int n, unsigned char *ok, size_t *outlen)
{
    return add_full(st, key, klen, NULL, 0, ops, oplens, n, ok, outlen);
}

static char *xor_full(void *st, const char *key, size_t klen, const char *ex, size_t exlen,
                      const char *const *ops, const size_t *oplens, int n, unsigned char *ok,
                      size_t *outlen)
{
    (void)st;
    (void)key;
    (void)klen;
    char *out = calloc(1, 32);
    if (out == NULL) {
        *ok = 0;
        return NULL;
    }
    if (ex != NULL && exlen == 32)
        memcpy(out, ex, 32);
    for (int i = 0; i < n; i++)
        if (oplens[i] == 32)
            for (size_t j = 0; j < 32; j++)
                out[j] ^= ops[i][j];
    *outlen = 32;
    *ok = 1;
    return out;
}

static char *xor_partial(void *st, const char *key, size_t klen, const char *const *ops,
                         const size_t *oplens, int n, unsigned char *ok, size_t *outlen)
{
    return xor_full(st, key, klen, NULL, 0, ops, oplens, n, ok, outlen);
}

static void merge_free(void *st, const char *v, size_t len)
{
    (void)st;
    (void)len;
    free((void *)v);
}

static const char *add_name(void *st)
{
    (void)st;
    return "dmp.add_u64be";
}

static const char *xor_name(void *st)
{
    (void)st;
    return "dmp.xor256";
}

static void nop_destroy(void *st)
{
    (void)st;
}

/* Record-key prefix = the key without its trailing 32-byte hash, i.e. lname|0x00. */
static char *rec_prefix(void *st, const char *key, size_t len, size_t *dst)
{
    (void)st;
    *dst = len - 32;
    return (char *)key;
}

static unsigned char rec_in_domain(void *st, const char *key, size_t len)
{
    (void)st;
    (void)key;
    return len >= 34;
}

static unsigned char rec_in_range(void *st, const char *key, size_t len)
{
    (void)st;
    (void)key;
    (void)len;
    return 0;
}

static const char *rec_prefix_name(void *st)
{
    (void)st;
    return "dmp.rkey_prefix.v1";
}

/* ---- options ---- */

/* The block cache is RocksDB's HyperClockCache: lock-free lookups in one fixed open-addressing
 * table and a clock sweep for eviction, where the LRU cache took a shard mutex per lookup and
 * per release and kept its LRU list in order (FindPointer, the mutex and the list upkeep were
 * ~7 % of the node's samples on the 1M one-pass; docs/store.md "Sixth pass"). It needs the
 * expected charge of an entry to size that table: the data blocks, 4 KiB (RocksDB's default
 * block size), are nearly all it holds, index and filter blocks being held by the table readers
 * (below). Capacity is accounted as the LRU cache's (the charge of each block, metadata
 * included), so the RSS it adds is the same. */
#define CLOCK_ENTRY_CHARGE ((size_t)4096)

/* The Merkle column family's memtable: every new row (and every removed one) adds an XOR
 * operand for its bucket, a memtable entry of its own (max_successive_merges is off, below),
 * so at a quarter of the write buffer it held ~260,000 operands of 65,536 keys and every
 * operand's insert searched that skiplist from a random place, missing the CPU caches on the
 * way. At 1 MiB it holds ~16,000 (8 s of new rows at 2,000 writes/s) and stays in
 * cache; a flush folds the operands into at most 65,536 keys (a table of ~3 MiB at most),
 * and compacting the column family rewrites no more than that. docs/store.md "Write path
 * cost" has the measurements. */
#define MERKLE_WBUF_BYTES ((size_t)1 << 20)
#define DEFAULT_CACHE_KIND DMP_STORE_CACHE_CLOCK

void dmp_store_read_setup(const dmp_store_t *s, dmp_store_read_setup_t *out)
{
    out->cache_kind = dmp_store_cache_kind(s->cache);
    out->cache_bytes = rocksdb_cache_get_capacity(s->cache);
    out->cache_usage = rocksdb_cache_get_usage(s->cache);
}

int dmp_store_build_options(dmp_store_t *s, const dmp_store_opts_t *o)
{
    size_t cache_bytes = o->block_cache_bytes ? o->block_cache_bytes : DEFAULT_CACHE_BYTES;
    size_t wbuf = o->write_buffer_bytes ? o->write_buffer_bytes : DEFAULT_WBUF_BYTES;

    s->dbopts = rocksdb_options_create();
    dmp_store_cache_kind_t ck =
        o->cache_kind != DMP_STORE_CACHE_DEFAULT ? o->cache_kind : DEFAULT_CACHE_KIND;
    s->cache = ck == DMP_STORE_CACHE_CLOCK
                   ? dmp_store_cache_create_clock(cache_bytes, CLOCK_ENTRY_CHARGE)
                   : rocksdb_cache_create_lru(cache_bytes);
    s->bbt = rocksdb_block_based_options_create();
    s->bbt_rec = rocksdb_block_based_options_create();
    s->wsync = rocksdb_writeoptions_create();
    s->wnosync = rocksdb_writeoptions_create();
    s->rdefault = rocksdb_readoptions_create();
    s->rprefix = rocksdb_readoptions_create();
    s->rquery = rocksdb_readoptions_create();
    s->rquery_nofill = rocksdb_readoptions_create();
    s->extra_opts = rocksdb_options_create();
    if (!s->dbopts || !s->cache || !s->bbt || !s->bbt_rec || !s->wsync || !s->wnosync ||
        !s->rdefault || !s->rprefix || !s->rquery || !s->rquery_nofill || !s->extra_opts)
        return DMP_ENOMEM;

    rocksdb_options_set_create_if_missing(s->dbopts, o->create_if_missing ? 1 : 0);
    rocksdb_options_set_create_missing_column_families(s->dbopts, 1);
    rocksdb_options_increase_parallelism(s->dbopts, 2);
    rocksdb_options_set_keep_log_file_num(s->dbopts, 4);
    /* bounded table-file descriptors: the node budgets its fd limit between TCP clients, HTTP
     * and the store (dnsmeshd keeps a reserve of 64..256 for it; unlimited would let a large
     * store starve the listeners) */
    rocksdb_options_set_max_open_files(s->dbopts, 192);
    /* ... and one LRU over those 182 table readers: with RocksDB's default 64 shards each held
     * ~3, so a 10M-record store's ~90 files kept evicting each other and every few lookups
     * re-opened a table (footer, properties, top-level index and filter: 16 % of the CPU of a
     * miss at 10M records). A table-cache lookup per file per iterator is cheap enough for one
     * mutex at our thread counts. */
    rocksdb_options_set_table_cache_numshardbits(s->dbopts, 0);
    /* FATAL only: RocksDB's info LOG lives on the store's disk, and once an append to it has
     * failed (ENOSPC) the next warning written to it trips an assertion in librocksdb (Debian
     * builds keep them), killing the node on a full disk. The node logs store errors itself. */
    rocksdb_options_set_info_log_level(s->dbopts, 4 /* FATAL */);

    rocksdb_block_based_options_set_block_cache(s->bbt, s->cache);
    rocksdb_block_based_options_set_block_cache(s->bbt_rec, s->cache);
    /* The records' bloom filter is on the prefix (the name) only: every DNS lookup is a prefix
     * seek, and has_value's point lookups use the prefix filter as well; whole keys would double
     * the filter for nothing. */
    rocksdb_block_based_options_set_filter_policy(s->bbt_rec,
                                                  rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_whole_key_filtering(s->bbt_rec, 0);
    /* Index and filter blocks are held by the open table readers, not in the block cache: a
     * lookup binary-searches the file's index in memory and probes its filter with no cache
     * lookup, no partition to fetch and nothing to evict. At 10M records that is about 50 MiB
     * of index and 12 MiB of filter for the records, ~40 MiB of index for the other column
     * families, all of it resident while the files are open (max_open_files above covers
     * ~190 table files, about 12 GB of store; past that, re-opening a table re-reads them).
     * docs/store.md "Read path at scale" has the measurements against the partitioned,
     * cached layout of before. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->bbt_rec, 0);
    /* Index blocks store their keys in runs of 16 (a full key, then 15 sharing its prefix), as
     * data blocks do, instead of RocksDB's default of a full key per entry. A seek
     * binary-searches the restart points, 1/16 as many, and scans at most 15 entries in one
     * or two cache lines: at 10M records a uniformly random read's index search, a cache miss
     * per probe, fell from 11 % to 7 % of the node's samples, and the indexes the table readers
     * hold take 18 MiB less RSS (docs/store.md "Read path at scale", ninth pass). Written into
     * each table file (flush, compaction, bulk load); files of either kind read the same. */
    rocksdb_block_based_options_set_index_block_restart_interval(s->bbt_rec,
                                                                 DMP_STORE_INDEX_RESTART);
    rocksdb_block_based_options_set_index_block_restart_interval(s->bbt, DMP_STORE_INDEX_RESTART);

    for (size_t i = 0; i < CF_OURS; i++) {
        rocksdb_options_t *co = rocksdb_options_create();
        if (co == NULL)
            return DMP_ENOMEM;
        s->cfopts[i] = co;
        size_t cf_wbuf = i == CF_RECORDS ? wbuf : wbuf / 4 + 1;
        if (i == CF_MERKLE && cf_wbuf > MERKLE_WBUF_BYTES)
            cf_wbuf = MERKLE_WBUF_BYTES;
        rocksdb_options_set_write_buffer_size(co, cf_wbuf);
        rocksdb_options_set_block_based_table_factory(co, i == CF_RECORDS ? s->bbt_rec : s->bbt);
    }
    rocksdb_options_set_write_buffer_size(s->dbopts, wbuf);

    s->prefix = rocksdb_slicetransform_create(NULL, nop_destroy, rec_prefix, rec_in_domain,
                                              rec_in_range, rec_prefix_name);
    s->add_op = rocksdb_mergeoperator_create(NULL, nop_destroy, add_full, add_partial, merge_free,
                                             add_name);
    s->xor_op = rocksdb_mergeoperator_create(NULL, nop_destroy, xor_full, xor_partial, merge_free,
                                             xor_name);
    if (!s->prefix || !s->add_op || !s->xor_op)
        return DMP_ENOMEM;
    /* The options take ownership of these three. */
    rocksdb_options_set_prefix_extractor(s->cfopts[CF_RECORDS], s->prefix);
    /* No compression anywhere. DMP values are base64 of ciphertext and the index column
     * families' keys end in a SHA-256: Snappy saves little on either, while every block read
     * (a cache miss of the DNS path, the descendant check in rnames) would pay a decompression
     * and every table file written a compression (docs/store.md "Read path at scale"). */
    for (size_t i = 0; i < CF_OURS; i++)
        rocksdb_options_set_compression(s->cfopts[i], rocksdb_no_compression);
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->cfopts[CF_RECORDS], 0.05);
    rocksdb_options_set_memtable_whole_key_filtering(s->cfopts[CF_RECORDS], 1);
    rocksdb_options_set_merge_operator(s->cfopts[CF_META], s->add_op);
    rocksdb_options_set_merge_operator(s->cfopts[CF_MERKLE], s->xor_op);
    /* Write path (memtable): the count is a Put now (store_serial.c), and a Merkle bucket
     * collects about one operand per 65,536 rows written, so letting RocksDB count a key's
     * pending merges on every merge (max_successive_merges) cost a memtable seek per write and
     * collapsed nothing; reads and compaction fold the few operands. */
    rocksdb_options_set_max_successive_merges(s->cfopts[CF_META], 0);
    rocksdb_options_set_max_successive_merges(s->cfopts[CF_MERKLE], 0);

    rocksdb_writeoptions_set_sync(s->wsync, 1);
    rocksdb_writeoptions_set_sync(s->wnosync, 0);
    rocksdb_readoptions_set_total_order_seek(s->rdefault, 1);
    rocksdb_readoptions_set_prefix_same_as_start(s->rprefix, 1);
    /* The DNS reads (store_read.c). Block checksums stay verified: the CRC of a 4 KiB block
     * was 1.4 % of the node's CPU at 10M records, not worth serving a flipped bit unchecked. */
    rocksdb_readoptions_set_prefix_same_as_start(s->rquery, 1);
    rocksdb_readoptions_set_prefix_same_as_start(s->rquery_nofill, 1);
    rocksdb_readoptions_set_fill_cache(s->rquery_nofill, 0);
    s->admit = o->block_cache_admit ? o->block_cache_admit : DMP_STORE_DEFAULT_ADMIT;
    return 0;
}

/* Error lines are rate-limited (one per second, with a count of those left out), since a
 * failing disk fails every read and write and the log would otherwise cost more than the
 * queries (and fill the disk that is already full). */
static _Atomic int64_t g_next_log_ms;
static _Atomic uint64_t g_suppressed;

/* Consumes a RocksDB error string; returns DMP_STORE_ENOSPC for a full disk, else DMP_EIO
 * when there was one. */
int dmp_store_rerr(char *err)
{
    if (err == NULL)
        return 0;
    int rc = strstr(err, "No space left on device") ? DMP_STORE_ENOSPC : DMP_EIO;
    int64_t now = dmp_monotonic_ns() / 1000000;
    int64_t next = atomic_load_explicit(&g_next_log_ms, memory_order_relaxed);
    if (now >= next && atomic_compare_exchange_strong(&g_next_log_ms, &next, now + 1000)) {
        uint64_t more = atomic_exchange(&g_suppressed, 0);
        if (more)
            dmp_log(DMP_LOG_ERROR, "store: rocksdb: %s (%llu more errors in the last second(s))",
                    err, (unsigned long long)more);
        else
            dmp_log(DMP_LOG_ERROR, "store: rocksdb: %s", err);
    } else {
        atomic_fetch_add_explicit(&g_suppressed, 1, memory_order_relaxed);
    }
    rocksdb_free(err);
    return rc;
}

int dmp_store_werr(dmp_store_t *s, char *err)
{
    int rc = dmp_store_rerr(err);
    if (rc != 0)
        atomic_store(&s->write_failed, 1);
    return rc;
}
