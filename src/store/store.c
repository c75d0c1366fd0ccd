/* store: RocksDB record store. Key schema, column families and durability: docs/store.md. */
#include "store/store.h"

#include <pthread.h>
#include <rocksdb/c.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    CF_RNAMES, /* schema 2: reversed-label name index for "has descendants" */
    CF_OURS    /* number of column families this build knows */
};

static const char *const cf_names[CF_OURS] = {
    "default", "records", "expiry", "bystored",   "meta",
    "merkle",  "tokens",  "tsig",   "heartbeats", "rnames",
};

static const char META_VERSION[] = "schema_version";
static const char META_COUNT[] = "record_count";

#define SWEEP_CHUNK 1024u
#define MIGRATE_CHUNK 4096u
/* has_descendant gives up (answers true) after this many dead index entries in a row. */
#define DESC_MAX_DEAD 64u
#define DEFAULT_CACHE_BYTES ((size_t)64 << 20)
#define DEFAULT_WBUF_BYTES ((size_t)64 << 20)

/* The store. Owns every RocksDB object below. Invariants kept by every write batch:
 * - each row in CF_RECORDS has exactly one CF_EXPIRY entry ob64(expires)|rkey, one
 *   CF_BYSTORED entry ob64(stored)|rkey (value = ob64 expires) and one CF_RNAMES entry
 *   reversed(lname)|0x00|hash (value = ob64 expires);
 * - meta "record_count" = number of rows in CF_RECORDS;
 * - merkle bucket b = XOR of item digests of the rows whose name falls in b.
 * `lock`: writers (put/delete) hold it shared, the sweep exclusive, so a sweep never deletes
 * a row that a concurrent put is refreshing. Readers take no lock. */
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
    pthread_rwlock_t lock;
    _Atomic uint64_t seq;
    /* Every expiry entry with time < sweep_from has been swept: the sweep seeks here instead
     * of walking the tombstones its earlier runs left. Puts lower it (CAS-min) under the
     * shared lock; the sweep raises it under the exclusive lock. In memory only. */
    _Atomic int64_t sweep_from;
};

const char *dmp_store_strerror(int err)
{
    if (err == DMP_STORE_ECORRUPT)
        return "store: stored record does not decode";
    return dmp_strerror(err);
}

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

/* ---- helpers ---- */

static void set_err(char *errbuf, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, fmt, a ? a : "", b ? b : "");
}

/* Consumes a RocksDB error string; returns DMP_EIO when there was one. */
static int rerr(char *err)
{
    if (err == NULL)
        return 0;
    dmp_log(DMP_LOG_ERROR, "store: rocksdb: %s", err);
    rocksdb_free(err);
    return DMP_EIO;
}

static void item_digest_raw(const char *lname, size_t nl, const uint8_t hash[32], uint8_t out[32])
{
    crypto_hash_sha256_state st;
    static const uint8_t zero = 0;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)lname, nl);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, hash, 32);
    crypto_hash_sha256_final(&st, out);
}

static uint32_t bucket_raw(const char *lname, size_t nl)
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)lname, nl);
    return ((uint32_t)h[0] << 8 | h[1]) >> (16 - DMP_STORE_MERKLE_BITS);
}

int dmp_store_normalize_name(const char *name, size_t name_len, char *out, size_t cap)
{
    if (out == NULL || cap < name_len)
        return DMP_EINVAL;
    return dmp_store_name_norm(name, name_len, out);
}

int dmp_store_item_digest(const char *name, size_t name_len, const uint8_t hash[32],
                          uint8_t out[32])
{
    char ln[DMP_STORE_MAX_NAME];
    if (hash == NULL || out == NULL)
        return DMP_EINVAL;
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    item_digest_raw(ln, name_len, hash, out);
    return 0;
}

int dmp_store_bucket_of(const char *name, size_t name_len, uint32_t *bucket)
{
    char ln[DMP_STORE_MAX_NAME];
    if (bucket == NULL)
        return DMP_EINVAL;
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    *bucket = bucket_raw(ln, name_len);
    return 0;
}

/* ---- open / close ---- */

