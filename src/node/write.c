/* node: applying transactions on the owning shard: cap and value checks, one WriteBatch per
 * transaction (or per batch of single puts), cache invalidation, negative-cache generation
 * bumps, the zone serial, and completion through the group-commit syncer. */
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

int dmp_node_change_set(dmp_node_change_t *ch, dmp_node_chop_t op, const char *name,
                        size_t name_len, const uint8_t *value, size_t value_len, uint32_t ttl)
{
    memset(ch, 0, sizeof(*ch));
    while (name_len && name[name_len - 1] == '.')
        name_len--;
    if (!name || name_len == 0 || name_len > 253)
        return DMP_ENAME;
    for (size_t i = 0; i < name_len; i++) {
        char c = name[i];
        if (c == 0)
            return DMP_ENAME;
        ch->lname[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    ch->lname[name_len] = 0;
    ch->lname_len = name_len;
    ch->op = op;
    ch->value = op == DMP_NODE_CH_DEL_ALL ? NULL : value;
    ch->value_len = op == DMP_NODE_CH_DEL_ALL ? 0 : value_len;
    ch->ttl = ttl;
    return 0;
}

static bool same_name(const dmp_node_change_t *a, const dmp_node_change_t *b)
{
    return a->lname_len == b->lname_len && memcmp(a->lname, b->lname, a->lname_len) == 0;
}

static bool same_value(const dmp_node_change_t *a, const dmp_node_change_t *b)
{
    return a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0);
}

static int store_has(const dmp_node_apply_env_t *env, const dmp_node_change_t *c, int64_t now,
                     bool *out)
{
    *out = false;
    int rc =
        dmp_store_has_value(env->store, c->lname, c->lname_len, c->value, c->value_len, now, out);
    return rc == DMP_ENOTFOUND ? 0 : rc;
}

/* Is (name, value) of changes[i] present once changes[0..upto) have been applied? */
static int present_after(const dmp_node_apply_env_t *env, const dmp_node_txn_t *t, size_t upto,
                         const dmp_node_change_t *c, int64_t now, bool *out)
{
    for (size_t j = upto; j-- > 0;) {
        const dmp_node_change_t *p = &t->changes[j];
        if (!same_name(p, c))
            continue;
        if (p->op == DMP_NODE_CH_DEL_ALL) {
            *out = false;
            return 0;
        }
        if (same_value(p, c)) {
            *out = p->op == DMP_NODE_CH_PUT;
            return 0;
        }
    }
    return store_has(env, c, now, out);
}

/* Prefix probes txn_check made on this thread (dmp_node_write_prefix_probes). */
static _Thread_local uint64_t tl_prefix_probes;

uint64_t dmp_node_write_prefix_probes(void)
{
    return tl_prefix_probes;
}

size_t dmp_node_answer_size(size_t lname_len, size_t nrr, size_t rdata_bytes)
{
    size_t opt = 11 + (4 + DMP_DNS_CLIENT_COOKIE_LEN + DMP_DNS_SERVER_COOKIE_LEN) +
                 (4 + DMP_DNS_NSID_MAX) + (4 + 2);
    return 12 + (lname_len + 2 + 4) + nrr * 12 + rdata_bytes + opt;
}

/* Live values at c's name, and their TXT RDATA bytes, once changes[0..upto) are applied. */
static int count_after(const dmp_node_apply_env_t *env, const dmp_node_txn_t *t, size_t upto,
                       const dmp_node_change_t *c, int64_t now, size_t *out, size_t *bytes_out)
{
    size_t start = 0;
    bool cleared = false;
    for (size_t j = upto; j-- > 0;) {
        if (same_name(&t->changes[j], c) && t->changes[j].op == DMP_NODE_CH_DEL_ALL) {
            start = j + 1;
            cleared = true;
            break;
        }
    }
    size_t count = 0, bytes = 0;
    if (!cleared) {
        int rc = dmp_store_count_values_ex(env->store, c->lname, c->lname_len, now, &count, &bytes);
        if (rc != 0 && rc != DMP_ENOTFOUND)
            return rc;
    }
    for (size_t j = start; j < upto; j++) {
        const dmp_node_change_t *p = &t->changes[j];
        if (!same_name(p, c) || p->op == DMP_NODE_CH_DEL_ALL)
            continue;
        bool seen = false; /* count each distinct value once */
        for (size_t k = start; k < j && !seen; k++)
            seen = same_name(&t->changes[k], p) && t->changes[k].op != DMP_NODE_CH_DEL_ALL &&
                   same_value(&t->changes[k], p);
        if (seen)
            continue;
        bool before = false, after = false;
        int rc = cleared ? 0 : store_has(env, p, now, &before);
        if (rc == 0)
            rc = present_after(env, t, upto, p, now, &after);
        if (rc != 0)
            return rc;
        size_t rb = dmp_store_txt_rdata_len(p->value_len);
        if (after && !before) {
            count++;
            bytes += rb;
        } else if (!after && before && count > 0) {
            count--;
            bytes -= rb < bytes ? rb : bytes;
        }
    }
    *out = count;
    *bytes_out = bytes;
    return 0;
}

/* The RRset cap (reference step 9), the answer-size rule (ours), then the value rule (step
 * 11), per put in order, each seeing the changes before it. extra / extra_bytes: values pending
 * in the shard's batch for this name that the store does not hold yet, and their TXT RDATA
 * bytes (single-put path). */
static int txn_check(const dmp_node_apply_env_t *env, dmp_node_txn_t *t, int64_t now, size_t extra,
                     size_t extra_bytes, bool extra_has_value)
{
    bool check_size = (t->flags & DMP_NODE_TXN_CHECK_SIZE) != 0;
    for (size_t i = 0; i < t->n; i++) {
        const dmp_node_change_t *c = &t->changes[i];
        if (c->op != DMP_NODE_CH_PUT)
            continue;
        if (t->cap || check_size) {
            size_t count = 0, bytes = 0;
            bool present = extra_has_value, earlier = false;
            for (size_t j = 0; j < i && !earlier; j++)
                earlier = same_name(&t->changes[j], c);
            int rc = 0;
            if (!earlier) {
                /* A value already there (a refresh) passes both checks, whatever the count: one
                 * point lookup tells, about a third of the CPU of the prefix seek that counts
                 * the name's values, which only a new value needs. */
                if (!present)
                    rc = store_has(env, c, now, &present);
                if (rc == 0 && !present) {
                    tl_prefix_probes++;
                    rc = dmp_store_put_probe(env->store, c->lname, c->lname_len, NULL, 0, now,
                                             &count, &bytes, NULL);
                }
            } else {
                rc = count_after(env, t, i, c, now, &count, &bytes);
                if (rc == 0 && !present)
                    rc = present_after(env, t, i, c, now, &present);
            }
            if (rc != 0) {
                DMP_STAT_INC(env->st, store_errors);
                t->failed = i;
                return DMP_EIO;
            }
            if (t->cap && count + extra >= t->cap && !present) {
                t->failed = i;
                return DMP_EFULL;
            }
            /* a value already there only refreshes: the answer does not grow */
            if (check_size && !present &&
                dmp_node_answer_size(c->lname_len, count + extra + 1,
                                     bytes + extra_bytes + dmp_store_txt_rdata_len(c->value_len)) >
                    DMP_NODE_ANSWER_MAX) {
                t->failed = i;
                return DMP_EMSGSIZE;
            }
        }
        if ((t->flags & DMP_NODE_TXN_CHECK_VALUES) &&
            !dmp_node_value_safe(c->value, c->value_len)) {
            t->failed = i;
            return DMP_EINVAL;
        }
    }
    return 0;
}

static void finish(const dmp_node_apply_env_t *env, dmp_node_txn_t *t)
{
    if (t->done)
        t->done(t);
    (void)env;
}

/* The name index after a committed change c of t (before the hooks move the write sequence): a
 * name's only put in t may publish its new answer (dmp_index_put does only for a name that had
 * none), anything else marks the name. */
static void index_update(const dmp_node_apply_env_t *env, const dmp_node_txn_t *t,
                         const dmp_node_change_t *c, int64_t now)
{
    if (!env->index)
        return;
    bool only = c->op == DMP_NODE_CH_PUT;
    for (size_t j = 0; j < t->n && only; j++)
        only = &t->changes[j] == c || !same_name(&t->changes[j], c);
    if (only)
        dmp_index_put(env->index, c->lname, c->lname_len, c->value, c->value_len, c->ttl, now);
    else
        dmp_index_invalidate(env->index, c->lname, c->lname_len);
}

/* After a successful store write: the name index, invalidate, bump, serial, stats. */
static void after_write(const dmp_node_apply_env_t *env, dmp_node_txn_t *t, int64_t now)
{
    for (size_t i = 0; i < t->n; i++) {
        const dmp_node_change_t *c = &t->changes[i];
        index_update(env, t, c, now);
        if (c->op == DMP_NODE_CH_PUT && env->refresh)
            env->refresh(env->ctx, c->lname, c->lname_len);
        else if (env->invalidate)
            env->invalidate(env->ctx, c->lname, c->lname_len);
        /* a put may turn an ancestor's NXDOMAIN into a non-terminal, a delete may empty it */
        if (env->on_write)
            env->on_write(env->ctx, c->lname, c->lname_len);
        if (c->op == DMP_NODE_CH_PUT) {
            DMP_STAT_INC(env->st, writes);
        } else {
            DMP_STAT_INC(env->st, deletes);
        }
    }
    if (t->changed)
        dmp_node_serial_touch(env->serial, now);
}

static dmp_store_op_kind_t store_op(dmp_node_chop_t op)
{
    return op == DMP_NODE_CH_PUT         ? DMP_STORE_OP_PUT
           : op == DMP_NODE_CH_DEL_VALUE ? DMP_STORE_OP_DEL_VALUE
                                         : DMP_STORE_OP_DEL_ALL;
}

/* The puts of t (all of its changes) in one dmp_store_put_batch_ex. */
static int put_batch(dmp_store_t *store, dmp_node_txn_t *t, int64_t now, unsigned flags)
{
    size_t n = t->n;
    dmp_store_put_t stack[16] = {{0}}; /* n == 0 passes it unread; GCC cannot tell */
    dmp_store_put_t *puts = n <= 16 ? stack : malloc(n * sizeof(*puts));
    if (!puts)
        return DMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        dmp_node_change_t *c = &t->changes[i];
        c->removed = 0;
        puts[i] = (dmp_store_put_t){.name = c->lname,
                                    .name_len = c->lname_len,
                                    .value = c->value,
                                    .value_len = c->value_len,
                                    .ttl = c->ttl};
    }
    int rc = dmp_store_put_batch_ex(store, puts, n, now, flags);
    if (puts != stack)
        free(puts);
    return rc;
}

