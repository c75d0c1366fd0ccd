/* store: the expiry sweep. Walks CF_EXPIRY from sweep_from up to now in small chunks, removing
 * expired rows with all their index entries; each chunk holds the exclusive lock only to
 * re-read and write what it found without it. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- sweep ----
 *
 * The sweep must never hold a shard's write flush for long: the shards answer DNS, the sweep
 * runs at nice 13, and a low-priority thread holding the exclusive lock while the busy threads
 * of the node keep the CPU is a priority inversion. So each chunk works in two steps:
 *  1. without the lock: walk CF_EXPIRY from the sweep's cursor (the slow part: it may step over
 *     many deletion markers), collect up to SWEEP_STEP index entries that are due, read their
 *     rows (warming the block cache) and build the removal batch (index entries, count and
 *     Merkle deltas, journal) from those reads;
 *  2. under the exclusive lock (taken with trywrlock while writers hold it, so a waiting sweep
 *     does not queue in front of them): read those rows again in one batched MultiGet (memtable
 *     or block cache); if any differs from step 1's read (a put or delete came between: every
 *     put writes a fresh sequence number into its row), rebuild the batch from the fresh reads;
 *     write it without a sync, move the cursor on, release.
 * A put or delete holds the shared lock over its read-modify-write, so under the exclusive lock
 * no row changes between step 2's read and its write: what is written is decided on rows exactly
 * as they are then, and the invariants of store_internal.h hold exactly as before.
 *
 * sweep_from while a sweep runs: step 1 walks without the lock, so a put may add an entry behind
 * the walk (a record already due, e.g. ttl 0) after the walk passed its place. The sweep keeps
 * its own cursor and parks sweep_from at INT64_MAX (under the exclusive lock, when no put is
 * in flight); each put lowers it to its own earliest expiry (CAS-min, as always), so at every
 * chunk's exclusive section the sweep takes what puts left there and walks from the smaller of
 * that and its cursor. At the end it stores the cursor back. One sweep at a time (sweep_mu). */

/* Index entries handled per exclusive section: small enough that a section is a few hundred
 * microseconds (one batched read of hot rows and one unsynced write). */
#define SWEEP_STEP 64u
/* The sweep tries the lock (trywrlock, which does not queue) for up to SWEEP_TRY_MS before it
 * queues for it: a queued writer of this writer-preferring rwlock blocks every new reader, and
 * the queued thread is a nice-13 one that needs the CPU to take and release the lock. */
#define SWEEP_TRY_MS 1000
#define SWEEP_NAP_US 20

/* Where the sweep's walk resumes: the exact index key of the first entry not yet handled (kl >
 * 0), or just a time (kl == 0: seek to ob64(t)). Resuming at the key, not the time, matters when
 * many records share one expiry time (a batch put at one instant): the walk would otherwise step
 * again over the deletion markers of every entry it already removed at that time. */
typedef struct {
    int64_t t;
    uint8_t k[DMP_STORE_IKEY_MAX];
    size_t kl;
} sweep_pos_t;

typedef struct {
    uint8_t k[DMP_STORE_IKEY_MAX];
    size_t kl;
    int64_t t;
    bool bad;   /* the index key does not decode: drop it */
    size_t rko; /* offset of the record key within k */
    size_t rkl;
} sweep_cand_t;

/* Takes s->lock exclusively without queueing in front of writers while they hold it, then
 * queues if it keeps failing for SWEEP_TRY_MS. */
static void sweep_lock(dmp_store_t *s)
{
    /* Start the exclusive section on a fresh time slice: a thread at nice 13 that has been
     * walking is the first to be preempted, and a preemption inside the section is what the
     * shards would wait for. A short sleep puts it back through the scheduler first. */
    struct timespec nap = {0, SWEEP_NAP_US * 1000L};
    nanosleep(&nap, NULL);
    int64_t until = dmp_monotonic_ns() + (int64_t)SWEEP_TRY_MS * 1000000;
    long us = 50;
    while (pthread_rwlock_trywrlock(&s->lock) != 0) {
        if (dmp_monotonic_ns() >= until) {
            pthread_rwlock_wrlock(&s->lock);
            return;
        }
        struct timespec ts = {0, us * 1000L};
        nanosleep(&ts, NULL);
        us = us < 1000 ? us * 2 : 1000;
    }
}

/* Step 1: up to max (<= SWEEP_STEP) index entries due at now_ms, from *from on. *more:
 * entries past these may be due too; *resume: where the next walk starts. */