static uint64_t seq_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static void store_free(dmp_store_t *s)
{
    if (s->db != NULL) {
        for (size_t i = 0; i < CF_OURS; i++)
            if (s->cf[i] != NULL)
                rocksdb_column_family_handle_destroy(s->cf[i]);
        for (size_t i = 0; i < s->n_extra; i++)
            if (s->extra_cf[i] != NULL)
                rocksdb_column_family_handle_destroy(s->extra_cf[i]);
        rocksdb_close(s->db);
    }
    free(s->extra_cf);
    for (size_t i = 0; i < CF_OURS; i++)
        if (s->cfopts[i] != NULL)
            rocksdb_options_destroy(s->cfopts[i]);
    if (s->extra_opts)
        rocksdb_options_destroy(s->extra_opts);
    if (s->dbopts)
        rocksdb_options_destroy(s->dbopts);
    /* The options hold references to these; destroy them after the options. */
    if (s->bbt)
        rocksdb_block_based_options_destroy(s->bbt);
    if (s->bbt_rec)
        rocksdb_block_based_options_destroy(s->bbt_rec);
    if (s->cache)
        rocksdb_cache_destroy(s->cache);
    if (s->wsync)
        rocksdb_writeoptions_destroy(s->wsync);
    if (s->wnosync)
        rocksdb_writeoptions_destroy(s->wnosync);
    if (s->rdefault)
        rocksdb_readoptions_destroy(s->rdefault);
    if (s->rprefix)
        rocksdb_readoptions_destroy(s->rprefix);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

static int build_options(dmp_store_t *s, const dmp_store_opts_t *o)
{
    size_t cache_bytes = o->block_cache_bytes ? o->block_cache_bytes : DEFAULT_CACHE_BYTES;
    size_t wbuf = o->write_buffer_bytes ? o->write_buffer_bytes : DEFAULT_WBUF_BYTES;

    s->dbopts = rocksdb_options_create();
    s->cache = rocksdb_cache_create_lru(cache_bytes);
    s->bbt = rocksdb_block_based_options_create();
    s->bbt_rec = rocksdb_block_based_options_create();
    s->wsync = rocksdb_writeoptions_create();
    s->wnosync = rocksdb_writeoptions_create();
    s->rdefault = rocksdb_readoptions_create();
    s->rprefix = rocksdb_readoptions_create();
    s->extra_opts = rocksdb_options_create();
    if (!s->dbopts || !s->cache || !s->bbt || !s->bbt_rec || !s->wsync || !s->wnosync ||
        !s->rdefault || !s->rprefix || !s->extra_opts)
        return DMP_ENOMEM;

    rocksdb_options_set_create_if_missing(s->dbopts, o->create_if_missing ? 1 : 0);
    rocksdb_options_set_create_missing_column_families(s->dbopts, 1);
    rocksdb_options_increase_parallelism(s->dbopts, 2);
    rocksdb_options_set_keep_log_file_num(s->dbopts, 4);
    /* bounded table-file descriptors: the node budgets its fd limit between TCP clients, HTTP
     * and the store (dnsmeshd keeps a reserve of 64..256 for it; unlimited would let a large
     * store starve the listeners) */
    rocksdb_options_set_max_open_files(s->dbopts, 192);
    rocksdb_options_set_info_log_level(s->dbopts, 2 /* WARN */);

    rocksdb_block_based_options_set_block_cache(s->bbt, s->cache);
    rocksdb_block_based_options_set_block_cache(s->bbt_rec, s->cache);
    rocksdb_block_based_options_set_filter_policy(s->bbt_rec,
                                                  rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_whole_key_filtering(s->bbt_rec, 1);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(s->bbt_rec, 1);

    for (size_t i = 0; i < CF_OURS; i++) {
        rocksdb_options_t *co = rocksdb_options_create();
        if (co == NULL)
            return DMP_ENOMEM;
        s->cfopts[i] = co;
        rocksdb_options_set_write_buffer_size(co, i == CF_RECORDS ? wbuf : wbuf / 4 + 1);
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
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(s->cfopts[CF_RECORDS], 0.05);
    rocksdb_options_set_memtable_whole_key_filtering(s->cfopts[CF_RECORDS], 1);
    rocksdb_options_set_merge_operator(s->cfopts[CF_META], s->add_op);
    rocksdb_options_set_merge_operator(s->cfopts[CF_MERKLE], s->xor_op);
    rocksdb_options_set_max_successive_merges(s->cfopts[CF_META], 16);
    rocksdb_options_set_max_successive_merges(s->cfopts[CF_MERKLE], 16);

    rocksdb_writeoptions_set_sync(s->wsync, 1);
    rocksdb_writeoptions_set_sync(s->wnosync, 0);
    rocksdb_readoptions_set_total_order_seek(s->rdefault, 1);
    rocksdb_readoptions_set_prefix_same_as_start(s->rprefix, 1);
    return 0;
}

static size_t dkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32]);

/* Schema 1 -> 2: builds the CF_RNAMES index from every row of CF_RECORDS (expired rows too:
 * the sweep removes their entries with them), in unsynced batches; the last batch also stamps
 * the new version and is synced, which makes the earlier batches durable as well. Re-running
 * after a crash rewrites the same keys. Runs before the handle is shared, so no lock. */
static int migrate(dmp_store_t *s, const char *path, uint32_t from, char *errbuf, size_t errlen)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_RECORDS]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (it == NULL || wb == NULL) {
        if (it)
            rocksdb_iter_destroy(it);
        if (wb)
            rocksdb_writebatch_destroy(wb);
        return DMP_ENOMEM;
    }
    char *err = NULL;
    size_t rows = 0, skipped = 0;
    for (rocksdb_iter_seek_to_first(it); err == NULL && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        const char *nm;
        size_t nl;
        const uint8_t *h;
        dmp_store_rec_t rec;
        if (dmp_store_rkey_parse(k, kl, &nm, &nl, &h) != 0 ||
            dmp_store_rec_parse(v, vl, &rec) != 0) {
            skipped++;
            continue;
        }
        uint8_t dk[DMP_STORE_RKEY_MAX], ev[8];
        size_t dkl = dkey_make(dk, nm, nl, h);
        dmp_store_ob64_put(ev, rec.expires_ms);
        rocksdb_writebatch_put_cf(wb, s->cf[CF_RNAMES], (const char *)dk, dkl, (const char *)ev, 8);
        rows++;
        if (rocksdb_writebatch_count(wb) >= (int)MIGRATE_CHUNK) {
            rocksdb_write(s->db, s->wnosync, wb, &err);
            rocksdb_writebatch_clear(wb);
        }
    }
    if (err == NULL)
        rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err == NULL) {
        uint8_t b[4];
        dmp_store_u32be(b, DMP_STORE_SCHEMA_VERSION);
        rocksdb_writebatch_put_cf(wb, s->cf[CF_META], META_VERSION, sizeof META_VERSION - 1,
                                  (const char *)b, 4);
        rocksdb_write(s->db, s->wsync, wb, &err);
    }
    rocksdb_writebatch_destroy(wb);
    if (err != NULL) {
        set_err(errbuf, errlen, "store %s: schema migration failed: %s", path, err);
        rocksdb_free(err);
        return DMP_EIO;
    }
    dmp_info("store %s: migrated schema %u -> %u: indexed %zu rows by name (%zu undecodable "
             "skipped)",
             path, from, DMP_STORE_SCHEMA_VERSION, rows, skipped);
    return 0;
}

static int check_version(dmp_store_t *s, const char *path, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vlen = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_VERSION,
                             sizeof META_VERSION - 1, &vlen, &err);
    if (err != NULL) {
        set_err(errbuf, errlen, "store %s: cannot read schema version: %s", path, err);
        rocksdb_free(err);
        return DMP_EIO;
    }
    if (v == NULL) {
        uint8_t b[4];
        dmp_store_u32be(b, DMP_STORE_SCHEMA_VERSION);
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], META_VERSION, sizeof META_VERSION - 1,
                       (const char *)b, 4, &err);
        if (err != NULL) {
            set_err(errbuf, errlen, "store %s: cannot write schema version: %s", path, err);
            rocksdb_free(err);
            return DMP_EIO;
        }
        return 0;
    }
    uint32_t ver = vlen == 4 ? dmp_load_u32be((const uint8_t *)v) : UINT32_MAX;
    rocksdb_free(v);
    if (ver > DMP_STORE_SCHEMA_VERSION || ver == 0) {
        char vs[64];
        snprintf(vs, sizeof vs, "%u, this build supports up to %u", ver, DMP_STORE_SCHEMA_VERSION);
        set_err(errbuf, errlen,
                "store %s has schema version %s; refusing to open a store written by a newer "
                "dnsmesh (upgrade this node or use another --store path)",
                path, vs);
        return DMP_EVERSION;
    }
    if (ver < DMP_STORE_SCHEMA_VERSION)
        return migrate(s, path, ver, errbuf, errlen);
    return 0;
}

int dmp_store_open(const dmp_store_opts_t *o, dmp_store_t **out, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (o == NULL || o->path == NULL || out == NULL) {
        set_err(errbuf, errlen, "store: bad arguments%s%s", NULL, NULL);
        return DMP_EINVAL;
    }
    *out = NULL;
    if (sodium_init() < 0) {
        set_err(errbuf, errlen, "store: libsodium init failed%s%s", NULL, NULL);
        return DMP_ECRYPTO;
    }
    dmp_store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return DMP_ENOMEM;
    pthread_rwlockattr_t la;
    pthread_rwlockattr_init(&la);
    pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &la);
    pthread_rwlockattr_destroy(&la);
    atomic_init(&s->seq, seq_seed());
    atomic_init(&s->sweep_from, INT64_MIN);

    int rc = build_options(s, o);
    if (rc != 0) {
        set_err(errbuf, errlen, "store: out of memory%s%s", NULL, NULL);
        store_free(s);
        return rc;
    }

    /* Open every column family on disk (a newer schema may have more) plus ours. */
    char *err = NULL;
    size_t n_disk = 0;
    char **disk = rocksdb_list_column_families(s->dbopts, o->path, &n_disk, &err);
    if (err != NULL) { /* no database yet: fine when creating */
        rocksdb_free(err);
        err = NULL;
        if (disk != NULL) /* the C API returns an empty malloc'd list even on error */
            rocksdb_list_column_families_destroy(disk, 0);
        disk = NULL;
        n_disk = 0;
    }
    size_t n_all = CF_OURS;
    const char **names = calloc(CF_OURS + n_disk, sizeof *names);
    const rocksdb_options_t **opts = calloc(CF_OURS + n_disk, sizeof *opts);
    rocksdb_column_family_handle_t **handles = calloc(CF_OURS + n_disk, sizeof *handles);
    if (!names || !opts || !handles) {
        rc = DMP_ENOMEM;
        goto out_lists;
    }
    for (size_t i = 0; i < CF_OURS; i++) {
        names[i] = cf_names[i];
        opts[i] = s->cfopts[i];
    }
    for (size_t j = 0; j < n_disk; j++) {
        bool known = false;
        for (size_t i = 0; i < CF_OURS; i++)
            known = known || strcmp(disk[j], cf_names[i]) == 0;
        if (!known) {
            names[n_all] = disk[j];
            opts[n_all] = s->extra_opts;
            n_all++;
        }
    }
    s->db =
        rocksdb_open_column_families(s->dbopts, o->path, (int)n_all, names, opts, handles, &err);
    if (err != NULL) {
        set_err(errbuf, errlen, "store %s: cannot open: %s", o->path, err);
        rocksdb_free(err);
        s->db = NULL;
        rc = DMP_EIO;
        goto out_lists;
    }
    for (size_t i = 0; i < CF_OURS; i++)
        s->cf[i] = handles[i];
    s->n_extra = n_all - CF_OURS;
    if (s->n_extra > 0) {
        s->extra_cf = calloc(s->n_extra, sizeof *s->extra_cf);
        if (s->extra_cf == NULL) {
            for (size_t i = CF_OURS; i < n_all; i++)
                rocksdb_column_family_handle_destroy(handles[i]);
            s->n_extra = 0;
            rc = DMP_ENOMEM;
            goto out_lists;
        }
        for (size_t i = CF_OURS; i < n_all; i++)
            s->extra_cf[i - CF_OURS] = handles[i];
    }
    rc = check_version(s, o->path, errbuf, errlen);

