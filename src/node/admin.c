/* node: operator commands over the token store and the record store, as JSON in and out. The
 * same code answers dnsmesh-admin on a stopped node's store and POST /v1/admin on a running
 * node, so both give the same results. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node/node.h"
#include "node/tsig_keys.h"

static int fail(char *err, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t cap, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return code;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *int_or_null(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

static json_t *token_json(const dmp_node_token_t *r, int64_t now_s)
{
    return json_pack("{s:s,s:s,s:i,s:o,s:f,s:I,s:I,s:o,s:o,s:s,s:s,s:o,s:b}", "token_hash",
                     r->token_hash, "subject", r->subject, "subject_type", r->subject_type,
                     "subject_hash12", str_or_null(r->subject_hash12), "rate_per_sec",
                     r->rate_per_sec, "rate_burst", (json_int_t)r->rate_burst, "issued_at",
                     (json_int_t)r->issued_at, "expires_at", int_or_null(r->expires_at),
                     "revoked_at", int_or_null(r->revoked_at), "issuer", r->issuer, "note", r->note,
                     "registered_spk", str_or_null(r->registered_spk), "live",
                     dmp_node_token_live(r, now_s));
}

static const char *arg_str(json_t *args, const char *k)
{
    json_t *v = json_object_get(args, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int issue_opts(json_t *args, dmp_node_issue_t *o, char h12[13], char *err, size_t cap)
{
    memset(o, 0, sizeof(*o));
    o->rate_per_sec = 10.0;
    o->rate_burst = 50;
    json_t *v;
    if ((v = json_object_get(args, "rate")) && !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) < 0)
            return fail(err, cap, 2, "--rate: expected a number >= 0");
        o->rate_per_sec = json_number_value(v);
    }
    if ((v = json_object_get(args, "burst")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return fail(err, cap, 2, "--burst: expected an integer >= 0");
        o->rate_burst = json_integer_value(v);
    }
    if ((v = json_object_get(args, "expires_in")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return fail(err, cap, 2, "--expires: expected a duration");
        o->expires_in_s = json_integer_value(v);
    }
    o->note = arg_str(args, "note");
    const char *px = arg_str(args, "prekey_x25519");
    if (px) {
        uint8_t pk[32];
        size_t n = strlen(px);
        bool hex = n % 2 == 0;
        for (size_t i = 0; hex && i < n; i++)
            hex = dmp_hex_digit(px[i]) >= 0;
        if (!hex)
            return fail(err, cap, 2,
                        "--with-prekey-scope: value must be hex (32 bytes / 64 chars)");
        if (n != 64)
            return fail(err, cap, 2,
                        "--with-prekey-scope: expected 32-byte x25519 pubkey, got %zu bytes",
                        n / 2);
        dmp_hex_decode(px, 64, pk, 32);
        char full[65];
        dmp_node_sha256_hex(pk, 32, full);
        memcpy(h12, full, 12);
        h12[12] = 0;
        o->subject_hash12 = h12;
    }
    return 0;
}

static json_t *issued_json(const char *token, const dmp_node_token_t *row)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:f,s:I,s:s,s:s}", "token", token, "subject", row->subject,
                     "subject_hash12", str_or_null(row->subject_hash12), "expires_at",
                     int_or_null(row->expires_at), "rate_per_sec", row->rate_per_sec, "rate_burst",
                     (json_int_t)row->rate_burst, "note", row->note, "token_hash", row->token_hash);
}

static int op_issue(const dmp_node_admin_env_t *env, json_t *args, json_t **res, char *err,
                    size_t cap, bool rotate)
{
    const char *subject = arg_str(args, "subject");
    if (!subject || !*subject)
        return fail(err, cap, 2, "a subject is required (e.g. alice@example.com)");
    char canon[256], detail[700];
    if (dmp_node_subject_canonical(subject, strlen(subject), canon, sizeof(canon), detail,
                                   sizeof(detail)) != 0)
        return fail(err, cap, 2, "subject invalid: %s", detail);
    dmp_node_issue_t o;
    char h12[13];
    int rc = issue_opts(args, &o, h12, err, cap);
    if (rc)
        return rc;
    char issuer[160];
    snprintf(issuer, sizeof(issuer), "%s%s", env->actor ? env->actor : "admin:unknown",
             rotate ? ":rotate" : "");
    o.issuer = issuer;
    o.remote = env->remote;
    size_t revoked = 0;
    if (rotate) {
        o.note = "rotation";
        o.subject_hash12 = NULL;
        rc = dmp_node_tokens_revoke_subject(env->tokens, canon, env->remote, &revoked);
        if (rc != 0)
            return fail(err, cap, 1, "revoke failed: %s", dmp_strerror(rc));
    }
    char token[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_t row;
    rc = dmp_node_tokens_issue(env->tokens, canon, &o, token, &row);
    if (rc != 0)
        return fail(err, cap, 1, "issue failed: %s", dmp_strerror(rc));
    *res = issued_json(token, &row);
    if (rotate)
        json_object_set_new(*res, "revoked", json_integer((json_int_t)revoked));
    sodium_memzero(token, sizeof(token));
    return 0;
}

typedef struct {
    json_t *arr;
    const char *subject; /* canonical or NULL */
    bool include_revoked;
    int64_t now;
} list_t;

