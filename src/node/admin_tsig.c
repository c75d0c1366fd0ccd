/* node: the operator's TSIG key commands ("tsig.list", "tsig.add", "tsig.revoke") of
 * dmp_node_admin_run, so dnsmesh-admin runs the same code on a stopped node's store and through
 * a running node's POST /v1/admin. Secrets leave only in the answer to tsig.add. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "dns/dns.h"
#include "node/tsig_keys.h"
#include "util/util.h"

static int tfail(char *err, size_t cap, int code, const char *msg, const char *arg)
{
    snprintf(err, cap, msg, arg ? arg : "");
    return code;
}

json_t *dmp_node_tsig_rec_json(const dmp_node_tsig_rec_t *r, int64_t now_s)
{
    json_t *suf = json_array();
    for (size_t i = 0; i < r->n_suffixes; i++)
        json_array_append_new(suf, json_string(r->suffixes[i]));
    return json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:b, s:s, s:s}", "name", r->key.name,
                     "algorithm", dmp_tsig_alg_name(r->key.alg), "allowed_suffixes", suf, "subject",
                     r->subject, "created_at", (json_int_t)r->created_at, "expires_at",
                     (json_int_t)r->expires_at, "revoked", r->revoked, "active",
                     dmp_node_tsig_active(r, now_s), "registered_spk", r->spk_hex,
                     "registered_x25519_pub", r->x25519_hex);
}

typedef struct {
    json_t *arr;
    bool include_revoked;
    int64_t now;
} list_ctx_t;

static int list_visit(void *ctx, const dmp_node_tsig_rec_t *r)
{
    list_ctx_t *l = ctx;
    if (!r->revoked || l->include_revoked)
        json_array_append_new(l->arr, dmp_node_tsig_rec_json(r, l->now));
    return 0;
}

/* lowercase, surrounding dots removed; false when empty or too long */
static bool norm(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), i = 0;
    while (n && in[n - 1] == '.')
        n--;
    while (i < n && in[i] == '.')
        i++;
    if (n - i == 0 || n - i >= cap)
        return false;
    for (size_t k = i; k < n; k++)
        out[k - i] = (in[k] >= 'A' && in[k] <= 'Z') ? (char)(in[k] | 0x20) : in[k];
    out[n - i] = '\0';
    return true;
}

