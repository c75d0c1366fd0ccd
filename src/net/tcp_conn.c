/* net: one TCP connection's state machine (see tcp_conn.h): framing with a pipelining cap,
 * replies queued in order, timers on an injected clock, per-source admission. No I/O here. */
#include "net/tcp_conn.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "util/util.h"

void dmp_net_tconn_open(dmp_net_tconn_t *t, const struct sockaddr_storage *peer, socklen_t peer_len,
                        int64_t now)
{
    t->rd_closed = t->rd_paused = false;
    t->pending = 0;
    t->wq_count = 0;
    t->rlen = 0;
    t->last_ms = now;
    t->msg_start_ms = 0;
    t->wq_since_ms = 0;
    if (peer_len > sizeof t->peer) {
        peer_len = sizeof t->peer;
    }
    memcpy(&t->peer, peer, peer_len);
    t->peer_len = peer_len;
}

void dmp_net_tconn_release(dmp_net_tconn_t *t)
{
    free(t->rbuf);
    t->rbuf = NULL;
    t->rlen = t->rcap = 0;
    for (wbuf_t *w = t->wq_head; w;) {
        wbuf_t *nx = w->next;
        free(w);
        w = nx;
    }
    t->wq_head = t->wq_tail = NULL;
    t->wq_count = 0;
}

int dmp_net_tconn_read_room(dmp_net_tconn_t *t, uint8_t **at, size_t *room)
{
    /* room for the whole message being read: its length prefix, then its body */
    size_t need = t->rlen < 2 ? 2 : 2 + (size_t)dmp_load_u16be(t->rbuf);
    if (need < DMP_NET_TCONN_RBUF_MIN) {
        need = DMP_NET_TCONN_RBUF_MIN;
    }
    if (t->rcap < need) {
        uint8_t *nb = realloc(t->rbuf, need);
        if (!nb) {
            return DMP_ENOMEM;
        }
        t->rbuf = nb;
        t->rcap = need;
    }
    *at = t->rbuf + t->rlen;
    *room = t->rcap - t->rlen;
    return 0;
}

void dmp_net_tconn_bytes_in(dmp_net_tconn_t *t, size_t n, int64_t now)
{
    if (n == 0) {
        return;
    }
    if (t->rlen == 0) {
        t->msg_start_ms = now; /* not refreshed by later bytes (slowloris) */
    }
    t->rlen += n;
}

dmp_net_tconn_parse_t dmp_net_tconn_parse(dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim,
                                          int64_t now, dmp_net_tconn_query_fn fn, void *ctx,
                                          bool *pause_changed)
{
    if (pause_changed) {
        *pause_changed = false;
    }
    size_t off = 0;
    while (t->rlen - off >= 2) {
        if (t->pending + t->wq_count >= lim->max_pipelined) {
            break;
        }
        size_t l = 0;
        dmp_net_frame_t fr = dmp_net_frame_next(t->rbuf + off, t->rlen - off, lim->max_query, &l);
        if (fr == DMP_NET_FRAME_BAD) {
            return DMP_NET_TCONN_BAD_LENGTH;
        }
        if (fr == DMP_NET_FRAME_MORE) {
            break;
        }
        const uint8_t *msg = t->rbuf + off + 2;
        off += 2 + l;
        dmp_net_tconn_verdict_t v = fn(ctx, t, msg, l);
        if (v == DMP_NET_TCONN_DROP) {
            return DMP_NET_TCONN_DROPPED;
        }
        if (v == DMP_NET_TCONN_TAKE) {
            t->pending++;
        }
    }
    if (off) {
        memmove(t->rbuf, t->rbuf + off, t->rlen - off);
        t->rlen -= off;
        /* complete queries: activity; what is left is a new message with its own clock */
        t->last_ms = now;
        t->msg_start_ms = t->rlen ? now : 0;
    }
    /* a client that sends but does not read stops being read: replies cannot pile up */
    bool paused = t->pending + t->wq_count >= lim->max_pipelined;
    if (paused != t->rd_paused) {
        t->rd_paused = paused;
        if (pause_changed) {
            *pause_changed = true;
        }
    }
    return DMP_NET_TCONN_OK;
}