out_lists:
    free(names);
    free(opts);
    free(handles);
    if (disk != NULL)
        rocksdb_list_column_families_destroy(disk, n_disk);
    if (rc != 0) {
        if (rc == DMP_ENOMEM)
            set_err(errbuf, errlen, "store: out of memory%s%s", NULL, NULL);
        store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dmp_store_close(dmp_store_t *s)
{
    if (s != NULL)
        store_free(s);
}

/* ---- writes ---- */

/* Per-batch accumulation of Merkle bucket deltas (one merge per touched bucket). */
typedef struct {
    uint32_t bucket;
    uint8_t x[32];
} mdelta_t;

typedef struct {
    mdelta_t *d;
    size_t n, cap;
    int64_t count_delta;
} deltas_t;

static int deltas_add(deltas_t *dl, const char *lname, size_t nl, const uint8_t hash[32])
{
    uint8_t dig[32];
    uint32_t b = bucket_raw(lname, nl);
    item_digest_raw(lname, nl, hash, dig);
    size_t i = 0;
    while (i < dl->n && dl->d[i].bucket != b)
        i++;
    if (i == dl->n) {
        if (dl->n == dl->cap) {
            size_t nc = dl->cap ? dl->cap * 2 : 8;
            mdelta_t *nd = realloc(dl->d, nc * sizeof *nd);
            if (nd == NULL)
                return DMP_ENOMEM;
            dl->d = nd;
            dl->cap = nc;
        }
        dl->d[i].bucket = b;
        memset(dl->d[i].x, 0, 32);
        dl->n++;
    }
    for (size_t j = 0; j < 32; j++)
        dl->d[i].x[j] ^= dig[j];
    return 0;
}

typedef void (*merge_fn)(void *batch, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                         const char *v, size_t vl);

static void wb_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                     const char *v, size_t vl)
{
    rocksdb_writebatch_merge_cf(b, cf, k, kl, v, vl);
}

static void wbi_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                      const char *v, size_t vl)
{
    rocksdb_writebatch_wi_merge_cf(b, cf, k, kl, v, vl);
}

static void deltas_emit(dmp_store_t *s, const deltas_t *dl, void *batch, merge_fn mf)
{
    for (size_t i = 0; i < dl->n; i++) {
        uint8_t k[4];
        dmp_store_u32be(k, dl->d[i].bucket);
        mf(batch, s->cf[CF_MERKLE], (const char *)k, 4, (const char *)dl->d[i].x, 32);
    }
    if (dl->count_delta != 0) {
        uint8_t v[8];
        dmp_store_u64be(v, (uint64_t)dl->count_delta);
        mf(batch, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1, (const char *)v, 8);
    }
}

static size_t ikey_make(uint8_t *out, int64_t t, const uint8_t *rkey, size_t rkl)
{
    dmp_store_ob64_put(out, t);
    memcpy(out + 8, rkey, rkl);
    return rkl + 8;
}

/* Name-index key: reversed(lname) | 0x00 | hash (same length as the record key). */
static size_t dkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32])
{
    char rev[DMP_STORE_MAX_NAME];
    dmp_store_name_reverse(lname, nl, rev);
    return dmp_store_rkey_make(out, rev, nl, hash);
}

int dmp_store_put_batch_ex(dmp_store_t *s, const dmp_store_put_t *puts, size_t n, int64_t now_ms,
                           unsigned flags)
{
    if (s == NULL || (puts == NULL && n > 0))
        return DMP_EINVAL;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const dmp_store_put_t *p = &puts[i];
        char tmp[DMP_STORE_MAX_NAME];
        int rc = dmp_store_name_norm(p->name, p->name_len, tmp);
        if (rc != 0)
            return rc;
        if (p->value == NULL && p->value_len > 0)
            return DMP_EINVAL;
        if (p->value_len > DMP_STORE_MAX_VALUE)
            return DMP_ETOOBIG;
        if (now_ms > INT64_MAX - (int64_t)p->ttl * 1000 || now_ms < INT64_MIN / 2)
            return DMP_ERANGE;
    }

    rocksdb_writebatch_wi_t *wb = rocksdb_writebatch_wi_create(0, 1);
    if (wb == NULL)
        return DMP_ENOMEM;
    deltas_t dl = {0};
    uint8_t *vbuf = NULL;
    size_t vcap = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    int64_t min_exp = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t e = now_ms + (int64_t)puts[i].ttl * 1000;
        min_exp = e < min_exp ? e : min_exp;
    }
    int64_t cur = atomic_load(&s->sweep_from);
    while (min_exp < cur && !atomic_compare_exchange_weak(&s->sweep_from, &cur, min_exp)) {
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const dmp_store_put_t *p = &puts[i];
        char ln[DMP_STORE_MAX_NAME];
        uint8_t hash[32], rkey[DMP_STORE_RKEY_MAX], ikey[DMP_STORE_IKEY_MAX];
        dmp_store_name_norm(p->name, p->name_len, ln);
        crypto_hash_sha256(hash, p->value_len ? p->value : (const uint8_t *)"", p->value_len);
        size_t rkl = dmp_store_rkey_make(rkey, ln, p->name_len, hash);

        char *err = NULL;
        size_t olen = 0;
        char *old = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
            wb, s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &olen, &err);
        if ((rc = rerr(err)) != 0)
            break;
        if (old == NULL) {
            dl.count_delta++;
            rc = deltas_add(&dl, ln, p->name_len, hash);
        } else {
            dmp_store_rec_t orec;
            if (dmp_store_rec_parse((const uint8_t *)old, olen, &orec) == 0) {
                size_t ikl = ikey_make(ikey, orec.expires_ms, rkey, rkl);
                rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
                ikl = ikey_make(ikey, orec.stored_ms, rkey, rkl);
                rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
            }
            rocksdb_free(old);
        }
        if (rc != 0)
            break;

        int64_t expires = now_ms + (int64_t)p->ttl * 1000;
        size_t need = DMP_STORE_REC_HDR + p->value_len;
        if (need > vcap) {
            uint8_t *nb = realloc(vbuf, need);
            if (nb == NULL) {
                rc = DMP_ENOMEM;
                break;
            }
            vbuf = nb;
            vcap = need;
        }
        dmp_store_rec_hdr(vbuf, p->ttl, now_ms, expires, atomic_fetch_add(&s->seq, 1));
        if (p->value_len)
            memcpy(vbuf + DMP_STORE_REC_HDR, p->value, p->value_len);
        rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                                     (const char *)vbuf, need);
        size_t ikl = ikey_make(ikey, expires, rkey, rkl);
        rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl, "", 0);
        uint8_t ev[8];
        dmp_store_ob64_put(ev, expires);
        ikl = ikey_make(ikey, now_ms, rkey, rkl);
        rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl,
                                     (const char *)ev, 8);
        /* a refresh overwrites the same key: one entry per row either way */
        ikl = dkey_make(ikey, ln, p->name_len, hash);
        rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, ikl,
                                     (const char *)ev, 8);
    }
    if (rc == 0) {
        char *err = NULL;
        deltas_emit(s, &dl, wb, wbi_merge);
        rocksdb_write_writebatch_wi(s->db, (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync, wb,
                                    &err);
        rc = rerr(err);
    }
    pthread_rwlock_unlock(&s->lock);
    rocksdb_writebatch_wi_destroy(wb);
    free(dl.d);
    free(vbuf);
    return rc;
}

