/* store: bulk load through SST ingestion (dnsmesh-admin load). The records are hashed, sorted
 * once per key order (records, reversed names, Merkle buckets, expiry), written as table files
 * per column family and ingested, which puts them straight into the bottom level of an empty
 * store (no compaction, no WAL, no memtable). The count, Merkle deltas, the serial and the
 * journal entry follow in one synced batch, so the store ends as the write path would leave
 * it. docs/store.md "Bulk load". */
#include "store/store_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include "store/store_ingest_int.h"

#define ARENA_BLOCK ((size_t)16 << 20)

int dmp_store_load_new(dmp_store_load_t **out)
{
    if (out == NULL)
        return DMP_EINVAL;
    dmp_store_load_t *l = calloc(1, sizeof *l);
    if (l == NULL)
        return DMP_ENOMEM;
    *out = l;
    return 0;
}

void dmp_store_load_free(dmp_store_load_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nblocks; i++)
        free(l->blocks[i]);
    free(l->blocks);
    free(l->e);
    free(l);
}

/* Lowercased copies of names that are not lowercase already (borrowed otherwise). */
static char *arena_copy(dmp_store_load_t *l, size_t n)
{
    if (l->nblocks == 0 || l->block_used + n > ARENA_BLOCK) {
        if (l->nblocks == l->blocks_cap) {
            size_t nc = l->blocks_cap ? l->blocks_cap * 2 : 16;
            char **nb = realloc(l->blocks, nc * sizeof *nb);
            if (nb == NULL)
                return NULL;
            l->blocks = nb;
            l->blocks_cap = nc;
        }
        char *b = malloc(ARENA_BLOCK);
        if (b == NULL)
            return NULL;
        l->blocks[l->nblocks++] = b;
        l->block_used = 0;
    }
    char *p = l->blocks[l->nblocks - 1] + l->block_used;
    l->block_used += n;
    return p;
}

int dmp_store_load_add(dmp_store_load_t *l, const char *name, size_t name_len, const uint8_t *value,
                       size_t value_len, uint32_t ttl)
{
    if (l == NULL || (value == NULL && value_len > 0))
        return DMP_EINVAL;
    if (name == NULL || name_len == 0 || name_len > DMP_STORE_MAX_NAME)
        return DMP_ENAME;
    if (value_len > DMP_STORE_MAX_VALUE)
        return DMP_ETOOBIG;
    if (l->n >= UINT32_MAX - 1)
        return DMP_ERANGE;
    bool lower = true;
    for (size_t i = 0; i < name_len; i++) {
        if (name[i] == '\0')
            return DMP_ENAME;
        if (name[i] >= 'A' && name[i] <= 'Z')
            lower = false;
    }
    if (!lower) {
        char *c = arena_copy(l, name_len);
        if (c == NULL)
            return DMP_ENOMEM;
        dmp_store_name_norm(name, name_len, c);
        name = c;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 4096;
        dmp_store_lent_t *ne = realloc(l->e, nc * sizeof *ne);
        if (ne == NULL)
            return DMP_ENOMEM;
        l->e = ne;
        l->cap = nc;
    }
    dmp_store_lent_t *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->value = value_len ? value : (const uint8_t *)"";
    e->vlen = (uint32_t)value_len;
    e->ttl = ttl;
    e->nl = (uint8_t)name_len;
    l->name_bytes += name_len;
    return 0;
}

