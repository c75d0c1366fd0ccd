/* node: background threads (one start/stop/tick type) and the group-commit syncer on top. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "node/node.h"

/* SCHED_BATCH, then the nice value (both best effort: an unprivileged thread may always move
 * from SCHED_OTHER to SCHED_BATCH and raise its own nice value). A waking SCHED_BATCH thread
 * does not preempt the thread running on its core: on a core saturated by queries, each write's
 * hand-offs (HTTP thread, WAL sync) wait for the frontend's or shard's slice to end instead of
 * cutting it short, which turned every write into a few extra context switches of the query
 * path. Its share of the core is still set by the nice value. */
int dmp_node_thread_lower(int nice)
{
    int rc = 0;
    struct sched_param sp = {.sched_priority = 0};
    if (sched_setscheduler((pid_t)gettid(), SCHED_BATCH, &sp) != 0) {
        dmp_debug("sched_setscheduler: cannot make a background thread SCHED_BATCH");
        rc = DMP_ESYS;
    }
    if (nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), nice) != 0) {
        dmp_debug("setpriority: cannot lower a background thread's priority");
        rc = DMP_ESYS;
    }
    return rc;
}

void dmp_node_background_thread(void)
{
    static _Thread_local bool done;
    if (done)
        return;
    done = true;
    dmp_node_thread_lower(13);
}

static void *bg_main(void *arg)
{
    dmp_node_bgthread_t *b = arg;
    if (b->name) { /* "dmp-" + the name, cut to the kernel's 15 characters */
        char tn[16];
        snprintf(tn, sizeof tn, "dmp-%s", b->name);
        pthread_setname_np(pthread_self(), tn);
    }
    if (b->nice > 0)
        dmp_node_thread_lower(b->nice);
    int64_t interval_ns = (int64_t)(b->interval_s * 1e9);
    pthread_mutex_lock(&b->mu);
    while (!b->stop) {
        if (interval_ns > 0) {
            /* the deadline is on CLOCK_MONOTONIC, the condvar's clock */
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + interval_ns;
            ts.tv_sec = t / 1000000000;
            ts.tv_nsec = t % 1000000000;
            while (!b->stop && !b->kicked) {
                if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT)
                    break;
            }
        } else {
            while (!b->stop && !b->kicked)
                pthread_cond_wait(&b->cv, &b->mu);
        }
        if (b->stop)
            break;
        b->kicked = false;
        pthread_mutex_unlock(&b->mu);
        b->tick(b->ctx);
        atomic_fetch_add_explicit(&b->ticks, 1, memory_order_relaxed);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (b->tick_on_stop) {
        b->tick(b->ctx);
        atomic_fetch_add_explicit(&b->ticks, 1, memory_order_relaxed);
    }
    return NULL;
}

int dmp_node_bgthread_start(dmp_node_bgthread_t *b)
{
    if (!b || !b->tick || b->interval_s < 0)
        return DMP_EINVAL;
    b->stop = b->kicked = b->started = false;
    atomic_init(&b->ticks, 0);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&b->th, NULL, bg_main, b) != 0) {
        pthread_cond_destroy(&b->cv);
        pthread_mutex_destroy(&b->mu);
        return DMP_ESYS;
    }
    b->started = true;
    return 0;
}

void dmp_node_bgthread_kick(dmp_node_bgthread_t *b)
{
    pthread_mutex_lock(&b->mu);
    b->kicked = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void dmp_node_bgthread_stop(dmp_node_bgthread_t *b)
{
    if (!b || !b->started)
        return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);
    b->started = false;
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

/* ---- group commit ---- */
#define DMP_NODE_SYNC_GAP_NS 2000000      /* 2 ms: the gap after a sync that carried one */
#define DMP_NODE_SYNC_GAP_MAX_NS 10000000 /* 10 ms */

int64_t dmp_node_sync_gap_ns(size_t carried)
{
    if (carried == 0)
        return 0;
    if (carried >= 25) /* 2 ms x sqrt(25) = the cap */
        return DMP_NODE_SYNC_GAP_MAX_NS;
    /* 2 ms x sqrt(n) = sqrt(n x 4e12) ns: the integer square root, by bisection */
    uint64_t v = (uint64_t)carried * 4000000000000u, lo = 0, hi = DMP_NODE_SYNC_GAP_MAX_NS;
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (mid * mid <= v)
            lo = mid;
        else
            hi = mid - 1;
    }
    return (int64_t)lo;
}

