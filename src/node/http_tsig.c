/* node: POST /v1/registration/tsig-confirm (node.md §3.4, §5.3, §5.4): the registration
 * ceremony of confirm plus an optional X25519 proof of possession, answered with a TSIG key for
 * DNS UPDATE (minted in the keystore, src/node/tsig_keys.c). Same gate, limiter and body
 * handling as confirm (http_reg.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/crypto.h"
#include "node/http_int.h"
#include "node/tsig_keys.h"

/* truthy4 read at mint time, as the reference reads DMP_TSIG_*_SCOPE (node.md §1.6) */
static bool env_on(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcasecmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
                 !strcasecmp(v, "on"));
}

/* Headers: registration gate (404), then "tsig registration disabled" (404, before the rate
 * limit, as the reference), then the limiter (429) and the announced length (413). */
enum MHD_Result dmp_node_http_begin_tsig_reg(dmp_node_rq_t *r)
{
    if (!dmp_node_http_reg_gate(r))
        return dmp_node_http_send_err(r, 404, "not found");
    if (!r->h->env.tsig_enabled)
        return dmp_node_http_send_err(r, 404, "tsig registration disabled");
    return dmp_node_http_begin_reg(r);
}

/* An optional 32-byte hex field: 0 = absent or empty (*present false), 1 = ok, -1 = bad (msg). */
static int opt_hex32(json_t *body, const char *field, uint8_t out[32], bool *present, char *msg,
                     size_t cap)
{
    *present = false;
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, cap, "%s: not valid hex", field);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0)
        return 0;
    bool hex = n % 2 == 0;
    for (size_t i = 0; hex && i < n; i++)
        hex = dmp_hex_digit(s[i]) >= 0;
    if (!hex) {
        snprintf(msg, cap, "%s: not valid hex", field);
        return -1;
    }
    if (n != 64) {
        snprintf(msg, cap, "%s: expected 32 bytes, got %zu", field, n / 2);
        return -1;
    }
    dmp_hex_decode(s, 64, out, 32);
    *present = true;
    return 1;
}

enum MHD_Result dmp_node_http_body_tsig_confirm(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    dmp_node_reg_req_t q;
    dmp_node_reg_err_t e;
    char remote[64];
    dmp_node_http_remote(r, remote, sizeof(remote));
    int rc = dmp_node_reg_parse(r->body.data, r->body.len, &q, &e);
    if (rc == 0)
        rc = dmp_node_reg_verify(h->reg, &q, &e); /* consumes the challenge; 401 / 403 */
    if (rc != 0) {
        dmp_node_reg_req_free(&q);
        return dmp_node_http_send_err(r, (unsigned)e.status, e.msg);
    }
    char msg[160];
    uint8_t xpub[32], pop[32];
    bool has_pub = false, has_pop = false;
    if (opt_hex32(q.body, "x25519_pub", xpub, &has_pub, msg, sizeof(msg)) < 0 ||
        opt_hex32(q.body, "x25519_pop", pop, &has_pop, msg, sizeof(msg)) < 0) {
        dmp_node_reg_req_free(&q);
        return dmp_node_http_send_err(r, 400, msg);
    }
    /* a key without a proof is ignored (no mb- suffix), as the reference */
    if (has_pub && !has_pop)
        has_pub = false;
    if (has_pub && dmp_crypto_x25519_pop_verify(q.server_eph_sk, xpub, q.challenge, q.subject,
                                                strlen(q.subject), pop) != 0) {
        dmp_node_reg_req_free(&q);
        return dmp_node_http_send_err(r, 401,
                                      "x25519_pop verification failed: registrant did not prove "
                                      "possession of the claimed X25519 key");
    }
    const dmp_node_config_t *cfg = h->env.cfg;
    const char *zone =
        cfg->served_zone && cfg->served_zone[0] ? cfg->served_zone : cfg->node_hostname;
    char zbuf[256];
    snprintf(zbuf, sizeof(zbuf), "%s", zone ? zone : "");
    for (char *p = zbuf; *p; p++)
        *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p | 0x20) : *p;
    size_t zl = strlen(zbuf);
    while (zl && zbuf[zl - 1] == '.')
        zbuf[--zl] = '\0';
    if (!zl) {
        dmp_node_reg_req_free(&q);
        return dmp_node_http_send_err(r, 500, "could not derive TSIG scope from subject + zone");
    }
    dmp_node_tsig_mint_opts_t mo = {.zone = zbuf,
                                    .ttl_s = cfg->reg_token_ttl_s,
                                    .loose = env_on("DMP_TSIG_LOOSE_SCOPE"),
                                    .tight = env_on("DMP_TSIG_TIGHT_SCOPE")};
    dmp_node_tsig_rec_t rec;
    int64_t now = h->env.now_ms() / 1000;
    rc = dmp_node_tsig_mint(h->env.store, q.subject, q.spk, has_pub ? xpub : NULL, &mo, now, &rec);
    enum MHD_Result res;
    if (rc == DMP_ETOOBIG) {
        res = dmp_node_http_send_err(
            r, 400, "subject local part too long for TSIG key label (max 47 chars)");
    } else if (rc == DMP_EEXIST) {
        res = dmp_node_http_send_err(r, 409,
                                     "subject already has a live token; re-registration must be "
                                     "signed with the previously-registered Ed25519 key");
    } else if (rc != 0) {
        dmp_error("registration tsig-confirm 500: route=/v1/registration/tsig-confirm remote=%s",
                  remote[0] ? remote : "-");
        res = dmp_node_http_send_err(r, 500, "internal error");
    } else {
        char name[260], sec[2 * DMP_TSIG_MAX_SECRET + 1];
        snprintf(name, sizeof(name), "%s.", rec.key.name);
        dmp_hex_encode(rec.key.secret, rec.key.secret_len, sec, sizeof(sec));
        json_t *suf = json_array();
        for (size_t i = 0; i < rec.n_suffixes; i++)
            json_array_append_new(suf, json_string(rec.suffixes[i]));
        char *out = dmp_node_http_dumps(
            json_pack("{s:s,s:s,s:s,s:o,s:s,s:s,s:I}", "tsig_key_name", name, "tsig_secret_hex",
                      sec, "tsig_algorithm", "hmac-sha256", "allowed_suffixes", suf, "subject",
                      q.subject, "zone", zbuf, "expires_at", (json_int_t)rec.expires_at));
        sodium_memzero(sec, sizeof(sec));
        dmp_info("registration: TSIG key %s minted for %s (remote %s)", name, q.subject, remote);
        res = dmp_node_http_send_json(r, 200, out);
    }
    dmp_node_tsig_rec_wipe(&rec);
    dmp_node_reg_req_free(&q);
    return res;
}
