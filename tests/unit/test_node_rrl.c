/* Unit tests for src/node/rrl.c: response rate limiting with an injected clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>

#include "dns/dns.h"
#include "node/node.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof(s));
    s.sin_family = AF_INET;
    s.sin_port = htons(5300);
    assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
    return s;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof(s));
    s.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
    return s;
}

static dmp_dns_result_t answer(const char *name)
{
    dmp_dns_result_t r = {.qtype = DMP_DNS_T_TXT, .rcode = 0, .outcome = DMP_DNS_OUT_ANSWERED};
    r.rrl_name_hash = dmp_dns_name_hash(name, strlen(name));
    return r;
}

#define SEC 1000000000LL

/* Counts the verdicts of n responses at time t. */
typedef struct {
    int pass, drop, slip, exempt;
} tally_t;

static tally_t burst(dmp_node_rrl_t *r, const struct sockaddr *sa, socklen_t sl,
                     const dmp_dns_result_t *res, int n, int64_t t)
{
    tally_t c = {0};
    for (int i = 0; i < n; i++) {
        switch (dmp_node_rrl_check(r, sa, sl, res, 100, t)) {
        case DMP_NODE_RRL_PASS:
            c.pass++;
            break;
        case DMP_NODE_RRL_DROP:
            c.drop++;
            break;
        case DMP_NODE_RRL_SLIP:
            c.slip++;
            break;
        default:
            c.exempt++;
            break;
        }
    }
    return c;
}

static dmp_node_rrl_config_t cfg(double rate, unsigned slip)
{
    return (dmp_node_rrl_config_t){
        .rate = rate, .slip = slip, .v4_prefix = 24, .v6_prefix = 56, .buckets = 1024};
}

static void test_limit_and_slip(void **state)
{
    (void)state;
    dmp_node_rrl_config_t c = cfg(10, 2);
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    assert_non_null(r);
    struct sockaddr_in a = v4("192.0.2.7");
    dmp_dns_result_t res = answer("a.dmp.example.com");
    /* 100 identical responses within one instant: 10 pass, the other 90 alternate drop/slip */
    tally_t t = burst(r, (struct sockaddr *)&a, sizeof(a), &res, 100, 5 * SEC);
    assert_int_equal(t.pass, 10);
    assert_int_equal(t.slip, 45);
    assert_int_equal(t.drop, 45);
    /* another address of the same /24 shares the bucket */
    struct sockaddr_in a2 = v4("192.0.2.200");
    t = burst(r, (struct sockaddr *)&a2, sizeof(a2), &res, 4, 5 * SEC);
    assert_int_equal(t.pass, 0);
    /* the next /24 does not */
    struct sockaddr_in b = v4("192.0.3.7");
    t = burst(r, (struct sockaddr *)&b, sizeof(b), &res, 10, 5 * SEC);
    assert_int_equal(t.pass, 10);
    /* a different name from the limited /24 is its own bucket */
    dmp_dns_result_t other = answer("b.dmp.example.com");
    t = burst(r, (struct sockaddr *)&a, sizeof(a), &other, 10, 5 * SEC);
    assert_int_equal(t.pass, 10);
    /* half a second later: half the rate is back, never more than one second's worth */
    t = burst(r, (struct sockaddr *)&a, sizeof(a), &res, 20, 5 * SEC + SEC / 2);
    assert_int_equal(t.pass, 5);
    t = burst(r, (struct sockaddr *)&a, sizeof(a), &res, 100, 60 * SEC);
    assert_int_equal(t.pass, 10);
    dmp_node_rrl_free(r);
}

static void test_classes(void **state)
{
    (void)state;
    dmp_node_rrl_config_t c = cfg(5, 0); /* slip 0: every limited response dropped */
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    struct sockaddr_in a = v4("198.51.100.1");
    /* NXDOMAINs for different names share the zone's bucket (rrl_name_hash = apex) */
    dmp_dns_result_t nx = {.qtype = DMP_DNS_T_TXT, .rcode = 3, .outcome = DMP_DNS_OUT_NXDOMAIN};
    nx.rrl_name_hash = dmp_dns_name_hash("dmp.example.com", 15);
    tally_t t = burst(r, (struct sockaddr *)&a, sizeof(a), &nx, 20, SEC);
    assert_int_equal(t.pass, 5);
    assert_int_equal(t.drop, 15);
    assert_int_equal(t.slip, 0);
    /* a positive answer for the same hash and an A query are separate buckets */
    dmp_dns_result_t ans = nx;
    ans.outcome = DMP_DNS_OUT_ANSWERED;
    ans.rcode = 0;
    assert_int_equal(burst(r, (struct sockaddr *)&a, sizeof(a), &ans, 5, SEC).pass, 5);
    dmp_dns_result_t nx_a = nx;
    nx_a.qtype = DMP_DNS_T_A;
    assert_int_equal(burst(r, (struct sockaddr *)&a, sizeof(a), &nx_a, 5, SEC).pass, 5);
    /* a large answer is not the small answer's bucket */
    assert_int_equal(dmp_node_rrl_check(r, (struct sockaddr *)&a, sizeof(a), &ans, 100, SEC),
                     DMP_NODE_RRL_DROP);
    assert_int_equal(dmp_node_rrl_check(r, (struct sockaddr *)&a, sizeof(a), &ans, 3000, SEC),
                     DMP_NODE_RRL_PASS);
    dmp_node_rrl_free(r);
}

