/* Tests for src/net/tcp_conn.c: the TCP connection state machine driven by events on an
 * injected clock (no sockets, no sleeping): reads in any split, the pipelining cap, bad
 * lengths, ordered partial writes, the idle / slow-query / slow-read timeouts, the peer's FIN,
 * and per-source admission. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp_conn.h"
#include "util/util.h"

static const dmp_net_tconn_limits_t LIM = {
    .max_query = 512, .max_pipelined = 2, .idle_ms = 10000, .msg_ms = 3000};

typedef struct {
    unsigned n;
    size_t len[8];
    uint8_t first[8];
    dmp_net_tconn_verdict_t verdict; /* returned for every query */
} got_t;

static dmp_net_tconn_verdict_t on_query(void *ctx, dmp_net_tconn_t *t, const uint8_t *msg,
                                        size_t len)
{
    (void)t;
    got_t *g = ctx;
    if (g->n < 8) {
        g->len[g->n] = len;
        g->first[g->n] = msg[0];
    }
    g->n++;
    return g->verdict;
}

static void open_v4(dmp_net_tconn_t *t, const char *ip, int64_t now)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    memset(t, 0, sizeof *t);
    dmp_net_tconn_open(t, &ss, sizeof *in, now);
}

/* "arrives" bytes: into the read room, then parse. Returns the parse result. */
static dmp_net_tconn_parse_t feed(dmp_net_tconn_t *t, const uint8_t *b, size_t n, int64_t now,
                                  got_t *g)
{
    uint8_t *at = NULL;
    size_t room = 0;
    assert_int_equal(dmp_net_tconn_read_room(t, &at, &room), 0);
    assert_true(room >= n);
    memcpy(at, b, n);
    dmp_net_tconn_bytes_in(t, n, now);
    return dmp_net_tconn_parse(t, &LIM, now, on_query, g, NULL);
}

static wbuf_t *mk_reply(size_t len, uint8_t fill)
{
    wbuf_t *w = malloc(sizeof(wbuf_t) + 2 + len);
    assert_non_null(w);
    w->len = 2 + len;
    w->off = 0;
    w->next = NULL;
    dmp_store_u16be(w->data, (uint16_t)len);
    memset(w->data + 2, fill, len);
    return w;
}

