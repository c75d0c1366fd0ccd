/* dnsmesh-bench: the report of one DNS load step, as text or as one JSON object. */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "bench_dns.h"

const char *const dmpb_rcode_names[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",  "RCODE11",  "RCODE12", "RCODE13", "RCODE14",  "RCODE15"};

const char *const dmpb_outcome_names[DMPB_V_NOUT] = {
    "ok", "unchecked", "wrong rcode", "missing value or wrong count", "unpublished data"};

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static uint64_t kind_wrong(const dmpb_kind_stats_t *k)
{
    return k->wrong[DMPB_V_RCODE] + k->wrong[DMPB_V_COUNT] + k->wrong[DMPB_V_DATA];
}

typedef struct {
    double send_s, ans_s, qps, sent_qps, lost_pct;
} rates_t;

static rates_t rates(const dmpb_stats_t *st)
{
    rates_t r;
    r.send_s = (double)(st->t_send_end - st->t_start) / 1e9;
    r.ans_s = (double)(st->t_last_answer - st->t_start) / 1e9;
    if (r.ans_s < r.send_s)
        r.ans_s = r.send_s;
    r.qps = r.ans_s > 0 ? (double)st->answered / r.ans_s : 0;
    r.sent_qps = r.send_s > 0 ? (double)st->sent / r.send_s : 0;
    r.lost_pct = st->sent ? 100.0 * (double)st->lost / (double)st->sent : 0;
    return r;
}

void dmpb_report_text(FILE *f, const dmpb_report_info_t *ri, const dmpb_stats_t *st)
{
    rates_t r = rates(st);
    fprintf(f, "target %s (%s%s): %zu names, %d sockets, batch %d, window %d, %.2f s", ri->target,
            ri->tcp ? "TCP" : "UDP", ri->uring ? ", io_uring" : "", ri->names, ri->sockets,
            ri->batch, ri->window, r.ans_s);
    if (ri->rate > 0)
        fprintf(f, ", offered %.0f q/s", ri->rate);
    fprintf(f, "\n");
    if (ri->tcp)
        fprintf(f, "tcp reconnects %llu\n", (unsigned long long)st->reconnects);
    fprintf(f,
            "sent %llu  answered %llu  lost %llu (%.3f%%)  late %llu  mismatched %llu  "
            "malformed %llu  truncated %llu  send_errors %llu\n",
            (unsigned long long)st->sent, (unsigned long long)st->answered,
            (unsigned long long)st->lost, r.lost_pct, (unsigned long long)st->late,
            (unsigned long long)st->mismatched, (unsigned long long)st->malformed,
            (unsigned long long)st->truncated, (unsigned long long)st->send_errors);
    if (ri->checked)
        fprintf(f,
                "checked: right %llu  wrong %llu  unchecked %llu  (TC=1 retried over TCP %llu, "
                "of which lost %llu)\n",
                (unsigned long long)(st->answered - st->wrong - st->unchecked),
                (unsigned long long)st->wrong, (unsigned long long)st->unchecked,
                (unsigned long long)st->tcp_retries, (unsigned long long)st->tcp_retry_lost);
    fprintf(f, "rcodes:");
    for (int i = 0; i < 16; i++)
        if (st->rcode[i])
            fprintf(f, " %s %llu", dmpb_rcode_names[i], (unsigned long long)st->rcode[i]);
    fprintf(f, "  (NOERROR without answers: %llu)\n", (unsigned long long)st->nodata);
    fprintf(f, "qps %.0f (sent %.0f/s)\n", r.qps, r.sent_qps);
    fprintf(f, "latency_us p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
            us(dmpb_hist_quantile(&st->hist, 0.5)), us(dmpb_hist_quantile(&st->hist, 0.99)),
            us(dmpb_hist_quantile(&st->hist, 0.999)), us(st->hist.max));
    if (ri->nkinds <= 1 && !ri->checked)
        return;
    fprintf(f, "%-10s %10s %10s %10s %8s %8s %8s %8s %10s %9s %9s\n", "kind", "sent", "answered",
            "right", "wrong", "w.rcode", "w.count", "w.data", "lost", "p50_us", "p99_us");
    for (int k = 0; k < ri->nkinds; k++) {
        const dmpb_kind_stats_t *ks = &st->kind[k];
        if (!ks->sent && !ks->answered)
            continue;
        fprintf(f, "%-10s %10llu %10llu %10llu %8llu %8llu %8llu %8llu %10llu %9.1f %9.1f\n",
                ri->kind_names[k], (unsigned long long)ks->sent, (unsigned long long)ks->answered,
                (unsigned long long)ks->ok, (unsigned long long)kind_wrong(ks),
                (unsigned long long)ks->wrong[DMPB_V_RCODE],
                (unsigned long long)ks->wrong[DMPB_V_COUNT],
                (unsigned long long)ks->wrong[DMPB_V_DATA], (unsigned long long)ks->lost,
                us(dmpb_hist_quantile(&ks->hist, 0.5)), us(dmpb_hist_quantile(&ks->hist, 0.99)));
    }
}

static json_t *rcodes_json(const uint64_t rc[16])
{
    json_t *j = json_object();
    for (int i = 0; i < 16; i++)
        if (rc[i])
            json_object_set_new(j, dmpb_rcode_names[i], json_integer((json_int_t)rc[i]));
    return j;
}

void *dmpb_report_json(const dmpb_report_info_t *ri, const dmpb_stats_t *st)
{
    rates_t r = rates(st);
    json_t *j = json_object();
    if (!j)
        return NULL;
#define SETI(k, v) json_object_set_new(j, k, json_integer((json_int_t)(v)))
#define SETF(k, v) json_object_set_new(j, k, json_real(v))
    json_object_set_new(j, "mode", json_string(ri->mode));
    json_object_set_new(j, "target", json_string(ri->target));
    SETI("sockets", ri->sockets);
    SETI("batch", ri->batch);
    SETI("window", ri->window);
    SETI("names", ri->names);
    SETF("offered_qps", ri->rate);
    SETF("duration_s", r.ans_s);
    SETI("sent", st->sent);
    SETI("answered", st->answered);
    SETI("lost", st->lost);
    SETF("lost_pct", r.lost_pct);
    SETI("late", st->late);
    SETI("mismatched", st->mismatched);
    SETI("malformed", st->malformed);
    SETI("truncated", st->truncated);
    SETI("send_errors", st->send_errors);
    json_object_set_new(j, "rcodes", rcodes_json(st->rcode));
    SETF("qps", r.qps);
    SETF("sent_qps", r.sent_qps);
    SETF("p50_us", us(dmpb_hist_quantile(&st->hist, 0.5)));
    SETF("p99_us", us(dmpb_hist_quantile(&st->hist, 0.99)));
    SETF("p999_us", us(dmpb_hist_quantile(&st->hist, 0.999)));
    SETF("max_us", us(st->hist.max));
    SETF("mean_us", st->hist.count ? st->hist.sum / (double)st->hist.count / 1000.0 : 0.0);
    SETI("nodata", st->nodata);
    json_object_set_new(j, "transport", json_string(ri->tcp ? "tcp" : "udp"));
    json_object_set_new(j, "io", json_string(ri->uring ? "uring" : "mmsg"));
    SETI("tcp_reconnects", st->reconnects);
    json_object_set_new(j, "checked", json_boolean(ri->checked));
    SETI("right", st->answered - st->wrong - st->unchecked);
    SETI("wrong", st->wrong);
    SETI("unchecked", st->unchecked);
    SETI("tcp_retries", st->tcp_retries);
    SETI("tcp_retry_lost", st->tcp_retry_lost);
    json_t *kinds = json_object();
    for (int k = 0; k < ri->nkinds; k++) {
        const dmpb_kind_stats_t *ks = &st->kind[k];
        json_t *o = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:f, s:f}", "sent",
            (json_int_t)ks->sent, "answered", (json_int_t)ks->answered, "right", (json_int_t)ks->ok,
            "wrong", (json_int_t)kind_wrong(ks), "wrong_rcode", (json_int_t)ks->wrong[DMPB_V_RCODE],
            "wrong_count", (json_int_t)ks->wrong[DMPB_V_COUNT], "wrong_data",
            (json_int_t)ks->wrong[DMPB_V_DATA], "lost", (json_int_t)ks->lost, "truncated",
            (json_int_t)ks->truncated, "tcp_retries", (json_int_t)ks->tcp_retries, "rcodes",
            rcodes_json(ks->rcode), "p50_us", us(dmpb_hist_quantile(&ks->hist, 0.5)), "p99_us",
            us(dmpb_hist_quantile(&ks->hist, 0.99)));
        if (o)
            json_object_set_new(kinds, ri->kind_names[k], o);
    }
    json_object_set_new(j, "kinds", kinds);
#undef SETI
#undef SETF
    return j;
}
