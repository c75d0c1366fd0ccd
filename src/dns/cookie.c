/* dns: DNS Cookies (RFC 7873) with server cookies as RFC 9018 describes them.
 *
 * Server cookie (16 bytes): version 1 | 3 reserved zero bytes | timestamp (uint32, seconds, RFC
 * 1982 serial arithmetic) | hash = SipHash-2-4(client cookie | version | reserved | timestamp |
 * client IP, server secret). A cookie is accepted when its hash matches under the current or the
 * previous secret and its timestamp is at most an hour old and at most five minutes in the
 * future; a fresh one is handed out when the one presented is older than half an hour. */
#include <string.h>

#include <sodium.h>

#include "dns/dns.h"
#include "util/util.h"

#define COOKIE_VERSION 1
#define COOKIE_MAX_AGE 3600u  /* RFC 9018 4.3 */
#define COOKIE_MAX_AHEAD 300u /* RFC 9018 4.3 */
#define COOKIE_REFRESH 1800u  /* RFC 9018 4.3: regenerate after half the lifetime */

static void cookie_hash(const uint8_t client[8], const uint8_t head[8], const uint8_t *ip,
                        size_t ip_len, const uint8_t key[DMP_DNS_COOKIE_SECRET_LEN], uint8_t out[8])
{
    uint8_t msg[8 + 8 + 16];
    memcpy(msg, client, 8);
    memcpy(msg + 8, head, 8);
    memcpy(msg + 16, ip, ip_len);
    crypto_shorthash_siphash24(out, msg, 16 + ip_len, key);
}

int dmp_dns_cookie_make(const dmp_dns_cookie_secret_t *s, const uint8_t client[8],
                        const uint8_t *ip, size_t ip_len, uint32_t now_s,
                        uint8_t out[DMP_DNS_SERVER_COOKIE_LEN])
{
    if (!s || !client || !ip || !out || (ip_len != 4 && ip_len != 16))
        return DMP_EINVAL;
    out[0] = COOKIE_VERSION;
    out[1] = out[2] = out[3] = 0;
    dmp_store_u32be(out + 4, now_s);
    cookie_hash(client, out, ip, ip_len, s->cur, out + 8);
    return 0;
}

int dmp_dns_cookie_check(const dmp_dns_cookie_secret_t *s, const uint8_t *opt, size_t opt_len,
                         const uint8_t *ip, size_t ip_len, uint32_t now_s, bool *refresh)
{
    if (refresh)
        *refresh = true;
    if (!s || !opt || !ip || (ip_len != 4 && ip_len != 16))
        return DMP_EINVAL;
    if (opt_len != DMP_DNS_CLIENT_COOKIE_LEN + DMP_DNS_SERVER_COOKIE_LEN)
        return DMP_EMISMATCH; /* not a cookie of our layout: cannot be ours */
    const uint8_t *sc = opt + DMP_DNS_CLIENT_COOKIE_LEN;
    if (sc[0] != COOKIE_VERSION || sc[1] || sc[2] || sc[3])
        return DMP_EVERSION;
    uint32_t ts = dmp_load_u32be(sc + 4);
    uint32_t age = now_s - ts; /* serial arithmetic: a cookie "ahead" wraps to a huge age */
    uint32_t ahead = ts - now_s;
    if (age > COOKIE_MAX_AGE && ahead > COOKIE_MAX_AHEAD)
        return DMP_EEXPIRED;
    uint8_t h[8];
    cookie_hash(opt, sc, ip, ip_len, s->cur, h);
    bool ok = sodium_memcmp(h, sc + 8, 8) == 0;
    bool cur = ok;
    if (!ok && s->has_prev) {
        cookie_hash(opt, sc, ip, ip_len, s->prev, h);
        ok = sodium_memcmp(h, sc + 8, 8) == 0;
    }
    if (!ok)
        return DMP_EAUTH;
    if (refresh)
        *refresh = !cur || (age <= COOKIE_MAX_AGE && age > COOKIE_REFRESH);
    return 0;
}

int dmp_dns_cookie_secret_derive(const uint8_t master[32], uint64_t epoch,
                                 uint8_t out[DMP_DNS_COOKIE_SECRET_LEN])
{
    if (!master || !out)
        return DMP_EINVAL;
    uint8_t msg[8 + 16] = "dmp cookie v1";
    uint8_t e[8];
    for (int i = 0; i < 8; i++)
        e[i] = (uint8_t)(epoch >> (56 - 8 * i));
    memcpy(msg + 16, e, 8);
    /* keyed BLAKE2b: one secret per epoch, unlinkable without the master key */
    if (crypto_generichash(out, DMP_DNS_COOKIE_SECRET_LEN, msg, sizeof(msg), master, 32) != 0)
        return DMP_ECRYPTO;
    return 0;
}

int dmp_dns_cookie_secret_at(const uint8_t master[32], uint64_t now_s, uint64_t rotate_s,
                             dmp_dns_cookie_secret_t *out)
{
    if (!master || !out || rotate_s == 0)
        return DMP_EINVAL;
    uint64_t epoch = now_s / rotate_s;
    int rc = dmp_dns_cookie_secret_derive(master, epoch, out->cur);
    if (rc == 0)
        rc = dmp_dns_cookie_secret_derive(master, epoch - 1, out->prev);
    out->has_prev = rc == 0;
    return rc;
}