void dmp_net_tconn_reply(dmp_net_tconn_t *t, wbuf_t *w, int64_t now)
{
    if (t->pending > 0) {
        t->pending--;
    }
    t->last_ms = now;
    if (!w) {
        return;
    }
    w->next = NULL;
    if (t->wq_tail) {
        t->wq_tail->next = w;
    } else {
        t->wq_head = w;
        t->wq_since_ms = now;
    }
    t->wq_tail = w;
    t->wq_count++;
}

int dmp_net_tconn_write_iov(const dmp_net_tconn_t *t, struct iovec *iov, int max)
{
    int k = 0;
    for (const wbuf_t *w = t->wq_head; w && k < max; w = w->next, k++) {
        iov[k].iov_base = (void *)(w->data + w->off);
        iov[k].iov_len = w->len - w->off;
    }
    return k;
}

void dmp_net_tconn_wrote(dmp_net_tconn_t *t, size_t n, int64_t now)
{
    size_t left = n;
    while (t->wq_head && left >= t->wq_head->len - t->wq_head->off) {
        wbuf_t *w = t->wq_head;
        left -= w->len - w->off;
        t->wq_head = w->next;
        t->wq_count--;
        free(w);
        /* a reply taken whole: activity, and the next one starts its own clock */
        t->last_ms = t->wq_since_ms = now;
    }
    if (!t->wq_head) {
        t->wq_tail = NULL;
    } else {
        t->wq_head->off += left;
    }
}

void dmp_net_tconn_peer_closed(dmp_net_tconn_t *t)
{
    t->rd_closed = true;
}

bool dmp_net_tconn_finished(const dmp_net_tconn_t *t)
{
    return t->rd_closed && t->pending == 0 && !t->wq_head;
}

bool dmp_net_tconn_can_resume(const dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim)
{
    return t->rd_paused && t->pending + t->wq_count < lim->max_pipelined;
}

bool dmp_net_tconn_expired(const dmp_net_tconn_t *t, const dmp_net_tconn_limits_t *lim, int64_t now)
{
    if (t->pending > 0) {
        return false; /* a shard owes it a reply */
    }
    /* RFC 7766 6.2.3: idle since the last complete query or reply (bytes of a partial message
     * do not count, or one byte every few seconds would hold the slot for ever); a query that
     * takes too long to arrive or a reply that takes too long to be read (slow read) closes */
    bool idle_out = now - t->last_ms >= lim->idle_ms;
    bool slow_in = t->rlen > 0 && t->msg_start_ms && now - t->msg_start_ms >= lim->msg_ms;
    bool slow_out = t->wq_head && now - t->wq_since_ms >= lim->msg_ms;
    return idle_out || slow_in || slow_out;
}

bool dmp_net_tconn_same_source(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
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

/* The open connection idle longest (nothing pending or queued), among only's source when only
 * is set; UINT32_MAX when every one is busy. */
static unsigned idlest(dmp_net_tconn_slot_fn slot, void *ctx, unsigned n,
                       const struct sockaddr_storage *only)
{
    unsigned victim = UINT32_MAX;
    int64_t oldest = INT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        const dmp_net_tconn_t *t = slot(ctx, i);
        if (t && t->pending == 0 && !t->wq_head && t->last_ms < oldest &&
            (!only || dmp_net_tconn_same_source(&t->peer, only))) {
            oldest = t->last_ms;
            victim = i;
        }
    }
    return victim;
}

dmp_net_tconn_admit_t dmp_net_tconn_admit(dmp_net_tconn_slot_fn slot, void *ctx, unsigned n,
                                          unsigned nfree, const struct sockaddr_storage *peer,
                                          unsigned per_source, unsigned *victim)
{
    *victim = UINT32_MAX;
    /* a linear scan: a few hundred slots per frontend, once per accepted connection */
    unsigned same = 0;
    for (unsigned i = 0; i < n; i++) {
        const dmp_net_tconn_t *t = slot(ctx, i);
        if (t && dmp_net_tconn_same_source(&t->peer, peer)) {
            same++;
        }
    }
    if (same >= per_source) {
        *victim = idlest(slot, ctx, n, peer);
        return *victim == UINT32_MAX ? DMP_NET_TCONN_REJECT_SOURCE : DMP_NET_TCONN_ADMIT_EVICT;
    }
    if (nfree == 0) {
        *victim = idlest(slot, ctx, n, NULL);
        return *victim == UINT32_MAX ? DMP_NET_TCONN_REJECT_FULL : DMP_NET_TCONN_ADMIT_EVICT;
    }
    return DMP_NET_TCONN_ADMIT;
}
