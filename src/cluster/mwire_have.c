/* cluster: version-2 leaf requests of our Merkle protocol, which carry the requester's
 * have-list so a leaf response lists only the rows that differ (format in cluster_types.h). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cluster/cluster.h"
#include "store/store.h"

_Static_assert(crypto_shorthash_KEYBYTES == 16 && crypto_shorthash_BYTES == 8,
               "SipHash-2-4: 16-byte key, 8-byte output");

uint64_t dmp_cluster_have_key(const uint8_t salt[16], const char *lname, size_t len,
                              const uint8_t hash[32])
{
    uint8_t buf[DMP_CLUSTER_NAME_MAX + 1 + 32], out[8];
    if (len > DMP_CLUSTER_NAME_MAX)
        len = DMP_CLUSTER_NAME_MAX;
    memcpy(buf, lname, len);
    buf[len] = 0;
    memcpy(buf + len + 1, hash, 32);
    crypto_shorthash(out, buf, len + 33, salt);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | out[i];
    return k;
}

int dmp_cluster_lreq2_begin(dmp_buf_t *out, const uint8_t salt[16])
{
    if (!out || !salt)
        return DMP_EINVAL;
    int rc = dmp_buf_append_u8(out, DMP_CLUSTER_LEAF_VERSION);
    if (rc == 0)
        rc = dmp_buf_append_u8(out, 0);
    if (rc == 0)
        rc = dmp_buf_append(out, salt, 16);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, 0); /* n, patched by end */
    return rc;
}

static int have_cmp(const void *a, const void *b)
{
    const dmp_cluster_have_t *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->ttl < y->ttl ? -1 : x->ttl > y->ttl;
}

int dmp_cluster_lreq2_bucket(dmp_buf_t *out, uint16_t bucket, dmp_cluster_have_t *have, size_t k)
{
    if (!out || (k && !have))
        return DMP_EINVAL;
    if (k > 1)
        qsort(have, k, sizeof(*have), have_cmp);
    /* equal keys (one row listed twice, or a 2^-64 collision): keep the longest ttl */
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && have[m - 1].key == have[i].key)
            have[m - 1] = have[i]; /* sorted by ttl within a key: the later is longer */
        else
            have[m++] = have[i];
    }
    if (m > 65535)
        m = 65535; /* a hint: the rows left out come back in the response */
    int rc = dmp_buf_reserve(out, out->len + 4 + m * DMP_CLUSTER_HAVE_BYTES);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, bucket);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, (uint16_t)m);
    for (size_t i = 0; i < m && rc == 0; i++) {
        rc = dmp_buf_append_u32be(out, (uint32_t)(have[i].key >> 32));
        if (rc == 0)
            rc = dmp_buf_append_u32be(out, (uint32_t)have[i].key);
        if (rc == 0)
            rc = dmp_buf_append_u32be(out, have[i].ttl);
    }
    return rc;
}

int dmp_cluster_lreq2_end(dmp_buf_t *out, size_t n)
{
    if (!out || out->len < 20 || n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_EINVAL;
    dmp_store_u16be(out->data + 18, (uint16_t)n);
    return 0;
}

static uint64_t key_at(const uint8_t *p)
{
    return (uint64_t)dmp_load_u32be(p) << 32 | dmp_load_u32be(p + 4);
}

int dmp_cluster_lreq2_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out,
                            dmp_cluster_lhave_t *have)
{
    if (!buf || !out || !have)
        return DMP_EINVAL;
    dmp_rd_t r;
    dmp_rd_init(&r, buf, len);
    uint8_t ver, zero;
    uint16_t n;
    if (dmp_rd_u8(&r, &ver) || dmp_rd_u8(&r, &zero) || dmp_rd_copy(&r, have->salt, 16) ||
        dmp_rd_u16(&r, &n))
        return DMP_ETRUNC;
    if (ver != DMP_CLUSTER_LEAF_VERSION)
        return DMP_EVERSION;
    if (zero != 0)
        return DMP_EFORMAT;
    if (n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_ETOOBIG;
    out->level = DMP_CLUSTER_DEPTH;
    out->n = n;
    have->have = buf;
    for (size_t i = 0; i < n; i++) {
        uint16_t b, k;
        if (dmp_rd_u16(&r, &b) || dmp_rd_u16(&r, &k))
            return DMP_ETRUNC;
        if (i > 0 && b <= out->idx[i - 1])
            return DMP_EFORMAT;
        const uint8_t *e;
        if (dmp_rd_bytes(&r, (size_t)k * DMP_CLUSTER_HAVE_BYTES, &e))
            return DMP_ETRUNC;
        for (size_t j = 1; j < k; j++)
            if (key_at(e + j * DMP_CLUSTER_HAVE_BYTES) <=
                key_at(e + (j - 1) * DMP_CLUSTER_HAVE_BYTES))
                return DMP_EFORMAT;
        out->idx[i] = b;
        have->off[i] = (uint32_t)(e - buf);
        have->cnt[i] = k;
    }
    if (dmp_rd_left(&r) != 0)
        return DMP_EFORMAT;
    return 0;
}

bool dmp_cluster_lhave_covers(const dmp_cluster_lhave_t *h, size_t i,
                              const dmp_cluster_leaf_entry_t *e)
{
    if (!h || !e || e->tombstone || i >= DMP_CLUSTER_MERKLE_MAX_NODES || h->cnt[i] == 0)
        return false;
    uint64_t key = dmp_cluster_have_key(h->salt, e->name, e->name_len, e->hash);
    const uint8_t *base = h->have + h->off[i];
    size_t lo = 0, hi = h->cnt[i];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t k = key_at(base + mid * DMP_CLUSTER_HAVE_BYTES);
        if (k == key) {
            uint32_t ttl = dmp_load_u32be(base + mid * DMP_CLUSTER_HAVE_BYTES + 8);
            return (uint64_t)e->ttl <= (uint64_t)ttl + DMP_CLUSTER_TTL_SLOP;
        }
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}
