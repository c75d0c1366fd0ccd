/* node: bearer-token shapes, subject canonicalisation (NFKC via ICU) and the record-name scope
 * classifier of the reference's multi-tenant auth (node.md §5.2). Pure functions. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "node/node.h"

#define TOKEN_PREFIX "dmp_v1_"
#define TOKEN_BODY_LEN 52

static void b32_nopad(const uint8_t *in, size_t n, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = A[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = A[(acc << (5 - bits)) & 31];
    out[o] = 0;
}

void dmp_node_token_generate(char out[DMP_NODE_TOKEN_LEN + 1])
{
    uint8_t raw[32];
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, TOKEN_PREFIX, 7);
    b32_nopad(raw, sizeof(raw), out + 7);
    sodium_memzero(raw, sizeof(raw));
}

bool dmp_node_token_shape_ok(const char *tok, size_t len)
{
    if (len != 7 + TOKEN_BODY_LEN || memcmp(tok, TOKEN_PREFIX, 7) != 0)
        return false;
    /* the reference: body.isalnum() and body.isupper() -> A-Z and 0-9, at least one letter */
    bool letter = false;
    for (size_t i = 7; i < len; i++) {
        char c = tok[i];
        if (c >= 'A' && c <= 'Z')
            letter = true;
        else if (!(c >= '0' && c <= '9'))
            return false;
    }
    return letter;
}

void dmp_node_token_hash(const char *tok, size_t len, char hex[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, (const uint8_t *)tok, len);
    dmp_hex_encode(h, 32, hex, 65);
}

void dmp_node_sha256_hex(const void *data, size_t len, char hex[65])
{
    uint8_t h[32];
    crypto_hash_sha256(h, data, len);
    dmp_hex_encode(h, 32, hex, 65);
}

/* Python's repr() of a str, close enough for messages: single quotes unless the text holds a
 * single quote and no double quote; backslash, quotes and control characters escaped. */
static void py_repr(const char *s, size_t n, char *out, size_t cap)
{
    bool dq = memchr(s, '\'', n) && !memchr(s, '"', n);
    char q = dq ? '"' : '\'';
    size_t o = 0;
    if (cap < 3) {
        if (cap)
            out[0] = 0;
        return;
    }
    out[o++] = q;
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = q;
    out[o] = 0;
}

static bool is_ld(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]([a-z0-9-]*[a-z0-9])? with no length bound (subject domains) or 1..63 (names). */
static bool label_ok(const char *s, size_t n, bool bounded)
{
    if (n == 0 || (bounded && n > 63) || !is_ld(s[0]) || !is_ld(s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_ld(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* LABEL(.LABEL)+ */
static bool domain_ok(const char *s, size_t n, bool bounded)
{
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!label_ok(s + start, i - start, bounded))
                return false;
            labels++;
            start = i + 1;
        }
    }
    return labels >= 2;
}

static bool subject_shape_ok(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || at == s || !is_ld(s[0]))
        return false;
    for (const char *p = s + 1; p < at; p++) {
        char c = *p;
        if (!is_ld(c) && c != '.' && c != '_' && c != '+' && c != '-')
            return false;
    }
    return domain_ok(at + 1, (size_t)(s + n - at - 1), false);
}