int dmp_store_load_append(dmp_store_load_t *dst, dmp_store_load_t *src)
{
    if (dst == NULL || src == NULL)
        return DMP_EINVAL;
    if (src->n > UINT32_MAX - 1 - dst->n)
        return DMP_ERANGE;
    if (dst->n + src->n > dst->cap) {
        dmp_store_lent_t *ne = realloc(dst->e, (dst->n + src->n) * sizeof *ne);
        if (ne == NULL)
            return DMP_ENOMEM;
        dst->e = ne;
        dst->cap = dst->n + src->n;
    }
    if (dst->nblocks + src->nblocks > dst->blocks_cap) {
        char **nb = realloc(dst->blocks, (dst->nblocks + src->nblocks) * sizeof *nb);
        if (nb == NULL)
            return DMP_ENOMEM;
        dst->blocks = nb;
        dst->blocks_cap = dst->nblocks + src->nblocks;
    }
    if (src->n)
        memcpy(dst->e + dst->n, src->e, src->n * sizeof *src->e);
    dst->n += src->n;
    dst->name_bytes += src->name_bytes;
    /* src's name copies move with their blocks; dst's current block stays the one it fills */
    if (src->nblocks) {
        char *cur = dst->nblocks ? dst->blocks[dst->nblocks - 1] : NULL;
        memcpy(dst->blocks + dst->nblocks, src->blocks, src->nblocks * sizeof *src->blocks);
        dst->nblocks += src->nblocks;
        if (cur != NULL) { /* keep filling the block dst was filling: swap it to the end */
            dst->blocks[dst->nblocks - src->nblocks - 1] = dst->blocks[dst->nblocks - 1];
            dst->blocks[dst->nblocks - 1] = cur;
        } else {
            dst->block_used = ARENA_BLOCK; /* src's last block: treat as full */
        }
    }
    src->n = 0;
    src->name_bytes = 0;
    src->nblocks = 0;
    return 0;
}

/* ---- commit ---- */

static void progress(dmp_store_ingest_t *g, const char *stage, uint64_t done, uint64_t total)
{
    if (g->progress)
        g->progress(g->ctx, stage, done, total);
}

/* item digest = SHA-256(lname || 0x00 || hash), as dmp_store_item_digest_raw */
static void item_digest(const char *name, size_t nl, const uint8_t hash[32], uint8_t out[32])
{
    uint8_t buf[DMP_STORE_RKEY_MAX];
    size_t kl = dmp_store_rkey_make(buf, name, nl, hash);
    dmp_store_sha256(out, buf, kl);
}

static void xor32(uint8_t *dst, const uint8_t *src)
{
    for (size_t j = 0; j < 32; j += 8) { /* four words (memcpy: no alignment assumed) */
        uint64_t a, b;
        memcpy(&a, dst + j, 8);
        memcpy(&b, src + j, 8);
        a ^= b;
        memcpy(dst + j, &a, 8);
    }
}

/* Per added row, in add order (the values are read in file order): the value's hash (the row
 * key), the name's (the Merkle bucket) and the item digest, XORed into the slice's bucket
 * array. prepare and deltas XOR back the rows that do not add to the digest (the losers of
 * repeated keys, refreshes), which are few. */
static void hash_slice(dmp_store_ingest_t *g, size_t from, size_t to, void *part)
{
    uint8_t(*mk)[32] = part;
    for (size_t i = from; i < to; i++) {
        dmp_store_lent_t *e = &g->l->e[i];
        uint8_t nh[32], dig[32];
        dmp_store_sha256(e->hash, e->value, e->vlen);
        dmp_store_sha256(nh, e->name, e->nl); /* the bucket: as dmp_store_bucket_raw */
        e->bucket = (uint16_t)(((uint32_t)nh[0] << 8 | nh[1]) >> (16 - DMP_STORE_MERKLE_BITS));
        __builtin_prefetch(mk[e->bucket], 1); /* 2 MiB of buckets: fetched during the digest */
        item_digest(e->name, e->nl, e->hash, dig);
        xor32(mk[e->bucket], dig);
        if (from == 0 && (i & 0x3ffff) == 0)
            progress(g, "hash", i * 2, g->l->n);
    }
}

/* One part of the layout: the sorted elements [from, to) (whole names) into rows from wbase
 * and names from nbase. */
typedef struct {
    dmp_store_ingest_t *g;
    const dmp_store_skey_t *u;
    size_t from, to, wbase, nbase;
    size_t w;          /* rows written */
    uint64_t dups;     /* repeated keys dropped */
    uint8_t (*mk)[32]; /* this thread's bucket digests */
} layout_t;