static void test_exemptions(void **state)
{
    (void)state;
    dmp_node_cidr_t *wl = NULL;
    size_t nwl = 0;
    assert_int_equal(dmp_node_cidr_parse_list("10.0.0.0/8, 2001:db8::/32 192.0.2.1", &wl, &nwl), 0);
    assert_int_equal(nwl, 3);
    dmp_node_rrl_config_t c = cfg(1, 1);
    c.whitelist = wl;
    c.nwhitelist = nwl;
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    free(wl); /* the table keeps its own copy */
    dmp_dns_result_t res = answer("x.dmp.example.com");
    struct sockaddr_in w4 = v4("10.9.8.7");
    tally_t t = burst(r, (struct sockaddr *)&w4, sizeof(w4), &res, 50, SEC);
    assert_int_equal(t.exempt, 50);
    struct sockaddr_in one = v4("192.0.2.1"), two = v4("192.0.2.2");
    assert_int_equal(burst(r, (struct sockaddr *)&one, sizeof(one), &res, 5, SEC).exempt, 5);
    t = burst(r, (struct sockaddr *)&two, sizeof(two), &res, 5, SEC);
    assert_int_equal(t.pass, 1);
    assert_int_equal(t.slip, 4); /* slip 1: every limited response is a TC reply */
    struct sockaddr_in6 w6 = v6("2001:db8:1::5");
    assert_int_equal(burst(r, (struct sockaddr *)&w6, sizeof(w6), &res, 5, SEC).exempt, 5);
    /* a valid server cookie: exempt, whatever the bucket says */
    dmp_dns_result_t ck = res;
    ck.cookie = DMP_DNS_COOKIE_VALID;
    assert_int_equal(dmp_node_rrl_check(r, (struct sockaddr *)&two, sizeof(two), &ck, 100, SEC),
                     DMP_NODE_RRL_EXEMPT_COOKIE);
    /* a client cookie alone proves nothing */
    ck.cookie = DMP_DNS_COOKIE_CLIENT_ONLY;
    assert_int_equal(dmp_node_rrl_check(r, (struct sockaddr *)&two, sizeof(two), &ck, 100, SEC),
                     DMP_NODE_RRL_SLIP);
    dmp_node_rrl_free(r);
}

static void test_ipv6_prefix(void **state)
{
    (void)state;
    dmp_node_rrl_config_t c = cfg(2, 0);
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    dmp_dns_result_t res = answer("y.dmp.example.com");
    /* same /56, different /64s: one bucket */
    struct sockaddr_in6 a = v6("2001:db8:0:1100::1"), b = v6("2001:db8:0:11ff::2");
    assert_int_equal(burst(r, (struct sockaddr *)&a, sizeof(a), &res, 2, SEC).pass, 2);
    assert_int_equal(burst(r, (struct sockaddr *)&b, sizeof(b), &res, 2, SEC).pass, 0);
    /* the next /56 */
    struct sockaddr_in6 d = v6("2001:db8:0:1200::1");
    assert_int_equal(burst(r, (struct sockaddr *)&d, sizeof(d), &res, 2, SEC).pass, 2);
    dmp_node_rrl_free(r);
}

