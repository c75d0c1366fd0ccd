/* node: a shard's answer lookup (answer cache in front of RocksDB, RFC 8020 empty
 * non-terminals, negative caching with generations). dmp_node_lookup runs on the shard thread
 * only; dmp_node_lookup_store (the RocksDB half) on any thread with its own lookup state. */
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

unsigned dmp_node_neg_slot(const char *lname, size_t len)
{
    return (unsigned)(dmp_dns_name_hash(lname, len) % DMP_NODE_NEG_SLOTS);
}

void dmp_node_neggen_bump(dmp_node_neggen_t *g, const char *apex, const char *lname, size_t len)
{
    if (!g)
        return;
    size_t al = apex ? strlen(apex) : 0;
    if (al &&
        (len <= al + 1 || lname[len - al - 1] != '.' || memcmp(lname + len - al, apex, al) != 0))
        return; /* outside the zone: refused over DNS, never cached */
    for (size_t i = 0; i < len; i++) {
        if (lname[i] != '.')
            continue;
        const char *a = lname + i + 1;
        size_t alen = len - i - 1;
        if (al ? alen <= al : memchr(a, '.', alen) == NULL)
            break;
        atomic_fetch_add_explicit(&g->gen[dmp_node_neg_slot(a, alen)], 1, memory_order_release);
    }
}

void dmp_node_lookup_init(dmp_node_lookup_t *l, dmp_store_t *store, dmp_cache_t *cache,
                          dmp_node_neggen_t *neg, dmp_node_tstats_t *st, uint32_t ttl)
{
    memset(l, 0, sizeof(*l));
    l->store = store;
    l->cache = cache;
    l->neg = neg;
    l->st = st;
    l->ttl = ttl;
    dmp_buf_init(&l->rrs);
    dmp_buf_init(&l->vals);
}

void dmp_node_lookup_free(dmp_node_lookup_t *l)
{
    dmp_store_reader_free(l->rd);
    l->rd = NULL;
    dmp_buf_free(&l->rrs);
    dmp_buf_free(&l->vals);
    free(l->vv);
    free(l->voff);
    l->vv = NULL;
    l->voff = NULL;
    l->vv_cap = l->vv_n = 0;
}

static int collect(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    dmp_node_lookup_t *l = ctx;
    if (l->vv_n == l->vv_cap) {
        size_t nc = l->vv_cap ? l->vv_cap * 2 : 64;
        dmp_dns_value_t *nv = realloc(l->vv, nc * sizeof(*nv));
        if (!nv)
            return 1;
        l->vv = nv;
        size_t *no = realloc(l->voff, nc * sizeof(*no));
        if (!no)
            return 1;
        l->voff = no;
        l->vv_cap = nc;
    }
    l->voff[l->vv_n] = l->vals.len;
    l->vv[l->vv_n].len = r->value_len;
    if (dmp_buf_append(&l->vals, r->value, r->value_len) != 0)
        return 1;
    l->vv_n++;
    if (r->expires_ms < l->min_exp)
        l->min_exp = r->expires_ms;
    return 0;
}

/* A failing store fails every query: one line per second on the shards, with a count of the
 * rest (the store logs RocksDB's own message the same way). */
static dmp_log_limit_t g_store_err_log = DMP_LOG_LIMIT_INIT(1000);

static int store_error(dmp_node_lookup_t *l, int rc)
{
    DMP_STAT_INC(l->st, store_errors);
    dmp_log_limited(&g_store_err_log, DMP_LOG_ERROR,
                    "dns: store read failed, answering SERVFAIL: %s", dmp_store_strerror(rc));
    return rc;
}

static uint32_t neg_gen(const dmp_node_lookup_t *l, const char *lname, size_t len)
{
    return l->neg ? atomic_load_explicit(&l->neg->gen[dmp_node_neg_slot(lname, len)],
                                         memory_order_acquire)
                  : 0;
}

/* Answer TTL: the smaller of DMP_DNS_TTL (compiled into the RRs) and the RRset's remaining
 * lifetime (its first record to expire), rounded down, so no cache keeps a record past its
 * expiry (under a second left: TTL 0, not cached). */
