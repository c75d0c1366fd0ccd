/* net: the TCP frontend (RFC 7766): accept, reads, writes and timer sweeps on non-blocking
 * sockets driven by the frontend's epoll set under both backends. Each connection's state
 * (framing, pipelining cap, ordered replies, timeouts, per-source admission) is the socket-free
 * state machine of tcp_conn.c; this file feeds it events. */
#include "net/net_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define EP_TAG_LISTEN 1ULL
#define EP_TAG_CONN 2ULL
#define EP_TAG_UDP 3ULL
#define EP_TAG_EFD 4ULL
#define EP_KEY(tag, i) ((tag) << 32 | (uint64_t)(i))

static dmp_net_tconn_limits_t tcp_limits(const dmp_net_t *n)
{
    dmp_net_tconn_limits_t lim = {.max_query = n->cfg.tcp_max_query,
                                  .max_pipelined = n->cfg.tcp_max_pipelined,
                                  .idle_ms = (int64_t)n->cfg.tcp_idle_timeout_ms,
                                  .msg_ms = (int64_t)n->cfg.tcp_msg_timeout_ms};
    return lim;
}

static void conn_epoll(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    struct epoll_event ev = {0};
    ev.events = (c->t.rd_paused || c->t.rd_closed ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0);
    ev.data.u64 = EP_KEY(EP_TAG_CONN, ci);
    (void)epoll_ctl(fe->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

void dmp_net_conn_close(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    if (!c->open) {
        return;
    }
    if (c->fd >= 0) {
        (void)epoll_ctl(fe->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->open = false;
    c->gen++;
    dmp_net_tconn_release(&c->t);
    fe->conn_free[fe->nconn_free++] = ci;
}

static void conn_flush(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    while (c->t.wq_head) {
        struct iovec iov[BATCH];
        int k = dmp_net_tconn_write_iov(&c->t, iov, BATCH);
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)k};
        ssize_t wr = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (wr < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (errno == EINTR) {
                continue;
            }
            dmp_net_conn_close(fe, ci);
            return;
        }
        dmp_net_tconn_wrote(&c->t, (size_t)wr, net_now_ms());
    }
    bool want = c->t.wq_head != NULL;
    if (want != c->want_out) {
        c->want_out = want;
        conn_epoll(fe, ci);
    }
    if (dmp_net_tconn_finished(&c->t)) {
        dmp_net_conn_close(fe, ci);
    }
}

/* Marks the connection for a flush at the end of the batch. */
static void conn_mark_dirty(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    if (!c->dirty) {
        c->dirty = true;
        fe->dirty[fe->ndirty++] = ci;
    }
}

typedef struct {
    fe_t *fe;
    unsigned ci;
} parse_ctx_t;

/* One complete query of connection pc->ci: admit, takeover, or into a shard. */
static dmp_net_tconn_verdict_t conn_query(void *ctx, dmp_net_tconn_t *t, const uint8_t *pkt,
                                          size_t l)
{
    parse_ctx_t *pc = ctx;
    fe_t *fe = pc->fe;
    dmp_net_t *n = fe->net;
    conn_t *c = &fe->conns[pc->ci];
    CINC(fe->c.tcp_rx, 1);
    if (atomic_load_explicit(&n->fe_stop, memory_order_relaxed)) {
        return DMP_NET_TCONN_SKIP;
    }
    dmp_net_admit_t a = DMP_NET_ADMIT;
    if (n->h.admit) {
        a = n->h.admit(n->h.ctx, fe->idx, (const struct sockaddr *)&t->peer, t->peer_len,
                       DMP_NET_TCP);
    }
    if (a == DMP_NET_DROP) {
        CINC(fe->c.admit_drops, 1);
        return DMP_NET_TCONN_DROP;
    }
    if (n->h.tcp_takeover && t->pending == 0 && t->wq_count == 0 &&
        n->h.tcp_takeover(n->h.ctx, c->fd, (const struct sockaddr *)&t->peer, t->peer_len, pkt,
                          l)) {
        /* the fd is the callee's now: forget it without closing it */
        (void)epoll_ctl(fe->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = -1;
        return DMP_NET_TCONN_DROP;
    }
    unsigned s = dmp_net_pick_shard(fe, pkt, l);
    if (fe->inflight[s] >= n->cfg.ring_capacity) {
        CINC(fe->c.ring_full_drops, 1);
        return DMP_NET_TCONN_DROP;
    }
    req_t *r = malloc(sizeof(req_t) + l);
    if (!r) {
        return DMP_NET_TCONN_DROP;
    }
    r->kind = REQ_TCP;
    r->conn_idx = pc->ci;
    r->conn_gen = c->gen;
    memcpy(&r->peer, &t->peer, t->peer_len);
    r->peer_len = t->peer_len;
    memcpy(r->data, pkt, l);
    r->len = l;
    r->out_len = 0;
    r->wb = NULL;
    dmp_net_fe_enqueue(fe, s, r);
    return DMP_NET_TCONN_TAKE;
}

/* Hands every complete buffered message to a shard (until the pipelining cap). false when the
 * connection was closed. */
static bool conn_parse(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    dmp_net_tconn_limits_t lim = tcp_limits(fe->net);
    parse_ctx_t pc = {fe, ci};
    bool pause_changed = false;
    dmp_net_tconn_parse_t pr =
        dmp_net_tconn_parse(&c->t, &lim, net_now_ms(), conn_query, &pc, &pause_changed);
    if (pr != DMP_NET_TCONN_OK) {
        if (pr == DMP_NET_TCONN_BAD_LENGTH) {
            CINC(fe->c.tcp_bad_length, 1);
        }
        dmp_net_conn_close(fe, ci);
        return false;
    }
    if (pause_changed) {
        conn_epoll(fe, ci);
    }
    return true;
}

static void conn_read(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    for (int rounds = 0; rounds < 16 && c->open && !c->t.rd_paused && !c->t.rd_closed; rounds++) {
        uint8_t *at = NULL;
        size_t space = 0;
        if (dmp_net_tconn_read_room(&c->t, &at, &space) != 0) {
            dmp_net_conn_close(fe, ci);
            return;
        }
        ssize_t rd = recv(c->fd, at, space, MSG_DONTWAIT);
        if (rd < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                dmp_net_conn_close(fe, ci);
            }
            return;
        }
        if (rd == 0) {
            dmp_net_tconn_peer_closed(&c->t);
            if (dmp_net_tconn_finished(&c->t)) {
                dmp_net_conn_close(fe, ci);
            } else {
                conn_epoll(fe, ci);
            }
            return;
        }
        dmp_net_tconn_bytes_in(&c->t, (size_t)rd, net_now_ms());
        if (!conn_parse(fe, ci)) {
            return;
        }
        if ((size_t)rd < space) {
            return; /* drained the socket */
        }
    }
    if (c->open && !c->t.rd_paused && !c->t.rd_closed) {
        fe->tcp_more = true;
    }
}

#define ACCEPT_PAUSE_MS 100

static const dmp_net_tconn_t *conn_slot(void *ctx, unsigned i)
{
    fe_t *fe = ctx;
    return fe->conns[i].open ? &fe->conns[i].t : NULL;
}

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
    fe->accept_resume_ms = net_now_ms() + ACCEPT_PAUSE_MS;
}

/* Called from dmp_net_tcp_sweep: watches the listen sockets again once the pause is over. */
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
                 * listen sockets for a while (dmp_net_tcp_sweep resumes) */
                CINC(fe->c.tcp_accept_errors, 1);
                tcp_accept_pause(fe);
            }
            return;
        }
        if (i == BATCH - 1) {
            fe->tcp_more = true;
        }
        if (atomic_load_explicit(&n->fe_stop, memory_order_relaxed)) {
            CINC(fe->c.tcp_rejected, 1);
            close(fd);
            continue;
        }
        /* a source at its share makes room from its own idle connections, never others' */
        unsigned victim = UINT32_MAX;
        dmp_net_tconn_admit_t ad =
            dmp_net_tconn_admit(conn_slot, fe, n->cfg.tcp_max_conns, fe->nconn_free, &peer,
                                n->cfg.tcp_max_per_source, &victim);
        if (ad == DMP_NET_TCONN_REJECT_SOURCE || ad == DMP_NET_TCONN_REJECT_FULL) {
            if (ad == DMP_NET_TCONN_REJECT_SOURCE) {
                CINC(fe->c.tcp_source_capped, 1);
            } else {
                CINC(fe->c.tcp_rejected, 1);
            }
            close(fd);
            continue;
        }
        if (ad == DMP_NET_TCONN_ADMIT_EVICT) {
            CINC(fe->c.tcp_evicted, 1);
            dmp_net_conn_close(fe, victim);
        }
        unsigned ci = fe->conn_free[--fe->nconn_free];
        conn_t *c = &fe->conns[ci];
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->open = true;
        c->want_out = c->dirty = false;
        dmp_net_tconn_open(&c->t, &peer, pl, net_now_ms());
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

