/* dnsmesh-bench dmp: the load of N DMP users on one node, to size a node for a number of users.
 *
 * Every user polls its ten mailbox slots (slot-N.mb-<hash12(recipient_id)>.<zone>, libdmp's
 * wire module names them) once per --poll-interval, spread evenly over the interval: most
 * polls find nothing (NXDOMAIN). Senders publish new messages at --publish-rate over the
 * node's HTTP API (or as TSIG-signed DNS UPDATEs): n chunk records (chunk-NNNN-<hash12>.<zone>, a
 * 168-byte body each), then the signed slot manifest (libdmp's manifest encoder) in the recipient's
 * slot. When a poll finds a manifest it has not seen, the user fetches the message's k data chunks
 * over DNS.
 *
 * Every DNS answer is checked against what was published: a value acknowledged (HTTP 201)
 * before the query left must be in the answer, and every value in it must be one that was
 * published at that name. Reported per kind (empty-slot poll, manifest, chunk, publish):
 * sent, answered, right, wrong, lost, latency. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "bench.h"
#include "bench_dns.h"
#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

#define MAX_USERS 500000
#define MAX_PUBLISHERS 16
#define MAX_N 16 /* chunks per message: k <= 12 */
#define CHUNK_BODY 168

enum { K_POLL, K_MANIFEST, K_CHUNK, K_N };
static const char *const kind_names[K_N] = {"poll-empty", "manifest", "chunk"};

typedef struct {
    const char *target, *http, *token, *zone, *update_key;
    bool remote_ok, json, quiet, fetch_all;
    int64_t users, sockets, batch, window, timeout_ms, publishers, http_conns, chunks, ttl, seed;
    double poll_interval, publish_rate, duration;
} dopts_t;

/* One published message. The publisher fills it before announcing it; the DNS thread owns it
 * after. */
typedef struct {
    uint32_t user, slot, k, n;
    char *chunk_name[MAX_N];
    char *chunk_val[MAX_N];
    char *manifest;
    /* DNS thread only */
    uint32_t chunk_vi[MAX_N], manifest_vi, chunk_first_name;
    bool fetched;
} msg_t;

enum { EV_PENDING, EV_DONE };
typedef struct {
    int type;
    uint32_t msg;
    int64_t chunks_acked_ns, manifest_acked_ns; /* INT64_MAX: not acknowledged */
} event_t;

typedef struct {
    uint64_t messages, messages_ok, records, records_ok, rejected, no_answer, late;
    uint64_t status[6]; /* 1xx..5xx by first digit, [0] = no answer */
    dmpb_hist_t hist;   /* whole message: chunks + manifest */
} pub_stats_t;

typedef struct work work_t;
typedef struct {
    work_t *w;
    int idx;
    pthread_t th;
    pub_stats_t st;
} publisher_t;

struct work {
    dopts_t o;
    char http_ep[128];
    char dns_host[64];
    int dns_port;
    char key_alg[32], key_name[256], key_secret[256]; /* --update-key */
    uint8_t (*rid)[32];                               /* per user */
    uint8_t spk[32], sk[64];
    dmpb_names_t nm;
    dmpb_expect_t ex;
    msg_t *msgs;
    uint64_t max_msgs;
    /* publisher -> DNS thread */
    pthread_mutex_t mu;
    event_t *ev;
    size_t ev_len, ev_cap;
    /* DNS thread */
    uint32_t *fetch;
    size_t fetch_head, fetch_len, fetch_cap;
    int64_t t0;
    double poll_step_ns; /* between two polls (of any user) */
    uint64_t next_poll, late_polls;
    int64_t t_end;
};