void dmp_node_lookup_clamp_ttl(dmp_dns_rrset_view_t *out, int64_t expires_ms, int64_t now_ms)
{
    if (expires_ms == INT64_MAX)
        return;
    int64_t left = expires_ms > now_ms ? (expires_ms - now_ms) / 1000 : 0;
    out->clamp_ttl = true;
    out->ttl = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
}

/* Cache entry kinds: count > 0 = TXT RRset; count 0 with a 4-byte blob = NXDOMAIN, the blob
 * being its generation, held in the cache's negative class (dmp_cache_put_nx: a random-name flood
 * evicts only other NXDOMAINs); count 0 with an 8-byte blob (the generation, then a zero word) =
 * exists, no values (an empty non-terminal), until the live record found below it expires. A
 * change (put or delete) at N drops N's own entry on its shard and outdates the cached NXDOMAINs
 * and empty non-terminals of N's ancestors through the generations: a put below an NXDOMAIN makes
 * it a non-terminal, a delete below a non-terminal may empty it. (An older kind, count 0 with no
 * blob, is still read as "exists, no values".) */
enum { NX_BLOB = sizeof(uint32_t), ENT_BLOB = 2 * sizeof(uint32_t) };

int dmp_node_lookup_cached(dmp_node_neggen_t *neg, const char *lname, size_t len,
                           dmp_cache_result_t cr, const uint8_t *blob, size_t blen, uint16_t count,
                           int64_t exp, int64_t now_ms, dmp_dns_rrset_view_t *out, bool *neg_hit)
{
    *neg_hit = false;
    if (cr == DMP_CACHE_NEGATIVE) {
        *neg_hit = true;
        return DMP_ENOTFOUND;
    }
    if (cr != DMP_CACHE_HIT)
        return DMP_EAGAIN;
    if (count == 0 && (blen == NX_BLOB || blen == ENT_BLOB)) {
        uint32_t g;
        memcpy(&g, blob, sizeof(g));
        uint32_t now_g = neg ? atomic_load_explicit(&neg->gen[dmp_node_neg_slot(lname, len)],
                                                    memory_order_acquire)
                             : 0;
        if (g != now_g)
            return DMP_EAGAIN; /* a name below was written since: look again */
        if (blen == NX_BLOB) {
            *neg_hit = true;
            return DMP_ENOTFOUND;
        }
        blen = 0;
    }
    out->rrs = blen ? blob : NULL;
    out->len = blen;
    out->count = count;
    if (count) /* a TXT entry lives exactly as long as its RRset */
        dmp_node_lookup_clamp_ttl(out, exp, now_ms);
    return 0;
}

int dmp_node_lookup_fill_cache(dmp_cache_t *cache, const char *lname, size_t len,
                               const dmp_node_fill_t *f)
{
    switch (f->kind) {
    case DMP_NODE_FILL_TXT:
        return dmp_cache_put(cache, lname, len, f->rrs, f->rrs_len, f->count, f->expires_ms);
    case DMP_NODE_FILL_ENT: {
        uint8_t b[ENT_BLOB] = {0};
        memcpy(b, &f->gen, sizeof(f->gen));
        return dmp_cache_put(cache, lname, len, b, sizeof(b), 0, f->expires_ms);
    }
    case DMP_NODE_FILL_NX:
        return dmp_cache_put_nx(cache, lname, len, (const uint8_t *)&f->gen, sizeof(f->gen),
                                f->expires_ms);
    default:
        return 0;
    }
}

/* The store half of a lookup (no cache, no counters, no log: any thread with its own l). The
 * negative-cache generation is read before the store, so a put racing this read outdates the
 * NXDOMAIN it may report in *fill. */
