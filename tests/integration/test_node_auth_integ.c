/* Integration tests for multi-tenant auth and self-service registration: real dnsmeshd
 * processes over HTTP and DNS. The whole ceremony (challenge, Ed25519-signed confirm, token),
 * tokens confined to their subjects, and every bad input changing nothing with the reference's
 * status. argv[1] = path of dnsmeshd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "itest.h"

static char g_body[65536];
#define OPTOK "op-s3cret"
#define NODE "Node.Example"

static const char *const g_env[] = {"DMP_AUTH_MODE=multi-tenant",
                                    "DMP_OPERATOR_TOKEN=" OPTOK,
                                    "DMP_REGISTRATION_ENABLED=1",
                                    "DMP_NODE_HOSTNAME=" NODE,
                                    "DMP_SERVED_ZONE=example.com",
                                    "DMP_REGISTRATION_ALLOWLIST=example.com",
                                    "DMP_REGISTRATION_ENDPOINT_RATE_BURST=1000",
                                    "DMP_REGISTRATION_ENDPOINT_RATE_PER_SEC=1000",
                                    "DMP_SHARDS=2",
                                    NULL};

typedef struct {
    uint8_t pk[32], sk[64];
} kp_t;

static int http(const itest_node_t *n, const char *method, const char *path, const char *hdr,
                const char *body)
{
    return itest_http(n, method, path, hdr, body, body ? strlen(body) : 0, g_body, sizeof(g_body));
}

static int post_tok(const itest_node_t *n, const char *name, const char *tok, const char *value)
{
    char path[300], hdr[200], body[400];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
    snprintf(body, sizeof(body), "{\"value\": \"%s\", \"ttl\": 300}", value);
    return http(n, "POST", path, hdr, body);
}

static int del_tok(const itest_node_t *n, const char *name, const char *tok)
{
    char path[300], hdr[200];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
    return http(n, "DELETE", path, hdr, NULL);
}

/* GET with the operator token: how many values the name holds. */
static int values_at(const itest_node_t *n, const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    int st = http(n, "GET", path, "Authorization: Bearer " OPTOK "\r\n", NULL);
    if (st == 404)
        return 0;
    assert_int_equal(st, 200);
    json_t *o = json_loads(g_body, 0, NULL);
    int cnt = (int)json_array_size(json_object_get(o, "values"));
    json_decref(o);
    return cnt;
}

/* TXT answers over UDP DNS for name (-1 = NXDOMAIN/other rcode). */
static int dns_answers(const itest_node_t *n, const char *name)
{
    uint8_t q[512], resp[4096];
    size_t ql = itest_build_query(q, sizeof(q), 0x4242, name, 16, 1232, 0, 0);
    int rl = itest_udp(n, q, ql, resp, sizeof(resp), 2000);
    assert_true(rl >= 12);
    if ((resp[3] & 0x0f) != 0)
        return -1;
    return (resp[6] << 8) | resp[7];
}

typedef struct {
    char challenge[65];
    char node[256];
} chal_t;

static int get_challenge(const itest_node_t *n, chal_t *c)
{
    int st = http(n, "GET", "/v1/registration/challenge", NULL, NULL);
    if (st != 200)
        return st;
    json_t *o = json_loads(g_body, 0, NULL);
    assert_non_null(o);
    snprintf(c->challenge, sizeof(c->challenge), "%s",
             json_string_value(json_object_get(o, "challenge")));
    snprintf(c->node, sizeof(c->node), "%s", json_string_value(json_object_get(o, "node")));
    assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
    assert_int_equal(strlen(json_string_value(json_object_get(o, "server_x25519_pub"))), 64);
    assert_true(json_integer_value(json_object_get(o, "expires_at")) > time(NULL));
    json_decref(o);
    return st;
}

