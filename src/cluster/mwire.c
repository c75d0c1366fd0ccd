/* cluster: the binary messages of our Merkle protocol (formats in cluster_types.h). */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster.h"
#include "store/store.h"
#include "wire/wire.h"

static const uint32_t level_len[DMP_CLUSTER_DEPTH + 1] = {1, 16, 256, 4096, 65536};

static int req_encode(const dmp_cluster_mreq_t *req, unsigned level_byte, dmp_buf_t *out)
{
    if (!req || !out || req->n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_EINVAL;
    for (size_t i = 0; i < req->n; i++)
        if (req->idx[i] >= level_len[req->level])
            return DMP_EINVAL;
    int rc = dmp_buf_append_u8(out, DMP_CLUSTER_MERKLE_VERSION);
    if (rc == 0)
        rc = dmp_buf_append_u8(out, (uint8_t)level_byte);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, (uint16_t)req->n);
    for (size_t i = 0; i < req->n && rc == 0; i++)
        rc = dmp_buf_append_u16be(out, req->idx[i]);
    return rc;
}

/* Parses the common request shape; level must be <= max_level (leaf requests: exactly 0 on
 * the wire, mapped to DMP_CLUSTER_DEPTH). Indexes must be strictly ascending (no duplicates),
 * which bounds the work a request can cause. */
static int req_parse(const uint8_t *buf, size_t len, bool leaf, dmp_cluster_mreq_t *out)
{
    if (!buf || !out)
        return DMP_EINVAL;
    dmp_rd_t r;
    dmp_rd_init(&r, buf, len);
    uint8_t ver, level;
    uint16_t n;
    if (dmp_rd_u8(&r, &ver) || dmp_rd_u8(&r, &level) || dmp_rd_u16(&r, &n))
        return DMP_ETRUNC;
    if (ver != DMP_CLUSTER_MERKLE_VERSION)
        return DMP_EVERSION;
    if (leaf ? level != 0 : level >= DMP_CLUSTER_DEPTH)
        return DMP_EFORMAT;
    if (n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_ETOOBIG;
    if (dmp_rd_left(&r) != (size_t)n * 2)
        return dmp_rd_left(&r) < (size_t)n * 2 ? DMP_ETRUNC : DMP_EFORMAT;
    out->level = leaf ? DMP_CLUSTER_DEPTH : level;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        uint16_t v;
        dmp_rd_u16(&r, &v);
        if (v >= level_len[out->level] || (i > 0 && v <= out->idx[i - 1]))
            return DMP_EFORMAT;
        out->idx[i] = v;
    }
    return 0;
}

int dmp_cluster_mreq_encode(const dmp_cluster_mreq_t *req, dmp_buf_t *out)
{
    if (!req || req->level >= DMP_CLUSTER_DEPTH)
        return DMP_EINVAL;
    return req_encode(req, req->level, out);
}

int dmp_cluster_mreq_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out)
{
    return req_parse(buf, len, false, out);
}

int dmp_cluster_lreq_encode(const dmp_cluster_mreq_t *req, dmp_buf_t *out)
{
    if (!req || req->level != DMP_CLUSTER_DEPTH)
        return DMP_EINVAL;
    return req_encode(req, 0, out);
}

int dmp_cluster_lreq_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out)
{
    return req_parse(buf, len, true, out);
}

int dmp_cluster_mresp_build(dmp_cluster_tree_t *t, const dmp_cluster_mreq_t *req, dmp_buf_t *out)
{
    if (!t || !req || !out || req->level >= DMP_CLUSTER_DEPTH ||
        req->n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_EINVAL;
    uint8_t root[32];
    dmp_cluster_tree_root(t, root);
    int rc = dmp_buf_reserve(out, 4 + 32 + req->n * (2 + DMP_CLUSTER_FANOUT * 32));
    if (rc == 0)
        rc = dmp_buf_append_u8(out, DMP_CLUSTER_MERKLE_VERSION);
    if (rc == 0)
        rc = dmp_buf_append_u8(out, (uint8_t)req->level);
    if (rc == 0)
        rc = dmp_buf_append(out, root, 32);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, (uint16_t)req->n);
    for (size_t i = 0; i < req->n && rc == 0; i++) {
        uint8_t ch[DMP_CLUSTER_FANOUT][32];
        rc = dmp_cluster_tree_children(t, req->level, req->idx[i], ch);
        if (rc == 0)
            rc = dmp_buf_append_u16be(out, req->idx[i]);
        if (rc == 0)
            rc = dmp_buf_append(out, ch, sizeof(ch));
    }
    return rc;
}

