/* store: reads of one name or a few: get (one prefix seek per RRset), value counts, exact
 * value checks, descendant checks through the reversed-name index, and the sync pull's
 * several-names read. Readers take no lock and may run on any number of threads at once; the
 * DNS reads admit blocks to a full block cache 1 in 16 (query_fill). A dmp_store_reader_t keeps
 * one records iterator between a thread's gets, refreshed when the store was written since. */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- reads ---- */

/* Block-cache admission for the DNS reads: true when this read's data block goes into the
 * block cache. Every block while the cache has room; once it is full, one read in s->admit
 * (per thread, so no shared counter), since at 10M records a uniformly random read hits a
 * 256 MiB cache over ~6 GB of table files 4 % of the time, and inserting every block it reads
 * costs an insert, an eviction and a fresh allocation (page faults) per miss. Whether the
 * cache is full is sampled every 256 reads per thread (GetUsage locks each cache shard). */
static bool query_fill(dmp_store_t *s)
{
    static _Thread_local unsigned t_n;
    unsigned n = t_n++;
    if ((n & 255) == 0)
        atomic_store_explicit(&s->cache_full,
                              rocksdb_cache_get_usage(s->cache) >=
                                  rocksdb_cache_get_capacity(s->cache) / 16 * 15,
                              memory_order_relaxed);
    if (s->admit <= 1 || !atomic_load_explicit(&s->cache_full, memory_order_relaxed))
        return true;
    return n % s->admit == 0;
}

typedef struct {
    size_t off; /* offset of the record value in the collection buffer */
    size_t len;
    dmp_store_rec_t rec; /* rec.value is fixed up after collection */
    uint8_t hash[32];
} getent_t;

static int getent_cmp(const void *a, const void *b)
{
    const getent_t *x = a, *y = b;
    if (x->rec.stored_ms != y->rec.stored_ms)
        return x->rec.stored_ms < y->rec.stored_ms ? -1 : 1;
    if (x->rec.seq != y->rec.seq)
        return x->rec.seq < y->rec.seq ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

/* Value bytes of one get: on the stack for the usual RRset (one or a few values of a few hundred
 * bytes), on the heap past that. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    uint8_t stack[2048];
} valbuf_t;

static int valbuf_append(valbuf_t *b, const uint8_t *v, size_t n)
{
    if (n > b->cap - b->len) {
        size_t nc = b->cap * 2 > b->len + n ? b->cap * 2 : b->len + n;
        uint8_t *np = b->p == b->stack ? malloc(nc) : realloc(b->p, nc);
        if (np == NULL)
            return DMP_ENOMEM;
        if (b->p == b->stack)
            memcpy(np, b->stack, b->len);
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, v, n);
    b->len += n;
    return 0;
}

/* ---- readers ---- */

/* A kept iterator older than this (by the caller's clock) is refreshed even when nothing was
 * written: after a flush or compaction it still holds the old memtable and table files. */
#define READER_MAX_AGE_MS 1000

/* One thread's kept iterators over CF_RECORDS (rquery, and rquery_nofill for the reads
 * query_fill keeps out of the block cache). Invariant: it[i] sees every write that returned
 * before seq[i] / gen[i] were read, i.e. every write when the store's latest sequence and
 * s->rgen still equal them (a write that returned has published its sequence). */
struct dmp_store_reader {
    dmp_store_t *s;
    rocksdb_iterator_t *it[2];
    uint64_t seq[2];
    uint64_t gen[2];
    int64_t at_ms[2];
};

int dmp_store_reader_new(dmp_store_t *s, dmp_store_reader_t **out)
{
    if (s == NULL || out == NULL)
        return DMP_EINVAL;
    dmp_store_reader_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return DMP_ENOMEM;
    r->s = s;
    atomic_fetch_add_explicit(&s->readers, 1, memory_order_relaxed);
    *out = r;
    return 0;
}

void dmp_store_reader_free(dmp_store_reader_t *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < 2; i++)
        if (r->it[i] != NULL)
            rocksdb_iter_destroy(r->it[i]);
    atomic_fetch_sub_explicit(&r->s->readers, 1, memory_order_relaxed);
    free(r);
}

