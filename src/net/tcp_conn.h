/* net: one TCP connection's state (RFC 7766), free of sockets, epoll and clocks, so it can be
 * unit tested and fuzzed as a sequence of events: bytes arrived (any split), a query handed on,
 * a reply ready, a write completed (possibly partly), the peer closed its side, a timer tick.
 * net_tcp.c owns the sockets and calls these; every time is a caller-supplied millisecond
 * count (the frontend passes its monotonic clock, tests an injected one). Not thread-safe: a
 * connection belongs to one frontend thread. docs/net.md ("TCP") describes the rules. */
#ifndef DMP_NET_TCP_CONN_H
#define DMP_NET_TCP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* A framed TCP reply (2-byte length + message). Malloc'd by the shard, freed by the frontend
 * once written. off = bytes already written. */
typedef struct wbuf {
    struct wbuf *next;
    size_t len, off;
    uint8_t data[];
} wbuf_t;

/* Read buffers never shrink below this (one recv takes what a few small queries need). */
#define DMP_NET_TCONN_RBUF_MIN 512

typedef struct {
    size_t max_query;       /* longest query accepted (<= 65535); longer or 0 closes */
    unsigned max_pipelined; /* queries in shards + replies queued; reading pauses at the cap */
    int64_t idle_ms;        /* no complete query or reply for this long closes (RFC 7766 6.2.3) */
    int64_t msg_ms;         /* a query must arrive whole, a queued reply be taken, within this */
} dmp_net_tconn_limits_t;

/* Per-connection state. pending = queries handed on and not yet answered; wq = replies not yet
 * fully written (wq_count of them). rbuf holds rlen bytes of rcap: at most one partial message
 * when reading, or complete messages too while paused. */
typedef struct {
    bool rd_closed, rd_paused;
    unsigned pending;
    unsigned wq_count;
    uint8_t *rbuf;
    size_t rlen, rcap;
    int64_t last_ms;      /* last complete query received or reply queued/written whole */
    int64_t msg_start_ms; /* first byte of the partial query in rbuf arrived; 0 = none */
    int64_t wq_since_ms;  /* the reply at the head of wq started waiting to be taken */
    wbuf_t *wq_head, *wq_tail;
    struct sockaddr_storage peer;
    socklen_t peer_len;
} dmp_net_tconn_t;

/* A new connection from peer at now. rbuf/wq must be empty (fresh or released). */
void dmp_net_tconn_open(dmp_net_tconn_t *t, const struct sockaddr_storage *peer, socklen_t peer_len,
                        int64_t now);
/* Frees the read buffer and every queued reply; t can be opened again. */
void dmp_net_tconn_release(dmp_net_tconn_t *t);

/* Where the next read goes: grows rbuf to hold the whole message being read (at least
 * DMP_NET_TCONN_RBUF_MIN). 0, or DMP_ENOMEM (close). *room > 0 when reading is allowed. */
int dmp_net_tconn_read_room(dmp_net_tconn_t *t, uint8_t **at, size_t *room);
/* n (<= room) bytes arrived at the place read_room gave. The first byte of a message starts its
 * clock; later bytes do not restart it (slowloris). */
void dmp_net_tconn_bytes_in(dmp_net_tconn_t *t, size_t n, int64_t now);

typedef enum {
    DMP_NET_TCONN_TAKE = 0, /* the query was handed on: a reply (or none) will come */
    DMP_NET_TCONN_SKIP = 1, /* consumed without a reply owed (stopping) */
    DMP_NET_TCONN_DROP = 2, /* close the connection */
} dmp_net_tconn_verdict_t;

/* Called per complete query (bytes inside t->rbuf, valid for the call only). */
typedef dmp_net_tconn_verdict_t (*dmp_net_tconn_query_fn)(void *ctx, dmp_net_tconn_t *t,
                                                          const uint8_t *msg, size_t len);

typedef enum {
    DMP_NET_TCONN_OK = 0,
    DMP_NET_TCONN_BAD_LENGTH = 1, /* a length prefix of 0 or above max_query: close */
    DMP_NET_TCONN_DROPPED = 2,    /* the callback said DROP: close */
} dmp_net_tconn_parse_t;

/* Hands every complete buffered query to fn, in order, until pending + wq_count reaches
 * max_pipelined; keeps what is left and sets rd_paused when at the cap. *pause_changed (may be
 * NULL) tells whether rd_paused flipped. */
dmp_net_tconn_parse_t dmp_net_tconn_parse(dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim,
                                          int64_t now, dmp_net_tconn_query_fn fn, void *ctx,
                                          bool *pause_changed);

/* A reply for one of this connection's pending queries (w: framed reply taken, or NULL when
 * there is none to send). */
void dmp_net_tconn_reply(dmp_net_tconn_t *t, wbuf_t *w, int64_t now);
/* Fills up to max iovecs with what is left to write; returns how many. */
int dmp_net_tconn_write_iov(const dmp_net_tconn_t *t, struct iovec *iov, int max);
/* n bytes of what write_iov gave were written: whole replies leave the queue. */
void dmp_net_tconn_wrote(dmp_net_tconn_t *t, size_t n, int64_t now);

/* The peer shut its sending side (read returned 0). */
void dmp_net_tconn_peer_closed(dmp_net_tconn_t *t);
/* Peer closed and nothing left to answer or write: close now. */
bool dmp_net_tconn_finished(const dmp_net_tconn_t *t);
/* Paused and below the pipelining cap again: parse what is buffered and read on. */
bool dmp_net_tconn_can_resume(const dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim);
/* Timer tick: true when the connection must close (idle, a query arriving too slowly, a reply
 * taken too slowly). Never while a query is pending: its reply is owed. */
bool dmp_net_tconn_expired(const dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim,
                           int64_t now);

/* Same source: the IPv4 address, or the /64 of an IPv6 address (one host's usual share). */
bool dmp_net_tconn_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* The table of connections as the admission check sees it: slot i's state, or NULL if free. */
typedef const dmp_net_tconn_t *(*dmp_net_tconn_slot_fn)(void *ctx, unsigned i);

typedef enum {
    DMP_NET_TCONN_ADMIT = 0,         /* take a free slot */
    DMP_NET_TCONN_ADMIT_EVICT = 1,   /* close *victim first, then take its slot */
    DMP_NET_TCONN_REJECT_SOURCE = 2, /* the source is at its share, all of its connections busy */
    DMP_NET_TCONN_REJECT_FULL = 3,   /* no free slot and every connection busy */
} dmp_net_tconn_admit_t;

/* Whether a new connection from peer fits a table of n slots with nfree free ones. A source at
 * per_source connections makes room from its own idle ones (never others'); a full table
 * closes the connection idle longest (RFC 7766 6.2.3). Idle = nothing pending or queued. */
dmp_net_tconn_admit_t dmp_net_tconn_admit(dmp_net_tconn_slot_fn slot, void *ctx, unsigned n,
                                          unsigned nfree, const struct sockaddr_storage *peer,
                                          unsigned per_source, unsigned *victim);

#endif