static void test_split_reads(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 1000);
    got_t g = {0};
    /* a 5-byte query: length prefix byte by byte, then the body in two pieces */
    const uint8_t q[] = {0, 5, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(feed(&t, q, 1, 1000, &g), DMP_NET_TCONN_OK);
    assert_int_equal(feed(&t, q + 1, 1, 1001, &g), DMP_NET_TCONN_OK);
    assert_int_equal(feed(&t, q + 2, 2, 1002, &g), DMP_NET_TCONN_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(t.msg_start_ms, 1000); /* the first byte's time, not the last */
    assert_int_equal(feed(&t, q + 4, 3, 1003, &g), DMP_NET_TCONN_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len[0], 5);
    assert_int_equal(g.first[0], 'h');
    assert_int_equal(t.pending, 1);
    assert_int_equal(t.rlen, 0);
    assert_int_equal(t.msg_start_ms, 0);
    assert_int_equal(t.last_ms, 1003);
    /* two queries and a half in one read */
    const uint8_t three[] = {0, 1, 'a', 0, 2, 'b', 'b', 0, 3, 'c'};
    t.pending = 0;
    assert_int_equal(feed(&t, three, sizeof three, 1004, &g), DMP_NET_TCONN_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.first[1], 'a');
    assert_int_equal(g.first[2], 'b');
    assert_int_equal(t.rlen, 3); /* the start of the third */
    assert_int_equal(t.msg_start_ms, 1004);
    dmp_net_tconn_release(&t);
}

static void test_read_room_grows_to_message(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    uint8_t *at;
    size_t room;
    assert_int_equal(dmp_net_tconn_read_room(&t, &at, &room), 0);
    assert_int_equal(room, DMP_NET_TCONN_RBUF_MIN);
    /* a 500-byte query announced: room for exactly the whole of it */
    const uint8_t pre[] = {0x01, 0xF4};
    assert_int_equal(feed(&t, pre, 2, 0, &g), DMP_NET_TCONN_OK);
    assert_int_equal(dmp_net_tconn_read_room(&t, &at, &room), 0);
    assert_int_equal(t.rcap, DMP_NET_TCONN_RBUF_MIN);
    assert_int_equal(room, DMP_NET_TCONN_RBUF_MIN - 2);
    dmp_net_tconn_release(&t);
    assert_null(t.rbuf);
    /* a 4000-byte message announced: the buffer grows to hold all of it, no more */
    open_v4(&t, "127.0.0.1", 0);
    assert_int_equal(dmp_net_tconn_read_room(&t, &at, &room), 0);
    at[0] = 0x0F;
    at[1] = 0xA0;
    dmp_net_tconn_bytes_in(&t, 2, 0);
    assert_int_equal(dmp_net_tconn_read_room(&t, &at, &room), 0);
    assert_int_equal(t.rcap, 4002);
    assert_int_equal(room, 4000);
    assert_ptr_equal(at, t.rbuf + 2);
    dmp_net_tconn_release(&t);
}

static void test_pipeline_cap_and_resume(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    const uint8_t three[] = {0, 1, 'a', 0, 1, 'b', 0, 1, 'c'};
    bool changed = false;
    uint8_t *at;
    size_t room;
    assert_int_equal(dmp_net_tconn_read_room(&t, &at, &room), 0);
    memcpy(at, three, sizeof three);
    dmp_net_tconn_bytes_in(&t, sizeof three, 5);
    assert_int_equal(dmp_net_tconn_parse(&t, &LIM, 5, on_query, &g, &changed), DMP_NET_TCONN_OK);
    assert_int_equal(g.n, 2); /* the cap is 2 */
    assert_true(t.rd_paused);
    assert_true(changed);
    assert_int_equal(t.rlen, 3);
    assert_false(dmp_net_tconn_can_resume(&t, &LIM));
    /* a reply queued still counts; written whole, it frees a place */
    dmp_net_tconn_reply(&t, mk_reply(4, 'x'), 6);
    assert_false(dmp_net_tconn_can_resume(&t, &LIM));
    dmp_net_tconn_wrote(&t, 6, 7);
    assert_true(dmp_net_tconn_can_resume(&t, &LIM));
    assert_int_equal(dmp_net_tconn_parse(&t, &LIM, 8, on_query, &g, &changed), DMP_NET_TCONN_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.first[2], 'c');
    assert_true(t.rd_paused); /* 2 pending again */
    assert_false(changed);
    dmp_net_tconn_release(&t);
}

static void test_bad_lengths_and_verdicts(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    got_t g = {0};
    const uint8_t zero[] = {0, 1, 'a', 0, 0};
    open_v4(&t, "127.0.0.1", 0);
    assert_int_equal(feed(&t, zero, sizeof zero, 0, &g), DMP_NET_TCONN_BAD_LENGTH);
    assert_int_equal(g.n, 1); /* the query before it was handed on */
    dmp_net_tconn_release(&t);
    const uint8_t big[] = {0x02, 0x01}; /* 513 > max_query 512 */
    open_v4(&t, "127.0.0.1", 0);
    assert_int_equal(feed(&t, big, 2, 0, &g), DMP_NET_TCONN_BAD_LENGTH);
    dmp_net_tconn_release(&t);
    /* DROP from the callback closes; SKIP consumes without a reply owed */
    const uint8_t two[] = {0, 1, 'a', 0, 1, 'b'};
    open_v4(&t, "127.0.0.1", 0);
    got_t d = {.verdict = DMP_NET_TCONN_DROP};
    assert_int_equal(feed(&t, two, sizeof two, 0, &d), DMP_NET_TCONN_DROPPED);
    assert_int_equal(d.n, 1);
    dmp_net_tconn_release(&t);
    open_v4(&t, "127.0.0.1", 0);
    got_t s = {.verdict = DMP_NET_TCONN_SKIP};
    assert_int_equal(feed(&t, two, sizeof two, 0, &s), DMP_NET_TCONN_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(t.pending, 0);
    assert_false(t.rd_paused);
    dmp_net_tconn_release(&t);
}

/* One byte every second after a length prefix: the query's clock is not restarted by the
 * bytes, so the connection expires msg_ms after the first one (the slowloris defect). */
static void test_slowloris_expires(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    const uint8_t pre[] = {0, 100};
    assert_int_equal(feed(&t, pre, 2, 1000, &g), DMP_NET_TCONN_OK);
    int64_t now = 1000;
    for (int i = 0; i < 20; i++) {
        now += 1000;
        if (dmp_net_tconn_expired(&t, &LIM, now))
            break;
        uint8_t b = 'x';
        assert_int_equal(feed(&t, &b, 1, now, &g), DMP_NET_TCONN_OK);
    }
    assert_int_equal(now, 1000 + LIM.msg_ms);
    assert_int_equal(g.n, 0);
    dmp_net_tconn_release(&t);
}

static void test_idle_and_pending(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    assert_false(dmp_net_tconn_expired(&t, &LIM, LIM.idle_ms - 1));
    assert_true(dmp_net_tconn_expired(&t, &LIM, LIM.idle_ms));
    const uint8_t q[] = {0, 1, 'a'};
    assert_int_equal(feed(&t, q, 3, 5000, &g), DMP_NET_TCONN_OK);
    /* a shard owes a reply: never expired, however long */
    assert_false(dmp_net_tconn_expired(&t, &LIM, 1000000));
    /* no reply to send (NULL): activity, nothing queued */
    dmp_net_tconn_reply(&t, NULL, 6000);
    assert_int_equal(t.pending, 0);
    assert_null(t.wq_head);
    assert_false(dmp_net_tconn_expired(&t, &LIM, 6000 + LIM.idle_ms - 1));
    assert_true(dmp_net_tconn_expired(&t, &LIM, 6000 + LIM.idle_ms));
    dmp_net_tconn_release(&t);
}

static void test_ordered_partial_writes(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    const uint8_t two[] = {0, 1, 'a', 0, 1, 'b'};
    assert_int_equal(feed(&t, two, sizeof two, 0, &g), DMP_NET_TCONN_OK);
    dmp_net_tconn_reply(&t, mk_reply(3, 'A'), 10); /* 5 bytes */
    dmp_net_tconn_reply(&t, mk_reply(2, 'B'), 20); /* 4 bytes */
    assert_int_equal(t.wq_count, 2);
    assert_int_equal(t.wq_since_ms, 10);
    struct iovec iov[4];
    assert_int_equal(dmp_net_tconn_write_iov(&t, iov, 4), 2);
    assert_int_equal(iov[0].iov_len, 5);
    assert_int_equal(iov[1].iov_len, 4);
    assert_int_equal(dmp_net_tconn_write_iov(&t, iov, 1), 1);
    /* 3 bytes: the first reply partly */
    dmp_net_tconn_wrote(&t, 3, 30);
    assert_int_equal(t.wq_count, 2);
    assert_int_equal(t.wq_head->off, 3);
    assert_int_equal(t.wq_since_ms, 10); /* not taken whole yet */
    assert_int_equal(dmp_net_tconn_write_iov(&t, iov, 4), 2);
    assert_int_equal(iov[0].iov_len, 2);
    assert_int_equal(((const uint8_t *)iov[0].iov_base)[0], 'A');
    /* slow read: the head reply waited msg_ms */
    assert_true(dmp_net_tconn_expired(&t, &LIM, 10 + LIM.msg_ms));
    /* the rest of the first and one byte of the second */
    dmp_net_tconn_wrote(&t, 3, 40);
    assert_int_equal(t.wq_count, 1);
    assert_int_equal(t.wq_head->off, 1);
    assert_int_equal(t.wq_since_ms, 40);
    assert_int_equal(t.last_ms, 40);
    assert_false(dmp_net_tconn_expired(&t, &LIM, 40 + LIM.msg_ms - 1));
    dmp_net_tconn_wrote(&t, 3, 50);
    assert_null(t.wq_head);
    assert_null(t.wq_tail);
    assert_int_equal(t.wq_count, 0);
    assert_int_equal(dmp_net_tconn_write_iov(&t, iov, 4), 0);
    dmp_net_tconn_release(&t);
}

static void test_fin_finishes_after_replies(void **state)
{
    (void)state;
    dmp_net_tconn_t t;
    open_v4(&t, "127.0.0.1", 0);
    got_t g = {0};
    const uint8_t q[] = {0, 1, 'a'};
    assert_int_equal(feed(&t, q, 3, 0, &g), DMP_NET_TCONN_OK);
    dmp_net_tconn_peer_closed(&t);
    assert_false(dmp_net_tconn_finished(&t)); /* a reply is owed */
    dmp_net_tconn_reply(&t, mk_reply(1, 'z'), 1);
    assert_false(dmp_net_tconn_finished(&t)); /* and must be written */
    dmp_net_tconn_wrote(&t, 3, 2);
    assert_true(dmp_net_tconn_finished(&t));
    dmp_net_tconn_release(&t);
}

/* ---- admission ---- */

typedef struct {
    dmp_net_tconn_t t[4];
    bool used[4];
} table_t;

static const dmp_net_tconn_t *slot(void *ctx, unsigned i)
{
    table_t *tb = ctx;
    return tb->used[i] ? &tb->t[i] : NULL;
}

static void peer_of(const char *ip, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, ip, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, ip, &a->sin_addr), 1);
    }
}