/* The reader's iterator for one get, current as of now: refreshed (RocksDB's Refresh: a new
 * sequence, rebuilt only if the memtables or files changed) when a write returned since it was
 * made, or it is READER_MAX_AGE_MS old; rebuilt when the refresh fails. NULL: out of memory. */
static rocksdb_iterator_t *reader_iter(dmp_store_reader_t *r, bool fill, int64_t now_ms)
{
    dmp_store_t *s = r->s;
    int i = fill ? 0 : 1;
    /* read before the refresh: the iterator then sees at least these */
    uint64_t gen = atomic_load_explicit(&s->rgen, memory_order_acquire);
    uint64_t seq = rocksdb_get_latest_sequence_number(s->db);
    if (r->it[i] != NULL && (seq != r->seq[i] || gen != r->gen[i] || now_ms < r->at_ms[i] ||
                             now_ms - r->at_ms[i] >= READER_MAX_AGE_MS)) {
        if (dmp_store_iter_refresh(r->it[i]) != 0) {
            rocksdb_iter_destroy(r->it[i]);
            r->it[i] = NULL;
        }
    }
    if (r->it[i] == NULL)
        r->it[i] = rocksdb_create_iterator_cf(s->db, fill ? s->rquery : s->rquery_nofill,
                                              s->cf[CF_RECORDS]);
    r->seq[i] = seq;
    r->gen[i] = gen;
    r->at_ms[i] = now_ms;
    return r->it[i];
}

/* ---- the live rows of one name ---- */

/* A live row of the RRset being walked: its value hash and parsed record. Non-zero stops the
 * walk and is returned by it. */
typedef int (*live_fn)(void *ctx, const uint8_t hash[32], const dmp_store_rec_t *rec);

/* Seeks it to the RRset whose prefix key is pkey[0..pl) (the name, 0x00 and 32 zero bytes) and
 * calls fn for each live row (parsed, expiring after now_ms), in key order. The caller reads
 * the iterator's error. */
static int walk_live(rocksdb_iterator_t *it, const uint8_t *pkey, size_t pl, int64_t now_ms,
                     live_fn fn, void *ctx)
{
    int rc = 0;
    for (rocksdb_iter_seek(it, (const char *)pkey, pl); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl != pl || memcmp(k, pkey, pl - 32) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        dmp_store_rec_t rec;
        if (dmp_store_rec_parse(v, vl, &rec) != 0 || rec.expires_ms <= now_ms)
            continue;
        if ((rc = fn(ctx, k + pl - 32, &rec)) != 0)
            break;
    }
    return rc;
}

/* What one get collects: the live rows (their values copied into vals) before sorting. */
typedef struct {
    getent_t stack_ents[16];
    getent_t *ents;
    size_t n, cap;
    valbuf_t vals;
} getcoll_t;

static void getcoll_init(getcoll_t *g)
{
    g->ents = g->stack_ents;
    g->n = 0;
    g->cap = sizeof g->stack_ents / sizeof g->stack_ents[0];
    g->vals.p = g->vals.stack;
    g->vals.len = 0;
    g->vals.cap = sizeof g->vals.stack;
}

static void getcoll_free(getcoll_t *g)
{
    if (g->ents != g->stack_ents)
        free(g->ents);
    if (g->vals.p != g->vals.stack)
        free(g->vals.p);
}