static int op_add(dmp_store_t *s, json_t *args, int64_t now, json_t **res, char *err, size_t cap)
{
    dmp_node_tsig_rec_t r;
    memset(&r, 0, sizeof(r));
    const char *name = json_string_value(json_object_get(args, "name"));
    uint8_t w[255];
    size_t wl;
    if (!name || !norm(name, r.key.name, sizeof(r.key.name)) ||
        dmp_dns_name_from_text(r.key.name, strlen(r.key.name), w, sizeof(w), &wl) != 0)
        return tfail(err, cap, 2, "tsig add: '%s' is not a DNS name", name);
    json_t *alg = json_object_get(args, "algorithm");
    const char *as = json_is_string(alg) ? json_string_value(alg) : "hmac-sha256";
    if (dmp_tsig_alg_parse(as, strlen(as), &r.key.alg) != 0)
        return tfail(err, cap, 2, "--algorithm: unknown '%s'", as);
    json_t *sc = json_object_get(args, "scopes");
    if (!json_is_array(sc) || json_array_size(sc) == 0)
        return tfail(err, cap, 2,
                     "tsig add: give at least one --scope SUFFIX (e.g. the zone, or "
                     "id-<hash>.<zone>)%s",
                     NULL);
    if (json_array_size(sc) > DMP_NODE_TSIG_MAX_SUFFIXES)
        return tfail(err, cap, 2, "tsig add: at most 16 --scope%s", NULL);
    for (size_t i = 0; i < json_array_size(sc); i++) {
        const char *v = json_string_value(json_array_get(sc, i));
        if (!v || !norm(v, r.suffixes[r.n_suffixes], sizeof(r.suffixes[0])))
            return tfail(err, cap, 2, "--scope '%s': not a name suffix", v);
        r.n_suffixes++;
    }
    const char *sb = json_string_value(json_object_get(args, "secret_b64"));
    if (sb) {
        dmp_buf_t b;
        dmp_buf_init(&b);
        if (dmp_b64_decode(sb, strlen(sb), DMP_B64_STRICT, &b) != 0 || b.len == 0 ||
            b.len > DMP_TSIG_MAX_SECRET) {
            dmp_buf_free_secret(&b);
            return tfail(err, cap, 2, "--secret-b64: not 1..256 bytes of base64%s", NULL);
        }
        memcpy(r.key.secret, b.data, b.len);
        r.key.secret_len = b.len;
        dmp_buf_free_secret(&b);
    } else {
        r.key.secret_len = 32;
        dmp_node_tsig_random_secret(r.key.secret, 32);
    }
    const char *subj = json_string_value(json_object_get(args, "subject"));
    snprintf(r.subject, sizeof(r.subject), "%s", subj ? subj : "");
    json_int_t exp = json_integer_value(json_object_get(args, "expires_in"));
    r.created_at = now;
    r.expires_at = exp > 0 ? now + exp : 0;
    int rc = dmp_node_tsig_put(s, &r);
    if (rc != 0) {
        dmp_node_tsig_rec_wipe(&r);
        return tfail(err, cap, 1, "tsig add: %s", dmp_strerror(rc));
    }
    char b64[2 * DMP_TSIG_MAX_SECRET], line[1024];
    dmp_b64_encode(r.key.secret, r.key.secret_len, b64, sizeof(b64));
    /* nsupdate/knsupdate spell hmac-md5 without its ".sig-alg.reg.int" */
    snprintf(line, sizeof(line), "%s:%s:%s",
             r.key.alg == DMP_TSIG_HMAC_MD5 ? "hmac-md5" : dmp_tsig_alg_name(r.key.alg), r.key.name,
             b64);
    json_t *o = dmp_node_tsig_rec_json(&r, now);
    json_object_set_new(o, "secret_b64", json_string(b64));
    json_object_set_new(o, "nsupdate_key", json_string(line));
    sodium_memzero(b64, sizeof(b64));
    sodium_memzero(line, sizeof(line));
    dmp_node_tsig_rec_wipe(&r);
    *res = o;
    return 0;
}

int dmp_node_admin_tsig(dmp_store_t *s, int64_t now_s, const char *op, json_t *args,
                        json_t **result, char *err, size_t cap)
{
    *result = NULL;
    if (strcmp(op, "tsig.list") == 0) {
        list_ctx_t l = {json_array(), json_is_true(json_object_get(args, "include_revoked")),
                        now_s};
        int rc = dmp_node_tsig_list(s, list_visit, &l);
        if (rc != 0) {
            json_decref(l.arr);
            return tfail(err, cap, 1, "tsig list: %s", dmp_strerror(rc));
        }
        *result = l.arr;
        return 0;
    }
    if (strcmp(op, "tsig.add") == 0)
        return op_add(s, args, now_s, result, err, cap);
    if (strcmp(op, "tsig.revoke") == 0) {
        const char *name = json_string_value(json_object_get(args, "name"));
        if (!name)
            return tfail(err, cap, 2, "tsig revoke needs a NAME%s", NULL);
        int rc = dmp_node_tsig_revoke(s, name);
        if (rc == DMP_ENOTFOUND)
            return tfail(err, cap, 1, "no TSIG key named '%s'", name);
        if (rc != 0)
            return tfail(err, cap, 1, "tsig revoke: %s", dmp_strerror(rc));
        *result = json_pack("{s:s}", "revoked", name);
        return 0;
    }
    return tfail(err, cap, 2, "unknown command '%s'", op);
}
