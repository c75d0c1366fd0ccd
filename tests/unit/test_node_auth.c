/* Unit tests for multi-tenant auth: token shapes, subject canonicalisation, the scope
 * classifier, the token store (authorise, throttle, expiry, revocation, self-service rotation,
 * audit log, persistence) and the registration ceremony (every failure in the reference's
 * order, single-use and expiring challenges). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "node/node.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static char g_dir[64];
static dmp_store_t *g_store;
static int64_t g_now_s = 1700000000;
static int64_t fake_now_s(void)
{
    return g_now_s;
}

static void store_open(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/db", g_dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    char err[256];
    assert_int_equal(dmp_store_open(&o, &g_store, err, sizeof(err)), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/dmp-node-auth-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    store_open();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dmp_store_close(g_store);
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void t_token_shape(void **state)
{
    (void)state;
    char tok[DMP_NODE_TOKEN_LEN + 1], tok2[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_generate(tok);
    dmp_node_token_generate(tok2);
    assert_int_equal(strlen(tok), 59);
    assert_memory_equal(tok, "dmp_v1_", 7);
    assert_true(dmp_node_token_shape_ok(tok, 59));
    assert_string_not_equal(tok, tok2);
    assert_false(dmp_node_token_shape_ok(tok, 58));
    char bad[60];
    memcpy(bad, tok, 60);
    bad[10] = 'a'; /* lowercase */
    assert_false(dmp_node_token_shape_ok(bad, 59));
    memcpy(bad, "dmp_v2_", 7);
    assert_false(dmp_node_token_shape_ok(bad, 59));
    char digits[60] = "dmp_v1_";
    memset(digits + 7, '2', 52);
    assert_false(dmp_node_token_shape_ok(digits, 59)); /* isupper() needs a letter */
    char h[65];
    dmp_node_token_hash("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void t_subject(void **state)
{
    (void)state;
    char out[256], d[700];
    assert_int_equal(
        dmp_node_subject_canonical(" Alice@Example.COM\n", 19, out, sizeof(out), d, sizeof(d)), 0);
    assert_string_equal(out, "alice@example.com");
    /* fullwidth letters canonicalise to ASCII (NFKC) */
    const char *fw = "\xef\xbd\x81lice@example.com"; /* U+FF41 */
    assert_int_equal(dmp_node_subject_canonical(fw, strlen(fw), out, sizeof(out), d, sizeof(d)), 0);
    assert_string_equal(out, "alice@example.com");
    /* Cyrillic look-alike: refused */
    const char *cy = "\xd0\xb0lice@example.com"; /* U+0430 */
    assert_int_equal(dmp_node_subject_canonical(cy, strlen(cy), out, sizeof(out), d, sizeof(d)),
                     DMP_EINVAL);
    assert_string_equal(d, "subject must be ASCII; got non-ASCII character at position 0");
    assert_int_equal(dmp_node_subject_canonical("a@b", 3, out, sizeof(out), d, sizeof(d)),
                     DMP_EINVAL);
    assert_string_equal(d, "subject does not match <local>@<fqdn> shape: 'a@b'");
    const char *bads[] = {"@example.com", "a@-x.com", "a@x-.com", "_a@x.com",
                          "a b@x.com",    "a@x..com", "ab",       "a@x.com@y.com"};
    for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++)
        assert_int_equal(
            dmp_node_subject_canonical(bads[i], strlen(bads[i]), out, sizeof(out), d, sizeof(d)),
            DMP_EINVAL);
    assert_int_equal(
        dmp_node_subject_canonical("a.b+c_d-e@x.y.z", 15, out, sizeof(out), d, sizeof(d)), 0);
}

