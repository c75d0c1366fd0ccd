/* store: the bulk load's table files and ingestion (store_ingest.c drives them; the key
 * orders are in store_ingest_sort.c). Each column family's keys are written in its own byte
 * order into table files of about INGEST_FILE_BYTES, built with that column family's options
 * (same bloom filters and prefix extractor as flushed files), then ingested by moving
 * (linking) them into the store. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_ingest_int.h"

#define INGEST_FILE_BYTES ((uint64_t)64 << 20)

/* ---- table files ---- */

/* The writers of one load: a pool of tasks (one column family's key range each: its own table
 * files) run by a few threads per core; the tasks of the index column families in their own
 * orders wait for those, computed while the records are written. */
typedef struct {
    int cf;
    size_t from, to;
    bool ordered; /* needs the orders computed after the pool starts */
} wtask_t;

/* Writer threads: more than the cores, since each thread waits on the disk while its files
 * are synced (Finish), and its neighbours keep the cores busy meanwhile. */
#define WRITERS_PER_CORE 2
#define WRITERS_MAX 8
#define WTASKS_MAX (5 * 2 * WRITERS_MAX)

struct dmp_store_wpool {
    dmp_store_ingest_t *g;
    rocksdb_envoptions_t *env;
    pthread_mutex_t mu;    /* the file lists, the stats, ready */
    pthread_cond_t cv;     /* ready */
    bool ready;            /* the orders below are computed (or failed: rc) */
    uint64_t *exp_ord;     /* rows by (ttl, records rank); NULL: every ttl is the same */
    uint32_t *bkt_ord;     /* rows by (bucket, records rank) */
    dmp_store_skey_t *nms; /* names by reversed name (idx = the name's first row) */
    size_t nn;
    bool tombs;
    wtask_t t[WTASKS_MAX];
    size_t nt;
    pthread_t th[WRITERS_MAX];
    bool started[WRITERS_MAX];
    size_t nw;
    _Atomic size_t next;
    _Atomic size_t rows_done; /* records rows written (progress) */
    _Atomic int rc;
};
typedef struct dmp_store_wpool wpool_t;

#define WPOOL_ABORTED DMP_EAGAIN /* the load failed elsewhere (its own error stands) */

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
        if (atomic_load_explicit(&w->p->rc, memory_order_relaxed) != 0)
            return WPOOL_ABORTED; /* stop early: nothing of this load will be ingested */
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
        if (i + 8 < to) { /* the values lie in input order: fetch ahead of the copy, every
                             line of the value (up to 512 bytes) */
            const dmp_store_row_t *a = &g->rows[i + 8];
            const char *v = (const char *)a->value;
            size_t vl = a->vlen < 512 ? a->vlen : 512;
            for (size_t o = 0; o < vl; o += 64)
                __builtin_prefetch(v + o);
            __builtin_prefetch(v + vl);
        }
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
        if (p->exp_ord && i + 16 < to)
            __builtin_prefetch(&g->rows[(uint32_t)p->exp_ord[i + 16]]);
        if (p->exp_ord && i + 8 < to)
            __builtin_prefetch(g->rows[(uint32_t)p->exp_ord[i + 8]].name);
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
        /* the rows in bucket order are scattered: fetch the row and its name ahead */
        if (i + 16 < to)
            __builtin_prefetch(&g->rows[p->bkt_ord[i + 16]]);
        if (i + 8 < to)
            __builtin_prefetch(g->rows[p->bkt_ord[i + 8]].name);
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
        if (i + 16 < to)
            __builtin_prefetch(&rows[p->nms[i + 16].idx]);
        if (i + 8 < to)
            __builtin_prefetch(rows[p->nms[i + 8].idx].name);
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

static void pool_fail(wpool_t *p, int rc)
{
    int zero = 0;
    atomic_compare_exchange_strong(&p->rc, &zero, rc);
}

/* Takes tasks until none is left (or one failed); the reporter (the caller's thread, once its
 * own work is done) reports progress. A task that needs the orders waits for them. */
static void pool_work(wpool_t *p, bool reporter)
{
    for (;;) {
        size_t k = atomic_fetch_add(&p->next, 1);
        if (k >= p->nt || atomic_load(&p->rc) != 0)
            break;
        if (p->t[k].ordered) {
            pthread_mutex_lock(&p->mu);
            while (!p->ready)
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
            if (atomic_load(&p->rc) != 0)
                break;
        }
        int rc = run_task(p, &p->t[k]);
        if (rc != 0)
            pool_fail(p, rc);
        if (reporter && p->g->progress)
            p->g->progress(p->g->ctx, "write", atomic_load(&p->rows_done), p->g->nu);
    }
}

