/* node: the record routes of the HTTP API: GET, POST and DELETE /v1/records/{name}, with the
 * reference's check order and messages (docs/node.md). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http_int.h"

typedef struct {
    json_t *arr;
} collect_t;

static int collect_value(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)name;
    (void)name_len;
    collect_t *cc = ctx;
    json_t *s = dmp_node_http_json_bytes(r->value, r->value_len);
    if (s)
        json_array_append_new(cc->arr, s);
    return 0;
}

enum MHD_Result dmp_node_http_get_record(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    int64_t now = h->env.now_ms();
    char name[512];
    size_t nlen = 0;
    int prc = dmp_node_record_path(r->url, strlen(r->url), name, sizeof(name), &nlen);
    if (prc == DMP_ENOTFOUND)
        return dmp_node_http_send_err(r, 404, "not found");
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    if (!dmp_node_http_operator_ok(r))
        return dmp_node_http_send_err(r, 401, "unauthorized");
    if (prc != 0)
        nlen = 0;
    collect_t cc = {json_array()};
    int rc =
        nlen ? dmp_store_get(h->env.store, name, nlen, now, collect_value, &cc) : DMP_ENOTFOUND;
    if (rc == DMP_ENAME || rc == DMP_ETOOBIG)
        rc = DMP_ENOTFOUND;
    if (rc != 0 && rc != DMP_ENOTFOUND) {
        json_decref(cc.arr);
        DMP_STAT_INC(h->env.st, store_errors);
        return dmp_node_http_send_err(r, 501, "reader not configured");
    }
    json_t *nm = json_stringn(name, nlen);
    if (!nm)
        nm = json_string("");
    unsigned status = json_array_size(cc.arr) ? 200 : 404;
    return dmp_node_http_send_json(
        r, status, dmp_node_http_dumps(json_pack("{s:o,s:o}", "name", nm, "values", cc.arr)));
}

unsigned dmp_node_http_write_auth(dmp_node_rq_t *r, const char *name, size_t name_len)
{
    return dmp_node_http_write_auth_n(r, name, name_len, 1);
}

unsigned dmp_node_http_write_auth_n(dmp_node_rq_t *r, const char *name, size_t name_len,
                                    unsigned cost)
{
    const dmp_node_config_t *cfg = r->h->env.cfg;
    if (cfg->auth_mode == DMP_NODE_AUTH_OPEN)
        return 0;
    if (cfg->operator_token && dmp_node_http_operator_ok(r))
        return 0;
    if (cfg->auth_mode != DMP_NODE_AUTH_MULTI_TENANT || !r->h->env.tokens)
        return 401;
    const char *a = dmp_node_http_auth_header(r);
    const char *tok = strncmp(a, "Bearer ", 7) == 0 ? a + 7 : "";
    char remote[64];
    dmp_node_http_remote(r, remote, sizeof(remote));
    dmp_node_authz_t v = dmp_node_tokens_authorize(r->h->env.tokens, tok, strlen(tok), name,
                                                   name_len, remote, r->is_delete, cost);
    DMP_STAT_INC(r->h->env.st, token_auth[v <= 2 ? v : 1]);
    switch (v) {
    case DMP_NODE_AUTHZ_OK:
        return 0;
    case DMP_NODE_AUTHZ_THROTTLED:
        return 429;
    default:
        return 401;
    }
}

enum MHD_Result dmp_node_http_begin_record(dmp_node_rq_t *r)
{
    size_t nlen = 0;
    int prc = dmp_node_record_path(r->url, strlen(r->url), r->name, sizeof(r->name), &nlen);
    if (prc == DMP_ENOTFOUND)
        return dmp_node_http_send_err(r, 404, "not found");
    r->name_len = prc == 0 ? nlen : 0;
    r->name_ok = prc == 0 && dmp_node_name_valid(r->name, nlen);
    if (prc != 0)
        r->name[0] = 0;
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    unsigned st = dmp_node_http_write_auth(r, r->name, r->name_len);
    if (st == 429)
        return dmp_node_http_send_err(r, 429, "per-token rate limit exceeded");
    if (st)
        return dmp_node_http_send_err(r, 401, "unauthorized");
    if (r->is_delete && !r->name_ok)
        return dmp_node_http_send_err(r, 400, "invalid record name");
    r->body_cap = dmp_node_http_records_body_max(r->h->env.cfg);
    if (!dmp_node_http_length_ok(r))
        return MHD_YES;
    r->stage = RQ_BODY;
    return MHD_YES;
}

static enum MHD_Result post_body(dmp_node_rq_t *r)
{
    const dmp_node_config_t *cfg = r->h->env.cfg;
    dmp_node_post_t p;
    char msg[160];
    int st = dmp_node_post_parse(cfg, r->body.data, r->body.len, &p, msg, sizeof(msg));
    if (st)
        return dmp_node_http_send_err(r, (unsigned)st, msg);
    /* a name that fails the rule holds no values, so the cap check (step 9) cannot fire for it
     * and checking the name here keeps the reference's order */
    if (!r->name_ok) {
        free(p.value);
        return dmp_node_http_send_err(r, 400, "invalid record name");
    }
    r->val = p.value;
    if (dmp_node_change_set(&r->ch, DMP_NODE_CH_PUT, r->name, r->name_len, r->val, p.value_len,
                            p.ttl) != 0)
        return dmp_node_http_send_err(r, 400, "invalid record name");
    /* the cap (step 9) runs on the owning shard; the value rule (step 11) after it there */
    r->txn = (dmp_node_txn_t){.changes = &r->ch,
                              .n = 1,
                              .cap = cfg->max_values_per_name,
                              .flags = DMP_NODE_TXN_CHECK_VALUES | DMP_NODE_TXN_CHECK_SIZE};
    return dmp_node_http_submit(r);
}

