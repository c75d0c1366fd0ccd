/* node: the multi-tenant token store (node.md §5.2) on the store's TOKENS column family.
 * Keys: "t" + sha256(token) hex -> the row as a JSON object (the reference's columns); "a" +
 * be64(µs) + be32(seq) -> a batch of audit rows (JSON array of [ts, event, token_hash, subject,
 * remote_addr, detail]). Tokens are never stored, only their SHA-256. */
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/node.h"

#define BUCKET_SLOTS 16384
#define BUCKET_MAX 10000

typedef struct {
    char hash[65]; /* "" = free */
    double tokens;
    int64_t last_ns;
} bucket_t;

struct dmp_node_tokens {
    dmp_store_t *store;
    int64_t (*now_s)(void);
    pthread_mutex_t mu; /* guards everything below (HTTP thread, audit flusher, admin) */
    bucket_t *buckets;
    size_t nbuckets;
    json_t *pending; /* audit rows not yet in the store */
    uint32_t seq;
};

static int64_t real_now_s(void)
{
    return (int64_t)time(NULL);
}

int dmp_node_tokens_open(dmp_store_t *store, int64_t (*now_s)(void), dmp_node_tokens_t **out)
{
    *out = NULL;
    dmp_node_tokens_t *t = calloc(1, sizeof(*t));
    if (!t)
        return DMP_ENOMEM;
    t->store = store;
    t->now_s = now_s ? now_s : real_now_s;
    t->buckets = calloc(BUCKET_SLOTS, sizeof(bucket_t));
    t->pending = json_array();
    if (!t->buckets || !t->pending) {
        free(t->buckets);
        json_decref(t->pending);
        free(t);
        return DMP_ENOMEM;
    }
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return 0;
}

