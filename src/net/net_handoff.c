/* net: the hand-off between a frontend and its shards: the frontend's request pool, routing by
 * name hash, batched pushes onto the frontend->shard rings (one eventfd signal per ring that
 * goes from empty to non-empty), and the in-flight accounting that keeps every ring from
 * overflowing. */
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

req_t *dmp_net_udp_req_get(fe_t *fe)
{
    req_t *r = fe->pool;
    if (r) {
        fe->pool = r->next;
        return r;
    }
    if (fe->nall == fe->capall) {
        size_t nc = fe->capall ? fe->capall * 2 : 256;
        req_t **na = realloc(fe->all, nc * sizeof *na);
        if (!na) {
            return NULL;
        }
        fe->all = na;
        fe->capall = nc;
    }
    r = malloc(fe->req_size);
    if (!r) {
        return NULL;
    }
    fe->all[fe->nall++] = r;
    return r;
}

void dmp_net_udp_req_put(fe_t *fe, req_t *r)
{
    r->next = fe->pool;
    fe->pool = r;
}

unsigned dmp_net_pick_shard(fe_t *fe, const uint8_t *pkt, size_t len)
{
    dmp_net_t *n = fe->net;
    if (!n->h.route) {
        return 0;
    }
    int s = n->h.route(n->h.ctx, pkt, len, n->S);
    return (s < 0 || (unsigned)s >= n->S) ? 0 : (unsigned)s;
}

void dmp_net_fe_enqueue(fe_t *fe, unsigned s, req_t *r)
{
    r->shard = s;
    fe->inflight[s]++;
    fe->pend[s][fe->npend[s]++] = r;
}

void dmp_net_fe_flush(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    for (unsigned s = 0; s < n->S; s++) {
        unsigned k = fe->npend[s];
        if (!k) {
            continue;
        }
        bool was_empty = false;
        /* cannot fall short: at most ring_capacity reqs are in flight per shard */
        size_t pushed = dmp_net_spsc_push(&n->fwd[fe->idx * n->S + s], (void *const *)fe->pend[s],
                                          k, &was_empty);
        if (pushed < k) { /* defensive; keep the rest for the next flush */
            memmove(fe->pend[s], fe->pend[s] + pushed, (k - pushed) * sizeof(req_t *));
        }
        fe->npend[s] = (unsigned)(k - pushed);
        if (was_empty) {
            efd_signal(n->sh[s].efd);
        }
    }
}

bool dmp_net_fe_replies_quiet(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    for (unsigned s = 0; s < n->S; s++) {
        if (!dmp_net_spsc_quiet(&n->rep[s * n->F + fe->idx])) {
            return false;
        }
    }
    return true;
}

static unsigned fe_inflight_total(fe_t *fe)
{
    unsigned t = 0;
    for (unsigned s = 0; s < fe->net->S; s++) {
        t += fe->inflight[s];
    }
    return t;
}

/* Work that must finish before a stopping frontend exits. */
bool dmp_net_fe_busy(fe_t *fe)
{
    if (fe_inflight_total(fe) || fe->sends_out) {
        return true;
    }
    for (unsigned ci = 0; ci < fe->net->cfg.tcp_max_conns; ci++) {
        if (fe->conns[ci].open && fe->conns[ci].t.wq_head) {
            return true;
        }
    }
    return false;
}

/* Once stop is requested: true when the frontend has nothing in flight, or STOP_DRAIN_MS after
 * the request (*deadline, 0 until then, is set on the first call). */
bool dmp_net_fe_drained(fe_t *fe, int64_t *deadline)
{
    if (!*deadline)
        *deadline = net_now_ms() + STOP_DRAIN_MS;
    return !dmp_net_fe_busy(fe) || net_now_ms() > *deadline;
}
