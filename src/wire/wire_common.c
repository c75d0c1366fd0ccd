/* wire: error names, UTF-8, base64 framing, signatures, DNS names, TXT split/join, owner names. */
#include <stdio.h>

#include "wire/wire_internal.h"

const char *dmp_wire_strerror(int err)
{
    switch (err) {
    case DMP_EWIRE_PREFIX:
        return "record prefix missing or wrong";
    case DMP_EWIRE_B64:
        return "record payload is not valid base64";
    case DMP_EWIRE_SHORT:
        return "record blob too short";
    case DMP_EWIRE_LEN:
        return "record length not allowed";
    case DMP_EWIRE_MAGIC:
        return "record magic wrong";
    case DMP_EWIRE_VERSION:
        return "record version field not acceptable";
    case DMP_EWIRE_SIG:
        return "record signature does not verify";
    case DMP_EWIRE_WEAKKEY:
        return "record signer key is a blocked weak key";
    case DMP_EWIRE_EXPIRED:
        return "record expired";
    case DMP_EWIRE_FUTURE:
        return "record time too far in the future";
    case DMP_EWIRE_NAME:
        return "invalid DNS name";
    case DMP_EWIRE_SIGNER:
        return "record signer differs from the expected key";
    case DMP_EWIRE_COUNT:
        return "record count field out of range";
    case DMP_EWIRE_DUP:
        return "duplicate entry in record";
    case DMP_EWIRE_TOOBIG:
        return "record wire too long";
    case DMP_EWIRE_UTF8:
        return "record string not valid UTF-8/ASCII";
    case DMP_EWIRE_FIELD:
        return "record field out of range";
    case DMP_EWIRE_TRAILING:
        return "trailing bytes after record body";
    case DMP_EWIRE_TRUNC:
        return "record body truncated";
    case DMP_EWIRE_SUBJECT:
        return "invalid rotation/revocation subject";
    case DMP_EWIRE_SAMEKEY:
        return "rotation old and new keys are equal";
    case DMP_EWIRE_ENDPOINT:
        return "invalid heartbeat endpoint";
    case DMP_EWIRE_CHARS:
        return "forbidden control or whitespace character";
    case DMP_EWIRE_TSORDER:
        return "record exp not after ts";
    case DMP_EWIRE_STALE:
        return "record too old";
    case DMP_EWIRE_NOHASHES:
        return "manifest carries no chunk hashes";
    case DMP_EWIRE_EXPECTED:
        return "record name/subject differs from the expected one";
    case DMP_EWIRE_TYPE:
        return "record type differs from the expected one";
    case DMP_EWIRE_CHUNKHASH:
        return "chunk does not match the manifest hash";
    default:
        return dmp_strerror(err);
    }
}

bool dmp_wire__ascii(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80)
            return false;
    return true;
}

bool dmp_wire__utf8_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            uint8_t cc = p[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += need + 1;
    }
    return true;
}

size_t dmp_wire__utf8_chars(const uint8_t *p, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            c++;
    return c;
}

int dmp_wire__unwrap(const uint8_t *buf, size_t len, const char *prefix, size_t max_len,
                     dmp_b64_mode_t mode, dmp_buf_t *blob)
{
    dmp_buf_init(blob);
    size_t plen = strlen(prefix);
    if (!buf || len < plen || memcmp(buf, prefix, plen) != 0)
        return DMP_EWIRE_PREFIX;
    if (max_len && len > max_len)
        return DMP_EWIRE_TOOBIG;
    const uint8_t *b = buf + plen;
    size_t bl = len - plen;
    if (!dmp_wire__ascii(b, bl))
        return DMP_EWIRE_B64;
    int rc = dmp_b64_decode((const char *)b, bl, mode, blob);
    if (rc == DMP_EBASE64) {
        dmp_buf_free(blob);
        return DMP_EWIRE_B64;
    }
    if (rc) {
        dmp_buf_free(blob);
        return rc;
    }
    return 0;
}

int dmp_wire__wrap(const char *prefix, const uint8_t *body, size_t body_len, const uint8_t sk64[64],
                   size_t max_len, dmp_buf_t *out)
{
    size_t plen = strlen(prefix);
    size_t total = plen + dmp_b64_encoded_len(body_len + DMP_WIRE_SIG_LEN);
    if (max_len && total > max_len)
        return DMP_EWIRE_TOOBIG;
    dmp_buf_t blob;
    dmp_buf_init(&blob);
    int rc = dmp_buf_reserve(&blob, body_len + DMP_WIRE_SIG_LEN);
    if (rc)
        return rc;
    if (body_len)
        memcpy(blob.data, body, body_len);
    rc = dmp_crypto_sign(sk64, body, body_len, blob.data + body_len);
    if (rc) {
        dmp_buf_free(&blob);
        return rc;
    }
    blob.len = body_len + DMP_WIRE_SIG_LEN;
    rc = dmp_buf_reserve(out, total);
    if (!rc) {
        size_t save = out->len;
        rc = dmp_buf_append(out, prefix, plen);
        if (!rc)
            rc = dmp_b64_encode_buf(blob.data, blob.len, out);
        if (rc)
            out->len = save;
    }
    dmp_buf_free(&blob);
    return rc;
}

