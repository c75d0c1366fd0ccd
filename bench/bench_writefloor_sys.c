/* dnsmesh-bench writefloor --part syscalls: the building blocks of an HTTP write's floor on
 * this machine, each in a tight loop on one pinned CPU (bench_writefloor.h): a trivial system
 * call, a recv that finds nothing (EAGAIN), an eventfd write + read, a wake-up of a thread
 * sleeping on the same CPU and back (eventfd, futex), an epoll_wait that finds a ready socket,
 * and a 400-byte request plus a 122-byte answer over a loopback TCP connection whose two ends
 * are served by the same thread (the TCP stack's work without a sleep). us of thread CPU per
 * iteration (CLOCK_THREAD_CPUTIME_ID; for the two-thread wake-ups the sum of both threads, per
 * round trip). Every loop is bounded by its count. */
#include <errno.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_dns_util.h"
#include "bench_writefloor.h"

static uint64_t tns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- ping-pong between two threads on one CPU ---- */

typedef struct {
    bool futex;
    int efd[2];       /* eventfd: to the peer, back */
    atomic_uint w[2]; /* futex words */
    int iters;
    uint64_t peer_ns;
} pp_t;

static void pp_wait(pp_t *p, int i, unsigned *seen)
{
    if (!p->futex) {
        uint64_t v;
        (void)!read(p->efd[i], &v, 8);
        return;
    }
    while (atomic_load(&p->w[i]) == *seen)
        syscall(SYS_futex, &p->w[i], FUTEX_WAIT_PRIVATE, *seen, NULL, NULL, 0);
    *seen = atomic_load(&p->w[i]);
}

static void pp_wake(pp_t *p, int i)
{
    if (!p->futex) {
        uint64_t one = 1;
        (void)!write(p->efd[i], &one, 8);
        return;
    }
    atomic_fetch_add(&p->w[i], 1);
    syscall(SYS_futex, &p->w[i], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *pp_peer(void *arg)
{
    pp_t *p = arg;
    uint64_t t0 = tns();
    unsigned seen = 0;
    for (int k = 0; k < p->iters; k++) {
        pp_wait(p, 0, &seen);
        pp_wake(p, 1);
    }
    p->peer_ns = tns() - t0;
    return NULL;
}

static double pingpong(bool futex, int iters)
{
    pp_t p = {.futex = futex, .iters = iters};
    p.efd[0] = eventfd(0, EFD_CLOEXEC);
    p.efd[1] = eventfd(0, EFD_CLOEXEC);
    pthread_t th;
    if (p.efd[0] < 0 || p.efd[1] < 0 || pthread_create(&th, NULL, pp_peer, &p) != 0)
        return -1;
    uint64_t t0 = tns();
    unsigned seen = 0;
    for (int k = 0; k < iters; k++) {
        pp_wake(&p, 0);
        pp_wait(&p, 1, &seen);
    }
    uint64_t mine = tns() - t0;
    pthread_join(th, NULL);
    close(p.efd[0]);
    close(p.efd[1]);
    return dmpb_wf_us_per(mine + p.peer_ns, (uint64_t)iters);
}

/* ---- loopback TCP, both ends in this thread ---- */

static int tcp_pair(int fds[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sl) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
        return -1;
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sa, sl) != 0)
        return -1;
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    close(l);
    int one = 1;
    for (int i = 0; i < 2; i++)
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fds[1] < 0 ? -1 : 0;
}

int dmpb_wf_syscalls(const dmpb_wf_store_opts_t *o)
{
    if (dmpb_pin_cpu(o->cpu) != 0)
        return 1;
    enum { NB = 8, N = 100000, NPP = 20000 };
    static const char *const names[NB] = {"getppid()",
                                          "recv() -> EAGAIN",
                                          "eventfd write + read",
                                          "epoll_wait, 1 ready",
                                          "TCP 400 B req + 122 B resp, one thread",
                                          "same, + epoll_wait",
                                          "wake-up + back, eventfd (2 threads)",
                                          "wake-up + back, futex (2 threads)"};
    double us[NB][9];
    char req[400], resp[122], buf[1024];
    memset(req, 'q', sizeof req);
    memset(resp, 'r', sizeof resp);
    printf("# writefloor syscalls: tight loops pinned to CPU %d; us of thread CPU per iteration "
           "(%d iterations, %d for the wake-ups: both threads' CPU per round trip)\n",
           o->cpu, N, NPP);
    int nr = 0;
    for (int r = 0; r < o->rounds && !dmpb_stop; r++, nr++) {
        int tcp[2], ef = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), ep = epoll_create1(0);
        if (tcp_pair(tcp) != 0 || ef < 0 || ep < 0) {
            perror("writefloor: setup");
            return 1;
        }
        uint64_t t0 = tns();
        for (int k = 0; k < N; k++)
            syscall(SYS_getppid);
        us[0][r] = dmpb_wf_us_per(tns() - t0, N);
        t0 = tns();
        for (int k = 0; k < N; k++)
            (void)recv(tcp[1], buf, sizeof buf, MSG_DONTWAIT);
        us[1][r] = dmpb_wf_us_per(tns() - t0, N);
        t0 = tns();
        for (int k = 0; k < N; k++) {
            uint64_t v = 1;
            (void)!write(ef, &v, 8);
            (void)!read(ef, &v, 8);
        }
        us[2][r] = dmpb_wf_us_per(tns() - t0, N);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = ef}, out[4];
        uint64_t v = 1;
        (void)!write(ef, &v, 8);
        epoll_ctl(ep, EPOLL_CTL_ADD, ef, &ev);
        t0 = tns();
        for (int k = 0; k < N; k++)
            (void)epoll_wait(ep, out, 4, 0);
        us[3][r] = dmpb_wf_us_per(tns() - t0, N);
        epoll_ctl(ep, EPOLL_CTL_DEL, ef, NULL);
        ev.data.fd = tcp[1];
        epoll_ctl(ep, EPOLL_CTL_ADD, tcp[1], &ev);
        for (int with_ep = 0; with_ep < 2; with_ep++) {
            t0 = tns();
            for (int k = 0; k < N / 4; k++) {
                (void)send(tcp[0], req, sizeof req, 0);
                if (with_ep)
                    (void)epoll_wait(ep, out, 4, 0);
                size_t got = 0;
                while (got < sizeof req) {
                    ssize_t n = recv(tcp[1], buf, sizeof buf, 0);
                    if (n <= 0)
                        break;
                    got += (size_t)n;
                }
                (void)send(tcp[1], resp, sizeof resp, 0);
                got = 0;
                while (got < sizeof resp) {
                    ssize_t n = recv(tcp[0], buf, sizeof buf, 0);
                    if (n <= 0)
                        break;
                    got += (size_t)n;
                }
            }
            us[4 + with_ep][r] = dmpb_wf_us_per(tns() - t0, N / 4);
        }
        us[6][r] = pingpong(false, NPP);
        us[7][r] = pingpong(true, NPP);
        close(tcp[0]);
        close(tcp[1]);
        close(ef);
        close(ep);
        for (int i = 0; i < NB; i++)
            printf("round %d  %-40s %7.2f us\n", r + 1, names[i], us[i][r]);
        fflush(stdout);
    }
    printf("# medians over %d rounds\n", nr);
    for (int i = 0; i < NB; i++)
        printf("median %-40s %7.2f us\n", names[i], dmpb_wf_median(us[i], (size_t)nr));
    return 0;
}
