/* wire: rotation and revocation records (reference/client.md §1.5, §1.6). */
#include "wire/wire_internal.h"

#define P_ROTATION "v=dmp1;t=rotation;"
#define P_REVOCATION "v=dmp1;t=revocation;"
#define ROT_MAGIC "DMPROT1"
#define REV_MAGIC "DMPRV01"

/* client.md §1.5a. The subject bytes must already be valid UTF-8. */
static int subject_check(uint8_t type, const uint8_t *s, size_t n)
{
    if (type < DMP_WIRE_SUBJECT_USER || type > DMP_WIRE_SUBJECT_BOOTSTRAP)
        return DMP_EWIRE_FIELD;
    size_t cap = type == DMP_WIRE_SUBJECT_USER ? 255 : 64;
    if (n < 1 || n > cap)
        return DMP_EWIRE_SUBJECT;
    if (!dmp_wire__utf8_ok(s, n))
        return DMP_EWIRE_UTF8;
    const uint8_t *h = s;
    size_t hn = n;
    if (type == DMP_WIRE_SUBJECT_USER) {
        const uint8_t *at = memchr(s, '@', n);
        if (!at)
            return DMP_EWIRE_SUBJECT;
        const uint8_t *u = s;
        size_t un = (size_t)(at - s);
        dmp_py_strip(&u, &un);
        h = at + 1;
        hn = n - (size_t)(at - s) - 1;
        dmp_py_strip(&h, &hn);
        if (un == 0 || hn == 0)
            return DMP_EWIRE_SUBJECT;
    }
    /* reference: strip one dot, then the shared DNS validator (which may strip one more) */
    if (h[hn - 1] == '.')
        hn--;
    if (hn == 0)
        return DMP_EWIRE_SUBJECT;
    if (dmp_wire_dns_name_check((const char *)h, hn, NULL) != 0)
        return DMP_EWIRE_SUBJECT;
    return 0;
}

static int expected_subject_eq(uint8_t type, const char *got, size_t gn, const char *want,
                               size_t wn)
{
    char a[300], b[300];
    size_t an, bn;
    if (dmp_wire_subject_normalize(type, got, gn, a, sizeof a, &an) != 0 ||
        dmp_wire_subject_normalize(type, want, wn, b, sizeof b, &bn) != 0)
        return DMP_EWIRE_EXPECTED;
    return (an == bn && memcmp(a, b, an) == 0) ? 0 : DMP_EWIRE_EXPECTED;
}

/* ---------------------------------------------------------------- rotation */

int dmp_wire_rotation_encode(const dmp_wire_rotation_t *r, const uint8_t old_sk64[64],
                             const uint8_t new_sk64[64], dmp_buf_t *out)
{
    if (!r || !old_sk64 || !new_sk64 || !out)
        return DMP_EINVAL;
    if (r->subject_len > 255)
        return DMP_EWIRE_SUBJECT;
    int rc = subject_check(r->subject_type, (const uint8_t *)r->subject, r->subject_len);
    if (rc)
        return rc;
    if (memcmp(r->old_spk, r->new_spk, 32) == 0)
        return DMP_EWIRE_SAMEKEY;
    if ((rc = dmp_wire__key_matches(old_sk64, r->old_spk)) != 0 ||
        (rc = dmp_wire__key_matches(new_sk64, r->new_spk)) != 0)
        return rc;
    uint8_t body[97 + 255];
    size_t S = r->subject_len;
    memcpy(body, ROT_MAGIC, 7);
    body[7] = r->subject_type;
    body[8] = (uint8_t)S;
    memcpy(body + 9, r->subject, S);
    memcpy(body + 9 + S, r->old_spk, 32);
    memcpy(body + 41 + S, r->new_spk, 32);
    dmp_store_u64be(body + 73 + S, r->seq);
    dmp_store_u64be(body + 81 + S, r->ts);
    dmp_store_u64be(body + 89 + S, r->exp);
    size_t bl = 97 + S;
    uint8_t blob[97 + 255 + 128];
    memcpy(blob, body, bl);
    if ((rc = dmp_crypto_sign(old_sk64, body, bl, blob + bl)) != 0 ||
        (rc = dmp_crypto_sign(new_sk64, body, bl, blob + bl + 64)) != 0)
        return rc;
    size_t plen = strlen(P_ROTATION);
    if (plen + dmp_b64_encoded_len(bl + 128) > DMP_WIRE_MAX_WIRE)
        return DMP_EWIRE_TOOBIG;
    size_t save = out->len;
    rc = dmp_buf_append(out, P_ROTATION, plen);
    if (!rc)
        rc = dmp_b64_encode_buf(blob, bl + 128, out);
    if (rc)
        out->len = save;
    return rc;
}

/* The head rotation and revocation bodies share: magic(7) || u8 subject_type || u8 len ||
 * subject, followed by exactly tail_len bytes. Checks in the reference's order and copies the
 * subject into out_subject (cap 256). */
static int subject_head(const uint8_t *b, size_t bl, const char *magic, size_t tail_len,
                        uint8_t *type, char *out_subject, size_t *out_len)
{
    if (memcmp(b, magic, 7) != 0)
        return DMP_EWIRE_MAGIC;
    if (bl < 9)
        return DMP_EWIRE_TRUNC;
    size_t S = b[8];
    if (b[7] < 1 || b[7] > 3)
        return DMP_EWIRE_FIELD;
    if (bl < 9 + S + tail_len)
        return DMP_EWIRE_TRUNC;
    if (bl > 9 + S + tail_len)
        return DMP_EWIRE_TRAILING;
    int rc = subject_check(b[7], b + 9, S);
    if (rc)
        return rc;
    *type = b[7];
    dmp_wire__copy_str(out_subject, b + 9, S);
    *out_len = S;
    return 0;
}

