/* dns: TSIG (RFC 8945): find and parse the TSIG RR, verify requests, sign replies, build the
 * error answers. HMACs come from OpenSSL's EVP_MAC; the MAC input is fed in pieces so the
 * message is never copied. */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/dns.h"
#include "util/util.h"

/* ---------------------------------------------------------------------------------------- */
/* algorithms                                                                                  */

typedef struct {
    dmp_tsig_alg_t alg;
    const char *name;   /* RFC 8945 §6 algorithm name, no trailing dot */
    const char *digest; /* OpenSSL digest name */
    size_t mac_len;
} alg_info_t;

static const alg_info_t k_algs[] = {
    {DMP_TSIG_HMAC_MD5, "hmac-md5.sig-alg.reg.int", "MD5", 16},
    {DMP_TSIG_HMAC_SHA1, "hmac-sha1", "SHA1", 20},
    {DMP_TSIG_HMAC_SHA224, "hmac-sha224", "SHA224", 28},
    {DMP_TSIG_HMAC_SHA256, "hmac-sha256", "SHA256", 32},
    {DMP_TSIG_HMAC_SHA384, "hmac-sha384", "SHA384", 48},
    {DMP_TSIG_HMAC_SHA512, "hmac-sha512", "SHA512", 64},
};

static const alg_info_t *alg_info(dmp_tsig_alg_t a)
{
    for (size_t i = 0; i < sizeof(k_algs) / sizeof(k_algs[0]); i++)
        if (k_algs[i].alg == a)
            return &k_algs[i];
    return NULL;
}

const char *dmp_tsig_alg_name(dmp_tsig_alg_t alg)
{
    const alg_info_t *ai = alg_info(alg);
    return ai ? ai->name : "unknown";
}

size_t dmp_tsig_alg_mac_len(dmp_tsig_alg_t alg)
{
    const alg_info_t *ai = alg_info(alg);
    return ai ? ai->mac_len : 0;
}

int dmp_tsig_alg_parse(const char *s, size_t len, dmp_tsig_alg_t *out)
{
    if (!s || !out)
        return DMP_EINVAL;
    if (len > 0 && s[len - 1] == '.')
        len--;
    for (size_t i = 0; i < sizeof(k_algs) / sizeof(k_algs[0]); i++) {
        const char *n = k_algs[i].name;
        size_t nl = strlen(n);
        if ((len == nl && strncasecmp(s, n, len) == 0) ||
            (k_algs[i].alg == DMP_TSIG_HMAC_MD5 && len == 8 && strncasecmp(s, n, 8) == 0)) {
            *out = k_algs[i].alg;
            return 0;
        }
    }
    *out = DMP_TSIG_ALG_UNKNOWN;
    return DMP_EUNSUPPORTED;
}

void dmp_tsig_key_wipe(dmp_tsig_key_t *k)
{
    if (k)
        dmp_wipe(k, sizeof(*k));
}

void dmp_tsig_state_wipe(dmp_tsig_state_t *st)
{
    if (st)
        dmp_wipe(st, sizeof(*st));
}

/* ---------------------------------------------------------------------------------------- */
/* HMAC                                                                                        */

static EVP_MAC *g_hmac;
static pthread_once_t g_hmac_once = PTHREAD_ONCE_INIT;

static void hmac_init(void)
{
    g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

typedef struct {
    EVP_MAC_CTX *ctx;
} mac_t;

static int mac_begin(mac_t *m, const dmp_tsig_key_t *key)
{
    const alg_info_t *ai = alg_info(key->alg);
    if (!ai || key->secret_len == 0 || key->secret_len > DMP_TSIG_MAX_SECRET)
        return DMP_EINVAL;
    pthread_once(&g_hmac_once, hmac_init);
    if (!g_hmac)
        return DMP_ECRYPTO;
    m->ctx = EVP_MAC_CTX_new(g_hmac);
    if (!m->ctx)
        return DMP_ENOMEM;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)ai->digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(m->ctx, key->secret, key->secret_len, params) != 1) {
        EVP_MAC_CTX_free(m->ctx);
        m->ctx = NULL;
        return DMP_ECRYPTO;
    }
    return 0;
}

