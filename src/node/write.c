/* node: HTTP writes applied on the owning shard thread, batched into synced WriteBatches. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "node/node.h"

void dmp_node_serial_touch(_Atomic uint32_t *serial, int64_t now_ms)
{
    if (!serial || now_ms < 0)
        return;
    uint32_t now_s = (uint32_t)(now_ms / 1000);
    uint32_t cur = atomic_load_explicit(serial, memory_order_relaxed);
    while (now_s > cur && !atomic_compare_exchange_weak_explicit(
                              serial, &cur, now_s, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void complete(dmp_node_write_t *w, int status)
{
    w->status = status;
    if (w->done)
        w->done(w);
}

static bool same_name(const dmp_node_write_t *a, const dmp_node_write_t *b)
{
    return a->lname_len == b->lname_len && memcmp(a->lname, b->lname, a->lname_len) == 0;
}

static bool same_value(const dmp_node_write_t *a, const dmp_node_write_t *b)
{
    return a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

/* The RRset cap (reference step 9): refuse a NEW value when the name already holds cap live
 * values, counting the values still pending in this shard's batch. Returns an HTTP status
 * (0 = passes). */
static int cap_check(dmp_node_wq_t *q, const dmp_node_write_t *w, int64_t now)
{
    if (w->cap == 0)
        return 0;
    size_t count = 0;
    int rc = dmp_store_count_values(q->store, w->lname, w->lname_len, now, &count);
    if (rc != 0 && rc != DMP_ENOTFOUND) {
        DMP_STAT_INC(q->st, store_errors);
        return 502;
    }
    bool present = false;
    if (count > 0) {
        rc = dmp_store_has_value(q->store, w->lname, w->lname_len, w->value, w->value_len, now,
                                 &present);
        if (rc != 0 && rc != DMP_ENOTFOUND) {
            DMP_STAT_INC(q->st, store_errors);
            return 502;
        }
    }
    for (dmp_node_write_t *p = q->head; p; p = p->next) {
        if (!same_name(p, w))
            continue;
        if (same_value(p, w)) {
            present = true;
            continue;
        }
        /* a pending distinct value: new unless the store already has it */
        bool had = false;
        if (count > 0 &&
            dmp_store_has_value(q->store, p->lname, p->lname_len, p->value, p->value_len, now,
                                &had) == 0 &&
            had)
            continue;
        bool dup = false;
        for (dmp_node_write_t *e = q->head; e != p; e = e->next) {
            if (same_name(e, p) && same_value(e, p))
                dup = true;
        }
        if (!dup)
            count++;
    }
    if (count >= w->cap && !present)
        return 413;
    return 0;
}

void dmp_node_wq_flush(dmp_node_wq_t *q)
{
    if (!q->head)
        return;
    int64_t now = q->now_ms();
    size_t n = q->n;
    dmp_store_put_t stack[64];
    dmp_store_put_t *puts = n <= 64 ? stack : malloc(n * sizeof(*puts));
    int rc = DMP_ENOMEM;
    if (puts) {
        size_t i = 0;
        for (dmp_node_write_t *w = q->head; w; w = w->next, i++) {
            puts[i] = (dmp_store_put_t){.name = w->lname,
                                        .name_len = w->lname_len,
                                        .value = w->value,
                                        .value_len = w->value_len,
                                        .ttl = w->ttl};
        }
        rc = dmp_store_put_batch_ex(q->store, puts, n, now, q->syncer ? DMP_STORE_NOSYNC : 0);
        if (rc == 0)
            DMP_STAT_INC(q->st, write_batches);
    }
    dmp_node_write_t *w = q->head, *dhead = NULL, *dtail = NULL;
    q->head = q->tail = NULL;
    q->n = 0;
    while (w) {
        dmp_node_write_t *next = w->next;
        w->next = NULL;
        int st = 201;
        if (rc != 0) {
            /* one bad entry fails the whole batch: retry this one alone */
            dmp_store_put_t one = {w->lname, w->lname_len, w->value, w->value_len, w->ttl};
            if (dmp_store_put_batch_ex(q->store, &one, 1, now, q->syncer ? DMP_STORE_NOSYNC : 0) ==
                0) {
                DMP_STAT_INC(q->st, write_batches);
            } else {
                st = 502;
            }
        }
        if (q->cache)
            dmp_cache_invalidate(q->cache, w->lname, w->lname_len);
        if (st == 201) {
            if (q->on_stored)
                q->on_stored(q->on_stored_ctx, w);
            dmp_node_serial_touch(q->serial, now);
            DMP_STAT_INC(q->st, writes);
        } else {
            DMP_STAT_INC(q->st, write_errors);
            DMP_STAT_INC(q->st, store_errors);
        }
        if (st == 201 && q->syncer) {
            w->status = st; /* completed by the syncer once durable */
            if (dtail)
                dtail->next = w;
            else
                dhead = w;
            dtail = w;
        } else {
            complete(w, st);
        }
        w = next;
    }
    if (dhead)
        dmp_node_syncer_defer(q->syncer, dhead, dtail);
    if (puts && puts != stack)
        free(puts);
}

