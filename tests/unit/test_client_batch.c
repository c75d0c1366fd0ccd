/* Unit tests for the HTTP writer's batch publish (POST /v1/records, docs/client.md
 * "Publishing"): chunks of batch_max records, a refused chunk sent again one record a request
 * with the answers the single path gives, and a node without the endpoint (the reference's 404,
 * or a 201 that is not dnsmesh-c's answer) remembered. The node is an in-process libmicrohttpd
 * fake on an ephemeral 127.0.0.1 port; nothing asserts on time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "util/util.h"
#include "fake_http_body.h"

enum { NREC = 150 };
/* dnsmeshd's body cap for POST /v1/records (BATCH_BODY_MAX in src/node/http_batch.c) */
#define FAKE_BATCH_BODY_MAX (1u << 20)

/* How the fake answers POST /v1/records. */
enum {
    B_NOT_FOUND,   /* the reference: 404 {"error": "not found"} */
    B_STORE,       /* dnsmesh-c: all or nothing, 400 naming the first record called big-* */
    B_BLIND_201,   /* a server that answers 201 {"ok": true} to anything */
    B_RATE_LIMITED /* 429, as a node whose per-address bucket holds fewer tokens than the batch */
};

typedef struct {
    atomic_int mode;
    atomic_int batch_posts; /* requests to /v1/records */
    atomic_int single_posts;
    atomic_int stored[NREC]; /* times record rNNN was stored */
    pthread_mutex_t mu;
} fake_t;

static int rec_index(const char *name)
{
    int i = -1;
    if (sscanf(name, "r%3d.", &i) != 1 && sscanf(name, "big-r%3d.", &i) != 1)
        return -1;
    return i >= 0 && i < NREC ? i : -1;
}

