/* Integration tests: real dnsmeshd processes on ephemeral loopback ports with temporary stores,
 * queried over real UDP/TCP DNS and HTTP. argv[1] = path of dnsmeshd. Replies are decoded with
 * ldns (an independent parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "itest.h"

static itest_node_t g_node; /* shared node for the read/write tests (zone mesh.test) */

static const char *const g_env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_DNS_APEX_NS=ns1.mesh.test",
                                    "DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test",
                                    "DMP_DNS_APEX_A=192.0.2.1", "DMP_MAX_VALUES_PER_NAME=3",
                                    "DMP_CLEANUP_INTERVAL=0.2",
                                    /* several shards: a name and its ancestors usually live on
                                     * different shards (t_empty_non_terminal needs that) */
                                    "DMP_SHARDS=4", NULL};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- DNS helpers ---- */
typedef struct {
    uint8_t raw[65536];
    int len;
    ldns_pkt *pkt;
} reply_t;

static void reply_free(reply_t *r)
{
    if (r->pkt)
        ldns_pkt_free(r->pkt);
    r->pkt = NULL;
}

static int query(const itest_node_t *n, bool tcp, const char *name, uint16_t qtype, int edns,
                 reply_t *r)
{
    uint8_t q[600];
    size_t ql =
        itest_build_query(q, sizeof(q), (uint16_t)(rand() & 0xffff), name, qtype, edns, 0, 0);
    r->pkt = NULL;
    r->len = tcp ? itest_tcp(n, q, ql, r->raw, sizeof(r->raw), 5000)
                 : itest_udp(n, q, ql, r->raw, sizeof(r->raw), 3000);
    if (r->len <= 0)
        return -1;
    if (memcmp(r->raw, q, 2) != 0)
        return -1; /* id must match */
    if (ldns_wire2pkt(&r->pkt, r->raw, (size_t)r->len) != LDNS_STATUS_OK)
        return -1;
    return 0;
}

static int rcode_of(const reply_t *r)
{
    int rc = r->raw[3] & 0xf;
    if (r->pkt && ldns_pkt_edns(r->pkt))
        rc |= ldns_pkt_edns_extended_rcode(r->pkt) << 4;
    return rc;
}

static bool tc_of(const reply_t *r)
{
    return (r->raw[2] & 0x02) != 0;
}

/* Concatenation of all character-strings of answer RR i (TXT). */
static size_t txt_value(const reply_t *r, size_t i, char *out, size_t cap, size_t *nstrings)
{
    ldns_rr_list *an = ldns_pkt_answer(r->pkt);
    size_t o = 0;
    *nstrings = 0;
    if (!an || i >= ldns_rr_list_rr_count(an))
        return 0;
    ldns_rr *rr = ldns_rr_list_rr(an, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT)
        return 0;
    for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
        ldns_rdf *f = ldns_rr_rdf(rr, k);
        const uint8_t *d = ldns_rdf_data(f);
        size_t l = d[0];
        if (o + l < cap) {
            memcpy(out + o, d + 1, l);
            o += l;
        }
        (*nstrings)++;
    }
    out[o] = 0;
    return o;
}

static size_t ancount(const reply_t *r)
{
    return (size_t)r->raw[6] << 8 | r->raw[7];
}

static size_t nscount(const reply_t *r)
{
    return (size_t)r->raw[8] << 8 | r->raw[9];
}

/* ---- HTTP helpers ---- */
static char g_body[1 << 16];

static int post(const itest_node_t *n, const char *name, const char *json, const char *hdr)
{
    char path[600];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    return itest_http(n, "POST", path, hdr, json, strlen(json), g_body, sizeof(g_body));
}

static int get(const itest_node_t *n, const char *path)
{
    return itest_http(n, "GET", path, NULL, NULL, 0, g_body, sizeof(g_body));
}

static int post_value(const itest_node_t *n, const char *name, const char *value, int ttl)
{
    size_t vl = strlen(value);
    char *json = malloc(vl + 64);
    snprintf(json, vl + 64, "{\"value\": \"%s\", \"ttl\": %d}", value, ttl);
    int st = post(n, name, json, NULL);
    free(json);
    return st;
}

/* ---- setup ---- */
static int group_setup(void **state)
{
    (void)state;
    if (itest_node_init(&g_node) != 0)
        return -1;
    return itest_node_start(&g_node, g_env);
}

static int group_teardown(void **state)
{
    (void)state;
    int st = itest_node_stop(&g_node, SIGTERM);
    itest_node_cleanup(&g_node);
    return st == 0 ? 0 : -1;
}

/* ---- tests on the shared node ---- */
static void t_publish_dig_udp_tcp(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "hello.mesh.test", "v=dmp1;t=chunk;d=aGVsbG8=", 300), 201);
    assert_string_equal(g_body, "{\"ok\": true}");
    assert_int_equal(get(&g_node, "/v1/records/hello.mesh.test"), 200);
    assert_string_equal(
        g_body, "{\"name\": \"hello.mesh.test\", \"values\": [\"v=dmp1;t=chunk;d=aGVsbG8=\"]}");
    for (int tcp = 0; tcp < 2; tcp++) {
        reply_t r;
        assert_int_equal(query(&g_node, tcp, "hello.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
        assert_int_equal(rcode_of(&r), 0);
        assert_true(ldns_pkt_aa(r.pkt));
        assert_int_equal(ancount(&r), 1);
        char v[4096];
        size_t ns;
        txt_value(&r, 0, v, sizeof(v), &ns);
        assert_string_equal(v, "v=dmp1;t=chunk;d=aGVsbG8=");
        assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0)), 60);
        reply_free(&r);
    }
    /* a second value appends */
    assert_int_equal(post_value(&g_node, "hello.mesh.test", "second", 300), 201);
    reply_t r;
    assert_int_equal(query(&g_node, false, "hello.mesh.test", LDNS_RR_TYPE_TXT, 1232, &r), 0);
    assert_int_equal(ancount(&r), 2);
    reply_free(&r);
}

