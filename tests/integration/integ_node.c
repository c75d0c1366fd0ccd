/* Shared by the test_node_integ_* integration tests: see integ_node.h. */
#include "integ_node.h"

itest_node_t g_node; /* shared node for the read/write tests (zone mesh.test) */

const char *const g_env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_DNS_APEX_NS=ns1.mesh.test",
                             "DMP_DNS_APEX_SOA_RNAME=hostmaster.mesh.test",
                             "DMP_DNS_APEX_A=192.0.2.1", "DMP_MAX_VALUES_PER_NAME=3",
                             "DMP_CLEANUP_INTERVAL=0.2",
                             /* several shards: a name and its ancestors usually live on
                              * different shards (t_empty_non_terminal needs that) */
                             "DMP_SHARDS=4", NULL};

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- DNS helpers ---- */

void reply_free(reply_t *r)
{
    if (r->pkt)
        ldns_pkt_free(r->pkt);
    r->pkt = NULL;
}

int query(const itest_node_t *n, bool tcp, const char *name, uint16_t qtype, int edns, reply_t *r)
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

int rcode_of(const reply_t *r)
{
    int rc = r->raw[3] & 0xf;
    if (r->pkt && ldns_pkt_edns(r->pkt))
        rc |= ldns_pkt_edns_extended_rcode(r->pkt) << 4;
    return rc;
}

bool tc_of(const reply_t *r)
{
    return (r->raw[2] & 0x02) != 0;
}

/* Concatenation of all character-strings of answer RR i (TXT). */
size_t txt_value(const reply_t *r, size_t i, char *out, size_t cap, size_t *nstrings)
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

size_t ancount(const reply_t *r)
{
    return (size_t)r->raw[6] << 8 | r->raw[7];
}

size_t nscount(const reply_t *r)
{
    return (size_t)r->raw[8] << 8 | r->raw[9];
}

/* ---- HTTP helpers ---- */
char g_body[1 << 16];

int post(const itest_node_t *n, const char *name, const char *json, const char *hdr)
{
    char path[600];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    return itest_http(n, "POST", path, hdr, json, strlen(json), g_body, sizeof(g_body));
}

int get(const itest_node_t *n, const char *path)
{
    return itest_http(n, "GET", path, NULL, NULL, 0, g_body, sizeof(g_body));
}

int post_value(const itest_node_t *n, const char *name, const char *value, int ttl)
{
    size_t vl = strlen(value);
    char *json = malloc(vl + 64);
    snprintf(json, vl + 64, "{\"value\": \"%s\", \"ttl\": %d}", value, ttl);
    int st = post(n, name, json, NULL);
    free(json);
    return st;
}

/* ---- setup ---- */
int group_setup(void **state)
{
    (void)state;
    if (itest_node_init(&g_node) != 0)
        return -1;
    return itest_node_start(&g_node, g_env);
}

int group_teardown(void **state)
{
    (void)state;
    int st = itest_node_stop(&g_node, SIGTERM);
    itest_node_cleanup(&g_node);
    return st == 0 ? 0 : -1;
}

void assert_still_serving(void)
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

int integ_init(int argc, char **argv)
{
    return itest_init(argc, argv, NULL);
}
