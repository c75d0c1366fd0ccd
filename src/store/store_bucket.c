/* store: the anti-entropy indexes — rows and tombstones listed by Merkle bucket (CF buckets,
 * CF tombs, schema 3), their reads, and the bounded collection of expired tombstones. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

size_t dmp_store_bkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32])
{
    dmp_store_u16be(out, (uint16_t)dmp_store_bucket_raw(lname, nl));
    return 2 + dmp_store_rkey_make(out + 2, lname, nl, hash);
}

/* Visits the entries of one CF under the 2-byte bucket prefix whose time is after now. */
static int scan_cf(dmp_store_t *s, int cf, uint32_t bucket, int64_t now_ms, bool tomb,
                   dmp_store_bucket_fn fn, void *ctx, bool *stopped)
{
    uint8_t pre[2], ub[2];
    dmp_store_u16be(pre, (uint16_t)bucket);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return DMP_ENOMEM;
    bool bounded = bucket + 1 < DMP_STORE_MERKLE_BUCKETS;
    if (bounded) {
        dmp_store_u16be(ub, (uint16_t)(bucket + 1));
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)ub, 2);
    }
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    int rc = 0;
    for (rocksdb_iter_seek(it, (const char *)pre, 2); rocksdb_iter_valid(it) && !*stopped;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (kl < 2 || memcmp(k, pre, 2) != 0)
            break;
        const char *nm;
        size_t nl;
        const uint8_t *h;
        if (vl != 8 || dmp_store_rkey_parse(k + 2, kl - 2, &nm, &nl, &h) != 0)
            continue;
        int64_t t = dmp_store_ob64_get(v);
        if (t <= now_ms)
            continue; /* expired row not yet swept, or a tombstone past its use */
        if (fn(ctx, nm, nl, h, t, tomb) != 0)
            *stopped = true;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rc = dmp_store_rerr(err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

int dmp_store_bucket_scan(dmp_store_t *s, uint32_t bucket, int64_t now_ms, dmp_store_bucket_fn fn,
                          void *ctx)
{
    if (s == NULL || fn == NULL || bucket >= DMP_STORE_MERKLE_BUCKETS)
        return DMP_EINVAL;
    bool stopped = false;
    int rc = scan_cf(s, CF_BUCKETS, bucket, now_ms, false, fn, ctx, &stopped);
    if (rc == 0 && !stopped)
        rc = scan_cf(s, CF_TOMBS, bucket, now_ms, true, fn, ctx, &stopped);
    return rc;
}

int dmp_store_tomb_get(dmp_store_t *s, const char *name, size_t name_len, const uint8_t hash[32],
                       int64_t now_ms, bool *found, int64_t *expires_ms)
{
    if (s == NULL || hash == NULL || found == NULL)
        return DMP_EINVAL;
    *found = false;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t bk[DMP_STORE_BKEY_MAX];
    size_t bkl = dmp_store_bkey_make(bk, ln, name_len, hash);
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_TOMBS], (const char *)bk, bkl, &vl, &err);
    rc = dmp_store_rerr(err);
    if (rc == 0 && v != NULL && vl == 8) {
        int64_t t = dmp_store_ob64_get((const uint8_t *)v);
        if (t > now_ms) {
            *found = true;
            if (expires_ms != NULL)
                *expires_ms = t;
        }
    }
    rocksdb_free(v);
    return rc;
}

int dmp_store_tombs_gc(dmp_store_t *s, int64_t now_ms, size_t max, size_t *removed)
{
    *removed = 0;
    pthread_mutex_lock(&s->tomb_mu);
    /* exclusive against writers: a delete must not re-create a key between our read of its
     * expired value and our delete of it */
    pthread_rwlock_wrlock(&s->lock);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_TOMBS]);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int rc = (it && wb) ? 0 : DMP_ENOMEM;
    size_t seen = 0;
    bool at_end = true;
    if (rc == 0) {
        if (s->tomb_from_len)
            rocksdb_iter_seek(it, (const char *)s->tomb_from, s->tomb_from_len);
        else
            rocksdb_iter_seek_to_first(it);
        for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl);
            const char *v = rocksdb_iter_value(it, &vl);
            if (seen++ == max) {
                at_end = false;
                if (kl <= sizeof(s->tomb_from)) {
                    memcpy(s->tomb_from, k, kl);
                    s->tomb_from_len = kl;
                }
                break;
            }
            if (vl != 8 || dmp_store_ob64_get((const uint8_t *)v) <= now_ms) {
                rocksdb_writebatch_delete_cf(wb, s->cf[CF_TOMBS], k, kl);
                (*removed)++;
            }
        }
        char *err = NULL;
        rocksdb_iter_get_error(it, &err);
        rc = dmp_store_rerr(err);
        if (at_end)
            s->tomb_from_len = 0;
        if (rc == 0 && *removed > 0) {
            rocksdb_write(s->db, s->wnosync, wb, &err);
            rc = dmp_store_werr(s, err);
        }
    }
    if (it)
        rocksdb_iter_destroy(it);
    if (wb)
        rocksdb_writebatch_destroy(wb);
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->tomb_mu);
    return rc;
}
