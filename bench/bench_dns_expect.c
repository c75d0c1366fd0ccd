/* dnsmesh-bench: what each query name should answer, and the check of every answer against it.
 *
 * The records come from JSON lines ({"name","value"}, what gen_records.py writes and what
 * `dnsmesh-bench load` publishes), or are added as a workload publishes them. A TXT answer is
 * right when its RCODE is the one expected, every value that was acknowledged before the query
 * left is in it, and every TXT record in it (its character-strings joined) is a value that was
 * published at that name. Names under the zone without records answer NXDOMAIN, or NOERROR
 * with no records when they are empty non-terminals. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_dns.h"

/* ---- a hash of wire names over a dmpb_names_t (chained through next[]) -------------------- */

typedef struct {
    uint32_t *head; /* name index + 1 */
    uint32_t *next; /* per name: next name index + 1 with the same hash */
    size_t mask;
} nhash_t;

static uint64_t hash_wire(const uint8_t *w, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ w[i]) * 1099511628211ULL;
    return h;
}

static int nhash_build(nhash_t *h, const dmpb_names_t *nm)
{
    size_t sz = 1024;
    while (sz < nm->n * 2)
        sz <<= 1;
    h->head = calloc(sz, sizeof(*h->head));
    h->next = calloc(nm->n ? nm->n : 1, sizeof(*h->next));
    h->mask = sz - 1;
    if (!h->head || !h->next)
        return -1;
    for (size_t i = nm->n; i-- > 0;) {
        size_t b = hash_wire(nm->wire + nm->off[i], nm->off[i + 1] - nm->off[i]) & h->mask;
        h->next[i] = h->head[b];
        h->head[b] = (uint32_t)i + 1;
    }
    return 0;
}

static void nhash_free(nhash_t *h)
{
    free(h->head);
    free(h->next);
}

/* First name index equal to w[0..len), or -1. */
static int64_t nhash_find(const nhash_t *h, const dmpb_names_t *nm, const uint8_t *w, size_t len)
{
    for (uint32_t i = h->head[hash_wire(w, len) & h->mask]; i; i = h->next[i - 1]) {
        size_t l = nm->off[i] - nm->off[i - 1];
        if (l == len && memcmp(nm->wire + nm->off[i - 1], w, len) == 0)
            return (int64_t)i - 1;
    }
    return -1;
}

/* Text name -> lower-case wire form in out[256]; its length, or 0 if invalid. */
static size_t to_wire(const char *name, uint8_t out[256])
{
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    size_t o = 0, lab = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            size_t ll = i - lab;
            if (ll == 0 || ll > 63)
                return 0;
            out[o++] = (uint8_t)ll;
            for (size_t j = lab; j < i; j++) {
                unsigned char c = (unsigned char)name[j];
                out[o++] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            }
            lab = i + 1;
        }
    }
    out[o++] = 0;
    return o;
}

/* True if w (wire, len) is the zone or under it. */
static bool in_zone(const dmpb_expect_t *e, const uint8_t *w, size_t len)
{
    if (len < e->zone_len)
        return false;
    size_t o = 0;
    while (len - o > e->zone_len && w[o])
        o += 1 + w[o];
    return len - o == e->zone_len && memcmp(w + o, e->zone, e->zone_len) == 0;
}

/* ---- entries and values ------------------------------------------------------------------ */

int dmpb_expect_init(dmpb_expect_t *e, const char *zone)
{
    memset(e, 0, sizeof(*e));
    e->zone_len = to_wire(zone, e->zone);
    if (e->zone_len == 0) {
        fprintf(stderr, "bad zone '%s'\n", zone);
        return -1;
    }
    return 0;
}

void dmpb_expect_free(dmpb_expect_t *e)
{
    free(e->arena);
    free(e->vals);
    free(e->ents);
    memset(e, 0, sizeof(*e));
}