static int get_collect(void *ctx, const uint8_t hash[32], const dmp_store_rec_t *rec)
{
    getcoll_t *g = ctx;
    if (g->n == g->cap) {
        size_t nc = g->cap * 2;
        getent_t *ne =
            g->ents == g->stack_ents ? malloc(nc * sizeof *ne) : realloc(g->ents, nc * sizeof *ne);
        if (ne == NULL)
            return DMP_ENOMEM;
        if (g->ents == g->stack_ents)
            memcpy(ne, g->stack_ents, sizeof g->stack_ents);
        g->ents = ne;
        g->cap = nc;
    }
    getent_t *e = &g->ents[g->n];
    e->off = g->vals.len;
    e->len = rec->value_len;
    e->rec = *rec;
    memcpy(e->hash, hash, 32);
    int rc = valbuf_append(&g->vals, rec->value, rec->value_len);
    if (rc == 0)
        g->n++;
    return rc;
}

int dmp_store_get(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                  dmp_store_visit_fn fn, void *ctx)
{
    return dmp_store_get_with(s, NULL, name, name_len, now_ms, fn, ctx);
}

int dmp_store_get_with(dmp_store_t *s, dmp_store_reader_t *rd, const char *name, size_t name_len,
                       int64_t now_ms, dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL || (rd != NULL && rd->s != s))
        return DMP_EINVAL;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t pkey[DMP_STORE_RKEY_MAX];
    size_t pl = dmp_store_rkey_make(pkey, ln, name_len, (const uint8_t[32]){0});

    getcoll_t g;
    getcoll_init(&g);
    bool fill = query_fill(s);
    rocksdb_iterator_t *it =
        rd != NULL ? reader_iter(rd, fill, now_ms)
                   : rocksdb_create_iterator_cf(s->db, fill ? s->rquery : s->rquery_nofill,
                                                s->cf[CF_RECORDS]);
    if (it == NULL)
        return DMP_ENOMEM;
    rc = walk_live(it, pkey, pl, now_ms, get_collect, &g);
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    if (rd == NULL || err != NULL) {
        rocksdb_iter_destroy(it); /* a kept iterator in error is rebuilt by the next get */
        if (rd != NULL)
            rd->it[fill ? 0 : 1] = NULL;
    }
    if (rc == 0)
        rc = dmp_store_rerr(err);
    else if (err != NULL)
        rocksdb_free(err);
    if (rc == 0 && g.n == 0)
        rc = DMP_ENOTFOUND;
    if (rc == 0) {
        if (g.n > 1)
            qsort(g.ents, g.n, sizeof *g.ents, getent_cmp);
        for (size_t i = 0; i < g.n; i++) {
            dmp_store_record_t r;
            g.ents[i].rec.value = g.vals.p + g.ents[i].off;
            dmp_store_to_public(&g.ents[i].rec, g.ents[i].hash, &r);
            if (fn(ctx, ln, name_len, &r) != 0)
                break;
        }
    }
    getcoll_free(&g);
    return rc;
}

int dmp_store_count_values(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                           size_t *out)
{
    if (out == NULL)
        return DMP_EINVAL;
    return dmp_store_count_values_ex(s, name, name_len, now_ms, out, NULL);
}

int dmp_store_count_values_ex(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                              size_t *count, size_t *rdata_bytes)
{
    return dmp_store_put_probe(s, name, name_len, NULL, 0, now_ms, count, rdata_bytes, NULL);
}

/* What a put's probe counts: live values, their TXT RDATA bytes, and whether hash is one. */
typedef struct {
    size_t n, bytes;
    const uint8_t *hash; /* NULL: not asked */
    bool found;
} probe_t;

static int probe_row(void *ctx, const uint8_t hash[32], const dmp_store_rec_t *rec)
{
    probe_t *p = ctx;
    p->n++;
    p->bytes += dmp_store_txt_rdata_len(rec->value_len);
    if (p->hash != NULL && !p->found && memcmp(hash, p->hash, 32) == 0)
        p->found = true;
    return 0;
}

