/* net: bounded lock-free rings used between frontend and shard threads.
 *
 * dmp_net_spsc_t: single producer, single consumer ring of pointers. The ring never owns what
 * the pointers point to: whoever pops an item owns it.
 * dmp_net_mpsc_t: multi producer (any thread), single consumer ring of (fn, arg) tasks
 * (Vyukov's bounded queue, one consumer).
 *
 * Wake-up protocol (both rings): a push reports `was_empty` when the consumer had consumed
 * everything before this push; only then does the producer signal the consumer (eventfd). The
 * consumer, before sleeping, calls *_quiet(), which fences and re-checks. Together with the
 * seq_cst fence in push this makes a lost wake-up impossible: either the producer sees the
 * consumer's progress (and signals) or the consumer sees the new item (and does not sleep). */
#ifndef DMP_NET_RING_H
#define DMP_NET_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMP_NET_CACHELINE 64

/* Invariant: 0 <= tail - head <= mask + 1; slots [head, tail) hold items (indices mod cap). */
typedef struct {
    _Alignas(DMP_NET_CACHELINE) _Atomic size_t head; /* written by the consumer */
    size_t tail_cache;                               /* consumer's last view of tail */
    _Alignas(DMP_NET_CACHELINE) _Atomic size_t tail; /* written by the producer */
    size_t head_cache;                               /* producer's last view of head */
    _Alignas(DMP_NET_CACHELINE) size_t mask;
    void **slot; /* owned (malloc'd), cap = mask + 1 entries */
} dmp_net_spsc_t;

/* cap: power of two >= 2. DMP_EINVAL / DMP_ENOMEM. */
int dmp_net_spsc_init(dmp_net_spsc_t *r, size_t cap);
void dmp_net_spsc_destroy(dmp_net_spsc_t *r);

/* Producer: pushes up to n items, returns how many fit. *was_empty (may be NULL) is true when
 * the consumer had drained the ring before these items (signal it). */
static inline size_t dmp_net_spsc_push(dmp_net_spsc_t *r, void *const *items, size_t n,
                                       bool *was_empty)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t cap = r->mask + 1;
    if (t - r->head_cache + n > cap) {
        r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    }
    size_t room = cap - (t - r->head_cache);
    if (n > room) {
        n = room;
    }
    if (was_empty) {
        *was_empty = false;
    }
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        r->slot[(t + i) & r->mask] = items[i];
    }
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->head_cache = h;
    if (was_empty) {
        *was_empty = (h == t);
    }
    return n;
}

/* Consumer: pops up to max items into items[], returns the count. */
static inline size_t dmp_net_spsc_pop(dmp_net_spsc_t *r, void **items, size_t max)
{
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (r->tail_cache - h < max) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    }
    size_t n = r->tail_cache - h;
    if (n > max) {
        n = max;
    }
    for (size_t i = 0; i < n; i++) {
        items[i] = r->slot[(h + i) & r->mask];
    }
    if (n) {
        atomic_store_explicit(&r->head, h + n, memory_order_release);
    }
    return n;
}

/* Consumer, before sleeping: true when the ring is still empty after a full fence. */
static inline bool dmp_net_spsc_quiet(dmp_net_spsc_t *r)
{
    atomic_thread_fence(memory_order_seq_cst);
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->tail_cache == h;
}

/* Items waiting (any thread; a racy snapshot). */
static inline size_t dmp_net_spsc_size(const dmp_net_spsc_t *r)
{
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    return t - h <= r->mask + 1 ? t - h : 0;
}

typedef void (*dmp_net_task_fn)(void *arg);

typedef struct {
    _Atomic size_t seq; /* == pos: free for the producer of pos; == pos+1: holds item pos */
    dmp_net_task_fn fn;
    void *arg;
} dmp_net_mpsc_cell_t;

/* Invariant: deq <= enq; cells [deq, enq) are claimed (maybe not yet published). */
typedef struct {
    _Alignas(DMP_NET_CACHELINE) _Atomic size_t enq; /* producers' claim counter */
    _Alignas(DMP_NET_CACHELINE) _Atomic size_t deq; /* consumer's position */
    _Alignas(DMP_NET_CACHELINE) size_t mask;
    dmp_net_mpsc_cell_t *cell; /* owned (malloc'd), mask + 1 cells */
} dmp_net_mpsc_t;

int dmp_net_mpsc_init(dmp_net_mpsc_t *r, size_t cap);
void dmp_net_mpsc_destroy(dmp_net_mpsc_t *r);

/* Any thread. false when full (never blocks). *was_empty as for the SPSC ring. */
static inline bool dmp_net_mpsc_push(dmp_net_mpsc_t *r, dmp_net_task_fn fn, void *arg,
                                     bool *was_empty)
{
    size_t pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
    dmp_net_mpsc_cell_t *c;
    for (;;) {
        c = &r->cell[pos & r->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                break;
            }
        } else if (dif < 0) {
            return false; /* full */
        } else {
            pos = atomic_load_explicit(&r->enq, memory_order_relaxed);
        }
    }
    c->fn = fn;
    c->arg = arg;
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
    atomic_thread_fence(memory_order_seq_cst);
    if (was_empty) {
        *was_empty = atomic_load_explicit(&r->deq, memory_order_relaxed) == pos;
    }
    return true;
}

/* Consumer only. false when nothing (published) is waiting. */
static inline bool dmp_net_mpsc_pop(dmp_net_mpsc_t *r, dmp_net_task_fn *fn, void **arg)
{
    size_t pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
    dmp_net_mpsc_cell_t *c = &r->cell[pos & r->mask];
    size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (seq != pos + 1) {
        return false;
    }
    *fn = c->fn;
    *arg = c->arg;
    atomic_store_explicit(&c->seq, pos + r->mask + 1, memory_order_release);
    atomic_store_explicit(&r->deq, pos + 1, memory_order_release);
    return true;
}

static inline bool dmp_net_mpsc_quiet(dmp_net_mpsc_t *r)
{
    atomic_thread_fence(memory_order_seq_cst);
    size_t pos = atomic_load_explicit(&r->deq, memory_order_relaxed);
    dmp_net_mpsc_cell_t *c = &r->cell[pos & r->mask];
    return atomic_load_explicit(&c->seq, memory_order_acquire) != pos + 1;
}

#endif
