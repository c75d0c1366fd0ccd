/* store: the zone's SOA serial, persisted in CF_META ("soa_serial", u64 BE) and advanced by one
 * in the same WriteBatch as every change set (put batch, delete, transaction, sweep chunk that
 * removes rows). A fresh store starts at the Unix time of its creation, so a serial never goes
 * below what a time-based serial of an older build handed out. */
#include "store/store_internal.h"

#include <string.h>
#include <time.h>

#define META_SERIAL "soa_serial"

int dmp_store_serial_load(dmp_store_t *s)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_SERIAL,
                             sizeof META_SERIAL - 1, &vl, &err);
    int rc = dmp_store_rerr(err);
    if (rc != 0)
        return rc;
    uint64_t cur;
    if (v != NULL && vl == 8) {
        cur = dmp_load_u64be((const uint8_t *)v);
    } else {
        cur = (uint64_t)time(NULL);
        uint8_t b[8];
        dmp_store_u64be(b, cur);
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1,
                       (const char *)b, 8, &err);
        rc = dmp_store_rerr(err);
    }
    rocksdb_free(v);
    atomic_store(&s->serial, cur);
    if (rc != 0)
        return rc;
    /* the record count, resolved from the add merges of older builds if there are any */
    v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1, &vl,
                       &err);
    rc = dmp_store_rerr(err);
    s->count = (rc == 0 && v != NULL && vl == 8) ? dmp_load_u64be((const uint8_t *)v) : 0;
    rocksdb_free(v);
    return rc;
}

void dmp_store_journal_note(dmp_store_deltas_t *dl, uint8_t op, const char *lname, size_t nl,
                            const uint8_t *value, size_t vlen)
{
    if (dl->journal_failed)
        return;
    if (nl > 255 || vlen > UINT32_MAX || dmp_buf_append_u8(&dl->journal, op) != 0 ||
        dmp_buf_append_u8(&dl->journal, (uint8_t)nl) != 0 ||
        dmp_buf_append(&dl->journal, lname, nl) != 0 ||
        dmp_buf_append_u32be(&dl->journal, (uint32_t)vlen) != 0 ||
        (vlen && dmp_buf_append(&dl->journal, value, vlen) != 0))
        dl->journal_failed = true;
}

static void batch_put(void *batch, bool wi, rocksdb_column_family_handle_t *cf, const char *k,
                      size_t kl, const char *v, size_t vl)
{
    if (wi)
        rocksdb_writebatch_wi_put_cf(batch, cf, k, kl, v, vl);
    else
        rocksdb_writebatch_put_cf(batch, cf, k, kl, v, vl);
}

/* The serial is assigned and the batch written under serial_mu, so serials reach the WAL in
 * order and the persisted value is always the latest one. The change set's journal entry goes
 * under the new serial in the same batch. The journal is trimmed JOURNAL_TRIM entries at a
 * time: every JOURNAL_TRIM-th serial drops the JOURNAL_TRIM entries that have just fallen
 * DMP_STORE_JOURNAL_MAX behind (one run of adjacent deletes instead of a delete in every
 * change set, each a memtable insert far from the put at the journal's head), so at most
 * DMP_STORE_JOURNAL_MAX + JOURNAL_TRIM - 1 entries are kept; dmp_store_journal_read never
 * reads past DMP_STORE_JOURNAL_MAX. A change set whose diff could not be recorded writes no
 * entry: IXFR across it falls back to AXFR.
 * The record count (meta "record_count") is kept in memory under serial_mu and written as a
 * Put of its new value when the change set moves it: an add merge would make RocksDB count the
 * key's pending merges in the memtable on every write (max_successive_merges). */
#define JOURNAL_TRIM 64u
int dmp_store_write_stamped(dmp_store_t *s, const rocksdb_writeoptions_t *wo, void *batch, bool wi,
                            dmp_store_deltas_t *dl)
{
    char *err = NULL;
    uint8_t b[8], cv[8];
    pthread_mutex_lock(&s->serial_mu);
    uint64_t next = atomic_load(&s->serial) + 1;
    dmp_store_u64be(b, next);
    bool jr = dl && !dl->journal_failed;
    const char *jv = jr && dl->journal.data ? (const char *)dl->journal.data : "";
    size_t jl = jr ? dl->journal.len : 0;
    uint64_t count = s->count;
    if (dl && dl->count_delta != 0) {
        count += (uint64_t)dl->count_delta; /* wraps like the add merge did */
        dmp_store_u64be(cv, count);
        batch_put(batch, wi, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1, (const char *)cv,
                  8);
    }
    batch_put(batch, wi, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1, (const char *)b, 8);
    if (jr)
        batch_put(batch, wi, s->cf[CF_JOURNAL], (const char *)b, 8, jv, jl);
    if (next % JOURNAL_TRIM == 0) {
        for (uint64_t k = next - DMP_STORE_JOURNAL_MAX - (JOURNAL_TRIM - 1);
             k <= next - DMP_STORE_JOURNAL_MAX; k++) {
            uint8_t old[8];
            dmp_store_u64be(old, k);
            if (wi)
                rocksdb_writebatch_wi_delete_cf(batch, s->cf[CF_JOURNAL], (const char *)old, 8);
            else
                rocksdb_writebatch_delete_cf(batch, s->cf[CF_JOURNAL], (const char *)old, 8);
        }
    }
    if (wi)
        rocksdb_write_writebatch_wi(s->db, wo, batch, &err);
    else
        rocksdb_write(s->db, wo, batch, &err);
    int rc = dmp_store_werr(s, err);
    if (rc == 0) {
        atomic_store(&s->serial, next);
        s->count = count;
    }
    pthread_mutex_unlock(&s->serial_mu);
    return rc;
}

