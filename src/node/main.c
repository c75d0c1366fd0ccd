/* dnsmeshd: wires config, store, net (frontends + shards), dns, the HTTP API and the sweep.
 * Threads: F frontends and S shards (net), one HTTP thread (libmicrohttpd), one sweep thread,
 * and main, which only waits for SIGTERM/SIGINT and then shuts everything down in order. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cache/cache.h"
#include "dns/dns.h"
#include "net/net.h"
#include "node/node.h"
#include "store/store.h"

#ifndef DNSMESHD_VERSION
#define DNSMESHD_VERSION "0.0.0"
#endif

/* One shard's state, touched only by that shard's thread (and by main after net stopped). */
typedef struct {
    struct node *node;
    unsigned idx;
    dmp_dns_zone_t zone;
    dmp_cache_t *cache;
    dmp_node_tstats_t *st;
    dmp_node_wq_t wq;
    int64_t now_ms;
    dmp_buf_t rrs;  /* answer RRs built on a cache miss (valid until the next lookup) */
    dmp_buf_t vals; /* value bytes collected from the store */
    dmp_dns_value_t *vv;
    size_t vv_cap, vv_n;
    size_t *voff;
    int64_t min_exp;
} shard_t;

#define NEG_GEN_SLOTS 4096

static unsigned neg_slot(const char *lname, size_t len)
{
    return (unsigned)(dmp_dns_name_hash(lname, len) % NEG_GEN_SLOTS);
}

/* The whole node. Owns everything; lives in main's frame. */
typedef struct node {
    dmp_node_config_t cfg;
    dmp_store_t *store;
    dmp_net_t *net;
    dmp_node_http_t *http;
    dmp_node_metrics_t metrics;
    shard_t *shards;
    unsigned nshards;
    dmp_node_rl_t **rl; /* per frontend: [2f] UDP, [2f+1] TCP (separate buckets, as the
                         * reference, so a slipped UDP client can retry over TCP) */
    unsigned nfront;
    _Atomic uint32_t zone_serial; /* SOA serial: see dmp_node_serial_touch() */
    dmp_node_syncer_t syncer;     /* group commit for every shard's writes */
    /* Negative-cache generations: a cached NXDOMAIN for name X is valid only while
     * neg_gen[slot(X)] still holds the value read before X was looked up in the store. A put
     * of N bumps the slot of each proper ancestor of N (release, after the store write and
     * before the write is acknowledged), so a shard's cached NXDOMAIN for an ancestor that just
     * became an empty non-terminal is never served again: no cross-shard message, no window. */
    _Atomic uint32_t neg_gen[NEG_GEN_SLOTS];
    /* sweep thread */
    pthread_t sweep_th;
    bool sweep_started;
    pthread_mutex_t sweep_mu;
    pthread_cond_t sweep_cv;
    bool sweep_stop;
} node_t;

