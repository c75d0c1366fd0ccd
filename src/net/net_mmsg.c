/* net: the recvmmsg/sendmmsg fallback frontend loop: one epoll set over the UDP sockets, the
 * eventfd and TCP; recvmmsg/sendmmsg batches. */
#include "net/net_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int dmp_net_mmsg_setup(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    size_t bs = n->cfg.udp_max_payload + 1;
    fe->mm = calloc(BATCH, sizeof *fe->mm);
    fe->mm_iov = calloc(BATCH, sizeof *fe->mm_iov);
    fe->mm_name = calloc(BATCH, sizeof *fe->mm_name);
    fe->mm_ctl = calloc(BATCH, sizeof *fe->mm_ctl);
    fe->mm_buf = malloc(BATCH * bs);
    fe->sm = calloc(BATCH, sizeof *fe->sm);
    fe->sm_req = calloc(BATCH, sizeof *fe->sm_req);
    if (!fe->mm || !fe->mm_iov || !fe->mm_name || !fe->mm_ctl || !fe->mm_buf || !fe->sm ||
        !fe->sm_req) {
        return DMP_ENOMEM;
    }
    for (unsigned i = 0; i < fe->nudp; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_UDP, i)};
        if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->udp_fd[i], &ev) != 0) {
            return DMP_ESYS;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EP_KEY(EP_TAG_EFD, 0)};
    if (epoll_ctl(fe->epfd, EPOLL_CTL_ADD, fe->efd, &ev) != 0) {
        return DMP_ESYS;
    }
    return DMP_OK;
}

static void mmsg_recv(fe_t *fe, unsigned i)
{
    dmp_net_t *n = fe->net;
    size_t bs = n->cfg.udp_max_payload + 1;
    for (int rounds = 0; rounds < 8; rounds++) {
        for (unsigned k = 0; k < BATCH; k++) {
            fe->mm_iov[k].iov_base = fe->mm_buf + k * bs;
            fe->mm_iov[k].iov_len = bs;
            memset(&fe->mm[k].msg_hdr, 0, sizeof fe->mm[k].msg_hdr);
            fe->mm[k].msg_hdr.msg_iov = &fe->mm_iov[k];
            fe->mm[k].msg_hdr.msg_iovlen = 1;
            fe->mm[k].msg_hdr.msg_name = &fe->mm_name[k];
            fe->mm[k].msg_hdr.msg_namelen = sizeof fe->mm_name[k];
            fe->mm[k].msg_hdr.msg_control = fe->mm_ctl[k];
            fe->mm[k].msg_hdr.msg_controllen = sizeof fe->mm_ctl[k];
        }
        int got = recvmmsg(fe->udp_fd[i], fe->mm, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) {
            return;
        }
        for (int k = 0; k < got; k++) {
            struct msghdr *mh = &fe->mm[k].msg_hdr;
            if ((mh->msg_flags & MSG_TRUNC) || fe->mm[k].msg_len > n->cfg.udp_max_payload) {
                CINC(fe->c.udp_rx, 1);
                CINC(fe->c.udp_dropped, 1);
                continue;
            }
            udst_t dst = {.family = 0};
            const uint8_t *cend = (const uint8_t *)mh->msg_control + mh->msg_controllen;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                dmp_net_cmsg_dst(cm, cend, &dst);
            }
            dmp_net_udp_ingest(fe, i, fe->mm_iov[k].iov_base, fe->mm[k].msg_len, mh->msg_name,
                               mh->msg_namelen, &dst);
        }
        if (got < BATCH) {
            return;
        }
    }
}

void dmp_net_mmsg_loop(fe_t *fe)
{
    dmp_net_t *n = fe->net;
    int64_t next_sweep = net_now_ms() + 100;
    int64_t deadline = 0;
    for (;;) {
        bool stopping = atomic_load_explicit(&n->fe_stop, memory_order_acquire);
        if (stopping && dmp_net_fe_drained(fe, &deadline))
            break;
        dmp_net_fe_flush(fe);
        bool idle = dmp_net_fe_replies_quiet(fe);
        struct epoll_event ev[BATCH];
        int k = epoll_wait(fe->epfd, ev, BATCH, idle ? (stopping ? 10 : 100) : 0);
        for (int j = 0; j < k; j++) {
            uint64_t tag = ev[j].data.u64 >> 32;
            if (tag == EP_TAG_UDP) {
                if (!stopping) {
                    mmsg_recv(fe, (unsigned)(ev[j].data.u64 & 0xffffffffu));
                } else {
                    uint8_t junk[1];
                    while (recv(fe->udp_fd[ev[j].data.u64 & 0xffffffffu], junk, 1, MSG_DONTWAIT) >=
                           0) {
                    }
                }
            } else if (tag == EP_TAG_EFD) {
                uint64_t v;
                ssize_t r = read(fe->efd, &v, sizeof v);
                (void)r;
            } else {
                dmp_net_tcp_event(fe, ev[j].data.u64, ev[j].events);
            }
        }
        dmp_net_fe_drain_replies(fe);
        int64_t now = net_now_ms();
        if (now >= next_sweep) {
            dmp_net_tcp_sweep(fe);
            next_sweep = now + 100;
        }
    }
    dmp_net_fe_flush(fe);
}
