/* libFuzzer target: arbitrary bytes into dmp_dns_respond / dmp_dns_respond_ex (UDP and TCP, two
 * zone shapes, two output caps, cookies + NSID + keepalive on, cookies required) with a fake
 * lookup (some answers with their TTL clamped). Checks: out_len <= cap, nothing written past cap,
 * every non-empty reply parses with ldns, and routing agrees with the parsed name. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/util.h"

static dmp_buf_t g_rrs;
static dmp_dns_cookie_secret_t g_secret;
static bool g_init;

/* Deterministic fake store keyed on the name hash: values, exists-without-values, missing,
 * or a storage error. */
static int fake_lookup(void *ctx, const char *lname, size_t len, dmp_dns_rrset_view_t *out)
{
    (void)ctx;
    if (strlen(lname) != len)
        abort();
    switch (dmp_dns_name_hash(lname, len) % 4) {
    case 0:
        out->rrs = g_rrs.data;
        out->len = g_rrs.len;
        out->count = 3;
        out->clamp_ttl = (len & 1) != 0;
        out->ttl = (uint32_t)len;
        return 0;
    case 1:
        out->rrs = NULL;
        out->len = 0;
        out->count = 0;
        return 0;
    case 2:
        return DMP_ENOTFOUND;
    default:
        return DMP_EIO;
    }
}

static void init_once(void)
{
    if (g_init)
        return;
    static uint8_t big[700];
    memset(big, 'q', sizeof(big));
    dmp_dns_value_t vals[3] = {{(const uint8_t *)"hello", 5}, {(const uint8_t *)"", 0}, {big, 700}};
    dmp_buf_init(&g_rrs);
    if (dmp_dns_txt_rrs_build(vals, 3, 60, &g_rrs) != 0)
        abort();
    memset(g_secret.cur, 0x5a, sizeof(g_secret.cur));
    memset(g_secret.prev, 0xa5, sizeof(g_secret.prev));
    g_secret.has_prev = true;
    g_init = true;
}

static uint8_t g_out[65535 + 64];

static const uint8_t g_ip[16] = {0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};

static void one_ex(const dmp_dns_zone_t *z, const dmp_dns_opts_t *o, const uint8_t *data,
                   size_t size, dmp_dns_transport_t t, size_t cap)
{
    memset(g_out, 0xA5, sizeof(g_out));
    size_t out_len = 0;
    dmp_dns_result_t res;
    if (dmp_dns_respond_ex(z, o, data, size, t, fake_lookup, NULL, g_out, cap, &out_len, &res) != 0)
        abort();
    if (out_len > cap)
        abort();
    for (size_t i = cap; i < cap + 64; i++)
        if (g_out[i] != 0xA5)
            abort();
    if (res.outcome < 0 || res.outcome >= DMP_DNS_OUT_COUNT_)
        abort();
    if (out_len == 0)
        return;
    if (out_len < 12 || !(g_out[2] & 0x80) || g_out[0] != data[0] || g_out[1] != data[1])
        abort();
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, g_out, out_len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
}

static void one(const dmp_dns_zone_t *z, const uint8_t *data, size_t size, dmp_dns_transport_t t,
                size_t cap)
{
    one_ex(z, NULL, data, size, t, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    dmp_dns_zone_t z;
    memset(&z, 0, sizeof(z));
    z.ttl = 60;
    one(&z, data, size, DMP_DNS_UDP, 65535);
    one(&z, data, size, DMP_DNS_TCP, 65535);
    strcpy(z.apex, "dmp.example.com");
    z.has_a = true;
    z.has_aaaa = true;
    strcpy(z.ns, "ns1.example.com");
    strcpy(z.soa_rname, "hostmaster.example.com");
    z.soa_serial = 42;
    z.edns_payload = size > 0 ? (uint16_t)(data[size - 1] * 16) : 0;
    one(&z, data, size, DMP_DNS_UDP, 65535);
    one(&z, data, size, DMP_DNS_TCP, 65535);
    one(&z, data, size, DMP_DNS_UDP, size > 1 ? data[size - 2] * 4u : 512);
    one(&z, data, size, DMP_DNS_TCP, 300);
    dmp_dns_opts_t o = {.client_ip = g_ip,
                        .client_ip_len = size & 1 ? 16 : 4,
                        .cookie = &g_secret,
                        .now_s = 1700000000u,
                        .cookie_required = (size & 2) != 0,
                        .nsid = (const uint8_t *)"fuzz-node",
                        .nsid_len = 9,
                        .tcp_keepalive_100ms = 300};
    one_ex(&z, &o, data, size, DMP_DNS_UDP, 65535);
    one_ex(&z, &o, data, size, DMP_DNS_TCP, 65535);
    one_ex(&z, &o, data, size, DMP_DNS_UDP, 512);

    uint64_t h = 0;
    dmp_dns_query_t q;
    int pr = dmp_dns_query_parse(data, size, &q);
    if (dmp_dns_query_route(data, size, &h) == 0 && pr == 0 &&
        h != dmp_dns_name_hash(q.lname, q.lname_len))
        abort();
    size_t ol = 0;
    if (dmp_dns_tc_stub(data, size, g_out, 512, &ol) != 0 || ol > 512)
        abort();
    return 0;
}
