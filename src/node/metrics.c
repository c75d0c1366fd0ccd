/* node: metrics registry and Prometheus rendering. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "dns/dns.h"
#include "node/metrics.h"

/* Upper bounds of the latency buckets, in nanoseconds. */
static const int64_t lat_le_ns[DMP_NODE_LAT_BUCKETS] = {
    5000,    10000,   25000,   50000,    100000,   250000,    500000,
    1000000, 2500000, 5000000, 10000000, 25000000, 100000000, 1000000000};

static const uint16_t qt_of_slot[DMP_NODE_QT_SLOTS] = {
    DMP_DNS_T_TXT, DMP_DNS_T_A,      DMP_DNS_T_AAAA, DMP_DNS_T_NS,
    DMP_DNS_T_SOA, DMP_DNS_T_ANY,    DMP_DNS_T_MX,   DMP_DNS_T_SRV,
    257 /* CAA */, DMP_DNS_T_AXFR,   DMP_DNS_T_IXFR, DMP_DNS_T_CNAME,
    DMP_DNS_T_PTR, DMP_DNS_T_DNSKEY, 0 /* none */,   0xffff /* other */};
static const char *qt_name[DMP_NODE_QT_SLOTS] = {"TXT", "A",      "AAAA", "NS",   "SOA",  "ANY",
                                                 "MX",  "SRV",    "CAA",  "AXFR", "IXFR", "CNAME",
                                                 "PTR", "DNSKEY", "none", "other"};

static const unsigned http_status_of_slot[DMP_NODE_HTTP_STATUSES] = {
    200, 201, 204, 400, 401, 403, 404, 405, 413, 429, 500, 501, 502, 503, 0, 0};
static const char *http_method_name[DMP_NODE_HTTP_METHODS] = {"GET", "HEAD", "POST", "DELETE",
                                                              "other"};

int dmp_node_metrics_init(dmp_node_metrics_t *m, unsigned nslots)
{
    m->n = 0;
    m->t = aligned_alloc(64, sizeof(dmp_node_tstats_t) * (nslots ? nslots : 1));
    if (!m->t)
        return DMP_ENOMEM;
    memset(m->t, 0, sizeof(dmp_node_tstats_t) * (nslots ? nslots : 1));
    m->n = nslots;
    return 0;
}

void dmp_node_metrics_free(dmp_node_metrics_t *m)
{
    free(m->t);
    m->t = NULL;
    m->n = 0;
}

void dmp_node_metrics_sum(const dmp_node_metrics_t *m, dmp_node_tstats_t *sum)
{
    memset(sum, 0, sizeof(*sum));
    uint64_t *dst = (uint64_t *)sum;
    size_t words = sizeof(*sum) / sizeof(uint64_t);
    for (unsigned i = 0; i < m->n; i++) {
        const uint64_t *src = (const uint64_t *)&m->t[i];
        for (size_t w = 0; w < words; w++)
            dst[w] += __atomic_load_n(&src[w], __ATOMIC_RELAXED);
    }
}

unsigned dmp_node_qtype_slot(uint16_t qtype)
{
    for (unsigned i = 0; i < DMP_NODE_QT_SLOTS - 1; i++) {
        if (qt_of_slot[i] == qtype)
            return i;
    }
    return DMP_NODE_QT_SLOTS - 1;
}

const char *dmp_node_qtype_slot_name(unsigned slot)
{
    return slot < DMP_NODE_QT_SLOTS ? qt_name[slot] : "other";
}

void dmp_node_lat_observe(dmp_node_tstats_t *st, int64_t ns)
{
    unsigned b = 0;
    while (b < DMP_NODE_LAT_BUCKETS && ns > lat_le_ns[b])
        b++;
    DMP_STAT_INC(st, lat_bucket[b]);
    DMP_STAT_ADD(st, lat_sum_ns, ns > 0 ? ns : 0);
}

unsigned dmp_node_http_method_slot(const char *method)
{
    for (unsigned i = 0; i < DMP_NODE_HTTP_METHODS - 1; i++) {
        if (strcmp(method, http_method_name[i]) == 0)
            return i;
    }
    return DMP_NODE_HTTP_METHODS - 1;
}

unsigned dmp_node_http_status_slot(unsigned status)
{
    for (unsigned i = 0; i < DMP_NODE_HTTP_STATUSES; i++) {
        if (http_status_of_slot[i] == status)
            return i;
    }
    return DMP_NODE_HTTP_STATUSES - 1;
}

