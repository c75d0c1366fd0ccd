/* Unit tests for the client's config home: config.yaml parse/emit compatible with the reference
 * CLI (client.md §6.4), atomic 0600 writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

/* What the reference (0.7.5) writes after `init alice --endpoint http://127.0.0.1:8053
 * --dns-resolvers 127.0.0.1:5353` and two `contacts add` (one with an all-digit spk). */
static const char REF_YAML[] =
    "allow_tofu: false\n"
    "bootstrap_signer_spk: ''\n"
    "bootstrap_user_domain: ''\n"
    "claim_provider_override: ''\n"
    "claim_provider_zone: ''\n"
    "cluster_base_domain: ''\n"
    "cluster_enabled: false\n"
    "cluster_node_token: ''\n"
    "cluster_operator_spk: ''\n"
    "cluster_refresh_interval: 3600\n"
    "contacts:\n"
    "  bob:\n"
    "    domain: ''\n"
    "    pub: 0123456789012345678901234567890123456789012345678901234567890123\n"
    "    remote_username: ''\n"
    "    spk: '1234567890123456789012345678901234567890123456789012345678901234'\n"
    "  carol@x.y:\n"
    "    domain: ''\n"
    "    pub: 00000000000000000000000000000000000000000000000000000000000000ab\n"
    "    spk: ''\n"
    "dns_host: null\n"
    "dns_port: 5353\n"
    "dns_resolvers:\n"
    "- 127.0.0.1:5353\n"
    "dnssec_required: false\n"
    "domain: mesh.local\n"
    "endpoint: http://127.0.0.1:8053\n"
    "http_token: null\n"
    "identity_domain: ''\n"
    "kdf_salt: 60f61b5650b341fb52f004f9967e74ea3f3c1932d73380afaaeb3dc352c65fba\n"
    "local_node_dns_port: 0\n"
    "local_node_dns_server: ''\n"
    "passphrase_file: null\n"
    "recv_primary_interval_seconds: 30\n"
    "recv_secondary_disable: false\n"
    "recv_secondary_interval_seconds: 600\n"
    "tsig_algorithm: hmac-sha256\n"
    "tsig_dns_port: 53\n"
    "tsig_dns_server: ''\n"
    "tsig_key_name: ''\n"
    "tsig_secret_hex: ''\n"
    "tsig_zone: ''\n"
    "username: alice\n"
    "verify_pubkey: ''\n";

static void test_reference_roundtrip(void **state)
{
    (void)state;
    dmp_client_config_t c;
    char err[200];
    assert_int_equal(
        dmp_client_config_parse((const uint8_t *)REF_YAML, strlen(REF_YAML), &c, err, sizeof err),
        0);
    assert_string_equal(c.username, "alice");
    assert_string_equal(c.endpoint, "http://127.0.0.1:8053");
    assert_int_equal(c.n_resolvers, 1);
    assert_string_equal(c.dns_resolvers[0], "127.0.0.1:5353");
    assert_int_equal(c.n_contacts, 2);
    dmp_client_contact_t *bob = dmp_client_config_contact(&c, "bob");
    assert_non_null(bob);
    assert_string_equal(bob->spk,
                        "1234567890123456789012345678901234567890123456789012345678901234");
    assert_false(c.http_token_set);
    assert_false(c.passphrase_file_set);
    /* the load adds remote_username to dict entries, as the reference's load does: the emitted
     * file then differs from the input only by carol's new remote_username key */
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_client_config_emit(&c, &out), 0);
    char *want = malloc(sizeof(REF_YAML) + 64);
    const char *carol = strstr(REF_YAML, "    pub: 00000000");
    const char *cut = strchr(carol, '\n') + 1;
    snprintf(want, sizeof(REF_YAML) + 64, "%.*s    remote_username: ''\n%s", (int)(cut - REF_YAML),
             REF_YAML, cut);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    free(want);
    dmp_buf_free(&out);
    dmp_client_config_free(&c);
}

