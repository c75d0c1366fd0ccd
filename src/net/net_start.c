/* net: lifecycle: configuration, start (probe the backend, allocate rings, bind, start threads),
 * stop (drain, join, close), and the read-side accessors and counters. */
#include "net/net_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

const char *dmp_net_strerror(int err)
{
    switch (err) {
    case DMP_NET_EBIND:
        return "cannot bind listen address";
    case DMP_NET_EADDR:
        return "listen host is not a numeric IP address";
    case DMP_NET_ETHREAD:
        return "cannot start thread";
    case DMP_NET_ESTOPPED:
        return "net is stopped";
    default:
        return dmp_strerror(err);
    }
}

void dmp_net_config_default(dmp_net_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->frontends = 1;
    cfg->shards = 1;
    cfg->ring_capacity = 1024;
    cfg->task_ring_capacity = 1024;
    cfg->udp_max_payload = 4096;
    cfg->udp_reply_cap = 4096;
    cfg->tcp_idle_timeout_ms = 10000;
    cfg->tcp_msg_timeout_ms = 2000;
    cfg->tcp_max_conns = 1024;
    cfg->tcp_max_pipelined = 64;
    cfg->tcp_max_query = 65535;
    cfg->tcp_backlog = 128;
    cfg->backend = DMP_NET_BACKEND_AUTO;
}

int dmp_net_config_add_listen(dmp_net_config_t *cfg, const char *host, uint16_t port)
{
    if (!cfg || !host || strlen(host) >= sizeof cfg->listen[0].host) {
        return DMP_EINVAL;
    }
    if (cfg->nlisten >= DMP_NET_MAX_LISTEN) {
        return DMP_EFULL;
    }
    dmp_net_listen_t *l = &cfg->listen[cfg->nlisten++];
    memset(l, 0, sizeof *l);
    memcpy(l->host, host, strlen(host) + 1);
    l->port = port;
    return DMP_OK;
}

/* start / stop */

void *dmp_net_fe_main(void *arg)
{
    fe_t *fe = arg;
    dmp_net_t *n = fe->net;
    char name[16];
    snprintf(name, sizeof name, "dmp-fe%u", fe->idx);
    pthread_setname_np(pthread_self(), name);
    for (unsigned i = 0; i < fe->ntcp; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_LISTEN, i)};
        (void)epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->tcp_fd[i], &ev);
    }
    if (fe->use_uring) {
        char why[160] = "";
        if (dmp_net_uring_setup(fe, why, sizeof why) != 0) {
            dmp_warn("net: frontend %u: io_uring setup failed (%s); using recvmmsg/sendmmsg",
                     fe->idx, why);
            fe->use_uring = false;
            if (fe->ring_ok) {
                io_uring_queue_exit(&fe->ring);
                fe->ring_ok = false;
            }
        }
    }
    if (fe->use_uring) {
        dmp_net_uring_loop(fe);
    } else if (dmp_net_mmsg_setup(fe) == 0) {
        dmp_net_mmsg_loop(fe);
    } else {
        dmp_error("net: frontend %u: cannot set up the recvmmsg backend", fe->idx);
    }
    (void)n;
    return NULL;
}

