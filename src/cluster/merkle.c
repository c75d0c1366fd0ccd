/* cluster: the Merkle tree over the store's 65,536 bucket digests, and the level-by-level
 * descent that finds the buckets two trees disagree on. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "crypto/crypto.h"
#include "store/store.h"

/* Nodes per level 0..4: 1, 16, 256, 4096, 65536; level L starts at (16^L - 1) / 15. */
#define TREE_NODES 69905u
static const uint32_t level_off[DMP_CLUSTER_DEPTH + 1] = {0, 1, 17, 273, 4369};
static const uint32_t level_len[DMP_CLUSTER_DEPTH + 1] = {1, 16, 256, 4096, 65536};

/* Invariant: d[] holds every node's digest consistent with the leaves below it, under mu.
 * dirty has one bit per bucket, set by touch() from any thread and cleared by refresh(). */
struct dmp_cluster_tree {
    pthread_rwlock_t mu;
    pthread_mutex_t refresh_mu; /* one refresher at a time */
    uint8_t (*d)[32];
    _Atomic uint64_t dirty[DMP_CLUSTER_LEAVES / 64];
};

static const uint8_t zero32[32];

void dmp_cluster_inner_digest(const uint8_t children[DMP_CLUSTER_FANOUT][32], uint8_t out[32])
{
    bool all_zero = true;
    for (unsigned k = 0; k < DMP_CLUSTER_FANOUT && all_zero; k++)
        all_zero = memcmp(children[k], zero32, 32) == 0;
    if (all_zero) {
        memset(out, 0, 32);
        return;
    }
    dmp_crypto_sha256(&children[0][0], DMP_CLUSTER_FANOUT * 32, out);
}

int dmp_cluster_tree_new(dmp_cluster_tree_t **out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_cluster_tree_t *t = calloc(1, sizeof(*t));
    if (!t)
        return DMP_ENOMEM;
    t->d = calloc(TREE_NODES, 32);
    if (!t->d) {
        free(t);
        return DMP_ENOMEM;
    }
    if (pthread_rwlock_init(&t->mu, NULL) != 0) {
        free(t->d);
        free(t);
        return DMP_ENOMEM;
    }
    pthread_mutex_init(&t->refresh_mu, NULL);
    for (size_t i = 0; i < DMP_CLUSTER_LEAVES / 64; i++)
        atomic_init(&t->dirty[i], 0);
    *out = t;
    return 0;
}

void dmp_cluster_tree_free(dmp_cluster_tree_t *t)
{
    if (!t)
        return;
    pthread_rwlock_destroy(&t->mu);
    pthread_mutex_destroy(&t->refresh_mu);
    free(t->d);
    free(t);
}

void dmp_cluster_tree_touch(dmp_cluster_tree_t *t, uint32_t bucket)
{
    if (!t || bucket >= DMP_CLUSTER_LEAVES)
        return;
    atomic_fetch_or_explicit(&t->dirty[bucket / 64], (uint64_t)1 << (bucket % 64),
                             memory_order_release);
}

void dmp_cluster_tree_touch_name(dmp_cluster_tree_t *t, const char *name, size_t len)
{
    uint32_t b;
    if (dmp_store_bucket_of(name, len, &b) == 0)
        dmp_cluster_tree_touch(t, b);
}

/* Recomputes node (level, index) from its children. Caller holds mu for writing. */
static void recompute(dmp_cluster_tree_t *t, unsigned level, uint32_t index)
{
    const uint8_t(*ch)[32] = &t->d[level_off[level + 1] + index * DMP_CLUSTER_FANOUT];
    dmp_cluster_inner_digest(ch, t->d[level_off[level] + index]);
}

/* Writes changed leaves and recomputes their ancestors, deduplicating parents per level.
 * Caller holds mu for writing. buckets ascending. */
static void apply_leaves(dmp_cluster_tree_t *t, const uint32_t *buckets, uint8_t (*digs)[32],
                         size_t n)
{
    if (n == 0)
        return;
    uint32_t *cur = malloc(n * sizeof(*cur));
    for (size_t i = 0; i < n; i++)
        memcpy(t->d[level_off[DMP_CLUSTER_DEPTH] + buckets[i]], digs[i], 32);
    if (!cur) { /* no memory: recompute everything above the leaves */
        for (int level = DMP_CLUSTER_DEPTH - 1; level >= 0; level--)
            for (uint32_t i = 0; i < level_len[level]; i++)
                recompute(t, (unsigned)level, i);
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = buckets[i] / DMP_CLUSTER_FANOUT;
        if (m == 0 || cur[m - 1] != p)
            cur[m++] = p;
    }
    for (int level = DMP_CLUSTER_DEPTH - 1; level >= 0; level--) {
        size_t m2 = 0;
        for (size_t i = 0; i < m; i++) {
            recompute(t, (unsigned)level, cur[i]);
            uint32_t p = cur[i] / DMP_CLUSTER_FANOUT;
            if (m2 == 0 || cur[m2 - 1] != p)
                cur[m2++] = p;
        }
        m = m2;
    }
    free(cur);
}