static void t_long_value_and_case(void **state)
{
    (void)state;
    char v[601];
    for (int i = 0; i < 600; i++)
        v[i] = (char)('A' + i % 26);
    v[600] = 0;
    assert_int_equal(post_value(&g_node, "Long.Mesh.Test", v, 300), 201);
    reply_t r;
    assert_int_equal(query(&g_node, false, "lOnG.mEsH.tEsT", LDNS_RR_TYPE_TXT, 4096, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    char got[4096];
    size_t ns;
    assert_int_equal(txt_value(&r, 0, got, sizeof(got), &ns), 600);
    assert_int_equal(ns, 3); /* 255 + 255 + 90 */
    assert_string_equal(got, v);
    /* the answer owner echoes the question's case */
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    char *owner = ldns_rdf2str(ldns_rr_owner(rr));
    assert_string_equal(owner, "lOnG.mEsH.tEsT.");
    free(owner);
    reply_free(&r);
}

static void t_negative_answers(void **state)
{
    (void)state;
    reply_t r;
    /* NXDOMAIN with the SOA in authority */
    assert_int_equal(query(&g_node, false, "missing.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), LDNS_RCODE_NXDOMAIN);
    assert_int_equal(ancount(&r), 0);
    assert_int_equal(nscount(&r), 1);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0)),
                     LDNS_RR_TYPE_SOA);
    reply_free(&r);
    /* same over TCP */
    assert_int_equal(query(&g_node, true, "missing.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), LDNS_RCODE_NXDOMAIN);
    reply_free(&r);
    /* NODATA: existing name, other type */
    assert_int_equal(post_value(&g_node, "nodata.mesh.test", "x", 300), 201);
    assert_int_equal(query(&g_node, false, "nodata.mesh.test", LDNS_RR_TYPE_AAAA, -1, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    assert_int_equal(ancount(&r), 0);
    assert_int_equal(nscount(&r), 1);
    reply_free(&r);
    /* apex A and SOA */
    assert_int_equal(query(&g_node, false, "MESH.test", LDNS_RR_TYPE_A, -1, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    assert_int_equal(ancount(&r), 1);
    char *a = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), 0));
    assert_string_equal(a, "192.0.2.1");
    free(a);
    reply_free(&r);
    assert_int_equal(query(&g_node, true, "mesh.test", LDNS_RR_TYPE_SOA, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
    char *mname = ldns_rdf2str(ldns_rr_rdf(soa, 0));
    assert_string_equal(mname, "ns1.mesh.test.");
    free(mname);
    assert_true(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) > 1700000000u);
    reply_free(&r);
    /* TXT at the apex with no records: NODATA, not NXDOMAIN */
    assert_int_equal(query(&g_node, false, "mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    assert_int_equal(ancount(&r), 0);
    reply_free(&r);
    /* outside the served zone: REFUSED */
    assert_int_equal(query(&g_node, false, "example.org", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), LDNS_RCODE_REFUSED);
    reply_free(&r);
}

static uint32_t soa_serial(const itest_node_t *n)
{
    reply_t r;
    assert_int_equal(query(n, false, "mesh.test", LDNS_RR_TYPE_SOA, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    uint32_t serial =
        ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), 2));
    reply_free(&r);
    return serial;
}

/* RFC 1982/1996 (docs/dns.md): the SOA serial changes when the zone does, not with the clock. */
static void t_soa_serial(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "serial.mesh.test", "a", 300), 201);
    uint32_t s0 = soa_serial(&g_node);
    assert_true(s0 > 1700000000u);
    sleep_ms(1100);
    assert_int_equal(soa_serial(&g_node), s0); /* nothing written: same serial */
    assert_int_equal(post_value(&g_node, "serial.mesh.test", "b", 300), 201);
    uint32_t s1 = soa_serial(&g_node);
    assert_true(s1 > s0); /* a write a second later advances it */
    sleep_ms(1100);
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/serial.mesh.test", NULL, "", 0,
                                g_body, sizeof(g_body)),
                     204);
    assert_true(soa_serial(&g_node) > s1);
}

static void t_rcodes(void **state)
{
    (void)state;
    uint8_t q[600], resp[4096];
    /* NOTIMP for opcode NOTIFY (4) and UPDATE (5) */
    for (uint8_t op = 4; op <= 5; op++) {
        size_t ql = itest_build_query(q, sizeof(q), 0x1234, "hello.mesh.test", 6, -1, 0, op);
        int l = itest_udp(&g_node, q, ql, resp, sizeof(resp), 3000);
        assert_true(l >= 12);
        assert_int_equal(resp[3] & 0xf, LDNS_RCODE_NOTIMPL);
        assert_int_equal(resp[2] & 0x80, 0x80);
    }
    /* FORMERR: no question */
    size_t ql = itest_build_query(q, sizeof(q), 0x2345, "hello.mesh.test", 16, -1, 0, 0);
    q[5] = 0;
    int l = itest_udp(&g_node, q, ql, resp, sizeof(resp), 3000);
    assert_true(l >= 12);
    assert_int_equal(resp[3] & 0xf, LDNS_RCODE_FORMERR);
    /* BADVERS: EDNS version 1 */
    reply_t r;
    ql = itest_build_query(q, sizeof(q), 0x3456, "hello.mesh.test", 16, 1232, 1, 0);
    r.len = itest_udp(&g_node, q, ql, r.raw, sizeof(r.raw), 3000);
    assert_true(r.len > 12);
    r.pkt = NULL;
    assert_int_equal(ldns_wire2pkt(&r.pkt, r.raw, (size_t)r.len), LDNS_STATUS_OK);
    assert_int_equal(rcode_of(&r), 16);
    reply_free(&r);
}

static void t_truncation(void **state)
{
    (void)state;
    char v[241];
    for (int k = 0; k < 3; k++) {
        memset(v, 'a' + k, 240);
        v[240] = 0;
        assert_int_equal(post_value(&g_node, "big.mesh.test", v, 300), 201);
    }
    reply_t r;
    assert_int_equal(query(&g_node, false, "big.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_true(tc_of(&r));
    assert_int_equal(ancount(&r), 0);
    reply_free(&r);
    assert_int_equal(query(&g_node, false, "big.mesh.test", LDNS_RR_TYPE_TXT, 4096, &r), 0);
    assert_false(tc_of(&r));
    assert_int_equal(ancount(&r), 3);
    reply_free(&r);
    assert_int_equal(query(&g_node, true, "big.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_false(tc_of(&r));
    assert_int_equal(ancount(&r), 3);
    reply_free(&r);
}

static void assert_still_serving(void)
{
    reply_t r;
    assert_int_equal(query(&g_node, false, "hello.mesh.test", LDNS_RR_TYPE_TXT, 1232, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    assert_true(ancount(&r) >= 1);
    reply_free(&r);
    assert_int_equal(query(&g_node, true, "hello.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), 0);
    reply_free(&r);
}

static void t_hostile_udp(void **state)
{
    (void)state;
    uint8_t resp[4096], q[600];
    /* truncated header: no reply */
    uint8_t tiny[5] = {1, 2, 0, 0, 0};
    assert_int_equal(itest_udp(&g_node, tiny, sizeof(tiny), resp, sizeof(resp), 300), 0);
    /* a response (QR=1) is never answered */
    size_t ql = itest_build_query(q, sizeof(q), 7, "hello.mesh.test", 16, -1, 0, 0);
    q[2] |= 0x80;
    assert_int_equal(itest_udp(&g_node, q, ql, resp, sizeof(resp), 300), 0);
    /* label loop: the question name points at itself */
    uint8_t loop[] = {0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 16, 0, 1};
    int l = itest_udp(&g_node, loop, sizeof(loop), resp, sizeof(resp), 500);
    assert_true(l == 0 || (l >= 12 && (resp[3] & 0xf) == LDNS_RCODE_FORMERR));
    /* question cut in the middle of a label */
    ql = itest_build_query(q, sizeof(q), 8, "hello.mesh.test", 16, -1, 0, 0);
    l = itest_udp(&g_node, q, 16, resp, sizeof(resp), 500);
    assert_true(l == 0 || (l >= 12 && (resp[3] & 0xf) == LDNS_RCODE_FORMERR));
    /* garbage */
    srand(42);
    for (int i = 0; i < 200; i++) {
        uint8_t g[512];
        size_t gl = (size_t)(rand() % 512);
        for (size_t k = 0; k < gl; k++)
            g[k] = (uint8_t)rand();
        if (gl > 2)
            g[2] &= 0x7f; /* queries, so some get answered */
        itest_udp(&g_node, g, gl, resp, sizeof(resp), 5);
    }
    assert_still_serving();
}

static void t_hostile_tcp(void **state)
{
    (void)state;
    uint8_t buf[8];
    /* length 0 -> closed, no reply */
    int fd = itest_connect_tcp(&g_node, g_node.dns_port);
    assert_true(fd >= 0);
    uint8_t zero[2] = {0, 0};
    assert_int_equal(send(fd, zero, 2, MSG_NOSIGNAL), 2);
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    assert_true(r <= 0);
    close(fd);
    /* huge length, a few bytes, then silence: others are still served */
    fd = itest_connect_tcp(&g_node, g_node.dns_port);
    assert_true(fd >= 0);
    uint8_t huge[6] = {0xff, 0xff, 1, 2, 3, 4};
    assert_int_equal(send(fd, huge, sizeof(huge), MSG_NOSIGNAL), 6);
    /* slow client: one byte of a length prefix and a stall */
    int slow = itest_connect_tcp(&g_node, g_node.dns_port);
    assert_true(slow >= 0);
    assert_int_equal(send(slow, zero, 1, MSG_NOSIGNAL), 1);
    /* many idle connections */
    int idle[20];
    for (int i = 0; i < 20; i++)
        idle[i] = itest_connect_tcp(&g_node, g_node.dns_port);
    for (int i = 0; i < 3; i++)
        assert_still_serving();
    /* a promised body that never arrives does not break later queries */
    uint8_t promise[2] = {0, 100};
    int pfd = itest_connect_tcp(&g_node, g_node.dns_port);
    assert_true(pfd >= 0);
    assert_int_equal(send(pfd, promise, 2, MSG_NOSIGNAL), 2);
    close(pfd);
    assert_still_serving();
    for (int i = 0; i < 20; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    close(slow);
    close(fd);
    /* pipelined queries on one connection are all answered (RFC 7766) */
    fd = itest_connect_tcp(&g_node, g_node.dns_port);
    assert_true(fd >= 0);
    uint8_t q[600], frame[2000];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        size_t ql =
            itest_build_query(q, sizeof(q), (uint16_t)(100 + i), "hello.mesh.test", 16, -1, 0, 0);
        frame[off++] = (uint8_t)(ql >> 8);
        frame[off++] = (uint8_t)ql;
        memcpy(frame + off, q, ql);
        off += ql;
    }
    assert_int_equal(send(fd, frame, off, MSG_NOSIGNAL), (ssize_t)off);
    int answers = 0;
    uint8_t in[8192];
    size_t have = 0;
    while (answers < 3) {
        struct pollfd pp = {fd, POLLIN, 0};
        if (poll(&pp, 1, 3000) <= 0)
            break;
        ssize_t n = recv(fd, in + have, sizeof(in) - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
        while (have >= 2) {
            size_t l = (size_t)in[0] << 8 | in[1];
            if (have < l + 2)
                break;
            answers++;
            memmove(in, in + l + 2, have - l - 2);
            have -= l + 2;
        }
    }
    close(fd);
    assert_int_equal(answers, 3);
}

static void t_http_errors(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "keep.mesh.test", "keep-me", 300), 201);
    /* oversized body, announced by Content-Length: 413, nothing written */
    size_t big = 100000; /* over the records cap, 6 x the value cap + 4096 */
    char *body = malloc(big + 1);
    memset(body, 'x', big);
    memcpy(body, "{\"value\": \"", 11);
    memcpy(body + big - 2, "\"}", 2);
    body[big] = 0;
    int st = itest_http(&g_node, "POST", "/v1/records/keep.mesh.test", NULL, body, big, g_body,
                        sizeof(g_body));
    assert_true(st == 413 || st == -1);
    /* chunked body: refused up front with 411 (bodies must announce their Content-Length, so
     * a huge chunk size cannot hold the connection; see node_http_slow.py), nothing written */
    {
        int fd = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fd >= 0);
        const char *h = "POST /v1/records/keep.mesh.test HTTP/1.1\r\nHost: x\r\n"
                        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        send(fd, h, strlen(h), MSG_NOSIGNAL);
        char ch[64];
        for (int i = 0; i < 5; i++) {
            int cl = snprintf(ch, sizeof(ch), "%x\r\n", 5000);
            send(fd, ch, (size_t)cl, MSG_NOSIGNAL);
            send(fd, body, 5000, MSG_NOSIGNAL);
            send(fd, "\r\n", 2, MSG_NOSIGNAL);
        }
        send(fd, "0\r\n\r\n", 5, MSG_NOSIGNAL);
        char resp[2048] = {0};
        size_t got = 0;
        for (int i = 0; i < 50 && got < sizeof(resp) - 1; i++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 200) <= 0)
                continue;
            ssize_t n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fd);
        assert_non_null(strstr(resp, " 411 "));
    }
    free(body);
    assert_int_equal(get(&g_node, "/v1/records/keep.mesh.test"), 200);
    assert_string_equal(g_body, "{\"name\": \"keep.mesh.test\", \"values\": [\"keep-me\"]}");

    /* bodies and fields, in the reference's order and words */
    assert_int_equal(post(&g_node, "keep.mesh.test", "not json", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid body\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "[1,2]", NULL), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"x\", \"ttl\": 0}", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"value (str) and ttl (int > 0) required\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": 5}", NULL), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"x\", \"ttl\": 999999}", NULL),
                     400);
    assert_string_equal(g_body, "{\"error\": \"ttl exceeds cap of 86400s\"}");
    char *lv = malloc(13000);
    memset(lv, 'v', 12289);
    lv[12289] = 0;
    assert_int_equal(post_value(&g_node, "keep.mesh.test", lv, 60), 400);
    assert_string_equal(g_body, "{\"error\": \"value exceeds cap of 12288 bytes\"}");
    free(lv);
    assert_int_equal(post_value(&g_node, "bad..name.mesh.test", "x", 60), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid record name\"}");
    assert_int_equal(post_value(&g_node, "-bad.mesh.test", "x", 60), 400);
    assert_int_equal(post_value(&g_node, "a%0Ab.mesh.test", "x", 60), 400);
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"a\\nb\"}", NULL), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid record value\"}");
    assert_int_equal(post(&g_node, "keep.mesh.test", "{\"value\": \"a\\\"b\"}", NULL), 400);
    /* unknown path, unknown method */
    assert_int_equal(get(&g_node, "/nope"), 404);
    assert_string_equal(g_body, "{\"error\": \"not found\"}");
    assert_int_equal(get(&g_node, "/v1/records/absent.mesh.test"), 404);
    assert_string_equal(g_body, "{\"name\": \"absent.mesh.test\", \"values\": []}");
    /* nothing of the above changed the record */
    assert_int_equal(get(&g_node, "/v1/records/keep.mesh.test"), 200);
    assert_string_equal(g_body, "{\"name\": \"keep.mesh.test\", \"values\": [\"keep-me\"]}");
    assert_int_equal(get(&g_node, "/health"), 200);
    assert_string_equal(g_body, "{\"status\": \"ok\"}");
}

static void t_rrset_cap(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "one", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "two", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "three", 300), 201);
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "four", 300), 413);
    assert_string_equal(g_body, "{\"error\": \"RRset at cap.mesh.test already holds 3 values\"}");
    assert_int_equal(post_value(&g_node, "cap.mesh.test", "two", 300), 201); /* refresh ok */
}