int dmp_node_lookup_store(dmp_node_lookup_t *l, const char *lname, size_t len,
                          dmp_dns_rrset_view_t *out, dmp_node_fill_t *fill)
{
    int64_t now = l->now_ms;
    memset(fill, 0, sizeof(*fill));
    fill->gen = neg_gen(l, lname, len);
    l->vals.len = 0;
    l->vv_n = 0;
    l->min_exp = INT64_MAX;
    if (l->index) {
        dmp_index_answer_t a;
        if (dmp_index_read(l->index, lname, len, now, &l->rrs, &a) == 0) {
            if (l->st)
                DMP_STAT_INC(l->st, index_hits);
            fill->kind = DMP_NODE_FILL_TXT;
            fill->rrs = a.rrs;
            fill->rrs_len = a.rrs_len;
            fill->count = a.count;
            fill->expires_ms = a.expires_ms;
            out->rrs = a.rrs;
            out->len = a.rrs_len;
            out->count = a.count;
            dmp_node_lookup_clamp_ttl(out, a.expires_ms, now);
            return 0;
        }
        if (l->st)
            DMP_STAT_INC(l->st, index_fallbacks);
    }
    if (l->rd == NULL)
        (void)dmp_store_reader_new(l->store, &l->rd); /* none: a per-get iterator */
    int rc = dmp_store_get_with(l->store, l->rd, lname, len, now, collect, l);
    if (rc == DMP_ENOTFOUND) {
        /* RFC 8020: a name with live descendants exists (empty non-terminal, e.g. the
         * mb-<hash> above slot-N.mb-<hash>): NODATA, never NXDOMAIN, or resolvers that
         * minimise QNAMEs (RFC 9156) would treat every name below as absent. */
        bool below = false;
        int64_t until = 0;
        int dr = dmp_store_has_descendant_until(l->store, lname, len, now, &below, &until);
        if (dr != 0)
            return dr;
        if (below) {
            /* a non-terminal at least until the record found below expires, unless something
             * below is deleted first (the generation read above then moves) */
            int64_t cap = now + DMP_NODE_NX_CACHE_MS;
            fill->kind = DMP_NODE_FILL_ENT;
            fill->expires_ms =
                until > now ? (until < cap ? until : cap) : now + DMP_NODE_NEG_CACHE_MS;
            out->rrs = NULL;
            out->len = 0;
            out->count = 0;
            return 0;
        }
    }
    if (rc == DMP_ENOTFOUND || rc == DMP_ENAME || rc == DMP_ETOOBIG) {
        fill->kind = DMP_NODE_FILL_NX;
        fill->expires_ms = now + DMP_NODE_NX_CACHE_MS;
        return DMP_ENOTFOUND;
    }
    if (rc != 0)
        return rc;
    if (l->vv_n == 0)
        return DMP_ENOTFOUND;
    for (size_t i = 0; i < l->vv_n; i++)
        l->vv[i].data = l->vals.data + l->voff[i];
    l->rrs.len = 0;
    size_t nv = l->vv_n > 65535 ? 65535 : l->vv_n;
    rc = dmp_dns_txt_rrs_build(l->vv, nv, l->ttl, &l->rrs);
    if (rc != 0)
        return rc;
    fill->kind = DMP_NODE_FILL_TXT;
    fill->rrs = l->rrs.data;
    fill->rrs_len = l->rrs.len;
    fill->count = (uint16_t)nv;
    fill->expires_ms = l->min_exp;
    out->rrs = l->rrs.data;
    out->len = l->rrs.len;
    out->count = (uint16_t)nv;
    dmp_node_lookup_clamp_ttl(out, l->min_exp, now);
    return 0;
}

int dmp_node_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    dmp_node_lookup_t *l = ctx;
    int64_t now = l->now_ms;
    if (l->cache) {
        const uint8_t *blob;
        size_t blen;
        uint16_t count;
        int64_t exp = 0;
        dmp_cache_result_t cr =
            dmp_cache_get_exp(l->cache, lname, len, now, &blob, &blen, &count, &exp);
        bool neg_hit = false;
        int hr = dmp_node_lookup_cached(l->neg, lname, len, cr, blob, blen, count, exp, now, out,
                                        &neg_hit);
        if (hr != DMP_EAGAIN) {
            if (neg_hit)
                DMP_STAT_INC(l->st, cache_neg_hits);
            else
                DMP_STAT_INC(l->st, cache_hits);
            return hr;
        }
        DMP_STAT_INC(l->st, cache_misses);
    }
    dmp_node_fill_t fill;
    int rc = dmp_node_lookup_store(l, lname, len, out, &fill);
    if (rc != 0 && rc != DMP_ENOTFOUND)
        return store_error(l, rc);
    if (l->cache)
        (void)dmp_node_lookup_fill_cache(l->cache, lname, len, &fill);
    return rc;
}