/* The changes of t in one dmp_store_apply_ex; sets each change's `removed`. */
static int apply_ops(dmp_store_t *store, dmp_node_txn_t *t, int64_t now, unsigned flags,
                     size_t *changed)
{
    dmp_store_op_t stack[16];
    dmp_store_op_t *ops = t->n <= 16 ? stack : malloc(t->n * sizeof(*ops));
    if (!ops)
        return DMP_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        const dmp_node_change_t *c = &t->changes[i];
        ops[i] = (dmp_store_op_t){.op = store_op(c->op),
                                  .name = c->lname,
                                  .name_len = c->lname_len,
                                  .value = c->value,
                                  .value_len = c->value_len,
                                  .ttl = c->ttl};
    }
    int rc = dmp_store_apply_ex(store, ops, t->n, now, flags, changed);
    for (size_t i = 0; i < t->n; i++)
        t->changes[i].removed = rc == 0 ? ops[i].removed : 0;
    if (ops != stack)
        free(ops);
    return rc;
}

void dmp_node_txn_exec(const dmp_node_apply_env_t *env, dmp_node_txn_t *t)
{
    dmp_store_perf_off(); /* nothing reads RocksDB's perf counts on a writing thread */
    int64_t now = env->now_ms();
    t->result = 0;
    t->changed = 0;
    t->next = NULL;
    int rc = txn_check(env, t, now, 0, 0, false);
    if (rc != 0) {
        t->result = rc;
        finish(env, t);
        return;
    }
    size_t changed = 0;
    unsigned sflags = env->syncer ? DMP_STORE_NOSYNC : 0;
    bool puts_only = true;
    for (size_t i = 0; i < t->n && puts_only; i++)
        puts_only = t->changes[i].op == DMP_NODE_CH_PUT;
    if (puts_only) {
        /* a batch publish or an UPDATE that only adds: the put batch (a plain WriteBatch with
         * its index entries staged in key order unless two puts write one row) leaves the
         * store as dmp_store_apply_ex would, for less (docs/store.md "Write path cost") */
        rc = put_batch(env->store, t, now, sflags);
        changed = rc == 0 ? t->n : 0;
    } else {
        rc = apply_ops(env->store, t, now, sflags, &changed);
    }
    if (rc != 0) {
        DMP_STAT_INC(env->st, write_errors);
        DMP_STAT_INC(env->st, store_errors);
        t->result = rc == DMP_ETOOBIG || rc == DMP_ENAME || rc == DMP_STORE_ENOSPC ? rc : DMP_EIO;
        finish(env, t);
        return;
    }
    t->changed = changed;
    if (changed) {
        DMP_STAT_INC(env->st, write_batches);
        after_write(env, t, now);
    }
    if (changed && env->syncer)
        dmp_node_syncer_defer(env->syncer, t, t); /* completed once durable */
    else
        finish(env, t);
}

