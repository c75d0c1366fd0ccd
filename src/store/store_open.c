/* store: opening and closing the RocksDB store, its column families and the schema version
 * (with the 1 -> 2 migration). Key schema, column families and durability: docs/store.md. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const dmp_store_cf_names[CF_OURS] = {
    "default", "records",    "expiry", "bystored", "meta",  "merkle",  "tokens",
    "tsig",    "heartbeats", "rnames", "buckets",  "tombs", "journal",
};

const char *dmp_store_strerror(int err)
{
    if (err == DMP_STORE_ECORRUPT)
        return "store: stored record does not decode";
    if (err == DMP_STORE_ENOSPC)
        return "store: no space left on device";
    return dmp_strerror(err);
}

/* ---- helpers ---- */

static void dmp_store_set_err(char *errbuf, size_t errlen, const char *fmt, const char *a,
                              const char *b)
{
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, fmt, a ? a : "", b ? b : "");
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
    int live = atomic_load(&s->readers);
    if (live != 0) /* a caller's bug: their iterators would outlive the database */
        dmp_log(DMP_LOG_ERROR, "store: closed with %d reader(s) not freed", live);
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
    if (s->rquery)
        rocksdb_readoptions_destroy(s->rquery);
    if (s->rquery_nofill)
        rocksdb_readoptions_destroy(s->rquery_nofill);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->tomb_mu);
    pthread_mutex_destroy(&s->serial_mu);
    free(s->path);
    free(s);
}

/* store_internal.h; an iterator that cannot be made counts as not empty (the safe answer). */
bool dmp_store_cf_empty(dmp_store_t *s, int cf)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[cf]);
    if (it == NULL)
        return false;
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

/* Schema 1 -> 2 -> 3: builds the CF_RNAMES (from 1) and CF_BUCKETS (from 1 or 2) indexes from
 * every row of CF_RECORDS (expired rows too:
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
    /* 3 -> 4 only adds the (empty) journal: nothing to walk */
    if (from >= 3)
        rocksdb_iter_seek_to_last(it);
    for (from >= 3 ? (void)0 : rocksdb_iter_seek_to_first(it);
         from < 3 && err == NULL && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
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
        size_t dkl = dmp_store_dkey_make(dk, nm, nl, h);
        dmp_store_ob64_put(ev, rec.expires_ms);
        if (from < 2)
            rocksdb_writebatch_put_cf(wb, s->cf[CF_RNAMES], (const char *)dk, dkl, (const char *)ev,
                                      8);
        uint8_t bk[DMP_STORE_BKEY_MAX];
        size_t bkl = dmp_store_bkey_make(bk, nm, nl, h);
        rocksdb_writebatch_put_cf(wb, s->cf[CF_BUCKETS], (const char *)bk, bkl, (const char *)ev,
                                  8);
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
        dmp_store_set_err(errbuf, errlen, "store %s: schema migration failed: %s", path, err);
        rocksdb_free(err);
        return DMP_EIO;
    }
    dmp_info("store %s: migrated schema %u -> %u: indexed %zu rows (%zu undecodable "
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
        dmp_store_set_err(errbuf, errlen, "store %s: cannot read schema version: %s", path, err);
        rocksdb_free(err);
        return DMP_EIO;
    }
    if (v == NULL) {
        uint8_t b[4];
        dmp_store_u32be(b, DMP_STORE_SCHEMA_VERSION);
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], META_VERSION, sizeof META_VERSION - 1,
                       (const char *)b, 4, &err);
        if (err != NULL) {
            dmp_store_set_err(errbuf, errlen, "store %s: cannot write schema version: %s", path,
                              err);
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
        dmp_store_set_err(
            errbuf, errlen,
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
        dmp_store_set_err(errbuf, errlen, "store: bad arguments%s%s", NULL, NULL);
        return DMP_EINVAL;
    }
    *out = NULL;
    if (sodium_init() < 0) {
        dmp_store_set_err(errbuf, errlen, "store: libsodium init failed%s%s", NULL, NULL);
        return DMP_ECRYPTO;
    }
    dmp_store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return DMP_ENOMEM;
    pthread_rwlockattr_t la;
    pthread_rwlockattr_init(&la);
    pthread_rwlockattr_setkind_np(&la, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &la);
    pthread_mutex_init(&s->tomb_mu, NULL);
    pthread_mutex_init(&s->serial_mu, NULL);
    pthread_rwlockattr_destroy(&la);
    atomic_init(&s->seq, seq_seed());
    atomic_init(&s->sweep_from, INT64_MIN);
    dmp_store_space_set_source(s, NULL, NULL);
    /* a WAL sync excludes writers within two write buffers of the reserve: RocksDB
     * preallocates each WAL file by about one write buffer */
    s->space_margin = 2 * (o->write_buffer_bytes ? o->write_buffer_bytes : DEFAULT_WBUF_BYTES);
    s->path = strdup(o->path);

    int rc = s->path ? dmp_store_build_options(s, o) : DMP_ENOMEM;
    if (rc != 0) {
        dmp_store_set_err(errbuf, errlen, "store: out of memory%s%s", NULL, NULL);
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
        names[i] = dmp_store_cf_names[i];
        opts[i] = s->cfopts[i];
    }
    for (size_t j = 0; j < n_disk; j++) {
        bool known = false;
        for (size_t i = 0; i < CF_OURS; i++)
            known = known || strcmp(disk[j], dmp_store_cf_names[i]) == 0;
        if (!known) {
            names[n_all] = disk[j];
            opts[n_all] = s->extra_opts;
            n_all++;
        }
    }
    s->db =
        rocksdb_open_column_families(s->dbopts, o->path, (int)n_all, names, opts, handles, &err);
    if (err != NULL) {
        dmp_store_set_err(errbuf, errlen, "store %s: cannot open: %s", o->path, err);
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
    if (rc == 0)
        rc = dmp_store_load_check(s, o->path, errbuf, errlen);
    if (rc == 0 && (rc = dmp_store_serial_load(s)) != 0)
        dmp_store_set_err(errbuf, errlen, "store %s: cannot read the zone serial%s", o->path, "");
    if (rc == 0) /* a tombstone written before a restart must still be lifted by a put */
        atomic_init(&s->has_tombs, !dmp_store_cf_empty(s, CF_TOMBS));

out_lists:
    free(names);
    free(opts);
    free(handles);
    if (disk != NULL)
        rocksdb_list_column_families_destroy(disk, n_disk);
    if (rc != 0) {
        if (rc == DMP_ENOMEM)
            dmp_store_set_err(errbuf, errlen, "store: out of memory%s%s", NULL, NULL);
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
