/* wire: client records — identity, prekey, slot manifest, chunk framing, claim
 * (reference/client.md §1.1-§1.4, §1.7). */
#include <stdlib.h>

#include "wire/wire_internal.h"

#define P_IDENTITY "v=dmp1;t=identity;d="
#define P_PREKEY "v=dmp1;t=prekey;d="
#define P_MANIFEST "v=dmp1;t=manifest;d="
#define P_CHUNK "v=dmp1;t=chunk;d="
#define P_CLAIM "v=dmp1;t=claim;"

/* ---------------------------------------------------------------- identity */

static int cmp_u8(const void *a, const void *b)
{
    return (int)*(const uint8_t *)a - (int)*(const uint8_t *)b;
}

int dmp_wire_identity_encode(const dmp_wire_identity_t *rec, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!rec || !sk64 || !out)
        return DMP_EINVAL;
    if (rec->username_len < 1 || rec->username_len > DMP_WIRE_USERNAME_MAX)
        return DMP_EWIRE_FIELD;
    if (!dmp_wire__utf8_ok((const uint8_t *)rec->username, rec->username_len))
        return DMP_EWIRE_UTF8;
    if (rec->n_versions == 0 || rec->n_versions > sizeof rec->versions)
        return DMP_EWIRE_VERSION;
    /* Divergence (docs/wire.md #2): the reference signs with any key; a record whose signer is
     * not its embedded spk could never verify, so refuse it here. */
    int rc = dmp_wire__key_matches(sk64, rec->ed25519_spk);
    if (rc)
        return rc;
    /* normalize: sorted, unique */
    uint8_t v[255];
    memcpy(v, rec->versions, rec->n_versions);
    qsort(v, rec->n_versions, 1, cmp_u8);
    size_t nv = 0;
    for (size_t i = 0; i < rec->n_versions; i++)
        if (nv == 0 || v[nv - 1] != v[i])
            v[nv++] = v[i];
    uint8_t body[1 + 64 + 32 + 32 + 8 + 1 + 255];
    size_t o = 0;
    body[o++] = (uint8_t)rec->username_len;
    memcpy(body + o, rec->username, rec->username_len);
    o += rec->username_len;
    memcpy(body + o, rec->x25519_pk, 32);
    o += 32;
    memcpy(body + o, rec->ed25519_spk, 32);
    o += 32;
    dmp_store_u64be(body + o, rec->ts);
    o += 8;
    if (!(nv == 1 && v[0] == 1)) {
        body[o++] = (uint8_t)nv;
        memcpy(body + o, v, nv);
        o += nv;
    }
    return dmp_wire__wrap(P_IDENTITY, body, o, sk64, 0, out);
}

int dmp_wire_identity_parse(const uint8_t *buf, size_t len, dmp_wire_identity_t *out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_IDENTITY, 0, DMP_B64_LAX, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < DMP_WIRE_SIG_LEN + 74)
        goto done;
    const uint8_t *body = blob.data;
    size_t bl = blob.len - DMP_WIRE_SIG_LEN;
    size_t L = body[0];
    rc = DMP_EWIRE_FIELD;
    if (L < 1 || L > DMP_WIRE_USERNAME_MAX)
        goto done;
    rc = DMP_EWIRE_TRUNC;
    if (bl < 73 + L)
        goto done;
    rc = DMP_EWIRE_UTF8;
    if (!dmp_wire__utf8_ok(body + 1, L))
        goto done;
    dmp_wire__copy_str(out->username, body + 1, L);
    out->username_len = L;
    memcpy(out->x25519_pk, body + 1 + L, 32);
    memcpy(out->ed25519_spk, body + 33 + L, 32);
    out->ts = dmp_load_u64be(body + 65 + L);
    if (bl > 73 + L) {
        size_t V = body[73 + L];
        rc = DMP_EWIRE_VERSION;
        if (V == 0)
            goto done;
        if (74 + L + V > bl) {
            rc = DMP_EWIRE_TRUNC;
            goto done;
        }
        if (74 + L + V < bl) {
            rc = DMP_EWIRE_TRAILING;
            goto done;
        }
        const uint8_t *vv = body + 74 + L;
        for (size_t i = 1; i < V; i++)
            if (vv[i] <= vv[i - 1])
                goto done;
        memcpy(out->versions, vv, V);
        out->n_versions = V;
    } else {
        out->versions[0] = 1;
        out->n_versions = 1;
    }
    rc = dmp_wire__verify(out->ed25519_spk, body, bl, body + bl);
done:
    dmp_buf_free(&blob);
    return rc;
}

/* ---------------------------------------------------------------- prekey */

