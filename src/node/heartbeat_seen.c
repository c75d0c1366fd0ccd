/* node: the heartbeat SeenStore (peers' verified heartbeats in the store's heartbeats column
 * family, node.md §6.4), seed normalisation and the public seed-list fetch (libcurl). */
#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "node/node.h"
#include "wire/wire.h"

#define HB_KEY_MAX (32 + DMP_WIRE_HB_ENDPOINT_MAX)
#define HB_HDR 24 /* ts, exp, received_at */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static size_t hb_key(const dmp_wire_heartbeat_t *h, uint8_t *key)
{
    memcpy(key, h->operator_spk, 32);
    memcpy(key + 32, h->endpoint, h->endpoint_len);
    return 32 + h->endpoint_len;
}

int dmp_node_seen_accept(dmp_store_t *s, const uint8_t *wire, size_t len, int64_t now, int64_t skew,
                         dmp_wire_heartbeat_t *out)
{
    dmp_wire_heartbeat_t h;
    int rc = dmp_wire_heartbeat_parse(wire, len, now, skew < 0 ? 300 : skew, &h);
    if (rc != 0)
        return rc;
    uint8_t key[HB_KEY_MAX];
    size_t klen = hb_key(&h, key);
    dmp_buf_t old;
    dmp_buf_init(&old);
    rc = dmp_store_kv_get(s, DMP_STORE_KV_HEARTBEATS, key, klen, &old);
    if (rc == 0 && old.len >= HB_HDR && get64(old.data) > h.ts) {
        dmp_buf_free(&old);
        return DMP_EEXIST;
    }
    dmp_buf_free(&old);
    if (rc != 0 && rc != DMP_ENOTFOUND)
        return rc;
    uint8_t val[HB_HDR + DMP_WIRE_MAX_WIRE];
    put64(val, h.ts);
    put64(val + 8, h.exp);
    put64(val + 16, (uint64_t)now);
    memcpy(val + HB_HDR, wire, len);
    rc = dmp_store_kv_put(s, DMP_STORE_KV_HEARTBEATS, key, klen, val, HB_HDR + len);
    if (rc == 0 && out)
        *out = h;
    return rc;
}

/* ---- trim ---- */
typedef struct {
    uint8_t key[HB_KEY_MAX];
    size_t klen;
    uint64_t recv;
} trim_ent_t;

typedef struct {
    int64_t now;
    trim_ent_t *live;
    size_t n, cap;
    trim_ent_t *dead;
    size_t nd, capd;
    int err;
} trim_ctx_t;

static int push_ent(trim_ent_t **a, size_t *n, size_t *cap, const uint8_t *key, size_t klen,
                    uint64_t recv)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        trim_ent_t *p = realloc(*a, nc * sizeof(**a));
        if (!p)
            return DMP_ENOMEM;
        *a = p;
        *cap = nc;
    }
    memcpy((*a)[*n].key, key, klen);
    (*a)[*n].klen = klen;
    (*a)[*n].recv = recv;
    (*n)++;
    return 0;
}

static int trim_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    trim_ctx_t *t = ctx;
    if (klen > HB_KEY_MAX)
        return 0;
    bool dead = vlen < HB_HDR || (int64_t)get64(val + 8) <= t->now;
    uint64_t recv = vlen >= HB_HDR ? get64(val + 16) : 0;
    t->err = dead ? push_ent(&t->dead, &t->nd, &t->capd, key, klen, recv)
                  : push_ent(&t->live, &t->n, &t->cap, key, klen, recv);
    return t->err;
}

static int by_recv(const void *a, const void *b)
{
    uint64_t x = ((const trim_ent_t *)a)->recv, y = ((const trim_ent_t *)b)->recv;
    return x < y ? -1 : x > y;
}

int dmp_node_seen_trim(dmp_store_t *s, int64_t now, size_t max_rows)
{
    trim_ctx_t t = {.now = now};
    int rc = dmp_store_kv_scan(s, DMP_STORE_KV_HEARTBEATS, NULL, 0, trim_visit, &t);
    if (rc == 0)
        rc = t.err;
    for (size_t i = 0; rc == 0 && i < t.nd; i++)
        rc = dmp_store_kv_delete(s, DMP_STORE_KV_HEARTBEATS, t.dead[i].key, t.dead[i].klen);
    if (rc == 0 && t.n > max_rows) {
        qsort(t.live, t.n, sizeof(*t.live), by_recv);
        for (size_t i = 0; rc == 0 && i < t.n - max_rows; i++)
            rc = dmp_store_kv_delete(s, DMP_STORE_KV_HEARTBEATS, t.live[i].key, t.live[i].klen);
    }
    free(t.live);
    free(t.dead);
    return rc;
}

/* ---- recent ---- */
typedef struct {
    int64_t now;
    dmp_node_seen_row_t *rows;
    size_t n, cap;
    int err;
} recent_ctx_t;

static int recent_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)key;
    (void)klen;
    recent_ctx_t *r = ctx;
    if (vlen < HB_HDR || vlen - HB_HDR > DMP_WIRE_MAX_WIRE || (int64_t)get64(val + 8) <= r->now)
        return 0;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 32;
        dmp_node_seen_row_t *p = realloc(r->rows, nc * sizeof(*p));
        if (!p) {
            r->err = DMP_ENOMEM;
            return 1;
        }
        r->rows = p;
        r->cap = nc;
    }
    dmp_node_seen_row_t *row = &r->rows[r->n];
    /* stored rows were verified on accept; re-verify with the reference's listing skew (1e9) */
    if (dmp_wire_heartbeat_parse(val + HB_HDR, vlen - HB_HDR, r->now, 1000000000, &row->hb) != 0)
        return 0;
    memcpy(row->wire, val + HB_HDR, vlen - HB_HDR);
    row->wire[vlen - HB_HDR] = 0;
    row->wire_len = vlen - HB_HDR;
    row->received_at = (int64_t)get64(val + 16);
    r->n++;
    return 0;
}

