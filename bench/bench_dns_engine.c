/* dnsmesh-bench: the DNS load engine behind `dns` and `dmp`.
 *
 * One thread drives several connected UDP sockets with sendmmsg/recvmmsg batches (or one
 * io_uring, or pipelining TCP connections), keeping at most `window` queries outstanding in
 * total. Every query gets a random ID that is unique among its socket's outstanding queries; a
 * reply counts only if its ID is outstanding on that socket and its question echoes the name
 * and type sent (case-insensitively). Latency runs from the clock read just before the send
 * that carried the query to the clock read just after the receive that returned its answer.
 * Unanswered queries are written off as lost after timeout_ms.
 *
 * A UDP answer with TC=1 is retried over one extra pipelining TCP connection (when tc_retry
 * is on); the query then counts once, answered when the TCP answer comes, its latency from the
 * first UDP send. Every answer is checked against the expected records (bench_dns_expect.c). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_dns_engine.h"

#define SCAN_NS 20000000LL

static void expire(dmpb_gen_t *g, sock_t *s, int64_t now, int64_t timeout_ns)
{
    for (uint32_t i = 0; i < s->nslots; i++)
        if (s->slots[i].sent_ns != 0 && now - s->slots[i].sent_ns > timeout_ns)
            dmpb_e_count_lost(g, s, i);
}

static int sock_setup(sock_t *s, uint32_t nslots, int batch, bool tcp, bool connect_now,
                      const struct sockaddr_storage *ss, socklen_t sslen)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->tcp = tcp;
    if (connect_now && dmpb_e_sock_connect(s, ss, sslen) != 0)
        return -1;
    if (tcp) {
        s->out = malloc((size_t)batch * (DMPB_QBUF + 2));
        s->in = malloc(TCP_IN_CAP);
        if (!s->out || !s->in) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
    }
    s->nslots = nslots;
    s->slots = calloc(nslots, sizeof(*s->slots));
    s->free = calloc(nslots, sizeof(*s->free));
    s->id_map = calloc(65536, sizeof(*s->id_map));
    s->qbuf = malloc((size_t)batch * DMPB_QBUF);
    s->rbuf = malloc((size_t)batch * DMPB_RBUF);
    s->pend = calloc((size_t)batch, sizeof(*s->pend));
    if (!s->slots || !s->free || !s->id_map || !s->qbuf || !s->rbuf || !s->pend) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    for (uint32_t i = 0; i < nslots; i++)
        s->free[i] = nslots - 1 - i;
    s->nfree = nslots;
    return 0;
}

static void sock_close(sock_t *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    free(s->out);
    free(s->in);
    free(s->slots);
    free(s->free);
    free(s->id_map);
    free(s->qbuf);
    free(s->rbuf);
    free(s->pend);
}

/* Fills up to `want` free slots of `s` with queries and sends them in one sendmmsg. Queries the
 * kernel did not take are not counted as sent (their slots go back to the free list). */
static int send_batch(dmpb_gen_t *g, sock_t *s, int want)
{
    struct mmsghdr msgs[DMPB_MAX_BATCH];
    struct iovec iov[DMPB_MAX_BATCH];
    int n = 0;
    int64_t now = dmpb_now_ns();
    while (n < want) {
        int64_t si = dmpb_e_take_slot(g, s, now);
        if (si < 0)
            break;
        s->pend[n] = (uint32_t)si;
        uint8_t *q = s->qbuf + (size_t)n * DMPB_QBUF;
        iov[n].iov_base = q;
        iov[n].iov_len =
            dmpb_e_build_query(q, g->c.names, s->slots[si].name, s->slots[si].id, g->c.edns);
        memset(&msgs[n], 0, sizeof(msgs[n]));
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        n++;
    }
    if (n == 0)
        return 0;
    int r = sendmmsg(s->fd, msgs, (unsigned)n, 0);
    if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != ECONNREFUSED)
            g->st->send_errors++;
        r = 0;
    }
    for (int i = r; i < n; i++)
        dmpb_e_unsend(g, s, s->pend[i]);
    return r;
}

