/* net: DNS frontends (UDP + TCP) and shard threads. docs/net.md describes the design.
 *
 * Threads. F frontend threads each own one UDP socket and one TCP listen socket per listen
 * address (SO_REUSEPORT), an eventfd, an epoll set and (io_uring backend) an io_uring. S shard
 * threads each own an eventfd and a task ring. Nothing here takes a lock on the query path.
 *
 * Rings. fwd[f*S+s]: frontend f -> shard s (req_t*), rep[s*F+f]: shard s -> frontend f (the
 * same req_t*, reply filled in). A frontend keeps at most ring_capacity requests in flight per
 * shard (inflight[s]); so neither ring can overflow and a shard never waits on a frontend.
 *
 * Buffer ownership. A req_t belongs to its frontend from ingest until it is pushed on fwd, to
 * the shard until it is pushed on rep, then to the frontend again. UDP reqs are fixed-size
 * objects from the frontend's pool (query bytes and reply area inline, reply written in place
 * by handle()); they go back to the pool after the reply is sent. TCP reqs are malloc'd per
 * query by the frontend; the shard mallocs the framed reply (wbuf_t) and hangs it on the req;
 * the frontend frees the req when the reply arrives and the wbuf after writing it. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "net/frame.h"
#include "net/ring.h"
#include "util/util.h"

#define BATCH 64
#define TCP_MAX_MSG 65535
#define UD_EFD 1ULL
#define UD_EPOLL 2ULL
#define UD_CANCEL 3ULL
#define UD_RECV 16ULL /* + udp socket index */
#define UD_MAX_SPECIAL 4096ULL
#define STOP_DRAIN_MS 1000

/* Per-thread counters: only the owning thread writes (plain load+store, no RMW); readers sum
 * them with relaxed loads. */
typedef struct {
    _Atomic uint64_t udp_rx, udp_tx, udp_dropped, tcp_accepted, tcp_rejected, tcp_accept_errors,
        tcp_rx, tcp_tx, tcp_timeouts, tcp_bad_length, ring_full_drops, admit_drops, slips,
        queries_handled, tasks_run, ring_depth_max, frontend_answered;
} counters_t;

#define CINC(c, n)                                                                                 \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),            \
                          memory_order_relaxed)
#define CGET(c) atomic_load_explicit(&(c), memory_order_relaxed)

/* A framed TCP reply (2-byte length + message). Malloc'd by the shard, freed by the frontend
 * once written. off = bytes already written. */
typedef struct wbuf {
    struct wbuf *next;
    size_t len, off;
    uint8_t data[];
} wbuf_t;

enum { REQ_UDP = 0, REQ_TCP = 1 };

/* Local address a datagram arrived on (wildcard sockets only): the reply leaves from it. */
typedef struct {
    int family; /* 0 = unknown */
    union {
        struct in_pktinfo v4;
        struct in6_pktinfo v6;
    } u;
} udst_t;

/* room for one IP_PKTINFO or IPV6_PKTINFO cmsg (CMSG_SPACE(20) = 40 on Linux; glibc's macro is
 * not an integer constant expression for clang) */
#define UDP_CTL_SPACE 64

/* One query in flight. See the ownership rules at the top of this file. */
typedef struct req {
    struct req *next; /* pool free list (UDP) */
    uint8_t kind;
    unsigned shard;
    unsigned sock;               /* UDP: index into fe->udp_fd */
    unsigned conn_idx, conn_gen; /* TCP: the connection, valid if its gen still matches */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    size_t len;     /* query bytes at data[0..len) */
    size_t out_len; /* UDP: reply bytes at data[udp_max_payload..); 0 = none */
    wbuf_t *wb;     /* TCP: framed reply or NULL; owned by the req until the frontend takes it */
    struct msghdr msg;
    struct iovec iov;
    union {
        size_t align; /* cmsghdr alignment */
        uint8_t b[UDP_CTL_SPACE];
    } ctl; /* UDP: source-address cmsg for the reply (ctl_len bytes; 0 = none) */
    size_t ctl_len;
    uint8_t data[];
} req_t;

/* TCP connection. Invariant: open <=> fd >= 0 and registered in the frontend's epoll set;
 * pending = queries of this connection inside shards; wq = replies not yet fully written. */
typedef struct {
    int fd;
    unsigned gen;
    bool open, rd_closed, rd_paused, want_out, dirty;
    unsigned pending;  /* queries of this connection inside shards */
    unsigned wq_count; /* replies in wq; pending + wq_count is capped by tcp_max_pipelined */
    uint8_t *rbuf;     /* owned; rlen bytes buffered of rcap */
    size_t rlen, rcap;
    int64_t last_ms;
    wbuf_t *wq_head, *wq_tail;
    struct sockaddr_storage peer;
    socklen_t peer_len;
} conn_t;

typedef struct fe fe_t;
typedef struct shard shard_t;

struct dmp_net {
    dmp_net_config_t cfg;
    dmp_net_handler_t h;
    unsigned F, S;
    dmp_net_backend_t backend;
    fe_t *fe;
    shard_t *sh;
    dmp_net_spsc_t *fwd; /* F*S */
    dmp_net_spsc_t *rep; /* S*F */
    int udp_port[DMP_NET_MAX_LISTEN];
    int tcp_port[DMP_NET_MAX_LISTEN];
    _Atomic int fe_stop, sh_stop, submit_closed, submit_active;
    pthread_mutex_t stop_mu;
    bool stopped;
    unsigned fe_started, sh_started;
};

struct shard {
    dmp_net_t *net;
    unsigned idx;
    pthread_t th;
    int efd;
    dmp_net_mpsc_t tasks;
    uint8_t *scratch; /* TCP reply area, TCP_MAX_MSG bytes */
    counters_t c;
};

struct fe {
    dmp_net_t *net;
    unsigned idx;
    pthread_t th;
    int efd;
    int epfd;
    int udp_fd[DMP_NET_MAX_LISTEN];
    unsigned nudp;
    int tcp_fd[DMP_NET_MAX_LISTEN];
    unsigned ntcp;
    bool use_uring;
    counters_t c;

    /* query hand-off */
    unsigned *inflight; /* per shard */
    req_t ***pend;      /* per shard: reqs to push on the next flush (at most ring_capacity) */
    unsigned *npend;
    size_t req_size;
    req_t *pool; /* free UDP reqs */
    req_t **all; /* every UDP req ever allocated (freed at the end) */
    size_t nall, capall;

    /* TCP */
    conn_t *conns;
    unsigned *conn_free;
    unsigned nconn_free;
    unsigned *dirty;
    unsigned ndirty;
    uint8_t *scratch;         /* frontend_handle() TCP reply area (TCP_MAX_MSG), only when set */
    int64_t accept_resume_ms; /* > 0: listen sockets are out of the epoll set until then */
    bool tcp_more; /* io_uring backend: TCP readiness may be left that no new wake-up reports */

    /* io_uring backend */
    struct io_uring ring;
    bool ring_ok;
    struct io_uring_buf_ring *br;
    uint8_t *bufs;
    unsigned nbufs, bufsz, br_added;
    struct msghdr rmsg;
    uint64_t efd_val;
    unsigned uring_ops; /* armed requests whose final CQE has not arrived */
    unsigned sends_out; /* sendmsg SQEs not yet completed */
    bool buf_leak;      /* teardown could not confirm the kernel is done with bufs */
    bool fixed_files;   /* udp_fd[] registered: SQEs name socket i as fixed file i */

    /* mmsg backend */
    struct mmsghdr *mm;
    struct iovec *mm_iov;
    uint8_t (*mm_ctl)[UDP_CTL_SPACE + 64];
    struct sockaddr_storage *mm_name;
    uint8_t *mm_buf;
    struct mmsghdr *sm;
    struct iovec *sm_iov;
    req_t **sm_req;
    unsigned nsm;
    int sm_fd;
};

static int64_t now_ms(void)
{
    return dmp_monotonic_ns() / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, int e)
{
    if (err && errlen) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, fmt, a);
        if (e) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        } else {
            snprintf(err, errlen, "%s", tmp);
        }
    }
}

static void efd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r; /* EAGAIN only when the counter is saturated: already signalled */
}

const char *dmp_net_strerror(int err)
{
    switch (err) {
    case DMP_NET_EBIND:
        return "cannot bind listen address";
    case DMP_NET_EADDR:
        return "listen host is not a numeric IP address";
    case DMP_NET_ETHREAD:
        return "cannot start thread";
    case DMP_NET_ESTOPPED:
        return "net is stopped";
    default:
        return dmp_strerror(err);
    }
}

void dmp_net_config_default(dmp_net_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->frontends = 1;
    cfg->shards = 1;
    cfg->ring_capacity = 1024;
    cfg->task_ring_capacity = 1024;
    cfg->udp_max_payload = 4096;
    cfg->udp_reply_cap = 4096;
    cfg->tcp_idle_timeout_ms = 10000;
    cfg->tcp_max_conns = 1024;
    cfg->tcp_max_pipelined = 64;
    cfg->tcp_max_query = 65535;
    cfg->tcp_backlog = 128;
    cfg->backend = DMP_NET_BACKEND_AUTO;
}

int dmp_net_config_add_listen(dmp_net_config_t *cfg, const char *host, uint16_t port)
{
    if (!cfg || !host || strlen(host) >= sizeof cfg->listen[0].host) {
        return DMP_EINVAL;
    }
    if (cfg->nlisten >= DMP_NET_MAX_LISTEN) {
        return DMP_EFULL;
    }
    dmp_net_listen_t *l = &cfg->listen[cfg->nlisten++];
    memset(l, 0, sizeof *l);
    memcpy(l->host, host, strlen(host) + 1);
    l->port = port;
    return DMP_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* sockets */

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return DMP_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return DMP_OK;
    }
    return DMP_NET_EADDR;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    }
}