void dmp_node_tokens_close(dmp_node_tokens_t *t)
{
    if (!t)
        return;
    dmp_node_tokens_flush(t);
    json_decref(t->pending);
    free(t->buckets);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- rows ---- */
static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static int row_put(dmp_node_tokens_t *t, const dmp_node_token_t *r)
{
    json_t *o =
        json_pack("{s:s,s:s,s:i,s:o,s:f,s:I,s:I,s:o,s:o,s:s,s:s,s:o}", "token_hash", r->token_hash,
                  "subject", r->subject, "subject_type", r->subject_type, "subject_hash12",
                  str_or_null(r->subject_hash12), "rate_per_sec", r->rate_per_sec, "rate_burst",
                  (json_int_t)r->rate_burst, "issued_at", (json_int_t)r->issued_at, "expires_at",
                  r->expires_at ? json_integer(r->expires_at) : json_null(), "revoked_at",
                  r->revoked_at ? json_integer(r->revoked_at) : json_null(), "issuer", r->issuer,
                  "note", r->note, "registered_spk", str_or_null(r->registered_spk));
    if (!o)
        return DMP_ENOMEM;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return DMP_ENOMEM;
    uint8_t key[65];
    key[0] = 't';
    memcpy(key + 1, r->token_hash, 64);
    int rc =
        dmp_store_kv_put(t->store, DMP_STORE_KV_TOKENS, key, 65, (const uint8_t *)s, strlen(s));
    free(s);
    return rc;
}

static void copy_str(char *dst, size_t cap, json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    snprintf(dst, cap, "%s", s);
}

static int row_parse(const uint8_t *val, size_t len, dmp_node_token_t *r)
{
    memset(r, 0, sizeof(*r));
    json_t *o = json_loadb((const char *)val, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return DMP_EFORMAT;
    }
    copy_str(r->token_hash, sizeof(r->token_hash), json_object_get(o, "token_hash"));
    copy_str(r->subject, sizeof(r->subject), json_object_get(o, "subject"));
    r->subject_type = (int)json_integer_value(json_object_get(o, "subject_type"));
    copy_str(r->subject_hash12, sizeof(r->subject_hash12), json_object_get(o, "subject_hash12"));
    r->rate_per_sec = json_number_value(json_object_get(o, "rate_per_sec"));
    r->rate_burst = json_integer_value(json_object_get(o, "rate_burst"));
    r->issued_at = json_integer_value(json_object_get(o, "issued_at"));
    r->expires_at = json_integer_value(json_object_get(o, "expires_at"));
    r->revoked_at = json_integer_value(json_object_get(o, "revoked_at"));
    copy_str(r->issuer, sizeof(r->issuer), json_object_get(o, "issuer"));
    copy_str(r->note, sizeof(r->note), json_object_get(o, "note"));
    copy_str(r->registered_spk, sizeof(r->registered_spk), json_object_get(o, "registered_spk"));
    json_decref(o);
    return strlen(r->token_hash) == 64 ? 0 : DMP_EFORMAT;
}

bool dmp_node_token_live(const dmp_node_token_t *r, int64_t now_s)
{
    if (r->revoked_at)
        return false;
    return r->expires_at == 0 || now_s < r->expires_at;
}

static int row_get(dmp_node_tokens_t *t, const char *hash, dmp_node_token_t *r)
{
    uint8_t key[65];
    key[0] = 't';
    memcpy(key + 1, hash, 64);
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_store_kv_get(t->store, DMP_STORE_KV_TOKENS, key, 65, &b);
    if (rc == 0)
        rc = row_parse(b.data, b.len, r);
    dmp_buf_free(&b);
    return rc;
}

int dmp_node_tokens_get(dmp_node_tokens_t *t, const char *hash_hex, dmp_node_token_t *out)
{
    if (!hash_hex || strlen(hash_hex) != 64)
        return DMP_EINVAL;
    pthread_mutex_lock(&t->mu);
    int rc = row_get(t, hash_hex, out);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

typedef struct {
    int (*fn)(void *ctx, const dmp_node_token_t *r);
    void *ctx;
    int rc;
} scan_t;

static int scan_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)key;
    (void)klen;
    scan_t *s = ctx;
    dmp_node_token_t r;
    if (row_parse(val, vlen, &r) != 0)
        return 0; /* skip a row we cannot read */
    s->rc = s->fn(s->ctx, &r);
    return s->rc;
}

static int scan_rows(dmp_node_tokens_t *t, int (*fn)(void *, const dmp_node_token_t *), void *ctx)
{
    scan_t s = {fn, ctx, 0};
    int rc =
        dmp_store_kv_scan(t->store, DMP_STORE_KV_TOKENS, (const uint8_t *)"t", 1, scan_visit, &s);
    return rc;
}