int dmp_store_put_batch(dmp_store_t *s, const dmp_store_put_t *puts, size_t n, int64_t now_ms)
{
    return dmp_store_put_batch_ex(s, puts, n, now_ms, 0);
}

int dmp_store_sync_wal(dmp_store_t *s)
{
    if (s == NULL)
        return DMP_EINVAL;
    char *err = NULL;
    rocksdb_flush_wal(s->db, 1, &err); /* FlushWAL(sync=true) ends in SyncWAL() */
    return rerr(err);
}

int dmp_store_put(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                  size_t value_len, uint32_t ttl, int64_t now_ms)
{
    dmp_store_put_t p = {name, name_len, value, value_len, ttl};
    return dmp_store_put_batch(s, &p, 1, now_ms);
}

/* Adds the removal of one row (its record, both index entries, count and Merkle deltas) to
 * batch. rkey/rec describe the row as currently stored. */
static int remove_row(dmp_store_t *s, rocksdb_writebatch_t *wb, deltas_t *dl, const uint8_t *rkey,
                      size_t rkl, const dmp_store_rec_t *rec)
{
    const char *nm;
    size_t nl;
    const uint8_t *h;
    uint8_t ikey[DMP_STORE_IKEY_MAX];
    int rc = dmp_store_rkey_parse(rkey, rkl, &nm, &nl, &h);
    if (rc != 0)
        return rc;
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl);
    size_t dkl = dkey_make(ikey, nm, nl, h);
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, dkl);
    if (rec != NULL) {
        size_t ikl = ikey_make(ikey, rec->expires_ms, rkey, rkl);
        rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
        ikl = ikey_make(ikey, rec->stored_ms, rkey, rkl);
        rocksdb_writebatch_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
    }
    dl->count_delta--;
    return deltas_add(dl, nm, nl, h);
}

int dmp_store_delete(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                     size_t value_len, size_t *removed)
{
    return dmp_store_delete_ex(s, name, name_len, value, value_len, removed, 0);
}

int dmp_store_delete_ex(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, size_t *removed, unsigned flags)
{
    if (removed != NULL)
        *removed = 0;
    if (s == NULL)
        return DMP_EINVAL;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    if (value != NULL && value_len > DMP_STORE_MAX_VALUE)
        return DMP_ENOTFOUND;

    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (wb == NULL)
        return DMP_ENOMEM;
    deltas_t dl = {0};
    size_t nrem = 0;
    uint8_t rkey[DMP_STORE_RKEY_MAX];
    char *err = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if (value != NULL) {
        uint8_t hash[32];
        crypto_hash_sha256(hash, value_len ? value : (const uint8_t *)"", value_len);
        size_t rkl = dmp_store_rkey_make(rkey, ln, name_len, hash);
        size_t olen = 0;
        char *old = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                                   &olen, &err);
        rc = rerr(err);
        if (rc == 0 && old != NULL) {
            dmp_store_rec_t rec;
            bool ok = dmp_store_rec_parse((const uint8_t *)old, olen, &rec) == 0;
            rc = remove_row(s, wb, &dl, rkey, rkl, ok ? &rec : NULL);
            nrem = 1;
        }
        rocksdb_free(old);
    } else {
        size_t pl = dmp_store_rkey_make(rkey, ln, name_len, (const uint8_t[32]){0});
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
        for (rocksdb_iter_seek(it, (const char *)rkey, pl); rc == 0 && rocksdb_iter_valid(it);
             rocksdb_iter_next(it)) {
            size_t kl, vl;
            const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
            const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
            if (kl != pl || memcmp(k, rkey, pl - 32) != 0)
                break;
            dmp_store_rec_t rec;
            bool ok = dmp_store_rec_parse(v, vl, &rec) == 0;
            rc = remove_row(s, wb, &dl, k, kl, ok ? &rec : NULL);
            nrem++;
        }
        rocksdb_iter_get_error(it, &err);
        if (rc == 0)
            rc = rerr(err);
        else if (err != NULL)
            rocksdb_free(err);
        rocksdb_iter_destroy(it);
    }
    if (rc == 0 && nrem > 0) {
        deltas_emit(s, &dl, wb, wb_merge);
        rocksdb_write(s->db, (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync, wb, &err);
        rc = rerr(err);
    }
    pthread_rwlock_unlock(&s->lock);
    rocksdb_writebatch_destroy(wb);
    free(dl.d);
    if (rc != 0)
        return rc;
    if (removed != NULL)
        *removed = nrem;
    return nrem > 0 ? 0 : DMP_ENOTFOUND;
}

/* ---- reads ---- */

typedef struct {
    size_t off; /* offset of the record value in the collection buffer */
    size_t len;
    dmp_store_rec_t rec; /* rec.value is fixed up after collection */
    uint8_t hash[32];
} getent_t;

