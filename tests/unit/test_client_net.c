/* Unit tests for the client's transport and local state: resolver-answer parsing, the resolver
 * pool (failover, TCP retry on TC, union), the HTTP writer (concurrency, retry on 503, bearer,
 * error text), prekeys.db / intros.db, the replay cache and tokens. The DNS and HTTP peers are
 * in-process fakes on 127.0.0.1 ephemeral ports; nothing asserts on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "wire/wire.h"
#include "util/util.h"
#include "fake_http_body.h"

/* ---------------------------------------------------------------- fake DNS server */

typedef struct {
    const char *name;
    const char *values[4];
} zone_ent_t;

typedef struct {
    int udp, tcp;
    uint16_t port;
    const zone_ent_t *zone;
    size_t nzone;
    bool truncate_udp; /* answer UDP with TC and no records */
    atomic_int stop;
    atomic_int udp_queries, tcp_queries;
    pthread_t th;
} fake_dns_t;

static size_t answer(fake_dns_t *f, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap,
                     bool udp)
{
    ldns_pkt *qp = NULL;
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
        return 0;
    ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
    ldns_pkt *a = ldns_pkt_new();
    ldns_pkt_set_id(a, ldns_pkt_id(qp));
    ldns_pkt_set_qr(a, true);
    ldns_pkt_set_aa(a, true);
    ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    char *qn = ldns_rdf2str(ldns_rr_owner(qrr));
    size_t ql = strlen(qn);
    if (ql && qn[ql - 1] == '.')
        qn[--ql] = 0;
    bool found = false;
    for (size_t i = 0; i < f->nzone; i++) {
        if (strcasecmp(f->zone[i].name, qn) != 0)
            continue;
        found = true;
        if (udp && f->truncate_udp) {
            ldns_pkt_set_tc(a, true);
            break;
        }
        for (size_t v = 0; v < 4 && f->zone[i].values[v]; v++) {
            const char *val = f->zone[i].values[v];
            size_t vl = strlen(val);
            ldns_rr *rr = ldns_rr_new();
            ldns_rr_set_owner(rr, ldns_rdf_clone(ldns_rr_owner(qrr)));
            ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
            ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
            ldns_rr_set_ttl(rr, 60);
            for (size_t off = 0; off < vl; off += 255) {
                size_t k = vl - off < 255 ? vl - off : 255;
                uint8_t b[256];
                b[0] = (uint8_t)k;
                memcpy(b + 1, val + off, k);
                ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, k + 1, b));
            }
            ldns_pkt_push_rr(a, LDNS_SECTION_ANSWER, rr);
        }
    }
    if (!found)
        ldns_pkt_set_rcode(a, LDNS_RCODE_NXDOMAIN);
    free(qn);
    uint8_t *w = NULL;
    size_t wl = 0;
    ldns_pkt2wire(&w, a, &wl);
    ldns_pkt_free(a);
    ldns_pkt_free(qp);
    if (!w || wl > cap) {
        free(w);
        return 0;
    }
    memcpy(out, w, wl);
    free(w);
    return wl;
}

