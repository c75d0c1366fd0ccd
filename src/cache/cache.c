/* cache: per-shard answer cache (byte-bounded, LRU, open addressing with linear probing), with
 * an optional lock-free read path for other threads (dmp_cache_read).
 *
 * Concurrency. One writer at a time (the owning shard thread, or a thread that parked it) calls
 * everything but dmp_cache_read; up to `nreaders` other threads call dmp_cache_read, each with its
 * own reader index. Readers take no lock and write nothing the writer reads except their epoch
 * and an entry's `ref` bit:
 * - An entry is immutable once published (every field but the LRU links and `ref`, which
 *   readers never read). Replacing an answer publishes a new entry.
 * - Slots hold atomic pointers: the writer publishes with release stores, readers load with
 *   acquire. Moving entries during backward-shift deletion may make a concurrent reader miss an
 *   entry (it then asks the shard), never return a wrong one: a reader compares the entry's own
 *   hash and name.
 * - Nothing a reader may hold is freed at once: removed entries and replaced slot tables go on
 *   a retire list, freed after every reader has been seen outside a read that could have found
 *   them (epoch-based reclamation, below). */
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"

/* One cached answer. Owned by the cache; name bytes then blob bytes follow in data[]. */
typedef struct centry {
    struct centry *prev, *next; /* LRU list: head = most recently used (writer only) */
    _Atomic uint8_t ref;        /* set by a reader's hit: a second chance at eviction */
    int64_t expires_ms;
    uint64_t hash;
    uint32_t name_len;
    uint32_t blob_len;
    uint16_t count;
    uint8_t negative;
    uint8_t cls; /* CLS_POS or CLS_NEG: which LRU list and byte budget it lives in */
    uint8_t data[];
} centry_t;

/* Two classes of entries, each with its own LRU list: answers for names that exist, and answers
 * that a name does not exist (dmp_cache_put_negative, dmp_cache_put_nx). A flood of random names
 * only fills and recycles the negative class, so it cannot evict the hot set of real answers. */
enum { CLS_POS = 0, CLS_NEG = 1, CLS_N = 2 };

/* A slot: e == NULL means empty. The hash is kept beside the pointer so a probe compares
 * hashes without touching the entry (readers re-check the entry's own hash). */
typedef struct {
    _Atomic uint64_t hash;
    _Atomic(centry_t *) e;
} cslot_t;

/* A slot table; replaced whole when the cache grows. */
typedef struct {
    size_t cap; /* power of two */
    cslot_t slots[];
} ctab_t;

/* Something to free once no reader can hold it. */
typedef struct retired {
    struct retired *next;
    uint64_t epoch; /* the global epoch when it was unlinked */
    void *p;
} retired_t;

/* A reader's announced epoch: 0 = not inside dmp_cache_read; else the global epoch it saw when
 * it entered. One cache line each. */
typedef struct {
    _Alignas(64) _Atomic uint64_t epoch;
} creader_t;

/* Invariants: tab->cap is a power of two; used <= cap / 2; every entry is in exactly one slot
 * (linear probing from hash & (cap-1), no tombstones: removal shifts back) and in the LRU
 * list of its class; cbytes[k] = sum of entry_bytes() of class k; bytes = cbytes[0] + cbytes[1]
 * <= max_bytes. Budgets: negative entries never hold more than neg_max bytes; positive ones may
 * use all of max_bytes, but a negative insert may evict a positive entry only while positive
 * entries hold more than max_bytes - neg_max (space they borrowed from the negative class), so
 * positive entries within their own share are never evicted by negative ones. Reclamation: an item
 * retired at epoch R is freed only when every reader's announced epoch is 0 or > R (the writer
 * advances the global epoch before looking), so a reader that could have found it has left its
 * read. */
struct dmp_cache {
    ctab_t *tab;           /* the writer's view (same as pub) */
    _Atomic(ctab_t *) pub; /* what readers probe */
    size_t used;
    size_t bytes;
    _Atomic size_t bytes_pub; /* bytes, published (relaxed) for other threads */
    size_t max_bytes;
    size_t neg_max; /* byte budget of the negative class (dmp_cache_set_negative_bytes) */
    size_t cbytes[CLS_N];
    centry_t *lhead[CLS_N], *ltail[CLS_N]; /* per-class LRU lists */
    uint64_t hits, misses;
    uint8_t key[crypto_shorthash_KEYBYTES]; /* SipHash key: names come from the network */
    /* concurrent readers (dmp_cache_readers) */
    unsigned nreaders;
    creader_t *readers;
    _Atomic uint64_t epoch; /* global epoch, starts at 1; advanced by the writer only */
    retired_t *retired_head, *retired_tail;
    size_t nretired;
    _Atomic uint64_t reader_hits, reader_misses; /* summed over readers (relaxed) */
};