static unsigned batch_answer(fake_t *f, const fake_body_t *cs, char *msg, size_t cap)
{
    switch (atomic_load(&f->mode)) {
    case B_NOT_FOUND:
        snprintf(msg, cap, "{\"error\": \"not found\"}");
        return 404;
    case B_BLIND_201:
        snprintf(msg, cap, "{\"ok\": true}");
        return 201;
    case B_RATE_LIMITED:
        snprintf(msg, cap, "{\"error\": \"rate limit exceeded\"}");
        return 429;
    default:
        break;
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)cs->body.data, cs->body.len, 0, &e);
    json_t *recs = json_object_get(j, "records");
    size_t n = json_array_size(recs);
    unsigned st = n ? 201 : 400;
    for (size_t i = 0; i < n && st == 201; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(recs, i), "name"));
        if (!name || strncmp(name, "big-", 4) == 0 || rec_index(name) < 0) {
            snprintf(msg, cap, "{\"error\": \"value exceeds cap of 2048 bytes\", \"index\": %zu}",
                     i);
            st = 400;
        }
    }
    for (size_t i = 0; i < n && st == 201; i++)
        atomic_fetch_add(&f->stored[rec_index(
                             json_string_value(json_object_get(json_array_get(recs, i), "name")))],
                         1);
    if (st == 201)
        snprintf(msg, cap, "{\"ok\": true, \"stored\": %zu}", n);
    else if (!n)
        snprintf(msg, cap, "{\"error\": \"no records\"}");
    json_decref(j);
    return st;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ptr)
{
    (void)version;
    fake_t *f = cls;
    fake_body_t *cs;
    if (fake_body_collect(ptr, data, size, &cs))
        return MHD_YES;
    char msg[200] = "{\"ok\": true}";
    unsigned st = 201;
    if (strcmp(method, "POST") != 0) {
        st = 405;
    } else if (strcmp(url, "/v1/records") == 0) {
        atomic_fetch_add(&f->batch_posts, 1);
        if (cs->body.len > FAKE_BATCH_BODY_MAX) { /* dnsmeshd's cap: 413, nothing stored */
            st = 413;
            snprintf(msg, sizeof(msg), "{\"error\": \"request body too large\"}");
        } else {
            st = batch_answer(f, cs, msg, sizeof(msg));
        }
    } else if (strncmp(url, "/v1/records/", 12) == 0) {
        atomic_fetch_add(&f->single_posts, 1);
        int i = rec_index(url + 12);
        if (strncmp(url + 12, "big-", 4) == 0) {
            st = 400;
            snprintf(msg, sizeof(msg), "{\"error\": \"value exceeds cap of 2048 bytes\"}");
        } else if (i >= 0) {
            atomic_fetch_add(&f->stored[i], 1);
        }
    } else {
        st = 404;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok = MHD_queue_response(c, st, r);
    MHD_destroy_response(r);
    return ok;
}

typedef struct {
    fake_t f;
    struct MHD_Daemon *d;
    char ep[64];
    dmp_client_record_t recs[NREC];
    dmp_client_http_result_t res[NREC];
} fixture_t;

static int setup(void **state)
{
    fixture_t *x = calloc(1, sizeof(*x));
    x->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, on_req, &x->f, MHD_OPTION_NOTIFY_COMPLETED, fake_body_done,
                            NULL, MHD_OPTION_END);
    if (!x->d) {
        free(x);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(x->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(x->ep, sizeof x->ep, "http://127.0.0.1:%u", info->port);
    for (int i = 0; i < NREC; i++) {
        snprintf(x->recs[i].name, sizeof x->recs[i].name, "r%03d.mesh.test", i);
        x->recs[i].value = "v=dmp1;t=chunk;d=QUJD";
        x->recs[i].value_len = strlen(x->recs[i].value);
        x->recs[i].ttl = 300;
    }
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *x = *state;
    MHD_stop_daemon(x->d);
    free(x);
    return 0;
}

static void reset(fixture_t *x, int mode)
{
    atomic_store(&x->f.mode, mode);
    atomic_store(&x->f.batch_posts, 0);
    atomic_store(&x->f.single_posts, 0);
    for (int i = 0; i < NREC; i++)
        atomic_store(&x->f.stored[i], 0);
}

/* Every record stored exactly once, except the one at index bad (-1: none), never stored. */
static void assert_stored_once(fixture_t *x, int bad)
{
    for (int i = 0; i < NREC; i++) {
        if (i == bad) {
            assert_int_equal(atomic_load(&x->f.stored[i]), 0);
            assert_int_equal(x->res[i].status, 400);
            assert_string_equal(x->res[i].error, "value exceeds cap of 2048 bytes");
        } else {
            assert_int_equal(atomic_load(&x->f.stored[i]), 1);
            assert_int_equal(x->res[i].status, 201);
        }
    }
}

/* 150 records go as 64 + 64 + 22; the second chunk holds a record the node refuses, so that
 * chunk (and only it) is sent again one record a request, and the bad one gets its own 400. */
static void test_batches_and_refused_chunk(void **state)
{
    fixture_t *x = *state;
    reset(x, B_STORE);
    snprintf(x->recs[100].name, sizeof x->recs[100].name, "big-r100.mesh.test");
    dmp_client_http_t h;
    assert_int_equal(dmp_client_http_init(&h, x->ep, NULL, 4), 0);
    assert_int_equal(h.batch_max, 64);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, NREC, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 3);
    assert_int_equal(atomic_load(&x->f.single_posts), 64);
    assert_int_equal(h.batches, 2);
    assert_int_equal(h.batch_fallbacks, 1);
    assert_false(h.no_batch);
    assert_stored_once(x, 100);
    snprintf(x->recs[100].name, sizeof x->recs[100].name, "r100.mesh.test");
    /* one record: a single request */
    reset(x, B_STORE);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 1, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 0);
    assert_int_equal(atomic_load(&x->f.single_posts), 1);
    assert_int_equal(x->res[0].status, 201);
    /* batch_max 1 (DMP_HTTP_BATCH=1): every record on its own */
    reset(x, B_STORE);
    h.batch_max = 1;
    assert_int_equal(dmp_client_http_publish(&h, x->recs, NREC, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 0);
    assert_int_equal(atomic_load(&x->f.single_posts), NREC);
    assert_stored_once(x, -1);
    dmp_client_http_free(&h);
}

/* The reference answers 404: the first chunk falls back, and the writer sends one record a
 * request from then on without trying a batch again. A server that answers 201 without
 * dnsmesh-c's "stored" count is treated the same way: its 201 does not count. */
static void test_node_without_batches(void **state)
{
    fixture_t *x = *state;
    int modes[] = {B_NOT_FOUND, B_BLIND_201};
    for (size_t m = 0; m < 2; m++) {
        reset(x, modes[m]);
        dmp_client_http_t h;
        assert_int_equal(dmp_client_http_init(&h, x->ep, NULL, 4), 0);
        assert_int_equal(dmp_client_http_publish(&h, x->recs, NREC, x->res), 0);
        assert_true(h.no_batch);
        assert_int_equal(h.batches, 0);
        /* the chunks went out at once; each falls back */
        assert_int_equal(atomic_load(&x->f.batch_posts), 3);
        assert_int_equal(atomic_load(&x->f.single_posts), NREC);
        assert_stored_once(x, -1);
        reset(x, modes[m]);
        assert_int_equal(dmp_client_http_publish(&h, x->recs, 10, x->res), 0);
        assert_int_equal(atomic_load(&x->f.batch_posts), 0);
        assert_int_equal(atomic_load(&x->f.single_posts), 10);
        dmp_client_http_free(&h);
    }
}

/* A 429 on a batch is not retried as a batch (the bucket may never hold that many tokens): its
 * records go one a request, and the next publish tries batches half as large. */
static void test_rate_limited_batch(void **state)
{
    fixture_t *x = *state;
    reset(x, B_RATE_LIMITED);
    dmp_client_http_t h;
    assert_int_equal(dmp_client_http_init(&h, x->ep, NULL, 4), 0);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 70, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 2);
    assert_int_equal(atomic_load(&x->f.single_posts), 70);
    assert_int_equal(h.retries, 0);
    assert_false(h.no_batch);
    for (int i = 0; i < 70; i++)
        assert_int_equal(x->res[i].status, 201);
    assert_int_equal(h.batch_max, 32);
    reset(x, B_STORE);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 70, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 3); /* 32 + 32 + 6 */
    assert_int_equal(atomic_load(&x->f.single_posts), 0);
    assert_int_equal(h.batches, 3);
    for (int i = 0; i < 70; i++)
        assert_int_equal(x->res[i].status, 201);
    /* never below 2 */
    h.batch_max = 3;
    reset(x, B_RATE_LIMITED);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 4, x->res), 0);
    assert_int_equal(h.batch_max, 2);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 4, x->res), 0);
    assert_int_equal(h.batch_max, 2);
    dmp_client_http_free(&h);
}

