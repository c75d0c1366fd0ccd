/* node: an HTTP write's wait for its durability (POST/DELETE /v1/records). The answer (201 after
 * the WAL sync) comes from another thread (the shard or the WAL syncer: txn_done), so the
 * connection must wait without MHD spinning on it.
 *
 * Suspending it (MHD_suspend_connection) costs the HTTP thread three system calls per write in
 * libmicrohttpd 0.9.75 (bench/results/h36-mhd-syscalls-2026-12-03.txt): the suspend takes the
 * socket out of MHD's epoll set (daemon.c internal_suspend_connection_: EPOLL_CTL_DEL), the
 * resume marks it read- and write-ready (resume_suspended_connections: "we might have missed
 * the edge"), so after the answer MHD reads until EAGAIN (connection.c recv_param_adapter) and
 * only then puts it back in the set (MHD_connection_epoll_update_: EPOLL_CTL_ADD).
 *
 * So a write whose body has at least one byte is held instead: the upload call that completes
 * the body runs the route's body handler there (its answer, if it gives one, waits in r->pend:
 * MHD takes a response only once the request is in) and leaves the body's last byte unread.
 * MHD keeps the connection in its epoll set, reading (nothing comes: the client waits), and
 * out of its ready list, so it costs nothing; with its timeout set to 0 (never) it is on MHD's
 * "manual timeout" list, whose connections MHD_epoll looks at on every pass
 * (MHD_connection_handle_idle), which calls the handler with the held byte again. Once the
 * node is done the handler takes the byte, and the final call answers as before. That answer
 * is written when the socket's epoll event next comes: dmp_node_http_kick re-arms it
 * (EPOLL_CTL_MOD, MHD's own event mask and pointer), one system call, and no EAGAIN read after
 * the answer. A write without a body (DELETE of a whole name) is still suspended, and so are
 * writes past DMP_NODE_HTTP_HOLD_MAX held at once (each held one costs a look every pass).
 *
 * A client that half-closes its socket while its write is held gets no answer: MHD reads the
 * end of a request it counts as unfinished and closes (the write is applied). A suspended
 * write was answered first (bench/results/h36-mhd-halfclose-2026-12-03.txt).
 *
 * What this relies on in MHD is checked for 0.9.75 only (dmp_node_http_hold_init): other
 * versions, and DMP_HTTP_NO_HOLD=1, suspend every write, as before. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "node/http_int.h"

bool dmp_node_http_hold_init(dmp_node_http_t *h)
{
    h->hold_ok = false;
    h->epfd = -1;
    const char *v = MHD_get_version();
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!v || strcmp(v, "0.9.75") != 0 || !di || di->epoll_fd < 0)
        return false;
    h->epfd = di->epoll_fd;
    h->hold_ok = getenv("DMP_HTTP_NO_HOLD") == NULL; /* A/B measurements and tests */
    return h->hold_ok;
}

void dmp_node_http_rq_free(dmp_node_rq_t *r)
{
    if (r->pend && r->pend_owned)
        MHD_destroy_response(r->pend);
    dmp_buf_free(&r->body);
    free(r->val);
    if (r->cleanup)
        r->cleanup(r);
    free(r);
}

static void waiting_unlink(dmp_node_http_t *h, dmp_node_rq_t *r)
{
    if (r->wprev)
        r->wprev->wnext = r->wnext;
    else if (h->waiting == r)
        h->waiting = r->wnext;
    if (r->wnext)
        r->wnext->wprev = r->wprev;
    r->wprev = r->wnext = NULL;
}

/* Wakes the HTTP thread (http_loop) to run MHD after a resume from another thread (in external
 * mode MHD has no inter-thread channel of its own: its resume signals nothing). Any thread. */
static void loop_wake(dmp_node_http_t *h)
{
    /* the loop clears wake_pending before its pass: a resume that finds it set is seen by
     * the pass the pending signal starts */
    if (atomic_exchange(&h->wake_pending, true))
        return;
    atomic_fetch_add_explicit(&h->wakes, 1, memory_order_relaxed);
    uint64_t one = 1;
    ssize_t w = write(h->wake_fd, &one, sizeof one);
    (void)w; /* EAGAIN only once the counter is full (never: one a wake-up) */
}

/* The node is done with r (or shutdown gives up on it): the HTTP thread takes it up. A held
 * request is seen by the next pass's look at the manual-timeout list, which held_ready keeps
 * from blocking first (a pass that had already looked when the write finished may have taken
 * the pending wake-up's edge); a suspended one is resumed. Any thread. */
static void rq_wake(dmp_node_http_t *h, dmp_node_rq_t *r, int flags)
{
    if (flags & RQF_HELD)
        atomic_store(&h->held_ready, true);
    else
        MHD_resume_connection(r->conn);
    loop_wake(h);
}

/* Any thread (a shard or the WAL syncer). */
static void txn_done(dmp_node_txn_t *t)
{
    dmp_node_rq_t *r = t->ctx;
    dmp_node_http_t *h = r->h;
    pthread_mutex_lock(&h->wmu);
    waiting_unlink(h, r);
    int prev = atomic_fetch_or(&r->flags, RQF_NODE_DONE);
    pthread_mutex_unlock(&h->wmu);
    if (prev & RQF_MHD_DONE)
        dmp_node_http_rq_free(r); /* gone from MHD (answered 503 at shutdown, or the client
                                     closed a held connection): only we hold it */
    else if (!(prev & RQF_ABANDONED))
        rq_wake(h, r, prev);
    atomic_fetch_sub(&h->inflight, 1);
}

