/* client: the HTTP writer (client.md §5.9): POST/DELETE /v1/records/<name> with a bearer token,
 * over up to `conns` keep-alive connections used at once (libcurl multi). 429/503 and transport
 * failures are retried with back-off, a bounded number of times. Several records go to a
 * dnsmesh-c node as batches, POST /v1/records (docs/client.md "Publishing"). */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "client/client.h"
#include "util/util.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_global(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int dmp_client_endpoint_normalize(const char *in, char *out, size_t cap)
{
    if (!in || !out)
        return DMP_EINVAL;
    const uint8_t *p = (const uint8_t *)in;
    size_t n = strlen(in);
    dmp_py_strip(&p, &n);
    while (n && p[n - 1] == '/')
        n--;
    if (n == 0)
        return DMP_EFORMAT;
    bool has_scheme = false;
    for (size_t i = 0; i + 2 < n; i++)
        if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/')
            has_scheme = true;
    int w = snprintf(out, cap, "%s%.*s", has_scheme ? "" : "https://", (int)n, (const char *)p);
    return w < 0 || (size_t)w >= cap ? DMP_ETOOBIG : 0;
}

int dmp_client_http_init(dmp_client_http_t *h, const char *endpoint, const char *token,
                         unsigned conns)
{
    memset(h, 0, sizeof(*h));
    pthread_once(&curl_once, curl_global);
    int rc = dmp_client_endpoint_normalize(endpoint, h->endpoint, sizeof(h->endpoint));
    if (rc)
        return rc;
    if (token && *token &&
        snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token) >=
            (int)sizeof(h->auth))
        return DMP_ETOOBIG;
    h->conns = conns ? (conns > 64 ? 64 : conns) : 1;
    h->timeout_ms = 15000;
    h->max_retries = 6;
    h->retry_budget_ms = 60000;
    h->max_transport_retries = 2;
    h->batch_max = DMP_CLIENT_HTTP_BATCH_MAX;
    h->multi = curl_multi_init();
    h->easy = calloc(h->conns, sizeof(*h->easy));
    if (!h->multi || !h->easy) {
        dmp_client_http_free(h);
        return DMP_ENOMEM;
    }
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->conns);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->conns);
    for (unsigned i = 0; i < h->conns; i++) {
        if (!(h->easy[i] = curl_easy_init())) {
            dmp_client_http_free(h);
            return DMP_ENOMEM;
        }
    }
    return 0;
}

void dmp_client_http_free(dmp_client_http_t *h)
{
    if (h->easy) {
        for (unsigned i = 0; i < h->conns; i++)
            if (h->easy[i])
                curl_easy_cleanup(h->easy[i]);
        free(h->easy);
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    h->easy = NULL;
    h->multi = NULL;
    dmp_wipe(h->auth, sizeof(h->auth)); /* the bearer token */
}

/* One request in flight on a pooled handle. */
typedef struct {
    size_t idx; /* index into the caller's list */
    char *body;
    dmp_buf_t resp;
    struct curl_slist *hdrs;
    unsigned tries;
    int64_t not_before_ms;
    int64_t first_ms; /* when the first answer came: bounds the 429/503 retries */
} job_t;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    dmp_buf_t *b = ud;
    size_t n = sz * nm;
    if (b->len + n > 65536)
        return 0; /* no answer of ours is that large */
    return dmp_buf_append(b, p, n) == 0 ? n : 0;
}

static void error_text(const dmp_buf_t *resp, char *out, size_t cap)
{
    out[0] = 0;
    if (!resp->len)
        return;
    json_error_t e;
    json_t *j = json_loadb((const char *)resp->data, resp->len, 0, &e);
    const char *m = j ? json_string_value(json_object_get(j, "error")) : NULL;
    if (m)
        snprintf(out, cap, "%s", m);
    else
        snprintf(out, cap, "%.*s", (int)(resp->len < cap - 1 ? resp->len : cap - 1),
                 (const char *)resp->data);
    json_decref(j);
}