int dmp_store_put_probe(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, int64_t now_ms, size_t *count, size_t *rdata_bytes,
                        bool *present)
{
    if (count)
        *count = 0;
    if (rdata_bytes)
        *rdata_bytes = 0;
    if (present)
        *present = false;
    if (s == NULL || (value == NULL && value_len > 0))
        return DMP_EINVAL;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t hash[32], pkey[DMP_STORE_RKEY_MAX];
    if (present)
        dmp_store_sha256(hash, value, value_len);
    size_t pl = dmp_store_rkey_make(pkey, ln, name_len, (const uint8_t[32]){0});
    probe_t p = {0, 0, present ? hash : NULL, false};
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
    (void)walk_live(it, pkey, pl, now_ms, probe_row, &p);
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if ((rc = dmp_store_rerr(err)) != 0)
        return rc;
    if (count)
        *count = p.n;
    if (rdata_bytes)
        *rdata_bytes = p.bytes;
    if (present)
        *present = p.found;
    return 0;
}

int dmp_store_has_value(dmp_store_t *s, const char *name, size_t name_len, const uint8_t *value,
                        size_t value_len, int64_t now_ms, bool *out)
{
    if (s == NULL || out == NULL || (value == NULL && value_len > 0))
        return DMP_EINVAL;
    *out = false;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    uint8_t hash[32], rkey[DMP_STORE_RKEY_MAX];
    dmp_store_sha256(hash, value, value_len);
    size_t rkl = dmp_store_rkey_make(rkey, ln, name_len, hash);
    char *err = NULL;
    size_t vl = 0;
    char *v =
        rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_RECORDS], (const char *)rkey, rkl, &vl, &err);
    if ((rc = dmp_store_rerr(err)) != 0)
        return rc;
    if (v != NULL) {
        dmp_store_rec_t rec;
        *out = dmp_store_rec_parse((const uint8_t *)v, vl, &rec) == 0 && rec.expires_ms > now_ms;
        rocksdb_free(v);
    }
    return 0;
}

int dmp_store_has_descendant(dmp_store_t *s, const char *name, size_t name_len, int64_t now_ms,
                             bool *out)
{
    int64_t until;
    return dmp_store_has_descendant_until(s, name, name_len, now_ms, out, &until);
}

int dmp_store_has_descendant_until(dmp_store_t *s, const char *name, size_t name_len,
                                   int64_t now_ms, bool *out, int64_t *until)
{
    if (s == NULL || out == NULL || until == NULL)
        return DMP_EINVAL;
    *out = false;
    *until = 0;
    char ln[DMP_STORE_MAX_NAME];
    int rc = dmp_store_name_norm(name, name_len, ln);
    if (rc != 0)
        return rc;
    if (name_len >= DMP_STORE_MAX_NAME - 1)
        return 0; /* no room for a label below it */
    /* Descendants of X are exactly the index keys starting with reversed(X) "."; the '.'
     * keeps "b.a" (a.b) apart from "b.xa" (xa.b), and X's own rows ("b.a" 0x00 ...) out. */
    char pfx[DMP_STORE_MAX_NAME + 1], ub[DMP_STORE_MAX_NAME + 1];
    dmp_store_name_reverse(ln, name_len, pfx);
    pfx[name_len] = '.';
    size_t pl = name_len + 1;
    /* Upper bound = the prefix with its '.' raised to '/': the seek never reads past the
     * prefix's range (for a name with no descendants, the usual NXDOMAIN, it stops at once
     * instead of loading the block or table file after it). */
    memcpy(ub, pfx, pl);
    ub[name_len] = '.' + 1;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return DMP_ENOMEM;
    rocksdb_readoptions_set_iterate_upper_bound(ro, ub, pl);
    rocksdb_readoptions_set_fill_cache(ro, query_fill(s));
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_RNAMES]);
    if (it == NULL) {
        rocksdb_readoptions_destroy(ro);
        return DMP_ENOMEM;
    }
    size_t dead = 0;
    for (rocksdb_iter_seek(it, pfx, pl); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (kl < pl || memcmp(k, pfx, pl) != 0)
            break;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        if (vl == 8 && dmp_store_ob64_get(v) > now_ms) {
            *out = true;
            *until = dmp_store_ob64_get(v);
            break;
        }
        /* Bounded work: a long run of dead entries (a sweep is due) answers "exists", the
         * safe answer (NODATA instead of an NXDOMAIN that would hide names below). */
        if (++dead >= DESC_MAX_DEAD) {
            *out = true;
            break;
        }
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if ((rc = dmp_store_rerr(err)) != 0) {
        *out = false;
        *until = 0;
        return rc;
    }
    return 0;
}