static void t_http_slow_clients(void **state)
{
    (void)state;
    /* clients that send half a request and stall do not block anyone else */
    int fds[12];
    for (int i = 0; i < 12; i++) {
        fds[i] = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fds[i] >= 0);
        const char *part = (i % 2) ? "POST /v1/records/slow.mesh.test HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Length: 100\r\n\r\n{\"val"
                                   : "GET /heal";
        send(fds[i], part, strlen(part), MSG_NOSIGNAL);
    }
    for (int i = 0; i < 5; i++) {
        assert_int_equal(get(&g_node, "/health"), 200);
        assert_int_equal(post_value(&g_node, "fast.mesh.test", "ok", 60), 201);
    }
    for (int i = 0; i < 12; i++)
        close(fds[i]);
    assert_int_equal(get(&g_node, "/v1/records/slow.mesh.test"), 404);
}

/* Reads from fd until `want` HTTP status lines arrived, EOF, or 3 s passed. Returns how many
 * status lines were seen; `out` gets the NUL-terminated bytes. */
static int read_http_responses(int fd, int want, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int waited = 0; waited < 3000;) {
        int seen = 0;
        for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
            seen++;
        if (seen >= want)
            return seen;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        ssize_t r = recv(fd, out + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        out[len] = 0;
    }
    int seen = 0;
    for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        seen++;
    return seen;
}

