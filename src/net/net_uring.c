/* net: the io_uring frontend loop: multishot recvmsg on a provided-buffer ring, sendmsg SQEs,
 * the eventfd read by the ring, and the TCP epoll set polled (multishot) by the ring. Also the
 * start-time probe that decides whether this kernel can run it. */
#include "net/net_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BGID 7

static void tcp_poll_once(fe_t *fe)
{
    struct epoll_event ev[BATCH];
    fe->tcp_more = false;
    int k = epoll_wait(fe->epfd, ev, BATCH, 0);
    for (int j = 0; j < k; j++) {
        dmp_net_tcp_event(fe, ev[j].data.u64, ev[j].events);
    }
    if (k == BATCH) {
        fe->tcp_more = true;
    }
}

static void arm_recv(fe_t *fe, unsigned i)
{
    struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_recvmsg_multishot(sqe, fe->fixed_files ? (int)i : fe->udp_fd[i], &fe->rmsg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT | (fe->fixed_files ? IOSQE_FIXED_FILE : 0);
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, UD_RECV + i);
    fe->uring_ops++;
}

static void arm_efd(fe_t *fe)
{
    struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_read(sqe, fe->efd, &fe->efd_val, sizeof fe->efd_val, 0);
    io_uring_sqe_set_data64(sqe, UD_EFD);
    fe->uring_ops++;
}

static void arm_epoll(fe_t *fe)
{
    struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
    if (!sqe) {
        return;
    }
    io_uring_prep_poll_multishot(sqe, fe->epfd, POLLIN);
    io_uring_sqe_set_data64(sqe, UD_EPOLL);
    fe->uring_ops++;
}

int dmp_net_uring_setup(fe_t *fe, char *why, size_t whylen)
{
    dmp_net_t *n = fe->net;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
    p.cq_entries = 8192;
    int rc = io_uring_queue_init_params(1024, &fe->ring, &p);
    if (rc == -EINVAL) {
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = 8192;
        rc = io_uring_queue_init_params(1024, &fe->ring, &p);
    }
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_queue_init: %s", strerror(-rc));
        return rc;
    }
    fe->ring_ok = true;
    fe->fixed_files = fe->nudp > 0 && io_uring_register_files(&fe->ring, fe->udp_fd, fe->nudp) == 0;
    fe->nbufs = 1024;
    fe->bufsz =
        (unsigned)round_up(sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_storage) +
                               UDP_CTL_SPACE + n->cfg.udp_max_payload + 1,
                           64);
    void *brmem = NULL;
    if (posix_memalign(&brmem, 4096, fe->nbufs * sizeof(struct io_uring_buf)) != 0 ||
        !(fe->bufs = malloc((size_t)fe->nbufs * fe->bufsz))) {
        free(brmem);
        snprintf(why, whylen, "out of memory for receive buffers");
        return DMP_ENOMEM;
    }
    fe->br = brmem;
    io_uring_buf_ring_init(fe->br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)fe->br;
    reg.ring_entries = fe->nbufs;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&fe->ring, &reg, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_register_buf_ring: %s", strerror(-rc));
        return rc;
    }
    int mask = io_uring_buf_ring_mask(fe->nbufs);
    for (unsigned i = 0; i < fe->nbufs; i++) {
        io_uring_buf_ring_add(fe->br, fe->bufs + (size_t)i * fe->bufsz, fe->bufsz,
                              (unsigned short)i, mask, (int)i);
    }
    io_uring_buf_ring_advance(fe->br, (int)fe->nbufs);
    memset(&fe->rmsg, 0, sizeof fe->rmsg);
    fe->rmsg.msg_namelen = sizeof(struct sockaddr_storage);
    fe->rmsg.msg_controllen = UDP_CTL_SPACE;
    for (unsigned i = 0; i < fe->nudp; i++) {
        arm_recv(fe, i);
    }
    arm_efd(fe);
    arm_epoll(fe);
    rc = io_uring_submit(&fe->ring);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_submit: %s", strerror(-rc));
        return rc;
    }
    return DMP_OK;
}

