/* node: HTTP writes applied on the owning shard thread, batched into synced WriteBatches. */
#include <stdlib.h>
#include <string.h>

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
        rc = dmp_store_put_batch(q->store, puts, n, now);
        if (rc == 0)
            DMP_STAT_INC(q->st, write_batches);
    }
    dmp_node_write_t *w = q->head;
    q->head = q->tail = NULL;
    q->n = 0;
    while (w) {
        dmp_node_write_t *next = w->next;
        w->next = NULL;
        int st = 201;
        if (rc != 0) {
            /* one bad entry fails the whole batch: retry this one alone */
            if (dmp_store_put(q->store, w->lname, w->lname_len, w->value, w->value_len, w->ttl,
                              now) == 0) {
                DMP_STAT_INC(q->st, write_batches);
            } else {
                st = 502;
            }
        }
        if (q->cache)
            dmp_cache_invalidate(q->cache, w->lname, w->lname_len);
        if (st == 201) {
            dmp_node_serial_touch(q->serial, now);
            DMP_STAT_INC(q->st, writes);
        } else {
            DMP_STAT_INC(q->st, write_errors);
            DMP_STAT_INC(q->st, store_errors);
        }
        complete(w, st);
        w = next;
    }
    if (puts && puts != stack)
        free(puts);
}

void dmp_node_wq_take(dmp_node_wq_t *q, dmp_node_write_t *w)
{
    w->next = NULL;
    if (w->op == DMP_NODE_W_DELETE) {
        dmp_node_wq_flush(q); /* earlier writes to this name land first */
        size_t removed = 0;
        int rc =
            dmp_store_delete(q->store, w->lname, w->lname_len, w->value, w->value_len, &removed);
        if (q->cache)
            dmp_cache_invalidate(q->cache, w->lname, w->lname_len);
        if (rc == 0) {
            dmp_node_serial_touch(q->serial, q->now_ms());
            DMP_STAT_INC(q->st, deletes);
            complete(w, 204);
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