int dmp_node_subject_canonical(const char *raw, size_t len, char *out, size_t cap, char *detail,
                               size_t dcap)
{
    if (detail && dcap)
        detail[0] = 0;
    if (len == 0) {
        snprintf(detail, dcap, "subject must be a non-empty string");
        return DMP_EINVAL;
    }
    /* NFKC on UTF-16 */
    UErrorCode ue = U_ZERO_ERROR;
    int32_t ulen = 0;
    u_strFromUTF8(NULL, 0, &ulen, raw, (int32_t)len, &ue);
    if (ue != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(ue)) {
        snprintf(detail, dcap, "subject must be ASCII; got non-ASCII character at position 0");
        return DMP_EINVAL;
    }
    if (len > 4096) {
        snprintf(detail, dcap, "subject must be ASCII; got non-ASCII character at position 0");
        return DMP_EINVAL;
    }
    UChar src[4097], dst[4 * 4097];
    ue = U_ZERO_ERROR;
    u_strFromUTF8(src, 4097, &ulen, raw, (int32_t)len, &ue);
    if (U_FAILURE(ue)) {
        snprintf(detail, dcap, "subject must be ASCII; got non-ASCII character at position 0");
        return DMP_EINVAL;
    }
    ue = U_ZERO_ERROR;
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&ue);
    int32_t dlen = U_FAILURE(ue) ? -1 : unorm2_normalize(nfkc, src, ulen, dst, 4 * 4097, &ue);
    if (U_FAILURE(ue) || dlen < 0) {
        snprintf(detail, dcap, "subject normalisation failed");
        return DMP_EINVAL;
    }
    /* strip() (Unicode whitespace), then lower() and the ASCII rule */
    int32_t b = 0, e = dlen;
    while (b < e && u_isUWhiteSpace(dst[b]))
        b++;
    while (e > b && u_isUWhiteSpace(dst[e - 1]))
        e--;
    size_t o = 0;
    int32_t cp_index = 0;
    for (int32_t i = b; i < e; i++, cp_index++) {
        UChar c = dst[i];
        if (c >= 0x80) {
            snprintf(detail, dcap, "subject must be ASCII; got non-ASCII character at position %d",
                     (int)cp_index);
            return DMP_EINVAL;
        }
        if (o + 1 >= cap) {
            snprintf(detail, dcap, "subject too long");
            return DMP_ETOOBIG;
        }
        out[o++] = (char)tolower((int)c);
    }
    out[o] = 0;
    if (!subject_shape_ok(out, o)) {
        char rep[600];
        py_repr(raw, len, rep, sizeof(rep));
        snprintf(detail, dcap, "subject does not match <local>@<fqdn> shape: %s", rep);
        return DMP_EINVAL;
    }
    return 0;
}

/* prefix "<lit>" then digits then '.' ; returns the length consumed or 0 */
static size_t lit_digits(const char *s, size_t n, const char *lit, char term)
{
    size_t l = strlen(lit);
    if (n <= l || memcmp(s, lit, l) != 0)
        return 0;
    size_t i = l;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == l || i >= n || s[i] != term)
        return 0;
    return i + 1;
}

