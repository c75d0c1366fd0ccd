/* index: what a write does to the index (dmp_index_put, dmp_index_invalidate). Once a generation's
 * walk is READY, a name that has no slot in it had no live value at the walk's snapshot and none
 * written since (every write gives its name a slot), so a put that inserts the name's slot knows
 * the whole RRset: its one value. Its answer is appended to the generation's file and published;
 * every other put marks the name (dmp_index_mark), as does a put beside a rebuild's walk in the
 * generation being walked. Appends are bounded (the walk's size, at least DMP_INDEX_APPEND_MIN) and
 * stop when the disk runs low: then names are marked as before and read from the store until the
 * next rebuild. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "dns/dns.h"
#include "index/index_int.h"

/* Reserves len bytes at the file's end for one entry; false once the budget or the disk is out. */
static bool reserve(const dmp_index_t *x, dmp_index_gen_t *g, size_t len, uint64_t *off)
{
    if (atomic_load_explicit(&g->no_append, memory_order_relaxed))
        return false;
    uint64_t before = atomic_fetch_add_explicit(&g->appended, len, memory_order_relaxed);
    if (before + len > g->append_max) {
        atomic_store_explicit(&g->no_append, true, memory_order_relaxed);
        dmp_info("name index: writes' entries reached %llu MiB: names written from now on are "
                 "read from the store until the next rebuild",
                 (unsigned long long)(g->append_max >> 20));
        return false;
    }
    if (before / DMP_INDEX_SPACE_EVERY != (before + len) / DMP_INDEX_SPACE_EVERY) {
        struct statvfs sv;
        if (statvfs(x->dir, &sv) == 0 && (uint64_t)sv.f_bavail * sv.f_frsize < g->min_free) {
            atomic_store_explicit(&g->no_append, true, memory_order_relaxed);
            dmp_warn("name index: under %llu MiB free on the store's disk: names written from "
                     "now on are read from the store",
                     (unsigned long long)(g->min_free >> 20));
            return false;
        }
    }
    *off = atomic_fetch_add_explicit(&g->end, len, memory_order_relaxed);
    return true;
}

/* Appends name's answer (value, as the DNS path builds it) and publishes it in s; false when it
 * could not (then the caller marks the slot). */
static bool append(const dmp_index_t *x, dmp_index_gen_t *g, dmp_index_slot_t *s, const char *ln,
                   size_t len, const uint8_t *value, size_t vlen, int64_t expires_ms)
{
    dmp_dns_value_t v = {.data = value, .len = vlen};
    dmp_buf_t b;
    dmp_buf_init(&b);
    dmp_index_entry_t e = {.expires_ms = expires_ms,
                           .count = 1,
                           .name_len = (uint8_t)len,
                           .version = DMP_INDEX_VERSION};
    bool ok = dmp_buf_append(&b, &e, sizeof e) == 0 && dmp_buf_append(&b, ln, len) == 0 &&
              dmp_dns_txt_rrs_build(&v, 1, x->ttl, &b) == 0 && b.len <= DMP_INDEX_MAX_ENTRY;
    uint64_t off = 0;
    if (ok) {
        e.rrs_len = (uint32_t)(b.len - sizeof e - len);
        memcpy(b.data, &e, sizeof e);
        ok = reserve(x, g, b.len, &off);
    }
    for (size_t done = 0; ok && done < b.len;) {
        ssize_t n = pwrite(g->fd, b.data + done, b.len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        done += ok ? (size_t)n : 0;
    }
    if (ok) {
        atomic_store_explicit(&s->loc, off << DMP_INDEX_LEN_BITS | b.len, memory_order_release);
        atomic_fetch_add_explicit(&g->put_names, 1, memory_order_relaxed);
    }
    dmp_buf_free(&b);
    return ok;
}

/* value == NULL: a mark (dmp_index_invalidate) */
static void put_gen(const dmp_index_t *x, dmp_index_gen_t *g, uint64_t h, const char *ln,
                    size_t len, const uint8_t *value, size_t vlen, uint32_t ttl, int64_t now_ms)
{
    atomic_fetch_add_explicit(&g->invalidations, 1, memory_order_relaxed);
    if (!value || ttl == 0 || atomic_load(&g->state) != DMP_INDEX_READY) {
        dmp_index_mark(g, h);
        return;
    }
    bool inserted;
    dmp_index_slot_t *s = dmp_index_find_ins(g, h, &inserted);
    if (!s)
        return; /* no room: read from the store for good (dmp_index_mark) */
    if (!inserted) {
        dmp_index_mark(g, h);
    } else if (!append(x, g, s, ln, len, value, vlen, now_ms + (int64_t)ttl * 1000)) {
        atomic_store_explicit(&s->loc, DMP_INDEX_LOC_INVALID, memory_order_release);
        atomic_fetch_add_explicit(&g->lost, 1, memory_order_relaxed);
    }
}

/* Every write's way in: the rebuild's table marked, then the current one marked or published. */
static void on_write(dmp_index_t *x, const char *name, size_t len, const uint8_t *value,
                     size_t vlen, uint32_t ttl, int64_t now_ms)
{
    char ln[DMP_STORE_MAX_NAME];
    if (!x || dmp_store_normalize_name(name, len, ln, sizeof ln) != 0)
        return; /* a name the store refuses was not written */
    uint64_t h = dmp_index_hash(ln, len);
    unsigned gs;
    dmp_index_gen_t *g = dmp_index_writer_cur(x, h, &gs);
    if (g) {
        put_gen(x, g, h, ln, len, value, vlen, ttl, now_ms);
        dmp_index_unref(g, gs);
    }
}

void dmp_index_put(dmp_index_t *x, const char *name, size_t len, const uint8_t *value, size_t vlen,
                   uint32_t ttl, int64_t now_ms)
{
    static const uint8_t empty[1];
    /* an empty value has no bytes to read; a missing one with a length only marks */
    on_write(x, name, len, value ? value : (vlen ? NULL : empty), vlen, ttl, now_ms);
}

void dmp_index_invalidate(dmp_index_t *x, const char *name, size_t len)
{
    on_write(x, name, len, NULL, 0, 0, 0);
}