/* A bound non-blocking SO_REUSEPORT socket (listening, for TCP), or -errno. With port 0 the
 * socket binds first and only then joins SO_REUSEPORT: binding to port 0 with SO_REUSEPORT set
 * may hand out a port some other SO_REUSEPORT socket of this user already holds (which would
 * then get part of our traffic); without it the kernel picks a port nobody uses. */
static int open_sock(const struct sockaddr_storage *ss, socklen_t len, bool tcp, int backlog,
                     bool force_pktinfo, uint16_t *bound_port)
{
    bool ephemeral = (ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                               : ((const struct sockaddr_in6 *)ss)->sin6_port) == 0;
    int fd =
        socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (!ephemeral) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    if (ss->ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (!tcp) {
        /* wildcard address: learn each datagram's local address so the reply leaves from it */
        if (ss->ss_family == AF_INET &&
            (force_pktinfo ||
             ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY))) {
            (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        } else if (ss->ss_family == AF_INET6 &&
                   (force_pktinfo ||
                    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr))) {
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        }
        int sz = 4 << 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
        (ephemeral && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)) ||
        (tcp && listen(fd, backlog) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *bound_port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                 : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

/* Binds listen entry li on every frontend. Port 0: UDP and TCP share one ephemeral port. */
static int bind_listen(dmp_net_t *n, unsigned li, char *err, size_t errlen)
{
    const dmp_net_listen_t *l = &n->cfg.listen[li];
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_addr(l->host, l->port, &ss, &sl) != 0) {
        set_err(err, errlen, "listen address '%s' is not a numeric IP address", l->host, 0);
        return DMP_NET_EADDR;
    }
    bool udp = !l->no_udp, tcp = !l->no_tcp;
    unsigned u0[DMP_NET_MAX_FRONTENDS], t0[DMP_NET_MAX_FRONTENDS];
    for (unsigned f = 0; f < n->F; f++) {
        u0[f] = n->fe[f].nudp;
        t0[f] = n->fe[f].ntcp;
    }
    int e = 0;
    for (int attempt = 0; attempt < 32; attempt++) {
        uint16_t port = l->port;
        bool ok = true;
        set_port(&ss, port);
        for (unsigned f = 0; f < n->F && ok; f++) {
            fe_t *fe = &n->fe[f];
            uint16_t got = 0;
            if (udp) {
                int fd = open_sock(&ss, sl, false, 0, n->cfg.udp_force_pktinfo, &got);
                if (fd < 0) {
                    ok = false;
                    e = -fd;
                    break;
                }
                fe->udp_fd[fe->nudp++] = fd;
                if (port == 0) {
                    port = got;
                    set_port(&ss, port);
                }
            }
            if (tcp) {
                int fd = open_sock(&ss, sl, true, (int)n->cfg.tcp_backlog, false, &got);
                if (fd < 0) {
                    ok = false;
                    e = -fd;
                    break;
                }
                fe->tcp_fd[fe->ntcp++] = fd;
                if (port == 0) {
                    port = got;
                    set_port(&ss, port);
                }
            }
        }
        if (ok) {
            n->udp_port[li] = udp ? port : DMP_ENOTFOUND;
            n->tcp_port[li] = tcp ? port : DMP_ENOTFOUND;
            return DMP_OK;
        }
        for (unsigned f = 0; f < n->F; f++) {
            fe_t *fe = &n->fe[f];
            while (fe->nudp > u0[f]) {
                close(fe->udp_fd[--fe->nudp]);
            }
            while (fe->ntcp > t0[f]) {
                close(fe->tcp_fd[--fe->ntcp]);
            }
        }
        if (l->port != 0 || e != EADDRINUSE) {
            break;
        }
    }
    char what[128];
    snprintf(what, sizeof what, "bind %s port %u", l->host, (unsigned)l->port);
    set_err(err, errlen, "%s", what, e);
    return DMP_NET_EBIND;
}

/* ------------------------------------------------------------------------------------------ */
/* frontend: request pool and hand-off to shards */

static req_t *udp_req_get(fe_t *fe)
{
    req_t *r = fe->pool;
    if (r) {
        fe->pool = r->next;
        return r;
    }
    if (fe->nall == fe->capall) {
        size_t nc = fe->capall ? fe->capall * 2 : 256;
        req_t **na = realloc(fe->all, nc * sizeof *na);
        if (!na) {
            return NULL;
        }
        fe->all = na;
        fe->capall = nc;
    }
    r = malloc(fe->req_size);
    if (!r) {
        return NULL;
    }
    fe->all[fe->nall++] = r;
    return r;
}

static void udp_req_put(fe_t *fe, req_t *r)
{
    r->next = fe->pool;
    fe->pool = r;
}

static unsigned pick_shard(fe_t *fe, const uint8_t *pkt, size_t len)
{
    dmp_net_t *n = fe->net;
    if (!n->h.route) {
        return 0;
    }
    int s = n->h.route(n->h.ctx, pkt, len, n->S);
    return (s < 0 || (unsigned)s >= n->S) ? 0 : (unsigned)s;
}

/* Queues r for shard s (flushed in batches by fe_flush). Caller checked inflight. */
static void fe_enqueue(fe_t *fe, unsigned s, req_t *r)
{
    r->shard = s;
    fe->inflight[s]++;
    fe->pend[s][fe->npend[s]++] = r;
}

static void fe_flush(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    for (unsigned s = 0; s < n->S; s++) {
        unsigned k = fe->npend[s];
        if (!k) {
            continue;
        }
        bool was_empty = false;
        /* cannot fall short: at most ring_capacity reqs are in flight per shard */
        size_t pushed = dmp_net_spsc_push(&n->fwd[fe->idx * n->S + s], (void *const *)fe->pend[s],
                                          k, &was_empty);
        if (pushed < k) { /* defensive; keep the rest for the next flush */
            memmove(fe->pend[s], fe->pend[s] + pushed, (k - pushed) * sizeof(req_t *));
        }
        fe->npend[s] = (unsigned)(k - pushed);
        if (was_empty) {
            efd_signal(n->sh[s].efd);
        }
    }
}

static void udp_send(fe_t *fe, req_t *r);

/* Reads a pktinfo control message (bounded by end) into d. */
static void cmsg_dst(const struct cmsghdr *c, const uint8_t *end, udst_t *d)
{
    const uint8_t *cp = (const uint8_t *)c;
    if ((size_t)(end - cp) < sizeof *c || c->cmsg_len > (size_t)(end - cp)) {
        return;
    }
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
        d->family = AF_INET;
        memcpy(&d->u.v4, CMSG_DATA(c), sizeof d->u.v4);
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
        d->family = AF_INET6;
        memcpy(&d->u.v6, CMSG_DATA(c), sizeof d->u.v6);
    }
}

/* Builds the reply's source-address cmsg from where the query arrived. */
static void req_set_src(req_t *r, const udst_t *d)
{
    r->ctl_len = 0;
    if (!d || !d->family) {
        return;
    }
    if (CMSG_SPACE(sizeof(struct in6_pktinfo)) > sizeof r->ctl) {
        return;
    }
    memset(&r->ctl, 0, sizeof r->ctl);
    struct cmsghdr *c = (struct cmsghdr *)(void *)r->ctl.b;
    if (d->family == AF_INET) {
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof pi);
        pi.ipi_spec_dst = d->u.v4.ipi_spec_dst;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        r->ctl_len = CMSG_SPACE(sizeof pi);
    } else {
        struct in6_pktinfo pi = d->u.v6;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof pi);
        memcpy(CMSG_DATA(c), &pi, sizeof pi);
        r->ctl_len = CMSG_SPACE(sizeof pi);
    }
}

/* One received datagram (bytes owned by the caller; copied here). dst: where it arrived, or
 * NULL when the socket is bound to a specific address. */
static void udp_ingest(fe_t *fe, unsigned sock, const uint8_t *pkt, size_t len,
                       const struct sockaddr *peer, socklen_t peer_len, const udst_t *dst)
{
    dmp_net_t *n = fe->net;
    CINC(fe->c.udp_rx, 1);
    if (len > n->cfg.udp_max_payload || peer_len > sizeof(struct sockaddr_storage)) {
        CINC(fe->c.udp_dropped, 1);
        return;
    }
    dmp_net_admit_t a = DMP_NET_ADMIT;
    if (n->h.admit) {
        a = n->h.admit(n->h.ctx, fe->idx, peer, peer_len, DMP_NET_UDP);
    }
    if (a == DMP_NET_DROP) {
        CINC(fe->c.admit_drops, 1);
        return;
    }
    req_t *r = udp_req_get(fe);
    if (!r) {
        CINC(fe->c.udp_dropped, 1);
        return;
    }
    r->kind = REQ_UDP;
    r->sock = sock;
    memcpy(&r->peer, peer, peer_len);
    r->peer_len = peer_len;
    memcpy(r->data, pkt, len);
    r->len = len;
    r->out_len = 0;
    r->wb = NULL;
    req_set_src(r, dst);
    if (a == DMP_NET_SLIP) {
        CINC(fe->c.slips, 1);
        size_t ol = 0;
        uint8_t *out = r->data + n->cfg.udp_max_payload;
        if (dmp_dns_tc_stub(r->data, len, out, n->cfg.udp_reply_cap, &ol) != 0 || ol == 0) {
            udp_req_put(fe, r);
            return;
        }
        r->out_len = ol;
        udp_send(fe, r);
        return;
    }
    if (n->h.frontend_handle) {
        dmp_net_query_t q = {.pkt = r->data,
                             .len = len,
                             .transport = DMP_NET_UDP,
                             .peer = (const struct sockaddr *)&r->peer,
                             .peer_len = peer_len,
                             .frontend = fe->idx};
        size_t ol = 0;
        uint8_t *out = r->data + n->cfg.udp_max_payload;
        if (n->h.frontend_handle(n->h.ctx, fe->idx, &q, out, n->cfg.udp_reply_cap, &ol)) {
            CINC(fe->c.frontend_answered, 1);
            if (ol == 0 || ol > n->cfg.udp_reply_cap) {
                udp_req_put(fe, r);
                return;
            }
            r->out_len = ol;
            udp_send(fe, r);
            return;
        }
    }
    unsigned s = pick_shard(fe, r->data, len);
    if (fe->inflight[s] >= n->cfg.ring_capacity) {
        CINC(fe->c.ring_full_drops, 1);
        udp_req_put(fe, r);
        return;
    }
    fe_enqueue(fe, s, r);
}