#define MIN_CAP 64u
#define NEG_SHARE_DIV 8u  /* default negative budget: an eighth of the cache */
#define RECLAIM_AFTER 64u /* retired items that trigger a reclamation attempt */

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

static ctab_t *tab_new(size_t cap)
{
    ctab_t *t = calloc(1, sizeof *t + cap * sizeof(cslot_t));
    if (t != NULL)
        t->cap = cap;
    return t;
}

/* ---- epoch-based reclamation ---- */

/* Frees every retired item no reader can still hold. Writer only. */
static void reclaim(dmp_cache_t *c)
{
    if (c->retired_head == NULL)
        return;
    /* Readers entering from now on see every unlink made so far (they read the new epoch, or
     * their announcement is ordered after our look below). */
    uint64_t now = atomic_fetch_add_explicit(&c->epoch, 1, memory_order_acq_rel) + 1;
    uint64_t min = now;
    for (unsigned r = 0; r < c->nreaders; r++) {
        /* a read-modify-write, so that it is ordered with a reader's entering exchange */
        uint64_t e = atomic_fetch_add_explicit(&c->readers[r].epoch, 0, memory_order_acq_rel);
        if (e != 0 && e < min)
            min = e;
    }
    while (c->retired_head != NULL && c->retired_head->epoch < min) {
        retired_t *x = c->retired_head;
        c->retired_head = x->next;
        free(x->p);
        free(x);
        c->nretired--;
    }
    if (c->retired_head == NULL)
        c->retired_tail = NULL;
}

/* Frees p now (no readers) or once no reader can hold it. Writer only. */
static void retire(dmp_cache_t *c, void *p)
{
    if (c->nreaders == 0) {
        free(p);
        return;
    }
    retired_t *x = malloc(sizeof *x);
    if (x == NULL) {
        /* cannot defer: wait until every reader is out of its read (short, bounded reads) */
        for (unsigned r = 0; r < c->nreaders; r++)
            while (atomic_fetch_add_explicit(&c->readers[r].epoch, 0, memory_order_acq_rel) != 0) {
            }
        free(p);
        return;
    }
    x->next = NULL;
    x->epoch = atomic_load_explicit(&c->epoch, memory_order_relaxed);
    x->p = p;
    if (c->retired_tail)
        c->retired_tail->next = x;
    else
        c->retired_head = x;
    c->retired_tail = x;
    if (++c->nretired >= RECLAIM_AFTER)
        reclaim(c);
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
    c->tab = tab_new(MIN_CAP);
    if (c->tab == NULL) {
        free(c);
        return DMP_ENOMEM;
    }
    atomic_init(&c->pub, c->tab);
    atomic_init(&c->epoch, 1);
    atomic_init(&c->reader_hits, 0);
    atomic_init(&c->reader_misses, 0);
    c->max_bytes = max_bytes;
    c->neg_max = max_bytes / NEG_SHARE_DIV;
    randombytes_buf(c->key, sizeof c->key);
    *out = c;
    return 0;
}

int dmp_cache_readers(dmp_cache_t *c, unsigned nreaders)
{
    if (c == NULL || c->nreaders != 0 || nreaders > DMP_CACHE_MAX_READERS)
        return DMP_EINVAL;
    if (nreaders == 0)
        return 0;
    creader_t *r = aligned_alloc(64, nreaders * sizeof *r);
    if (r == NULL)
        return DMP_ENOMEM;
    for (unsigned i = 0; i < nreaders; i++)
        atomic_init(&r[i].epoch, 0);
    c->readers = r;
    c->nreaders = nreaders;
    return 0;
}

static void slot_clear(cslot_t *s)
{
    atomic_store_explicit(&s->e, NULL, memory_order_release);
    atomic_store_explicit(&s->hash, 0, memory_order_relaxed);
}