static void confirm_body(char *out, size_t cap, const char *subject, const kp_t *k, const chal_t *c,
                         bool corrupt)
{
    uint8_t ch[32], sig[64];
    assert_int_equal(dmp_hex_decode(c->challenge, 64, ch, 32), 0);
    /* the server verifies over the canonical (lowercased) subject: a client signs that */
    char canon[256];
    snprintf(canon, sizeof(canon), "%s", subject);
    for (char *p = canon; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    assert_int_equal(dmp_crypto_registration_sign(k->sk, ch, canon, strlen(canon), c->node,
                                                  strlen(c->node), sig),
                     0);
    if (corrupt)
        sig[0] ^= 0x80;
    char pkh[65], sigh[129];
    dmp_hex_encode(k->pk, 32, pkh, sizeof(pkh));
    dmp_hex_encode(sig, 64, sigh, sizeof(sigh));
    snprintf(out, cap,
             "{\"subject\": \"%s\", \"ed25519_spk\": \"%s\", \"challenge\": \"%s\", "
             "\"signature\": \"%s\"}",
             subject, pkh, c->challenge, sigh);
}

/* The ceremony; on 200 the token goes to tok. */
static int reg(const itest_node_t *n, const char *subject, const kp_t *k, char tok[64])
{
    chal_t c;
    assert_int_equal(get_challenge(n, &c), 200);
    char body[1024];
    confirm_body(body, sizeof(body), subject, k, &c, false);
    int st = http(n, "POST", "/v1/registration/confirm", NULL, body);
    if (st == 200) {
        json_t *o = json_loads(g_body, 0, NULL);
        snprintf(tok, 64, "%s", json_string_value(json_object_get(o, "token")));
        json_decref(o);
    }
    return st;
}

static void t_ceremony_and_scopes(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, g_env), 0);
    kp_t a, b;
    crypto_sign_keypair(a.pk, a.sk);
    crypto_sign_keypair(b.pk, b.sk);
    char tok[64], tok_b[64];

    chal_t c;
    assert_int_equal(get_challenge(&n, &c), 200);
    assert_string_equal(c.node, NODE);
    char body[1024];
    confirm_body(body, sizeof(body), "alice@example.com", &a, &c, false);
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, body), 200);
    json_t *o = json_loads(g_body, 0, NULL);
    assert_non_null(o);
    snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(o, "token")));
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "alice@example.com");
    assert_true(json_integer_value(json_object_get(o, "expires_at")) > time(NULL) + 7000000);
    assert_true(json_real_value(json_object_get(o, "rate_per_sec")) == 10.0);
    assert_int_equal(json_integer_value(json_object_get(o, "rate_burst")), 50);
    json_decref(o);
    assert_non_null(strstr(g_body, "\"rate_per_sec\": 10.0"));
    assert_int_equal(strlen(tok), 59);
    /* replaying the same confirm: 400, nothing issued */
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, body), 400);
    assert_string_equal(g_body, "{\"error\": \"challenge expired or unknown\"}");

    /* the token writes its own names, visible over DNS at once */
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok, "v=dmp1;t=identity"), 201);
    assert_int_equal(dns_answers(&n, "dmp.alice.example.com"), 1);
    assert_int_equal(post_tok(&n, "slot-1.mb-0123456789ab.example.com", tok, "m1"), 201);
    /* ... and nothing outside its scope: 401, nothing written */
    assert_int_equal(post_tok(&n, "dmp.bob.example.com", tok, "x"), 401);
    assert_string_equal(g_body, "{\"error\": \"unauthorized\"}");
    assert_int_equal(values_at(&n, "dmp.bob.example.com"), 0);
    assert_int_equal(post_tok(&n, "cluster.example.com", tok, "x"), 401);
    assert_int_equal(values_at(&n, "cluster.example.com"), 0);
    assert_int_equal(del_tok(&n, "slot-1.mb-0123456789ab.example.com", tok), 401);
    assert_int_equal(values_at(&n, "slot-1.mb-0123456789ab.example.com"), 1);
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", "dmp_v1_garbage", "x"), 401);
    assert_int_equal(http(&n, "POST", "/v1/records/dmp.alice.example.com", NULL, "{\"value\": 1}"),
                     401);
    /* owner delete is allowed */
    assert_int_equal(del_tok(&n, "dmp.alice.example.com", tok), 204);
    assert_int_equal(values_at(&n, "dmp.alice.example.com"), 0);
    /* the operator token keeps full rights */
    assert_int_equal(post_tok(&n, "cluster.example.com", OPTOK, "op"), 201);

    /* another key cannot take the subject: 409, the first token still works */
    assert_int_equal(reg(&n, "alice@example.com", &b, tok_b), 409);
    assert_string_equal(g_body, "{\"error\": \"subject already has a live token; "
                                "re-registration must be signed with the previously-registered "
                                "Ed25519 key\"}");
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok, "still"), 201);
    /* a bad signature: 401 and the challenge is spent */
    assert_int_equal(get_challenge(&n, &c), 200);
    confirm_body(body, sizeof(body), "bob@example.com", &b, &c, true);
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, body), 401);
    assert_string_equal(g_body, "{\"error\": \"signature verification failed\"}");
    confirm_body(body, sizeof(body), "bob@example.com", &b, &c, false);
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, body), 400);
    /* outside the allowlist: 403 */
    assert_int_equal(reg(&n, "bob@elsewhere.org", &b, tok_b), 403);
    assert_string_equal(g_body, "{\"error\": \"subject not in registration allowlist\"}");
    /* malformed hex and fields */
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL,
                          "{\"subject\": \"bob@example.com\", \"ed25519_spk\": \"xyz\", "
                          "\"challenge\": \"00\", \"signature\": \"00\"}"),
                     400);
    assert_string_equal(g_body, "{\"error\": \"ed25519_spk: not valid hex\"}");
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, "[]"), 400);
    assert_string_equal(g_body, "{\"error\": \"invalid body\"}");
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, "{}"), 400);
    assert_string_equal(g_body, "{\"error\": \"missing or non-string field: subject\"}");
    /* re-registration with the same key rotates: the old token dies */
    assert_int_equal(reg(&n, "Alice@Example.com", &a, tok_b), 200);
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok, "old"), 401);
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok_b, "new"), 201);
    /* bob registers with his own key and still cannot write alice's names */
    char tok_bob[64];
    assert_int_equal(reg(&n, "bob@example.com", &b, tok_bob), 200);
    assert_int_equal(post_tok(&n, "dmp.bob.example.com", tok_bob, "b"), 201);
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok_bob, "evil"), 401);
    assert_int_equal(values_at(&n, "dmp.alice.example.com"), 2);

    /* the counters saw it all */
    assert_int_equal(http(&n, "GET", "/metrics", "Authorization: Bearer " OPTOK "\r\n", NULL), 200);
    assert_non_null(strstr(g_body, "dmp_registrations_total{result=\"issued\"} 3\n"));
    assert_non_null(strstr(g_body, "dmp_registrations_total{result=\"refused\"} 8\n"));
    assert_non_null(strstr(g_body, "dmp_token_auth_total{result=\"throttled\"} 0\n"));
    assert_null(strstr(g_body, "dmp_token_auth_total{result=\"rejected\"} 0\n"));

    /* tokens and the audit log survive a kill -9 restart */
    assert_int_equal(itest_node_stop(&n, SIGKILL), 128 + SIGKILL);
    assert_int_equal(itest_node_start(&n, g_env), 0);
    assert_int_equal(post_tok(&n, "dmp.bob.example.com", tok_bob, "b2"), 201);
    assert_int_equal(post_tok(&n, "dmp.alice.example.com", tok, "old"), 401);
    assert_int_equal(dns_answers(&n, "dmp.bob.example.com"), 2);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static int batch_tok(const itest_node_t *n, const char *tok, const char *body)
{
    char hdr[200];
    if (tok)
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
    return http(n, "POST", "/v1/records", tok ? hdr : NULL, body);
}