/* ------------------------------------------------------------------------------------------ */
/* TCP (both backends: non-blocking sockets driven by the frontend's epoll set) */

#define EP_TAG_LISTEN 1ULL
#define EP_TAG_CONN 2ULL
#define EP_TAG_UDP 3ULL
#define EP_TAG_EFD 4ULL
#define EP_KEY(tag, i) ((tag) << 32 | (uint64_t)(i))

static void conn_epoll(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    struct epoll_event ev = {0};
    ev.events = (c->rd_paused || c->rd_closed ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0);
    ev.data.u64 = EP_KEY(EP_TAG_CONN, ci);
    (void)epoll_ctl(fe->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    if (!c->open) {
        return;
    }
    (void)epoll_ctl(fe->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->open = false;
    c->gen++;
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = c->rcap = 0;
    for (wbuf_t *w = c->wq_head; w;) {
        wbuf_t *nx = w->next;
        free(w);
        w = nx;
    }
    c->wq_head = c->wq_tail = NULL;
    c->wq_count = 0;
    fe->conn_free[fe->nconn_free++] = ci;
}

/* Done with the connection when the peer closed its side and nothing is left to answer. */
static bool conn_finished(const conn_t *c)
{
    return c->rd_closed && c->pending == 0 && !c->wq_head;
}

static void conn_flush(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    while (c->wq_head) {
        struct iovec iov[BATCH];
        int k = 0;
        for (wbuf_t *w = c->wq_head; w && k < BATCH; w = w->next, k++) {
            iov[k].iov_base = w->data + w->off;
            iov[k].iov_len = w->len - w->off;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t wr = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wr < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            conn_close(fe, ci);
            return;
        }
        c->last_ms = now_ms();
        size_t left = (size_t)wr;
        while (c->wq_head && left >= c->wq_head->len - c->wq_head->off) {
            wbuf_t *w = c->wq_head;
            left -= w->len - w->off;
            c->wq_head = w->next;
            c->wq_count--;
            free(w);
        }
        if (!c->wq_head) {
            c->wq_tail = NULL;
        } else {
            c->wq_head->off += left;
        }
    }
    bool want = c->wq_head != NULL;
    if (want != c->want_out) {
        c->want_out = want;
        conn_epoll(fe, ci);
    }
    if (conn_finished(c)) {
        conn_close(fe, ci);
    }
}

/* Appends w (may be NULL: nothing to write) to the connection's write queue, taking it, and
 * marks the connection for a flush at the end of the batch. */
static void conn_queue_reply(fe_t *fe, unsigned ci, wbuf_t *w)
{
    conn_t *c = &fe->conns[ci];
    if (w) {
        w->next = NULL;
        if (c->wq_tail) {
            c->wq_tail->next = w;
        } else {
            c->wq_head = w;
        }
        c->wq_tail = w;
        c->wq_count++;
        CINC(fe->c.tcp_tx, 1);
    }
    if (!c->dirty) {
        c->dirty = true;
        fe->dirty[fe->ndirty++] = ci;
    }
}

/* Hands every complete buffered message to a shard (until the pipelining cap). false when the
 * connection was closed. */
static bool conn_parse(fe_t *fe, unsigned ci)
{
    dmp_net_t *n = fe->net;
    conn_t *c = &fe->conns[ci];
    size_t off = 0;
    bool ok = true;
    while (c->rlen - off >= 2) {
        if (c->pending + c->wq_count >= n->cfg.tcp_max_pipelined) {
            break;
        }
        size_t l = 0;
        dmp_net_frame_t fr =
            dmp_net_frame_next(c->rbuf + off, c->rlen - off, n->cfg.tcp_max_query, &l);
        if (fr == DMP_NET_FRAME_BAD) {
            CINC(fe->c.tcp_bad_length, 1);
            ok = false;
            break;
        }
        if (fr == DMP_NET_FRAME_MORE) {
            break;
        }
        const uint8_t *pkt = c->rbuf + off + 2;
        off += 2 + l;
        CINC(fe->c.tcp_rx, 1);
        if (atomic_load_explicit(&n->fe_stop, memory_order_relaxed)) {
            continue;
        }
        dmp_net_admit_t a = DMP_NET_ADMIT;
        if (n->h.admit) {
            a = n->h.admit(n->h.ctx, fe->idx, (const struct sockaddr *)&c->peer, c->peer_len,
                           DMP_NET_TCP);
        }
        if (a == DMP_NET_DROP) {
            CINC(fe->c.admit_drops, 1);
            ok = false;
            break;
        }
        if (n->h.frontend_handle && fe->scratch) {
            dmp_net_query_t q = {.pkt = pkt,
                                 .len = l,
                                 .transport = DMP_NET_TCP,
                                 .peer = (const struct sockaddr *)&c->peer,
                                 .peer_len = c->peer_len,
                                 .frontend = fe->idx};
            size_t ol = 0;
            if (n->h.frontend_handle(n->h.ctx, fe->idx, &q, fe->scratch, TCP_MAX_MSG, &ol)) {
                CINC(fe->c.frontend_answered, 1);
                if (ol > 0 && ol <= TCP_MAX_MSG) {
                    wbuf_t *w = malloc(sizeof(wbuf_t) + 2 + ol);
                    if (!w) {
                        ok = false;
                        break;
                    }
                    w->next = NULL;
                    w->len = 2 + ol;
                    w->off = 0;
                    dmp_store_u16be(w->data, (uint16_t)ol);
                    memcpy(w->data + 2, fe->scratch, ol);
                    conn_queue_reply(fe, ci, w);
                }
                continue;
            }
        }
        unsigned s = pick_shard(fe, pkt, l);
        if (fe->inflight[s] >= n->cfg.ring_capacity) {
            CINC(fe->c.ring_full_drops, 1);
            ok = false;
            break;
        }
        req_t *r = malloc(sizeof(req_t) + l);
        if (!r) {
            ok = false;
            break;
        }
        r->kind = REQ_TCP;
        r->conn_idx = ci;
        r->conn_gen = c->gen;
        memcpy(&r->peer, &c->peer, c->peer_len);
        r->peer_len = c->peer_len;
        memcpy(r->data, pkt, l);
        r->len = l;
        r->out_len = 0;
        r->wb = NULL;
        c->pending++;
        fe_enqueue(fe, s, r);
    }
    if (!ok) {
        conn_close(fe, ci);
        return false;
    }
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
    }
    /* a client that sends but does not read stops being read: replies cannot pile up */
    bool paused = c->pending + c->wq_count >= n->cfg.tcp_max_pipelined;
    if (paused != c->rd_paused) {
        c->rd_paused = paused;
        conn_epoll(fe, ci);
    }
    return true;
}

static void conn_read(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    for (int rounds = 0; rounds < 16 && c->open && !c->rd_paused && !c->rd_closed; rounds++) {
        size_t need = c->rlen < 2 ? 2 : 2 + (size_t)dmp_load_u16be(c->rbuf);
        if (need < 512) {
            need = 512;
        }
        if (c->rcap < need) {
            uint8_t *nb = realloc(c->rbuf, need);
            if (!nb) {
                conn_close(fe, ci);
                return;
            }
            c->rbuf = nb;
            c->rcap = need;
        }
        ssize_t rd = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
        if (rd < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                conn_close(fe, ci);
            }
            return;
        }
        if (rd == 0) {
            c->rd_closed = true;
            if (conn_finished(c)) {
                conn_close(fe, ci);
            } else {
                conn_epoll(fe, ci);
            }
            return;
        }
        size_t space = c->rcap - c->rlen;
        c->rlen += (size_t)rd;
        c->last_ms = now_ms();
        if (!conn_parse(fe, ci)) {
            return;
        }
        if ((size_t)rd < space) {
            return; /* drained the socket */
        }
    }
    if (c->open && !c->rd_paused && !c->rd_closed) {
        fe->tcp_more = true;
    }
}

#define ACCEPT_PAUSE_MS 100

static void listen_epoll(fe_t *fe, uint32_t events)
{
    for (unsigned i = 0; i < fe->ntcp; i++) {
        struct epoll_event ev = {.events = events, .data.u64 = EP_KEY(EP_TAG_LISTEN, i)};
        (void)epoll_ctl(fe->epfd, EPOLL_CTL_MOD, fe->tcp_fd[i], &ev);
    }
}

static void tcp_accept_pause(fe_t *fe)
{
    if (fe->accept_resume_ms == 0) {
        listen_epoll(fe, 0);
    }
    fe->accept_resume_ms = now_ms() + ACCEPT_PAUSE_MS;
}

/* Called from tcp_sweep: watches the listen sockets again once the pause is over. */
static void tcp_accept_maybe_resume(fe_t *fe, int64_t now)
{
    if (fe->accept_resume_ms > 0 && now >= fe->accept_resume_ms) {
        fe->accept_resume_ms = 0;
        listen_epoll(fe, EPOLLIN);
        fe->tcp_more = true; /* io_uring backend: look at the epoll set even without a wake-up */
    }
}

