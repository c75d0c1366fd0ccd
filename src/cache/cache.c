/* cache: per-shard answer cache (byte-bounded, LRU, open addressing with linear probing). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

/* One cached answer. Owned by the cache; name bytes then blob bytes follow in data[]. */
typedef struct centry {
    struct centry *prev, *next; /* LRU list: head = most recently used */
    int64_t expires_ms;
    uint64_t hash;
    uint32_t name_len;
    uint32_t blob_len;
    uint16_t count;
    uint8_t negative;
    uint8_t data[];
} centry_t;

/* A slot: e == NULL means empty. The hash is kept beside the pointer so a probe compares
 * hashes without touching the entry. */
typedef struct {
    uint64_t hash;
    centry_t *e;
} cslot_t;

/* Invariants: cap is a power of two; used <= cap / 2; every entry is in exactly one slot
 * (linear probing from hash & (cap-1), no tombstones: removal shifts back) and in the LRU
 * list; bytes = sum of entry_bytes() <= max_bytes. */
struct dmp_cache {
    cslot_t *slots;
    size_t cap;
    size_t used;
    size_t bytes;
    size_t max_bytes;
    centry_t *head, *tail;
    uint64_t hits, misses;
    uint8_t key[crypto_shorthash_KEYBYTES]; /* SipHash key: names come from the network */
};

#define MIN_CAP 64u

static size_t entry_bytes(size_t name_len, size_t blob_len)
{
    return sizeof(centry_t) + name_len + blob_len + 2 * sizeof(cslot_t);
}

static uint64_t hash_name(const dmp_cache_t *c, const char *n, size_t len)
{
    uint8_t out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const uint8_t *)n, len, c->key);
    uint64_t h;
    memcpy(&h, out, sizeof h);
    return h;
}

int dmp_cache_new(size_t max_bytes, dmp_cache_t **out)
{
    if (out == NULL)
        return DMP_EINVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return DMP_ECRYPTO;
    dmp_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return DMP_ENOMEM;
    c->cap = MIN_CAP;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return DMP_ENOMEM;
    }
    c->max_bytes = max_bytes;
    randombytes_buf(c->key, sizeof c->key);
    *out = c;
    return 0;
}

void dmp_cache_clear(dmp_cache_t *c)
{
    if (c == NULL)
        return;
    for (centry_t *e = c->head; e != NULL;) {
        centry_t *nx = e->next;
        free(e);
        e = nx;
    }
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->head = c->tail = NULL;
    c->used = 0;
    c->bytes = 0;
}

void dmp_cache_free(dmp_cache_t *c)
{
    if (c == NULL)
        return;
    dmp_cache_clear(c);
    free(c->slots);
    sodium_memzero(c->key, sizeof c->key);
    free(c);
}

static void lru_unlink(dmp_cache_t *c, centry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(dmp_cache_t *c, centry_t *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
}

/* Index of the slot holding (name, hash), or SIZE_MAX. */
static size_t find_slot(const dmp_cache_t *c, const char *n, size_t len, uint64_t h)
{
    size_t mask = c->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const cslot_t *sl = &c->slots[i];
        if (sl->e == NULL)
            return SIZE_MAX;
        if (sl->hash == h && sl->e->name_len == len && memcmp(sl->e->data, n, len) == 0)
            return i;
    }
}

