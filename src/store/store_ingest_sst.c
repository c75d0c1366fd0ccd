/* store: the bulk load's sort orders, table files and ingestion (store_ingest.c drives them).
 * Each column family's keys are written in its own byte order into table files of about
 * INGEST_FILE_BYTES, built with that column family's options (same bloom filters and prefix
 * extractor as flushed files), then ingested by moving (linking) them into the store. */
/* qsort_r: _GNU_SOURCE comes from the build (CMakeLists.txt) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_ingest.h"

#define INGEST_FILE_BYTES ((uint64_t)64 << 20)

/* ---- key orders ---- */

/* The full key of row idx in order: rkey = name|0|hash, dkey = reversed(name)|0|hash. */
static size_t full_key(const dmp_store_load_t *l, dmp_store_order_t order, uint32_t idx,
                       uint8_t out[DMP_STORE_RKEY_MAX])
{
    const dmp_store_lent_t *e = &l->e[idx];
    if (order == DMP_STORE_ORDER_RKEY)
        return dmp_store_rkey_make(out, e->name, e->nl, e->hash);
    return dmp_store_dkey_make(out, e->name, e->nl, e->hash);
}

typedef struct {
    const dmp_store_load_t *l;
    dmp_store_order_t order;
} sortctx_t;

static int skey_cmp(const void *a, const void *b, void *arg)
{
    const dmp_store_skey_t *x = a, *y = b;
    int c = memcmp(x->k, y->k, DMP_STORE_SKEY_PFX);
    if (c != 0)
        return c;
    const sortctx_t *sc = arg;
    uint8_t kx[DMP_STORE_RKEY_MAX], ky[DMP_STORE_RKEY_MAX];
    size_t lx = full_key(sc->l, sc->order, x->idx, kx), ly = full_key(sc->l, sc->order, y->idx, ky);
    c = memcmp(kx, ky, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* equal keys: add order */
}

bool dmp_store_ingest_key_eq(const dmp_store_load_t *l, uint32_t a, uint32_t b)
{
    const dmp_store_lent_t *x = &l->e[a], *y = &l->e[b];
    return x->nl == y->nl && memcmp(x->hash, y->hash, 32) == 0 &&
           memcmp(x->name, y->name, x->nl) == 0;
}

int dmp_store_ingest_sort(dmp_store_ingest_t *g, dmp_store_order_t order, dmp_store_skey_t **out,
                          size_t *n)
{
    const dmp_store_load_t *l = g->l;
    /* RKEY sorts every added row; DKEY the unique rows in g->u */
    size_t cnt = order == DMP_STORE_ORDER_RKEY ? l->n : g->nu;
    dmp_store_skey_t *v = malloc((cnt ? cnt : 1) * sizeof *v);
    if (v == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < cnt; i++)
        v[i].idx = order == DMP_STORE_ORDER_RKEY ? (uint32_t)i : g->u[i].idx;
    /* the prefix every key shares (e.g. the zone, first in a reversed name) carries no order:
     * the 24 inline bytes start after it */
    uint8_t k0[DMP_STORE_RKEY_MAX], k[DMP_STORE_RKEY_MAX];
    size_t lcp = cnt ? full_key(l, order, v[0].idx, k0) : 0;
    for (size_t i = 1; i < cnt && lcp > 0; i++) {
        size_t kl = full_key(l, order, v[i].idx, k);
        size_t m = kl < lcp ? kl : lcp, j = 0;
        while (j < m && k[j] == k0[j])
            j++;
        lcp = j;
    }
    for (size_t i = 0; i < cnt; i++) {
        size_t kl = full_key(l, order, v[i].idx, k);
        memset(v[i].k, 0, DMP_STORE_SKEY_PFX);
        if (kl > lcp)
            memcpy(v[i].k, k + lcp, kl - lcp < DMP_STORE_SKEY_PFX ? kl - lcp : DMP_STORE_SKEY_PFX);
        v[i].pad = 0;
    }
    sortctx_t sc = {l, order};
    qsort_r(v, cnt, sizeof *v, skey_cmp, &sc);
    *out = v;
    *n = cnt;
    return 0;
}

static int first_cmp(const void *a, const void *b, void *arg)
{
    const dmp_store_load_t *l = arg;
    uint32_t x = l->e[*(const uint32_t *)a].first, y = l->e[*(const uint32_t *)b].first;
    return x < y ? -1 : x > y;
}

void dmp_store_ingest_sort_u32_by_first(const dmp_store_load_t *l, uint32_t *v, size_t n)
{
    qsort_r(v, n, sizeof *v, first_cmp, (void *)l);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int dmp_store_ingest_note_refresh(dmp_store_ingest_t *g, uint32_t idx, int64_t old_stored,
                                  int64_t old_expires)
{
    if (g->nref == g->ref_cap) {
        size_t nc = g->ref_cap ? g->ref_cap * 2 : 256;
        dmp_store_lref_t *nr = realloc(g->ref, nc * sizeof *nr);
        if (nr == NULL)
            return DMP_ENOMEM;
        g->ref = nr;
        g->ref_cap = nc;
    }
    g->ref[g->nref++] = (dmp_store_lref_t){idx, old_stored, old_expires};
    g->l->e[idx].flags |= DMP_STORE_LENT_REFRESH;
    return 0;
}

/* ---- table files ---- */

typedef struct {
    dmp_store_ingest_t *g;
    int cf;
    rocksdb_envoptions_t *env;
    rocksdb_sstfilewriter_t *w;
    size_t since_check;
    size_t files_cap;
    uint64_t files, bytes;
} sstw_t;

static int sstw_fail(sstw_t *w, const char *what, char *err)
{
    dmp_store_ingest_seterr(w->g, what, err);
    rocksdb_free(err);
    return DMP_EIO;
}

static int sstw_close_file(sstw_t *w)
{
    if (w->w == NULL)
        return 0;
    char *err = NULL;
    rocksdb_sstfilewriter_finish(w->w, &err);
    uint64_t sz = 0;
    rocksdb_sstfilewriter_file_size(w->w, &sz);
    rocksdb_sstfilewriter_destroy(w->w);
    w->w = NULL;
    if (err != NULL)
        return sstw_fail(w, "writing a table file: %s", err);
    w->files++;
    w->bytes += sz;
    return 0;
}

static int sstw_open_file(sstw_t *w)
{
    dmp_store_ingest_t *g = w->g;
    if (g->nfiles[w->cf] == w->files_cap) {
        size_t nc = w->files_cap ? w->files_cap * 2 : 16;
        char **nf = realloc(g->files[w->cf], nc * sizeof *nf);
        if (nf == NULL)
            return DMP_ENOMEM;
        g->files[w->cf] = nf;
        w->files_cap = nc;
    }
    char path[4096];
    int pl = snprintf(path, sizeof path, "%s/cf%02d-%05zu.sst", g->tmpdir, w->cf, g->nfiles[w->cf]);
    if (pl < 0 || (size_t)pl >= sizeof path)
        return DMP_ERANGE;
    char *p = strdup(path);
    if (p == NULL)
        return DMP_ENOMEM;
    g->files[w->cf][g->nfiles[w->cf]++] = p;
    w->w = rocksdb_sstfilewriter_create(w->env, g->l->s->cfopts[w->cf]);
    if (w->w == NULL)
        return DMP_ENOMEM;
    char *err = NULL;
    rocksdb_sstfilewriter_open(w->w, p, &err);
    if (err != NULL)
        return sstw_fail(w, "creating a table file: %s", err);
    w->since_check = 0;
    return 0;
}

static int sstw_add(sstw_t *w, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, bool del)
{
    int rc;
    if (w->w == NULL && (rc = sstw_open_file(w)) != 0)
        return rc;
    char *err = NULL;
    if (del)
        rocksdb_sstfilewriter_delete(w->w, (const char *)k, kl, &err);
    else
        rocksdb_sstfilewriter_put(w->w, (const char *)k, kl, (const char *)v, vl, &err);
    if (err != NULL)
        return sstw_fail(w, "adding to a table file: %s", err);
    if (++w->since_check >= 4096) {
        w->since_check = 0;
        uint64_t sz = 0;
        rocksdb_sstfilewriter_file_size(w->w, &sz);
        if (sz >= INGEST_FILE_BYTES)
            return sstw_close_file(w);
    }
    return 0;
}

/* progress is reported by the records writer (the main thread) only */
static void sstw_progress(dmp_store_ingest_t *g, size_t i, size_t n)
{
    (void)n;
    if ((i & 0x3ffff) == 0 && g->progress)
        g->progress(g->ctx, "write", i, g->nu);
}

/* records, bystored (both in records order) */
static int write_records(dmp_store_ingest_t *g, sstw_t *wr, sstw_t *wb)
{
    const dmp_store_load_t *l = g->l;
    size_t vcap = 0;
    for (size_t i = 0; i < g->nu; i++)
        if (l->e[g->u[i].idx].vlen > vcap)
            vcap = l->e[g->u[i].idx].vlen;
    uint8_t *vbuf = malloc(DMP_STORE_REC_HDR + vcap);
    if (vbuf == NULL)
        return DMP_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < g->nu && rc == 0; i++) {
        uint32_t idx = g->u[i].idx;
        const dmp_store_lent_t *e = &l->e[idx];
        uint8_t rk[DMP_STORE_RKEY_MAX], ik[DMP_STORE_IKEY_MAX], ev[8];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        int64_t exp = g->now_ms + (int64_t)e->ttl * 1000;
        dmp_store_rec_hdr(vbuf, e->ttl, g->now_ms, exp, g->seq_base + idx);
        memcpy(vbuf + DMP_STORE_REC_HDR, e->value, e->vlen);
        rc = sstw_add(wr, rk, rkl, vbuf, DMP_STORE_REC_HDR + e->vlen, false);
        dmp_store_ob64_put(ev, exp);
        size_t ikl = dmp_store_ikey_make(ik, g->now_ms, rk, rkl);
        if (rc == 0)
            rc = sstw_add(wb, ik, ikl, ev, 8, false);
        sstw_progress(g, i, g->nu);
    }
    free(vbuf);
    return rc;
}

/* expiry: by (expires, rkey) = (ttl, records rank) */
static int write_expiry(dmp_store_ingest_t *g, sstw_t *w)
{
    const dmp_store_load_t *l = g->l;
    bool same = true;
    for (size_t i = 1; i < g->nu && same; i++)
        same = l->e[g->u[i].idx].ttl == l->e[g->u[0].idx].ttl;
    uint64_t *ord = NULL;
    if (!same) {
        ord = malloc(g->nu * sizeof *ord);
        if (ord == NULL)
            return DMP_ENOMEM;
        for (size_t i = 0; i < g->nu; i++)
            ord[i] = (uint64_t)l->e[g->u[i].idx].ttl << 32 | (uint64_t)i;
        qsort(ord, g->nu, sizeof *ord, u64_cmp);
    }
    int rc = 0;
    for (size_t i = 0; i < g->nu && rc == 0; i++) {
        const dmp_store_lent_t *e = &l->e[g->u[same ? i : (uint32_t)ord[i]].idx];
        uint8_t rk[DMP_STORE_RKEY_MAX], ik[DMP_STORE_IKEY_MAX];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        size_t ikl = dmp_store_ikey_make(ik, g->now_ms + (int64_t)e->ttl * 1000, rk, rkl);
        rc = sstw_add(w, ik, ikl, (const uint8_t *)"", 0, false);
    }
    free(ord);
    return rc;
}

/* buckets (and, when the store has tombstones, the deletes that lift them): by (bucket, rkey),
 * a stable counting sort of the records order */
static int write_buckets(dmp_store_ingest_t *g, sstw_t *w, sstw_t *wt)
{
    const dmp_store_load_t *l = g->l;
    size_t *start = calloc(DMP_STORE_MERKLE_BUCKETS + 1, sizeof *start);
    uint32_t *ord = malloc((g->nu ? g->nu : 1) * sizeof *ord);
    if (start == NULL || ord == NULL) {
        free(start);
        free(ord);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < g->nu; i++)
        start[l->e[g->u[i].idx].bucket + 1]++;
    for (size_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < g->nu; i++)
        ord[start[l->e[g->u[i].idx].bucket]++] = g->u[i].idx;
    int rc = 0;
    for (size_t i = 0; i < g->nu && rc == 0; i++) {
        const dmp_store_lent_t *e = &l->e[ord[i]];
        uint8_t bk[DMP_STORE_BKEY_MAX], ev[8];
        dmp_store_u16be(bk, e->bucket); /* = dmp_store_bkey_make, bucket hashed already */
        size_t bkl = 2 + dmp_store_rkey_make(bk + 2, e->name, e->nl, e->hash);
        dmp_store_ob64_put(ev, g->now_ms + (int64_t)e->ttl * 1000);
        rc = sstw_add(w, bk, bkl, ev, 8, false);
        if (rc == 0 && wt != NULL)
            rc = sstw_add(wt, bk, bkl, NULL, 0, true);
    }
    free(start);
    free(ord);
    return rc;
}

/* rnames: by reversed name */
static int write_rnames(dmp_store_ingest_t *g, sstw_t *w)
{
    dmp_store_skey_t *v = NULL;
    size_t n = 0;
    int rc = dmp_store_ingest_sort(g, DMP_STORE_ORDER_DKEY, &v, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const dmp_store_lent_t *e = &g->l->e[v[i].idx];
        uint8_t dk[DMP_STORE_RKEY_MAX], ev[8];
        size_t dkl = dmp_store_dkey_make(dk, e->name, e->nl, e->hash);
        dmp_store_ob64_put(ev, g->now_ms + (int64_t)e->ttl * 1000);
        rc = sstw_add(w, dk, dkl, ev, 8, false);
    }
    free(v);
    return rc;
}

static bool cf_empty(dmp_store_t *s, int cf)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rdefault, s->cf[cf]);
    if (it == NULL)
        return false;
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

