/* Unit tests for the heartbeat worker and SeenStore (src/node/heartbeat.c, heartbeat_seen.c):
 * own publish and its once-per-run cleanup, harvest from seeds / seed lists / gossip, the
 * one-tick cooldown, the seen list, the landing-page rows. Injected clock, DNS, HTTP and write
 * path: no network, no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "node/node.h"
#include "util/util.h"
#include "wire/wire.h"

#define T0 1800000000LL

typedef struct {
    char name[300];
    char *vals[8];
    size_t n;
} fake_rr_t;

typedef struct {
    char dir[64];
    dmp_store_t *s;
    dmp_node_config_t cfg;
    char keyfile[128];
    uint8_t sk_a[64], pk_a[32];
    int64_t now;
    fake_rr_t rr[16];
    size_t nrr;
    char queried[64][300];
    size_t nq;
    const char *seed_body;
    int http_calls;
} fx_t;

static int64_t fx_now(void *ctx)
{
    return ((fx_t *)ctx)->now;
}

static int fx_txt(void *ctx, const char *name, dmp_client_txtset_t *out)
{
    fx_t *f = ctx;
    if (f->nq < 64)
        snprintf(f->queried[f->nq++], 300, "%s", name);
    for (size_t i = 0; i < f->nrr; i++)
        if (strcmp(f->rr[i].name, name) == 0) {
            for (size_t j = 0; j < f->rr[i].n; j++)
                dmp_client_txtset_add(out, (const uint8_t *)f->rr[i].vals[j],
                                      strlen(f->rr[i].vals[j]));
            return out->n ? 0 : DMP_ENOTFOUND;
        }
    return DMP_ENOTFOUND;
}

static int fx_http(void *ctx, const char *url, dmp_buf_t *body)
{
    fx_t *f = ctx;
    f->http_calls++;
    if (!f->seed_body || strcmp(url, "https://seeds.example/list") != 0)
        return DMP_EIO;
    return dmp_buf_append(body, f->seed_body, strlen(f->seed_body));
}

static int fx_apply(void *ctx, dmp_node_change_t *ch, size_t n)
{
    fx_t *f = ctx;
    dmp_store_op_t ops[128];
    assert_true(n <= 128);
    for (size_t i = 0; i < n; i++)
        ops[i] = (dmp_store_op_t){.op = ch[i].op == DMP_NODE_CH_PUT         ? DMP_STORE_OP_PUT
                                        : ch[i].op == DMP_NODE_CH_DEL_VALUE ? DMP_STORE_OP_DEL_VALUE
                                                                            : DMP_STORE_OP_DEL_ALL,
                                  .name = ch[i].lname,
                                  .name_len = ch[i].lname_len,
                                  .value = ch[i].value,
                                  .value_len = ch[i].value_len,
                                  .ttl = ch[i].ttl};
    return dmp_store_apply_ex(f->s, ops, n, f->now * 1000, 0, NULL);
}

static int fx_setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/dmp-hb-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/db", f->dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    if (dmp_store_open(&o, &f->s, err, sizeof(err)) != 0)
        return -1;
    uint8_t seed[32];
    memset(seed, 0x11, 32);
    dmp_crypto_ed25519_from_seed(seed, f->pk_a, f->sk_a);
    snprintf(f->keyfile, sizeof(f->keyfile), "%s/key", f->dir);
    FILE *k = fopen(f->keyfile, "w");
    fprintf(k, "  1111111111111111111111111111111111111111111111111111111111111111\n");
    fclose(k);
    f->cfg.hb_enabled = true;
    f->cfg.hb_self_endpoint = "https://a.example.net";
    f->cfg.hb_key_path = f->keyfile;
    f->cfg.hb_seen_max_rows = 10000;
    f->cfg.hb_interval = 300;
    f->cfg.hb_ttl = 86400;
    f->cfg.hb_max_peers = 25;
    f->cfg.served_zone = "a.test";
    f->cfg.hb_seed_urls_disabled = true;
    f->now = T0;
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
    for (size_t i = 0; i < f->nrr; i++)
        for (size_t j = 0; j < f->rr[i].n; j++)
            free(f->rr[i].vals[j]);
    free(f);
    return 0;
}

static dmp_node_hb_t *fx_hb(fx_t *f)
{
    dmp_node_hb_env_t env = {.cfg = &f->cfg,
                             .store = f->s,
                             .version = "9.9.9",
                             .now_s = fx_now,
                             .txt = fx_txt,
                             .http_get = fx_http,
                             .apply = fx_apply,
                             .ctx = f};
    dmp_node_hb_t *hb = NULL;
    assert_int_equal(dmp_node_hb_new(&env, &hb), 0);
    assert_non_null(hb);
    return hb;
}

/* A signed heartbeat wire of the operator with seed byte `who`. */
static char *peer_wire(uint8_t who, const char *endpoint, const char *zone, int64_t ts)
{
    uint8_t seed[32], pk[32], sk[64];
    memset(seed, who, 32);
    dmp_crypto_ed25519_from_seed(seed, pk, sk);
    dmp_wire_heartbeat_t h = {.magic_version = 3};
    h.endpoint_len = strlen(endpoint);
    memcpy(h.endpoint, endpoint, h.endpoint_len);
    memcpy(h.operator_spk, pk, 32);
    h.zone_len = strlen(zone);
    memcpy(h.claim_provider_zone, zone, h.zone_len);
    h.ts = (uint64_t)ts;
    h.exp = (uint64_t)ts + 86400;
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_heartbeat_encode(&h, sk, &b), 0);
    char *s = strndup((const char *)b.data, b.len);
    dmp_buf_free(&b);
    return s;
}