void dmp_cache_clear(dmp_cache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->tab->cap; i++)
        slot_clear(&c->tab->slots[i]);
    for (int k = 0; k < CLS_N; k++) {
        for (centry_t *e = c->lhead[k]; e != NULL;) {
            centry_t *nx = e->next;
            retire(c, e);
            e = nx;
        }
        c->lhead[k] = c->ltail[k] = NULL;
        c->cbytes[k] = 0;
    }
    c->used = 0;
    c->bytes = 0;
    atomic_store_explicit(&c->bytes_pub, 0, memory_order_relaxed);
}

void dmp_cache_free(dmp_cache_t *c)
{
    if (c == NULL)
        return;
    unsigned nr = c->nreaders;
    c->nreaders = 0; /* no reader may run any more: free at once */
    dmp_cache_clear(c);
    for (retired_t *x = c->retired_head; x != NULL;) {
        retired_t *nx = x->next;
        free(x->p);
        free(x);
        x = nx;
    }
    (void)nr;
    free(c->readers);
    free(c->tab);
    sodium_memzero(c->key, sizeof c->key);
    free(c);
}

static void lru_unlink(dmp_cache_t *c, centry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->lhead[e->cls] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->ltail[e->cls] = e->prev;
    e->prev = e->next = NULL;
}

static void lru_push_front(dmp_cache_t *c, centry_t *e)
{
    e->prev = NULL;
    e->next = c->lhead[e->cls];
    if (c->lhead[e->cls])
        c->lhead[e->cls]->prev = e;
    c->lhead[e->cls] = e;
    if (c->ltail[e->cls] == NULL)
        c->ltail[e->cls] = e;
}

/* Writer-side slot access (the writer is the only one storing, so relaxed loads see its own
 * stores). */
static centry_t *slot_e(const cslot_t *s)
{
    return atomic_load_explicit(&s->e, memory_order_relaxed);
}

static uint64_t slot_hash(const cslot_t *s)
{
    return atomic_load_explicit(&s->hash, memory_order_relaxed);
}

static void slot_set(cslot_t *s, uint64_t h, centry_t *e)
{
    atomic_store_explicit(&s->hash, h, memory_order_relaxed);
    atomic_store_explicit(&s->e, e, memory_order_release);
}

static bool entry_is(const centry_t *e, const char *n, size_t len, uint64_t h)
{
    return e->hash == h && e->name_len == len && memcmp(e->data, n, len) == 0;
}

/* Index of the slot holding (name, hash), or SIZE_MAX. Writer only. */
static size_t find_slot(const dmp_cache_t *c, const char *n, size_t len, uint64_t h)
{
    size_t mask = c->tab->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        const cslot_t *sl = &c->tab->slots[i];
        centry_t *e = slot_e(sl);
        if (e == NULL)
            return SIZE_MAX;
        if (slot_hash(sl) == h && entry_is(e, n, len, h))
            return i;
    }
}

/* Removes slot i (backward-shift deletion) and retires its entry. */
static void remove_slot(dmp_cache_t *c, size_t i)
{
    cslot_t *slots = c->tab->slots;
    centry_t *e = slot_e(&slots[i]);
    size_t mask = c->tab->cap - 1;
    lru_unlink(c, e);
    c->bytes -= entry_bytes(e->name_len, e->blob_len);
    atomic_store_explicit(&c->bytes_pub, c->bytes, memory_order_relaxed);
    c->cbytes[e->cls] -= entry_bytes(e->name_len, e->blob_len);
    c->used--;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        centry_t *ej = slot_e(&slots[j]);
        if (ej == NULL)
            break;
        size_t home = (size_t)slot_hash(&slots[j]) & mask;
        /* Move j into the hole i unless its home lies cyclically in (i, j]. */
        bool stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            slot_set(&slots[i], slot_hash(&slots[j]), ej);
            i = j;
        }
    }
    slot_clear(&slots[i]);
    retire(c, e);
}

