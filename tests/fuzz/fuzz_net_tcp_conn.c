/* Fuzz the TCP connection state machine (src/net/tcp_conn.c), not only the frame parser: the
 * input is a sequence of events for one connection (bytes sent by the peer, a read of any
 * size, a reply ready, a partial write, a clock tick, the peer's FIN, a resume) or, when the
 * first byte's top bit is set, accept decisions on a small connection table.
 *
 * The harness keeps its own model of the byte stream and checks against it:
 *   - every complete frame read produces exactly one query, in order, with its bytes, and none
 *     is left unparsed unless reading is paused at the pipelining cap;
 *   - a length prefix of 0 or above the cap closes the connection (and only then);
 *   - buffers stay bounded (rbuf <= max(512, 2 + max_query), in flight <= the cap);
 *   - bytes written are exactly the replies queued, in order, whatever the write splits;
 *   - with nothing pending, a partial query older than msg_ms (a byte every few seconds) and an
 *     idle connection are closed by the tick, and a tick never closes a connection owing a reply;
 *   - after the peer's FIN, once everything is answered and written, the connection finishes;
 *   - accept: a source never exceeds its share, only idle connections are evicted, the idlest.
 * ASan/UBSan (the fuzz build) catch out-of-bounds accesses and leaks. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "net/tcp_conn.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define SENT_MAX 16384 /* peer bytes modelled per connection */
#define OUT_MAX 65536  /* reply bytes modelled per connection */
#define FRAMES_MAX (SENT_MAX / 3 + 2)

typedef struct {
    const uint8_t *p;
    size_t n;
} in_t;