static void dopts_usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-bench dmp --target ADDR:PORT --http ADDR:PORT [options]\n"
            "\n"
            "The DNS and HTTP load of N DMP users on one node. Each user polls its ten mailbox\n"
            "slots once per --poll-interval (spread evenly: 10 x users / interval queries/s,\n"
            "mostly NXDOMAIN); senders publish messages at --publish-rate over HTTP (n chunk\n"
            "records, then the signed slot manifest); a user that finds a new manifest fetches\n"
            "its k data chunks over DNS. Every answer is checked against what was published.\n"
            "\n"
            "  --target ADDR:PORT   the node's DNS address\n"
            "  --http ADDR:PORT     the node's HTTP API (POST /v1/records) for publishing\n"
            "  --target-is-mine     allow addresses outside loopback (a node you run)\n"
            "  --token T            bearer token for the HTTP API, if the node wants one\n"
            "  --update-key ALG:NAME:SECRET_B64   publish with TSIG-signed DNS UPDATEs to\n"
            "                       --target instead of over HTTP (one UPDATE per record)\n"
            "  --zone Z             the node's served zone (default mesh.test)\n"
            "  --users N            simulated users (default 1000, max %d)\n"
            "  --poll-interval S    seconds between two polls of a user's slots (default 30)\n"
            "  --publish-rate M     messages published per second, 0 = none (default 2)\n"
            "  --chunks K           data chunks per message, 1..12 (default 0 = 3..8 at random;\n"
            "                       n = K + ceil(3K/10) chunk records are published)\n"
            "  --fetch-all          fetch all n chunks of a message, not only k\n"
            "  --duration S         seconds of load (default 30, max 3600)\n"
            "  --publishers N       publishing threads (default 2, max %d)\n"
            "  --http-conns N       HTTP connections per publisher (default 8)\n"
            "  --ttl S              TTL of published records (default 3600)\n"
            "  --sockets/--batch/--window/--timeout-ms   as for `dnsmesh-bench dns` (default\n"
            "                       4 / 32 / 512 / 2000)\n"
            "  --seed N             names and values (default: from the clock, so runs do not\n"
            "                       see each other's records)\n"
            "  --json               one JSON object\n"
            "  --quiet              no progress line\n"
            "\n"
            "Prints per kind (poll-empty: a poll of a slot with nothing acknowledged, answered\n"
            "NXDOMAIN; manifest: a poll of a slot holding manifests; chunk: a chunk fetch):\n"
            "sent, answered, right, wrong, lost, p50/p99 latency; and for publishing: messages,\n"
            "records, 201s, rejected (other statuses), no answer, late starts, latency per\n"
            "message. Exit 0 if nothing was wrong or lost, 3 otherwise, 2 on bad arguments.\n",
            MAX_USERS, MAX_PUBLISHERS);
}

static int dparse(int argc, char **argv, dopts_t *o)
{
    *o = (dopts_t){.zone = "mesh.test",
                   .users = 1000,
                   .sockets = 4,
                   .batch = 32,
                   .window = 512,
                   .timeout_ms = 2000,
                   .publishers = 2,
                   .http_conns = 8,
                   .ttl = 3600,
                   .seed = -1,
                   .poll_interval = 30,
                   .publish_rate = 2,
                   .duration = 30};
    const dmpb_opt_t tab[] = {
        DMPB_FLAG("--json", &o->json),
        DMPB_FLAG("--quiet", &o->quiet),
        DMPB_FLAG("--fetch-all", &o->fetch_all),
        DMPB_FLAG("--target-is-mine", &o->remote_ok),
        DMPB_STR("--target", &o->target),
        DMPB_STR("--http", &o->http),
        DMPB_STR("--token", &o->token),
        DMPB_STR("--update-key", &o->update_key),
        DMPB_STR("--zone", &o->zone),
        DMPB_I64("--users", &o->users, 1, MAX_USERS),
        DMPB_DBL("--poll-interval", &o->poll_interval, 0.001, 86400),
        DMPB_DBL("--publish-rate", &o->publish_rate, 0, 100000),
        DMPB_I64("--chunks", &o->chunks, 0, 12),
        DMPB_DBL("--duration", &o->duration, 0.1, 3600),
        DMPB_I64("--publishers", &o->publishers, 1, MAX_PUBLISHERS),
        DMPB_I64("--http-conns", &o->http_conns, 1, 64),
        DMPB_I64("--ttl", &o->ttl, 1, 86400 * 30),
        DMPB_I64("--sockets", &o->sockets, 1, DMPB_MAX_SOCKETS),
        DMPB_I64("--batch", &o->batch, 1, DMPB_MAX_BATCH),
        DMPB_I64("--window", &o->window, 1, DMPB_MAX_WINDOW),
        DMPB_I64("--timeout-ms", &o->timeout_ms, 1, 60000),
        DMPB_I64("--seed", &o->seed, 0, INT64_MAX),
    };
    if (dmpb_opts_parse("dmp", tab, sizeof tab / sizeof tab[0], argc, argv, dopts_usage) != 0)
        return -1;
    if (!o->target || (!o->http && !o->update_key && o->publish_rate > 0)) {
        fprintf(stderr, "dmp: give --target ADDR:PORT and --http ADDR:PORT (or --update-key)\n");
        return -1;
    }
    if (o->window < o->sockets) {
        fprintf(stderr, "dmp: --window must be at least --sockets\n");
        return -1;
    }
    return 0;
}

