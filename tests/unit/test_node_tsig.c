/* Unit tests for the TSIG keystore (src/node/tsig_keys.c): stored form, scope rules of
 * node.md §5.4 (wildcards, add vs delete), minting (names, scopes, anti-takeover),
 * the registered-recipient set of §5.5, and the UPDATE config knobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/dns_update.h"
#include "node/tsig_keys.h"
#include "util/util.h"

typedef struct {
    char dir[64];
    dmp_store_t *s;
} fx_t;

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/dmp-tsig-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/db", f->dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    if (dmp_store_open(&o, &f->s, err, sizeof(err)) != 0)
        return -1;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_scope_match(void **state)
{
    (void)state;
    /* plain suffixes: equal or below, label boundaries only, case and trailing dots ignored */
    assert_true(dmp_node_tsig_scope_match("mesh.test", "mesh.test"));
    assert_true(dmp_node_tsig_scope_match("A.Mesh.Test.", ".mesh.test."));
    assert_false(dmp_node_tsig_scope_match("amesh.test", "mesh.test"));
    assert_false(dmp_node_tsig_scope_match("mesh.test", "a.mesh.test"));
    /* wildcards inside labels, right-aligned, extra leading owner labels allowed */
    assert_true(
        dmp_node_tsig_scope_match("slot-3.mb-0123456789ab.mesh.test", "slot-*.mb-*.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("x.slot-3.mb-ab.mesh.test", "slot-*.mb-*.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("slot-3.mesh.test", "slot-*.mb-*.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("slot-3.mb-ab.other.test", "slot-*.mb-*.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("chunk-0001-abc.mesh.test", "chunk-*-*.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("chunk-0001.mesh.test", "chunk-*-*.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("slot-.mb-.mesh.test", "slot-*.mb-*.mesh.test"));
    /* '*' never crosses a dot */
    assert_false(dmp_node_tsig_scope_match("x.y.mesh.test", "x*y.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("x.xy.mesh.test", "x*y.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("ab.mesh.test", "a*b*c.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("axbyc.mesh.test", "a*b*c.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("abc.mesh.test", "a*b*c.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("acb.mesh.test", "a*b*c.mesh.test"));
    assert_true(dmp_node_tsig_scope_match("anything.mesh.test", "*.mesh.test"));
    assert_false(dmp_node_tsig_scope_match("", "mesh.test"));
    assert_false(dmp_node_tsig_scope_match("mesh.test", ""));
}

static void test_covers_add_delete(void **state)
{
    (void)state;
    dmp_node_tsig_rec_t r;
    memset(&r, 0, sizeof(r));
    strcpy(r.suffixes[0], "id-abc.mesh.test");
    strcpy(r.suffixes[1], "slot-*.mb-*.mesh.test");
    r.n_suffixes = 2;
    assert_true(dmp_node_tsig_covers(&r, "id-abc.mesh.test", false));
    assert_true(dmp_node_tsig_covers(&r, "prekeys.id-abc.mesh.test", true));
    assert_true(dmp_node_tsig_covers(&r, "slot-1.mb-x.mesh.test", false));
    /* wildcard-granted names can be added to but not deleted */
    assert_false(dmp_node_tsig_covers(&r, "slot-1.mb-x.mesh.test", true));
    assert_false(dmp_node_tsig_covers(&r, "other.mesh.test", false));
}

static void test_store_roundtrip(void **state)
{
    fx_t *f = *state;
    dmp_node_tsig_rec_t r, g;
    memset(&r, 0, sizeof(r));
    strcpy(r.key.name, "Alice.Mesh.Test");
    r.key.alg = DMP_TSIG_HMAC_SHA512;
    r.key.secret_len = 64;
    memset(r.key.secret, 0x5A, 64);
    strcpy(r.suffixes[0], "mesh.test");
    r.n_suffixes = 1;
    strcpy(r.subject, "alice@mesh.test");
    r.created_at = 100;
    r.expires_at = 200;
    assert_int_equal(dmp_node_tsig_put(f->s, &r), 0);
    assert_int_equal(dmp_node_tsig_get(f->s, "ALICE.mesh.test.", &g), 0);
    assert_string_equal(g.key.name, "alice.mesh.test");
    assert_int_equal(g.key.alg, DMP_TSIG_HMAC_SHA512);
    assert_int_equal(g.key.secret_len, 64);
    assert_memory_equal(g.key.secret, r.key.secret, 64);
    assert_string_equal(g.suffixes[0], "mesh.test");
    assert_string_equal(g.subject, "alice@mesh.test");
    assert_int_equal(g.expires_at, 200);
    /* active: not revoked, not expired */
    assert_true(dmp_node_tsig_active(&g, 199));
    assert_false(dmp_node_tsig_active(&g, 200));
    /* lookup for the verifier sees only active keys */
    dmp_tsig_key_t k;
    dmp_node_tsig_env_t e = {f->s, 150};
    assert_int_equal(dmp_node_tsig_lookup(&e, "alice.mesh.test", &k), 0);
    assert_int_equal(k.secret_len, 64);
    e.now_s = 250;
    assert_int_equal(dmp_node_tsig_lookup(&e, "alice.mesh.test", &k), DMP_ENOTFOUND);
    e.now_s = 150;
    assert_int_equal(dmp_node_tsig_revoke(f->s, "alice.mesh.test"), 0);
    assert_int_equal(dmp_node_tsig_lookup(&e, "alice.mesh.test", &k), DMP_ENOTFOUND);
    assert_int_equal(dmp_node_tsig_revoke(f->s, "nobody.mesh.test"), DMP_ENOTFOUND);
    assert_int_equal(dmp_node_tsig_lookup(&e, "nobody.mesh.test", &k), DMP_ENOTFOUND);
    /* garbage rows are not keys */
    assert_int_equal(dmp_node_tsig_decode((const uint8_t *)"{}", 2, &g), DMP_EFORMAT);
    assert_int_equal(dmp_node_tsig_decode((const uint8_t *)"nope", 4, &g), DMP_EFORMAT);
}

static void test_mint(void **state)
{
    fx_t *f = *state;
    uint8_t spk[32], spk2[32], x[32];
    memset(spk, 0x11, 32);
    memset(spk2, 0x22, 32);
    memset(x, 0x33, 32);
    dmp_node_tsig_mint_opts_t o = {.zone = "Mesh.Test.", .ttl_s = 1000};
    dmp_node_tsig_rec_t r;
    assert_int_equal(dmp_node_tsig_mint(f->s, "alice@example.com", spk, x, &o, 5000, &r), 0);
    /* <local>-<spk8>-<sha256(subject)[:6]>.<zone> */
    char sh[65];
    uint8_t h[32];
    dmp_crypto_sha256((const uint8_t *)"alice@example.com", 17, h);
    dmp_hex_encode(h, 32, sh, sizeof(sh));
    char want[128];
    snprintf(want, sizeof(want), "alice-11111111-%.6s.mesh.test", sh);
    assert_string_equal(r.key.name, want);
    assert_int_equal(r.key.alg, DMP_TSIG_HMAC_SHA256);
    assert_int_equal(r.key.secret_len, 32);
    assert_int_equal(r.expires_at, 6000);
    /* default scope: 7 entries + mb-<hash12 of the X25519 key>, sorted */
    assert_int_equal(r.n_suffixes, 8);
    for (size_t i = 1; i < r.n_suffixes; i++)
        assert_true(strcmp(r.suffixes[i - 1], r.suffixes[i]) < 0);
    dmp_crypto_sha256((const uint8_t *)"alice", 5, h);
    dmp_hex_encode(h, 32, sh, sizeof(sh));
    snprintf(want, sizeof(want), "id-%.16s.mesh.test", sh);
    assert_true(dmp_node_tsig_covers(&r, want, true));
    assert_true(dmp_node_tsig_covers(&r, "slot-1.mb-aaaaaaaaaaaa.mesh.test", false));
    /* the registered recipient set now holds hash12(sha256(x)) */
    uint8_t h1[32], h2[32];
    dmp_crypto_sha256(x, 32, h1);
    dmp_crypto_sha256(h1, 32, h2);
    char hh[65];
    dmp_hex_encode(h2, 32, hh, sizeof(hh));
    hh[12] = 0;
    bool reg = false;
    assert_int_equal(dmp_node_tsig_recipient_registered(f->s, "mesh.test", hh, 5001, &reg), 0);
    assert_true(reg);
    assert_int_equal(
        dmp_node_tsig_recipient_registered(f->s, "mesh.test", "000000000000", 5001, &reg), 0);
    assert_false(reg);
    /* after expiry, not registered */
    assert_int_equal(dmp_node_tsig_recipient_registered(f->s, "mesh.test", hh, 6000, &reg), 0);
    assert_false(reg);
    /* anti-takeover: another Ed25519 key for a live subject -> DMP_EEXIST; same key rotates */
    dmp_node_tsig_rec_t r2;
    assert_int_equal(dmp_node_tsig_mint(f->s, "alice@example.com", spk2, NULL, &o, 5001, &r2),
                     DMP_EEXIST);
    assert_int_equal(dmp_node_tsig_mint(f->s, "alice@example.com", spk, NULL, &o, 5001, &r2), 0);
    assert_string_equal(r2.key.name, r.key.name);
    assert_memory_not_equal(r2.key.secret, r.key.secret, 32);
    /* expired: the subject is free again */
    assert_int_equal(dmp_node_tsig_mint(f->s, "alice@example.com", spk2, NULL, &o, 7000, &r2), 0);
    /* tight: no wildcards; loose: the zone alone */
    o.tight = true;
    assert_int_equal(dmp_node_tsig_mint(f->s, "bob@example.com", spk, NULL, &o, 5000, &r2), 0);
    assert_int_equal(r2.n_suffixes, 3);
    for (size_t i = 0; i < r2.n_suffixes; i++)
        assert_null(strchr(r2.suffixes[i], '*'));
    o.loose = true;
    assert_int_equal(dmp_node_tsig_mint(f->s, "carol@example.com", spk, NULL, &o, 5000, &r2), 0);
    assert_int_equal(r2.n_suffixes, 1);
    assert_string_equal(r2.suffixes[0], "mesh.test");
    /* label limit: local part of 47 is fine, 48 is not */
    char subj[80];
    memset(subj, 'a', 47);
    strcpy(subj + 47, "@example.com");
    assert_int_equal(dmp_node_tsig_mint(f->s, subj, spk, NULL, &o, 5000, &r2), 0);
    memset(subj, 'b', 48);
    strcpy(subj + 48, "@example.com");
    assert_int_equal(dmp_node_tsig_mint(f->s, subj, spk, NULL, &o, 5000, &r2), DMP_ETOOBIG);
    dmp_node_tsig_rec_wipe(&r);
    dmp_node_tsig_rec_wipe(&r2);
}

static void test_recipient_literal_suffix(void **state)
{
    fx_t *f = *state;
    dmp_node_tsig_rec_t r;
    memset(&r, 0, sizeof(r));
    strcpy(r.key.name, "lit.mesh.test");
    r.key.alg = DMP_TSIG_HMAC_SHA256;
    r.key.secret_len = 4;
    memcpy(r.key.secret, "abcd", 4);
    strcpy(r.suffixes[0], "mb-0123456789ab.mesh.test");
    r.n_suffixes = 1;
    assert_int_equal(dmp_node_tsig_put(f->s, &r), 0);
    bool reg = false;
    assert_int_equal(dmp_node_tsig_recipient_registered(f->s, "mesh.test", "0123456789ab", 1, &reg),
                     0);
    assert_true(reg);
    assert_int_equal(
        dmp_node_tsig_recipient_registered(f->s, "other.test", "0123456789ab", 1, &reg), 0);
    assert_false(reg);
}

static const char *fake_env(const char *name, void *ctx)
{
    const char *const *kv = ctx;
    for (; kv[0]; kv += 2)
        if (!strcmp(kv[0], name))
            return kv[1];
    return NULL;
}

static void test_update_cfg(void **state)
{
    (void)state;
    dmp_node_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.served_zone = "mesh.test";
    dmp_node_update_cfg_t u;
    const char *none[] = {NULL};
    dmp_node_update_cfg_load(&u, &cfg, fake_env, (void *)none);
    assert_false(u.enabled);
    assert_true(u.claim_provider);
    assert_false(u.receiver_claims);
    assert_int_equal(u.claim_max_ttl, 86400);
    assert_true(u.claim_rate == 0.5 && u.claim_burst == 30);
    assert_int_equal(u.workers, 32);
    const char *set[] = {"DMP_DNS_UPDATE_ENABLED",
                         "yes",
                         "DMP_CLAIM_PROVIDER",
                         "Off",
                         "DMP_CLAIM_MAX_TTL",
                         "junk",
                         "DMP_RECEIVER_CLAIM_NOTIFICATIONS",
                         "1",
                         "DMP_TSIG_LOOSE_SCOPE",
                         "true",
                         "DMP_UPDATE_WORKERS",
                         "2",
                         NULL};
    dmp_node_update_cfg_load(&u, &cfg, fake_env, (void *)set);
    assert_true(u.enabled);
    assert_false(u.claim_provider);
    assert_true(u.receiver_claims);
    assert_int_equal(u.claim_max_ttl, 86400); /* non-integer keeps the default */
    assert_true(u.tsig_loose);
    assert_int_equal(u.workers, 2);
    cfg.served_zone = NULL; /* no zone: no provider role */
    dmp_node_update_cfg_load(&u, &cfg, fake_env, (void *)none);
    assert_false(u.claim_provider);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_match),
        cmocka_unit_test(test_covers_add_delete),
        cmocka_unit_test_setup_teardown(test_store_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_mint, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_recipient_literal_suffix, fx_setup, fx_teardown),
        cmocka_unit_test(test_update_cfg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
