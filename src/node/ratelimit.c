/* node: per-source token buckets in a bounded set-associative table (one table per thread). */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

#define RL_WAYS 8

/* One source's bucket. key_len == 0 marks an empty way. */
typedef struct {
    uint8_t key[16];
    uint8_t key_len;
    uint8_t limited; /* limited answers since the last slip (RRL slip counter) */
    double tokens;
    int64_t last_ns; /* last refill time; also the LRU stamp within the set */
} rl_entry_t;

/* Owns `e` (nsets * RL_WAYS entries). nsets is a power of two. Single-threaded by contract. */
struct dmp_node_rl {
    rl_entry_t *e;
    size_t nsets;
    double rate, burst;
    unsigned slip; /* every slip-th limited UDP answer becomes a TC=1 stub; 0 = never */
    uint64_t seed;
};

static uint64_t hash_key(const uint8_t *k, size_t n, uint64_t seed)
{
    /* FNV-1a folded with a per-table seed; sources are attacker-chosen only within their own
     * address space, and the table is bounded, so a cheap hash is enough. */
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= k[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

int dmp_node_rl_new(double rate, double burst, size_t max_keys, unsigned slip, dmp_node_rl_t **out)
{
    *out = NULL;
    if (rate <= 0 || burst <= 0)
        return 0; /* disabled: NULL limiter admits everything */
    size_t sets = 1;
    while (sets * RL_WAYS < max_keys)
        sets <<= 1;
    dmp_node_rl_t *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return DMP_ENOMEM;
    rl->e = calloc(sets * RL_WAYS, sizeof(rl_entry_t));
    if (!rl->e) {
        free(rl);
        return DMP_ENOMEM;
    }
    rl->nsets = sets;
    rl->rate = rate;
    rl->burst = burst;
    rl->slip = slip;
    rl->seed = (uint64_t)(uintptr_t)rl * 0x9e3779b97f4a7c15ull;
    *out = rl;
    return 0;
}

void dmp_node_rl_free(dmp_node_rl_t *rl)
{
    if (!rl)
        return;
    free(rl->e);
    free(rl);
}

dmp_node_rl_verdict_t dmp_node_rl_check(dmp_node_rl_t *rl, const void *key, size_t key_len,
                                        int64_t now_ns)
{
    return dmp_node_rl_take(rl, key, key_len, now_ns, 1);
}

dmp_node_rl_verdict_t dmp_node_rl_take(dmp_node_rl_t *rl, const void *key, size_t key_len,
                                       int64_t now_ns, unsigned n)
{
    if (!rl || n == 0)
        return DMP_NODE_RL_ALLOW;
    if (key_len > 16)
        key_len = 16;
    if (key_len == 0)
        return DMP_NODE_RL_ALLOW;
    uint64_t h = hash_key(key, key_len, rl->seed);
    rl_entry_t *set = &rl->e[(h & (rl->nsets - 1)) * RL_WAYS];
    rl_entry_t *hit = NULL, *victim = &set[0];
    for (int w = 0; w < RL_WAYS; w++) {
        rl_entry_t *e = &set[w];
        if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
            hit = e;
            break;
        }
        if (e->key_len == 0) {
            if (victim->key_len != 0)
                victim = e;
        } else if (victim->key_len != 0 && e->last_ns < victim->last_ns) {
            victim = e;
        }
    }
    if (!hit) {
        /* a new (or evicted) source starts with a full bucket, as the reference's */
        hit = victim;
        memcpy(hit->key, key, key_len);
        hit->key_len = (uint8_t)key_len;
        hit->tokens = rl->burst;
        hit->limited = 0;
        hit->last_ns = now_ns;
    } else if (now_ns > hit->last_ns) {
        double add = (double)(now_ns - hit->last_ns) * 1e-9 * rl->rate;
        hit->tokens += add;
        if (hit->tokens > rl->burst)
            hit->tokens = rl->burst;
        hit->last_ns = now_ns;
    }
    if (hit->tokens >= (double)n) {
        hit->tokens -= (double)n;
        return DMP_NODE_RL_ALLOW;
    }
    if (rl->slip && ++hit->limited >= rl->slip) {
        hit->limited = 0;
        return DMP_NODE_RL_SLIP;
    }
    return DMP_NODE_RL_DROP;
}

void dmp_node_rl_give(dmp_node_rl_t *rl, const void *key, size_t key_len, unsigned n)
{
    if (!rl || n == 0 || key_len == 0)
        return;
    if (key_len > 16)
        key_len = 16;
    rl_entry_t *set = &rl->e[(hash_key(key, key_len, rl->seed) & (rl->nsets - 1)) * RL_WAYS];
    for (int w = 0; w < RL_WAYS; w++) {
        rl_entry_t *e = &set[w];
        if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
            e->tokens = e->tokens + n > rl->burst ? rl->burst : e->tokens + n;
            return;
        }
    }
    /* evicted since it took them: it starts full the next time anyway */
}
