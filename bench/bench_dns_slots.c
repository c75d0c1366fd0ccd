/* dnsmesh-bench: the DNS load engine's query slots: building a query, taking and freeing a slot,
 * matching a reply to its outstanding query and checking it (bench_dns_expect.c), writing a query
 * off as lost, and opening a socket. Used by the run loop and UDP batches (bench_dns_engine.c)
 * and the TCP and io_uring paths (bench_dns_io.c); calls neither. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_dns_engine.h"

size_t dmpb_e_build_query(uint8_t *q, const dmpb_names_t *nm, uint32_t name, uint16_t id, int edns)
{
    size_t nl = nm->off[name + 1] - nm->off[name];
    uint16_t qt = nm->qtype[name];
    memset(q, 0, 12);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    q[5] = 1; /* QUERY, RD=0: these are authoritative servers */
    memcpy(q + 12, nm->wire + nm->off[name], nl);
    size_t p = 12 + nl;
    q[p++] = (uint8_t)(qt >> 8);
    q[p++] = (uint8_t)qt;
    q[p++] = 0;
    q[p++] = 1;
    if (edns) {
        q[11] = 1;
        q[p++] = 0; /* root owner */
        q[p++] = 0;
        q[p++] = 41; /* OPT */
        q[p++] = (uint8_t)(edns >> 8);
        q[p++] = (uint8_t)edns;
        memset(q + p, 0, 6); /* ext-rcode, version, flags, rdlen */
        p += 6;
    }
    return p;
}

void dmpb_e_slot_free(sock_t *s, uint32_t si)
{
    s->id_map[s->slots[si].id] = 0;
    s->slots[si].sent_ns = 0;
    s->free[s->nfree++] = si;
}

void dmpb_e_count_lost(dmpb_gen_t *g, sock_t *s, uint32_t si)
{
    g->st->lost++;
    g->st->kind[s->slots[si].kind].lost++;
    if (s->retry)
        g->st->tcp_retry_lost++;
    dmpb_e_slot_free(s, si);
}

/* A query the kernel did not take: it was not sent after all. */
void dmpb_e_unsend(dmpb_gen_t *g, sock_t *s, uint32_t si)
{
    if (g->st->sent > 0)
        g->st->sent--;
    if (g->st->kind[s->slots[si].kind].sent > 0)
        g->st->kind[s->slots[si].kind].sent--;
    dmpb_e_slot_free(s, si);
}

static void show_wrong(dmpb_gen_t *g, uint32_t name, int outcome, const uint8_t *r)
{
    if (g->st->wrong_shown >= (uint32_t)g->c.show_wrong)
        return;
    g->st->wrong_shown++;
    char buf[300], tb[8];
    fprintf(stderr, "wrong answer (%s): %s %s -> %s, %u answers\n", dmpb_outcome_names[outcome],
            dmpb_name_text(g->c.names, name, buf, sizeof(buf)),
            dmpb_qtype_name(g->c.names->qtype[name], tb), dmpb_rcode_names[r[3] & 0x0f],
            (unsigned)(r[6] << 8 | r[7]));
}