static int64_t now_ms_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms_coarse(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- shard: DNS lookups through the answer cache ---- */
static int collect(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    shard_t *sh = ctx;
    if (sh->vv_n == sh->vv_cap) {
        size_t nc = sh->vv_cap ? sh->vv_cap * 2 : 64;
        dmp_dns_value_t *nv = realloc(sh->vv, nc * sizeof(*nv));
        if (!nv)
            return 1;
        sh->vv = nv;
        size_t *no = realloc(sh->voff, nc * sizeof(*no));
        if (!no)
            return 1;
        sh->voff = no;
        sh->vv_cap = nc;
    }
    sh->voff[sh->vv_n] = sh->vals.len;
    sh->vv[sh->vv_n].len = r->value_len;
    if (dmp_buf_append(&sh->vals, r->value, r->value_len) != 0)
        return 1;
    sh->vv_n++;
    if (r->expires_ms < sh->min_exp)
        sh->min_exp = r->expires_ms;
    return 0;
}

/* Lifetime of a cached NXDOMAIN and of a cached "exists without values" (empty non-terminal).
 * A put of N drops N's own entry on its shard and outdates cached NXDOMAINs of N's ancestors
 * through neg_gen (see node_t). A delete or expiry that empties a subtree is not chased: its
 * ancestors may answer NODATA instead of NXDOMAIN for at most this long (harmless).
 * Cache entry kinds: count > 0 = TXT RRset; count 0 with no blob = exists, no values (empty
 * non-terminal); count 0 with a 4-byte blob = NXDOMAIN, the blob being its neg_gen value. */
#define NEG_CACHE_MS 30000

static int lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    shard_t *sh = ctx;
    node_t *n = sh->node;
    int64_t now = sh->now_ms;
    if (sh->cache) {
        const uint8_t *blob;
        size_t blen;
        uint16_t count;
        dmp_cache_result_t cr = dmp_cache_get(sh->cache, lname, len, now, &blob, &blen, &count);
        bool nx = cr == DMP_CACHE_HIT && count == 0 && blen == sizeof(uint32_t);
        if (nx) {
            uint32_t g;
            memcpy(&g, blob, sizeof(g));
            if (g ==
                atomic_load_explicit(&n->neg_gen[neg_slot(lname, len)], memory_order_acquire)) {
                DMP_STAT_INC(sh->st, cache_neg_hits);
                return DMP_ENOTFOUND;
            }
            cr = DMP_CACHE_MISS; /* a descendant was written since: look again */
        }
        if (cr == DMP_CACHE_HIT) {
            DMP_STAT_INC(sh->st, cache_hits);
            out->rrs = blob;
            out->len = blen;
            out->count = count;
            return 0;
        }
        if (cr == DMP_CACHE_NEGATIVE) {
            DMP_STAT_INC(sh->st, cache_neg_hits);
            return DMP_ENOTFOUND;
        }
        DMP_STAT_INC(sh->st, cache_misses);
    }
    /* read before the store: a put racing this lookup outdates what we may cache below */
    uint32_t gen = atomic_load_explicit(&n->neg_gen[neg_slot(lname, len)], memory_order_acquire);
    sh->vals.len = 0;
    sh->vv_n = 0;
    sh->min_exp = INT64_MAX;
    int rc = dmp_store_get(n->store, lname, len, now, collect, sh);
    if (rc == DMP_ENOTFOUND) {
        /* RFC 8020: a name with live descendants exists (empty non-terminal, e.g. the
         * mb-<hash> above slot-N.mb-<hash>): NODATA, never NXDOMAIN, or resolvers that
         * minimise QNAMEs (RFC 9156) would treat every name below as absent. */
        bool below = false;
        int dr = dmp_store_has_descendant(n->store, lname, len, now, &below);
        if (dr != 0) {
            DMP_STAT_INC(sh->st, store_errors);
            return dr;
        }
        if (below) {
            if (sh->cache) /* a hit with count 0: "exists, no values" */
                dmp_cache_put(sh->cache, lname, len, NULL, 0, 0, now + NEG_CACHE_MS);
            out->rrs = NULL;
            out->len = 0;
            out->count = 0;
            return 0;
        }
    }
    if (rc == DMP_ENOTFOUND || rc == DMP_ENAME || rc == DMP_ETOOBIG) {
        if (sh->cache)
            dmp_cache_put(sh->cache, lname, len, (const uint8_t *)&gen, sizeof(gen), 0,
                          now + NEG_CACHE_MS);
        return DMP_ENOTFOUND;
    }
    if (rc != 0) {
        DMP_STAT_INC(sh->st, store_errors);
        return rc;
    }
    if (sh->vv_n == 0)
        return DMP_ENOTFOUND;
    for (size_t i = 0; i < sh->vv_n; i++)
        sh->vv[i].data = sh->vals.data + sh->voff[i];
    sh->rrs.len = 0;
    size_t nv = sh->vv_n > 65535 ? 65535 : sh->vv_n;
    rc = dmp_dns_txt_rrs_build(sh->vv, nv, sh->zone.ttl, &sh->rrs);
    if (rc != 0)
        return rc;
    if (sh->cache)
        dmp_cache_put(sh->cache, lname, len, sh->rrs.data, sh->rrs.len, (uint16_t)nv, sh->min_exp);
    out->rrs = sh->rrs.data;
    out->len = sh->rrs.len;
    out->count = (uint16_t)nv;
    return 0;
}