static int sweep_collect(dmp_store_t *s, int64_t now_ms, const sweep_pos_t *from, size_t max,
                         sweep_cand_t *c, size_t *nc, bool *more, sweep_pos_t *resume)
{
    int64_t start = from->t, last = from->t;
    uint8_t ub[8];
    bool bounded = now_ms < INT64_MAX;
    if (bounded)
        dmp_store_ob64_put(ub, now_ms + 1);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return DMP_ENOMEM;
    if (bounded)
        rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)ub, 8);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_EXPIRY]);
    uint8_t sk[8];
    dmp_store_ob64_put(sk, start);
    const char *seek = from->kl ? (const char *)from->k : (const char *)sk;
    size_t seekl = from->kl ? from->kl : 8;
    *nc = 0;
    *more = false;
    for (rocksdb_iter_seek(it, seek, seekl); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        int64_t t;
        const uint8_t *rkey;
        size_t rkl;
        if (kl > DMP_STORE_IKEY_MAX)
            continue; /* no writer makes such a key: left alone rather than cut short */
        bool bad = dmp_store_ikey_parse(k, kl, &t, &rkey, &rkl) != 0;
        if (!bad && t > now_ms)
            break; /* only without an upper bound (now_ms == INT64_MAX cannot get here) */
        if (*nc == max) {
            *more = true;
            resume->t = bad ? last : t;
            resume->kl = 0;
            if (!bad) { /* resume at exactly this entry */
                memcpy(resume->k, k, kl);
                resume->kl = kl;
            }
            break;
        }
        if (!bad)
            last = t;
        sweep_cand_t *x = &c[(*nc)++];
        x->bad = bad;
        x->kl = kl;
        memcpy(x->k, k, x->kl);
        x->t = bad ? start : t;
        x->rko = bad ? 0 : (size_t)(rkey - k);
        x->rkl = bad ? 0 : rkl;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return dmp_store_rerr(err);
}

/* Reads the rows of c[0..n) in one batched MultiGet; vals[i] NULL when row i is gone. */
static int sweep_read(dmp_store_t *s, const sweep_cand_t *c, size_t n,
                      rocksdb_pinnableslice_t **vals)
{
    const char *keys[SWEEP_STEP];
    size_t lens[SWEEP_STEP];
    char *errs[SWEEP_STEP];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].bad)
            continue;
        keys[m] = (const char *)c[i].k + c[i].rko;
        lens[m] = c[i].rkl;
        errs[m] = NULL;
        vals[m] = NULL;
        m++;
    }
    if (m == 0)
        return 0;
    rocksdb_batched_multi_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], m, keys, lens, vals, errs,
                                 false);
    int rc = 0;
    for (size_t i = 0; i < m; i++) {
        int r = dmp_store_rerr(errs[i]);
        if (r != 0 && rc == 0)
            rc = r;
    }
    return rc;
}

static void sweep_vals_free(rocksdb_pinnableslice_t **vals, size_t m)
{
    for (size_t i = 0; i < m; i++)
        if (vals[i] != NULL) {
            rocksdb_pinnableslice_destroy(vals[i]);
            vals[i] = NULL;
        }
}

/* Adds to wb/dl what removing the due rows among c[0..nc) takes, from their rows as read into
 * vals (see sweep_read); *n counts the rows removed. */
static int sweep_build(dmp_store_t *s, const sweep_cand_t *c, size_t nc,
                       rocksdb_pinnableslice_t *const *vals, rocksdb_writebatch_t *wb,
                       dmp_store_deltas_t *dl, size_t *n)
{
    int rc = 0;
    *n = 0;
    for (size_t i = 0, v = 0; rc == 0 && i < nc; i++) {
        const sweep_cand_t *x = &c[i];
        if (x->bad) {
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)x->k, x->kl);
            continue;
        }
        rocksdb_pinnableslice_t *ps = vals[v++];
        size_t vl = 0;
        const char *val = ps ? rocksdb_pinnableslice_value(ps, &vl) : NULL;
        dmp_store_rec_t rec;
        if (val != NULL && dmp_store_rec_parse((const uint8_t *)val, vl, &rec) == 0 &&
            rec.expires_ms == x->t) {
            rc = dmp_store_remove_row(s, wb, dl, x->k + x->rko, x->rkl, &rec, false);
            (*n)++;
        } else {
            /* Stale index entry (row gone or refreshed): drop just the entry. */
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)x->k, x->kl);
        }
    }
    return rc;
}

/* True when two reads of the same rows found the same bytes (every put writes a fresh sequence
 * number into the row, so equal bytes are the same version of the row). */
static bool sweep_same(rocksdb_pinnableslice_t *const *a, rocksdb_pinnableslice_t *const *b,
                       size_t m)
{
    for (size_t i = 0; i < m; i++) {
        size_t al = 0, bl = 0;
        const char *av = a[i] ? rocksdb_pinnableslice_value(a[i], &al) : NULL;
        const char *bv = b[i] ? rocksdb_pinnableslice_value(b[i], &bl) : NULL;
        if ((av == NULL) != (bv == NULL) || al != bl || (al && memcmp(av, bv, al) != 0))
            return false;
    }
    return true;
}

/* One chunk from *from (the sweep's cursor): collects, reads and builds its batch without the
 * lock; under it, re-reads the rows and writes the batch if they are unchanged (else rebuilds it
 * from the fresh reads first), and moves *from on. Up to max index entries. */
