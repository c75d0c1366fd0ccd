/* dnsmeshd: wires config, store, net (frontends + shards), dns, the HTTP API, the sweep and the
 * cluster (anti-entropy, gossip).
 * Threads: F frontends and S shards (net), one HTTP thread (libmicrohttpd), one sweep thread,
 * with DMP_SYNC_PEER_TOKEN an anti-entropy and a gossip thread,
 * and main, which only waits for SIGTERM/SIGINT and then shuts everything down in order. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
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
#include "node/dns_update.h"
#include "node/node.h"
#include "store/store.h"

#ifndef DNSMESHD_VERSION
#define DNSMESHD_VERSION "0.0.0"
#endif

/* The whole node. Owns everything; lives in main's frame. */
typedef struct node {
    dmp_node_config_t cfg;
    dmp_store_t *store;
    dmp_index_t *index; /* DMP_NAME_INDEX; NULL when off */
    dmp_node_core_t *core;
    dmp_net_t *net;
    dmp_node_http_t *http;
    dmp_node_metrics_t metrics;
    unsigned nshards;
    dmp_node_rl_t **rl; /* per frontend: [2f] UDP, [2f+1] TCP (separate buckets, as the
                         * reference, so a slipped UDP client can retry over TCP) */
    unsigned nfront;
    dmp_node_bgthread_t sweep;
    dmp_node_diskwatch_t diskwatch; /* the free-space reserve (DMP_STORE_MIN_FREE_MB) */
    dmp_node_prefetch_t prefetch;   /* the page cache after a start (DMP_STORE_PREFETCH_MB) */
    dmp_node_tokens_t *tokens;      /* always open; user tokens write only in multi-tenant */
    dmp_node_bgthread_t audit_bg;   /* writes buffered token-audit rows every second */
    dmp_node_update_t *upd;         /* RFC 2136 UPDATE + TSIG (docs/auth.md) */
    dmp_node_cluster_t *cluster;    /* anti-entropy + gossip; NULL without DMP_SYNC_PEER_TOKEN */
    dmp_node_xfr_t *xfr;            /* zone transfers + NOTIFY; NULL without DMP_XFR_ALLOW */
    dmp_node_hb_t *hb;              /* heartbeat / discovery; NULL when off */
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
    if (shard >= n->nshards) { /* an UPDATE worker (net routes only UPDATEs there) */
        dmp_node_update_handle(n->upd, q->pkt, q->len, out, cap, out_len);
        return;
    }
    dmp_node_core_query(n->core, shard, q->pkt, q->len, q->transport == DMP_NET_TCP, q->peer,
                        q->peer_len, out, cap, out_len);
}

/* Frontend thread: a UDP query answered from the owning shard's answer cache (and, with
 * DMP_DNS_FRONTEND_READS, from the store on a miss), or false: the shard answers it. */
static bool on_frontend(void *ctx, unsigned frontend, const dmp_net_query_t *q, uint8_t *out,
                        size_t cap, size_t *out_len)
{
    node_t *n = ctx;
    return dmp_node_core_query_frontend(n->core, frontend, q->pkt, q->len, q->peer, q->peer_len,
                                        out, cap, out_len);
}

static int on_tick(void *ctx, unsigned shard)
{
    node_t *n = ctx;
    return shard < n->nshards ? dmp_node_core_tick(n->core, shard) : -1;
}

/* The core's executor: net's per-shard task rings. */
static int core_exec(void *ctx, unsigned shard, void (*fn)(void *arg), void *arg)
{
    node_t *n = ctx;
    return dmp_net_submit(n->net, shard, fn, arg);
}

static bool on_takeover(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len,
                        const uint8_t *pkt, size_t len)
{
    node_t *n = ctx;
    return dmp_node_xfr_takeover(n->xfr, fd, peer, peer_len, pkt, len);
}

static int on_route(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards)
{
    node_t *n = ctx;
    unsigned us;
    if (dmp_node_update_route(n->upd, pkt, len, &us))
        return (int)(n->nshards + us); /* UPDATE workers follow the name-owning shards */
    nshards = n->nshards;
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
    if (n->index) {
        g->have_index = 1;
        dmp_index_stats(n->index, &g->index);
    }
    g->wal_syncs = n->core ? dmp_node_core_wal_syncs(n->core) : 0;
    if (n->upd) {
        dmp_node_update_stats_t us;
        dmp_node_update_stats(n->upd, &us);
        const uint64_t r[7] = {us.noerror,  us.refused, us.notauth,      us.formerr,
                               us.servfail, us.notzone, us.prereq_failed};
        memcpy(g->upd_result, r, sizeof(r));
        g->tsig_error[0] = us.tsig_badkey;
        g->tsig_error[1] = us.tsig_badsig;
        g->tsig_error[2] = us.tsig_badtime;
        g->claims[0] = us.claims_accepted;
        g->claims[1] = us.claims_throttled;
        g->have_update = 1;
    }
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
    g->tcp_evicted = ns.tcp_evicted;
    g->tcp_source_capped = ns.tcp_source_capped;
    g->tcp_bad_length = ns.tcp_bad_length;
    g->tasks_run = ns.tasks_run;
}

