/* Integration tests: real dnsmeshd processes on ephemeral loopback ports with temporary stores,
 * queried over real UDP/TCP DNS and HTTP (replies decoded with ldns). argv[1] = dnsmeshd.
 * This file: answers over UDP and TCP, negative answers, serials, rcodes, truncation, hostile
 * packets, deletes, expiry, the sweep and /metrics, on one shared node. */
#include "integ_node.h"

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

static long sweep_runs(void)
{
    assert_int_equal(get(&g_node, "/metrics"), 200);
    const char *m = strstr(g_body, "\ndmp_sweep_runs_total ");
    assert_non_null(m);
    return atol(m + strlen("\ndmp_sweep_runs_total "));
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

int main(int argc, char **argv)
{
    int rc = integ_init(argc, argv);
    if (rc != 0) {
        return rc;
    }
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
        cmocka_unit_test(t_delete),
        cmocka_unit_test(t_expiry),
        cmocka_unit_test(t_sweep_interval),
        cmocka_unit_test(t_metrics),
    };
    return cmocka_run_group_tests_name("node_shared", shared, group_setup, group_teardown);
}