static int check_cfg(const dmp_net_config_t *c, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (c->frontends < 1 || c->frontends > DMP_NET_MAX_FRONTENDS) {
        bad = "frontends";
    } else if (c->shards < 1 || c->shards > DMP_NET_MAX_SHARDS) {
        bad = "shards";
    } else if (c->ring_capacity < 2 || (c->ring_capacity & (c->ring_capacity - 1))) {
        bad = "ring_capacity (power of two >= 2)";
    } else if (c->task_ring_capacity < 2 || (c->task_ring_capacity & (c->task_ring_capacity - 1))) {
        bad = "task_ring_capacity (power of two >= 2)";
    } else if (c->udp_max_payload < 12 || c->udp_max_payload > 65535) {
        bad = "udp_max_payload";
    } else if (c->udp_reply_cap < 12 || c->udp_reply_cap > 65535) {
        bad = "udp_reply_cap";
    } else if (c->tcp_max_conns < 1 || c->tcp_max_conns > (1u << 20)) {
        bad = "tcp_max_conns";
    } else if (c->tcp_max_pipelined < 1) {
        bad = "tcp_max_pipelined";
    } else if (c->tcp_max_query < 12 || c->tcp_max_query > 65535) {
        bad = "tcp_max_query";
    } else if (c->nlisten < 1 || c->nlisten > DMP_NET_MAX_LISTEN) {
        bad = "nlisten";
    } else if (c->backend > DMP_NET_BACKEND_MMSG) {
        bad = "backend";
    }
    if (bad) {
        dmp_net_set_err(err, errlen, "bad net config: %s", bad, 0);
        return DMP_EINVAL;
    }
    return DMP_OK;
}

static int fe_init(dmp_net_t *n, fe_t *fe, unsigned idx)
{
    fe->net = n;
    fe->idx = idx;
    fe->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    fe->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (fe->efd < 0 || fe->epfd < 0) {
        return DMP_ESYS;
    }
    fe->req_size = round_up(sizeof(req_t) + n->cfg.udp_max_payload + n->cfg.udp_reply_cap, 64);
    fe->inflight = calloc(n->S, sizeof *fe->inflight);
    fe->npend = calloc(n->S, sizeof *fe->npend);
    fe->pend = calloc(n->S, sizeof *fe->pend);
    fe->conns = calloc(n->cfg.tcp_max_conns, sizeof *fe->conns);
    fe->conn_free = calloc(n->cfg.tcp_max_conns, sizeof *fe->conn_free);
    fe->dirty = calloc(n->cfg.tcp_max_conns, sizeof *fe->dirty);
    if (!fe->inflight || !fe->npend || !fe->pend || !fe->conns || !fe->conn_free || !fe->dirty) {
        return DMP_ENOMEM;
    }
    for (unsigned s = 0; s < n->S; s++) {
        fe->pend[s] = calloc(n->cfg.ring_capacity, sizeof(req_t *));
        if (!fe->pend[s]) {
            return DMP_ENOMEM;
        }
    }
    for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
        fe->conns[ci].fd = -1;
        fe->conn_free[fe->nconn_free++] = n->cfg.tcp_max_conns - 1 - ci;
    }
    return DMP_OK;
}

static void free_req_any(req_t *r)
{
    if (r->kind == REQ_TCP) {
        free(r->wb);
        free(r);
    }
    /* UDP reqs belong to their frontend's `all` list */
}

