/* Unit tests for src/wire's node records: cluster, bootstrap and heartbeat round trips, bad
 * inputs reaching their DMP_EWIRE_* codes, and the heartbeat endpoint rules. */
#include "wire_harness.h"

/* ------------------------------------------------------------------ cluster / bootstrap */

static void node_set(dmp_wire_cluster_node_t *n, const char *id, const char *http, const char *dns)
{
    memset(n, 0, sizeof *n);
    n->node_id_len = strlen(id);
    memcpy(n->node_id, id, n->node_id_len);
    n->http_endpoint_len = strlen(http);
    memcpy(n->http_endpoint, http, n->http_endpoint_len);
    if (dns) {
        n->dns_endpoint_len = strlen(dns);
        memcpy(n->dns_endpoint, dns, n->dns_endpoint_len);
    }
}

static void test_cluster(void **state)
{
    (void)state;
    dmp_crypto_identity_t op = key_n(6), x = key_n(7);
    dmp_wire_cluster_t c, g;
    memset(&c, 0, sizeof c);
    c.seq = 3;
    c.exp = TS_2030 + 3600;
    memcpy(c.operator_spk, op.ed_pk, 32);
    strcpy(c.cluster_name, "Mesh.Example.COM.");
    c.cluster_name_len = 17;
    node_set(&c.nodes[0], "a", "https://host_with_under.example.com:8053/path?x=1", NULL);
    node_set(&c.nodes[1], "b", "http://b.example:8053", "b.example:53");
    c.n_nodes = 2;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), 0);
    assert_int_equal(
        dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030, "mesh.example.com.", &g), 0);
    assert_string_equal(g.cluster_name, "Mesh.Example.COM");
    assert_int_equal(g.n_nodes, 2);
    assert_string_equal(g.nodes[1].dns_endpoint, "b.example:53");
    assert_int_equal(g.nodes[0].dns_endpoint_len, 0);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030, "other.com", &g),
                     DMP_EWIRE_EXPECTED);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, x.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIG);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030 + 3601, NULL, &g),
                     DMP_EWIRE_EXPIRED);
    assert_int_equal(dmp_wire_cluster_parse(out.data, out.len, op.ed_pk, TS_2030 + 3600, NULL, &g),
                     0);
    /* wrong prefix */
    assert_int_equal(dmp_wire_cluster_parse(S("v=dmp1;t=bootstrap;QUJD"), op.ed_pk, 0, NULL, &g),
                     DMP_EWIRE_PREFIX);
    assert_int_equal(
        dmp_wire_cluster_parse(S("v=dmp1;t=cluster;not-valid-base64!!!@@@"), op.ed_pk, 0, NULL, &g),
        DMP_EWIRE_B64);
    /* sign refusals */
    strcpy(c.nodes[1].node_id, "a");
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_DUP);
    strcpy(c.nodes[1].node_id, "b");
    c.n_nodes = 0;
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_COUNT);
    c.n_nodes = 2;
    assert_int_equal(dmp_wire_cluster_encode(&c, x.ed_sk, &out), DMP_EWIRE_SIGNER);
    strcpy(c.cluster_name, "mesh..example");
    c.cluster_name_len = 13;
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_NAME);
    memset(c.cluster_name, 'a', 64);
    c.cluster_name[64] = 0;
    c.cluster_name[10] = '.';
    c.cluster_name_len = 64;
    c.cluster_name[63] = 'a';
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), 0);
    /* 32 fat nodes exceed 1200 */
    c.n_nodes = 32;
    for (int i = 0; i < 32; i++) {
        char id[8], http[129];
        snprintf(id, sizeof id, "n%02d", i);
        memset(http, 'h', 128);
        http[128] = 0;
        node_set(&c.nodes[i], id, http, NULL);
    }
    assert_int_equal(dmp_wire_cluster_encode(&c, op.ed_sk, &out), DMP_EWIRE_TOOBIG);

    /* crafted bodies signed by the operator */
    uint8_t body[300];
    size_t o = 0;
    memcpy(body, "DMPCL01", 7);
    o = 7;
    dmp_store_u64be(body + o, 1);
    dmp_store_u64be(body + o + 8, TS_2030 + 10);
    o += 16;
    memcpy(body + o, op.ed_pk, 32);
    o += 32;
    body[o++] = 17;
    memcpy(body + o, "mesh.example.com.", 17);
    o += 17;
    size_t cnt = o;
    body[o++] = 0; /* zero nodes: accepted on parse (reference parity) */
    dmp_buf_t w;
    craft("v=dmp1;t=cluster;", body, o, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g), 0);
    assert_string_equal(g.cluster_name, "mesh.example.com");
    dmp_buf_free(&w);
    body[cnt] = 2; /* duplicate ids */
    o = cnt + 1;
    for (int i = 0; i < 2; i++) {
        body[o++] = 1;
        body[o++] = 'x';
        dmp_store_u16be(body + o, 1);
        o += 2;
        body[o++] = 'h';
        dmp_store_u16be(body + o, 0);
        o += 2;
    }
    craft("v=dmp1;t=cluster;", body, o, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_DUP);
    dmp_buf_free(&w);
    body[cnt] = 33;
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_COUNT);
    dmp_buf_free(&w);
    body[cnt] = 0;
    craft("v=dmp1;t=cluster;", body, cnt + 2, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_TRAILING);
    dmp_buf_free(&w);
    body[cnt] = 1;
    craft("v=dmp1;t=cluster;", body, cnt + 3, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    memcpy(body + 23, x.ed_pk, 32); /* embedded operator differs from the signer */
    body[cnt] = 0;
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIGNER);
    dmp_buf_free(&w);
    memcpy(body, "BADMAGX", 7);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_MAGIC);
    dmp_buf_free(&w);
    memcpy(body, "DMPCL01", 7);
    memcpy(body + 23, op.ed_pk, 32);
    memcpy(body + 56, "mesh..xample.com.", 17);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_NAME);
    dmp_buf_free(&w);
    dmp_store_u64be(body + 15, TS_2030 + 157680001);
    memcpy(body + 56, "mesh.example.com.", 17);
    craft("v=dmp1;t=cluster;", body, cnt + 1, op.ed_sk, &w);
    assert_int_equal(dmp_wire_cluster_parse(w.data, w.len, op.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_FUTURE);
    dmp_buf_free(&w);
    dmp_buf_free(&out);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_cluster("mesh.example.com.", name, sizeof name), 0);
    assert_string_equal(name, "cluster.mesh.example.com");
    assert_int_equal(dmp_wire_name_bootstrap("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dmp.example.com");
    assert_int_equal(dmp_wire_name_cluster("caf\xc3\xa9.com", name, sizeof name), DMP_EWIRE_NAME);
}

