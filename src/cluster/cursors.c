/* cluster: digest cursors of reference peers kept in the store (reference cluster.md §8.2: "persist
 * per-peer watermarks so restarts resume"). One key per peer endpoint in the store's
 * DMP_STORE_KV_CLUSTER map:
 *   key   "dc/" + endpoint (lowercase, no trailing '/')
 *   value u8 version (1) | u8 synthetic id | u8 id length | node id | cursor text
 *         ("<ts>:<name>:<hash hex>", dmp_cluster_cursor_format)
 * A cursor is taken back only by a peer at the same endpoint with the same node id, or when
 * the stored id was synthetic (derived from the URL): the rule set_peers applies in memory
 * (reference §3.10.4). */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster_int.h"

#define CUR_VERSION 1u

static size_t cursor_key(const char *url, char *key, size_t cap)
{
    size_t l = strlen(url);
    while (l > 0 && (url[l - 1] == '/' || url[l - 1] == ' '))
        l--;
    size_t s = 0;
    while (s < l && url[s] == ' ')
        s++;
    size_t k = (size_t)snprintf(key, cap, "dc/");
    for (size_t i = s; i < l && k + 1 < cap; i++)
        key[k++] = (char)((url[i] >= 'A' && url[i] <= 'Z') ? url[i] + 32 : url[i]);
    key[k] = '\0';
    return k;
}

int dmp_cluster__cursor_save(dmp_cluster_t *c, const peer_state_t *ps)
{
    char key[DMP_CLUSTER_URL_MAX + 8];
    size_t kl = cursor_key(ps->p.url, key, sizeof(key));
    uint8_t val[3 + DMP_CLUSTER_NODE_ID_MAX + 400];
    size_t idl = strnlen(ps->p.node_id, DMP_CLUSTER_NODE_ID_MAX);
    val[0] = CUR_VERSION;
    val[1] = ps->p.synthetic_id ? 1 : 0;
    val[2] = (uint8_t)idl;
    memcpy(val + 3, ps->p.node_id, idl);
    char *cur = (char *)val + 3 + idl;
    int rc = dmp_cluster_cursor_format(&ps->cursor, cur, sizeof(val) - 3 - idl);
    if (rc != 0)
        return rc;
    return dmp_store_kv_put(c->env.store, DMP_STORE_KV_CLUSTER, (const uint8_t *)key, kl, val,
                            3 + idl + strlen(cur));
}

bool dmp_cluster__cursor_load(dmp_cluster_t *c, peer_state_t *ps)
{
    char key[DMP_CLUSTER_URL_MAX + 8];
    size_t kl = cursor_key(ps->p.url, key, sizeof(key));
    dmp_buf_t b;
    dmp_buf_init(&b);
    bool ok = false;
    if (dmp_store_kv_get(c->env.store, DMP_STORE_KV_CLUSTER, (const uint8_t *)key, kl, &b) != 0)
        goto out;
    /* anything that does not decode is ignored: the digest then starts from the beginning */
    if (b.len < 3 || b.data[0] != CUR_VERSION || b.data[2] > DMP_CLUSTER_NODE_ID_MAX ||
        b.len < 3u + b.data[2])
        goto out;
    size_t idl = b.data[2];
    bool same_id = idl == strlen(ps->p.node_id) && memcmp(b.data + 3, ps->p.node_id, idl) == 0;
    if (!same_id && b.data[1] != 1)
        goto out;
    dmp_cluster_cursor_t cur;
    if (dmp_cluster_cursor_parse((const char *)b.data + 3 + idl, b.len - 3 - idl, &cur) != 0)
        goto out;
    ps->cursor = cur;
    ok = true;
out:
    dmp_buf_free(&b);
    return ok;
}
