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

/* The whole node. Owns everything; lives in main's frame. */
typedef struct node {
    dmp_node_config_t cfg;
    dmp_store_t *store;
    dmp_node_core_t *core;
    dmp_net_t *net;
    dmp_node_http_t *http;
    dmp_node_metrics_t metrics;
    unsigned nshards;
    dmp_node_rl_t **rl; /* per frontend: [2f] UDP, [2f+1] TCP (separate buckets, as the
                         * reference, so a slipped UDP client can retry over TCP) */
    unsigned nfront;
    dmp_node_bgthread_t sweep;
} node_t;

static int64_t now_ms_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- net glue: the shards run the node core ---- */
static void on_handle(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
                      size_t *out_len)
{
    node_t *n = ctx;
    dmp_node_core_query(n->core, shard, q->pkt, q->len, q->transport == DMP_NET_TCP, out, cap,
                        out_len);
}

/* Frontend thread: a UDP query answered from the owning shard's answer cache, or false. */
static bool on_frontend(void *ctx, unsigned frontend, const dmp_net_query_t *q, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    node_t *n = ctx;
    return dmp_node_core_query_frontend(n->core, frontend, q->pkt, q->len, out, cap, out_len);
}

static void on_tick(void *ctx, unsigned shard)
{
    node_t *n = ctx;
    dmp_node_core_tick(n->core, shard);
}

/* The core's executor: net's per-shard task rings. */
static int core_exec(void *ctx, unsigned shard, void (*fn)(void *arg), void *arg)
{
    node_t *n = ctx;
    return dmp_net_submit(n->net, shard, fn, arg);
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

static void net_gauges(void *ctx, dmp_node_gauges_t *g)
{
    node_t *n = ctx;
    g->wal_syncs = n->core ? dmp_node_core_wal_syncs(n->core) : 0;
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

/* ---- sweep: a background thread ticking every DMP_CLEANUP_INTERVAL ---- */
static void sweep_tick(void *arg)
{
    node_t *n = arg;
    dmp_node_tstats_t *st = &n->metrics.t[n->metrics.n - 1];
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
    dmp_node_bgthread_stop(&n->sweep);
    if (n->net) {
        dmp_net_stop(n->net);
        dmp_net_free(n->net);
        n->net = NULL;
    }
    /* shard threads are gone: flush what they left, sync it, answer it */
    dmp_node_core_free(n->core);
    n->core = NULL;
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
    /* DMP_DNS_FRONTEND_CACHE=0: every query crosses to its shard (the path before the
     * frontends could answer from the shards' caches; kept measurable, bench/frontend-path.sh) */
    const char *fec = getenv("DMP_DNS_FRONTEND_CACHE");
    bool fe_cache = !(fec && strcmp(fec, "0") == 0);
    dmp_node_core_opts_t co = {.cfg = &n->cfg,
                               .store = n->store,
                               .nshards = n->nshards,
                               .shard_st = n->metrics.t,
                               .nfrontends = fe_cache ? n->nfront : 0,
                               .frontend_st = &n->metrics.t[n->nshards]};
    rc = dmp_node_core_new(&co, &n->core);
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the node core: %s\n", dmp_node_strerror(rc));
        goto out;
    }
    n->rl = calloc(2 * (size_t)n->nfront, sizeof(*n->rl));
    if (!n->rl) {
        fprintf(stderr, "dnsmeshd: out of memory\n");
        goto out;
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
    dmp_net_handler_t hd = {.route = on_route,
                            .admit = on_admit,
                            .handle = on_handle,
                            .tick = on_tick,
                            .ctx = n,
                            .frontend_answer = fe_cache ? on_frontend : NULL};
    rc = dmp_net_start(&nc, &hd, &n->net, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: DNS listener on %s port %u: %s\n", n->cfg.dns_host,
                n->cfg.dns_port, err[0] ? err : dmp_net_strerror(rc));
        n->net = NULL;
        goto out;
    }
    dmp_node_core_set_exec(n->core, core_exec, n);

    dmp_node_http_env_t he = {.cfg = &n->cfg,
                              .store = n->store,
                              .metrics = &n->metrics,
                              .st = &n->metrics.t[n->nshards + n->nfront],
                              .core = n->core,
                              .gauges = net_gauges,
                              .ctx = n,
                              .now_ms = now_ms_real};
    err[0] = 0;
    rc = dmp_node_http_start(&he, n->cfg.http_host, n->cfg.http_port, &n->http, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err[0] ? err : "HTTP API failed to start");
        goto out;
    }

    n->sweep = (dmp_node_bgthread_t){.name = "sweep",
                                     .interval_s = n->cfg.cleanup_interval,
                                     .tick = sweep_tick,
                                     .ctx = n,
                                     .nice = 13};
    if (dmp_node_bgthread_start(&n->sweep) != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the sweep thread\n");
        goto out;
    }

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