static void test_bootstrap(void **state)
{
    (void)state;
    dmp_crypto_identity_t s = key_n(8), x = key_n(9);
    dmp_wire_bootstrap_t b, g;
    memset(&b, 0, sizeof b);
    b.seq = 2;
    b.exp = TS_2030 + 1000;
    memcpy(b.signer_spk, s.ed_pk, 32);
    strcpy(b.user_domain, "example.com");
    b.user_domain_len = 11;
    const uint16_t prio[3] = {100, 0, 50};
    const char *bases[3] = {"c.example.com", "a.example.com.", "b.example.com"};
    for (int i = 0; i < 3; i++) {
        b.entries[i].priority = prio[i];
        b.entries[i].base_len = strlen(bases[i]);
        memcpy(b.entries[i].cluster_base_domain, bases[i], b.entries[i].base_len);
        memset(b.entries[i].operator_spk, i + 1, 32);
    }
    b.n_entries = 3;
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), 0);
    assert_int_equal(
        dmp_wire_bootstrap_parse(out.data, out.len, s.ed_pk, TS_2030, "EXAMPLE.com.", &g), 0);
    assert_int_equal(g.n_entries, 3);
    assert_int_equal(g.entries[0].priority, 0);
    assert_string_equal(g.entries[0].cluster_base_domain, "a.example.com");
    assert_int_equal(g.entries[2].priority, 100);
    assert_int_equal(dmp_wire_bootstrap_parse(out.data, out.len, s.ed_pk, TS_2030, "other.com", &g),
                     DMP_EWIRE_EXPECTED);
    assert_int_equal(dmp_wire_bootstrap_parse(out.data, out.len, x.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_SIG);
    /* sign refusals */
    b.entries[2].priority = 0;
    strcpy(b.entries[2].cluster_base_domain, "A.Example.COM");
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_DUP);
    strcpy(b.entries[2].cluster_base_domain, "bad_base.com");
    b.entries[2].base_len = 12;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_NAME);
    b.n_entries = 17;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_COUNT);
    b.n_entries = 0;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_COUNT);
    b.n_entries = 1;
    memset(b.user_domain, 'a', 65);
    b.user_domain_len = 65;
    assert_int_equal(dmp_wire_bootstrap_encode(&b, s.ed_sk, &out), DMP_EWIRE_LEN);
    /* crafted: 0 entries rejected on parse */
    uint8_t body[200];
    memcpy(body, "DMPBS01", 7);
    dmp_store_u64be(body + 7, 1);
    dmp_store_u64be(body + 15, TS_2030 + 10);
    memcpy(body + 23, s.ed_pk, 32);
    body[55] = 12;
    memcpy(body + 56, "example.com.", 12);
    body[68] = 0;
    dmp_buf_t w;
    craft("v=dmp1;t=bootstrap;", body, 69, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_COUNT);
    dmp_buf_free(&w);
    body[68] = 1;
    dmp_store_u16be(body + 69, 5);
    body[71] = 66; /* base longer than 64 + dot */
    craft("v=dmp1;t=bootstrap;", body, 72, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_LEN);
    dmp_buf_free(&w);
    body[71] = 3;
    memcpy(body + 72, "a\xff", 3);
    craft("v=dmp1;t=bootstrap;", body, 75 + 32, s.ed_sk, &w);
    assert_int_equal(dmp_wire_bootstrap_parse(w.data, w.len, s.ed_pk, TS_2030, NULL, &g),
                     DMP_EWIRE_UTF8);
    dmp_buf_free(&w);
    dmp_buf_free(&out);
}