typedef struct {
    dmp_store_ingest_t *g;
    sstw_t *w;
    bool tombs;
    int rc;
} side_t;

/* buckets (+ tombs) and rnames (its own sort), on a second thread. */
static void *write_side(void *arg)
{
    side_t *sd = arg;
    sd->rc = write_buckets(sd->g, &sd->w[CF_BUCKETS], sd->tombs ? &sd->w[CF_TOMBS] : NULL);
    if (sd->rc == 0)
        sd->rc = write_rnames(sd->g, &sd->w[CF_RNAMES]);
    return NULL;
}

int dmp_store_ingest_write(dmp_store_ingest_t *g)
{
    dmp_store_t *s = g->l->s;
    g->seq_base = atomic_fetch_add(&s->seq, g->l->n);
    rocksdb_envoptions_t *env = rocksdb_envoptions_create();
    if (env == NULL)
        return DMP_ENOMEM;
    sstw_t w[CF_OURS];
    for (int c = 0; c < CF_OURS; c++)
        w[c] = (sstw_t){.g = g, .cf = c, .env = env};
    side_t sd = {.g = g, .w = w, .tombs = !cf_empty(s, CF_TOMBS)};
    /* records, bystored and expiry here, buckets and rnames beside: independent files */
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, write_side, &sd) == 0;
    int rc = write_records(g, &w[CF_RECORDS], &w[CF_BYSTORED]);
    if (rc == 0)
        rc = write_expiry(g, &w[CF_EXPIRY]);
    if (threaded)
        pthread_join(th, NULL);
    else
        write_side(&sd);
    if (rc == 0)
        rc = sd.rc;
    for (int c = 0; c < CF_OURS; c++) {
        int r2 = sstw_close_file(&w[c]);
        if (rc == 0)
            rc = r2;
        g->stats->sst_files += w[c].files;
        g->stats->sst_bytes += w[c].bytes;
    }
    rocksdb_envoptions_destroy(env);
    if (g->progress)
        g->progress(g->ctx, "write", g->nu, g->nu);
    return rc;
}

