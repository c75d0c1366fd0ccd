/* store: the auxiliary key/value maps (tokens, TSIG keys, seen heartbeats), one column family
 * each. */
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
    return dmp_store_werr(s, err);
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
    char *err = NULL;
    rocksdb_delete_cf(s->db, s->wsync, kv_cf(s, kv), (const char *)key, key_len, &err);
    return dmp_store_werr(s, err);
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
        if (kl < prefix_len || (prefix_len > 0 && memcmp(k, prefix, prefix_len) != 0))
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (fn(ctx, k, kl, v, vl) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return dmp_store_rerr(err);
}