/* Drains up to a few batches from `s`; returns the number of datagrams received. */
static int recv_batch(dmpb_gen_t *g, sock_t *s, int batch)
{
    struct mmsghdr msgs[DMPB_MAX_BATCH];
    struct iovec iov[DMPB_MAX_BATCH];
    int total = 0;
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < batch; i++) {
            iov[i].iov_base = s->rbuf + (size_t)i * DMPB_RBUF;
            iov[i].iov_len = DMPB_RBUF;
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int r = recvmmsg(s->fd, msgs, (unsigned)batch, MSG_DONTWAIT, NULL);
        if (r <= 0)
            break;
        int64_t now = dmpb_now_ns();
        for (int i = 0; i < r; i++) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                g->st->malformed++;
                continue;
            }
            dmpb_e_handle_reply(g, s, s->rbuf + (size_t)i * DMPB_RBUF, msgs[i].msg_len, now);
        }
        total += r;
        if (r < batch)
            break;
    }
    return total;
}

/* --- lifecycle and the run loop -----------------------------------------------------------------
 */

int dmpb_gen_new(const dmpb_gen_cfg_t *cfg, dmpb_gen_t **out)
{
    dmpb_gen_t *g = calloc(1, sizeof(*g));
    if (!g)
        return -1;
    g->c = *cfg;
    g->nsock = cfg->sockets;
    for (int i = 0; i < DMPB_MAX_SOCKETS; i++)
        g->socks[i].fd = -1;
    g->rs.fd = -1;
    g->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)dmpb_now_ns();
    *out = g;
    for (int i = 0; i < g->nsock; i++) {
        uint32_t share = (uint32_t)(cfg->window / g->nsock + (i < cfg->window % g->nsock ? 1 : 0));
        if (sock_setup(&g->socks[i], share, cfg->batch, cfg->tcp, true, &cfg->target,
                       cfg->target_len) != 0)
            return -1;
    }
    if (cfg->tc_retry && !cfg->tcp) {
        g->rq = calloc(RETRY_SLOTS, sizeof(*g->rq));
        if (!g->rq || sock_setup(&g->rs, RETRY_SLOTS, cfg->batch, true, false, &cfg->target,
                                 cfg->target_len) != 0)
            return -1;
        g->rs.retry = true;
    }
    if (cfg->uring) {
        g->u = calloc(1, sizeof(*g->u));
        if (!g->u || dmpb_e_uring_init(g) != 0)
            return -1;
    }
    return 0;
}

void dmpb_gen_free(dmpb_gen_t *g)
{
    if (!g)
        return;
    if (g->u) {
        if (g->u->inited) /* cancels everything in flight before the buffers go */
            io_uring_queue_exit(&g->u->ring);
        for (int i = 0; i < g->nsock; i++)
            free(g->u->sbuf[i]);
        free(g->u);
    }
    for (int i = 0; i < g->nsock; i++)
        sock_close(&g->socks[i]);
    if (g->rq)
        sock_close(&g->rs);
    free(g->rq);
    free(g);
}

static uint64_t outstanding(const dmpb_gen_t *g)
{
    uint64_t out = g->rq_len;
    for (int i = 0; i < g->nsock; i++)
        out += g->socks[i].nslots - g->socks[i].nfree;
    if (g->rq)
        out += g->rs.nslots - g->rs.nfree;
    return out;
}

