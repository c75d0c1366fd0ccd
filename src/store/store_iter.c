/* store: whole-store iteration: anti-entropy's by-stored-time cursor (on a snapshot) and the
 * name-prefix scan. */
#include "store/store_internal.h"

#include <string.h>

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
        if ((rc = dmp_store_rerr(err)) != 0)
            break;
        dmp_store_rec_t rec;
        if (rv != NULL && dmp_store_rec_parse((const uint8_t *)rv, rl, &rec) == 0 &&
            rec.stored_ms == ts && rec.expires_ms > now_ms) {
            const char *nm;
            size_t nml;
            const uint8_t *h;
            dmp_store_rkey_parse(rkey, rkl, &nm, &nml, &h);
            dmp_store_record_t r;
            dmp_store_to_public(&rec, h, &r);
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
        rc = dmp_store_rerr(err);
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
        dmp_store_to_public(&rec, h, &r);
        if (fn(ctx, nm, nml, &r) != 0)
            break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    return dmp_store_rerr(err);
}