int64_t dmpb_expect_entry_new(dmpb_expect_t *e)
{
    if (e->nents == e->ents_cap) {
        size_t nc = e->ents_cap ? e->ents_cap * 2 : 1024;
        dmpb_entry_t *n = realloc(e->ents, nc * sizeof(*n));
        if (!n)
            return -1;
        e->ents = n;
        e->ents_cap = nc;
    }
    e->ents[e->nents] = (dmpb_entry_t){0, 0};
    return (int64_t)e->nents++;
}

int64_t dmpb_expect_value_add(dmpb_expect_t *e, uint32_t ent, const uint8_t *v, size_t len,
                              int64_t acked_ns, uint32_t tag)
{
    if (ent >= e->nents || len > DMPB_VAL_MAX)
        return -1;
    if (e->nvals == e->vals_cap) {
        size_t nc = e->vals_cap ? e->vals_cap * 2 : 1024;
        dmpb_value_t *n = realloc(e->vals, nc * sizeof(*n));
        if (!n)
            return -1;
        e->vals = n;
        e->vals_cap = nc;
    }
    if (e->arena_len + len > e->arena_cap) {
        uint64_t nc = e->arena_cap ? e->arena_cap * 2 : 1 << 20;
        while (nc < e->arena_len + len)
            nc *= 2;
        uint8_t *n = realloc(e->arena, nc);
        if (!n)
            return -1;
        e->arena = n;
        e->arena_cap = nc;
    }
    memcpy(e->arena + e->arena_len, v, len);
    dmpb_value_t *val = &e->vals[e->nvals];
    *val = (dmpb_value_t){e->arena_len, (uint32_t)len, e->ents[ent].first, acked_ns, tag};
    e->arena_len += len;
    e->ents[ent].first = (uint32_t)e->nvals + 1;
    e->ents[ent].nvals++;
    return (int64_t)e->nvals++;
}

/* ---- loading records ------------------------------------------------------------------------ */

/* Calls fn(ctx, name, value, vlen) for every line of a JSON-lines records file. */
static int each_record(const char *path, int (*fn)(void *, const char *, const char *, size_t),
                       void *ctx, size_t *count)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open records file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t l;
    int rc = 0;
    *count = 0;
    while ((l = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (l <= 1)
            continue;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)l, 0, &err);
        const char *name = j ? json_string_value(json_object_get(j, "name")) : NULL;
        json_t *jv = j ? json_object_get(j, "value") : NULL;
        if (!name || !json_is_string(jv)) {
            fprintf(stderr, "%s:%zu: want {\"name\": ..., \"value\": ...}\n", path, lineno);
            json_decref(j);
            rc = -1;
            break;
        }
        rc = fn(ctx, name, json_string_value(jv), json_string_length(jv));
        json_decref(j);
        if (rc != 0) {
            fprintf(stderr, "%s:%zu: bad record\n", path, lineno);
            break;
        }
        (*count)++;
    }
    free(line);
    fclose(f);
    return rc;
}

typedef struct {
    dmpb_expect_t *e;
    dmpb_names_t *nm;
    nhash_t h;
} load_ctx_t;

static int load_one(void *vctx, const char *name, const char *value, size_t vlen)
{
    load_ctx_t *c = vctx;
    uint8_t w[256];
    size_t wl = to_wire(name, w);
    if (wl == 0)
        return -1;
    int64_t first = nhash_find(&c->h, c->nm, w, wl);
    if (first >= 0) {
        uint32_t ent;
        uint32_t cur = c->nm->exp[first];
        if (cur >= DMPB_EXP_ENTRY) {
            ent = cur - DMPB_EXP_ENTRY;
        } else {
            int64_t ne = dmpb_expect_entry_new(c->e);
            if (ne < 0)
                return -1;
            ent = (uint32_t)ne;
        }
        if (dmpb_expect_value_add(c->e, ent, (const uint8_t *)value, vlen, 0, 0) < 0)
            return -1;
        for (uint32_t i = (uint32_t)first + 1; i; i = c->h.next[i - 1]) {
            size_t l = c->nm->off[i] - c->nm->off[i - 1];
            if (l == wl && memcmp(c->nm->wire + c->nm->off[i - 1], w, wl) == 0)
                c->nm->exp[i - 1] = DMPB_EXP_ENTRY + ent;
        }
    }
    /* proper ancestors inside the zone are empty non-terminals unless they hold records */
    size_t o = 0;
    while (w[o]) {
        o += 1 + w[o];
        if (wl - o < c->e->zone_len)
            break;
        for (uint32_t i = c->h.head[hash_wire(w + o, wl - o) & c->h.mask]; i;
             i = c->h.next[i - 1]) {
            size_t l = c->nm->off[i] - c->nm->off[i - 1];
            if (l == wl - o && memcmp(c->nm->wire + c->nm->off[i - 1], w + o, l) == 0 &&
                c->nm->exp[i - 1] < DMPB_EXP_ENTRY)
                c->nm->exp[i - 1] = DMPB_EXP_NODATA;
        }
    }
    return 0;
}

