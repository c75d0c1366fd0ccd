/* Integration tests of the batch publish, POST /v1/records, against a real dnsmeshd (4 shards, a
 * cap of 3 values per name): every record of a batch answers over DNS after the 201, a batch with
 * one bad record writes nothing and names it, and the per-name cap counts the batch's own values;
 * and, on a node of its own, the per-address bucket gives a batch all its tokens or none.
 * argv[1] = path of dnsmeshd. */
#include "integ_node.h"

#include <jansson.h>

static int post_batch(const char *json)
{
    return itest_http(&g_node, "POST", "/v1/records", NULL, json, strlen(json), g_body,
                      sizeof(g_body));
}

/* TXT records answered for name over UDP; -1 for NXDOMAIN. */
/* A batch body of cnt records "<prefix>-<i>.mesh.test" holding value. */
static void batch_body(char *body, size_t cap, const char *prefix, int cnt, const char *value)
{
    size_t off = (size_t)snprintf(body, cap, "{\"records\": [");
    for (int i = 0; i < cnt; i++)
        off += (size_t)snprintf(body + off, cap - off,
                                "%s{\"name\": \"%s-%d.mesh.test\", \"value\": \"%s\"}",
                                i ? ", " : "", prefix, i, value);
    snprintf(body + off, cap - off, "]}");
}

static int answers(const char *name)
{
    reply_t r;
    assert_int_equal(query(&g_node, false, name, 16, 1232, &r), 0);
    int rc = rcode_of(&r);
    int n = rc == 3 ? -1 : (int)ancount(&r);
    assert_true(rc == 0 || rc == 3);
    reply_free(&r);
    return n;
}

static void assert_error(const char *error, int index, const char *name)
{
    json_t *o = json_loads(g_body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")), error);
    if (index >= 0)
        assert_int_equal(json_integer_value(json_object_get(o, "index")), index);
    else
        assert_null(json_object_get(o, "index"));
    if (name)
        assert_string_equal(json_string_value(json_object_get(o, "name")), name);
    json_decref(o);
}

/* A batch over several names (and so several shards): 201 with the count, then every record
 * answers over DNS at once, and a value given twice in one batch is stored once. */
static void t_batch_publish(void **state)
{
    (void)state;
    char body[8192];
    size_t off = (size_t)snprintf(body, sizeof(body), "{\"records\": [");
    for (int i = 0; i < 12; i++)
        off += (size_t)snprintf(body + off, sizeof(body) - off,
                                "%s{\"name\": \"chunk-%04d-b1.mesh.test\", \"value\": "
                                "\"v=dmp1;t=chunk;d=QUJD%02d\", \"ttl\": 600}",
                                i ? ", " : "", i, i);
    snprintf(body + off, sizeof(body) - off,
             ", {\"name\": \"Slot-1.MB-b1.mesh.test.\", \"value\": \"manifest\"}"
             ", {\"name\": \"slot-1.mb-b1.mesh.test\", \"value\": \"manifest\"}]}");
    assert_int_equal(post_batch(body), 201);
    assert_string_equal(g_body, "{\"ok\": true, \"stored\": 14}");
    char name[64];
    for (int i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "chunk-%04d-b1.mesh.test", i);
        assert_int_equal(answers(name), 1);
    }
    assert_int_equal(answers("slot-1.mb-b1.mesh.test"), 1);
    reply_t r;
    assert_int_equal(query(&g_node, true, "chunk-0007-b1.mesh.test", 16, 1232, &r), 0);
    char v[64];
    size_t ns = 0;
    assert_int_equal(txt_value(&r, 0, v, sizeof(v), &ns), strlen("v=dmp1;t=chunk;d=QUJD07"));
    assert_string_equal(v, "v=dmp1;t=chunk;d=QUJD07");
    reply_free(&r);
    /* the same batch again only refreshes */
    assert_int_equal(post_batch(body), 201);
    assert_int_equal(answers("chunk-0000-b1.mesh.test"), 1);
}