int dmp_cluster_mresp_parse(const uint8_t *buf, size_t len, const dmp_cluster_mreq_t *req,
                            uint8_t root[32], uint8_t (*children)[DMP_CLUSTER_FANOUT][32])
{
    if (!buf || !req || !root || !children)
        return DMP_EINVAL;
    dmp_rd_t r;
    dmp_rd_init(&r, buf, len);
    uint8_t ver, level;
    uint16_t n;
    if (dmp_rd_u8(&r, &ver) || dmp_rd_u8(&r, &level) || dmp_rd_copy(&r, root, 32) ||
        dmp_rd_u16(&r, &n))
        return DMP_ETRUNC;
    if (ver != DMP_CLUSTER_MERKLE_VERSION)
        return DMP_EVERSION;
    if (level != req->level || n != req->n)
        return DMP_EFORMAT;
    size_t per = 2 + DMP_CLUSTER_FANOUT * 32;
    if (dmp_rd_left(&r) != (size_t)n * per)
        return dmp_rd_left(&r) < (size_t)n * per ? DMP_ETRUNC : DMP_EFORMAT;
    for (size_t i = 0; i < n; i++) {
        uint16_t idx;
        dmp_rd_u16(&r, &idx);
        if (idx != req->idx[i])
            return DMP_EFORMAT;
        dmp_rd_copy(&r, children[i], DMP_CLUSTER_FANOUT * 32);
    }
    return 0;
}

/* ---- leaf responses ---- */

int dmp_cluster_lresp_begin(dmp_cluster_lresp_t *w, dmp_buf_t *out, size_t n, size_t max_bytes)
{
    if (!w || !out || n > DMP_CLUSTER_MERKLE_MAX_NODES)
        return DMP_EINVAL;
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    int rc = dmp_buf_append_u8(out, DMP_CLUSTER_MERKLE_VERSION);
    if (rc == 0)
        rc = dmp_buf_append_u16be(out, (uint16_t)n);
    return rc;
}

static void close_bucket(dmp_cluster_lresp_t *w)
{
    if (w->count_at) {
        dmp_store_u16be(w->out->data + w->count_at, (uint16_t)w->count);
        w->count_at = 0;
    }
}

int dmp_cluster_lresp_bucket(dmp_cluster_lresp_t *w, uint16_t bucket)
{
    if (!w || !w->out)
        return DMP_EINVAL;
    close_bucket(w);
    int rc = dmp_buf_append_u16be(w->out, bucket);
    if (rc == 0) {
        w->count_at = w->out->len;
        w->count = 0;
        rc = dmp_buf_append_u16be(w->out, 0);
    }
    return rc;
}

int dmp_cluster_lresp_entry(dmp_cluster_lresp_t *w, const dmp_cluster_leaf_entry_t *e)
{
    if (!w || !e || !w->count_at || e->name_len == 0 || e->name_len > DMP_CLUSTER_NAME_MAX)
        return DMP_EINVAL;
    if (w->count >= DMP_CLUSTER_LEAF_MAX_ENTRIES)
        return DMP_ETOOBIG;
    size_t need = 2 + e->name_len + 32 + 4;
    if (w->out->len + need > w->max_bytes)
        return DMP_ETOOBIG;
    int rc = dmp_buf_append_u8(w->out, e->tombstone ? DMP_CLUSTER_ENTRY_TOMBSTONE : 0);
    if (rc == 0)
        rc = dmp_buf_append_u8(w->out, (uint8_t)e->name_len);
    if (rc == 0)
        rc = dmp_buf_append(w->out, e->name, e->name_len);
    if (rc == 0)
        rc = dmp_buf_append(w->out, e->hash, 32);
    if (rc == 0)
        rc = dmp_buf_append_u32be(w->out, e->ttl);
    if (rc == 0)
        w->count++;
    return rc;
}