static bool hexn(const char *s, size_t n, size_t want)
{
    if (n < want)
        return false;
    for (size_t i = 0; i < want; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* "<LABEL>.<DOMAIN>" at s: the user label and the domain */
static bool user_domain(const char *s, size_t n, size_t *ulen)
{
    const char *dot = memchr(s, '.', n);
    if (!dot)
        return false;
    *ulen = (size_t)(dot - s);
    return label_ok(s, *ulen, true) && domain_ok(dot + 1, n - *ulen - 1, true);
}

static void set_scope(dmp_node_scope_t *sc, dmp_node_scope_kind_t k, const char *reason)
{
    sc->kind = k;
    sc->reason = reason;
}

void dmp_node_classify_name(const char *name, size_t len, dmp_node_scope_t *sc)
{
    memset(sc, 0, sizeof(*sc));
    char n[256];
    while (len && name[len - 1] == '.')
        len--;
    if (len == 0) {
        set_scope(sc, DMP_NODE_SCOPE_UNKNOWN, "empty name");
        return;
    }
    if (len > 253) {
        set_scope(sc, DMP_NODE_SCOPE_UNKNOWN, "non-ASCII or disallowed chars");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)name[i]);
        if (!is_ld(c) && c != '.' && c != '-') {
            set_scope(sc, DMP_NODE_SCOPE_UNKNOWN, "non-ASCII or disallowed chars");
            return;
        }
        n[i] = c;
    }
    n[len] = 0;
    if (strstr(n, "..") || n[0] == '.') {
        set_scope(sc, DMP_NODE_SCOPE_UNKNOWN, "empty label(s) in name");
        return;
    }
    if (!memchr(n, '.', len)) {
        set_scope(sc, DMP_NODE_SCOPE_UNKNOWN, "no dots — not an FQDN");
        return;
    }
    size_t ul;
    /* dmp.<user>.<domain> */
    if (len > 4 && memcmp(n, "dmp.", 4) == 0 && user_domain(n + 4, len - 4, &ul)) {
        snprintf(sc->subject, sizeof(sc->subject), "%.*s@%s", (int)ul, n + 4, n + 4 + ul + 1);
        set_scope(sc, DMP_NODE_SCOPE_OWNER, "");
        return;
    }
    /* id-<hash16>.<domain> */
    if (len > 20 && memcmp(n, "id-", 3) == 0 && hexn(n + 3, len - 3, 16) && n[19] == '.' &&
        domain_ok(n + 20, len - 20, true)) {
        snprintf(sc->subject, sizeof(sc->subject), "#id16:%.16s@%s", n + 3, n + 20);
        set_scope(sc, DMP_NODE_SCOPE_OWNER, "hashed identity");
        return;
    }
    /* prekeys.id-<hash12>.<domain> */
    if (len > 24 && memcmp(n, "prekeys.id-", 11) == 0 && hexn(n + 11, len - 11, 12) &&
        n[23] == '.' && domain_ok(n + 24, len - 24, true)) {
        snprintf(sc->subject, sizeof(sc->subject), "#prekeys:%.12s@%s", n + 11, n + 24);
        set_scope(sc, DMP_NODE_SCOPE_OWNER, "prekey pool hash-scoped");
        return;
    }
    /* rotate.dmp.id-<hash12>.<domain>: operator only */
    if (len > 27 && memcmp(n, "rotate.dmp.id-", 14) == 0 && hexn(n + 14, len - 14, 12) &&
        n[26] == '.' && domain_ok(n + 27, len - 27, true)) {
        set_scope(sc, DMP_NODE_SCOPE_OPERATOR,
                  "hash-form rotation not issuable to end-user tokens in v1");
        return;
    }
    /* rotate.dmp.<user>.<domain> */
    if (len > 11 && memcmp(n, "rotate.dmp.", 11) == 0 && user_domain(n + 11, len - 11, &ul)) {
        snprintf(sc->subject, sizeof(sc->subject), "%.*s@%s", (int)ul, n + 11, n + 11 + ul + 1);
        set_scope(sc, DMP_NODE_SCOPE_OWNER, "");
        return;
    }
    size_t k;
    /* pk-<digits>.<hash12>.<domain> */
    if ((k = lit_digits(n, len, "pk-", '.')) && hexn(n + k, len - k, 12) && len > k + 13 &&
        n[k + 12] == '.' && domain_ok(n + k + 13, len - k - 13, true)) {
        snprintf(sc->subject, sizeof(sc->subject), "#%.12s", n + k);
        set_scope(sc, DMP_NODE_SCOPE_OWNER, "prekey hash-scoped");
        return;
    }
    /* slot-<digits>.mb-<hash12>.<domain> */
    if ((k = lit_digits(n, len, "slot-", '.')) && len > k + 16 && memcmp(n + k, "mb-", 3) == 0 &&
        hexn(n + k + 3, len - k - 3, 12) && n[k + 15] == '.' &&
        domain_ok(n + k + 16, len - k - 16, true)) {
        set_scope(sc, DMP_NODE_SCOPE_SHARED, "mailbox slot");
        return;
    }
    /* chunk-<digits>-<hash12>.<domain> */
    if ((k = lit_digits(n, len, "chunk-", '-')) && hexn(n + k, len - k, 12) && len > k + 13 &&
        n[k + 12] == '.' && domain_ok(n + k + 13, len - k - 13, true)) {
        set_scope(sc, DMP_NODE_SCOPE_SHARED, "message chunk");
        return;
    }
    set_scope(sc, DMP_NODE_SCOPE_OPERATOR, "reserved or unrecognized record namespace");
}