static void on_handle(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
                      size_t *out_len)
{
    node_t *n = ctx;
    shard_t *sh = &n->shards[shard < n->nshards ? shard : 0];
    int64_t t0 = dmp_monotonic_ns();
    sh->now_ms = now_ms_coarse();
    sh->zone.soa_serial = atomic_load_explicit(&n->zone_serial, memory_order_relaxed);
    dmp_dns_result_t res = {0};
    *out_len = 0;
    dmp_dns_respond(&sh->zone, q->pkt, q->len,
                    q->transport == DMP_NET_TCP ? DMP_DNS_TCP : DMP_DNS_UDP, lookup, sh, out, cap,
                    out_len, &res);
    if (*out_len == 0) {
        DMP_STAT_INC(sh->st, dns_malformed);
    } else {
        unsigned rs = res.rcode < DMP_NODE_RCODE_SLOTS - 1 ? res.rcode : DMP_NODE_RCODE_SLOTS - 1;
        DMP_STAT_INC(sh->st, dns_rcode[rs]);
        if (res.outcome >= 0 && res.outcome < DMP_NODE_OUT_SLOTS)
            DMP_STAT_INC(sh->st, dns_outcome[res.outcome]);
    }
    DMP_STAT_INC(sh->st, dns_qtype[res.qtype ? dmp_node_qtype_slot(res.qtype) : 14]);
    dmp_node_lat_observe(sh->st, dmp_monotonic_ns() - t0);
}

static void on_tick(void *ctx, unsigned shard)
{
    node_t *n = ctx;
    shard_t *sh = &n->shards[shard < n->nshards ? shard : 0];
    dmp_node_wq_flush(&sh->wq);
    if (sh->cache) {
        size_t bytes = 0;
        dmp_cache_stats(sh->cache, NULL, NULL, &bytes, NULL);
        DMP_STAT_SET(sh->st, cache_bytes, bytes);
    }
}

static int on_route(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards)
{
    (void)ctx;
    uint64_t h;
    if (nshards <= 1 || dmp_dns_query_route(pkt, len, &h) != 0)
        return 0;
    return (int)(h % nshards);
}

static dmp_net_admit_t on_admit(void *ctx, unsigned frontend, const struct sockaddr *peer,
                                socklen_t peer_len, dmp_net_transport_t t)
{
    node_t *n = ctx;
    dmp_node_rl_t *rl = frontend < n->nfront ? n->rl[2 * frontend + (t == DMP_NET_TCP)] : NULL;
    if (!rl || !peer)
        return DMP_NET_ADMIT;
    const void *key = NULL;
    size_t klen = 0;
    if (peer->sa_family == AF_INET && peer_len >= (socklen_t)sizeof(struct sockaddr_in)) {
        key = &((const struct sockaddr_in *)peer)->sin_addr;
        klen = 4;
    } else if (peer->sa_family == AF_INET6 && peer_len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        /* one bucket per /64: a single IPv6 host owns at least that much address space */
        key = &((const struct sockaddr_in6 *)peer)->sin6_addr;
        klen = 8;
    }
    dmp_node_tstats_t *st = &n->metrics.t[n->nshards + frontend];
    switch (dmp_node_rl_check(rl, key, klen, dmp_monotonic_ns())) {
    case DMP_NODE_RL_ALLOW:
        return DMP_NET_ADMIT;
    case DMP_NODE_RL_SLIP:
        if (t == DMP_NET_UDP) {
            DMP_STAT_INC(st, dns_slipped);
            return DMP_NET_SLIP;
        }
        DMP_STAT_INC(st, dns_rate_limited);
        return DMP_NET_DROP; /* TCP is simply closed */
    default:
        DMP_STAT_INC(st, dns_rate_limited);
        return DMP_NET_DROP;
    }
}

/* ---- HTTP writes -> shard ---- */

/* Called by the write queue for each put once it is in the store, before it is acknowledged:
 * outdates cached NXDOMAINs of the name's proper ancestors below the served zone apex (with no
 * zone: ancestors of >= 2 labels), on every shard at once. */
static void on_stored(void *ctx, const dmp_node_write_t *w)
{
    shard_t *sh = ctx;
    node_t *n = sh->node;
    const char *name = w->lname;
    size_t len = w->lname_len;
    size_t al = strnlen(sh->zone.apex, sizeof(sh->zone.apex));
    if (al && (len <= al + 1 || name[len - al - 1] != '.' ||
               memcmp(name + len - al, sh->zone.apex, al) != 0))
        return; /* outside the zone: refused over DNS, never cached */
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '.')
            continue;
        const char *a = name + i + 1;
        size_t alen = len - i - 1;
        if (al ? alen <= al : memchr(a, '.', alen) == NULL)
            break;
        atomic_fetch_add_explicit(&n->neg_gen[neg_slot(a, alen)], 1, memory_order_release);
    }
}