int dmp_cluster_lresp_end(dmp_cluster_lresp_t *w)
{
    if (!w || !w->out)
        return DMP_EINVAL;
    close_bucket(w);
    return 0;
}

void dmp_cluster_leaves_free(dmp_cluster_leaves_t *l)
{
    if (!l)
        return;
    free(l->e);
    memset(l, 0, sizeof(*l));
}

int dmp_cluster_leaves_push(dmp_cluster_leaves_t *l, const dmp_cluster_leaf_entry_t *e)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        dmp_cluster_leaf_entry_t *ne = realloc(l->e, nc * sizeof(*ne));
        if (!ne)
            return DMP_ENOMEM;
        l->e = ne;
        l->cap = nc;
    }
    l->e[l->n++] = *e;
    return 0;
}

int dmp_cluster_lresp_parse(const uint8_t *buf, size_t len, const dmp_cluster_mreq_t *req,
                            dmp_cluster_leaves_t *out)
{
    if (!buf || !req || !out)
        return DMP_EINVAL;
    dmp_rd_t r;
    dmp_rd_init(&r, buf, len);
    uint8_t ver;
    uint16_t n;
    if (dmp_rd_u8(&r, &ver) || dmp_rd_u16(&r, &n))
        return DMP_ETRUNC;
    if (ver != DMP_CLUSTER_MERKLE_VERSION)
        return DMP_EVERSION;
    if (n != req->n)
        return DMP_EFORMAT;
    size_t start = out->n;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint16_t bucket, count;
        if (dmp_rd_u16(&r, &bucket) || dmp_rd_u16(&r, &count)) {
            rc = DMP_ETRUNC;
            break;
        }
        if (bucket != req->idx[i]) {
            rc = DMP_EFORMAT;
            break;
        }
        for (size_t j = 0; j < count && rc == 0; j++) {
            dmp_cluster_leaf_entry_t e;
            memset(&e, 0, sizeof(e));
            uint8_t flags, nl;
            const uint8_t *name;
            uint32_t ttl;
            if (dmp_rd_u8(&r, &flags) || dmp_rd_u8(&r, &nl) || dmp_rd_bytes(&r, nl, &name) ||
                dmp_rd_copy(&r, e.hash, 32) || dmp_rd_u32(&r, &ttl)) {
                rc = DMP_ETRUNC;
                break;
            }
            if ((flags & ~DMP_CLUSTER_ENTRY_TOMBSTONE) != 0 || nl == 0 ||
                nl > DMP_CLUSTER_NAME_MAX) {
                rc = DMP_EFORMAT;
                break;
            }
            memcpy(e.name, name, nl);
            e.name[nl] = '\0';
            e.name_len = nl;
            uint32_t b;
            /* names travel lowercase; the bucket must be the name's own */
            for (size_t k = 0; k < nl; k++)
                if (e.name[k] >= 'A' && e.name[k] <= 'Z')
                    rc = DMP_EFORMAT;
            if (rc == 0 && (dmp_wire_http_name_check(e.name, nl) != 0 ||
                            dmp_store_bucket_of(e.name, nl, &b) != 0 || b != bucket))
                rc = DMP_EFORMAT;
            if (rc != 0)
                break;
            e.tombstone = flags & DMP_CLUSTER_ENTRY_TOMBSTONE;
            e.ttl = ttl;
            e.bucket = bucket;
            rc = dmp_cluster_leaves_push(out, &e);
        }
    }
    if (rc == 0 && dmp_rd_left(&r) != 0)
        rc = DMP_EFORMAT;
    if (rc != 0)
        out->n = start; /* all or nothing */
    return rc;
}
