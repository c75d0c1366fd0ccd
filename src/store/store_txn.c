/* store: mixed transactions. A list of puts and deletes applied in ONE WriteBatchWithIndex, all
 * or none (the node's all-or-nothing write path, used by DNS UPDATE): every op sees the ops
 * before it in the same batch, since the indexed batch reads through to the DB. Keeps every
 * index, the record count and the Merkle buckets as store_write.c does. */
#include "store/store_internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
static void remove_row_wi(dmp_store_t *s, rocksdb_writebatch_wi_t *wb, dmp_store_deltas_t *dl,
                          const char *ln, size_t nl, const uint8_t *rkey, size_t rkl,
                          const uint8_t hash[32], const dmp_store_rec_t *rec, int *rc)
{
    uint8_t ikey[DMP_STORE_IKEY_MAX];
    rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_RECORDS], (const char *)rkey, rkl);
    size_t dkl = dmp_store_dkey_make(ikey, ln, nl, hash);
    rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_RNAMES], (const char *)ikey, dkl);
    uint8_t bk[DMP_STORE_BKEY_MAX];
    size_t bkl = dmp_store_bkey_make(bk, ln, nl, hash);
    rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_BUCKETS], (const char *)bk, bkl);
    if (rec != NULL) { /* a delete leaves a tombstone until the row would have expired */
        atomic_store(&s->has_tombs, true);
        uint8_t tv[8];
        dmp_store_ob64_put(tv, rec->expires_ms);
        rocksdb_writebatch_wi_put_cf(wb, s->cf[CF_TOMBS], (const char *)bk, bkl, (const char *)tv,
                                     8);
    }
    if (rec != NULL) {
        size_t ikl = dmp_store_ikey_make(ikey, rec->expires_ms, rkey, rkl);
        rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ikey, ikl);
        ikl = dmp_store_ikey_make(ikey, rec->stored_ms, rkey, rkl);
        rocksdb_writebatch_wi_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ikey, ikl);
    }
    if (rec != NULL && (rec->value != NULL || rec->value_len == 0))
        dmp_store_journal_note(dl, 2, ln, nl, rec->value, rec->value_len);
    else
        dl->journal_failed = true;
    dl->count_delta--;
    if (*rc == 0)
        *rc = dmp_store_deltas_add(dl, ln, nl, hash);
}

/* The batch an apply_put writes into: an indexed batch (reads see the batch's earlier ops) or,
 * when the caller knows no two ops touch the same row, a plain one (reads go to the DB only;
 * no index to maintain: about a tenth of the store's cost of a single put). */
static void b_put(dmp_store_wb_t *b, rocksdb_column_family_handle_t *cf, const void *k, size_t kl,
                  const void *v, size_t vl)
{
    if (b->stage)
        dmp_store_stage_add(b->stage, cf, true, k, kl, v, vl);
    else if (b->wi)
        rocksdb_writebatch_wi_put_cf(b->wi, cf, k, kl, v, vl);
    else
        rocksdb_writebatch_put_cf(b->plain, cf, k, kl, v, vl);
}

static void b_del(dmp_store_wb_t *b, rocksdb_column_family_handle_t *cf, const void *k, size_t kl)
{
    if (b->stage)
        dmp_store_stage_add(b->stage, cf, false, k, kl, NULL, 0);
    else if (b->wi)
        rocksdb_writebatch_wi_delete_cf(b->wi, cf, k, kl);
    else
        rocksdb_writebatch_delete_cf(b->plain, cf, k, kl);
}

