/* Integration: a real dnsmeshd with DNS UPDATE on, driven with UPDATE messages built and signed
 * here (dmp_dns + dmp_tsig) so clock skew, claims and multi-shard cases can be crafted; replies
 * are checked with ldns (TSIG MACs included). Keys are made with the real dnsmesh-admin.
 * usage: test_update_integ /path/to/dnsmeshd /path/to/dnsmesh-admin */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <sodium.h>

#include "dns/dns.h"
#include "itest.h"
#include "util/util.h"
#include "wire/wire.h"

static const char *g_admin;
#define SECRET "dnsmesh-test-secret-0123456789ab"
#define SECRET_B64 "ZG5zbWVzaC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWI="

static int run_admin(const char *db, const char *const *args)
{
    pid_t p = fork();
    if (p == 0) {
        const char *argv[16] = {g_admin, "tsig"};
        int i = 2;
        for (; args[i - 2] && i < 13; i++)
            argv[i] = args[i - 2];
        argv[i++] = "--db";
        argv[i++] = db;
        argv[i] = NULL;
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        execv(g_admin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void start(itest_node_t *n, const char *const *extra)
{
    assert_int_equal(itest_node_init(n), 0);
    const char *key[] = {"add",          "alice.mesh.test", "--scope", "mesh.test",
                         "--secret-b64", SECRET_B64,        NULL};
    assert_int_equal(run_admin(n->db, key), 0);
    const char *env[24] = {"DMP_DNS_UPDATE_ENABLED=1", "DMP_SERVED_ZONE=mesh.test",
                           "DMP_DNS_RATE=0"};
    size_t k = 3;
    for (size_t i = 0; extra && extra[i] && k < 23; i++)
        env[k++] = extra[i];
    env[k] = NULL;
    assert_int_equal(itest_node_start(n, env), 0);
}

static dmp_tsig_key_t alice_key(void)
{
    dmp_tsig_key_t k;
    memset(&k, 0, sizeof(k));
    strcpy(k.name, "alice.mesh.test");
    k.alg = DMP_TSIG_HMAC_SHA256;
    memcpy(k.secret, SECRET, 32);
    k.secret_len = 32;
    return k;
}

/* Builds an UPDATE of ops (values in vals), signs it (key may be NULL) at time ts, sends it
 * over UDP (TCP when big) and returns the reply length; the request MAC goes to req_mac. */
static int send_update(const itest_node_t *n, const dmp_upd_op_t *ops, size_t nops,
                       const uint8_t *vals, const dmp_tsig_key_t *key, int64_t ts, uint8_t *resp,
                       size_t cap, uint8_t *req_mac, size_t *req_mac_len)
{
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_dns_update_build((uint16_t)rand(), "mesh.test", ops, nops, vals, &b), 0);
    assert_int_equal(dmp_buf_reserve(&b, 600), 0);
    size_t len = b.len;
    if (key) {
        assert_int_equal(
            dmp_tsig_sign(b.data, &len, b.cap, key, NULL, 0, (uint64_t)ts, 300, 0, NULL, 0), 0);
        dmp_tsig_rr_t t;
        assert_int_equal(dmp_tsig_find(b.data, len, &t), 0);
        memcpy(req_mac, t.mac, t.mac_len);
        *req_mac_len = t.mac_len;
    }
    int r = len > 500 ? itest_tcp(n, b.data, len, resp, cap, 5000)
                      : itest_udp(n, b.data, len, resp, cap, 5000);
    dmp_buf_free(&b);
    return r;
}

static bool ldns_ok(const uint8_t *resp, size_t len, const uint8_t *req_mac, size_t req_mac_len)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, resp, len) != LDNS_STATUS_OK)
        return false;
    uint8_t mb[2 + 64];
    dmp_store_u16be(mb, (uint16_t)req_mac_len);
    memcpy(mb + 2, req_mac, req_mac_len);
    ldns_rdf *mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2 + req_mac_len, mb);
    bool ok = ldns_pkt_tsig_verify(p, resp, len, "alice.mesh.test", SECRET_B64, mac);
    ldns_rdf_deep_free(mac);
    ldns_pkt_free(p);
    return ok;
}

