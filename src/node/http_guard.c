/* node: deadlines for HTTP clients that libmicrohttpd cannot enforce by itself.
 *
 * MHD's connection timeout counts inactivity, so a client sending one header byte every few
 * seconds (slow headers) or a body shorter than its Content-Length keeps its connection, and
 * DMP_HTTP_MAX_CONCURRENCY such clients block the whole API. Every connection is tracked here
 * from accept (MHD_OPTION_NOTIFY_CONNECTION) with the phase it is in: its headers must be in
 * DMP_HTTP_HEADER_TIMEOUT seconds after it was accepted or after its previous request ended,
 * and its body DMP_HTTP_BODY_TIMEOUT seconds after its headers. A watchdog thread answers a
 * connection past its deadline with 408 and shuts its socket down; MHD, which still owns the
 * descriptor, then sees the end of the stream and closes it (no descriptor is closed behind
 * MHD's back). While MHD is receiving a request it writes nothing on that connection, so the
 * 408 cannot interleave with a response. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "node/http_int.h"

typedef enum { G_FREE = 0, G_HEADERS, G_BODY, G_BUSY, G_CLOSING } gphase_t;

typedef struct {
    gphase_t phase;
    int fd;
    int64_t since_ms; /* start of the current phase */
} gslot_t;

struct dmp_node_http_guard {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    pthread_t th;
    bool started;
    gslot_t *s;
    size_t n;
    int64_t header_ms, body_ms;
    dmp_node_tstats_t *st; /* http thread's counters: written by the watchdog only here */
    uint64_t closed;       /* connections closed by a deadline (read with the mutex) */
};

static int64_t mono_ms(void)
{
    return dmp_monotonic_ns() / 1000000;
}

static const char k_408[] =
    "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application/json\r\n"
    "Content-Length: 36\r\n\r\n{\"error\": \"request not sent in time\"}";

static void *watchdog(void *arg)
{
    dmp_node_http_guard_t *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        int64_t now = mono_ms();
        for (size_t i = 0; i < g->n && !g->stop; i++) {
            gslot_t *s = &g->s[i];
            bool late = (s->phase == G_HEADERS && now - s->since_ms >= g->header_ms) ||
                        (s->phase == G_BODY && now - s->since_ms >= g->body_ms);
            if (!late)
                continue;
            (void)!send(s->fd, k_408, sizeof(k_408) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            shutdown(s->fd, SHUT_RDWR);
            s->phase = G_CLOSING;
            g->closed++;
        }
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

int dmp_node_http_guard_new(size_t max_conns, unsigned header_s, unsigned body_s,
                            dmp_node_http_guard_t **out)
{
    *out = NULL;
    dmp_node_http_guard_t *g = calloc(1, sizeof(*g));
    if (!g)
        return DMP_ENOMEM;
    /* MHD may briefly hold a few more than its limit (accepted, then closed): spare slots */
    g->n = max_conns + 16;
    g->s = calloc(g->n, sizeof(*g->s));
    if (!g->s) {
        free(g);
        return DMP_ENOMEM;
    }
    g->header_ms = (int64_t)header_s * 1000;
    g->body_ms = (int64_t)body_s * 1000;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    if (pthread_create(&g->th, NULL, watchdog, g) != 0) {
        dmp_node_http_guard_free(g);
        return DMP_ESYS;
    }
    g->started = true;
    *out = g;
    return 0;
}

void dmp_node_http_guard_free(dmp_node_http_guard_t *g)
{
    if (!g)
        return;
    if (g->started) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->th, NULL);
    }
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->s);
    free(g);
}

uint64_t dmp_node_http_guard_closed(dmp_node_http_guard_t *g)
{
    pthread_mutex_lock(&g->mu);
    uint64_t n = g->closed;
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* MHD_OPTION_NOTIFY_CONNECTION: *socket_context holds slot index + 1 (0 = untracked). */
void dmp_node_http_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    dmp_node_http_guard_t *g = cls;
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (size_t i = 0; ci && i < g->n; i++) {
            if (g->s[i].phase == G_FREE) {
                g->s[i] =
                    (gslot_t){.phase = G_HEADERS, .fd = ci->connect_fd, .since_ms = mono_ms()};
                *socket_context = (void *)(uintptr_t)(i + 1);
                break;
            }
        }
    } else {
        uintptr_t k = (uintptr_t)*socket_context;
        if (k && k <= g->n)
            g->s[k - 1].phase = G_FREE;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&g->mu);
}

void dmp_node_http_guard_phase(dmp_node_http_guard_t *g, struct MHD_Connection *c, int phase)
{
    if (!g)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    uintptr_t k = ci ? (uintptr_t)ci->socket_context : 0;
    if (!k || k > g->n)
        return;
    pthread_mutex_lock(&g->mu);
    gslot_t *s = &g->s[k - 1];
    if (s->phase != G_FREE && s->phase != G_CLOSING) {
        s->phase = phase == DMP_NODE_GUARD_HEADERS ? G_HEADERS
                   : phase == DMP_NODE_GUARD_BODY  ? G_BODY
                                                   : G_BUSY;
        s->since_ms = mono_ms();
    }
    pthread_mutex_unlock(&g->mu);
}
