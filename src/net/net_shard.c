/* net: shard threads. Each pops queries from its F input rings, runs handle() on each, pushes
 * the replies back to their frontends, and runs tasks submitted with dmp_net_submit. */
#include "net/net_internal.h"

#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void shard_handle(shard_t *sh, req_t *r, unsigned f)
{
    dmp_net_t *n = sh->net;
    dmp_net_query_t q = {
        .pkt = r->data,
        .len = r->len,
        .transport = r->kind == REQ_TCP ? DMP_NET_TCP : DMP_NET_UDP,
        .peer = (const struct sockaddr *)&r->peer,
        .peer_len = r->peer_len,
        .frontend = f,
    };
    size_t out_len = 0;
    CINC(sh->c.queries_handled, 1);
    if (r->kind == REQ_UDP) {
        size_t cap = n->cfg.udp_reply_cap;
        n->h.handle(n->h.ctx, sh->idx, &q, r->data + n->cfg.udp_max_payload, cap, &out_len);
        r->out_len = out_len <= cap ? out_len : 0;
        return;
    }
    n->h.handle(n->h.ctx, sh->idx, &q, sh->scratch, TCP_MAX_MSG, &out_len);
    r->wb = NULL;
    if (out_len > 0 && out_len <= TCP_MAX_MSG) {
        wbuf_t *w = malloc(sizeof(wbuf_t) + 2 + out_len);
        if (w) {
            w->next = NULL;
            w->len = 2 + out_len;
            w->off = 0;
            dmp_store_u16be(w->data, (uint16_t)out_len);
            memcpy(w->data + 2, sh->scratch, out_len);
            r->wb = w;
        }
    }
}

/* Runs one round over every input ring. Returns the number of items processed. */
static size_t shard_round(shard_t *sh)
{
    dmp_net_t *n = sh->net;
    size_t did = 0;
    void *items[BATCH];
    for (unsigned f = 0; f < n->F; f++) {
        dmp_net_spsc_t *in = &n->fwd[f * n->S + sh->idx];
        size_t depth = dmp_net_spsc_size(in);
        if (depth > CGET(sh->c.ring_depth_max)) {
            atomic_store_explicit(&sh->c.ring_depth_max, depth, memory_order_relaxed);
        }
        size_t k = dmp_net_spsc_pop(in, items, BATCH);
        if (!k) {
            continue;
        }
        for (size_t i = 0; i < k; i++) {
            shard_handle(sh, items[i], f);
        }
        dmp_net_spsc_t *out = &n->rep[sh->idx * n->F + f];
        size_t sent = 0;
        bool signal = false;
        while (sent < k) {
            bool was_empty = false;
            /* always fits: the frontend bounds what it has in flight to the ring capacity */
            size_t p = dmp_net_spsc_push(out, items + sent, k - sent, &was_empty);
            signal |= was_empty;
            sent += p;
            if (sent < k) {
                sched_yield();
            }
        }
        if (signal) {
            efd_signal(n->fe[f].efd);
        }
        did += k;
    }
    dmp_net_task_fn fn;
    void *arg;
    for (int i = 0; i < BATCH && dmp_net_mpsc_pop(&sh->tasks, &fn, &arg); i++) {
        fn(arg);
        CINC(sh->c.tasks_run, 1);
        did++;
    }
    return did;
}

static bool shard_quiet(shard_t *sh)
{
    dmp_net_t *n = sh->net;
    for (unsigned f = 0; f < n->F; f++) {
        if (!dmp_net_spsc_quiet(&n->fwd[f * n->S + sh->idx])) {
            return false;
        }
    }
    return dmp_net_mpsc_quiet(&sh->tasks);
}

/* Runs the tick hook; returns the monotonic ms by which it wants to run again (-1: none). */
static int64_t shard_tick(shard_t *sh)
{
    dmp_net_t *n = sh->net;
    if (!n->h.tick) {
        return -1;
    }
    int again = n->h.tick(n->h.ctx, sh->idx);
    return again < 0 ? -1 : net_now_ms() + again;
}