/* Percent-encodes nothing: record names are DNS names ([A-Za-z0-9._-]), checked by the node. */
static int setup(dmp_client_http_t *h, CURL *e, const char *method, const char *path,
                 const char *body, job_t *j)
{
    char url[1200];
    if (snprintf(url, sizeof(url), "%s%s", h->endpoint, path) >= (int)sizeof(url))
        return DMP_ETOOBIG;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &j->resp);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
    if (h->auth[0])
        j->hdrs = curl_slist_append(j->hdrs, h->auth);
    if (body) {
        j->hdrs = curl_slist_append(j->hdrs, "Content-Type: application/json");
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    j->hdrs = curl_slist_append(j->hdrs, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->hdrs);
    j->resp.len = 0;
    return 0;
}

static int64_t mono_ms(void)
{
    return dmp_monotonic_ns() / 1000000;
}

typedef struct {
    const char *method;
    char path[600];
    char *body;    /* owned */
    bool no_retry; /* a 429/503 is the answer, not retried (a batch falls back to singles) */
} req_t;

/* Runs reqs over the pool; res[i] gets each outcome and, when bodies is not NULL, bodies[i]
 * (zeroed by the caller, freed with dmp_buf_free) the last answer's body. Returns 0 (check res)
 * or DMP_ENOMEM. */
static int run_bodies(dmp_client_http_t *h, req_t *reqs, size_t n, dmp_client_http_result_t *res,
                      dmp_buf_t *bodies)
{
    job_t *jobs = calloc(n ? n : 1, sizeof(*jobs));
    job_t **slot = calloc(h->conns, sizeof(*slot)); /* job on easy[i] or NULL */
    if (!jobs || !slot) {
        free(jobs);
        free(slot);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i].idx = i;
        dmp_buf_init(&jobs[i].resp);
        res[i].status = 0;
        res[i].error[0] = 0;
    }
    size_t next = 0, done = 0;
    /* retry queue: jobs to run again, in order */
    size_t *retry = calloc(n ? n : 1, sizeof(*retry));
    size_t rq_head = 0, rq_tail = 0;
    if (!retry) {
        free(jobs);
        free(slot);
        return DMP_ENOMEM;
    }
    CURLM *m = h->multi;
    /* connections in use: lowered when the node refuses connections (a per-address cap) */
    unsigned limit = h->conns;
    while (done < n) {
        /* fill idle handles */
        for (unsigned c = 0; c < limit; c++) {
            if (slot[c])
                continue;
            job_t *j = NULL;
            if (rq_head < rq_tail && jobs[retry[rq_head % n]].not_before_ms <= mono_ms())
                j = &jobs[retry[rq_head++ % n]];
            else if (next < n)
                j = &jobs[next++];
            if (!j)
                break;
            req_t *r = &reqs[j->idx];
            if (setup(h, h->easy[c], r->method, r->path, r->body, j)) {
                res[j->idx].status = 0;
                snprintf(res[j->idx].error, sizeof(res[j->idx].error), "URL too long");
                done++;
                continue;
            }
            slot[c] = j;
            curl_multi_add_handle(m, h->easy[c]);
            h->requests++;
        }
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            job_t *j = NULL;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
            long code = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
            CURLcode cc = msg->data.result;
            curl_multi_remove_handle(m, e);
            for (unsigned c = 0; c < h->conns; c++)
                if (slot[c] == j)
                    slot[c] = NULL;
            dmp_client_http_result_t *o = &res[j->idx];
            o->status = cc == CURLE_OK ? (int)code : 0;
            if (cc != CURLE_OK)
                snprintf(o->error, sizeof(o->error), "%s", curl_easy_strerror(cc));
            else
                error_text(&j->resp, o->error, sizeof(o->error));
            bool again = (o->status == 429 || o->status == 503) && !reqs[j->idx].no_retry;
            unsigned cap = h->max_retries;
            unsigned inflight = 0;
            for (unsigned c = 0; c < h->conns; c++)
                inflight += slot[c] != NULL;
            if (o->status == 0 && limit > 1 && inflight + 1 >= limit) {
                /* the node dropped a connection while we had many open: it caps connections
                 * per address (dnsmeshd: DMP_HTTP_MAX_PER_IP), so use fewer and send again
                 * without counting it as a failed try */
                limit = inflight < limit - 1 ? inflight : limit - 1;
                limit = limit ? limit : 1;
                j->not_before_ms = mono_ms() + 50;
                retry[rq_tail++ % n] = j->idx;
                h->retries++;
                continue;
            }
            if (o->status == 0) {
                again = true;
                cap = h->max_transport_retries;
            }
            if (!j->first_ms)
                j->first_ms = mono_ms();
            /* a rate limit (429) or a busy node (503) is waited out for up to retry_budget_ms
             * (a per-token limit of 10/s needs ~25 s for the largest message's 256 writes) */
            bool in_budget = again && o->status != 0 &&
                             (j->tries < cap || mono_ms() - j->first_ms < h->retry_budget_ms);
            if (again && (o->status == 0 ? j->tries < cap : in_budget)) {
                /* back-off: 100 ms, 200, 400, ... capped at 2 s */
                int64_t wait = 100LL << (j->tries < 5 ? j->tries : 5);
                j->tries++;
                j->not_before_ms = mono_ms() + (wait > 2000 ? 2000 : wait);
                retry[rq_tail++ % n] = j->idx;
                h->retries++;
            } else {
                done++;
            }
        }
        if (done >= n)
            break;
        int numfds = 0;
        curl_multi_poll(m, NULL, 0, 20, &numfds);
    }
    for (size_t i = 0; i < n; i++) {
        if (bodies) {
            dmp_buf_free(&bodies[i]);
            bodies[i] = jobs[i].resp;
        } else {
            dmp_buf_free(&jobs[i].resp);
        }
        curl_slist_free_all(jobs[i].hdrs);
    }
    free(retry);
    free(jobs);
    free(slot);
    return 0;
}

