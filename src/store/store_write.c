/* store: writes. Puts and deletes build one RocksDB write batch each, keeping every index,
 * the record count and the Merkle buckets consistent with CF_RECORDS (store_internal.h). */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

static bool same_name(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        x = (x >= 'A' && x <= 'Z') ? (char)(x - 'A' + 'a') : x;
        y = (y >= 'A' && y <= 'Z') ? (char)(y - 'A' + 'a') : y;
        if (x != y)
            return false;
    }
    return true;
}

/* Do two of the puts write the same row (same name as the store lowercases it, same value)? */
static bool same_row_twice(const dmp_store_put_t *puts, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (puts[i].name_len == puts[j].name_len && puts[i].value_len == puts[j].value_len &&
                (puts[i].value_len == 0 ||
                 memcmp(puts[i].value, puts[j].value, puts[i].value_len) == 0) &&
                same_name(puts[i].name, puts[j].name, puts[i].name_len))
                return true;
    return false;
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
    if (atomic_load_explicit(&s->space_low, memory_order_relaxed))
        return DMP_STORE_ENOSPC; /* below the reserve (store_space.c): nothing written */

    /* a plain batch unless two puts write the same row (then the second must see the first) */
    dmp_store_wb_t wb = {0};
    dmp_store_stage_t stage = {0};
    if (same_row_twice(puts, n)) {
        wb.wi = rocksdb_writebatch_wi_create(0, 1);
    } else {
        wb.plain = rocksdb_writebatch_create();
        wb.stage = &stage;
    }
    if (wb.wi == NULL && wb.plain == NULL)
        return DMP_ENOMEM;
    dmp_store_deltas_t dl = {0};
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
        dmp_store_name_norm(p->name, p->name_len, ln);
        dmp_store_op_t op = {.op = DMP_STORE_OP_PUT,
                             .name = p->name,
                             .name_len = p->name_len,
                             .value = p->value,
                             .value_len = p->value_len,
                             .ttl = p->ttl};
        rc = dmp_store_apply_put(s, &wb, &dl, &op, ln, now_ms, &vbuf, &vcap);
    }
    if (rc == 0) {
        const rocksdb_writeoptions_t *wo = (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync;
        if (wb.wi) {
            dmp_store_deltas_emit(s, &dl, wb.wi, dmp_store_wbi_merge);
            rc = dmp_store_write_stamped(s, wo, wb.wi, true, &dl);
        } else if ((rc = dmp_store_stage_emit(&stage, wb.plain)) == 0) {
            dmp_store_deltas_emit(s, &dl, wb.plain, dmp_store_wb_merge);
            rc = dmp_store_write_stamped(s, wo, wb.plain, false, &dl);
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (wb.wi)
        rocksdb_writebatch_wi_destroy(wb.wi);
    else
        rocksdb_writebatch_destroy(wb.plain);
    dmp_store_stage_free(&stage);
    free(dl.d);
    dmp_buf_free(&dl.journal);
    free(vbuf);
    return rc;
}

/* RocksDB counts, per thread, every key comparison and block read into its perf context
 * unless that thread's perf level is "disabled": each count is a thread-local access through
 * __tls_get_addr (a shared library), inside every skiplist step of a memtable insert. */
void dmp_store_perf_off(void)
{
    static _Thread_local bool off;
    if (!off) {
        rocksdb_set_perf_level(rocksdb_disable);
        off = true;
    }
}

int dmp_store_put_batch(dmp_store_t *s, const dmp_store_put_t *puts, size_t n, int64_t now_ms)
{
    return dmp_store_put_batch_ex(s, puts, n, now_ms, 0);
}

static int sync_wal(dmp_store_t *s)
{
    char *err = NULL;
    if (atomic_load(&s->write_failed)) {
        /* After a failed write the WAL writer must not be synced (see write_failed). A synced
         * write goes through RocksDB's write path, which refuses while the database is in
         * its background-error state and, once RocksDB has recovered (a fresh WAL), syncs
         * everything written before it: so it both probes and syncs. */
        static const char k[] = "write_probe";
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], k, sizeof k - 1, "1", 1, &err);
        int rc = dmp_store_rerr(err);
        if (rc == 0)
            atomic_store(&s->write_failed, 0);
        return rc;
    }
    rocksdb_flush_wal(s->db, 1, &err); /* FlushWAL(sync=true) ends in SyncWAL() */
    return dmp_store_werr(s, err);
}