static void test_off_and_bad(void **state)
{
    (void)state;
    dmp_node_rrl_config_t c = cfg(0, 2);
    dmp_node_rrl_t *r = (dmp_node_rrl_t *)1;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    assert_null(r);
    struct sockaddr_in a = v4("192.0.2.9");
    dmp_dns_result_t res = answer("z");
    assert_int_equal(burst(NULL, (struct sockaddr *)&a, sizeof(a), &res, 1000, SEC).pass, 1000);
    c = cfg(10, 2);
    c.v4_prefix = 33;
    assert_int_equal(dmp_node_rrl_new(&c, &r), DMP_EINVAL);
    dmp_node_cidr_t *wl = NULL;
    size_t n = 0;
    assert_int_equal(dmp_node_cidr_parse_list("10.0.0.1/8", &wl, &n), DMP_EFORMAT); /* host bits */
    assert_int_equal(dmp_node_cidr_parse_list("10.0.0.0/33", &wl, &n), DMP_EFORMAT);
    assert_int_equal(dmp_node_cidr_parse_list("nonsense", &wl, &n), DMP_EFORMAT);
    assert_int_equal(dmp_node_cidr_parse_list("", &wl, &n), 0);
    assert_int_equal(n, 0);
    assert_null(wl);
}

static void test_bounded_table(void **state)
{
    (void)state;
    /* a spoofed flood from many prefixes cannot grow the table or lock out a real client: new
     * buckets start full, so evicting one only lets responses through */
    dmp_node_rrl_config_t c = cfg(3, 0);
    c.buckets = 16;
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    dmp_dns_result_t res = answer("w.dmp.example.com");
    int passed = 0;
    for (int i = 0; i < 20000; i++) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(0x0A000000u + ((uint32_t)i << 8));
        passed += dmp_node_rrl_check(r, (struct sockaddr *)&a, sizeof(a), &res, 80, SEC) ==
                  DMP_NODE_RRL_PASS;
    }
    assert_int_equal(passed, 20000);
    dmp_node_rrl_free(r);
}

/* ---- the RRL / cookie / NSID / user knobs ---- */
static const char *env_of(const char *name, void *ctx)
{
    const char *const *kv = ctx;
    size_t n = strlen(name);
    for (; *kv; kv++)
        if (strncmp(*kv, name, n) == 0 && (*kv)[n] == '=')
            return *kv + n + 1;
    return NULL;
}

static int load(const char *const *kv, dmp_node_config_t *c, char *err, size_t cap)
{
    char *argv[] = {"dnsmeshd", NULL};
    bool help = false;
    return dmp_node_config_load(c, env_of, (void *)kv, 1, argv, &help, err, cap);
}