static void net_release(dmp_net_t *n)
{
    void *items[BATCH];
    if (n->fwd && n->rep) {
        for (size_t i = 0; i < (size_t)n->F * n->S; i++) {
            size_t k;
            while ((k = dmp_net_spsc_pop(&n->fwd[i], items, BATCH)) > 0) {
                for (size_t j = 0; j < k; j++) {
                    free_req_any(items[j]);
                }
            }
            while ((k = dmp_net_spsc_pop(&n->rep[i], items, BATCH)) > 0) {
                for (size_t j = 0; j < k; j++) {
                    free_req_any(items[j]);
                }
            }
            dmp_net_spsc_destroy(&n->fwd[i]);
            dmp_net_spsc_destroy(&n->rep[i]);
        }
    }
    free(n->fwd);
    free(n->rep);
    n->fwd = n->rep = NULL;
    for (unsigned f = 0; n->fe && f < n->F; f++) {
        fe_t *fe = &n->fe[f];
        for (unsigned s = 0; fe->pend && s < n->S; s++) {
            for (unsigned j = 0; fe->npend && j < fe->npend[s]; j++) {
                free_req_any(fe->pend[s][j]);
            }
            free(fe->pend[s]);
        }
        for (unsigned ci = 0; fe->conns && ci < n->cfg.tcp_max_conns; ci++) {
            dmp_net_conn_close(fe, ci);
        }
        for (unsigned i = 0; i < fe->nudp; i++) {
            close(fe->udp_fd[i]);
        }
        for (unsigned i = 0; i < fe->ntcp; i++) {
            close(fe->tcp_fd[i]);
        }
        fe->nudp = fe->ntcp = 0;
        if (fe->ring_ok) {
            io_uring_queue_exit(&fe->ring);
            fe->ring_ok = false;
        }
        if (!fe->buf_leak) {
            free(fe->bufs);
            free(fe->br);
        }
        for (size_t i = 0; i < fe->nall; i++) {
            free(fe->all[i]);
        }
        free(fe->all);
        free(fe->pend);
        free(fe->npend);
        free(fe->inflight);
        free(fe->conns);
        free(fe->conn_free);
        free(fe->dirty);
        free(fe->mm);
        free(fe->mm_iov);
        free(fe->mm_name);
        free(fe->mm_ctl);
        free(fe->mm_buf);
        free(fe->sm);
        free(fe->sm_req);
        if (fe->efd >= 0) {
            close(fe->efd);
        }
        if (fe->epfd >= 0) {
            close(fe->epfd);
        }
    }
    free(n->fe);
    n->fe = NULL;
    for (unsigned s = 0; n->sh && s < n->S; s++) {
        shard_t *sh = &n->sh[s];
        dmp_net_mpsc_destroy(&sh->tasks);
        free(sh->scratch);
        if (sh->efd >= 0) {
            close(sh->efd);
        }
    }
    free(n->sh);
    n->sh = NULL;
}

static void net_join(dmp_net_t *n)
{
    atomic_store_explicit(&n->fe_stop, 1, memory_order_release);
    for (unsigned f = 0; f < n->fe_started; f++) {
        efd_signal(n->fe[f].efd);
    }
    for (unsigned f = 0; f < n->fe_started; f++) {
        pthread_join(n->fe[f].th, NULL);
    }
    n->fe_started = 0;
    atomic_store_explicit(&n->submit_closed, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&n->submit_active, memory_order_seq_cst) != 0) {
        sched_yield();
    }
    atomic_store_explicit(&n->sh_stop, 1, memory_order_release);
    for (unsigned s = 0; s < n->sh_started; s++) {
        efd_signal(n->sh[s].efd);
    }
    for (unsigned s = 0; s < n->sh_started; s++) {
        pthread_join(n->sh[s].th, NULL);
    }
    n->sh_started = 0;
}