static void layout_range(layout_t *p)
{
    dmp_store_ingest_t *g = p->g;
    dmp_store_load_t *l = g->l;
    const dmp_store_skey_t *u = p->u;
    dmp_store_row_t *rows = g->rows + p->wbase;
    char *names = g->names + p->nbase;
    size_t w = 0, nused = 0;
    for (size_t i = p->from; i < p->to; i++) {
        /* the entries lie in add order, their names in the input: fetch both ahead (the
         * entry 16 rows ahead, the name of the one 8 ahead, whose entry is on its way) */
        if (i + 16 < p->to)
            __builtin_prefetch(&l->e[u[i + 16].idx]);
        if (i + 8 < p->to)
            __builtin_prefetch(l->e[u[i + 8].idx].name);
        uint32_t idx = u[i].idx;
        const dmp_store_lent_t *e = &l->e[idx];
        dmp_store_row_t *prev = w ? &rows[w - 1] : NULL;
        bool same_name = prev && prev->nl == e->nl && memcmp(prev->name, e->name, e->nl) == 0;
        dmp_store_row_t *r;
        if (same_name && memcmp(prev->hash, e->hash, 32) == 0) {
            /* a repeated key: this later add wins; the journal place is the run's first */
            l->e[idx].first = l->e[prev->idx].first;
            p->dups++;
            uint8_t dig[32];
            item_digest(e->name, e->nl, e->hash, dig);
            xor32(p->mk[e->bucket], dig);
            r = prev;
        } else {
            l->e[idx].first = idx;
            r = &rows[w++];
            if (same_name) {
                r->name = prev->name;
            } else {
                memcpy(names + nused, e->name, e->nl);
                r->name = names + nused;
                nused += e->nl;
            }
            memcpy(r->hash, e->hash, 32);
            r->nl = e->nl;
            r->bucket = e->bucket;
        }
        r->value = e->value;
        r->vlen = e->vlen;
        r->ttl = e->ttl;
        r->idx = idx;
    }
    p->w = w;
}

static void *layout_run(void *arg)
{
    layout_range(arg);
    return NULL;
}

static bool same_name(const dmp_store_load_t *l, uint32_t a, uint32_t b)
{
    const dmp_store_lent_t *x = &l->e[a], *y = &l->e[b];
    return x->nl == y->nl && memcmp(x->name, y->name, x->nl) == 0;
}

/* Hashes every value, sorts the rows into records order, drops repeated keys (the last added
 * wins, as a put batch) and lays the unique rows out in that order with their names copied
 * once per name, so every later pass reads them in order. The layout runs in two parts cut
 * between two names (a name's rows share one copy of it): the second writes its rows after
 * the first's elements and its names after theirs (the sort elements carry the name lengths),
 * and its rows move down over the first part's dropped repeats. */
static int prepare(dmp_store_ingest_t *g)
{
    dmp_store_load_t *l = g->l;
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++)
        if ((g->mk[t] = calloc(DMP_STORE_MERKLE_BUCKETS, 32)) == NULL)
            return DMP_ENOMEM;
    dmp_store_ingest_par_for(g, l->n, hash_slice, (void **)g->mk);
    progress(g, "hash", l->n, l->n);
    dmp_store_skey_t *u = NULL;
    size_t n = 0;
    int rc = dmp_store_ingest_sort(g, &u, &n);
    if (rc != 0)
        return rc;
    progress(g, "layout", 0, n);
    g->rows = malloc((n ? n : 1) * sizeof *g->rows);
    g->names = malloc(l->name_bytes ? l->name_bytes : 1);
    if (g->rows == NULL || g->names == NULL) {
        free(u);
        return DMP_ENOMEM;
    }
    size_t cut = n >= dmp_store_ingest_par_min ? n / 2 : n;
    while (cut > 0 && cut < n && same_name(l, u[cut - 1].idx, u[cut].idx))
        cut++;
    size_t nb = 0; /* the first part's name bytes (at most) */
    for (size_t i = 0; i < cut && cut < n; i++)
        nb += u[i].aux;
    layout_t p[2] = {{g, u, 0, cut, 0, 0, 0, 0, g->mk[0]}, {g, u, cut, n, cut, nb, 0, 0, g->mk[1]}};
    pthread_t th;
    bool threaded = cut < n && pthread_create(&th, NULL, layout_run, &p[1]) == 0;
    layout_range(&p[0]);
    if (threaded)
        pthread_join(th, NULL);
    else if (cut < n)
        layout_range(&p[1]);
    if (p[1].w > 0 && p[0].w < cut)
        memmove(g->rows + p[0].w, g->rows + cut, p[1].w * sizeof *g->rows);
    g->stats->duplicates += p[0].dups + p[1].dups;
    free(u);
    g->nu = p[0].w + p[1].w;
    progress(g, "layout", n, n);
    return 0;
}