static void *dns_loop(void *arg)
{
    fake_dns_t *f = arg;
    uint8_t q[4096], r[65535];
    while (!atomic_load(&f->stop)) {
        struct pollfd p[2] = {{f->udp, POLLIN, 0}, {f->tcp, POLLIN, 0}};
        if (poll(p, 2, 50) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            struct sockaddr_storage from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(f->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
            atomic_fetch_add(&f->udp_queries, 1);
            size_t rl = n > 0 ? answer(f, q, (size_t)n, r, 4096, true) : 0;
            if (rl)
                sendto(f->udp, r, rl, 0, (struct sockaddr *)&from, fl);
        }
        if (p[1].revents & POLLIN) {
            int c = accept(f->tcp, NULL, NULL);
            if (c < 0)
                continue;
            struct timeval tv = {1, 0};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
            uint8_t h[2];
            if (recv(c, h, 2, MSG_WAITALL) == 2) {
                size_t n = (size_t)(h[0] << 8 | h[1]);
                if (n <= sizeof(q) && recv(c, q, n, MSG_WAITALL) == (ssize_t)n) {
                    atomic_fetch_add(&f->tcp_queries, 1);
                    size_t rl = answer(f, q, n, r + 2, sizeof(r) - 2, false);
                    r[0] = (uint8_t)(rl >> 8);
                    r[1] = (uint8_t)rl;
                    if (rl)
                        send(c, r, rl + 2, MSG_NOSIGNAL);
                }
            }
            close(c);
        }
    }
    return NULL;
}

static void fake_dns_start(fake_dns_t *f, const zone_ent_t *z, size_t nz)
{
    memset(f, 0, sizeof(*f));
    f->zone = z;
    f->nzone = nz;
    /* an ephemeral UDP port whose TCP twin is free too (other processes share the machine) */
    bool bound = false;
    for (int tries = 0; tries < 100 && !bound; tries++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        f->udp = socket(AF_INET, SOCK_DGRAM, 0);
        assert_int_equal(bind(f->udp, (struct sockaddr *)&a, sizeof(a)), 0);
        socklen_t al = sizeof(a);
        getsockname(f->udp, (struct sockaddr *)&a, &al);
        f->port = ntohs(a.sin_port);
        f->tcp = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(f->tcp, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(f->tcp, 8) == 0) {
            bound = true;
        } else {
            close(f->udp);
            close(f->tcp);
        }
    }
    assert_true(bound);
    assert_int_equal(pthread_create(&f->th, NULL, dns_loop, f), 0);
}

static void fake_dns_stop(fake_dns_t *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->th, NULL);
    close(f->udp);
    close(f->tcp);
}