int dmp_wire__verify(const uint8_t pk[32], const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    int rc = dmp_crypto_verify(pk, msg, len, sig);
    if (rc == 0)
        return 0;
    if (rc == DMP_EWEAKKEY)
        return DMP_EWIRE_WEAKKEY;
    return DMP_EWIRE_SIG;
}

int dmp_wire__key_matches(const uint8_t sk64[64], const uint8_t spk[32])
{
    if (!sk64 || !spk)
        return DMP_EINVAL;
    return memcmp(sk64 + 32, spk, 32) == 0 ? 0 : DMP_EWIRE_SIGNER;
}

/* ---- DNS names ---- */

static bool is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int dmp_wire_dns_name_check(const char *name, size_t len, size_t *stripped_len)
{
    if (!name || len == 0)
        return DMP_EWIRE_NAME;
    if (len >= 2 && name[len - 1] == '.' && name[len - 2] == '.')
        return DMP_EWIRE_NAME;
    if (name[len - 1] == '.')
        len--;
    if (len == 0)
        return DMP_EWIRE_NAME;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            unsigned char c = (unsigned char)name[i];
            if (!is_alnum(c) && c != '-')
                return DMP_EWIRE_NAME;
            continue;
        }
        size_t ll = i - start;
        if (ll == 0 || ll > 63)
            return DMP_EWIRE_NAME;
        if (name[start] == '-' || name[i - 1] == '-')
            return DMP_EWIRE_NAME;
        start = i + 1;
    }
    if (stripped_len)
        *stripped_len = len;
    return 0;
}

/* Python's `$` in the reference regex also matches before a final '\n'; we do not copy that
 * (docs/wire.md #8). */
int dmp_wire_http_name_check(const char *name, size_t len)
{
    if (!name || len == 0 || len > 253)
        return DMP_EWIRE_NAME;
    if (name[len - 1] == '.')
        len--;
    if (len == 0)
        return DMP_EWIRE_NAME;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.')
            continue;
        const char *l = name + start;
        size_t ll = i - start;
        if (ll > 0 && l[0] == '_') {
            l++;
            ll--;
        }
        if (ll == 0 || ll > 63 || !is_alnum((unsigned char)l[0]) ||
            !is_alnum((unsigned char)l[ll - 1]))
            return DMP_EWIRE_NAME;
        for (size_t k = 0; k < ll; k++)
            if (!is_alnum((unsigned char)l[k]) && l[k] != '-')
                return DMP_EWIRE_NAME;
        start = i + 1;
    }
    return 0;
}

int dmp_wire__domain_field(const uint8_t *p, size_t n, char *dst, size_t *dst_len)
{
    size_t eff = (n > 0 && p[n - 1] == '.') ? n - 1 : n;
    if (eff < 1 || eff > DMP_WIRE_DOMAIN_MAX)
        return DMP_EWIRE_LEN;
    if (!dmp_wire__utf8_ok(p, n))
        return DMP_EWIRE_UTF8;
    size_t sl;
    int rc = dmp_wire_dns_name_check((const char *)p, n, &sl);
    if (rc)
        return rc;
    dmp_wire__copy_str(dst, p, sl);
    *dst_len = sl;
    return 0;
}

static unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool dmp_wire__name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen && a[alen - 1] == '.')
        alen--;
    if (blen && b[blen - 1] == '.')
        blen--;
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return false;
    return true;
}

/* ---- TXT split / join ---- */

/* Used on every publish path, fixing the reference's TSIG writer that sends one over-long string
 * (client.md §9.1, docs/wire.md #1). Bytes are split as-is, also for non-ASCII values. */
int dmp_wire_txt_split(const uint8_t *val, size_t len, dmp_buf_t *rdata)
{
    return dmp_txt_split(val, len, rdata);
}