static int note_refresh(dmp_store_ingest_t *g, uint32_t row, int64_t old_stored,
                        int64_t old_expires)
{
    if (g->nref == g->ref_cap) {
        size_t nc = g->ref_cap ? g->ref_cap * 2 : 256;
        dmp_store_lref_t *nr = realloc(g->ref, nc * sizeof *nr);
        if (nr == NULL)
            return DMP_ENOMEM;
        g->ref = nr;
        g->ref_cap = nc;
    }
    if (g->refresh == NULL && (g->refresh = calloc(g->nu ? g->nu : 1, 1)) == NULL)
        return DMP_ENOMEM;
    g->ref[g->nref++] = (dmp_store_lref_t){row, old_stored, old_expires};
    g->refresh[row] = 1;
    return 0;
}

/* Per name: the rows the store already holds (refreshes), and the caller's check. */
static int check_names(dmp_store_ingest_t *g)
{
    dmp_store_load_t *l = g->l;
    dmp_store_t *s = l->s;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->rprefix, s->cf[CF_RECORDS]);
    if (it == NULL)
        return DMP_ENOMEM;
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    int rc = 0;
    progress(g, "check", 0, g->nu);
    for (size_t i = 0; i < g->nu && rc == 0;) {
        const dmp_store_row_t *e0 = &g->rows[i];
        size_t j = i + 1;
        while (j < g->nu && g->rows[j].name == e0->name)
            j++;
        g->stats->names++;
        size_t values = 0, bytes = 0, last = SIZE_MAX;
        if (!empty) {
            uint8_t pk[DMP_STORE_RKEY_MAX];
            size_t pl = dmp_store_rkey_make(pk, e0->name, e0->nl, (const uint8_t[32]){0});
            size_t k = i;
            for (rocksdb_iter_seek(it, (const char *)pk, pl); rocksdb_iter_valid(it);
                 rocksdb_iter_next(it)) {
                size_t kl, vl;
                const uint8_t *key = (const uint8_t *)rocksdb_iter_key(it, &kl);
                if (kl != pl || memcmp(key, pk, pl - 32) != 0)
                    break;
                dmp_store_rec_t rec;
                const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
                if (dmp_store_rec_parse(v, vl, &rec) != 0)
                    continue;
                const uint8_t *h = key + pl - 32;
                while (k < j && memcmp(g->rows[k].hash, h, 32) < 0)
                    k++;
                bool refresh = k < j && memcmp(g->rows[k].hash, h, 32) == 0;
                if (refresh) {
                    rc = note_refresh(g, (uint32_t)k, rec.stored_ms, rec.expires_ms);
                    if (rc != 0)
                        break;
                } else if (rec.expires_ms > g->now_ms) {
                    values++;
                    bytes += dmp_store_txt_rdata_len(rec.value_len);
                }
            }
            char *err = NULL;
            rocksdb_iter_get_error(it, &err);
            if (rc == 0)
                rc = dmp_store_rerr(err);
            else if (err)
                rocksdb_free(err);
        }
        for (size_t k = i; k < j; k++) {
            const dmp_store_row_t *e = &g->rows[k];
            if (e->ttl > 0) { /* a ttl-0 row is stored dead, as the write path does */
                values++;
                bytes += dmp_store_txt_rdata_len(e->vlen);
            }
            if (!dmp_store_ingest_refreshed(g, k) && (last == SIZE_MAX || e->idx > last))
                last = e->idx;
        }
        if (rc == 0 && g->check && g->check(g->ctx, e0->name, e0->nl, values, bytes, last) != 0) {
            g->stats->bad_index = last;
            rc = DMP_EINVAL;
        }
        if ((g->stats->names & 0xffff) == 0)
            progress(g, "check", i, g->nu);
        i = j;
    }
    rocksdb_iter_destroy(it);
    progress(g, "check", g->nu, g->nu);
    return rc;
}