int dmp_node_tokens_scan(dmp_node_tokens_t *t, int (*fn)(void *ctx, const dmp_node_token_t *r),
                         void *ctx)
{
    pthread_mutex_lock(&t->mu);
    int rc = scan_rows(t, fn, ctx);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* ---- audit ---- */
static void audit_locked(dmp_node_tokens_t *t, int64_t ts, const char *event, const char *hash,
                         const char *subject, const char *remote, const char *detail)
{
    json_t *row = json_pack("[I,s,o,o,o,o]", (json_int_t)ts, event, str_or_null(hash),
                            str_or_null(subject), str_or_null(remote), str_or_null(detail));
    if (row)
        json_array_append_new(t->pending, row);
}

void dmp_node_tokens_audit(dmp_node_tokens_t *t, const char *event, const char *hash,
                           const char *subject, const char *remote, const char *detail)
{
    pthread_mutex_lock(&t->mu);
    audit_locked(t, t->now_s(), event, hash, subject, remote, detail);
    pthread_mutex_unlock(&t->mu);
}

static int flush_locked(dmp_node_tokens_t *t)
{
    if (json_array_size(t->pending) == 0)
        return 0;
    char *s = json_dumps(t->pending, JSON_COMPACT);
    if (!s)
        return DMP_ENOMEM;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    uint8_t key[13];
    key[0] = 'a';
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(us >> (56 - 8 * i));
    uint32_t seq = t->seq++;
    for (int i = 0; i < 4; i++)
        key[9 + i] = (uint8_t)(seq >> (24 - 8 * i));
    int rc = dmp_store_kv_put(t->store, DMP_STORE_KV_TOKENS, key, sizeof(key), (const uint8_t *)s,
                              strlen(s));
    free(s);
    if (rc == 0)
        json_array_clear(t->pending);
    return rc;
}

int dmp_node_tokens_flush(dmp_node_tokens_t *t)
{
    pthread_mutex_lock(&t->mu);
    int rc = flush_locked(t);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

typedef struct {
    dmp_node_audit_t *ring;
    size_t cap, n, next;
    const char *event;
} tail_t;

static void tail_add(tail_t *tl, json_t *row)
{
    if (!json_is_array(row) || json_array_size(row) < 6)
        return;
    const char *ev = json_string_value(json_array_get(row, 1));
    if (!ev || (tl->event && strcmp(ev, tl->event) != 0))
        return;
    dmp_node_audit_t *a = &tl->ring[tl->next];
    memset(a, 0, sizeof(*a));
    a->ts = json_integer_value(json_array_get(row, 0));
    snprintf(a->event, sizeof(a->event), "%s", ev);
    copy_str(a->token_hash, sizeof(a->token_hash), json_array_get(row, 2));
    copy_str(a->subject, sizeof(a->subject), json_array_get(row, 3));
    copy_str(a->remote_addr, sizeof(a->remote_addr), json_array_get(row, 4));
    copy_str(a->detail, sizeof(a->detail), json_array_get(row, 5));
    tl->next = (tl->next + 1) % tl->cap;
    if (tl->n < tl->cap)
        tl->n++;
}

static int tail_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    (void)key;
    (void)klen;
    tail_t *tl = ctx;
    json_t *arr = json_loadb((const char *)val, vlen, 0, NULL);
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) tail_add(tl, row);
    json_decref(arr);
    return 0;
}

int dmp_node_tokens_audit_tail(dmp_node_tokens_t *t, const char *event, size_t limit,
                               dmp_node_audit_t *out, size_t *n)
{
    *n = 0;
    if (limit == 0)
        return 0;
    tail_t tl = {out, limit, 0, 0, event && *event ? event : NULL};
    pthread_mutex_lock(&t->mu);
    int rc =
        dmp_store_kv_scan(t->store, DMP_STORE_KV_TOKENS, (const uint8_t *)"a", 1, tail_visit, &tl);
    size_t i;
    json_t *row;
    json_array_foreach(t->pending, i, row) tail_add(&tl, row);
    pthread_mutex_unlock(&t->mu);
    if (rc != 0)
        return rc;
    /* newest first: out[0] is the most recent */
    dmp_node_audit_t *tmp = malloc(tl.n * sizeof(*tmp));
    if (!tmp)
        return DMP_ENOMEM;
    for (size_t k = 0; k < tl.n; k++)
        tmp[k] = out[(tl.next + tl.cap - 1 - k) % tl.cap];
    memcpy(out, tmp, tl.n * sizeof(*tmp));
    free(tmp);
    *n = tl.n;
    return 0;
}

/* ---- per-token buckets (in memory, like the reference) ---- */
static bucket_t *bucket_find(dmp_node_tokens_t *t, const char *hash, bool create)
{
    uint64_t h = 0;
    for (int i = 0; i < 16; i++)
        h = h * 16 + (uint64_t)dmp_hex_digit(hash[i]);
    for (size_t i = 0; i < BUCKET_SLOTS; i++) {
        bucket_t *b = &t->buckets[(h + i) % BUCKET_SLOTS];
        if (b->hash[0] == 0) {
            if (!create)
                return NULL;
            if (t->nbuckets >= BUCKET_MAX) { /* a memory guard, as the reference: start over */
                memset(t->buckets, 0, BUCKET_SLOTS * sizeof(bucket_t));
                t->nbuckets = 0;
                return bucket_find(t, hash, true);
            }
            memcpy(b->hash, hash, 65);
            b->last_ns = -1;
            t->nbuckets++;
            return b;
        }
        if (memcmp(b->hash, hash, 64) == 0)
            return b;
    }
    return NULL;
}