static unsigned take(in_t *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

typedef struct {
    dmp_net_tconn_limits_t lim;
    dmp_net_tconn_t t;
    bool open;
    int64_t now;
    /* the peer's byte stream: sent[0..nsent), of which nread were read by the connection */
    uint8_t sent[SENT_MAX];
    size_t nsent, nread;
    bool fin;        /* the peer shut its side (after the sent bytes) */
    size_t nframes;  /* complete frames found in sent[0..nread) so far (model scan) */
    size_t scan_off; /* where the next unscanned frame starts */
    int64_t first_read_ms[FRAMES_MAX + 1]; /* frame k's first byte read at */
    bool bad_seen;                         /* the model saw a bad length prefix in what was read */
    size_t delivered;            /* queries the state machine handed on (taken or skipped) */
    size_t consumed;             /* where frame `delivered` starts in sent */
    int64_t head_since;          /* frame `delivered` became the head message at */
    int64_t last_act;            /* last complete query consumed / reply queued / reply taken */
    unsigned taken, replied;     /* TAKE verdicts, replies given */
    unsigned drop_at, skip_from; /* verdict plan (1-based query numbers; 0 = never) */
    /* reply stream: out[0..nout) queued, of which nwritten written */
    uint8_t out[OUT_MAX];
    size_t nout, nwritten;
    unsigned replies_seen;
} conn_model_t;

static conn_model_t M;

/* Scans frames of sent[0..nread) past scan_off (the model's own framing). */
static void model_scan(conn_model_t *m)
{
    for (;;) {
        if (m->bad_seen || m->nframes >= FRAMES_MAX)
            return;
        size_t avail = m->nread - m->scan_off;
        if (avail < 2)
            return;
        size_t l = (size_t)m->sent[m->scan_off] << 8 | m->sent[m->scan_off + 1];
        if (l == 0 || l > m->lim.max_query) {
            m->bad_seen = true;
            return;
        }
        if (avail < 2 + l)
            return;
        m->scan_off += 2 + l;
        m->nframes++;
    }
}

static dmp_net_tconn_verdict_t on_query(void *ctx, dmp_net_tconn_t *t, const uint8_t *msg,
                                        size_t len)
{
    conn_model_t *m = ctx;
    CHECK(t == &m->t);
    /* exactly the next frame of the stream, in order */
    CHECK(m->delivered < m->nframes);
    size_t off = m->consumed;
    size_t l = (size_t)m->sent[off] << 8 | m->sent[off + 1];
    CHECK(len == l && memcmp(msg, m->sent + off + 2, l) == 0);
    CHECK(t->pending + t->wq_count < m->lim.max_pipelined);
    m->delivered++;
    m->consumed += 2 + l;
    if (m->drop_at && m->delivered == m->drop_at)
        return DMP_NET_TCONN_DROP;
    if (m->skip_from && m->delivered >= m->skip_from)
        return DMP_NET_TCONN_SKIP;
    m->taken++;
    return DMP_NET_TCONN_TAKE;
}

static void conn_close(conn_model_t *m)
{
    dmp_net_tconn_release(&m->t);
    CHECK(!m->t.rbuf && !m->t.wq_head && m->t.wq_count == 0 && m->t.rlen == 0);
    m->open = false;
}

static void conn_open(conn_model_t *m, in_t *in)
{
    struct sockaddr_storage peer = {0};
    peer.ss_family = AF_INET;
    m->lim.max_pipelined = 1 + take(in) % 6;
    unsigned q = take(in);
    m->lim.max_query = q < 128 ? 1 + q : (q < 250 ? (q - 127) * 512 : 65535);
    m->lim.idle_ms = 1000 * (int64_t)(1 + take(in) % 30);
    m->lim.msg_ms = 500 * (int64_t)(1 + take(in) % 20);
    m->drop_at = take(in) % 16;
    m->skip_from = take(in) % 24;
    m->nsent = m->nread = m->nframes = m->scan_off = m->delivered = m->consumed = 0;
    m->bad_seen = m->fin = false;
    m->taken = m->replied = 0;
    m->nout = m->nwritten = 0;
    m->replies_seen = 0;
    m->head_since = m->last_act = m->now;
    dmp_net_tconn_open(&m->t, &peer, sizeof(struct sockaddr_in), m->now);
    m->open = true;
}

/* Invariants after every event. */
static void check_bounds(const conn_model_t *m)
{
    const dmp_net_tconn_t *t = &m->t;
    size_t cap = 2 + m->lim.max_query;
    if (cap < DMP_NET_TCONN_RBUF_MIN)
        cap = DMP_NET_TCONN_RBUF_MIN;
    CHECK(t->rlen <= t->rcap && t->rcap <= cap);
    CHECK(t->pending + t->wq_count <= m->lim.max_pipelined);
    CHECK(t->pending == m->taken - m->replied);
    /* only a parse raises the count, and it pauses at the cap */
    CHECK(t->rd_paused || t->pending + t->wq_count < m->lim.max_pipelined);
    /* the state machine holds exactly the read bytes not yet consumed */
    CHECK(m->consumed + t->rlen == m->nread);
    CHECK(t->rlen == 0 || memcmp(t->rbuf, m->sent + m->consumed, t->rlen) == 0);
    size_t queued = 0;
    unsigned k = 0;
    for (const wbuf_t *w = t->wq_head; w; w = w->next, k++) {
        CHECK(w->off < w->len);
        queued += w->len - w->off;
        if (!w->next)
            CHECK(w == t->wq_tail);
    }
    CHECK(k == t->wq_count && (k > 0 || !t->wq_tail));
    CHECK(queued == m->nout - m->nwritten);
}

/* Parses after a read or a resume; closes on an error and checks the verdict. */
static void do_parse(conn_model_t *m)
{
    model_scan(m); /* the model's own framing of what was read */
    size_t before = m->delivered;
    bool changed = false;
    dmp_net_tconn_parse_t pr = dmp_net_tconn_parse(&m->t, &m->lim, m->now, on_query, m, &changed);
    if (m->delivered != before) {
        m->head_since = m->last_act = m->now;
    }
    if (pr == DMP_NET_TCONN_DROPPED) {
        CHECK(m->drop_at && m->delivered == m->drop_at);
        conn_close(m);
        return;
    }
    if (pr == DMP_NET_TCONN_BAD_LENGTH) {
        /* only for a bad prefix the model saw, after every frame before it */
        CHECK(m->bad_seen && m->delivered == m->nframes);
        conn_close(m);
        return;
    }
    CHECK(pr == DMP_NET_TCONN_OK);
    if (!m->t.rd_paused) {
        /* not paused: every complete frame read was handed on and no bad prefix is waiting */
        CHECK(m->delivered == m->nframes && !m->bad_seen);
    }
    check_bounds(m);
}

static void ev_read(conn_model_t *m, size_t want)
{
    if (m->t.rd_paused || m->t.rd_closed)
        return; /* not in the epoll set for reading */
    if (m->nread == m->nsent) {
        if (m->fin) {
            dmp_net_tconn_peer_closed(&m->t);
            if (dmp_net_tconn_finished(&m->t))
                conn_close(m);
        }
        return;
    }
    uint8_t *at = NULL;
    size_t room = 0;
    CHECK(dmp_net_tconn_read_room(&m->t, &at, &room) == 0);
    CHECK(room > 0 && at == m->t.rbuf + m->t.rlen);
    size_t n = m->nsent - m->nread;
    if (n > room)
        n = room;
    if (want && n > want)
        n = want;
    memcpy(at, m->sent + m->nread, n);
    size_t old_read = m->nread;
    m->nread += n;
    /* record when the head frame's first byte arrived: frames start at scan positions */
    {
        size_t off = m->scan_off, k = m->nframes;
        while (k <= FRAMES_MAX && off < m->nread) {
            if (off >= old_read)
                m->first_read_ms[k] = m->now;
            if (m->nread - off < 2)
                break;
            size_t l = (size_t)m->sent[off] << 8 | m->sent[off + 1];
            if (l == 0 || l > m->lim.max_query)
                break;
            off += 2 + l;
            k++;
        }
    }
    dmp_net_tconn_bytes_in(&m->t, n, m->now);
    do_parse(m);
}

static void ev_send(conn_model_t *m, in_t *in)
{
    if (m->fin)
        return;
    size_t n = take(in);
    unsigned mode = take(in);
    for (size_t i = 0; i < n && m->nsent < SENT_MAX; i++) {
        /* mode 0: raw bytes from the input; else frames of a fixed small length */
        if (mode < 128) {
            m->sent[m->nsent++] = (uint8_t)take(in);
        } else {
            size_t l = 1 + mode % 32;
            if (m->nsent + 2 + l > SENT_MAX)
                break;
            m->sent[m->nsent++] = 0;
            m->sent[m->nsent++] = (uint8_t)l;
            memset(m->sent + m->nsent, (int)i, l);
            m->nsent += l;
        }
    }
}

static void ev_reply(conn_model_t *m, in_t *in)
{
    if (m->t.pending == 0)
        return;
    unsigned sz = take(in);
    wbuf_t *w = NULL;
    if (sz > 0) {
        size_t len = 2 + (size_t)sz * 3;
        if (m->nout + len > OUT_MAX)
            len = 0;
        if (len) {
            w = malloc(sizeof(wbuf_t) + len);
            CHECK(w != NULL);
            w->len = len;
            w->off = 0;
            w->next = (wbuf_t *)(uintptr_t)1; /* the state machine must reset it */
            w->data[0] = (uint8_t)((len - 2) >> 8);
            w->data[1] = (uint8_t)(len - 2);
            memset(w->data + 2, (int)(m->replies_seen & 0xff), len - 2);
            memcpy(m->out + m->nout, w->data, len);
            m->nout += len;
        }
    }
    m->replies_seen++;
    m->replied++;
    dmp_net_tconn_reply(&m->t, w, m->now);
    m->last_act = m->now;
    check_bounds(m);
    if (dmp_net_tconn_finished(&m->t))
        conn_close(m); /* the flush that follows a reply closes a finished connection */
}

static void ev_write(conn_model_t *m, in_t *in)
{
    struct iovec iov[4];
    int k = dmp_net_tconn_write_iov(&m->t, iov, 1 + (int)(take(in) % 4));
    size_t total = 0;
    for (int i = 0; i < k; i++)
        total += iov[i].iov_len;
    CHECK((k == 0) == (m->t.wq_head == NULL));
    size_t n = (size_t)take(in) * 7;
    if (n > total)
        n = total;
    /* the bytes handed to the socket are the next bytes of the reply stream */
    size_t done = 0;
    for (int i = 0; i < k && done < n; i++) {
        size_t c = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
        CHECK(m->nwritten + done + c <= m->nout);
        CHECK(memcmp(iov[i].iov_base, m->out + m->nwritten + done, c) == 0);
        done += c;
    }
    unsigned before = m->t.wq_count;
    dmp_net_tconn_wrote(&m->t, n, m->now);
    m->nwritten += n;
    if (m->t.wq_count != before)
        m->last_act = m->now;
    check_bounds(m);
    if (dmp_net_tconn_finished(&m->t))
        conn_close(m);
}

static void ev_tick(conn_model_t *m, int64_t dt)
{
    m->now += dt;
    bool exp = dmp_net_tconn_expired(&m->t, &m->lim, m->now);
    if (m->t.pending > 0) {
        CHECK(!exp); /* a reply is owed */
        return;
    }
    /* the head message partly read: its clock started when its first byte was read, or when it
     * became the head, whichever is later; a byte every few seconds does not restart it */
    size_t head = m->delivered;
    bool partial = m->t.rlen > 0 && !m->t.rd_paused && head == m->nframes;
    if (partial && head <= FRAMES_MAX) {
        int64_t t0 =
            m->first_read_ms[head] > m->head_since ? m->first_read_ms[head] : m->head_since;
        if (m->now - t0 >= m->lim.msg_ms)
            CHECK(exp);
    }
    if (m->now - m->last_act >= m->lim.idle_ms)
        CHECK(exp);
    if (exp) {
        CHECK(m->now - m->last_act >= m->lim.idle_ms || m->t.rlen > 0 || m->t.wq_head);
        conn_close(m);
    }
}

static void run_conn(in_t *in)
{
    conn_model_t *m = &M;
    m->now = 1000;
    conn_open(m, in);
    int steps = 0;
    while (in->n > 0 && steps++ < 4096) {
        if (!m->open) {
            conn_open(m, in); /* the slot is reused by a new connection */
            continue;
        }
        unsigned op = take(in);
        switch (op % 9) {
        case 0:
            ev_send(m, in);
            break;
        case 1:
            ev_read(m, take(in));
            break;
        case 2:
            ev_reply(m, in);
            break;
        case 3:
            ev_write(m, in);
            break;
        case 4:
            ev_tick(m, (int64_t)take(in) * 50);
            break;
        case 5:
            m->fin = true;
            break;
        case 6:
            /* a flush made room: parse what was buffered, then read on */
            if (dmp_net_tconn_can_resume(&m->t, &m->lim)) {
                do_parse(m);
                if (m->open && !m->t.rd_paused)
                    ev_read(m, 0);
            }
            break;
        case 7: {
            /* slowloris: one byte, read, then seconds pass */
            if (!m->fin && m->nsent < SENT_MAX)
                m->sent[m->nsent++] = (uint8_t)take(in);
            ev_read(m, 1);
            if (m->open)
                ev_tick(m, 1000 * (int64_t)(1 + op / 9 % 8));
            break;
        }
        default:
            ev_read(m, 0);
            break;
        }
    }
    if (m->open) {
        /* finish: the peer stops sending; answer and write everything: the connection ends */
        m->fin = true;
        for (int i = 0; i < 64 && m->open; i++) {
            while (m->open && m->t.pending > 0) {
                m->replied++;
                dmp_net_tconn_reply(&m->t, NULL, m->now);
            }
            if (!m->open)
                break;
            while (m->open && m->t.wq_head) {
                size_t left = m->nout - m->nwritten;
                dmp_net_tconn_wrote(&m->t, left, m->now);
                m->nwritten = m->nout;
            }
            if (dmp_net_tconn_can_resume(&m->t, &m->lim))
                do_parse(m);
            if (m->open && !m->t.rd_paused)
                ev_read(m, 0);
            if (m->open && m->t.rd_closed && m->t.pending == 0 && !m->t.wq_head) {
                CHECK(dmp_net_tconn_finished(&m->t));
                conn_close(m);
            }
        }
        if (m->open)
            conn_close(m);
    }
}

/* ---- accept decisions on a table ---- */

#define SLOTS 8

typedef struct {
    dmp_net_tconn_t t[SLOTS];
    bool used[SLOTS];
} table_t;

static const dmp_net_tconn_t *slot_at(void *ctx, unsigned i)
{
    table_t *tb = ctx;
    return tb->used[i] ? &tb->t[i] : NULL;
}

static void source_addr(unsigned s, struct sockaddr_storage *a, socklen_t *len)
{
    memset(a, 0, sizeof *a);
    if (s & 4) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)a;
        v6->sin6_family = AF_INET6;
        v6->sin6_addr.s6_addr[0] = 0xfd;
        v6->sin6_addr.s6_addr[7] = (uint8_t)(s & 1); /* /64 differs */
        v6->sin6_addr.s6_addr[15] = (uint8_t)s;      /* host part only */
        *len = sizeof *v6;
    } else {
        struct sockaddr_in *v4 = (struct sockaddr_in *)a;
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = htonl(0x7f000001u + (s & 3));
        *len = sizeof *v4;
    }
}