/* ------------------------------------------------------------------ heartbeat */

static void hb_fill(dmp_wire_heartbeat_t *h, const dmp_crypto_identity_t *k, const char *ep)
{
    memset(h, 0, sizeof *h);
    h->endpoint_len = strlen(ep);
    memcpy(h->endpoint, ep, h->endpoint_len);
    memcpy(h->operator_spk, k->ed_pk, 32);
    strcpy(h->version, "0.7.5");
    h->version_len = 5;
    h->capabilities = DMP_WIRE_CAP_CLAIM_PROVIDER | 0x20;
    strcpy(h->claim_provider_zone, "dmp.example.com");
    h->zone_len = 15;
    h->ts = TS_2030;
    h->exp = TS_2030 + 86400;
}

static void test_heartbeat(void **state)
{
    (void)state;
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, 0x11, 32);
    assert_int_equal(dmp_crypto_ed25519_from_seed(seed, pk, sk), 0);
    dmp_crypto_identity_t k;
    memcpy(k.ed_pk, pk, 32);
    memcpy(k.ed_sk, sk, 64);
    dmp_wire_heartbeat_t h, g;
    hb_fill(&h, &k, "https://dmp.example.com:8053");
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), 0);
    assert_true(out.len <= 255);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030, -1, &g), 0);
    assert_int_equal(g.magic_version, 3);
    assert_int_equal(g.capabilities, 0x21);
    assert_string_equal(g.claim_provider_zone, "dmp.example.com");
    assert_string_equal(g.endpoint, "https://dmp.example.com:8053");
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 301, -1, &g),
                     DMP_EWIRE_STALE);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 - 301, -1, &g),
                     DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 300, -1, &g), 0);
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030 + 86400, 1000000000, &g),
                     DMP_EWIRE_EXPIRED);
    /* legacy DMPHB02 without the zone field */
    uint8_t body[200];
    size_t o = 0;
    memcpy(body, "DMPHB02", 7);
    o = 7;
    dmp_store_u16be(body + o, 19);
    o += 2;
    memcpy(body + o, "https://example.org", 19);
    o += 19;
    memcpy(body + o, pk, 32);
    o += 32;
    body[o++] = 0;
    dmp_store_u16be(body + o, 1);
    o += 2;
    dmp_store_u64be(body + o, TS_2030);
    dmp_store_u64be(body + o + 8, TS_2030 + 2600000);
    o += 16;
    dmp_buf_t w;
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_FUTURE);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030 + 200000, 1000000000, &g), 0);
    assert_int_equal(g.magic_version, 2);
    assert_int_equal(g.zone_len, 0);
    dmp_buf_free(&w);
    memcpy(body, "DMPHB01", 7);
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_MAGIC);
    dmp_buf_free(&w);
    memcpy(body, "DMPHB02", 7);
    dmp_store_u64be(body + o - 8, TS_2030); /* exp == ts */
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_TSORDER);
    dmp_buf_free(&w);
    dmp_store_u64be(body + o - 8, TS_2030 + 60);
    craft("v=dmp1;t=heartbeat;", body, o - 1, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_TRUNC);
    dmp_buf_free(&w);
    memcpy(body + 9, "https://10.0.0.001", 18); /* private literal host */
    body[27] = '1';
    craft("v=dmp1;t=heartbeat;", body, o, sk, &w);
    assert_int_equal(dmp_wire_heartbeat_parse(w.data, w.len, TS_2030, -1, &g), DMP_EWIRE_ENDPOINT);
    dmp_buf_free(&w);
    /* tampered sig */
    out.data[out.len - 3] ^= 1;
    assert_int_equal(dmp_wire_heartbeat_parse(out.data, out.len, TS_2030, -1, &g), DMP_EWIRE_SIG);
    /* sign refusals */
    hb_fill(&h, &k, "https://dmp.example.com");
    h.exp = h.ts;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_TSORDER);
    hb_fill(&h, &k, "https://dmp.example.com");
    h.version_len = 33;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_FIELD);
    hb_fill(&h, &k, "https://dmp.example.com");
    strcpy(h.claim_provider_zone, "a b");
    h.zone_len = 3;
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &out), DMP_EWIRE_CHARS);
    hb_fill(&h, &k, "https://dmp.example.com");
    assert_int_equal(dmp_wire_heartbeat_encode(&h, alice().ed_sk, &out), DMP_EWIRE_SIGNER);
    dmp_buf_free(&out);

    char name[DMP_WIRE_NAME_MAX];
    assert_int_equal(dmp_wire_name_heartbeat("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dnsmesh-heartbeat.example.com");
    assert_int_equal(dmp_wire_name_seen("example.com", name, sizeof name), 0);
    assert_string_equal(name, "_dnsmesh-seen.example.com");
}