static void fx_rr(fx_t *f, const char *name, char *val)
{
    fake_rr_t *r = NULL;
    for (size_t i = 0; i < f->nrr; i++)
        if (strcmp(f->rr[i].name, name) == 0)
            r = &f->rr[i];
    if (!r) {
        r = &f->rr[f->nrr++];
        snprintf(r->name, sizeof(r->name), "%s", name);
    }
    r->vals[r->n++] = val;
}

typedef struct {
    char *v[64];
    size_t n;
} vals_t;

static int vals_visit(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    vals_t *v = ctx;
    if (v->n < 64)
        v->v[v->n++] = strndup((const char *)r->value, r->value_len);
    return 0;
}

static vals_t get_vals(fx_t *f, const char *name)
{
    vals_t v = {.n = 0};
    assert_int_equal(dmp_store_get(f->s, name, strlen(name), f->now * 1000, vals_visit, &v), 0);
    return v;
}

static void vals_free(vals_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    v->n = 0;
}

static bool queried(fx_t *f, const char *name)
{
    for (size_t i = 0; i < f->nq; i++)
        if (strcmp(f->queried[i], name) == 0)
            return true;
    return false;
}

/* ---- tests ---- */

static void test_publish_own(void **state)
{
    fx_t *f = *state;
    /* left over from an earlier run: our stale wire (removed) and another operator's (kept) */
    char *stale = peer_wire(0x11, "https://a.example.net", "a.test", T0 - 600);
    char *other = peer_wire(0x22, "https://b.example.net", "b.test", T0 - 600);
    dmp_store_op_t ops[2] = {
        {.op = DMP_STORE_OP_PUT,
         .name = "_dnsmesh-heartbeat.a.test",
         .name_len = 25,
         .value = (const uint8_t *)stale,
         .value_len = strlen(stale),
         .ttl = 86400},
        {.op = DMP_STORE_OP_PUT,
         .name = "_dnsmesh-heartbeat.a.test",
         .name_len = 25,
         .value = (const uint8_t *)other,
         .value_len = strlen(other),
         .ttl = 86400},
    };
    assert_int_equal(dmp_store_apply_ex(f->s, ops, 2, f->now * 1000, 0, NULL), 0);
    dmp_node_hb_t *hb = fx_hb(f);
    dmp_node_hb_tick(hb);
    vals_t v = get_vals(f, "_dnsmesh-heartbeat.a.test");
    assert_int_equal(v.n, 2);
    bool saw_own = false, saw_other = false;
    for (size_t i = 0; i < v.n; i++) {
        dmp_wire_heartbeat_t h;
        assert_int_equal(dmp_wire_heartbeat_parse((const uint8_t *)v.v[i], strlen(v.v[i]), f->now,
                                                  1000000000, &h),
                         0);
        if (memcmp(h.operator_spk, f->pk_a, 32) == 0) {
            saw_own = true;
            assert_int_equal(h.ts, T0);
            assert_int_equal(h.exp, T0 + 86400);
            assert_string_equal(h.endpoint, "https://a.example.net");
            assert_string_equal(h.version, "9.9.9");
            assert_string_equal(h.claim_provider_zone, "a.test");
            assert_int_equal(h.capabilities, 0);
        } else {
            saw_other = strcmp(v.v[i], other) == 0;
        }
    }
    assert_true(saw_own && saw_other);
    vals_free(&v);
    /* next tick: the previous wire is replaced, not accumulated */
    f->now += 300;
    dmp_node_hb_tick(hb);
    v = get_vals(f, "_dnsmesh-heartbeat.a.test");
    assert_int_equal(v.n, 2);
    size_t own = 0;
    for (size_t i = 0; i < v.n; i++) {
        dmp_wire_heartbeat_t h;
        if (dmp_wire_heartbeat_parse((const uint8_t *)v.v[i], strlen(v.v[i]), f->now, 300, &h) ==
                0 &&
            memcmp(h.operator_spk, f->pk_a, 32) == 0) {
            own++;
            assert_int_equal(h.ts, T0 + 300);
        }
    }
    assert_int_equal(own, 1);
    vals_free(&v);
    dmp_node_hb_free(hb);
    free(stale);
    free(other);
}