/* Takes cost tokens, all or none (cost 0: allowed, the bucket untouched). */
static bool bucket_allow(dmp_node_tokens_t *t, const char *hash, double rate, int64_t burst,
                         unsigned cost)
{
    if (rate <= 0 || burst <= 0 || cost == 0)
        return true;
    bucket_t *b = bucket_find(t, hash, true);
    if (!b)
        return true;
    int64_t now = dmp_monotonic_ns();
    double tok = b->last_ns < 0
                     ? (double)burst
                     : fmin((double)burst, b->tokens + (double)(now - b->last_ns) / 1e9 * rate);
    b->last_ns = now;
    if (tok < (double)cost) {
        b->tokens = tok;
        return false;
    }
    b->tokens = tok - (double)cost;
    return true;
}

/* Forgetting a bucket: rebuild the probe chain without it. */
static void bucket_forget(dmp_node_tokens_t *t, const char *hash)
{
    bucket_t *b = bucket_find(t, hash, false);
    if (!b)
        return;
    size_t i = (size_t)(b - t->buckets);
    b->hash[0] = 0;
    t->nbuckets--;
    for (size_t j = (i + 1) % BUCKET_SLOTS; t->buckets[j].hash[0]; j = (j + 1) % BUCKET_SLOTS) {
        bucket_t tmp = t->buckets[j];
        t->buckets[j].hash[0] = 0;
        t->nbuckets--;
        bucket_t *nb = bucket_find(t, tmp.hash, true);
        if (nb) {
            nb->tokens = tmp.tokens;
            nb->last_ns = tmp.last_ns;
        }
    }
}