int dmp_store_apply_put(dmp_store_t *s, dmp_store_wb_t *wb, dmp_store_deltas_t *dl,
                        const dmp_store_op_t *p, const char *ln, int64_t now_ms, uint8_t **vbuf,
                        size_t *vcap)
{
    uint8_t hash[32], rkey[DMP_STORE_RKEY_MAX], ikey[DMP_STORE_IKEY_MAX];
    dmp_store_sha256(hash, p->value, p->value_len);
    size_t rkl = dmp_store_rkey_make(rkey, ln, p->name_len, hash);
    char *err = NULL;
    size_t olen = 0;
    char *old = wb->wi ? rocksdb_writebatch_wi_get_from_batch_and_db_cf(
                             wb->wi, s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl,
                             &olen, &err)
                       : rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey,
                                        rkl, &olen, &err);
    int rc = dmp_store_rerr(err);
    if (rc != 0)
        return rc;
    bool existed = old != NULL;
    if (old == NULL) {
        dl->count_delta++;
        rc = dmp_store_deltas_add(dl, ln, p->name_len, hash);
        dmp_store_journal_note(dl, 1, ln, p->name_len, p->value, p->value_len);
    } else {
        dmp_store_rec_t orec;
        if (dmp_store_rec_parse((const uint8_t *)old, olen, &orec) == 0) {
            size_t ikl = dmp_store_ikey_make(ikey, orec.expires_ms, rkey, rkl);
            b_del(wb, s->cf[CF_EXPIRY], ikey, ikl);
            ikl = dmp_store_ikey_make(ikey, orec.stored_ms, rkey, rkl);
            b_del(wb, s->cf[CF_BYSTORED], ikey, ikl);
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
    dmp_store_wb_t direct = {.wi = wb->wi, .plain = wb->plain}; /* the row itself is not staged */
    b_put(&direct, s->cf[CF_RECORDS], rkey, rkl, *vbuf, need);
    size_t ikl = dmp_store_ikey_make(ikey, expires, rkey, rkl);
    b_put(wb, s->cf[CF_EXPIRY], ikey, ikl, "", 0);
    uint8_t ev[8];
    dmp_store_ob64_put(ev, expires);
    ikl = dmp_store_ikey_make(ikey, now_ms, rkey, rkl);
    b_put(wb, s->cf[CF_BYSTORED], ikey, ikl, ev, 8);
    ikl = dmp_store_dkey_make(ikey, ln, p->name_len, hash);
    b_put(wb, s->cf[CF_RNAMES], ikey, ikl, ev, 8);
    uint8_t bk[DMP_STORE_BKEY_MAX];
    size_t bkl = dmp_store_bkey_make(bk, ln, p->name_len, hash);
    b_put(wb, s->cf[CF_BUCKETS], bk, bkl, ev, 8);
    /* A re-publish lifts an earlier delete. A tombstone is only ever written in the batch that
     * removes its row, so while the row is there (a refresh) there is none to lift: no delete,
     * which is a memtable insert at a random place; nor in a store that has held no tombstone
     * since its open (has_tombs, set before a tombstone's batch is written). */
    if (!existed && atomic_load(&s->has_tombs))
        b_del(wb, s->cf[CF_TOMBS], bk, bkl);
    return 0;
}

static int apply_delete(dmp_store_t *s, rocksdb_writebatch_wi_t *wb, dmp_store_deltas_t *dl,
                        dmp_store_op_t *p, const char *ln)
{
    uint8_t rkey[DMP_STORE_RKEY_MAX];
    char *err = NULL;
    int rc = 0;
    if (p->op == DMP_STORE_OP_DEL_VALUE) {
        if (p->value_len > DMP_STORE_MAX_VALUE)
            return 0; /* cannot be stored, so nothing to remove */
        uint8_t hash[32];
        dmp_store_sha256(hash, p->value, p->value_len);
        size_t rkl = dmp_store_rkey_make(rkey, ln, p->name_len, hash);
        size_t olen = 0;
        char *old = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
            wb, s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &olen, &err);
        rc = dmp_store_rerr(err);
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
        uint8_t *val; /* a copy of the value (the journal needs it after the walk) */
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
        vs[nv].val = NULL;
        if (vs[nv].ok && vs[nv].rec.value_len > 0) {
            vs[nv].val = malloc(vs[nv].rec.value_len);
            if (vs[nv].val)
                memcpy(vs[nv].val, vs[nv].rec.value, vs[nv].rec.value_len);
        }
        vs[nv].rec.value = vs[nv].val; /* the iterator's bytes are not kept */
        nv++;
    }
    rocksdb_iter_get_error(it, &err);
    if (rc == 0)
        rc = dmp_store_rerr(err);
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
    for (size_t i = 0; i < nv; i++)
        free(vs[i].val);
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
    for (size_t i = 0; i < n; i++) {
        ops[i].removed = 0;
        if (ops[i].op == DMP_STORE_OP_PUT &&
            atomic_load_explicit(&s->space_low, memory_order_relaxed))
            return DMP_STORE_ENOSPC; /* below the reserve (store_space.c): nothing written */
    }
    if (n == 0)
        return 0;
    rocksdb_writebatch_wi_t *wb = rocksdb_writebatch_wi_create(0, 1);
    if (wb == NULL)
        return DMP_ENOMEM;
    dmp_store_deltas_t dl = {0};
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
            dmp_store_wb_t b = {.wi = wb};
            rc = dmp_store_apply_put(s, &b, &dl, p, ln, now_ms, &vbuf, &vcap);
            nchanged++;
        } else {
            rc = apply_delete(s, wb, &dl, p, ln);
            nchanged += p->removed;
        }
    }
    if (rc == 0 && nchanged > 0) {
        char *err = NULL;
        (void)err;
        dmp_store_deltas_emit(s, &dl, wb, dmp_store_wbi_merge);
        rc = dmp_store_write_stamped(s, (flags & DMP_STORE_NOSYNC) ? s->wnosync : s->wsync, wb,
                                     true, &dl);
    }
    pthread_rwlock_unlock(&s->lock);
    rocksdb_writebatch_wi_destroy(wb);
    free(dl.d);
    dmp_buf_free(&dl.journal);
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
