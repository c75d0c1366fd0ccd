/* crypto: DMPv2 envelope and address canonicalization (client.md §1.9, §3.7). */
#include "crypto/crypto.h"

#include <jansson.h>

static bool is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    if (!is_lower_alnum((unsigned char)s[0]) || !is_lower_alnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

int dmp_crypto_canonicalize_address(const char *addr, size_t len, char *out, size_t out_cap,
                                    size_t *out_len)
{
    if (!out || out_cap == 0 || (!addr && len))
        return DMP_EINVAL;
    out[0] = '\0';
    if (out_len)
        *out_len = 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)addr[i] >= 0x80)
            return DMP_CRYPTO_EADDR;
    size_t b = 0, e = len;
    while (b < e && dmp_py_space((unsigned char)addr[b]))
        b++;
    while (e > b && dmp_py_space((unsigned char)addr[e - 1]))
        e--;
    const char *s = addr + b;
    size_t n = e - b;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '@') {
            if (at != SIZE_MAX)
                return DMP_CRYPTO_EADDR;
            at = i;
        }
    }
    if (at == SIZE_MAX)
        return DMP_CRYPTO_EADDR;
    size_t local_len = at;
    const char *host = s + at + 1;
    size_t host_len = n - at - 1;
    while (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    if (local_len == 0 || host_len == 0 || host_len > 253 || local_len > 64)
        return DMP_CRYPTO_EADDR;
    if (local_len + 1 + host_len + 1 > out_cap)
        return DMP_ETOOBIG;

    /* Work on a lowercased copy written straight into out. */
    for (size_t i = 0; i < local_len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    out[local_len] = '@';
    char *h = out + local_len + 1;
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];
        h[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    }
    out[local_len + 1 + host_len] = '\0';

    /* local: ^[a-z0-9][a-z0-9_\-.]{0,63}$, no trailing '.', no "..". */
    bool ok = is_lower_alnum((unsigned char)out[0]) && out[local_len - 1] != '.';
    for (size_t i = 1; ok && i < local_len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (!is_lower_alnum(c) && c != '_' && c != '-' && c != '.')
            ok = false;
        else if (c == '.' && out[i - 1] == '.')
            ok = false;
    }
    /* host: every dot-separated label ^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$. */
    size_t start = 0;
    for (size_t i = 0; ok && i <= host_len; i++) {
        if (i == host_len || h[i] == '.') {
            ok = label_ok(h + start, i - start);
            start = i + 1;
        }
    }
    if (!ok) {
        out[0] = '\0';
        return DMP_CRYPTO_EADDR;
    }
    if (out_len)
        *out_len = local_len + 1 + host_len;
    return 0;
}

int dmp_crypto_envelope_encode(const uint8_t *body, size_t body_len, const char *sender_addr,
                               size_t sender_len, dmp_buf_t *out)
{
    char canon[DMP_CRYPTO_ADDR_MAX + 1];
    size_t clen = 0;

    if (!out || (!body && body_len))
        return DMP_EINVAL;
    /* Canonical addresses contain only [a-z0-9_.@-]: no JSON escaping is ever needed. */
    if (sender_addr &&
        dmp_crypto_canonicalize_address(sender_addr, sender_len, canon, sizeof canon, &clen) == 0 &&
        clen + 11 <= DMP_CRYPTO_ENVELOPE_MAX_HEADER) {
        int rc = dmp_buf_reserve(out, 6 + 11 + clen + 1 + body_len);
        if (rc)
            return rc;
        dmp_buf_append_str(out, DMP_CRYPTO_ENVELOPE_MAGIC);
        dmp_buf_append_str(out, "{\"from\":\"");
        dmp_buf_append(out, canon, clen);
        dmp_buf_append_str(out, "\"}\n");
    }
    return body_len ? dmp_buf_append(out, body, body_len) : 0;
}

int dmp_crypto_envelope_decode(const uint8_t *pt, size_t len, const uint8_t **body,
                               size_t *body_len, char *from, size_t from_cap, bool *has_from)
{
    static const uint8_t empty[1];
    const size_t mlen = sizeof DMP_CRYPTO_ENVELOPE_MAGIC - 1;
    json_error_t jerr;

    if (!body || !body_len || !from || from_cap == 0 || !has_from || (!pt && len))
        return DMP_EINVAL;
    if (!pt)
        pt = empty;
    *body = pt;
    *body_len = len;
    from[0] = '\0';
    *has_from = false;
    if (len < mlen || memcmp(pt, DMP_CRYPTO_ENVELOPE_MAGIC, mlen) != 0)
        return 0;
    const uint8_t *rest = pt + mlen;
    size_t rest_len = len - mlen;
    size_t win = rest_len < DMP_CRYPTO_ENVELOPE_MAX_HEADER + 1 ? rest_len
                                                               : DMP_CRYPTO_ENVELOPE_MAX_HEADER + 1;
    const uint8_t *nl = memchr(rest, '\n', win);
    if (!nl)
        return 0;
    size_t hlen = (size_t)(nl - rest);
    for (size_t i = 0; i < hlen; i++)
        if (rest[i] >= 0x80)
            return 0;
    /* JSON_ALLOW_NUL: Python accepts "\u0000" inside strings; INT_AS_REAL: Python accepts
     * integers of any size. Remaining differences from Python's json (header then falls back
     * to the whole plaintext): NaN/Infinity literals, numbers beyond double range, lone
     * surrogate escapes. */
    json_t *hdr =
        json_loadb((const char *)rest, hlen, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!hdr)
        return 0;
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return 0;
    }
    *body = nl + 1;
    *body_len = rest_len - hlen - 1;
    json_t *f = json_object_get(hdr, "from");
    if (f && json_is_string(f)) {
        size_t clen = 0;
        if (dmp_crypto_canonicalize_address(json_string_value(f), json_string_length(f), from,
                                            from_cap, &clen) == 0)
            *has_from = true;
        else
            from[0] = '\0';
    }
    json_decref(hdr);
    return 0;
}