static void tcp_accept(fe_t *fe, unsigned li)
{
    dmp_net_t *n = fe->net;
    for (int i = 0; i < BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int fd =
            accept4(fe->tcp_fd[li], (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPERM) {
                continue; /* this connection only */
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued and the socket
                 * stays readable, so a level-triggered wait would spin; stop watching the
                 * listen sockets for a while (tcp_sweep resumes) */
                CINC(fe->c.tcp_accept_errors, 1);
                tcp_accept_pause(fe);
            }
            return;
        }
        if (i == BATCH - 1) {
            fe->tcp_more = true;
        }
        if (fe->nconn_free == 0 || atomic_load_explicit(&n->fe_stop, memory_order_relaxed)) {
            CINC(fe->c.tcp_rejected, 1);
            close(fd);
            continue;
        }
        unsigned ci = fe->conn_free[--fe->nconn_free];
        conn_t *c = &fe->conns[ci];
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->open = true;
        c->rd_closed = c->rd_paused = c->want_out = c->dirty = false;
        c->pending = 0;
        c->wq_count = 0;
        c->rlen = 0;
        c->last_ms = now_ms();
        memcpy(&c->peer, &peer, pl);
        c->peer_len = pl;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_CONN, ci)};
        if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            c->open = false;
            close(fd);
            c->fd = -1;
            fe->conn_free[fe->nconn_free++] = ci;
            continue;
        }
        CINC(fe->c.tcp_accepted, 1);
    }
}

static void tcp_sweep(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t now = now_ms();
    tcp_accept_maybe_resume(fe, now);
    for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
        conn_t *c = &fe->conns[ci];
        if (c->open && c->pending == 0 && now - c->last_ms >= (int64_t)n->cfg.tcp_idle_timeout_ms) {
            CINC(fe->c.tcp_timeouts, 1);
            conn_close(fe, ci);
        }
    }
}

/* TCP reply from a shard: takes r's wbuf, frees r. */
static void tcp_reply(fe_t *fe, req_t *r)
{
    conn_t *c = &fe->conns[r->conn_idx];
    wbuf_t *w = r->wb;
    if (c->open && c->gen == r->conn_gen) {
        c->pending--;
        c->last_ms = now_ms();
        conn_queue_reply(fe, r->conn_idx, w); /* also marks the connection dirty */
        w = NULL;
    }
    free(w);
    free(r);
}

/* A paused connection whose in-flight count dropped below the cap parses what it buffered and
 * reads on (bytes may wait in the socket with no new wake-up coming). */
static void conn_maybe_resume(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    if (c->open && c->rd_paused && c->pending + c->wq_count < fe->net->cfg.tcp_max_pipelined &&
        conn_parse(fe, ci) && !c->rd_paused) {
        conn_read(fe, ci);
    }
}

static void tcp_flush_dirty(fe_t *fe)
{
    for (unsigned i = 0; i < fe->ndirty; i++) {
        unsigned ci = fe->dirty[i];
        conn_t *c = &fe->conns[ci];
        c->dirty = false;
        if (c->open) {
            conn_flush(fe, ci);
        }
        conn_maybe_resume(fe, ci);
    }
    fe->ndirty = 0;
}

static void tcp_event(fe_t *fe, uint64_t key, uint32_t events)
{
    uint64_t tag = key >> 32;
    unsigned i = (unsigned)(key & 0xffffffffu);
    if (tag == EP_TAG_LISTEN) {
        tcp_accept(fe, i);
        return;
    }
    if (tag != EP_TAG_CONN || !fe->conns[i].open) {
        return;
    }
    conn_t *c = &fe->conns[i];
    if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->rd_closed)) {
        conn_close(fe, i); /* reset, or both directions shut: nothing can be delivered */
        return;
    }
    if (events & EPOLLOUT) {
        conn_flush(fe, i);
        conn_maybe_resume(fe, i);
    }
    if (fe->conns[i].open && (events & (EPOLLIN | EPOLLHUP))) {
        conn_read(fe, i);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* replies back from shards */

static void udp_send_mmsg_flush(fe_t *fe)
{
    if (!fe->nsm) {
        return;
    }
    unsigned done = 0;
    while (done < fe->nsm) {
        int k = sendmmsg(fe->sm_fd, fe->sm + done, fe->nsm - done, MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* EAGAIN (socket buffer full) or an error for the first message: drop it */
            CINC(fe->c.udp_dropped, 1);
            done++;
            continue;
        }
        CINC(fe->c.udp_tx, (uint64_t)k);
        done += (unsigned)k;
    }
    for (unsigned i = 0; i < fe->nsm; i++) {
        udp_req_put(fe, fe->sm_req[i]);
    }
    fe->nsm = 0;
}

static struct io_uring_sqe *get_sqe(fe_t *fe)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&fe->ring);
    if (!sqe) {
        (void)io_uring_submit(&fe->ring);
        sqe = io_uring_get_sqe(&fe->ring);
    }
    return sqe;
}

/* Sends r's reply (r->out_len > 0) and recycles r when done. */
static void udp_send(fe_t *fe, req_t *r)
{
    r->iov.iov_base = r->data + fe->net->cfg.udp_max_payload;
    r->iov.iov_len = r->out_len;
    memset(&r->msg, 0, sizeof r->msg);
    r->msg.msg_name = &r->peer;
    r->msg.msg_namelen = r->peer_len;
    r->msg.msg_iov = &r->iov;
    r->msg.msg_iovlen = 1;
    if (r->ctl_len) {
        r->msg.msg_control = r->ctl.b;
        r->msg.msg_controllen = r->ctl_len;
    }
    if (fe->use_uring) {
        struct io_uring_sqe *sqe = get_sqe(fe);
        if (!sqe) {
            CINC(fe->c.udp_dropped, 1);
            udp_req_put(fe, r);
            return;
        }
        io_uring_prep_sendmsg(sqe, fe->fixed_files ? (int)r->sock : fe->udp_fd[r->sock], &r->msg,
                              0);
        if (fe->fixed_files) {
            sqe->flags |= IOSQE_FIXED_FILE;
        }
        io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)r);
        fe->uring_ops++;
        fe->sends_out++;
        return;
    }
    int fd = fe->udp_fd[r->sock];
    if (fe->nsm == BATCH || (fe->nsm && fe->sm_fd != fd)) {
        udp_send_mmsg_flush(fe);
    }
    fe->sm_fd = fd;
    memset(&fe->sm[fe->nsm], 0, sizeof fe->sm[0]);
    fe->sm[fe->nsm].msg_hdr = r->msg;
    fe->sm_req[fe->nsm++] = r;
}

/* Pops every reply waiting from the shards. Returns how many. */
static size_t fe_drain_replies(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    size_t total = 0;
    void *items[BATCH];
    for (unsigned s = 0; s < n->S; s++) {
        dmp_net_spsc_t *ring = &n->rep[s * n->F + fe->idx];
        size_t k;
        while ((k = dmp_net_spsc_pop(ring, items, BATCH)) > 0) {
            total += k;
            fe->inflight[s] -= (unsigned)k;
            for (size_t i = 0; i < k; i++) {
                req_t *r = items[i];
                if (r->kind == REQ_TCP) {
                    tcp_reply(fe, r);
                } else if (r->out_len) {
                    udp_send(fe, r);
                } else {
                    udp_req_put(fe, r);
                }
            }
        }
    }
    if (!fe->use_uring) {
        udp_send_mmsg_flush(fe);
    }
    tcp_flush_dirty(fe);
    return total;
}

static bool fe_replies_quiet(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    for (unsigned s = 0; s < n->S; s++) {
        if (!dmp_net_spsc_quiet(&n->rep[s * n->F + fe->idx])) {
            return false;
        }
    }
    return true;
}

static unsigned fe_inflight_total(fe_t *fe)
{
    unsigned t = 0;
    for (unsigned s = 0; s < fe->net->S; s++) {
        t += fe->inflight[s];
    }
    return t;
}