static int getent_cmp(const void *a, const void *b)
{
    const getent_t *x = a, *y = b;
    if (x->rec.stored_ms != y->rec.stored_ms)
        return x->rec.stored_ms < y->rec.stored_ms ? -1 : 1;
    if (x->rec.seq != y->rec.seq)
        return x->rec.seq < y->rec.seq ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

static void to_public(const dmp_store_rec_t *rec, const uint8_t hash[32], dmp_store_record_t *r)
{
    r->value = rec->value;
    r->value_len = rec->value_len;
    r->ttl = rec->ttl;
    r->stored_ms = rec->stored_ms;
    r->expires_ms = rec->expires_ms;
    memcpy(r->hash, hash, 32);
}

int dmp_store_get(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                  dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL)
        return DMP_EINVAL;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t pkey[DMP_STORE_RKEY_MAX];
    size_t pl = dmp_store_rkey_make(pkey, ln, name_len, (const uint8_t[32]){0});

    getent_t stack_ents[16];
    getent_t *ents = stack_ents;
    size_t n = 0, cap = 16;
    dmp_buf_t vals;
    dmp_buf_init(&vals);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
    for (rocksdb_iter_seek(it, (const char *)pkey, pl); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl != pl || memcmp(k, pkey, pl - 32) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        dmp_store_rec_t rec;
        if (dmp_store_rec_parse(v, vl, &rec) != 0 || rec.expires_ms <= now_ms)
            continue;
        if (n == cap) {
            size_t nc = cap * 2;
            getent_t *ne =
                ents == stack_ents ? malloc(nc * sizeof *ne) : realloc(ents, nc * sizeof *ne);
            if (ne == NULL) {
                rc = DMP_ENOMEM;
                break;
            }
            if (ents == stack_ents)
                memcpy(ne, stack_ents, sizeof stack_ents);
            ents = ne;
            cap = nc;
        }
        getent_t *e = &ents[n];
        e->off = vals.len;
        e->len = rec.value_len;
        e->rec = rec;
        memcpy(e->hash, k + pl - 32, 32);
        if ((rc = dmp_buf_append(&vals, rec.value, rec.value_len)) != 0)
            break;
        n++;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (rc == 0)
        rc = rerr(err);
    else if (err != NULL)
        rocksdb_free(err);
    if (rc == 0 && n == 0)
        rc = DMP_ENOTFOUND;
    if (rc == 0) {
        qsort(ents, n, sizeof *ents, getent_cmp);
        for (size_t i = 0; i < n; i++) {
            dmp_store_record_t r;
            ents[i].rec.value = vals.data ? vals.data + ents[i].off : (const uint8_t *)"";
            to_public(&ents[i].rec, ents[i].hash, &r);
            if (fn(ctx, ln, name_len, &r) != 0)
                break;
        }
    }
    if (ents != stack_ents)
        free(ents);
    dmp_buf_free(&vals);
    return rc;
}

int dmp_store_count_values(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                           size_t *out)
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    *out = 0;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t pkey[DMP_STORE_RKEY_MAX];
    size_t pl = dmp_store_rkey_make(pkey, ln, name_len, (const uint8_t[32]){0});
    size_t n = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
    for (rocksdb_iter_seek(it, (const char *)pkey, pl); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl != pl || memcmp(k, pkey, pl - 32) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        dmp_store_rec_t rec;
        if (dmp_store_rec_parse(v, vl, &rec) == 0 && rec.expires_ms > now_ms)
            n++;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if ((rc = rerr(err)) != 0)
        return rc;
    *out = n;
    return 0;
}

int dmp_store_has_value(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, int64_t now_ms, bool *out)
{
    if (s == NULL || out == NULL || (value == NULL && value_len > 0))
        return DMP_EINVAL;
    *out = false;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t hash[32], rkey[DMP_STORE_RKEY_MAX];
    crypto_hash_sha256(hash, value_len ? value : (const uint8_t *)"", value_len);
    size_t rkl = dmp_store_rkey_make(rkey, ln, name_len, hash);
    char *err = NULL;
    size_t vl = 0;
    char *v =
        rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &vl, &err);
    if ((rc = rerr(err)) != 0)
        return rc;
    if (v != NULL) {
        dmp_store_rec_t rec;
        *out = dmp_store_rec_parse((const uint8_t *)v, vl, &rec) == 0 && rec.expires_ms > now_ms;
        rocksdb_free(v);
    }
    return 0;
}

int dmp_store_has_descendant(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                             bool *out)
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    *out = false;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    if (name_len >= DMP_STORE_MAX_NAME - 1)
        return 0; /* no room for a label below it */
    /* Descendants of X are exactly the index keys starting with reversed(X) "."; the '.'
     * keeps "b.a" (a.b) apart from "b.xa" (xa.b), and X's own rows ("b.a" 0x00 ...) out. */
    char pfx[DMP_STORE_MAX_NAME + 1];
    dmp_store_name_reverse(ln, name_len, pfx);
    pfx[name_len] = '.';
    size_t pl = name_len + 1;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_RNAMES]);
    if (it == NULL)
        return DMP_ENOMEM;
    size_t dead = 0;
    for (rocksdb_iter_seek(it, pfx, pl); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < pl || memcmp(k, pfx, pl) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (vl == 8 && dmp_store_ob64_get(v) > now_ms) {
            *out = true;
            break;
        }
        /* Bounded work: a long run of dead entries (a sweep is due) answers "exists", the
         * safe answer (NODATA instead of an NXDOMAIN that would hide names below). */
        if (++dead >= DESC_MAX_DEAD) {
            *out = true;
            break;
        }
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if ((rc = rerr(err)) != 0) {
        *out = false;
        return rc;
    }
    return 0;
}

int dmp_store_record_count(dmp_store_t *s, uint64_t *out)
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1,
                             &vl, &err);
    int rc = rerr(err);
    if (rc != 0)
        return rc;
    *out = 0;
    if (v != NULL) {
        if (vl == 8)
            *out = dmp_load_u64be((const uint8_t *)v);
        rocksdb_free(v);
    }
    if (*out > (UINT64_C(1) << 62)) /* a transient negative from a corrupt history */
        *out = 0;
    return 0;
}

int dmp_store_bucket_digest(dmp_store_t *s, uint32_t bucket, uint8_t out[32])
{
    if (s == NULL || out == NULL || bucket >= DMP_STORE_MERKLE_BUCKETS)
        return DMP_EINVAL;
    uint8_t k[4];
    dmp_store_u32be(k, bucket);
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_MERKLE], (const char *)k, 4, &vl, &err);
    int rc = rerr(err);
    if (rc != 0)
        return rc;
    memset(out, 0, 32);
    if (v != NULL) {
        if (vl == 32)
            memcpy(out, v, 32);
        rocksdb_free(v);
    }
    return 0;
}

/* ---- sweep ---- */

/* One chunk under the exclusive lock: removes up to `max` expired rows. */
static int sweep_chunk(dmp_store_t *s, int64_t now_ms, size_t max, size_t *removed, bool *more)
{
    uint8_t ub[8];
    bool bounded = now_ms < INT64_MAX;
    if (bounded)
        dmp_store_ob64_put(ub, now_ms + 1);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return DMP_ENOMEM;
    if (bounded)
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)ub, 8);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    deltas_t dl = {0};
    size_t n = 0;
    int rc = wb ? 0 : DMP_ENOMEM;
    char *err = NULL;
    *more = false;

    pthread_rwlock_wrlock(&s->lock);
    rocksdb_iterator_t *it =
        rc == 0 ? rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_EXPIRY]) : NULL;
    int64_t start = atomic_load(&s->sweep_from), resume = INT64_MIN;
    if (it != NULL) {
        uint8_t sk[8];
        dmp_store_ob64_put(sk, start);
        rocksdb_iter_seek(it, (const char *)sk, 8);
    }
    for (; it != NULL && rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        int64_t t;
        const uint8_t *rkey;
        size_t rkl;
        if (dmp_store_ikey_parse(k, kl, &t, &rkey, &rkl) != 0) {
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)k, kl);
            continue;
        }
        if (t > now_ms)
            break; /* only without an upper bound (now_ms == INT64_MAX cannot get here) */
        if (n >= max) {
            *more = true;
            resume = t;
            break;
        }
        size_t vl = 0;
        char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                                 &vl, &err);
        if ((rc = rerr(err)) != 0)
            break;
        dmp_store_rec_t rec;
        if (v != NULL && dmp_store_rec_parse((const uint8_t *)v, vl, &rec) == 0 &&
            rec.expires_ms == t) {
            rc = remove_row(s, wb, &dl, rkey, rkl, &rec);
            n++;
        } else {
            /* Stale index entry (row gone or refreshed): drop just the entry. */
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)k, kl);
        }
        rocksdb_free(v);
    }
    if (it != NULL) {
        rocksdb_iter_get_error(it, &err);
        if (rc == 0)
            rc = rerr(err);
        else if (err != NULL)
            rocksdb_free(err);
        rocksdb_iter_destroy(it);
    }
    if (rc == 0 && rocksdb_writebatch_count(wb) > 0) {
        deltas_emit(s, &dl, wb, wb_merge);
        /* Not synced: a lost sweep is simply redone; the batch is atomic either way. */
        rocksdb_write(s->db, s->wnosync, wb, &err);
        rc = rerr(err);
    }
    if (rc == 0) {
        int64_t next = *more ? resume : (bounded ? now_ms + 1 : start);
        if (next > start)
            atomic_store(&s->sweep_from, next);
    }
    pthread_rwlock_unlock(&s->lock);
    if (wb)
        rocksdb_writebatch_destroy(wb);
    rocksdb_readoptions_destroy(ro);
    free(dl.d);
    if (rc == 0)
        *removed += n;
    return rc;
}

