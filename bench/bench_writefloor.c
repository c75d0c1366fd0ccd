/* dnsmesh-bench writefloor: the floor of an HTTP write's CPU on this machine, part by part.
 *
 *   http     the cheapest HTTP/1.1 keep-alive server we can write (one thread, epoll, recv the
 *            request, send a fixed 201), under `dnsmesh-bench writes` (the client write-cpu.sh
 *            uses) at --rate from 64, 8 and 1 connections;
 *   handoff  the same with a hand-off of every request to a second thread, the node's shape
 *            (HTTP thread -> shard): woken by an eventfd write (as the node wakes its shard) or
 *            by a futex (a wake only when it sleeps), the answer handed back to the HTTP thread
 *            through an eventfd in its epoll set; or sent by the second thread itself;
 *   node     the hand-off with the rocks part's RocksDB write on the worker (one WriteBatch of
 *            what it drained) and a sync thread that syncs the WAL every 8 ms and hands the
 *            synced writes' answers back in one wake-up (the node's shape); or, "group", no
 *            wake-up per request: every 8 ms the sync thread writes everything queued as one
 *            WriteBatch, syncs and answers (a shard writing once per sync group);
 *   rocks    RocksDB writes of the rows one DMP write of a new record makes;
 *   fsync    an fdatasync per write against one per 1 ms / 8 ms group (both in
 *            bench_writefloor_store.c);
 *   syscalls the system calls, wake-ups and TCP work a request is made of, one by one
 *            (bench_writefloor_sys.c).
 *
 * The server threads are pinned to --cpu, the client to --client-cpu. Each thread's CPU is read
 * from /proc/self/task/TID/schedstat (ns) and stat (utime + stime, the ticks write-cpu.sh reads)
 * before the client starts and after it exits, and printed per request. The configurations of a
 * part run interleaved, --rounds times; medians last. Loopback only, bounded: every client run
 * lasts --duration seconds (killed, by its PID, 30 s after that). */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "bench.h"
#include "bench_dns_util.h"
#include "bench_writefloor.h"

#define WF_MAXFD 1024
#define WF_BUF 16384 /* one request: `writes` sends ~400 bytes */
#define WF_QCAP 1024 /* > WF_MAXFD: one request in flight per connection */

/* M_NODE: the worker writes what it drained as one WriteBatch, a sync thread syncs the WAL
 * every 8 ms and hands the synced writes' answers back (the node's shape). M_GROUP: no wake-up
 * per request; the sync thread, every 8 ms, writes everything queued as one WriteBatch, syncs
 * and answers (a shard that writes once per sync group). */
enum { M_DIRECT, M_EFD, M_FUTEX, M_EFD_WREPLY, M_NODE, M_GROUP };
static const char *const mode_name[] = {"direct",
                                        "eventfd",
                                        "futex",
                                        "eventfd+worker-reply",
                                        "node: rocks+8ms sync",
                                        "group: 8ms batch+sync"};
#define WF_GROUP_NS 8000000L /* the node's syncs settle near 8 ms apart at 2,000 writes/s */

static const char RESP[] = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                           "Content-Length: 28\r\n\r\n{\"status\":\"ok\",\"stored\":1}\r\n";

typedef struct {
    int q[WF_QCAP];
    unsigned head, tail;
} ring_t;

typedef struct {
    int mode;
    int lfd, ep, stop_efd, wake_efd, back_efd;
    int cpu;
    atomic_int stop;
    pthread_mutex_t mu;
    ring_t jobs, done;      /* HTTP -> worker, worker -> HTTP (under mu) */
    ring_t pending;         /* M_NODE: written, waiting for the sync (under mu) */
    dmpb_wf_rdb_t *db;      /* M_NODE, M_GROUP */
    atomic_int db_failed;   /* set by the worker or the syncer */
    atomic_uint fseq;       /* futex word: bumped per job */
    atomic_int fsleep;      /* the worker is (about to be) in FUTEX_WAIT */
    atomic_int tid[3];      /* HTTP thread, worker, syncer */
    size_t len[WF_MAXFD];   /* bytes buffered per connection */
    char *buf[WF_MAXFD];    /* per-connection buffer (allocated on accept) */
    uint64_t served, wakes; /* by the HTTP thread */
} srv_t;