void dmp_node_wq_take(dmp_node_wq_t *q, dmp_node_write_t *w)
{
    w->next = NULL;
    if (w->op == DMP_NODE_W_DELETE) {
        dmp_node_wq_flush(q); /* earlier writes to this name land first */
        size_t removed = 0;
        int rc = dmp_store_delete_ex(q->store, w->lname, w->lname_len, w->value, w->value_len,
                                     &removed, q->syncer ? DMP_STORE_NOSYNC : 0);
        if (q->cache)
            dmp_cache_invalidate(q->cache, w->lname, w->lname_len);
        if (rc == 0) {
            dmp_node_serial_touch(q->serial, q->now_ms());
            DMP_STAT_INC(q->st, deletes);
            if (q->syncer) {
                w->status = 204;
                dmp_node_syncer_defer(q->syncer, w, w);
            } else {
                complete(w, 204);
            }
        } else if (rc == DMP_ENOTFOUND) {
            complete(w, 404);
        } else {
            DMP_STAT_INC(q->st, store_errors);
            complete(w, 502);
        }
        return;
    }
    int64_t now = q->now_ms();
    int st = cap_check(q, w, now);
    if (st == 0 && w->value_unsafe)
        st = 400;
    if (st) {
        complete(w, st);
        return;
    }
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    q->n++;
    if (q->n >= (q->max_batch ? q->max_batch : 64))
        dmp_node_wq_flush(q);
}

void dmp_node_background_thread(void)
{
    static _Thread_local bool done;
    if (done)
        return;
    done = true;
    /* best effort: an unprivileged process may always raise its own nice value */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), 13) != 0)
        dmp_debug("setpriority: cannot lower a background thread's priority");
}

/* ---- group commit ---- */
#define DMP_NODE_SYNC_GAP_NS 2000000 /* 2 ms */

static void *syncer_main(void *arg)
{
    dmp_node_syncer_t *sy = arg;
    dmp_node_background_thread();
    int64_t last_start = 0;
    pthread_mutex_lock(&sy->mu);
    for (;;) {
        while (!sy->head && !sy->stop)
            pthread_cond_wait(&sy->cv, &sy->mu);
        if (!sy->head && sy->stop)
            break;
        /* Syncs start at least DMP_NODE_SYNC_GAP_NS apart: a write arriving within that gap
         * of the previous sync waits for the rest of it and shares the next fsync with every
         * write that arrives meanwhile (at most 500 fsyncs/s, however fast writes come). */
        int64_t wait_ns = last_start + DMP_NODE_SYNC_GAP_NS - dmp_monotonic_ns();
        if (wait_ns > 0 && !sy->stop) {
            pthread_mutex_unlock(&sy->mu);
            struct timespec ts = {0, (long)wait_ns};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&sy->mu);
        }
        dmp_node_write_t *w = sy->head;
        sy->head = sy->tail = NULL;
        pthread_mutex_unlock(&sy->mu);
        /* every write in the chain was written before this sync starts */
        last_start = dmp_monotonic_ns();
        int rc = dmp_store_sync_wal(sy->store);
        atomic_fetch_add_explicit(&sy->syncs, 1, memory_order_relaxed);
        if (rc != 0)
            dmp_error("WAL sync failed (%s): failing %s", dmp_store_strerror(rc),
                      "the writes waiting on it");
        while (w) {
            dmp_node_write_t *next = w->next;
            w->next = NULL;
            complete(w, rc == 0 ? w->status : 502);
            w = next;
        }
        pthread_mutex_lock(&sy->mu);
    }
    pthread_mutex_unlock(&sy->mu);
    return NULL;
}

int dmp_node_syncer_start(dmp_node_syncer_t *sy, dmp_store_t *store)
{
    memset(sy, 0, sizeof(*sy));
    sy->store = store;
    pthread_mutex_init(&sy->mu, NULL);
    pthread_cond_init(&sy->cv, NULL);
    if (pthread_create(&sy->th, NULL, syncer_main, sy) != 0)
        return DMP_ESYS;
    sy->started = true;
    return 0;
}

void dmp_node_syncer_defer(dmp_node_syncer_t *sy, dmp_node_write_t *head, dmp_node_write_t *tail)
{
    pthread_mutex_lock(&sy->mu);
    if (sy->tail)
        sy->tail->next = head;
    else
        sy->head = head;
    sy->tail = tail;
    pthread_cond_signal(&sy->cv);
    pthread_mutex_unlock(&sy->mu);
}

void dmp_node_syncer_stop(dmp_node_syncer_t *sy)
{
    if (!sy->started)
        return;
    pthread_mutex_lock(&sy->mu);
    sy->stop = true;
    pthread_cond_signal(&sy->cv);
    pthread_mutex_unlock(&sy->mu);
    pthread_join(sy->th, NULL); /* the loop drains the pending list before it exits */
    sy->started = false;
    pthread_cond_destroy(&sy->cv);
    pthread_mutex_destroy(&sy->mu);
}