int dmp_store_sweep(dmp_store_t *s, int64_t now_ms, size_t max_records, size_t *removed)
{
    if (removed != NULL)
        *removed = 0;
    if (s == NULL)
        return DMP_EINVAL;
    size_t total = 0;
    int rc = 0;
    for (;;) {
        size_t left = max_records == 0 ? SIZE_MAX : max_records - total;
        size_t chunk = left < SWEEP_CHUNK ? left : SWEEP_CHUNK;
        bool more = false;
        size_t before = total;
        rc = sweep_chunk(s, now_ms, chunk, &total, &more);
        if (rc != 0 || !more || total == before || (max_records && total >= max_records))
            break;
    }
    if (removed != NULL)
        *removed = total;
    if (total > 0)
        dmp_log(DMP_LOG_DEBUG, "store: sweep removed %zu expired records", total);
    return rc;
}

/* ---- anti-entropy iteration ---- */

int dmp_store_iter_since(dmp_store_t *s, int64_t cursor_ms, const char *cursor_name,
                         const uint8_t cursor_hash[32], size_t limit, int64_t now_ms,
                         dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL)
        return DMP_EINVAL;
    size_t cnl = cursor_name ? strlen(cursor_name) : 0;
    /* A cursor name longer than any stored name: every stored name sorting after it sorts
     * after its first DMP_STORE_MAX_NAME bytes followed by 0x01 (equal-prefix names end in
     * 0x00, longer ones cannot exist), and the hash no longer matters. */
    bool too_long = cnl > DMP_STORE_MAX_NAME;
    if (too_long)
        cnl = DMP_STORE_MAX_NAME;
    uint8_t seek[8 + DMP_STORE_MAX_NAME + 1 + 32];
    dmp_store_ob64_put(seek, cursor_ms);
    if (cnl)
        memcpy(seek + 8, cursor_name, cnl);
    seek[8 + cnl] = too_long ? 1 : 0;
    size_t sl = 8 + cnl + 1;
    if (cursor_hash != NULL && !too_long) {
        memcpy(seek + sl, cursor_hash, 32);
        sl += 32;
    }

    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(s->db);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL) {
        rocksdb_release_snapshot(s->db, snap);
        return DMP_ENOMEM;
    }
    rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_total_order_seek(ro, 1);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_BYSTORED]);
    int rc = 0;
    size_t n = 0;
    char *err = NULL;
    for (rocksdb_iter_seek(it, (const char *)seek, sl); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        if (limit != 0 && n >= limit)
            break;
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (kl == sl && memcmp(k, seek, sl) == 0)
            continue; /* strictly after the cursor */
        int64_t ts;
        const uint8_t *rkey;
        size_t rkl;
        if (dmp_store_ikey_parse(k, kl, &ts, &rkey, &rkl) != 0 || vl != 8 ||
            dmp_store_ob64_get(v) <= now_ms)
            continue;
        size_t rl = 0;
        char *rv = rocksdb_get_cf(s->db, ro, s->cf[CF_RECORDS], (const char *)rkey, rkl, &rl, &err);
        if ((rc = rerr(err)) != 0)
            break;
        dmp_store_rec_t rec;
        if (rv != NULL && dmp_store_rec_parse((const uint8_t *)rv, rl, &rec) == 0 &&
            rec.stored_ms == ts && rec.expires_ms > now_ms) {
            const char *nm;
            size_t nml;
            const uint8_t *h;
            dmp_store_rkey_parse(rkey, rkl, &nm, &nml, &h);
            dmp_store_record_t r;
            to_public(&rec, h, &r);
            n++;
            int stop = fn(ctx, nm, nml, &r);
            rocksdb_free(rv);
            if (stop)
                break;
            continue;
        }
        rocksdb_free(rv);
    }
    rocksdb_iter_get_error(it, &err);
    if (rc == 0)
        rc = rerr(err);
    else if (err != NULL)
        rocksdb_free(err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(s->db, snap);
    return rc;
}

int dmp_store_scan_prefix(dmp_store_t *s, const char *prefix, size_t prefix_len, int64_t now_ms,
                          dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL || (prefix == NULL && prefix_len > 0) ||
        prefix_len > DMP_STORE_MAX_NAME)
        return DMP_EINVAL;
    char lp[DMP_STORE_MAX_NAME];
    for (size_t i = 0; i < prefix_len; i++) {
        char c = prefix[i];
        lp[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_RECORDS]);
    if (prefix_len > 0)
        rocksdb_iter_seek(it, lp, prefix_len);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl < prefix_len || memcmp(k, lp, prefix_len) != 0)
            break;
        const char *nm;
        size_t nml;
        const uint8_t *h;
        if (dmp_store_rkey_parse(k, kl, &nm, &nml, &h) != 0 || nml < prefix_len)
            continue;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        dmp_store_rec_t rec;
        if (dmp_store_rec_parse(v, vl, &rec) != 0 || rec.expires_ms <= now_ms)
            continue;
        dmp_store_record_t r;
        to_public(&rec, h, &r);
        if (fn(ctx, nm, nml, &r) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return rerr(err);
}

/* ---- auxiliary key/value maps ---- */

#define KV_MAX_KEY 1024u

static rocksdb_column_family_handle_t *kv_cf(dmp_store_t *s, dmp_store_kv_t kv)
{
    switch (kv) {
    case DMP_STORE_KV_TOKENS:
        return s->cf[CF_TOKENS];
    case DMP_STORE_KV_TSIG:
        return s->cf[CF_TSIG];
    case DMP_STORE_KV_HEARTBEATS:
        return s->cf[CF_HEARTBEATS];
    }
    return NULL;
}

static int kv_check(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len)
{
    if (s == NULL || kv_cf(s, kv) == NULL || key == NULL || key_len == 0 || key_len > KV_MAX_KEY)
        return DMP_EINVAL;
    return 0;
}

int dmp_store_kv_put(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len,
                     const uint8_t *val, size_t val_len)
{
    int rc = kv_check(s, kv, key, key_len);
    if (rc != 0)
        return rc;
    if ((val == NULL && val_len > 0) || val_len > DMP_STORE_MAX_VALUE)
        return DMP_EINVAL;
    char *err = NULL;
    rocksdb_put_cf(s->db, s->wsync, kv_cf(s, kv), (const char *)key, key_len,
                   val_len ? (const char *)val : "", val_len, &err);
    return rerr(err);
}

