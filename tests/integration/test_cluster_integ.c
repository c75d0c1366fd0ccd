/* Integration tests of the cluster: real dnsmeshd processes on loopback replicating through
 * /v1/sync (our Merkle protocol), plus a fake peer served from this process that lies (refused
 * records, garbage JSON, an endless stream). argv[1] = path of dnsmeshd. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define TOKEN "cluster-test-token"
#define NN 3

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A free loopback TCP port (bound then released; the node binds it right after). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t l = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct {
    itest_node_t n;
    int port;
    char env[8][256];
    const char *envp[9];
} cnode_t;

static cnode_t g[NN + 1];

/* Starts node i with the given peer list (comma-separated URLs). */
static int start(int i, const char *peers)
{
    cnode_t *c = &g[i];
    snprintf(c->env[0], sizeof(c->env[0]), "DMP_HTTP_PORT=%d", c->port);
    snprintf(c->env[1], sizeof(c->env[1]), "DMP_SYNC_PEERS=%s", peers);
    snprintf(c->env[2], sizeof(c->env[2]), "DMP_SYNC_SELF_ENDPOINT=http://127.0.0.1:%d", c->port);
    snprintf(c->env[3], sizeof(c->env[3]), "DMP_SYNC_PEER_TOKEN=%s", TOKEN);
    snprintf(c->env[4], sizeof(c->env[4]), "DMP_SYNC_INTERVAL=0.2");
    snprintf(c->env[5], sizeof(c->env[5]), "DMP_CLEANUP_INTERVAL=0.5");
    snprintf(c->env[6], sizeof(c->env[6]), "DMP_SERVED_ZONE=mesh.test");
    for (int k = 0; k < 7; k++)
        c->envp[k] = c->env[k];
    c->envp[7] = NULL;
    return itest_node_start(&c->n, c->envp);
}

static long stat_records(int i)
{
    char body[256];
    int st = itest_http(&g[i].n, "GET", "/stats", NULL, NULL, 0, body, sizeof(body));
    if (st != 200)
        return -1;
    const char *p = strstr(body, "\"records\": ");
    return p ? atol(p + 11) : -1;
}

static int publish(int i, const char *name, const char *value, int ttl)
{
    char path[300], body[600], resp[512];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    int n = snprintf(body, sizeof(body), "{\"value\": \"%s\", \"ttl\": %d}", value, ttl);
    return itest_http(&g[i].n, "POST", path, NULL, body, (size_t)n, resp, sizeof(resp));
}

static bool holds(int i, const char *name, const char *value)
{
    char path[300], resp[4096], want[600];
    snprintf(path, sizeof(path), "/v1/records/%s", name);
    if (itest_http(&g[i].n, "GET", path, NULL, NULL, 0, resp, sizeof(resp)) != 200)
        return false;
    snprintf(want, sizeof(want), "\"%s\"", value);
    return strstr(resp, want) != NULL;
}

/* Waits (bounded) until every listed node holds `want` records. */
static bool wait_counts(const int *nodes, int nn, long want, int timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (mono_ms() < end) {
        bool ok = true;
        for (int k = 0; k < nn && ok; k++)
            ok = stat_records(nodes[k]) == want;
        if (ok)
            return true;
        sleep_ms(100);
    }
    for (int k = 0; k < nn; k++)
        fprintf(stderr, "node %d holds %ld records (want %ld)\n", nodes[k], stat_records(nodes[k]),
                want);
    return false;
}

static char g_peers[512];