static void uring_recv_cqe(fe_t *fe, unsigned i, struct io_uring_cqe *cqe, bool accept_input)
{
    if (cqe->res >= 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        uint8_t *buf = fe->bufs + (size_t)bid * fe->bufsz;
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(buf, cqe->res, &fe->rmsg);
        if (o && accept_input) {
            if (o->flags & MSG_TRUNC) {
                CINC(fe->c.udp_rx, 1);
                CINC(fe->c.udp_dropped, 1);
            } else {
                udst_t dst = {.family = 0};
                struct cmsghdr *cm = io_uring_recvmsg_cmsg_firsthdr(o, &fe->rmsg);
                const uint8_t *cend = cm ? (const uint8_t *)cm + o->controllen : NULL;
                for (; cm; cm = io_uring_recvmsg_cmsg_nexthdr(o, &fe->rmsg, cm)) {
                    dmp_net_cmsg_dst(cm, cend, &dst);
                }
                dmp_net_udp_ingest(fe, i, io_uring_recvmsg_payload(o, &fe->rmsg),
                                   io_uring_recvmsg_payload_length(o, cqe->res, &fe->rmsg),
                                   (const struct sockaddr *)io_uring_recvmsg_name(o),
                                   o->namelen > sizeof(struct sockaddr_storage)
                                       ? (socklen_t)sizeof(struct sockaddr_storage)
                                       : o->namelen,
                                   &dst);
            }
        }
        io_uring_buf_ring_add(fe->br, buf, fe->bufsz, (unsigned short)bid,
                              io_uring_buf_ring_mask(fe->nbufs), (int)fe->br_added++);
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        fe->uring_ops--;
        if (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -ECANCELED) {
            dmp_debug("net: frontend %u: recvmsg: %s", fe->idx, strerror(-cqe->res));
        }
        if (accept_input && cqe->res != -ECANCELED) {
            arm_recv(fe, i);
        }
    }
}

static void uring_cqe(fe_t *fe, struct io_uring_cqe *cqe, bool accept_input)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    if (ud >= UD_MAX_SPECIAL) {
        req_t *r = (req_t *)(uintptr_t)ud;
        fe->uring_ops--;
        fe->sends_out--;
        if (cqe->res < 0) {
            CINC(fe->c.udp_dropped, 1);
        } else {
            CINC(fe->c.udp_tx, 1);
        }
        dmp_net_udp_req_put(fe, r);
    } else if (ud >= UD_RECV) {
        uring_recv_cqe(fe, (unsigned)(ud - UD_RECV), cqe, accept_input);
    } else if (ud == UD_EFD) {
        fe->uring_ops--;
        if (accept_input || dmp_net_fe_busy(fe)) {
            arm_efd(fe);
        }
    } else if (ud == UD_EPOLL) {
        if (!(cqe->flags & IORING_CQE_F_MORE)) {
            fe->uring_ops--;
        }
        tcp_poll_once(fe);
        if (!(cqe->flags & IORING_CQE_F_MORE) && cqe->res != -ECANCELED) {
            arm_epoll(fe);
        }
    } else if (ud == UD_CANCEL) {
        /* result of a cancel request: nothing to do */
    }
}

/* Processes every ready CQE (in batches). Returns how many. */
static unsigned uring_reap(fe_t *fe, bool accept_input)
{
    unsigned total = 0;
    struct io_uring_cqe *cqes[256];
    for (;;) {
        unsigned k = io_uring_peek_batch_cqe(&fe->ring, cqes, 256);
        if (!k) {
            break;
        }
        fe->br_added = 0;
        for (unsigned i = 0; i < k; i++) {
            uring_cqe(fe, cqes[i], accept_input);
        }
        if (fe->br_added) {
            io_uring_buf_ring_advance(fe->br, (int)fe->br_added);
        }
        io_uring_cq_advance(&fe->ring, k);
        total += k;
    }
    return total;
}

void dmp_net_uring_loop(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t next_sweep = net_now_ms() + 100;
    int64_t deadline = 0;
    for (;;) {
        bool stopping = atomic_load_explicit(&n->fe_stop, memory_order_acquire);
        if (stopping && dmp_net_fe_drained(fe, &deadline))
            break;
        if (fe->tcp_more) {
            tcp_poll_once(fe);
        }
        dmp_net_fe_flush(fe);
        bool idle = !fe->tcp_more && dmp_net_fe_replies_quiet(fe);
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = idle ? 100000000 : 0};
        struct io_uring_cqe *cqe = NULL;
        fe->sends_unsubmitted = 0;
        if (idle) {
            /* Every reply's sendmsg posts a completion, and on a UDP socket it completes while
             * being submitted: waiting for one completion would return at once, and cost a
             * second io_uring_enter per answer at low load. Wait for those completions plus
             * one more event (a datagram, a shard's reply, a TCP event) in one call. */
            (void)io_uring_submit_and_wait_timeout(&fe->ring, &cqe, fe->sends_out + 1, &ts, NULL);
        } else {
            (void)io_uring_submit_and_get_events(&fe->ring);
        }
        uring_reap(fe, !stopping);
        dmp_net_fe_drain_replies(fe);
        int64_t now = net_now_ms();
        if (now >= next_sweep) {
            dmp_net_tcp_sweep(fe);
            next_sweep = now + 100;
        }
    }
    dmp_net_fe_flush(fe);
    /* Cancel the armed receives, eventfd read and poll; wait (bounded) until the kernel holds
     * no reference to our buffers. */
    for (unsigned i = 0; i < fe->nudp; i++) {
        struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
        if (sqe) {
            io_uring_prep_cancel64(sqe, UD_RECV + i, 0);
            io_uring_sqe_set_data64(sqe, UD_CANCEL);
        }
    }
    uint64_t specials[2] = {UD_EFD, UD_EPOLL};
    for (int i = 0; i < 2; i++) {
        struct io_uring_sqe *sqe = dmp_net_get_sqe(fe);
        if (sqe) {
            io_uring_prep_cancel64(sqe, specials[i], 0);
            io_uring_sqe_set_data64(sqe, UD_CANCEL);
        }
    }
    int64_t until = net_now_ms() + 500;
    while (fe->uring_ops > 0 && net_now_ms() < until) {
        struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = 10000000};
        struct io_uring_cqe *cqe = NULL;
        (void)io_uring_submit_and_wait_timeout(&fe->ring, &cqe, 1, &ts, NULL);
        uring_reap(fe, false);
    }
    if (fe->uring_ops > 0) {
        dmp_warn("net: frontend %u: %u io_uring requests still pending at exit", fe->idx,
                 fe->uring_ops);
        fe->buf_leak = true; /* the kernel may still write into them: never free */
    }
    io_uring_queue_exit(&fe->ring); /* on the owning thread */
    fe->ring_ok = false;
}