/* HTTP/1.1 keep-alive and pipelining: a GET must not end the connection, and requests sent
 * behind it on the same connection are answered in order. */
static void t_http_pipelining(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "pipe.mesh.test", "p1", 300), 201);
    int fd = itest_connect_tcp(&g_node, g_node.http_port);
    assert_true(fd >= 0);
    const char *reqs = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /v1/records/pipe.mesh.test HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /v1/records/pipe.mesh.test HTTP/1.1\r\nHost: x\r\n"
                       "Content-Length: 24\r\n\r\n{\"value\":\"p2\",\"ttl\":300}"
                       "GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, reqs, strlen(reqs), MSG_NOSIGNAL), (ssize_t)strlen(reqs));
    static char buf[16384];
    int n = read_http_responses(fd, 4, buf, sizeof(buf));
    close(fd);
    assert_int_equal(n, 4);
    const char *a = strstr(buf, "HTTP/1.1 200");
    assert_non_null(a);
    const char *b = strstr(a + 1, "\"values\": [\"p1\"]");
    assert_non_null(b);
    const char *c = strstr(b, "HTTP/1.1 201");
    assert_non_null(c);
    assert_non_null(strstr(c, "\"records\": "));
    /* the pipelined POST landed */
    assert_int_equal(get(&g_node, "/v1/records/pipe.mesh.test"), 200);
    assert_non_null(strstr(g_body, "\"p2\""));
}