static int txt_status(const itest_node_t *n, const char *name)
{
    uint8_t q[512], r[4096];
    size_t ql = itest_build_query(q, sizeof(q), 7, name, DMP_DNS_T_TXT, 0, 0, 0);
    int rl = itest_udp(n, q, ql, r, sizeof(r), 3000);
    assert_true(rl >= 12);
    return r[3] & 0xF;
}

static dmp_upd_op_t add_op(const char *owner, size_t voff, size_t vlen, uint32_t ttl)
{
    dmp_upd_op_t op;
    memset(&op, 0, sizeof(op));
    op.kind = DMP_UPD_ADD;
    snprintf(op.owner, sizeof(op.owner), "%s", owner);
    op.owner_len = strlen(owner);
    op.value_off = voff;
    op.value_len = vlen;
    op.ttl = ttl;
    return op;
}

/* BADTIME: signed NOTAUTH carrying our time; inside the fudge: NOERROR, signed reply. */
static void t_tsig_time(void **state)
{
    (void)state;
    itest_node_t n;
    const char *cap[] = {"DMP_MAX_VALUE_BYTES=2048", NULL}; /* the reference's cap */
    start(&n, cap);
    dmp_tsig_key_t k = alice_key();
    uint8_t r[4096], mac[64];
    size_t ml = 0;
    dmp_upd_op_t op = add_op("skew.mesh.test", 0, 1, 60);
    int64_t now = (int64_t)time(NULL);
    int rl = send_update(&n, &op, 1, (const uint8_t *)"v", &k, now - 1000, r, sizeof(r), mac, &ml);
    assert_true(rl > 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOTAUTH);
    dmp_tsig_rr_t t;
    assert_int_equal(dmp_tsig_find(r, (size_t)rl, &t), 0);
    assert_int_equal(t.error, DMP_TSIG_ERR_BADTIME);
    assert_int_equal(t.other_len, 6);
    int64_t server =
        (int64_t)((uint64_t)dmp_load_u16be(t.other) << 32 | dmp_load_u32be(t.other + 2));
    assert_true(server >= now - 5 && server <= now + 60);
    assert_true(ldns_ok(r, (size_t)rl, mac, ml)); /* signed with the key, chained */
    assert_int_equal(txt_status(&n, "skew.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    /* future skew too */
    rl = send_update(&n, &op, 1, (const uint8_t *)"v", &k, now + 1000, r, sizeof(r), mac, &ml);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOTAUTH);
    /* inside the fudge: applied, reply signed */
    rl = send_update(&n, &op, 1, (const uint8_t *)"v", &k, now - 200, r, sizeof(r), mac, &ml);
    assert_true(rl > 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOERROR);
    assert_true(ldns_ok(r, (size_t)rl, mac, ml));
    assert_int_equal(txt_status(&n, "skew.mesh.test"), DMP_DNS_RCODE_NOERROR);
    /* signed FORMERR for bad UTF-8; nothing written */
    dmp_upd_op_t bad = add_op("utf.mesh.test", 0, 2, 60);
    rl = send_update(&n, &bad, 1, (const uint8_t *)"\xC3\x28", &k, now, r, sizeof(r), mac, &ml);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_FORMERR);
    assert_true(ldns_ok(r, (size_t)rl, mac, ml));
    assert_int_equal(txt_status(&n, "utf.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    /* a value over 255 bytes over TCP */
    static uint8_t big[1500];
    memset(big, 'z', sizeof(big));
    dmp_upd_op_t bop = add_op("big.mesh.test", 0, sizeof(big), 60);
    rl = send_update(&n, &bop, 1, big, &k, now, r, sizeof(r), mac, &ml);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOERROR);
    /* over the value cap (2048) -> REFUSED */
    static uint8_t huge[2049];
    memset(huge, 'h', sizeof(huge));
    dmp_upd_op_t hop = add_op("huge.mesh.test", 0, sizeof(huge), 60);
    rl = send_update(&n, &hop, 1, huge, &k, now, r, sizeof(r), mac, &ml);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_REFUSED);
    assert_int_equal(txt_status(&n, "huge.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

static size_t make_claim(uint8_t *out, size_t cap, int64_t now, uint64_t exp_in, bool corrupt)
{
    uint8_t pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    dmp_wire_claim_t c;
    memset(&c, 0, sizeof(c));
    randombytes_buf(c.msg_id, 16);
    memcpy(c.sender_spk, pk, 32);
    strcpy(c.sender_mailbox_domain, "mesh.test");
    c.domain_len = 9;
    c.slot = 1;
    c.ts = (uint64_t)now;
    c.exp = (uint64_t)now + exp_in;
    dmp_buf_t b;
    dmp_buf_init(&b);
    assert_int_equal(dmp_wire_claim_encode(&c, sk, &b), 0);
    assert_true(b.len <= cap);
    memcpy(out, b.data, b.len);
    if (corrupt)
        out[b.len - 5] = out[b.len - 5] == 'A' ? 'B' : 'A';
    size_t l = b.len;
    dmp_buf_free(&b);
    return l;
}

static uint8_t claim_rc(const itest_node_t *n, const char *owner, const uint8_t *v, size_t vl,
                        uint32_t ttl)
{
    uint8_t r[1024], mac[64];
    size_t ml = 0;
    dmp_upd_op_t op = add_op(owner, 0, vl, ttl);
    int rl = send_update(n, &op, 1, v, NULL, 0, r, sizeof(r), mac, &ml);
    assert_true(rl >= 12);
    assert_int_equal(dmp_load_u16be(r + 10), 0); /* anonymous: unsigned reply */
    return r[3] & 0xF;
}

/* Anonymous claims (node.md §2.6): provider role on. */
static void t_claims_provider(void **state)
{
    (void)state;
    itest_node_t n;
    const char *env[] = {"DMP_CLAIM_RATE_BURST=2", "DMP_CLAIM_RATE_PER_USER_PER_SEC=0.001",
                         "DMP_CLAIM_MAX_TTL=3600", NULL};
    start(&n, env);
    int64_t now = (int64_t)time(NULL);
    uint8_t v[300];
    size_t vl = make_claim(v, sizeof(v), now, 600, false);
    assert_int_equal(claim_rc(&n, "claim-1.mb-0123456789ab.mesh.test", v, vl, 60), 0);
    assert_int_equal(txt_status(&n, "claim-1.mb-0123456789ab.mesh.test"), 0);
    /* not a claim owner, a bad signature, an expiry past the cap, a delete: REFUSED */
    assert_int_equal(claim_rc(&n, "slot-1.mb-0123456789ab.mesh.test", v, vl, 60),
                     DMP_DNS_RCODE_REFUSED);
    uint8_t bad[300];
    size_t bl = make_claim(bad, sizeof(bad), now, 600, true);
    assert_int_equal(claim_rc(&n, "claim-2.mb-0123456789ab.mesh.test", bad, bl, 60),
                     DMP_DNS_RCODE_REFUSED);
    bl = make_claim(bad, sizeof(bad), now, 7200, false);
    assert_int_equal(claim_rc(&n, "claim-2.mb-0123456789ab.mesh.test", bad, bl, 60),
                     DMP_DNS_RCODE_REFUSED);
    assert_int_equal(
        claim_rc(&n, "claim-3.mb-0123456789ab.mesh.test", (const uint8_t *)"hi", 2, 60),
        DMP_DNS_RCODE_REFUSED);
    assert_int_equal(txt_status(&n, "slot-1.mb-0123456789ab.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    assert_int_equal(txt_status(&n, "claim-2.mb-0123456789ab.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    uint8_t r[1024], mac[64];
    size_t ml;
    dmp_upd_op_t del;
    memset(&del, 0, sizeof(del));
    del.kind = DMP_UPD_DEL_RRSET;
    strcpy(del.owner, "claim-1.mb-0123456789ab.mesh.test");
    del.owner_len = strlen(del.owner);
    int rl = send_update(&n, &del, 1, NULL, NULL, 0, r, sizeof(r), mac, &ml);
    assert_true(rl >= 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_REFUSED);
    assert_int_equal(txt_status(&n, "claim-1.mb-0123456789ab.mesh.test"), 0);
    /* the per-recipient bucket (burst 2): the second claim passes, the third is SERVFAIL; the
     * refused ones above did not reach the bucket (checks run first) */
    vl = make_claim(v, sizeof(v), now, 600, false);
    assert_int_equal(claim_rc(&n, "claim-4.mb-0123456789ab.mesh.test", v, vl, 60), 0);
    vl = make_claim(v, sizeof(v), now, 600, false);
    assert_int_equal(claim_rc(&n, "claim-5.mb-0123456789ab.mesh.test", v, vl, 60),
                     DMP_DNS_RCODE_SERVFAIL);
    assert_int_equal(txt_status(&n, "claim-5.mb-0123456789ab.mesh.test"), DMP_DNS_RCODE_NXDOMAIN);
    /* another recipient has its own bucket */
    assert_int_equal(claim_rc(&n, "claim-5.mb-aaaaaaaaaaaa.mesh.test", v, vl, 60), 0);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* Receiver role only (M10): claims only for recipients registered in the keystore (§5.5). */
static void t_claims_receiver_only(void **state)
{
    (void)state;
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    const char *reg[] = {"add", "r.mesh.test", "--scope", "mb-0123456789ab.mesh.test", NULL};
    assert_int_equal(run_admin(n.db, reg), 0);
    const char *env[] = {
        "DMP_DNS_UPDATE_ENABLED=1", "DMP_SERVED_ZONE=mesh.test",          "DMP_DNS_RATE=0",
        "DMP_CLAIM_PROVIDER=0",     "DMP_RECEIVER_CLAIM_NOTIFICATIONS=1", NULL};
    assert_int_equal(itest_node_start(&n, env), 0);
    int64_t now = (int64_t)time(NULL);
    uint8_t v[300];
    size_t vl = make_claim(v, sizeof(v), now, 600, false);
    assert_int_equal(claim_rc(&n, "claim-1.mb-0123456789ab.mesh.test", v, vl, 60), 0);
    assert_int_equal(claim_rc(&n, "claim-1.mb-bbbbbbbbbbbb.mesh.test", v, vl, 60),
                     DMP_DNS_RCODE_REFUSED);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
    /* both roles off: every anonymous UPDATE is REFUSED */
    assert_int_equal(itest_node_init(&n), 0);
    const char *env2[] = {"DMP_DNS_UPDATE_ENABLED=1", "DMP_SERVED_ZONE=mesh.test", "DMP_DNS_RATE=0",
                          "DMP_CLAIM_PROVIDER=off", NULL};
    assert_int_equal(itest_node_start(&n, env2), 0);
    assert_int_equal(claim_rc(&n, "claim-1.mb-0123456789ab.mesh.test", v, vl, 60),
                     DMP_DNS_RCODE_REFUSED);
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* Several shards: an UPDATE whose names live on different shards is one transaction (all or
 * nothing); a refused one writes on neither shard. */
static void t_shards(void **state)
{
    (void)state;
    itest_node_t n;
    const char *env[] = {"DMP_SHARDS=2", "DMP_MAX_VALUES_PER_NAME=2", NULL};
    start(&n, env);
    dmp_tsig_key_t k = alice_key();
    int64_t now = (int64_t)time(NULL);
    char a[64], b[64];
    unsigned sa = 99;
    int found = 0;
    /* two names on different shards, and two on the same one */
    for (int i = 0; i < 64 && found < 1; i++) {
        snprintf(a, sizeof(a), "s%d.mesh.test", i);
        unsigned s = (unsigned)(dmp_dns_name_hash(a, strlen(a)) % 2);
        if (sa == 99)
            sa = s;
        else if (s != sa)
            found = 1;
    }
    snprintf(b, sizeof(b), "s0.mesh.test");
    assert_true(found);
    uint8_t r[1024], mac[64];
    size_t ml;
    dmp_upd_op_t ops[3] = {add_op(b, 0, 1, 60), add_op(a, 0, 1, 60),
                           add_op("x.other.test", 0, 1, 60)};
    /* a NOTZONE in the same message: neither name written */
    int rl = send_update(&n, ops, 3, (const uint8_t *)"v", &k, now, r, sizeof(r), mac, &ml);
    assert_true(rl > 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOTZONE);
    assert_int_equal(txt_status(&n, a), DMP_DNS_RCODE_NXDOMAIN);
    assert_int_equal(txt_status(&n, b), DMP_DNS_RCODE_NXDOMAIN);
    rl = send_update(&n, ops, 2, (const uint8_t *)"v", &k, now, r, sizeof(r), mac, &ml);
    assert_true(rl > 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOERROR);
    assert_int_equal(txt_status(&n, a), 0);
    assert_int_equal(txt_status(&n, b), 0);
    /* the value cap: a third value at a with DMP_MAX_VALUES_PER_NAME=2 refuses the whole
     * message, b's new value included */
    dmp_upd_op_t more[3] = {add_op(b, 1, 1, 60), add_op(a, 1, 1, 60), add_op(a, 2, 1, 60)};
    rl = send_update(&n, more, 3, (const uint8_t *)"vwx", &k, now, r, sizeof(r), mac, &ml);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_REFUSED);
    uint8_t q[512], ans[2048];
    size_t ql = itest_build_query(q, sizeof(q), 9, b, DMP_DNS_T_TXT, 0, 0, 0);
    int al = itest_udp(&n, q, ql, ans, sizeof(ans), 3000);
    assert_true(al > 12);
    assert_int_equal(dmp_load_u16be(ans + 6), 1); /* still one value at b */
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* Default caps: an UPDATE that would make its name's TXT answer larger than one DNS message is
 * REFUSED, as a cap refusal; the name still answers over TCP with every earlier value. */
static void t_answer_size(void **state)
{
    (void)state;
    itest_node_t n;
    start(&n, NULL);
    dmp_tsig_key_t k = alice_key();
    enum { VL = 12288 };
    static uint8_t vals[6 * VL], r[70000];
    uint8_t mac[64], q[512];
    size_t ml = 0;
    for (int i = 0; i < 6; i++)
        memset(vals + (size_t)i * VL, 'a' + i, VL);
    dmp_upd_op_t ops[5];
    for (int i = 0; i < 5; i++)
        ops[i] = add_op("full.mesh.test", (size_t)i * VL, VL, 60);
    int64_t now = (int64_t)time(NULL);
    int rl = send_update(&n, ops, 5, vals, &k, now, r, sizeof(r), mac, &ml);
    assert_true(rl >= 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOERROR);
    dmp_upd_op_t six = add_op("full.mesh.test", 5 * VL, VL, 60);
    rl = send_update(&n, &six, 1, vals, &k, now, r, sizeof(r), mac, &ml);
    assert_true(rl >= 12);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_REFUSED);
    assert_true(ldns_ok(r, (size_t)rl, mac, ml));
    size_t ql = itest_build_query(q, sizeof(q), 9, "full.mesh.test", DMP_DNS_T_TXT, 0, 0, 0);
    rl = itest_tcp(&n, q, ql, r, sizeof(r), 5000);
    assert_true(rl > 12 && rl <= 65535);
    assert_int_equal(r[3] & 0xF, DMP_DNS_RCODE_NOERROR);
    assert_int_equal(dmp_load_u16be(r + 6), 5); /* ANCOUNT: every earlier value */
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

int main(int argc, char **argv)
{
    int rc = itest_init(argc, argv, "/path/to/dnsmesh-admin");
    if (rc != 0)
        return rc;
    if (argc < 3) {
        fprintf(stderr, "usage: %s /path/to/dnsmeshd /path/to/dnsmesh-admin\n", argv[0]);
        return 77;
    }
    g_admin = argv[2];
    if (access(g_admin, X_OK) != 0) {
        fprintf(stderr, "skip: %s is not executable\n", g_admin);
        return 77;
    }
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_tsig_time),       cmocka_unit_test(t_answer_size),
        cmocka_unit_test(t_claims_provider), cmocka_unit_test(t_claims_receiver_only),
        cmocka_unit_test(t_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
