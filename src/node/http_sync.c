/* node: the /v1/sync routes, answered by the cluster engine (src/cluster serve()): the
 * reference's digest, pull and cluster-manifest and our Merkle routes. Rate-limited before the
 * token check, as the reference. Pull bodies up to DMP_CLUSTER_PULL_BODY_MAX are read (reference
 * workers send up to ~66 KiB; the node's other routes keep DMP's 16 KiB). */
#include <stdlib.h>
#include <string.h>

#include "node/http_int.h"

/* URL-decodes (parse_qs style: %XX and '+') a query value into a new string. */
static char *qs_value(dmp_node_rq_t *r, const char *key)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return NULL;
    size_t n = strlen(v);
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < n && (hi = dmp_hex_digit(v[i + 1])) >= 0 &&
            (lo = dmp_hex_digit(v[i + 2])) >= 0) {
            o[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            o[k++] = v[i] == '+' ? ' ' : v[i];
        }
    }
    o[k] = '\0';
    return o;
}

static enum MHD_Result serve(dmp_node_rq_t *r, const uint8_t *body, size_t len)
{
    dmp_node_http_t *h = r->h;
    char path[64];
    size_t pl = strcspn(r->url, "?");
    if (pl >= sizeof(path))
        return dmp_node_http_send_err(r, 404, "not found");
    memcpy(path, r->url, pl);
    path[pl] = '\0';
    if (!h->env.cluster) /* no DMP_SYNC_PEER_TOKEN: forbidden for everyone, as the reference */
        return dmp_node_http_send_err(r, dmp_cluster_is_sync_path(path) ? 403 : 404,
                                      dmp_cluster_is_sync_path(path) ? "forbidden" : "not found");
    char *cursor = qs_value(r, "cursor"), *since = qs_value(r, "since"),
         *limit = qs_value(r, "limit");
    dmp_cluster_query_t q = {.cursor = cursor, .since = since, .limit = limit};
    dmp_cluster_reply_t rep;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    const char *method = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
    int rc = dmp_cluster_serve(h->env.cluster, method, path, &q, auth, body, len, &rep);
    free(cursor);
    free(since);
    free(limit);
    if (rc != 0) {
        dmp_cluster_reply_free(&rep);
        return dmp_node_http_send_err(r, 500, "internal error");
    }
    /* the reply's body is malloc'd by dmp_buf: the response takes it */
    char *b = (char *)rep.body.data;
    size_t bl = rep.body.len;
    if (rep.status == 204 || bl == 0) {
        free(b);
        return dmp_node_http_send_raw(r, (unsigned)rep.status, NULL, 0, NULL);
    }
    return dmp_node_http_send_raw(r, (unsigned)rep.status, b, bl, rep.content_type);
}

enum MHD_Result dmp_node_http_get_sync(dmp_node_rq_t *r)
{
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    return serve(r, NULL, 0);
}

enum MHD_Result dmp_node_http_begin_sync(dmp_node_rq_t *r)
{
    if (!dmp_node_http_rate_ok(r))
        return dmp_node_http_send_err(r, 429, "rate limit exceeded");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    int64_t n;
    if (cl && dmp_parse_i64(cl, 0, INT64_MAX, &n) == 0 && n > DMP_CLUSTER_PULL_BODY_MAX) {
        DMP_STAT_INC(r->h->env.st, http_body_too_large);
        return dmp_node_http_send_err(r, 400, "invalid body");
    }
    r->body_cap = DMP_CLUSTER_PULL_BODY_MAX;
    r->stage = RQ_BODY;
    return MHD_YES;
}

enum MHD_Result dmp_node_http_body_sync(dmp_node_rq_t *r)
{
    return serve(r, r->body.data, r->body.len);
}