static void test_config_knobs(void **state)
{
    (void)state;
    dmp_node_config_t c;
    char err[256];
    const char *dflt[] = {"DMP_HTTP_HOST=127.0.0.1", NULL};
    assert_int_equal(load(dflt, &c, err, sizeof(err)), 0);
    assert_true(c.rrl_rate == 200.0);
    assert_int_equal(c.rrl_slip, 2);
    assert_int_equal(c.rrl_v4_prefix, 24);
    assert_int_equal(c.rrl_v6_prefix, 56);
    assert_int_equal(c.rrl_nwhitelist, 0);
    assert_true(c.cookies);
    assert_false(c.cookie_required);
    assert_false(c.cookie_secret_set);
    assert_int_equal(c.cookie_rotate, 86400);
    assert_null(c.nsid);
    assert_null(c.user);
    dmp_node_config_free(&c);

    const char *set[] = {"DMP_HTTP_HOST=127.0.0.1",
                         "DMP_RRL_RATE=0",
                         "DMP_RRL_SLIP=1",
                         "DMP_RRL_IPV4_PREFIX=32",
                         "DMP_RRL_IPV6_PREFIX=64",
                         "DMP_RRL_WHITELIST=127.0.0.0/8,::1",
                         "DMP_NSID=0x6e6f646531",
                         "DMP_COOKIE_REQUIRE=1",
                         "DMP_COOKIE_SECRET=000102030405060708090a0b0c0d0e0f"
                         "101112131415161718191a1b1c1d1e1f",
                         "DMP_USER=dnsmesh",
                         NULL};
    assert_int_equal(load(set, &c, err, sizeof(err)), 0);
    assert_true(c.rrl_rate == 0.0);
    assert_int_equal(c.rrl_slip, 1);
    assert_int_equal(c.rrl_v4_prefix, 32);
    assert_int_equal(c.rrl_v6_prefix, 64);
    assert_int_equal(c.rrl_nwhitelist, 2);
    assert_int_equal(c.nsid_len, 5);
    assert_memory_equal(c.nsid, "node1", 5);
    assert_true(c.cookie_required);
    assert_true(c.cookie_secret_set);
    assert_int_equal(c.cookie_secret[31], 0x1f);
    assert_string_equal(c.user, "dnsmesh");
    dmp_node_config_free(&c);

    const char *const bad[][2] = {
        {"DMP_RRL_RATE=-3", "DMP_RRL_RATE"},
        {"DMP_RRL_SLIP=101", "DMP_RRL_SLIP"},
        {"DMP_RRL_IPV4_PREFIX=0", "DMP_RRL_IPV4_PREFIX"},
        {"DMP_RRL_IPV6_PREFIX=129", "DMP_RRL_IPV6_PREFIX"},
        {"DMP_RRL_WHITELIST=10.0.0.1/8", "DMP_RRL_WHITELIST"},
        {"DMP_NSID=0xabc", "DMP_NSID"},
        {"DMP_COOKIE_SECRET=abcd", "DMP_COOKIE_SECRET"},
        {"DMP_COOKIE_ROTATE=60", "DMP_COOKIE_ROTATE"},
        {"DMP_COOKIES=maybe", "DMP_COOKIES"},
        {"DMP_USER=bad user", "DMP_USER"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *kv[] = {"DMP_HTTP_HOST=127.0.0.1", bad[i][0], NULL};
        err[0] = 0;
        if (load(kv, &c, err, sizeof(err)) != DMP_NODE_ECONFIG)
            fail_msg("%s was accepted", bad[i][0]);
        assert_non_null(strstr(err, bad[i][1]));
    }
    const char *both[] = {"DMP_HTTP_HOST=127.0.0.1", "DMP_COOKIES=0", "DMP_COOKIE_REQUIRE=1", NULL};
    assert_int_equal(load(both, &c, err, sizeof(err)), DMP_NODE_ECONFIG);
    assert_non_null(strstr(err, "DMP_COOKIE_REQUIRE"));
}

/* One table shared by several threads (dmp_node_rrl_check_mt, as the node's shards and
 * frontends use it): at one instant (the clock is injected, so no refill) exactly `rate`
 * responses of a bucket pass and exactly every slip-th limited one slips, however the responses
 * are spread over the threads; other buckets are untouched. */
typedef struct {
    dmp_node_rrl_t *r;
    const struct sockaddr *sa;
    socklen_t sl;
    dmp_dns_result_t res;
    int pass, drop, slip;
} mt_t;

static void *mt_main(void *arg)
{
    mt_t *m = arg;
    for (int i = 0; i < 5000; i++) {
        switch (dmp_node_rrl_check_mt(m->r, m->sa, m->sl, &m->res, 100, 7 * SEC)) {
        case DMP_NODE_RRL_PASS:
            m->pass++;
            break;
        case DMP_NODE_RRL_SLIP:
            m->slip++;
            break;
        case DMP_NODE_RRL_DROP:
            m->drop++;
            break;
        default:
            break;
        }
    }
    return NULL;
}

static void test_shared_threads(void **state)
{
    (void)state;
    dmp_node_rrl_config_t c = cfg(100, 4);
    dmp_node_rrl_t *r = NULL;
    assert_int_equal(dmp_node_rrl_new(&c, &r), 0);
    struct sockaddr_in a = v4("192.0.2.9");
    enum { NT = 4 };
    mt_t m[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        m[i] = (mt_t){.r = r, .sa = (struct sockaddr *)&a, .sl = sizeof(a)};
        m[i].res = answer("hot.example.com");
        assert_int_equal(pthread_create(&th[i], NULL, mt_main, &m[i]), 0);
    }
    int pass = 0, slip = 0, drop = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        pass += m[i].pass;
        slip += m[i].slip;
        drop += m[i].drop;
    }
    assert_int_equal(pass, 100);
    assert_int_equal(pass + slip + drop, NT * 5000);
    assert_int_equal(slip, (NT * 5000 - 100) / 4);
    /* the single-thread check sees the same (empty) bucket, and another name is fresh */
    dmp_dns_result_t hot = answer("hot.example.com"), other = answer("other.example.com");
    assert_int_not_equal(
        dmp_node_rrl_check(r, (struct sockaddr *)&a, sizeof(a), &hot, 100, 7 * SEC),
        DMP_NODE_RRL_PASS);
    assert_int_equal(
        dmp_node_rrl_check_mt(r, (struct sockaddr *)&a, sizeof(a), &other, 100, 7 * SEC),
        DMP_NODE_RRL_PASS);
    dmp_node_rrl_free(r);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_and_slip), cmocka_unit_test(test_classes),
        cmocka_unit_test(test_exemptions),     cmocka_unit_test(test_ipv6_prefix),
        cmocka_unit_test(test_off_and_bad),    cmocka_unit_test(test_bounded_table),
        cmocka_unit_test(test_config_knobs),   cmocka_unit_test(test_shared_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