void dmp_net_tcp_sweep(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t now = net_now_ms();
    tcp_accept_maybe_resume(fe, now);
    dmp_net_tconn_limits_t lim = tcp_limits(n);
    for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
        conn_t *c = &fe->conns[ci];
        if (c->open && dmp_net_tconn_expired(&c->t, &lim, now)) {
            CINC(fe->c.tcp_timeouts, 1);
            dmp_net_conn_close(fe, ci);
        }
    }
}

/* TCP reply from a shard: takes r's wbuf, frees r. */
void dmp_net_tcp_reply(fe_t *fe, req_t *r)
{
    conn_t *c = &fe->conns[r->conn_idx];
    wbuf_t *w = r->wb;
    if (c->open && c->gen == r->conn_gen) {
        if (w) {
            CINC(fe->c.tcp_tx, 1);
        }
        dmp_net_tconn_reply(&c->t, w, net_now_ms()); /* takes w */
        conn_mark_dirty(fe, r->conn_idx);
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
    dmp_net_tconn_limits_t lim = tcp_limits(fe->net);
    if (c->open && dmp_net_tconn_can_resume(&c->t, &lim) && conn_parse(fe, ci) && !c->t.rd_paused) {
        conn_read(fe, ci);
    }
}

void dmp_net_tcp_flush_dirty(fe_t *fe)
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

void dmp_net_tcp_event(fe_t *fe, uint64_t key, uint32_t events)
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
    if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->t.rd_closed)) {
        dmp_net_conn_close(fe, i); /* reset, or both directions shut: nothing can be delivered */
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