int dmpb_expect_load(dmpb_expect_t *e, dmpb_names_t *nm, const char *jsonl, size_t *records_out)
{
    load_ctx_t c = {e, nm, {0}};
    for (size_t i = 0; i < nm->n; i++)
        nm->exp[i] = DMPB_EXP_NONE;
    if (nhash_build(&c.h, nm) != 0) {
        nhash_free(&c.h);
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    int rc = each_record(jsonl, load_one, &c, records_out);
    nhash_free(&c.h);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < nm->n; i++) {
        const uint8_t *w = nm->wire + nm->off[i];
        size_t wl = nm->off[i + 1] - nm->off[i];
        if (!in_zone(e, w, wl) || nm->qtype[i] != 16)
            nm->exp[i] = DMPB_EXP_NONE;
        else if (nm->exp[i] == DMPB_EXP_NONE)
            nm->exp[i] = wl == e->zone_len ? DMPB_EXP_NODATA : DMPB_EXP_NXDOMAIN;
    }
    return 0;
}

/* ---- owner names by class, for query mixes -----------------------------------------------------
 */

typedef struct {
    dmpb_names_t nm; /* every record owner once */
    uint64_t *size;  /* per owner: bytes of its TXT answer so far */
    size_t size_cap;
    nhash_t h;      /* over nm */
    size_t h_built; /* capacity of h.next */
    uint8_t zone[256];
    size_t zone_len;
} rn_ctx_t;

/* Adds name i (already in c->nm) to the hash, growing it when it is half full. */
static int rn_insert(rn_ctx_t *c, size_t i)
{
    if (c->nm.n * 2 > c->h.mask + 1 || !c->h.head) {
        nhash_free(&c->h);
        memset(&c->h, 0, sizeof(c->h));
        c->h_built = c->nm.n ? c->nm.n : 1;
        return nhash_build(&c->h, &c->nm); /* covers every name, i included */
    }
    if (i >= c->h_built) {
        size_t nc = c->h_built ? c->h_built * 2 : 1024;
        while (nc <= i)
            nc *= 2;
        uint32_t *nn = realloc(c->h.next, nc * sizeof(*nn));
        if (!nn)
            return -1;
        c->h.next = nn;
        c->h_built = nc;
    }
    size_t b = hash_wire(c->nm.wire + c->nm.off[i], c->nm.off[i + 1] - c->nm.off[i]) & c->h.mask;
    c->h.next[i] = c->h.head[b];
    c->h.head[b] = (uint32_t)i + 1;
    return 0;
}

static int rn_one(void *vctx, const char *name, const char *value, size_t vlen)
{
    rn_ctx_t *c = vctx;
    (void)value;
    uint8_t w[256];
    size_t wl = to_wire(name, w);
    if (wl == 0)
        return -1;
    int64_t i = c->h.head ? nhash_find(&c->h, &c->nm, w, wl) : -1;
    if (i < 0) {
        if (dmpb_names_add(&c->nm, name, strlen(name), 16, 0) != 0)
            return -1;
        i = (int64_t)c->nm.n - 1;
        if (rn_insert(c, (size_t)i) != 0)
            return -1;
        if ((size_t)i >= c->size_cap) {
            size_t nc = c->size_cap ? c->size_cap * 2 : 1024;
            uint64_t *ns = realloc(c->size, nc * sizeof(*ns));
            if (!ns)
                return -1;
            c->size = ns;
            c->size_cap = nc;
        }
        c->size[i] = 12 + wl + 4 + 11; /* header, question, OPT */
    }
    /* owner (a compression pointer) + type/class/ttl/rdlen + strings of <= 255 bytes */
    c->size[i] += 2 + 10 + vlen + (vlen ? (vlen + 254) / 255 : 1);
    return 0;
}

