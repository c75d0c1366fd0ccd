/* store: the bulk load's key orders (store_ingest.c and store_ingest_sst.c use them): the
 * records order of every added row (an introsort on inline key words, two halves on two
 * threads, a merge on two threads), and the orders of the index column families: names by
 * reversed name (rnames), rows by (bucket, records rank) and by (ttl, records rank). */
/* qsort_r: _GNU_SOURCE comes from the build (CMakeLists.txt) */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_ingest_int.h"

/* ---- key orders ---- */

/* The tie-break of two elements whose inline bytes are equal (the full keys). */
typedef int (*tie_fn)(const dmp_store_skey_t *, const dmp_store_skey_t *, const void *);

static inline int skey_cmp(const dmp_store_skey_t *x, const dmp_store_skey_t *y, tie_fn tie,
                           const void *arg)
{
    for (int i = 0; i < 3; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return tie(x, y, arg);
}

static inline void skey_swap(dmp_store_skey_t *a, dmp_store_skey_t *b)
{
    dmp_store_skey_t t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(dmp_store_skey_t *v, size_t i, size_t n, tie_fn tie, const void *arg)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && skey_cmp(&v[c], &v[c + 1], tie, arg) < 0)
            c++;
        if (skey_cmp(&v[i], &v[c], tie, arg) >= 0)
            return;
        skey_swap(&v[i], &v[c]);
        i = c;
    }
}

/* Introsort with the comparison inlined (glibc's qsort_r calls a function and memcmp per
 * comparison): quicksort on the median of three, insertion sort below 16, heapsort when the
 * recursion goes too deep. */