static void *pool_thread(void *arg)
{
    pool_work(arg, false);
    return NULL;
}

/* parts key ranges of one column family (several threads work on one column family) */
static void add_tasks(wpool_t *p, int cf, size_t n, size_t parts, bool ordered)
{
    size_t most = n / dmp_store_ingest_par_min; /* a small load: one file per column family */
    if (parts > most)
        parts = most ? most : 1;
    for (size_t k = 0; k < parts; k++)
        p->t[p->nt++] = (wtask_t){cf, n * k / parts, n * (k + 1) / parts, ordered};
}

static size_t writer_threads(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    size_t w = c > 0 ? (size_t)c * WRITERS_PER_CORE : 2;
    return w < 2 ? 2 : w > WRITERS_MAX ? WRITERS_MAX : w;
}

static void pool_free(wpool_t *p)
{
    free(p->exp_ord);
    free(p->bkt_ord);
    free(p->nms);
    if (p->env)
        rocksdb_envoptions_destroy(p->env);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void set_ready(wpool_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->ready = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int dmp_store_ingest_write_start(dmp_store_ingest_t *g)
{
    dmp_store_t *s = g->l->s;
    g->seq_base = atomic_fetch_add(&s->seq, g->l->n);
    wpool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return DMP_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return DMP_ENOMEM;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return DMP_ENOMEM;
    }
    p->g = g;
    p->tombs = atomic_load(&s->has_tombs);
    if ((p->env = rocksdb_envoptions_create()) == NULL) {
        pool_free(p);
        return DMP_ENOMEM;
    }
    g->pool = p;
    /* the largest first (the records' values are most of the bytes), each column family in as
     * many key ranges as threads (the records in twice as many: the tail of the pool is then
     * small tasks). The records and bystored (records order) start at once; the others wait
     * for their orders, computed here meanwhile. */
    size_t nw = p->nw = writer_threads();
    add_tasks(p, CF_RECORDS, g->nu, 2 * nw, false);
    add_tasks(p, CF_BYSTORED, g->nu, nw, false);
    size_t rn0 = p->nt;
    add_tasks(p, CF_RNAMES, g->nu, nw, true); /* cut by names below */
    size_t rn1 = p->nt;
    add_tasks(p, CF_BUCKETS, g->nu, nw, true);
    add_tasks(p, CF_EXPIRY, g->nu, nw, true);
    for (size_t t = 1; t < nw; t++)
        p->started[t] = pthread_create(&p->th[t], NULL, pool_thread, p) == 0;
    if (g->progress)
        g->progress(g->ctx, "orders", 0, g->nu);
    int rc = dmp_store_ingest_order_expiry(g, &p->exp_ord);
    if (rc == 0)
        rc = dmp_store_ingest_order_buckets(g, &p->bkt_ord);
    if (rc == 0)
        rc = dmp_store_ingest_order_rnames(g, &p->nms, &p->nn);
    if (rc == 0) { /* the rnames tasks cut the names, not the rows */
        size_t parts = rn1 - rn0;
        for (size_t k = 0; k < parts; k++) {
            p->t[rn0 + k].from = p->nn * k / parts;
            p->t[rn0 + k].to = p->nn * (k + 1) / parts;
        }
    }
    if (rc != 0)
        pool_fail(p, rc);
    set_ready(p);
    return rc;
}

int dmp_store_ingest_write_finish(dmp_store_ingest_t *g, int rc)
{
    wpool_t *p = g->pool;
    if (p == NULL)
        return rc ? rc : DMP_EINVAL;
    if (rc != 0) {
        pool_fail(p, WPOOL_ABORTED);
    } else {
        if (g->progress)
            g->progress(g->ctx, "write", atomic_load(&p->rows_done), g->nu);
        pool_work(p, true); /* this thread joins in */
    }
    for (size_t t = 1; t < p->nw; t++)
        if (p->started[t])
            pthread_join(p->th[t], NULL);
    int wrc = atomic_load(&p->rc);
    pool_free(p);
    g->pool = NULL;
    if (rc == 0 && g->progress)
        g->progress(g->ctx, "write", g->nu, g->nu);
    return rc ? rc : wrc;
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
    /* readers' kept iterators refresh (ingested files need not advance the sequence) */
    atomic_fetch_add_explicit(&s->rgen, 1, memory_order_release);
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
