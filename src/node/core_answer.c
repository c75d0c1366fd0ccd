/* node: what the shards and the frontends both use to answer a query: the zone from the
 * configuration, name -> shard routing, the EDNS options of a query (cookies, NSID, keepalive)
 * and response rate limiting through the current RRL table (announced per query thread, retired
 * on reload once no thread holds it). core.c and core_frontend.c call in here; nothing here
 * calls either. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/core_int.h"

void dmp_node_core_zone_from_cfg(const dmp_node_config_t *c, dmp_dns_zone_t *z)
{
    memset(z, 0, sizeof(*z));
    z->ttl = c->dns_ttl;
    if (c->served_zone)
        snprintf(z->apex, sizeof(z->apex), "%s", c->served_zone);
    if (c->apex_a && inet_pton(AF_INET, c->apex_a, z->a) == 1)
        z->has_a = true;
    if (c->apex_aaaa && inet_pton(AF_INET6, c->apex_aaaa, z->aaaa) == 1)
        z->has_aaaa = true;
    if (c->apex_ns)
        snprintf(z->ns, sizeof(z->ns), "%s", c->apex_ns);
    if (c->apex_soa_rname)
        snprintf(z->soa_rname, sizeof(z->soa_rname), "%s", c->apex_soa_rname);
}

unsigned dmp_node_core_shard_of(const dmp_node_core_t *c, const char *lname, size_t len)
{
    return c->nshards <= 1 ? 0 : (unsigned)(dmp_dns_name_hash(lname, len) % c->nshards);
}

/* EDNS options of one query: the client address for cookies (secrets re-derived when the
 * rotation epoch changes; every shard derives the same ones from the master), NSID, keepalive. */
void dmp_node_core_query_opts(dmp_node_core_t *c, dmp_dns_cookie_secret_t *cookie,
                              uint64_t *cookie_epoch, const struct sockaddr *peer,
                              socklen_t peer_len, int64_t now_ms, dmp_dns_opts_t *o)
{
    const dmp_node_config_t *cfg = c->cfg;
    memset(o, 0, sizeof(*o));
    o->now_s = (uint32_t)(now_ms / 1000);
    if (cfg->nsid) {
        o->nsid = (const uint8_t *)cfg->nsid;
        o->nsid_len = cfg->nsid_len;
    }
    o->tcp_keepalive_100ms = c->keepalive;
    if (!cfg->cookies || !peer)
        return;
    if (peer->sa_family == AF_INET && peer_len >= (socklen_t)sizeof(struct sockaddr_in)) {
        o->client_ip = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
        o->client_ip_len = 4;
    } else if (peer->sa_family == AF_INET6 && peer_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        o->client_ip = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
        o->client_ip_len = 16;
    } else {
        return;
    }
    uint64_t epoch = (uint64_t)(now_ms / 1000) / cfg->cookie_rotate;
    if (epoch != *cookie_epoch &&
        dmp_dns_cookie_secret_at(c->cookie_master, (uint64_t)(now_ms / 1000), cfg->cookie_rotate,
                                 cookie) == 0)
        *cookie_epoch = epoch;
    if (*cookie_epoch == UINT64_MAX)
        return;
    o->cookie = cookie;
    o->cookie_required = atomic_load_explicit(&c->cookie_required, memory_order_relaxed);
}

/* Announces and returns the current RRL table (NULL: off); rrl_leave when done with it. */
static dmp_node_rrl_t *rrl_enter(dmp_node_core_t *c, _Atomic(dmp_node_rrl_t *) *hz)
{
    dmp_node_rrl_t *r = atomic_load_explicit(&c->rrl, memory_order_acquire);
    while (r != NULL) {
        atomic_store(hz, r); /* seq_cst: ordered before the re-check and the reload's look */
        dmp_node_rrl_t *again = atomic_load(&c->rrl);
        if (again == r)
            break;
        r = again;
    }
    return r;
}

static void rrl_leave(_Atomic(dmp_node_rrl_t *) *hz)
{
    atomic_store_explicit(hz, NULL, memory_order_release);
}

/* Response rate limiting of one UDP answer (in out[0..*out_len)), the same on a shard and on a
 * frontend: a dropped answer leaves *out_len 0, a slipped one is replaced by a TC=1 stub.
 * Returns true when the answer was dropped or slipped (counted here in st). */
bool dmp_node_core_rrl_apply(dmp_node_core_t *c, _Atomic(dmp_node_rrl_t *) *hz,
                             dmp_node_tstats_t *st, const struct sockaddr *peer, socklen_t peer_len,
                             const dmp_dns_result_t *res, const uint8_t *pkt, size_t len,
                             uint8_t *out, size_t cap, size_t *out_len, int64_t now_ns)
{
    dmp_node_rrl_t *r = rrl_enter(c, hz);
    if (r == NULL)
        return false;
    dmp_node_rrl_verdict_t v = dmp_node_rrl_check_mt(r, peer, peer_len, res, *out_len, now_ns);
    rrl_leave(hz);
    if (v == DMP_NODE_RRL_DROP || v == DMP_NODE_RRL_SLIP) {
        *out_len = 0;
        if (v == DMP_NODE_RRL_SLIP && dmp_dns_tc_stub(pkt, len, out, cap, out_len) != 0)
            *out_len = 0;
    }
    if (st == NULL) /* a frontend counted nowhere (tests) */
        return v == DMP_NODE_RRL_DROP || v == DMP_NODE_RRL_SLIP;
    switch (v) {
    case DMP_NODE_RRL_DROP:
        DMP_STAT_INC(st, rrl_dropped);
        return true;
    case DMP_NODE_RRL_SLIP:
        DMP_STAT_INC(st, rrl_slipped);
        return true;
    case DMP_NODE_RRL_EXEMPT_COOKIE:
        DMP_STAT_INC(st, rrl_exempt_cookie);
        return false;
    case DMP_NODE_RRL_EXEMPT_LIST:
        DMP_STAT_INC(st, rrl_exempt_list);
        return false;
    default:
        return false;
    }
}

/* Waits until no query thread announces r (each holds it for one check), then frees it. */
void dmp_node_core_rrl_retire(dmp_node_core_t *c, dmp_node_rrl_t *r)
{
    if (r == NULL)
        return;
    struct timespec nap = {0, 100000};
    for (unsigned i = 0; c->shards && i < c->nshards; i++)
        while (atomic_load(&c->shards[i].rrl_hz) == r)
            nanosleep(&nap, NULL);
    for (unsigned i = 0; c->fe && i < c->nfe; i++)
        while (atomic_load(&c->fe[i].rrl_hz) == r)
            nanosleep(&nap, NULL);
    dmp_node_rrl_free(r);
}
