/* store: the expiry sweep. Walks CF_EXPIRY from sweep_from up to now in chunks, each under the
 * exclusive lock, removing expired rows with all their index entries. */
#include "store/store_internal.h"

#include <stdlib.h>

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
    dmp_store_deltas_t dl = {0};
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
        if ((rc = dmp_store_rerr(err)) != 0)
            break;
        dmp_store_rec_t rec;
        if (v != NULL && dmp_store_rec_parse((const uint8_t *)v, vl, &rec) == 0 &&
            rec.expires_ms == t) {
            rc = dmp_store_remove_row(s, wb, &dl, rkey, rkl, &rec, false);
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
            rc = dmp_store_rerr(err);
        else if (err != NULL)
            rocksdb_free(err);
        rocksdb_iter_destroy(it);
    }
    if (rc == 0 && rocksdb_writebatch_count(wb) > 0) {
        dmp_store_deltas_emit(s, &dl, wb, dmp_store_wb_merge);
        /* Not synced: a lost sweep is simply redone; the batch is atomic either way. Removing
         * rows changes the zone (a new serial); dropping stale index entries does not. */
        if (n > 0) {
            rc = dmp_store_write_stamped(s, s->wnosync, wb, false, &dl);
        } else {
            rocksdb_write(s->db, s->wnosync, wb, &err);
            rc = dmp_store_werr(s, err);
        }
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
    dmp_buf_free(&dl.journal);
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
    if (rc == 0) {
        size_t tombs = 0;
        rc = dmp_store_tombs_gc(s, now_ms, 4096, &tombs);
    }
    if (removed != NULL)
        *removed = total;
    if (total > 0)
        dmp_log(DMP_LOG_DEBUG, "store: sweep removed %zu expired records", total);
    return rc;
}