/* Work that must finish before a stopping frontend exits. */
static bool fe_busy(fe_t *fe)
{
    if (fe_inflight_total(fe) || fe->sends_out) {
        return true;
    }
    for (unsigned ci = 0; ci < fe->net->cfg.tcp_max_conns; ci++) {
        if (fe->conns[ci].open && fe->conns[ci].wq_head) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------------------------ */
/* io_uring backend: multishot recvmsg on a provided-buffer ring, sendmsg SQEs, the eventfd
 * read by the ring, and the TCP epoll set polled (multishot) by the ring. */

#define BGID 7

static size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

static void tcp_poll_once(fe_t *fe)
{
    struct epoll_event ev[BATCH];
    fe->tcp_more = false;
    int k = epoll_wait(fe->epfd, ev, BATCH, 0);
    for (int j = 0; j < k; j++) {
        tcp_event(fe, ev[j].data.u64, ev[j].events);
    }
    if (k == BATCH) {
        fe->tcp_more = true;
    }
}

static void arm_recv(fe_t *fe, unsigned i)
{
    struct io_uring_sqe *sqe = get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_recvmsg_multishot(sqe, fe->fixed_files ? (int)i : fe->udp_fd[i], &fe->rmsg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | (fe->fixed_files ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, UD_RECV + i);
    fe->uring_ops++;
}

static void arm_efd(fe_t *fe)
{
    struct io_uring_sqe *sqe = get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_read(sqe, fe->efd, &fe->efd_val, sizeof fe->efd_val, 0);
    io_uring_sqe_set_data64(sqe, UD_EFD);
    fe->uring_ops++;
}

static void arm_epoll(fe_t *fe)
{
    struct io_uring_sqe *sqe = get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_poll_multishot(sqe, fe->epfd, POLLIN);
    io_uring_sqe_set_data64(sqe, UD_EPOLL);
    fe->uring_ops++;
}

static int uring_setup(fe_t *fe, char *why, size_t whylen)
{
    dmp_net_t *n = fe->net;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    int rc = io_uring_queue_init_params(1024, &fe->ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = 8192;
        rc = io_uring_queue_init_params(1024, &fe->ring, &p);
    }
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_queue_init: %s", strerror(-rc));
        return rc;
    }
    fe->ring_ok = true;
    fe->fixed_files = fe->nudp > 0 && io_uring_register_files(&fe->ring, fe->udp_fd, fe->nudp) == 0;
    fe->nbufs = 1024;
    fe->bufsz =
        (unsigned)round_up(sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) +
                               UDP_CTL_SPACE + n->cfg.udp_max_payload + 1,
                           64);
    void *brmem = NULL;
    if (posix_memalign(&brmem, 4096, fe->nbufs * sizeof(struct io_uring_buf)) != 0 ||
        !(fe->bufs = malloc((size_t)fe->nbufs * fe->bufsz))) {
        free(brmem);
        snprintf(why, whylen, "out of memory for receive buffers");
        return DMP_ENOMEM;
    }
    fe->br = brmem;
    io_uring_buf_ring_init(fe->br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)fe->br;
    reg.ring_entries = fe->nbufs;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&fe->ring, &reg, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_register_buf_ring: %s", strerror(-rc));
        return rc;
    }
    int mask = io_uring_buf_ring_mask(fe->nbufs);
    for (unsigned i = 0; i < fe->nbufs; i++) {
        io_uring_buf_ring_add(fe->br, fe->bufs + (size_t)i * fe->bufsz, fe->bufsz,
                              (unsigned short)i, mask, (int)i);
    }
    io_uring_buf_ring_advance(fe->br, (int)fe->nbufs);
    memset(&fe->rmsg, 0, sizeof fe->rmsg);
    fe->rmsg.msg_namelen = sizeof(struct sockaddr_storage);
    fe->rmsg.msg_controllen = UDP_CTL_SPACE;
    for (unsigned i = 0; i < fe->nudp; i++) {
        arm_recv(fe, i);
    }
    arm_efd(fe);
    arm_epoll(fe);
    rc = io_uring_submit(&fe->ring);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_submit: %s", strerror(-rc));
        return rc;
    }
    return DMP_OK;
}

static void uring_recv_cqe(fe_t *fe, unsigned i, struct io_uring_cqe *cqe, bool accept_input)
{
    if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        uint8_t *buf = fe->bufs + (size_t)bid * fe->bufsz;
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &fe->rmsg);
        if (o && accept_input) {
            if (o->flags & MSG_TRUNC) {
                CINC(fe->c.udp_rx, 1);
                CINC(fe->c.udp_dropped, 1);
            } else {
                udst_t dst = {.family = 0};
                struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, &fe->rmsg);
                const uint8_t *cend = cm ? (const uint8_t *)cm + o->controllen : NULL;
                for (; cm; cm = io_uring_recvmsg_cmsg_nexthdr(o, &fe->rmsg, cm)) {
                    cmsg_dst(cm, cend, &dst);
                }
                udp_ingest(fe, i, io_uring_recvmsg_payload(o, &fe->rmsg),
                           io_uring_recvmsg_payload_length(o, cqe->res, &fe->rmsg),
                           (const struct sockaddr *)io_uring_recvmsg_name(o),
                           o->namelen > sizeof(struct sockaddr_storage)
                               ? (socklen_t)sizeof(struct sockaddr_storage)
                               : o->namelen,
                           &dst);
            }
        }
        io_uring_buf_ring_add(fe->br, buf, fe->bufsz, (unsigned short)bid,
                              io_uring_buf_ring_mask(fe->nbufs), (int)fe->br_added++);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        fe->uring_ops--;
        if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
            dmp_debug("net: frontend %u: recvmsg: %s", fe->idx, strerror(-cqe->res));
        }
        if (accept_input && cqe->res != -ECANCELED) {
            arm_recv(fe, i);
        }
    }
}

static void uring_cqe(fe_t *fe, struct io_uring_cqe *cqe, bool accept_input)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (ud >= UD_MAX_SPECIAL) {
        req_t *r = (req_t *)(uintptr_t)ud;
        fe->uring_ops--;
        fe->sends_out--;
        if (cqe->res < 0) {
            CINC(fe->c.udp_dropped, 1);
        } else {
            CINC(fe->c.udp_tx, 1);
        }
        udp_req_put(fe, r);
    } else if (ud >= UD_RECV) {
        uring_recv_cqe(fe, (unsigned)(ud - UD_RECV), cqe, accept_input);
    } else if (ud == UD_EFD) {
        fe->uring_ops--;
        if (accept_input || fe_busy(fe)) {
            arm_efd(fe);
        }
    } else if (ud == UD_EPOLL) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            fe->uring_ops--;
        }
        tcp_poll_once(fe);
        if (!(cqe->flags & IORING_CQE_F_MORE) && cqe->res != -ECANCELED) {
            arm_epoll(fe);
        }
    } else if (ud == UD_CANCEL) {
        /* result of a cancel request: nothing to do */
    }
}

/* Processes every ready CQE (in batches). Returns how many. */
static unsigned uring_reap(fe_t *fe, bool accept_input)
{
    unsigned total = 0;
    struct io_uring_cqe *cqes[256];
    for (;;) {
        unsigned k = io_uring_peek_batch_cqe(&fe->ring, cqes, 256);
        if (!k) {
            break;
        }
        fe->br_added = 0;
        for (unsigned i = 0; i < k; i++) {
            uring_cqe(fe, cqes[i], accept_input);
        }
        if (fe->br_added) {
            io_uring_buf_ring_advance(fe->br, (int)fe->br_added);
        }
        io_uring_cq_advance(&fe->ring, k);
        total += k;
    }
    return total;
}

/* Once stop is requested: true when the frontend has nothing in flight, or STOP_DRAIN_MS after
 * the request (*deadline, 0 until then, is set on the first call). */
static bool fe_drained(fe_t *fe, int64_t *deadline)
{
    if (!*deadline)
        *deadline = now_ms() + STOP_DRAIN_MS;
    return !fe_busy(fe) || now_ms() > *deadline;
}

static void uring_loop(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t next_sweep = now_ms() + 100;
    int64_t deadline = 0;
    for (;;) {
        bool stopping = atomic_load_explicit(&n->fe_stop, memory_order_acquire);
        if (stopping && fe_drained(fe, &deadline))
            break;
        if (fe->tcp_more) {
            tcp_poll_once(fe);
        }
        fe_flush(fe);
        bool idle = !fe->tcp_more && fe_replies_quiet(fe);
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = idle ? 100000000 : 0};
        struct io_uring_cqe *cqe = NULL;
        if (idle) {
            (void)io_uring_submit_and_wait_timeout(&fe->ring, &cqe, 1, &ts, NULL);
        } else {
            (void)io_uring_submit_and_get_events(&fe->ring);
        }
        uring_reap(fe, !stopping);
        fe_drain_replies(fe);
        int64_t now = now_ms();
        if (now >= next_sweep) {
            tcp_sweep(fe);
            next_sweep = now + 100;
        }
    }
    fe_flush(fe);
    /* Cancel the armed receives, eventfd read and poll; wait (bounded) until the kernel holds
     * no reference to our buffers. */
    for (unsigned i = 0; i < fe->nudp; i++) {
        struct io_uring_sqe *sqe = get_sqe(fe);
        if (sqe) {
            io_uring_prep_cancel64(sqe, UD_RECV + i, 0);
            io_uring_sqe_set_data64(sqe, UD_CANCEL);
        }
    }
    uint64_t specials[2] = {UD_EFD, UD_EPOLL};
    for (int i = 0; i < 2; i++) {
        struct io_uring_sqe *sqe = get_sqe(fe);
        if (sqe) {
            io_uring_prep_cancel64(sqe, specials[i], 0);
            io_uring_sqe_set_data64(sqe, UD_CANCEL);
        }
    }
    int64_t until = now_ms() + 500;
    while (fe->uring_ops > 0 && now_ms() < until) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
        struct io_uring_cqe *cqe = NULL;
        (void)io_uring_submit_and_wait_timeout(&fe->ring, &cqe, 1, &ts, NULL);
        uring_reap(fe, false);
    }
    if (fe->uring_ops > 0) {
        dmp_warn("net: frontend %u: %u io_uring requests still pending at exit", fe->idx,
                 fe->uring_ops);
        fe->buf_leak = true; /* the kernel may still write into them: never free */
    }
    io_uring_queue_exit(&fe->ring); /* on the owning thread */
    fe->ring_ok = false;
}

/* ------------------------------------------------------------------------------------------ */
/* mmsg backend: epoll over UDP sockets, the eventfd and TCP; recvmmsg/sendmmsg batches. */

static int mmsg_setup(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    size_t bs = n->cfg.udp_max_payload + 1;
    fe->mm = calloc(BATCH, sizeof *fe->mm);
    fe->mm_iov = calloc(BATCH, sizeof *fe->mm_iov);
    fe->mm_name = calloc(BATCH, sizeof *fe->mm_name);
    fe->mm_ctl = calloc(BATCH, sizeof *fe->mm_ctl);
    fe->mm_buf = malloc(BATCH * bs);
    fe->sm = calloc(BATCH, sizeof *fe->sm);
    fe->sm_req = calloc(BATCH, sizeof *fe->sm_req);
    if (!fe->mm || !fe->mm_iov || !fe->mm_name || !fe->mm_ctl || !fe->mm_buf || !fe->sm ||
        !fe->sm_req) {
        return DMP_ENOMEM;
    }
    for (unsigned i = 0; i < fe->nudp; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_UDP, i)};
        if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->udp_fd[i], &ev) != 0) {
            return DMP_ESYS;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_EFD, 0)};
    if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->efd, &ev) != 0) {
        return DMP_ESYS;
    }
    return DMP_OK;
}