/* ---- publishing (publisher threads) ------------------------------------------------------------
 */

static void push_event(work_t *w, event_t ev)
{
    pthread_mutex_lock(&w->mu);
    if (w->ev_len == w->ev_cap) {
        size_t nc = w->ev_cap ? w->ev_cap * 2 : 256;
        event_t *n = realloc(w->ev, nc * sizeof(*n));
        if (n) {
            w->ev = n;
            w->ev_cap = nc;
        }
    }
    if (w->ev_len < w->ev_cap)
        w->ev[w->ev_len++] = ev;
    pthread_mutex_unlock(&w->mu);
}

/* Builds message j's records (names, values) into w->msgs[j]; 0 or -1. */
static int make_message(work_t *w, uint32_t j, uint64_t *rng, dmp_wire_manifest_t *m)
{
    msg_t *mg = &w->msgs[j];
    mg->user = (uint32_t)(dmpb_rand(rng) % (uint64_t)w->o.users);
    uint32_t k = w->o.chunks ? (uint32_t)w->o.chunks : 3 + (uint32_t)(dmpb_rand(rng) % 6);
    uint32_t n = k + (3 * k + 9) / 10;
    mg->k = k;
    mg->n = n;
    memset(m, 0, sizeof(*m));
    randombytes_buf(m->msg_id, sizeof(m->msg_id));
    memcpy(m->sender_spk, w->spk, 32);
    memcpy(m->recipient_id, w->rid[mg->user], 32);
    m->total_chunks = n;
    m->data_chunks = k;
    m->ts = (uint64_t)time(NULL);
    m->exp = m->ts + (uint64_t)w->o.ttl;
    m->has_hashes = true;
    mg->slot = dmp_wire_slot_for_msg_id(m->msg_id);
    dmp_buf_t b;
    dmp_buf_init(&b);
    char name[256];
    for (uint32_t i = 0; i < n; i++) {
        uint8_t body[CHUNK_BODY];
        randombytes_buf(body, sizeof(body));
        dmp_crypto_sha256(body, sizeof(body), m->chunk_hashes[i]);
        b.len = 0;
        if (dmp_wire_chunk_encode(body, sizeof(body), &b) != 0 || dmp_buf_append_u8(&b, 0) != 0 ||
            dmp_wire_name_chunk(i, m->msg_id, m->recipient_id, m->sender_spk, w->o.zone, name,
                                sizeof(name)) != 0)
            goto fail;
        mg->chunk_val[i] = strdup((const char *)b.data);
        mg->chunk_name[i] = strdup(name);
        if (!mg->chunk_val[i] || !mg->chunk_name[i])
            goto fail;
    }
    b.len = 0;
    if (dmp_wire_manifest_encode(m, w->sk, &b) != 0 || dmp_buf_append_u8(&b, 0) != 0)
        goto fail;
    mg->manifest = strdup((const char *)b.data);
    dmp_buf_free(&b);
    return mg->manifest ? 0 : -1;
fail:
    dmp_buf_free(&b);
    return -1;
}

