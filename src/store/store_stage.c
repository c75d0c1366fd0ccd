/* store: the index entries of a plain put batch, staged and written grouped by column family,
 * deletes before puts, each run in key order (store_internal.h, dmp_store_stage_t). */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

static int stage_grow(dmp_store_stage_t *st, size_t bytes)
{
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 64;
        dmp_store_sop_t *no = realloc(st->ops, nc * sizeof *no);
        if (no == NULL)
            return DMP_ENOMEM;
        st->ops = no;
        st->cap = nc;
    }
    return dmp_buf_reserve(&st->bytes, bytes);
}

void dmp_store_stage_add(dmp_store_stage_t *st, rocksdb_column_family_handle_t *cf, bool put,
                         const void *k, size_t kl, const void *v, size_t vl)
{
    if (st->failed)
        return;
    if (kl > UINT16_MAX || vl > UINT16_MAX || stage_grow(st, kl + vl) != 0) {
        st->failed = true;
        return;
    }
    st->ops[st->n++] = (dmp_store_sop_t){
        .cf = cf, .put = put, .kl = (uint16_t)kl, .vl = (uint16_t)vl, .off = st->bytes.len};
    (void)dmp_buf_append(&st->bytes, k, kl); /* reserved above: cannot fail */
    (void)dmp_buf_append(&st->bytes, v, vl);
}

/* qsort has no context argument: the buffer the offsets point into, per thread */
static _Thread_local const uint8_t *tl_buf;

static int sop_cmp(const void *a, const void *b)
{
    const dmp_store_sop_t *x = a, *y = b;
    if (x->cf != y->cf)
        return (uintptr_t)x->cf < (uintptr_t)y->cf ? -1 : 1;
    if (x->put != y->put)
        return x->put ? 1 : -1; /* deletes first: a refresh may put the key it deletes */
    size_t m = x->kl < y->kl ? x->kl : y->kl;
    int c = memcmp(tl_buf + x->off, tl_buf + y->off, m);
    if (c != 0)
        return c;
    if (x->kl != y->kl)
        return x->kl < y->kl ? -1 : 1;
    return x->off < y->off ? -1 : (x->off > y->off); /* keep the order of equal keys */
}

void dmp_store_stage_sort(dmp_store_stage_t *st)
{
    tl_buf = st->bytes.data;
    qsort(st->ops, st->n, sizeof *st->ops, sop_cmp);
}

int dmp_store_stage_emit(dmp_store_stage_t *st, rocksdb_writebatch_t *wb)
{
    if (st->failed)
        return DMP_ENOMEM;
    dmp_store_stage_sort(st);
    for (size_t i = 0; i < st->n; i++) {
        const dmp_store_sop_t *o = &st->ops[i];
        const char *k = (const char *)st->bytes.data + o->off;
        if (o->put)
            rocksdb_writebatch_put_cf(wb, o->cf, k, o->kl, k + o->kl, o->vl);
        else
            rocksdb_writebatch_delete_cf(wb, o->cf, k, o->kl);
    }
    st->n = 0;
    st->bytes.len = 0;
    return 0;
}

void dmp_store_stage_free(dmp_store_stage_t *st)
{
    free(st->ops);
    dmp_buf_free(&st->bytes);
    memset(st, 0, sizeof *st);
}
