/* net: the frontend's query path, stage by stage: a received datagram is admitted and copied
 * into a request (dmp_net_udp_ingest), queued for its shard (dmp_net_fe_enqueue) and pushed in
 * batches (dmp_net_fe_flush); replies come back from the shards (dmp_net_fe_drain_replies) and go
 * out (dmp_net_udp_send, or the TCP connection's write queue). dmp_net_fe_main picks the I/O
 * backend (net_uring.c or net_mmsg.c). */
#include "net/net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

/* Queues r for shard s (flushed in batches by dmp_net_fe_flush). Caller checked inflight. */
/* Reads a pktinfo control message (bounded by end) into d. */
void dmp_net_cmsg_dst(const struct cmsghdr *c, const uint8_t *end, udst_t *d)
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
void dmp_net_udp_ingest(fe_t *fe, unsigned sock, const uint8_t *pkt, size_t len,
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
    req_t *r = dmp_net_udp_req_get(fe);
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
            dmp_net_udp_req_put(fe, r);
            return;
        }
        r->out_len = ol;
        dmp_net_udp_send(fe, r);
        return;
    }
    if (n->h.frontend_answer) {
        dmp_net_query_t q = {.pkt = r->data,
                             .len = len,
                             .transport = DMP_NET_UDP,
                             .peer = (const struct sockaddr *)&r->peer,
                             .peer_len = peer_len,
                             .frontend = fe->idx};
        size_t ol = 0;
        uint8_t *out = r->data + n->cfg.udp_max_payload;
        if (n->h.frontend_answer(n->h.ctx, fe->idx, &q, out, n->cfg.udp_reply_cap, &ol)) {
            CINC(fe->c.frontend_answered, 1);
            if (ol == 0 || ol > n->cfg.udp_reply_cap) {
                dmp_net_udp_req_put(fe, r);
                return;
            }
            r->out_len = ol;
            dmp_net_udp_send(fe, r);
            return;
        }
    }
    unsigned s = dmp_net_pick_shard(fe, r->data, len);
    if (fe->inflight[s] >= n->cfg.ring_capacity) {
        CINC(fe->c.ring_full_drops, 1);
        dmp_net_udp_req_put(fe, r);
        return;
    }
    dmp_net_fe_enqueue(fe, s, r);
}

/* ---- replies back from shards ---- */

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
        dmp_net_udp_req_put(fe, fe->sm_req[i]);
    }
    fe->nsm = 0;
}

_Static_assert(SEND_FLUSH <= BATCH, "the sendmmsg arrays hold BATCH replies");

bool dmp_net_send_due(unsigned queued, int64_t waited_ns)
{
    return queued >= SEND_FLUSH || (queued > 0 && waited_ns >= SEND_FLUSH_NS);
}

/* Sends r's reply (r->out_len > 0) and recycles r when done. */
void dmp_net_udp_send(fe_t *fe, req_t *r)
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
        struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
        if (!sqe) {
            CINC(fe->c.udp_dropped, 1);
            dmp_net_udp_req_put(fe, r);
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
        /* Replies answered on the frontend are made while a batch of receive completions is
         * being worked through: submit every SEND_FLUSH of them, or once the oldest waited
         * SEND_FLUSH_NS (misses read from the store take ~10 µs each), rather than after
         * the whole batch (up to 256), so the first answer of a burst does not wait for the
         * last. */
        int64_t now = dmp_monotonic_ns();
        if (fe->sends_unsubmitted++ == 0) {
            fe->sends_first_ns = now;
        }
        if (dmp_net_send_due(fe->sends_unsubmitted, now - fe->sends_first_ns)) {
            (void)io_uring_submit(&fe->ring);
            fe->sends_unsubmitted = 0;
        }
        return;
    }
    int fd = fe->udp_fd[r->sock];
    int64_t now = dmp_monotonic_ns();
    if ((fe->nsm && fe->sm_fd != fd) || dmp_net_send_due(fe->nsm, now - fe->sends_first_ns)) {
        udp_send_mmsg_flush(fe);
    }
    if (fe->nsm == 0) {
        fe->sends_first_ns = now;
    }
    fe->sm_fd = fd;
    memset(&fe->sm[fe->nsm], 0, sizeof fe->sm[0]);
    fe->sm[fe->nsm].msg_hdr = r->msg;
    fe->sm_req[fe->nsm++] = r;
}

/* Pops every reply waiting from the shards. Returns how many. */
size_t dmp_net_fe_drain_replies(fe_t *fe)
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
                    dmp_net_tcp_reply(fe, r);
                } else if (r->out_len) {
                    dmp_net_udp_send(fe, r);
                } else {
                    dmp_net_udp_req_put(fe, r);
                }
            }
        }
    }
    if (!fe->use_uring) {
        udp_send_mmsg_flush(fe);
    }
    dmp_net_tcp_flush_dirty(fe);
    return total;
}