static void test_endpoints(void **state)
{
    (void)state;
    static const char *ok[] = {
        "https://dmp.example.com", "http://dmp.example.com:8053",   "HTTPS://Node.Example.COM",
        "https://8.8.8.8",         "https://[2606:4700::1111]:443", "https://100.64.0.1",
    };
    static const char *bad[] = {
        "ftp://dmp.example.com",     "https://",
        "https://dmp.example.com/",  "https://dmp.example.com/v1",
        "https://dmp.example.com?",  "https://dmp.example.com#x",
        "https://u@dmp.example.com", "https://localhost",
        "https://LOCALHOST:443",     "https://ip6-localhost",
        "https://127.0.0.1",         "https://127.1",
        "https://10.1.2.3",          "https://192.168.0.1",
        "https://172.16.5.4",        "https://169.254.169.254",
        "https://224.0.0.1",         "https://0.0.0.0",
        "https://203.0.113.9",       "https://[::1]",
        "https://[fc00::1]",         "https://[fe80::1]",
        "https://[ff02::1]",         "https://[2001:db8::1]",
        "https://[::ffff:10.0.0.1]", "https://[::1",
        "https://host:port",         "https://host:70000",
        "https://d\xc3\xa9.com",     "dmp.example.com",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (dmp_wire_heartbeat_endpoint_check(ok[i], strlen(ok[i])) != 0)
            fail_msg("endpoint should pass: %s", ok[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dmp_wire_heartbeat_endpoint_check(bad[i], strlen(bad[i])) != DMP_EWIRE_ENDPOINT)
            fail_msg("endpoint should fail: %s", bad[i]);
    assert_int_equal(dmp_wire_heartbeat_endpoint_check("https://a b.com", 15), DMP_EWIRE_CHARS);
    assert_int_equal(dmp_wire_heartbeat_endpoint_check("https://a\x7f.com", 15), DMP_EWIRE_CHARS);
}

int main(void)
{
    if (dmp_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster),
        cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