static void count_status(pub_stats_t *st, const dmp_client_http_result_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st->records++;
        int s = r[i].status;
        st->status[s >= 100 && s < 600 ? s / 100 : 0]++;
        if (s == 201)
            st->records_ok++;
        else if (s == 0)
            st->no_answer++;
        else
            st->rejected++;
    }
}

/* Publishes recs[0..n) over HTTP (concurrently) or, with --update-key, one TSIG-signed UPDATE
 * each; res[i].status is 201 for an acknowledged record (UPDATE: NOERROR), 0 without answer. */
static void publish(work_t *w, dmp_client_http_t *h, const dmp_client_record_t *recs, size_t n,
                    dmp_client_http_result_t *res)
{
    memset(res, 0, n * sizeof(*res));
    if (!w->o.update_key) {
        (void)dmp_client_http_publish(h, recs, n, res);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = NULL;
        size_t ql = 0;
        int rcode = -1;
        if (dmp_client_update_build(w->o.zone, recs[i].name, recs[i].value, recs[i].value_len,
                                    recs[i].ttl, false, w->key_name, w->key_secret, w->key_alg, &q,
                                    &ql) == 0 &&
            dmp_client_update_send(w->dns_host, (uint16_t)w->dns_port, q, ql, (int)w->o.timeout_ms,
                                   &rcode) == 0)
            res[i].status = rcode == 0 ? 201 : 400 + rcode; /* rejected: 4xx-like */
        free(q);
    }
}

static void *publisher_main(void *arg)
{
    publisher_t *p = arg;
    work_t *w = p->w;
    dmp_client_http_t h;
    dmp_wire_manifest_t *m = malloc(sizeof(*m));
    memset(&h, 0, sizeof(h));
    bool http = !w->o.update_key;
    if (!m || (http &&
               dmp_client_http_init(&h, w->http_ep, w->o.token, (unsigned)w->o.http_conns) != 0)) {
        fprintf(stderr, "dmp: cannot set up the HTTP client\n");
        free(m);
        return NULL;
    }
    h.max_retries = 0; /* a load tool reports 429/503, it does not wait them out */
    h.max_transport_retries = 0;
    uint64_t rng = (uint64_t)(w->o.seed + 1) * 0x9E3779B97F4A7C15ULL + (uint64_t)p->idx + 1;
    dmp_client_record_t recs[MAX_N];
    dmp_client_http_result_t res[MAX_N];
    for (uint64_t j = (uint64_t)p->idx; j < w->max_msgs; j += (uint64_t)w->o.publishers) {
        int64_t due = w->t0 + (int64_t)((double)j * 1e9 / w->o.publish_rate);
        if (due >= w->t_end || dmpb_stop)
            break;
        int64_t now = dmpb_now_ns();
        while (now < due && !dmpb_stop) {
            struct timespec ts = {0, (long)(due - now < 50000000 ? due - now : 50000000)};
            nanosleep(&ts, NULL);
            now = dmpb_now_ns();
        }
        if (now - due > 10000000)
            p->st.late++;
        if (make_message(w, (uint32_t)j, &rng, m) != 0) {
            fprintf(stderr, "dmp: cannot build message %llu\n", (unsigned long long)j);
            break;
        }
        msg_t *mg = &w->msgs[j];
        push_event(w, (event_t){EV_PENDING, (uint32_t)j, INT64_MAX, INT64_MAX});
        int64_t t = dmpb_now_ns();
        for (uint32_t i = 0; i < mg->n; i++) {
            memset(&recs[i], 0, sizeof(recs[i]));
            snprintf(recs[i].name, sizeof(recs[i].name), "%s", mg->chunk_name[i]);
            recs[i].value = mg->chunk_val[i];
            recs[i].value_len = strlen(mg->chunk_val[i]);
            recs[i].ttl = (uint32_t)w->o.ttl;
        }
        publish(w, &h, recs, mg->n, res);
        count_status(&p->st, res, mg->n);
        bool ok = true;
        for (uint32_t i = 0; i < mg->n; i++)
            ok = ok && res[i].status == 201;
        int64_t chunks_ns = ok ? dmpb_now_ns() : INT64_MAX;
        /* the manifest goes last, as a sender's does: it points at the chunks */
        memset(&recs[0], 0, sizeof(recs[0]));
        dmp_wire_name_slot(w->rid[mg->user], mg->slot, w->o.zone, recs[0].name,
                           sizeof(recs[0].name));
        recs[0].value = mg->manifest;
        recs[0].value_len = strlen(mg->manifest);
        recs[0].ttl = (uint32_t)w->o.ttl;
        publish(w, &h, recs, 1, res);
        count_status(&p->st, res, 1);
        int64_t man_ns = res[0].status == 201 ? dmpb_now_ns() : INT64_MAX;
        p->st.messages++;
        if (ok && man_ns != INT64_MAX) {
            p->st.messages_ok++;
            dmpb_hist_add(&p->st.hist, (uint64_t)(man_ns - t));
        }
        push_event(w, (event_t){EV_DONE, (uint32_t)j, chunks_ns, man_ns});
    }
    if (http)
        dmp_client_http_free(&h);
    free(m);
    return NULL;
}