static void mmsg_recv(fe_t *fe, unsigned i)
{
    dmp_net_t *n = fe->net;
    size_t bs = n->cfg.udp_max_payload + 1;
    for (int rounds = 0; rounds < 8; rounds++) {
        for (unsigned k = 0; k < BATCH; k++) {
            fe->mm_iov[k].iov_base = fe->mm_buf + k * bs;
            fe->mm_iov[k].iov_len = bs;
            memset(&fe->mm[k].msg_hdr, 0, sizeof fe->mm[k].msg_hdr);
            fe->mm[k].msg_hdr.msg_iov = &fe->mm_iov[k];
            fe->mm[k].msg_hdr.msg_iovlen = 1;
            fe->mm[k].msg_hdr.msg_name = &fe->mm_name[k];
            fe->mm[k].msg_hdr.msg_namelen = sizeof fe->mm_name[k];
            fe->mm[k].msg_hdr.msg_control = fe->mm_ctl[k];
            fe->mm[k].msg_hdr.msg_controllen = sizeof fe->mm_ctl[k];
        }
        int got = recvmmsg(fe->udp_fd[i], fe->mm, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) {
            return;
        }
        for (int k = 0; k < got; k++) {
            struct msghdr *mh = &fe->mm[k].msg_hdr;
            if ((mh->msg_flags & MSG_TRUNC) || fe->mm[k].msg_len > n->cfg.udp_max_payload) {
                CINC(fe->c.udp_rx, 1);
                CINC(fe->c.udp_dropped, 1);
                continue;
            }
            udst_t dst = {.family = 0};
            const uint8_t *cend = (const uint8_t *)mh->msg_control + mh->msg_controllen;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                cmsg_dst(cm, cend, &dst);
            }
            udp_ingest(fe, i, fe->mm_iov[k].iov_base, fe->mm[k].msg_len, mh->msg_name,
                       mh->msg_namelen, &dst);
        }
        if (got < BATCH) {
            return;
        }
    }
}

static void mmsg_loop(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t next_sweep = now_ms() + 100;
    int64_t deadline = 0;
    for (;;) {
        bool stopping = atomic_load_explicit(&n->fe_stop, memory_order_acquire);
        if (stopping && fe_drained(fe, &deadline))
            break;
        fe_flush(fe);
        bool idle = fe_replies_quiet(fe);
        struct epoll_event ev[BATCH];
        int k = epoll_wait(fe->epfd, ev, BATCH, idle ? (stopping ? 10 : 100) : 0);
        for (int j = 0; j < k; j++) {
            uint64_t tag = ev[j].data.u64 >> 32;
            if (tag == EP_TAG_UDP) {
                if (!stopping) {
                    mmsg_recv(fe, (unsigned)(ev[j].data.u64 & 0xffffffffu));
                } else {
                    uint8_t junk[1];
                    while (recv(fe->udp_fd[ev[j].data.u64 & 0xffffffffu], junk, 1, MSG_DONTWAIT) >=
                           0) {
                    }
                }
            } else if (tag == EP_TAG_EFD) {
                uint64_t v;
                ssize_t r = read(fe->efd, &v, sizeof v);
                (void)r;
            } else {
                tcp_event(fe, ev[j].data.u64, ev[j].events);
            }
        }
        fe_drain_replies(fe);
        int64_t now = now_ms();
        if (now >= next_sweep) {
            tcp_sweep(fe);
            next_sweep = now + 100;
        }
    }
    fe_flush(fe);
}

static void *fe_main(void *arg)
{
    fe_t *fe = arg;
    dmp_net_t *n = fe->net;
    char name[16];
    snprintf(name, sizeof name, "dmp-fe%u", fe->idx);
    pthread_setname_np(pthread_self(), name);
    for (unsigned i = 0; i < fe->ntcp; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_LISTEN, i)};
        (void)epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->tcp_fd[i], &ev);
    }
    if (fe->use_uring) {
        char why[160] = "";
        if (uring_setup(fe, why, sizeof why) != 0) {
            dmp_warn("net: frontend %u: io_uring setup failed (%s); using recvmmsg/sendmmsg",
                     fe->idx, why);
            fe->use_uring = false;
            if (fe->ring_ok) {
                io_uring_queue_exit(&fe->ring);
                fe->ring_ok = false;
            }
        }
    }
    if (fe->use_uring) {
        uring_loop(fe);
    } else if (mmsg_setup(fe) == 0) {
        mmsg_loop(fe);
    } else {
        dmp_error("net: frontend %u: cannot set up the recvmmsg backend", fe->idx);
    }
    (void)n;
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* shards */

static void shard_handle(shard_t *sh, req_t *r, unsigned f)
{
    dmp_net_t *n = sh->net;
    dmp_net_query_t q = {
        .pkt = r->data,
        .len = r->len,
        .transport = r->kind == REQ_TCP ? DMP_NET_TCP : DMP_NET_UDP,
        .peer = (const struct sockaddr *)&r->peer,
        .peer_len = r->peer_len,
        .frontend = f,
    };
    size_t out_len = 0;
    CINC(sh->c.queries_handled, 1);
    if (r->kind == REQ_UDP) {
        size_t cap = n->cfg.udp_reply_cap;
        n->h.handle(n->h.ctx, sh->idx, &q, r->data + n->cfg.udp_max_payload, cap, &out_len);
        r->out_len = out_len <= cap ? out_len : 0;
        return;
    }
    n->h.handle(n->h.ctx, sh->idx, &q, sh->scratch, TCP_MAX_MSG, &out_len);
    r->wb = NULL;
    if (out_len > 0 && out_len <= TCP_MAX_MSG) {
        wbuf_t *w = malloc(sizeof(wbuf_t) + 2 + out_len);
        if (w) {
            w->next = NULL;
            w->len = 2 + out_len;
            w->off = 0;
            dmp_store_u16be(w->data, (uint16_t)out_len);
            memcpy(w->data + 2, sh->scratch, out_len);
            r->wb = w;
        }
    }
}

/* Runs one round over every input ring. Returns the number of items processed. */
static size_t shard_round(shard_t *sh)
{
    dmp_net_t *n = sh->net;
    size_t did = 0;
    void *items[BATCH];
    for (unsigned f = 0; f < n->F; f++) {
        dmp_net_spsc_t *in = &n->fwd[f * n->S + sh->idx];
        size_t depth = dmp_net_spsc_size(in);
        if (depth > CGET(sh->c.ring_depth_max)) {
            atomic_store_explicit(&sh->c.ring_depth_max, depth, memory_order_relaxed);
        }
        size_t k = dmp_net_spsc_pop(in, items, BATCH);
        if (!k) {
            continue;
        }
        for (size_t i = 0; i < k; i++) {
            shard_handle(sh, items[i], f);
        }
        dmp_net_spsc_t *out = &n->rep[sh->idx * n->F + f];
        size_t sent = 0;
        bool signal = false;
        while (sent < k) {
            bool was_empty = false;
            /* always fits: the frontend bounds what it has in flight to the ring capacity */
            size_t p = dmp_net_spsc_push(out, items + sent, k - sent, &was_empty);
            signal |= was_empty;
            sent += p;
            if (sent < k) {
                sched_yield();
            }
        }
        if (signal) {
            efd_signal(n->fe[f].efd);
        }
        did += k;
    }
    dmp_net_task_fn fn;
    void *arg;
    for (int i = 0; i < BATCH && dmp_net_mpsc_pop(&sh->tasks, &fn, &arg); i++) {
        fn(arg);
        CINC(sh->c.tasks_run, 1);
        did++;
    }
    return did;
}

static bool shard_quiet(shard_t *sh)
{
    dmp_net_t *n = sh->net;
    for (unsigned f = 0; f < n->F; f++) {
        if (!dmp_net_spsc_quiet(&n->fwd[f * n->S + sh->idx])) {
            return false;
        }
    }
    return dmp_net_mpsc_quiet(&sh->tasks);
}

