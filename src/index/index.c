/* index: generations, the table, reads and marks (index.h). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns/dns.h"
#include "index/index_int.h"

uint64_t dmp_index_hash(const char *lname, size_t len)
{
    uint64_t h = dmp_dns_name_hash(lname, len);
    return h ? h : 1;
}

static dmp_index_slot_t *find_ro(dmp_index_gen_t *g, uint64_t h)
{
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &g->slots[(h + i) & g->mask];
        uint64_t v = atomic_load_explicit(&s->h, memory_order_acquire);
        if (v == h)
            return s;
        if (v == 0)
            return NULL; /* the name would be here or earlier */
    }
    return NULL;
}

dmp_index_slot_t *dmp_index_find(dmp_index_gen_t *g, uint64_t h, bool insert)
{
    bool ins;
    return insert ? dmp_index_find_ins(g, h, &ins) : find_ro(g, h);
}

dmp_index_slot_t *dmp_index_find_ins(dmp_index_gen_t *g, uint64_t h, bool *inserted)
{
    *inserted = false;
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &g->slots[(h + i) & g->mask];
        uint64_t v = atomic_load_explicit(&s->h, memory_order_acquire);
        if (v == 0) {
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong_explicit(&s->h, &expect, h, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                uint64_t used = atomic_fetch_add_explicit(&g->used, 1, memory_order_relaxed) + 1;
                if (used > g->mask / 10 * 9 && !atomic_flag_test_and_set(&g->full_logged))
                    dmp_warn("name index: table 90%% full (%llu slots): names written from now on "
                             "may not get a slot and are read from the store until the next "
                             "rebuild",
                             (unsigned long long)(g->mask + 1));
                *inserted = true;
                return s;
            }
            v = expect; /* another thread took it: for this name or another */
        }
        if (v == h)
            return s;
    }
    return NULL;
}

void dmp_index_mark(dmp_index_gen_t *g, uint64_t h)
{
    /* no slot and no room for one: the walk cannot give the name one either (slots are never
     * freed), so the name is read from the store for good in this generation */
    dmp_index_slot_t *s = dmp_index_find(g, h, true);
    if (s && atomic_exchange_explicit(&s->loc, DMP_INDEX_LOC_INVALID, memory_order_acq_rel) !=
                 DMP_INDEX_LOC_INVALID)
        atomic_fetch_add_explicit(&g->lost, 1, memory_order_relaxed);
}

/* ---- references ---- */

static unsigned my_stripe(void)
{
    static _Atomic unsigned next_stripe;
    static _Thread_local unsigned stripe = UINT32_MAX;
    if (stripe == UINT32_MAX)
        stripe = atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) %
                 DMP_INDEX_REF_STRIPES;
    return stripe;
}

/* Take a count on the generation, then check it is still the one *which points at: a rebuilder
 * that replaced it and then saw every count at zero (seq_cst on both sides) is seen here, and
 * the count is given back before the table is touched. */
dmp_index_gen_t *dmp_index_ref(_Atomic(dmp_index_gen_t *) *which, unsigned *stripe)
{
    unsigned s = my_stripe();
    *stripe = s;
    for (;;) {
        dmp_index_gen_t *g = atomic_load(which);
        if (!g)
            return NULL;
        atomic_fetch_add(&g->refs[s].n, 1);
        if (atomic_load(which) == g)
            return g;
        atomic_fetch_sub(&g->refs[s].n, 1);
    }
}

void dmp_index_unref(dmp_index_gen_t *g, unsigned stripe)
{
    atomic_fetch_sub_explicit(&g->refs[stripe].n, 1, memory_order_release);
}

/* ---- generations ---- */