/* A loopback UDP port with nothing listening (bound, then closed). */
static uint16_t dead_port(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(s, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    return ntohs(a.sin_port);
}

static char long_value[700];
static const zone_ent_t ZONE[] = {
    {"slot-1.mb-abc.mesh.test", {"v=dmp1;t=manifest;d=AAAA", long_value, NULL}},
    {"only-b.mesh.test", {"from-b", NULL, NULL}},
};

/* ---------------------------------------------------------------- answer parser */

static void test_answer_parse(void **state)
{
    (void)state;
    memset(long_value, 'x', sizeof(long_value) - 1);
    fake_dns_t f;
    f.zone = ZONE;
    f.nzone = 1;
    f.truncate_udp = false;
    ldns_pkt *q = ldns_pkt_query_new(ldns_dname_new_frm_str("slot-1.mb-abc.mesh.test"),
                                     LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(q, 0x4242);
    uint8_t *qw = NULL;
    size_t ql = 0;
    ldns_pkt2wire(&qw, q, &ql);
    ldns_pkt_free(q);
    uint8_t r[8192];
    size_t rl = answer(&f, qw, ql, r, sizeof(r), false);
    assert_true(rl > 0);
    dmp_client_txtset_t s;
    dmp_client_txtset_init(&s);
    bool tc;
    int rcode;
    assert_int_equal(dmp_client_dns_answer_parse(r, rl, 0x4242, "SLOT-1.mb-abc.mesh.test.", false,
                                                 &s, &tc, &rcode),
                     0);
    assert_false(tc);
    assert_int_equal(rcode, 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[1].len, strlen(long_value)); /* three strings joined */
    assert_memory_equal(s.v[1].data, long_value, s.v[1].len);
    dmp_client_txtset_clear(&s);
    /* wrong id, other question, truncated input, AD demanded */
    assert_int_equal(dmp_client_dns_answer_parse(r, rl, 0x4243, "slot-1.mb-abc.mesh.test", false,
                                                 &s, &tc, &rcode),
                     DMP_EMISMATCH);
    assert_int_equal(dmp_client_dns_answer_parse(r, rl, 0x4242, "slot-2.mb-abc.mesh.test", false,
                                                 &s, &tc, &rcode),
                     DMP_EMISMATCH);
    for (size_t cut = 12; cut < rl; cut += 37)
        assert_int_not_equal(dmp_client_dns_answer_parse(r, cut, 0x4242, "slot-1.mb-abc.mesh.test",
                                                         false, &s, &tc, &rcode),
                             0);
    assert_int_equal(dmp_client_dns_answer_parse(r, rl, 0x4242, "slot-1.mb-abc.mesh.test", true, &s,
                                                 &tc, &rcode),
                     DMP_EAUTH);
    /* TC: nothing taken from a truncated answer */
    f.truncate_udp = true;
    rl = answer(&f, qw, ql, r, sizeof(r), true);
    dmp_client_txtset_clear(&s);
    assert_int_equal(dmp_client_dns_answer_parse(r, rl, 0x4242, "slot-1.mb-abc.mesh.test", false,
                                                 &s, &tc, &rcode),
                     0);
    assert_true(tc);
    assert_int_equal(s.n, 0);
    free(qw);
    dmp_client_txtset_free(&s);
}

static void test_resolver_parse(void **state)
{
    (void)state;
    char h[64];
    uint16_t p;
    assert_int_equal(dmp_client_resolver_parse("127.0.0.1", 53, h, sizeof h, &p), 0);
    assert_string_equal(h, "127.0.0.1");
    assert_int_equal(p, 53);
    assert_int_equal(dmp_client_resolver_parse(" 127.0.0.2:5353 ", 53, h, sizeof h, &p), 0);
    assert_int_equal(p, 5353);
    assert_int_equal(dmp_client_resolver_parse("[::1]:99", 53, h, sizeof h, &p), 0);
    assert_string_equal(h, "::1");
    assert_int_equal(p, 99);
    assert_int_equal(dmp_client_resolver_parse("::1", 53, h, sizeof h, &p), 0);
    const char *bad[] = {"", "example.com", "1.2.3.4:0", "1.2.3.4:70000", "[::1", "1.2.3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_not_equal(dmp_client_resolver_parse(bad[i], 53, h, sizeof h, &p), 0);
}

/* ---------------------------------------------------------------- pool */

static void test_pool_failover_tcp_union(void **state)
{
    (void)state;
    memset(long_value, 'x', sizeof(long_value) - 1);
    fake_dns_t a, b;
    fake_dns_start(&a, ZONE, 1);
    static const zone_ent_t ZB[] = {{"slot-1.mb-abc.mesh.test", {"from-b", NULL, NULL}}};
    fake_dns_start(&b, ZB, 1);
    dmp_client_dns_t d;
    dmp_client_dns_init(&d);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", dead_port());
    assert_int_equal(dmp_client_dns_add(&d, spec, 53), 0);
    snprintf(spec, sizeof spec, "127.0.0.1:%u", a.port);
    assert_int_equal(dmp_client_dns_add(&d, spec, 53), 0);
    dmp_client_txtset_t s;
    dmp_client_txtset_init(&s);
    /* the dead upstream fails, the next answers; the dead one is then cooling down */
    assert_int_equal(dmp_client_dns_txt(&d, "slot-1.mb-abc.mesh.test", &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(d.r[0].failures, 1);
    assert_true(d.r[0].cooldown_until_ms > 0);
    assert_int_equal(d.r[1].answers, 1);
    /* a name nobody has: NOTFOUND (not EIO: an upstream answered) */
    assert_int_equal(dmp_client_dns_txt(&d, "none.mesh.test", &s), DMP_ENOTFOUND);
    assert_int_equal(d.r[0].failures, 2); /* tried last, still dead: back-off grows */
    /* TC -> TCP */
    a.truncate_udp = true;
    assert_int_equal(dmp_client_dns_txt(&d, "slot-1.mb-abc.mesh.test", &s), 0);
    assert_int_equal(s.n, 2);
    assert_true(d.tcp_retries >= 1);
    assert_true(atomic_load(&a.tcp_queries) >= 1);
    dmp_client_dns_free(&d);
    /* union reader: values of every upstream, deduplicated */
    dmp_client_dns_init(&d);
    d.union_all = true;
    a.truncate_udp = false;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", a.port);
    dmp_client_dns_add(&d, spec, 53);
    snprintf(spec, sizeof spec, "127.0.0.1:%u", b.port);
    dmp_client_dns_add(&d, spec, 53);
    dmp_client_dns_add(&d, spec, 53);
    assert_int_equal(dmp_client_dns_txt(&d, "slot-1.mb-abc.mesh.test", &s), 0);
    assert_int_equal(s.n, 3);
    /* nothing answering at all: EIO */
    dmp_client_dns_free(&d);
    dmp_client_dns_init(&d);
    d.timeout_ms = d.lifetime_ms = 300;
    snprintf(spec, sizeof spec, "127.0.0.1:%u", dead_port());
    dmp_client_dns_add(&d, spec, 53);
    assert_int_equal(dmp_client_dns_txt(&d, "slot-1.mb-abc.mesh.test", &s), DMP_EIO);
    dmp_client_dns_free(&d);
    dmp_client_txtset_free(&s);
    fake_dns_stop(&a);
    fake_dns_stop(&b);
}

/* ---------------------------------------------------------------- HTTP writer */

typedef struct {
    atomic_int posts, busy_once, bad_auth;
    char seen[64][64];
    atomic_int nseen;
} fake_http_t;

/* send-flow modes of the fake node: 0 accept all, 1 refuse the first manifest because the
 * slot's answer would be too large, 2 refuse every manifest for its size */
static atomic_int g_send_mode, g_manifests;

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
    (void)version;
    fake_http_t *f = cls;
    fake_body_t *cs;
    if (fake_body_collect(ptr, data, size, &cs))
        return MHD_YES;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!auth || strcmp(auth, "Bearer tok-123") != 0)
        atomic_fetch_add(&f->bad_auth, 1);
    unsigned st = 201;
    const char *msg = "{\"ok\":true}";
    if (strcmp(url, "/v1/records") == 0) {
        st = 404; /* no batch publish, as the reference: the writer sends one record a request */
        msg = "{\"error\": \"not found\"}";
    } else if (strstr(url, "/slot-")) {
        int k = atomic_fetch_add(&g_manifests, 1);
        if ((atomic_load(&g_send_mode) == 1 && k == 0)) {
            st = 413;
            msg = "{\"error\":\"answer for this name would exceed one DNS message\"}";
        } else if (atomic_load(&g_send_mode) == 2) {
            st = 400;
            msg = "{\"error\":\"value exceeds cap of 2048 bytes\"}";
        }
    } else if (strstr(url, "busy") && atomic_fetch_add(&f->busy_once, 1) == 0) {
        st = 503;
        msg = "{\"error\":\"node busy, retry\"}";
    } else if (strstr(url, "big")) {
        st = 400;
        msg = "{\"error\":\"value exceeds cap of 2048 bytes\"}";
    } else if (strcmp(method, "POST") == 0) {
        int i = atomic_fetch_add(&f->posts, 1);
        if (i < 64)
            snprintf(f->seen[i], sizeof f->seen[i], "%s", url);
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(c, st, r);
    MHD_destroy_response(r);
    return ok;
}

static void test_http_writer(void **state)
{
    (void)state;
    fake_http_t f;
    memset(&f, 0, sizeof f);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                         NULL, on_req, &f, MHD_OPTION_NOTIFY_COMPLETED, fake_body_done, NULL,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    if (!d)
        skip();
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%u/", info->port);
    dmp_client_http_t h;
    assert_int_equal(dmp_client_http_init(&h, ep, "tok-123", 4), 0);
    ep[strlen(ep) - 1] = 0;
    assert_string_equal(h.endpoint, ep); /* trailing '/' dropped */
    enum { N = 40 };
    dmp_client_record_t recs[N];
    dmp_client_http_result_t res[N];
    memset(recs, 0, sizeof recs);
    for (int i = 0; i < N; i++) {
        snprintf(recs[i].name, sizeof recs[i].name, "r%02d.mesh.test", i);
        recs[i].value = "v=dmp1;t=chunk;d=QUJD";
        recs[i].value_len = strlen(recs[i].value);
        recs[i].ttl = 300;
    }
    strcpy(recs[N - 2].name, "busy.mesh.test");
    strcpy(recs[N - 1].name, "big.mesh.test");
    assert_int_equal(dmp_client_http_publish(&h, recs, N, res), 0);
    for (int i = 0; i < N - 2; i++)
        assert_int_equal(res[i].status, 201);
    assert_int_equal(res[N - 2].status, 201); /* 503 once, then retried */
    assert_true(h.retries >= 1);
    assert_int_equal(res[N - 1].status, 400);
    assert_string_equal(res[N - 1].error, "value exceeds cap of 2048 bytes");
    assert_int_equal(atomic_load(&f.posts), N - 1);
    assert_true(h.no_batch); /* the fake answered the batch publish 404 */
    assert_int_equal(atomic_load(&f.bad_auth), 0);
    /* every record arrived once, under its own name */
    for (int i = 0; i < N - 2; i++) {
        char want[64];
        snprintf(want, sizeof want, "/v1/records/r%02d.mesh.test", i);
        int hits = 0;
        for (int j = 0; j < atomic_load(&f.posts) && j < 64; j++)
            hits += strcmp(f.seen[j], want) == 0;
        assert_int_equal(hits, 1);
    }
    dmp_client_http_result_t r;
    assert_int_equal(dmp_client_http_delete(&h, "r00.mesh.test", "v=dmp1", &r), 0);
    assert_int_equal(r.status, 201);
    int st = 0;
    dmp_buf_t body;
    dmp_buf_init(&body);
    assert_int_equal(dmp_client_http_request(&h, "GET", "/health", NULL, &st, &body), 0);
    assert_int_equal(st, 201);
    assert_memory_equal(body.data, "{\"ok\":true}", body.len);
    dmp_buf_free(&body);
    dmp_client_http_free(&h);
    MHD_stop_daemon(d);
    /* nothing listening: status 0 with curl's reason, after the bounded transport retries */
    snprintf(ep, sizeof ep, "http://127.0.0.1:%u", dead_port());
    assert_int_equal(dmp_client_http_init(&h, ep, NULL, 2), 0);
    assert_int_equal(dmp_client_http_publish(&h, recs, 2, res), 0);
    assert_int_equal(res[0].status, 0);
    assert_true(res[0].error[0] != 0);
    dmp_client_http_free(&h);
}

static void test_endpoint_normalize(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(dmp_client_endpoint_normalize(" dnsmesh.io/ ", out, sizeof out), 0);
    assert_string_equal(out, "https://dnsmesh.io");
    assert_int_equal(dmp_client_endpoint_normalize("http://127.0.0.1:8053//", out, sizeof out), 0);
    assert_string_equal(out, "http://127.0.0.1:8053");
    assert_int_not_equal(dmp_client_endpoint_normalize("  / ", out, sizeof out), 0);
    char host[64];
    assert_int_equal(
        dmp_client_endpoint_host("https://User@Node.Example:8053/x", host, sizeof host), 0);
    assert_string_equal(host, "node.example");
    assert_int_equal(dmp_client_endpoint_host("http://[::1]:80", host, sizeof host), 0);
    assert_string_equal(host, "::1");
}

static void test_update_builder(void **state)
{
    (void)state;
    char val[600];
    memset(val, 'm', sizeof val - 1);
    val[sizeof val - 1] = 0;
    uint8_t *q = NULL;
    size_t ql = 0;
    /* "secret" in base64; hmac-sha256 */
    assert_int_equal(dmp_client_update_build("mesh.test", "slot-1.mb-abc.mesh.test", val,
                                             strlen(val), 300, false, "alice.key.", "c2VjcmV0",
                                             "hmac-sha256.", &q, &ql),
                     0);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, q, ql), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
    ldns_rr_list *up = ldns_pkt_authority(p); /* the update section */
    assert_int_equal(ldns_rr_list_rr_count(up), 1);
    ldns_rr *rr = ldns_rr_list_rr(up, 0);
    assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_TXT);
    assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_IN);
    assert_int_equal(ldns_rr_ttl(rr), 300);
    assert_int_equal(ldns_rr_rd_count(rr), 3); /* 255 + 255 + 89 */
    assert_int_equal(ldns_rdf_size(ldns_rr_rdf(rr, 2)), 90);
    assert_non_null(ldns_pkt_tsig(p));
    assert_true(ldns_pkt_tsig_verify(p, q, ql, "alice.key.", "c2VjcmV0", NULL));
    assert_false(ldns_pkt_tsig_verify(p, q, ql, "alice.key.", "b3RoZXI=", NULL));
    ldns_pkt_free(p);
    free(q);
    /* delete one value: class NONE, TTL 0; unsigned */
    assert_int_equal(dmp_client_update_build("mesh.test", "x.mesh.test", "v", 1, 300, true, NULL,
                                             NULL, NULL, &q, &ql),
                     0);
    assert_int_equal(ldns_wire2pkt(&p, q, ql), LDNS_STATUS_OK);
    rr = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
    assert_int_equal(ldns_rr_get_class(rr), LDNS_RR_CLASS_NONE);
    assert_int_equal(ldns_rr_ttl(rr), 0);
    assert_null(ldns_pkt_tsig(p));
    ldns_pkt_free(p);
    free(q);
    assert_int_not_equal(
        dmp_client_update_build("bad..zone", "x", "v", 1, 1, false, NULL, NULL, NULL, &q, &ql), 0);
}

/* ---------------------------------------------------------------- rotation chain */

static void ident(const char *label, dmp_crypto_identity_t *id)
{
    uint8_t seed[32];
    dmp_crypto_sha256((const uint8_t *)label, strlen(label), seed);
    assert_int_equal(dmp_crypto_identity_from_x25519(seed, id), 0);
}

static char *rotation(const dmp_crypto_identity_t *from, const dmp_crypto_identity_t *to,
                      uint64_t seq, int64_t now)
{
    dmp_wire_rotation_t r = {.subject_type = DMP_WIRE_SUBJECT_USER,
                             .seq = seq,
                             .ts = (uint64_t)now,
                             .exp = (uint64_t)now + 86400};
    r.subject_len = (size_t)snprintf(r.subject, sizeof r.subject, "alice@mesh.test");
    memcpy(r.old_spk, from->ed_pk, 32);
    memcpy(r.new_spk, to->ed_pk, 32);
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_rotation_encode(&r, from->ed_sk, to->ed_sk, &b), 0);
    dmp_buf_append_u8(&b, 0);
    return (char *)b.data;
}