static void t_three_nodes_converge_restart_delete_expire(void **state)
{
    (void)state;
    for (int i = 0; i < NN; i++) {
        assert_int_equal(itest_node_init(&g[i].n), 0);
        g[i].port = free_port();
    }
    snprintf(g_peers, sizeof(g_peers),
             "http://127.0.0.1:%d,http://127.0.0.1:%d,http://127.0.0.1:%d", g[0].port, g[1].port,
             g[2].port);
    for (int i = 0; i < NN; i++)
        assert_int_equal(start(i, g_peers), 0);
    /* writes to each node */
    char name[64], val[64];
    for (int i = 0; i < NN; i++)
        for (int k = 0; k < 30; k++) {
            snprintf(name, sizeof(name), "n%d-r%d.mesh.test", i, k);
            snprintf(val, sizeof(val), "v=spf1 n%d r%d", i, k);
            assert_int_equal(publish(i, name, val, 600), 201);
        }
    const int all[] = {0, 1, 2};
    assert_true(wait_counts(all, 3, 90, 20000));
    for (int i = 0; i < NN; i++) {
        assert_true(holds(i, "n0-r7.mesh.test", "v=spf1 n0 r7"));
        assert_true(holds(i, "n2-r29.mesh.test", "v=spf1 n2 r29"));
    }

    /* node 2 killed; writes and deletes happen without it; restarted, it catches up */
    assert_int_equal(itest_node_stop(&g[2].n, SIGKILL), 128 + SIGKILL);
    for (int k = 0; k < 20; k++) {
        snprintf(name, sizeof(name), "late-r%d.mesh.test", k);
        assert_int_equal(publish(k % 2, name, "late", 600), 201);
    }
    char resp[256];
    assert_int_equal(itest_http(&g[1].n, "DELETE", "/v1/records/n0-r1.mesh.test", NULL, NULL, 0,
                                resp, sizeof(resp)),
                     204);
    assert_int_equal(itest_http(&g[0].n, "DELETE", "/v1/records/n2-r5.mesh.test", NULL, NULL, 0,
                                resp, sizeof(resp)),
                     204);
    const int two[] = {0, 1};
    assert_true(wait_counts(two, 2, 108, 20000));
    assert_int_equal(start(2, g_peers), 0);
    assert_true(wait_counts(all, 3, 108, 20000));
    /* 108 is also a passing state of node 2's catch-up (19 of the 20 late records in and one of
     * the two deletes applied): wait (bounded) for the end state before checking it */
    for (int64_t end = mono_ms() + 20000; mono_ms() < end; sleep_ms(100)) {
        bool done = true;
        for (int i = 0; i < NN && done; i++)
            done = !holds(i, "n2-r5.mesh.test", "v=spf1 n2 r5") &&
                   !holds(i, "n0-r1.mesh.test", "v=spf1 n0 r1") &&
                   holds(i, "late-r19.mesh.test", "late") && stat_records(i) == 108;
        if (done)
            break;
    }
    for (int i = 0; i < NN; i++) {
        assert_false(holds(i, "n0-r1.mesh.test", "v=spf1 n0 r1"));
        assert_false(holds(i, "n2-r5.mesh.test", "v=spf1 n2 r5")); /* node 2's own copy too */
        assert_true(holds(i, "late-r19.mesh.test", "late"));
    }
    /* the deletes stay deleted: a few more rounds bring nothing back */
    sleep_ms(1500);
    for (int i = 0; i < NN; i++)
        assert_int_equal(stat_records(i), 108);

    /* expiry: a short-lived record replicates, then leaves every node after its sweep */
    assert_int_equal(publish(0, "short.mesh.test", "brief", 3), 201);
    assert_true(wait_counts(all, 3, 109, 10000));
    assert_true(wait_counts(all, 3, 108, 15000));
    for (int i = 0; i < NN; i++)
        assert_false(holds(i, "short.mesh.test", "brief"));
}

/* ---- a lying peer ---- */

static atomic_int g_fake_stop;
static atomic_int g_fake_requests;
static atomic_int g_fake_digests;
static int g_fake_fd;

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *body)
{
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, strlen(body));
    send_all(fd, head, (size_t)hl);
    send_all(fd, body, strlen(body));
}

/* Serves every request with a lie, rotating: refused records behind a well-formed digest,
 * garbage JSON, an endless body. No Merkle routes (404), so the node uses the digest path. */
