/* cluster: cluster-manifest gossip (reference cluster.md §3.10.3-§3.10.5): fetch a peer's
 * manifest, verify it against the pinned operator key and our base domain, install it when its
 * seq is higher than anything we hold, and take its nodes as the peer list. */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster_int.h"
#include "wire/wire.h"

size_t dmp_cluster_peers_from_manifest(const dmp_wire_cluster_t *m, dmp_cluster_peer_t *out,
                                       size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n_nodes && k < cap; i++) {
        const dmp_wire_cluster_node_t *nd = &m->nodes[i];
        size_t l = nd->http_endpoint_len;
        const char *ep = nd->http_endpoint;
        while (l > 0 && (ep[l - 1] == '/' || ep[l - 1] == ' '))
            l--;
        while (l > 0 && ep[0] == ' ') {
            ep++;
            l--;
        }
        if (l == 0 || l > DMP_CLUSTER_URL_MAX ||
            !((l > 7 && strncasecmp(ep, "http://", 7) == 0) ||
              (l > 8 && strncasecmp(ep, "https://", 8) == 0)))
            continue;
        dmp_cluster_peer_t *p = &out[k++];
        memset(p, 0, sizeof(*p));
        memcpy(p->url, ep, l);
        p->url[l] = '\0';
        snprintf(p->node_id, sizeof(p->node_id), "%.*s", (int)nd->node_id_len, nd->node_id);
        p->synthetic_id = false;
    }
    return k;
}

/* A verifying manifest in our own store with a higher seq than the one in use (an operator
 * POSTed it to this node) becomes the peer list. */
static void adopt_stored(dmp_cluster_t *c)
{
    dmp_buf_t w;
    dmp_buf_init(&w);
    int64_t seq = -1, cur;
    dmp_wire_cluster_t m;
    pthread_mutex_lock(&c->mu);
    cur = c->installed_seq;
    pthread_mutex_unlock(&c->mu);
    if (dmp_cluster__best_wire(c, &w, &seq) == 0 && seq > cur &&
        dmp_wire_cluster_parse(w.data, w.len, c->spk, cl_now(c) / 1000, c->base, &m) == 0) {
        dmp_cluster_peer_t peers[DMP_WIRE_CLUSTER_MAX_NODES];
        size_t n = dmp_cluster_peers_from_manifest(&m, peers, DMP_WIRE_CLUSTER_MAX_NODES);
        if (dmp_cluster_set_peers(c, peers, n) == 0) {
            pthread_mutex_lock(&c->mu);
            c->installed_seq = seq;
            pthread_mutex_unlock(&c->mu);
            dmp_info("gossip: using the stored cluster manifest seq %lld (%zu nodes)",
                     (long long)seq, n);
        }
    }
    dmp_buf_free(&w);
}

int dmp_cluster_gossip_tick(dmp_cluster_t *c)
{
    if (!c->has_spk || !c->base)
        return DMP_EUNSUPPORTED;
    adopt_stored(c);
    pthread_mutex_lock(&c->mu);
    if (c->npeers == 0) {
        pthread_mutex_unlock(&c->mu);
        return DMP_ENOTFOUND;
    }
    char url[DMP_CLUSTER_URL_MAX + 1];
    size_t i = c->grr % c->npeers;
    c->grr = (i + 1) % c->npeers;
    snprintf(url, sizeof(url), "%s", c->peers[i].p.url);
    pthread_mutex_unlock(&c->mu);

    dmp_cluster_http_resp_t resp;
    int rc = dmp_cluster__http(c, url, "/v1/sync/cluster-manifest", NULL, 0, NULL, &resp);
    if (rc != 0)
        return rc;
    dmp_buf_t wire;
    dmp_buf_init(&wire);
    if (resp.status == 204) {
        rc = 0;
        goto out;
    }
    if (resp.status != 200) {
        rc = DMP_CLUSTER_EHTTP;
        goto out;
    }
    rc = dmp_cluster_manifest_resp_parse(resp.body, resp.len, &wire);
    if (rc != 0)
        goto out;
    int64_t now = cl_now(c);
    dmp_wire_cluster_t m;
    if (dmp_wire_cluster_parse(wire.data, wire.len, c->spk, now / 1000, c->base, &m) != 0) {
        dmp_warn("gossip: cluster manifest from %s does not verify; ignored", url);
        rc = DMP_CLUSTER_EREJECT;
        goto out;
    }
    int64_t stored = -1;
    rc = dmp_cluster__best_seq(c, &stored);
    if (rc != 0)
        goto out;
    pthread_mutex_lock(&c->mu);
    int64_t current = c->installed_seq > stored ? c->installed_seq : stored;
    pthread_mutex_unlock(&c->mu);
    if (m.seq > INT64_MAX || (int64_t)m.seq <= current)
        goto out; /* never downgrade, never re-install the same seq */
    char owner[DMP_WIRE_NAME_MAX];
    rc = dmp_wire_name_cluster(m.cluster_name, owner, sizeof(owner));
    if (rc != 0)
        goto out;
    int64_t ttl = (int64_t)m.exp - now / 1000;
    dmp_cluster_change_t ch = {.name = owner,
                               .name_len = strlen(owner),
                               .value = wire.data,
                               .value_len = wire.len,
                               .ttl = ttl < 1            ? 1
                                      : ttl > UINT32_MAX ? UINT32_MAX
                                                         : (uint32_t)ttl};
    rc = c->env.apply(c->env.ctx, &ch, 1);
    if (rc != 0)
        goto out;
    dmp_cluster_tree_touch_name(c->tree, owner, strlen(owner));
    dmp_cluster_peer_t peers[DMP_WIRE_CLUSTER_MAX_NODES];
    size_t n = dmp_cluster_peers_from_manifest(&m, peers, DMP_WIRE_CLUSTER_MAX_NODES);
    rc = dmp_cluster_set_peers(c, peers, n);
    if (rc == 0) {
        pthread_mutex_lock(&c->mu);
        c->installed_seq = (int64_t)m.seq;
        pthread_mutex_unlock(&c->mu);
        ST_ADD(c, gossip_installed, 1);
        dmp_info("gossip: installed cluster manifest seq %llu from %s (%zu nodes)",
                 (unsigned long long)m.seq, url, n);
    }
out:
    dmp_buf_free(&wire);
    dmp_cluster_http_resp_free(&resp);
    return rc;
}

int dmp_cluster_peers_from_store(dmp_cluster_t *c)
{
    if (!c->has_spk || !c->base)
        return DMP_EUNSUPPORTED;
    dmp_buf_t w;
    dmp_buf_init(&w);
    int64_t seq = -1;
    int rc = dmp_cluster__best_wire(c, &w, &seq);
    if (rc == 0 && seq < 0)
        rc = DMP_ENOTFOUND;
    dmp_wire_cluster_t m;
    if (rc == 0 &&
        dmp_wire_cluster_parse(w.data, w.len, c->spk, cl_now(c) / 1000, c->base, &m) != 0)
        rc = DMP_ENOTFOUND;
    if (rc == 0) {
        dmp_cluster_peer_t peers[DMP_WIRE_CLUSTER_MAX_NODES];
        size_t n = dmp_cluster_peers_from_manifest(&m, peers, DMP_WIRE_CLUSTER_MAX_NODES);
        rc = dmp_cluster_set_peers(c, peers, n);
        if (rc == 0) {
            pthread_mutex_lock(&c->mu);
            c->installed_seq = seq;
            pthread_mutex_unlock(&c->mu);
        }
    }
    dmp_buf_free(&w);
    return rc;
}