/* The batch publish (POST /v1/records) asks the token store about every name: a batch reaching
 * one name outside the token's scope is refused whole, naming that record; the per-token bucket
 * gives a batch all the tokens it needs or none. */
static void t_batch_scopes(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, g_env), 0);
    kp_t a;
    crypto_sign_keypair(a.pk, a.sk);
    char tok[64];
    assert_int_equal(reg(&n, "dave@example.com", &a, tok), 200);
    assert_int_equal(batch_tok(&n, tok,
                               "{\"records\": [{\"name\": \"dmp.dave.example.com\", \"value\": "
                               "\"id\"}, {\"name\": \"slot-2.mb-0123456789ab.example.com\", "
                               "\"value\": \"m\"}]}"),
                     201);
    assert_string_equal(g_body, "{\"ok\": true, \"stored\": 2}");
    assert_int_equal(dns_answers(&n, "dmp.dave.example.com"), 1);
    assert_int_equal(dns_answers(&n, "slot-2.mb-0123456789ab.example.com"), 1);
    const char *foreign = "{\"records\": [{\"name\": \"dmp.dave.example.com\", \"value\": "
                          "\"id2\"}, {\"name\": \"dmp.erin.example.com\", \"value\": \"x\"}]}";
    assert_int_equal(batch_tok(&n, tok, foreign), 401);
    assert_string_equal(g_body, "{\"error\": \"unauthorized\", \"index\": 1, \"name\": "
                                "\"dmp.erin.example.com\"}");
    assert_int_equal(values_at(&n, "dmp.dave.example.com"), 1);
    assert_int_equal(values_at(&n, "dmp.erin.example.com"), 0);
    assert_int_equal(batch_tok(&n, NULL, foreign), 401);
    assert_int_equal(values_at(&n, "dmp.dave.example.com"), 1);
    /* the token's bucket (burst 50, 10/s) gives a batch all its tokens or none, taken with its
     * last record once every name has passed its scope: 30 records whose last is out of scope
     * take nothing; 51 never fit and take nothing either; so 45 still pass after both (had the
     * 30 been spent, fewer than 45 would be left) */
    static char big[51 * 80 + 64];
    int counts[] = {30, 51, 45};
    for (int c = 0; c < 3; c++) {
        int cnt = counts[c];
        size_t off = (size_t)snprintf(big, sizeof(big), "{\"records\": [");
        for (int i = 0; i < cnt; i++)
            off += (size_t)snprintf(big + off, sizeof(big) - off,
                                    "%s{\"name\": \"%s\", \"value\": \"b%d\"}", i ? ", " : "",
                                    c == 0 && i == cnt - 1 ? "dmp.erin.example.com"
                                                           : "slot-3.mb-0123456789ab.example.com",
                                    i);
        snprintf(big + off, sizeof(big) - off, "]}");
        int st = batch_tok(&n, tok, big);
        if (c == 0) {
            assert_int_equal(st, 401);
            assert_string_equal(g_body, "{\"error\": \"unauthorized\", \"index\": 29, \"name\": "
                                        "\"dmp.erin.example.com\"}");
            assert_int_equal(values_at(&n, "slot-3.mb-0123456789ab.example.com"), 0);
        } else if (c == 1) {
            assert_int_equal(st, 429);
            assert_string_equal(g_body, "{\"error\": \"per-token rate limit exceeded\", "
                                        "\"index\": 50, \"name\": "
                                        "\"slot-3.mb-0123456789ab.example.com\"}");
            assert_int_equal(values_at(&n, "slot-3.mb-0123456789ab.example.com"), 0);
        } else {
            assert_int_equal(st, 201);
            assert_int_equal(values_at(&n, "slot-3.mb-0123456789ab.example.com"), 45);
        }
    }
    /* the operator token writes anywhere */
    assert_int_equal(batch_tok(&n, OPTOK, foreign), 201);
    assert_int_equal(values_at(&n, "dmp.dave.example.com"), 2);
    assert_int_equal(values_at(&n, "dmp.erin.example.com"), 1);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* GET / with a hostile Host header: answered, and nothing of the header comes back unescaped. */