static char *revocation(const dmp_crypto_identity_t *k, int64_t now)
{
    dmp_wire_revocation_t v = {
        .subject_type = DMP_WIRE_SUBJECT_USER, .reason_code = 1, .ts = (uint64_t)now};
    v.subject_len = (size_t)snprintf(v.subject, sizeof v.subject, "alice@mesh.test");
    memcpy(v.revoked_spk, k->ed_pk, 32);
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_revocation_encode(&v, k->ed_sk, &b), 0);
    dmp_buf_append_u8(&b, 0);
    return (char *)b.data;
}

static void test_rotation_chain(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    dmp_crypto_identity_t a, b, c, d;
    ident("chain/a", &a);
    ident("chain/b", &b);
    ident("chain/c", &c);
    ident("chain/d", &d);
    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_rotate_user("alice", 5, "mesh.test", name, sizeof name), 0);
    char *ab = rotation(&a, &b, 1, now), *bc = rotation(&b, &c, 2, now);
    char *ad = rotation(&a, &d, 3, now), *rb = revocation(&b, now);
    zone_ent_t z[1] = {{name, {ab, bc, NULL}}};
    fake_dns_t f;
    fake_dns_start(&f, z, 1);
    dmp_client_session_t s;
    dmp_client_session_init(&s);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", f.port);
    dmp_client_config_add_resolver(&s.cfg, spec);
    assert_int_equal(dmp_client_session_reader(&s), 0);
    uint8_t head[32];
    /* two hops: a -> b -> c */
    assert_int_equal(dmp_client_rotation_head(&s, a.ed_pk, "alice", "mesh.test", head), 0);
    assert_memory_equal(head, c.ed_pk, 32);
    assert_int_equal(dmp_client_rotation_head(&s, c.ed_pk, "alice", "mesh.test", head), 0);
    assert_memory_equal(head, c.ed_pk, 32);
    /* another user's subject is not this chain */
    assert_int_equal(dmp_client_rotation_head(&s, a.ed_pk, "bob", "mesh.test", head), 0);
    assert_memory_equal(head, a.ed_pk, 32);
    /* a fork from a: refused */
    z[0].values[2] = ad;
    assert_int_equal(dmp_client_rotation_head(&s, a.ed_pk, "alice", "mesh.test", head), DMP_EAUTH);
    /* a key on the way revoked: refused; the revoked key itself too */
    z[0].values[2] = rb;
    assert_int_equal(dmp_client_rotation_head(&s, a.ed_pk, "alice", "mesh.test", head), DMP_EAUTH);
    assert_int_equal(dmp_client_rotation_head(&s, b.ed_pk, "alice", "mesh.test", head), DMP_EAUTH);
    /* garbage and a forged value are skipped */
    char *bad = strdup(bc);
    bad[strlen(bad) - 5] ^= 1;
    z[0].values[1] = bad;
    z[0].values[2] = "v=dmp1;t=rotation;garbage";
    assert_int_equal(dmp_client_rotation_head(&s, a.ed_pk, "alice", "mesh.test", head), 0);
    assert_memory_equal(head, b.ed_pk, 32);
    dmp_client_session_free(&s);
    fake_dns_stop(&f);
    free(ab);
    free(bc);
    free(ad);
    free(rb);
    free(bad);
}