int dmp_store_sync_wal(dmp_store_t *s)
{
    if (s == NULL)
        return DMP_EINVAL;
    /* write_failed is set only once a failing write has returned: a sync racing the append
     * that fails would meet RocksDB's WAL writer in its failed state (an assertion in
     * librocksdb 7.8). Writers hold `lock` shared across the write and the setting of
     * write_failed, so near a full disk, or after a failure, the sync takes it exclusive: no
     * append is in flight, and write_failed is settled. With room to spare, no lock. */
    bool excl = atomic_load(&s->write_failed) || dmp_store_space_tight(s);
    if (excl)
        pthread_rwlock_wrlock(&s->lock);
    int rc = sync_wal(s);
    if (excl)
        pthread_rwlock_unlock(&s->lock);
    return rc;
}

bool dmp_store_writes_failing(const dmp_store_t *s)
{
    return s && atomic_load(&((dmp_store_t *)s)->write_failed) != 0;
}

int dmp_store_put(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                  size_t value_len, uint32_t ttl, int64_t now_ms)
{
    dmp_store_put_t p = {name, name_len, value, value_len, ttl};
    return dmp_store_put_batch(s, &p, 1, now_ms);
}

/* Adds the removal of one row (its record, both index entries, count and Merkle deltas) to
 * batch. rkey/rec describe the row as currently stored. */
int dmp_store_remove_row(dmp_store_t *s, rocksdb_writebatch_t *wb, dmp_store_deltas_t *dl,
                         const uint8_t *rkey, size_t rkl, const dmp_store_rec_t *rec, bool tomb)
{
    const char *nm;
    size_t nl;
    const uint8_t *h;
    uint8_t ikey[DMP_STORE_IKEY_MAX];
    int rc = dmp_store_rkey_parse(rkey, rkl, &nm, &nl, &h);
    if (rc != 0)
        return rc;
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl);
    size_t dkl = dmp_store_dkey_make(ikey, nm, nl, h);
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, dkl);
    uint8_t bk[DMP_STORE_BKEY_MAX];
    size_t bkl = dmp_store_bkey_make(bk, nm, nl, h);
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_BUCKETS], (const char *)bk, bkl);
    if (tomb && rec != NULL) {
        atomic_store(&s->has_tombs, true); /* before the batch that holds it is written */
        uint8_t ev[8];
        dmp_store_ob64_put(ev, rec->expires_ms);
        rocksdb_writebatch_put_cf(wb, s->cf[CF_TOMBS], (const char *)bk, bkl, (const char *)ev, 8);
    }
    if (rec != NULL) {
        size_t ikl = dmp_store_ikey_make(ikey, rec->expires_ms, rkey, rkl);
        rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
        ikl = dmp_store_ikey_make(ikey, rec->stored_ms, rkey, rkl);
        rocksdb_writebatch_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
    }
    if (rec != NULL)
        dmp_store_journal_note(dl, 2, nm, nl, rec->value, rec->value_len);
    else
        dl->journal_failed = true; /* an undecodable row: its RR cannot be journaled */
    dl->count_delta--;
    return dmp_store_deltas_add(dl, nm, nl, h);
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
    dmp_store_deltas_t dl = {0};
    size_t nrem = 0;
    uint8_t rkey[DMP_STORE_RKEY_MAX];
    char *err = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if (value != NULL) {
        uint8_t hash[32];
        dmp_store_sha256(hash, value, value_len);
        size_t rkl = dmp_store_rkey_make(rkey, ln, name_len, hash);
        size_t olen = 0;
        char *old = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                                   &olen, &err);
        rc = dmp_store_rerr(err);
        if (rc == 0 && old != NULL) {
            dmp_store_rec_t rec;
            bool ok = dmp_store_rec_parse((const uint8_t *)old, olen, &rec) == 0;
            rc = dmp_store_remove_row(s, wb, &dl, rkey, rkl, ok ? &rec : NULL, true);
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
            rc = dmp_store_remove_row(s, wb, &dl, k, kl, ok ? &rec : NULL, true);
            nrem++;
        }
        rocksdb_iter_get_error(it, &err);
        if (rc == 0)
            rc = dmp_store_rerr(err);
        else if (err != NULL)
            rocksdb_free(err);
        rocksdb_iter_destroy(it);
    }
    if (rc == 0 && nrem > 0) {
        dmp_store_deltas_emit(s, &dl, wb, dmp_store_wb_merge);
        rc = dmp_store_write_stamped(s, (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync, wb,
                                     false, &dl);
    }
    pthread_rwlock_unlock(&s->lock);
    rocksdb_writebatch_destroy(wb);
    free(dl.d);
    dmp_buf_free(&dl.journal);
    if (rc != 0)
        return rc;
    if (removed != NULL)
        *removed = nrem;
    return nrem > 0 ? 0 : DMP_ENOTFOUND;
}