/* Large values: a batch is cut by its body's bytes as well as its count, escaping included,
 * so no batch meets the node's 1 MiB cap (a 413 would send its records again one a request).
 * 40 values of 40,000 bytes, half of them '"' (60,000 bytes once escaped): 17 + 17 + 6. */
static void test_large_values_split_by_bytes(void **state)
{
    fixture_t *x = *state;
    enum { N = 40, VLEN = 40000 };
    char *big = malloc(VLEN + 1);
    assert_non_null(big);
    for (size_t i = 0; i < VLEN; i++)
        big[i] = i % 2 ? '"' : 'A';
    big[VLEN] = 0;
    for (int i = 0; i < N; i++) {
        x->recs[i].value = big;
        x->recs[i].value_len = VLEN;
    }
    reset(x, B_STORE);
    dmp_client_http_t h;
    assert_int_equal(dmp_client_http_init(&h, x->ep, NULL, 4), 0);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, N, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 3);
    assert_int_equal(atomic_load(&x->f.single_posts), 0);
    assert_int_equal(h.batches, 3);
    assert_int_equal(h.batch_fallbacks, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(atomic_load(&x->f.stored[i]), 1);
        assert_int_equal(x->res[i].status, 201);
    }
    /* one value past the budget on its own still goes, in a batch of one, beside the others */
    char *huge = malloc(DMP_CLIENT_HTTP_BATCH_BYTES + 1);
    assert_non_null(huge);
    memset(huge, 'B', DMP_CLIENT_HTTP_BATCH_BYTES);
    huge[DMP_CLIENT_HTTP_BATCH_BYTES] = 0;
    x->recs[1].value = huge;
    x->recs[1].value_len = DMP_CLIENT_HTTP_BATCH_BYTES;
    reset(x, B_STORE);
    assert_int_equal(dmp_client_http_publish(&h, x->recs, 3, x->res), 0);
    assert_int_equal(atomic_load(&x->f.batch_posts), 3); /* [0], [1] alone, [2] */
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&x->f.stored[i]), 1);
    dmp_client_http_free(&h);
    free(huge);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_and_refused_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_without_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limited_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_values_split_by_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
