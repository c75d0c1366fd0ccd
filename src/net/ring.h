/* net: bounded lock-free rings used between frontend and shard threads.
 *
 * dmp_net_spsc_t: single producer, single consumer ring of pointers. The ring never owns what
 * the pointers point to: whoever pops an item owns it.
 * dmp_net_mpsc_t: multi producer (any thread), single consumer ring of (fn, arg) tasks
 * (Vyukov's bounded queue, one consumer).
 *
 * Wake-up protocol (both rings): a push reports `was_empty` when the consumer had consumed
 * everything before this push; only then does the producer signal the consumer (eventfd). The
 * consumer, before sleeping, calls *_quiet(), which re-checks. Push stores its position and then
 * loads the consumer's, quiet stores (a read-modify-write of) the consumer's position and then
 * loads the producer's, all seq_cst: this makes a lost wake-up impossible: either the producer
 * sees the consumer's progress (and signals) or the consumer sees the new item (and does not
 * sleep). No standalone fences: ThreadSanitizer does not model them. */
#ifndef DMP_NET_RING_H
#define DMP_NET_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMP_NET_CACHELINE 64

/* Invariant: 0 <= tail - head <= mask + 1; slots [head, tail) hold items (indices mod cap).
 * Every value of head the producer relies on (head_cache) was read with acquire, and every value
 * of tail the consumer relies on (tail_cache) likewise: a slot is written only after the
 * consumer's read of its previous item, and read only after the producer's write. */
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
    /* seq_cst store of tail, then seq_cst load of head: the producer's half of the wake-up
     * handshake (dmp_net_spsc_quiet is the consumer's). The load is also an acquire: the next
     * push reuses the slots below h on the strength of head_cache, so the consumer's reads of
     * them must happen before our writes (a relaxed load here was a data race). */
    atomic_store_explicit(&r->tail, t + n, memory_order_seq_cst);
    size_t h = atomic_load_explicit(&r->head, memory_order_seq_cst);
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

/* Consumer, before sleeping: true when the ring is still empty. The seq_cst read-modify-write
 * of head (adding 0) and the seq_cst load of tail pair with push's seq_cst store of tail and
 * load of head (store-then-load on each side, all in the single seq_cst order): either push
 * sees this head and reports was_empty, or this sees push's tail. An RMW rather than a fence
 * because ThreadSanitizer does not model fences. */
static inline bool dmp_net_spsc_quiet(dmp_net_spsc_t *r)
{
    size_t h = atomic_fetch_add_explicit(&r->head, 0, memory_order_seq_cst);
    r->tail_cache = atomic_load_explicit(&r->tail, memory_order_seq_cst);
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
    /* publish, then look at deq: seq_cst store then seq_cst load, paired with
     * dmp_net_mpsc_quiet as for the SPSC ring */
    atomic_store_explicit(&c->seq, pos + 1, memory_order_seq_cst);
    size_t deq = atomic_load_explicit(&r->deq, memory_order_seq_cst);
    if (was_empty) {
        *was_empty = deq == pos;
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

/* Consumer, before sleeping: true when nothing published is waiting (RMW of deq, then a seq_cst
 * load of the next cell's seq; see dmp_net_spsc_quiet). */
static inline bool dmp_net_mpsc_quiet(dmp_net_mpsc_t *r)
{
    size_t pos = atomic_fetch_add_explicit(&r->deq, 0, memory_order_seq_cst);
    dmp_net_mpsc_cell_t *c = &r->cell[pos & r->mask];
    return atomic_load_explicit(&c->seq, memory_order_seq_cst) != pos + 1;
}

#endif