int dmp_store_kv_get(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len,
                     dmp_buf_t *out)
{
    int rc = kv_check(s, kv, key, key_len);
    if (rc != 0 || out == NULL)
        return rc ? rc : DMP_EINVAL;
    out->len = 0;
    char *err = NULL;
    size_t vl = 0;
    char *v =
        rocksdb_get_cf(s->db, s->rdefault, kv_cf(s, kv), (const char *)key, key_len, &vl, &err);
    if ((rc = rerr(err)) != 0)
        return rc;
    if (v == NULL)
        return DMP_ENOTFOUND;
    rc = dmp_buf_append(out, v, vl);
    rocksdb_free(v);
    return rc;
}

int dmp_store_kv_delete(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len)
{
    int rc = kv_check(s, kv, key, key_len);
    if (rc != 0)
        return rc;
    char *err = NULL;
    rocksdb_delete_cf(s->db, s->wsync, kv_cf(s, kv), (const char *)key, key_len, &err);
    return rerr(err);
}

int dmp_store_kv_scan(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *prefix, size_t prefix_len,
                      dmp_store_kv_visit_fn fn, void *ctx)
{
    if (s == NULL || kv_cf(s, kv) == NULL || fn == NULL || (prefix == NULL && prefix_len > 0))
        return DMP_EINVAL;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, kv_cf(s, kv));
    if (prefix_len > 0)
        rocksdb_iter_seek(it, (const char *)prefix, prefix_len);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl < prefix_len || memcmp(k, prefix, prefix_len) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (fn(ctx, k, kl, v, vl) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return rerr(err);
}

/* ---- several names (sync pull) ---- */

typedef struct {
    char name[DMP_STORE_MAX_NAME];
    size_t name_len;
    size_t off, len; /* value bytes in the collection buffer */
    dmp_store_rec_t rec;
    uint8_t hash[32];
} manyent_t;

typedef struct {
    manyent_t *e;
    size_t n, cap;
    dmp_buf_t vals;
    int rc;
} manycoll_t;

static int many_collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    manycoll_t *m = ctx;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 32;
        manyent_t *ne = realloc(m->e, nc * sizeof *ne);
        if (ne == NULL) {
            m->rc = DMP_ENOMEM;
            return 1;
        }
        m->e = ne;
        m->cap = nc;
    }
    manyent_t *e = &m->e[m->n];
    memcpy(e->name, name, nl);
    e->name_len = nl;
    e->off = m->vals.len;
    e->len = r->value_len;
    e->rec.ttl = r->ttl;
    e->rec.stored_ms = r->stored_ms;
    e->rec.expires_ms = r->expires_ms;
    e->rec.seq = 0;
    memcpy(e->hash, r->hash, 32);
    if ((m->rc = dmp_buf_append(&m->vals, r->value, r->value_len)) != 0)
        return 1;
    m->n++;
    return 0;
}

static int many_cmp(const void *a, const void *b)
{
    const manyent_t *x = a, *y = b;
    if (x->rec.stored_ms != y->rec.stored_ms)
        return x->rec.stored_ms < y->rec.stored_ms ? -1 : 1;
    size_t ml = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, ml);
    if (c != 0)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

int dmp_store_get_names(dmp_store_t *s, const char *const *names, const size_t *name_lens, size_t n,
                        int64_t now_ms, dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL || (n > 0 && (names == NULL || name_lens == NULL)))
        return DMP_EINVAL;
    manycoll_t m = {0};
    dmp_buf_init(&m.vals);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char ln[DMP_STORE_MAX_NAME];
        if (dmp_store_name_norm(names[i], name_lens[i], ln) != 0)
            continue; /* an invalid name holds nothing */
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            char lj[DMP_STORE_MAX_NAME];
            dup = name_lens[j] == name_lens[i] &&
                  dmp_store_name_norm(names[j], name_lens[j], lj) == 0 &&
                  memcmp(lj, ln, name_lens[i]) == 0;
        }
        if (dup)
            continue;
        rc = dmp_store_get(s, ln, name_lens[i], now_ms, many_collect, &m);
        if (rc == DMP_ENOTFOUND)
            rc = 0;
        if (rc == 0)
            rc = m.rc;
    }
    if (rc == 0) {
        if (m.n > 1)
            qsort(m.e, m.n, sizeof *m.e, many_cmp);
        for (size_t i = 0; i < m.n; i++) {
            dmp_store_record_t r;
            m.e[i].rec.value = m.vals.data ? m.vals.data + m.e[i].off : (const uint8_t *)"";
            m.e[i].rec.value_len = m.e[i].len;
            to_public(&m.e[i].rec, m.e[i].hash, &r);
            if (fn(ctx, m.e[i].name, m.e[i].name_len, &r) != 0)
                break;
        }
    }
    free(m.e);
    dmp_buf_free(&m.vals);
    return rc;
}

/* ---- mixed transactions (one WriteBatch of puts and deletes) ----
 * Appended as one block (the node's all-or-nothing write path, used by DNS UPDATE): every op
 * sees the ops before it in the same batch (WriteBatchWithIndex reads through to the DB). */

static void remove_row_wi(dmp_store_t *s, rocksdb_writebatch_wi_t *wb, deltas_t *dl, const char *ln,
                          size_t nl, const uint8_t *rkey, size_t rkl, const uint8_t hash[32],
                          const dmp_store_rec_t *rec, int *rc)
{
    uint8_t ikey[DMP_STORE_IKEY_MAX];
    rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl);
    size_t dkl = dkey_make(ikey, ln, nl, hash);
    rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, dkl);
    if (rec != NULL) {
        size_t ikl = ikey_make(ikey, rec->expires_ms, rkey, rkl);
        rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
        ikl = ikey_make(ikey, rec->stored_ms, rkey, rkl);
        rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
    }
    dl->count_delta--;
    if (*rc == 0)
        *rc = deltas_add(dl, ln, nl, hash);
}

static int apply_put(dmp_store_t *s, rocksdb_writebatch_wi_t *wb, deltas_t *dl,
                     const dmp_store_op_t *p, const char *ln, int64_t now_ms, uint8_t **vbuf,
                     size_t *vcap)
{
    uint8_t hash[32], rkey[DMP_STORE_RKEY_MAX], ikey[DMP_STORE_IKEY_MAX];
    crypto_hash_sha256(hash, p->value_len ? p->value : (const uint8_t *)"", p->value_len);
    size_t rkl = dmp_store_rkey_make(rkey, ln, p->name_len, hash);
    char *err = NULL;
    size_t olen = 0;
    char *old = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
        wb, s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &olen, &err);
    int rc = rerr(err);
    if (rc != 0)
        return rc;
    if (old == NULL) {
        dl->count_delta++;
        rc = deltas_add(dl, ln, p->name_len, hash);
    } else {
        dmp_store_rec_t orec;
        if (dmp_store_rec_parse((const uint8_t *)old, olen, &orec) == 0) {
            size_t ikl = ikey_make(ikey, orec.expires_ms, rkey, rkl);
            rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
            ikl = ikey_make(ikey, orec.stored_ms, rkey, rkl);
            rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
        }
        rocksdb_free(old);
    }
    if (rc != 0)
        return rc;
    int64_t expires = now_ms + (int64_t)p->ttl * 1000;
    size_t need = DMP_STORE_REC_HDR + p->value_len;
    if (need > *vcap) {
        uint8_t *nb = realloc(*vbuf, need);
        if (nb == NULL)
            return DMP_ENOMEM;
        *vbuf = nb;
        *vcap = need;
    }
    dmp_store_rec_hdr(*vbuf, p->ttl, now_ms, expires, atomic_fetch_add(&s->seq, 1));
    if (p->value_len)
        memcpy(*vbuf + DMP_STORE_REC_HDR, p->value, p->value_len);
    rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                                 (const char *)*vbuf, need);
    size_t ikl = ikey_make(ikey, expires, rkey, rkl);
    rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl, "", 0);
    uint8_t ev[8];
    dmp_store_ob64_put(ev, expires);
    ikl = ikey_make(ikey, now_ms, rkey, rkl);
    rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl, (const char *)ev,
                                 8);
    ikl = dkey_make(ikey, ln, p->name_len, hash);
    rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, ikl, (const char *)ev,
                                 8);
    return 0;
}