/* One bad record anywhere in the batch: its index (and name), and none of the batch written. */
static void t_batch_all_or_nothing(void **state)
{
    (void)state;
    assert_int_equal(post_batch("{\"records\": [{\"name\": \"aon-1.mesh.test\", \"value\": \"a\"}, "
                                "{\"name\": \"aon-2.mesh.test\", \"value\": \"b\\u0001\"}]}"),
                     400);
    assert_error("invalid record value", 1, "aon-2.mesh.test");
    assert_int_equal(post_batch("{\"records\": [{\"name\": \"aon-1.mesh.test\", \"value\": \"a\"}, "
                                "{\"name\": \"aon..mesh.test\", \"value\": \"b\"}]}"),
                     400);
    assert_error("invalid record name", 1, NULL);
    assert_int_equal(post_batch("{\"records\": [{\"name\": \"aon-1.mesh.test\", \"value\": \"a\", "
                                "\"ttl\": 0}]}"),
                     400);
    assert_error("value (str) and ttl (int > 0) required", 0, NULL);
    assert_int_equal(post_batch("{\"records\": []}"), 400);
    assert_error("records (a non-empty list) required", -1, NULL);
    assert_int_equal(post_batch("[1]"), 400);
    assert_error("invalid body", -1, NULL);
    /* the cap (3 here) counts what the store holds plus the batch's own earlier values */
    assert_int_equal(post_value(&g_node, "aon-3.mesh.test", "one", 300), 201);
    assert_int_equal(post_batch("{\"records\": [{\"name\": \"aon-1.mesh.test\", \"value\": \"a\"}, "
                                "{\"name\": \"aon-3.mesh.test\", \"value\": \"two\"}, "
                                "{\"name\": \"aon-3.mesh.test\", \"value\": \"three\"}, "
                                "{\"name\": \"aon-3.mesh.test\", \"value\": \"four\"}]}"),
                     413);
    assert_error("RRset at aon-3.mesh.test already holds 3 values: nothing written", 3,
                 "aon-3.mesh.test");
    assert_int_equal(answers("aon-1.mesh.test"), -1);
    assert_int_equal(answers("aon-2.mesh.test"), -1);
    assert_int_equal(answers("aon-3.mesh.test"), 1);
    /* more than 64 records */
    char body[16384];
    batch_body(body, sizeof(body), "many", 65, "x");
    assert_int_equal(post_batch(body), 413);
    assert_error("at most 64 records per request", -1, NULL);
    assert_int_equal(answers("many-0.mesh.test"), -1);
    /* the node still takes a good batch */
    assert_int_equal(
        post_batch("{\"records\": [{\"name\": \"aon-1.mesh.test\", \"value\": \"a\"}]}"), 201);
    assert_int_equal(answers("aon-1.mesh.test"), 1);
    assert_int_equal(post_value(&g_node, "hello.mesh.test", "still here", 300), 201);
    assert_still_serving();
}

/* The per-address bucket gives a batch all its tokens or none: with a burst of 10 and no refill
 * worth counting, 11 records are refused and leave 9 tokens, which a batch of 9 then takes. */
static void t_batch_rate_all_or_nothing(void **state)
{
    (void)state;
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_HTTP_RATE=0.001",
                                      "DMP_HTTP_BURST=10", NULL};
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, env), 0);
    char body[4096];
    for (int cnt = 11; cnt >= 9; cnt -= 2) {
        batch_body(body, sizeof(body), "rate", cnt, "r");
        int st =
            itest_http(&n, "POST", "/v1/records", NULL, body, strlen(body), g_body, sizeof(g_body));
        assert_int_equal(st, cnt == 11 ? 429 : 201);
    }
    assert_int_equal(itest_http(&n, "POST", "/v1/records/rate-x.mesh.test", NULL,
                                "{\"value\": \"r\"}", 14, g_body, sizeof(g_body)),
                     429); /* the bucket is empty now */
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

/* A batch refused by its write auth gives the address's bucket back all but the request's own
 * token, as a refused single POST costs one: with a burst of 10, a batch of 9 without the
 * operator's token (401) leaves 9 tokens, which 9 records with it then take. */
static void t_batch_refused_gives_back(void **state)
{
    (void)state;
    static const char *const env[] = {"DMP_SERVED_ZONE=mesh.test", "DMP_HTTP_RATE=0.001",
                                      "DMP_HTTP_BURST=10", "DMP_OPERATOR_TOKEN=op-s3cret", NULL};
    itest_node_t n;
    assert_int_equal(itest_node_init(&n), 0);
    assert_int_equal(itest_node_start(&n, env), 0);
    char body[4096];
    batch_body(body, sizeof(body), "give", 9, "g");
    assert_int_equal(
        itest_http(&n, "POST", "/v1/records", NULL, body, strlen(body), g_body, sizeof(g_body)),
        401);
    assert_int_equal(itest_http(&n, "POST", "/v1/records", "Authorization: Bearer op-s3cret\r\n",
                                body, strlen(body), g_body, sizeof(g_body)),
                     201);
    assert_int_equal(itest_http(&n, "POST", "/v1/records/give-x.mesh.test",
                                "Authorization: Bearer op-s3cret\r\n", "{\"value\": \"g\"}", 14,
                                g_body, sizeof(g_body)),
                     429); /* 10 - 1 - 9: the bucket is empty now */
    assert_int_equal(itest_node_stop(&n, SIGTERM), 0);
    itest_node_cleanup(&n);
}

int main(int argc, char **argv)
{
    int rc = integ_init(argc, argv);
    if (rc != 0)
        return rc;
    const struct CMUnitTest batch[] = {
        cmocka_unit_test(t_batch_publish),
        cmocka_unit_test(t_batch_all_or_nothing),
        cmocka_unit_test(t_batch_rate_all_or_nothing),
        cmocka_unit_test(t_batch_refused_gives_back),
    };
    return cmocka_run_group_tests_name("node_batch", batch, group_setup, group_teardown);
}