static int list_visit(void *ctx, const dmp_node_token_t *r)
{
    list_t *l = ctx;
    if (!l->include_revoked && r->revoked_at)
        return 0;
    if (l->subject && strcmp(l->subject, r->subject) != 0)
        return 0;
    json_array_append_new(l->arr, token_json(r, l->now));
    return 0;
}

static int by_issued_desc(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t ix = json_integer_value(json_object_get(x, "issued_at"));
    json_int_t iy = json_integer_value(json_object_get(y, "issued_at"));
    if (ix != iy)
        return ix > iy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "token_hash")),
                  json_string_value(json_object_get(y, "token_hash")));
}

static int op_list(const dmp_node_admin_env_t *env, json_t *args, json_t **res, char *err,
                   size_t cap)
{
    list_t l = {.arr = json_array(),
                .include_revoked = json_is_true(json_object_get(args, "include_revoked")),
                .now = env->now_ms() / 1000};
    char canon[256], detail[700];
    const char *subject = arg_str(args, "subject");
    bool match_none = false;
    if (subject && *subject) {
        if (dmp_node_subject_canonical(subject, strlen(subject), canon, sizeof(canon), detail,
                                       sizeof(detail)) == 0)
            l.subject = canon;
        else
            match_none = true; /* an invalid subject filter matches nothing, as the reference */
    }
    int rc = match_none ? 0 : dmp_node_tokens_scan(env->tokens, list_visit, &l);
    if (rc != 0) {
        json_decref(l.arr);
        return fail(err, cap, 1, "cannot read the token store: %s", dmp_strerror(rc));
    }
    size_t n = json_array_size(l.arr);
    json_t **items = malloc((n ? n : 1) * sizeof(*items));
    for (size_t i = 0; items && i < n; i++)
        items[i] = json_incref(json_array_get(l.arr, i));
    if (items)
        qsort(items, n, sizeof(*items), by_issued_desc);
    json_t *sorted = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(sorted, items[i]);
    free(items);
    json_decref(l.arr);
    *res = sorted;
    return 0;
}

