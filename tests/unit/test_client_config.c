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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_roundtrip),
        cmocka_unit_test(test_defaults_and_tolerance),
        cmocka_unit_test(test_atomic_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
