/* Internals of the DNS load engine shared by bench_dns_engine.c (sockets, UDP batches, the run
 * loop), bench_dns_io.c (TCP and io_uring) and bench_dns_slots.c (query slots, replies). */
#ifndef DMP_BENCH_DNS_ENGINE_H
#define DMP_BENCH_DNS_ENGINE_H

#include <liburing.h>

#include "bench_dns.h"

#define TCP_IN_CAP (256 * 1024)
#define MAX_RECONNECTS 1000
#define RETRY_SLOTS 256

/* One outstanding query. sent_ns == 0 means the slot is free. */
typedef struct {
    int64_t sent_ns;
    uint32_t name;
    uint16_t id;
    uint8_t kind;
} slot_t;

/* One connected socket and its share of the window. id_map[id] = slot index + 1 while a query
 * with that ID is outstanding, else 0; free[0..nfree) lists the free slots. */
typedef struct {
    int fd;
    bool tcp, retry; /* retry: the TCP connection that repeats TC=1 answers */
    uint32_t nslots, nfree;
    slot_t *slots;
    uint32_t *free;
    uint32_t *id_map;
    uint8_t *qbuf;  /* batch * QBUF */
    uint8_t *rbuf;  /* batch * RBUF */
    uint32_t *pend; /* slots filled for the current send batch */
    /* TCP only: bytes not yet written (out[out_off..out_len)) and bytes read but not yet
     * parsed (in[0..in_len)); both owned here. */
    uint8_t *out, *in;
    size_t out_off, out_len, in_len;
} sock_t;

/* A query to repeat over TCP. */
typedef struct {
    int64_t sent_ns;
    uint32_t name;
    uint8_t kind;
} retry_t;

/* One ring for all UDP sockets. Owns sbuf[i] (socket i's per-slot query buffers: a query's
 * bytes stay put until its send completes). */
typedef struct {
    struct io_uring ring;
    bool inited;
    uint8_t *sbuf[DMPB_MAX_SOCKETS];
} uring_t;

struct dmpb_gen {
    dmpb_gen_cfg_t c;
    int nsock;
    sock_t socks[DMPB_MAX_SOCKETS];
    sock_t rs; /* TC retries over TCP (fd -1 until the first one) */
    retry_t *rq;
    uint32_t rq_head, rq_len;
    uring_t *u;
    uint64_t rng;
    dmpb_stats_t *st;
};

/* bench_dns_slots.c */
size_t dmpb_e_build_query(uint8_t *q, const dmpb_names_t *nm, uint32_t name, uint16_t id, int edns);
void dmpb_e_slot_free(sock_t *s, uint32_t si);
/* The query in slot si is written off as lost. */
void dmpb_e_count_lost(dmpb_gen_t *g, sock_t *s, uint32_t si);
/* The query in slot si did not leave after all: not counted as sent. */
void dmpb_e_unsend(dmpb_gen_t *g, sock_t *s, uint32_t si);
/* Matches one reply against the socket's outstanding queries, checks and counts it. */
void dmpb_e_handle_reply(dmpb_gen_t *g, sock_t *s, const uint8_t *r, size_t len, int64_t now);
int dmpb_e_sock_connect(sock_t *s, const struct sockaddr_storage *ss, socklen_t sslen);
/* A free slot of s filled with the next query (or retry); its index, or -1. */
int64_t dmpb_e_take_slot(dmpb_gen_t *g, sock_t *s, int64_t now);

/* bench_dns_io.c */
int dmpb_e_tcp_send_batch(dmpb_gen_t *g, sock_t *s, int want);
int dmpb_e_tcp_recv(dmpb_gen_t *g, sock_t *s);
int dmpb_e_uring_init(dmpb_gen_t *g);
int dmpb_e_uring_send(dmpb_gen_t *g, unsigned sock, int want);
int dmpb_e_uring_pump(dmpb_gen_t *g, bool may_wait);

#endif