static void isort(dmp_store_skey_t *v, size_t n, int depth, tie_fn tie, const void *arg)
{
    while (n > 16) {
        if (depth-- == 0) {
            for (size_t i = n / 2; i-- > 0;)
                sift_down(v, i, n, tie, arg);
            for (size_t i = n - 1; i > 0; i--) {
                skey_swap(&v[0], &v[i]);
                sift_down(v, 0, i, tie, arg);
            }
            return;
        }
        size_t m = n / 2;
        if (skey_cmp(&v[m], &v[0], tie, arg) < 0)
            skey_swap(&v[m], &v[0]);
        if (skey_cmp(&v[n - 1], &v[m], tie, arg) < 0) {
            skey_swap(&v[n - 1], &v[m]);
            if (skey_cmp(&v[m], &v[0], tie, arg) < 0)
                skey_swap(&v[m], &v[0]);
        }
        dmp_store_skey_t p = v[m];
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition around the median */
            while (skey_cmp(&v[i], &p, tie, arg) < 0)
                i++;
            while (skey_cmp(&p, &v[j], tie, arg) < 0)
                j--;
            if (i >= j)
                break;
            skey_swap(&v[i], &v[j]);
            i++;
            j--;
        }
        /* v[0..j] <= p <= v[j+1..n): recurse into the smaller side */
        if (j + 1 < n - j - 1) {
            isort(v, j + 1, depth, tie, arg);
            v += j + 1;
            n -= j + 1;
        } else {
            isort(v + j + 1, n - j - 1, depth, tie, arg);
            n = j + 1;
        }
    }
    for (size_t i = 1; i < n; i++) {
        dmp_store_skey_t x = v[i];
        size_t j = i;
        while (j > 0 && skey_cmp(&x, &v[j - 1], tie, arg) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void ssort(dmp_store_skey_t *v, size_t n, tie_fn tie, const void *arg)
{
    int depth = 0;
    for (size_t x = n; x > 1; x >>= 1)
        depth += 2;
    isort(v, n, depth, tie, arg);
}

typedef struct {
    dmp_store_skey_t *v;
    size_t n;
    tie_fn tie;
    const void *arg;
} halfsort_t;

static void *halfsort_run(void *p)
{
    halfsort_t *h = p;
    ssort(h->v, h->n, h->tie, h->arg);
    return NULL;
}

typedef struct {
    const dmp_store_skey_t *a, *b; /* two sorted runs */
    size_t na, nb;
    dmp_store_skey_t *out;
    tie_fn tie;
    const void *arg;
} merge_t;

static void *merge_run(void *p)
{
    merge_t *m = p;
    size_t i = 0, j = 0, k = 0;
    while (i < m->na && j < m->nb)
        m->out[k++] = skey_cmp(&m->b[j], &m->a[i], m->tie, m->arg) < 0 ? m->b[j++] : m->a[i++];
    while (i < m->na)
        m->out[k++] = m->a[i++];
    while (j < m->nb)
        m->out[k++] = m->b[j++];
    return NULL;
}

/* How many of the first k elements of the merge of a[0..na) and b[0..nb) come from a (the
 * merge path's crossing of diagonal k; elements never compare equal). */
static size_t merge_split(const dmp_store_skey_t *a, size_t na, const dmp_store_skey_t *b,
                          size_t nb, size_t k, tie_fn tie, const void *arg)
{
    size_t lo = k > nb ? k - nb : 0, hi = k < na ? k : na;
    while (lo < hi) { /* the largest i with a[i-1] < b[k-i] */
        size_t i = lo + (hi - lo + 1) / 2;
        if (skey_cmp(&a[i - 1], &b[k - i], tie, arg) < 0)
            lo = i;
        else
            hi = i - 1;
    }
    return lo;
}

/* Sorts v[0..n); from dmp_store_ingest_par_min elements on, the two halves on two threads and
 * then one merge, also on two threads (each writes its half of the output). Returns the
 * sorted array (v, or a new one with v freed). Equal elements do not occur: every tie-break
 * ends with the unique idx. */
static dmp_store_skey_t *psort(dmp_store_skey_t *v, size_t n, tie_fn tie, const void *arg)
{
    dmp_store_skey_t *out =
        n >= dmp_store_ingest_par_min && n >= 2 ? malloc(n * sizeof *out) : NULL;
    pthread_t th;
    size_t m = n / 2;
    halfsort_t hs[2] = {{v, m, tie, arg}, {v + m, n - m, tie, arg}};
    if (out == NULL || pthread_create(&th, NULL, halfsort_run, &hs[1]) != 0) {
        free(out);
        ssort(v, n, tie, arg);
        return v;
    }
    halfsort_run(&hs[0]);
    pthread_join(th, NULL);
    size_t k = n / 2, i = merge_split(v, m, v + m, n - m, k, tie, arg);
    merge_t mg[2] = {{v, v + m, i, k - i, out, tie, arg},
                     {v + i, v + m + (k - i), m - i, n - m - (k - i), out + k, tie, arg}};
    if (pthread_create(&th, NULL, merge_run, &mg[1]) == 0) {
        merge_run(&mg[0]);
        pthread_join(th, NULL);
    } else {
        merge_run(&mg[0]);
        merge_run(&mg[1]);
    }
    free(v);
    return out;
}

/* records order: the full keys, then the add order (the later of equal keys sorts last) */
static int rkey_tie(const dmp_store_skey_t *x, const dmp_store_skey_t *y, const void *arg)
{
    if (x->idx == y->idx)
        return 0;
    const dmp_store_load_t *l = arg;
    uint8_t kx[DMP_STORE_RKEY_MAX], ky[DMP_STORE_RKEY_MAX];
    const dmp_store_lent_t *ex = &l->e[x->idx], *ey = &l->e[y->idx];
    size_t lx = dmp_store_rkey_make(kx, ex->name, ex->nl, ex->hash),
           ly = dmp_store_rkey_make(ky, ey->name, ey->nl, ey->hash);
    int c = memcmp(kx, ky, lx < ly ? lx : ly);
    if (c != 0)
        return c;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return x->idx < y->idx ? -1 : 1;
}

bool dmp_store_ingest_key_eq(const dmp_store_load_t *l, uint32_t a, uint32_t b)
{
    const dmp_store_lent_t *x = &l->e[a], *y = &l->e[b];
    return x->nl == y->nl && memcmp(x->hash, y->hash, 32) == 0 &&
           memcmp(x->name, y->name, x->nl) == 0;
}

/* The inline bytes of a key: up to 24 bytes after the common prefix, zero-padded (a shorter key
 * then sorts first, as in byte order, since keys hold no NUL before their name ends). */
static void skey_fill(dmp_store_skey_t *v, const uint8_t *k, size_t kl, size_t lcp)
{
    uint8_t b[DMP_STORE_SKEY_PFX] = {0};
    if (kl > lcp)
        memcpy(b, k + lcp, kl - lcp < DMP_STORE_SKEY_PFX ? kl - lcp : DMP_STORE_SKEY_PFX);
    for (int i = 0; i < 3; i++)
        v->k[i] = dmp_load_u64be(b + 8 * i);
    v->aux = 0;
}

static size_t common_prefix(const uint8_t *a, size_t lcp, const uint8_t *k, size_t kl)
{
    size_t m = kl < lcp ? kl : lcp, j = 0;
    while (j < m && k[j] == a[j])
        j++;
    return j;
}

/* The sort's first pass per slice: the common prefix of the slice's keys. */
typedef struct {
    uint8_t k0[DMP_STORE_RKEY_MAX]; /* the slice's first key */
    size_t k0l, lcp;
    dmp_store_skey_t *v;
} sprep_t;

static void lcp_slice(dmp_store_ingest_t *g, size_t from, size_t to, void *part)
{
    sprep_t *p = part;
    const dmp_store_lent_t *e = g->l->e;
    uint8_t k[DMP_STORE_RKEY_MAX];
    if (from >= to)
        return;
    p->k0l = p->lcp = dmp_store_rkey_make(p->k0, e[from].name, e[from].nl, e[from].hash);
    for (size_t i = from + 1; i < to && p->lcp > 0; i++)
        p->lcp =
            common_prefix(p->k0, p->lcp, k, dmp_store_rkey_make(k, e[i].name, e[i].nl, e[i].hash));
}

static void fill_slice(dmp_store_ingest_t *g, size_t from, size_t to, void *part)
{
    const sprep_t *p = part; /* the whole load's */
    const dmp_store_lent_t *e = g->l->e;
    uint8_t k[DMP_STORE_RKEY_MAX];
    for (size_t i = from; i < to; i++) {
        skey_fill(&p->v[i], k, dmp_store_rkey_make(k, e[i].name, e[i].nl, e[i].hash), p->lcp);
        p->v[i].idx = (uint32_t)i;
        p->v[i].aux = e[i].nl;
    }
}

int dmp_store_ingest_sort(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *n)
{
    const dmp_store_load_t *l = g->l;
    size_t cnt = l->n;
    if (g->progress)
        g->progress(g->ctx, "sort", 0, cnt);
    dmp_store_skey_t *v = malloc((cnt ? cnt : 1) * sizeof *v);
    if (v == NULL)
        return DMP_ENOMEM;
    /* the prefix every key shares (e.g. the zone, first in a reversed name) carries no order:
     * the 24 inline bytes start after it; per slice, then across the slices' first keys */
    sprep_t sp[DMP_STORE_LOAD_THREADS] = {0};
    void *parts[DMP_STORE_LOAD_THREADS];
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++)
        parts[t] = &sp[t];
    dmp_store_ingest_par_for(g, cnt, lcp_slice, parts);
    sprep_t all = {.v = v};
    bool first = true;
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++) {
        if (sp[t].k0l == 0)
            continue; /* an empty slice (keys are at least 34 bytes) */
        if (first) {
            memcpy(all.k0, sp[t].k0, sp[t].k0l);
            all.k0l = sp[t].k0l;
            all.lcp = sp[t].lcp;
            first = false;
        } else {
            all.lcp = common_prefix(all.k0, all.lcp, sp[t].k0, sp[t].k0l);
            if (sp[t].lcp < all.lcp)
                all.lcp = sp[t].lcp;
        }
    }
    for (int t = 0; t < DMP_STORE_LOAD_THREADS; t++)
        parts[t] = &all;
    dmp_store_ingest_par_for(g, cnt, fill_slice, parts);
    *out = psort(v, cnt, rkey_tie, l);
    *n = cnt;
    if (g->progress)
        g->progress(g->ctx, "sort", cnt, cnt);
    return 0;
}