/* ---- shard write queue ---- */

static bool single_put(const dmp_node_txn_t *t)
{
    return t->n == 1 && t->changes[0].op == DMP_NODE_CH_PUT;
}

/* Cap and size checks of a single put against the store plus the shard's pending batch. */
static int pending_check(dmp_node_wq_t *q, dmp_node_txn_t *t, int64_t now)
{
    const dmp_node_change_t *c = &t->changes[0];
    size_t extra = 0, extra_bytes = 0;
    bool present = false;
    if (t->cap || (t->flags & DMP_NODE_TXN_CHECK_SIZE)) {
        for (dmp_node_txn_t *p = q->head; p; p = p->next) {
            const dmp_node_change_t *pc = &p->changes[0];
            if (!same_name(pc, c))
                continue;
            if (same_value(pc, c)) {
                present = true;
                continue;
            }
            /* a pending distinct value: new unless the store already has it */
            bool had = false;
            if (store_has(&q->env, pc, now, &had) != 0) {
                DMP_STAT_INC(q->env.st, store_errors);
                return DMP_EIO;
            }
            if (had)
                continue;
            bool dup = false;
            for (dmp_node_txn_t *e = q->head; e != p; e = e->next)
                dup = dup || (same_name(&e->changes[0], pc) && same_value(&e->changes[0], pc));
            if (!dup) {
                extra++;
                extra_bytes += dmp_store_txt_rdata_len(pc->value_len);
            }
        }
    }
    return txn_check(&q->env, t, now, extra, extra_bytes, present);
}