/* Matches one reply against the socket's outstanding queries and records it. */
void dmpb_e_handle_reply(dmpb_gen_t *g, sock_t *s, const uint8_t *r, size_t len, int64_t now)
{
    dmpb_stats_t *st = g->st;
    const dmpb_names_t *nm = g->c.names;
    if (len < 12 || !(r[2] & 0x80)) {
        st->malformed++;
        return;
    }
    uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
    uint32_t m = s->id_map[id];
    if (m == 0) {
        st->late++;
        return;
    }
    uint32_t si = m - 1;
    slot_t *sl = &s->slots[si];
    /* The question must echo the name and type sent (case-insensitively, for 0x20 servers). */
    size_t nl = nm->off[sl->name + 1] - nm->off[sl->name];
    const uint8_t *w = nm->wire + nm->off[sl->name];
    uint16_t qt = nm->qtype[sl->name];
    bool ok = r[4] == 0 && r[5] == 1 && len >= 12 + nl + 4;
    for (size_t i = 0; ok && i < nl; i++) {
        uint8_t c = r[12 + i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        ok = c == w[i];
    }
    if (ok)
        ok = r[12 + nl] == (uint8_t)(qt >> 8) && r[13 + nl] == (uint8_t)qt;
    if (!ok) {
        st->mismatched++;
        return;
    }
    dmpb_kind_stats_t *ks = &st->kind[sl->kind];
    if (r[2] & 0x02) {
        st->truncated++;
        ks->truncated++;
        if (g->c.tc_retry && !s->tcp) {
            if (g->rq_len < RETRY_SLOTS) {
                g->rq[(g->rq_head + g->rq_len++) % RETRY_SLOTS] =
                    (retry_t){sl->sent_ns, sl->name, sl->kind};
                st->tcp_retries++;
                ks->tcp_retries++;
            } else {
                st->lost++;
                ks->lost++;
                st->tcp_retry_lost++;
            }
            dmpb_e_slot_free(s, si);
            return;
        }
    }
    int rc = r[3] & 0x0f;
    st->rcode[rc]++;
    ks->rcode[rc]++;
    if (rc == 0 && r[6] == 0 && r[7] == 0)
        st->nodata++;
    st->answered++;
    ks->answered++;
    int out = DMPB_V_UNCHECKED;
    if (g->c.expect && !(r[2] & 0x02)) {
        out = dmpb_expect_check(g->c.expect, nm, sl->name, r, len, 12 + nl + 4, sl->sent_ns,
                                g->c.on_value, g->c.ctx);
        if (out == DMPB_V_DATA && g->c.sync) { /* a value published since the last sync? */
            g->c.sync(g->c.ctx);
            out = dmpb_expect_check(g->c.expect, nm, sl->name, r, len, 12 + nl + 4, sl->sent_ns,
                                    g->c.on_value, g->c.ctx);
        }
    }
    if (out == DMPB_V_OK) {
        ks->ok++;
    } else if (out == DMPB_V_UNCHECKED) {
        st->unchecked++;
    } else {
        st->wrong++;
        ks->wrong[out]++;
        show_wrong(g, sl->name, out, r);
    }
    int64_t lat = now - sl->sent_ns;
    dmpb_hist_add(&st->hist, lat > 0 ? (uint64_t)lat : 0);
    dmpb_hist_add(&ks->hist, lat > 0 ? (uint64_t)lat : 0);
    st->t_last_answer = now;
    dmpb_e_slot_free(s, si);
}

/* Opens s->fd: a connected non-blocking UDP socket, or a TCP connection (blocking connect,
 * then non-blocking). */
int dmpb_e_sock_connect(sock_t *s, const struct sockaddr_storage *ss, socklen_t sslen)
{
    s->fd = socket(ss->ss_family, (s->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fprintf(stderr, "socket: %s\n", strerror(errno));
        return -1;
    }
    int sz = 4 << 20, one = 1;
    (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    (void)setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (s->tcp)
        (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (const struct sockaddr *)ss, sslen) != 0 ||
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "connect: %s\n", strerror(errno));
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    s->out_off = s->out_len = s->in_len = 0;
    return 0;
}

/* Takes a free slot of s for the next query (from the workload, or for the retry connection
 * from the retry queue); fills it and returns its index, or -1 when nothing is to be sent. */
int64_t dmpb_e_take_slot(dmpb_gen_t *g, sock_t *s, int64_t now)
{
    if (s->nfree == 0)
        return -1;
    uint16_t id;
    int tries = 0;
    do {
        id = (uint16_t)(dmpb_rand(&g->rng) >> 48);
    } while (s->id_map[id] != 0 && ++tries < 64);
    if (s->id_map[id] != 0) /* window nearly fills the ID space: retry later */
        return -1;
    int64_t sent = now, name;
    uint8_t kind = 0;
    if (s->retry) {
        if (g->rq_len == 0)
            return -1;
        retry_t *rt = &g->rq[g->rq_head];
        g->rq_head = (g->rq_head + 1) % RETRY_SLOTS;
        g->rq_len--;
        name = rt->name;
        kind = rt->kind;
        sent = rt->sent_ns;
    } else {
        name = g->c.pick(g->c.ctx, now, &kind);
        if (name < 0)
            return -1;
        if (kind >= DMPB_MAX_KINDS)
            kind = 0;
        g->st->sent++;
        g->st->kind[kind].sent++;
    }
    uint32_t si = s->free[--s->nfree];
    s->slots[si] = (slot_t){sent, (uint32_t)name, id, kind};
    s->id_map[id] = si + 1;
    return si;
}