static void complete(dmp_node_txn_t *t)
{
    if (t->done)
        t->done(t);
}

/* One tick: syncs for every transaction handed over so far and completes them; loops until
 * nothing is pending (so the final tick on stop drains everything). */
static void syncer_tick(void *arg)
{
    dmp_node_syncer_t *sy = arg;
    for (;;) {
        pthread_mutex_lock(&sy->mu);
        bool empty = sy->head == NULL;
        pthread_mutex_unlock(&sy->mu);
        if (empty)
            return;
        /* Syncs start at least a gap apart, and the gap grows with how many records (the
         * changes of the transactions) the last sync carried (dmp_node_sync_gap_ns: 2 ms after
         * one, 10 ms from 25; a batch publish of 8 records counts 8, so 250 batches/s space
         * the syncs as 2,000 single writes/s do rather than syncing for each): a write
         * arriving within it waits for the rest of it and shares the next fsync with every
         * write that arrives meanwhile. A lone write after a quiet spell syncs at once; under
         * a steady load the syncs space out (2,000 writes/s settle near 8 ms, 125 fsyncs/s
         * instead of 500), so the fsyncs and the wake-ups around them cost each write less,
         * for a few ms more of acknowledgement latency. */
        int64_t gap = dmp_node_sync_gap_ns(sy->last_carried);
        int64_t wait_ns = sy->last_start_ns + gap - dmp_monotonic_ns();
        if (wait_ns > 0 && wait_ns <= gap) {
            struct timespec ts = {wait_ns / 1000000000, (long)(wait_ns % 1000000000)};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&sy->mu);
        dmp_node_txn_t *t = sy->head;
        sy->head = sy->tail = NULL;
        pthread_mutex_unlock(&sy->mu);
        /* every transaction in the chain was written before this sync starts */
        sy->last_start_ns = dmp_monotonic_ns();
        int rc = dmp_store_sync_wal(sy->store);
        atomic_fetch_add_explicit(&sy->syncs, 1, memory_order_relaxed);
        if (rc != 0)
            dmp_error("WAL sync failed (%s): failing %s", dmp_store_strerror(rc),
                      "the writes waiting on it");
        size_t carried = 0;
        while (t) {
            dmp_node_txn_t *next = t->next;
            t->next = NULL;
            if (rc != 0) /* applied and visible: say so, not "not applied" */
                t->result = DMP_NODE_ENOTDURABLE;
            carried += t->n ? t->n : 1;
            complete(t); /* t may be freed by its done() */
            t = next;
        }
        sy->last_carried = carried;
    }
}

int dmp_node_syncer_start(dmp_node_syncer_t *sy, dmp_store_t *store)
{
    memset(sy, 0, sizeof(*sy));
    sy->store = store;
    pthread_mutex_init(&sy->mu, NULL);
    sy->bg = (dmp_node_bgthread_t){.name = "wal-sync",
                                   .interval_s = 0,
                                   .tick = syncer_tick,
                                   .ctx = sy,
                                   .nice = 13,
                                   .tick_on_stop = true};
    int rc = dmp_node_bgthread_start(&sy->bg);
    if (rc != 0)
        pthread_mutex_destroy(&sy->mu);
    return rc;
}

void dmp_node_syncer_defer(dmp_node_syncer_t *sy, dmp_node_txn_t *head, dmp_node_txn_t *tail)
{
    pthread_mutex_lock(&sy->mu);
    if (sy->tail)
        sy->tail->next = head;
    else
        sy->head = head;
    sy->tail = tail;
    pthread_mutex_unlock(&sy->mu);
    dmp_node_bgthread_kick(&sy->bg);
}

void dmp_node_syncer_stop(dmp_node_syncer_t *sy)
{
    if (!sy->bg.started)
        return;
    dmp_node_bgthread_stop(&sy->bg); /* the final tick drains the pending list */
    pthread_mutex_destroy(&sy->mu);
}
