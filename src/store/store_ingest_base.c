/* store: what every stage of the bulk load (store_ingest*.c) and the store's open share: the
 * marker of a load in progress, the first error, and a loop split over the loader's threads.
 * docs/store.md "Bulk load". */
#include "store/store_internal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>

#include "store/store_ingest_int.h"

size_t dmp_store_ingest_par_min = 65536;

/* ---- the marker of a load in progress ---- */

int dmp_store_load_check(dmp_store_t *s, const char *path, char *errbuf, size_t errlen)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], DMP_STORE_META_LOAD,
                             sizeof DMP_STORE_META_LOAD - 1, &vl, &err);
    int rc = dmp_store_rerr(err);
    if (rc != 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "store %s: cannot read the bulk-load marker", path);
        return rc;
    }
    if (v == NULL)
        return 0;
    int64_t t = vl == 8 ? (int64_t)dmp_load_u64be((const uint8_t *)v) : 0;
    rocksdb_free(v);
    if (errbuf && errlen)
        snprintf(errbuf, errlen,
                 "store %s: a bulk load (dnsmesh-admin load, started at %" PRId64
                 " ms Unix time) was interrupted: the store may hold part of it without its "
                 "record count, Merkle digests and serial; restore the store from a backup, or "
                 "remove it and load again",
                 path, t);
    return DMP_STORE_ECORRUPT;
}

int dmp_store_ingest_marker_write(dmp_store_t *s, int64_t now_ms)
{
    uint8_t b[8];
    dmp_store_u64be(b, (uint64_t)now_ms);
    char *err = NULL;
    rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], DMP_STORE_META_LOAD,
                   sizeof DMP_STORE_META_LOAD - 1, (const char *)b, 8, &err);
    return dmp_store_werr(s, err);
}

int dmp_store_ingest_marker_clear(dmp_store_t *s)
{
    char *err = NULL;
    rocksdb_delete_cf(s->db, s->wsync, s->cf[CF_META], DMP_STORE_META_LOAD,
                      sizeof DMP_STORE_META_LOAD - 1, &err);
    return dmp_store_werr(s, err);
}

void dmp_store_ingest_seterr(dmp_store_ingest_t *g, const char *fmt, const char *a)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* two writer threads */
    pthread_mutex_lock(&mu);
    if (g->err && g->errlen && g->err[0] == '\0')
        snprintf(g->err, g->errlen, fmt, a ? a : "");
    pthread_mutex_unlock(&mu);
}

/* ---- two threads over an index range ---- */

typedef struct {
    dmp_store_ingest_t *g;
    size_t from, to;
    dmp_store_ingest_par_fn fn;
    void *part;
} par_t;

static void *par_run(void *arg)
{
    par_t *p = arg;
    p->fn(p->g, p->from, p->to, p->part);
    return NULL;
}

/* Runs fn over [0, n) in DMP_STORE_LOAD_THREADS slices (fewer when a thread cannot start);
 * parts[t] is slice t's private state. */
void dmp_store_ingest_par_for(dmp_store_ingest_t *g, size_t n, dmp_store_ingest_par_fn fn,
                              void **parts)
{
    par_t p[DMP_STORE_LOAD_THREADS];
    pthread_t th[DMP_STORE_LOAD_THREADS];
    bool started[DMP_STORE_LOAD_THREADS] = {false};
    size_t per = n / DMP_STORE_LOAD_THREADS + 1;
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++) {
        size_t from = per * (size_t)t, to = from + per;
        p[t] = (par_t){g, from < n ? from : n, to < n ? to : n, fn, parts ? parts[t] : NULL};
        if (t > 0 && n >= dmp_store_ingest_par_min)
            started[t] = pthread_create(&th[t], NULL, par_run, &p[t]) == 0;
    }
    par_run(&p[0]);
    for (int t = 1; t < DMP_STORE_LOAD_THREADS; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            par_run(&p[t]);
    }
}