/* ---- probe ---- */

/* A real multishot recvmsg with a provided-buffer ring on a loopback socket: the only reliable
 * way to learn whether this kernel (and seccomp policy) gives us what the backend needs. */
static bool probe_uring(char *why, size_t whylen)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(8, &ring, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_queue_init: %s", strerror(-rc));
        return false;
    }
    bool ok = false;
    void *brmem = NULL;
    uint8_t *bufs = NULL;
    int fd = -1;
    const unsigned nb = 8, bsz = 512;
    if (posix_memalign(&brmem, 4096, nb * sizeof(struct io_uring_buf)) != 0 ||
        !(bufs = malloc(nb * bsz))) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    struct io_uring_buf_ring *br = brmem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = nb;
    reg.bgid = BGID;
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
        snprintf(why, whylen, "io_uring_register_buf_ring: %s", strerror(-rc));
        goto out;
    }
    for (unsigned i = 0; i < nb; i++) {
        io_uring_buf_ring_add(br, bufs + i * bsz, bsz, (unsigned short)i,
                              io_uring_buf_ring_mask(nb), (int)i);
    }
    io_uring_buf_ring_advance(br, (int)nb);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        snprintf(why, whylen, "loopback UDP socket: %s", strerror(errno));
        goto out;
    }
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_namelen = sizeof(struct sockaddr_storage);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recvmsg_multishot(sqe, fd, &mh, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    io_uring_sqe_set_data64(sqe, 1);
    io_uring_submit(&ring);
    if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&a, al) != 5) {
        snprintf(why, whylen, "loopback sendto: %s", strerror(errno));
        goto out;
    }
    struct io_uring_cqe *cqe = NULL;
    struct __kernel_timespec ts = {.tv_sec = 1, .tv_nsec = 0};
    rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (rc < 0) {
        snprintf(why, whylen, "no completion for multishot recvmsg: %s", strerror(-rc));
        goto out;
    }
    if (cqe->res < 0) {
        snprintf(why, whylen, "multishot recvmsg: %s", strerror(-cqe->res));
    } else if (!(cqe->flags & IORING_CQE_F_BUFFER) || !(cqe->flags & IORING_CQE_F_MORE)) {
        snprintf(why, whylen, "multishot recvmsg not supported");
    } else {
        struct io_uring_recvmsg_out *o = io_uring_recvmsg_validate(
            bufs + (cqe->flags >> IORING_CQE_BUFFER_SHIFT) * bsz, cqe->res, &mh);
        ok = o && io_uring_recvmsg_payload_length(o, cqe->res, &mh) == 5;
        if (!ok) {
            snprintf(why, whylen, "multishot recvmsg returned a malformed buffer");
        }
    }
    io_uring_cqe_seen(&ring, cqe);
out:
    if (fd >= 0) {
        close(fd);
    }
    io_uring_queue_exit(&ring); /* waits for the multishot receive's cancellation */
    free(bufs);
    free(brmem);
    return ok;
}

typedef struct {
    bool ok;
    char why[160];
} probe_t;

static void *probe_main(void *arg)
{
    probe_t *p = arg;
    p->ok = probe_uring(p->why, sizeof p->why);
    return NULL;
}

/* The probe runs on a short-lived thread of its own: io_uring task work for a ring goes to the
 * task that submitted, and would otherwise interrupt the caller's blocking calls (EINTR). */
bool dmp_net_probe_uring_thread(char *why, size_t whylen)
{
    probe_t p = {.ok = false};
    pthread_t th;
    if (pthread_create(&th, NULL, probe_main, &p) != 0) {
        snprintf(why, whylen, "cannot start probe thread");
        return false;
    }
    pthread_join(th, NULL);
    snprintf(why, whylen, "%s", p.why);
    return p.ok;
}