static int apply_delete(dmp_store_t *s, rocksdb_writebatch_wi_t *wb, deltas_t *dl,
                        dmp_store_op_t *p, const char *ln)
{
    uint8_t rkey[DMP_STORE_RKEY_MAX];
    char *err = NULL;
    int rc = 0;
    if (p->op == DMP_STORE_OP_DEL_VALUE) {
        if (p->value_len > DMP_STORE_MAX_VALUE)
            return 0; /* cannot be stored, so nothing to remove */
        uint8_t hash[32];
        crypto_hash_sha256(hash, p->value_len ? p->value : (const uint8_t *)"", p->value_len);
        size_t rkl = dmp_store_rkey_make(rkey, ln, p->name_len, hash);
        size_t olen = 0;
        char *old = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
            wb, s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &olen, &err);
        rc = rerr(err);
        if (rc == 0 && old != NULL) {
            dmp_store_rec_t rec;
            bool ok = dmp_store_rec_parse((const uint8_t *)old, olen, &rec) == 0;
            remove_row_wi(s, wb, dl, ln, p->name_len, rkey, rkl, hash, ok ? &rec : NULL, &rc);
            p->removed = 1;
        }
        rocksdb_free(old);
        return rc;
    }
    /* every value: walk the name's rows as this batch sees them; collect the keys first (the
     * iterator must not see its own deletes mid-walk) */
    size_t pl = dmp_store_rkey_make(rkey, ln, p->name_len, (const uint8_t[32]){0});
    rocksdb_iterator_t *base = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
    rocksdb_iterator_t *it =
        rocksdb_writebatch_wi_create_iterator_with_base_cf(wb, base, s->cf[CF_RECORDS]);
    typedef struct {
        uint8_t k[DMP_STORE_RKEY_MAX];
        size_t kl;
        dmp_store_rec_t rec;
        bool ok;
    } victim_t;
    victim_t *vs = NULL;
    size_t nv = 0, cv = 0;
    for (rocksdb_iter_seek(it, (const char *)rkey, pl); rc == 0 && rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (kl != pl || memcmp(k, rkey, pl - 32) != 0)
            break;
        if (nv == cv) {
            size_t nc = cv ? cv * 2 : 8;
            victim_t *nvs = realloc(vs, nc * sizeof(*nvs));
            if (nvs == NULL) {
                rc = DMP_ENOMEM;
                break;
            }
            vs = nvs;
            cv = nc;
        }
        memcpy(vs[nv].k, k, kl);
        vs[nv].kl = kl;
        vs[nv].ok = dmp_store_rec_parse(v, vl, &vs[nv].rec) == 0;
        vs[nv].rec.value = NULL; /* points into the iterator: not kept */
        nv++;
    }
    rocksdb_iter_get_error(it, &err);
    if (rc == 0)
        rc = rerr(err);
    else if (err != NULL)
        rocksdb_free(err);
    rocksdb_iter_destroy(it); /* also destroys base */
    for (size_t i = 0; i < nv && rc == 0; i++) {
        const char *nm;
        size_t nl;
        const uint8_t *h;
        rc = dmp_store_rkey_parse(vs[i].k, vs[i].kl, &nm, &nl, &h);
        if (rc == 0)
            remove_row_wi(s, wb, dl, ln, p->name_len, vs[i].k, vs[i].kl, h,
                          vs[i].ok ? &vs[i].rec : NULL, &rc);
    }
    if (rc == 0)
        p->removed = nv;
    free(vs);
    return rc;
}

int dmp_store_apply_ex(dmp_store_t *s, dmp_store_op_t *ops, size_t n, int64_t now_ms,
                       unsigned flags, size_t *changed)
{
    if (changed != NULL)
        *changed = 0;
    if (s == NULL || (ops == NULL && n > 0))
        return DMP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const dmp_store_op_t *p = &ops[i];
        char tmp[DMP_STORE_MAX_NAME];
        int rc = dmp_store_name_norm(p->name, p->name_len, tmp);
        if (rc != 0)
            return rc;
        if (p->op != DMP_STORE_OP_PUT && p->op != DMP_STORE_OP_DEL_VALUE &&
            p->op != DMP_STORE_OP_DEL_ALL)
            return DMP_EINVAL;
        if (p->op != DMP_STORE_OP_DEL_ALL && p->value == NULL && p->value_len > 0)
            return DMP_EINVAL;
        if (p->op == DMP_STORE_OP_PUT && p->value_len > DMP_STORE_MAX_VALUE)
            return DMP_ETOOBIG;
        if (p->op == DMP_STORE_OP_PUT &&
            (now_ms > INT64_MAX - (int64_t)p->ttl * 1000 || now_ms < INT64_MIN / 2))
            return DMP_ERANGE;
    }
    for (size_t i = 0; i < n; i++)
        ops[i].removed = 0;
    if (n == 0)
        return 0;
    rocksdb_writebatch_wi_t *wb = rocksdb_writebatch_wi_create(0, 1);
    if (wb == NULL)
        return DMP_ENOMEM;
    deltas_t dl = {0};
    uint8_t *vbuf = NULL;
    size_t vcap = 0, nchanged = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    int64_t min_exp = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].op != DMP_STORE_OP_PUT)
            continue;
        int64_t e = now_ms + (int64_t)ops[i].ttl * 1000;
        min_exp = e < min_exp ? e : min_exp;
    }
    int64_t cur = atomic_load(&s->sweep_from);
    while (min_exp < cur && !atomic_compare_exchange_weak(&s->sweep_from, &cur, min_exp)) {
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        dmp_store_op_t *p = &ops[i];
        char ln[DMP_STORE_MAX_NAME];
        dmp_store_name_norm(p->name, p->name_len, ln);
        if (p->op == DMP_STORE_OP_PUT) {
            rc = apply_put(s, wb, &dl, p, ln, now_ms, &vbuf, &vcap);
            nchanged++;
        } else {
            rc = apply_delete(s, wb, &dl, p, ln);
            nchanged += p->removed;
        }
    }
    if (rc == 0 && nchanged > 0) {
        char *err = NULL;
        deltas_emit(s, &dl, wb, wbi_merge);
        rocksdb_write_writebatch_wi(s->db, (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync, wb,
                                    &err);
        rc = rerr(err);
    }
    pthread_rwlock_unlock(&s->lock);
    rocksdb_writebatch_wi_destroy(wb);
    free(dl.d);
    free(vbuf);
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            ops[i].removed = 0;
        return rc;
    }
    if (changed != NULL)
        *changed = nchanged;
    return 0;
}