int dmp_wire_txt_join(const uint8_t *rdata, size_t len, dmp_buf_t *out)
{
    if (!rdata || len == 0)
        return DMP_EWIRE_SHORT;
    size_t save = out->len;
    int rc = dmp_buf_reserve(out, len);
    if (rc)
        return rc;
    size_t off = 0;
    while (off < len) {
        size_t n = rdata[off++];
        if (n > len - off) {
            out->len = save;
            return DMP_EWIRE_TRUNC;
        }
        memcpy(out->data + out->len, rdata + off, n);
        out->len += n;
        off += n;
    }
    return 0;
}

/* ---- owner names ---- */

unsigned dmp_wire_slot_for_msg_id(const uint8_t msg_id[16])
{
    return (unsigned)(dmp_load_u32be(msg_id) % 10u);
}

static int put_name(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int put_name(char *out, size_t cap, const char *fmt, ...)
{
    if (!out || cap == 0)
        return DMP_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        return DMP_EINVAL;
    if ((size_t)n >= cap) {
        out[0] = '\0';
        return DMP_ETOOBIG;
    }
    return 0;
}

/* Length of s without all trailing dots (Python rstrip('.')). */
static int rstrip_dots(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '.')
        n--;
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}

int dmp_wire_name_slot(const uint8_t recipient_id[32], unsigned slot, const char *zone, char *out,
                       size_t cap)
{
    if (!recipient_id || !zone || slot > 9)
        return DMP_EINVAL;
    char h[13];
    dmp_crypto_sha256_hex(recipient_id, 32, 12, h);
    return put_name(out, cap, "slot-%u.mb-%s.%s", slot, h, zone);
}

int dmp_wire_name_chunk(unsigned idx, const uint8_t msg_id[16], const uint8_t recipient_id[32],
                        const uint8_t sender_spk[32], const char *zone, char *out, size_t cap)
{
    if (!msg_id || !recipient_id || !sender_spk || !zone)
        return DMP_EINVAL;
    uint8_t in[80];
    memcpy(in, msg_id, 16);
    memcpy(in + 16, recipient_id, 32);
    memcpy(in + 48, sender_spk, 32);
    char h[13];
    dmp_crypto_sha256_hex(in, sizeof in, 12, h);
    return put_name(out, cap, "chunk-%04u-%s.%s", idx, h, zone);
}

int dmp_wire_name_identity(const char *username, size_t ulen, const char *domain, char *out,
                           size_t cap)
{
    if (!username || !domain)
        return DMP_EINVAL;
    char h[17];
    dmp_crypto_sha256_hex((const uint8_t *)username, ulen, 16, h);
    return put_name(out, cap, "id-%s.%.*s", h, rstrip_dots(domain), domain);
}

int dmp_wire_name_identity_zone(const char *identity_domain, char *out, size_t cap)
{
    if (!identity_domain)
        return DMP_EINVAL;
    return put_name(out, cap, "dmp.%.*s", rstrip_dots(identity_domain), identity_domain);
}

int dmp_wire_name_prekeys(const char *username, size_t ulen, const char *domain, char *out,
                          size_t cap)
{
    if (!username || !domain)
        return DMP_EINVAL;
    char h[13];
    dmp_crypto_sha256_hex((const uint8_t *)username, ulen, 12, h);
    return put_name(out, cap, "prekeys.id-%s.%.*s", h, rstrip_dots(domain), domain);
}

int dmp_wire_name_claim(const uint8_t recipient_id[32], unsigned slot, const char *zone, char *out,
                        size_t cap)
{
    if (!recipient_id || !zone || slot > 9)
        return DMP_EINVAL;
    if (zone[0] == '\0')
        return DMP_EWIRE_NAME;
    char h[13];
    dmp_crypto_sha256_hex(recipient_id, 32, 12, h);
    return put_name(out, cap, "claim-%u.mb-%s.%s", slot, h, zone);
}

int dmp_wire_name_rotate_user(const char *username, size_t ulen, const char *domain, char *out,
                              size_t cap)
{
    if (!username || !domain)
        return DMP_EINVAL;
    char h[17];
    dmp_crypto_sha256_hex((const uint8_t *)username, ulen, 16, h);
    return put_name(out, cap, "rotate.id-%s.%.*s", h, rstrip_dots(domain), domain);
}

int dmp_wire_name_rotate_user_zone(const char *zone, char *out, size_t cap)
{
    if (!zone)
        return DMP_EINVAL;
    return put_name(out, cap, "rotate.dmp.%.*s", rstrip_dots(zone), zone);
}

static int validated_name(const char *pre, const char *d, char *out, size_t cap)
{
    if (!d)
        return DMP_EINVAL;
    size_t sl;
    int rc = dmp_wire_dns_name_check(d, strlen(d), &sl);
    if (rc)
        return rc;
    return put_name(out, cap, "%s%.*s", pre, (int)sl, d);
}