/* ---- several names (sync pull) ---- */

typedef struct {
    char name[DMP_STORE_MAX_NAME];
    size_t name_len;
    size_t off, len; /* value bytes in the collection buffer */
    dmp_store_rec_t rec;
    uint8_t hash[32];
} manyent_t;

typedef struct {
    manyent_t *e;
    size_t n, cap;
    dmp_buf_t vals;
    int rc;
} manycoll_t;

static int many_collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    manycoll_t *m = ctx;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 32;
        manyent_t *ne = realloc(m->e, nc * sizeof *ne);
        if (ne == NULL) {
            m->rc = DMP_ENOMEM;
            return 1;
        }
        m->e = ne;
        m->cap = nc;
    }
    manyent_t *e = &m->e[m->n];
    memcpy(e->name, name, nl);
    e->name_len = nl;
    e->off = m->vals.len;
    e->len = r->value_len;
    e->rec.ttl = r->ttl;
    e->rec.stored_ms = r->stored_ms;
    e->rec.expires_ms = r->expires_ms;
    e->rec.seq = 0;
    memcpy(e->hash, r->hash, 32);
    if ((m->rc = dmp_buf_append(&m->vals, r->value, r->value_len)) != 0)
        return 1;
    m->n++;
    return 0;
}

static int many_cmp(const void *a, const void *b)
{
    const manyent_t *x = a, *y = b;
    if (x->rec.stored_ms != y->rec.stored_ms)
        return x->rec.stored_ms < y->rec.stored_ms ? -1 : 1;
    size_t ml = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, ml);
    if (c != 0)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return memcmp(x->hash, y->hash, 32);
}

typedef struct {
    char ln[DMP_STORE_MAX_NAME];
    size_t len;
} normname_t;

static int normname_cmp(const void *a, const void *b)
{
    const normname_t *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->ln, y->ln, x->len);
}

int dmp_store_get_names(dmp_store_t *s, const char *const *names, const size_t *name_lens, size_t n,
                        int64_t now_ms, dmp_store_visit_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL || (n > 0 && (names == NULL || name_lens == NULL)))
        return DMP_EINVAL;
    manycoll_t m = {0};
    dmp_buf_init(&m.vals);
    int rc = 0;
    /* each name normalised once, then sorted: equal names are neighbours and read once (the
     * visits are sorted below, so the read order does not show) */
    normname_t *nn = n ? malloc(n * sizeof(*nn)) : NULL;
    if (n && !nn)
        return DMP_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (dmp_store_name_norm(names[i], name_lens[i], nn[k].ln) == 0) /* invalid: holds nothing */
            nn[k++].len = name_lens[i];
    if (k > 1)
        qsort(nn, k, sizeof(*nn), normname_cmp);
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (i > 0 && normname_cmp(&nn[i - 1], &nn[i]) == 0)
            continue;
        rc = dmp_store_get(s, nn[i].ln, nn[i].len, now_ms, many_collect, &m);
        if (rc == DMP_ENOTFOUND)
            rc = 0;
        if (rc == 0)
            rc = m.rc;
    }
    free(nn);
    if (rc == 0) {
        if (m.n > 1)
            qsort(m.e, m.n, sizeof *m.e, many_cmp);
        for (size_t i = 0; i < m.n; i++) {
            dmp_store_record_t r;
            m.e[i].rec.value = m.vals.data ? m.vals.data + m.e[i].off : (const uint8_t *)"";
            m.e[i].rec.value_len = m.e[i].len;
            dmp_store_to_public(&m.e[i].rec, m.e[i].hash, &r);
            if (fn(ctx, m.e[i].name, m.e[i].name_len, &r) != 0)
                break;
        }
    }
    free(m.e);
    dmp_buf_free(&m.vals);
    return rc;
}