int dmpb_gen_run(dmpb_gen_t *g, double duration, int64_t max_queries, double rate, bool progress,
                 void (*tick)(void *ctx, int64_t now), dmpb_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    g->st = st;
    int64_t timeout_ns = g->c.timeout_ms * 1000000LL;
    st->t_start = dmpb_now_ns();
    int64_t t_end = st->t_start + (int64_t)(duration * 1e9);
    int64_t next_scan = st->t_start + SCAN_NS, next_progress = st->t_start + 1000000000LL;
    int64_t next_tick = st->t_start;
    uint64_t last_answered = 0;
    bool sending = true;
    int64_t drain_end = 0;
    struct pollfd pfd[DMPB_MAX_SOCKETS + 1];
    for (;;) {
        int64_t now = dmpb_now_ns();
        if (sending && (now >= t_end || st->sent >= (uint64_t)max_queries || dmpb_stop)) {
            sending = false;
            st->t_send_end = now;
            drain_end = now + timeout_ns;
        }
        if (!sending && (outstanding(g) == 0 || now >= drain_end))
            break;
        if (tick && now >= next_tick) {
            tick(g->c.ctx, now);
            next_tick = now + 10000000LL;
        }
        if (g->c.sync)
            g->c.sync(g->c.ctx);
        int prog = 0;
        for (int i = 0; sending && i < g->nsock; i++) {
            int64_t want = g->c.batch, budget = max_queries - (int64_t)st->sent;
            if (want > budget)
                want = budget;
            if (rate > 0) {
                int64_t allowed =
                    (int64_t)(rate * (double)(now - st->t_start) / 1e9) - (int64_t)st->sent;
                if (want > allowed)
                    want = allowed;
            }
            if (want <= 0)
                break;
            if (g->u)
                prog += dmpb_e_uring_send(g, (unsigned)i, (int)want);
            else
                prog += g->c.tcp ? dmpb_e_tcp_send_batch(g, &g->socks[i], (int)want)
                                 : send_batch(g, &g->socks[i], (int)want);
        }
        if (g->rq)
            prog += dmpb_e_tcp_send_batch(g, &g->rs, g->c.batch) + dmpb_e_tcp_recv(g, &g->rs);
        if (g->u) {
            int got = dmpb_e_uring_pump(g, prog == 0);
            prog += got > 0 ? got : 1; /* the pump already waited */
        } else {
            for (int i = 0; i < g->nsock; i++)
                prog += g->c.tcp ? dmpb_e_tcp_recv(g, &g->socks[i])
                                 : recv_batch(g, &g->socks[i], g->c.batch);
        }
        if (now >= next_scan) {
            for (int i = 0; i < g->nsock; i++)
                expire(g, &g->socks[i], now, timeout_ns);
            if (g->rq) {
                expire(g, &g->rs, now, timeout_ns);
                while (g->rq_len > 0 && now - g->rq[g->rq_head].sent_ns > timeout_ns) {
                    st->lost++;
                    st->tcp_retry_lost++;
                    st->kind[g->rq[g->rq_head].kind].lost++;
                    g->rq_head = (g->rq_head + 1) % RETRY_SLOTS;
                    g->rq_len--;
                }
            }
            next_scan = now + SCAN_NS;
        }
        if (progress && now >= next_progress) {
            fprintf(stderr, "\r%6.1f s  %llu answered/s   ", (double)(now - st->t_start) / 1e9,
                    (unsigned long long)(st->answered - last_answered));
            last_answered = st->answered;
            next_progress += 1000000000LL;
        }
        if (prog == 0) {
            int np = 0;
            for (int i = 0; i < g->nsock; i++)
                pfd[np++] = (struct pollfd){
                    .fd = g->socks[i].fd,
                    .events = (short)(POLLIN | (g->socks[i].out_len ? POLLOUT : 0))};
            if (g->rq && g->rs.fd >= 0)
                pfd[np++] = (struct pollfd){.fd = g->rs.fd, .events = POLLIN};
            (void)poll(pfd, (nfds_t)np, 1);
        }
    }
    if (progress)
        fprintf(stderr, "\n");
    /* Whatever is still outstanding after the drain is lost. */
    for (int i = 0; i < g->nsock; i++)
        for (uint32_t k = 0; k < g->socks[i].nslots; k++)
            if (g->socks[i].slots[k].sent_ns != 0)
                dmpb_e_count_lost(g, &g->socks[i], k);
    if (g->rq) {
        for (uint32_t k = 0; k < g->rs.nslots; k++)
            if (g->rs.slots[k].sent_ns != 0)
                dmpb_e_count_lost(g, &g->rs, k);
        while (g->rq_len > 0) {
            st->lost++;
            st->tcp_retry_lost++;
            st->kind[g->rq[g->rq_head].kind].lost++;
            g->rq_head = (g->rq_head + 1) % RETRY_SLOTS;
            g->rq_len--;
        }
    }
    if (st->t_send_end == 0)
        st->t_send_end = dmpb_now_ns();
    g->st = NULL;
    return 0;
}
