/* node: TSIG keystore, scope rules, minting, registered recipients (see tsig_keys.h). */
#include "node/tsig_keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "dns/dns.h"
#include "util/util.h"

static pthread_mutex_t g_mint_mu = PTHREAD_MUTEX_INITIALIZER;

void dmp_node_tsig_rec_wipe(dmp_node_tsig_rec_t *r)
{
    if (r)
        sodium_memzero(r, sizeof(*r));
}

bool dmp_node_tsig_active(const dmp_node_tsig_rec_t *r, int64_t now_s)
{
    return !r->revoked && (r->expires_at == 0 || r->expires_at > now_s);
}

/* lowercase, strip one trailing dot (and a leading one for suffixes) */
static int norm_name(const char *in, char *out, size_t cap, bool strip_lead)
{
    size_t n = strlen(in);
    while (n && in[n - 1] == '.')
        n--;
    size_t i = 0;
    if (strip_lead)
        while (i < n && in[i] == '.')
            i++;
    if (n - i + 1 > cap)
        return DMP_ETOOBIG;
    for (size_t k = i; k < n; k++) {
        char c = in[k];
        out[k - i] = (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c;
    }
    out[n - i] = '\0';
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void sort_suffixes(dmp_node_tsig_rec_t *r)
{
    qsort(r->suffixes, r->n_suffixes, sizeof(r->suffixes[0]), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < r->n_suffixes; i++)
        if (w == 0 || strcmp(r->suffixes[w - 1], r->suffixes[i]) != 0) {
            if (w != i)
                memcpy(r->suffixes[w], r->suffixes[i], sizeof(r->suffixes[0]));
            w++;
        }
    r->n_suffixes = w;
}

/* ---------------------------------------------------------------------------------------- */
/* encoding                                                                                    */

int dmp_node_tsig_encode(const dmp_node_tsig_rec_t *r, dmp_buf_t *out)
{
    char sec[2 * DMP_TSIG_MAX_SECRET + 1];
    if (dmp_hex_encode(r->key.secret, r->key.secret_len, sec, sizeof(sec)) != 0)
        return DMP_EINVAL;
    json_t *suf = json_array();
    for (size_t i = 0; i < r->n_suffixes; i++)
        json_array_append_new(suf, json_string(r->suffixes[i]));
    json_t *o =
        json_pack("{s:i, s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:s, s:s}", "v", 1, "name",
                  r->key.name, "algorithm", dmp_tsig_alg_name(r->key.alg), "secret", sec,
                  "allowed_suffixes", suf, "subject", r->subject, "created_at",
                  (json_int_t)r->created_at, "expires_at", (json_int_t)r->expires_at, "revoked",
                  r->revoked, "registered_spk", r->spk_hex, "registered_x25519_pub", r->x25519_hex);
    sodium_memzero(sec, sizeof(sec));
    if (!o)
        return DMP_ENOMEM;
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        return DMP_ENOMEM;
    size_t sl = strlen(s);
    int rc = dmp_buf_append(out, s, sl);
    sodium_memzero(s, sl);
    free(s);
    return rc;
}

static int copy_str(json_t *o, const char *k, char *out, size_t cap, bool lower)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return DMP_EFORMAT;
    const char *s = json_string_value(v);
    if (lower)
        return norm_name(s, out, cap, false);
    if (strlen(s) >= cap)
        return DMP_EFORMAT;
    strcpy(out, s);
    return 0;
}

int dmp_node_tsig_decode(const uint8_t *p, size_t len, dmp_node_tsig_rec_t *r)
{
    memset(r, 0, sizeof(*r));
    json_t *o = json_loadb((const char *)p, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return DMP_EFORMAT;
    }
    int rc = DMP_EFORMAT;
    char alg[64], sec[2 * DMP_TSIG_MAX_SECRET + 2];
    json_t *suf = json_object_get(o, "allowed_suffixes");
    if (json_integer_value(json_object_get(o, "v")) != 1 ||
        copy_str(o, "name", r->key.name, sizeof(r->key.name), true) ||
        copy_str(o, "algorithm", alg, sizeof(alg), false) ||
        copy_str(o, "secret", sec, sizeof(sec), false) ||
        copy_str(o, "subject", r->subject, sizeof(r->subject), false) ||
        copy_str(o, "registered_spk", r->spk_hex, sizeof(r->spk_hex), false) ||
        copy_str(o, "registered_x25519_pub", r->x25519_hex, sizeof(r->x25519_hex), false) ||
        !json_is_array(suf) || json_array_size(suf) > DMP_NODE_TSIG_MAX_SUFFIXES)
        goto out;
    if (dmp_tsig_alg_parse(alg, strlen(alg), &r->key.alg) != 0)
        goto out;
    size_t sl = strlen(sec);
    if (sl == 0 || sl % 2 || sl / 2 > DMP_TSIG_MAX_SECRET ||
        dmp_hex_decode(sec, sl, r->key.secret, sl / 2) != 0)
        goto out;
    r->key.secret_len = sl / 2;
    for (size_t i = 0; i < json_array_size(suf); i++) {
        json_t *e = json_array_get(suf, i);
        if (!json_is_string(e) ||
            norm_name(json_string_value(e), r->suffixes[r->n_suffixes], 254, true) != 0)
            goto out;
        r->n_suffixes++;
    }
    r->created_at = (int64_t)json_integer_value(json_object_get(o, "created_at"));
    r->expires_at = (int64_t)json_integer_value(json_object_get(o, "expires_at"));
    r->revoked = json_is_true(json_object_get(o, "revoked"));
    rc = 0;
out:
    sodium_memzero(sec, sizeof(sec));
    json_decref(o);
    if (rc != 0)
        dmp_node_tsig_rec_wipe(r);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* store                                                                                       */

int dmp_node_tsig_put(dmp_store_t *s, const dmp_node_tsig_rec_t *r)
{
    char name[256];
    if (norm_name(r->key.name, name, sizeof(name), false) != 0 || !name[0])
        return DMP_EINVAL;
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_node_tsig_encode(r, &b);
    if (rc == 0)
        rc = dmp_store_kv_put(s, DMP_STORE_KV_TSIG, (const uint8_t *)name, strlen(name), b.data,
                              b.len);
    dmp_buf_free_secret(&b);
    return rc;
}

int dmp_node_tsig_get(dmp_store_t *s, const char *name_in, dmp_node_tsig_rec_t *r)
{
    char name[256];
    if (norm_name(name_in, name, sizeof(name), false) != 0 || !name[0])
        return DMP_ENOTFOUND;
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_store_kv_get(s, DMP_STORE_KV_TSIG, (const uint8_t *)name, strlen(name), &b);
    if (rc == 0)
        rc = dmp_node_tsig_decode(b.data, b.len, r);
    dmp_buf_free_secret(&b);
    return rc;
}

typedef struct {
    dmp_node_tsig_visit_fn fn;
    void *ctx;
    dmp_node_tsig_rec_t rec;
} list_ctx_t;

static int list_visit(void *ctx, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    (void)key;
    (void)key_len;
    list_ctx_t *l = ctx;
    if (dmp_node_tsig_decode(val, val_len, &l->rec) != 0)
        return 0; /* unreadable rows are skipped, as the reference skips them */
    int r = l->fn(l->ctx, &l->rec);
    dmp_node_tsig_rec_wipe(&l->rec);
    return r;
}

int dmp_node_tsig_list(dmp_store_t *s, dmp_node_tsig_visit_fn fn, void *ctx)
{
    list_ctx_t *l = calloc(1, sizeof(*l));
    if (!l)
        return DMP_ENOMEM;
    l->fn = fn;
    l->ctx = ctx;
    int rc = dmp_store_kv_scan(s, DMP_STORE_KV_TSIG, (const uint8_t *)"", 0, list_visit, l);
    dmp_node_tsig_rec_wipe(&l->rec);
    free(l);
    return rc;
}

int dmp_node_tsig_revoke(dmp_store_t *s, const char *name)
{
    dmp_node_tsig_rec_t r;
    pthread_mutex_lock(&g_mint_mu);
    int rc = dmp_node_tsig_get(s, name, &r);
    if (rc == 0) {
        r.revoked = true;
        rc = dmp_node_tsig_put(s, &r);
    }
    pthread_mutex_unlock(&g_mint_mu);
    dmp_node_tsig_rec_wipe(&r);
    return rc;
}

int dmp_node_tsig_lookup(void *ctx, const char *lname, dmp_tsig_key_t *out)
{
    const dmp_node_tsig_env_t *e = ctx;
    dmp_node_tsig_rec_t r;
    int rc = dmp_node_tsig_get(e->store, lname, &r);
    if (rc == DMP_EFORMAT)
        rc = DMP_ENOTFOUND;
    if (rc == 0 && !dmp_node_tsig_active(&r, e->now_s))
        rc = DMP_ENOTFOUND;
    if (rc == 0)
        *out = r.key;
    dmp_node_tsig_rec_wipe(&r);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* scope                                                                                       */

/* One label against one pattern label: '*' matches any run of characters (never a dot). */
static bool label_match(const char *s, size_t sl, const char *p, size_t pl)
{
    const char *star = memchr(p, '*', pl);
    if (!star)
        return sl == pl && memcmp(s, p, pl) == 0;
    size_t pre = (size_t)(star - p);
    const char *last = p + pl; /* just after the last '*' */
    while (last[-1] != '*')
        last--;
    size_t post = (size_t)(p + pl - last);
    if (pre + post > sl || memcmp(s, p, pre) != 0 || memcmp(s + sl - post, last, post) != 0)
        return false;
    size_t si = pre, se = sl - post;
    for (const char *q = star + 1; q < last;) {
        const char *nx = memchr(q, '*', (size_t)(last - q)); /* found: last[-1] is '*' */
        size_t ml = (size_t)(nx - q);
        bool found = false;
        for (size_t k = si; k + ml <= se; k++)
            if (memcmp(s + k, q, ml) == 0) {
                si = k + ml;
                found = true;
                break;
            }
        if (!found)
            return false;
        q = nx + 1;
    }
    return true;
}

bool dmp_node_tsig_scope_match(const char *owner_in, const char *suffix_in)
{
    char owner[256], suf[256];
    if (norm_name(owner_in, owner, sizeof(owner), false) != 0 ||
        norm_name(suffix_in, suf, sizeof(suf), true) != 0 || !suf[0] || !owner[0])
        return false;
    size_t ol = strlen(owner), sl = strlen(suf);
    if (!strchr(suf, '*'))
        return dmp_dns_name_in_zone(owner, ol, suf, sl);
    /* right-aligned label comparison */
    size_t oi = ol, si = sl;
    for (;;) {
        size_t ob = oi, sb = si;
        while (ob > 0 && owner[ob - 1] != '.')
            ob--;
        while (sb > 0 && suf[sb - 1] != '.')
            sb--;
        if (!label_match(owner + ob, oi - ob, suf + sb, si - sb))
            return false;
        if (sb == 0)
            return true; /* pattern exhausted: extra leading owner labels allowed */
        if (ob == 0)
            return false; /* owner has fewer labels than the pattern */
        oi = ob - 1;
        si = sb - 1;
    }
}

bool dmp_node_tsig_covers(const dmp_node_tsig_rec_t *r, const char *owner, bool del)
{
    for (size_t i = 0; i < r->n_suffixes; i++) {
        if (!dmp_node_tsig_scope_match(owner, r->suffixes[i]))
            continue;
        if (!del || !strchr(r->suffixes[i], '*'))
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* minting                                                                                     */

void dmp_node_tsig_random_secret(uint8_t *out, size_t n)
{
    randombytes_buf(out, n);
}

/* "<pre>.<zone>" (or the zone alone) into the next suffix slot; nonzero when it cannot fit. */
static int add_suffix(dmp_node_tsig_rec_t *r, const char *pre, const char *zone)
{
    if (r->n_suffixes >= DMP_NODE_TSIG_MAX_SUFFIXES)
        return 1;
    size_t pl = pre ? strlen(pre) + 1 : 0, zl = strlen(zone);
    if (pl + zl + 1 > sizeof(r->suffixes[0]))
        return 1;
    char *d = r->suffixes[r->n_suffixes++];
    if (pre) {
        memcpy(d, pre, pl - 1);
        d[pl - 1] = '.';
    }
    memcpy(d + pl, zone, zl + 1);
    return 0;
}

static void hex_of_sha256(const void *p, size_t n, char out[65])
{
    uint8_t h[32];
    dmp_crypto_sha256(p, n, h);
    dmp_hex_encode(h, 32, out, 65);
}

typedef struct {
    const char *subject;
    const char *spk_hex;
    int64_t now;
    bool conflict;
} takeover_ctx_t;

static int takeover_visit(void *ctx, const dmp_node_tsig_rec_t *r)
{
    takeover_ctx_t *t = ctx;
    if (dmp_node_tsig_active(r, t->now) && strcmp(r->subject, t->subject) == 0 && r->spk_hex[0] &&
        strcmp(r->spk_hex, t->spk_hex) != 0) {
        t->conflict = true;
        return 1;
    }
    return 0;
}

int dmp_node_tsig_mint(dmp_store_t *s, const char *subject, const uint8_t spk[32],
                       const uint8_t *x25519, const dmp_node_tsig_mint_opts_t *o, int64_t now_s,
                       dmp_node_tsig_rec_t *out)
{
    if (!s || !subject || !spk || !o || !o->zone || !out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    const char *at = strrchr(subject, '@');
    if (!at || at == subject)
        return DMP_EINVAL;
    size_t local_len = (size_t)(at - subject);
    char local[256];
    if (local_len >= sizeof(local))
        return DMP_ETOOBIG;
    for (size_t i = 0; i < local_len; i++)
        local[i] =
            (subject[i] >= 'A' && subject[i] <= 'Z') ? (char)(subject[i] | 0x20) : subject[i];
    local[local_len] = '\0';
    char zone[254];
    if (norm_name(o->zone, zone, sizeof(zone), true) != 0 || !zone[0])
        return DMP_EINVAL;
    char spk_hex[65], local_h[65];
    dmp_hex_encode(spk, 32, spk_hex, sizeof(spk_hex));
    hex_of_sha256(local, local_len, local_h);
    /* <local>-<spk8>-<sha256(subject)[:6]>.<zone>: the label is <= 63, so local <= 47 */
    int nr = dmp_crypto_tsig_key_name(local, local_len, spk, subject, strlen(subject), zone,
                                      strlen(zone), out->key.name, sizeof(out->key.name));
    if (nr != 0)
        return nr == DMP_ENAME ? DMP_ETOOBIG : nr;
    size_t kl = strlen(out->key.name);
    while (kl && out->key.name[kl - 1] == '.')
        out->key.name[--kl] = '\0';
    out->key.alg = DMP_TSIG_HMAC_SHA256;
    out->key.secret_len = 32;
    dmp_node_tsig_random_secret(out->key.secret, 32);
    snprintf(out->subject, sizeof(out->subject), "%s", subject);
    snprintf(out->spk_hex, sizeof(out->spk_hex), "%s", spk_hex);
    out->created_at = now_s;
    out->expires_at = o->ttl_s > 0 ? now_s + o->ttl_s : 0;
    if (x25519)
        dmp_hex_encode(x25519, 32, out->x25519_hex, sizeof(out->x25519_hex));
    char pre[80];
    int bad = 0;
    if (o->loose) {
        bad |= add_suffix(out, NULL, zone);
    } else {
        snprintf(pre, sizeof(pre), "id-%.16s", local_h);
        bad |= add_suffix(out, pre, zone);
        snprintf(pre, sizeof(pre), "id-%.12s", local_h);
        bad |= add_suffix(out, pre, zone);
        snprintf(pre, sizeof(pre), "_dnsmesh-claim-%.16s", spk_hex);
        bad |= add_suffix(out, pre, zone);
        if (!o->tight) {
            bad |= add_suffix(out, "_dnsmesh-claim-*", zone);
            bad |= add_suffix(out, "slot-*.mb-*", zone);
            bad |= add_suffix(out, "chunk-*-*", zone);
            bad |= add_suffix(out, "claim-*.mb-*", zone);
        }
        if (x25519) {
            uint8_t h1[32], h2[32];
            dmp_crypto_sha256(x25519, 32, h1);
            dmp_crypto_sha256(h1, 32, h2);
            char hh[65];
            dmp_hex_encode(h2, 32, hh, sizeof(hh));
            snprintf(pre, sizeof(pre), "mb-%.12s", hh);
            bad |= add_suffix(out, pre, zone);
        }
    }
    if (bad) {
        dmp_node_tsig_rec_wipe(out);
        return DMP_ETOOBIG;
    }
    sort_suffixes(out);
    pthread_mutex_lock(&g_mint_mu);
    takeover_ctx_t t = {subject, spk_hex, now_s, false};
    int rc = dmp_node_tsig_list(s, takeover_visit, &t);
    if (rc == 0 && t.conflict)
        rc = DMP_EEXIST;
    if (rc == 0)
        rc = dmp_node_tsig_put(s, out);
    pthread_mutex_unlock(&g_mint_mu);
    if (rc != 0)
        dmp_node_tsig_rec_wipe(out);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* registered recipients (§5.5)                                                                */

typedef struct {
    const char *zone;
    size_t zl;
    const char *hash12;
    int64_t now;
    bool found;
} recip_ctx_t;

static bool is_hex12(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

static int recip_visit(void *ctx, const dmp_node_tsig_rec_t *r)
{
    recip_ctx_t *c = ctx;
    if (!dmp_node_tsig_active(r, c->now))
        return 0;
    bool covers = false;
    for (size_t i = 0; i < r->n_suffixes; i++) {
        const char *s = r->suffixes[i];
        size_t sl = strlen(s);
        if (sl == c->zl && strcmp(s, c->zone) == 0) {
            covers = true;
            continue;
        }
        if (sl <= c->zl + 1 || s[sl - c->zl - 1] != '.' || strcmp(s + sl - c->zl, c->zone) != 0)
            continue;
        size_t hl = sl - c->zl - 1; /* the labels before ".zone" */
        const char *dot = memchr(s, '.', hl);
        if (!dot) {
            if (strncmp(s, "mb-", 3) == 0)
                covers = true;
            /* a literal mb-<12 hex> suffix registers its hash by itself */
            if (hl == 15 && strncmp(s, "mb-", 3) == 0 && is_hex12(s + 3) &&
                strncmp(s + 3, c->hash12, 12) == 0)
                c->found = true;
            continue;
        }
        const char *right = dot + 1;
        if (!memchr(right, '.', (size_t)(s + hl - right)) && strncmp(right, "mb-", 3) == 0 &&
            (strncmp(s, "slot-", 5) == 0 || strncmp(s, "claim-", 6) == 0))
            covers = true;
    }
    if (covers && strlen(r->x25519_hex) == 64) {
        uint8_t pub[32], h1[32], h2[32];
        if (dmp_hex_decode(r->x25519_hex, 64, pub, 32) == 0) {
            dmp_crypto_sha256(pub, 32, h1);
            dmp_crypto_sha256(h1, 32, h2);
            char hh[65];
            dmp_hex_encode(h2, 32, hh, sizeof(hh));
            if (strncmp(hh, c->hash12, 12) == 0)
                c->found = true;
        }
    }
    return c->found ? 1 : 0;
}

int dmp_node_tsig_recipient_registered(dmp_store_t *s, const char *zone, const char *hash12,
                                       int64_t now_s, bool *out)
{
    *out = false;
    recip_ctx_t c = {zone, strlen(zone), hash12, now_s, false};
    int rc = dmp_node_tsig_list(s, recip_visit, &c);
    *out = c.found;
    return rc;
}