static void *shard_main(void *arg)
{
    shard_t *sh = arg;
    dmp_net_t *n = sh->net;
    char name[16];
    snprintf(name, sizeof name, "dmp-sh%u", sh->idx);
    pthread_setname_np(pthread_self(), name);
    int64_t last_tick = now_ms();
    for (;;) {
        size_t did = shard_round(sh);
        if (did) {
            if (n->h.tick) {
                n->h.tick(n->h.ctx, sh->idx);
            }
            last_tick = now_ms();
            continue;
        }
        if (atomic_load_explicit(&n->sh_stop, memory_order_acquire)) {
            if (shard_quiet(sh)) {
                break;
            }
            continue;
        }
        if (!shard_quiet(sh)) {
            continue;
        }
        int64_t wait = 100 - (now_ms() - last_tick);
        if (wait > 0) {
            struct pollfd pfd = {.fd = sh->efd, .events = POLLIN};
            if (poll(&pfd, 1, (int)wait) > 0) {
                uint64_t v;
                ssize_t r = read(sh->efd, &v, sizeof v);
                (void)r;
            }
        }
        if (now_ms() - last_tick >= 100) {
            if (n->h.tick) {
                n->h.tick(n->h.ctx, sh->idx);
            }
            last_tick = now_ms();
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* start / stop */

/* A real multishot recvmsg with a provided-buffer ring on a loopback socket: the only reliable
 * way to learn whether this kernel (and seccomp policy) gives us what the backend needs. */
static bool probe_uring(char *why, size_t whylen)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_queue_init: %s", strerror(-rc));
        return false;
    }
    bool ok = false;
    void *brmem = NULL;
    uint8_t *bufs = NULL;
    int fd = -1;
    const unsigned nb = 8, bsz = 512;
    if (posix_memalign(&brmem, 4096, nb * sizeof(struct io_uring_buf)) != 0 ||
        !(bufs = malloc(nb * bsz))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    struct io_uring_buf_ring *br = brmem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = nb;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_register_buf_ring: %s", strerror(-rc));
        goto out;
    }
    for (unsigned i = 0; i < nb; i++) {
        io_uring_buf_ring_add(br, bufs + i * bsz, bsz, (unsigned short)i,
                              io_uring_buf_ring_mask(nb), (int)i);
    }
    io_uring_buf_ring_advance(br, (int)nb);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        snprintf(why, whylen, "loopback UDP socket: %s", strerror(errno));
        goto out;
    }
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_namelen = sizeof(struct sockaddr_storage);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recvmsg_multishot(sqe, fd, &mh, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, 1);
    io_uring_submit(&ring);
    if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&a, al) != 5) {
        snprintf(why, whylen, "loopback sendto: %s", strerror(errno));
        goto out;
    }
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
    rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (rc < 0) {
        snprintf(why, whylen, "no completion for multishot recvmsg: %s", strerror(-rc));
        goto out;
    }
    if (cqe->res < 0) {
        snprintf(why, whylen, "multishot recvmsg: %s", strerror(-cqe->res));
    } else if (!(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE)) {
        snprintf(why, whylen, "multishot recvmsg not supported");
    } else {
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(
            bufs + (cqe->flags >> IORING_CQE_BUFFER_SHIFT) * bsz, cqe->res, &mh);
        ok = o && io_uring_recvmsg_payload_length(o, cqe->res, &mh) == 5;
        if (!ok) {
            snprintf(why, whylen, "multishot recvmsg returned a malformed buffer");
        }
    }
    io_uring_cqe_seen(&ring, cqe);
out:
    if (fd >= 0) {
        close(fd);
    }
    io_uring_queue_exit(&ring); /* waits for the multishot receive's cancellation */
    free(bufs);
    free(brmem);
    return ok;
}

typedef struct {
    bool ok;
    char why[160];
} probe_t;

static void *probe_main(void *arg)
{
    probe_t *p = arg;
    p->ok = probe_uring(p->why, sizeof p->why);
    return NULL;
}

/* The probe runs on a short-lived thread of its own: io_uring task work for a ring goes to the
 * task that submitted, and would otherwise interrupt the caller's blocking calls (EINTR). */
static bool probe_uring_thread(char *why, size_t whylen)
{
    probe_t p = {.ok = false};
    pthread_t th;
    if (pthread_create(&th, NULL, probe_main, &p) != 0) {
        snprintf(why, whylen, "cannot start probe thread");
        return false;
    }
    pthread_join(th, NULL);
    snprintf(why, whylen, "%s", p.why);
    return p.ok;
}

static int check_cfg(const dmp_net_config_t *c, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (c->frontends < 1 || c->frontends > DMP_NET_MAX_FRONTENDS) {
        bad = "frontends";
    } else if (c->shards < 1 || c->shards > DMP_NET_MAX_SHARDS) {
        bad = "shards";
    } else if (c->ring_capacity < 2 || (c->ring_capacity & (c->ring_capacity - 1))) {
        bad = "ring_capacity (power of two >= 2)";
    } else if (c->task_ring_capacity < 2 || (c->task_ring_capacity & (c->task_ring_capacity - 1))) {
        bad = "task_ring_capacity (power of two >= 2)";
    } else if (c->udp_max_payload < 12 || c->udp_max_payload > 65535) {
        bad = "udp_max_payload";
    } else if (c->udp_reply_cap < 12 || c->udp_reply_cap > 65535) {
        bad = "udp_reply_cap";
    } else if (c->tcp_max_conns < 1 || c->tcp_max_conns > (1u << 20)) {
        bad = "tcp_max_conns";
    } else if (c->tcp_max_pipelined < 1) {
        bad = "tcp_max_pipelined";
    } else if (c->tcp_max_query < 12 || c->tcp_max_query > 65535) {
        bad = "tcp_max_query";
    } else if (c->nlisten < 1 || c->nlisten > DMP_NET_MAX_LISTEN) {
        bad = "nlisten";
    } else if (c->backend > DMP_NET_BACKEND_MMSG) {
        bad = "backend";
    }
    if (bad) {
        set_err(err, errlen, "bad net config: %s", bad, 0);
        return DMP_EINVAL;
    }
    return DMP_OK;
}

static int fe_init(dmp_net_t *n, fe_t *fe, unsigned idx)
{
    fe->net = n;
    fe->idx = idx;
    fe->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fe->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (fe->efd < 0 || fe->epfd < 0) {
        return DMP_ESYS;
    }
    fe->req_size = round_up(sizeof(req_t) + n->cfg.udp_max_payload + n->cfg.udp_reply_cap, 64);
    fe->inflight = calloc(n->S, sizeof *fe->inflight);
    fe->npend = calloc(n->S, sizeof *fe->npend);
    fe->pend = calloc(n->S, sizeof *fe->pend);
    fe->conns = calloc(n->cfg.tcp_max_conns, sizeof *fe->conns);
    fe->conn_free = calloc(n->cfg.tcp_max_conns, sizeof *fe->conn_free);
    fe->dirty = calloc(n->cfg.tcp_max_conns, sizeof *fe->dirty);
    if (!fe->inflight || !fe->npend || !fe->pend || !fe->conns || !fe->conn_free || !fe->dirty) {
        return DMP_ENOMEM;
    }
    if (n->h.frontend_handle && !(fe->scratch = malloc(TCP_MAX_MSG))) {
        return DMP_ENOMEM;
    }
    for (unsigned s = 0; s < n->S; s++) {
        fe->pend[s] = calloc(n->cfg.ring_capacity, sizeof(req_t *));
        if (!fe->pend[s]) {
            return DMP_ENOMEM;
        }
    }
    for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
        fe->conns[ci].fd = -1;
        fe->conn_free[fe->nconn_free++] = n->cfg.tcp_max_conns - 1 - ci;
    }
    return DMP_OK;
}

static void free_req_any(req_t *r)
{
    if (r->kind == REQ_TCP) {
        free(r->wb);
        free(r);
    }
    /* UDP reqs belong to their frontend's `all` list */
}

static void net_release(dmp_net_t *n)
{
    void *items[BATCH];
    if (n->fwd && n->rep) {
        for (size_t i = 0; i < (size_t)n->F * n->S; i++) {
            size_t k;
            while ((k = dmp_net_spsc_pop(&n->fwd[i], items, BATCH)) > 0) {
                for (size_t j = 0; j < k; j++) {
                    free_req_any(items[j]);
                }
            }
            while ((k = dmp_net_spsc_pop(&n->rep[i], items, BATCH)) > 0) {
                for (size_t j = 0; j < k; j++) {
                    free_req_any(items[j]);
                }
            }
            dmp_net_spsc_destroy(&n->fwd[i]);
            dmp_net_spsc_destroy(&n->rep[i]);
        }
    }
    free(n->fwd);
    free(n->rep);
    n->fwd = n->rep = NULL;
    for (unsigned f = 0; n->fe && f < n->F; f++) {
        fe_t *fe = &n->fe[f];
        for (unsigned s = 0; fe->pend && s < n->S; s++) {
            for (unsigned j = 0; fe->npend && j < fe->npend[s]; j++) {
                free_req_any(fe->pend[s][j]);
            }
            free(fe->pend[s]);
        }
        for (unsigned ci = 0; fe->conns && ci < n->cfg.tcp_max_conns; ci++) {
            conn_close(fe, ci);
        }
        for (unsigned i = 0; i < fe->nudp; i++) {
            close(fe->udp_fd[i]);
        }
        for (unsigned i = 0; i < fe->ntcp; i++) {
            close(fe->tcp_fd[i]);
        }
        fe->nudp = fe->ntcp = 0;
        if (fe->ring_ok) {
            io_uring_queue_exit(&fe->ring);
            fe->ring_ok = false;
        }
        if (!fe->buf_leak) {
            free(fe->bufs);
            free(fe->br);
        }
        for (size_t i = 0; i < fe->nall; i++) {
            free(fe->all[i]);
        }
        free(fe->all);
        free(fe->pend);
        free(fe->npend);
        free(fe->inflight);
        free(fe->conns);
        free(fe->conn_free);
        free(fe->dirty);
        free(fe->scratch);
        free(fe->mm);
        free(fe->mm_iov);
        free(fe->mm_name);
        free(fe->mm_ctl);
        free(fe->mm_buf);
        free(fe->sm);
        free(fe->sm_req);
        if (fe->efd >= 0) {
            close(fe->efd);
        }
        if (fe->epfd >= 0) {
            close(fe->epfd);
        }
    }
    free(n->fe);
    n->fe = NULL;
    for (unsigned s = 0; n->sh && s < n->S; s++) {
        shard_t *sh = &n->sh[s];
        dmp_net_mpsc_destroy(&sh->tasks);
        free(sh->scratch);
        if (sh->efd >= 0) {
            close(sh->efd);
        }
    }
    free(n->sh);
    n->sh = NULL;
}

static void net_join(dmp_net_t *n)
{
    atomic_store_explicit(&n->fe_stop, 1, memory_order_release);
    for (unsigned f = 0; f < n->fe_started; f++) {
        efd_signal(n->fe[f].efd);
    }
    for (unsigned f = 0; f < n->fe_started; f++) {
        pthread_join(n->fe[f].th, NULL);
    }
    n->fe_started = 0;
    atomic_store_explicit(&n->submit_closed, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&n->submit_active, memory_order_seq_cst) != 0) {
        sched_yield();
    }
    atomic_store_explicit(&n->sh_stop, 1, memory_order_release);
    for (unsigned s = 0; s < n->sh_started; s++) {
        efd_signal(n->sh[s].efd);
    }
    for (unsigned s = 0; s < n->sh_started; s++) {
        pthread_join(n->sh[s].th, NULL);
    }
    n->sh_started = 0;
}