static void t_classify(void **state)
{
    (void)state;
    struct {
        const char *name;
        dmp_node_scope_kind_t kind;
        const char *subject;
    } cases[] = {
        {"dmp.alice.example.com", DMP_NODE_SCOPE_OWNER, "alice@example.com"},
        {"DMP.Alice.Example.com.", DMP_NODE_SCOPE_OWNER, "alice@example.com"},
        {"dmp.alice.com", DMP_NODE_SCOPE_OPERATOR, NULL}, /* domain needs 2 labels */
        {"id-0123456789abcdef.example.com", DMP_NODE_SCOPE_OWNER,
         "#id16:0123456789abcdef@example.com"},
        {"prekeys.id-0123456789ab.example.com", DMP_NODE_SCOPE_OWNER,
         "#prekeys:0123456789ab@example.com"},
        {"rotate.dmp.id-0123456789ab.example.com", DMP_NODE_SCOPE_OPERATOR, NULL},
        {"rotate.dmp.bob.example.com", DMP_NODE_SCOPE_OWNER, "bob@example.com"},
        {"pk-17.0123456789ab.example.com", DMP_NODE_SCOPE_OWNER, "#0123456789ab"},
        {"slot-3.mb-0123456789ab.example.com", DMP_NODE_SCOPE_SHARED, NULL},
        {"slot-x.mb-0123456789ab.example.com", DMP_NODE_SCOPE_OPERATOR, NULL},
        {"chunk-0001-0123456789ab.example.com", DMP_NODE_SCOPE_SHARED, NULL},
        {"chunk-0001-0123456789ab.com", DMP_NODE_SCOPE_OPERATOR, NULL},
        {"cluster.example.com", DMP_NODE_SCOPE_OPERATOR, NULL},
        {"id-0123456789ab.example.com", DMP_NODE_SCOPE_OPERATOR, NULL},
        {"_dnsmesh-heartbeat.example.com", DMP_NODE_SCOPE_UNKNOWN, NULL},
        {"localhost", DMP_NODE_SCOPE_UNKNOWN, NULL},
        {"a..b.com", DMP_NODE_SCOPE_UNKNOWN, NULL},
        {"...", DMP_NODE_SCOPE_UNKNOWN, NULL},
        {"dmp.al\xc3\xa9.example.com", DMP_NODE_SCOPE_UNKNOWN, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dmp_node_scope_t sc;
        dmp_node_classify_name(cases[i].name, strlen(cases[i].name), &sc);
        if (sc.kind != cases[i].kind)
            fail_msg("%s: kind %d, want %d", cases[i].name, sc.kind, cases[i].kind);
        if (cases[i].subject)
            assert_string_equal(sc.subject, cases[i].subject);
    }
}

static bool authz(dmp_node_tokens_t *t, const char *tok, const char *name, bool del,
                  dmp_node_authz_t want)
{
    return dmp_node_tokens_authorize(t, tok, strlen(tok), name, strlen(name), "192.0.2.9", del,
                                     1) == want;
}

static void t_tokens(void **state)
{
    (void)state;
    dmp_node_tokens_t *t = NULL;
    assert_int_equal(dmp_node_tokens_open(g_store, fake_now_s, &t), 0);
    char tok[DMP_NODE_TOKEN_LEN + 1], tok_b[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_t row;
    dmp_node_issue_t o = {.rate_per_sec = 1e-9, .rate_burst = 3, .issuer = "admin:test"};
    assert_int_equal(dmp_node_tokens_issue(t, "bad subject", &o, tok, &row), DMP_EINVAL);
    assert_int_equal(dmp_node_tokens_issue(t, "Alice@Example.com", &o, tok, &row), 0);
    assert_string_equal(row.subject, "alice@example.com");
    assert_int_equal(row.expires_at, 0);
    char h[65];
    dmp_node_token_hash(tok, strlen(tok), h);
    assert_string_equal(row.token_hash, h);
    /* the token itself is nowhere in the store */
    dmp_node_token_t got;
    assert_int_equal(dmp_node_tokens_get(t, h, &got), 0);
    assert_string_equal(got.issuer, "admin:test");

    assert_true(authz(t, tok, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_OK));
    assert_true(authz(t, tok, "dmp.alice.example.com", true, DMP_NODE_AUTHZ_OK));
    /* burst 3 and no refill: the third use is the last */
    assert_true(authz(t, tok, "slot-1.mb-0123456789ab.example.com", false, DMP_NODE_AUTHZ_OK));
    assert_true(
        authz(t, tok, "slot-1.mb-0123456789ab.example.com", false, DMP_NODE_AUTHZ_THROTTLED));
    /* rejections come before the bucket */
    assert_true(authz(t, tok, "dmp.bob.example.com", false, DMP_NODE_AUTHZ_REJECT));
    assert_true(authz(t, tok, "slot-1.mb-0123456789ab.example.com", true, DMP_NODE_AUTHZ_REJECT));
    assert_true(authz(t, tok, "cluster.example.com", false, DMP_NODE_AUTHZ_REJECT));
    assert_true(authz(t, "dmp_v1_nope", "dmp.alice.example.com", false, DMP_NODE_AUTHZ_REJECT));
    char unknown[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_generate(unknown);
    assert_true(authz(t, unknown, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_REJECT));
    /* hashed namespaces follow the subject's local part and domain */
    char uh[65];
    dmp_node_sha256_hex("alice", 5, uh);
    char idn[128], pkn[128];
    snprintf(idn, sizeof(idn), "id-%.16s.example.com", uh);
    snprintf(pkn, sizeof(pkn), "prekeys.id-%.12s.example.com", uh);
    dmp_node_issue_t o2 = {.rate_per_sec = 10, .rate_burst = 50, .expires_in_s = 100};
    assert_int_equal(dmp_node_tokens_issue(t, "alice@example.com", &o2, tok_b, &row), 0);
    assert_int_equal(row.expires_at, g_now_s + 100);
    assert_true(authz(t, tok_b, idn, false, DMP_NODE_AUTHZ_OK));
    assert_true(authz(t, tok_b, pkn, false, DMP_NODE_AUTHZ_OK));
    snprintf(idn, sizeof(idn), "id-%.16s.other.com", uh);
    assert_true(authz(t, tok_b, idn, false, DMP_NODE_AUTHZ_REJECT));
    /* prekey scope only for tokens issued with it */
    assert_true(authz(t, tok_b, "pk-1.0123456789ab.example.com", false, DMP_NODE_AUTHZ_REJECT));
    char tok_pk[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_issue_t o3 = {.rate_per_sec = 10, .rate_burst = 50, .subject_hash12 = "0123456789ab"};
    assert_int_equal(dmp_node_tokens_issue(t, "carol@example.com", &o3, tok_pk, &row), 0);
    assert_true(authz(t, tok_pk, "pk-1.0123456789ab.example.com", false, DMP_NODE_AUTHZ_OK));
    /* expiry */
    g_now_s += 100;
    assert_true(authz(t, tok_b, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_REJECT));
    g_now_s -= 100;
    assert_true(authz(t, tok_b, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_OK));
    /* revocation by hash and by subject */
    char hb[65];
    dmp_node_token_hash(tok_b, strlen(tok_b), hb);
    assert_int_equal(dmp_node_tokens_revoke_hash(t, hb, ""), 0);
    assert_int_equal(dmp_node_tokens_revoke_hash(t, hb, ""), DMP_ENOTFOUND);
    assert_true(authz(t, tok_b, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_REJECT));
    size_t cnt = 0;
    assert_int_equal(dmp_node_tokens_revoke_subject(t, "CAROL@example.com", "", &cnt), 0);
    assert_int_equal(cnt, 1);
    assert_true(authz(t, tok_pk, "pk-1.0123456789ab.example.com", false, DMP_NODE_AUTHZ_REJECT));

    /* the audit log, newest first; shared-pool rows carry neither hash nor subject */
    dmp_node_audit_t rows[64];
    size_t n = 0;
    assert_int_equal(dmp_node_tokens_audit_tail(t, NULL, 64, rows, &n), 0);
    assert_true(n >= 15);
    assert_string_equal(rows[0].event, "rejected");
    assert_string_equal(rows[1].event, "revoked");
    assert_string_equal(rows[1].detail, "by_subject count=1");
    assert_int_equal(dmp_node_tokens_audit_tail(t, "throttled", 64, rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].detail, "shared-pool");
    assert_string_equal(rows[0].token_hash, "");
    assert_string_equal(rows[0].subject, "");
    assert_string_equal(rows[0].remote_addr, "192.0.2.9");
    assert_int_equal(dmp_node_tokens_audit_tail(t, "used", 2, rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(dmp_node_tokens_audit_tail(t, "issued", 64, rows, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[2].detail, "issuer='admin:test' note=''");
    dmp_node_tokens_close(t);

    /* everything survives a reopen of the store */
    dmp_store_close(g_store);
    store_open();
    assert_int_equal(dmp_node_tokens_open(g_store, fake_now_s, &t), 0);
    assert_true(authz(t, tok, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_OK));
    assert_true(authz(t, tok_b, "dmp.alice.example.com", false, DMP_NODE_AUTHZ_REJECT));
    assert_int_equal(dmp_node_tokens_audit_tail(t, "issued", 64, rows, &n), 0);
    assert_int_equal(n, 3);
    dmp_node_tokens_close(t);
}

static void t_self_service(void **state)
{
    (void)state;
    dmp_node_tokens_t *t = NULL;
    assert_int_equal(dmp_node_tokens_open(g_store, fake_now_s, &t), 0);
    const char *k1 = "aa00000000000000000000000000000000000000000000000000000000000001";
    const char *k2 = "bb00000000000000000000000000000000000000000000000000000000000002";
    dmp_node_issue_t o = {.rate_per_sec = 10, .rate_burst = 50, .expires_in_s = 1000};
    char t1[DMP_NODE_TOKEN_LEN + 1], t2[DMP_NODE_TOKEN_LEN + 1], t3[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_t row;
    /* an admin-issued token neither blocks nor is revoked */
    char ta[DMP_NODE_TOKEN_LEN + 1];
    assert_int_equal(dmp_node_tokens_issue(t, "dave@example.com", &o, ta, &row), 0);
    assert_int_equal(dmp_node_tokens_rotate_self_service(t, "dave@example.com", k1, &o, t1, &row),
                     0);
    assert_string_equal(row.issuer, "self-service");
    assert_string_equal(row.registered_spk, k1);
    /* another key: 409, nothing changes */
    assert_int_equal(dmp_node_tokens_rotate_self_service(t, "dave@example.com", k2, &o, t2, &row),
                     DMP_EEXIST);
    assert_true(authz(t, t1, "dmp.dave.example.com", false, DMP_NODE_AUTHZ_OK));
    /* the same key (any hex case): rotates, the old token dies */
    char k1u[65];
    for (int i = 0; i < 64; i++)
        k1u[i] = (char)(k1[i] >= 'a' ? k1[i] - 32 : k1[i]);
    k1u[64] = 0;
    assert_int_equal(dmp_node_tokens_rotate_self_service(t, "dave@example.com", k1u, &o, t3, &row),
                     0);
    assert_true(authz(t, t1, "dmp.dave.example.com", false, DMP_NODE_AUTHZ_REJECT));
    assert_true(authz(t, t3, "dmp.dave.example.com", false, DMP_NODE_AUTHZ_OK));
    assert_true(authz(t, ta, "dmp.dave.example.com", false, DMP_NODE_AUTHZ_OK));
    /* once the key's token expired, another key may take the subject */
    g_now_s += 1000;
    assert_int_equal(dmp_node_tokens_rotate_self_service(t, "dave@example.com", k2, &o, t2, &row),
                     0);
    g_now_s -= 1000;
    dmp_node_tokens_close(t);
}

/* ---- the registration ceremony ---- */
typedef struct {
    uint8_t pk[32], sk[64];
} kp_t;

static void body_for(char *out, size_t cap, const char *subject, const kp_t *k,
                     const char *challenge_hex, const char *node, bool corrupt)
{
    uint8_t ch[32], sig[64];
    assert_int_equal(dmp_hex_decode(challenge_hex, 64, ch, 32), 0);
    char canon[256], d[700];
    assert_int_equal(
        dmp_node_subject_canonical(subject, strlen(subject), canon, sizeof(canon), d, sizeof(d)),
        0);
    assert_int_equal(
        dmp_crypto_registration_sign(k->sk, ch, canon, strlen(canon), node, strlen(node), sig), 0);
    if (corrupt)
        sig[5] ^= 1;
    char pkh[65], sigh[129];
    dmp_hex_encode(k->pk, 32, pkh, sizeof(pkh));
    dmp_hex_encode(sig, 64, sigh, sizeof(sigh));
    snprintf(out, cap,
             "{\"subject\": \"%s\", \"ed25519_spk\": \"%s\", \"challenge\": \"%s\", "
             "\"signature\": \"%s\"}",
             subject, pkh, challenge_hex, sigh);
}

static int confirm(dmp_node_reg_t *r, const char *body, char tok[DMP_NODE_TOKEN_LEN + 1],
                   dmp_node_reg_err_t *e)
{
    dmp_node_reg_req_t q;
    dmp_node_token_t row;
    int rc = dmp_node_reg_parse((const uint8_t *)body, strlen(body), &q, e);
    if (rc == 0)
        rc = dmp_node_reg_confirm(r, &q, "198.51.100.1", tok, &row, e);
    dmp_node_reg_req_free(&q);
    return rc;
}

static void t_registration(void **state)
{
    (void)state;
    dmp_node_config_t cfg = {0};
    cfg.auth_mode = DMP_NODE_AUTH_MULTI_TENANT;
    cfg.registration_enabled = true;
    cfg.node_hostname = "Node.Example";
    char *allow[] = {"example.com", "ok.test", NULL};
    cfg.reg_allowlist = allow;
    cfg.reg_allowlist_n = 2;
    cfg.reg_token_ttl_s = 3600;
    cfg.reg_issued_rate = 10;
    cfg.reg_issued_burst = 50;
    dmp_node_tokens_t *t = NULL;
    assert_int_equal(dmp_node_tokens_open(g_store, fake_now_s, &t), 0);
    assert_true(dmp_node_reg_enabled(&cfg, t));
    assert_false(dmp_node_reg_enabled(&cfg, NULL));
    dmp_node_reg_t *r = NULL;
    assert_int_equal(dmp_node_reg_new(&cfg, t, fake_now_s, &r), 0);
    kp_t k1, k2;
    crypto_sign_keypair(k1.pk, k1.sk);
    crypto_sign_keypair(k2.pk, k2.sk);
    dmp_node_challenge_t c;
    char body[1024], tok[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_reg_err_t e;

    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    assert_int_equal(strlen(c.challenge_hex), 64);
    assert_string_equal(c.node, "Node.Example");
    assert_int_equal(c.expires_at, g_now_s + 60);
    body_for(body, sizeof(body), "Erin@Example.com", &k1, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 0);
    assert_true(dmp_node_token_shape_ok(tok, strlen(tok)));
    assert_true(authz(t, tok, "dmp.erin.example.com", false, DMP_NODE_AUTHZ_OK));
    /* replay: single use */
    assert_int_equal(confirm(r, body, tok, &e), 400);
    assert_string_equal(e.msg, "challenge expired or unknown");

    /* bad signature: 401, and the challenge is spent */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    body_for(body, sizeof(body), "erin@example.com", &k1, c.challenge_hex, "Node.Example", true);
    assert_int_equal(confirm(r, body, tok, &e), 401);
    assert_string_equal(e.msg, "signature verification failed");
    body_for(body, sizeof(body), "erin@example.com", &k1, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 400);
    /* signed over another node name: 401 */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    body_for(body, sizeof(body), "erin@example.com", &k1, c.challenge_hex, "node.example", false);
    assert_int_equal(confirm(r, body, tok, &e), 401);
    /* another key for a held subject: 409 */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    body_for(body, sizeof(body), "erin@example.com", &k2, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 409);
    assert_string_equal(e.msg, "subject already has a live token; re-registration must be "
                               "signed with the previously-registered Ed25519 key");
    /* outside the allowlist: 403 (only after a good signature) */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    body_for(body, sizeof(body), "erin@evil.com", &k2, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 403);
    assert_string_equal(e.msg, "subject not in registration allowlist");
    /* expired challenge */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    g_now_s += 60;
    body_for(body, sizeof(body), "fay@ok.test", &k2, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 400);
    assert_string_equal(e.msg, "challenge expired or unknown");
    g_now_s -= 60;
    /* the challenge is looked up as sent: uppercase hex is another string */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    for (char *p = c.challenge_hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    body_for(body, sizeof(body), "fay@ok.test", &k2, c.challenge_hex, "Node.Example", false);
    assert_int_equal(confirm(r, body, tok, &e), 400);

    /* malformed bodies, in the reference's order */
    struct {
        const char *body;
        const char *msg;
    } bad[] = {
        {"[1]", "invalid body"},
        {"{", "invalid body"},
        {"", "missing or non-string field: subject"},
        {"{\"subject\": 1}", "missing or non-string field: subject"},
        {"{\"subject\": \"a@b.c\"}", "missing or non-string field: ed25519_spk"},
        {"{\"subject\": \"a@b.c\", \"ed25519_spk\": \"00\", \"challenge\": \"\"}",
         "missing or non-string field: challenge"},
        {"{\"subject\": \"x\", \"ed25519_spk\": \"00\", \"challenge\": \"00\", \"signature\": "
         "\"00\"}",
         "subject invalid: subject does not match <local>@<fqdn> shape: 'x'"},
        {"{\"subject\": \"a@b.c\", \"ed25519_spk\": \"0g\", \"challenge\": \"00\", "
         "\"signature\": \"00\"}",
         "ed25519_spk: not valid hex"},
        {"{\"subject\": \"a@b.c\", \"ed25519_spk\": \"000\", \"challenge\": \"00\", "
         "\"signature\": \"00\"}",
         "ed25519_spk: not valid hex"},
        {"{\"subject\": \"a@b.c\", \"ed25519_spk\": \"00\", \"challenge\": \"00\", "
         "\"signature\": \"00\"}",
         "ed25519_spk: expected 32 bytes, got 1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(confirm(r, bad[i].body, tok, &e), 400);
        assert_string_equal(e.msg, bad[i].msg);
    }
    /* a weak (low-order) key never verifies */
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    char wk[1024];
    snprintf(wk, sizeof(wk),
             "{\"subject\": \"g@ok.test\", \"ed25519_spk\": "
             "\"0100000000000000000000000000000000000000000000000000000000000000\", "
             "\"challenge\": \"%s\", \"signature\": \"%0128d\"}",
             c.challenge_hex, 0);
    assert_int_equal(confirm(r, wk, tok, &e), 401);

    /* the store of pending challenges is bounded and drops expired ones */
    size_t before = dmp_node_reg_pending(r);
    g_now_s += 61;
    assert_int_equal(dmp_node_reg_challenge(r, &c), 0);
    assert_int_equal(dmp_node_reg_pending(r), 1);
    assert_true(before >= 1);
    g_now_s -= 61;
    dmp_node_reg_free(r);
    dmp_node_tokens_close(t);
}

static void t_landing(void **state)
{
    (void)state;
    dmp_node_peer_row_t peers[2] = {
        {.endpoint = "https://p1.test/\"><script>x()</script>",
         .operator_spk_hex = "ab&cd",
         .version = "0.7<b>",
         .ts = 10000,
         .sources = 3},
        {.endpoint = "https://old.test",
         .operator_spk_hex = "ff",
         .version = "1",
         .ts = 1,
         .sources = 1},
    };
    const char *allow[] = {"example.com", "<evil>.test"};
    dmp_node_landing_t in = {.host_header = "h.test:8053\"><script>alert(1)</script>",
                             .zone = "mesh.test",
                             .healthy = true,
                             .records_ok = true,
                             .records = 42,
                             .auth_mode = DMP_NODE_AUTH_MULTI_TENANT,
                             .registration_open = true,
                             .token_ttl_s = 90 * 86400,
                             .allowlist = allow,
                             .allowlist_n = 2,
                             .heartbeat_on = true,
                             .peers = peers,
                             .npeers = 2,
                             .now_s = 10010};
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_node_landing_render(&in, &b), 0);
    dmp_buf_append_u8(&b, 0);
    const char *html = (const char *)b.data;
    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "<evil>"));
    assert_null(strstr(html, "<b>"));
    assert_non_null(strstr(html, "https://h.test:8053&quot;&gt;&lt;script&gt;alert(1)"));
    assert_non_null(strstr(html, "&lt;evil&gt;.test"));
    assert_non_null(strstr(html, "ab&amp;cd"));
    assert_non_null(strstr(html, "Records stored:</strong> 42"));
    assert_non_null(strstr(html, "Recent peers (2)"));
    assert_non_null(strstr(html, "class=\"fresh\">10s ago"));
    assert_non_null(strstr(html, "class=\"stale\">"));
    assert_non_null(strstr(html, "is <strong>open</strong>"));
    assert_non_null(strstr(html, "live 90 days"));
    assert_non_null(strstr(html, "dig @h.test _dnsmesh-heartbeat.mesh.test TXT"));
    /* the other modes, no peers, no Host header */
    b.len = 0;
    in = (dmp_node_landing_t){.auth_mode = DMP_NODE_AUTH_LEGACY, .healthy = false};
    assert_int_equal(dmp_node_landing_render(&in, &b), 0);
    dmp_buf_append_u8(&b, 0);
    html = (const char *)b.data;
    assert_non_null(strstr(html, "<h1>this node"));
    assert_non_null(strstr(html, "<strong>legacy</strong>"));
    assert_non_null(strstr(html, "store unreadable"));
    assert_non_null(strstr(html, "Heartbeat discovery is <strong>off</strong>"));
    assert_non_null(strstr(html, "_dnsmesh-seen.&lt;zone&gt;"));
    b.len = 0;
    in = (dmp_node_landing_t){.auth_mode = DMP_NODE_AUTH_MULTI_TENANT,
                              .self_endpoint = "https://[2001:db8::1]:443/",
                              .operator_spk_hex = "00ff"};
    assert_int_equal(dmp_node_landing_render(&in, &b), 0);
    dmp_buf_append_u8(&b, 0);
    html = (const char *)b.data;
    assert_non_null(strstr(html, "registration is <strong>closed</strong>"));
    assert_non_null(strstr(html, "dig @2001:db8::1 "));
    assert_non_null(strstr(html, "Operator key (Ed25519):</strong> <code>00ff"));
    b.len = 0;
    in = (dmp_node_landing_t){.auth_mode = DMP_NODE_AUTH_OPEN};
    assert_int_equal(dmp_node_landing_render(&in, &b), 0);
    dmp_buf_append_u8(&b, 0);
    assert_non_null(strstr((const char *)b.data, "<strong>open</strong> mode"));
    dmp_buf_free(&b);
}

/* Several tokens at once (a batch publish), all or none: a cost over what is left takes
 * nothing, so smaller requests still pass; cost 0 checks the scope only. Runs last: it adds
 * throttled audit rows. */
static void t_tokens_cost(void **state)
{
    (void)state;
    dmp_node_tokens_t *t = NULL;
    assert_int_equal(dmp_node_tokens_open(g_store, fake_now_s, &t), 0);
    dmp_node_token_t row;
    dmp_node_issue_t o = {.rate_per_sec = 1e-9, .rate_burst = 3, .issuer = "admin:test"};
    char tok_n[DMP_NODE_TOKEN_LEN + 1];
    assert_int_equal(dmp_node_tokens_issue(t, "carol@example.com", &o, tok_n, &row), 0);
    const char *an = "dmp.carol.example.com";
    assert_int_equal(
        dmp_node_tokens_authorize(t, tok_n, strlen(tok_n), an, strlen(an), "x", false, 4),
        DMP_NODE_AUTHZ_THROTTLED);
    assert_int_equal(dmp_node_tokens_authorize(t, tok_n, strlen(tok_n), "dmp.bob.example.com", 19,
                                               "x", false, 0),
                     DMP_NODE_AUTHZ_REJECT);
    assert_int_equal(
        dmp_node_tokens_authorize(t, tok_n, strlen(tok_n), an, strlen(an), "x", false, 0),
        DMP_NODE_AUTHZ_OK);
    assert_int_equal(
        dmp_node_tokens_authorize(t, tok_n, strlen(tok_n), an, strlen(an), "x", false, 3),
        DMP_NODE_AUTHZ_OK);
    assert_true(authz(t, tok_n, an, false, DMP_NODE_AUTHZ_THROTTLED));
    dmp_node_tokens_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_token_shape),  cmocka_unit_test(t_subject),
        cmocka_unit_test(t_classify),     cmocka_unit_test(t_tokens),
        cmocka_unit_test(t_self_service), cmocka_unit_test(t_registration),
        cmocka_unit_test(t_landing),      cmocka_unit_test(t_tokens_cost),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