int dmp_wire_prekey_encode(const dmp_wire_prekey_t *rec, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!rec || !sk64 || !out)
        return DMP_EINVAL;
    if (rec->prekey_id == 0)
        return DMP_EWIRE_FIELD;
    uint8_t body[44];
    dmp_store_u32be(body, rec->prekey_id);
    memcpy(body + 4, rec->public_key, 32);
    dmp_store_u64be(body + 36, rec->exp);
    return dmp_wire__wrap(P_PREKEY, body, sizeof body, sk64, 0, out);
}

int dmp_wire_prekey_parse(const uint8_t *buf, size_t len, const uint8_t signer_spk[32], int64_t now,
                          dmp_wire_prekey_t *out)
{
    if (!out || !signer_spk)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_PREKEY, 0, DMP_B64_LAX, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_LEN;
    if (blob.len != 44 + DMP_WIRE_SIG_LEN)
        goto done;
    out->prekey_id = dmp_load_u32be(blob.data);
    memcpy(out->public_key, blob.data + 4, 32);
    out->exp = dmp_load_u64be(blob.data + 36);
    rc = DMP_EWIRE_FIELD;
    if (out->prekey_id == 0)
        goto done;
    rc = dmp_wire__verify(signer_spk, blob.data, 44, blob.data + 44);
    if (rc)
        goto done;
    if (dmp_wire__diff(out->exp, now) > DMP_WIRE_MAX_FUTURE_30D)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}

bool dmp_wire_prekey_expired(const dmp_wire_prekey_t *rec, int64_t now)
{
    return dmp_wire__diff(rec->exp, now) < 0;
}

/* ---------------------------------------------------------------- manifest */

#define MF_HDR 108

int dmp_wire_manifest_encode(const dmp_wire_manifest_t *m, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!m || !sk64 || !out)
        return DMP_EINVAL;
    if (m->total_chunks < 1 || m->total_chunks > DMP_WIRE_MAX_CHUNKS || m->data_chunks < 1 ||
        m->data_chunks > m->total_chunks)
        return DMP_EWIRE_COUNT;
    /* Divergence (docs/wire.md #2): refuse a key that is not the embedded sender_spk. */
    int rc = dmp_wire__key_matches(sk64, m->sender_spk);
    if (rc)
        return rc;
    size_t bl = MF_HDR + (m->has_hashes ? 32u * m->total_chunks : 0);
    dmp_buf_t body;
    dmp_buf_init(&body);
    rc = dmp_buf_reserve(&body, bl);
    if (rc)
        return rc;
    uint8_t *b = body.data;
    memcpy(b, m->msg_id, 16);
    memcpy(b + 16, m->sender_spk, 32);
    memcpy(b + 48, m->recipient_id, 32);
    dmp_store_u32be(b + 80, m->total_chunks);
    dmp_store_u32be(b + 84, m->data_chunks);
    dmp_store_u32be(b + 88, m->prekey_id);
    dmp_store_u64be(b + 92, m->ts);
    dmp_store_u64be(b + 100, m->exp);
    if (m->has_hashes)
        memcpy(b + MF_HDR, m->chunk_hashes, 32u * m->total_chunks);
    rc = dmp_wire__wrap(P_MANIFEST, b, bl, sk64, 0, out);
    dmp_buf_free(&body);
    return rc;
}

int dmp_wire_manifest_parse(const uint8_t *buf, size_t len, int64_t now, bool require_hashes,
                            dmp_wire_manifest_t *out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_MANIFEST, 0, DMP_B64_LAX, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < MF_HDR + DMP_WIRE_SIG_LEN)
        goto done;
    const uint8_t *b = blob.data;
    uint32_t n = dmp_load_u32be(b + 80);
    bool legacy = blob.len == MF_HDR + DMP_WIRE_SIG_LEN;
    rc = DMP_EWIRE_LEN;
    if (!legacy && (uint64_t)blob.len != MF_HDR + 32ull * n + DMP_WIRE_SIG_LEN)
        goto done;
    uint32_t k = dmp_load_u32be(b + 84);
    rc = DMP_EWIRE_COUNT;
    if (n < 1 || n > DMP_WIRE_MAX_CHUNKS || k < 1 || k > n)
        goto done;
    rc = DMP_EWIRE_NOHASHES;
    if (legacy && require_hashes)
        goto done;
    memcpy(out->msg_id, b, 16);
    memcpy(out->sender_spk, b + 16, 32);
    memcpy(out->recipient_id, b + 48, 32);
    out->total_chunks = n;
    out->data_chunks = k;
    out->prekey_id = dmp_load_u32be(b + 88);
    out->ts = dmp_load_u64be(b + 92);
    out->exp = dmp_load_u64be(b + 100);
    out->has_hashes = !legacy;
    if (!legacy)
        memcpy(out->chunk_hashes, b + MF_HDR, 32u * n);
    size_t bl = blob.len - DMP_WIRE_SIG_LEN;
    rc = dmp_wire__verify(out->sender_spk, b, bl, b + bl);
    if (rc)
        goto done;
    if (dmp_wire__diff(out->exp, now) > DMP_WIRE_MAX_FUTURE_30D)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}