static void put(table_t *tb, unsigned i, const char *ip, int64_t last, unsigned pending)
{
    struct sockaddr_storage ss;
    peer_of(ip, &ss);
    memset(&tb->t[i], 0, sizeof tb->t[i]);
    dmp_net_tconn_open(&tb->t[i], &ss, sizeof ss, last);
    tb->t[i].pending = pending;
    tb->used[i] = true;
}

static void test_same_source(void **state)
{
    (void)state;
    struct sockaddr_storage a, b;
    peer_of("127.0.0.1", &a);
    peer_of("127.0.0.1", &b);
    ((struct sockaddr_in *)&b)->sin_port = htons(9);
    assert_true(dmp_net_tconn_same_source(&a, &b)); /* ports do not matter */
    peer_of("127.0.0.2", &b);
    assert_false(dmp_net_tconn_same_source(&a, &b));
    peer_of("fd00:1:2:3::1", &a);
    peer_of("fd00:1:2:3:ffff::9", &b);
    assert_true(dmp_net_tconn_same_source(&a, &b)); /* one /64 */
    peer_of("fd00:1:2:4::1", &b);
    assert_false(dmp_net_tconn_same_source(&a, &b));
    peer_of("127.0.0.1", &b);
    assert_false(dmp_net_tconn_same_source(&a, &b));
}

