/* net: types for the DNS frontends (UDP + TCP), the frontend->shard rings and shard threads.
 * See docs/net.md for threads, rings, buffer ownership and the two I/O backends. */
#ifndef DMP_NET_TYPES_H
#define DMP_NET_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* net error codes (range -600..). dmp_net_strerror() names them, falling back to dmp_strerror. */
enum {
    DMP_NET_EBIND = -600,    /* could not bind a listen address */
    DMP_NET_EADDR = -601,    /* listen host is not a numeric IPv4/IPv6 address */
    DMP_NET_ETHREAD = -602,  /* could not start a thread */
    DMP_NET_ESTOPPED = -603, /* dmp_net_submit after dmp_net_stop */
};

#define DMP_NET_MAX_LISTEN 8     /* listen addresses per config */
#define DMP_NET_MAX_FRONTENDS 64 /* frontend threads */
#define DMP_NET_MAX_SHARDS 64    /* shard threads */

typedef enum {
    DMP_NET_UDP = 0,
    DMP_NET_TCP = 1,
} dmp_net_transport_t;

/* One query as the shard sees it. All pointers are owned by net and valid only for the duration
 * of the handle() call (copy what you keep). */
typedef struct {
    const uint8_t *pkt; /* the DNS message (TCP: without the 2-byte length prefix) */
    size_t len;
    dmp_net_transport_t transport;
    const struct sockaddr *peer;
    socklen_t peer_len;
    unsigned frontend; /* frontend thread that received it */
} dmp_net_query_t;

typedef enum {
    DMP_NET_ADMIT = 0, /* hand the query to its shard */
    DMP_NET_DROP = 1,  /* UDP: send nothing; TCP: close the connection */
    DMP_NET_SLIP = 2,  /* UDP: net answers with dmp_dns_tc_stub() itself; TCP: same as ADMIT */
} dmp_net_admit_t;

/* Callbacks supplied by the node. Threads: route/admit run on frontend threads, handle/tick and
 * submitted tasks on shard threads; a given shard index is always the same thread. */
typedef struct {
    /* Frontend thread. Returns the shard index in [0, nshards), or -1 = "any" (net uses 0).
     * Out-of-range values are treated as 0. NULL = everything to shard 0. */
    int (*route)(void *ctx, const uint8_t *pkt, size_t len, unsigned nshards);
    /* Frontend thread, before route. Per-frontend state is the callee's (index by frontend; the
     * same frontend index is always the same thread). NULL = admit all. */
    dmp_net_admit_t (*admit)(void *ctx, unsigned frontend, const struct sockaddr *peer,
                             socklen_t peer_len, dmp_net_transport_t t);
    /* Shard thread. Write the reply into out (cap bytes: 65535 for TCP, cfg.udp_reply_cap for
     * UDP) and set *out_len (0 = no reply: UDP sends nothing, TCP sends nothing for this query).
     * out is owned by net. Required. */
    void (*handle)(void *ctx, unsigned shard, const dmp_net_query_t *q, uint8_t *out, size_t cap,
                   size_t *out_len);
    /* Shard thread: after each drained batch and at least every ~100 ms when idle. Returns the
     * ms after which it wants to run again even if nothing arrives (0 = at the next chance),
     * or -1 for no such wish. May be NULL. */
    int (*tick)(void *ctx, unsigned shard);
    /* Frontend thread, TCP only, after admit and only while the connection has nothing else in
     * flight: return true to take the connection over (zone transfers stream many messages on
     * their own thread). The callee then owns fd (net forgets it without closing it); pkt is
     * borrowed for the call. NULL = never. */
    bool (*tcp_takeover)(void *ctx, int fd, const struct sockaddr *peer, socklen_t peer_len,
                         const uint8_t *pkt, size_t len);
    void *ctx;
    /* Optional, frontend thread, UDP only, after admit and before route: answer the query right
     * here (dnsmeshd: from a read-only view of the owning shard's answer cache) and return true,
     * or return false to hand it to its shard as usual. Same contract for out, cap and out_len as
     * handle() (out_len 0: send nothing). TCP queries always go to their shard, whose replies
     * keep the connection's order. NULL = every query goes to a shard. */
    bool (*frontend_answer)(void *ctx, unsigned frontend, const dmp_net_query_t *q, uint8_t *out,
                            size_t cap, size_t *out_len);
} dmp_net_handler_t;

/* A listen address. host is a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "0.0.0.0",
 * "::"). port 0 = ephemeral: the UDP and TCP sockets of this entry then share one kernel-chosen
 * port (dmp_net_udp_port/dmp_net_tcp_port report it). */