static void test_defaults_and_tolerance(void **state)
{
    (void)state;
    dmp_client_config_t c;
    char err[200];
    assert_int_equal(dmp_client_config_parse((const uint8_t *)"", 0, &c, err, sizeof err), 0);
    assert_string_equal(c.domain, "mesh.local");
    assert_int_equal(c.dns_port, 5353);
    assert_int_equal(c.tsig_dns_port, 53);
    assert_string_equal(c.tsig_algorithm, "hmac-sha256");
    dmp_client_config_free(&c);

    /* legacy contact (name -> pub), scalar resolver, unknown key, null strings */
    const char *y = "contacts:\n  old: aabb\ndns_resolvers: 10.0.0.1\nfuture_key: 3\n"
                    "identity_domain: null\nallow_tofu: yes\nhttp_token: 'tok'\n";
    assert_int_equal(dmp_client_config_parse((const uint8_t *)y, strlen(y), &c, err, sizeof err),
                     0);
    assert_string_equal(dmp_client_config_contact(&c, "old")->pub, "aabb");
    assert_int_equal(c.n_resolvers, 1);
    assert_string_equal(c.identity_domain, "");
    assert_true(c.allow_tofu);
    assert_true(c.http_token_set);
    assert_string_equal(c.http_token, "tok");
    dmp_client_config_free(&c);

    const char *bad[] = {"- a\n- b\n", "dns_port: abc\n", "username: [1, 2]\n", "a: 'x\n",
                         "contacts: [1]\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(
            dmp_client_config_parse((const uint8_t *)bad[i], strlen(bad[i]), &c, err, sizeof err),
            0);
        assert_true(err[0] != 0);
        dmp_client_config_free(&c);
    }
}