static void insert_slot(ctab_t *t, centry_t *e)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)e->hash & mask;
    while (slot_e(&t->slots[i]) != NULL)
        i = (i + 1) & mask;
    slot_set(&t->slots[i], e->hash, e);
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
    centry_t *e = slot_e(&c->tab->slots[i]);
    if (e->expires_ms <= now_ms) {
        remove_slot(c, i);
        c->misses++;
        return DMP_CACHE_MISS;
    }
    if (c->lhead[e->cls] != e) {
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

dmp_cache_result_t dmp_cache_read(dmp_cache_t *c, unsigned reader, const char *lname, size_t len,
                                  int64_t now_ms, uint8_t *blob, size_t cap, size_t *blob_len,
                                  uint16_t *count, int64_t *expires_ms)
{
    *blob_len = 0;
    *count = 0;
    if (c == NULL || reader >= c->nreaders || (lname == NULL && len > 0))
        return DMP_CACHE_MISS;
    uint64_t h = hash_name(c, lname, len);
    creader_t *me = &c->readers[reader];
    /* enter: announce the epoch we start in (an exchange, ordered with reclaim's look) */
    uint64_t ep = atomic_load_explicit(&c->epoch, memory_order_acquire);
    atomic_exchange_explicit(&me->epoch, ep, memory_order_acq_rel);
    dmp_cache_result_t res = DMP_CACHE_MISS;
    const ctab_t *t = atomic_load_explicit(&c->pub, memory_order_acquire);
    size_t mask = t->cap - 1;
    size_t i = (size_t)h & mask;
    for (size_t steps = 0; steps < t->cap; steps++, i = (i + 1) & mask) {
        const cslot_t *sl = &t->slots[i];
        centry_t *e = atomic_load_explicit(&sl->e, memory_order_acquire);
        if (e == NULL)
            break;
        if (atomic_load_explicit(&sl->hash, memory_order_relaxed) != h ||
            !entry_is(e, lname, len, h))
            continue;
        if (e->expires_ms <= now_ms || e->blob_len > cap)
            break; /* the owner drops it, or answers a blob this big itself */
        if (atomic_load_explicit(&e->ref, memory_order_relaxed) == 0)
            atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
        if (expires_ms)
            *expires_ms = e->expires_ms;
        if (e->negative) {
            res = DMP_CACHE_NEGATIVE;
        } else {
            if (e->blob_len)
                memcpy(blob, e->data + e->name_len, e->blob_len);
            *blob_len = e->blob_len;
            *count = e->count;
            res = DMP_CACHE_HIT;
        }
        break;
    }
    /* leave: nothing of the cache is referenced past this point */
    atomic_store_explicit(&me->epoch, 0, memory_order_release);
    atomic_fetch_add_explicit(res == DMP_CACHE_MISS ? &c->reader_misses : &c->reader_hits, 1,
                              memory_order_relaxed);
    return res;
}

static int grow(dmp_cache_t *c)
{
    ctab_t *nt = tab_new(c->tab->cap * 2);
    if (nt == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < c->tab->cap; i++) {
        centry_t *e = slot_e(&c->tab->slots[i]);
        if (e != NULL)
            insert_slot(nt, e);
    }
    ctab_t *old = c->tab;
    c->tab = nt;
    atomic_store_explicit(&c->pub, nt, memory_order_release);
    retire(c, old);
    return 0;
}

/* Evicts the least recently used entry of class k; an entry a reader hit since it was last
 * looked at gets one more round at the head instead (readers cannot move entries in the LRU
 * list). */
static int evict_one(dmp_cache_t *c, int k)
{
    for (size_t tries = 0; tries <= c->used; tries++) {
        centry_t *victim = c->ltail[k];
        if (victim == NULL)
            return DMP_EINVAL;
        if (atomic_load_explicit(&victim->ref, memory_order_relaxed) && c->lhead[k] != victim) {
            atomic_store_explicit(&victim->ref, 0, memory_order_relaxed);
            lru_unlink(c, victim);
            lru_push_front(c, victim);
            continue;
        }
        size_t vi = find_slot(c, (const char *)victim->data, victim->name_len, victim->hash);
        if (vi == SIZE_MAX) /* cannot happen: every listed entry is indexed */
            return DMP_EINVAL;
        remove_slot(c, vi);
        return 0;
    }
    return DMP_EINVAL;
}

/* Makes room for `need` more bytes of class k (see the budgets above struct dmp_cache).
 * DMP_ETOOBIG when class k cannot hold it at all. */
static int make_room(dmp_cache_t *c, int k, size_t need)
{
    size_t cap_k = k == CLS_NEG ? c->neg_max : c->max_bytes;
    if (need > cap_k)
        return DMP_ETOOBIG;
    if (k == CLS_NEG)
        while (c->cbytes[CLS_NEG] + need > c->neg_max) {
            int rc = evict_one(c, CLS_NEG);
            if (rc != 0)
                return rc;
        }
    while (c->bytes + need > c->max_bytes) {
        int from = k;
        if (k == CLS_POS)
            from = c->ltail[CLS_POS] != NULL ? CLS_POS : CLS_NEG;
        else if (c->cbytes[CLS_POS] > c->max_bytes - c->neg_max || c->ltail[CLS_NEG] == NULL)
            from = CLS_POS; /* positive entries hold space of the negative budget */
        int rc = evict_one(c, from);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int put_entry(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                     size_t blob_len, uint16_t count, bool negative, int cls, int64_t expires_ms)
{
    if (c == NULL || (lname == NULL && len > 0) || (blob == NULL && blob_len > 0) ||
        len > UINT32_MAX || blob_len > UINT32_MAX)
        return DMP_EINVAL;
    size_t need = entry_bytes(len, blob_len);
    uint64_t h = hash_name(c, lname, len);
    size_t old = find_slot(c, lname, len, h);
    if (old != SIZE_MAX)
        remove_slot(c, old);
    int rc = make_room(c, cls, need);
    if (rc != 0)
        return rc;
    if ((c->used + 1) * 2 > c->tab->cap && (rc = grow(c)) != 0)
        return rc;
    centry_t *e = malloc(sizeof *e + len + blob_len);
    if (e == NULL)
        return DMP_ENOMEM;
    e->prev = e->next = NULL;
    atomic_init(&e->ref, 0);
    e->expires_ms = expires_ms;
    e->hash = h;
    e->name_len = (uint32_t)len;
    e->blob_len = (uint32_t)blob_len;
    e->count = count;
    e->negative = negative ? 1 : 0;
    e->cls = (uint8_t)cls;
    if (len)
        memcpy(e->data, lname, len);
    if (blob_len)
        memcpy(e->data + len, blob, blob_len);
    insert_slot(c->tab, e); /* publishes e (release) */
    lru_push_front(c, e);
    c->used++;
    c->bytes += need;
    atomic_store_explicit(&c->bytes_pub, c->bytes, memory_order_relaxed);
    c->cbytes[cls] += need;
    return 0;
}

int dmp_cache_put(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                  size_t blob_len, uint16_t count, int64_t expires_ms)
{
    return put_entry(c, lname, len, blob, blob_len, count, false, CLS_POS, expires_ms);
}

int dmp_cache_put_negative(dmp_cache_t *c, const char *lname, size_t len, int64_t expires_ms)
{
    return put_entry(c, lname, len, NULL, 0, 0, true, CLS_NEG, expires_ms);
}

int dmp_cache_put_nx(dmp_cache_t *c, const char *lname, size_t len, const uint8_t *blob,
                     size_t blob_len, int64_t expires_ms)
{
    return put_entry(c, lname, len, blob, blob_len, 0, false, CLS_NEG, expires_ms);
}

int dmp_cache_set_negative_bytes(dmp_cache_t *c, size_t bytes)
{
    if (c == NULL || bytes > c->max_bytes)
        return DMP_EINVAL;
    c->neg_max = bytes;
    while (c->cbytes[CLS_NEG] > c->neg_max)
        if (evict_one(c, CLS_NEG) != 0)
            return DMP_EINVAL;
    return 0;
}

void dmp_cache_class_stats(const dmp_cache_t *c, size_t *pos_bytes, size_t *neg_bytes)
{
    if (pos_bytes)
        *pos_bytes = c ? c->cbytes[CLS_POS] : 0;
    if (neg_bytes)
        *neg_bytes = c ? c->cbytes[CLS_NEG] : 0;
}

bool dmp_cache_invalidate(dmp_cache_t *c, const char *lname, size_t len)
{
    if (c == NULL || (lname == NULL && len > 0))
        return false;
    size_t i = find_slot(c, lname, len, hash_name(c, lname, len));
    if (i == SIZE_MAX)
        return false;
    remove_slot(c, i);
    return true;
}

void dmp_cache_reclaim(dmp_cache_t *c)
{
    if (c != NULL)
        reclaim(c);
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

bool dmp_cache_below(const dmp_cache_t *c, unsigned num, unsigned den)
{
    size_t b = atomic_load_explicit(&c->bytes_pub, memory_order_relaxed);
    return den != 0 && b < c->max_bytes / den * num;
}

void dmp_cache_reader_stats(dmp_cache_t *c, uint64_t *hits, uint64_t *misses, size_t *retired)
{
    if (hits)
        *hits = c ? atomic_load_explicit(&c->reader_hits, memory_order_relaxed) : 0;
    if (misses)
        *misses = c ? atomic_load_explicit(&c->reader_misses, memory_order_relaxed) : 0;
    if (retired)
        *retired = c ? c->nretired : 0;
}