/* ---- authorisation (the reference's authorize_write, same order and audit rows) ---- */
dmp_node_authz_t dmp_node_tokens_authorize(dmp_node_tokens_t *t, const char *token, size_t tlen,
                                           const char *name, size_t nlen, const char *remote,
                                           bool is_delete, unsigned cost)
{
    if (!dmp_node_token_shape_ok(token, tlen))
        return DMP_NODE_AUTHZ_REJECT; /* "malformed token": no audit row */
    char hash[65];
    dmp_node_token_hash(token, tlen, hash);
    dmp_node_scope_t sc;
    dmp_node_classify_name(name, nlen, &sc);
    char detail[400];
    pthread_mutex_lock(&t->mu);
    int64_t now = t->now_s();
    dmp_node_token_t r;
    dmp_node_authz_t v = DMP_NODE_AUTHZ_REJECT;
    int rc = row_get(t, hash, &r);
    if (rc != 0) {
        audit_locked(t, now, "rejected", NULL, NULL, remote, "no such token");
        goto out;
    }
    if (!dmp_node_token_live(&r, now)) {
        audit_locked(t, now, "rejected", NULL, NULL, remote, "token expired or revoked");
        goto out;
    }
    if (sc.kind == DMP_NODE_SCOPE_OPERATOR || sc.kind == DMP_NODE_SCOPE_UNKNOWN) {
        snprintf(detail, sizeof(detail), "%s scope: %s",
                 sc.kind == DMP_NODE_SCOPE_OPERATOR ? "operator-only" : "unknown", sc.reason);
        audit_locked(t, now, "rejected", NULL, NULL, remote, detail);
        goto out;
    }
    if (sc.kind == DMP_NODE_SCOPE_OWNER) {
        const char *want = sc.subject;
        bool ok;
        const char *why;
        if (strncmp(want, "#id16:", 6) == 0 || strncmp(want, "#prekeys:", 9) == 0) {
            bool id16 = want[1] == 'i';
            const char *payload = want + (id16 ? 6 : 9);
            size_t hl = id16 ? 16 : 12;
            const char *at = strchr(r.subject, '@');
            size_t ulen = at ? (size_t)(at - r.subject) : strlen(r.subject);
            const char *dom = at ? at + 1 : "";
            char uh[65];
            dmp_node_sha256_hex(r.subject, ulen, uh);
            ok = memcmp(uh, payload, hl) == 0 && payload[hl] == '@' &&
                 strcmp(payload + hl + 1, dom) == 0;
            why = "hashed-namespace mismatch";
        } else if (want[0] == '#') {
            ok = r.subject_hash12[0] && strcmp(r.subject_hash12, want + 1) == 0;
            why = "subject_hash12 mismatch";
        } else {
            ok = strcmp(r.subject, want) == 0;
            why = "subject mismatch";
        }
        if (!ok) {
            snprintf(detail, sizeof(detail), "%s: want %s", why, want);
            audit_locked(t, now, "rejected", hash, r.subject, remote, detail);
            goto out;
        }
        if (!bucket_allow(t, hash, r.rate_per_sec, r.rate_burst, cost)) {
            audit_locked(t, now, "throttled", hash, r.subject, remote, "owner-exclusive");
            v = DMP_NODE_AUTHZ_THROTTLED;
            goto out;
        }
        audit_locked(t, now, "used", hash, r.subject, remote, "owner-exclusive");
        v = DMP_NODE_AUTHZ_OK;
        goto out;
    }
    /* shared pool: publish only; audit rows carry neither hash nor subject (split audit) */
    if (is_delete) {
        audit_locked(t, now, "rejected", NULL, NULL, remote, "shared-pool delete refused");
        goto out;
    }
    if (!bucket_allow(t, hash, r.rate_per_sec, r.rate_burst, cost)) {
        audit_locked(t, now, "throttled", NULL, NULL, remote, "shared-pool");
        v = DMP_NODE_AUTHZ_THROTTLED;
        goto out;
    }
    audit_locked(t, now, "used", NULL, NULL, remote, "shared-pool");
    v = DMP_NODE_AUTHZ_OK;
out:
    pthread_mutex_unlock(&t->mu);
    return v;
}

/* ---- issuance and revocation ---- */
static void new_row(dmp_node_tokens_t *t, const char *subject, const dmp_node_issue_t *o,
                    char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *r, int64_t now)
{
    dmp_node_token_generate(token);
    memset(r, 0, sizeof(*r));
    dmp_node_token_hash(token, DMP_NODE_TOKEN_LEN, r->token_hash);
    snprintf(r->subject, sizeof(r->subject), "%s", subject);
    r->subject_type = 1;
    snprintf(r->subject_hash12, sizeof(r->subject_hash12), "%s",
             o->subject_hash12 ? o->subject_hash12 : "");
    r->rate_per_sec = o->rate_per_sec;
    r->rate_burst = o->rate_burst;
    r->issued_at = now;
    r->expires_at = o->expires_in_s > 0 ? now + o->expires_in_s : 0;
    snprintf(r->issuer, sizeof(r->issuer), "%s", o->issuer ? o->issuer : "");
    snprintf(r->note, sizeof(r->note), "%s", o->note ? o->note : "");
    snprintf(r->registered_spk, sizeof(r->registered_spk), "%s",
             o->registered_spk ? o->registered_spk : "");
    (void)t;
}