static int run(dmp_client_http_t *h, req_t *reqs, size_t n, dmp_client_http_result_t *res)
{
    return run_bodies(h, reqs, n, res, NULL);
}

static char *publish_body(const char *value, size_t len, uint32_t ttl)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "value", json_stringn(value, len));
    json_object_set_new(o, "ttl", json_integer(ttl));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* One request per record: recs[idx[k]] for k < n (idx NULL: every record in order). */
static int publish_singles(dmp_client_http_t *h, const dmp_client_record_t *recs, const size_t *idx,
                           size_t n, dmp_client_http_result_t *res)
{
    req_t *reqs = calloc(n ? n : 1, sizeof(*reqs));
    dmp_client_http_result_t *out = idx ? calloc(n ? n : 1, sizeof(*out)) : res;
    if (!reqs || !out) {
        free(reqs);
        if (idx)
            free(out);
        return DMP_ENOMEM;
    }
    int rc = 0;
    for (size_t k = 0; k < n && !rc; k++) {
        const dmp_client_record_t *r = &recs[idx ? idx[k] : k];
        reqs[k].method = "POST";
        if (snprintf(reqs[k].path, sizeof(reqs[k].path), "/v1/records/%s", r->name) >=
            (int)sizeof(reqs[k].path))
            rc = DMP_ETOOBIG;
        else if (!(reqs[k].body = publish_body(r->value, r->value_len, r->ttl)))
            rc = DMP_ENOMEM;
    }
    if (!rc)
        rc = run(h, reqs, n, out);
    for (size_t k = 0; k < n; k++) {
        free(reqs[k].body);
        if (idx && !rc)
            res[idx[k]] = out[k];
    }
    free(reqs);
    if (idx)
        free(out);
    return rc;
}

static char *batch_body(const dmp_client_record_t *recs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
        json_object_set_new(o, "name", json_string(recs[i].name));
        json_object_set_new(o, "value", json_stringn(recs[i].value, recs[i].value_len));
        json_object_set_new(o, "ttl", json_integer(recs[i].ttl));
    }
    json_t *top = arr ? json_pack("{s:o}", "records", arr) : NULL;
    char *s = top ? json_dumps(top, JSON_COMPACT) : NULL;
    json_decref(top);
    return s;
}