/* ---- the DNS side (one thread) ------------------------------------------------------------------
 */

static int fetch_push(work_t *w, uint32_t name)
{
    if (w->fetch_len == w->fetch_cap) {
        size_t nc = w->fetch_cap ? w->fetch_cap * 2 : 1024;
        uint32_t *n = malloc(nc * sizeof(*n));
        if (!n)
            return -1;
        for (size_t i = 0; i < w->fetch_len; i++)
            n[i] = w->fetch[(w->fetch_head + i) % (w->fetch_cap ? w->fetch_cap : 1)];
        free(w->fetch);
        w->fetch = n;
        w->fetch_cap = nc;
        w->fetch_head = 0;
    }
    w->fetch[(w->fetch_head + w->fetch_len++) % w->fetch_cap] = name;
    return 0;
}

/* Folds the publishers' events into the names and the expected answers. */
static void sync_events(void *ctx)
{
    work_t *w = ctx;
    pthread_mutex_lock(&w->mu); /* uncontended almost always: about 20 ns a loop */
    for (size_t e = 0; e < w->ev_len; e++) {
        event_t *ev = &w->ev[e];
        msg_t *mg = &w->msgs[ev->msg];
        if (ev->type == EV_PENDING) {
            mg->manifest_vi = UINT32_MAX;
            for (uint32_t i = 0; i < MAX_N; i++)
                mg->chunk_vi[i] = UINT32_MAX;
            mg->chunk_first_name = (uint32_t)w->nm.n;
            for (uint32_t i = 0; i < mg->n; i++) {
                int64_t ent = dmpb_expect_entry_new(&w->ex);
                if (ent < 0 || dmpb_names_add(&w->nm, mg->chunk_name[i], strlen(mg->chunk_name[i]),
                                              16, K_CHUNK) != 0)
                    continue;
                w->nm.exp[w->nm.n - 1] = DMPB_EXP_ENTRY + (uint32_t)ent;
                mg->chunk_vi[i] = (uint32_t)dmpb_expect_value_add(
                    &w->ex, (uint32_t)ent, (const uint8_t *)mg->chunk_val[i],
                    strlen(mg->chunk_val[i]), INT64_MAX, 0);
            }
            uint32_t sn = mg->user * 10 + mg->slot;
            if (w->nm.exp[sn] < DMPB_EXP_ENTRY) {
                int64_t ent = dmpb_expect_entry_new(&w->ex);
                if (ent >= 0)
                    w->nm.exp[sn] = DMPB_EXP_ENTRY + (uint32_t)ent;
            }
            if (w->nm.exp[sn] >= DMPB_EXP_ENTRY)
                mg->manifest_vi = (uint32_t)dmpb_expect_value_add(
                    &w->ex, w->nm.exp[sn] - DMPB_EXP_ENTRY, (const uint8_t *)mg->manifest,
                    strlen(mg->manifest), INT64_MAX, ev->msg + 1);
        } else {
            for (uint32_t i = 0; i < mg->n; i++)
                if (mg->chunk_vi[i] < w->ex.nvals)
                    w->ex.vals[mg->chunk_vi[i]].acked_ns = ev->chunks_acked_ns;
            if (mg->manifest_vi < w->ex.nvals)
                w->ex.vals[mg->manifest_vi].acked_ns = ev->manifest_acked_ns;
        }
    }
    w->ev_len = 0;
    pthread_mutex_unlock(&w->mu);
}