typedef struct {
    char host[64];
    uint16_t port;
    bool no_udp; /* skip UDP on this address */
    bool no_tcp; /* skip TCP on this address */
} dmp_net_listen_t;

typedef enum {
    DMP_NET_BACKEND_AUTO = 0,  /* io_uring when the kernel has what we need, else MMSG */
    DMP_NET_BACKEND_URING = 1, /* require io_uring (start fails with DMP_EUNSUPPORTED if absent) */
    DMP_NET_BACKEND_MMSG = 2,  /* force the recvmmsg/sendmmsg + epoll fallback */
} dmp_net_backend_t;

/* Start configuration. dmp_net_config_default() fills every field; then set listen[]. */
typedef struct {
    dmp_net_listen_t listen[DMP_NET_MAX_LISTEN];
    unsigned nlisten;
    unsigned frontends;           /* F frontend threads (1..DMP_NET_MAX_FRONTENDS), default 1 */
    unsigned shards;              /* S shard threads (1..DMP_NET_MAX_SHARDS), default 1 */
    unsigned ring_capacity;       /* per frontend->shard ring (power of two, >= 2), default 1024;
                                   * also the bound on queries in flight per frontend/shard pair */
    unsigned task_ring_capacity;  /* per-shard dmp_net_submit ring (power of two), default 1024 */
    unsigned udp_max_payload;     /* largest UDP datagram received (bigger: dropped), def. 4096 */
    unsigned udp_reply_cap;       /* `cap` given to handle() for UDP, default 4096 */
    unsigned tcp_idle_timeout_ms; /* closed this long after its last complete query or reply
                                   * (bytes of a partial message do not count), default 10000 */
    unsigned tcp_msg_timeout_ms;  /* a query must arrive whole, and a reply be taken whole,
                                   * within this of its first byte (slow read/write), def. 2000 */
    unsigned tcp_max_conns;       /* open connections per frontend; when full, the longest-idle
                                   * connection is closed for a new one, default 1024 */
    unsigned tcp_max_per_source;  /* open connections per frontend from one address (IPv6: one
                                   * /64); 0 = min(64, max(1, tcp_max_conns / 2)) */
    unsigned tcp_max_pipelined;   /* queries of one connection in flight at once, default 64 */
    unsigned tcp_max_query;       /* a longer length prefix closes the connection, def. 65535 */
    unsigned tcp_backlog;         /* listen backlog, default 128 */
    dmp_net_backend_t backend;    /* default AUTO */
    /* Learn each datagram's local address (IP_PKTINFO / IPV6_RECVPKTINFO) and send the reply from
     * it. Always on for wildcard addresses ("0.0.0.0", "::"); this forces it on for all. */
    bool udp_force_pktinfo;
} dmp_net_config_t;

/* Counters summed over all threads at read time (each read racily but atomically). */
typedef struct {
    uint64_t udp_rx, udp_tx;     /* datagrams received / replies sent */
    uint64_t udp_dropped;        /* over udp_max_payload, no request memory, or send failed */
    uint64_t tcp_accepted;       /* connections accepted and kept */
    uint64_t tcp_rejected;       /* closed at accept: every slot busy or stopping */
    uint64_t tcp_accept_errors;  /* accept() failures such as EMFILE (accepting then pauses) */
    uint64_t tcp_rx, tcp_tx;     /* framed queries received / replies written */
    uint64_t tcp_timeouts;       /* connections closed for idleness or a slow message */
    uint64_t tcp_evicted;        /* idle connections closed to make room for a new one */
    uint64_t tcp_source_capped;  /* closed at accept: the source has tcp_max_per_source open */
    uint64_t tcp_bad_length;     /* connections closed for a zero or too-long length */
    uint64_t ring_full_drops;    /* queries dropped because the shard's ring/in-flight was full */
    uint64_t admit_drops, slips; /* admit() said DROP / SLIP */
    uint64_t queries_handled;    /* handle() calls */
    uint64_t frontend_answered;  /* UDP queries frontend_answer() answered */
    uint64_t tasks_run;          /* submitted tasks run */
    uint64_t ring_depth_max;     /* most queries seen waiting in one frontend->shard ring */
    uint64_t ring_depth_now;     /* queries waiting in all frontend->shard rings now */
    dmp_net_backend_t backend;   /* URING or MMSG: what the frontends actually run */
} dmp_net_stats_t;

typedef struct dmp_net dmp_net_t;

#endif
