/* net: the TCP frontend (RFC 7766): accept, framed reads with a pipelining cap, replies queued
 * in order per connection, idle timeouts. Non-blocking sockets driven by the frontend's epoll
 * set under both backends. */
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

static void conn_epoll(fe_t *fe, unsigned ci)
{
    conn_t *c = &fe->conns[ci];
    struct epoll_event ev = {0};
    ev.events = (c->rd_paused || c->rd_closed ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0);
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
            dmp_net_conn_close(fe, ci);
            return;
        }
        size_t left = (size_t)wr;
        while (c->wq_head && left >= c->wq_head->len - c->wq_head->off) {
            wbuf_t *w = c->wq_head;
            left -= w->len - w->off;
            c->wq_head = w->next;
            c->wq_count--;
            free(w);
            /* a reply taken whole: activity, and the next one starts its own clock */
            c->last_ms = c->wq_since_ms = net_now_ms();
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
        dmp_net_conn_close(fe, ci);
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
            c->wq_since_ms = net_now_ms();
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
        if (n->h.tcp_takeover && c->pending == 0 && c->wq_count == 0 &&
            n->h.tcp_takeover(n->h.ctx, c->fd, (const struct sockaddr *)&c->peer, c->peer_len, pkt,
                              l)) {
            /* the fd is the callee's now: forget it without closing it */
            (void)epoll_ctl(fe->epfd, EPOLL_CTL_DEL, c->fd, NULL);
            c->fd = -1;
            ok = false;
            break;
        }
        unsigned s = dmp_net_pick_shard(fe, pkt, l);
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
        dmp_net_fe_enqueue(fe, s, r);
    }
    if (!ok) {
        dmp_net_conn_close(fe, ci);
        return false;
    }
    if (off) {
        memmove(c->rbuf, c->rbuf + off, c->rlen - off);
        c->rlen -= off;
        /* complete queries: activity; what is left is a new message with its own clock */
        c->last_ms = net_now_ms();
        c->msg_start_ms = c->rlen ? c->last_ms : 0;
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
                dmp_net_conn_close(fe, ci);
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
                dmp_net_conn_close(fe, ci);
            }
            return;
        }
        if (rd == 0) {
            c->rd_closed = true;
            if (conn_finished(c)) {
                dmp_net_conn_close(fe, ci);
            } else {
                conn_epoll(fe, ci);
            }
            return;
        }
        size_t space = c->rcap - c->rlen;
        if (c->rlen == 0) {
            c->msg_start_ms = net_now_ms(); /* not refreshed by later bytes (slowloris) */
        }
        c->rlen += (size_t)rd;
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

/* Same source: the IPv4 address, or the /64 of an IPv6 address (one host's usual share). */
static bool same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        return false;
    }
    if (a->ss_family == AF_INET) {
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 8) == 0;
    }
    return false;
}

/* Open connections of this frontend from peer's source (a linear scan: tcp_max_conns is a few
 * hundred per frontend and this runs once per accepted connection). */
static unsigned source_count(fe_t *fe, const struct sockaddr_storage *peer)
{
    unsigned k = 0;
    for (unsigned ci = 0; ci < fe->net->cfg.tcp_max_conns; ci++) {
        if (fe->conns[ci].open && same_source(&fe->conns[ci].peer, peer)) {
            k++;
        }
    }
    return k;
}

/* Full table (or a source at its share, when only is set: then among that source's own
 * connections): closes the connection that has waited longest without a query in a shard or a
 * reply to write (RFC 7766 6.2.3 lets a server close idle connections under pressure), so held
 * connections can never lock new clients out. false when every connection is busy. */
static bool evict_idlest(fe_t *fe, const struct sockaddr_storage *only)
{
    unsigned victim = UINT32_MAX;
    int64_t oldest = INT64_MAX;
    for (unsigned ci = 0; ci < fe->net->cfg.tcp_max_conns; ci++) {
        conn_t *c = &fe->conns[ci];
        if (c->open && c->pending == 0 && !c->wq_head && c->last_ms < oldest &&
            (!only || same_source(&c->peer, only))) {
            oldest = c->last_ms;
            victim = ci;
        }
    }
    if (victim == UINT32_MAX) {
        return false;
    }
    CINC(fe->c.tcp_evicted, 1);
    dmp_net_conn_close(fe, victim);
    return true;
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
        if (source_count(fe, &peer) >= n->cfg.tcp_max_per_source && !evict_idlest(fe, &peer)) {
            CINC(fe->c.tcp_source_capped, 1);
            close(fd);
            continue;
        }
        if (fe->nconn_free == 0 && !evict_idlest(fe, NULL)) {
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
        c->last_ms = net_now_ms();
        c->msg_start_ms = 0;
        c->wq_since_ms = 0;
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

void dmp_net_tcp_sweep(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t now = net_now_ms();
    tcp_accept_maybe_resume(fe, now);
    int64_t idle = (int64_t)n->cfg.tcp_idle_timeout_ms, msg = (int64_t)n->cfg.tcp_msg_timeout_ms;
    for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
        conn_t *c = &fe->conns[ci];
        if (!c->open || c->pending > 0) {
            continue; /* a shard owes it a reply */
        }
        /* RFC 7766 6.2.3: idle since the last complete query or reply (bytes of a partial
         * message do not count, or one byte every few seconds would hold the slot for ever);
         * a query that takes too long to arrive or a reply that takes too long to be read
         * (slow read) closes too */
        bool idle_out = now - c->last_ms >= idle;
        bool slow_in = c->rlen > 0 && c->msg_start_ms && now - c->msg_start_ms >= msg;
        bool slow_out = c->wq_head && now - c->wq_since_ms >= msg;
        if (idle_out || slow_in || slow_out) {
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
        c->pending--;
        c->last_ms = net_now_ms();
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
    if ((events & EPOLLERR) || ((events & EPOLLHUP) && c->rd_closed)) {
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