static int first_cmp(const void *a, const void *b, void *arg)
{
    const dmp_store_load_t *l = arg;
    uint32_t x = l->e[*(const uint32_t *)a].first, y = l->e[*(const uint32_t *)b].first;
    return x < y ? -1 : x > y;
}

void dmp_store_ingest_sort_u32_by_first(const dmp_store_load_t *l, uint32_t *v, size_t n)
{
    qsort_r(v, n, sizeof *v, first_cmp, (void *)l);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Names by reversed name: inline bytes after the common prefix, the full reversed names on a
 * tie (distinct names never compare equal). idx = the name's first row. */
static int rname_tie(const dmp_store_skey_t *x, const dmp_store_skey_t *y, const void *arg)
{
    if (x->idx == y->idx)
        return 0;
    const dmp_store_row_t *rows = arg, *ex = &rows[x->idx], *ey = &rows[y->idx];
    char rx[DMP_STORE_MAX_NAME], ry[DMP_STORE_MAX_NAME];
    dmp_store_name_reverse(ex->name, ex->nl, rx);
    dmp_store_name_reverse(ey->name, ey->nl, ry);
    int c = memcmp(rx, ry, ex->nl < ey->nl ? ex->nl : ey->nl);
    if (c != 0)
        return c;
    if (ex->nl != ey->nl)
        return ex->nl < ey->nl ? -1 : 1;
    return x->idx < y->idx ? -1 : 1;
}

/* The distinct names sorted by reversed name (the rows of one name share its pointer). */
int dmp_store_ingest_order_rnames(dmp_store_ingest_t *g, dmp_store_skey_t **out, size_t *nn_out)
{
    const dmp_store_row_t *rows = g->rows;
    size_t nn = 0;
    for (size_t i = 0; i < g->nu; i++)
        nn += i == 0 || rows[i].name != rows[i - 1].name;
    dmp_store_skey_t *v = malloc((nn ? nn : 1) * sizeof *v);
    if (v == NULL)
        return DMP_ENOMEM;
    char r0[DMP_STORE_MAX_NAME], r[DMP_STORE_MAX_NAME];
    size_t lcp = 0;
    if (g->nu) {
        dmp_store_name_reverse(rows[0].name, rows[0].nl, r0);
        lcp = rows[0].nl;
    }
    for (size_t i = 1; i < g->nu && lcp > 0; i++) {
        if (rows[i].name == rows[i - 1].name)
            continue;
        dmp_store_name_reverse(rows[i].name, rows[i].nl, r);
        lcp = common_prefix((const uint8_t *)r0, lcp, (const uint8_t *)r, rows[i].nl);
    }
    for (size_t i = 0, k = 0; i < g->nu; i++) {
        if (i > 0 && rows[i].name == rows[i - 1].name)
            continue;
        dmp_store_name_reverse(rows[i].name, rows[i].nl, r);
        skey_fill(&v[k], (const uint8_t *)r, rows[i].nl, lcp);
        v[k++].idx = (uint32_t)i;
    }
    *out = psort(v, nn, rname_tie, rows);
    *nn_out = nn;
    return 0;
}

/* rows by (ttl, records rank) when the ttls differ, else NULL */
int dmp_store_ingest_order_expiry(dmp_store_ingest_t *g, uint64_t **out)
{
    *out = NULL;
    bool same = true;
    for (size_t i = 1; i < g->nu && same; i++)
        same = g->rows[i].ttl == g->rows[0].ttl;
    if (same)
        return 0;
    uint64_t *ord = malloc(g->nu * sizeof *ord);
    if (ord == NULL)
        return DMP_ENOMEM;
    for (size_t i = 0; i < g->nu; i++)
        ord[i] = (uint64_t)g->rows[i].ttl << 32 | (uint64_t)i;
    qsort(ord, g->nu, sizeof *ord, u64_cmp);
    *out = ord;
    return 0;
}

/* rows by (bucket, records rank): a stable counting sort */
int dmp_store_ingest_order_buckets(dmp_store_ingest_t *g, uint32_t **out)
{
    size_t *start = calloc(DMP_STORE_MERKLE_BUCKETS + 1, sizeof *start);
    uint32_t *ord = malloc((g->nu ? g->nu : 1) * sizeof *ord);
    if (start == NULL || ord == NULL) {
        free(start);
        free(ord);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < g->nu; i++)
        start[g->rows[i].bucket + 1]++;
    for (size_t b = 0; b < DMP_STORE_MERKLE_BUCKETS; b++)
        start[b + 1] += start[b];
    for (size_t i = 0; i < g->nu; i++)
        ord[start[g->rows[i].bucket]++] = (uint32_t)i;
    free(start);
    *out = ord;
    return 0;
}