static void test_harvest_and_seen(void **state)
{
    fx_t *f = *state;
    f->cfg.hb_seeds = "B.test:53, https://a.test/"; /* own zone is dropped */
    char *b = peer_wire(0x22, "https://b.example.net", "b.test", T0 - 10);
    char *c = peer_wire(0x33, "https://c.example.net", "c.test", T0 - 20);
    char *mine = peer_wire(0x11, "https://a.example.net", "a.test", T0 - 30);
    fx_rr(f, "_dnsmesh-heartbeat.b.test", b);
    fx_rr(f, "_dnsmesh-seen.b.test", c);    /* gossip: c heard through b */
    fx_rr(f, "_dnsmesh-seen.b.test", mine); /* our own wire copied back: never stored */
    fx_rr(f, "_dnsmesh-seen.b.test", strdup("v=dmp1;t=heartbeat;garbage"));
    dmp_node_hb_t *hb = fx_hb(f);
    dmp_node_hb_tick(hb);
    assert_true(queried(f, "_dnsmesh-heartbeat.b.test"));
    assert_true(queried(f, "_dnsmesh-seen.b.test"));
    assert_false(queried(f, "_dnsmesh-heartbeat.a.test"));
    dmp_node_seen_row_t rows[8];
    size_t n = dmp_node_seen_recent(f->s, f->now, rows, 8);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].wire, b); /* ts descending */
    assert_string_equal(rows[1].wire, c);
    vals_t v = get_vals(f, "_dnsmesh-seen.a.test");
    assert_int_equal(v.n, 2);
    vals_free(&v);
    /* landing page rows: ourselves first (fresh), then the peers */
    dmp_node_peer_row_t pr[8];
    n = dmp_node_hb_peers(hb, pr, 8);
    assert_int_equal(n, 3);
    assert_string_equal(pr[0].endpoint, "https://a.example.net");
    assert_int_equal(pr[0].ts, f->now);
    assert_string_equal(pr[1].endpoint, "https://b.example.net");
    assert_string_equal(pr[2].endpoint, "https://c.example.net");
    /* next tick: c.test (learned by gossip) is harvested too */
    f->nq = 0;
    f->now += 300;
    dmp_node_hb_tick(hb);
    assert_true(queried(f, "_dnsmesh-heartbeat.c.test"));
    dmp_node_hb_free(hb);
}

static void test_cooldown_and_cap(void **state)
{
    fx_t *f = *state;
    f->cfg.hb_seeds = "dead.test,x1.test,x2.test";
    f->cfg.hb_max_peers = 2; /* x2.test is beyond the cap */
    dmp_node_hb_t *hb = fx_hb(f);
    dmp_node_hb_tick(hb);
    assert_true(queried(f, "_dnsmesh-heartbeat.dead.test"));
    assert_false(queried(f, "_dnsmesh-heartbeat.x2.test"));
    f->nq = 0;
    f->now += 300;
    dmp_node_hb_tick(hb); /* failed last tick: skipped once */
    assert_false(queried(f, "_dnsmesh-heartbeat.dead.test"));
    f->nq = 0;
    f->now += 300;
    dmp_node_hb_tick(hb);
    assert_true(queried(f, "_dnsmesh-heartbeat.dead.test"));
    dmp_node_hb_free(hb);
}

static void test_seed_lists(void **state)
{
    fx_t *f = *state;
    f->cfg.hb_seed_urls_disabled = false;
    f->cfg.hb_seed_urls = "https://seeds.example/list, https://broken.example/x";
    f->seed_body = "# seeds\n\n  Seed1.test  \nhttps://SEED2.test:8443/path\n#x.test\n";
    dmp_node_hb_t *hb = fx_hb(f);
    dmp_node_hb_tick(hb);
    assert_int_equal(f->http_calls, 2);
    assert_true(queried(f, "_dnsmesh-heartbeat.seed1.test"));
    assert_true(queried(f, "_dnsmesh-heartbeat.seed2.test"));
    assert_false(queried(f, "_dnsmesh-heartbeat.x.test"));
    /* not refetched within 6 h, and the cached list is kept when the URL fails later */
    f->now += 3600;
    dmp_node_hb_tick(hb);
    assert_int_equal(f->http_calls, 2);
    f->seed_body = NULL;
    f->now += 6 * 3600;
    f->nq = 0;
    dmp_node_hb_tick(hb);
    assert_int_equal(f->http_calls, 4);
    dmp_node_hb_free(hb);
}

