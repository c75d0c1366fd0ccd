/* libFuzzer target: arbitrary bytes into the TSIG finder, the server-side verifier (keys for
 * two algorithms, the clock taken from the input) and the error/signed reply builders. Checks:
 * the TSIG RR lies inside the message, nothing is written past cap, replies parse with ldns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/util.h"

static int lookup(void *ctx, const char *lname, dmp_tsig_key_t *out)
{
    (void)ctx;
    memset(out, 0, sizeof(*out));
    if (strcmp(lname, "testkey.mesh.test") == 0)
        out->alg = DMP_TSIG_HMAC_SHA256;
    else if (strcmp(lname, "md5.mesh.test") == 0)
        out->alg = DMP_TSIG_HMAC_MD5;
    else
        return DMP_ENOTFOUND;
    snprintf(out->name, sizeof(out->name), "%s", lname);
    memcpy(out->secret, "dnsmesh-test-secret-0123456789ab", 32);
    out->secret_len = 32;
    return 0;
}

static uint8_t g_out[70000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmp_tsig_rr_t t;
    int rc = dmp_tsig_find(data, size, &t);
    if (rc == 0 && (t.rr_off >= t.rr_end || t.rr_end != size || t.mac + t.mac_len > data + size ||
                    t.other + t.other_len != data + size))
        abort();
    int64_t now = 0;
    if (rc == 0)
        now = (int64_t)t.time_signed + (size > 20 ? (int64_t)data[13] * 5 - 600 : 0);
    dmp_tsig_state_t st;
    rc = dmp_tsig_verify_request(data, size, now, lookup, NULL, &st);
    if (rc != 0)
        abort();
    size_t cap = size > 2 ? 12 + (size_t)data[size - 1] * 8u : 600;
    memset(g_out, 0xA5, cap + 64); /* what the checks below read (was all 70,000 bytes) */
    size_t ol = 0;
    if (st.status != DMP_TSIG_NONE && st.status != DMP_TSIG_OK) {
        rc = dmp_tsig_error_reply(data, size, &st, now, g_out, cap, &ol);
    } else {
        dmp_dns_update_t u;
        (void)dmp_dns_update_parse(data, size, "mesh.test", NULL, &u);
        rc = dmp_dns_update_reply(&u, data, size, 0, g_out, cap, &ol);
        if (rc == 0 && ol)
            rc = dmp_tsig_reply_finish(&st, now, g_out, &ol, cap);
        dmp_dns_update_free(&u);
    }
    if (rc != 0 && rc != DMP_ETOOBIG)
        abort();
    if (ol > cap)
        abort();
    for (size_t i = cap; i < cap + 64; i++)
        if (g_out[i] != 0xA5)
            abort();
    if (rc == 0 && ol) {
        ldns_pkt *p = NULL;
        if (ldns_wire2pkt(&p, g_out, ol) != LDNS_STATUS_OK)
            abort();
        ldns_pkt_free(p);
        dmp_tsig_rr_t rt;
        if (st.status != DMP_TSIG_NONE && st.status != DMP_TSIG_FORMERR &&
            dmp_tsig_find(g_out, ol, &rt) != 0)
            abort();
    }
    dmp_tsig_state_wipe(&st);
    return 0;
}
