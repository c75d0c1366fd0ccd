/* node: request bodies of POST/DELETE /v1/records/{name} and of the batch POST /v1/records
 * (jansson), checked in the reference's order and with its messages. Pure functions: no I/O,
 * fuzzable. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node.h"

static int bad(char *msg, size_t cap, const char *text)
{
    snprintf(msg, cap, "%s", text);
    return 400;
}

/* Parses a JSON object body; an empty body is {} (as the reference). NULL = invalid. */
static json_t *load_object(const uint8_t *body, size_t len)
{
    if (len == 0)
        return json_object();
    json_error_t je;
    /* JSON_ALLOW_NUL: "\u0000" is a valid JSON string (Python accepts it); such a value is then
     * refused by the value rule (400 "invalid record value"), as in the reference */
    json_t *j = json_loadb((const char *)body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int copy_value(json_t *jv, uint8_t **out, size_t *out_len)
{
    size_t n = json_string_length(jv);
    uint8_t *v = malloc(n ? n : 1);
    if (!v)
        return DMP_ENOMEM;
    memcpy(v, json_string_value(jv), n);
    *out = v;
    *out_len = n;
    return 0;
}

/* The value and TTL rules of one record object j, in the reference's order. */
static int post_fields(const dmp_node_config_t *cfg, json_t *j, dmp_node_post_t *out, char *msg,
                       size_t msgcap)
{
    json_t *jv = json_object_get(j, "value");
    json_t *jt = json_object_get(j, "ttl");
    json_int_t ttl = 300;
    bool ok = jv && json_is_string(jv);
    if (jt) {
        /* JSON booleans are not integers: "ttl": true is a 400 (the reference, where Python's
         * True is the int 1, stores it with a TTL of 1 s; see docs/node.md) */
        if (json_is_integer(jt))
            ttl = json_integer_value(jt);
        else
            ok = false;
    }
    int st = 0;
    if (!ok || ttl <= 0) {
        st = bad(msg, msgcap, "value (str) and ttl (int > 0) required");
    } else if (ttl > (json_int_t)cfg->max_ttl) {
        snprintf(msg, msgcap, "ttl exceeds cap of %us", cfg->max_ttl);
        st = 400;
    } else if (json_string_length(jv) > cfg->max_value_bytes) {
        snprintf(msg, msgcap, "value exceeds cap of %u bytes", cfg->max_value_bytes);
        st = 400;
    } else if (copy_value(jv, &out->value, &out->value_len) != 0) {
        snprintf(msg, msgcap, "internal error");
        st = 500;
    } else {
        out->ttl = (uint32_t)ttl;
    }
    return st;
}

int dmp_node_post_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                        dmp_node_post_t *out, char *msg, size_t msgcap)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load_object(body, len);
    if (!j)
        return bad(msg, msgcap, "invalid body");
    int st = post_fields(cfg, j, out, msg, msgcap);
    json_decref(j);
    return st;
}

void dmp_node_batch_free(dmp_node_batch_t *b)
{
    for (size_t i = 0; b->recs && i < b->n; i++)
        free(b->recs[i].value);
    free(b->recs);
    b->recs = NULL;
    b->n = 0;
}

/* One element of "records": an object with a valid "name" string and the single POST's value
 * and TTL rules. */
static int batch_record(const dmp_node_config_t *cfg, json_t *e, dmp_node_batch_rec_t *r, char *msg,
                        size_t msgcap)
{
    if (!json_is_object(e))
        return bad(msg, msgcap, "each record must be an object");
    json_t *jn = json_object_get(e, "name");
    if (!jn || !json_is_string(jn))
        return bad(msg, msgcap, "name (str) required");
    size_t nl = json_string_length(jn);
    if (nl >= sizeof(r->name) || !dmp_node_name_valid(json_string_value(jn), nl))
        return bad(msg, msgcap, "invalid record name");
    memcpy(r->name, json_string_value(jn), nl);
    r->name[nl] = 0;
    r->name_len = nl;
    dmp_node_post_t p;
    memset(&p, 0, sizeof(p));
    int st = post_fields(cfg, e, &p, msg, msgcap);
    r->value = p.value;
    r->value_len = p.value_len;
    r->ttl = p.ttl;
    return st;
}

int dmp_node_batch_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                         dmp_node_batch_t *out, size_t *bad_index, char *msg, size_t msgcap)
{
    memset(out, 0, sizeof(*out));
    *bad_index = SIZE_MAX;
    json_t *j = len ? load_object(body, len) : NULL;
    if (!j)
        return bad(msg, msgcap, "invalid body");
    json_t *ja = json_object_get(j, "records");
    size_t n = json_is_array(ja) ? json_array_size(ja) : 0;
    int st = 0;
    if (!ja || !json_is_array(ja) || n == 0) {
        st = bad(msg, msgcap, "records (a non-empty list) required");
    } else if (n > DMP_NODE_BATCH_MAX) {
        snprintf(msg, msgcap, "at most %u records per request", DMP_NODE_BATCH_MAX);
        st = 413;
    } else if (!(out->recs = calloc(n, sizeof(*out->recs)))) {
        snprintf(msg, msgcap, "internal error");
        st = 500;
    }
    for (size_t i = 0; st == 0 && i < n; i++) {
        st = batch_record(cfg, json_array_get(ja, i), &out->recs[i], msg, msgcap);
        out->n = i + 1; /* owns recs[i].value whatever st is */
        if (st)
            *bad_index = i;
    }
    json_decref(j);
    if (st)
        dmp_node_batch_free(out);
    return st;
}

int dmp_node_delete_parse(const uint8_t *body, size_t len, uint8_t **value, size_t *value_len,
                          char *msg, size_t msgcap)
{
    *value = NULL;
    *value_len = 0;
    json_t *j = load_object(body, len);
    /* unlike the reference, a malformed body deletes nothing */
    if (!j)
        return bad(msg, msgcap, "invalid body");
    json_t *jv = json_object_get(j, "value");
    int st = 0;
    if (jv && !json_is_null(jv)) {
        if (!json_is_string(jv) ||
            !dmp_node_value_safe((const uint8_t *)json_string_value(jv), json_string_length(jv)))
            st = bad(msg, msgcap, "invalid record value");
        else if (copy_value(jv, value, value_len) != 0)
            st = 500;
    }
    json_decref(j);
    return st;
}
