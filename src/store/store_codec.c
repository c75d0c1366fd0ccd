/* store: key and value encodings. */
#include "store/store_codec.h"

#include <string.h>

#include "util/util.h"

void dmp_store_ob64_put(uint8_t out[8], int64_t x)
{
    dmp_store_u64be(out, (uint64_t)x ^ UINT64_C(0x8000000000000000));
}

int64_t dmp_store_ob64_get(const uint8_t in[8])
{
    uint64_t u = dmp_load_u64be(in) ^ UINT64_C(0x8000000000000000);
    int64_t x;
    memcpy(&x, &u, sizeof x);
    return x;
}

int dmp_store_name_norm(const char *name, size_t len, char *out)
{
    if (name == NULL || len == 0 || len > DMP_STORE_MAX_NAME)
        return DMP_ENAME;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '\0')
            return DMP_ENAME;
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    return 0;
}

size_t dmp_store_rkey_make(uint8_t *out, const char *lname, size_t name_len, const uint8_t hash[32])
{
    memcpy(out, lname, name_len);
    out[name_len] = 0;
    memcpy(out + name_len + 1, hash, 32);
    return name_len + 33;
}

void dmp_store_name_reverse(const char *name, size_t len, char *out)
{
    size_t end = len, o = 0;
    for (;;) {
        size_t start = end;
        while (start > 0 && name[start - 1] != '.')
            start--;
        memcpy(out + o, name + start, end - start);
        o += end - start;
        if (start == 0)
            break;
        out[o++] = '.';
        end = start - 1;
    }
}

int dmp_store_rkey_parse(const uint8_t *buf, size_t len, const char **name, size_t *name_len,
                         const uint8_t **hash)
{
    if (buf == NULL || len < 34 || len > DMP_STORE_RKEY_MAX)
        return DMP_STORE_ECORRUPT;
    size_t nl = len - 33;
    if (buf[nl] != 0 || memchr(buf, 0, nl) != NULL)
        return DMP_STORE_ECORRUPT;
    *name = (const char *)buf;
    *name_len = nl;
    *hash = buf + nl + 1;
    return 0;
}

int dmp_store_ikey_parse(const uint8_t *buf, size_t len, int64_t *t, const uint8_t **rkey,
                         size_t *rkey_len)
{
    if (buf == NULL || len < 8 + 34 || len > DMP_STORE_IKEY_MAX)
        return DMP_STORE_ECORRUPT;
    const char *n;
    size_t nl;
    const uint8_t *h;
    int rc = dmp_store_rkey_parse(buf + 8, len - 8, &n, &nl, &h);
    if (rc != 0)
        return rc;
    *t = dmp_store_ob64_get(buf);
    *rkey = buf + 8;
    *rkey_len = len - 8;
    return 0;
}

void dmp_store_rec_hdr(uint8_t hdr[DMP_STORE_REC_HDR], uint32_t ttl, int64_t stored_ms,
                       int64_t expires_ms, uint64_t seq)
{
    hdr[0] = DMP_STORE_REC_FORMAT;
    dmp_store_u32be(hdr + 1, ttl);
    dmp_store_u64be(hdr + 5, (uint64_t)stored_ms);
    dmp_store_u64be(hdr + 13, (uint64_t)expires_ms);
    dmp_store_u64be(hdr + 21, seq);
}

int dmp_store_rec_parse(const uint8_t *buf, size_t len, dmp_store_rec_t *out)
{
    if (buf == NULL || len < DMP_STORE_REC_HDR || buf[0] != DMP_STORE_REC_FORMAT ||
        len - DMP_STORE_REC_HDR > DMP_STORE_MAX_VALUE)
        return DMP_STORE_ECORRUPT;
    out->ttl = dmp_load_u32be(buf + 1);
    uint64_t st = dmp_load_u64be(buf + 5), ex = dmp_load_u64be(buf + 13);
    memcpy(&out->stored_ms, &st, 8);
    memcpy(&out->expires_ms, &ex, 8);
    out->seq = dmp_load_u64be(buf + 21);
    out->value = buf + DMP_STORE_REC_HDR;
    out->value_len = len - DMP_STORE_REC_HDR;
    return 0;
}

size_t dmp_store_ikey_make(uint8_t *out, int64_t t, const uint8_t *rkey, size_t rkl)
{
    dmp_store_ob64_put(out, t);
    memcpy(out + 8, rkey, rkl);
    return rkl + 8;
}

/* Name-index key: reversed(lname) | 0x00 | hash (same length as the record key). */
size_t dmp_store_dkey_make(uint8_t *out, const char *lname, size_t nl, const uint8_t hash[32])
{
    char rev[DMP_STORE_MAX_NAME];
    dmp_store_name_reverse(lname, nl, rev);
    return dmp_store_rkey_make(out, rev, nl, hash);
}

void dmp_store_to_public(const dmp_store_rec_t *rec, const uint8_t hash[32], dmp_store_record_t *r)
{
    r->value = rec->value;
    r->value_len = rec->value_len;
    r->ttl = rec->ttl;
    r->stored_ms = rec->stored_ms;
    r->expires_ms = rec->expires_ms;
    memcpy(r->hash, hash, 32);
}
