/* libFuzzer target: arbitrary bytes into dmp_dns_update_parse, the prerequisite check and the
 * reply builder. Checks: every op's owner is inside the zone and lowercased, every value lies
 * inside the values buffer and is valid UTF-8 for adds, replies stay within cap and parse with
 * ldns. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/dns.h"
#include "util/util.h"

static int fake_state(void *ctx, const char *lname, size_t len, dmp_upd_name_state_t *out)
{
    (void)ctx;
    static const dmp_dns_value_t vals[2] = {{(const uint8_t *)"one", 3}, {(const uint8_t *)"", 0}};
    uint64_t h = dmp_dns_name_hash(lname, len);
    out->exists = h & 1;
    out->txt = vals;
    out->n_txt = (h >> 1) % 3;
    out->has_other_types = false;
    return (h >> 8) % 17 == 0 ? DMP_EIO : 0;
}

static uint8_t g_out[1024 + 64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *zones[] = {"mesh.test", ""};
    for (int zi = 0; zi < 2; zi++) {
        dmp_dns_update_t u;
        dmp_upd_limits_t lim = {300, 3600};
        int rc = dmp_dns_update_parse(data, size, zones[zi], &lim, &u);
        if (rc != 0 && rc != DMP_EFORMAT)
            abort();
        if (rc == 0 && u.rcode == DMP_DNS_RCODE_NOERROR) {
            if (zi == 1)
                abort(); /* no served zone: nothing is ever NOERROR */
            for (size_t i = 0; i < u.n_ops; i++) {
                const dmp_upd_op_t *op = &u.ops[i];
                if (strlen(op->owner) != op->owner_len ||
                    !dmp_dns_name_in_zone(op->owner, op->owner_len, "mesh.test", 9))
                    abort();
                for (size_t k = 0; k < op->owner_len; k++)
                    if (op->owner[k] >= 'A' && op->owner[k] <= 'Z')
                        abort();
                if (op->value_off + op->value_len > u.values.len)
                    abort();
                if (op->kind == DMP_UPD_ADD &&
                    (op->value_len > 300 || op->ttl > 3600 || op->ttl == 0 ||
                     !dmp_dns_utf8_valid(dmp_dns_update_value(&u, op->value_off), op->value_len)))
                    abort();
            }
            uint8_t prc = 0;
            (void)dmp_dns_update_prereqs(&u, fake_state, NULL, &prc);
        }
        memset(g_out, 0xA5, sizeof(g_out));
        size_t ol = 0;
        size_t cap = size > 0 ? 12 + data[0] * 4u : 1024;
        if (cap > 1024)
            cap = 1024;
        int r2 = dmp_dns_update_reply(rc == 0 ? &u : NULL, data, size, rc == 0 ? u.rcode : 1, g_out,
                                      cap, &ol);
        if (r2 != 0 && r2 != DMP_ETOOBIG)
            abort();
        if (ol > cap)
            abort();
        for (size_t i = cap; i < sizeof(g_out); i++)
            if (g_out[i] != 0xA5)
                abort();
        if (ol) {
            ldns_pkt *p = NULL;
            if (ldns_wire2pkt(&p, g_out, ol) != LDNS_STATUS_OK)
                abort();
            ldns_pkt_free(p);
        }
        dmp_dns_update_free(&u);
    }
    return 0;
}