/* A batch's answer counts only as dnsmesh-c's {"ok": true, "stored": n}: a server that answers
 * 201 to a path it does not know must not make records look published. */
static bool batch_stored(const dmp_buf_t *resp, size_t n)
{
    json_error_t e;
    json_t *j = resp->len ? json_loadb((const char *)resp->data, resp->len, 0, &e) : NULL;
    json_t *st = json_object_get(j, "stored");
    bool ok = json_is_true(json_object_get(j, "ok")) && json_is_integer(st) &&
              json_integer_value(st) == (json_int_t)n;
    json_decref(j);
    return ok;
}

/* Bytes a record takes in a batch body at most: its JSON object with jansson's escaping ('"' and
 * '\\' take 2 bytes, other control characters up to 6) and a separating comma. */
static size_t batch_rec_bytes(const dmp_client_record_t *r)
{
    size_t n = sizeof("{\"name\":\"\",\"value\":\"\",\"ttl\":4294967295},");
    const unsigned char *parts[2] = {(const unsigned char *)r->name,
                                     (const unsigned char *)r->value};
    size_t lens[2] = {strlen(r->name), r->value_len};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < lens[k]; i++)
            n += parts[k][i] == '"' || parts[k][i] == '\\' ? 2 : parts[k][i] < 0x20 ? 6 : 1;
    return n;
}

/* Splits recs into chunks of at most bm records and DMP_CLIENT_HTTP_BATCH_BYTES of body each (a
 * record larger than that alone goes in a chunk of its own): start[b] is chunk b's first
 * record, start[nb] == n. Returns nb, or 0 without memory. */
static size_t batch_chunks(const dmp_client_record_t *recs, size_t n, size_t bm, size_t **start)
{
    size_t *st = malloc((n + 1) * sizeof(*st));
    if (!st)
        return 0;
    size_t nb = 0, cnt = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rb = batch_rec_bytes(&recs[i]);
        if (cnt == 0 || cnt == bm || bytes + rb > DMP_CLIENT_HTTP_BATCH_BYTES) {
            st[nb++] = i;
            cnt = 0;
            bytes = sizeof("{\"records\":[]}");
        }
        cnt++;
        bytes += rb;
    }
    st[nb] = n;
    *start = st;
    return nb;
}

/* Batch publish (POST /v1/records, docs/client.md "Publishing"): chunks of up to batch_max
 * records and DMP_CLIENT_HTTP_BATCH_BYTES, each written all or nothing by a dnsmesh-c node. A
 * chunk the node refuses for any reason is sent again one record a request, so every record ends
 * with the answer the single-record path gives it; a node without the endpoint (the reference
 * answers 404) is remembered and gets single requests from then on; a 429 halves the next
 * batches. */
static int publish_batched(dmp_client_http_t *h, const dmp_client_record_t *recs, size_t n,
                           dmp_client_http_result_t *res)
{
    size_t bm = h->batch_max, *start = NULL;
    size_t nb = batch_chunks(recs, n, bm, &start);
    req_t *reqs = calloc(nb ? nb : 1, sizeof(*reqs));
    dmp_client_http_result_t *bres = calloc(nb ? nb : 1, sizeof(*bres));
    dmp_buf_t *bodies = calloc(nb ? nb : 1, sizeof(*bodies));
    size_t *left = calloc(n, sizeof(*left));
    int rc = start && reqs && bres && bodies && left ? 0 : DMP_ENOMEM;
    for (size_t b = 0; b < nb && !rc; b++) {
        reqs[b] = (req_t){.method = "POST", .path = "/v1/records", .no_retry = true};
        if (!(reqs[b].body = batch_body(recs + start[b], start[b + 1] - start[b])))
            rc = DMP_ENOMEM;
    }
    if (!rc)
        rc = run_bodies(h, reqs, nb, bres, bodies);
    size_t nleft = 0;
    bool limited = false;
    for (size_t b = 0; b < nb && !rc; b++) {
        size_t cnt = start[b + 1] - start[b];
        bool ok = bres[b].status == 201 && batch_stored(&bodies[b], cnt);
        limited |= bres[b].status == 429;
        if (!ok && (bres[b].status == 404 || bres[b].status == 405 || bres[b].status == 501 ||
                    bres[b].status == 201))
            h->no_batch = true; /* no such endpoint: single requests from now on */
        if (ok)
            h->batches++;
        else
            h->batch_fallbacks++;
        for (size_t i = start[b]; i < start[b + 1]; i++) {
            if (ok)
                res[i] = (dmp_client_http_result_t){.status = 201};
            else
                left[nleft++] = i;
        }
    }
    /* a bucket that refused a batch may never hold one that large: smaller ones next time */
    if (limited)
        h->batch_max = bm / 2 >= 2 ? (unsigned)(bm / 2) : 2;
    if (!rc && nleft)
        rc = publish_singles(h, recs, left, nleft, res);
    for (size_t b = 0; reqs && b < nb; b++)
        free(reqs[b].body);
    for (size_t b = 0; bodies && b < nb; b++)
        dmp_buf_free(&bodies[b]);
    free(start);
    free(reqs);
    free(bres);
    free(bodies);
    free(left);
    return rc;
}