static enum MHD_Result delete_body(dmp_node_rq_t *r)
{
    char msg[160];
    size_t vlen = 0;
    int st = dmp_node_delete_parse(r->body.data, r->body.len, &r->val, &vlen, msg, sizeof(msg));
    if (st)
        return dmp_node_http_send_err(r, (unsigned)st, msg);
    if (dmp_node_change_set(&r->ch, r->val ? DMP_NODE_CH_DEL_VALUE : DMP_NODE_CH_DEL_ALL, r->name,
                            r->name_len, r->val, vlen, 0) != 0)
        return dmp_node_http_send_err(r, 400, "invalid record name");
    r->txn = (dmp_node_txn_t){.changes = &r->ch, .n = 1};
    return dmp_node_http_submit(r);
}

size_t dmp_node_http_records_body_max(const dmp_node_config_t *cfg)
{
    size_t worst = 6 * (size_t)cfg->max_value_bytes + 4096;
    return worst > cfg->http_max_body ? worst : cfg->http_max_body;
}

enum MHD_Result dmp_node_http_body_record(dmp_node_rq_t *r)
{
    return r->is_delete ? delete_body(r) : post_body(r);
}

static enum MHD_Result send_not_ok(dmp_node_rq_t *r, unsigned status, const char *msg)
{
    return dmp_node_http_send_json(
        r, status, dmp_node_http_dumps(json_pack("{s:b,s:s}", "ok", 0, "error", msg)));
}

bool dmp_node_http_store_failure(dmp_node_rq_t *r, int res, enum MHD_Result *ret)
{
    /* store failures say whether the write happened: 507 / 503 "not written" (nothing
     * changed), 503 "not durable" (applied and visible, but its WAL sync failed: retry) */
    if (res == DMP_STORE_ENOSPC)
        *ret = send_not_ok(r, 507, "no space left on the node's disk: not written");
    else if (res == DMP_NODE_ENOTDURABLE)
        *ret = send_not_ok(r, 503, "applied but not confirmed durable (WAL sync failed): retry");
    else
        return false;
    return true;
}

enum MHD_Result dmp_node_http_store_error(dmp_node_rq_t *r, const char *what)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "store error: %s", what);
    return send_not_ok(r, 503, msg);
}

/* Maps the node's result codes to the reference's statuses and bodies. */
enum MHD_Result dmp_node_http_done_record(dmp_node_rq_t *r)
{
    int res = r->txn.result;
    enum MHD_Result ret;
    if (dmp_node_http_store_failure(r, res, &ret))
        return ret;
    if (r->is_delete) {
        if (res == 0)
            return dmp_node_http_send_raw(r, r->txn.changed ? 204 : 404, NULL, 0, NULL);
        return dmp_node_http_store_error(r, "not deleted");
    }
    switch (res) {
    case 0:
        return dmp_node_http_send_created(r);
    case DMP_EFULL: {
        char msg[400];
        snprintf(msg, sizeof(msg), "RRset at %s already holds %u values", r->name,
                 r->h->env.cfg->max_values_per_name);
        return dmp_node_http_send_err(r, 413, msg);
    }
    case DMP_EMSGSIZE: {
        /* the client retries a 413 that is not about the request body with a new message
         * id (src/client/send.c answer_too_large): keep "request body" out of this text */
        char msg[400];
        snprintf(msg, sizeof(msg),
                 "the answer for %s would no longer fit one DNS message (%u bytes): not written",
                 r->name, DMP_NODE_ANSWER_MAX);
        return dmp_node_http_send_err(r, 413, msg);
    }
    case DMP_EINVAL:
        return dmp_node_http_send_err(r, 400, "invalid record value");
    default:
        return dmp_node_http_store_error(r, "not written");
    }
}