static int by_ts_desc(const void *a, const void *b)
{
    uint64_t x = ((const dmp_node_seen_row_t *)a)->hb.ts;
    uint64_t y = ((const dmp_node_seen_row_t *)b)->hb.ts;
    return x > y ? -1 : x < y;
}

size_t dmp_node_seen_recent(dmp_store_t *s, int64_t now, dmp_node_seen_row_t *rows, size_t cap)
{
    recent_ctx_t r = {.now = now};
    if (dmp_store_kv_scan(s, DMP_STORE_KV_HEARTBEATS, NULL, 0, recent_visit, &r) != 0 || r.err) {
        free(r.rows);
        return 0;
    }
    if (r.n)
        qsort(r.rows, r.n, sizeof(*r.rows), by_ts_desc);
    size_t n = r.n < cap ? r.n : cap;
    if (n)
        memcpy(rows, r.rows, n * sizeof(*rows));
    free(r.rows);
    return n;
}

/* ---- seeds ---- */
int dmp_node_hb_zone_norm(const char *seed, size_t len, char *out, size_t cap)
{
    while (len && isspace((unsigned char)*seed)) {
        seed++;
        len--;
    }
    while (len && isspace((unsigned char)seed[len - 1]))
        len--;
    const char *p = seed, *end = seed + len;
    const char *sch = NULL;
    for (const char *q = p; q + 2 < end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            sch = q;
            break;
        }
    if (sch) { /* URL: the host, without userinfo, port, path */
        p = sch + 3;
        const char *e = p;
        while (e < end && *e != '/' && *e != '?' && *e != '#')
            e++;
        const char *at = NULL;
        for (const char *q = p; q < e; q++)
            if (*q == '@')
                at = q;
        if (at)
            p = at + 1;
        end = e;
        if (p < end && *p == '[') { /* IPv6 literal */
            const char *rb = memchr(p, ']', (size_t)(end - p));
            if (!rb)
                return DMP_EINVAL;
            p++;
            end = rb;
        } else if (p < end) {
            const char *c = memchr(p, ':', (size_t)(end - p));
            if (c)
                end = c;
        }
    } else {
        const char *c = memchr(p, ':', (size_t)(end - p));
        if (c)
            end = c;
    }
    while (end > p && end[-1] == '.')
        end--;
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= cap)
        return DMP_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7F)
            return DMP_EINVAL;
        out[i] = (char)tolower(c);
    }
    out[n] = 0;
    return 0;
}

int dmp_node_hb_seed_list_parse(const uint8_t *body, size_t len, char ***zones, size_t *n)
{
    if (!dmp_dns_utf8_valid(body, len))
        return DMP_EINVAL;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && body[j] != '\n')
            j++;
        const char *line = (const char *)body + i;
        size_t ll = j - i;
        while (ll && isspace((unsigned char)*line)) {
            line++;
            ll--;
        }
        char z[256];
        if (ll && *line != '#' && dmp_node_hb_zone_norm(line, ll, z, sizeof(z)) == 0) {
            char **p = realloc(*zones, (*n + 1) * sizeof(*p));
            if (!p)
                return DMP_ENOMEM;
            *zones = p;
            if (!(p[*n] = strdup(z)))
                return DMP_ENOMEM;
            (*n)++;
        }
        i = j + 1;
    }
    return 0;
}

/* ---- libcurl GET of a seed list ---- */
#define SEED_BODY_MAX (64 * 1024)

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    dmp_buf_t *b = ud;
    size_t n = sz * nm;
    size_t room = b->len < SEED_BODY_MAX ? SEED_BODY_MAX - b->len : 0;
    if (room && dmp_buf_append(b, p, n < room ? n : room) != 0)
        return 0;
    return n; /* the rest is dropped (the reference truncates at 64 KiB) */
}

/* Refuses a connection to a non-public address (checked on the connected address itself, so a
 * name that resolves to both kinds cannot slip through). */
static int on_prereq(void *ud, char *ip, char *local_ip, int remote_port, int local_port)
{
    (void)ud;
    (void)local_ip;
    (void)remote_port;
    (void)local_port;
    char ep[80];
    snprintf(ep, sizeof(ep), strchr(ip, ':') ? "https://[%s]" : "https://%s", ip);
    return dmp_wire_heartbeat_endpoint_check(ep, strlen(ep)) == 0 ? CURL_PREREQFUNC_OK
                                                                  : CURL_PREREQFUNC_ABORT;
}

int dmp_node_hb_http_get(const char *url, bool allow_local, dmp_buf_t *body)
{
    if (!allow_local && strncmp(url, "https://", 8) != 0)
        return DMP_EINVAL;
    CURL *c = curl_easy_init();
    if (!c)
        return DMP_ENOMEM;
    body->len = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, allow_local ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    if (!allow_local)
        curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (cr != CURLE_OK)
        return DMP_EIO;
    return status == 200 ? 0 : DMP_ENOTFOUND;
}