int dmp_client_http_publish(dmp_client_http_t *h, const dmp_client_record_t *recs, size_t n,
                            dmp_client_http_result_t *res)
{
    if (!h || (!recs && n) || (!res && n))
        return DMP_EINVAL;
    if (n >= 2 && h->batch_max >= 2 && !h->no_batch)
        return publish_batched(h, recs, n, res);
    return publish_singles(h, recs, NULL, n, res);
}

int dmp_client_http_delete(dmp_client_http_t *h, const char *name, const char *value,
                           dmp_client_http_result_t *res)
{
    req_t r = {.method = "DELETE"};
    if (snprintf(r.path, sizeof(r.path), "/v1/records/%s", name) >= (int)sizeof(r.path))
        return DMP_ETOOBIG;
    if (value) {
        json_t *o = json_pack("{s:s}", "value", value);
        r.body = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (!r.body)
            return DMP_ENOMEM;
    }
    int rc = run(h, &r, 1, res);
    free(r.body);
    return rc;
}

int dmp_client_http_request(dmp_client_http_t *h, const char *method, const char *path,
                            const char *json_body, int *status, dmp_buf_t *resp)
{
    if (!h || !method || !path || !status)
        return DMP_EINVAL;
    CURL *e = h->easy[0];
    job_t j = {0};
    dmp_buf_init(&j.resp);
    int rc = setup(h, e, method, path, json_body, &j);
    if (!rc) {
        CURLcode cc = curl_easy_perform(e);
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        *status = cc == CURLE_OK ? (int)code : 0;
        h->requests++;
        if (resp && j.resp.len)
            rc = dmp_buf_append(resp, j.resp.data, j.resp.len);
    }
    curl_slist_free_all(j.hdrs);
    dmp_buf_free(&j.resp);
    return rc;
}

int dmp_client_http_raw(dmp_client_http_t *h, const char *method, const char *path,
                        const char *headers, const uint8_t *body, size_t len, int *status,
                        dmp_buf_t *resp)
{
    if (!h || !method || !path || !status || (!body && len))
        return DMP_EINVAL;
    CURL *e = h->easy[0];
    char url[1200];
    if (snprintf(url, sizeof(url), "%s%s", h->endpoint, path) >= (int)sizeof(url))
        return DMP_ETOOBIG;
    dmp_buf_t got;
    dmp_buf_init(&got);
    struct curl_slist *hl = NULL;
    char line[1024];
    for (const char *p = headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n && n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = 0;
            hl = curl_slist_append(hl, line);
        }
        p += n + (eol ? 2 : 0);
    }
    if (h->auth[0])
        hl = curl_slist_append(hl, h->auth);
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    if (hl)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    CURLcode cc = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    *status = code > 0 ? (int)code : 0; /* an answer that came before a send error counts */
    (void)cc;
    h->requests++;
    int rc = 0;
    if (resp && got.len)
        rc = dmp_buf_append(resp, got.data, got.len);
    curl_slist_free_all(hl);
    dmp_buf_free(&got);
    return rc;
}