static void run_table(in_t *in)
{
    static table_t tb;
    memset(&tb, 0, sizeof tb);
    unsigned per_source = 1 + take(in) % 4;
    int64_t now = 1;
    while (in->n > 0) {
        unsigned op = take(in);
        unsigned arg = take(in);
        if (op % 4 == 0) {
            struct sockaddr_storage peer;
            socklen_t pl;
            source_addr(arg % 8, &peer, &pl);
            unsigned nfree = 0, same = 0;
            for (unsigned i = 0; i < SLOTS; i++) {
                nfree += !tb.used[i];
                same += tb.used[i] && dmp_net_tconn_same_source(&tb.t[i].peer, &peer);
            }
            unsigned victim = 12345;
            dmp_net_tconn_admit_t ad =
                dmp_net_tconn_admit(slot_at, &tb, SLOTS, nfree, &peer, per_source, &victim);
            if (ad == DMP_NET_TCONN_REJECT_SOURCE || ad == DMP_NET_TCONN_REJECT_FULL) {
                CHECK(victim == UINT32_MAX);
                CHECK(ad == DMP_NET_TCONN_REJECT_SOURCE ? same >= per_source
                                                        : nfree == 0 && same < per_source);
                for (unsigned i = 0; i < SLOTS; i++) /* nobody it may evict is idle */
                    CHECK(!tb.used[i] || tb.t[i].pending > 0 ||
                          (ad == DMP_NET_TCONN_REJECT_SOURCE &&
                           !dmp_net_tconn_same_source(&tb.t[i].peer, &peer)));
                continue;
            }
            if (ad == DMP_NET_TCONN_ADMIT_EVICT) {
                CHECK(victim < SLOTS && tb.used[victim] && tb.t[victim].pending == 0);
                bool own = same >= per_source;
                CHECK(!own || dmp_net_tconn_same_source(&tb.t[victim].peer, &peer));
                for (unsigned i = 0; i < SLOTS; i++) /* the idlest candidate */
                    if (tb.used[i] && tb.t[i].pending == 0 &&
                        (!own || dmp_net_tconn_same_source(&tb.t[i].peer, &peer)))
                        CHECK(tb.t[i].last_ms >= tb.t[victim].last_ms);
                dmp_net_tconn_release(&tb.t[victim]);
                tb.used[victim] = false;
                if (own)
                    same--;
            } else {
                CHECK(ad == DMP_NET_TCONN_ADMIT && nfree > 0 && same < per_source);
            }
            unsigned ci = 0;
            while (ci < SLOTS && tb.used[ci])
                ci++;
            CHECK(ci < SLOTS);
            dmp_net_tconn_open(&tb.t[ci], &peer, pl, now);
            tb.used[ci] = true;
            CHECK(same + 1 <= per_source);
        } else if (op % 4 == 1) {
            /* a query goes into a shard (busy) or its reply comes back (idle again) */
            unsigned i = arg % SLOTS;
            if (tb.used[i]) {
                if (arg & 0x80)
                    tb.t[i].pending++;
                else if (tb.t[i].pending)
                    dmp_net_tconn_reply(&tb.t[i], NULL, now);
            }
        } else if (op % 4 == 2) {
            now += arg;
        } else {
            unsigned i = arg % SLOTS;
            if (tb.used[i]) {
                dmp_net_tconn_release(&tb.t[i]);
                tb.used[i] = false;
            }
        }
    }
    for (unsigned i = 0; i < SLOTS; i++)
        dmp_net_tconn_release(&tb.t[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    in_t in = {data + 1, size - 1};
    if (data[0] & 0x80)
        run_table(&in);
    else
        run_conn(&in);
    return 0;
}