/* Merkle deltas (one per touched bucket) and the journal entry of the new rows. */
static int deltas(dmp_store_ingest_t *g)
{
    dmp_store_load_t *l = g->l;
    uint8_t(*mk)[32] = g->mk[0];
    uint8_t *touched = calloc(DMP_STORE_MERKLE_BUCKETS, 1);
    uint32_t *firsts = NULL;
    int rc = touched ? 0 : DMP_ENOMEM;
    size_t jbytes = 0, nnew = 0;
    progress(g, "deltas", 0, g->nu);
    for (int t = 1; rc == 0 && t < DMP_STORE_LOAD_THREADS; t++)
        for (size_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++)
            xor32(mk[b], g->mk[t][b]);
    for (size_t i = 0; rc == 0 && i < g->nu; i++) {
        const dmp_store_row_t *e = &g->rows[i];
        if (dmp_store_ingest_refreshed(g, i)) { /* the row is there already: no change */
            uint8_t dig[32];
            item_digest(e->name, e->nl, e->hash, dig);
            xor32(mk[e->bucket], dig);
            continue;
        }
        touched[e->bucket] = 1;
        jbytes += 6 + (size_t)e->nl + e->vlen;
        nnew++;
    }
    g->stats->added = nnew;
    g->dl.count_delta = (int64_t)nnew;
    for (size_t b = 0; rc == 0 && b < DMP_STORE_MERKLE_BUCKETS; b++) {
        if (!touched[b])
            continue;
        if (g->dl.n == g->dl.cap) {
            size_t nc = g->dl.cap ? g->dl.cap * 2 : 1024;
            dmp_store_mdelta_t *nd = realloc(g->dl.d, nc * sizeof *nd);
            if (nd == NULL) {
                rc = DMP_ENOMEM;
                break;
            }
            g->dl.d = nd;
            g->dl.cap = nc;
        }
        g->dl.d[g->dl.n].bucket = (uint32_t)b;
        memcpy(g->dl.d[g->dl.n].x, mk[b], 32);
        g->dl.n++;
    }
    /* the journal lists the new rows in the order of their first appearance, as a put batch
     * of the same records does; too large an entry is left out (IXFR falls back to AXFR) */
    if (rc == 0 && jbytes > DMP_STORE_LOAD_JOURNAL_MAX)
        g->dl.journal_failed = true;
    if (rc == 0 && !g->dl.journal_failed && nnew > 0) {
        firsts = malloc(nnew * sizeof *firsts);
        if (firsts == NULL || dmp_buf_reserve(&g->dl.journal, jbytes) != 0) {
            g->dl.journal_failed = true;
        } else {
            size_t k = 0;
            for (size_t i = 0; i < g->nu; i++)
                if (!dmp_store_ingest_refreshed(g, i))
                    firsts[k++] = g->rows[i].idx;
            dmp_store_ingest_sort_u32_by_first(l, firsts, nnew);
            for (size_t i = 0; i < nnew; i++) {
                const dmp_store_lent_t *e = &l->e[firsts[i]];
                dmp_store_journal_note(&g->dl, 1, e->name, e->nl, e->value, e->vlen);
            }
        }
    }
    g->stats->journaled = !g->dl.journal_failed;
    free(firsts);
    free(touched);
    return rc;
}

/* The refreshed rows' old index entries, the count, Merkle, serial and journal, and the marker's
 * removal: one synced batch. */
static int final_batch(dmp_store_ingest_t *g)
{
    dmp_store_t *s = g->l->s;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (wb == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < g->nref; i++) {
        const dmp_store_row_t *e = &g->rows[g->ref[i].row];
        uint8_t rk[DMP_STORE_RKEY_MAX], ik[DMP_STORE_IKEY_MAX];
        size_t rkl = dmp_store_rkey_make(rk, e->name, e->nl, e->hash);
        int64_t exp = g->now_ms + (int64_t)e->ttl * 1000;
        if (g->ref[i].old_expires != exp) {
            size_t ikl = dmp_store_ikey_make(ik, g->ref[i].old_expires, rk, rkl);
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_EXPIRY], (const char *)ik, ikl);
        }
        if (g->ref[i].old_stored != g->now_ms) {
            size_t ikl = dmp_store_ikey_make(ik, g->ref[i].old_stored, rk, rkl);
            rocksdb_writebatch_delete_cf(wb, s->cf[CF_BYSTORED], (const char *)ik, ikl);
        }
    }
    rocksdb_writebatch_delete_cf(wb, s->cf[CF_META], DMP_STORE_META_LOAD,
                                 sizeof DMP_STORE_META_LOAD - 1);
    dmp_store_deltas_emit(s, &g->dl, wb, dmp_store_wb_merge);
    int rc = dmp_store_write_stamped(s, s->wsync, wb, false, &g->dl);
    rocksdb_writebatch_destroy(wb);
    return rc;
}