bool dmp_wire_manifest_expired(const dmp_wire_manifest_t *m, int64_t now)
{
    return dmp_wire__diff(m->exp, now) < 0;
}

int dmp_wire_manifest_check_chunk(const dmp_wire_manifest_t *m, uint32_t idx, const uint8_t *chunk,
                                  size_t len)
{
    if (!m || (!chunk && len))
        return DMP_EINVAL;
    if (!m->has_hashes)
        return DMP_EWIRE_NOHASHES;
    if (idx >= m->total_chunks || idx >= DMP_WIRE_MAX_CHUNKS)
        return DMP_EWIRE_COUNT;
    uint8_t h[32];
    dmp_crypto_sha256(chunk, len, h);
    return memcmp(h, m->chunk_hashes[idx], 32) == 0 ? 0 : DMP_EWIRE_CHUNKHASH;
}

/* ---------------------------------------------------------------- chunk framing */

int dmp_wire_chunk_encode(const uint8_t *body, size_t len, dmp_buf_t *out)
{
    if ((!body && len) || !out)
        return DMP_EINVAL;
    size_t save = out->len;
    int rc = dmp_buf_append_str(out, P_CHUNK);
    if (!rc)
        rc = dmp_b64_encode_buf(body, len, out);
    if (rc)
        out->len = save;
    return rc;
}

/* Reference DMPDNSRecord.from_txt_record: split on ';', parts with '=' split at the first '=',
 * key and value stripped; later keys overwrite earlier ones. Divergence (docs/wire.md #3): v must
 * be the digits of 1 (the reference takes any int()), and bad base64 in d= is an error rather
 * than empty data; the manifest's chunk hash would reject both anyway. */
int dmp_wire_chunk_fields(const uint8_t *buf, size_t len, const uint8_t **d_out, size_t *dn_out)
{
    if (!d_out || !dn_out)
        return DMP_EINVAL;
    *d_out = NULL;
    *dn_out = 0;
    if (!buf || len < 5 || memcmp(buf, "v=dmp", 5) != 0)
        return DMP_EWIRE_PREFIX;
    const uint8_t *v = NULL, *t = NULL, *d = NULL;
    size_t vn = 0, tn = 0, dn = 0;
    size_t i = 0;
    while (i <= len) {
        const uint8_t *semi = i < len ? memchr(buf + i, ';', len - i) : NULL;
        size_t j = semi ? (size_t)(semi - buf) : len;
        const uint8_t *part = buf + i;
        size_t pn = j - i;
        const uint8_t *eq = pn ? memchr(part, '=', pn) : NULL;
        if (eq) {
            const uint8_t *key = part;
            size_t kn = (size_t)(eq - part);
            const uint8_t *val = eq + 1;
            size_t valn = pn - kn - 1;
            dmp_py_strip(&key, &kn);
            dmp_py_strip(&val, &valn);
            if (kn == 1 && key[0] == 'v') {
                v = val;
                vn = valn;
            } else if (kn == 1 && key[0] == 't') {
                t = val;
                tn = valn;
            } else if (kn == 1 && key[0] == 'd') {
                d = val;
                dn = valn;
            }
        }
        i = j + 1;
    }
    /* v: "dmp" removed, the rest must be the integer 1 */
    if (v) {
        size_t digits = 0, other = 0;
        uint64_t num = 0;
        for (size_t k = 0; k < vn; k++) {
            if (k + 3 <= vn && memcmp(v + k, "dmp", 3) == 0) {
                k += 2;
                continue;
            }
            if (v[k] >= '0' && v[k] <= '9') {
                if (num < 1000000)
                    num = num * 10 + (uint64_t)(v[k] - '0');
                digits++;
            } else {
                other++;
            }
        }
        if (digits == 0 || other || num != 1)
            return DMP_EWIRE_VERSION;
    }
    if (t && !(tn == 5 && memcmp(t, "chunk", 5) == 0))
        return DMP_EWIRE_TYPE;
    if (d && !dmp_wire__ascii(d, dn))
        return DMP_EWIRE_B64;
    *d_out = d;
    *dn_out = dn;
    return 0;
}

