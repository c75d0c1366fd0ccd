/* node: the registration routes of the HTTP API (node.md §3.4): GET /v1/registration/challenge
 * and POST /v1/registration/confirm. tsig-confirm (DNS UPDATE keys) plugs in beside confirm:
 * same gate, limiter, body handling and dmp_node_reg_parse/verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "node/http_int.h"

bool dmp_node_http_reg_gate(dmp_node_rq_t *r)
{
    return r->h->reg != NULL;
}

bool dmp_node_http_reg_rate_ok(dmp_node_rq_t *r)
{
    return dmp_node_http_peer_allowed(r, r->h->reg_rl);
}

enum MHD_Result dmp_node_http_get_challenge(dmp_node_rq_t *r)
{
    if (!dmp_node_http_reg_gate(r))
        return dmp_node_http_send_err(r, 404, "not found");
    if (!dmp_node_http_reg_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "registration rate limit exceeded");
    dmp_node_challenge_t c;
    if (dmp_node_reg_challenge(r->h->reg, &c) != 0)
        return dmp_node_http_send_err(r, 500, "internal error");
    return dmp_node_http_send_json(
        r, 200,
        dmp_node_http_dumps(json_pack("{s:s,s:s,s:I,s:s,s:i}", "challenge", c.challenge_hex, "node",
                                      c.node, "expires_at", (json_int_t)c.expires_at,
                                      "server_x25519_pub", c.server_x25519_pub_hex, "version", 1)));
}

/* Headers of every registration POST: gate (404), limiter (429), announced length (413). */
enum MHD_Result dmp_node_http_begin_reg(dmp_node_rq_t *r)
{
    if (!dmp_node_http_reg_gate(r))
        return dmp_node_http_send_err(r, 404, "not found");
    if (!dmp_node_http_reg_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "registration rate limit exceeded");
    if (!dmp_node_http_length_ok(r))
        return MHD_YES;
    r->stage = RQ_BODY;
    return MHD_YES;
}

enum MHD_Result dmp_node_http_body_confirm(dmp_node_rq_t *r)
{
    dmp_node_reg_req_t q;
    dmp_node_reg_err_t e;
    char remote[64], token[DMP_NODE_TOKEN_LEN + 1];
    dmp_node_token_t row;
    dmp_node_http_remote(r, remote, sizeof(remote));
    int rc = dmp_node_reg_parse(r->body.data, r->body.len, &q, &e);
    if (rc == 0)
        rc = dmp_node_reg_confirm(r->h->reg, &q, remote, token, &row, &e);
    dmp_node_reg_req_free(&q);
    DMP_STAT_INC(r->h->env.st, registrations[rc == 0 ? 0 : 1]);
    if (rc != 0) {
        if (e.status == 500)
            dmp_error("registration confirm 500: route=/v1/registration/confirm remote=%s",
                      remote[0] ? remote : "-");
        return dmp_node_http_send_err(r, (unsigned)e.status, e.msg);
    }
    char *out = dmp_node_http_dumps(
        json_pack("{s:s,s:s,s:o,s:f,s:I}", "token", token, "subject", row.subject, "expires_at",
                  row.expires_at ? json_integer(row.expires_at) : json_null(), "rate_per_sec",
                  row.rate_per_sec, "rate_burst", (json_int_t)row.rate_burst));
    sodium_memzero(token, sizeof(token));
    dmp_info("registration: token issued for %s (remote %s)", row.subject, remote);
    return dmp_node_http_send_json(r, 200, out);
}

/* ---- POST /v1/admin: operator commands (dnsmesh-admin --node) ----
 * Only with an operator token configured (else 404, the route does not exist) and presented
 * (401). Body {"op": "<command>", "args": {...}}; 200 with the command's JSON, or 400
 * {"error": msg, "exit": code}. */
enum MHD_Result dmp_node_http_begin_admin(dmp_node_rq_t *r)
{
    if (!r->h->env.cfg->operator_token)
        return dmp_node_http_send_err(r, 404, "not found");
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    if (!dmp_node_http_operator_ok(r))
        return dmp_node_http_send_err(r, 401, "unauthorized");
    if (!dmp_node_http_length_ok(r))
        return MHD_YES;
    r->stage = RQ_BODY;
    return MHD_YES;
}

enum MHD_Result dmp_node_http_body_admin(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    json_t *o = json_loadb(r->body.data ? (const char *)r->body.data : "", r->body.len, 0, NULL);
    json_t *op = json_object_get(o, "op");
    if (!json_is_object(o) || !json_is_string(op)) {
        json_decref(o);
        return dmp_node_http_send_err(r, 400, "invalid body");
    }
    char remote[64], actor[96], err[800];
    dmp_node_http_remote(r, remote, sizeof(remote));
    snprintf(actor, sizeof(actor), "admin:http@%s", remote[0] ? remote : "-");
    dmp_node_admin_env_t env = {.store = h->env.store,
                                .tokens = h->env.tokens,
                                .cfg = h->env.cfg,
                                .actor = actor,
                                .remote = remote,
                                .now_ms = h->env.now_ms};
    json_t *res = NULL;
    int rc = dmp_node_admin_run(&env, json_string_value(op), json_object_get(o, "args"), &res, err,
                                sizeof(err));
    json_decref(o);
    if (rc != 0)
        return dmp_node_http_send_json(
            r, 400, dmp_node_http_dumps(json_pack("{s:s,s:i}", "error", err, "exit", rc)));
    dmp_info("admin: %s by %s", json_string_value(op) ? "command" : "-", actor);
    return dmp_node_http_send_json(r, 200, dmp_node_http_dumps(res));
}