/* Removes slot i (backward-shift deletion) and frees its entry. */
static void remove_slot(dmp_cache_t *c, size_t i)
{
    centry_t *e = c->slots[i].e;
    size_t mask = c->cap - 1;
    lru_unlink(c, e);
    c->bytes -= entry_bytes(e->name_len, e->blob_len);
    c->used--;
    free(e);
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (c->slots[j].e == NULL)
            break;
        size_t home = (size_t)c->slots[j].hash & mask;
        /* Move j into the hole i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            c->slots[i] = c->slots[j];
            i = j;
        }
    }
    c->slots[i].e = NULL;
    c->slots[i].hash = 0;
}

static void insert_slot(cslot_t *slots, size_t cap, centry_t *e)
{
    size_t mask = cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (slots[i].e != NULL)
        i = (i + 1) & mask;
    slots[i].hash = e->hash;
    slots[i].e = e;
}

dmp_cache_result_t dmp_cache_get(dmp_cache_t *c, const char *lname, size_t len, int64_t now_ms,
                                 const uint8_t **blob, size_t *blob_len, uint16_t *count)
{
    return dmp_cache_get_exp(c, lname, len, now_ms, blob, blob_len, count, NULL);
}

dmp_cache_result_t dmp_cache_get_exp(dmp_cache_t *c, const char *lname, size_t len, int64_t now_ms,
                                     const uint8_t **blob, size_t *blob_len, uint16_t *count,
                                     int64_t *expires_ms)
{
    if (blob)
        *blob = NULL;
    if (blob_len)
        *blob_len = 0;
    if (count)
        *count = 0;
    if (c == NULL || (lname == NULL && len > 0))
        return DMP_CACHE_MISS;
    uint64_t h = hash_name(c, lname, len);
    size_t i = find_slot(c, lname, len, h);
    if (i == SIZE_MAX) {
        c->misses++;
        return DMP_CACHE_MISS;
    }
    centry_t *e = c->slots[i].e;
    if (e->expires_ms <= now_ms) {
        remove_slot(c, i);
        c->misses++;
        return DMP_CACHE_MISS;
    }
    if (c->head != e) {
        lru_unlink(c, e);
        lru_push_front(c, e);
    }
    c->hits++;
    if (expires_ms)
        *expires_ms = e->expires_ms;
    if (e->negative)
        return DMP_CACHE_NEGATIVE;
    if (blob)
        *blob = e->data + e->name_len;
    if (blob_len)
        *blob_len = e->blob_len;
    if (count)
        *count = e->count;
    return DMP_CACHE_HIT;
}

static int grow(dmp_cache_t *c)
{
    size_t ncap = c->cap * 2;
    cslot_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].e != NULL)
            insert_slot(ns, ncap, c->slots[i].e);
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return 0;
}

static int put_entry(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                     size_t blob_len, uint16_t count, bool negative, int64_t expires_ms)
{
    if (c == NULL || (lname == NULL && len > 0) || (blob == NULL && blob_len > 0) ||
        len > UINT32_MAX || blob_len > UINT32_MAX)
        return DMP_EINVAL;
    size_t need = entry_bytes(len, blob_len);
    uint64_t h = hash_name(c, lname, len);
    size_t old = find_slot(c, lname, len, h);
    if (old != SIZE_MAX)
        remove_slot(c, old);
    if (need > c->max_bytes)
        return DMP_ETOOBIG;
    while (c->bytes + need > c->max_bytes && c->tail != NULL) {
        centry_t *victim = c->tail;
        size_t vi = find_slot(c, (const char *)victim->data, victim->name_len, victim->hash);
        if (vi == SIZE_MAX) /* cannot happen: every listed entry is indexed */
            return DMP_EINVAL;
        remove_slot(c, vi);
    }
    if ((c->used + 1) * 2 > c->cap) {
        int rc = grow(c);
        if (rc != 0)
            return rc;
    }
    centry_t *e = malloc(sizeof *e + len + blob_len);
    if (e == NULL)
        return DMP_ENOMEM;
    e->prev = e->next = NULL;
    e->expires_ms = expires_ms;
    e->hash = h;
    e->name_len = (uint32_t)len;
    e->blob_len = (uint32_t)blob_len;
    e->count = count;
    e->negative = negative ? 1 : 0;
    if (len)
        memcpy(e->data, lname, len);
    if (blob_len)
        memcpy(e->data + len, blob, blob_len);
    insert_slot(c->slots, c->cap, e);
    lru_push_front(c, e);
    c->used++;
    c->bytes += need;
    return 0;
}

int dmp_cache_put(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                  size_t blob_len, uint16_t count, int64_t expires_ms)
{
    return put_entry(c, lname, len, blob, blob_len, count, false, expires_ms);
}

int dmp_cache_put_negative(dmp_cache_t *c, const char *lname, size_t len, int64_t expires_ms)
{
    return put_entry(c, lname, len, NULL, 0, 0, true, expires_ms);
}

void dmp_cache_invalidate(dmp_cache_t *c, const char *lname, size_t len)
{
    if (c == NULL || (lname == NULL && len > 0))
        return;
    size_t i = find_slot(c, lname, len, hash_name(c, lname, len));
    if (i != SIZE_MAX)
        remove_slot(c, i);
}

void dmp_cache_stats(const dmp_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *bytes,
                     size_t *entries)
{
    if (hits)
        *hits = c ? c->hits : 0;
    if (misses)
        *misses = c ? c->misses : 0;
    if (bytes)
        *bytes = c ? c->bytes : 0;
    if (entries)
        *entries = c ? c->used : 0;
}