int dmp_node_tokens_issue(dmp_node_tokens_t *t, const char *subject, const dmp_node_issue_t *o,
                          char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row)
{
    char canon[256], detail[600];
    if (dmp_node_subject_canonical(subject, strlen(subject), canon, sizeof(canon), detail,
                                   sizeof(detail)) != 0)
        return DMP_EINVAL;
    pthread_mutex_lock(&t->mu);
    int64_t now = t->now_s();
    new_row(t, canon, o, token, row, now);
    int rc = row_put(t, row);
    if (rc == 0) {
        snprintf(detail, sizeof(detail), "issuer='%s' note='%s'", row->issuer, row->note);
        audit_locked(t, now, "issued", row->token_hash, canon, o->remote, detail);
        flush_locked(t);
    }
    pthread_mutex_unlock(&t->mu);
    if (rc != 0)
        sodium_memzero(token, DMP_NODE_TOKEN_LEN + 1);
    return rc;
}

typedef struct {
    const char *subject;
    dmp_node_token_t *rows;
    size_t n, cap;
    bool self_service_only;
    bool live_only;
    int64_t now;
} collect_t;

static int collect_subject(void *ctx, const dmp_node_token_t *r)
{
    collect_t *c = ctx;
    if (strcmp(r->subject, c->subject) != 0 || r->revoked_at)
        return 0;
    if (c->self_service_only && !r->registered_spk[0])
        return 0;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8;
        dmp_node_token_t *nr = realloc(c->rows, nc * sizeof(*nr));
        if (!nr)
            return 1;
        c->rows = nr;
        c->cap = nc;
    }
    c->rows[c->n++] = *r;
    return 0;
}

static int revoke_row_locked(dmp_node_tokens_t *t, dmp_node_token_t *r, int64_t now)
{
    r->revoked_at = now;
    int rc = row_put(t, r);
    if (rc == 0)
        bucket_forget(t, r->token_hash);
    return rc;
}

int dmp_node_tokens_rotate_self_service(dmp_node_tokens_t *t, const char *canon_subject,
                                        const char *spk_hex, const dmp_node_issue_t *o,
                                        char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row)
{
    if (!spk_hex || strlen(spk_hex) != 64)
        return DMP_EINVAL;
    char spk[65];
    for (int i = 0; i < 64; i++)
        spk[i] = (char)((spk_hex[i] >= 'A' && spk_hex[i] <= 'Z') ? spk_hex[i] + 32 : spk_hex[i]);
    spk[64] = 0;
    pthread_mutex_lock(&t->mu);
    int64_t now = t->now_s();
    collect_t c = {.subject = canon_subject, .self_service_only = true, .now = now};
    int rc = scan_rows(t, collect_subject, &c);
    if (rc == 0) {
        for (size_t i = 0; i < c.n; i++) {
            if (dmp_node_token_live(&c.rows[i], now) && strcmp(c.rows[i].registered_spk, spk))
                rc = DMP_EEXIST; /* anti-takeover: 409 */
        }
    }
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        rc = revoke_row_locked(t, &c.rows[i], now);
        if (rc == 0)
            audit_locked(t, now, "revoked", c.rows[i].token_hash, canon_subject, o->remote,
                         "self-service rotate: superseded");
    }
    if (rc == 0) {
        dmp_node_issue_t oo = *o;
        oo.issuer = "self-service";
        oo.note = "";
        oo.subject_hash12 = NULL;
        oo.registered_spk = spk;
        new_row(t, canon_subject, &oo, token, row, now);
        rc = row_put(t, row);
        if (rc == 0)
            audit_locked(t, now, "issued", row->token_hash, canon_subject, o->remote,
                         "self-service");
    }
    flush_locked(t);
    pthread_mutex_unlock(&t->mu);
    free(c.rows);
    if (rc != 0)
        sodium_memzero(token, DMP_NODE_TOKEN_LEN + 1);
    return rc;
}