static void mac_add(mac_t *m, const void *p, size_t n)
{
    if (m->ctx && n)
        (void)EVP_MAC_update(m->ctx, p, n);
}

static int mac_end(mac_t *m, uint8_t out[DMP_TSIG_MAX_MAC], size_t *out_len)
{
    size_t ol = 0;
    int ok = EVP_MAC_final(m->ctx, out, &ol, DMP_TSIG_MAX_MAC);
    EVP_MAC_CTX_free(m->ctx);
    m->ctx = NULL;
    if (ok != 1)
        return DMP_ECRYPTO;
    *out_len = ol;
    return 0;
}

/* The TSIG variables of RFC 8945 §4.3.3 (key and algorithm names in canonical wire form). */
typedef struct {
    const uint8_t *key_wire;
    size_t key_wire_len;
    const uint8_t *alg_wire;
    size_t alg_wire_len;
    uint64_t time_signed;
    uint16_t fudge;
    uint16_t error;
    const uint8_t *other;
    uint16_t other_len;
} vars_t;

static int alg_wire(dmp_tsig_alg_t alg, uint8_t *out, size_t cap, size_t *len)
{
    const alg_info_t *ai = alg_info(alg);
    if (!ai)
        return DMP_EINVAL;
    return dmp_dns_name_from_text(ai->name, strlen(ai->name), out, cap, len);
}

static void mac_vars(mac_t *m, const vars_t *v)
{
    uint8_t b[16];
    mac_add(m, v->key_wire, v->key_wire_len);
    dmp_store_u16be(b, DMP_DNS_C_ANY);
    dmp_store_u32be(b + 2, 0);
    mac_add(m, b, 6);
    mac_add(m, v->alg_wire, v->alg_wire_len);
    dmp_store_u16be(b, (uint16_t)(v->time_signed >> 32));
    dmp_store_u32be(b + 2, (uint32_t)v->time_signed);
    dmp_store_u16be(b + 6, v->fudge);
    dmp_store_u16be(b + 8, v->error);
    dmp_store_u16be(b + 10, v->other_len);
    mac_add(m, b, 12);
    mac_add(m, v->other, v->other_len);
}

/* MAC over [request MAC] + message (header patched: ID, ARCOUNT) + variables. */
static int compute_mac(const dmp_tsig_key_t *key, const uint8_t *req_mac, size_t req_mac_len,
                       bool chained, const uint8_t *msg, size_t msg_len, uint16_t id,
                       uint16_t arcount, const vars_t *v, uint8_t out[DMP_TSIG_MAX_MAC],
                       size_t *out_len)
{
    if (msg_len < DMP_DNS_HDR_LEN)
        return DMP_EINVAL;
    mac_t m = {0};
    int rc = mac_begin(&m, key);
    if (rc != 0)
        return rc;
    if (chained) {
        uint8_t l[2];
        dmp_store_u16be(l, (uint16_t)req_mac_len);
        mac_add(&m, l, 2);
        mac_add(&m, req_mac, req_mac_len);
    }
    uint8_t h[DMP_DNS_HDR_LEN];
    memcpy(h, msg, sizeof(h));
    dmp_store_u16be(h, id);
    dmp_store_u16be(h + 10, arcount);
    mac_add(&m, h, sizeof(h));
    mac_add(&m, msg + DMP_DNS_HDR_LEN, msg_len - DMP_DNS_HDR_LEN);
    mac_vars(&m, v);
    return mac_end(&m, out, out_len);
}

/* ---------------------------------------------------------------------------------------- */
/* parsing                                                                                     */

static void wire_lower(uint8_t *w, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t l = w[i];
        if (l == 0 || i + 1 + l > n)
            break;
        for (size_t k = 1; k <= l; k++)
            if (w[i + k] >= 'A' && w[i + k] <= 'Z')
                w[i + k] |= 0x20;
        i += 1 + (size_t)l;
    }
}

