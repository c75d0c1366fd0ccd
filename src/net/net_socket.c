/* net: listen sockets. One SO_REUSEPORT UDP socket and one TCP listen socket per frontend per
 * listen address; port 0 binds once and shares the kernel-chosen port. */
#include "net/net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void dmp_net_set_err(char *err, size_t errlen, const char *fmt, const char *a, int e)
{
    if (err && errlen) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, fmt, a);
        if (e) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(e));
        } else {
            snprintf(err, errlen, "%s", tmp);
        }
    }
}

static int parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return DMP_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return DMP_OK;
    }
    return DMP_NET_EADDR;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET) {
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    } else {
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    }
}

/* A bound non-blocking SO_REUSEPORT socket (listening, for TCP), or -errno. With port 0 the
 * socket binds first and only then joins SO_REUSEPORT: binding to port 0 with SO_REUSEPORT set
 * may hand out a port some other SO_REUSEPORT socket of this user already holds (which would
 * then get part of our traffic); without it the kernel picks a port nobody uses. */
static int open_sock(const struct sockaddr_storage *ss, socklen_t len, bool tcp, int backlog,
                     bool force_pktinfo, uint16_t *bound_port)
{
    bool ephemeral = (ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                               : ((const struct sockaddr_in6 *)ss)->sin6_port) == 0;
    int fd =
        socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    int one = 1;
    if (!ephemeral) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    if (ss->ss_family == AF_INET6) {
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (!tcp) {
        /* wildcard address: learn each datagram's local address so the reply leaves from it */
        if (ss->ss_family == AF_INET &&
            (force_pktinfo ||
             ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY))) {
            (void)setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        } else if (ss->ss_family == AF_INET6 &&
                   (force_pktinfo ||
                    IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr))) {
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        }
        int sz = 4 << 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
        (ephemeral && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
                       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)) ||
        (tcp && listen(fd, backlog) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *bound_port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                                 : ((struct sockaddr_in6 *)&got)->sin6_port);
    return fd;
}

/* Binds listen entry li on every frontend. Port 0: UDP and TCP share one ephemeral port. */
int dmp_net_bind_listen(dmp_net_t *n, unsigned li, char *err, size_t errlen)
{
    const dmp_net_listen_t *l = &n->cfg.listen[li];
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_addr(l->host, l->port, &ss, &sl) != 0) {
        dmp_net_set_err(err, errlen, "listen address '%s' is not a numeric IP address", l->host, 0);
        return DMP_NET_EADDR;
    }
    bool udp = !l->no_udp, tcp = !l->no_tcp;
    unsigned u0[DMP_NET_MAX_FRONTENDS], t0[DMP_NET_MAX_FRONTENDS];
    for (unsigned f = 0; f < n->F; f++) {
        u0[f] = n->fe[f].nudp;
        t0[f] = n->fe[f].ntcp;
    }
    int e = 0;
    for (int attempt = 0; attempt < 32; attempt++) {
        uint16_t port = l->port;
        bool ok = true;
        set_port(&ss, port);
        for (unsigned f = 0; f < n->F && ok; f++) {
            fe_t *fe = &n->fe[f];
            uint16_t got = 0;
            if (udp) {
                int fd = open_sock(&ss, sl, false, 0, n->cfg.udp_force_pktinfo, &got);
                if (fd < 0) {
                    ok = false;
                    e = -fd;
                    break;
                }
                fe->udp_fd[fe->nudp++] = fd;
                if (port == 0) {
                    port = got;
                    set_port(&ss, port);
                }
            }
            if (tcp) {
                int fd = open_sock(&ss, sl, true, (int)n->cfg.tcp_backlog, false, &got);
                if (fd < 0) {
                    ok = false;
                    e = -fd;
                    break;
                }
                fe->tcp_fd[fe->ntcp++] = fd;
                if (port == 0) {
                    port = got;
                    set_port(&ss, port);
                }
            }
        }
        if (ok) {
            n->udp_port[li] = udp ? port : DMP_ENOTFOUND;
            n->tcp_port[li] = tcp ? port : DMP_ENOTFOUND;
            return DMP_OK;
        }
        for (unsigned f = 0; f < n->F; f++) {
            fe_t *fe = &n->fe[f];
            while (fe->nudp > u0[f]) {
                close(fe->udp_fd[--fe->nudp]);
            }
            while (fe->ntcp > t0[f]) {
                close(fe->tcp_fd[--fe->ntcp]);
            }
        }
        if (l->port != 0 || e != EADDRINUSE) {
            break;
        }
    }
    char what[128];
    snprintf(what, sizeof what, "bind %s port %u", l->host, (unsigned)l->port);
    dmp_net_set_err(err, errlen, "%s", what, e);
    return DMP_NET_EBIND;
}
