/* node: self-service registration (node.md §1.7, §3.4, §5.3): the in-memory challenge store
 * and the Ed25519 challenge/confirm ceremony, in the reference's check order. HTTP-agnostic:
 * http_reg.c maps the results; tsig-confirm reuses parse + verify. */
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "node/node.h"

#define CHALLENGE_TTL_S 60
#define MAX_PENDING 10000

typedef struct {
    char hex[65];
    int64_t expires_at;
    uint8_t eph_sk[32];
    uint8_t eph_pk[32];
} pending_t;

struct dmp_node_reg {
    const dmp_node_config_t *cfg;
    dmp_node_tokens_t *tokens;
    int64_t (*now_s)(void);
    pthread_mutex_t mu;
    pending_t *p; /* unordered */
    size_t n;
};

static int64_t real_now_s(void)
{
    return (int64_t)time(NULL);
}

bool dmp_node_reg_enabled(const dmp_node_config_t *cfg, const dmp_node_tokens_t *tokens)
{
    return cfg->registration_enabled && cfg->auth_mode == DMP_NODE_AUTH_MULTI_TENANT && tokens &&
           cfg->node_hostname && cfg->node_hostname[0];
}

int dmp_node_reg_new(const dmp_node_config_t *cfg, dmp_node_tokens_t *tokens,
                     int64_t (*now_s)(void), dmp_node_reg_t **out)
{
    *out = NULL;
    dmp_node_reg_t *r = calloc(1, sizeof(*r));
    if (!r)
        return DMP_ENOMEM;
    r->p = calloc(MAX_PENDING + 1, sizeof(pending_t));
    if (!r->p) {
        free(r);
        return DMP_ENOMEM;
    }
    r->cfg = cfg;
    r->tokens = tokens;
    r->now_s = now_s ? now_s : real_now_s;
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return 0;
}