/* ---- every RRset, in one walk ---- */

/* Hands the collected RRset of name to fn (sorted as a get sorts) and empties the collection. */
static int rrset_flush(getcoll_t *g, const char *name, size_t name_len, dmp_store_record_t **pub,
                       size_t *pub_cap, dmp_store_rrset_fn fn, void *ctx)
{
    if (g->n == 0)
        return 0;
    if (g->n > *pub_cap) {
        size_t nc = g->n * 2;
        dmp_store_record_t *np = realloc(*pub, nc * sizeof *np);
        if (np == NULL)
            return DMP_ENOMEM;
        *pub = np;
        *pub_cap = nc;
    }
    if (g->n > 1)
        qsort(g->ents, g->n, sizeof *g->ents, getent_cmp);
    for (size_t i = 0; i < g->n; i++) {
        g->ents[i].rec.value = g->vals.p + g->ents[i].off;
        dmp_store_to_public(&g->ents[i].rec, g->ents[i].hash, &(*pub)[i]);
    }
    size_t n = g->n;
    g->n = 0;
    g->vals.len = 0;
    return fn(ctx, name, name_len, *pub, n) != 0 ? 1 : 0;
}

int dmp_store_scan_rrsets(dmp_store_t *s, int64_t now_ms, const atomic_bool *stop,
                          dmp_store_rrset_fn fn, void *ctx)
{
    if (s == NULL || fn == NULL)
        return DMP_EINVAL;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    if (ro == NULL)
        return DMP_ENOMEM;
    rocksdb_readoptions_set_fill_cache(ro, 0);
    rocksdb_readoptions_set_readahead_size(ro, 2u << 20); /* one sequential walk */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[CF_RECORDS]);
    if (it == NULL) {
        rocksdb_readoptions_destroy(ro);
        return DMP_ENOMEM;
    }
    getcoll_t g;
    getcoll_init(&g);
    dmp_store_record_t *pub = NULL;
    size_t pub_cap = 0, names = 0;
    char cur[DMP_STORE_MAX_NAME];
    size_t curl = 0;
    int rc = 0;
    for (rocksdb_iter_seek_to_first(it); rc == 0 && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const char *nm;
        size_t nml;
        const uint8_t *h;
        if (dmp_store_rkey_parse(k, kl, &nm, &nml, &h) != 0 || nml > sizeof cur)
            continue;
        if (nml != curl || memcmp(nm, cur, nml) != 0) {
            rc = rrset_flush(&g, cur, curl, &pub, &pub_cap, fn, ctx);
            if (rc != 0)
                break;
            if ((++names & 1023) == 0 && stop != NULL && atomic_load(stop))
                break;
            memcpy(cur, nm, nml);
            curl = nml;
        }
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        dmp_store_rec_t rec;
        if (dmp_store_rec_parse(v, vl, &rec) != 0 || rec.expires_ms <= now_ms)
            continue;
        rc = get_collect(&g, h, &rec);
    }
    if (rc == 0 && !(stop != NULL && atomic_load(stop)))
        rc = rrset_flush(&g, cur, curl, &pub, &pub_cap, fn, ctx);
    if (rc == 1)
        rc = 0; /* fn stopped the walk */
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (rc == 0)
        rc = dmp_store_rerr(err);
    else if (err != NULL)
        rocksdb_free(err);
    free(pub);
    getcoll_free(&g);
    return rc;
}