static int make_file(const char *dir)
{
    char path[4096];
    static _Atomic unsigned seq;
    for (unsigned i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "%s/.dmp-name-index.%ld.%u", dir, (long)getpid(),
                 atomic_fetch_add(&seq, 1));
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            unlink(path); /* the file lives while its generation does */
            return fd;
        }
        if (errno != EEXIST) {
            dmp_warn("name index: cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return -1;
}

int dmp_index_gen_new(const char *dir, uint64_t expected_names, dmp_index_gen_t **out)
{
    *out = NULL;
    uint64_t want = expected_names + expected_names / 2, n = 1u << 16;
    while (n < want)
        n <<= 1;
    dmp_index_gen_t *g = aligned_alloc(_Alignof(dmp_index_gen_t), sizeof(*g));
    if (!g)
        return DMP_ENOMEM;
    memset(g, 0, sizeof(*g));
    g->fd = -1;
    g->slots = calloc(n, sizeof(*g->slots)); /* pages are touched as slots fill */
    if (!g->slots) {
        free(g);
        return DMP_ENOMEM;
    }
    g->mask = n - 1;
    atomic_init(&g->state, DMP_INDEX_BUILDING);
    atomic_flag_clear(&g->full_logged);
    if ((g->fd = make_file(dir)) < 0) {
        free(g->slots);
        free(g);
        return DMP_EIO;
    }
    *out = g;
    return 0;
}

void dmp_index_gen_release(dmp_index_gen_t *g)
{
    if (!g || g->released)
        return;
    for (;;) {
        uint64_t held = 0;
        for (unsigned i = 0; i < DMP_INDEX_REF_STRIPES; i++)
            held += atomic_load(&g->refs[i].n);
        if (held == 0)
            break;
        sched_yield(); /* a read or a mark in flight: microseconds */
    }
    free(g->slots);
    g->slots = NULL;
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
    g->released = true;
}

int dmp_index_new(const char *dir, uint64_t expected_names, uint32_t ttl, dmp_index_t **out)
{
    if (out)
        *out = NULL;
    if (!dir || !out || expected_names > (1ull << 40))
        return DMP_EINVAL;
    dmp_index_t *x = calloc(1, sizeof(*x));
    if (!x)
        return DMP_ENOMEM;
    x->dir = strdup(dir);
    x->ttl = ttl;
    atomic_flag_clear(&x->built);
    dmp_index_gen_t *g = NULL;
    int rc = x->dir ? dmp_index_gen_new(dir, expected_names, &g) : DMP_ENOMEM;
    if (rc != 0) {
        free(x->dir);
        free(x);
        return rc;
    }
    x->gens = g;
    atomic_init(&x->cur, g);
    atomic_init(&x->next, NULL);
    *out = x;
    return 0;
}

void dmp_index_free(dmp_index_t *x)
{
    if (!x)
        return;
    for (dmp_index_gen_t *g = x->gens, *o; g; g = o) {
        o = g->older;
        if (!g->released) {
            free(g->slots);
            if (g->fd >= 0)
                close(g->fd);
        }
        free(g);
    }
    free(x->dir);
    free(x);
}

/* ---- marks and reads ---- */

/* The generations a write must mark: next first, then cur. A rebuild publishes next before it
 * opens its snapshot of the store, and replaces cur before it clears next; the fence orders the
 * caller's committed store write before these loads. So a write either sees the rebuild's next
 * (and marks it), or was committed before the rebuild's snapshot (whose walk reads it). */
dmp_index_gen_t *dmp_index_writer_cur(dmp_index_t *x, uint64_t h, unsigned *cs)
{
    atomic_thread_fence(memory_order_seq_cst);
    unsigned ns;
    dmp_index_gen_t *n = dmp_index_ref(&x->next, &ns);
    dmp_index_gen_t *g = dmp_index_ref(&x->cur, cs);
    if (n) {
        if (n != g)
            dmp_index_mark(n, h); /* its walk may or may not have read this write */
        dmp_index_unref(n, ns);
    }
    return g;
}

static int read_gen(dmp_index_gen_t *g, const char *lname, size_t len, int64_t now_ms,
                    dmp_buf_t *buf, dmp_index_answer_t *out)
{
    dmp_index_slot_t *s = dmp_index_find(g, dmp_index_hash(lname, len), false);
    if (!s)
        return DMP_ENOTFOUND;
    uint64_t loc = atomic_load_explicit(&s->loc, memory_order_acquire);
    if (loc == DMP_INDEX_LOC_EMPTY || loc == DMP_INDEX_LOC_INVALID)
        return DMP_ENOTFOUND;
    size_t elen = (size_t)(loc & DMP_INDEX_MAX_ENTRY);
    off_t off = (off_t)(loc >> DMP_INDEX_LEN_BITS);
    buf->len = 0;
    if (elen < sizeof(dmp_index_entry_t) + len || dmp_buf_reserve(buf, elen) != 0)
        return DMP_ENOTFOUND;
    ssize_t got = pread(g->fd, buf->data, elen, off);
    if (got != (ssize_t)elen)
        return DMP_ENOTFOUND;
    dmp_index_entry_t e;
    memcpy(&e, buf->data, sizeof e);
    if (e.version != DMP_INDEX_VERSION || e.name_len != len || sizeof e + len + e.rrs_len != elen ||
        e.count == 0 || e.expires_ms <= now_ms || memcmp(buf->data + sizeof e, lname, len) != 0)
        return DMP_ENOTFOUND; /* a collision, or a value expired: the store drops it */
    buf->len = elen;
    out->rrs = buf->data + sizeof e + len;
    out->rrs_len = e.rrs_len;
    out->count = e.count;
    out->expires_ms = e.expires_ms;
    return 0;
}

int dmp_index_read(dmp_index_t *x, const char *lname, size_t len, int64_t now_ms, dmp_buf_t *buf,
                   dmp_index_answer_t *out)
{
    if (!x || !lname || len == 0 || len > DMP_STORE_MAX_NAME || !buf || !out)
        return DMP_ENOTFOUND;
    unsigned s;
    dmp_index_gen_t *g = dmp_index_ref(&x->cur, &s);
    if (!g)
        return DMP_ENOTFOUND;
    int rc = read_gen(g, lname, len, now_ms, buf, out);
    dmp_index_unref(g, s);
    return rc;
}

void dmp_index_stats(const dmp_index_t *x, dmp_index_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!x)
        return;
    dmp_index_t *m = (dmp_index_t *)x; /* atomics are read only */
    /* a generation's struct outlives its use (dmp_index_free frees it): no reference needed */
    dmp_index_gen_t *g = atomic_load(&m->cur);
    out->state = (dmp_index_state_t)atomic_load(&g->state);
    out->names = atomic_load_explicit(&g->names, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&g->bytes, memory_order_relaxed);
    out->skipped = atomic_load_explicit(&g->skipped, memory_order_relaxed);
    out->slots = g->mask + 1;
    out->used = atomic_load_explicit(&g->used, memory_order_relaxed);
    out->lost = atomic_load_explicit(&g->lost, memory_order_relaxed);
    out->invalidations = atomic_load(&m->old_invalidations) +
                         atomic_load_explicit(&g->invalidations, memory_order_relaxed);
    out->build_seconds = (double)atomic_load(&g->build_ns) / 1e9;
    out->put_names =
        atomic_load(&m->old_put_names) + atomic_load_explicit(&g->put_names, memory_order_relaxed);
    out->appended = atomic_load_explicit(&g->appended, memory_order_relaxed);
    out->rebuilds = atomic_load(&m->rebuilds);
}

const char *dmp_index_state_name(dmp_index_state_t s)
{
    switch (s) {
    case DMP_INDEX_BUILDING:
        return "building";
    case DMP_INDEX_READY:
        return "ready";
    default:
        return "incomplete";
    }
}