/* A right answer carried value vi: a manifest not seen before makes its user fetch chunks. */
static void on_value(void *ctx, uint32_t vi)
{
    work_t *w = ctx;
    uint32_t tag = w->ex.vals[vi].tag;
    if (tag == 0)
        return;
    msg_t *mg = &w->msgs[tag - 1];
    if (mg->fetched)
        return;
    mg->fetched = true;
    uint32_t want = w->o.fetch_all ? mg->n : mg->k;
    for (uint32_t i = 0; i < want; i++)
        (void)fetch_push(w, mg->chunk_first_name + i);
}

static int64_t dmp_pick(void *ctx, int64_t now, uint8_t *kind)
{
    work_t *w = ctx;
    if (w->fetch_len) {
        uint32_t name = w->fetch[w->fetch_head];
        w->fetch_head = (w->fetch_head + 1) % w->fetch_cap;
        w->fetch_len--;
        *kind = K_CHUNK;
        return name;
    }
    int64_t due = w->t0 + (int64_t)((double)w->next_poll * w->poll_step_ns);
    if (now < due)
        return -1;
    if (now - due > 10000000)
        w->late_polls++;
    uint32_t name = (uint32_t)(w->next_poll % (uint64_t)(w->o.users * 10));
    w->next_poll++;
    *kind = K_POLL;
    uint32_t x = w->nm.exp[name];
    if (x >= DMPB_EXP_ENTRY)
        for (uint32_t v = w->ex.ents[x - DMPB_EXP_ENTRY].first; v; v = w->ex.vals[v - 1].next)
            if (w->ex.vals[v - 1].acked_ns <= now)
                *kind = K_MANIFEST;
    return name;
}

static void print_pub(FILE *f, const pub_stats_t *p, double rate, double secs)
{
    fprintf(f,
            "publish: %llu messages (%.1f/s offered, %.1f/s done), %llu fully acknowledged; "
            "%llu records, %llu acknowledged (201 / NOERROR), %llu rejected, %llu no answer; %llu "
            "started late\n",
            (unsigned long long)p->messages, rate, secs > 0 ? (double)p->messages / secs : 0,
            (unsigned long long)p->messages_ok, (unsigned long long)p->records,
            (unsigned long long)p->records_ok, (unsigned long long)p->rejected,
            (unsigned long long)p->no_answer, (unsigned long long)p->late);
    fprintf(f, "publish latency per message (chunks + manifest): p50 %.2f ms  p99 %.2f ms\n",
            (double)dmpb_hist_quantile(&p->hist, 0.5) / 1e6,
            (double)dmpb_hist_quantile(&p->hist, 0.99) / 1e6);
}

static void free_work(work_t *w)
{
    for (uint64_t j = 0; w->msgs && j < w->max_msgs; j++) {
        for (uint32_t i = 0; i < MAX_N; i++) {
            free(w->msgs[j].chunk_name[i]);
            free(w->msgs[j].chunk_val[i]);
        }
        free(w->msgs[j].manifest);
    }
    free(w->msgs);
    free(w->rid);
    free(w->ev);
    free(w->fetch);
    dmpb_names_free(&w->nm);
    dmpb_expect_free(&w->ex);
    sodium_memzero(w->sk, sizeof(w->sk));
    sodium_memzero(w->key_secret, sizeof(w->key_secret));
    pthread_mutex_destroy(&w->mu);
}