static int op_revoke(const dmp_node_admin_env_t *env, json_t *args, json_t **res, char *err,
                     size_t cap)
{
    const char *target = arg_str(args, "target");
    if (!target || !*target)
        return fail(err, cap, 2, "a subject or token-hash prefix is required");
    size_t count = 0;
    dmp_node_token_t which;
    int rc = dmp_node_tokens_revoke_target(env->tokens, target, env->remote, &count, &which);
    if (rc == DMP_ENOTFOUND)
        return fail(err, cap, 1, "no live token found for subject or hash-prefix '%s'", target);
    if (rc == DMP_EDUP)
        return fail(err, cap, 2,
                    "hash prefix '%s' is ambiguous: it matches %zu tokens; use a longer prefix "
                    "or the exact subject",
                    target, count);
    if (rc != 0)
        return fail(err, cap, 1, "revoke failed: %s", dmp_strerror(rc));
    if (which.token_hash[0])
        *res = json_pack("{s:I,s:s,s:s,s:s}", "revoked", (json_int_t)count, "by", "hash-prefix",
                         "token_hash", which.token_hash, "subject", which.subject);
    else
        *res = json_pack("{s:I,s:s,s:s}", "revoked", (json_int_t)count, "by", "subject", "subject",
                         target);
    return 0;
}

static int op_audit(const dmp_node_admin_env_t *env, json_t *args, json_t **res, char *err,
                    size_t cap)
{
    json_int_t limit = 50;
    json_t *v = json_object_get(args, "limit");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100000)
            return fail(err, cap, 2, "--limit: expected an integer 1..100000");
        limit = json_integer_value(v);
    }
    dmp_node_audit_t *rows = calloc((size_t)limit, sizeof(*rows));
    if (!rows)
        return fail(err, cap, 1, "out of memory");
    size_t n = 0;
    dmp_node_tokens_flush(env->tokens);
    int rc =
        dmp_node_tokens_audit_tail(env->tokens, arg_str(args, "event"), (size_t)limit, rows, &n);
    if (rc != 0) {
        free(rows);
        return fail(err, cap, 1, "cannot read the audit log: %s", dmp_strerror(rc));
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I,s:s,s:o,s:o,s:o,s:o}", "ts",
                                             (json_int_t)rows[i].ts, "event", rows[i].event,
                                             "token_hash", str_or_null(rows[i].token_hash),
                                             "subject", str_or_null(rows[i].subject), "remote_addr",
                                             str_or_null(rows[i].remote_addr), "detail",
                                             str_or_null(rows[i].detail)));
    free(rows);
    *res = arr;
    return 0;
}

static int op_registration(const dmp_node_admin_env_t *env, json_t **res, char *err, size_t cap)
{
    const dmp_node_config_t *c = env->cfg;
    if (!c)
        return fail(err, cap, 1, "no node configuration available");
    json_t *allow = json_array();
    for (size_t i = 0; i < c->reg_allowlist_n; i++)
        json_array_append_new(allow, json_string(c->reg_allowlist[i]));
    const char *mode = c->auth_mode == DMP_NODE_AUTH_MULTI_TENANT ? "multi-tenant"
                       : c->auth_mode == DMP_NODE_AUTH_LEGACY     ? "legacy"
                                                                  : "open";
    bool open = c->registration_enabled && c->auth_mode == DMP_NODE_AUTH_MULTI_TENANT &&
                c->node_hostname && c->node_hostname[0];
    *res = json_pack("{s:b,s:b,s:s,s:o,s:o,s:o,s:I,s:f,s:I,s:f,s:f}", "enabled",
                     c->registration_enabled, "open", open, "auth_mode", mode, "node_hostname",
                     str_or_null(c->node_hostname), "served_zone", str_or_null(c->served_zone),
                     "allowlist", allow, "token_ttl_seconds", (json_int_t)c->reg_token_ttl_s,
                     "issued_rate_per_sec", c->reg_issued_rate, "issued_rate_burst",
                     (json_int_t)c->reg_issued_burst, "endpoint_rate_per_sec", c->reg_endpoint_rate,
                     "endpoint_rate_burst", c->reg_endpoint_burst);
    if (!open) {
        const char *why = !c->registration_enabled ? "DMP_REGISTRATION_ENABLED is off"
                          : c->auth_mode != DMP_NODE_AUTH_MULTI_TENANT
                              ? "DMP_AUTH_MODE is not multi-tenant"
                              : "DMP_NODE_HOSTNAME is not set";
        json_object_set_new(*res, "closed_because", json_string(why));
    }
    return 0;
}