uint32_t dmp_store_soa_serial(dmp_store_t *s)
{
    return s ? (uint32_t)atomic_load_explicit(&s->serial, memory_order_relaxed) : 0;
}

int dmp_store_zone_scan(dmp_store_t *s, int64_t now_ms, uint32_t *serial, dmp_store_visit_fn fn,
                        void *ctx)
{
    if (s == NULL || serial == NULL || fn == NULL)
        return DMP_EINVAL;
    /* one snapshot for the serial and the rows: the transfer is exactly that version */
    const rocksdb_snapshot_t *snap = rocksdb_create_snapshot(s->db);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (snap == NULL || ro == NULL) {
        if (ro)
            rocksdb_readoptions_destroy(ro);
        if (snap)
            rocksdb_release_snapshot(s->db, snap);
        return DMP_ENOMEM;
    }
    rocksdb_readoptions_set_snapshot(ro, snap);
    rocksdb_readoptions_set_fill_cache(ro, 0); /* a full walk must not evict the hot set */
    char *err = NULL;
    size_t vl = 0;
    char *v =
        rocksdb_get_cf(s->db, ro, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1, &vl, &err);
    int rc = dmp_store_rerr(err);
    *serial = (v != NULL && vl == 8) ? (uint32_t)dmp_load_u64be((const uint8_t *)v)
                                     : dmp_store_soa_serial(s);
    rocksdb_free(v);
    rocksdb_iterator_t *it =
        rc == 0 ? rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_RECORDS]) : NULL;
    if (it != NULL) {
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, rl;
            const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
            const char *nm;
            size_t nml;
            const uint8_t *h;
            if (dmp_store_rkey_parse(k, kl, &nm, &nml, &h) != 0)
                continue;
            const uint8_t *rv = (const uint8_t *)rocksdb_iter_value(it, &rl);
            dmp_store_rec_t rec;
            /* rows physically present, expired or not: that is the version the serial names
             * (a row leaves it with the sweep, which moves the serial and journals it) */
            (void)now_ms;
            if (dmp_store_rec_parse(rv, rl, &rec) != 0)
                continue;
            dmp_store_record_t r;
            dmp_store_to_public(&rec, h, &r);
            if (fn(ctx, nm, nml, &r) != 0)
                break;
        }
        rocksdb_iter_get_error(it, &err);
        rc = dmp_store_rerr(err);
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    rocksdb_release_snapshot(s->db, snap);
    return rc;
}

int dmp_store_journal_read(dmp_store_t *s, uint32_t from, uint32_t upto, dmp_store_change_fn fn,
                           void *ctx)
{
    if (s == NULL)
        return DMP_EINVAL;
    uint64_t cur = atomic_load(&s->serial);
    uint32_t ahead = (uint32_t)cur - upto; /* RFC 1982 distances from the current serial */
    uint32_t behind = upto - from;
    if (ahead > cur || behind > cur || (uint64_t)ahead + behind >= DMP_STORE_JOURNAL_MAX)
        return DMP_ENOTFOUND;
    uint64_t last = cur - ahead, first = last - behind + 1;
    int rc = 0;
    for (uint64_t k = first; rc == 0 && k <= last; k++) {
        uint8_t key[8];
        dmp_store_u64be(key, k);
        char *err = NULL;
        size_t vl = 0;
        char *v =
            rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_JOURNAL], (const char *)key, 8, &vl, &err);
        rc = dmp_store_rerr(err);
        if (rc == 0 && v == NULL)
            rc = DMP_ENOTFOUND; /* trimmed, or a change set that could not be journaled */
        dmp_rd_t r;
        dmp_rd_init(&r, (const uint8_t *)v, v ? vl : 0);
        while (rc == 0 && fn != NULL && dmp_rd_left(&r) > 0) {
            uint8_t op, nl;
            uint32_t len;
            const uint8_t *nm, *val;
            if (dmp_rd_u8(&r, &op) || dmp_rd_u8(&r, &nl) || dmp_rd_bytes(&r, nl, &nm) ||
                dmp_rd_u32(&r, &len) || dmp_rd_bytes(&r, len, &val) || (op != 1 && op != 2)) {
                rc = DMP_STORE_ECORRUPT;
                break;
            }
            if (fn(ctx, (uint32_t)k, op == 1, (const char *)nm, nl, val, len) != 0)
                rc = DMP_EAGAIN;
        }
        rocksdb_free(v);
        if (rc == 0 && fn != NULL && fn(ctx, (uint32_t)k, false, NULL, 0, NULL, 0) != 0)
            rc = DMP_EAGAIN;
    }
    return rc;
}
