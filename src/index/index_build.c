/* index: the walks that fill a generation of the name index, at start (dmp_index_build) and in a
 * rebuild (dmp_index_rebuild): every live RRset of the store into the generation's file, in
 * batches of about 1 MiB, each batch written before its slots are published. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dns/dns.h"
#include "index/index_int.h"

#define BATCH_BYTES (1u << 20)
#define SPACE_EVERY (64ull << 20) /* bytes written between free-space checks */

typedef struct {
    uint64_t h, loc;
} pending_t;

typedef struct {
    dmp_index_t *x;
    dmp_index_gen_t *g;
    dmp_buf_t out;   /* the batch's entries */
    dmp_buf_t rrs;   /* one RRset's RRs */
    pending_t *pend; /* the batch's slots */
    size_t npend, pend_cap;
    dmp_dns_value_t *vals;
    size_t vals_cap;
    uint64_t off;        /* file offset of out's first byte */
    uint64_t next_space; /* file size at the next free-space check (0: after the first batch) */
    uint64_t min_free;
    const atomic_bool *stop;
    int err;
    bool low_space;
} walk_t;

/* Writes the batch, then publishes its slots (a slot a write marked meanwhile is left alone). */
static int flush(walk_t *w)
{
    dmp_index_t *x = w->x;
    dmp_index_gen_t *g = w->g;
    size_t done = 0;
    while (done < w->out.len) {
        ssize_t n = pwrite(g->fd, w->out.data + done, w->out.len - done, (off_t)(w->off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            dmp_warn("name index: writing its file: %s", n < 0 ? strerror(errno) : "short write");
            return DMP_EIO;
        }
        done += (size_t)n;
    }
    uint64_t published = 0, skipped = 0;
    for (size_t i = 0; i < w->npend; i++) {
        dmp_index_slot_t *s = dmp_index_find(g, w->pend[i].h, true);
        uint64_t expect = DMP_INDEX_LOC_EMPTY;
        if (s && atomic_compare_exchange_strong_explicit(
                     &s->loc, &expect, w->pend[i].loc, memory_order_release, memory_order_relaxed))
            published++;
        else
            skipped++; /* written since the start, a colliding name, or no room */
    }
    w->off += w->out.len;
    atomic_fetch_add_explicit(&g->names, published, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->skipped, skipped, memory_order_relaxed);
    atomic_store_explicit(&g->bytes, w->off, memory_order_relaxed);
    w->out.len = 0;
    w->npend = 0;
    if (w->off >= w->next_space) {
        w->next_space = w->off + SPACE_EVERY;
        struct statvfs sv;
        if (statvfs(x->dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < w->min_free) {
            dmp_warn("name index: stopped at %llu MiB: under %llu MiB free on the store's disk",
                     (unsigned long long)(w->off >> 20), (unsigned long long)(w->min_free >> 20));
            w->low_space = true;
        }
    }
    return 0;
}

static int on_rrset(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *recs,
                    size_t n)
{
    walk_t *w = ctx;
    dmp_index_t *x = w->x;
    dmp_index_gen_t *g = w->g;
    int64_t exp = INT64_MAX; /* over every value, as the DNS path's read takes it */
    for (size_t i = 0; i < n; i++)
        if (recs[i].expires_ms < exp)
            exp = recs[i].expires_ms;
    if (n > 65535)
        n = 65535; /* as the DNS path caps an answer */
    if (n > w->vals_cap) {
        dmp_dns_value_t *nv = realloc(w->vals, n * 2 * sizeof(*nv));
        if (!nv) {
            w->err = DMP_ENOMEM;
            return 1;
        }
        w->vals = nv;
        w->vals_cap = n * 2;
    }
    for (size_t i = 0; i < n; i++)
        w->vals[i] = (dmp_dns_value_t){.data = recs[i].value, .len = recs[i].value_len};
    w->rrs.len = 0;
    size_t elen = 0;
    if (name_len > 255 || dmp_dns_txt_rrs_build(w->vals, n, x->ttl, &w->rrs) != 0 ||
        (elen = sizeof(dmp_index_entry_t) + name_len + w->rrs.len) > DMP_INDEX_MAX_ENTRY) {
        atomic_fetch_add_explicit(&g->skipped, 1, memory_order_relaxed);
        /* marked, so that a later put does not take the name for a new one (dmp_index_put) */
        dmp_index_slot_t *s = dmp_index_find(g, dmp_index_hash(name, name_len), true);
        uint64_t expect = DMP_INDEX_LOC_EMPTY;
        if (s)
            atomic_compare_exchange_strong(&s->loc, &expect, DMP_INDEX_LOC_INVALID);
        return 0; /* read from the store, as before */
    }
    if (w->out.len + elen > BATCH_BYTES && w->out.len > 0) {
        if ((w->err = flush(w)) != 0)
            return 1;
        if (w->low_space)
            return 1;
    }
    if (w->npend == w->pend_cap) {
        size_t nc = w->pend_cap ? w->pend_cap * 2 : 4096;
        pending_t *np = realloc(w->pend, nc * sizeof(*np));
        if (!np) {
            w->err = DMP_ENOMEM;
            return 1;
        }
        w->pend = np;
        w->pend_cap = nc;
    }
    dmp_index_entry_t e = {.expires_ms = exp,
                           .rrs_len = (uint32_t)w->rrs.len,
                           .count = (uint16_t)n,
                           .name_len = (uint8_t)name_len,
                           .version = DMP_INDEX_VERSION};
    uint64_t at = w->off + w->out.len;
    if (dmp_buf_append(&w->out, &e, sizeof e) != 0 ||
        dmp_buf_append(&w->out, name, name_len) != 0 ||
        dmp_buf_append(&w->out, w->rrs.data, w->rrs.len) != 0) {
        w->err = DMP_ENOMEM;
        return 1;
    }
    w->pend[w->npend++] =
        (pending_t){.h = dmp_index_hash(name, name_len), .loc = at << DMP_INDEX_LEN_BITS | elen};
    return 0;
}

/* Walks store into g and settles its state (READY only for a complete walk). */
static int walk(dmp_index_t *x, dmp_index_gen_t *g, dmp_store_t *store, int64_t now_ms,
                const atomic_bool *stop, uint64_t min_free_bytes)
{
    int64_t t0 = dmp_monotonic_ns();
    walk_t w = {.x = x, .g = g, .min_free = min_free_bytes, .stop = stop};
    dmp_buf_init(&w.out);
    dmp_buf_init(&w.rrs);
    int rc = dmp_store_scan_rrsets(store, now_ms, stop, on_rrset, &w);
    if (rc == 0 && w.err == 0 && !w.low_space && w.out.len > 0)
        w.err = flush(&w);
    if (rc == 0)
        rc = w.err;
    bool stopped = (stop && atomic_load(stop)) || w.low_space;
    int64_t t1 = dmp_monotonic_ns();
    atomic_store(&g->build_ns, (uint64_t)(t1 - t0));
    g->built_at_ns = t1;
    /* writes append past the walk's entries (dmp_index_put), once READY below */
    atomic_store(&g->end, w.off);
    g->append_max = w.off > DMP_INDEX_APPEND_MIN ? w.off : DMP_INDEX_APPEND_MIN;
    g->min_free = min_free_bytes;
    atomic_store(&g->state, rc == 0 && !stopped ? DMP_INDEX_READY : DMP_INDEX_INCOMPLETE);
    dmp_buf_free(&w.out);
    dmp_buf_free(&w.rrs);
    free(w.pend);
    free(w.vals);
    return rc;
}

int dmp_index_build(dmp_index_t *x, dmp_store_t *store, int64_t now_ms, const atomic_bool *stop,
                    uint64_t min_free_bytes)
{
    if (!x || !store)
        return DMP_EINVAL;
    if (atomic_flag_test_and_set(&x->built))
        return DMP_EINVAL; /* once per index */
    return walk(x, atomic_load(&x->cur), store, now_ms, stop, min_free_bytes);
}

int dmp_index_rebuild(dmp_index_t *x, dmp_store_t *store, int64_t now_ms, const atomic_bool *stop,
                      uint64_t min_free_bytes)
{
    if (!x || !store)
        return DMP_EINVAL;
    dmp_index_gen_t *old = atomic_load(&x->cur);
    if (atomic_load(&old->state) == DMP_INDEX_BUILDING)
        return DMP_EAGAIN; /* the first walk has not ended */
    uint64_t nrec = 0;
    int rc = dmp_store_record_count(store, &nrec);
    dmp_index_gen_t *g = NULL;
    if (rc == 0)
        rc = dmp_index_gen_new(x->dir, nrec, &g);
    if (rc != 0)
        return rc;
    g->older = x->gens;
    x->gens = g;
    /* writes mark g from now on; the walk's snapshot of the store is taken after this (the
     * fence pairs with dmp_index_writer_cur's): a write that did not see g is in it */
    atomic_store(&x->next, g);
    atomic_thread_fence(memory_order_seq_cst);
    rc = walk(x, g, store, now_ms, stop, min_free_bytes);
    if (rc != 0 || atomic_load(&g->state) != DMP_INDEX_READY) {
        atomic_store(&x->next, NULL);
        dmp_index_gen_release(g); /* the generation before stays */
        return rc;
    }
    atomic_store(&x->cur, g); /* before next is cleared: see dmp_index_writer_cur */
    atomic_store(&x->next, NULL);
    dmp_index_gen_release(old);
    atomic_fetch_add(&x->old_invalidations, atomic_load(&old->invalidations));
    atomic_fetch_add(&x->old_put_names, atomic_load(&old->put_names));
    atomic_fetch_add(&x->rebuilds, 1);
    return 0;
}

bool dmp_index_rebuild_due(dmp_index_t *x, int64_t mono_ns, uint32_t min_gap_s)
{
    if (!x || min_gap_s == 0)
        return false;
    dmp_index_gen_t *g = atomic_load(&x->cur);
    if (atomic_load(&g->state) != DMP_INDEX_READY)
        return false;
    int64_t gap = (int64_t)atomic_load(&g->build_ns) * DMP_INDEX_REBUILD_WALKS;
    if (gap < (int64_t)min_gap_s * 1000000000)
        gap = (int64_t)min_gap_s * 1000000000;
    if (mono_ns - g->built_at_ns < gap)
        return false;
    uint64_t slots = g->mask + 1, used = atomic_load(&g->used), lost = atomic_load(&g->lost);
    uint64_t names = atomic_load(&g->names) + atomic_load(&g->put_names);
    return used > slots / 4 * 3 || (lost >= DMP_INDEX_REBUILD_LOST && lost * 8 >= names) ||
           atomic_load(&g->no_append);
}