void dmp_node_wq_flush(dmp_node_wq_t *q)
{
    if (!q->head)
        return;
    if (q->window_ns)
        q->last_flush_ns = dmp_monotonic_ns();
    const dmp_node_apply_env_t *env = &q->env;
    int64_t now = env->now_ms();
    size_t n = q->n;
    dmp_store_put_t stack[64];
    dmp_store_put_t *puts = n <= 64 ? stack : malloc(n * sizeof(*puts));
    unsigned flags = env->syncer ? DMP_STORE_NOSYNC : 0;
    int rc = DMP_ENOMEM;
    if (puts) {
        size_t i = 0;
        for (dmp_node_txn_t *t = q->head; t; t = t->next, i++) {
            const dmp_node_change_t *c = &t->changes[0];
            puts[i] = (dmp_store_put_t){.name = c->lname,
                                        .name_len = c->lname_len,
                                        .value = c->value,
                                        .value_len = c->value_len,
                                        .ttl = c->ttl};
        }
        rc = dmp_store_put_batch_ex(env->store, puts, n, now, flags);
        if (rc == 0)
            DMP_STAT_INC(env->st, write_batches);
    }
    dmp_node_txn_t *t = q->head, *dhead = NULL, *dtail = NULL;
    q->head = q->tail = NULL;
    q->n = 0;
    while (t) {
        dmp_node_txn_t *next = t->next;
        t->next = NULL;
        const dmp_node_change_t *c = &t->changes[0];
        int res = 0;
        if (rc != 0) {
            /* one bad entry fails the whole batch: retry this one alone */
            dmp_store_put_t one = {c->lname, c->lname_len, c->value, c->value_len, c->ttl};
            int r1 = dmp_store_put_batch_ex(env->store, &one, 1, now, flags);
            if (r1 == 0)
                DMP_STAT_INC(env->st, write_batches);
            else
                res = r1 == DMP_ETOOBIG || r1 == DMP_ENAME || r1 == DMP_STORE_ENOSPC ? r1 : DMP_EIO;
        }
        t->result = res;
        if (res == 0) {
            t->changed = 1;
            after_write(env, t, now);
        } else {
            dmp_index_invalidate(env->index, c->lname, c->lname_len);
            if (env->invalidate)
                env->invalidate(env->ctx, c->lname, c->lname_len);
            DMP_STAT_INC(env->st, write_errors);
            DMP_STAT_INC(env->st, store_errors);
        }
        if (res == 0 && env->syncer) {
            if (dtail)
                dtail->next = t;
            else
                dhead = t;
            dtail = t;
        } else {
            finish(env, t);
        }
        t = next;
    }
    if (dhead)
        dmp_node_syncer_defer(env->syncer, dhead, dtail);
    if (puts && puts != stack)
        free(puts);
}

void dmp_node_wq_take(dmp_node_wq_t *q, dmp_node_txn_t *t)
{
    dmp_store_perf_off();
    t->next = NULL;
    t->result = 0;
    t->changed = 0;
    t->failed = 0;
    if (!single_put(t)) {
        dmp_node_wq_flush(q); /* earlier writes to these names land first */
        dmp_node_txn_exec(&q->env, t);
        return;
    }
    int64_t now = q->env.now_ms();
    int rc = pending_check(q, t, now);
    if (rc != 0) {
        t->result = rc;
        finish(&q->env, t);
        return;
    }
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    q->n++;
    if (q->n >= (q->max_batch ? q->max_batch : 64))
        dmp_node_wq_flush(q);
}

int64_t dmp_node_wq_tick(dmp_node_wq_t *q, int64_t now_ns)
{
    if (!q->head)
        return -1;
    int64_t due = q->last_flush_ns + q->window_ns;
    if (q->window_ns <= 0 || q->last_flush_ns == 0 || now_ns >= due || now_ns < q->last_flush_ns) {
        dmp_node_wq_flush(q);
        return -1;
    }
    return due - now_ns;
}