static void write_task(void *arg)
{
    dmp_node_write_t *w = arg;
    shard_t *sh = w->route;
    dmp_node_wq_take(&sh->wq, w);
}

static int submit_write(void *ctx, dmp_node_write_t *w)
{
    node_t *n = ctx;
    unsigned s = (unsigned)(dmp_dns_name_hash(w->lname, w->lname_len) % n->nshards);
    w->route = &n->shards[s];
    return dmp_net_submit(n->net, s, write_task, w);
}

static void net_gauges(void *ctx, dmp_node_gauges_t *g)
{
    node_t *n = ctx;
    g->wal_syncs = atomic_load_explicit(&n->syncer.syncs, memory_order_relaxed);
    if (!n->net)
        return;
    dmp_net_stats_t ns;
    dmp_net_stats(n->net, &ns);
    g->have_net = 1;
    g->ring_depth_now = ns.ring_depth_now;
    g->ring_depth_max = ns.ring_depth_max;
    g->ring_full_drops = ns.ring_full_drops;
    g->udp_rx = ns.udp_rx;
    g->udp_tx = ns.udp_tx;
    g->udp_rx_dropped = ns.udp_dropped;
    g->tcp_accepted = ns.tcp_accepted;
    g->tcp_rejected = ns.tcp_rejected;
    g->tcp_timeouts = ns.tcp_timeouts;
    g->tcp_bad_length = ns.tcp_bad_length;
    g->tasks_run = ns.tasks_run;
}

/* ---- sweep thread ---- */
static void *sweep_main(void *arg)
{
    node_t *n = arg;
    dmp_node_background_thread();
    dmp_node_tstats_t *st = &n->metrics.t[n->metrics.n - 1];
    int64_t interval_ns = (int64_t)(n->cfg.cleanup_interval * 1e9);
    pthread_mutex_lock(&n->sweep_mu);
    while (!n->sweep_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + interval_ns;
        ts.tv_sec = t / 1000000000;
        ts.tv_nsec = t % 1000000000;
        while (!n->sweep_stop) {
            int rc = pthread_cond_timedwait(&n->sweep_cv, &n->sweep_mu, &ts);
            if (rc == ETIMEDOUT)
                break;
        }
        if (n->sweep_stop)
            break;
        pthread_mutex_unlock(&n->sweep_mu);
        size_t removed = 0;
        int rc = dmp_store_sweep(n->store, now_ms_real(), 0, &removed);
        DMP_STAT_INC(st, sweep_runs);
        if (rc != 0) {
            DMP_STAT_INC(st, store_errors);
            dmp_warn("sweep failed: %s", dmp_store_strerror(rc));
        } else if (removed) {
            DMP_STAT_ADD(st, sweep_removed, removed);
            dmp_info("cleanup removed %zu expired records", removed);
        }
        pthread_mutex_lock(&n->sweep_mu);
    }
    pthread_mutex_unlock(&n->sweep_mu);
    return NULL;
}

/* ---- start-up helpers ---- */
static const char *env_get(const char *name, void *ctx)
{
    (void)ctx;
    return getenv(name);
}

static int mkdir_parents(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0750) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return 0;
}

static int zone_from_cfg(const dmp_node_config_t *c, dmp_dns_zone_t *z)
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
    return 0;
}

/* File descriptors are shared by DNS TCP connections, HTTP connections, RocksDB's files and
 * our sockets/eventfds. Raises the soft RLIMIT_NOFILE to the hard limit, then lowers the two
 * connection caps when they would not leave a reserve (a quarter of the limit, at least 64, at
 * most 256) for the rest: otherwise enough TCP clients make accept() fail with EMFILE (the
 * frontend then spins on a listen socket it cannot drain) and starve the store and the HTTP
 * API of descriptors. *tcp_cap is the total over all frontends; each frontend needs one spare
 * descriptor to accept and close a connection over its cap. */