int dmp_tsig_find(const uint8_t *m, size_t len, dmp_tsig_rr_t *out)
{
    if (!m || !out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    if (len < DMP_DNS_HDR_LEN)
        return DMP_EFORMAT;
    uint16_t qd = dmp_load_u16be(m + 4), an = dmp_load_u16be(m + 6), ns = dmp_load_u16be(m + 8),
             ar = dmp_load_u16be(m + 10);
    size_t off = DMP_DNS_HDR_LEN;
    dmp_dns_rr_t rr;
    for (unsigned i = 0; i < qd; i++) {
        if (dmp_dns_rr_read(m, len, off, true, &rr) != 0)
            return DMP_EFORMAT;
        if (rr.type == DMP_DNS_T_TSIG)
            return DMP_EFORMAT;
        off = rr.next;
    }
    unsigned total = (unsigned)an + ns + ar;
    bool found = false;
    for (unsigned i = 0; i < total; i++) {
        if (dmp_dns_rr_read(m, len, off, false, &rr) != 0)
            return DMP_EFORMAT;
        if (rr.type == DMP_DNS_T_TSIG) {
            /* RFC 8945 §5.1: only as the last record of the additional section */
            if (i != total - 1 || ar == 0)
                return DMP_EFORMAT;
            found = true;
            break;
        }
        off = rr.next;
    }
    if (!found)
        return DMP_ENOTFOUND;
    if (rr.rclass != DMP_DNS_C_ANY || rr.ttl != 0 || rr.next != len)
        return DMP_EFORMAT;
    out->rr_off = rr.start;
    out->rr_end = rr.next;
    /* key name: canonical = lowercased uncompressed wire */
    memcpy(out->key_wire, rr.owner, rr.owner_len);
    out->key_wire_len = rr.owner_len;
    wire_lower(out->key_wire, out->key_wire_len);
    if (dmp_dns_wire_name_text(out->key_wire, out->key_wire_len, out->key_name,
                               sizeof(out->key_name), NULL, NULL) != 0)
        return DMP_EFORMAT;
    size_t rd = rr.rdata_off, rend = rr.next;
    size_t p = 0;
    if (dmp_dns_msg_name(m, rend, rd, out->alg_wire, &out->alg_wire_len, &p) != 0)
        return DMP_EFORMAT;
    wire_lower(out->alg_wire, out->alg_wire_len);
    char at[256];
    size_t atl = 0;
    if (dmp_dns_wire_name_text(out->alg_wire, out->alg_wire_len, at, sizeof(at), &atl, NULL) != 0)
        return DMP_EFORMAT;
    /* only the RFC 8945 §6 names; "hmac-md5" alone is a key-file alias, not a wire name */
    if (dmp_tsig_alg_parse(at, atl, &out->alg) != 0 || atl == 8)
        out->alg = DMP_TSIG_ALG_UNKNOWN;
    if (rend - p < 10)
        return DMP_EFORMAT;
    out->time_signed = (uint64_t)dmp_load_u16be(m + p) << 32 | dmp_load_u32be(m + p + 2);
    out->fudge = dmp_load_u16be(m + p + 6);
    out->mac_len = dmp_load_u16be(m + p + 8);
    p += 10;
    if (rend - p < (size_t)out->mac_len + 6)
        return DMP_EFORMAT;
    out->mac = m + p;
    p += out->mac_len;
    out->orig_id = dmp_load_u16be(m + p);
    out->error = dmp_load_u16be(m + p + 2);
    out->other_len = dmp_load_u16be(m + p + 4);
    p += 6;
    if (rend - p != out->other_len)
        return DMP_EFORMAT;
    out->other = m + p;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* server side                                                                                 */

int dmp_tsig_verify_request(const uint8_t *m, size_t len, int64_t now_s,
                            dmp_tsig_key_lookup_fn lookup, void *ctx, dmp_tsig_state_t *st)
{
    if (!m || !st)
        return DMP_EINVAL;
    memset(st, 0, sizeof(*st));
    int rc = dmp_tsig_find(m, len, &st->rr);
    if (rc == DMP_ENOTFOUND) {
        st->status = DMP_TSIG_NONE;
        return 0;
    }
    if (rc != 0) {
        st->status = DMP_TSIG_FORMERR;
        return 0;
    }
    const dmp_tsig_rr_t *t = &st->rr;
    /* §5.2.1 key check: unknown key, unknown algorithm or one that is not the key's -> BADKEY */
    int lr = lookup ? lookup(ctx, t->key_name, &st->key) : DMP_ENOTFOUND;
    if (lr != 0 && lr != DMP_ENOTFOUND) {
        dmp_tsig_state_wipe(st);
        return DMP_EIO;
    }
    if (lr == DMP_ENOTFOUND || t->alg == DMP_TSIG_ALG_UNKNOWN || st->key.alg != t->alg ||
        st->key.secret_len == 0) {
        dmp_tsig_key_wipe(&st->key);
        st->status = DMP_TSIG_BAD_UNSIGNED;
        st->error = DMP_TSIG_ERR_BADKEY;
        return 0;
    }
    /* §5.2.2.1 MAC size rules */
    size_t hl = dmp_tsig_alg_mac_len(t->alg);
    size_t min = hl / 2 > 10 ? hl / 2 : 10;
    if (t->mac_len > hl || t->mac_len < min) {
        dmp_tsig_key_wipe(&st->key);
        st->status = DMP_TSIG_FORMERR;
        return 0;
    }
    /* §5.2.2 MAC check */
    vars_t v = {t->key_wire, t->key_wire_len, t->alg_wire, t->alg_wire_len, t->time_signed,
                t->fudge,    t->error,        t->other,    t->other_len};
    uint8_t mac[DMP_TSIG_MAX_MAC];
    size_t ml = 0;
    rc = compute_mac(&st->key, NULL, 0, false, m, t->rr_off, t->orig_id,
                     (uint16_t)(dmp_load_u16be(m + 10) - 1), &v, mac, &ml);
    if (rc != 0) {
        dmp_tsig_state_wipe(st);
        return rc;
    }
    if (!dmp_ct_equal(mac, t->mac_len, t->mac, t->mac_len)) {
        dmp_tsig_key_wipe(&st->key);
        st->status = DMP_TSIG_BAD_UNSIGNED;
        st->error = DMP_TSIG_ERR_BADSIG;
        return 0;
    }
    memcpy(st->req_mac, t->mac, t->mac_len);
    st->req_mac_len = t->mac_len;
    /* §5.2.3 time check, with the request's fudge */
    int64_t d = now_s - (int64_t)t->time_signed;
    if (d < 0)
        d = -d;
    if (d > (int64_t)t->fudge) {
        st->status = DMP_TSIG_BAD_SIGNED;
        st->error = DMP_TSIG_ERR_BADTIME;
        return 0;
    }
    st->status = DMP_TSIG_OK;
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* signing                                                                                     */

static int append_rr(uint8_t *m, size_t *len, size_t cap, const vars_t *v, const uint8_t *mac,
                     size_t mac_len, uint16_t orig_id)
{
    size_t rdlen = v->alg_wire_len + 10 + mac_len + 6 + v->other_len;
    size_t need = v->key_wire_len + 10 + rdlen;
    if (*len > cap || cap - *len < need)
        return DMP_ETOOBIG;
    uint8_t *p = m + *len;
    memcpy(p, v->key_wire, v->key_wire_len);
    p += v->key_wire_len;
    dmp_store_u16be(p, DMP_DNS_T_TSIG);
    dmp_store_u16be(p + 2, DMP_DNS_C_ANY);
    dmp_store_u32be(p + 4, 0);
    dmp_store_u16be(p + 8, (uint16_t)rdlen);
    p += 10;
    memcpy(p, v->alg_wire, v->alg_wire_len);
    p += v->alg_wire_len;
    dmp_store_u16be(p, (uint16_t)(v->time_signed >> 32));
    dmp_store_u32be(p + 2, (uint32_t)v->time_signed);
    dmp_store_u16be(p + 6, v->fudge);
    dmp_store_u16be(p + 8, (uint16_t)mac_len);
    p += 10;
    if (mac_len)
        memcpy(p, mac, mac_len);
    p += mac_len;
    dmp_store_u16be(p, orig_id);
    dmp_store_u16be(p + 2, v->error);
    dmp_store_u16be(p + 4, v->other_len);
    p += 6;
    if (v->other_len)
        memcpy(p, v->other, v->other_len);
    p += v->other_len;
    *len = (size_t)(p - m);
    dmp_store_u16be(m + 10, (uint16_t)(dmp_load_u16be(m + 10) + 1));
    return 0;
}

int dmp_tsig_sign(uint8_t *m, size_t *len, size_t cap, const dmp_tsig_key_t *key,
                  const uint8_t *req_mac, size_t req_mac_len, uint64_t time_signed, uint16_t fudge,
                  uint16_t error, const uint8_t *other, uint16_t other_len)
{
    if (!m || !len || !key || *len < DMP_DNS_HDR_LEN || *len > cap || (req_mac_len && !req_mac) ||
        req_mac_len > DMP_TSIG_MAX_MAC)
        return DMP_EINVAL;
    if (dmp_load_u16be(m + 10) == 0xFFFF)
        return DMP_ETOOBIG;
    uint8_t kw[255];
    size_t kwl = 0;
    int rc = dmp_dns_name_from_text(key->name, strlen(key->name), kw, sizeof(kw), &kwl);
    if (rc != 0)
        return rc;
    wire_lower(kw, kwl);
    uint8_t aw[64];
    size_t awl = 0;
    rc = alg_wire(key->alg, aw, sizeof(aw), &awl);
    if (rc != 0)
        return rc;
    vars_t v = {kw, kwl, aw, awl, time_signed & 0xFFFFFFFFFFFFULL, fudge, error, other, other_len};
    uint8_t mac[DMP_TSIG_MAX_MAC];
    size_t ml = 0;
    uint16_t id = dmp_load_u16be(m);
    rc = compute_mac(key, req_mac, req_mac_len, req_mac != NULL, m, *len, id,
                     dmp_load_u16be(m + 10), &v, mac, &ml);
    if (rc != 0)
        return rc;
    rc = append_rr(m, len, cap, &v, mac, ml, id);
    dmp_wipe(mac, sizeof(mac));
    return rc;
}

int dmp_tsig_sign_next(uint8_t *m, size_t *len, size_t cap, const dmp_tsig_key_t *key,
                       const uint8_t *prior_mac, size_t prior_len, uint64_t time_signed,
                       uint16_t fudge, uint8_t out_mac[DMP_TSIG_MAX_MAC], size_t *out_mac_len)
{
    if (!m || !len || !key || !prior_mac || !out_mac || !out_mac_len || *len < DMP_DNS_HDR_LEN ||
        *len > cap || prior_len > DMP_TSIG_MAX_MAC)
        return DMP_EINVAL;
    if (dmp_load_u16be(m + 10) == 0xFFFF)
        return DMP_ETOOBIG;
    uint8_t kw[255], aw[64];
    size_t kwl = 0, awl = 0;
    int rc = dmp_dns_name_from_text(key->name, strlen(key->name), kw, sizeof(kw), &kwl);
    if (rc == 0)
        rc = alg_wire(key->alg, aw, sizeof(aw), &awl);
    if (rc != 0)
        return rc;
    wire_lower(kw, kwl);
    /* §5.3.1: prior MAC (with its length), this message as it is, then only the timers */
    mac_t mc = {0};
    rc = mac_begin(&mc, key);
    if (rc != 0)
        return rc;
    uint8_t b[8];
    dmp_store_u16be(b, (uint16_t)prior_len);
    mac_add(&mc, b, 2);
    mac_add(&mc, prior_mac, prior_len);
    mac_add(&mc, m, *len);
    time_signed &= 0xFFFFFFFFFFFFULL;
    dmp_store_u16be(b, (uint16_t)(time_signed >> 32));
    dmp_store_u32be(b + 2, (uint32_t)time_signed);
    dmp_store_u16be(b + 6, fudge);
    mac_add(&mc, b, 8);
    rc = mac_end(&mc, out_mac, out_mac_len);
    if (rc != 0)
        return rc;
    vars_t v = {kw, kwl, aw, awl, time_signed, fudge, DMP_TSIG_ERR_NONE, NULL, 0};
    return append_rr(m, len, cap, &v, out_mac, *out_mac_len, dmp_load_u16be(m));
}

int dmp_tsig_reply_finish(const dmp_tsig_state_t *st, int64_t now_s, uint8_t *m, size_t *len,
                          size_t cap)
{
    if (!st || !m || !len)
        return DMP_EINVAL;
    const dmp_tsig_rr_t *t = &st->rr;
    switch (st->status) {
    case DMP_TSIG_OK:
        return dmp_tsig_sign(m, len, cap, &st->key, st->req_mac, st->req_mac_len, (uint64_t)now_s,
                             DMP_TSIG_DEFAULT_FUDGE, DMP_TSIG_ERR_NONE, NULL, 0);
    case DMP_TSIG_BAD_SIGNED: {
        /* BADTIME: signed, Time Signed echoes the request, Other Data = our time (48 bits) */
        uint8_t other[6];
        dmp_store_u16be(other, (uint16_t)((uint64_t)now_s >> 32));
        dmp_store_u32be(other + 2, (uint32_t)now_s);
        return dmp_tsig_sign(m, len, cap, &st->key, st->req_mac, st->req_mac_len, t->time_signed,
                             t->fudge, st->error, other, 6);
    }
    case DMP_TSIG_BAD_UNSIGNED: {
        /* §5.3.2: unsigned error: a TSIG RR echoing the request's key and algorithm names,
         * with MAC size 0 and the error code. */
        if (dmp_load_u16be(m + 10) == 0xFFFF)
            return DMP_ETOOBIG;
        vars_t v = {t->key_wire,
                    t->key_wire_len,
                    t->alg_wire,
                    t->alg_wire_len,
                    (uint64_t)now_s & 0xFFFFFFFFFFFFULL,
                    t->fudge,
                    st->error,
                    NULL,
                    0};
        return append_rr(m, len, cap, &v, NULL, 0, dmp_load_u16be(m));
    }
    default:
        return 0;
    }
}

int dmp_tsig_error_reply(const uint8_t *req, size_t len, const dmp_tsig_state_t *st, int64_t now_s,
                         uint8_t *out, size_t cap, size_t *out_len)
{
    if (!req || !st || !out || !out_len)
        return DMP_EINVAL;
    *out_len = 0;
    if (len < DMP_DNS_HDR_LEN || (req[2] & 0x80))
        return 0;
    uint8_t rcode = st->status == DMP_TSIG_FORMERR ? DMP_DNS_RCODE_FORMERR : DMP_DNS_RCODE_NOTAUTH;
    /* echo the question / zone section when it parses (one entry at most) */
    size_t qend = DMP_DNS_HDR_LEN;
    uint16_t qd = 0;
    if (dmp_load_u16be(req + 4) == 1) {
        dmp_dns_rr_t rr;
        if (dmp_dns_rr_read(req, len, DMP_DNS_HDR_LEN, true, &rr) == 0 &&
            rr.next - 4 == DMP_DNS_HDR_LEN + rr.owner_len) {
            qend = rr.next;
            qd = 1;
        }
    }
    if (cap < qend)
        return DMP_ETOOBIG;
    memcpy(out, req, qend);
    out[2] = (uint8_t)(0x80 | (req[2] & 0x78) | (req[2] & 0x01)); /* QR, opcode, RD */
    out[3] = rcode;
    dmp_store_u16be(out + 4, qd);
    memset(out + 6, 0, 6);
    size_t n = qend;
    int rc = dmp_tsig_reply_finish(st, now_s, out, &n, cap);
    if (rc != 0)
        return rc;
    *out_len = n;
    return 0;
}