typedef struct {
    json_t *arr;
} recs_t;

static int rec_visit(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    (void)name;
    (void)nl;
    recs_t *rc = ctx;
    json_t *v = json_stringn((const char *)r->value, r->value_len);
    if (!v)
        v = json_string("(not UTF-8)");
    json_array_append_new(
        rc->arr, json_pack("{s:o,s:I,s:I,s:I}", "value", v, "ttl", (json_int_t)r->ttl, "stored_ms",
                           (json_int_t)r->stored_ms, "expires_ms", (json_int_t)r->expires_ms));
    return 0;
}

static int op_records(const dmp_node_admin_env_t *env, json_t *args, json_t **res, char *err,
                      size_t cap)
{
    const char *name = arg_str(args, "name");
    if (!name || !*name)
        return fail(err, cap, 2, "a record name is required");
    size_t nl = strlen(name);
    while (nl && name[nl - 1] == '.')
        nl--;
    recs_t r = {json_array()};
    int rc = dmp_store_get(env->store, name, nl, env->now_ms(), rec_visit, &r);
    if (rc != 0 && rc != DMP_ENOTFOUND && rc != DMP_ENAME) {
        json_decref(r.arr);
        return fail(err, cap, 1, "cannot read the store: %s", dmp_store_strerror(rc));
    }
    dmp_node_scope_t sc;
    dmp_node_classify_name(name, nl, &sc);
    static const char *const kinds[] = {"unknown", "owner-exclusive", "shared-pool",
                                        "operator-only"};
    *res = json_pack("{s:s#,s:o,s:s}", "name", name, (int)nl, "values", r.arr, "scope",
                     kinds[sc.kind]);
    if (sc.kind == DMP_NODE_SCOPE_OWNER)
        json_object_set_new(*res, "owner", json_string(sc.subject));
    return 0;
}

int dmp_node_admin_run(const dmp_node_admin_env_t *env, const char *op, json_t *args,
                       json_t **result, char *err, size_t errcap)
{
    *result = NULL;
    if (err && errcap)
        err[0] = 0;
    if (!op)
        return fail(err, errcap, 2, "no command");
    if (args && !json_is_object(args))
        return fail(err, errcap, 2, "arguments must be a JSON object");
    json_t *empty = NULL;
    if (!args)
        args = empty = json_object();
    int rc;
    bool needs_tokens = strncmp(op, "token.", 6) == 0 || strcmp(op, "audit.tail") == 0;
    if (needs_tokens && !env->tokens)
        rc = fail(err, errcap, 1, "the token store is not available");
    else if (strcmp(op, "token.issue") == 0)
        rc = op_issue(env, args, result, err, errcap, false);
    else if (strcmp(op, "token.rotate") == 0)
        rc = op_issue(env, args, result, err, errcap, true);
    else if (strcmp(op, "token.list") == 0)
        rc = op_list(env, args, result, err, errcap);
    else if (strcmp(op, "token.revoke") == 0)
        rc = op_revoke(env, args, result, err, errcap);
    else if (strcmp(op, "audit.tail") == 0)
        rc = op_audit(env, args, result, err, errcap);
    else if (strcmp(op, "registration.show") == 0)
        rc = op_registration(env, result, err, errcap);
    else if (strcmp(op, "records") == 0)
        rc = op_records(env, args, result, err, errcap);
    else if (strncmp(op, "tsig.", 5) == 0) /* admin_tsig.c */
        rc = dmp_node_admin_tsig(env->store, env->now_ms() / 1000, op, args, result, err, errcap);
    else
        rc = fail(err, errcap, 2, "unknown command '%s'", op);
    json_decref(empty);
    if (rc == 0 && !*result)
        rc = fail(err, errcap, 1, "out of memory");
    return rc;
}