static void *fake_main(void *arg)
{
    (void)arg;
    static const char H[] = "0000000000000000000000000000000000000000000000000000000000000000";
    while (!atomic_load(&g_fake_stop)) {
        struct pollfd p = {.fd = g_fake_fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(g_fake_fd, NULL, NULL);
        if (c < 0)
            continue;
        char req[70000];
        size_t got = 0;
        for (int k = 0; k < 20 && got < sizeof(req) - 1; k++) {
            struct pollfd q = {.fd = c, .events = POLLIN};
            if (poll(&q, 1, 200) <= 0)
                break;
            ssize_t r = recv(c, req + got, sizeof(req) - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            req[got] = 0;
            char *he = strstr(req, "\r\n\r\n");
            char *cl = strcasestr(req, "Content-Length: ");
            if (he && (!cl || (size_t)(req + got - (he + 4)) >= (size_t)atol(cl + 16)))
                break;
        }
        req[got] = 0;
        atomic_fetch_add(&g_fake_requests, 1);
        if (strstr(req, "/v1/sync/merkle")) {
            reply(c, 404, "{\"error\": \"not found\"}");
        } else if (strstr(req, "/v1/sync/digest")) {
            int mode = atomic_fetch_add(&g_fake_digests, 1) % 3;
            if (mode == 0) {
                char body[2048];
                /* well-formed entries whose values will not verify */
                snprintf(body, sizeof(body),
                         "{\"records\": [{\"name\": \"slot-1.mb-abcdef012345.mesh.test\", "
                         "\"hash\": \"%s\", \"ts\": 5, \"ttl\": 100}, {\"name\": "
                         "\"id-ab.mesh.test\", \"hash\": \"%s\", \"ts\": 6, \"ttl\": 100}, "
                         "{\"name\": \"bad name\", \"hash\": \"%s\", \"ts\": 7, \"ttl\": 1}], "
                         "\"has_more\": false, \"next_cursor\": \"x\"}",
                         H, H, H);
                reply(c, 200, body);
            } else if (mode == 1) {
                reply(c, 200, "{\"records\": [{{{{ not json");
            } else {
                /* an endless stream: a huge announced length, data until the client hangs up */
                const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n";
                send_all(c, head, strlen(head));
                char junk[65536];
                memset(junk, '[', sizeof(junk));
                for (int i = 0; i < 2048 && !atomic_load(&g_fake_stop); i++) {
                    ssize_t w = send(c, junk, sizeof(junk), MSG_NOSIGNAL);
                    if (w <= 0)
                        break;
                }
            }
        } else if (strstr(req, "/v1/sync/pull")) {
            /* unsolicited and unverifiable records */
            reply(c, 200,
                  "{\"records\": [{\"name\": \"slot-1.mb-abcdef012345.mesh.test\", \"value\": "
                  "\"v=spf1 -all\", \"ttl\": 100}, {\"name\": \"id-ab.mesh.test\", \"value\": "
                  "\"v=dmp1;t=identity;d=AAAA\", \"ttl\": 100}, {\"name\": \"other.mesh.test\", "
                  "\"value\": \"sneaky\", \"ttl\": 100}]}");
        } else {
            reply(c, 204, "");
        }
        close(c);
    }
    return NULL;
}

static void t_lying_peer_changes_nothing(void **state)
{
    (void)state;
    g_fake_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(g_fake_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t l = sizeof(a);
    getsockname(g_fake_fd, (struct sockaddr *)&a, &l);
    assert_int_equal(listen(g_fake_fd, 16), 0);
    pthread_t th;
    atomic_store(&g_fake_stop, 0);
    assert_int_equal(pthread_create(&th, NULL, fake_main, NULL), 0);

    cnode_t *c = &g[NN];
    assert_int_equal(itest_node_init(&c->n), 0);
    c->port = free_port();
    char peers[128];
    snprintf(peers, sizeof(peers), "http://127.0.0.1:%d", ntohs(a.sin_port));
    assert_int_equal(start(NN, peers), 0);
    /* several rounds of every kind of lie (back-off stretches them out: bounded wait) */
    int64_t end = mono_ms() + 40000;
    while (atomic_load(&g_fake_digests) < 7 && mono_ms() < end)
        sleep_ms(100);
    assert_true(atomic_load(&g_fake_digests) >= 7); /* every lie at least twice */
    assert_int_equal(stat_records(NN), 0);
    char resp[256];
    assert_int_equal(itest_http(&c->n, "GET", "/health", NULL, NULL, 0, resp, sizeof(resp)), 200);
    /* it still serves its own writes */
    assert_int_equal(publish(NN, "mine.mesh.test", "ok", 60), 201);
    assert_int_equal(stat_records(NN), 1);
    atomic_store(&g_fake_stop, 1);
    pthread_join(th, NULL);
    close(g_fake_fd);
}

static void t_sync_routes_auth(void **state)
{
    (void)state;
    char resp[1024];
    /* wrong or missing token: 403, as the reference */
    assert_int_equal(
        itest_http(&g[0].n, "GET", "/v1/sync/digest", NULL, NULL, 0, resp, sizeof(resp)), 403);
    assert_int_equal(itest_http(&g[0].n, "GET", "/v1/sync/digest", "Authorization: Bearer x\r\n",
                                NULL, 0, resp, sizeof(resp)),
                     403);
    assert_int_equal(itest_http(&g[0].n, "GET", "/v1/sync/digest?cursor=0%3A%3A&limit=2",
                                "Authorization: Bearer " TOKEN "\r\n", NULL, 0, resp, sizeof(resp)),
                     200);
    assert_non_null(strstr(resp, "\"has_more\": true"));
    /* a pull body as big as a reference worker's (> 16 KiB) is accepted; 257 names are not */
    static char body[70000], big[65536];
    for (int names = 257; names >= 256; names--) {
        size_t n = (size_t)snprintf(body, sizeof(body), "{\"names\": [\"n0-r3.mesh.test\"");
        for (int k = 1; k < names; k++)
            n += (size_t)snprintf(body + n, sizeof(body) - n,
                                  ", \"x%d-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
                                  "mesh.test\"",
                                  k);
        n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
        assert_true(n > 16384);
        int st = itest_http(&g[0].n, "POST", "/v1/sync/pull", "Authorization: Bearer " TOKEN "\r\n",
                            body, n, big, sizeof(big));
        if (names == 257) {
            assert_int_equal(st, 400);
            assert_non_null(strstr(big, "at most 256 names"));
        } else {
            assert_int_equal(st, 200);
            assert_non_null(strstr(big, "v=spf1 n0 r3"));
        }
    }
}

/* Reads one sample of /metrics (the first line starting with `series`); -1 when absent. */
static double metric(int i, const char *series)
{
    static char body[131072];
    if (itest_http(&g[i].n, "GET", "/metrics", NULL, NULL, 0, body, sizeof(body)) != 200)
        return -1;
    size_t l = strlen(series);
    for (const char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, l) == 0 && p[l] == ' ')
            return atof(p + l + 1);
    return -1;
}

static void t_cluster_metrics(void **state)
{
    (void)state;
    /* node 0 took the other nodes' records through Merkle rounds */
    assert_true(metric(0, "dmp_cluster_rounds_total{protocol=\"merkle\"}") > 0);
    assert_true(metric(0, "dmp_cluster_records_total{result=\"applied\"}") >= 40);
    assert_true(metric(0, "dmp_cluster_records_total{result=\"pulled\"}") >=
                metric(0, "dmp_cluster_records_total{result=\"applied\"}"));
    assert_true(metric(0, "dmp_cluster_bytes_total{dir=\"in\"}") > 1000);
    assert_true(metric(0, "dmp_cluster_bytes_total{dir=\"out\"}") > 100);
    assert_true(metric(0, "dmp_cluster_peers") == 2);
    char series[256];
    snprintf(series, sizeof(series),
             "dmp_cluster_peer_last_success_timestamp_seconds{peer=\"http://127.0.0.1:%d\","
             "node_id=\"127.0.0.1-",
             g[1].port);
    /* the node id label is synthetic: match the line by prefix */
    static char body[131072];
    assert_int_equal(itest_http(&g[0].n, "GET", "/metrics", NULL, NULL, 0, body, sizeof(body)),
                     200);
    const char *line = strstr(body, series);
    assert_non_null(line);
    double last = atof(strchr(line, ' ') + 1);
    assert_true(last > (double)time(NULL) - 600 && last <= (double)time(NULL) + 1);
    /* the node whose only peer lies: failed rounds (garbage, endless body), refused records,
     * nothing applied */
    assert_true(metric(NN, "dmp_cluster_round_failures_total") >= 3);
    assert_true(metric(NN, "dmp_cluster_records_total{result=\"applied\"}") == 0);
    assert_true(metric(NN, "dmp_cluster_records_total{result=\"rejected\"}") >= 2);
    assert_true(metric(NN, "dmp_cluster_rounds_total{protocol=\"digest\"}") >= 3);
    assert_true(metric(NN, "dmp_cluster_peers") == 1);
    assert_int_equal(itest_http(&g[NN].n, "GET", "/metrics", NULL, NULL, 0, body, sizeof(body)),
                     200);
    line = strstr(body, "\ndmp_cluster_peer_failures_total{");
    assert_non_null(line);
    assert_true(atof(strchr(line + 1, ' ') + 1) >= 3);
}

static int teardown_all(void **state)
{
    (void)state;
    for (int i = 0; i <= NN; i++) {
        if (g[i].n.pid > 0)
            itest_node_stop(&g[i].n, SIGTERM);
        itest_node_cleanup(&g[i].n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = itest_init(argc, argv, NULL);
    if (rc != 0)
        return rc;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_three_nodes_converge_restart_delete_expire),
        cmocka_unit_test(t_sync_routes_auth),
        cmocka_unit_test(t_lying_peer_changes_nothing),
        cmocka_unit_test(t_cluster_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