static void test_atomic_save(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp-cfg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/sub/config.yaml", dir);
    dmp_client_config_t c;
    dmp_client_config_defaults(&c);
    strcpy(c.username, "true"); /* must stay a string */
    dmp_client_contact_t ct = {.name = "bob", .pub = "00", .spk = "", .domain = "x"};
    assert_int_equal(dmp_client_config_contact_put(&c, &ct), 0);
    assert_int_equal(dmp_client_config_save(path, &c), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dmp_client_config_t back;
    char err[100];
    assert_int_equal(dmp_client_config_load(path, &back, err, sizeof err), 0);
    assert_string_equal(back.username, "true");
    assert_string_equal(back.contacts[0].domain, "x");
    assert_string_equal(back.contacts[0].pub, "00");
    dmp_client_config_free(&back);
    dmp_client_config_free(&c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void rm_rf(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_databases(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp-db-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/home/prekeys.db", dir);
    void *db = NULL;
    assert_int_equal(dmp_client_prekeys_open(p, &db), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    uint8_t sk[32], pk[32], got[32];
    memset(sk, 7, 32);
    memset(pk, 9, 32);
    assert_int_equal(dmp_client_prekeys_add(db, 42, sk, pk, 2000, 1000), 0);
    assert_int_equal(dmp_client_prekeys_add(db, 42, sk, pk, 2000, 1000), DMP_EEXIST);
    assert_int_equal(dmp_client_prekeys_add(db, 43, sk, pk, 1500, 1000), 0);
    assert_int_equal(dmp_client_prekeys_set_wire(db, 42, "v=dmp1;t=prekey;d=X"), 0);
    char wire[64];
    assert_int_equal(dmp_client_prekeys_get(db, 42, 1999, got, wire, sizeof wire), 0);
    assert_memory_equal(got, sk, 32);
    assert_string_equal(wire, "v=dmp1;t=prekey;d=X");
    assert_int_equal(dmp_client_prekeys_get(db, 43, 1500, got, NULL, 0), DMP_ENOTFOUND); /* exp */
    assert_int_equal(dmp_client_prekeys_get(db, 0, 0, got, NULL, 0), DMP_ENOTFOUND);
    int64_t n;
    assert_int_equal(dmp_client_prekeys_count_live(db, 1200, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(dmp_client_prekeys_consume(db, 42), 0);
    assert_int_equal(dmp_client_prekeys_get(db, 42, 1200, got, NULL, 0), DMP_ENOTFOUND);
    dmp_client_db_close(db);
    /* reopening keeps the rows; a newer schema is refused */
    assert_int_equal(dmp_client_prekeys_open(p, &db), 0);
    assert_int_equal(dmp_client_prekeys_count_live(db, 1200, &n), 0);
    assert_int_equal(n, 1);
    dmp_client_db_close(db);
    char cmd[400];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sqlite3; c=sqlite3.connect(\"%s\"); "
             "c.execute(\"PRAGMA user_version=3\"); c.commit()'",
             p);
    if (system(cmd) == 0)
        assert_int_equal(dmp_client_prekeys_open(p, &db), DMP_EVERSION);

    snprintf(p, sizeof p, "%s/home/intros.db", dir);
    assert_int_equal(dmp_client_intros_open(p, &db), 0);
    dmp_client_intro_t in;
    memset(&in, 0, sizeof in);
    memset(in.sender_spk, 1, 32);
    memset(in.msg_id, 2, 16);
    dmp_buf_init(&in.plaintext);
    dmp_buf_append_str(&in.plaintext, "hi there");
    strcpy(in.zone, "mesh.test");
    in.received_at = 100;
    in.msg_exp = 400;
    assert_int_equal(dmp_client_intros_add(db, &in), 0);
    assert_int_equal(dmp_client_intros_add(db, &in), DMP_EDUP);
    in.msg_id[0] = 3;
    in.received_at = 200;
    assert_int_equal(dmp_client_intros_add(db, &in), 0);
    dmp_client_intro_t *v;
    size_t cnt;
    assert_int_equal(dmp_client_intros_list(db, &v, &cnt), 0);
    assert_int_equal(cnt, 2);
    assert_int_equal(v[0].received_at, 200); /* newest first */
    assert_memory_equal(v[1].plaintext.data, "hi there", 8);
    int64_t id = v[1].id;
    dmp_client_intros_free(v, cnt);
    dmp_client_intro_t one;
    assert_int_equal(dmp_client_intros_get(db, id, &one), 0);
    assert_string_equal(one.zone, "mesh.test");
    dmp_buf_free(&one.plaintext);
    assert_int_equal(dmp_client_intros_remove(db, id), 0);
    assert_int_equal(dmp_client_intros_get(db, id, &one), DMP_ENOTFOUND);
    assert_int_equal(dmp_client_intros_block(db, in.sender_spk, "spam", 300), 0);
    in.msg_id[0] = 4;
    assert_int_equal(dmp_client_intros_add(db, &in), DMP_EAUTH);
    dmp_buf_free(&in.plaintext);
    dmp_client_db_close(db);
    rm_rf(dir);
}

static void test_replay_and_tokens(void **state)
{
    (void)state;
    char dir[] = "/tmp/dmp-rp-XXXXXX", p[256];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/replay_cache.json", dir);
    dmp_client_replay_t r;
    assert_int_equal(dmp_client_replay_load(&r, p, 1000), 0); /* absent: empty */
    uint8_t spk[32], mid[16];
    memset(spk, 0xab, 32);
    memset(mid, 0xcd, 16);
    assert_false(dmp_client_replay_seen(&r, spk, mid, 1000));
    assert_int_equal(dmp_client_replay_add(&r, spk, mid, 1300, 1000), 0);
    mid[0] = 1;
    assert_int_equal(dmp_client_replay_add(&r, spk, mid, 1100, 1000), 0);
    dmp_client_replay_free(&r);
    assert_int_equal(dmp_client_replay_load(&r, p, 1200), 0); /* the 1100 entry expired */
    assert_int_equal(r.n, 1);
    assert_false(dmp_client_replay_seen(&r, spk, mid, 1200));
    mid[0] = 0xcd;
    assert_true(dmp_client_replay_seen(&r, spk, mid, 1200));
    dmp_client_replay_free(&r);
    /* the reference's file shape, with a malformed entry; a corrupt file is an empty cache */
    FILE *f = fopen(p, "w");
    fprintf(f, "[[\"%064d\", \"%032d\", 5000], [\"zz\", \"00\", 9], 7]", 0, 0);
    fclose(f);
    assert_int_equal(dmp_client_replay_load(&r, p, 1000), 0);
    assert_int_equal(r.n, 1);
    dmp_client_replay_free(&r);
    f = fopen(p, "w");
    fputs("{not json", f);
    fclose(f);
    assert_int_equal(dmp_client_replay_load(&r, p, 1000), 0);
    assert_int_equal(r.n, 0);
    dmp_client_replay_free(&r);

    snprintf(p, sizeof p, "%s/tokens", dir);
    setenv("DMP_TOKENS_HOME", p, 1);
    char host[64], tok[64];
    assert_int_equal(dmp_client_token_host(" Node.Example. ", host, sizeof host), 0);
    assert_string_equal(host, "node.example");
    assert_int_equal(dmp_client_token_host("../etc", host, sizeof host), DMP_ENAME);
    assert_int_equal(dmp_client_token_host("a:80", host, sizeof host), DMP_ENAME);
    assert_int_equal(dmp_client_token_save("node.example", "alice@mesh", "t0k", 2000, "ab", 1000),
                     0);
    snprintf(p, sizeof p, "%s/tokens/node.example.json", dir);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    dmp_client_config_t c;
    dmp_client_config_defaults(&c);
    assert_int_equal(dmp_client_token_for_host("NODE.example", 2299, tok, sizeof tok), 0);
    assert_string_equal(tok, "t0k");
    assert_int_equal(dmp_client_token_for_host("node.example", 2300, tok, sizeof tok),
                     DMP_ENOTFOUND); /* expires_at + 300 */
    assert_int_equal(dmp_client_token_forget("node.example"), 0);
    assert_int_equal(dmp_client_token_forget("node.example"), DMP_ENOTFOUND);
    unsetenv("DMP_TOKENS_HOME");
    rm_rf(dir);
}

/* Many resolvers and contacts: every one kept, in order, a re-put replaces in place, and the
 * emitted YAML parses back to the same counts (the arrays grow by doubling). */
static void test_many_entries(void **state)
{
    (void)state;
    dmp_client_config_t c, back;
    dmp_client_config_defaults(&c);
    char buf[64];
    for (int i = 0; i < 37; i++) {
        snprintf(buf, sizeof buf, "127.0.%d.%d", i / 200, i % 200 + 1);
        assert_int_equal(dmp_client_config_add_resolver(&c, buf), 0);
    }
    for (int i = 0; i < 300; i++) {
        dmp_client_contact_t ct = {0};
        snprintf(ct.name, sizeof ct.name, "friend%03d", i);
        snprintf(ct.domain, sizeof ct.domain, "d%d.mesh.test", i);
        assert_int_equal(dmp_client_config_contact_put(&c, &ct), 0);
    }
    dmp_client_contact_t again = {0};
    snprintf(again.name, sizeof again.name, "friend007");
    snprintf(again.domain, sizeof again.domain, "moved.mesh.test");
    assert_int_equal(dmp_client_config_contact_put(&c, &again), 0);
    assert_int_equal(c.n_resolvers, 37);
    assert_int_equal(c.n_contacts, 300);
    assert_string_equal(c.dns_resolvers[36], "127.0.0.37");
    assert_string_equal(c.contacts[299].name, "friend299");
    assert_string_equal(dmp_client_config_contact(&c, "friend007")->domain, "moved.mesh.test");
    dmp_buf_t out;
    dmp_buf_init(&out);
    assert_int_equal(dmp_client_config_emit(&c, &out), 0);
    char err[200];
    assert_int_equal(dmp_client_config_parse(out.data, out.len, &back, err, sizeof err), 0);
    assert_int_equal(back.n_resolvers, 37);
    assert_int_equal(back.n_contacts, 300);
    dmp_buf_free(&out);
    dmp_client_config_free(&back);
    dmp_client_config_free(&c);
}

static void test_max_message_for_cap(void **state)
{
    (void)state;
    /* the reference's 2,048-byte cap: n <= 42, k = 32, 4,092-byte outer (client.md §4.2) */
    assert_int_equal(dmp_client_max_message_for_cap(2048), 3732);
    assert_int_equal(dmp_client_max_message_for_cap(16384), DMP_CLIENT_MAX_MESSAGE);
    assert_int_equal(dmp_client_max_message_for_cap(11132), DMP_CLIENT_MAX_MESSAGE);
    assert_true(dmp_client_max_message_for_cap(11131) < DMP_CLIENT_MAX_MESSAGE);
    assert_int_equal(dmp_client_max_message_for_cap(100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_roundtrip), cmocka_unit_test(test_defaults_and_tolerance),
        cmocka_unit_test(test_atomic_save),         cmocka_unit_test(test_databases),
        cmocka_unit_test(test_replay_and_tokens),   cmocka_unit_test(test_max_message_for_cap),
        cmocka_unit_test(test_many_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