enum MHD_Result dmp_node_http_submit(dmp_node_rq_t *r)
{
    dmp_node_http_t *h = r->h;
    /* held when its body's last byte is still to be taken (an upload call runs this) */
    bool hold = r->defer;
    r->txn.done = txn_done;
    r->txn.ctx = r;
    r->stage = RQ_WAITING;
    atomic_fetch_add(&h->inflight, 1);
    pthread_mutex_lock(&h->wmu);
    r->wprev = NULL;
    r->wnext = h->waiting;
    if (h->waiting)
        h->waiting->wprev = r;
    h->waiting = r;
    atomic_fetch_or(&r->flags, RQF_SUBMITTED | (hold ? RQF_HELD : 0));
    pthread_mutex_unlock(&h->wmu);
    if (hold) {
        r->held = true;
        /* no deadline while the node has it (as for a suspended connection), and MHD looks
         * at the connection on every pass */
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
    } else {
        MHD_suspend_connection(r->conn);
        atomic_fetch_add_explicit(&h->suspended, 1, memory_order_relaxed);
    }
    int rc = dmp_node_apply(h->env.core, &r->txn);
    if (rc != 0) {
        /* not queued: answer "busy" once MHD calls us again */
        r->txn.result = DMP_EAGAIN;
        txn_done(&r->txn);
    }
    return MHD_YES;
}

enum MHD_Result dmp_node_http_body_data(dmp_node_rq_t *r, const char *upload, size_t *upload_size)
{
    dmp_node_http_t *h = r->h;
    size_t n = *upload_size;
    size_t cap = r->body_cap ? r->body_cap : h->env.cfg->http_max_body;
    *upload_size = 0;
    if (r->too_big || r->body.len + n > cap) {
        r->too_big = true;
        return MHD_YES;
    }
    if (dmp_buf_append(&r->body, upload, n) != 0) {
        r->too_big = true;
        return MHD_YES;
    }
    /* a write route (one that answers from done()) with its whole body in: act on it now (past
     * the cap, on the final call, suspended, as without the hold) */
    if (!h->hold_ok || !r->route->done || r->clen < 0 || r->body.len != (uint64_t)r->clen ||
        h->nheld >= DMP_NODE_HTTP_HOLD_MAX)
        return MHD_YES;
    dmp_node_http_guard_phase(h->guard, r->conn, DMP_NODE_GUARD_BUSY); /* the body is in */
    r->defer = true;
    enum MHD_Result ret = r->route->body(r);
    r->defer = false;
    if (!r->held)
        return ret; /* answered (r->pend, queued by the final call) */
    if (atomic_load(&r->flags) & RQF_NODE_DONE) {
        /* done already (the node refused it): answered by the final call, nothing to hold */
        r->held = false;
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  DMP_NODE_HTTP_CONN_TIMEOUT_S);
        return ret;
    }
    atomic_fetch_add_explicit(&h->held, 1, memory_order_relaxed);
    r->byte_held = true;
    h->nheld++;
    *upload_size = 1; /* the last byte: MHD gives it to us again on each of its passes */
    return ret;
}

enum MHD_Result dmp_node_http_waiting(dmp_node_rq_t *r, size_t *upload_size)
{
    int f = atomic_load(&r->flags);
    if (*upload_size) { /* the held byte */
        if (!(f & (RQF_NODE_DONE | RQF_ABANDONED)))
            return MHD_YES; /* keep it: not durable yet */
        *upload_size = 0;   /* the request is in: MHD makes the final call next */
        r->byte_held = false;
        r->h->nheld--;
        MHD_set_connection_option(r->conn, MHD_CONNECTION_OPTION_TIMEOUT,
                                  DMP_NODE_HTTP_CONN_TIMEOUT_S);
        return MHD_YES;
    }
    if (!(f & RQF_NODE_DONE)) {
        if (f & RQF_ABANDONED) /* shutdown while the write waits on a stalled sync */
            return dmp_node_http_send_err(r, 503,
                                          "node shutting down before the write was "
                                          "confirmed durable: retry it");
        return MHD_YES;
    }
    r->stage = RQ_DONE;
    if (r->txn.result == DMP_EAGAIN)
        return dmp_node_http_send_err(r, 503, "node busy, retry");
    return r->route->done(r);
}

void dmp_node_http_kick(dmp_node_rq_t *r)
{
    if (!r->held)
        return;
    r->held = false;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return;
    /* MHD's mask and pointer for a connection (daemon.c new_connection_process_). ENOENT: the
     * socket is not in the set, so MHD keeps the connection in its ready list and writes the
     * answer anyway. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLET,
                             .data.ptr = r->conn};
    if (epoll_ctl(r->h->epfd, EPOLL_CTL_MOD, ci->connect_fd, &ev) != 0 && errno != ENOENT)
        dmp_debug("http: epoll_ctl(MOD) on a held connection: %s", strerror(errno));
}

int dmp_node_http_abandon_waiting(dmp_node_http_t *h)
{
    int abandoned = 0;
    pthread_mutex_lock(&h->wmu);
    for (dmp_node_rq_t *r = h->waiting; r; r = r->wnext) {
        int prev = atomic_fetch_or(&r->flags, RQF_ABANDONED);
        if (!(prev & (RQF_NODE_DONE | RQF_ABANDONED))) {
            rq_wake(h, r, prev);
            abandoned++;
        }
    }
    pthread_mutex_unlock(&h->wmu);
    return abandoned;
}
