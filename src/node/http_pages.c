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
    if ((rc == 0 || rc == DMP_ENOTFOUND) && dmp_store_space_low(h->env.store))
        return dmp_node_http_send_json(
            r, 503,
            dmp_node_http_dumps(json_pack("{s:s,s:s,s:s}", "status", "degraded", "reads", "ok",
                                          "writes",
                                          "refused: the store's disk has less free space than "
                                          "DMP_STORE_MIN_FREE_MB")));
    if ((rc == 0 || rc == DMP_ENOTFOUND) && dmp_store_writes_failing(h->env.store))
        return dmp_node_http_send_json(
            r, 503,
            dmp_node_http_dumps(json_pack("{s:s,s:s,s:s}", "status", "degraded", "reads", "ok",
                                          "writes", "failing (see the node's log)")));
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
    if (dmp_node_metrics_render(h->env.metrics, &g, &b) != 0 ||
        dmp_node_metrics_render_cluster(h->env.cluster, &b) != 0) {
        dmp_buf_free(&b);
        return dmp_node_http_send_err(r, 500, "internal error");
    }
    char w[1024];
    int wl =
        snprintf(w, sizeof w,
                 "# HELP dmp_http_resume_wakeups_total Wake-ups of the HTTP thread by "
                 "finished writes (one per WAL sync's batch, not one per write).\n"
                 "# TYPE dmp_http_resume_wakeups_total counter\n"
                 "dmp_http_resume_wakeups_total %llu\n"
                 "# HELP dmp_http_loop_passes_total Passes of the HTTP thread's event loop "
                 "(one wait system call each).\n"
                 "# TYPE dmp_http_loop_passes_total counter\n"
                 "dmp_http_loop_passes_total %llu\n"
                 "# HELP dmp_http_writes_waited_total Writes whose answer waited for the "
                 "node, by how the connection waited (held: its body's last byte kept "
                 "unread, no system call; suspended: out of the event loop and back).\n"
                 "# TYPE dmp_http_writes_waited_total counter\n"
                 "dmp_http_writes_waited_total{how=\"held\"} %llu\n"
                 "dmp_http_writes_waited_total{how=\"suspended\"} %llu\n",
                 (unsigned long long)atomic_load_explicit(&h->wakes, memory_order_relaxed),
                 (unsigned long long)atomic_load_explicit(&h->passes, memory_order_relaxed),
                 (unsigned long long)atomic_load_explicit(&h->held, memory_order_relaxed),
                 (unsigned long long)atomic_load_explicit(&h->suspended, memory_order_relaxed));
    if (wl < 0 || (size_t)wl >= sizeof w || dmp_buf_append(&b, w, (size_t)wl) != 0) {
        dmp_buf_free(&b);
        return dmp_node_http_send_err(r, 500, "internal error");
    }
    size_t len = b.len;
    return dmp_node_http_send_raw(r, 200, (char *)b.data, len, "text/plain; version=0.0.4");
}

enum MHD_Result dmp_node_http_get_index(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    const dmp_node_config_t *cfg = h->env.cfg;
    dmp_node_landing_t in = {0};
    in.self_endpoint = h->env.self_endpoint;
    in.host_header = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    in.operator_spk_hex = h->env.operator_spk_hex;
    in.zone = cfg->served_zone;
    in.version = h->env.version;
    int rc =
        dmp_store_get(h->env.store, "__dmp_health_probe__", 20, h->env.now_ms(), probe_visit, NULL);
    in.healthy = rc == 0 || rc == DMP_ENOTFOUND;
    in.records_ok = dmp_store_record_count(h->env.store, &in.records) == 0;
    in.auth_mode = (int)cfg->auth_mode;
    in.registration_open = h->reg != NULL;
    in.tsig_enabled = h->env.tsig_enabled;
    in.token_ttl_s = cfg->reg_token_ttl_s;
    in.allowlist = (const char *const *)cfg->reg_allowlist;
    in.allowlist_n = cfg->reg_allowlist_n;
    in.now_s = h->env.now_ms() / 1000;
    dmp_node_peer_row_t *rows = NULL;
    if (h->env.peers) {
        in.heartbeat_on = true;
        rows = calloc(500, sizeof(*rows));
        if (rows)
            in.npeers = h->env.peers(h->env.ctx, rows, 500);
        in.peers = rows;
    }
    dmp_buf_t b;
    dmp_buf_init(&b);
    rc = dmp_node_landing_render(&in, &b);
    free(rows);
    if (rc != 0) {
        dmp_buf_free(&b);
        return dmp_node_http_send_err(r, 500, "internal error");
    }
    size_t len = b.len;
    return dmp_node_http_send_raw(r, 200, (char *)b.data, len, "text/html; charset=utf-8");
}