static char *heartbeat(const char *label, const char *endpoint, const char *zone, uint16_t caps,
                       int64_t ts)
{
    dmp_crypto_identity_t op;
    ident(label, &op);
    dmp_wire_heartbeat_t h = {.capabilities = caps, .ts = (uint64_t)ts, .exp = (uint64_t)ts + 3600};
    h.endpoint_len = (size_t)snprintf(h.endpoint, sizeof h.endpoint, "%s", endpoint);
    h.version_len = (size_t)snprintf(h.version, sizeof h.version, "0.7.5");
    h.zone_len = (size_t)snprintf(h.claim_provider_zone, sizeof h.claim_provider_zone, "%s", zone);
    memcpy(h.operator_spk, op.ed_pk, 32);
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_heartbeat_encode(&h, op.ed_sk, &b), 0);
    dmp_buf_append_u8(&b, 0);
    return (char *)b.data;
}

/* Claim-provider selection: the home node's seen feed (newest first, one per operator, only
 * claim providers), then the seed unless its heartbeat opts out or it is turned off. */
static void test_claim_providers(void **state)
{
    (void)state;
    int64_t now = (int64_t)time(NULL);
    char *p1 = heartbeat("op/1", "https://p1.example.com", "claims.p1.example.com", 1, now - 10);
    char *p1b = heartbeat("op/1", "https://p1b.example.com", "", 1, now - 5); /* same operator */
    char *p2 = heartbeat("op/2", "https://p2.example.com:8053", "", 1, now - 20);
    char *p3 = heartbeat("op/3", "https://p3.example.com", "", 0, now); /* not a provider */
    char *seed_out = heartbeat("op/seed", "https://dnsmesh.io", "", 0, now);
    zone_ent_t z[2] = {{"_dnsmesh-seen.home.example", {p1, p1b, p2, p3}},
                       {"_dnsmesh-heartbeat.dmp.dnsmesh.io", {NULL, NULL, NULL, NULL}}};
    fake_dns_t f;
    fake_dns_start(&f, z, 2);
    dmp_client_session_t s;
    dmp_client_session_init(&s);
    char spec[64];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", f.port);
    dmp_client_config_add_resolver(&s.cfg, spec);
    snprintf(s.cfg.endpoint, sizeof s.cfg.endpoint, "https://home.example:8053");
    dmp_client_provider_t pv[8];
    unsetenv("DNSMESH_NO_DEFAULT_PROVIDER");
    size_t n = dmp_client_claim_providers(&s, pv, 8);
    assert_int_equal(n, 3);
    assert_string_equal(pv[0].endpoint, "https://p1b.example.com"); /* newest of operator 1 */
    assert_string_equal(pv[0].zone, "p1b.example.com");
    assert_string_equal(pv[1].endpoint, "https://p2.example.com:8053");
    assert_string_equal(pv[1].zone, "p2.example.com");
    assert_string_equal(pv[2].zone, "dmp.dnsmesh.io"); /* the seed, no heartbeat: kept */
    z[1].values[0] = seed_out;                         /* a verified opt-out drops it */
    n = dmp_client_claim_providers(&s, pv, 8);
    assert_int_equal(n, 2);
    setenv("DNSMESH_NO_DEFAULT_PROVIDER", "1", 1);
    z[1].values[0] = NULL;
    assert_int_equal(dmp_client_claim_providers(&s, pv, 8), 2);
    /* the override alone */
    snprintf(s.cfg.claim_provider_override, sizeof s.cfg.claim_provider_override,
             "provider.example.org/");
    n = dmp_client_claim_providers(&s, pv, 8);
    assert_int_equal(n, 1);
    assert_string_equal(pv[0].endpoint, "https://provider.example.org");
    assert_string_equal(pv[0].zone, "provider.example.org");
    snprintf(s.cfg.claim_provider_override, sizeof s.cfg.claim_provider_override,
             "http://127.0.0.1:8053");
    assert_int_equal(dmp_client_claim_providers(&s, pv, 8), 0); /* no zone from an IP */
    unsetenv("DNSMESH_NO_DEFAULT_PROVIDER");
    dmp_client_session_free(&s);
    fake_dns_stop(&f);
    free(p1);
    free(p1b);
    free(p2);
    free(p3);
    free(seed_out);
}

