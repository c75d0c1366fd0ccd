/* store: Merkle buckets and the record count: item digests, per-batch bucket deltas merged
 * into CF_MERKLE / CF_META, and their reads. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

void dmp_store_item_digest_raw(const char *lname, size_t nl, const uint8_t hash[32],
                               uint8_t out[32])
{
    static const uint8_t zero = 0;
    dmp_store_iov_t v[3] = {{lname, nl}, {&zero, 1}, {hash, 32}};
    dmp_store_sha256v(out, v, 3);
}

uint32_t dmp_store_bucket_raw(const char *lname, size_t nl)
{
    uint8_t h[32];
    dmp_store_sha256(h, lname, nl);
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
    dmp_store_item_digest_raw(ln, name_len, hash, out);
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
    *bucket = dmp_store_bucket_raw(ln, name_len);
    return 0;
}

/* ---- per-batch deltas ---- */

int dmp_store_deltas_add(dmp_store_deltas_t *dl, const char *lname, size_t nl,
                         const uint8_t hash[32])
{
    uint8_t dig[32];
    uint32_t b = dmp_store_bucket_raw(lname, nl);
    dmp_store_item_digest_raw(lname, nl, hash, dig);
    size_t i = 0;
    while (i < dl->n && dl->d[i].bucket != b)
        i++;
    if (i == dl->n) {
        if (dl->n == dl->cap) {
            size_t nc = dl->cap ? dl->cap * 2 : 8;
            dmp_store_mdelta_t *nd = realloc(dl->d, nc * sizeof *nd);
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

typedef void (*dmp_store_merge_fn)(void *batch, rocksdb_column_family_handle_t *cf, const char *k,
                                   size_t kl, const char *v, size_t vl);

void dmp_store_wb_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                        const char *v, size_t vl)
{
    rocksdb_writebatch_merge_cf(b, cf, k, kl, v, vl);
}

void dmp_store_wbi_merge(void *b, rocksdb_column_family_handle_t *cf, const char *k, size_t kl,
                         const char *v, size_t vl)
{
    rocksdb_writebatch_wi_merge_cf(b, cf, k, kl, v, vl);
}

void dmp_store_deltas_emit(dmp_store_t *s, const dmp_store_deltas_t *dl, void *batch,
                           dmp_store_merge_fn mf)
{
    for (size_t i = 0; i < dl->n; i++) {
        uint8_t k[4];
        dmp_store_u32be(k, dl->d[i].bucket);
        mf(batch, s->cf[CF_MERKLE], (const char *)k, 4, (const char *)dl->d[i].x, 32);
    }
}
int dmp_store_record_count(dmp_store_t *s, uint64_t *out)
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_COUNT, sizeof META_COUNT - 1,
                             &vl, &err);
    int rc = dmp_store_rerr(err);
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
    int rc = dmp_store_rerr(err);
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

int dmp_store_bucket_digests(dmp_store_t *s, uint8_t (*out)[32])
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    memset(out, 0, (size_t)DMP_STORE_MERKLE_BUCKETS * 32);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[CF_MERKLE]);
    if (it == NULL)
        return DMP_ENOMEM;
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl); /* merge operands are applied by the read */
        if (kl != 4 || vl != 32)
            continue;
        uint32_t b = dmp_load_u32be(k);
        if (b < DMP_STORE_MERKLE_BUCKETS)
            memcpy(out[b], v, 32);
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return dmp_store_rerr(err);
}
