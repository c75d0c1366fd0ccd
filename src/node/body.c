/* node: request bodies of POST/DELETE /v1/records/{name} (jansson), checked in the reference's
 * order and with its messages. Pure functions: no I/O, fuzzable. */
#include <jansson.h>
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

int dmp_node_post_parse(const dmp_node_config_t *cfg, const uint8_t *body, size_t len,
                        dmp_node_post_t *out, char *msg, size_t msgcap)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load_object(body, len);
    if (!j)
        return bad(msg, msgcap, "invalid body");
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
    json_decref(j);
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