void dmp_node_http_count(dmp_node_tstats_t *st, const char *method, unsigned status)
{
    DMP_STAT_INC(st, http[dmp_node_http_method_slot(method)][dmp_node_http_status_slot(status)]);
}

static int pf(dmp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pf(dmp_buf_t *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return DMP_EINVAL;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    return dmp_buf_append(b, line, (size_t)n);
}

static void head(dmp_buf_t *b, const char *name, const char *type, const char *help)
{
    pf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int dmp_node_metrics_render(const dmp_node_metrics_t *m, const dmp_node_gauges_t *g, dmp_buf_t *out)
{
    dmp_node_tstats_t s;
    dmp_node_metrics_sum(m, &s);
    size_t start = out->len;

    head(out, "dmp_cache_bytes", "gauge", "Bytes held by the shard answer caches");
    pf(out, "dmp_cache_bytes %llu\n", (unsigned long long)s.cache_bytes);
    head(out, "dmp_cache_lookups_total", "counter", "Answer cache lookups by result");
    pf(out, "dmp_cache_lookups_total{result=\"hit\"} %llu\n", (unsigned long long)s.cache_hits);
    pf(out, "dmp_cache_lookups_total{result=\"miss\"} %llu\n", (unsigned long long)s.cache_misses);
    pf(out, "dmp_cache_lookups_total{result=\"negative_hit\"} %llu\n",
       (unsigned long long)s.cache_neg_hits);
    head(out, "dmp_cache_fills_total", "counter",
         "Answers a frontend read from the store and handed to its shard's cache, by outcome "
         "(stale: a write to that shard came between the read and the fill)");
    pf(out, "dmp_cache_fills_total{result=\"applied\"} %llu\n",
       (unsigned long long)s.cache_fills_applied);
    pf(out, "dmp_cache_fills_total{result=\"stale\"} %llu\n",
       (unsigned long long)s.cache_fills_stale);
    pf(out, "dmp_cache_fills_total{result=\"after_write\"} %llu\n",
       (unsigned long long)s.cache_fills_write);

    head(out, "dmp_dns_drops_total", "counter", "DNS queries not answered, by reason");
    pf(out, "dmp_dns_drops_total{reason=\"malformed\"} %llu\n",
       (unsigned long long)s.dns_malformed);
    pf(out, "dmp_dns_drops_total{reason=\"rate_limited\"} %llu\n",
       (unsigned long long)s.dns_rate_limited);
    if (g->have_net) {
        pf(out, "dmp_dns_drops_total{reason=\"ring_full\"} %llu\n",
           (unsigned long long)g->ring_full_drops);
        pf(out, "dmp_dns_drops_total{reason=\"udp_rx\"} %llu\n",
           (unsigned long long)g->udp_rx_dropped);
        pf(out, "dmp_dns_drops_total{reason=\"tcp_conn_limit\"} %llu\n",
           (unsigned long long)g->tcp_rejected);
        pf(out, "dmp_dns_drops_total{reason=\"tcp_timeout\"} %llu\n",
           (unsigned long long)g->tcp_timeouts);
        pf(out, "dmp_dns_drops_total{reason=\"tcp_bad_length\"} %llu\n",
           (unsigned long long)g->tcp_bad_length);
    }

    head(out, "dmp_dns_handle_seconds", "histogram", "Time a shard spends answering one DNS query");
    uint64_t cum = 0;
    for (unsigned b = 0; b < DMP_NODE_LAT_BUCKETS; b++) {
        cum += s.lat_bucket[b];
        pf(out, "dmp_dns_handle_seconds_bucket{le=\"%g\"} %llu\n", (double)lat_le_ns[b] / 1e9,
           (unsigned long long)cum);
    }
    cum += s.lat_bucket[DMP_NODE_LAT_BUCKETS];
    pf(out, "dmp_dns_handle_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    pf(out, "dmp_dns_handle_seconds_sum %.9f\n", (double)s.lat_sum_ns / 1e9);
    pf(out, "dmp_dns_handle_seconds_count %llu\n", (unsigned long long)cum);

    head(out, "dmp_dns_queries_by_type_total", "counter", "DMP DNS queries by query type");
    for (unsigned i = 0; i < DMP_NODE_QT_SLOTS; i++) {
        if (s.dns_qtype[i])
            pf(out, "dmp_dns_queries_by_type_total{qtype=\"%s\"} %llu\n", qt_name[i],
               (unsigned long long)s.dns_qtype[i]);
    }

    /* the reference's metric: outcome = rate_limited | malformed | lowercase rcode name */
    head(out, "dmp_dns_queries_total", "counter", "DMP DNS queries by outcome");
    pf(out, "dmp_dns_queries_total{outcome=\"malformed\"} %llu\n",
       (unsigned long long)s.dns_malformed);
    pf(out, "dmp_dns_queries_total{outcome=\"rate_limited\"} %llu\n",
       (unsigned long long)(s.dns_rate_limited + s.dns_slipped));
    for (unsigned i = 0; i < DMP_NODE_RCODE_SLOTS; i++) {
        if (!s.dns_rcode[i])
            continue;
        char lname[32];
        const char *rn = i < DMP_NODE_RCODE_SLOTS - 1 ? dmp_dns_rcode_name((int)i) : "other";
        size_t k = 0;
        for (; rn[k] && k < sizeof(lname) - 1; k++)
            lname[k] = (char)((rn[k] >= 'A' && rn[k] <= 'Z') ? rn[k] + 32 : rn[k]);
        lname[k] = 0;
        pf(out, "dmp_dns_queries_total{outcome=\"%s\"} %llu\n", lname,
           (unsigned long long)s.dns_rcode[i]);
    }

    head(out, "dmp_dns_responses_total", "counter", "DNS responses by result");
    for (unsigned i = 0; i < DMP_NODE_OUT_SLOTS && i < DMP_DNS_OUT_COUNT_; i++) {
        if (s.dns_outcome[i])
            pf(out, "dmp_dns_responses_total{result=\"%s\"} %llu\n", dmp_dns_outcome_name((int)i),
               (unsigned long long)s.dns_outcome[i]);
    }
    pf(out, "dmp_dns_responses_total{result=\"slip\"} %llu\n", (unsigned long long)s.dns_slipped);

    head(out, "dmp_dns_rrl_total", "counter",
         "Response rate limiting (UDP): responses dropped, slipped (TC=1) or exempt");
    pf(out, "dmp_dns_rrl_total{action=\"drop\"} %llu\n", (unsigned long long)s.rrl_dropped);
    pf(out, "dmp_dns_rrl_total{action=\"slip\"} %llu\n", (unsigned long long)s.rrl_slipped);
    pf(out, "dmp_dns_rrl_total{action=\"exempt_cookie\"} %llu\n",
       (unsigned long long)s.rrl_exempt_cookie);
    pf(out, "dmp_dns_rrl_total{action=\"exempt_whitelist\"} %llu\n",
       (unsigned long long)s.rrl_exempt_list);
    static const char *const cookie_state[5] = {"none", "client_only", "invalid", "valid",
                                                "malformed"};
    head(out, "dmp_dns_cookies_total", "counter", "DNS queries by COOKIE option (RFC 7873)");
    for (unsigned i = 0; i < 5; i++)
        pf(out, "dmp_dns_cookies_total{state=\"%s\"} %llu\n", cookie_state[i],
           (unsigned long long)s.dns_cookie[i]);

    if (g->have_net) {
        head(out, "dmp_dns_tcp_closed_total", "counter",
             "DNS TCP connections closed by the server, by reason");
        pf(out, "dmp_dns_tcp_closed_total{reason=\"timeout\"} %llu\n",
           (unsigned long long)g->tcp_timeouts);
        pf(out, "dmp_dns_tcp_closed_total{reason=\"evicted\"} %llu\n",
           (unsigned long long)g->tcp_evicted);
        pf(out, "dmp_dns_tcp_closed_total{reason=\"source_cap\"} %llu\n",
           (unsigned long long)g->tcp_source_capped);
        pf(out, "dmp_dns_tcp_closed_total{reason=\"full\"} %llu\n",
           (unsigned long long)g->tcp_rejected);
        pf(out, "dmp_dns_tcp_closed_total{reason=\"bad_length\"} %llu\n",
           (unsigned long long)g->tcp_bad_length);
        head(out, "dmp_dns_tcp_connections_total", "counter", "DNS TCP connections accepted");
        pf(out, "dmp_dns_tcp_connections_total %llu\n", (unsigned long long)g->tcp_accepted);
        head(out, "dmp_dns_udp_packets_total", "counter", "DNS UDP datagrams by direction");
        pf(out, "dmp_dns_udp_packets_total{dir=\"rx\"} %llu\n", (unsigned long long)g->udp_rx);
        pf(out, "dmp_dns_udp_packets_total{dir=\"tx\"} %llu\n", (unsigned long long)g->udp_tx);
    }

    head(out, "dmp_http_requests_total", "counter",
         "Total DMP HTTP API requests, by method and status");
    for (unsigned mi = 0; mi < DMP_NODE_HTTP_METHODS; mi++) {
        for (unsigned si = 0; si < DMP_NODE_HTTP_STATUSES; si++) {
            if (!s.http[mi][si])
                continue;
            char st[16];
            if (http_status_of_slot[si])
                snprintf(st, sizeof(st), "%u", http_status_of_slot[si]);
            else
                snprintf(st, sizeof(st), "other");
            pf(out, "dmp_http_requests_total{method=\"%s\",status=\"%s\"} %llu\n",
               http_method_name[mi], st, (unsigned long long)s.http[mi][si]);
        }
    }

    if (g->records_ok) {
        head(out, "dmp_records", "gauge",
             "Records in the DMP store (live and expired-not-yet-swept)");
        pf(out, "dmp_records %llu\n", (unsigned long long)g->records);
    }

    if (g->have_net) {
        head(out, "dmp_ring_depth", "gauge", "Queries waiting in frontend->shard rings");
        pf(out, "dmp_ring_depth %llu\n", (unsigned long long)g->ring_depth_now);
        head(out, "dmp_ring_depth_max", "gauge", "Most queries seen waiting in one ring");
        pf(out, "dmp_ring_depth_max %llu\n", (unsigned long long)g->ring_depth_max);
    }

    head(out, "dmp_name_index_reads_total", "counter",
         "Cache misses looked up in the name index, by result (hit: answered from its file; "
         "fallback: read from the store)");
    pf(out, "dmp_name_index_reads_total{result=\"hit\"} %llu\n", (unsigned long long)s.index_hits);
    pf(out, "dmp_name_index_reads_total{result=\"fallback\"} %llu\n",
       (unsigned long long)s.index_fallbacks);
    if (g->have_index) {
        const dmp_index_stats_t *x = &g->index;
        head(out, "dmp_name_index_ready", "gauge",
             "1 once the start-up walk has indexed every name (0 while it runs or if it "
             "stopped); a rebuild's walk runs beside the table in use and leaves this at 1");
        pf(out, "dmp_name_index_ready %d\n", x->state == DMP_INDEX_READY);
        head(out, "dmp_name_index_names", "gauge", "Names answered from the name index's file");
        pf(out, "dmp_name_index_names %llu\n", (unsigned long long)x->names);
        head(out, "dmp_name_index_written_names", "gauge",
             "New names whose answer a write added to the name index since the start (every "
             "table)");
        pf(out, "dmp_name_index_written_names %llu\n", (unsigned long long)x->put_names);
        head(out, "dmp_name_index_bytes", "gauge", "Size of the name index's file");
        pf(out, "dmp_name_index_bytes %llu\n", (unsigned long long)(x->bytes + x->appended));
        head(out, "dmp_name_index_slots_used", "gauge",
             "Slots of the name index's table in use (names indexed or written since its walk)");
        pf(out, "dmp_name_index_slots_used %llu\n", (unsigned long long)x->used);
        head(out, "dmp_name_index_slots", "gauge", "Slots of the name index's table");
        pf(out, "dmp_name_index_slots %llu\n", (unsigned long long)x->slots);
        head(out, "dmp_name_index_lost_names", "gauge",
             "Names that writes took out of the name index's file since its last walk (read "
             "from the store until the next rebuild)");
        pf(out, "dmp_name_index_lost_names %llu\n", (unsigned long long)x->lost);
        head(out, "dmp_name_index_rebuilds_total", "counter",
             "Walks that replaced the name index's table and file (DMP_NAME_INDEX_REBUILD_S)");
        pf(out, "dmp_name_index_rebuilds_total %llu\n", (unsigned long long)x->rebuilds);
        head(out, "dmp_name_index_build_seconds", "gauge",
             "Wall time of the last walk (0 until the first ends)");
        pf(out, "dmp_name_index_build_seconds %.3f\n", x->build_seconds);
    }
    head(out, "dmp_store_errors_total", "counter", "Store operations that failed");
    pf(out, "dmp_store_errors_total %llu\n", (unsigned long long)s.store_errors);
    head(out, "dmp_sweep_removed_total", "counter", "Expired records removed by the sweep");
    pf(out, "dmp_sweep_removed_total %llu\n", (unsigned long long)s.sweep_removed);
    head(out, "dmp_sweep_runs_total", "counter", "Expiry sweeps run");
    pf(out, "dmp_sweep_runs_total %llu\n", (unsigned long long)s.sweep_runs);

    head(out, "dmp_token_auth_total", "counter",
         "Record writes checked against a user token (multi-tenant), by result");
    pf(out, "dmp_token_auth_total{result=\"ok\"} %llu\n", (unsigned long long)s.token_auth[0]);
    pf(out, "dmp_token_auth_total{result=\"rejected\"} %llu\n",
       (unsigned long long)s.token_auth[1]);
    pf(out, "dmp_token_auth_total{result=\"throttled\"} %llu\n",
       (unsigned long long)s.token_auth[2]);
    head(out, "dmp_registrations_total", "counter",
         "Self-service registration confirms, by result");
    pf(out, "dmp_registrations_total{result=\"issued\"} %llu\n",
       (unsigned long long)s.registrations[0]);
    pf(out, "dmp_registrations_total{result=\"refused\"} %llu\n",
       (unsigned long long)s.registrations[1]);

    if (g->have_update) {
        static const char *const ur[7] = {"noerror",  "refused", "notauth",      "formerr",
                                          "servfail", "notzone", "prereq_failed"};
        static const char *const te[3] = {"badkey", "badsig", "badtime"};
        head(out, "dmp_dns_updates_total", "counter", "DNS UPDATE messages answered, by result");
        for (int i = 0; i < 7; i++)
            pf(out, "dmp_dns_updates_total{result=\"%s\"} %llu\n", ur[i],
               (unsigned long long)g->upd_result[i]);
        head(out, "dmp_tsig_errors_total", "counter", "TSIG verification failures, by error");
        for (int i = 0; i < 3; i++)
            pf(out, "dmp_tsig_errors_total{error=\"%s\"} %llu\n", te[i],
               (unsigned long long)g->tsig_error[i]);
        head(out, "dmp_dns_update_claims_total", "counter",
             "Anonymous claim records over UPDATE, by result");
        pf(out, "dmp_dns_update_claims_total{result=\"accepted\"} %llu\n",
           (unsigned long long)g->claims[0]);
        pf(out, "dmp_dns_update_claims_total{result=\"throttled\"} %llu\n",
           (unsigned long long)g->claims[1]);
    }
    head(out, "dmp_wal_syncs_total", "counter",
         "WAL syncs by the group-commit thread (each acknowledges every write before it)");
    pf(out, "dmp_wal_syncs_total %llu\n", (unsigned long long)g->wal_syncs);
    head(out, "dmp_write_batches_total", "counter", "Store write batches");
    pf(out, "dmp_write_batches_total %llu\n", (unsigned long long)s.write_batches);
    head(out, "dmp_writes_total", "counter", "Record writes by kind");
    pf(out, "dmp_writes_total{op=\"put\"} %llu\n", (unsigned long long)s.writes);
    pf(out, "dmp_writes_total{op=\"delete\"} %llu\n", (unsigned long long)s.deletes);
    pf(out, "dmp_writes_total{op=\"failed\"} %llu\n", (unsigned long long)s.write_errors);

    return out->len > start ? 0 : DMP_ENOMEM;
}

/* A label value: backslash, double quote and newline escaped (exposition format 0.0.4). */
static void label_esc(const char *in, char *out, size_t cap)
{
    size_t k = 0;
    for (; *in && k + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[k++] = '\\';
            out[k++] = *in;
        } else if (*in == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *in;
        }
    }
    out[k] = '\0';
}

int dmp_node_metrics_render_cluster(dmp_cluster_t *c, dmp_buf_t *out)
{
    if (!c)
        return 0;
    size_t start = out->len;
    dmp_cluster_stats_t st;
    dmp_cluster_get_stats(c, &st);
    head(out, "dmp_cluster_rounds_total", "counter",
         "Anti-entropy rounds by protocol (a round that failed before choosing one: none)");
    pf(out, "dmp_cluster_rounds_total{protocol=\"merkle\"} %llu\n",
       (unsigned long long)st.merkle_rounds);
    pf(out, "dmp_cluster_rounds_total{protocol=\"digest\"} %llu\n",
       (unsigned long long)st.digest_rounds);
    uint64_t none = st.rounds > st.merkle_rounds + st.digest_rounds
                        ? st.rounds - st.merkle_rounds - st.digest_rounds
                        : 0;
    pf(out, "dmp_cluster_rounds_total{protocol=\"none\"} %llu\n", (unsigned long long)none);
    head(out, "dmp_cluster_rounds_in_sync_total", "counter",
         "Merkle rounds that found the peer's tree equal to ours");
    pf(out, "dmp_cluster_rounds_in_sync_total %llu\n", (unsigned long long)st.in_sync);
    head(out, "dmp_cluster_round_failures_total", "counter",
         "Anti-entropy rounds that failed (peer unreachable, bad answer, write error)");
    pf(out, "dmp_cluster_round_failures_total %llu\n", (unsigned long long)st.errors);
    head(out, "dmp_cluster_records_total", "counter",
         "Records from peers: pulled (received), applied (written), rejected (failed "
         "verification or refused by the write path), deleted (by a peer's tombstone)");
    pf(out, "dmp_cluster_records_total{result=\"pulled\"} %llu\n", (unsigned long long)st.pulled);
    pf(out, "dmp_cluster_records_total{result=\"applied\"} %llu\n", (unsigned long long)st.written);
    pf(out, "dmp_cluster_records_total{result=\"rejected\"} %llu\n",
       (unsigned long long)st.rejected);
    pf(out, "dmp_cluster_records_total{result=\"deleted\"} %llu\n", (unsigned long long)st.deleted);
    head(out, "dmp_cluster_bytes_total", "counter",
         "Anti-entropy bytes exchanged with peers by this node's rounds (bodies and paths)");
    pf(out, "dmp_cluster_bytes_total{dir=\"in\"} %llu\n", (unsigned long long)st.bytes_in);
    pf(out, "dmp_cluster_bytes_total{dir=\"out\"} %llu\n", (unsigned long long)st.bytes_out);
    head(out, "dmp_cluster_manifests_installed_total", "counter",
         "Cluster manifests installed from gossip");
    pf(out, "dmp_cluster_manifests_installed_total %llu\n",
       (unsigned long long)st.gossip_installed);

    dmp_cluster_peer_stats_t *ps = calloc(DMP_CLUSTER_MAX_PEERS, sizeof(*ps));
    if (!ps)
        return DMP_ENOMEM;
    size_t n = dmp_cluster_get_peer_stats(c, ps, DMP_CLUSTER_MAX_PEERS);
    if (n > DMP_CLUSTER_MAX_PEERS)
        n = DMP_CLUSTER_MAX_PEERS;
    head(out, "dmp_cluster_peers", "gauge", "Anti-entropy peers");
    pf(out, "dmp_cluster_peers %zu\n", n);
    head(out, "dmp_cluster_peer_failures_total", "counter", "Failed rounds, per peer");
    for (size_t i = 0; i < n; i++) {
        char u[200], id[2 * DMP_CLUSTER_NODE_ID_MAX + 4]; /* lines stay under pf()'s 512 */
        label_esc(ps[i].url, u, sizeof(u));
        label_esc(ps[i].node_id, id, sizeof(id));
        pf(out, "dmp_cluster_peer_failures_total{peer=\"%s\",node_id=\"%s\"} %llu\n", u, id,
           (unsigned long long)ps[i].failures);
    }
    head(out, "dmp_cluster_peer_last_success_timestamp_seconds", "gauge",
         "Unix time of the last successful round with the peer (0: none yet)");
    for (size_t i = 0; i < n; i++) {
        char u[200], id[2 * DMP_CLUSTER_NODE_ID_MAX + 4]; /* lines stay under pf()'s 512 */
        label_esc(ps[i].url, u, sizeof(u));
        label_esc(ps[i].node_id, id, sizeof(id));
        pf(out,
           "dmp_cluster_peer_last_success_timestamp_seconds{peer=\"%s\",node_id=\"%s\"} %.3f\n", u,
           id, (double)ps[i].last_ok_ms / 1000.0);
    }
    free(ps);
    return out->len > start ? 0 : DMP_ENOMEM;
}
