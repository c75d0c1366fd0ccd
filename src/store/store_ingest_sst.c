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

/* The tie-break of two elements whose inline bytes are equal (the full keys). */
typedef int (*tie_fn)(const dmp_store_skey_t *, const dmp_store_skey_t *, const void *);

static inline int skey_cmp(const dmp_store_skey_t *x, const dmp_store_skey_t *y, tie_fn tie,
                           const void *arg)
{
    for (int i = 0; i < 3; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return tie(x, y, arg);
}

static inline void skey_swap(dmp_store_skey_t *a, dmp_store_skey_t *b)
{
    dmp_store_skey_t t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(dmp_store_skey_t *v, size_t i, size_t n, tie_fn tie, const void *arg)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && skey_cmp(&v[c], &v[c + 1], tie, arg) < 0)
            c++;
        if (skey_cmp(&v[i], &v[c], tie, arg) >= 0)
            return;
        skey_swap(&v[i], &v[c]);
        i = c;
    }
}

/* Introsort with the comparison inlined (glibc's qsort_r calls a function and memcmp per
 * comparison): quicksort on the median of three, insertion sort below 16, heapsort when the
 * recursion goes too deep. */
static void isort(dmp_store_skey_t *v, size_t n, int depth, tie_fn tie, const void *arg)
{
    while (n > 16) {
        if (depth-- == 0) {
            for (size_t i = n / 2; i-- > 0;)
                sift_down(v, i, n, tie, arg);
            for (size_t i = n - 1; i > 0; i--) {
                skey_swap(&v[0], &v[i]);
                sift_down(v, 0, i, tie, arg);
            }
            return;
        }
        size_t m = n / 2;
        if (skey_cmp(&v[m], &v[0], tie, arg) < 0)
            skey_swap(&v[m], &v[0]);
        if (skey_cmp(&v[n - 1], &v[m], tie, arg) < 0) {
            skey_swap(&v[n - 1], &v[m]);
            if (skey_cmp(&v[m], &v[0], tie, arg) < 0)
                skey_swap(&v[m], &v[0]);
        }
        dmp_store_skey_t p = v[m];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition around the median */
            while (skey_cmp(&v[i], &p, tie, arg) < 0)
                i++;
            while (skey_cmp(&p, &v[j], tie, arg) < 0)
                j--;
            if (i >= j)
                break;
            skey_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        /* v[0..j] <= p <= v[j+1..n): recurse into the smaller side */
        if (j + 1 < n - j - 1) {
            isort(v, j + 1, depth, tie, arg);
            v += j + 1;
            n -= j + 1;
        } else {
            isort(v + j + 1, n - j - 1, depth, tie, arg);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        dmp_store_skey_t x = v[i];
        size_t j = i;
        while (j > 0 && skey_cmp(&x, &v[j - 1], tie, arg) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void ssort(dmp_store_skey_t *v, size_t n, tie_fn tie, const void *arg)
{
    int depth = 0;
    for (size_t x = n; x > 1; x >>= 1)
        depth += 2;
    isort(v, n, depth, tie, arg);
}

typedef struct {
    dmp_store_skey_t *v;
    size_t n;
    tie_fn tie;
    const void *arg;
} halfsort_t;

static void *halfsort_run(void *p)
{
    halfsort_t *h = p;
    ssort(h->v, h->n, h->tie, h->arg);
    return NULL;
}

/* Sorts v[0..n); from dmp_store_ingest_par_min elements on, the two halves on two threads and
 * then one merge. Returns the sorted array (v, or a new one with v freed). Equal elements do
 * not occur: every tie-break ends with the unique idx. */
static dmp_store_skey_t *psort(dmp_store_skey_t *v, size_t n, tie_fn tie, const void *arg)
{
    dmp_store_skey_t *out =
        n >= dmp_store_ingest_par_min && n >= 2 ? malloc(n * sizeof *out) : NULL;
    pthread_t th;
    size_t m = n / 2;
    halfsort_t hs[2] = {{v, m, tie, arg}, {v + m, n - m, tie, arg}};
    if (out == NULL || pthread_create(&th, NULL, halfsort_run, &hs[1]) != 0) {
        free(out);
        ssort(v, n, tie, arg);
        return v;
    }
    halfsort_run(&hs[0]);
    pthread_join(th, NULL);
    size_t i = 0, j = m, k = 0;
    while (i < m && j < n)
        out[k++] = skey_cmp(&v[j], &v[i], tie, arg) < 0 ? v[j++] : v[i++];
    while (i < m)
        out[k++] = v[i++];
    while (j < n)
        out[k++] = v[j++];
    free(v);
    return out;
}

/* records order: the full keys, then the add order (the later of equal keys sorts last) */
static int rkey_tie(const dmp_store_skey_t *x, const dmp_store_skey_t *y, const void *arg)
{
    if (x->idx == y->idx)
        return 0;
    const dmp_store_load_t *l = arg;
    uint8_t kx[DMP_STORE_RKEY_MAX], ky[DMP_STORE_RKEY_MAX];
    const dmp_store_lent_t *ex = &l->e[x->idx], *ey = &l->e[y->idx];
    size_t lx = dmp_store_rkey_make(kx, ex->name, ex->nl, ex->hash),
           ly = dmp_store_rkey_make(ky, ey->name, ey->nl, ey->hash);
    int c = memcmp(kx, ky, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->idx < y->idx ? -1 : 1;
}

bool dmp_store_ingest_key_eq(const dmp_store_load_t *l, uint32_t a, uint32_t b)
{
    const dmp_store_lent_t *x = &l->e[a], *y = &l->e[b];
    return x->nl == y->nl && memcmp(x->hash, y->hash, 32) == 0 &&
           memcmp(x->name, y->name, x->nl) == 0;
}

/* The inline bytes of a key: up to 24 bytes after the common prefix, zero-padded (a shorter key
 * then sorts first, as in byte order, since keys hold no NUL before their name ends). */
static void skey_fill(dmp_store_skey_t *v, const uint8_t *k, size_t kl, size_t lcp)
{
    uint8_t b[DMP_STORE_SKEY_PFX] = {0};
    if (kl > lcp)
        memcpy(b, k + lcp, kl - lcp < DMP_STORE_SKEY_PFX ? kl - lcp : DMP_STORE_SKEY_PFX);
    for (int i = 0; i < 3; i++)
        v->k[i] = dmp_load_u64be(b + 8 * i);
    v->pad = 0;
}

static size_t common_prefix(const uint8_t *a, size_t lcp, const uint8_t *k, size_t kl)
{
    size_t m = kl < lcp ? kl : lcp, j = 0;
    while (j < m && k[j] == a[j])
        j++;
    return j;
}

int dmp_store_ingest_sort(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *n)
{
    const dmp_store_load_t *l = g->l;
    size_t cnt = l->n;
    dmp_store_skey_t *v = malloc((cnt ? cnt : 1) * sizeof *v);
    if (v == NULL)
        return DMP_ENOMEM;
    /* the prefix every key shares (e.g. the zone, first in a reversed name) carries no order:
     * the 24 inline bytes start after it */
    uint8_t k0[DMP_STORE_RKEY_MAX], k[DMP_STORE_RKEY_MAX];
    size_t lcp = cnt ? dmp_store_rkey_make(k0, l->e[0].name, l->e[0].nl, l->e[0].hash) : 0;
    for (size_t i = 1; i < cnt && lcp > 0; i++) {
        const dmp_store_lent_t *e = &l->e[i];
        lcp = common_prefix(k0, lcp, k, dmp_store_rkey_make(k, e->name, e->nl, e->hash));
    }
    for (size_t i = 0; i < cnt; i++) {
        const dmp_store_lent_t *e = &l->e[i];
        skey_fill(&v[i], k, dmp_store_rkey_make(k, e->name, e->nl, e->hash), lcp);
        v[i].idx = (uint32_t)i;
    }
    *out = psort(v, cnt, rkey_tie, l);
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

int dmp_store_ingest_note_refresh(dmp_store_ingest_t *g, uint32_t row, int64_t old_stored,
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
    g->ref[g->nref++] = (dmp_store_lref_t){row, old_stored, old_expires};
    g->rows[row].flags |= DMP_STORE_LENT_REFRESH;
    return 0;
}

/* ---- table files ---- */

/* The writers of one load: orders computed before the writing starts, then a pool of tasks
 * (one column family's key range each: its own table files) run by two threads. */
typedef struct {
    int cf;
    size_t from, to;
} wtask_t;

#define WTASKS_MAX 12

typedef struct {
    dmp_store_ingest_t *g;
    rocksdb_envoptions_t *env;
    pthread_mutex_t mu;          /* the file lists, the stats */
    const uint64_t *exp_ord;     /* rows by (ttl, records rank); NULL: every ttl is the same */
    const uint32_t *bkt_ord;     /* rows by (bucket, records rank) */
    const dmp_store_skey_t *nms; /* names by reversed name (idx = the name's first row) */
    size_t nn;
    bool tombs;
    wtask_t t[WTASKS_MAX];
    size_t nt;
    _Atomic size_t next;
    _Atomic size_t rows_done; /* records rows written (progress) */
    _Atomic int rc;
} wpool_t;

typedef struct {
    wpool_t *p;
    int cf;
    rocksdb_sstfilewriter_t *w;
    size_t since_check;
    uint64_t files, bytes;
} sstw_t;

static int sstw_fail(sstw_t *w, const char *what, char *err)
{
    dmp_store_ingest_seterr(w->p->g, what, err);
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

/* A new file in the column family's list (named by its place in the list; ingestion orders
 * the files by their keys, which never overlap). */
static int sstw_open_file(sstw_t *w)
{
    dmp_store_ingest_t *g = w->p->g;
    char path[4096];
    char *p = NULL;
    int rc = 0;
    pthread_mutex_lock(&w->p->mu);
    size_t n = g->nfiles[w->cf];
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) { /* capacity 16, 32, 64, ... */
        char **nf = realloc(g->files[w->cf], (n ? n * 2 : 16) * sizeof *nf);
        if (nf == NULL)
            rc = DMP_ENOMEM;
        else
            g->files[w->cf] = nf;
    }
    int pl = snprintf(path, sizeof path, "%s/cf%02d-%05zu.sst", g->tmpdir, w->cf, n);
    if (rc == 0 && (pl < 0 || (size_t)pl >= sizeof path))
        rc = DMP_ERANGE;
    if (rc == 0 && (p = strdup(path)) == NULL)
        rc = DMP_ENOMEM;
    if (rc == 0)
        g->files[w->cf][g->nfiles[w->cf]++] = p;
    pthread_mutex_unlock(&w->p->mu);
    if (rc != 0)
        return rc;
    w->w = rocksdb_sstfilewriter_create(w->p->env, g->l->s->cfopts[w->cf]);
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

/* records rows [from, to) */
static int write_records(wpool_t *p, sstw_t *w, size_t from, size_t to)
{
    dmp_store_ingest_t *g = p->g;
    size_t vcap = 0;
    for (size_t i = from; i < to; i++)
        if (g->rows[i].vlen > vcap)
            vcap = g->rows[i].vlen;
    uint8_t *vbuf = malloc(DMP_STORE_REC_HDR + vcap);
    if (vbuf == NULL)
        return DMP_ENOMEM;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        const dmp_store_row_t *e = &g->rows[i];
        if (i + 8 < to) /* the values lie in input order: fetch ahead of the copy */
            __builtin_prefetch(g->rows[i + 8].value);
        uint8_t rk[DMP_STORE_RKEY_MAX];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        int64_t exp = g->now_ms + (int64_t)e->ttl * 1000;
        dmp_store_rec_hdr(vbuf, e->ttl, g->now_ms, exp, g->seq_base + e->idx);
        memcpy(vbuf + DMP_STORE_REC_HDR, e->value, e->vlen);
        rc = sstw_add(w, rk, rkl, vbuf, DMP_STORE_REC_HDR + e->vlen, false);
        if ((i & 0xfff) == 0xfff)
            atomic_fetch_add(&p->rows_done, 4096);
    }
    free(vbuf);
    return rc;
}

/* bystored: (stored, rkey) = records order */
static int write_bystored(wpool_t *p, sstw_t *w, size_t from, size_t to)
{
    dmp_store_ingest_t *g = p->g;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        const dmp_store_row_t *e = &g->rows[i];
        uint8_t rk[DMP_STORE_RKEY_MAX], ik[DMP_STORE_IKEY_MAX], ev[8];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        dmp_store_ob64_put(ev, g->now_ms + (int64_t)e->ttl * 1000);
        size_t ikl = dmp_store_ikey_make(ik, g->now_ms, rk, rkl);
        rc = sstw_add(w, ik, ikl, ev, 8, false);
    }
    return rc;
}

/* expiry: by (expires, rkey) = (ttl, records rank) */
static int write_expiry(wpool_t *p, sstw_t *w, size_t from, size_t to)
{
    dmp_store_ingest_t *g = p->g;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        const dmp_store_row_t *e = &g->rows[p->exp_ord ? (uint32_t)p->exp_ord[i] : i];
        uint8_t rk[DMP_STORE_RKEY_MAX], ik[DMP_STORE_IKEY_MAX];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        size_t ikl = dmp_store_ikey_make(ik, g->now_ms + (int64_t)e->ttl * 1000, rk, rkl);
        rc = sstw_add(w, ik, ikl, (const uint8_t *)"", 0, false);
    }
    return rc;
}

/* buckets (and, when the store has tombstones, the deletes that lift them): by (bucket, rkey) */
static int write_buckets(wpool_t *p, sstw_t *w, sstw_t *wt, size_t from, size_t to)
{
    dmp_store_ingest_t *g = p->g;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        const dmp_store_row_t *e = &g->rows[p->bkt_ord[i]];
        uint8_t bk[DMP_STORE_BKEY_MAX], ev[8];
        dmp_store_u16be(bk, e->bucket); /* = dmp_store_bkey_make, bucket hashed already */
        size_t bkl = 2 + dmp_store_rkey_make(bk + 2, e->name, e->nl, e->hash);
        dmp_store_ob64_put(ev, g->now_ms + (int64_t)e->ttl * 1000);
        rc = sstw_add(w, bk, bkl, ev, 8, false);
        if (rc == 0 && p->tombs)
            rc = sstw_add(wt, bk, bkl, NULL, 0, true);
    }
    return rc;
}

/* rnames: reversed(name) | 0 | hash, names [from, to) of the sorted names; a name's rows are
 * adjacent and in hash order in records order */
static int write_rnames(wpool_t *p, sstw_t *w, size_t from, size_t to)
{
    const dmp_store_row_t *rows = p->g->rows;
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        size_t f = p->nms[i].idx;
        char r[DMP_STORE_MAX_NAME];
        dmp_store_name_reverse(rows[f].name, rows[f].nl, r);
        for (size_t j = f; j < p->g->nu && rows[j].name == rows[f].name && rc == 0; j++) {
            uint8_t dk[DMP_STORE_RKEY_MAX], ev[8];
            size_t dkl = dmp_store_rkey_make(dk, r, rows[j].nl, rows[j].hash);
            dmp_store_ob64_put(ev, p->g->now_ms + (int64_t)rows[j].ttl * 1000);
            rc = sstw_add(w, dk, dkl, ev, 8, false);
        }
    }
    return rc;
}

static int run_task(wpool_t *p, const wtask_t *t)
{
    sstw_t w = {.p = p, .cf = t->cf}, wt = {.p = p, .cf = CF_TOMBS};
    int rc;
    switch (t->cf) {
    case CF_RECORDS:
        rc = write_records(p, &w, t->from, t->to);
        break;
    case CF_BYSTORED:
        rc = write_bystored(p, &w, t->from, t->to);
        break;
    case CF_EXPIRY:
        rc = write_expiry(p, &w, t->from, t->to);
        break;
    case CF_BUCKETS:
        rc = write_buckets(p, &w, &wt, t->from, t->to);
        break;
    default:
        rc = write_rnames(p, &w, t->from, t->to);
        break;
    }
    int r1 = sstw_close_file(&w), r2 = sstw_close_file(&wt);
    if (rc == 0)
        rc = r1 ? r1 : r2;
    pthread_mutex_lock(&p->mu);
    p->g->stats->sst_files += w.files + wt.files;
    p->g->stats->sst_bytes += w.bytes + wt.bytes;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Takes tasks until none is left (or one failed); the first thread reports progress. */
static void pool_work(wpool_t *p, bool reporter)
{
    for (;;) {
        size_t k = atomic_fetch_add(&p->next, 1);
        if (k >= p->nt || atomic_load(&p->rc) != 0)
            break;
        int rc = run_task(p, &p->t[k]);
        if (rc != 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&p->rc, &zero, rc);
        }
        if (reporter && p->g->progress)
            p->g->progress(p->g->ctx, "write", atomic_load(&p->rows_done), p->g->nu);
    }
}

static void *pool_thread(void *arg)
{
    pool_work(arg, false);
    return NULL;
}

/* Names by reversed name: inline bytes after the common prefix, the full reversed names on a
 * tie (distinct names never compare equal). idx = the name's first row. */
static int rname_tie(const dmp_store_skey_t *x, const dmp_store_skey_t *y, const void *arg)
{
    if (x->idx == y->idx)
        return 0;
    const dmp_store_row_t *rows = arg, *ex = &rows[x->idx], *ey = &rows[y->idx];
    char rx[DMP_STORE_MAX_NAME], ry[DMP_STORE_MAX_NAME];
    dmp_store_name_reverse(ex->name, ex->nl, rx);
    dmp_store_name_reverse(ey->name, ey->nl, ry);
    int c = memcmp(rx, ry, ex->nl < ey->nl ? ex->nl : ey->nl);
    if (c != 0)
        return c;
    if (ex->nl != ey->nl)
        return ex->nl < ey->nl ? -1 : 1;
    return x->idx < y->idx ? -1 : 1;
}

/* The distinct names sorted by reversed name (the rows of one name share its pointer). */
static int sort_rnames(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *nn_out)
{
    const dmp_store_row_t *rows = g->rows;
    size_t nn = 0;
    for (size_t i = 0; i < g->nu; i++)
        nn += i == 0 || rows[i].name != rows[i - 1].name;
    dmp_store_skey_t *v = malloc((nn ? nn : 1) * sizeof *v);
    if (v == NULL)
        return DMP_ENOMEM;
    char r0[DMP_STORE_MAX_NAME], r[DMP_STORE_MAX_NAME];
    size_t lcp = 0;
    if (g->nu) {
        dmp_store_name_reverse(rows[0].name, rows[0].nl, r0);
        lcp = rows[0].nl;
    }
    for (size_t i = 1; i < g->nu && lcp > 0; i++) {
        if (rows[i].name == rows[i - 1].name)
            continue;
        dmp_store_name_reverse(rows[i].name, rows[i].nl, r);
        lcp = common_prefix((const uint8_t *)r0, lcp, (const uint8_t *)r, rows[i].nl);
    }
    for (size_t i = 0, k = 0; i < g->nu; i++) {
        if (i > 0 && rows[i].name == rows[i - 1].name)
            continue;
        dmp_store_name_reverse(rows[i].name, rows[i].nl, r);
        skey_fill(&v[k], (const uint8_t *)r, rows[i].nl, lcp);
        v[k++].idx = (uint32_t)i;
    }
    *out = psort(v, nn, rname_tie, rows);
    *nn_out = nn;
    return 0;
}

/* rows by (ttl, records rank) when the ttls differ, else NULL */
static int sort_expiry(dmp_store_ingest_t *g, uint64_t **out)
{
    *out = NULL;
    bool same = true;
    for (size_t i = 1; i < g->nu && same; i++)
        same = g->rows[i].ttl == g->rows[0].ttl;
    if (same)
        return 0;
    uint64_t *ord = malloc(g->nu * sizeof *ord);
    if (ord == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < g->nu; i++)
        ord[i] = (uint64_t)g->rows[i].ttl << 32 | (uint64_t)i;
    qsort(ord, g->nu, sizeof *ord, u64_cmp);
    *out = ord;
    return 0;
}

/* rows by (bucket, records rank): a stable counting sort */
static int sort_buckets(dmp_store_ingest_t *g, uint32_t **out)
{
    size_t *start = calloc(DMP_STORE_MERKLE_BUCKETS + 1, sizeof *start);
    uint32_t *ord = malloc((g->nu ? g->nu : 1) * sizeof *ord);
    if (start == NULL || ord == NULL) {
        free(start);
        free(ord);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < g->nu; i++)
        start[g->rows[i].bucket + 1]++;
    for (size_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < g->nu; i++)
        ord[start[g->rows[i].bucket]++] = (uint32_t)i;
    free(start);
    *out = ord;
    return 0;
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

static void add_tasks(wpool_t *p, int cf, size_t n)
{
    size_t m = n / 2; /* two key ranges, so both threads can work on one column family */
    if (m > 0)
        p->t[p->nt++] = (wtask_t){cf, 0, m};
    p->t[p->nt++] = (wtask_t){cf, m, n};
}

int dmp_store_ingest_write(dmp_store_ingest_t *g)
{
    dmp_store_t *s = g->l->s;
    g->seq_base = atomic_fetch_add(&s->seq, g->l->n);
    wpool_t p = {.g = g, .tombs = !cf_empty(s, CF_TOMBS)};
    uint64_t *exp_ord = NULL;
    uint32_t *bkt_ord = NULL;
    dmp_store_skey_t *nms = NULL;
    int rc = pthread_mutex_init(&p.mu, NULL) == 0 ? 0 : DMP_ENOMEM;
    if (rc == 0 && (p.env = rocksdb_envoptions_create()) == NULL)
        rc = DMP_ENOMEM;
    if (rc == 0)
        rc = sort_expiry(g, &exp_ord);
    if (rc == 0)
        rc = sort_buckets(g, &bkt_ord);
    if (rc == 0)
        rc = sort_rnames(g, &nms, &p.nn);
    if (rc == 0) {
        p.exp_ord = exp_ord;
        p.bkt_ord = bkt_ord;
        p.nms = nms;
        /* the largest first: the records' values are most of the bytes */
        add_tasks(&p, CF_RECORDS, g->nu);
        add_tasks(&p, CF_RNAMES, p.nn);
        add_tasks(&p, CF_BUCKETS, g->nu);
        add_tasks(&p, CF_BYSTORED, g->nu);
        add_tasks(&p, CF_EXPIRY, g->nu);
        pthread_t th[DMP_STORE_LOAD_THREADS];
        bool started[DMP_STORE_LOAD_THREADS] = {false};
        for (int t = 1; t < DMP_STORE_LOAD_THREADS; t++)
            started[t] = pthread_create(&th[t], NULL, pool_thread, &p) == 0;
        pool_work(&p, true);
        for (int t = 1; t < DMP_STORE_LOAD_THREADS; t++)
            if (started[t])
                pthread_join(th[t], NULL);
        rc = atomic_load(&p.rc);
    }
    free(exp_ord);
    free(bkt_ord);
    free(nms);
    if (p.env)
        rocksdb_envoptions_destroy(p.env);
    pthread_mutex_destroy(&p.mu);
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