static int sweep_chunk(dmp_store_t *s, int64_t now_ms, size_t max, sweep_pos_t *from,
                       size_t *removed, bool *more)
{
    sweep_cand_t *c = malloc(SWEEP_STEP * sizeof *c);
    rocksdb_pinnableslice_t *vals[SWEEP_STEP] = {0}, *pre[SWEEP_STEP] = {0};
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    sweep_pos_t *resume = malloc(sizeof *resume);
    if (c == NULL || wb == NULL || resume == NULL) {
        free(c);
        free(resume);
        if (wb)
            rocksdb_writebatch_destroy(wb);
        return DMP_ENOMEM;
    }
    int64_t start = from->t;
    resume->t = start;
    resume->kl = 0;
    size_t nc = 0, nrows = 0, n = 0;
    dmp_store_deltas_t dl = {0};
    int rc =
        sweep_collect(s, now_ms, from, max < SWEEP_STEP ? max : SWEEP_STEP, c, &nc, more, resume);
    for (size_t i = 0; i < nc; i++)
        nrows += !c[i].bad;
    /* without the lock: read the rows (warming the block cache) and build the batch */
    if (rc == 0 && nrows > 0)
        rc = sweep_read(s, c, nc, pre);
    if (rc == 0 && nc > 0)
        rc = sweep_build(s, c, nc, pre, wb, &dl, &n);

    sweep_lock(s);
    /* puts since the last exclusive section left their earliest expiry here */
    int64_t put_min = atomic_exchange(&s->sweep_from, INT64_MAX);
    if (rc == 0 && nrows > 0)
        rc = sweep_read(s, c, nc, vals);
    if (rc == 0 && nrows > 0 && !sweep_same(pre, vals, nrows)) {
        /* a put or delete touched one of these rows meanwhile: decide again on what is there */
        rocksdb_writebatch_clear(wb);
        free(dl.d);
        dmp_buf_free(&dl.journal);
        memset(&dl, 0, sizeof dl);
        rc = sweep_build(s, c, nc, vals, wb, &dl, &n);
    }
    if (rc == 0 && rocksdb_writebatch_count(wb) > 0) {
        dmp_store_deltas_emit(s, &dl, wb, dmp_store_wb_merge);
        /* Not synced: a lost sweep is simply redone; the batch is atomic either way. Removing
         * rows changes the zone (a new serial); dropping stale index entries does not. */
        if (n > 0) {
            rc = dmp_store_write_stamped(s, s->wnosync, wb, false, &dl);
        } else {
            char *err = NULL;
            rocksdb_write(s->db, s->wnosync, wb, &err);
            rc = dmp_store_werr(s, err);
        }
    }
    if (rc == 0 && *more) {
        *from = *resume;
    } else if (rc == 0) {
        from->t = now_ms < INT64_MAX ? now_ms + 1 : start;
        from->kl = 0;
    }
    if (put_min < from->t) { /* a put added an entry the walk may have passed: walk from it */
        from->t = put_min;
        from->kl = 0;
        *more = true;
    }
    pthread_rwlock_unlock(&s->lock);
    sweep_vals_free(vals, nrows);
    sweep_vals_free(pre, nrows);
    rocksdb_writebatch_destroy(wb);
    free(dl.d);
    dmp_buf_free(&dl.journal);
    free(c);
    free(resume);
    if (rc == 0)
        *removed += n;
    return rc;
}

static pthread_mutex_t sweep_mu = PTHREAD_MUTEX_INITIALIZER;

int dmp_store_sweep(dmp_store_t *s, int64_t now_ms, size_t max_records, size_t *removed)
{
    if (removed != NULL)
        *removed = 0;
    if (s == NULL)
        return DMP_EINVAL;
    size_t total = 0;
    int rc = 0;
    pthread_mutex_lock(&sweep_mu);
    /* park sweep_from (see above): from here puts lower it from INT64_MAX */
    sweep_lock(s);
    sweep_pos_t from = {.t = atomic_exchange(&s->sweep_from, INT64_MAX), .kl = 0};
    pthread_rwlock_unlock(&s->lock);
    for (;;) {
        bool more = false;
        size_t left = max_records == 0 ? SIZE_MAX : max_records - total;
        rc = sweep_chunk(s, now_ms, left, &from, &total, &more);
        if (rc != 0 || !more || (max_records && total >= max_records))
            break;
    }
    /* hand the cursor back, keeping what puts lowered it to meanwhile */
    int64_t cur = atomic_load(&s->sweep_from);
    while (from.t < cur && !atomic_compare_exchange_weak(&s->sweep_from, &cur, from.t)) {
    }
    pthread_mutex_unlock(&sweep_mu);
    if (rc == 0) {
        size_t tombs = 0;
        rc = dmp_store_tombs_gc(s, now_ms, 4096, &tombs);
    }
    if (removed != NULL)
        *removed = total;
    if (total > 0)
        dmp_log(DMP_LOG_DEBUG, "store: sweep removed %zu expired records", total);
    return rc;
}