int dmp_wire_name_rotate_cluster(const char *base, char *out, size_t cap)
{
    return validated_name("rotate.cluster.", base, out, cap);
}

int dmp_wire_name_rotate_bootstrap(const char *user_domain, char *out, size_t cap)
{
    return validated_name("rotate._dmp.", user_domain, out, cap);
}

int dmp_wire_name_cluster(const char *base, char *out, size_t cap)
{
    return validated_name("cluster.", base, out, cap);
}

int dmp_wire_name_bootstrap(const char *user_domain, char *out, size_t cap)
{
    return validated_name("_dmp.", user_domain, out, cap);
}

int dmp_wire_name_heartbeat(const char *zone, char *out, size_t cap)
{
    if (!zone)
        return DMP_EINVAL;
    return put_name(out, cap, "_dnsmesh-heartbeat.%s", zone);
}

int dmp_wire_name_seen(const char *zone, char *out, size_t cap)
{
    if (!zone)
        return DMP_EINVAL;
    return put_name(out, cap, "_dnsmesh-seen.%s", zone);
}

static void strip_span(const char **p, size_t *n)
{
    dmp_py_strip((const uint8_t **)p, n);
}

int dmp_wire_parse_address(const char *addr, size_t len, char *user, size_t ucap, char *host,
                           size_t hcap)
{
    if (!addr || !user || !host)
        return DMP_EINVAL;
    const char *at = memchr(addr, '@', len);
    if (!at)
        return DMP_EWIRE_SUBJECT;
    const char *u = addr;
    size_t un = (size_t)(at - addr);
    const char *h = at + 1;
    size_t hn = len - un - 1;
    strip_span(&u, &un);
    strip_span(&h, &hn);
    while (hn && h[hn - 1] == '.')
        hn--;
    if (un == 0 || hn == 0)
        return DMP_EWIRE_SUBJECT;
    if (un >= ucap || hn >= hcap)
        return DMP_ETOOBIG;
    memcpy(user, u, un);
    user[un] = '\0';
    memcpy(host, h, hn);
    host[hn] = '\0';
    return 0;
}