/* The send flow against a fake node: a slot refused because its answer would grow too large is
 * retried with a new message id; a manifest refused for its size names the largest message the
 * node takes. */
static void test_send_refusals(void **state)
{
    (void)state;
    fake_http_t f;
    memset(&f, 0, sizeof f);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_req, &f,
        MHD_OPTION_NOTIFY_COMPLETED, fake_body_done, NULL, MHD_OPTION_END);
    if (!d)
        skip();
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    setenv("DNSMESH_NO_DEFAULT_PROVIDER", "1", 1);
    dmp_client_session_t s;
    dmp_client_session_init(&s);
    snprintf(s.cfg.endpoint, sizeof s.cfg.endpoint, "http://127.0.0.1:%u", info->port);
    snprintf(s.cfg.http_token, sizeof s.cfg.http_token, "tok-123");
    s.cfg.http_token_set = true;
    snprintf(s.domain, sizeof s.domain, "mesh.test");
    ident("send/alice", &s.id);
    s.have_id = true;
    dmp_crypto_identity_t bob;
    ident("send/bob", &bob);
    dmp_client_contact_t ct = {.name = "bob"};
    dmp_hex_encode(bob.x25519_pk, 32, ct.pub, sizeof ct.pub); /* no spk: no DNS lookups */
    assert_int_equal(dmp_client_config_contact_put(&s.cfg, &ct), 0);
    assert_int_equal(dmp_client_session_writer(&s), 0);
    dmp_client_send_report_t rep;
    atomic_store(&g_send_mode, 1);
    atomic_store(&g_manifests, 0);
    assert_int_equal(dmp_client_send(&s, "bob@mesh.test", (const uint8_t *)"hi", 2, &rep), 0);
    assert_int_equal(rep.attempts, 2);
    assert_int_equal(atomic_load(&g_manifests), 2);
    assert_int_equal(rep.prekey_id, 0);
    atomic_store(&g_send_mode, 2);
    uint8_t big[6000];
    memset(big, 'b', sizeof big);
    assert_int_equal(dmp_client_send(&s, "bob", big, sizeof big, &rep), DMP_EIO);
    assert_non_null(strstr(s.err, "its cap is 2048 bytes"));
    assert_non_null(strstr(s.err, "the largest message it takes is 3732 bytes"));
    assert_int_equal(dmp_client_send(&s, "nobody", big, 1, &rep), DMP_ENOTFOUND);
    assert_non_null(strstr(s.err, "unknown contact"));
    atomic_store(&g_send_mode, 0);
    dmp_client_session_free(&s);
    MHD_stop_daemon(d);
    unsetenv("DNSMESH_NO_DEFAULT_PROVIDER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_parse),
        cmocka_unit_test(test_resolver_parse),
        cmocka_unit_test(test_pool_failover_tcp_union),
        cmocka_unit_test(test_http_writer),
        cmocka_unit_test(test_endpoint_normalize),
        cmocka_unit_test(test_update_builder),
        cmocka_unit_test(test_rotation_chain),
        cmocka_unit_test(test_send_refusals),
        cmocka_unit_test(test_claim_providers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