int dmp_cluster_store_leaf(void *store, uint32_t bucket, uint8_t out[32])
{
    return dmp_store_bucket_digest(store, bucket, out);
}

int dmp_cluster_tree_set_leaf(dmp_cluster_tree_t *t, uint32_t bucket, const uint8_t d[32])
{
    if (!t || !d || bucket >= DMP_CLUSTER_LEAVES)
        return DMP_EINVAL;
    uint8_t copy[1][32];
    memcpy(copy[0], d, 32);
    pthread_rwlock_wrlock(&t->mu);
    apply_leaves(t, &bucket, copy, 1);
    pthread_rwlock_unlock(&t->mu);
    return 0;
}

int dmp_cluster_tree_refresh(dmp_cluster_tree_t *t, dmp_cluster_leaf_fn leaf, void *ctx, bool all)
{
    if (!t || !leaf)
        return DMP_EINVAL;
    pthread_mutex_lock(&t->refresh_mu);
    uint32_t *buckets = malloc(DMP_CLUSTER_LEAVES * sizeof(*buckets));
    uint8_t(*digs)[32] = malloc((size_t)DMP_CLUSTER_LEAVES * 32);
    if (!buckets || !digs) {
        free(buckets);
        free(digs);
        pthread_mutex_unlock(&t->refresh_mu);
        return DMP_ENOMEM;
    }
    uint64_t taken[DMP_CLUSTER_LEAVES / 64];
    for (size_t w = 0; w < DMP_CLUSTER_LEAVES / 64; w++)
        taken[w] = atomic_exchange_explicit(&t->dirty[w], 0, memory_order_acquire);
    size_t n = 0;
    int rc = 0;
    /* Leaves are read without the lock: only this (serialised) refresher writes them. */
    for (uint32_t b = 0; b < DMP_CLUSTER_LEAVES; b++) {
        if (!all && !(taken[b / 64] >> (b % 64) & 1))
            continue;
        uint8_t d[32];
        rc = leaf(ctx, b, d);
        if (rc != 0)
            break;
        if (memcmp(d, t->d[level_off[DMP_CLUSTER_DEPTH] + b], 32) != 0) {
            buckets[n] = b;
            memcpy(digs[n], d, 32);
            n++;
        }
    }
    if (rc != 0) /* keep what was marked for the next attempt */
        for (size_t w = 0; w < DMP_CLUSTER_LEAVES / 64; w++)
            atomic_fetch_or_explicit(&t->dirty[w], taken[w], memory_order_release);
    pthread_rwlock_wrlock(&t->mu);
    apply_leaves(t, buckets, digs, n);
    pthread_rwlock_unlock(&t->mu);
    free(buckets);
    free(digs);
    pthread_mutex_unlock(&t->refresh_mu);
    return rc;
}

int dmp_cluster_tree_load(dmp_cluster_tree_t *t, const uint8_t (*leaves)[32])
{
    if (!t || !leaves)
        return DMP_EINVAL;
    pthread_mutex_lock(&t->refresh_mu);
    for (size_t w = 0; w < DMP_CLUSTER_LEAVES / 64; w++)
        atomic_store_explicit(&t->dirty[w], 0, memory_order_relaxed);
    uint32_t *buckets = malloc(DMP_CLUSTER_LEAVES * sizeof(*buckets));
    uint8_t(*digs)[32] = malloc((size_t)DMP_CLUSTER_LEAVES * 32);
    int rc = buckets && digs ? 0 : DMP_ENOMEM;
    size_t n = 0;
    for (uint32_t b = 0; rc == 0 && b < DMP_CLUSTER_LEAVES; b++)
        if (memcmp(leaves[b], t->d[level_off[DMP_CLUSTER_DEPTH] + b], 32) != 0) {
            buckets[n] = b;
            memcpy(digs[n++], leaves[b], 32);
        }
    if (rc == 0) {
        pthread_rwlock_wrlock(&t->mu);
        apply_leaves(t, buckets, digs, n);
        pthread_rwlock_unlock(&t->mu);
    }
    free(buckets);
    free(digs);
    pthread_mutex_unlock(&t->refresh_mu);
    return rc;
}

void dmp_cluster_tree_root(dmp_cluster_tree_t *t, uint8_t out[32])
{
    pthread_rwlock_rdlock(&t->mu);
    memcpy(out, t->d[0], 32);
    pthread_rwlock_unlock(&t->mu);
}