/* Many concurrent publishers of distinct values on one name: the cap holds exactly. */
static void t_rrset_cap_concurrent(void **state)
{
    (void)state;
    enum { N = 12 };
    int fds[N];
    char req[512];
    for (int i = 0; i < N; i++) {
        fds[i] = itest_connect_tcp(&g_node, g_node.http_port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        char body[64];
        int bl = snprintf(body, sizeof(body), "{\"value\": \"v%d\", \"ttl\": 300}", i);
        int rl = snprintf(
            req, sizeof(req),
            "POST /v1/records/race.mesh.test HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s", bl, body);
        assert_int_equal(send(fds[i], req, (size_t)rl, MSG_NOSIGNAL), rl);
    }
    int created = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        char resp[1024] = {0};
        size_t got = 0;
        for (int k = 0; k < 100 && got < sizeof(resp) - 1; k++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = recv(fds[i], resp + got, sizeof(resp) - 1 - got, 0);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        close(fds[i]);
        if (strstr(resp, " 201 "))
            created++;
        else if (strstr(resp, " 413 "))
            refused++;
    }
    assert_int_equal(created, 3);
    assert_int_equal(refused, N - 3);
}

static void t_delete(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "del.mesh.test", "a", 300), 201);
    assert_int_equal(post_value(&g_node, "del.mesh.test", "b", 300), 201);
    /* a malformed or non-object body deletes nothing */
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL, "{oops", 5,
                                g_body, sizeof(g_body)),
                     400);
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL, "\"a\"", 3,
                                g_body, sizeof(g_body)),
                     400);
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL,
                                "{\"value\": 7}", 12, g_body, sizeof(g_body)),
                     400);
    reply_t r;
    assert_int_equal(query(&g_node, false, "del.mesh.test", LDNS_RR_TYPE_TXT, 1232, &r), 0);
    assert_int_equal(ancount(&r), 2);
    reply_free(&r);
    /* one value */
    const char *one = "{\"value\": \"a\"}";
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL, one,
                                strlen(one), g_body, sizeof(g_body)),
                     204);
    assert_int_equal(query(&g_node, false, "del.mesh.test", LDNS_RR_TYPE_TXT, 1232, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    /* all, then nothing left */
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL, NULL, 0,
                                g_body, sizeof(g_body)),
                     204);
    assert_int_equal(itest_http(&g_node, "DELETE", "/v1/records/del.mesh.test", NULL, NULL, 0,
                                g_body, sizeof(g_body)),
                     404);
    assert_int_equal(query(&g_node, true, "del.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), LDNS_RCODE_NXDOMAIN);
    reply_free(&r);
}

/* Expects NOERROR with no answer and the apex SOA in authority (NODATA), or NXDOMAIN. */
static void expect_negative(const char *name, uint16_t qtype, int want_rcode)
{
    for (int tcp = 0; tcp < 2; tcp++) {
        reply_t r;
        assert_int_equal(query(&g_node, tcp, name, qtype, -1, &r), 0);
        if (rcode_of(&r) != want_rcode)
            fprintf(stderr, "%s type %u: rcode %d, want %d\n", name, qtype, rcode_of(&r),
                    want_rcode);
        assert_int_equal(rcode_of(&r), want_rcode);
        assert_true(ldns_pkt_aa(r.pkt));
        assert_int_equal(ancount(&r), 0);
        assert_int_equal(nscount(&r), 1);
        assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0)),
                         LDNS_RR_TYPE_SOA);
        reply_free(&r);
    }
}

/* RFC 8020 / RFC 9156: a name with records below it (the mb-<hash> above slot-N.mb-<hash>)
 * exists: NODATA, never NXDOMAIN, for every type; the negative cache keeps up with writes. */