int dmp_node_tokens_revoke_hash(dmp_node_tokens_t *t, const char *hash, const char *remote)
{
    pthread_mutex_lock(&t->mu);
    int64_t now = t->now_s();
    dmp_node_token_t r;
    int rc = row_get(t, hash, &r);
    if (rc == 0 && r.revoked_at)
        rc = DMP_ENOTFOUND;
    if (rc == 0)
        rc = revoke_row_locked(t, &r, now);
    if (rc == 0) {
        audit_locked(t, now, "revoked", hash, r.subject, remote, NULL);
        flush_locked(t);
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

int dmp_node_tokens_revoke_subject(dmp_node_tokens_t *t, const char *subject, const char *remote,
                                   size_t *count)
{
    *count = 0;
    char canon[256], detail[600];
    if (dmp_node_subject_canonical(subject, strlen(subject), canon, sizeof(canon), detail,
                                   sizeof(detail)) != 0)
        return 0;
    pthread_mutex_lock(&t->mu);
    int64_t now = t->now_s();
    collect_t c = {.subject = canon, .now = now};
    int rc = scan_rows(t, collect_subject, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        rc = revoke_row_locked(t, &c.rows[i], now);
        if (rc == 0)
            (*count)++;
    }
    if (*count) {
        snprintf(detail, sizeof(detail), "by_subject count=%zu", *count);
        audit_locked(t, now, "revoked", NULL, canon, remote, detail);
        flush_locked(t);
    }
    pthread_mutex_unlock(&t->mu);
    free(c.rows);
    return rc;
}

/* ---- operator helpers (dnsmesh-admin) ---- */
typedef struct {
    const char *prefix;
    size_t plen;
    dmp_node_token_t hit;
    size_t n;
    int64_t now;
} prefix_t;

static int prefix_visit(void *ctx, const dmp_node_token_t *r)
{
    prefix_t *p = ctx;
    if (r->revoked_at || strncmp(r->token_hash, p->prefix, p->plen) != 0)
        return 0;
    if (p->n++ == 0)
        p->hit = *r;
    return 0;
}

int dmp_node_tokens_revoke_target(dmp_node_tokens_t *t, const char *target, const char *remote,
                                  size_t *count, dmp_node_token_t *which)
{
    *count = 0;
    memset(which, 0, sizeof(*which));
    int rc = dmp_node_tokens_revoke_subject(t, target, remote, count);
    if (rc != 0 || *count)
        return rc;
    char low[65];
    size_t n = strlen(target);
    if (n == 0 || n > 64)
        return DMP_ENOTFOUND;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)((target[i] >= 'A' && target[i] <= 'Z') ? target[i] + 32 : target[i]);
    prefix_t p = {.prefix = low, .plen = n};
    pthread_mutex_lock(&t->mu);
    rc = scan_rows(t, prefix_visit, &p);
    pthread_mutex_unlock(&t->mu);
    if (rc != 0)
        return rc;
    if (p.n == 0)
        return DMP_ENOTFOUND;
    if (p.n > 1) {
        *count = p.n;
        return DMP_EDUP;
    }
    rc = dmp_node_tokens_revoke_hash(t, p.hit.token_hash, remote);
    if (rc == 0) {
        *count = 1;
        *which = p.hit;
    }
    return rc;
}

/* ---- bulk load (dnsmesh-admin import-reference) ---- */
int dmp_node_tokens_put(dmp_node_tokens_t *t, const dmp_node_token_t *row)
{
    if (strlen(row->token_hash) != 64)
        return DMP_EINVAL;
    for (int i = 0; i < 64; i++) {
        char c = row->token_hash[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return DMP_EINVAL;
    }
    pthread_mutex_lock(&t->mu);
    int rc = row_put(t, row);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void dmp_node_tokens_audit_at(dmp_node_tokens_t *t, int64_t ts, const char *event, const char *hash,
                              const char *subject, const char *remote, const char *detail)
{
    pthread_mutex_lock(&t->mu);
    audit_locked(t, ts, event, hash, subject, remote, detail);
    if (json_array_size(t->pending) >= 1000)
        flush_locked(t);
    pthread_mutex_unlock(&t->mu);
}