static void t_landing_page(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, g_env), 0);
    assert_int_equal(post_tok(&n, "cluster.example.com", OPTOK, "op"), 201);
    int fd = itest_connect_tcp(&n, n.http_port);
    assert_true(fd >= 0);
    const char *req = "GET / HTTP/1.0\r\nHost: evil\"><script>alert(1)</script>\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    static char buf[1 << 16];
    size_t got = 0;
    for (int i = 0; i < 200 && got < sizeof(buf) - 1; i++) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    assert_non_null(strstr(buf, "HTTP/1.0 200") ? buf : strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "text/html; charset=utf-8"));
    assert_null(strstr(buf, "<script>"));
    assert_non_null(strstr(buf, "https://evil&quot;&gt;&lt;script&gt;"));
    assert_non_null(strstr(buf, "Records stored:</strong> 1"));
    assert_non_null(strstr(buf, "Self-service registration is <strong>open</strong>"));
    assert_non_null(strstr(buf, "<code>example.com</code>"));
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static void t_gates_and_limits(void **state)
{
    (void)state;
    itest_node_t n;
    /* registration closed: multi-tenant without DMP_REGISTRATION_ENABLED */
    assert_int_equal(itest_node_init(&n), 0);
    const char *e1[] = {"DMP_AUTH_MODE=multi-tenant", "DMP_NODE_HOSTNAME=" NODE, NULL};
    assert_int_equal(itest_node_start(&n, e1), 0);
    assert_int_equal(http(&n, "GET", "/v1/registration/challenge", NULL, NULL), 404);
    assert_string_equal(g_body, "{\"error\": \"not found\"}");
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, "{}"), 404);
    /* no operator token configured: every write needs a user token */
    assert_int_equal(http(&n, "POST", "/v1/records/dmp.a.example.com", NULL, "{\"value\": \"x\"}"),
                     401);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);

    /* enabled but in legacy mode: still 404 (the reference's gate) */
    assert_int_equal(itest_node_init(&n), 0);
    const char *e2[] = {"DMP_OPERATOR_TOKEN=" OPTOK, "DMP_REGISTRATION_ENABLED=1",
                        "DMP_NODE_HOSTNAME=" NODE, NULL};
    assert_int_equal(itest_node_start(&n, e2), 0);
    assert_int_equal(http(&n, "GET", "/v1/registration/challenge", NULL, NULL), 404);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);

    /* the registration limiter (burst 2, no refill to speak of) and the per-token limiter */
    assert_int_equal(itest_node_init(&n), 0);
    const char *e3[] = {"DMP_AUTH_MODE=multi-tenant",
                        "DMP_REGISTRATION_ENABLED=1",
                        "DMP_NODE_HOSTNAME=" NODE,
                        "DMP_REGISTRATION_ENDPOINT_RATE_BURST=2",
                        "DMP_REGISTRATION_ISSUED_RATE_BURST=2",
                        "DMP_REGISTRATION_ISSUED_RATE_PER_SEC=0.0001",
                        NULL};
    assert_int_equal(itest_node_start(&n, e3), 0);
    kp_t a;
    crypto_sign_keypair(a.pk, a.sk);
    chal_t c;
    assert_int_equal(get_challenge(&n, &c), 200);
    char body[1024];
    confirm_body(body, sizeof(body), "carol@example.com", &a, &c, false);
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, body), 200);
    json_t *o = json_loads(g_body, 0, NULL);
    char tok[64];
    snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(o, "token")));
    json_decref(o);
    assert_int_equal(http(&n, "GET", "/v1/registration/challenge", NULL, NULL), 429);
    assert_string_equal(g_body, "{\"error\": \"registration rate limit exceeded\"}");
    assert_int_equal(http(&n, "POST", "/v1/registration/confirm", NULL, "{}"), 429);
    assert_int_equal(post_tok(&n, "dmp.carol.example.com", tok, "1"), 201);
    assert_int_equal(post_tok(&n, "dmp.carol.example.com", tok, "2"), 201);
    assert_int_equal(post_tok(&n, "dmp.carol.example.com", tok, "3"), 429);
    assert_string_equal(g_body, "{\"error\": \"per-token rate limit exceeded\"}");
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

int main(int argc, char **argv)
{
    int rc = itest_init(argc, argv, NULL);
    if (rc != 0)
        return rc;
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_ceremony_and_scopes),
        cmocka_unit_test(t_gates_and_limits),
        cmocka_unit_test(t_batch_scopes),
        cmocka_unit_test(t_landing_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