int dmp_wire_subject_normalize(uint8_t subject_type, const char *subject, size_t len, char *out,
                               size_t cap, size_t *out_len)
{
    if (!subject || !out || cap == 0)
        return DMP_EINVAL;
    size_t o = 0;
    if (subject_type == DMP_WIRE_SUBJECT_USER) {
        const char *at = memchr(subject, '@', len);
        if (!at) {
            if (len >= cap)
                return DMP_ETOOBIG;
            memcpy(out, subject, len);
            out[len] = '\0';
            if (out_len)
                *out_len = len;
            return 0;
        }
        const char *u = subject;
        size_t un = (size_t)(at - subject);
        const char *h = at + 1;
        size_t hn = len - un - 1;
        strip_span(&u, &un);
        strip_span(&h, &hn);
        if (hn && h[hn - 1] == '.')
            hn--;
        if (un + 1 + hn >= cap)
            return DMP_ETOOBIG;
        memcpy(out, u, un);
        o = un;
        out[o++] = '@';
        for (size_t i = 0; i < hn; i++)
            out[o++] = (char)lc((unsigned char)h[i]);
    } else {
        if (len && subject[len - 1] == '.')
            len--;
        if (len >= cap)
            return DMP_ETOOBIG;
        for (size_t i = 0; i < len; i++)
            out[o++] = (char)lc((unsigned char)subject[i]);
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return 0;
}

/* ---- classification ---- */

static const struct {
    const char *prefix;
    dmp_wire_rec_t t;
    const char *name;
} rec_prefixes[] = {
    {"v=dmp1;t=manifest;d=", DMP_WIRE_REC_MANIFEST, "manifest"},
    {"v=dmp1;t=identity;d=", DMP_WIRE_REC_IDENTITY, "identity"},
    {"v=dmp1;t=prekey;d=", DMP_WIRE_REC_PREKEY, "prekey"},
    {"v=dmp1;t=cluster;", DMP_WIRE_REC_CLUSTER, "cluster"},
    {"v=dmp1;t=bootstrap;", DMP_WIRE_REC_BOOTSTRAP, "bootstrap"},
    {"v=dmp1;t=chunk;d=", DMP_WIRE_REC_CHUNK, "chunk"},
    {"v=dmp1;t=claim;", DMP_WIRE_REC_CLAIM, "claim"},
    {"v=dmp1;t=rotation;", DMP_WIRE_REC_ROTATION, "rotation"},
    {"v=dmp1;t=revocation;", DMP_WIRE_REC_REVOCATION, "revocation"},
    {"v=dmp1;t=heartbeat;", DMP_WIRE_REC_HEARTBEAT, "heartbeat"},
};

dmp_wire_rec_t dmp_wire_classify(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return DMP_WIRE_REC_EMPTY;
    for (size_t i = 0; i < sizeof rec_prefixes / sizeof rec_prefixes[0]; i++) {
        size_t pl = strlen(rec_prefixes[i].prefix);
        if (len >= pl && memcmp(buf, rec_prefixes[i].prefix, pl) == 0)
            return rec_prefixes[i].t;
    }
    if (len >= 5 && memcmp(buf, "v=dmp", 5) == 0)
        return DMP_WIRE_REC_UNKNOWN_DMP;
    return DMP_WIRE_REC_NONDMP;
}

const char *dmp_wire_rec_name(dmp_wire_rec_t t)
{
    for (size_t i = 0; i < sizeof rec_prefixes / sizeof rec_prefixes[0]; i++)
        if (rec_prefixes[i].t == t)
            return rec_prefixes[i].name;
    switch (t) {
    case DMP_WIRE_REC_EMPTY:
        return "empty";
    case DMP_WIRE_REC_NONDMP:
        return "non-dmp";
    case DMP_WIRE_REC_UNKNOWN_DMP:
        return "unknown-dmp";
    default:
        return "invalid";
    }
}

/* Matches a pattern of literal characters plus 'D' (one or more digits) and 'H' (one or more
 * lowercase hex digits after lowercasing) against the start of name. */
static bool pat_match(const char *pat, const char *name, size_t len)
{
    size_t i = 0;
    for (const char *p = pat; *p; p++) {
        if (*p == 'D' || *p == 'H') {
            size_t start = i;
            while (i < len) {
                unsigned char c = lc((unsigned char)name[i]);
                bool ok = (c >= '0' && c <= '9') || (*p == 'H' && c >= 'a' && c <= 'f');
                if (!ok)
                    break;
                i++;
            }
            if (i == start)
                return false;
        } else {
            if (i >= len || lc((unsigned char)name[i]) != (unsigned char)*p)
                return false;
            i++;
        }
    }
    return true;
}

bool dmp_wire_owner_reserved(const char *name, size_t len)
{
    static const char *pats[] = {"slot-D.mb-H.",  "chunk-D-H.", "mb-H.",         "id-H.",
                                 "prekeys.id-H.", "_dnsmesh-",  "claim-D.mb-H.", "cluster.",
                                 "_dmp.",         "dmp.",       "rotate."};
    if (!name || len == 0)
        return false;
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (pat_match(pats[i], name, len))
            return true;
    return false;
}

static void norm_zone(const char **p, size_t *n)
{
    strip_span(p, n);
    while (*n && (*p)[*n - 1] == '.')
        (*n)--;
}

int dmp_wire_claim_owner_match(const char *owner, size_t olen, const char *zone, size_t zlen,
                               char hash12[13])
{
    if (!owner || !zone)
        return DMP_EINVAL;
    norm_zone(&owner, &olen);
    norm_zone(&zone, &zlen);
    if (zlen == 0 || olen < zlen + 1)
        return DMP_EWIRE_NAME;
    const char *zs = owner + olen - zlen;
    if (owner[olen - zlen - 1] != '.' || !dmp_wire__name_eq(zs, zlen, zone, zlen))
        return DMP_EWIRE_NAME;
    size_t rl = olen - zlen - 1; /* "claim-N.mb-H" */
    size_t i = 0;
    static const char c1[] = "claim-";
    if (rl < 6)
        return DMP_EWIRE_NAME;
    for (; i < 6; i++)
        if (lc((unsigned char)owner[i]) != (unsigned char)c1[i])
            return DMP_EWIRE_NAME;
    size_t ds = i;
    while (i < rl && owner[i] >= '0' && owner[i] <= '9')
        i++;
    if (i == ds || rl - i != 1 + 3 + 12 || owner[i] != '.')
        return DMP_EWIRE_NAME;
    i++;
    if (lc((unsigned char)owner[i]) != 'm' || lc((unsigned char)owner[i + 1]) != 'b' ||
        owner[i + 2] != '-')
        return DMP_EWIRE_NAME;
    i += 3;
    char h[13];
    for (size_t k = 0; k < 12; k++) {
        unsigned char c = lc((unsigned char)owner[i + k]);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return DMP_EWIRE_NAME;
        h[k] = (char)c;
    }
    h[12] = '\0';
    if (hash12)
        memcpy(hash12, h, 13);
    return 0;
}
