/* Integration: the TSIG registration ceremony over HTTP (GET /v1/registration/challenge, POST
 * /v1/registration/tsig-confirm with the X25519 proof of possession), then DNS UPDATE with the
 * minted key inside and outside its scope; the reference's error statuses and texts.
 * usage: test_tsig_reg_integ /path/to/dnsmeshd */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "crypto/crypto.h"
#include "dns/dns.h"
#include "itest.h"
#include "util/util.h"

static char g_body[65536];

static const char *const g_env[] = {"DMP_AUTH_MODE=multi-tenant",
                                    "DMP_OPERATOR_TOKEN=op-s3cret",
                                    "DMP_REGISTRATION_ENABLED=1",
                                    "DMP_NODE_HOSTNAME=Node.Example",
                                    "DMP_SERVED_ZONE=example.com",
                                    "DMP_REGISTRATION_ALLOWLIST=example.com",
                                    "DMP_REGISTRATION_ENDPOINT_RATE_BURST=1000",
                                    "DMP_REGISTRATION_ENDPOINT_RATE_PER_SEC=1000",
                                    "DMP_DNS_UPDATE_ENABLED=1",
                                    "DMP_SHARDS=2",
                                    NULL};

static int http(const itest_node_t *n, const char *method, const char *path, const char *body)
{
    return itest_http(n, method, path, NULL, body, body ? strlen(body) : 0, g_body, sizeof(g_body));
}

typedef struct {
    uint8_t challenge[32];
    char challenge_hex[65];
    char node[256];
    uint8_t server_x[32];
} chal_t;

static void get_challenge(const itest_node_t *n, chal_t *c)
{
    assert_int_equal(http(n, "GET", "/v1/registration/challenge", NULL), 200);
    json_t *o = json_loads(g_body, 0, NULL);
    assert_non_null(o);
    snprintf(c->challenge_hex, sizeof(c->challenge_hex), "%s",
             json_string_value(json_object_get(o, "challenge")));
    snprintf(c->node, sizeof(c->node), "%s", json_string_value(json_object_get(o, "node")));
    assert_int_equal(dmp_hex_decode(c->challenge_hex, 64, c->challenge, 32), 0);
    assert_int_equal(dmp_hex_decode(json_string_value(json_object_get(o, "server_x25519_pub")), 64,
                                    c->server_x, 32),
                     0);
    json_decref(o);
}

typedef struct {
    uint8_t pk[32], sk[64];
    uint8_t xpk[32], xsk[32];
} ids_t;

static void ids_new(ids_t *i)
{
    crypto_sign_keypair(i->pk, i->sk);
    crypto_box_keypair(i->xpk, i->xsk);
}

/* pop_mode: 0 = valid PoP, 1 = wrong PoP, 2 = no X25519 fields, 3 = bad hex in x25519_pub */
static void body_for(char *out, size_t cap, const char *subject, const ids_t *id, const chal_t *c,
                     int pop_mode)
{
    uint8_t sig[64], pop[32];
    assert_int_equal(dmp_crypto_registration_sign(id->sk, c->challenge, subject, strlen(subject),
                                                  c->node, strlen(c->node), sig),
                     0);
    assert_int_equal(dmp_crypto_x25519_pop(id->xsk, c->server_x, c->challenge, subject,
                                           strlen(subject), id->xpk, pop),
                     0);
    if (pop_mode == 1)
        pop[0] ^= 1;
    char pkh[65], sigh[129], xh[65], poph[65];
    dmp_hex_encode(id->pk, 32, pkh, sizeof(pkh));
    dmp_hex_encode(sig, 64, sigh, sizeof(sigh));
    dmp_hex_encode(id->xpk, 32, xh, sizeof(xh));
    dmp_hex_encode(pop, 32, poph, sizeof(poph));
    if (pop_mode == 3)
        xh[5] = 'z';
    if (pop_mode == 2)
        snprintf(out, cap,
                 "{\"subject\": \"%s\", \"ed25519_spk\": \"%s\", \"challenge\": \"%s\", "
                 "\"signature\": \"%s\"}",
                 subject, pkh, c->challenge_hex, sigh);
    else
        snprintf(out, cap,
                 "{\"subject\": \"%s\", \"ed25519_spk\": \"%s\", \"challenge\": \"%s\", "
                 "\"signature\": \"%s\", \"x25519_pub\": \"%s\", \"x25519_pop\": \"%s\"}",
                 subject, pkh, c->challenge_hex, sigh, xh, poph);
}

static int update_rc(const itest_node_t *n, const dmp_tsig_key_t *k, const char *owner)
{
    dmp_upd_op_t op;
    memset(&op, 0, sizeof(op));
    op.kind = DMP_UPD_ADD;
    op.owner_len = (size_t)snprintf(op.owner, sizeof(op.owner), "%s", owner);
    op.ttl = 300;
    op.value_len = 2;
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_dns_update_build(0x7777, "example.com", &op, 1, (const uint8_t *)"hi", &b),
                     0);
    assert_int_equal(dmp_buf_reserve(&b, 512), 0);
    size_t len = b.len;
    assert_int_equal(
        dmp_tsig_sign(b.data, &len, b.cap, k, NULL, 0, (uint64_t)time(NULL), 300, 0, NULL, 0), 0);
    uint8_t r[1024];
    int rl = itest_udp(n, b.data, len, r, sizeof(r), 3000);
    dmp_buf_free(&b);
    assert_true(rl > 12);
    return r[3] & 0xF;
}