int dmp_net_start(const dmp_net_config_t *cfg, const dmp_net_handler_t *h, dmp_net_t **out,
                  char *err, size_t errlen)
{
    if (err && errlen) {
        err[0] = 0;
    }
    if (!cfg || !h || !h->handle || !out) {
        set_err(err, errlen, "%s", "dmp_net_start: missing argument", 0);
        return DMP_EINVAL;
    }
    *out = NULL;
    int rc = check_cfg(cfg, err, errlen);
    if (rc) {
        return rc;
    }
    dmp_net_t *n = calloc(1, sizeof *n);
    if (!n) {
        return DMP_ENOMEM;
    }
    n->cfg = *cfg;
    n->h = *h;
    n->F = cfg->frontends;
    n->S = cfg->shards;
    pthread_mutex_init(&n->stop_mu, NULL);
    for (unsigned i = 0; i < DMP_NET_MAX_LISTEN; i++) {
        n->udp_port[i] = n->tcp_port[i] = DMP_ENOTFOUND;
    }

    n->backend = DMP_NET_BACKEND_MMSG;
    if (cfg->backend != DMP_NET_BACKEND_MMSG) {
        char why[160] = "";
        if (probe_uring_thread(why, sizeof why)) {
            n->backend = DMP_NET_BACKEND_URING;
        } else if (cfg->backend == DMP_NET_BACKEND_URING) {
            set_err(err, errlen, "io_uring backend unavailable: %s", why, 0);
            free(n);
            return DMP_EUNSUPPORTED;
        } else {
            dmp_warn("net: io_uring unavailable (%s); using the recvmmsg/sendmmsg backend", why);
        }
    }

    n->fe = calloc(n->F, sizeof *n->fe);
    n->sh = calloc(n->S, sizeof *n->sh);
    n->fwd = calloc((size_t)n->F * n->S, sizeof *n->fwd);
    n->rep = calloc((size_t)n->F * n->S, sizeof *n->rep);
    if (!n->fe || !n->sh || !n->fwd || !n->rep) {
        rc = DMP_ENOMEM;
        goto fail;
    }
    for (unsigned f = 0; f < n->F; f++) {
        n->fe[f].efd = n->fe[f].epfd = -1;
    }
    for (unsigned s = 0; s < n->S; s++) {
        n->sh[s].efd = -1;
    }
    for (size_t i = 0; i < (size_t)n->F * n->S; i++) {
        if (dmp_net_spsc_init(&n->fwd[i], cfg->ring_capacity) ||
            dmp_net_spsc_init(&n->rep[i], cfg->ring_capacity)) {
            rc = DMP_ENOMEM;
            goto fail;
        }
    }
    for (unsigned f = 0; f < n->F; f++) {
        if ((rc = fe_init(n, &n->fe[f], f)) != 0) {
            set_err(err, errlen, "%s", "frontend setup failed", rc == DMP_ESYS ? errno : 0);
            goto fail;
        }
        n->fe[f].use_uring = n->backend == DMP_NET_BACKEND_URING;
    }
    for (unsigned s = 0; s < n->S; s++) {
        shard_t *sh = &n->sh[s];
        sh->net = n;
        sh->idx = s;
        sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        sh->scratch = malloc(TCP_MAX_MSG);
        if (sh->efd < 0 || !sh->scratch ||
            dmp_net_mpsc_init(&sh->tasks, cfg->task_ring_capacity) != 0) {
            rc = DMP_ENOMEM;
            goto fail;
        }
    }
    for (unsigned li = 0; li < cfg->nlisten; li++) {
        if ((rc = bind_listen(n, li, err, errlen)) != 0) {
            goto fail;
        }
    }
    for (unsigned s = 0; s < n->S; s++) {
        if (pthread_create(&n->sh[s].th, NULL, shard_main, &n->sh[s]) != 0) {
            rc = DMP_NET_ETHREAD;
            set_err(err, errlen, "%s", "cannot start shard thread", errno);
            goto fail;
        }
        n->sh_started++;
    }
    for (unsigned f = 0; f < n->F; f++) {
        if (pthread_create(&n->fe[f].th, NULL, fe_main, &n->fe[f]) != 0) {
            rc = DMP_NET_ETHREAD;
            set_err(err, errlen, "%s", "cannot start frontend thread", errno);
            goto fail;
        }
        n->fe_started++;
    }
    dmp_info("net: %u frontend(s), %u shard(s), backend %s", n->F, n->S,
             n->backend == DMP_NET_BACKEND_URING ? "io_uring" : "recvmmsg/sendmmsg");
    *out = n;
    return DMP_OK;
fail:
    net_join(n);
    net_release(n);
    pthread_mutex_destroy(&n->stop_mu);
    free(n);
    if (err && errlen && !err[0]) {
        snprintf(err, errlen, "%s", dmp_net_strerror(rc));
    }
    return rc;
}

void dmp_net_stop(dmp_net_t *n)
{
    if (!n) {
        return;
    }
    pthread_mutex_lock(&n->stop_mu);
    if (!n->stopped) {
        net_join(n);
        /* tasks that raced with stop run here, on the stopping thread */
        for (unsigned s = 0; s < n->S; s++) {
            dmp_net_task_fn fn;
            void *arg;
            while (dmp_net_mpsc_pop(&n->sh[s].tasks, &fn, &arg)) {
                fn(arg);
                CINC(n->sh[s].c.tasks_run, 1);
            }
        }
        for (unsigned f = 0; f < n->F; f++) {
            fe_t *fe = &n->fe[f];
            for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
                conn_close(fe, ci);
            }
            for (unsigned i = 0; i < fe->nudp; i++) {
                close(fe->udp_fd[i]);
            }
            for (unsigned i = 0; i < fe->ntcp; i++) {
                close(fe->tcp_fd[i]);
            }
            fe->nudp = fe->ntcp = 0;
        }
        n->stopped = true;
    }
    pthread_mutex_unlock(&n->stop_mu);
}

void dmp_net_free(dmp_net_t *n)
{
    if (!n) {
        return;
    }
    dmp_net_stop(n);
    net_release(n);
    pthread_mutex_destroy(&n->stop_mu);
    free(n);
}

int dmp_net_submit(dmp_net_t *n, unsigned shard, void (*fn)(void *arg), void *arg)
{
    if (!n || !fn || shard >= n->S) {
        return DMP_EINVAL;
    }
    atomic_fetch_add_explicit(&n->submit_active, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&n->submit_closed, memory_order_seq_cst)) {
        atomic_fetch_sub_explicit(&n->submit_active, 1, memory_order_seq_cst);
        return DMP_NET_ESTOPPED;
    }
    bool was_empty = false;
    bool ok = dmp_net_mpsc_push(&n->sh[shard].tasks, fn, arg, &was_empty);
    if (ok && was_empty) {
        efd_signal(n->sh[shard].efd);
    }
    atomic_fetch_sub_explicit(&n->submit_active, 1, memory_order_seq_cst);
    return ok ? DMP_OK : DMP_EFULL;
}

int dmp_net_udp_port(const dmp_net_t *n, unsigned idx)
{
    return (!n || idx >= DMP_NET_MAX_LISTEN) ? DMP_EINVAL : n->udp_port[idx];
}

int dmp_net_tcp_port(const dmp_net_t *n, unsigned idx)
{
    return (!n || idx >= DMP_NET_MAX_LISTEN) ? DMP_EINVAL : n->tcp_port[idx];
}

unsigned dmp_net_frontends(const dmp_net_t *n)
{
    return n ? n->F : 0;
}

unsigned dmp_net_shards(const dmp_net_t *n)
{
    return n ? n->S : 0;
}

dmp_net_backend_t dmp_net_backend(const dmp_net_t *n)
{
    return n ? n->backend : DMP_NET_BACKEND_AUTO;
}

static void add_counters(dmp_net_stats_t *o, const counters_t *c)
{
    o->udp_rx += CGET(c->udp_rx);
    o->udp_tx += CGET(c->udp_tx);
    o->udp_dropped += CGET(c->udp_dropped);
    o->tcp_accepted += CGET(c->tcp_accepted);
    o->tcp_rejected += CGET(c->tcp_rejected);
    o->tcp_accept_errors += CGET(c->tcp_accept_errors);
    o->tcp_rx += CGET(c->tcp_rx);
    o->tcp_tx += CGET(c->tcp_tx);
    o->tcp_timeouts += CGET(c->tcp_timeouts);
    o->tcp_bad_length += CGET(c->tcp_bad_length);
    o->ring_full_drops += CGET(c->ring_full_drops);
    o->admit_drops += CGET(c->admit_drops);
    o->slips += CGET(c->slips);
    o->queries_handled += CGET(c->queries_handled);
    o->tasks_run += CGET(c->tasks_run);
    o->frontend_answered += CGET(c->frontend_answered);
    if (CGET(c->ring_depth_max) > o->ring_depth_max) {
        o->ring_depth_max = CGET(c->ring_depth_max);
    }
}

void dmp_net_stats(const dmp_net_t *n, dmp_net_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!n) {
        return;
    }
    out->backend = n->backend;
    for (unsigned f = 0; f < n->F; f++) {
        add_counters(out, &n->fe[f].c);
    }
    for (unsigned s = 0; s < n->S; s++) {
        add_counters(out, &n->sh[s].c);
    }
    for (size_t i = 0; n->fwd && i < (size_t)n->F * n->S; i++) {
        out->ring_depth_now += dmp_net_spsc_size(&n->fwd[i]);
    }
}
