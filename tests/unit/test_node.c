/* Unit tests for src/node: configuration, validation, record paths, request bodies, the rate
 * limiter, metrics rendering and the group-commit syncer's gap rule (the write path is in
 * test_node_core.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node.h"

/* ---- config ---- */
typedef struct {
    const char *const *kv; /* "K=V" list, NULL-terminated */
} fake_env_t;

static const char *fake_getenv(const char *name, void *ctx)
{
    fake_env_t *e = ctx;
    size_t n = strlen(name);
    for (const char *const *p = e->kv; p && *p; p++) {
        if (strncmp(*p, name, n) == 0 && (*p)[n] == '=')
            return *p + n + 1;
    }
    return NULL;
}

static int load(const char *const *kv, int argc, char **argv, dmp_node_config_t *c, char *err,
                size_t errcap)
{
    fake_env_t e = {kv};
    bool help = false;
    char *dflt[] = {"dnsmeshd", NULL};
    return dmp_node_config_load(c, fake_getenv, &e, argc ? argc : 1, argc ? argv : dflt, &help, err,
                                errcap);
}

static void t_config_defaults(void **state)
{
    (void)state;
    dmp_node_config_t c;
    char err[256];
    const char *kv[] = {"DMP_HTTP_HOST=127.0.0.1", NULL};
    assert_int_equal(load(kv, 0, NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.db_path, "/var/lib/dmp/dmp.db");
    assert_string_equal(c.dns_host, "0.0.0.0");
    assert_int_equal(c.dns_port, 5353);
    assert_int_equal(c.http_port, 8053);
    assert_int_equal(c.dns_ttl, 60);
    assert_true(c.dns_rate == 0.0 && c.dns_burst == 200.0); /* RRL protects instead */
    assert_true(c.http_rate == 10.0 && c.http_burst == 300.0);
    assert_int_equal(c.max_ttl, 86400);
    assert_int_equal(c.max_value_bytes, 12288);
    assert_int_equal(c.max_values_per_name, 64);
    assert_int_equal(c.auth_mode, DMP_NODE_AUTH_OPEN);
    assert_null(c.operator_token);
    assert_null(c.served_zone);
    assert_true(c.cleanup_interval == 60.0);
    assert_int_equal(c.sync_pull_rate, 1000); /* a backfill's pace, docs/cluster.md */
    assert_true(c.frontends >= 1 && c.shards >= 1);
    assert_true(c.cache_doorkeeper); /* one-shot misses fill no more than half the cache */
    assert_true(c.name_index);       /* misses of names unwritten since the start read its file */
    assert_int_equal(c.name_index_rebuild_s, 60); /* a new table at most once a minute */
    assert_int_equal(c.store_cache_mb, 192);
    assert_int_equal(c.store_wbuf_mb, 64);
    assert_int_equal(c.store_prefetch_mb, -1); /* auto */
    dmp_node_config_free(&c);
}

static void t_config_env_and_flags(void **state)
{
    (void)state;
    dmp_node_config_t c;
    char err[256];
    const char *kv[] = {"DMP_HTTP_HOST=::1",
                        "DMP_DNS_PORT=0",
                        "DMP_HTTP_TOKEN=tok",
                        "DMP_DOMAIN=Example.COM.",
                        "DMP_NODE_HOSTNAME=other.example",
                        "DMP_DNS_APEX_A=192.0.2.7",
                        "DMP_CLEANUP_INTERVAL=0.5",
                        "DMP_LOG_LEVEL=WARNING",
                        "DMP_SYNC_PULL_RATE=0",
                        "DMP_CACHE_DOORKEEPER=off",
                        "DMP_STORE_CACHE_MB=96",
                        "DMP_STORE_WRITE_BUFFER_MB=8",
                        "DMP_STORE_PREFETCH_MB=512",
                        "DMP_NAME_INDEX=off",
                        "DMP_NAME_INDEX_REBUILD_S=0",
                        NULL};
    char *argv[] = {"dnsmeshd", "--dns-port=1053",          "--shards",
                    "3",        "--allow-open-public-bind", NULL};
    assert_int_equal(load(kv, 5, argv, &c, err, sizeof(err)), 0);
    assert_int_equal(c.dns_port, 1053); /* flag wins */
    assert_int_equal(c.shards, 3);
    assert_true(c.allow_open_public_bind);
    assert_string_equal(c.operator_token, "tok"); /* alias */
    assert_int_equal(c.auth_mode, DMP_NODE_AUTH_LEGACY);
    assert_string_equal(c.served_zone, "example.com"); /* chain, lowercased, no dot */
    assert_string_equal(c.apex_a, "192.0.2.7");
    assert_true(c.cleanup_interval == 0.5);
    assert_int_equal(c.log_level, DMP_LOG_WARN);
    assert_int_equal(c.sync_pull_rate, 0); /* unpaced */
    assert_false(c.cache_doorkeeper);
    assert_int_equal(c.store_cache_mb, 96);
    assert_int_equal(c.store_wbuf_mb, 8);
    assert_int_equal(c.store_prefetch_mb, 512);
    assert_false(c.name_index);
    assert_int_equal(c.name_index_rebuild_s, 0);
    dmp_node_config_free(&c);

    /* DMP_OPERATOR_TOKEN wins over the alias; the served-zone chain order */
    const char *kv2[] = {"DMP_HTTP_HOST=127.0.0.1", "DMP_OPERATOR_TOKEN=op",
                         "DMP_HTTP_TOKEN=alias",    "DMP_CLUSTER_BASE_DOMAIN=c.example",
                         "DMP_DOMAIN=d.example",    NULL};
    assert_int_equal(load(kv2, 0, NULL, &c, err, sizeof(err)), 0);
    assert_string_equal(c.operator_token, "op");
    assert_string_equal(c.served_zone, "c.example");
    dmp_node_config_free(&c);
}

static void t_config_errors(void **state)
{
    (void)state;
    dmp_node_config_t c;
    char err[256];
    struct {
        const char *kv;
        const char *want;
    } cases[] = {
        {"DMP_DNS_PORT=70000", "DMP_DNS_PORT"},
        {"DMP_DNS_PORT=12x", "DMP_DNS_PORT"},
        {"DMP_HTTP_PORT=-1", "DMP_HTTP_PORT"},
        {"DMP_DNS_TTL=abc", "DMP_DNS_TTL"},
        {"DMP_DNS_RATE=-1", "DMP_DNS_RATE"},
        {"DMP_DNS_BURST=nan", "DMP_DNS_BURST"},
        {"DMP_MAX_TTL=0", "DMP_MAX_TTL"},
        {"DMP_MAX_VALUE_BYTES=0", "DMP_MAX_VALUE_BYTES"},
        {"DMP_AUTH_MODE=multi-tenants", "DMP_AUTH_MODE"},
        {"DMP_REGISTRATION_ENABLED=maybe", "DMP_REGISTRATION_ENABLED"},
        {"DMP_REGISTRATION_TOKEN_TTL_SECONDS=-1", "DMP_REGISTRATION_TOKEN_TTL_SECONDS"},
        {"DMP_REGISTRATION_ISSUED_RATE_BURST=x", "DMP_REGISTRATION_ISSUED_RATE_BURST"},
        {"DMP_REGISTRATION_ENDPOINT_RATE_PER_SEC=-2", "DMP_REGISTRATION_ENDPOINT_RATE_PER_SEC"},
        {"DMP_AUTH_MODE=legacy", "DMP_AUTH_MODE"}, /* no token */
        {"DMP_ALLOW_OPEN_PUBLIC_BIND=maybe", "DMP_ALLOW_OPEN_PUBLIC_BIND"},
        {"DMP_DNS_HOST=example.com", "DMP_DNS_HOST"},
        {"DMP_DNS_APEX_A=1.2.3", "DMP_DNS_APEX_A"},
        {"DMP_DNS_APEX_AAAA=zz::", "DMP_DNS_APEX_AAAA"},
        {"DMP_SERVED_ZONE=a..b", "DMP_SERVED_ZONE"},
        {"DMP_CLEANUP_INTERVAL=0", "DMP_CLEANUP_INTERVAL"},
        {"DMP_LOG_LEVEL=loud", "DMP_LOG_LEVEL"},
        {"DMP_LOG_FORMAT=xml", "DMP_LOG_FORMAT"},
        {"DMP_RING_SIZE=1000", "DMP_RING_SIZE"},
        {"DMP_CACHE_DOORKEEPER=maybe", "DMP_CACHE_DOORKEEPER"},
        {"DMP_STORE_CACHE_MB=4", "DMP_STORE_CACHE_MB"},
        {"DMP_STORE_CACHE_MB=x", "DMP_STORE_CACHE_MB"},
        {"DMP_STORE_WRITE_BUFFER_MB=0", "DMP_STORE_WRITE_BUFFER_MB"},
        {"DMP_STORE_WRITE_BUFFER_MB=1025", "DMP_STORE_WRITE_BUFFER_MB"},
        {"DMP_STORE_PREFETCH_MB=-1", "DMP_STORE_PREFETCH_MB"},
        {"DMP_STORE_PREFETCH_MB=lots", "DMP_STORE_PREFETCH_MB"},
        {"DMP_NAME_INDEX=2", "DMP_NAME_INDEX"},
        {"DMP_NAME_INDEX_REBUILD_S=86401", "DMP_NAME_INDEX_REBUILD_S"},
        {"DMP_NAME_INDEX_REBUILD_S=1m", "DMP_NAME_INDEX_REBUILD_S"},
        {"DMP_OPERATOR_TOKEN=has space", "DMP_OPERATOR_TOKEN"},
        {"DMP_SYNC_PULL_RATE=-1", "DMP_SYNC_PULL_RATE"},
        {"DMP_SYNC_PULL_RATE=10000001", "DMP_SYNC_PULL_RATE"},
        {"DMP_SYNC_PULL_RATE=1k", "DMP_SYNC_PULL_RATE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *kv[] = {"DMP_HTTP_HOST=127.0.0.1", cases[i].kv, NULL};
        err[0] = 0;
        assert_int_equal(load(kv, 0, NULL, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
        if (!strstr(err, cases[i].want))
            fail_msg("%s: message '%s' does not name %s", cases[i].kv, err, cases[i].want);
        assert_null(strchr(err, '\n'));
    }
    /* multi-tenant and the registration knobs */
    const char *mt[] = {
        "DMP_HTTP_HOST=127.0.0.1",          "DMP_AUTH_MODE=Multi-Tenant",
        "DMP_REGISTRATION_ENABLED=yes",     "DMP_REGISTRATION_ALLOWLIST= Example.COM. ,,b.test",
        "DMP_NODE_HOSTNAME= Node.Example ", NULL};
    assert_int_equal(load(mt, 0, NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(c.auth_mode, DMP_NODE_AUTH_MULTI_TENANT);
    assert_true(c.registration_enabled);
    assert_int_equal(c.reg_allowlist_n, 2);
    assert_string_equal(c.reg_allowlist[0], "example.com");
    assert_string_equal(c.reg_allowlist[1], "b.test");
    assert_string_equal(c.node_hostname, "Node.Example"); /* case kept, as the reference */
    assert_string_equal(c.served_zone, "node.example");
    assert_int_equal(c.reg_token_ttl_s, 7776000);
    assert_true(c.reg_issued_rate == 10.0 && c.reg_issued_burst == 50);
    assert_true(c.reg_endpoint_rate > 0.00138 && c.reg_endpoint_rate < 0.00139);
    assert_true(c.reg_endpoint_burst == 5.0);
    dmp_node_config_free(&c);
    /* open mode on a public bind needs the opt-in; a token lifts the guard */
    const char *pub[] = {"DMP_HTTP_HOST=0.0.0.0", NULL};
    assert_int_equal(load(pub, 0, NULL, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
    assert_non_null(strstr(err, "DMP_ALLOW_OPEN_PUBLIC_BIND"));
    const char *pub2[] = {"DMP_HTTP_HOST=0.0.0.0", "DMP_ALLOW_OPEN_PUBLIC_BIND=yes", NULL};
    assert_int_equal(load(pub2, 0, NULL, &c, err, sizeof(err)), 0);
    dmp_node_config_free(&c);
    const char *pub3[] = {"DMP_HTTP_HOST=203.0.113.7", "DMP_OPERATOR_TOKEN=t", NULL};
    assert_int_equal(load(pub3, 0, NULL, &c, err, sizeof(err)), 0);
    dmp_node_config_free(&c);
    /* flags: unknown, missing value, bad value names the flag and the variable */
    char *a1[] = {"dnsmeshd", "--nope=1", NULL};
    const char *lo[] = {"DMP_HTTP_HOST=127.0.0.1", NULL};
    assert_int_equal(load(lo, 2, a1, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
    char *a2[] = {"dnsmeshd", "--dns-port", NULL};
    assert_int_equal(load(lo, 2, a2, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
    char *a3[] = {"dnsmeshd", "--dns-port=x", NULL};
    assert_int_equal(load(lo, 2, a3, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
    assert_non_null(strstr(err, "--dns-port"));
    assert_non_null(strstr(err, "DMP_DNS_PORT"));
}

static void t_loopback(void **state)
{
    (void)state;
    assert_true(dmp_node_host_is_loopback("127.0.0.1"));
    assert_true(dmp_node_host_is_loopback("127.1.2.3"));
    assert_true(dmp_node_host_is_loopback("::1"));
    assert_true(dmp_node_host_is_loopback("localhost"));
    assert_false(dmp_node_host_is_loopback("0.0.0.0"));
    assert_false(dmp_node_host_is_loopback("::"));
    assert_false(dmp_node_host_is_loopback(""));
    assert_false(dmp_node_host_is_loopback("0"));
    assert_false(dmp_node_host_is_loopback("203.0.113.7"));
}

/* ---- validation ---- */
static void t_names_values(void **state)
{
    (void)state;
    const char *good[] = {"a",      "a.b", "_dnsmesh-claim-abc.mesh.test", "x-1.y",
                          "A.B.C.", "0.1", "mb-abc123.example.com"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(dmp_node_name_valid(good[i], strlen(good[i])));
    const char *badn[] = {"",    ".",   "a..b", "-a",     "a-", "a_b",
                          "__a", "a b", "a\nb", "é.test", ".a", "a.-b"};
    for (size_t i = 0; i < sizeof(badn) / sizeof(badn[0]); i++)
        assert_false(dmp_node_name_valid(badn[i], strlen(badn[i])));
    char lab[80];
    memset(lab, 'a', 63);
    lab[63] = 0;
    assert_true(dmp_node_name_valid(lab, 63));
    memset(lab, 'a', 64);
    assert_false(dmp_node_name_valid(lab, 64));
    char longn[300];
    for (int i = 0; i < 254; i++)
        longn[i] = (i % 2) ? '.' : 'a';
    assert_false(dmp_node_name_valid(longn, 254)); /* > 253 */

    assert_true(dmp_node_value_safe((const uint8_t *)"v=dmp1;t=x", 10));
    assert_true(dmp_node_value_safe((const uint8_t *)"\xc3\xa9", 2));
    assert_false(dmp_node_value_safe((const uint8_t *)"a\"b", 3));
    assert_false(dmp_node_value_safe((const uint8_t *)"a\x1f", 2));
    assert_false(dmp_node_value_safe((const uint8_t *)"\x7f", 1));
    assert_true(dmp_node_value_safe((const uint8_t *)"", 0));
}

static void t_record_path(void **state)
{
    (void)state;
    char out[256];
    size_t n;
#define P(s) dmp_node_record_path(s, strlen(s), out, sizeof(out), &n)
    assert_int_equal(P("/v1/records/a.b"), 0);
    assert_string_equal(out, "a.b");
    assert_int_equal(P("/v1/records/a.b/"), 0);
    assert_string_equal(out, "a.b");
    assert_int_equal(P("/v1/records/%20A.B..%20"), 0);
    assert_string_equal(out, "A.B");
    assert_int_equal(P("/v1/records/a%2"), 0);
    assert_string_equal(out, "a%2");
    assert_int_equal(P("/v1/records/a%0Ab"), 0);
    assert_string_equal(out, "a\nb");
    assert_int_equal(P("/v1/records/"), DMP_ENOTFOUND);
    assert_int_equal(P("/v1/records"), DMP_ENOTFOUND);
    assert_int_equal(P("/v1/records/a/b"), DMP_ENOTFOUND);
    assert_int_equal(P("/v1/records//"), DMP_ENOTFOUND);
    assert_int_equal(P("/v2/records/a"), DMP_ENOTFOUND);
#undef P
    char longp[600];
    memcpy(longp, "/v1/records/", 12);
    memset(longp + 12, 'a', 500);
    longp[512] = 0;
    assert_int_equal(dmp_node_record_path(longp, 512, out, sizeof(out), &n), DMP_ETOOBIG);
}

/* ---- bodies ---- */
/* POST /v1/records: the records, each with its name and the single POST's rules; the index of
 * the first bad one; nothing returned on error. */
/* The caps the body tests check against: TTL 300 s, values of 10 bytes. */
static dmp_node_config_t body_cfg(void)
{
    dmp_node_config_t c;
    memset(&c, 0, sizeof(c));
    c.max_ttl = 300;
    c.max_value_bytes = 10;
    return c;
}

static void t_batch_body(void **state)
{
    (void)state;
    dmp_node_config_t c = body_cfg();
    dmp_node_batch_t b;
    size_t bi = 0;
    char msg[160];
#define BP(s) dmp_node_batch_parse(&c, (const uint8_t *)(s), strlen(s), &b, &bi, msg, sizeof(msg))
    assert_int_equal(BP("{\"records\": [{\"name\": \"A.mesh.test.\", \"value\": \"abc\"}, "
                        "{\"name\": \"b.mesh.test\", \"value\": \"\", \"ttl\": 7}]}"),
                     0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.recs[0].name, "A.mesh.test.");
    assert_int_equal(b.recs[0].name_len, 12);
    assert_int_equal(b.recs[0].ttl, 300);
    assert_memory_equal(b.recs[0].value, "abc", 3);
    assert_int_equal(b.recs[1].value_len, 0);
    assert_int_equal(b.recs[1].ttl, 7);
    dmp_node_batch_free(&b);
    assert_null(b.recs);
    const char *bad[][3] = {
        {"", "invalid body", "-"},
        {"[1]", "invalid body", "-"},
        {"{}", "records (a non-empty list) required", "-"},
        {"{\"records\": {}}", "records (a non-empty list) required", "-"},
        {"{\"records\": []}", "records (a non-empty list) required", "-"},
        {"{\"records\": [{\"name\": \"a.b\", \"value\": \"x\"}, 3]}",
         "each record must be an object", "1"},
        {"{\"records\": [{\"value\": \"x\"}]}", "name (str) required", "0"},
        {"{\"records\": [{\"name\": 5, \"value\": \"x\"}]}", "name (str) required", "0"},
        {"{\"records\": [{\"name\": \"a..b\", \"value\": \"x\"}]}", "invalid record name", "0"},
        {"{\"records\": [{\"name\": \"a.b\", \"value\": \"x\"}, {\"name\": \"a.b\"}]}",
         "value (str) and ttl (int > 0) required", "1"},
        {"{\"records\": [{\"name\": \"a.b\", \"value\": \"x\", \"ttl\": 301}]}",
         "ttl exceeds cap of 300s", "0"},
        {"{\"records\": [{\"name\": \"a.b\", \"value\": \"x\", \"ttl\": true}]}",
         "value (str) and ttl (int > 0) required", "0"},
        {"{\"records\": [{\"name\": \"a.b\", \"value\": \"01234567890\"}]}",
         "value exceeds cap of 10 bytes", "0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(BP(bad[i][0]), 400);
        assert_string_equal(msg, bad[i][1]);
        if (bad[i][2][0] == '-')
            assert_true(bi == SIZE_MAX);
        else
            assert_int_equal(bi, (size_t)(bad[i][2][0] - '0'));
        assert_null(b.recs);
        assert_int_equal(b.n, 0);
    }
    /* a name of 254 bytes or more is refused, not truncated */
    char body[2048];
    char longname[300];
    memset(longname, 'a', sizeof(longname));
    for (size_t i = 63; i < sizeof(longname); i += 64)
        longname[i] = '.';
    longname[299] = 0;
    snprintf(body, sizeof(body), "{\"records\": [{\"name\": \"%s\", \"value\": \"x\"}]}", longname);
    assert_int_equal(BP(body), 400);
    assert_string_equal(msg, "invalid record name");
    /* at most DMP_NODE_BATCH_MAX records: 413 before any is looked at */
    size_t off = (size_t)snprintf(body, sizeof(body), "{\"records\": [");
    for (unsigned i = 0; i <= DMP_NODE_BATCH_MAX; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off, "%s1", i ? "," : "");
    snprintf(body + off, sizeof(body) - off, "]}");
    assert_int_equal(BP(body), 413);
    assert_string_equal(msg, "at most 64 records per request");
    assert_true(bi == SIZE_MAX);
#undef BP
}

static void t_bodies(void **state)
{
    (void)state;
    dmp_node_config_t c = body_cfg();
    dmp_node_post_t p;
    char msg[160];
#define PP(s) dmp_node_post_parse(&c, (const uint8_t *)(s), strlen(s), &p, msg, sizeof(msg))
    assert_int_equal(PP("{\"value\": \"abc\"}"), 0);
    assert_int_equal(p.ttl, 300);
    assert_int_equal(p.value_len, 3);
    free(p.value);
    /* a JSON boolean is not an integer (the reference takes true as 1 s) */
    assert_int_equal(PP("{\"value\": \"abc\", \"ttl\": true}"), 400);
    assert_int_equal(PP("{\"value\": \"abc\", \"ttl\": false}"), 400);
    assert_int_equal(PP("nope"), 400);
    assert_string_equal(msg, "invalid body");
    assert_int_equal(PP("[1]"), 400);
    assert_string_equal(msg, "invalid body");
    assert_int_equal(PP("\"str\""), 400);
    assert_int_equal(PP(""), 400); /* {} has no value */
    assert_string_equal(msg, "value (str) and ttl (int > 0) required");
    assert_int_equal(PP("{\"value\": \"a\", \"ttl\": 1.5}"), 400);
    assert_int_equal(PP("{\"value\": \"a\", \"ttl\": -1}"), 400);
    assert_int_equal(PP("{\"value\": \"a\", \"ttl\": false}"), 400);
    assert_int_equal(PP("{\"value\": null}"), 400);
    assert_int_equal(PP("{\"value\": \"a\", \"ttl\": 301}"), 400);
    assert_string_equal(msg, "ttl exceeds cap of 300s");
    assert_int_equal(PP("{\"value\": \"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}"), 400);
    assert_string_equal(msg, "value exceeds cap of 10 bytes"); /* 12 UTF-8 bytes */
    /* JSON "\u0000" is a valid string (Python's json accepts it): the value parses and is then
     * refused by the value rule ("invalid record value"), not as a malformed body */
    assert_int_equal(PP("{\"value\": \"a\\u0000b\"}"), 0);
    assert_int_equal(p.value_len, 3);
    assert_memory_equal(p.value, "a\0b", 3);
    assert_false(dmp_node_value_safe(p.value, p.value_len));
    free(p.value);
#undef PP
    uint8_t *v;
    size_t vl;
#define DP(s) dmp_node_delete_parse((const uint8_t *)(s), strlen(s), &v, &vl, msg, sizeof(msg))
    assert_int_equal(DP(""), 0);
    assert_null(v);
    assert_int_equal(DP("{}"), 0);
    assert_null(v);
    assert_int_equal(DP("{\"value\": null}"), 0);
    assert_null(v);
    assert_int_equal(DP("{\"value\": \"x\"}"), 0);
    assert_non_null(v);
    assert_int_equal(vl, 1);
    free(v);
    assert_int_equal(DP("{bad"), 400);
    assert_string_equal(msg, "invalid body");
    assert_int_equal(DP("[]"), 400);
    assert_int_equal(DP("{\"value\": 3}"), 400);
    assert_string_equal(msg, "invalid record value");
    assert_int_equal(DP("{\"value\": \"a\\nb\"}"), 400);
    assert_int_equal(DP("{\"value\": \"a\\u0000b\"}"), 400);
    assert_string_equal(msg, "invalid record value");
#undef DP
}

/* ---- rate limiter ---- */
static void t_ratelimit(void **state)
{
    (void)state;
    dmp_node_rl_t *rl;
    assert_int_equal(dmp_node_rl_new(0, 10, 100, 2, &rl), 0);
    assert_null(rl); /* disabled */
    assert_int_equal(dmp_node_rl_check(NULL, "a", 1, 0), DMP_NODE_RL_ALLOW);

    assert_int_equal(dmp_node_rl_new(1.0, 3, 100, 2, &rl), 0);
    assert_non_null(rl);
    uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    int64_t t = 1000000000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(dmp_node_rl_check(rl, a, 4, t), DMP_NODE_RL_ALLOW);
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t), DMP_NODE_RL_DROP);
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t), DMP_NODE_RL_SLIP); /* every 2nd */
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t), DMP_NODE_RL_DROP);
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t), DMP_NODE_RL_SLIP);
    /* another source has its own bucket */
    assert_int_equal(dmp_node_rl_check(rl, b, 4, t), DMP_NODE_RL_ALLOW);
    /* refill: 1 token per second */
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t + 1000000000), DMP_NODE_RL_ALLOW);
    assert_int_equal(dmp_node_rl_check(rl, a, 4, t + 1000000000), DMP_NODE_RL_DROP);
    /* never more than the burst after a long pause */
    int64_t later = t + 100LL * 1000000000;
    int ok = 0;
    for (int i = 0; i < 10; i++)
        ok += dmp_node_rl_check(rl, a, 4, later) == DMP_NODE_RL_ALLOW;
    assert_int_equal(ok, 3);
    /* n tokens at once, all or none: a request larger than what is left takes nothing */
    int64_t later2 = later + 100LL * 1000000000; /* full again: 3 */
    assert_int_equal(dmp_node_rl_take(rl, a, 4, later2, 2), DMP_NODE_RL_ALLOW);
    assert_int_equal(dmp_node_rl_take(rl, a, 4, later2, 2), DMP_NODE_RL_DROP);
    assert_int_equal(dmp_node_rl_take(rl, a, 4, later2, 0), DMP_NODE_RL_ALLOW);
    assert_int_equal(dmp_node_rl_check(rl, a, 4, later2), DMP_NODE_RL_ALLOW); /* the 1 left */
    assert_int_equal(dmp_node_rl_check(rl, a, 4, later2), DMP_NODE_RL_SLIP);
    assert_int_equal(dmp_node_rl_take(rl, b, 4, later2, 4), DMP_NODE_RL_DROP); /* > burst */
    assert_int_equal(dmp_node_rl_take(rl, b, 4, later2, 3), DMP_NODE_RL_ALLOW);
    /* tokens given back (a refused batch) are there again, never past the burst */
    dmp_node_rl_give(rl, b, 4, 2);
    assert_int_equal(dmp_node_rl_take(rl, b, 4, later2, 2), DMP_NODE_RL_ALLOW);
    assert_int_not_equal(dmp_node_rl_take(rl, b, 4, later2, 1), DMP_NODE_RL_ALLOW);
    dmp_node_rl_give(rl, b, 4, 100);
    assert_int_not_equal(dmp_node_rl_take(rl, b, 4, later2, 4), DMP_NODE_RL_ALLOW); /* > burst */
    assert_int_equal(dmp_node_rl_take(rl, b, 4, later2, 3), DMP_NODE_RL_ALLOW);
    dmp_node_rl_give(rl, "zzzz", 4, 3); /* a source never seen: nothing to give back to */
    dmp_node_rl_give(NULL, b, 4, 3);
    /* bounded table: many sources, still works and each new one starts full */
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t k[4];
        memcpy(k, &i, 4);
        assert_int_equal(dmp_node_rl_check(rl, k, 4, later), DMP_NODE_RL_ALLOW);
    }
    dmp_node_rl_free(rl);
}

/* ---- metrics ---- */
static void t_metrics_render(void **state)
{
    (void)state;
    dmp_node_metrics_t m;
    assert_int_equal(dmp_node_metrics_init(&m, 3), 0);
    DMP_STAT_INC(&m.t[0], dns_rcode[0]);
    DMP_STAT_INC(&m.t[1], dns_rcode[0]);
    DMP_STAT_INC(&m.t[2], dns_rcode[3]);
    DMP_STAT_INC(&m.t[1], dns_rate_limited);
    DMP_STAT_INC(&m.t[0], dns_qtype[dmp_node_qtype_slot(16)]);
    dmp_node_lat_observe(&m.t[0], 3000);
    dmp_node_lat_observe(&m.t[1], 2000000000);
    dmp_node_http_count(&m.t[2], "POST", 201);
    DMP_STAT_ADD(&m.t[0], cache_fills_applied, 5);
    DMP_STAT_ADD(&m.t[2], cache_fills_applied, 1);
    DMP_STAT_ADD(&m.t[1], cache_fills_stale, 2);
    dmp_node_tstats_t s;
    dmp_node_metrics_sum(&m, &s);
    assert_int_equal(s.dns_rcode[0], 2);
    dmp_node_gauges_t g;
    memset(&g, 0, sizeof(g));
    g.records = 7;
    g.records_ok = 1;
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_node_metrics_render(&m, &g, &b), 0);
    dmp_buf_append_u8(&b, 0);
    const char *txt = (const char *)b.data;
    assert_non_null(strstr(txt, "# TYPE dmp_dns_queries_total counter\n"));
    assert_non_null(strstr(txt, "dmp_dns_queries_total{outcome=\"noerror\"} 2\n"));
    assert_non_null(strstr(txt, "dmp_dns_queries_total{outcome=\"nxdomain\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_dns_queries_total{outcome=\"rate_limited\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_dns_queries_by_type_total{qtype=\"TXT\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_dns_handle_seconds_bucket{le=\"5e-06\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_dns_handle_seconds_bucket{le=\"1\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_dns_handle_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(txt, "dmp_http_requests_total{method=\"POST\",status=\"201\"} 1\n"));
    assert_non_null(strstr(txt, "dmp_records 7\n"));
    assert_non_null(strstr(txt, "dmp_cache_fills_total{result=\"applied\"} 6\n"));
    assert_non_null(strstr(txt, "dmp_cache_fills_total{result=\"stale\"} 2\n"));
    assert_int_equal(txt[strlen(txt) - 1], '\n');
    dmp_buf_free(&b);
    dmp_node_metrics_free(&m);
}

/* Every configuration knob is documented, with its flag, in README.md and docs/node.md. */
static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", DMP_SOURCE_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strdup(buf);
}

static void t_docs_list_every_knob(void **state)
{
    (void)state;
    const char *docs[] = {"README.md", "docs/node.md"};
    size_t n = 0;
    const dmp_node_knob_t *k = dmp_node_knobs(&n);
    for (size_t d = 0; d < 2; d++) {
        char *text = slurp(docs[d]);
        if (!text)
            skip();
        for (size_t i = 0; i < n; i++) {
            char want[160];
            snprintf(want, sizeof(want), "| `%s`", k[i].env);
            if (!strstr(text, want))
                fail_msg("%s does not document %s", docs[d], k[i].env);
            if (k[i].flag) {
                snprintf(want, sizeof(want), "`--%s`", k[i].flag);
                if (!strstr(text, want))
                    fail_msg("%s does not document --%s", docs[d], k[i].flag);
            }
            if (k[i].flag && k[i].defval) { /* the table row's default is the knob's */
                snprintf(want, sizeof(want), "`--%s` | `%s` |", k[i].flag, k[i].defval);
                if (!strstr(text, want))
                    fail_msg("%s does not give %s's default %s", docs[d], k[i].env, k[i].defval);
            }
        }
        free(text);
    }
}

/* ---- group commit: the gap between syncs ---- */
static void t_sync_gap_rule(void **state)
{
    (void)state;
    assert_int_equal(dmp_node_sync_gap_ns(0), 0);
    assert_int_equal(dmp_node_sync_gap_ns(1), 2000000);
    assert_int_equal(dmp_node_sync_gap_ns(4), 4000000);
    assert_int_equal(dmp_node_sync_gap_ns(9), 6000000);
    assert_int_equal(dmp_node_sync_gap_ns(2), 2828427); /* 2 ms x sqrt(2), rounded down */
    assert_int_equal(dmp_node_sync_gap_ns(24), 9797958);
    assert_int_equal(dmp_node_sync_gap_ns(25), 10000000);
    assert_int_equal(dmp_node_sync_gap_ns(1000000), 10000000); /* the cap */
    for (size_t n = 1; n < 40; n++) /* never shrinks as a sync carries more */
        assert_true(dmp_node_sync_gap_ns(n + 1) >= dmp_node_sync_gap_ns(n));
}

typedef struct {
    dmp_node_syncer_t *sy;
    _Atomic int done;
    uint64_t syncs_at_done; /* the syncer's count when the txn completed */
    int64_t start_at_done;  /* the start of the sync that completed it */
} gap_txn_ctx_t;

static void gap_done(dmp_node_txn_t *t)
{
    gap_txn_ctx_t *c = t->ctx;
    c->syncs_at_done = atomic_load(&c->sy->syncs);
    c->start_at_done = c->sy->last_start_ns; /* written by the syncer thread, which calls us */
    atomic_store(&c->done, 1);
}

static void wait_done(gap_txn_ctx_t *c)
{
    for (int i = 0; i < 2000 && !atomic_load(&c->done); i++)
        usleep(1000);
    assert_true(atomic_load(&c->done));
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Hands the syncer `ntx` transactions of `per` changes each in one chain, waits until they are
 * complete (each after a sync), then one more transaction, and returns how long after the
 * start of the sync that carried the chain the next sync started. */
static int64_t syncer_next_gap(int ntx, size_t per)
{
    char dir[] = "/tmp/dmp_syncgap_XXXXXX";
    assert_non_null(mkdtemp(dir));
    dmp_store_opts_t o = {.path = dir, .create_if_missing = true};
    dmp_store_t *st;
    char err[200];
    assert_int_equal(dmp_store_open(&o, &st, err, sizeof(err)), 0);
    dmp_node_syncer_t sy;
    assert_int_equal(dmp_node_syncer_start(&sy, st), 0);
    enum { MAXTX = 31 };
    assert_true(ntx + 1 <= MAXTX);
    dmp_node_txn_t tx[MAXTX];
    gap_txn_ctx_t cx[MAXTX];
    memset(tx, 0, sizeof(tx));
    memset(cx, 0, sizeof(cx));
    for (int i = 0; i <= ntx; i++) {
        cx[i].sy = &sy;
        tx[i].ctx = &cx[i];
        tx[i].done = gap_done;
        tx[i].n = i < ntx ? per : 1; /* the syncer reads only the count of the changes */
    }
    for (int i = 0; i + 1 < ntx; i++)
        tx[i].next = &tx[i + 1];
    dmp_node_syncer_defer(&sy, &tx[0], &tx[ntx - 1]);
    for (int i = 0; i < ntx; i++) {
        wait_done(&cx[i]);
        assert_true(cx[i].syncs_at_done >= 1);
    }
    int64_t first = cx[ntx - 1].start_at_done;
    /* carried the whole chain when the sync thread took it at once, as it does here */
    assert_int_equal(cx[0].start_at_done, first);
    dmp_node_syncer_defer(&sy, &tx[ntx], &tx[ntx]);
    wait_done(&cx[ntx]);
    assert_true(cx[ntx].syncs_at_done >= 2);
    int64_t gap = cx[ntx].start_at_done - first;
    dmp_node_syncer_stop(&sy);
    dmp_store_close(st);
    assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    return gap;
}

/* The syncer completes a transaction only after a sync, and after a sync that carried 30
 * transactions the next one starts at least 10 ms later (the gap rule's cap). */
static void t_syncer_gap_after_a_full_sync(void **state)
{
    (void)state;
    assert_true(syncer_next_gap(30, 0) >= dmp_node_sync_gap_ns(30));
}

/* The gap counts records: one transaction of 30 changes (a batch publish) spaces the next sync
 * as 30 single writes do, not as one. */
static void t_syncer_gap_counts_records(void **state)
{
    (void)state;
    assert_true(syncer_next_gap(1, 30) >= dmp_node_sync_gap_ns(30));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_config_defaults),
        cmocka_unit_test(t_config_env_and_flags),
        cmocka_unit_test(t_config_errors),
        cmocka_unit_test(t_loopback),
        cmocka_unit_test(t_names_values),
        cmocka_unit_test(t_record_path),
        cmocka_unit_test(t_bodies),
        cmocka_unit_test(t_batch_body),
        cmocka_unit_test(t_ratelimit),
        cmocka_unit_test(t_metrics_render),
        cmocka_unit_test(t_docs_list_every_knob),
        cmocka_unit_test(t_sync_gap_rule),
        cmocka_unit_test(t_syncer_gap_after_a_full_sync),
        cmocka_unit_test(t_syncer_gap_counts_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
