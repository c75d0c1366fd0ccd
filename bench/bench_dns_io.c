/* dnsmesh-bench: the TCP (pipelined, RFC 7766) and io_uring (UDP) transports of the DNS load
 * engine. A TCP connection the server closes is reopened (at most MAX_RECONNECTS times a run)
 * and its outstanding queries count as lost. io_uring: a send SQE per query, submitted in
 * batches, and `batch` receive SQEs kept armed per socket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_dns_engine.h"

/* --- TCP --------------------------------------------------------------------------------- */

/* The server closed or broke the connection: write off its outstanding queries as lost and
 * reconnect (at most MAX_RECONNECTS times per run, then stop the run). */
static void tcp_reset(dmpb_gen_t *g, sock_t *s)
{
    for (uint32_t i = 0; i < s->nslots; i++)
        if (s->slots[i].sent_ns != 0)
            dmpb_e_count_lost(g, s, i);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (++g->st->reconnects > MAX_RECONNECTS) {
        fprintf(stderr, "dns: more than %d TCP reconnects; stopping\n", MAX_RECONNECTS);
        dmpb_stop = 1;
        return;
    }
    if (dmpb_e_sock_connect(s, &g->c.target, g->c.target_len) != 0)
        dmpb_stop = 1;
}

/* Writes pending bytes; 0 when all were written or the socket is full, -1 when broken. */
static int tcp_flush(sock_t *s)
{
    while (s->out_off < s->out_len) {
        ssize_t w = send(s->fd, s->out + s->out_off, s->out_len - s->out_off, MSG_NOSIGNAL);
        if (w > 0)
            s->out_off += (size_t)w;
        else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        else
            return -1;
    }
    s->out_off = s->out_len = 0;
    return 0;
}

int dmpb_e_tcp_send_batch(dmpb_gen_t *g, sock_t *s, int want)
{
    if (s->fd < 0) {
        if (!s->retry || g->rq_len == 0 ||
            dmpb_e_sock_connect(s, &g->c.target, g->c.target_len) != 0)
            return 0;
    }
    if (s->out_len > 0) {
        if (tcp_flush(s) != 0)
            tcp_reset(g, s);
        return 0; /* send new queries only once the previous batch is fully written */
    }
    int64_t now = dmpb_now_ns();
    int n = 0;
    size_t len = 0;
    while (n < want) {
        int64_t si = dmpb_e_take_slot(g, s, now);
        if (si < 0)
            break;
        size_t ql = dmpb_e_build_query(s->out + len + 2, g->c.names, s->slots[si].name,
                                       s->slots[si].id, g->c.edns);
        s->out[len] = (uint8_t)(ql >> 8);
        s->out[len + 1] = (uint8_t)ql;
        len += ql + 2;
        n++;
    }
    if (n == 0)
        return 0;
    s->out_off = 0;
    s->out_len = len;
    if (tcp_flush(s) != 0)
        tcp_reset(g, s);
    return n;
}

int dmpb_e_tcp_recv(dmpb_gen_t *g, sock_t *s)
{
    int got = 0;
    for (int round = 0; round < 4 && s->fd >= 0; round++) {
        ssize_t r = recv(s->fd, s->in + s->in_len, TCP_IN_CAP - s->in_len, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            tcp_reset(g, s);
            break;
        }
        s->in_len += (size_t)r;
        int64_t now = dmpb_now_ns();
        size_t off = 0;
        while (s->in_len - off >= 2) {
            size_t ml = (size_t)s->in[off] << 8 | s->in[off + 1];
            if (s->in_len - off - 2 < ml)
                break;
            dmpb_e_handle_reply(g, s, s->in + off + 2, ml, now);
            off += 2 + ml;
            got++;
        }
        memmove(s->in, s->in + off, s->in_len - off);
        s->in_len -= off;
    }
    return got;
}

/* --- io_uring (UDP) -------------------------------------------------------------------------- */

enum { UD_RECV = 1, UD_SEND = 2 };

static uint64_t ud_make(unsigned type, unsigned sock, uint64_t low40)
{
    return (uint64_t)type << 60 | (uint64_t)sock << 40 | (low40 & 0xffffffffffULL);
}

static struct io_uring_sqe *uring_sqe(uring_t *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static int uring_arm_recv(uring_t *u, sock_t *s, unsigned sock, uint32_t b)
{
    struct io_uring_sqe *sqe = uring_sqe(u);
    if (!sqe)
        return -1;
    io_uring_prep_recv(sqe, s->fd, s->rbuf + (size_t)b * DMPB_RBUF, DMPB_RBUF, 0);
    io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, sock, b));
    return 0;
}