int dmp_net_start(const dmp_net_config_t *cfg, const dmp_net_handler_t *h, dmp_net_t **out,
                  char *err, size_t errlen)
{
    if (err && errlen) {
        err[0] = 0;
    }
    if (!cfg || !h || !h->handle || !out) {
        dmp_net_set_err(err, errlen, "%s", "dmp_net_start: missing argument", 0);
        return DMP_EINVAL;
    }
    *out = NULL;
    int rc = check_cfg(cfg, err, errlen);
    if (rc) {
        return rc;
    }
    dmp_net_t *n = calloc(1, sizeof *n);
    if (!n) {
        return DMP_ENOMEM;
    }
    n->cfg = *cfg;
    if (n->cfg.tcp_max_per_source == 0) {
        unsigned half = n->cfg.tcp_max_conns / 2;
        n->cfg.tcp_max_per_source = half < 1 ? 1 : half > 64 ? 64 : half;
    }
    if (n->cfg.tcp_msg_timeout_ms == 0) {
        n->cfg.tcp_msg_timeout_ms = 2000;
    }
    n->h = *h;
    n->F = cfg->frontends;
    n->S = cfg->shards;
    pthread_mutex_init(&n->stop_mu, NULL);
    for (unsigned i = 0; i < DMP_NET_MAX_LISTEN; i++) {
        n->udp_port[i] = n->tcp_port[i] = DMP_ENOTFOUND;
    }

    n->backend = DMP_NET_BACKEND_MMSG;
    if (cfg->backend != DMP_NET_BACKEND_MMSG) {
        char why[160] = "";
        if (dmp_net_probe_uring_thread(why, sizeof why)) {
            n->backend = DMP_NET_BACKEND_URING;
        } else if (cfg->backend == DMP_NET_BACKEND_URING) {
            dmp_net_set_err(err, errlen, "io_uring backend unavailable: %s", why, 0);
            free(n);
            return DMP_EUNSUPPORTED;
        } else {
            dmp_warn("net: io_uring unavailable (%s); using the recvmmsg/sendmmsg backend", why);
        }
    }

    n->fe = calloc(n->F, sizeof *n->fe);
    n->sh = calloc(n->S, sizeof *n->sh);
    n->fwd = calloc((size_t)n->F * n->S, sizeof *n->fwd);
    n->rep = calloc((size_t)n->F * n->S, sizeof *n->rep);
    if (!n->fe || !n->sh || !n->fwd || !n->rep) {
        rc = DMP_ENOMEM;
        goto fail;
    }
    for (unsigned f = 0; f < n->F; f++) {
        n->fe[f].efd = n->fe[f].epfd = -1;
    }
    for (unsigned s = 0; s < n->S; s++) {
        n->sh[s].efd = -1;
    }
    for (size_t i = 0; i < (size_t)n->F * n->S; i++) {
        if (dmp_net_spsc_init(&n->fwd[i], cfg->ring_capacity) ||
            dmp_net_spsc_init(&n->rep[i], cfg->ring_capacity)) {
            rc = DMP_ENOMEM;
            goto fail;
        }
    }
    for (unsigned f = 0; f < n->F; f++) {
        if ((rc = fe_init(n, &n->fe[f], f)) != 0) {
            dmp_net_set_err(err, errlen, "%s", "frontend setup failed", rc == DMP_ESYS ? errno : 0);
            goto fail;
        }
        n->fe[f].use_uring = n->backend == DMP_NET_BACKEND_URING;
    }
    for (unsigned s = 0; s < n->S; s++) {
        shard_t *sh = &n->sh[s];
        sh->net = n;
        sh->idx = s;
        sh->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        sh->scratch = malloc(TCP_MAX_MSG);
        if (sh->efd < 0 || !sh->scratch ||
            dmp_net_mpsc_init(&sh->tasks, cfg->task_ring_capacity) != 0) {
            rc = DMP_ENOMEM;
            goto fail;
        }
    }
    for (unsigned li = 0; li < cfg->nlisten; li++) {
        if ((rc = dmp_net_bind_listen(n, li, err, errlen)) != 0) {
            goto fail;
        }
    }
    for (unsigned s = 0; s < n->S; s++) {
        if (pthread_create(&n->sh[s].th, NULL, dmp_net_shard_main, &n->sh[s]) != 0) {
            rc = DMP_NET_ETHREAD;
            dmp_net_set_err(err, errlen, "%s", "cannot start shard thread", errno);
            goto fail;
        }
        n->sh_started++;
    }
    for (unsigned f = 0; f < n->F; f++) {
        if (pthread_create(&n->fe[f].th, NULL, dmp_net_fe_main, &n->fe[f]) != 0) {
            rc = DMP_NET_ETHREAD;
            dmp_net_set_err(err, errlen, "%s", "cannot start frontend thread", errno);
            goto fail;
        }
        n->fe_started++;
    }
    dmp_info("net: %u frontend(s), %u shard(s), backend %s", n->F, n->S,
             n->backend == DMP_NET_BACKEND_URING ? "io_uring" : "recvmmsg/sendmmsg");
    *out = n;
    return DMP_OK;
fail:
    net_join(n);
    net_release(n);
    pthread_mutex_destroy(&n->stop_mu);
    free(n);
    if (err && errlen && !err[0]) {
        snprintf(err, errlen, "%s", dmp_net_strerror(rc));
    }
    return rc;
}