static int list_add(char **buf, size_t *len, size_t *n, const char *s)
{
    size_t l = strlen(s);
    char *nb = realloc(*buf, *len + l + 2);
    if (!nb)
        return -1;
    memcpy(nb + *len, s, l);
    nb[*len + l] = '\n';
    nb[*len + l + 1] = 0;
    *buf = nb;
    *len += l + 1;
    (*n)++;
    return 0;
}

int dmpb_expect_record_names(const char *jsonl, const char *zone, unsigned udp_size,
                             dmpb_record_names_t *out)
{
    memset(out, 0, sizeof(*out));
    rn_ctx_t c;
    memset(&c, 0, sizeof(c));
    c.zone_len = to_wire(zone, c.zone);
    size_t count;
    int rc = c.zone_len ? each_record(jsonl, rn_one, &c, &count) : -1;
    dmpb_names_t entn = {0};
    char txt[300];
    for (size_t i = 0; rc == 0 && i < c.nm.n; i++) {
        dmpb_name_text(&c.nm, (uint32_t)i, txt, sizeof(txt));
        if (c.size[i] > udp_size)
            rc = list_add(&out->tc, &out->tc_len, &out->tc_n, txt);
        else
            rc = list_add(&out->exist, &out->exist_len, &out->exist_n, txt);
    }
    /* empty non-terminals: proper ancestors below the apex that hold no record */
    for (size_t i = 0; rc == 0 && i < c.nm.n; i++) {
        const uint8_t *w = c.nm.wire + c.nm.off[i];
        size_t wl = c.nm.off[i + 1] - c.nm.off[i], o = 0;
        while (rc == 0 && w[o]) {
            o += 1 + w[o];
            if (wl - o <= c.zone_len)
                break;
            if (nhash_find(&c.h, &c.nm, w + o, wl - o) >= 0)
                continue;
            bool seen = false;
            for (size_t k = 0; k < entn.n && !seen; k++) /* ENTs are few per zone here */
                seen = entn.off[k + 1] - entn.off[k] == wl - o &&
                       memcmp(entn.wire + entn.off[k], w + o, wl - o) == 0;
            if (seen)
                continue;
            char t[300];
            size_t tl = 0, p = o;
            while (w[p]) {
                if (tl)
                    t[tl++] = '.';
                memcpy(t + tl, w + p + 1, w[p]);
                tl += w[p];
                p += 1 + w[p];
            }
            t[tl] = 0;
            rc = dmpb_names_add(&entn, t, tl, 16, 0);
            if (rc == 0)
                rc = list_add(&out->ent, &out->ent_len, &out->ent_n, t);
            if (entn.n >= 100000)
                break;
        }
    }
    nhash_free(&c.h);
    dmpb_names_free(&entn);
    dmpb_names_free(&c.nm);
    free(c.size);
    if (rc != 0)
        dmpb_record_names_free(out);
    return rc;
}

void dmpb_record_names_free(dmpb_record_names_t *r)
{
    free(r->exist);
    free(r->tc);
    free(r->ent);
    memset(r, 0, sizeof(*r));
}

/* ---- checking an answer -------------------------------------------------------------------------
 */