int dmp_cluster_tree_node(dmp_cluster_tree_t *t, unsigned level, uint32_t index, uint8_t out[32])
{
    if (!t || level > DMP_CLUSTER_DEPTH || index >= level_len[level])
        return DMP_EINVAL;
    pthread_rwlock_rdlock(&t->mu);
    memcpy(out, t->d[level_off[level] + index], 32);
    pthread_rwlock_unlock(&t->mu);
    return 0;
}

int dmp_cluster_tree_children(dmp_cluster_tree_t *t, unsigned level, uint32_t index,
                              uint8_t out[DMP_CLUSTER_FANOUT][32])
{
    if (!t || level >= DMP_CLUSTER_DEPTH || index >= level_len[level])
        return DMP_EINVAL;
    pthread_rwlock_rdlock(&t->mu);
    memcpy(out, t->d[level_off[level + 1] + index * DMP_CLUSTER_FANOUT], DMP_CLUSTER_FANOUT * 32);
    pthread_rwlock_unlock(&t->mu);
    return 0;
}

/* Encoded sizes of one Merkle exchange of n nodes (request + response). */
static uint64_t exchange_bytes(size_t n)
{
    return 4 + 2 * (uint64_t)n + 4 + 32 + (uint64_t)n * (2 + DMP_CLUSTER_FANOUT * 32);
}

#define DIFF_CHUNK_MIN 64 /* nodes per request at least (unless fewer are left) */

int dmp_cluster_tree_diff(dmp_cluster_tree_t *local, const dmp_cluster_remote_t *remote,
                          uint16_t *out, size_t max_out, size_t *n_out, bool *truncated,
                          uint64_t *bytes)
{
    if (!local || !remote || !remote->children || !out || !n_out || !truncated || max_out == 0)
        return DMP_EINVAL;
    *n_out = 0;
    *truncated = false;
    dmp_cluster_mreq_t *req = malloc(sizeof(*req));
    uint8_t(*ch)[DMP_CLUSTER_FANOUT][32] = malloc(DMP_CLUSTER_MERKLE_MAX_NODES * sizeof(*ch));
    /* The differing nodes of one level: at most max_out are kept (each holds at least one
     * differing leaf), which bounds the memory and the work of a round. */
    size_t cap = max_out < DMP_CLUSTER_LEAVES ? max_out : DMP_CLUSTER_LEAVES;
    uint32_t *cur = malloc(cap * sizeof(*cur)), *next = malloc(cap * sizeof(*next));
    int rc = 0;
    if (!req || !ch || !cur || !next) {
        rc = DMP_ENOMEM;
        goto done;
    }
    cur[0] = 0;
    size_t ncur = 1;
    for (unsigned level = 0; level < DMP_CLUSTER_DEPTH && ncur > 0; level++) {
        size_t acc = 0;
        bool full = false;
        for (size_t off = 0, m; off < ncur && !full; off += m) {
            /* each differing node holds 1..16 differing children: ask for about a quarter of
             * the room left, so a backfill (16 each) does not fetch 16 times what it keeps,
             * while a sparse difference still takes one request per level */
            m = (cap - acc + 3) / 4;
            m = m < DIFF_CHUNK_MIN ? DIFF_CHUNK_MIN : m;
            m = m > DMP_CLUSTER_MERKLE_MAX_NODES ? DMP_CLUSTER_MERKLE_MAX_NODES : m;
            m = m > ncur - off ? ncur - off : m;
            req->level = level;
            req->n = m;
            for (size_t i = 0; i < m; i++)
                req->idx[i] = (uint16_t)cur[off + i];
            uint8_t rroot[32];
            rc = remote->children(remote->ctx, req, rroot, ch);
            if (bytes)
                *bytes += exchange_bytes(m);
            if (rc != 0)
                goto done;
            if (level == 0) {
                uint8_t lroot[32];
                dmp_cluster_tree_root(local, lroot);
                if (memcmp(rroot, lroot, 32) == 0)
                    goto done; /* in sync */
            }
            for (size_t i = 0; i < m && !full; i++) {
                uint8_t mine[DMP_CLUSTER_FANOUT][32];
                dmp_cluster_tree_children(local, level, req->idx[i], mine);
                for (unsigned k = 0; k < DMP_CLUSTER_FANOUT; k++) {
                    if (memcmp(mine[k], ch[i][k], 32) == 0)
                        continue;
                    if (acc == cap) {
                        full = true;
                        break;
                    }
                    next[acc++] = (uint32_t)req->idx[i] * DMP_CLUSTER_FANOUT + k;
                }
            }
        }
        if (full)
            *truncated = true;
        uint32_t *tmp = cur;
        cur = next;
        next = tmp;
        ncur = acc;
    }
    for (size_t i = 0; i < ncur; i++)
        out[i] = (uint16_t)cur[i];
    *n_out = ncur;
done:
    free(req);
    free(ch);
    free(cur);
    free(next);
    return rc;
}