void dmp_net_stop(dmp_net_t *n)
{
    if (!n) {
        return;
    }
    pthread_mutex_lock(&n->stop_mu);
    if (!n->stopped) {
        net_join(n);
        /* tasks that raced with stop run here, on the stopping thread */
        for (unsigned s = 0; s < n->S; s++) {
            dmp_net_task_fn fn;
            void *arg;
            while (dmp_net_mpsc_pop(&n->sh[s].tasks, &fn, &arg)) {
                fn(arg);
                CINC(n->sh[s].c.tasks_run, 1);
            }
        }
        for (unsigned f = 0; f < n->F; f++) {
            fe_t *fe = &n->fe[f];
            for (unsigned ci = 0; ci < n->cfg.tcp_max_conns; ci++) {
                dmp_net_conn_close(fe, ci);
            }
            for (unsigned i = 0; i < fe->nudp; i++) {
                close(fe->udp_fd[i]);
            }
            for (unsigned i = 0; i < fe->ntcp; i++) {
                close(fe->tcp_fd[i]);
            }
            fe->nudp = fe->ntcp = 0;
        }
        n->stopped = true;
    }
    pthread_mutex_unlock(&n->stop_mu);
}

void dmp_net_free(dmp_net_t *n)
{
    if (!n) {
        return;
    }
    dmp_net_stop(n);
    net_release(n);
    pthread_mutex_destroy(&n->stop_mu);
    free(n);
}

int dmp_net_udp_port(const dmp_net_t *n, unsigned idx)
{
    return (!n || idx >= DMP_NET_MAX_LISTEN) ? DMP_EINVAL : n->udp_port[idx];
}

int dmp_net_tcp_port(const dmp_net_t *n, unsigned idx)
{
    return (!n || idx >= DMP_NET_MAX_LISTEN) ? DMP_EINVAL : n->tcp_port[idx];
}

unsigned dmp_net_frontends(const dmp_net_t *n)
{
    return n ? n->F : 0;
}

unsigned dmp_net_shards(const dmp_net_t *n)
{
    return n ? n->S : 0;
}

dmp_net_backend_t dmp_net_backend(const dmp_net_t *n)
{
    return n ? n->backend : DMP_NET_BACKEND_AUTO;
}

static void add_counters(dmp_net_stats_t *o, const counters_t *c)
{
    o->udp_rx += CGET(c->udp_rx);
    o->udp_tx += CGET(c->udp_tx);
    o->udp_dropped += CGET(c->udp_dropped);
    o->tcp_accepted += CGET(c->tcp_accepted);
    o->tcp_rejected += CGET(c->tcp_rejected);
    o->tcp_accept_errors += CGET(c->tcp_accept_errors);
    o->tcp_rx += CGET(c->tcp_rx);
    o->tcp_tx += CGET(c->tcp_tx);
    o->tcp_timeouts += CGET(c->tcp_timeouts);
    o->tcp_evicted += CGET(c->tcp_evicted);
    o->tcp_source_capped += CGET(c->tcp_source_capped);
    o->tcp_bad_length += CGET(c->tcp_bad_length);
    o->ring_full_drops += CGET(c->ring_full_drops);
    o->admit_drops += CGET(c->admit_drops);
    o->slips += CGET(c->slips);
    o->queries_handled += CGET(c->queries_handled);
    o->tasks_run += CGET(c->tasks_run);
    o->frontend_answered += CGET(c->frontend_answered);
    if (CGET(c->ring_depth_max) > o->ring_depth_max) {
        o->ring_depth_max = CGET(c->ring_depth_max);
    }
}

void dmp_net_stats(const dmp_net_t *n, dmp_net_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!n) {
        return;
    }
    out->backend = n->backend;
    for (unsigned f = 0; f < n->F; f++) {
        add_counters(out, &n->fe[f].c);
    }
    for (unsigned s = 0; s < n->S; s++) {
        add_counters(out, &n->sh[s].c);
    }
    for (size_t i = 0; n->fwd && i < (size_t)n->F * n->S; i++) {
        out->ring_depth_now += dmp_net_spsc_size(&n->fwd[i]);
    }
}