int dmp_store_load_commit(dmp_store_load_t *l, dmp_store_t *s, int64_t now_ms, const char *tmpdir,
                          dmp_store_load_name_fn check, dmp_store_load_progress_fn prog, void *ctx,
                          dmp_store_load_stats_t *stats, char *err, size_t errlen)
{
    dmp_store_load_stats_t dummy;
    if (stats == NULL)
        stats = &dummy;
    memset(stats, 0, sizeof *stats);
    if (err && errlen)
        err[0] = '\0';
    if (l == NULL || s == NULL || tmpdir == NULL)
        return DMP_EINVAL;
    l->s = s;
    stats->records = l->n;
    stats->bad_index = SIZE_MAX;
    for (size_t i = 0; i < l->n; i++)
        if (now_ms > INT64_MAX - (int64_t)l->e[i].ttl * 1000 || now_ms < INT64_MIN / 2)
            return DMP_ERANGE;
    dmp_store_ingest_t g = {.l = l,
                            .now_ms = now_ms,
                            .tmpdir = tmpdir,
                            .check = check,
                            .progress = prog,
                            .ctx = ctx,
                            .stats = stats,
                            .err = err,
                            .errlen = errlen};
    dmp_buf_init(&g.dl.journal);
    int rc = prepare(&g);
    bool staged = false; /* the staging directory and the writers */
    if (rc == 0 && l->n > 0) {
        if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST) {
            dmp_store_ingest_seterr(&g, "cannot create the staging directory %s", tmpdir);
            rc = DMP_EIO;
        }
        staged = rc == 0;
        /* the table files are written while the names are checked: a refused check stops
         * the writers and removes their files, nothing having been ingested */
        if (rc == 0)
            rc = dmp_store_ingest_write_start(&g);
    }
    if (rc == 0)
        rc = check_names(&g);
    if (rc == 0)
        rc = deltas(&g);
    stats->refreshed = g.nref;
    if (g.pool != NULL)
        rc = dmp_store_ingest_write_finish(&g, rc);
    if (staged) {
        bool ingested = false, marked = false;
        if (rc == 0 && (rc = dmp_store_ingest_marker_write(l->s, now_ms)) != 0)
            dmp_store_ingest_seterr(&g, "cannot write the bulk-load marker%s", "");
        marked = rc == 0;
        if (rc == 0)
            rc = dmp_store_ingest_files(&g, &ingested);
        if (rc == 0) {
            progress(&g, "commit", 0, 1);
            rc = final_batch(&g);
            if (rc != 0)
                dmp_store_ingest_seterr(
                    &g,
                    "the final batch (count, Merkle, serial) failed: the store keeps the "
                    "bulk-load marker%s",
                    "");
            progress(&g, "commit", 1, 1);
        } else if (marked && !ingested && dmp_store_ingest_marker_clear(l->s) != 0) {
            dmp_store_ingest_seterr(&g, "cannot remove the bulk-load marker%s", "");
        }
        dmp_store_ingest_cleanup(&g);
    }
    stats->serial = dmp_store_soa_serial(l->s);
    if (rc != 0 && rc != DMP_EINVAL)
        dmp_store_ingest_seterr(&g, "%s", dmp_store_strerror(rc));
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++)
        free(g.mk[t]);
    free(g.rows);
    free(g.names);
    free(g.refresh);
    free(g.ref);
    free(g.dl.d);
    dmp_buf_free(&g.dl.journal);
    return rc;
}