static void t_empty_non_terminal(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "slot-1.mb-abc123.mesh.test", "v=dmp1;t=slot", 300), 201);
    /* twice each: the second answer comes from the shard's cache ("exists, no values") */
    for (int round = 0; round < 2; round++) {
        expect_negative("mb-abc123.mesh.test", LDNS_RR_TYPE_A, 0);
        expect_negative("mb-abc123.mesh.test", LDNS_RR_TYPE_TXT, 0);
        expect_negative("mb-abc123.mesh.test", LDNS_RR_TYPE_NS, 0);
        expect_negative("MB-ABC123.mesh.test", LDNS_RR_TYPE_TXT, 0);
    }
    /* the record itself is still answered */
    reply_t r;
    assert_int_equal(query(&g_node, false, "slot-1.mb-abc123.mesh.test", LDNS_RR_TYPE_TXT, -1, &r),
                     0);
    assert_int_equal(rcode_of(&r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    /* not ancestors: absent names stay NXDOMAIN */
    expect_negative("nothing.mesh.test", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    expect_negative("abc123.mesh.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN);
    expect_negative("b-abc123.mesh.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN);
    expect_negative("x.slot-1.mb-abc123.mesh.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN);

    /* Negative-cache invalidation across shards: pick a mailbox whose name and slot live on
     * different shards (4 shards, as the node is configured). */
    char mb[64], slot[80];
    for (int i = 0;; i++) {
        assert_true(i < 1000);
        snprintf(mb, sizeof(mb), "mb-new%d.mesh.test", i);
        snprintf(slot, sizeof(slot), "slot-0.%s", mb);
        if (dmp_dns_name_hash(mb, strlen(mb)) % 4 != dmp_dns_name_hash(slot, strlen(slot)) % 4)
            break;
    }
    expect_negative(mb, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN); /* now cached negative */
    expect_negative(mb, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN);
    assert_int_equal(post_value(&g_node, slot, "v=dmp1;t=slot", 300), 201);
    expect_negative(mb, LDNS_RR_TYPE_A, 0); /* at once, not after the negative TTL */
    expect_negative(mb, LDNS_RR_TYPE_TXT, 0);
    /* a deeper write reaches every ancestor below the apex */
    char deep[128], mid[100];
    snprintf(mid, sizeof(mid), "b.%s", mb);
    snprintf(deep, sizeof(deep), "a.%s", mid);
    expect_negative(mid, LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN);
    assert_int_equal(post_value(&g_node, deep, "x", 300), 201);
    expect_negative(mid, LDNS_RR_TYPE_TXT, 0);
    expect_negative(mb, LDNS_RR_TYPE_TXT, 0);
}

static void t_expiry(void **state)
{
    (void)state;
    assert_int_equal(post_value(&g_node, "short.mesh.test", "gone-soon", 1), 201);
    reply_t r;
    assert_int_equal(query(&g_node, false, "short.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1); /* cached now */
    reply_free(&r);
    sleep_ms(1300);
    assert_int_equal(query(&g_node, false, "short.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(rcode_of(&r), LDNS_RCODE_NXDOMAIN);
    reply_free(&r);
    assert_int_equal(get(&g_node, "/v1/records/short.mesh.test"), 404);
    /* the sweep (every 0.2 s here) removes it from the store */
    bool swept = false;
    for (int i = 0; i < 50 && !swept; i++) {
        assert_int_equal(get(&g_node, "/metrics"), 200);
        const char *m = strstr(g_body, "\ndmp_sweep_removed_total ");
        swept = m && atoi(m + strlen("\ndmp_sweep_removed_total ")) >= 1;
        if (!swept)
            sleep_ms(100);
    }
    assert_true(swept);
}

static long sweep_runs(void)
{
    assert_int_equal(get(&g_node, "/metrics"), 200);
    const char *m = strstr(g_body, "\ndmp_sweep_runs_total ");
    assert_non_null(m);
    return atol(m + strlen("\ndmp_sweep_runs_total "));
}

/* The sweep runs every DMP_CLEANUP_INTERVAL (0.2 s here), not back to back: its timed wait once
 * used the wrong clock and returned at once, so the sweep spun on a core. */
static void t_sweep_interval(void **state)
{
    (void)state;
    long before = sweep_runs();
    sleep_ms(1000);
    long ran = sweep_runs() - before;
    print_message("sweeps in 1 s at a 0.2 s interval: %ld\n", ran);
    assert_true(ran >= 2);
    assert_true(ran <= 8);
}

static void t_metrics(void **state)
{
    (void)state;
    assert_int_equal(get(&g_node, "/metrics"), 200);
    assert_non_null(strstr(g_body, "# TYPE dmp_dns_queries_total counter"));
    assert_non_null(strstr(g_body, "dmp_dns_queries_total{outcome=\"noerror\"}"));
    assert_non_null(strstr(g_body, "dmp_dns_queries_total{outcome=\"nxdomain\"}"));
    assert_non_null(strstr(g_body, "dmp_dns_queries_by_type_total{qtype=\"TXT\"}"));
    assert_non_null(strstr(g_body, "dmp_dns_handle_seconds_bucket{le=\"+Inf\"}"));
    assert_non_null(strstr(g_body, "dmp_http_requests_total{method=\"POST\",status=\"201\"}"));
    assert_non_null(strstr(g_body, "\ndmp_records "));
    assert_non_null(strstr(g_body, "dmp_ring_depth "));
    assert_non_null(strstr(g_body, "dmp_cache_lookups_total{result=\"hit\"}"));
    assert_non_null(strstr(g_body, "dmp_writes_total{op=\"put\"}"));
    assert_int_equal(get(&g_node, "/stats"), 200);
    assert_non_null(strstr(g_body, "{\"records\": "));
}

/* ---- tests with their own node ---- */
static void t_auth_legacy(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    const char *env[] = {"DMP_OPERATOR_TOKEN=s3cret-token", NULL};
    assert_int_equal(itest_node_start(&n, env), 0);
    assert_int_equal(post_value(&n, "a.mesh.test", "x", 60), 401);
    assert_string_equal(g_body, "{\"error\": \"unauthorized\"}");
    assert_int_equal(
        post(&n, "a.mesh.test", "{\"value\": \"x\"}", "Authorization: Bearer nope\r\n"), 401);
    assert_int_equal(
        post(&n, "a.mesh.test", "{\"value\": \"x\"}", "Authorization: Bearer s3cret-token\r\n"),
        201);
    assert_int_equal(get(&n, "/metrics"), 401);
    assert_int_equal(itest_http(&n, "GET", "/metrics", "Authorization: Bearer s3cret-token\r\n",
                                NULL, 0, g_body, sizeof(g_body)),
                     200);
    assert_int_equal(get(&n, "/v1/records/a.mesh.test"), 401);
    assert_int_equal(get(&n, "/health"), 200);
    assert_int_equal(
        itest_http(&n, "DELETE", "/v1/records/a.mesh.test", NULL, NULL, 0, g_body, sizeof(g_body)),
        401);
    assert_int_equal(itest_node_stop(&n, SIGINT), 0);
    itest_node_cleanup(&n);
}

static void t_bad_config(void **state)
{
    (void)state;
    char err[2048];
    const char *e1[] = {"DMP_DNS_PORT=abc", "DMP_HTTP_HOST=127.0.0.1", NULL};
    assert_int_equal(itest_run_once(e1, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_DNS_PORT"));
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* exactly one line */
    const char *e2[] = {"DMP_HTTP_HOST=0.0.0.0", NULL};
    assert_int_equal(itest_run_once(e2, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_ALLOW_OPEN_PUBLIC_BIND"));
    const char *e3[] = {"DMP_HTTP_HOST=127.0.0.1", NULL};
    const char *a3[] = {"--dns-ttl=-5", NULL};
    assert_int_equal(itest_run_once(e3, a3, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_DNS_TTL"));
    const char *e4[] = {"DMP_HTTP_HOST=127.0.0.1", "DMP_AUTH_MODE=bogus", NULL};
    assert_int_equal(itest_run_once(e4, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "DMP_AUTH_MODE"));
    const char *a5[] = {"--help", NULL};
    assert_int_equal(itest_run_once(NULL, a5, err, sizeof(err)), 0);
}

static void t_restart_persistence(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    assert_int_equal(post_value(&n, "persist.mesh.test", "still-here", 3600), 201);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    reply_t r;
    assert_int_equal(query(&n, false, "persist.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static void t_kill9_keeps_acked(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    char name[64], val[64];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "k%d.mesh.test", i);
        snprintf(val, sizeof(val), "value-%d", i);
        assert_int_equal(post_value(&n, name, val, 3600), 201);
    }
    assert_int_equal(itest_node_stop(&n, SIGKILL), 128 + SIGKILL);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "k%d.mesh.test", i);
        snprintf(val, sizeof(val), "value-%d", i);
        reply_t r;
        assert_int_equal(query(&n, i % 2, name, LDNS_RR_TYPE_TXT, -1, &r), 0);
        assert_int_equal(ancount(&r), 1);
        char got[128];
        size_t ns;
        txt_value(&r, 0, got, sizeof(got), &ns);
        assert_string_equal(got, val);
        reply_free(&r);
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* SIGTERM with writes in flight: every acknowledged write survives, the exit is clean. */
static void t_sigterm_drains_writes(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    enum { N = 24 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = itest_connect_tcp(&n, n.http_port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        char body[64], req[256];
        int bl = snprintf(body, sizeof(body), "{\"value\": \"d%d\", \"ttl\": 600}", i);
        int rl = snprintf(req, sizeof(req),
                          "POST /v1/records/drain%d.mesh.test HTTP/1.0\r\n"
                          "Content-Length: %d\r\n\r\n%s",
                          i, bl, body);
        send(fds[i], req, (size_t)rl, MSG_NOSIGNAL);
    }
    kill(n.pid, SIGTERM);
    bool acked[N];
    int nacked = 0;
    for (int i = 0; i < N; i++) {
        char resp[1024] = {0};
        size_t got = 0;
        for (int k = 0; k < 100 && got < sizeof(resp) - 1; k++) {
            struct pollfd p = {fds[i], POLLIN, 0};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t r = recv(fds[i], resp + got, sizeof(resp) - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fds[i]);
        acked[i] = strstr(resp, " 201 ") != NULL;
        nacked += acked[i];
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    assert_int_equal(itest_node_start(&n, NULL), 0);
    for (int i = 0; i < N; i++) {
        if (!acked[i])
            continue;
        char path[64];
        snprintf(path, sizeof(path), "/v1/records/drain%d.mesh.test", i);
        assert_int_equal(get(&n, path), 200);
    }
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
    print_message("  %d of %d writes acknowledged before shutdown, all present after restart\n",
                  nacked, N);
}

static void t_rate_limit(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    const char *env[] = {"DMP_DNS_RATE=0.5", "DMP_DNS_BURST=5", "DMP_HTTP_RATE=0.1",
                         "DMP_HTTP_BURST=2", NULL};
    assert_int_equal(itest_node_start(&n, env), 0);
    uint8_t q[600], resp[4096];
    int answered = 0, tc = 0, silent = 0;
    for (int i = 0; i < 20; i++) {
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, "x.mesh.test", 16, -1, 0, 0);
        int l = itest_udp(&n, q, ql, resp, sizeof(resp), 400);
        if (l <= 0)
            silent++;
        else if (resp[2] & 0x02)
            tc++;
        else
            answered++;
    }
    /* burst 5 plus at most a few refilled tokens (0.5/s) while the loop runs */
    assert_true(answered >= 5 && answered <= 9);
    assert_true(tc >= 3);     /* every 2nd limited answer slips with TC=1 */
    assert_true(silent >= 3); /* the others are dropped */
    assert_true(tc + silent + answered == 20);
    /* the TCP retry has its own bucket */
    reply_t r;
    assert_int_equal(query(&n, true, "x.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    reply_free(&r);
    /* a limited TCP query is closed without a reply */
    int closed = 0;
    for (int i = 0; i < 8; i++) {
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, "x.mesh.test", 16, -1, 0, 0);
        if (itest_tcp(&n, q, ql, resp, sizeof(resp), 2000) <= 0)
            closed++;
    }
    assert_true(closed >= 3);
    assert_int_equal(get(&n, "/metrics"), 200);
    assert_non_null(strstr(g_body, "dmp_dns_drops_total{reason=\"rate_limited\"}"));
    /* HTTP: a per-IP bucket on the record routes only */
    assert_int_equal(get(&n, "/v1/records/x.mesh.test"), 404);
    assert_int_equal(post_value(&n, "x.mesh.test", "v", 60), 201);
    assert_int_equal(get(&n, "/v1/records/x.mesh.test"), 429);
    assert_string_equal(g_body, "{\"error\": \"rate limit exceeded\"}");
    assert_int_equal(get(&n, "/health"), 200);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static void t_ipv6(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    snprintf(n.host, sizeof(n.host), "::1");
    if (itest_node_start(&n, NULL) != 0) {
        itest_node_cleanup(&n);
        skip(); /* no IPv6 loopback here */
    }
    assert_int_equal(post_value(&n, "six.mesh.test", "v6", 60), 201);
    reply_t r;
    assert_int_equal(query(&n, false, "six.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(query(&n, true, "six.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* Opens up to n TCP connections to the node's DNS port (fds[] gets them, -1 for failures). */
static void open_conns(const itest_node_t *n, int *fds, int count)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)n->dns_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    for (int i = 0; i < count; i++) {
        /* non-blocking connect bounded to 3 s (a SYN dropped on a full backlog is resent after
         * 1 s); the first failure ends the loop, so the test stays bounded */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fds[i] < 0)
            continue;
        if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) != 0) {
            struct pollfd pf = {fds[i], POLLOUT, 0};
            int err = 0;
            socklen_t el = sizeof(err);
            if (errno != EINPROGRESS || poll(&pf, 1, 3000) != 1 ||
                getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                close(fds[i]);
                for (int j = i; j < count; j++)
                    fds[j] = -1; /* the node stopped accepting: do not wait for the rest */
                return;
            }
        }
        int fl = fcntl(fds[i], F_GETFL);
        fcntl(fds[i], F_SETFL, fl & ~O_NONBLOCK);
    }
}

static void close_conns(int *fds, int count)
{
    for (int i = 0; i < count; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* A fresh TCP connection is dealt with promptly: answered, or accepted and closed at once
 * (over the connection cap). It must not sit unaccepted in the backlog (fd exhaustion). */
static bool tcp_prompt(const itest_node_t *n)
{
    uint8_t q[512], resp[1024];
    size_t ql = itest_build_query(q, sizeof(q), 7, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, 0, 0);
    return itest_tcp(n, q, ql, resp, sizeof(resp), 2000) >= 0;
}

/* File descriptors: a low soft RLIMIT_NOFILE is raised to the hard limit at start, and when
 * the hard limit is too low for the configured connection caps the caps are lowered to fit, so
 * many TCP clients cannot exhaust the descriptors the store and the HTTP API need. */
static void t_fd_limits(void **state)
{
    (void)state;
    enum { N = 300 };
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * N + 64 || rl.rlim_max < 4 * N)
        skip(); /* this test process itself needs the descriptors */
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_DNS_MAX_CONCURRENCY=40",
                                      NULL}; /* TCP cap 320 */
    static int fds[N];

    /* soft 128, hard unchanged: the node raises its soft limit and serves all N clients */
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    n.nofile_soft = 128;
    assert_int_equal(itest_node_start(&n, env), 0);
    open_conns(&n, fds, N);
    uint8_t q[512], resp[1024];
    size_t ql = itest_build_query(q, sizeof(q), 9, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, 0, 0);
    uint8_t fq[514];
    fq[0] = (uint8_t)(ql >> 8);
    fq[1] = (uint8_t)ql;
    memcpy(fq + 2, q, ql);
    assert_true(fds[N - 1] >= 0);
    assert_int_equal(send(fds[N - 1], fq, ql + 2, MSG_NOSIGNAL), (ssize_t)(ql + 2));
    struct pollfd pf = {fds[N - 1], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 3000), 1); /* the last client was accepted and answered */
    assert_true(recv(fds[N - 1], resp, sizeof(resp), 0) > 2);
    close_conns(fds, N);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);

    /* hard limit 200: the caps shrink to fit; extra clients are refused at once, and the HTTP
     * API and the store keep working */
    assert_int_equal(itest_node_init(&n), 0);
    n.nofile_soft = 200;
    n.nofile_hard = 200;
    assert_int_equal(itest_node_start(&n, env), 0);
    open_conns(&n, fds, N);
    assert_true(tcp_prompt(&n));
    assert_int_equal(post_value(&n, "fd.mesh.test", "still-writable", 60), 201);
    reply_t r;
    assert_int_equal(query(&n, false, "fd.mesh.test", LDNS_RR_TYPE_TXT, -1, &r), 0);
    assert_int_equal(ancount(&r), 1);
    reply_free(&r);
    close_conns(fds, N);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* ---- a write is visible over DNS right after its 201, while queries keep the name hot ---- */

typedef struct {
    itest_node_t *node;
    _Atomic int stop;
    _Atomic int round; /* which names the load threads ask for */
    _Atomic long sent, unanswered;
} hot_t;

static hot_t g_hot;

static void *hot_load(void *arg)
{
    (void)arg;
    uint8_t q[600], resp[4096];
    time_t until = time(NULL) + 60;
    for (long i = 0; i < 2000000 && !atomic_load(&g_hot.stop) && time(NULL) < until; i++) {
        int k = atomic_load(&g_hot.round);
        char nm[64];
        switch (i % 3) {
        case 0:
            snprintf(nm, sizeof(nm), "hot%d.mesh.test", k);
            break;
        case 1:
            snprintf(nm, sizeof(nm), "nx%d.mesh.test", k);
            break;
        default:
            snprintf(nm, sizeof(nm), "p%d.mesh.test", k);
            break;
        }
        size_t ql = itest_build_query(q, sizeof(q), (uint16_t)i, nm, LDNS_RR_TYPE_TXT, -1, 0, 0);
        if (ql == 0 || itest_udp(g_hot.node, q, ql, resp, sizeof(resp), 1000) <= 0)
            atomic_fetch_add(&g_hot.unanswered, 1);
        atomic_fetch_add(&g_hot.sent, 1);
    }
    return NULL;
}

/* True when the TXT answer to name holds value (UDP, as resolvers ask first). */
static bool answer_has(const char *name, const char *value, int *rcode)
{
    reply_t r;
    *rcode = -1;
    if (query(g_hot.node, false, name, LDNS_RR_TYPE_TXT, 1232, &r) != 0)
        return false;
    *rcode = rcode_of(&r);
    bool found = false;
    for (size_t i = 0; i < ancount(&r) && !found; i++) {
        char v[4096];
        size_t ns;
        txt_value(&r, i, v, sizeof(v), &ns);
        found = strcmp(v, value) == 0;
    }
    reply_free(&r);
    return found;
}

static void t_write_visible_under_load(void **state)
{
    (void)state;
    /* its own node: no DNS rate limit nor RRL (the load comes from one address), several
     * shards, and the frontends answering cache hits (the default when RRL is off) */
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test",
                                      "DMP_MAX_VALUES_PER_NAME=3",
                                      "DMP_DNS_RATE=0",
                                      "DMP_DNS_BURST=0",
                                      "DMP_RRL_RATE=0", /* frontends answer only with RRL off */
                                      "DMP_SHARDS=4",
                                      "DMP_FRONTENDS=2",
                                      NULL};
    static itest_node_t node;
    assert_int_equal(itest_node_init(&node), 0);
    assert_int_equal(itest_node_start(&node, env), 0);
    memset(&g_hot, 0, sizeof(g_hot));
    g_hot.node = &node;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hot_load, NULL), 0);
    int stale = 0, rc;
    for (int k = 0; k < 12; k++) {
        char hot[64], nx[64], p[64], child[80], v[32];
        snprintf(hot, sizeof(hot), "hot%d.mesh.test", k);
        snprintf(nx, sizeof(nx), "nx%d.mesh.test", k);
        snprintf(p, sizeof(p), "p%d.mesh.test", k);
        snprintf(child, sizeof(child), "c.p%d.mesh.test", k);
        assert_int_equal(post_value(&node, hot, "first", 300), 201);
        atomic_store(&g_hot.round, k);
        sleep_ms(30); /* the load threads cache hot (answer), nx and p (NXDOMAIN) */
        for (int j = 2; j <= 3; j++) { /* DMP_MAX_VALUES_PER_NAME=3 */
            snprintf(v, sizeof(v), "value-%d", j);
            assert_int_equal(post_value(&node, hot, v, 300), 201);
            stale += !answer_has(hot, v, &rc);
            sleep_ms(5);
        }
        assert_int_equal(post_value(&node, nx, "now-here", 300), 201);
        stale += !answer_has(nx, "now-here", &rc);
        /* a name below p makes p an empty non-terminal: NODATA, no longer NXDOMAIN */
        assert_int_equal(post_value(&node, child, "below", 300), 201);
        answer_has(p, "-", &rc);
        stale += rc != 0;
    }
    atomic_store(&g_hot.stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(itest_node_stop(&node, SIGTERM), 0);
    itest_node_cleanup(&node);
    assert_int_equal(stale, 0);
    assert_true(atomic_load(&g_hot.sent) > 100);
    assert_int_equal(atomic_load(&g_hot.unanswered), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/dnsmeshd\n", argv[0]);
        return 77;
    }
    itest_bin = argv[1];
    if (access(itest_bin, X_OK) != 0) {
        fprintf(stderr, "skip: %s is not executable\n", itest_bin);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL));
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(t_publish_dig_udp_tcp),
        cmocka_unit_test(t_long_value_and_case),
        cmocka_unit_test(t_negative_answers),
        cmocka_unit_test(t_empty_non_terminal),
        cmocka_unit_test(t_soa_serial),
        cmocka_unit_test(t_rcodes),
        cmocka_unit_test(t_truncation),
        cmocka_unit_test(t_hostile_udp),
        cmocka_unit_test(t_hostile_tcp),
        cmocka_unit_test(t_http_errors),
        cmocka_unit_test(t_rrset_cap),
        cmocka_unit_test(t_rrset_cap_concurrent),
        cmocka_unit_test(t_http_slow_clients),
        cmocka_unit_test(t_http_pipelining),
        cmocka_unit_test(t_delete),
        cmocka_unit_test(t_expiry),
        cmocka_unit_test(t_sweep_interval),
        cmocka_unit_test(t_metrics),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test(t_auth_legacy),
        cmocka_unit_test(t_bad_config),
        cmocka_unit_test(t_restart_persistence),
        cmocka_unit_test(t_kill9_keeps_acked),
        cmocka_unit_test(t_sigterm_drains_writes),
        cmocka_unit_test(t_rate_limit),
        cmocka_unit_test(t_ipv6),
        cmocka_unit_test(t_fd_limits),
        cmocka_unit_test(t_write_visible_under_load),
    };
    int rc = cmocka_run_group_tests_name("node_shared", shared, group_setup, group_teardown);
    rc |= cmocka_run_group_tests_name("node_own", own, NULL, NULL);
    return rc;
}