static int dmp_main(int argc, char **argv)
{
    work_t *w = calloc(1, sizeof(*w));
    if (!w)
        return 2;
    pthread_mutex_init(&w->mu, NULL);
    int ret = 2;
    dmpb_gen_t *g = NULL;
    dmpb_stats_t *st = calloc(1, sizeof(*st));
    publisher_t *pubs = calloc(MAX_PUBLISHERS, sizeof(*pubs));
    int npub = 0;
    dmpb_gen_cfg_t cfg = {0};
    if (!st || !pubs || dparse(argc, argv, &w->o) != 0 || sodium_init() < 0)
        goto out;
    dopts_t *o = &w->o;
    char host[64];
    int port;
    if (dmpb_target_parse(o->target, -1, o->remote_ok, &cfg.target, &cfg.target_len, host, &port) !=
        0)
        goto out;
    snprintf(w->dns_host, sizeof(w->dns_host), "%s", host);
    w->dns_port = port;
    if (o->update_key) {
        const char *c1 = strchr(o->update_key, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c1 - o->update_key >= (long)sizeof(w->key_alg) ||
            c2 - c1 - 1 >= (long)sizeof(w->key_name) || strlen(c2 + 1) >= sizeof(w->key_secret)) {
            fprintf(stderr, "dmp: --update-key must be ALG:NAME:SECRET_B64\n");
            goto out;
        }
        memcpy(w->key_alg, o->update_key, (size_t)(c1 - o->update_key));
        memcpy(w->key_name, c1 + 1, (size_t)(c2 - c1 - 1));
        snprintf(w->key_secret, sizeof(w->key_secret), "%s", c2 + 1);
    }
    if (o->http) {
        struct sockaddr_storage hs;
        socklen_t hl;
        char hh[64];
        int hp;
        if (dmpb_target_parse(o->http, -1, o->remote_ok, &hs, &hl, hh, &hp) != 0)
            goto out;
        snprintf(w->http_ep, sizeof(w->http_ep),
                 strchr(hh, ':') ? "http://[%s]:%d" : "http://%s:%d", hh, hp);
    }
    if (o->seed < 0)
        o->seed = dmpb_now_ns() & INT64_MAX;
    if (dmpb_expect_init(&w->ex, o->zone) != 0)
        goto out;
    /* users: recipient_id = SHA-256 of a per-run, per-user string (stands for SHA-256(x25519
     * pk)); their slot names are names 10u..10u+9 */
    w->rid = calloc((size_t)o->users, 32);
    if (!w->rid)
        goto out;
    char name[256], seedtxt[64];
    for (int64_t u = 0; u < o->users; u++) {
        int l = snprintf(seedtxt, sizeof(seedtxt), "dnsmesh-bench %lld %lld", (long long)o->seed,
                         (long long)u);
        dmp_crypto_sha256((const uint8_t *)seedtxt, (size_t)l, w->rid[u]);
        for (unsigned s = 0; s < 10; s++) {
            if (dmp_wire_name_slot(w->rid[u], s, o->zone, name, sizeof(name)) != 0 ||
                dmpb_names_add(&w->nm, name, strlen(name), 16, K_POLL) != 0)
                goto out;
            w->nm.exp[w->nm.n - 1] = DMPB_EXP_NXDOMAIN;
        }
    }
    crypto_sign_keypair(w->spk, w->sk);
    w->max_msgs = (uint64_t)(o->publish_rate * o->duration) + 1;
    w->msgs = calloc(w->max_msgs, sizeof(*w->msgs));
    if (!w->msgs)
        goto out;
    cfg.sockets = (int)o->sockets;
    cfg.batch = (int)o->batch;
    cfg.window = (int)o->window;
    cfg.timeout_ms = o->timeout_ms;
    cfg.edns = 1232;
    cfg.tc_retry = true;
    cfg.show_wrong = 5;
    cfg.kind_names = kind_names;
    cfg.nkinds = K_N;
    cfg.names = &w->nm;
    cfg.expect = &w->ex;
    cfg.pick = dmp_pick;
    cfg.sync = sync_events;
    cfg.on_value = on_value;
    cfg.ctx = w;
    if (dmpb_gen_new(&cfg, &g) != 0)
        goto out;
    dmpb_catch_signals();
    w->poll_step_ns = o->poll_interval * 1e9 / (double)(o->users * 10);
    w->t0 = dmpb_now_ns();
    w->t_end = w->t0 + (int64_t)(o->duration * 1e9);
    if (o->publish_rate > 0)
        for (npub = 0; npub < o->publishers; npub++) {
            pubs[npub].w = w;
            pubs[npub].idx = npub;
            if (pthread_create(&pubs[npub].th, NULL, publisher_main, &pubs[npub]) != 0)
                break;
        }
    dmpb_gen_run(g, o->duration, INT64_MAX, 0, !o->quiet && !o->json, NULL, st);
    pub_stats_t ps = {0};
    for (int i = 0; i < npub; i++) {
        pthread_join(pubs[i].th, NULL);
        pub_stats_t *q = &pubs[i].st;
        ps.messages += q->messages;
        ps.messages_ok += q->messages_ok;
        ps.records += q->records;
        ps.records_ok += q->records_ok;
        ps.rejected += q->rejected;
        ps.no_answer += q->no_answer;
        ps.late += q->late;
        for (int k = 0; k < 6; k++)
            ps.status[k] += q->status[k];
        for (int b = 0; b < DMPB_HIST_BUCKETS; b++)
            ps.hist.b[b] += q->hist.b[b];
        ps.hist.count += q->hist.count;
        ps.hist.sum += q->hist.sum;
        if (q->hist.max > ps.hist.max)
            ps.hist.max = q->hist.max;
    }
    npub = 0;
    char target[100];
    snprintf(target, sizeof(target), "%s", o->target);
    dmpb_report_info_t ri = {target,          "dmp",
                             (int)o->sockets, (int)o->batch,
                             (int)o->window,  false,
                             false,           true,
                             w->nm.n,         10.0 * (double)o->users / o->poll_interval,
                             kind_names,      K_N};
    if (o->json) {
        json_t *j = dmpb_report_json(&ri, st);
        if (j) {
            json_object_set_new(
                j, "publish",
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "messages",
                          (json_int_t)ps.messages, "messages_ok", (json_int_t)ps.messages_ok,
                          "records", (json_int_t)ps.records, "records_ok",
                          (json_int_t)ps.records_ok, "rejected", (json_int_t)ps.rejected,
                          "no_answer", (json_int_t)ps.no_answer, "late", (json_int_t)ps.late,
                          "offered_per_s", o->publish_rate, "p50_ms",
                          (double)dmpb_hist_quantile(&ps.hist, 0.5) / 1e6, "p99_ms",
                          (double)dmpb_hist_quantile(&ps.hist, 0.99) / 1e6));
            json_object_set_new(j, "users", json_integer(o->users));
            json_object_set_new(j, "poll_interval_s", json_real(o->poll_interval));
            json_object_set_new(j, "late_polls", json_integer((json_int_t)w->late_polls));
            char *txt = json_dumps(j, JSON_COMPACT);
            if (txt)
                printf("%s\n", txt);
            free(txt);
            json_decref(j);
        }
    } else {
        printf("%lld users polling 10 slots every %.1f s = %.0f polls/s offered (%llu started "
               "more than 10 ms late)\n",
               (long long)o->users, o->poll_interval, ri.rate, (unsigned long long)w->late_polls);
        dmpb_report_text(stdout, &ri, st);
        print_pub(stdout, &ps, o->publish_rate, o->duration);
    }
    ret = st->wrong || st->lost || ps.rejected || ps.no_answer ? 3 : 0;
out:
    if (npub > 0) {
        dmpb_stop = 1;
        for (int i = 0; i < npub; i++)
            pthread_join(pubs[i].th, NULL);
    }
    dmpb_gen_free(g);
    free_work(w);
    free(w);
    free(st);
    free(pubs);
    return ret;
}

static const dmp_bench_cmd_t cmd = {
    "dmp", "DMP workload: N users polling mailbox slots, fetching chunks, publishing (sizing)",
    dmp_main};
DMP_BENCH_REGISTER(cmd)