int dmp_store_ingest_files(dmp_store_ingest_t *g, bool *any)
{
    static const int order[] = {CF_EXPIRY,  CF_BYSTORED, CF_RNAMES,
                                CF_BUCKETS, CF_TOMBS,    CF_RECORDS};
    dmp_store_t *s = g->l->s;
    rocksdb_ingestexternalfileoptions_t *io = rocksdb_ingestexternalfileoptions_create();
    if (io == NULL)
        return DMP_ENOMEM;
    rocksdb_ingestexternalfileoptions_set_move_files(io, 1);
    rocksdb_ingestexternalfileoptions_set_allow_global_seqno(io, 1);
    rocksdb_ingestexternalfileoptions_set_allow_blocking_flush(io, 1);
    int rc = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0] && rc == 0; i++) {
        int c = order[i];
        if (g->nfiles[c] == 0)
            continue;
        if (g->progress)
            g->progress(g->ctx, "ingest", i, sizeof order / sizeof order[0]);
        char *err = NULL;
        rocksdb_ingest_external_file_cf(s->db, s->cf[c], (const char *const *)g->files[c],
                                        g->nfiles[c], io, &err);
        if (err != NULL) {
            dmp_store_ingest_seterr(g, "ingesting table files: %s", err);
            rocksdb_free(err);
            rc = DMP_EIO;
        } else {
            *any = true;
        }
    }
    if (g->progress)
        g->progress(g->ctx, "ingest", 1, 1);
    rocksdb_ingestexternalfileoptions_destroy(io);
    return rc;
}

void dmp_store_ingest_cleanup(dmp_store_ingest_t *g)
{
    for (int c = 0; c < CF_OURS; c++) {
        for (size_t i = 0; i < g->nfiles[c]; i++) {
            if (unlink(g->files[c][i]) != 0 && errno != ENOENT)
                dmp_log(DMP_LOG_WARN, "store: bulk load: cannot remove %s", g->files[c][i]);
            free(g->files[c][i]);
        }
        free(g->files[c]);
        g->files[c] = NULL;
        g->nfiles[c] = 0;
    }
    rmdir(g->tmpdir);
}
