/* node: the HTTP API's service pages: /health, /stats, /metrics and the landing page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/http_int.h"

static int probe_visit(void *ctx, const char *name, size_t name_len, const dmp_store_record_t *r)
{
    (void)ctx;
    (void)name;
    (void)name_len;
    (void)r;
    return 1;
}

enum MHD_Result dmp_node_http_get_health(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    int rc =
        dmp_store_get(h->env.store, "__dmp_health_probe__", 20, h->env.now_ms(), probe_visit, NULL);
    if (rc == 0 || rc == DMP_ENOTFOUND)
        return dmp_node_http_send_json(r, 200,
                                       dmp_node_http_dumps(json_pack("{s:s}", "status", "ok")));
    return dmp_node_http_send_json(r, 503,
                                   dmp_node_http_dumps(json_pack("{s:s,s:s}", "status", "degraded",
                                                                 "store", dmp_store_strerror(rc))));
}

enum MHD_Result dmp_node_http_get_stats(dmp_node_rq_t *r)
{
    uint64_t n = 0;
    int rc = dmp_store_record_count(r->h->env.store, &n);
    if (rc)
        return dmp_node_http_send_json(r, 200, dmp_node_http_dumps(json_pack("{s:n}", "records")));
    return dmp_node_http_send_json(
        r, 200, dmp_node_http_dumps(json_pack("{s:I}", "records", (json_int_t)n)));
}

enum MHD_Result dmp_node_http_get_metrics(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    if (!dmp_node_http_operator_ok(r))
        return dmp_node_http_send_err(r, 401, "unauthorized");
    dmp_node_gauges_t g;
    memset(&g, 0, sizeof(g));
    g.records_ok = dmp_store_record_count(h->env.store, &g.records) == 0;
    if (h->env.gauges)
        h->env.gauges(h->env.ctx, &g);
    dmp_buf_t b;
    dmp_buf_init(&b);
    if (dmp_node_metrics_render(h->env.metrics, &g, &b) != 0) {
        dmp_buf_free(&b);
        return dmp_node_http_send_err(r, 500, "internal error");
    }
    size_t len = b.len;
    return dmp_node_http_send_raw(r, 200, (char *)b.data, len, "text/plain; version=0.0.4");
}

enum MHD_Result dmp_node_http_get_index(dmp_node_rq_t *r)
{
    uint64_t n = 0;
    dmp_store_record_count(r->h->env.store, &n);
    char *page = NULL;
    const char *mode = r->h->env.cfg->auth_mode == DMP_NODE_AUTH_OPEN ? "open" : "legacy";
    int len = asprintf(&page,
                       "<!doctype html><html><head><meta charset=\"utf-8\">"
                       "<title>dnsmeshd</title></head><body><h1>dnsmeshd</h1>"
                       "<p>healthy &middot; %llu records &middot; auth mode %s</p>"
                       "<p><a href=\"/health\">/health</a> &middot; "
                       "<a href=\"/stats\">/stats</a></p></body></html>\n",
                       (unsigned long long)n, mode);
    if (len < 0)
        return dmp_node_http_send_err(r, 500, "internal error");
    return dmp_node_http_send_raw(r, 200, page, (size_t)len, "text/html; charset=utf-8");
}