static size_t hb_peers(void *ctx, dmp_node_peer_row_t *rows, size_t cap)
{
    return dmp_node_hb_peers(((node_t *)ctx)->hb, rows, cap);
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

static void audit_tick(void *arg)
{
    node_t *n = arg;
    int rc = dmp_node_tokens_flush(n->tokens);
    if (rc != 0)
        dmp_warn("token audit log: cannot write: %s", dmp_store_strerror(rc));
}

/* ---- start-up helpers ---- */
/* The environment, with DMP_CONFIG_FILE's assignments (ctx, may be NULL) winning over it: the
 * unit passes the same file as EnvironmentFile=, and SIGHUP re-reads it. */
static const char *env_get(const char *name, void *ctx)
{
    const char *v = ctx ? dmp_node_envfile_get(ctx, name) : NULL;
    return v ? v : getenv(name);
}

/* Loads the configuration from the environment (+ DMP_CONFIG_FILE) and argv. */
static int load_config(dmp_node_config_t *c, int argc, char **argv, bool *help, char *err,
                       size_t errcap)
{
    dmp_node_envfile_t ef = {0};
    const char *path = getenv("DMP_CONFIG_FILE");
    if (path && *path && dmp_node_envfile_load(path, &ef) != 0) {
        snprintf(err, errcap, "DMP_CONFIG_FILE: cannot read '%s': %s", path, strerror(errno));
        return DMP_NODE_ECONFIG;
    }
    int rc =
        dmp_node_config_load(c, env_get, path && *path ? &ef : NULL, argc, argv, help, err, errcap);
    dmp_node_envfile_free(&ef);
    return rc;
}

/* SIGHUP: re-read the configuration, apply what can change while running, log the rest. */
static void reload(node_t *n, int argc, char **argv)
{
    dmp_node_service_notify("RELOADING=1");
    dmp_node_config_t nc;
    char err[512], done[512], restart[512];
    bool help = false;
    if (load_config(&nc, argc, argv, &help, err, sizeof(err)) != 0) {
        dmp_error("SIGHUP: %s; nothing reloaded", err);
    } else {
        dmp_node_config_reload(&n->cfg, &nc, n->core, done, sizeof(done), restart, sizeof(restart));
        dmp_info("SIGHUP: reloaded %s%s%s", done[0] ? done : "nothing (no change)",
                 restart[0] ? "; changed but needs a restart: " : "", restart);
        dmp_node_config_free(&nc);
    }
    dmp_node_service_notify("READY=1");
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
    /* cluster rounds first: they write through the core, which must still run */
    dmp_node_cluster_stop(n->cluster);
    if (n->http) {
        /* a write in flight must finish first: its shard resumes the connection */
        dmp_node_http_stop(n->http, (int)n->cfg.shutdown_timeout * 1000);
        n->http = NULL;
    }
    dmp_node_hb_free(n->hb); /* after HTTP (its peer table), before the shards (its writes) */
    n->hb = NULL;
    dmp_node_bgthread_stop(&n->sweep);
    dmp_node_bgthread_stop(&n->audit_bg); /* last tick writes what is buffered */
    dmp_node_tokens_close(n->tokens);
    n->tokens = NULL;
    if (n->net) {
        dmp_net_stop(n->net);
        dmp_net_free(n->net);
        n->net = NULL;
    }
    dmp_node_xfr_stop(n->xfr); /* no frontend hands connections over any more */
    n->xfr = NULL;
    dmp_node_cluster_free(n->cluster); /* no HTTP handler uses the engine any more */
    n->cluster = NULL;
    /* shard threads are gone: flush what they left, sync it, answer it */
    dmp_node_update_free(n->upd);
    n->upd = NULL;
    dmp_node_core_free(n->core);
    n->core = NULL;
    for (unsigned i = 0; n->rl && i < 2 * n->nfront; i++)
        dmp_node_rl_free(n->rl[i]);
    free(n->rl);
    n->rl = NULL;
    dmp_node_prefetch_stop(&n->prefetch);
    dmp_index_free(n->index); /* after the walk and every reader (the core) */
    n->index = NULL;
    dmp_node_diskwatch_stop(&n->diskwatch);
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

    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("dnsmeshd %s (DMP v1, store schema %u)\n", DNSMESHD_VERSION,
                   DMP_STORE_SCHEMA_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--env-template") == 0) {
            dmp_node_config_env_template(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--check-config") == 0) {
            check = true; /* taken out of argv: the knob parser does not know it */
            memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof(*argv));
            argc--;
            i--;
        }
    }
    if (load_config(&n->cfg, argc, argv, &help, err, sizeof(err)) != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err);
        return 2;
    }
    if (help) {
        dmp_node_config_usage(stdout);
        return 0;
    }
    if (check) {
        /* as nsd-checkconf / knotc conf-check: validate and exit, touching nothing */
        int rc = 0;
        if (n->cfg.user && !getpwnam(n->cfg.user)) {
            fprintf(stderr, "dnsmeshd: DMP_USER: no such user '%s'\n", n->cfg.user);
            rc = 2;
        }
        if (rc == 0)
            printf("dnsmeshd: configuration OK (dns=%s:%u http=%s:%u db=%s zone=%s rrl=%g/s)\n",
                   n->cfg.dns_host, n->cfg.dns_port, n->cfg.http_host, n->cfg.http_port,
                   n->cfg.db_path, n->cfg.served_zone ? n->cfg.served_zone : "(none)",
                   n->cfg.rrl_rate);
        dmp_node_config_free(&n->cfg);
        return rc;
    }
    dmp_log_set_level(n->cfg.log_level);
    dmp_log_set_format(n->cfg.log_format);

    /* every thread started below inherits this mask; main takes the signals with sigwait */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
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
    dmp_store_opts_t so = {.path = n->cfg.db_path,
                           .create_if_missing = true,
                           .block_cache_bytes = (size_t)n->cfg.store_cache_mb << 20,
                           .write_buffer_bytes = (size_t)n->cfg.store_wbuf_mb << 20};
    int rc = dmp_store_open(&so, &n->store, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: DMP_DB_PATH: cannot open store '%s': %s\n", n->cfg.db_path,
                err[0] ? err : dmp_store_strerror(rc));
        goto out;
    }
    if (dmp_node_diskwatch_start(&n->diskwatch, n->store, n->cfg.store_min_free_mb << 20) != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the disk watcher thread\n");
        goto out;
    }
    uint64_t nrec = 0;
    if (n->cfg.name_index && dmp_store_record_count(n->store, &nrec) == 0 &&
        (rc = dmp_index_new(n->cfg.db_path, nrec, n->cfg.dns_ttl, &n->index)) != 0)
        dmp_warn("name index: off: %s", dmp_strerror(rc)); /* the node serves without it */
    /* the walk leaves the store's reserve twice over and 1 GiB more for the writes */
    uint64_t idx_free = (n->cfg.store_min_free_mb << 21) + (1ull << 30);
    if (dmp_node_prefetch_start(&n->prefetch, n->store, n->cfg.store_prefetch_mb, n->index,
                                idx_free, n->cfg.name_index_rebuild_s) != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the store prefetch thread\n");
        goto out;
    }
    /* DMP_DNS_FRONTEND_CACHE=0: every query crosses to its shard (the path before the
     * frontends could answer from the shards' caches; kept measurable, bench/frontend-path.sh) */
    const char *fec = getenv("DMP_DNS_FRONTEND_CACHE");
    bool fe_cache = !(fec && strcmp(fec, "0") == 0);
    dmp_net_config_t ncd;
    dmp_net_config_default(&ncd); /* the TCP idle timeout the keepalive option announces */
    dmp_node_core_opts_t co = {.cfg = &n->cfg,
                               .store = n->store,
                               .nshards = n->nshards,
                               .shard_st = n->metrics.t,
                               .nfrontends = fe_cache ? n->nfront : 0,
                               .frontend_st = &n->metrics.t[n->nshards],
                               .frontend_reads = n->cfg.dns_fe_reads,
                               .write_window_us = n->cfg.write_window_ms * 1000,
                               .index = n->index,
                               .tcp_keepalive_100ms = (uint16_t)(ncd.tcp_idle_timeout_ms / 100)};
    rc = dmp_node_core_new(&co, &n->core);
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: cannot start the node core: %s\n", dmp_node_strerror(rc));
        goto out;
    }
    dmp_node_update_opts_t uo = {
        .cfg = &n->cfg, .store = n->store, .core = n->core, .now_ms = now_ms_real};
    dmp_node_update_cfg_load(&uo.ucfg, &n->cfg, env_get, NULL);
    if (uo.ucfg.enabled && dmp_node_update_new(&uo, &n->upd) != 0) {
        fprintf(stderr, "dnsmeshd: out of memory\n");
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
    nc.shards = n->nshards + (n->upd ? dmp_node_update_workers(n->upd) : 0);
    nc.ring_capacity = n->cfg.ring_size;
    nc.task_ring_capacity = n->cfg.ring_size;
    unsigned tcp_cap = n->cfg.dns_max_concurrency * 8;
    if (tcp_cap < 256)
        tcp_cap = 256;
    fit_fd_limit(n->nfront, &tcp_cap, &n->cfg.http_max_concurrency);
    nc.tcp_max_conns = (tcp_cap + n->nfront - 1) / n->nfront;
    err[0] = 0;
    rc = dmp_node_xfr_start(&n->cfg, n->store, &n->xfr, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err[0] ? err : "cannot start zone transfers");
        status = rc == DMP_NODE_ECONFIG ? 2 : 1;
        goto out;
    }
    dmp_net_handler_t hd = {.route = on_route,
                            .admit = on_admit,
                            .handle = on_handle,
                            .tick = on_tick,
                            .tcp_takeover = n->xfr ? on_takeover : NULL,
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

    /* the token store is always open (dnsmesh-admin --node manages tokens in any mode); only
     * multi-tenant mode lets user tokens write */
    {
        if (dmp_node_tokens_open(n->store, NULL, &n->tokens) != 0) {
            fprintf(stderr, "dnsmeshd: out of memory\n");
            goto out;
        }
        n->audit_bg = (dmp_node_bgthread_t){.name = "token-audit",
                                            .interval_s = 1.0,
                                            .tick = audit_tick,
                                            .ctx = n,
                                            .nice = 13,
                                            .tick_on_stop = true};
        if (dmp_node_bgthread_start(&n->audit_bg) != 0) {
            fprintf(stderr, "dnsmeshd: cannot start the token audit thread\n");
            goto out;
        }
    }
    err[0] = 0;
    rc = dmp_node_cluster_start(&n->cfg, n->store, n->core, &n->cluster, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err[0] ? err : "cannot start anti-entropy");
        status = rc == DMP_NODE_ECONFIG ? 2 : 1;
        goto out;
    }

    dmp_node_hb_env_t hbe = {.cfg = &n->cfg,
                             .store = n->store,
                             .core = n->core,
                             .version = DNSMESHD_VERSION,
                             .claim_provider = n->upd && uo.ucfg.claim_provider};
    if (dmp_node_hb_new(&hbe, &n->hb) != 0 || (n->hb && dmp_node_hb_start(n->hb) != 0)) {
        fprintf(stderr, "dnsmeshd: cannot start the heartbeat\n");
        goto out;
    }
    dmp_node_http_env_t he = {.cfg = &n->cfg,
                              .store = n->store,
                              .metrics = &n->metrics,
                              .st = &n->metrics.t[n->nshards + n->nfront],
                              .core = n->core,
                              .tokens = n->tokens,
                              .tsig_enabled = n->upd != NULL,
                              .version = DNSMESHD_VERSION,
                              .cluster = dmp_node_cluster_engine(n->cluster),
                              .gauges = net_gauges,
                              .peers = n->hb ? hb_peers : NULL,
                              .self_endpoint = dmp_node_hb_endpoint(n->hb),
                              .operator_spk_hex = dmp_node_hb_spk_hex(n->hb),
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
             n->cfg.auth_mode == DMP_NODE_AUTH_OPEN     ? "open"
             : n->cfg.auth_mode == DMP_NODE_AUTH_LEGACY ? "legacy"
                                                        : "multi-tenant");
    if (!n->cfg.operator_token)
        dmp_warn("metrics endpoint unauthenticated; do not expose this node to the public "
                 "internet without setting DMP_OPERATOR_TOKEN.");
    if (n->cfg.ports_file && write_ports_file(n->cfg.ports_file, line) != 0)
        dmp_warn("cannot write ports file %s: %s", n->cfg.ports_file, strerror(errno));

    /* every socket is bound: started as root (no systemd), give root up now */
    err[0] = 0;
    rc = dmp_node_drop_privileges(n->cfg.user, n->cfg.db_path, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmeshd: %s\n", err);
        goto out;
    }
    if (n->cfg.user && geteuid() != 0)
        dmp_info("running as user %s", n->cfg.user);
    else if (geteuid() == 0)
        dmp_warn("running as root: set DMP_USER to drop privileges once the listeners are "
                 "bound (the systemd unit runs as user dnsmesh instead)");

    char ready[400];
    snprintf(ready, sizeof(ready), "READY=1\nSTATUS=serving %s", line);
    dmp_node_service_notify(ready);

    int sig = 0;
    for (;;) {
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        reload(n, argc, argv);
    }
    dmp_node_service_notify("STOPPING=1");
    dmp_info("signal %d: draining and shutting down", sig);
    status = 0;
out:
    shutdown_node(n);
    dmp_node_config_free(&n->cfg);
    if (status == 0)
        dmp_info("stopped cleanly");
    return status;
}