static void ring_push(ring_t *r, int v)
{
    r->q[r->tail++ % WF_QCAP] = v;
}

static int ring_pop(ring_t *r)
{
    return r->head == r->tail ? -1 : r->q[r->head++ % WF_QCAP];
}

static void send_resp(int fd)
{
    (void)send(fd, RESP, sizeof RESP - 1, MSG_NOSIGNAL); /* 122 bytes fit any empty sndbuf */
}

static void efd_signal(int fd)
{
    uint64_t one = 1;
    (void)!write(fd, &one, 8);
}

static void hand_off(srv_t *s, int fd)
{
    pthread_mutex_lock(&s->mu);
    ring_push(&s->jobs, fd);
    pthread_mutex_unlock(&s->mu);
    if (s->mode == M_GROUP)
        return; /* the sync thread collects it */
    if (s->mode == M_FUTEX) {
        atomic_fetch_add(&s->fseq, 1);
        if (atomic_load(&s->fsleep)) {
            syscall(SYS_futex, &s->fseq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
            s->wakes++;
        }
    } else {
        efd_signal(s->wake_efd); /* every job, as the node's HTTP thread wakes its shard */
        s->wakes++;
    }
}

static void conn_close(srv_t *s, int fd)
{
    epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(s->buf[fd]);
    s->buf[fd] = NULL;
    s->len[fd] = 0;
}

static void conn_readable(srv_t *s, int fd)
{
    ssize_t r = recv(fd, s->buf[fd] + s->len[fd], WF_BUF - s->len[fd], 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        conn_close(s, fd);
        return;
    }
    s->len[fd] += (size_t)r;
    ssize_t n;
    while ((n = dmpb_wf_request_len(s->buf[fd], s->len[fd], WF_BUF)) > 0) {
        s->served++;
        if (s->mode == M_DIRECT)
            send_resp(fd);
        else
            hand_off(s, fd);
        memmove(s->buf[fd], s->buf[fd] + n, s->len[fd] - (size_t)n);
        s->len[fd] -= (size_t)n;
    }
    if (n < 0)
        conn_close(s, fd);
}

static void do_accept(srv_t *s)
{
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (fd >= WF_MAXFD || (s->buf[fd] = malloc(WF_BUF)) == NULL) {
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->len[fd] = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
    }
}

static void *http_thread(void *arg)
{
    srv_t *s = arg;
    dmpb_pin_cpu(s->cpu);
    pthread_setname_np(pthread_self(), "wf-http"); /* for perf report --comm */
    atomic_store(&s->tid[0], (int)syscall(SYS_gettid));
    struct epoll_event evs[64];
    while (!atomic_load(&s->stop)) {
        int n = epoll_wait(s->ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == s->lfd) {
                do_accept(s);
            } else if (fd == s->stop_efd) {
                atomic_store(&s->stop, 1);
            } else if (fd == s->back_efd) {
                uint64_t v;
                (void)!read(fd, &v, 8);
                pthread_mutex_lock(&s->mu);
                int c;
                int out[WF_QCAP], no = 0;
                while ((c = ring_pop(&s->done)) >= 0)
                    out[no++] = c;
                pthread_mutex_unlock(&s->mu);
                for (int k = 0; k < no; k++)
                    send_resp(out[k]);
            } else {
                conn_readable(s, fd);
            }
        }
    }
    return NULL;
}

