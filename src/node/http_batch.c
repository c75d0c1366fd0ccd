/* node: POST /v1/records, a batch publish: several records (a message's chunks and its manifest,
 * say) in one request and one transaction. Every record passes the single POST's rules and
 * checks (name, value, TTL, the per-name cap, the answer size, the value rule, the write auth of
 * its name); the node writes them all or none, and answers 201 once they are durable. An answer
 * about one record names it: {"error": .., "index": i, "name": ..}. Not in the reference
 * (docs/node.md, "Batch publish"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http_int.h"

struct dmp_node_http_batch {
    dmp_node_batch_t b;
    dmp_node_change_t *ch;
};

static void batch_free(dmp_node_rq_t *r)
{
    if (!r->batch)
        return;
    dmp_node_batch_free(&r->batch->b);
    free(r->batch->ch);
    free(r->batch);
    r->batch = NULL;
}

/* Body cap: room for DMP_NODE_BATCH_MAX records of a few KiB, and never less than one record at
 * its worst escaping (dmp_node_http_records_body_max). */
#define BATCH_BODY_MAX (1u << 20)

enum MHD_Result dmp_node_http_begin_batch(dmp_node_rq_t *r)
{
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    size_t one = dmp_node_http_records_body_max(r->h->env.cfg);
    r->body_cap = one > BATCH_BODY_MAX ? one : BATCH_BODY_MAX;
    if (!dmp_node_http_length_ok(r))
        return MHD_YES;
    r->stage = RQ_BODY;
    return MHD_YES;
}

/* An error about record i (SIZE_MAX: about the request). */
static enum MHD_Result send_rec_err(dmp_node_rq_t *r, unsigned status, const char *msg, size_t i)
{
    if (i == SIZE_MAX || !r->batch || i >= r->batch->b.n)
        return dmp_node_http_send_err(r, status, msg);
    const dmp_node_batch_rec_t *rec = &r->batch->b.recs[i];
    return dmp_node_http_send_json(
        r, status,
        dmp_node_http_dumps(json_pack("{s:s,s:I,s:s%}", "error", msg, "index", (json_int_t)i,
                                      "name", rec->name, rec->name_len)));
}

enum MHD_Result dmp_node_http_body_batch(dmp_node_rq_t *r)
{
    const dmp_node_config_t *cfg = r->h->env.cfg;
    char msg[160];
    size_t badi = SIZE_MAX;
    r->batch = calloc(1, sizeof(*r->batch));
    if (!r->batch)
        return dmp_node_http_send_err(r, 500, "internal error");
    r->cleanup = batch_free;
    int st =
        dmp_node_batch_parse(cfg, r->body.data, r->body.len, &r->batch->b, &badi, msg, sizeof(msg));
    if (st) {
        if (badi == SIZE_MAX)
            return dmp_node_http_send_err(r, (unsigned)st, msg);
        return dmp_node_http_send_json(
            r, (unsigned)st,
            dmp_node_http_dumps(json_pack("{s:s,s:I}", "error", msg, "index", (json_int_t)badi)));
    }
    dmp_node_batch_t *b = &r->batch->b;
    /* the per-address bucket counts records: begin took one, the rest here, all or none, so a
     * batch larger than what is left leaves the tokens for the client's smaller requests */
    if (b->n > 1 && !dmp_node_http_rate_ok_n(r, (unsigned)(b->n - 1)))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    /* the per-token bucket counts records too, all at once with the last name once every
     * earlier name has passed its scope (or none): a batch refused for any name's scope, or by
     * the bucket, spends none of the token's, and gives back the address's tokens it took past
     * the request's own one, so a refused batch costs what a refused single POST does */
    for (size_t i = 0; i < b->n; i++) {
        unsigned a = dmp_node_http_write_auth_n(r, b->recs[i].name, b->recs[i].name_len,
                                                i + 1 == b->n ? (unsigned)b->n : 0);
        if (a && b->n > 1)
            dmp_node_http_rate_give(r, (unsigned)(b->n - 1));
        if (a == 429)
            return send_rec_err(r, 429, "per-token rate limit exceeded", i);
        if (a)
            return send_rec_err(r, 401, "unauthorized", i);
    }
    r->batch->ch = calloc(b->n, sizeof(*r->batch->ch));
    if (!r->batch->ch)
        return dmp_node_http_send_err(r, 500, "internal error");
    for (size_t i = 0; i < b->n; i++) {
        const dmp_node_batch_rec_t *rec = &b->recs[i];
        if (dmp_node_change_set(&r->batch->ch[i], DMP_NODE_CH_PUT, rec->name, rec->name_len,
                                rec->value, rec->value_len, rec->ttl) != 0)
            return send_rec_err(r, 400, "invalid record name", i);
    }
    r->txn = (dmp_node_txn_t){.changes = r->batch->ch,
                              .n = b->n,
                              .cap = cfg->max_values_per_name,
                              .flags = DMP_NODE_TXN_CHECK_VALUES | DMP_NODE_TXN_CHECK_SIZE};
    return dmp_node_http_submit(r);
}

enum MHD_Result dmp_node_http_done_batch(dmp_node_rq_t *r)
{
    int res = r->txn.result;
    size_t i = r->txn.failed;
    char msg[400];
    enum MHD_Result ret;
    if (dmp_node_http_store_failure(r, res, &ret))
        return ret;
    switch (res) {
    case 0:
        return dmp_node_http_send_json(
            r, 201,
            dmp_node_http_dumps(json_pack("{s:b,s:I}", "ok", 1, "stored", (json_int_t)r->txn.n)));
    case DMP_EFULL:
        snprintf(msg, sizeof(msg), "RRset at %s already holds %u values: nothing written",
                 r->batch->b.recs[i].name, r->h->env.cfg->max_values_per_name);
        return send_rec_err(r, 413, msg, i);
    case DMP_EMSGSIZE:
        snprintf(msg, sizeof(msg),
                 "the answer for %s would no longer fit one DNS message (%u bytes): nothing "
                 "written",
                 r->batch->b.recs[i].name, DMP_NODE_ANSWER_MAX);
        return send_rec_err(r, 413, msg, i);
    case DMP_EINVAL:
        return send_rec_err(r, 400, "invalid record value", i);
    default:
        return dmp_node_http_store_error(r, "not written"); /* as the single POST */
    }
}