int dmpb_e_uring_init(dmpb_gen_t *g)
{
    uring_t *u = g->u;
    unsigned need = (unsigned)(g->nsock * g->c.batch + g->c.window), entries = 64;
    while (entries < need && entries < 16384)
        entries <<= 1;
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    int rc = io_uring_queue_init_params(entries, &u->ring, &p);
    if (rc < 0) {
        fprintf(stderr, "io_uring unavailable (%s); use --io mmsg\n", strerror(-rc));
        return -1;
    }
    u->inited = true;
    for (int i = 0; i < g->nsock; i++) {
        u->sbuf[i] = malloc((size_t)g->socks[i].nslots * DMPB_QBUF);
        if (!u->sbuf[i]) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
        for (int b = 0; b < g->c.batch; b++)
            if (uring_arm_recv(u, &g->socks[i], (unsigned)i, (uint32_t)b) != 0) {
                fprintf(stderr, "io_uring: no submission entry for a receive\n");
                return -1;
            }
    }
    io_uring_submit(&u->ring);
    return 0;
}

/* Prepares up to `want` sends on socket `sock` (submitted by dmpb_e_uring_pump). */
int dmpb_e_uring_send(dmpb_gen_t *g, unsigned sock, int want)
{
    sock_t *s = &g->socks[sock];
    int64_t now = dmpb_now_ns();
    int n = 0;
    while (n < want) {
        struct io_uring_sqe *sqe = uring_sqe(g->u);
        if (!sqe)
            break;
        int64_t si = dmpb_e_take_slot(g, s, now);
        if (si < 0) {
            io_uring_prep_nop(sqe);
            io_uring_sqe_set_data64(sqe, 0);
            break;
        }
        uint8_t *q = g->u->sbuf[sock] + (size_t)si * DMPB_QBUF;
        size_t ql =
            dmpb_e_build_query(q, g->c.names, s->slots[si].name, s->slots[si].id, g->c.edns);
        io_uring_prep_send(sqe, s->fd, q, ql, 0);
        io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, sock, (uint64_t)si << 16 | s->slots[si].id));
        n++;
    }
    return n;
}

/* Submits what is prepared, waits up to 1 ms for a completion if `may_wait`, and handles every
 * completion that is ready. Returns the number handled. */
int dmpb_e_uring_pump(dmpb_gen_t *g, bool may_wait)
{
    uring_t *u = g->u;
    struct io_uring_cqe *cqes[256];
    io_uring_submit(&u->ring);
    unsigned n = io_uring_peek_batch_cqe(&u->ring, cqes, 256);
    if (n == 0 && may_wait) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        struct io_uring_cqe *c;
        if (io_uring_wait_cqe_timeout(&u->ring, &c, &ts) == 0)
            n = io_uring_peek_batch_cqe(&u->ring, cqes, 256);
    }
    int64_t now = dmpb_now_ns();
    for (unsigned i = 0; i < n; i++) {
        uint64_t ud = io_uring_cqe_get_data64(cqes[i]);
        int res = cqes[i]->res;
        unsigned type = (unsigned)(ud >> 60), sock = (unsigned)(ud >> 40) & 0xfffff;
        if (ud == 0 || sock >= DMPB_MAX_SOCKETS)
            continue;
        sock_t *s = &g->socks[sock];
        if (type == UD_RECV) {
            uint32_t b = (uint32_t)(ud & 0xffffffffffULL);
            if (res > 0)
                dmpb_e_handle_reply(g, s, s->rbuf + (size_t)b * DMPB_RBUF, (size_t)res, now);
            if (res != -ECANCELED)
                (void)uring_arm_recv(u, s, sock, b);
        } else if (type == UD_SEND && res < 0) {
            uint32_t si = (uint32_t)(ud >> 16) & 0xffffff;
            uint16_t id = (uint16_t)ud;
            if (res != -ECONNREFUSED && res != -EAGAIN && res != -ENOBUFS)
                g->st->send_errors++;
            if (si < s->nslots && s->slots[si].sent_ns != 0 && s->slots[si].id == id)
                dmpb_e_unsend(g, s, si);
        }
    }
    io_uring_cq_advance(&u->ring, n);
    return (int)n;
}