void dmp_node_reg_free(dmp_node_reg_t *r)
{
    if (!r)
        return;
    sodium_memzero(r->p, (MAX_PENDING + 1) * sizeof(pending_t));
    free(r->p);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void drop(dmp_node_reg_t *r, size_t i)
{
    r->p[i] = r->p[r->n - 1];
    sodium_memzero(&r->p[r->n - 1], sizeof(pending_t));
    r->n--;
}

/* Expired challenges go; above the cap the earliest-expiring go first. */
static void cleanup(dmp_node_reg_t *r, int64_t now)
{
    for (size_t i = 0; i < r->n;) {
        if (r->p[i].expires_at <= now)
            drop(r, i);
        else
            i++;
    }
    while (r->n > MAX_PENDING) {
        size_t m = 0;
        for (size_t i = 1; i < r->n; i++)
            if (r->p[i].expires_at < r->p[m].expires_at)
                m = i;
        drop(r, m);
    }
}

size_t dmp_node_reg_pending(dmp_node_reg_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int dmp_node_reg_challenge(dmp_node_reg_t *r, dmp_node_challenge_t *out)
{
    memset(out, 0, sizeof(*out));
    pending_t pc;
    uint8_t raw[32];
    randombytes_buf(raw, sizeof(raw));
    dmp_hex_encode(raw, 32, pc.hex, sizeof(pc.hex));
    if (dmp_crypto_x25519_keypair(pc.eph_sk, pc.eph_pk) != 0)
        return DMP_ECRYPTO;
    pthread_mutex_lock(&r->mu);
    int64_t now = r->now_s();
    pc.expires_at = now + CHALLENGE_TTL_S;
    r->p[r->n++] = pc; /* room: n <= MAX_PENDING before, array holds MAX_PENDING + 1 */
    cleanup(r, now);
    pthread_mutex_unlock(&r->mu);
    memcpy(out->challenge_hex, pc.hex, sizeof(pc.hex));
    out->expires_at = pc.expires_at;
    dmp_hex_encode(pc.eph_pk, 32, out->server_x25519_pub_hex, sizeof(out->server_x25519_pub_hex));
    snprintf(out->node, sizeof(out->node), "%s", r->cfg->node_hostname);
    sodium_memzero(&pc, sizeof(pc));
    return 0;
}

/* Pops the challenge keyed by the hex text exactly as given (the reference's dict lookup):
 * single use, even when it turns out to be expired. */
static int consume(dmp_node_reg_t *r, const char *hex, size_t len, uint8_t eph_sk[32])
{
    pthread_mutex_lock(&r->mu);
    int64_t now = r->now_s();
    int rc = DMP_ENOTFOUND;
    for (size_t i = 0; len == 64 && i < r->n; i++) {
        if (memcmp(r->p[i].hex, hex, 64) == 0) {
            if (r->p[i].expires_at > now) {
                memcpy(eph_sk, r->p[i].eph_sk, 32);
                rc = 0;
            }
            drop(r, i);
            break;
        }
    }
    cleanup(r, now);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static int fail(dmp_node_reg_err_t *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(dmp_node_reg_err_t *e, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    e->status = status;
    return status;
}

/* binascii.unhexlify + the length check of the reference's _parse_hex. */
static int parse_hex(const char *s, size_t n, uint8_t *out, size_t want, const char *field,
                     dmp_node_reg_err_t *e)
{
    if (n % 2)
        return fail(e, 400, "%s: not valid hex", field);
    for (size_t i = 0; i < n; i++)
        if (dmp_hex_digit(s[i]) < 0)
            return fail(e, 400, "%s: not valid hex", field);
    if (n / 2 != want)
        return fail(e, 400, "%s: expected %zu bytes, got %zu", field, want, n / 2);
    dmp_hex_decode(s, n, out, want);
    return 0;
}

void dmp_node_reg_req_free(dmp_node_reg_req_t *q)
{
    json_decref(q->body);
    sodium_memzero(q, sizeof(*q));
}

int dmp_node_reg_parse(const uint8_t *buf, size_t len, dmp_node_reg_req_t *q, dmp_node_reg_err_t *e)
{
    memset(q, 0, sizeof(*q));
    memset(e, 0, sizeof(*e));
    json_error_t je;
    json_t *o = len ? json_loadb((const char *)buf, len, 0, &je) : json_object();
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(e, 400, "invalid body");
    }
    q->body = o;
    static const char *const fields[4] = {"subject", "ed25519_spk", "challenge", "signature"};
    const char *v[4];
    size_t vl[4];
    for (int i = 0; i < 4; i++) {
        json_t *f = json_object_get(o, fields[i]);
        if (!json_is_string(f) || json_string_length(f) == 0)
            return fail(e, 400, "missing or non-string field: %s", fields[i]);
        v[i] = json_string_value(f);
        vl[i] = json_string_length(f);
    }
    char detail[700];
    if (dmp_node_subject_canonical(v[0], vl[0], q->subject, sizeof(q->subject), detail,
                                   sizeof(detail)) != 0)
        return fail(e, 400, "subject invalid: %s", detail);
    if (parse_hex(v[1], vl[1], q->spk, 32, "ed25519_spk", e) ||
        parse_hex(v[3], vl[3], q->sig, 64, "signature", e) ||
        parse_hex(v[2], vl[2], q->challenge, 32, "challenge", e))
        return e->status;
    dmp_hex_encode(q->spk, 32, q->spk_hex, sizeof(q->spk_hex));
    memcpy(q->challenge_text, v[2], 64);
    return 0;
}

static bool domain_allowed(const dmp_node_config_t *cfg, const char *subject)
{
    if (cfg->reg_allowlist_n == 0)
        return true;
    const char *at = strrchr(subject, '@');
    if (!at)
        return false;
    for (size_t i = 0; i < cfg->reg_allowlist_n; i++)
        if (strcmp(cfg->reg_allowlist[i], at + 1) == 0)
            return true;
    return false;
}

int dmp_node_reg_verify(dmp_node_reg_t *r, dmp_node_reg_req_t *q, dmp_node_reg_err_t *e)
{
    const dmp_node_config_t *cfg = r->cfg;
    if (!cfg->registration_enabled)
        return fail(e, 404, "self-service registration is disabled on this node");
    if (!cfg->node_hostname || !cfg->node_hostname[0])
        return fail(e, 500, "node misconfigured: DMP_NODE_HOSTNAME is required for registration");
    if (consume(r, q->challenge_text, 64, q->server_eph_sk) != 0)
        return fail(e, 400, "challenge expired or unknown");
    /* signature before allowlist and ownership: unsigned callers only ever see 400/401 */
    if (dmp_crypto_registration_verify(q->spk, q->challenge, q->subject, strlen(q->subject),
                                       cfg->node_hostname, strlen(cfg->node_hostname), q->sig) != 0)
        return fail(e, 401, "signature verification failed");
    if (!domain_allowed(cfg, q->subject))
        return fail(e, 403, "subject not in registration allowlist");
    return 0;
}

int dmp_node_reg_confirm(dmp_node_reg_t *r, dmp_node_reg_req_t *q, const char *remote,
                         char token[DMP_NODE_TOKEN_LEN + 1], dmp_node_token_t *row,
                         dmp_node_reg_err_t *e)
{
    int rc = dmp_node_reg_verify(r, q, e);
    if (rc)
        return rc;
    const dmp_node_config_t *cfg = r->cfg;
    dmp_node_issue_t o = {.rate_per_sec = cfg->reg_issued_rate,
                          .rate_burst = cfg->reg_issued_burst,
                          .expires_in_s = cfg->reg_token_ttl_s,
                          .remote = remote};
    rc = dmp_node_tokens_rotate_self_service(r->tokens, q->subject, q->spk_hex, &o, token, row);
    if (rc == DMP_EEXIST)
        return fail(e, 409,
                    "subject already has a live token; re-registration must be signed with the "
                    "previously-registered Ed25519 key");
    if (rc != 0)
        return fail(e, 500, "internal error");
    return 0;
}
