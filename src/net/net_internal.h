/* net: internals shared by the net's source files (not part of the public API). docs/net.md
 * describes the design. The query path, one stage per file:
 *   net_socket.c    listen sockets (SO_REUSEPORT per frontend)
 *   net_uring.c     io_uring frontend loop (receive, send completions, TCP readiness)
 *   net_mmsg.c      recvmmsg/sendmmsg fallback loop
 *   net_frontend.c  UDP ingest -> admit; replies back from shards and sent
 *   net_handoff.c   request pool, route, batched ring pushes, in-flight accounting
 *   net_tcp.c       TCP connections: accept, reads, writes, epoll interest, sweeps
 *   tcp_conn.c      one TCP connection's state machine (no I/O): framing, pipelining,
 *                   ordered replies, timeouts, per-source admission
 *   net_shard.c     shard threads: handle() and submitted tasks
 *   net_start.c     start / stop / stats, the frontend thread's main
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
#ifndef DMP_NET_INTERNAL_H
#define DMP_NET_INTERNAL_H

#include <liburing.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns.h"
#include "net/frame.h"
#include "net/net.h"
#include "net/ring.h"
#include "net/tcp_conn.h"
#include "util/util.h"

#define BATCH 64
#define SEND_FLUSH 64 /* UDP replies queued before they are pushed out mid-batch */
/* ... or once the oldest of them has waited this long (ns): a batch that reads the store for
 * its cache misses on the frontend spends ~10 µs per miss. Each push wakes the client's reader
 * once (on loopback, inside the sendmsg: the costliest part of the send path on a
 * paravirtualised box), so pushing every few misses paid that wake-up per few answers; 400 µs
 * is ~30 misses (bench/results/one-pass-miss-flush400-2026-12-03.txt). */
#define SEND_FLUSH_NS 400000
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
        tcp_rx, tcp_tx, tcp_timeouts, tcp_evicted, tcp_source_capped, tcp_bad_length,
        ring_full_drops, admit_drops, slips, queries_handled, tasks_run, ring_depth_max,
        frontend_answered;
} counters_t;

#define CINC(c, n)                                                                                 \
    atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (n),            \
                          memory_order_relaxed)
#define CGET(c) atomic_load_explicit(&(c), memory_order_relaxed)

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

/* TCP connection. Invariant: open <=> fd >= 0 and registered in the frontend's epoll set.
 * t: the socket-free state (tcp_conn.h): buffered bytes, queries in shards, queued replies. */
typedef struct {
    int fd;
    unsigned gen;
    bool open, want_out, dirty;
    dmp_net_tconn_t t;
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
    unsigned uring_ops;         /* armed requests whose final CQE has not arrived */
    unsigned sends_out;         /* sendmsg SQEs not yet completed */
    unsigned sends_unsubmitted; /* sendmsg SQEs queued since the last submit (approximate) */
    int64_t sends_first_ns;     /* when the first of them was queued (also the mmsg backend's) */
    bool buf_leak;              /* teardown could not confirm the kernel is done with bufs */
    bool fixed_files;           /* udp_fd[] registered: SQEs name socket i as fixed file i */

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

/* epoll keys: tag << 32 | index */
#define EP_TAG_LISTEN 1ULL
#define EP_TAG_CONN 2ULL
#define EP_TAG_UDP 3ULL
#define EP_TAG_EFD 4ULL
#define EP_KEY(tag, i) ((tag) << 32 | (uint64_t)(i))

static inline int64_t net_now_ms(void)
{
    return dmp_monotonic_ns() / 1000000;
}

static inline void efd_signal(int fd)
{
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r; /* EAGAIN only when the counter is saturated: already signalled */
}

static inline struct io_uring_sqe *dmp_net_get_sqe(fe_t *fe)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&fe->ring);
    if (!sqe) {
        (void)io_uring_submit(&fe->ring);
        sqe = io_uring_get_sqe(&fe->ring);
    }
    return sqe;
}

static inline size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

/* ---- net_socket.c ---- */
/* Formats an error (fmt takes one %s; e != 0 appends strerror(e)) into err. */
void dmp_net_set_err(char *err, size_t errlen, const char *fmt, const char *a, int e);

/* Binds listen address li for every frontend (UDP and TCP as configured). */
int dmp_net_bind_listen(dmp_net_t *n, unsigned li, char *err, size_t errlen);

/* ---- net_handoff.c ---- */
req_t *dmp_net_udp_req_get(fe_t *fe);
bool dmp_net_fe_drained(fe_t *fe, int64_t *deadline);
/* Work that must finish before a stopping frontend exits. */
bool dmp_net_fe_busy(fe_t *fe);
bool dmp_net_fe_replies_quiet(fe_t *fe);
void dmp_net_udp_req_put(fe_t *fe, req_t *r);
void dmp_net_fe_flush(fe_t *fe);
/* Queues r for shard s (flushed in batches by dmp_net_fe_flush). Caller checked inflight. */
void dmp_net_fe_enqueue(fe_t *fe, unsigned s, req_t *r);
unsigned dmp_net_pick_shard(fe_t *fe, const uint8_t *pkt, size_t len);
/* ---- net_frontend.c: the UDP query path ---- */
/* One received datagram (bytes owned by the caller; copied here). dst: where it arrived, or
 * NULL when the socket is bound to a specific address. */
void dmp_net_udp_ingest(fe_t *fe, unsigned sock, const uint8_t *pkt, size_t len,
                        const struct sockaddr *peer, socklen_t peer_len, const udst_t *dst);
/* Reads a pktinfo control message (bounded by end) into d. */
void dmp_net_cmsg_dst(const struct cmsghdr *c, const uint8_t *end, udst_t *d);
/* Sends r's reply (r->out_len > 0) and recycles r when done. */
void dmp_net_udp_send(fe_t *fe, req_t *r);
/* True when `queued` replies, the oldest queued `waited_ns` ago, are to be pushed out now
 * (SEND_FLUSH, SEND_FLUSH_NS). */
bool dmp_net_send_due(unsigned queued, int64_t waited_ns);
/* Pops every reply waiting from the shards. Returns how many. */
size_t dmp_net_fe_drain_replies(fe_t *fe);

/* ---- net_tcp.c ---- */
void dmp_net_tcp_event(fe_t *fe, uint64_t key, uint32_t events);
void dmp_net_tcp_sweep(fe_t *fe);
/* TCP reply from a shard: takes r's wbuf, frees r. */
void dmp_net_tcp_reply(fe_t *fe, req_t *r);
void dmp_net_tcp_flush_dirty(fe_t *fe);
void dmp_net_conn_close(fe_t *fe, unsigned ci);

/* ---- net_uring.c ---- */
int dmp_net_uring_setup(fe_t *fe, char *why, size_t whylen);
void dmp_net_uring_loop(fe_t *fe);
/* Whether this kernel gives the io_uring backend what it needs (runs on a thread of its own). */
bool dmp_net_probe_uring_thread(char *why, size_t whylen);

/* ---- net_mmsg.c ---- */
int dmp_net_mmsg_setup(fe_t *fe);
void dmp_net_mmsg_loop(fe_t *fe);

/* ---- net_start.c ---- */
void *dmp_net_fe_main(void *arg);

/* ---- net_shard.c ---- */
void *dmp_net_shard_main(void *arg);

#endif
