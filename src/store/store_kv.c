/* store: the auxiliary key/value maps (tokens, TSIG keys, seen heartbeats), one column family
 * each; the cluster's small map (digest cursors) lives in CF_META under a key prefix. */
#include "store/store_internal.h"

#include <string.h>

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
    case DMP_STORE_KV_CLUSTER:
        return s->cf[CF_META];
    }
    return NULL;
}

/* Keys of the maps that share CF_META carry a prefix no meta key has. */
static const char kvc_prefix[] = "kv.cluster/";
#define KVC_PLEN (sizeof kvc_prefix - 1)

static size_t kv_plen(dmp_store_kv_t kv)
{
    return kv == DMP_STORE_KV_CLUSTER ? KVC_PLEN : 0;
}

/* The stored key: the map's prefix, then key (buf holds KVC_PLEN + KV_MAX_KEY). */
static size_t kv_key(dmp_store_kv_t kv, const uint8_t *key, size_t key_len, uint8_t *buf)
{
    size_t p = kv_plen(kv);
    memcpy(buf, kvc_prefix, p);
    if (key_len)
        memcpy(buf + p, key, key_len);
    return p + key_len;
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
    uint8_t k[KVC_PLEN + KV_MAX_KEY];
    size_t kl = kv_key(kv, key, key_len, k);
    char *err = NULL;
    pthread_rwlock_rdlock(&s->lock); /* a writer: see dmp_store_sync_wal */
    rocksdb_put_cf(s->db, s->wsync, kv_cf(s, kv), (const char *)k, kl,
                   val_len ? (const char *)val : "", val_len, &err);
    rc = dmp_store_werr(s, err);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int dmp_store_kv_get(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *key, size_t key_len,
                     dmp_buf_t *out)
{
    int rc = kv_check(s, kv, key, key_len);
    if (rc != 0 || out == NULL)
        return rc ? rc : DMP_EINVAL;
    out->len = 0;
    uint8_t k[KVC_PLEN + KV_MAX_KEY];
    size_t kl = kv_key(kv, key, key_len, k);
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, kv_cf(s, kv), (const char *)k, kl, &vl, &err);
    if ((rc = dmp_store_rerr(err)) != 0)
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
    uint8_t k[KVC_PLEN + KV_MAX_KEY];
    size_t kl = kv_key(kv, key, key_len, k);
    char *err = NULL;
    pthread_rwlock_rdlock(&s->lock); /* a writer: see dmp_store_sync_wal */
    rocksdb_delete_cf(s->db, s->wsync, kv_cf(s, kv), (const char *)k, kl, &err);
    rc = dmp_store_werr(s, err);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

int dmp_store_kv_scan(dmp_store_t *s, dmp_store_kv_t kv, const uint8_t *prefix, size_t prefix_len,
                      dmp_store_kv_visit_fn fn, void *ctx)
{
    if (s == NULL || kv_cf(s, kv) == NULL || fn == NULL || (prefix == NULL && prefix_len > 0) ||
        prefix_len > KV_MAX_KEY)
        return DMP_EINVAL;
    uint8_t pk[KVC_PLEN + KV_MAX_KEY];
    size_t skip = kv_plen(kv), pl = kv_key(kv, prefix, prefix_len, pk);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, kv_cf(s, kv));
    if (pl > 0)
        rocksdb_iter_seek(it, (const char *)pk, pl);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl < pl || (pl > 0 && memcmp(k, pk, pl) != 0))
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (fn(ctx, k + skip, kl - skip, v, vl) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return dmp_store_rerr(err);
}