void *dmp_net_shard_main(void *arg)
{
    shard_t *sh = arg;
    dmp_net_t *n = sh->net;
    char name[16];
    snprintf(name, sizeof name, "dmp-sh%u", sh->idx);
    pthread_setname_np(pthread_self(), name);
    int64_t last_tick = net_now_ms();
    int64_t due = -1; /* when the tick asked to run again (-1: no ask) */
    for (;;) {
        size_t did = shard_round(sh);
        if (did) {
            due = shard_tick(sh);
            last_tick = net_now_ms();
            continue;
        }
        if (atomic_load_explicit(&n->sh_stop, memory_order_acquire)) {
            if (shard_quiet(sh)) {
                break;
            }
            continue;
        }
        if (!shard_quiet(sh)) {
            continue;
        }
        int64_t now = net_now_ms();
        int64_t wait = 100 - (now - last_tick);
        if (due >= 0 && due - now < wait) {
            wait = due - now;
        }
        if (wait > 0) {
            struct pollfd pfd = {.fd = sh->efd, .events = POLLIN};
            if (poll(&pfd, 1, (int)wait) > 0) {
                uint64_t v;
                ssize_t r = read(sh->efd, &v, sizeof v);
                (void)r;
            }
        }
        now = net_now_ms();
        if (now - last_tick >= 100 || (due >= 0 && now >= due)) {
            due = shard_tick(sh);
            last_tick = net_now_ms();
        }
    }
    return NULL;
}

/* Wake-ups this thread owes (dmp_net_wakeups_defer): one per shard whose task ring it found
 * empty, sent at dmp_net_wakeups_flush. */
#define WAKE_DEFER_MAX 16
static _Thread_local bool tl_defer;
static _Thread_local unsigned tl_nwake;
static _Thread_local struct {
    dmp_net_t *n;
    unsigned shard;
} tl_wake[WAKE_DEFER_MAX];

/* Signals shard's eventfd unless the net is stopping (its descriptors may then be closed). */
static void wake_guarded(dmp_net_t *n, unsigned shard)
{
    atomic_fetch_add_explicit(&n->submit_active, 1, memory_order_seq_cst);
    if (!atomic_load_explicit(&n->submit_closed, memory_order_seq_cst))
        efd_signal(n->sh[shard].efd);
    atomic_fetch_sub_explicit(&n->submit_active, 1, memory_order_seq_cst);
}

static bool wake_defer(dmp_net_t *n, unsigned shard)
{
    for (unsigned i = 0; i < tl_nwake; i++)
        if (tl_wake[i].n == n && tl_wake[i].shard == shard)
            return true;
    if (tl_nwake == WAKE_DEFER_MAX)
        return false;
    tl_wake[tl_nwake].n = n;
    tl_wake[tl_nwake].shard = shard;
    tl_nwake++;
    return true;
}

void dmp_net_wakeups_flush(void)
{
    for (unsigned i = 0; i < tl_nwake; i++)
        wake_guarded(tl_wake[i].n, tl_wake[i].shard);
    tl_nwake = 0;
}

void dmp_net_wakeups_defer(bool on)
{
    if (!on)
        dmp_net_wakeups_flush();
    tl_defer = on;
}

int dmp_net_submit(dmp_net_t *n, unsigned shard, void (*fn)(void *arg), void *arg)
{
    if (!n || !fn || shard >= n->S) {
        return DMP_EINVAL;
    }
    atomic_fetch_add_explicit(&n->submit_active, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&n->submit_closed, memory_order_seq_cst)) {
        atomic_fetch_sub_explicit(&n->submit_active, 1, memory_order_seq_cst);
        return DMP_NET_ESTOPPED;
    }
    bool was_empty = false;
    bool ok = dmp_net_mpsc_push(&n->sh[shard].tasks, fn, arg, &was_empty);
    if (ok && was_empty && !(tl_defer && wake_defer(n, shard))) {
        efd_signal(n->sh[shard].efd);
    }
    atomic_fetch_sub_explicit(&n->submit_active, 1, memory_order_seq_cst);
    return ok ? DMP_OK : DMP_EFULL;
}