static void fit_fd_limit(unsigned nfront, unsigned *tcp_cap, uint32_t *http_cap)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY &&
        (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rl.rlim_cur)) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)1 << 30)
        return;
    uint64_t lim = rl.rlim_cur;
    uint64_t reserve = lim / 4;
    reserve = reserve < 64 ? 64 : reserve > 256 ? 256 : reserve;
    uint64_t avail = lim > reserve + nfront + 16 ? lim - reserve - nfront : 16;
    if ((uint64_t)*tcp_cap + *http_cap <= avail)
        return;
    uint32_t http = *http_cap;
    if (http > avail / 4)
        http = (uint32_t)(avail / 4) ? (uint32_t)(avail / 4) : 1;
    uint64_t tcp = avail > http ? avail - http : 1;
    if (tcp > *tcp_cap)
        tcp = *tcp_cap;
    if (tcp < nfront)
        tcp = nfront;
    dmp_warn("RLIMIT_NOFILE is %llu: DNS TCP connections capped at %llu (asked %u) and HTTP "
             "connections at %u (asked %u); raise the limit (e.g. LimitNOFILE=) for more",
             (unsigned long long)lim, (unsigned long long)tcp, *tcp_cap, http, *http_cap);
    *tcp_cap = (unsigned)tcp;
    *http_cap = http;
}

/* A port free for UDP and TCP on both [::] (v6-only) and 0.0.0.0, or 0 when none was found
 * (the caller then lets the kernel pick for each listener). */
static uint16_t pick_dual_port(void)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        int fds[4] = {-1, -1, -1, -1};
        uint16_t port = 0;
        bool ok = true;
        for (int i = 0; i < 4 && ok; i++) {
            bool v6 = i < 2;
            fds[i] = socket(v6 ? AF_INET6 : AF_INET, (i % 2) ? SOCK_STREAM : SOCK_DGRAM, 0);
            if (fds[i] < 0) {
                ok = false;
                break;
            }
            struct sockaddr_storage ss;
            memset(&ss, 0, sizeof(ss));
            socklen_t sl;
            if (v6) {
                int one = 1;
                setsockopt(fds[i], IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(port);
                sl = sizeof(*a);
            } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(port);
                sl = sizeof(*a);
            }
            if (bind(fds[i], (struct sockaddr *)&ss, sl) != 0) {
                ok = false;
                break;
            }
            if (i == 0) {
                struct sockaddr_in6 b;
                socklen_t bl = sizeof(b);
                getsockname(fds[0], (struct sockaddr *)&b, &bl);
                port = ntohs(b.sin6_port);
            }
        }
        for (int i = 0; i < 4; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        if (ok && port)
            return port;
    }
    return 0;
}

static void fmt_hostport(char *out, size_t cap, const char *host, unsigned port)
{
    if (strchr(host, ':'))
        snprintf(out, cap, "[%s]:%u", host, port);
    else
        snprintf(out, cap, "%s:%u", host, port);
}

static int write_ports_file(const char *path, const char *line)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", line);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

static void shutdown_node(node_t *n)
{
    if (n->http) {
        /* a write in flight must finish first: its shard resumes the connection */
        dmp_node_http_stop(n->http, 25000);
        n->http = NULL;
    }
    if (n->sweep_started) {
        pthread_mutex_lock(&n->sweep_mu);
        n->sweep_stop = true;
        pthread_cond_signal(&n->sweep_cv);
        pthread_mutex_unlock(&n->sweep_mu);
        pthread_join(n->sweep_th, NULL);
        n->sweep_started = false;
    }
    if (n->net) {
        dmp_net_stop(n->net);
        dmp_net_free(n->net);
        n->net = NULL;
    }
    for (unsigned i = 0; n->shards && i < n->nshards; i++) {
        shard_t *sh = &n->shards[i];
        if (sh->wq.store)
            dmp_node_wq_flush(&sh->wq); /* shard threads are gone: main may touch it */
    }
    /* the last flushes above handed their writes over: sync them, then answer them */
    dmp_node_syncer_stop(&n->syncer);
    for (unsigned i = 0; n->shards && i < n->nshards; i++) {
        shard_t *sh = &n->shards[i];
        dmp_cache_free(sh->cache);
        dmp_buf_free(&sh->rrs);
        dmp_buf_free(&sh->vals);
        free(sh->vv);
        free(sh->voff);
    }
    free(n->shards);
    n->shards = NULL;
    for (unsigned i = 0; n->rl && i < 2 * n->nfront; i++)
        dmp_node_rl_free(n->rl[i]);
    free(n->rl);
    n->rl = NULL;
    if (n->store) {
        dmp_store_close(n->store);
        n->store = NULL;
    }
    dmp_node_metrics_free(&n->metrics);
}