static void t_tsig_ceremony(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, g_env), 0);
    ids_t alice;
    ids_new(&alice);
    chal_t c;
    char body[2048];

    /* a bad proof of possession: 401 with the reference's text, nothing minted */
    get_challenge(&n, &c);
    body_for(body, sizeof(body), "alice@example.com", &alice, &c, 1);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 401);
    assert_string_equal(g_body, "{\"error\": \"x25519_pop verification failed: registrant did "
                                "not prove possession of the claimed X25519 key\"}");
    /* the challenge was consumed by that attempt */
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 400);
    assert_string_equal(g_body, "{\"error\": \"challenge expired or unknown\"}");
    get_challenge(&n, &c);
    body_for(body, sizeof(body), "alice@example.com", &alice, &c, 3);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 400);
    assert_string_equal(g_body, "{\"error\": \"x25519_pub: not valid hex\"}");

    /* the ceremony */
    get_challenge(&n, &c);
    body_for(body, sizeof(body), "alice@example.com", &alice, &c, 0);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 200);
    json_t *o = json_loads(g_body, 0, NULL);
    assert_non_null(o);
    const char *kn = json_string_value(json_object_get(o, "tsig_key_name"));
    assert_non_null(kn);
    assert_int_equal(strncmp(kn, "alice-", 6), 0);
    assert_int_equal(kn[strlen(kn) - 1], '.');
    assert_string_equal(json_string_value(json_object_get(o, "tsig_algorithm")), "hmac-sha256");
    assert_string_equal(json_string_value(json_object_get(o, "zone")), "example.com");
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "alice@example.com");
    assert_true(json_integer_value(json_object_get(o, "expires_at")) > time(NULL));
    json_t *suf = json_object_get(o, "allowed_suffixes");
    assert_int_equal(json_array_size(suf), 8);
    /* the mailbox suffix of the proven X25519 key */
    uint8_t h1[32], h2[32];
    dmp_crypto_sha256(alice.xpk, 32, h1);
    dmp_crypto_sha256(h1, 32, h2);
    char hh[65], mb[64];
    dmp_hex_encode(h2, 32, hh, sizeof(hh));
    snprintf(mb, sizeof(mb), "mb-%.12s.example.com", hh);
    bool found = false;
    for (size_t i = 0; i < json_array_size(suf); i++)
        found |= strcmp(json_string_value(json_array_get(suf, i)), mb) == 0;
    assert_true(found);
    dmp_tsig_key_t k;
    memset(&k, 0, sizeof(k));
    snprintf(k.name, sizeof(k.name), "%.*s", (int)strlen(kn) - 1, kn);
    k.alg = DMP_TSIG_HMAC_SHA256;
    k.secret_len = 32;
    assert_int_equal(
        dmp_hex_decode(json_string_value(json_object_get(o, "tsig_secret_hex")), 64, k.secret, 32),
        0);
    json_decref(o);

    /* the key writes its own names over DNS UPDATE, nothing else */
    uint8_t lh[32];
    dmp_crypto_sha256((const uint8_t *)"alice", 5, lh);
    char lhh[65], own[128];
    dmp_hex_encode(lh, 32, lhh, sizeof(lhh));
    snprintf(own, sizeof(own), "id-%.16s.example.com", lhh);
    assert_int_equal(update_rc(&n, &k, own), 0);
    char slot[96];
    snprintf(slot, sizeof(slot), "slot-3.%s", mb);
    assert_int_equal(update_rc(&n, &k, slot), 0);
    assert_int_equal(update_rc(&n, &k, "id-0000000000000000.example.com"), DMP_DNS_RCODE_REFUSED);
    assert_int_equal(update_rc(&n, &k, "cluster.example.com"), DMP_DNS_RCODE_REFUSED);

    /* another Ed25519 key for the same live subject: 409; the same key again: a new secret */
    ids_t mallory;
    ids_new(&mallory);
    get_challenge(&n, &c);
    body_for(body, sizeof(body), "alice@example.com", &mallory, &c, 2);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 409);
    get_challenge(&n, &c);
    body_for(body, sizeof(body), "alice@example.com", &alice, &c, 2);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 200);
    /* the rotated key replaced the old secret */
    assert_int_equal(update_rc(&n, &k, own), DMP_DNS_RCODE_NOTAUTH);
    /* local part over 47 characters */
    char longsub[128];
    memset(longsub, 'l', 48);
    snprintf(longsub + 48, sizeof(longsub) - 48, "@example.com");
    get_challenge(&n, &c);
    body_for(body, sizeof(body), longsub, &alice, &c, 2);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", body), 400);
    assert_string_equal(g_body, "{\"error\": \"subject local part too long for TSIG key label "
                                "(max 47 chars)\"}");
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);

    /* DNS UPDATE off: the route answers 404 "tsig registration disabled" */
    assert_int_equal(itest_node_init(&n), 0);
    const char *env2[16];
    size_t k2 = 0;
    for (size_t i = 0; g_env[i]; i++)
        if (strncmp(g_env[i], "DMP_DNS_UPDATE_ENABLED", 22) != 0)
            env2[k2++] = g_env[i];
    env2[k2] = NULL;
    assert_int_equal(itest_node_start(&n, env2), 0);
    assert_int_equal(http(&n, "POST", "/v1/registration/tsig-confirm", "{}"), 404);
    assert_string_equal(g_body, "{\"error\": \"tsig registration disabled\"}");
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(t_tsig_ceremony)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
