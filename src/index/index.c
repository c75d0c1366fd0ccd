/* index: the name index's table, its reads and its invalidations (index.h). */
#include <errno.h>
#include <fcntl.h>
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

static dmp_index_slot_t *find_ro(dmp_index_t *x, uint64_t h)
{
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &x->slots[(h + i) & x->mask];
        uint64_t v = atomic_load_explicit(&s->h, memory_order_acquire);
        if (v == h)
            return s;
        if (v == 0)
            return NULL; /* the name would be here or earlier */
    }
    return NULL;
}

dmp_index_slot_t *dmp_index_find(dmp_index_t *x, uint64_t h, bool insert)
{
    bool ins;
    return insert ? dmp_index_find_ins(x, h, &ins) : find_ro(x, h);
}

dmp_index_slot_t *dmp_index_find_ins(dmp_index_t *x, uint64_t h, bool *inserted)
{
    *inserted = false;
    for (uint64_t i = 0; i < DMP_INDEX_MAX_PROBE; i++) {
        dmp_index_slot_t *s = &x->slots[(h + i) & x->mask];
        uint64_t v = atomic_load_explicit(&s->h, memory_order_acquire);
        if (v == 0) {
            uint64_t expect = 0;
            if (atomic_compare_exchange_strong_explicit(&s->h, &expect, h, memory_order_acq_rel,
                                                        memory_order_acquire)) {
                uint64_t used = atomic_fetch_add_explicit(&x->used, 1, memory_order_relaxed) + 1;
                if (used > x->mask / 10 * 9 && !atomic_flag_test_and_set(&x->full_logged))
                    dmp_warn("name index: table 90%% full (%llu slots): names written from now on "
                             "may not get a slot and are read from the store",
                             (unsigned long long)(x->mask + 1));
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

static int make_file(const char *dir)
{
    char path[4096];
    for (unsigned i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "%s/.dmp-name-index.%ld.%u", dir, (long)getpid(), i);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            unlink(path); /* the file lives while the node does */
            return fd;
        }
        if (errno != EEXIST) {
            dmp_warn("name index: cannot create %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return -1;
}

int dmp_index_new(const char *dir, uint64_t expected_names, uint32_t ttl, dmp_index_t **out)
{
    if (out)
        *out = NULL;
    if (!dir || !out || expected_names > (1ull << 40))
        return DMP_EINVAL;
    uint64_t want = expected_names + expected_names / 2, n = 1u << 16;
    while (n < want)
        n <<= 1;
    dmp_index_t *x = calloc(1, sizeof(*x));
    if (!x)
        return DMP_ENOMEM;
    x->fd = -1;
    x->slots = calloc(n, sizeof(*x->slots)); /* pages are touched as slots fill */
    x->dir = strdup(dir);
    if (!x->slots || !x->dir) {
        dmp_index_free(x);
        return DMP_ENOMEM;
    }
    x->mask = n - 1;
    x->ttl = ttl;
    atomic_init(&x->state, DMP_INDEX_BUILDING);
    if ((x->fd = make_file(dir)) < 0) {
        dmp_index_free(x);
        return DMP_EIO;
    }
    *out = x;
    return 0;
}

void dmp_index_free(dmp_index_t *x)
{
    if (!x)
        return;
    if (x->fd >= 0)
        close(x->fd);
    free(x->slots);
    free(x->dir);
    free(x);
}

void dmp_index_invalidate(dmp_index_t *x, const char *name, size_t len)
{
    char ln[DMP_STORE_MAX_NAME];
    if (!x || dmp_store_normalize_name(name, len, ln, sizeof ln) != 0)
        return; /* a name the store refuses was not written */
    atomic_fetch_add_explicit(&x->invalidations, 1, memory_order_relaxed);
    /* no slot and no room for one: the walk cannot give the name one either (slots are never
     * freed), so the name is read from the store for good */
    dmp_index_slot_t *s = dmp_index_find(x, dmp_index_hash(ln, len), true);
    if (s)
        atomic_store_explicit(&s->loc, DMP_INDEX_LOC_INVALID, memory_order_release);
}

int dmp_index_read(dmp_index_t *x, const char *lname, size_t len, int64_t now_ms, dmp_buf_t *buf,
                   dmp_index_answer_t *out)
{
    if (!x || !lname || len == 0 || len > DMP_STORE_MAX_NAME || !buf || !out)
        return DMP_ENOTFOUND;
    dmp_index_slot_t *s = dmp_index_find(x, dmp_index_hash(lname, len), false);
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
    ssize_t got = pread(x->fd, buf->data, elen, off);
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

void dmp_index_stats(const dmp_index_t *x, dmp_index_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!x)
        return;
    dmp_index_t *m = (dmp_index_t *)x; /* atomics are read only */
    out->state = (dmp_index_state_t)atomic_load(&m->state);
    out->names = atomic_load_explicit(&m->names, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
    out->skipped = atomic_load_explicit(&m->skipped, memory_order_relaxed);
    out->slots = x->mask + 1;
    out->used = atomic_load_explicit(&m->used, memory_order_relaxed);
    out->invalidations = atomic_load_explicit(&m->invalidations, memory_order_relaxed);
    out->build_seconds = (double)atomic_load(&m->build_ns) / 1e9;
    out->put_names = atomic_load_explicit(&m->put_names, memory_order_relaxed);
    out->appended = atomic_load_explicit(&m->appended, memory_order_relaxed);
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