static void test_admit(void **state)
{
    (void)state;
    table_t tb = {0};
    struct sockaddr_storage p;
    unsigned victim = 0;
    peer_of("127.0.0.1", &p);
    assert_int_equal(dmp_net_tconn_admit(slot, &tb, 4, 4, &p, 2, &victim), DMP_NET_TCONN_ADMIT);
    /* 127.0.0.1 at its share of 2: its own idlest goes (slot 1, older than slot 0), never
     * another source's even older one (slot 2) */
    put(&tb, 0, "127.0.0.1", 500, 0);
    put(&tb, 1, "127.0.0.1", 300, 0);
    put(&tb, 2, "127.0.0.2", 100, 0);
    assert_int_equal(dmp_net_tconn_admit(slot, &tb, 4, 1, &p, 2, &victim),
                     DMP_NET_TCONN_ADMIT_EVICT);
    assert_int_equal(victim, 1);
    /* its connections all busy: refused, nobody evicted */
    tb.t[0].pending = 1;
    tb.t[1].wq_head = (wbuf_t *)&tb; /* a reply queued (never dereferenced here) */
    assert_int_equal(dmp_net_tconn_admit(slot, &tb, 4, 1, &p, 2, &victim),
                     DMP_NET_TCONN_REJECT_SOURCE);
    assert_int_equal(victim, UINT32_MAX);
    tb.t[1].wq_head = NULL;
    /* another source, table full: the idlest overall */
    put(&tb, 3, "127.0.0.3", 200, 0);
    peer_of("127.0.0.4", &p);
    assert_int_equal(dmp_net_tconn_admit(slot, &tb, 4, 0, &p, 2, &victim),
                     DMP_NET_TCONN_ADMIT_EVICT);
    assert_int_equal(victim, 2);
    /* everyone busy: refused */
    for (unsigned i = 0; i < 4; i++)
        tb.t[i].pending = 1;
    assert_int_equal(dmp_net_tconn_admit(slot, &tb, 4, 0, &p, 2, &victim),
                     DMP_NET_TCONN_REJECT_FULL);
    assert_int_equal(victim, UINT32_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_reads),
        cmocka_unit_test(test_read_room_grows_to_message),
        cmocka_unit_test(test_pipeline_cap_and_resume),
        cmocka_unit_test(test_bad_lengths_and_verdicts),
        cmocka_unit_test(test_slowloris_expires),
        cmocka_unit_test(test_idle_and_pending),
        cmocka_unit_test(test_ordered_partial_writes),
        cmocka_unit_test(test_fin_finishes_after_replies),
        cmocka_unit_test(test_same_source),
        cmocka_unit_test(test_admit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