/* Skips a (possibly compressed) name at r[*p]; -1 if it runs past len. */
static int skip_name(const uint8_t *r, size_t len, size_t *p)
{
    size_t o = *p;
    for (int hops = 0; hops < 128; hops++) {
        if (o >= len)
            return -1;
        uint8_t c = r[o];
        if (c == 0) {
            *p = o + 1;
            return 0;
        }
        if ((c & 0xc0) == 0xc0) {
            if (o + 2 > len)
                return -1;
            *p = o + 2;
            return 0;
        }
        if (c & 0xc0)
            return -1;
        o += 1 + c;
    }
    return -1;
}

#define MATCH_MAX 64

int dmpb_expect_check(const dmpb_expect_t *e, const dmpb_names_t *nm, uint32_t qi, const uint8_t *r,
                      size_t len, size_t qend, int64_t sent_ns,
                      void (*on_value)(void *ctx, uint32_t vi), void *ctx)
{
    uint32_t exp = nm->exp[qi];
    if (exp == DMPB_EXP_NONE)
        return DMPB_V_UNCHECKED;
    int rcode = r[3] & 0x0f;
    unsigned an = (unsigned)r[6] << 8 | r[7];
    if (exp == DMPB_EXP_NXDOMAIN)
        return rcode != 3 ? DMPB_V_RCODE : an ? DMPB_V_COUNT : DMPB_V_OK;
    if (exp == DMPB_EXP_NODATA)
        return rcode != 0 ? DMPB_V_RCODE : an ? DMPB_V_COUNT : DMPB_V_OK;
    const dmpb_entry_t *ent = &e->ents[exp - DMPB_EXP_ENTRY];
    /* values that must be there: acknowledged before the query left */
    uint32_t must = 0;
    for (uint32_t vi = ent->first; vi; vi = e->vals[vi - 1].next)
        if (e->vals[vi - 1].acked_ns <= sent_ns)
            must++;
    if (an == 0) {
        if (must)
            return rcode != 0 ? DMPB_V_RCODE : DMPB_V_COUNT;
        /* nothing acknowledged yet: the name may not exist yet */
        return rcode == 3 ? DMPB_V_OK : DMPB_V_RCODE;
    }
    if (rcode != 0)
        return DMPB_V_RCODE;
    uint32_t matched[MATCH_MAX];
    unsigned nmatched = 0;
    static uint8_t val[65536]; /* one thread checks answers */
    size_t p = qend;
    for (unsigned a = 0; a < an; a++) {
        if (skip_name(r, len, &p) != 0 || p + 10 > len)
            return DMPB_V_DATA;
        uint16_t type = (uint16_t)(r[p] << 8 | r[p + 1]);
        size_t rdlen = (size_t)r[p + 8] << 8 | r[p + 9];
        p += 10;
        if (p + rdlen > len || type != 16)
            return DMPB_V_DATA;
        size_t vl = 0, q = p;
        while (q < p + rdlen) {
            size_t sl = r[q];
            if (q + 1 + sl > p + rdlen || vl + sl > sizeof(val))
                return DMPB_V_DATA;
            memcpy(val + vl, r + q + 1, sl);
            vl += sl;
            q += 1 + sl;
        }
        p += rdlen;
        uint32_t hit = 0;
        for (uint32_t vi = ent->first; vi && !hit; vi = e->vals[vi - 1].next) {
            const dmpb_value_t *v = &e->vals[vi - 1];
            if (v->len == vl && memcmp(e->arena + v->off, val, vl) == 0)
                hit = vi;
        }
        if (!hit)
            return DMPB_V_DATA;
        for (unsigned k = 0; k < nmatched; k++)
            if (matched[k] == hit)
                return DMPB_V_COUNT; /* the same value twice */
        if (nmatched < MATCH_MAX)
            matched[nmatched++] = hit;
    }
    /* every value that must be there is */
    uint32_t have = 0;
    for (unsigned k = 0; k < nmatched; k++)
        if (e->vals[matched[k] - 1].acked_ns <= sent_ns)
            have++;
    if (have < must && nmatched < MATCH_MAX)
        return DMPB_V_COUNT;
    if (on_value)
        for (unsigned k = 0; k < nmatched; k++)
            on_value(ctx, matched[k] - 1);
    return DMPB_V_OK;
}