static void worker_wait(srv_t *s, unsigned seen)
{
    if (s->mode != M_FUTEX) {
        uint64_t v;
        (void)!read(s->wake_efd, &v, 8); /* blocking: one syscall per wake-up */
        return;
    }
    atomic_store(&s->fsleep, 1);
    if (atomic_load(&s->fseq) == seen)
        syscall(SYS_futex, &s->fseq, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
    atomic_store(&s->fsleep, 0);
}

static void *worker_thread(void *arg)
{
    srv_t *s = arg;
    dmpb_pin_cpu(s->cpu);
    pthread_setname_np(pthread_self(), "wf-worker");
    atomic_store(&s->tid[1], (int)syscall(SYS_gettid));
    int got[WF_QCAP];
    for (;;) {
        unsigned seen = atomic_load(&s->fseq);
        int n = 0, c;
        pthread_mutex_lock(&s->mu);
        while ((c = ring_pop(&s->jobs)) >= 0)
            got[n++] = c;
        pthread_mutex_unlock(&s->mu);
        if (n == 0) {
            if (atomic_load(&s->stop))
                break;
            worker_wait(s, seen);
            continue;
        }
        if (s->mode == M_EFD_WREPLY) {
            for (int k = 0; k < n; k++)
                send_resp(got[k]);
            continue;
        }
        if (s->mode == M_NODE) {
            for (int k = 0; k < n; k += 64)
                if (dmpb_wf_rdb_write(s->db, n - k < 64 ? n - k : 64, true) != 0)
                    atomic_store(&s->db_failed, 1);
            pthread_mutex_lock(&s->mu);
            for (int k = 0; k < n; k++)
                ring_push(&s->pending, got[k]);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        for (int k = 0; k < n; k++)
            ring_push(&s->done, got[k]);
        pthread_mutex_unlock(&s->mu);
        efd_signal(s->back_efd);
    }
    return NULL;
}

/* M_NODE: syncs what the worker wrote, M_GROUP: writes and syncs what was queued; then hands
 * the answers back in one wake-up of the HTTP thread. Every 8 ms until stopped. */
static void *sync_thread(void *arg)
{
    srv_t *s = arg;
    dmpb_pin_cpu(s->cpu);
    pthread_setname_np(pthread_self(), "wf-sync");
    atomic_store(&s->tid[2], (int)syscall(SYS_gettid));
    int got[WF_QCAP];
    while (!atomic_load(&s->stop)) {
        struct timespec ts = {0, WF_GROUP_NS};
        nanosleep(&ts, NULL);
        int n = 0, c;
        pthread_mutex_lock(&s->mu);
        ring_t *from = s->mode == M_GROUP ? &s->jobs : &s->pending;
        while ((c = ring_pop(from)) >= 0)
            got[n++] = c;
        pthread_mutex_unlock(&s->mu);
        if (n == 0)
            continue;
        if (s->mode == M_GROUP)
            for (int k = 0; k < n; k += 64)
                if (dmpb_wf_rdb_write(s->db, n - k < 64 ? n - k : 64, true) != 0)
                    atomic_store(&s->db_failed, 1);
        if (dmpb_wf_rdb_sync(s->db) != 0)
            atomic_store(&s->db_failed, 1);
        pthread_mutex_lock(&s->mu);
        for (int k = 0; k < n; k++)
            ring_push(&s->done, got[k]);
        pthread_mutex_unlock(&s->mu);
        efd_signal(s->back_efd);
    }
    return NULL;
}

/* ---- per-thread CPU from /proc ---- */

typedef struct {
    uint64_t ns, ticks;
} tcpu_t;

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

static int thread_cpu(int tid, tcpu_t *t)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
    int n = read_small(path, buf, sizeof buf);
    if (n < 0 || dmpb_wf_schedstat_ns(buf, (size_t)n, &t->ns) != 0)
        return -1;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    n = read_small(path, buf, sizeof buf);
    if (n < 0 || dmpb_wf_stat_ticks(buf, (size_t)n, &t->ticks) != 0)
        return -1;
    return 0;
}

/* ---- the client: `dnsmesh-bench writes`, this very binary ---- */

typedef struct {
    uint64_t ok;
    double p50_ms, p99_ms, client_us; /* client_us: its CPU (user + sys) per acknowledged write */
} client_res_t;

static int run_client(int port, int conns, double rate, double duration, int cpu, int seed,
                      client_res_t *res)
{
    char a_port[16], a_rate[32], a_dur[32], a_conns[16], a_cpu[16], a_seed[16];
    snprintf(a_port, sizeof a_port, "%d", port);
    snprintf(a_rate, sizeof a_rate, "%g", rate);
    snprintf(a_dur, sizeof a_dur, "%g", duration);
    snprintf(a_conns, sizeof a_conns, "%d", conns);
    snprintf(a_cpu, sizeof a_cpu, "%d", cpu);
    snprintf(a_seed, sizeof a_seed, "%d", seed);
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(pfd[1], 1);
        char *argv[] = {"dnsmesh-bench", "writes", "--port",  a_port,   "--rate", a_rate,
                        "--duration",    a_dur,    "--conns", a_conns,  "--cpu",  a_cpu,
                        "--seed",        a_seed,   "--quiet", "--json", NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(pfd[1]);
    char out[8192];
    size_t ol = 0;
    int64_t deadline = dmpb_now_ns() + (int64_t)((duration + 30) * 1e9);
    for (;;) {
        int64_t left = (deadline - dmpb_now_ns()) / 1000000;
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            fprintf(stderr, "writefloor: client %d past its deadline: killed\n", (int)pid);
            kill(pid, SIGKILL);
            break;
        }
        ssize_t r = read(pfd[0], out + ol, sizeof out - 1 - ol);
        if (r <= 0)
            break;
        ol += (size_t)r;
    }
    close(pfd[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid)
        return -1;
    out[ol] = 0;
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    if (!j) {
        fprintf(stderr, "writefloor: client printed no JSON (status %d)\n", st);
        return -1;
    }
    res->ok = (uint64_t)json_integer_value(json_object_get(j, "ok"));
    res->p50_ms = json_number_value(json_object_get(j, "p50_ms"));
    res->p99_ms = json_number_value(json_object_get(j, "p99_ms"));
    json_decref(j);
    double cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    res->client_us = res->ok ? cpu_us / (double)res->ok : 0;
    return res->ok > 0 ? 0 : -1;
}

/* ---- one run ---- */

typedef struct {
    int mode, conns;
} hcfg_t;

#define MAX_RUNS 64
typedef struct {
    double us[4][MAX_RUNS]; /* HTTP thread, worker, syncer, all (schedstat ns) */
    double tick_us[MAX_RUNS];
    double client[MAX_RUNS], p50[MAX_RUNS];
    int n;
} hagg_t;

typedef struct {
    int cpu, client_cpu, rounds;
    double rate, duration;
    const char *part;
    const char *dir;
    int64_t writes;
} wopts_t;

static int http_run(const wopts_t *o, const hcfg_t *c, int round, hagg_t *agg)
{
    srv_t *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->mode = c->mode;
    s->cpu = o->cpu;
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->wake_efd = eventfd(0, EFD_CLOEXEC); /* blocking: the worker sleeps in read() */
    s->back_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc = -1;
    pthread_t th[3];
    bool started[3] = {false, false, false};
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sl) != 0 || listen(s->lfd, 256) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0 || s->ep < 0 || s->stop_efd < 0 ||
        s->wake_efd < 0 || s->back_efd < 0) {
        perror("writefloor: server setup");
        goto out;
    }
    int fds[] = {s->lfd, s->stop_efd, s->back_efd};
    for (int i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        epoll_ctl(s->ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    if ((c->mode == M_NODE || c->mode == M_GROUP) && (s->db = dmpb_wf_rdb_open(o->dir)) == NULL)
        goto out;
    /* th[i] runs role i: HTTP, worker, syncer (absent roles: tid stays 0) */
    bool role[3] = {true, c->mode != M_DIRECT && c->mode != M_GROUP,
                    c->mode == M_NODE || c->mode == M_GROUP};
    void *(*fn[3])(void *) = {http_thread, worker_thread, sync_thread};
    for (int i = 0; i < 3; i++)
        if (role[i]) {
            if (pthread_create(&th[i], NULL, fn[i], s) != 0)
                goto stop;
            started[i] = true;
        }
    for (int i = 0; i < 3; i++)
        while (role[i] && atomic_load(&s->tid[i]) == 0)
            usleep(1000);
    tcpu_t t0[3] = {0}, t1[3] = {0};
    for (int i = 0; i < 3; i++)
        if (role[i])
            thread_cpu(atomic_load(&s->tid[i]), &t0[i]);
    client_res_t cr = {0};
    int crc = run_client(ntohs(sa.sin_port), c->conns, o->rate, o->duration, o->client_cpu,
                         round + 1, &cr);
    for (int i = 0; i < 3; i++)
        if (role[i])
            thread_cpu(atomic_load(&s->tid[i]), &t1[i]);
    if (crc != 0 || atomic_load(&s->db_failed)) {
        fprintf(stderr, "writefloor: the client run failed\n");
        goto stop;
    }
    double hz = (double)sysconf(_SC_CLK_TCK);
    double us[3] = {0}, ticks = 0;
    for (int i = 0; i < 3; i++) {
        if (!role[i])
            continue;
        us[i] = dmpb_wf_us_per(t1[i].ns - t0[i].ns, cr.ok);
        ticks += (double)(t1[i].ticks - t0[i].ticks);
    }
    double tick_us = ticks * 1e6 / hz / (double)cr.ok;
    printf("round %d  %-21s conns %2d  http %6.1f  worker %6.1f  sync %5.1f  server %6.1f us/req "
           "(ticks %5.1f)  client %5.1f  p50 %.2f ms p99 %.2f ms  %llu ok  wakes/req %.2f\n",
           round + 1, mode_name[c->mode], c->conns, us[0], us[1], us[2], us[0] + us[1] + us[2],
           tick_us, cr.client_us, cr.p50_ms, cr.p99_ms, (unsigned long long)cr.ok,
           (double)s->wakes / (double)cr.ok);
    fflush(stdout);
    int k = agg->n++;
    agg->us[0][k] = us[0];
    agg->us[1][k] = us[1];
    agg->us[2][k] = us[2];
    agg->us[3][k] = us[0] + us[1] + us[2];
    agg->tick_us[k] = tick_us;
    agg->client[k] = cr.client_us;
    agg->p50[k] = cr.p50_ms;
    rc = 0;
stop:
    efd_signal(s->stop_efd);
    atomic_store(&s->stop, 1);
    if (c->mode == M_FUTEX) {
        atomic_fetch_add(&s->fseq, 1);
        syscall(SYS_futex, &s->fseq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    } else {
        efd_signal(s->wake_efd);
    }
    for (int i = 0; i < 3; i++)
        if (started[i])
            pthread_join(th[i], NULL);
out:
    dmpb_wf_rdb_close(s->db);
    for (int fd = 0; fd < WF_MAXFD; fd++)
        if (s->buf[fd]) {
            close(fd);
            free(s->buf[fd]);
        }
    int all[] = {s->lfd, s->ep, s->stop_efd, s->wake_efd, s->back_efd};
    for (int i = 0; i < 5; i++)
        if (all[i] >= 0)
            close(all[i]);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
}

/* which: 0 http, 1 handoff, 2 node */
static int http_part(const wopts_t *o, int which)
{
    static const hcfg_t direct[] = {{M_DIRECT, 64}, {M_DIRECT, 8}, {M_DIRECT, 1}};
    static const hcfg_t hand[] = {{M_EFD, 64},  {M_FUTEX, 64}, {M_EFD_WREPLY, 64}, {M_EFD, 8},
                                  {M_FUTEX, 8}, {M_EFD, 1},    {M_EFD_WREPLY, 1}};
    /* 64 connections only: with ~5-9 ms acknowledgements, 8 cannot carry 2,000 writes/s */
    static const hcfg_t node[] = {{M_NODE, 64}, {M_GROUP, 64}};
    static const char *const names[] = {"http", "handoff", "node"};
    const hcfg_t *cf = which == 0 ? direct : which == 1 ? hand : node;
    size_t nc = which == 0   ? sizeof direct / sizeof direct[0]
                : which == 1 ? sizeof hand / sizeof hand[0]
                             : sizeof node / sizeof node[0];
    hagg_t *agg = calloc(nc, sizeof *agg);
    if (!agg)
        return 1;
    printf("# writefloor %s: %g req/s for %g s per run, server on CPU %d, client (dnsmesh-bench "
           "writes) on CPU %d; us of thread CPU per request (schedstat), ticks = utime+stime\n",
           names[which], o->rate, o->duration, o->cpu, o->client_cpu);
    int fails = 0;
    for (int r = 0; r < o->rounds && !dmpb_stop; r++)
        for (size_t i = 0; i < nc && !dmpb_stop; i++)
            fails += http_run(o, &cf[i], r, &agg[i]) != 0;
    printf("# medians over %d rounds (us of CPU per request)\n", o->rounds);
    for (size_t i = 0; i < nc; i++) {
        hagg_t *a = &agg[i];
        size_t n = (size_t)a->n;
        printf("median %-21s conns %2d  http %6.1f  worker %6.1f  sync %5.1f  server %6.1f  "
               "(ticks %5.1f)  client %5.1f  p50 %.2f ms  (%d runs)\n",
               mode_name[cf[i].mode], cf[i].conns, dmpb_wf_median(a->us[0], n),
               dmpb_wf_median(a->us[1], n), dmpb_wf_median(a->us[2], n),
               dmpb_wf_median(a->us[3], n), dmpb_wf_median(a->tick_us, n),
               dmpb_wf_median(a->client, n), dmpb_wf_median(a->p50, n), a->n);
    }
    free(agg);
    return fails ? 1 : 0;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: dnsmesh-bench writefloor --part http|handoff|node|rocks|fsync|syscalls [options]\n"
        "\nThe floor of an HTTP write's CPU on this machine, part by part (loopback only):\n"
        "  http     a one-thread epoll keep-alive server answering a fixed 201, under\n"
        "           `dnsmesh-bench writes` at --rate from 64, 8 and 1 connections\n"
        "  handoff  the same with every request handed to a second thread (eventfd or\n"
        "           futex wake; answer handed back, or sent by that thread)\n"
        "  node     the hand-off with the rocks part's write on the worker and a WAL sync\n"
        "           every 8 ms answering (the node's shape), or no wake-up per request and\n"
        "           the write of all that is queued in one batch every 8 ms before its sync\n"
        "  rocks    RocksDB writes of the rows of one new DMP record (WAL on, no sync),\n"
        "           fresh store, alone and in batches of 4 and 16; with and without reads\n"
        "  fsync    write() per write at --rate, fdatasync per write / per 1 ms / per 8 ms\n"
        "  syscalls tight loops: a system call, an eventfd, a wake-up and back, loopback TCP\n"
        "Prints us of thread CPU per request or write, per run and the median over rounds.\n"
        "\noptions:\n"
        "  --part P          which part (required)\n"
        "  --cpu N           CPU of the measured threads (default 0)\n"
        "  --client-cpu N    CPU of the HTTP client (default 1)\n"
        "  --rate R          requests or writes per second (default 2000)\n"
        "  --duration S      seconds per HTTP / fsync run (default 5, at most 60)\n"
        "  --rounds N        interleaved rounds (default 3, at most 9)\n"
        "  --writes N        rocks: writes per run (default 20000, at most 200000)\n"
        "  --dir D           node, rocks, fsync: where the fresh files go (default /tmp)\n");
}

static int wf_main(int argc, char **argv)
{
    wopts_t o = {.cpu = 0,
                 .client_cpu = 1,
                 .rounds = 3,
                 .rate = 2000,
                 .duration = 5,
                 .dir = "/tmp",
                 .writes = 20000};
    dmpb_opt_t tab[] = {
        DMPB_STR("--part", &o.part),
        DMPB_INT("--cpu", &o.cpu, 0, 1023),
        DMPB_INT("--client-cpu", &o.client_cpu, 0, 1023),
        DMPB_DBL("--rate", &o.rate, 1, 20000),
        DMPB_DBL("--duration", &o.duration, 0.5, 60),
        DMPB_INT("--rounds", &o.rounds, 1, 9),
        DMPB_I64("--writes", &o.writes, 100, 200000),
        DMPB_STR("--dir", &o.dir),
    };
    if (dmpb_opts_parse(argv[0], tab, sizeof tab / sizeof tab[0], argc, argv, usage) != 0)
        return 2;
    if (!o.part) {
        fprintf(stderr, "writefloor: --part is required\n");
        usage(stderr);
        return 2;
    }
    dmpb_catch_signals();
    dmpb_wf_store_opts_t so = {.dir = o.dir,
                               .cpu = o.cpu,
                               .rate = o.rate,
                               .duration = o.duration,
                               .writes = o.writes,
                               .rounds = o.rounds};
    if (strcmp(o.part, "http") == 0)
        return http_part(&o, 0);
    if (strcmp(o.part, "handoff") == 0)
        return http_part(&o, 1);
    if (strcmp(o.part, "node") == 0)
        return http_part(&o, 2);
    if (strcmp(o.part, "rocks") == 0)
        return dmpb_wf_rocks(&so);
    if (strcmp(o.part, "fsync") == 0)
        return dmpb_wf_fsync(&so);
    if (strcmp(o.part, "syscalls") == 0)
        return dmpb_wf_syscalls(&so);
    fprintf(stderr, "writefloor: unknown --part '%s'\n", o.part);
    return 2;
}

static const dmp_bench_cmd_t cmd = {"writefloor", "the CPU floor of an HTTP write, part by part",
                                    wf_main};
DMP_BENCH_REGISTER(cmd);