int dmp_wire_chunk_parse(const uint8_t *buf, size_t len, dmp_buf_t *body)
{
    if (!body)
        return DMP_EINVAL;
    const uint8_t *d;
    size_t dn;
    int rc = dmp_wire_chunk_fields(buf, len, &d, &dn);
    if (rc || !d)
        return rc;
    rc = dmp_b64_decode((const char *)d, dn, DMP_B64_LAX, body);
    return rc == DMP_EBASE64 ? DMP_EWIRE_B64 : rc;
}

/* ---------------------------------------------------------------- claim */

#define CLAIM_MAGIC "DMPCL01"
#define I63 ((uint64_t)1 << 63)

/* Divergence (docs/wire.md #4, client.md §9.10): the 43 cap counts bytes on sign and on parse
 * (the reference counts characters on sign, bytes on parse). */
static int claim_domain_check(const uint8_t *p, size_t n)
{
    if (n < 1 || n > DMP_WIRE_CLAIM_DOMAIN_MAX)
        return DMP_EWIRE_FIELD;
    if (!dmp_wire__utf8_ok(p, n))
        return DMP_EWIRE_UTF8;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] == 0x7F)
            return DMP_EWIRE_CHARS;
    return 0;
}

int dmp_wire_claim_encode(const dmp_wire_claim_t *c, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!c || !sk64 || !out)
        return DMP_EINVAL;
    int rc = dmp_wire__key_matches(sk64, c->sender_spk);
    if (rc)
        return rc;
    rc = claim_domain_check((const uint8_t *)c->sender_mailbox_domain, c->domain_len);
    if (rc)
        return rc;
    if (c->slot > 9 || c->ts >= I63 || c->exp >= I63)
        return DMP_EWIRE_FIELD;
    if (c->exp <= c->ts)
        return DMP_EWIRE_TSORDER;
    uint8_t body[7 + 16 + 32 + 1 + DMP_WIRE_CLAIM_DOMAIN_MAX + 1 + 16];
    size_t o = 0;
    memcpy(body, CLAIM_MAGIC, 7);
    o = 7;
    memcpy(body + o, c->msg_id, 16);
    o += 16;
    memcpy(body + o, c->sender_spk, 32);
    o += 32;
    body[o++] = (uint8_t)c->domain_len;
    memcpy(body + o, c->sender_mailbox_domain, c->domain_len);
    o += c->domain_len;
    body[o++] = c->slot;
    dmp_store_u64be(body + o, c->ts);
    dmp_store_u64be(body + o + 8, c->exp);
    o += 16;
    return dmp_wire__wrap(P_CLAIM, body, o, sk64, DMP_WIRE_CLAIM_MAX, out);
}

int dmp_wire_claim_parse(const uint8_t *buf, size_t len, int64_t now, dmp_wire_claim_t *out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_CLAIM, DMP_WIRE_CLAIM_MAX, DMP_B64_STRICT, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < DMP_WIRE_SIG_LEN + 7 + 16 + 32 + 1 + 1 + 1 + 16)
        goto done;
    const uint8_t *b = blob.data;
    size_t bl = blob.len - DMP_WIRE_SIG_LEN;
    rc = DMP_EWIRE_MAGIC;
    if (memcmp(b, CLAIM_MAGIC, 7) != 0)
        goto done;
    memcpy(out->msg_id, b + 7, 16);
    memcpy(out->sender_spk, b + 23, 32);
    size_t D = b[55];
    rc = DMP_EWIRE_FIELD;
    if (D < 1 || D > DMP_WIRE_CLAIM_DOMAIN_MAX)
        goto done;
    rc = DMP_EWIRE_TRUNC;
    if (56 + D + 1 + 16 > bl)
        goto done;
    rc = DMP_EWIRE_TRAILING;
    if (56 + D + 1 + 16 < bl)
        goto done;
    rc = claim_domain_check(b + 56, D);
    if (rc)
        goto done;
    dmp_wire__copy_str(out->sender_mailbox_domain, b + 56, D);
    out->domain_len = D;
    out->slot = b[56 + D];
    out->ts = dmp_load_u64be(b + 57 + D);
    out->exp = dmp_load_u64be(b + 65 + D);
    rc = DMP_EWIRE_FIELD;
    if (out->slot > 9 || out->ts >= I63 || out->exp >= I63)
        goto done;
    rc = DMP_EWIRE_TSORDER;
    if (out->exp <= out->ts)
        goto done;
    rc = dmp_wire__verify(out->sender_spk, b, bl, b + bl);
    if (rc)
        goto done;
    if (dmp_wire__diff(out->ts, now) > DMP_WIRE_TS_SKEW)
        rc = DMP_EWIRE_FUTURE;
    else if (dmp_wire__diff(out->exp, now) <= 0)
        rc = DMP_EWIRE_EXPIRED;
    else if (dmp_wire__diff(out->exp, now) > DMP_WIRE_MAX_FUTURE_30D)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}