int main(int argc, char **argv)
{
    static node_t node;
    node_t *n = &node;
    char err[512];
    bool help = false;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("dnsmeshd %s (DMP v1, store schema %u)\n", DNSMESHD_VERSION,
                   DMP_STORE_SCHEMA_VERSION);
            return 0;
        }
    }
    if (dmp_node_config_load(&n->cfg, env_get, NULL, argc, argv, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err);
        return 2;
    }
    if (help) {
        dmp_node_config_usage(stdout);
        return 0;
    }
    dmp_log_set_level(n->cfg.log_level);
    dmp_log_set_format(n->cfg.log_format);

    /* every thread started below inherits this mask; main takes the signals with sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int status = 1;
    n->nshards = n->cfg.shards;
    n->nfront = n->cfg.frontends;
    pthread_mutex_init(&n->sweep_mu, NULL);
    /* the sweep thread's deadlines are CLOCK_MONOTONIC: the condvar must time on that clock */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->sweep_cv, &ca);
    pthread_condattr_destroy(&ca);

    /* metric slots: shards [0,S), frontends [S,S+F), HTTP, sweep */
    if (dmp_node_metrics_init(&n->metrics, n->nshards + n->nfront + 2) != 0) {
        fprintf(stderr, "dnsmeshd: out of memory\n");
        goto out;
    }

    if (mkdir_parents(n->cfg.db_path) != 0) {
        fprintf(stderr, "dnsmeshd: DMP_DB_PATH: cannot create the parent of '%s': %s\n",
                n->cfg.db_path, strerror(errno));
        goto out;
    }
    dmp_store_opts_t so = {.path = n->cfg.db_path, .create_if_missing = true};
    int rc = dmp_store_open(&so, &n->store, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: DMP_DB_PATH: cannot open store '%s': %s\n", n->cfg.db_path,
                err[0] ? err : dmp_store_strerror(rc));
        goto out;
    }
    if (dmp_node_syncer_start(&n->syncer, n->store) != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the WAL sync thread\n");
        goto out;
    }

    n->shards = calloc(n->nshards, sizeof(shard_t));
    n->rl = calloc(2 * (size_t)n->nfront, sizeof(*n->rl));
    if (!n->shards || !n->rl) {
        fprintf(stderr, "dnsmeshd: out of memory\n");
        goto out;
    }
    atomic_init(&n->zone_serial, (uint32_t)(now_ms_real() / 1000));
    size_t cache_bytes = (size_t)(n->cfg.cache_mb << 20) / n->nshards;
    for (unsigned i = 0; n->shards && i < n->nshards; i++) {
        shard_t *sh = &n->shards[i];
        sh->node = n;
        sh->idx = i;
        sh->st = &n->metrics.t[i];
        zone_from_cfg(&n->cfg, &sh->zone);
        dmp_buf_init(&sh->rrs);
        dmp_buf_init(&sh->vals);
        if (cache_bytes && dmp_cache_new(cache_bytes, &sh->cache) != 0) {
            fprintf(stderr, "dnsmeshd: DMP_CACHE_MB: cannot allocate the answer cache\n");
            goto out;
        }
        sh->wq = (dmp_node_wq_t){.store = n->store,
                                 .cache = sh->cache,
                                 .serial = &n->zone_serial,
                                 .st = sh->st,
                                 .max_batch = 64,
                                 .now_ms = now_ms_real,
                                 .syncer = &n->syncer,
                                 .on_stored = on_stored,
                                 .on_stored_ctx = sh};
    }
    for (unsigned i = 0; i < 2 * n->nfront; i++) {
        if (dmp_node_rl_new(n->cfg.dns_rate, n->cfg.dns_burst, 10000, 2, &n->rl[i]) != 0) {
            fprintf(stderr, "dnsmeshd: out of memory\n");
            goto out;
        }
    }

    /* DNS: net frontends + shards */
    dmp_net_config_t nc;
    dmp_net_config_default(&nc);
    const char *dns_host =
        strcmp(n->cfg.dns_host, "localhost") == 0 ? "127.0.0.1" : n->cfg.dns_host;
    /* "::" means every address of both families: net's IPv6 sockets are v6-only, so add the
     * IPv4 wildcard on the same port (an ephemeral one is picked free on both first) */
    bool dual = strcmp(dns_host, "::") == 0;
    uint16_t dns_port = n->cfg.dns_port;
    if (dual && dns_port == 0)
        dns_port = pick_dual_port();
    if (dmp_net_config_add_listen(&nc, dns_host, dns_port) != 0 ||
        (dual && dmp_net_config_add_listen(&nc, "0.0.0.0", dns_port) != 0)) {
        fprintf(stderr, "dnsmeshd: DMP_DNS_HOST: invalid value '%s'\n", n->cfg.dns_host);
        status = 2;
        goto out;
    }
    nc.frontends = n->nfront;
    nc.shards = n->nshards;
    nc.ring_capacity = n->cfg.ring_size;
    nc.task_ring_capacity = n->cfg.ring_size;
    unsigned tcp_cap = n->cfg.dns_max_concurrency * 8;
    if (tcp_cap < 256)
        tcp_cap = 256;
    fit_fd_limit(n->nfront, &tcp_cap, &n->cfg.http_max_concurrency);
    nc.tcp_max_conns = (tcp_cap + n->nfront - 1) / n->nfront;
    dmp_net_handler_t hd = {
        .route = on_route, .admit = on_admit, .handle = on_handle, .tick = on_tick, .ctx = n};
    rc = dmp_net_start(&nc, &hd, &n->net, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: DNS listener on %s port %u: %s\n", n->cfg.dns_host,
                n->cfg.dns_port, err[0] ? err : dmp_net_strerror(rc));
        n->net = NULL;
        goto out;
    }

    dmp_node_http_env_t he = {.cfg = &n->cfg,
                              .store = n->store,
                              .metrics = &n->metrics,
                              .st = &n->metrics.t[n->nshards + n->nfront],
                              .submit = submit_write,
                              .gauges = net_gauges,
                              .ctx = n,
                              .now_ms = now_ms_real};
    err[0] = 0;
    rc = dmp_node_http_start(&he, n->cfg.http_host, n->cfg.http_port, &n->http, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err[0] ? err : "HTTP API failed to start");
        goto out;
    }

    if (pthread_create(&n->sweep_th, NULL, sweep_main, n) != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the sweep thread\n");
        goto out;
    }
    n->sweep_started = true;

    int dport = dmp_net_udp_port(n->net, 0);
    if (dport < 0)
        dport = dmp_net_tcp_port(n->net, 0);
    char dhp[96], hhp[96], line[256];
    fmt_hostport(dhp, sizeof(dhp), n->cfg.dns_host, (unsigned)(dport < 0 ? 0 : dport));
    fmt_hostport(hhp, sizeof(hhp), n->cfg.http_host, dmp_node_http_port(n->http));
    snprintf(line, sizeof(line), "dns=%s http=%s", dhp, hhp);
    printf("dnsmeshd: listening %s\n", line);
    fflush(stdout);
    dmp_info("DMP node up: dns=%s/udp+tcp http=%s db=%s frontends=%u shards=%u backend=%s "
             "auth=%s",
             dhp, hhp, n->cfg.db_path, n->nfront, n->nshards,
             dmp_net_backend(n->net) == DMP_NET_BACKEND_URING ? "io_uring" : "mmsg",
             n->cfg.auth_mode == DMP_NODE_AUTH_OPEN ? "open" : "legacy");
    if (!n->cfg.operator_token)
        dmp_warn("metrics endpoint unauthenticated; do not expose this node to the public "
                 "internet without setting DMP_OPERATOR_TOKEN.");
    if (n->cfg.ports_file && write_ports_file(n->cfg.ports_file, line) != 0)
        dmp_warn("cannot write ports file %s: %s", n->cfg.ports_file, strerror(errno));

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    dmp_info("signal %d: draining and shutting down", sig);
    status = 0;
out:
    shutdown_node(n);
    dmp_node_config_free(&n->cfg);
    if (status == 0)
        dmp_info("stopped cleanly");
    return status;
}