static void test_seen_store(void **state)
{
    fx_t *f = *state;
    char *w1 = peer_wire(0x22, "https://b.example.net", "b.test", T0);
    char *w0 = peer_wire(0x22, "https://b.example.net", "b.test", T0 - 100);
    char *w2 = peer_wire(0x33, "https://c.example.net", "c.test", T0 - 50);
    assert_int_equal(dmp_node_seen_accept(f->s, (uint8_t *)w1, strlen(w1), T0, -1, NULL), 0);
    /* an older wire of the same (spk, endpoint) does not replace a newer one */
    assert_int_equal(dmp_node_seen_accept(f->s, (uint8_t *)w0, strlen(w0), T0, -1, NULL),
                     DMP_EEXIST);
    /* outside the 300 s skew */
    assert_int_not_equal(dmp_node_seen_accept(f->s, (uint8_t *)w1, strlen(w1), T0 + 400, -1, NULL),
                         0);
    assert_int_equal(dmp_node_seen_accept(f->s, (uint8_t *)w2, strlen(w2), T0 + 1, -1, NULL), 0);
    dmp_node_seen_row_t rows[4];
    assert_int_equal(dmp_node_seen_recent(f->s, T0, rows, 4), 2);
    assert_string_equal(rows[0].wire, w1);
    /* cap: the oldest received goes first */
    assert_int_equal(dmp_node_seen_trim(f->s, T0, 1), 0);
    assert_int_equal(dmp_node_seen_recent(f->s, T0, rows, 4), 1);
    assert_string_equal(rows[0].wire, w2);
    /* expiry */
    assert_int_equal(dmp_node_seen_trim(f->s, T0 + 86400, 10), 0);
    assert_int_equal(dmp_node_seen_recent(f->s, T0 - 1000, rows, 4), 0);
    free(w0);
    free(w1);
    free(w2);
}

static void test_zone_norm(void **state)
{
    (void)state;
    char z[256];
    assert_int_equal(dmp_node_hb_zone_norm(" Mesh.Example:5353 ", 19, z, sizeof(z)), 0);
    assert_string_equal(z, "mesh.example");
    const char *u = "https://user@Node.EXAMPLE.:443/p?q";
    assert_int_equal(dmp_node_hb_zone_norm(u, strlen(u), z, sizeof(z)), 0);
    assert_string_equal(z, "node.example");
    assert_int_equal(dmp_node_hb_zone_norm("http://[2001:db8::1]:80", 23, z, sizeof(z)), 0);
    assert_string_equal(z, "2001:db8::1");
    assert_int_not_equal(dmp_node_hb_zone_norm("https://", 8, z, sizeof(z)), 0);
    assert_int_not_equal(dmp_node_hb_zone_norm("   ", 3, z, sizeof(z)), 0);
    char **zones = NULL;
    size_t n = 0;
    const uint8_t bad[] = {'a', '\n', 0xff, 0xfe};
    assert_int_equal(dmp_node_hb_seed_list_parse(bad, sizeof(bad), &zones, &n), DMP_EINVAL);
    assert_int_equal(n, 0);
}

static void test_misconfigured_is_off(void **state)
{
    fx_t *f = *state;
    dmp_node_hb_env_t env = {.cfg = &f->cfg, .store = f->s, .apply = fx_apply, .ctx = f};
    dmp_node_hb_t *hb = (dmp_node_hb_t *)1;
    f->cfg.hb_key_path = "/nonexistent/key";
    assert_int_equal(dmp_node_hb_new(&env, &hb), 0);
    assert_null(hb);
    f->cfg.hb_key_path = f->keyfile;
    f->cfg.hb_self_endpoint = NULL;
    assert_int_equal(dmp_node_hb_new(&env, &hb), 0);
    assert_null(hb);
    f->cfg.hb_self_endpoint = "https://a.example.net";
    f->cfg.hb_enabled = false;
    assert_int_equal(dmp_node_hb_new(&env, &hb), 0);
    assert_null(hb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_own, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_harvest_and_seen, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cooldown_and_cap, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seed_lists, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_seen_store, fx_setup, fx_teardown),
        cmocka_unit_test(test_zone_norm),
        cmocka_unit_test_setup_teardown(test_misconfigured_is_off, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