int dmp_wire_rotation_parse(const uint8_t *buf, size_t len, int64_t now,
                            const uint8_t *expected_old_spk, const char *expected_subject,
                            size_t expected_subject_len, dmp_wire_rotation_t *out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_ROTATION, DMP_WIRE_MAX_WIRE, DMP_B64_STRICT, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < 7 + 128)
        goto done;
    const uint8_t *b = blob.data;
    size_t bl = blob.len - 128;
    rc = subject_head(b, bl, ROT_MAGIC, 88, &out->subject_type, out->subject, &out->subject_len);
    if (rc)
        goto done;
    uint8_t type = out->subject_type;
    size_t S = out->subject_len;
    memcpy(out->old_spk, b + 9 + S, 32);
    memcpy(out->new_spk, b + 41 + S, 32);
    out->seq = dmp_load_u64be(b + 73 + S);
    out->ts = dmp_load_u64be(b + 81 + S);
    out->exp = dmp_load_u64be(b + 89 + S);
    rc = DMP_EWIRE_SAMEKEY;
    if (memcmp(out->old_spk, out->new_spk, 32) == 0)
        goto done;
    rc = dmp_wire__verify(out->old_spk, b, bl, b + bl);
    if (rc)
        goto done;
    rc = dmp_wire__verify(out->new_spk, b, bl, b + bl + 64);
    if (rc)
        goto done;
    rc = DMP_EWIRE_SIGNER;
    if (expected_old_spk && memcmp(expected_old_spk, out->old_spk, 32) != 0)
        goto done;
    if (expected_subject) {
        rc = expected_subject_eq(type, out->subject, S, expected_subject, expected_subject_len);
        if (rc)
            goto done;
    }
    rc = 0;
    if (dmp_wire__diff(out->exp, now) < 0)
        rc = DMP_EWIRE_EXPIRED;
    else if (dmp_wire__diff(out->exp, now) > DMP_WIRE_MAX_FUTURE_5Y)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}

/* ---------------------------------------------------------------- revocation */

int dmp_wire_revocation_encode(const dmp_wire_revocation_t *r, const uint8_t sk64[64],
                               dmp_buf_t *out)
{
    if (!r || !sk64 || !out)
        return DMP_EINVAL;
    if (r->subject_len > 255)
        return DMP_EWIRE_SUBJECT;
    int rc = subject_check(r->subject_type, (const uint8_t *)r->subject, r->subject_len);
    if (rc)
        return rc;
    if (r->reason_code < 1 || r->reason_code > 4)
        return DMP_EWIRE_FIELD;
    rc = dmp_wire__key_matches(sk64, r->revoked_spk);
    if (rc)
        return rc;
    uint8_t body[50 + 255];
    size_t S = r->subject_len;
    memcpy(body, REV_MAGIC, 7);
    body[7] = r->subject_type;
    body[8] = (uint8_t)S;
    memcpy(body + 9, r->subject, S);
    memcpy(body + 9 + S, r->revoked_spk, 32);
    body[41 + S] = r->reason_code;
    dmp_store_u64be(body + 42 + S, r->ts);
    return dmp_wire__wrap(P_REVOCATION, body, 50 + S, sk64, DMP_WIRE_MAX_WIRE, out);
}

int dmp_wire_revocation_parse(const uint8_t *buf, size_t len, int64_t now,
                              const uint8_t *expected_revoked_spk, const char *expected_subject,
                              size_t expected_subject_len, int64_t max_age_seconds,
                              dmp_wire_revocation_t *out)
{
    if (!out)
        return DMP_EINVAL;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_REVOCATION, DMP_WIRE_MAX_WIRE, DMP_B64_STRICT, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < 7 + 64)
        goto done;
    const uint8_t *b = blob.data;
    size_t bl = blob.len - 64;
    rc = subject_head(b, bl, REV_MAGIC, 41, &out->subject_type, out->subject, &out->subject_len);
    if (rc)
        goto done;
    uint8_t type = out->subject_type;
    size_t S = out->subject_len;
    memcpy(out->revoked_spk, b + 9 + S, 32);
    out->reason_code = b[41 + S];
    out->ts = dmp_load_u64be(b + 42 + S);
    rc = DMP_EWIRE_FIELD;
    if (out->reason_code < 1 || out->reason_code > 4)
        goto done;
    rc = dmp_wire__verify(out->revoked_spk, b, bl, b + bl);
    if (rc)
        goto done;
    rc = DMP_EWIRE_SIGNER;
    if (expected_revoked_spk && memcmp(expected_revoked_spk, out->revoked_spk, 32) != 0)
        goto done;
    if (expected_subject) {
        rc = expected_subject_eq(type, out->subject, S, expected_subject, expected_subject_len);
        if (rc)
            goto done;
    }
    rc = 0;
    if (max_age_seconds >= 0 && (__int128)out->ts + (__int128)max_age_seconds < (__int128)now)
        rc = DMP_EWIRE_STALE;
    else if (dmp_wire__diff(out->ts, now) > DMP_WIRE_TS_SKEW)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}
