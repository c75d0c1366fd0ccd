/* client: DNS reads through a resolver pool (client.md §5.9, cluster.md §5): ldns builds the
 * query and parses the answer; UDP with EDNS, TCP when the answer is truncated. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

#define EDNS_SIZE 4096

/* ---------------------------------------------------------------- txtset */

void dmp_client_txtset_init(dmp_client_txtset_t *s)
{
    memset(s, 0, sizeof(*s));
    dmp_buf_init(&s->data);
}

void dmp_client_txtset_clear(dmp_client_txtset_t *s)
{
    s->n = 0;
    s->data.len = 0;
}

void dmp_client_txtset_free(dmp_client_txtset_t *s)
{
    free(s->v);
    free(s->off);
    dmp_buf_free(&s->data);
    memset(s, 0, sizeof(*s));
}

/* Appends one value unless an equal one is already present. Pointers are fixed up by
 * txtset_finish. */
int dmp_client_txtset_add(dmp_client_txtset_t *s, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < s->n; i++) {
        size_t o = s->off[i], l = s->v[i].len;
        if (l == len && memcmp(s->data.data + o, p, len) == 0)
            return 0;
    }
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        dmp_client_txt_t *v = realloc(s->v, nc * sizeof(*v));
        if (!v)
            return DMP_ENOMEM;
        s->v = v;
        size_t *o = realloc(s->off, nc * sizeof(*o));
        if (!o)
            return DMP_ENOMEM;
        s->off = o;
        s->cap = nc;
    }
    s->off[s->n] = s->data.len;
    s->v[s->n].len = len;
    int rc = dmp_buf_append(&s->data, p, len);
    if (rc)
        return rc;
    s->n++;
    for (size_t i = 0; i < s->n; i++)
        s->v[i].data = s->data.data + s->off[i];
    return 0;
}

/* ---------------------------------------------------------------- answer parse */

int dmp_client_dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *qname,
                                bool need_ad, dmp_client_txtset_t *out, bool *tc, int *rcode)
{
    if (!buf || !qname || !out || !tc || !rcode)
        return DMP_EINVAL;
    *tc = false;
    *rcode = -1;
    if (len < 12 || len > 65535)
        return DMP_EFORMAT;
    if (dmp_load_u16be(buf) != id || !(buf[2] & 0x80))
        return DMP_EMISMATCH;
    if (buf[2] & 0x02) { /* TC: the caller retries over TCP; ignore the partial answer */
        *tc = true;
        return 0;
    }
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK || !pkt)
        return DMP_EFORMAT;
    ldns_rdf *qn = ldns_dname_new_frm_str(qname);
    int rc = 0;
    if (!qn) {
        rc = DMP_ENAME;
        goto done;
    }
    ldns_rr_list *q = ldns_pkt_question(pkt);
    if (ldns_rr_list_rr_count(q) != 1 ||
        ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(q, 0)), qn) != 0 ||
        ldns_rr_get_type(ldns_rr_list_rr(q, 0)) != LDNS_RR_TYPE_TXT) {
        rc = DMP_EMISMATCH;
        goto done;
    }
    *rcode = (int)ldns_pkt_get_rcode(pkt);
    if (need_ad && !ldns_pkt_ad(pkt)) {
        rc = DMP_EAUTH;
        goto done;
    }
    if (*rcode != LDNS_RCODE_NOERROR)
        goto done;
    ldns_rr_list *ans = ldns_pkt_answer(pkt);
    dmp_buf_t joined;
    dmp_buf_init(&joined);
    for (size_t i = 0; i < ldns_rr_list_rr_count(ans) && !rc; i++) {
        ldns_rr *rr = ldns_rr_list_rr(ans, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
            ldns_dname_compare(ldns_rr_owner(rr), qn) != 0)
            continue;
        joined.len = 0;
        for (size_t j = 0; j < ldns_rr_rd_count(rr) && !rc; j++) {
            ldns_rdf *f = ldns_rr_rdf(rr, j);
            const uint8_t *d = ldns_rdf_data(f);
            size_t n = ldns_rdf_size(f);
            if (n < 1 || (size_t)d[0] + 1 != n) {
                rc = DMP_EFORMAT;
                break;
            }
            rc = dmp_buf_append(&joined, d + 1, n - 1);
        }
        if (!rc)
            rc = dmp_client_txtset_add(out, joined.data ? joined.data : (const uint8_t *)"",
                                       joined.len);
    }
    dmp_buf_free(&joined);
done:
    if (qn)
        ldns_rdf_deep_free(qn);
    ldns_pkt_free(pkt);
    return rc;
}

/* ---------------------------------------------------------------- pool */

static int64_t mono_ms(void)
{
    return dmp_monotonic_ns() / 1000000;
}

static int64_t pool_now(const dmp_client_dns_t *d)
{
    return d->now_ms ? d->now_ms() : mono_ms();
}

void dmp_client_dns_init(dmp_client_dns_t *d)
{
    memset(d, 0, sizeof(*d));
    d->timeout_ms = 5000;
    d->lifetime_ms = 10000;
    d->cooldown_ms = 60000;
    dmp_client_txtset_init(&d->last);
}

void dmp_client_dns_free(dmp_client_dns_t *d)
{
    dmp_client_txtset_free(&d->last);
}

int dmp_client_resolver_parse(const char *spec, uint16_t default_port, char *host, size_t hcap,
                              uint16_t *port)
{
    if (!spec || !host || !port)
        return DMP_EINVAL;
    const uint8_t *p = (const uint8_t *)spec;
    size_t n = strlen(spec);
    dmp_py_strip(&p, &n);
    char tmp[80];
    if (n == 0 || n >= sizeof(tmp))
        return DMP_EFORMAT;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    const char *h = tmp, *ps = NULL;
    if (tmp[0] == '[') {
        char *rb = strchr(tmp, ']');
        if (!rb)
            return DMP_EFORMAT;
        *rb = 0;
        h = tmp + 1;
        if (rb[1] == ':')
            ps = rb + 2;
        else if (rb[1])
            return DMP_EFORMAT;
    } else {
        char *c = strchr(tmp, ':');
        if (c && !strchr(c + 1, ':')) { /* exactly one colon: IPv4:port */
            *c = 0;
            ps = c + 1;
        }
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, h, &a4) != 1 && inet_pton(AF_INET6, h, &a6) != 1)
        return DMP_EFORMAT;
    int64_t pv = default_port;
    if (ps && dmp_parse_i64(ps, 1, 65535, &pv))
        return DMP_EFORMAT;
    if (strlen(h) >= hcap)
        return DMP_ETOOBIG;
    strcpy(host, h);
    *port = (uint16_t)pv;
    return 0;
}

int dmp_client_dns_add(dmp_client_dns_t *d, const char *spec, uint16_t default_port)
{
    if (d->n >= DMP_CLIENT_RESOLVERS_MAX)
        return DMP_EFULL;
    char host[INET6_ADDRSTRLEN];
    uint16_t port;
    int rc = dmp_client_resolver_parse(spec, default_port, host, sizeof(host), &port);
    if (rc)
        return rc;
    dmp_client_resolver_t *r = &d->r[d->n];
    memset(r, 0, sizeof(*r));
    struct sockaddr_in *s4 = (struct sockaddr_in *)&r->addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&r->addr;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        r->addr_len = sizeof(*s4);
        snprintf(r->text, sizeof(r->text), "%s:%u", host, port);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        r->addr_len = sizeof(*s6);
        snprintf(r->text, sizeof(r->text), "[%s]:%u", host, port);
    } else {
        return DMP_EFORMAT;
    }
    d->n++;
    return 0;
}

/* Waits for fd to be ready for `ev` until deadline; 0 ready, DMP_EAGAIN timeout. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return DMP_EAGAIN;
        struct pollfd pfd = {.fd = fd, .events = ev};
        int r = poll(&pfd, 1, (int)left);
        if (r > 0)
            return 0;
        if (r == 0)
            return DMP_EAGAIN;
        if (errno != EINTR)
            return DMP_ESYS;
    }
}

/* raw: no retransmission and the first datagram is the answer (test probes of odd queries). */
static int udp_exchange(const dmp_client_resolver_t *r, const uint8_t *q, size_t qlen, uint16_t id,
                        uint8_t *resp, size_t cap, size_t *rlen, int64_t deadline, bool raw)
{
    int fd = socket(r->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return DMP_ESYS;
    int rc = DMP_EIO;
    if (connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) != 0 ||
        send(fd, q, qlen, 0) != (ssize_t)qlen)
        goto done;
    /* retransmit like a stub resolver: after 400 ms, then 800, 1600 ... until the deadline */
    int64_t gap = 400, resend = raw ? deadline : mono_ms() + gap;
    for (;;) {
        int64_t until = resend < deadline ? resend : deadline;
        rc = wait_fd(fd, POLLIN, until);
        if (rc == DMP_EAGAIN && until < deadline) {
            gap *= 2;
            resend = mono_ms() + gap;
            if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
                rc = DMP_EIO;
                goto done;
            }
            continue;
        }
        if (rc)
            goto done;
        ssize_t n = recv(fd, resp, cap, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            rc = DMP_EIO; /* e.g. ECONNREFUSED: nothing listens there */
            goto done;
        }
        if (raw || (n >= 2 && dmp_load_u16be(resp) == id)) {
            *rlen = (size_t)n;
            rc = 0;
            goto done;
        }
        /* a stray datagram: keep waiting */
    }
done:
    close(fd);
    return rc;
}

static int io_full(int fd, uint8_t *p, size_t n, bool wr, int64_t deadline)
{
    size_t off = 0;
    while (off < n) {
        int rc = wait_fd(fd, wr ? POLLOUT : POLLIN, deadline);
        if (rc)
            return rc;
        ssize_t k = wr ? send(fd, p + off, n - off, MSG_NOSIGNAL) : recv(fd, p + off, n - off, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (!wr && off == 0 && (k == 0 || (k < 0 && errno == ECONNRESET)))
            return DMP_ENOTFOUND; /* closed before sending anything */
        if (k <= 0)
            return DMP_EIO;
        off += (size_t)k;
    }
    return 0;
}

static int tcp_exchange(const dmp_client_resolver_t *r, const uint8_t *q, size_t qlen,
                        uint8_t *resp, size_t cap, size_t *rlen, int64_t deadline)
{
    int fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return DMP_ESYS;
    int rc = DMP_EIO;
    if (connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) != 0) {
        if (errno != EINPROGRESS)
            goto done;
        if ((rc = wait_fd(fd, POLLOUT, deadline)))
            goto done;
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            rc = DMP_EIO;
            goto done;
        }
    }
    uint8_t hdr[2];
    uint8_t *msg = malloc(qlen + 2); /* length and query in one write: one segment */
    if (!msg) {
        rc = DMP_ENOMEM;
        goto done;
    }
    dmp_store_u16be(msg, (uint16_t)qlen);
    memcpy(msg + 2, q, qlen);
    rc = io_full(fd, msg, qlen + 2, true, deadline);
    free(msg);
    if (rc || (rc = io_full(fd, hdr, 2, false, deadline)))
        goto done;
    size_t n = dmp_load_u16be(hdr);
    if (n > cap) {
        rc = DMP_ETOOBIG;
        goto done;
    }
    if ((rc = io_full(fd, resp, n, false, deadline)))
        goto done;
    *rlen = n;
done:
    close(fd);
    return rc;
}

/* One upstream: UDP, then TCP when truncated. 0 with values added to out (possibly none),
 * DMP_ENOTFOUND on NXDOMAIN, another code on transport/format failure. */
static int ask_one(dmp_client_dns_t *d, dmp_client_resolver_t *r, const char *name,
                   dmp_client_txtset_t *out, int64_t deadline)
{
    ldns_rdf *qn = ldns_dname_new_frm_str(name);
    if (!qn)
        return DMP_ENAME;
    ldns_pkt *pkt = ldns_pkt_query_new(qn, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
    if (!pkt)
        return DMP_ENOMEM;
    uint16_t id = (uint16_t)randombytes_uniform(65536);
    ldns_pkt_set_id(pkt, id);
    ldns_pkt_set_edns_udp_size(pkt, EDNS_SIZE);
    if (d->dnssec)
        ldns_pkt_set_edns_do(pkt, true);
    uint8_t *q = NULL;
    size_t qlen = 0;
    ldns_status st = ldns_pkt2wire(&q, pkt, &qlen);
    ldns_pkt_free(pkt);
    if (st != LDNS_STATUS_OK)
        return DMP_EFORMAT;
    uint8_t *resp = malloc(65536);
    int rc = resp ? 0 : DMP_ENOMEM;
    size_t rlen = 0;
    bool tc = false;
    int rcode = -1;
    int64_t dl = mono_ms() + d->timeout_ms;
    if (dl > deadline)
        dl = deadline;
    if (!rc)
        rc = udp_exchange(r, q, qlen, id, resp, EDNS_SIZE, &rlen, dl, false);
    if (!rc)
        rc = dmp_client_dns_answer_parse(resp, rlen, id, name, d->dnssec, out, &tc, &rcode);
    if (!rc && tc) {
        d->tcp_retries++;
        rc = tcp_exchange(r, q, qlen, resp, 65535, &rlen, dl);
        if (!rc)
            rc = dmp_client_dns_answer_parse(resp, rlen, id, name, d->dnssec, out, &tc, &rcode);
        if (!rc && tc)
            rc = DMP_EFORMAT;
    }
    if (!rc && rcode == LDNS_RCODE_NXDOMAIN)
        rc = DMP_ENOTFOUND;
    else if (!rc && rcode != LDNS_RCODE_NOERROR)
        rc = DMP_EIO; /* SERVFAIL, REFUSED: try another upstream */
    free(resp);
    free(q);
    return rc;
}

static void mark(dmp_client_dns_t *d, dmp_client_resolver_t *r, bool ok)
{
    if (ok) {
        r->answers++;
        r->consecutive_failures = 0;
        r->cooldown_until_ms = 0;
        return;
    }
    r->failures++;
    r->consecutive_failures++;
    unsigned sh = r->consecutive_failures - 1 < 4 ? r->consecutive_failures - 1 : 4;
    r->cooldown_until_ms = pool_now(d) + ((int64_t)d->cooldown_ms << sh);
}

int dmp_client_dns_txt(dmp_client_dns_t *d, const char *name, dmp_client_txtset_t *out)
{
    if (!d || !name || !out)
        return DMP_EINVAL;
    dmp_client_txtset_clear(out);
    if (d->n == 0)
        return DMP_EIO;
    d->queries++;
    int64_t deadline = mono_ms() + d->lifetime_ms;
    int64_t now = pool_now(d);
    bool any_answer = false;
    /* pass 0: healthy upstreams in order; pass 1: the cooling ones */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < d->n; i++) {
            dmp_client_resolver_t *r = &d->r[i];
            bool cooling = r->cooldown_until_ms > now;
            if (cooling != (pass == 1))
                continue;
            if (mono_ms() >= deadline)
                return any_answer ? (out->n ? 0 : DMP_ENOTFOUND) : DMP_EIO;
            size_t before = out->n;
            int rc = ask_one(d, r, name, out, deadline);
            if (rc == 0 || rc == DMP_ENOTFOUND) {
                mark(d, r, true);
                any_answer = true;
                if (!d->union_all && out->n > before)
                    return 0;
            } else if (rc == DMP_ENOMEM || rc == DMP_ENAME) {
                return rc;
            } else {
                mark(d, r, false);
            }
        }
    }
    if (!any_answer)
        return DMP_EIO;
    return out->n ? 0 : DMP_ENOTFOUND;
}

int dmp_client_dns_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n)
{
    dmp_client_dns_t *d = ctx;
    int rc = dmp_client_dns_txt(d, name, &d->last);
    if (rc == DMP_EIO)
        return DMP_EIO;
    if (rc || d->last.n == 0)
        return DMP_ENOTFOUND;
    *vals = d->last.v;
    *n = d->last.n;
    return 0;
}

/* ---------------------------------------------------------------- raw exchange / UPDATE */

int dmp_client_dns_exchange(const char *server, uint16_t default_port, const uint8_t *q,
                            size_t qlen, uint8_t *resp, size_t cap, size_t *rlen, int timeout_ms)
{
    dmp_client_dns_t d;
    dmp_client_dns_init(&d);
    int rc = dmp_client_dns_add(&d, server, default_port);
    if (rc) {
        dmp_client_dns_free(&d);
        return rc;
    }
    int64_t dl = mono_ms() + timeout_ms;
    uint16_t id = qlen >= 2 ? dmp_load_u16be(q) : 0;
    rc = udp_exchange(&d.r[0], q, qlen, id, resp, cap < EDNS_SIZE ? cap : EDNS_SIZE, rlen, dl,
                      false);
    if (!rc && *rlen >= 3 && (resp[2] & 0x02))
        rc = tcp_exchange(&d.r[0], q, qlen, resp, cap, rlen, dl);
    dmp_client_dns_free(&d);
    return rc;
}

/* An RFC 2136 UPDATE adding one TXT value (split into <= 255-byte strings) at name in zone. When
 * tsig_name/secret are given the message is signed (ldns's TSIG, hmac-sha256 etc.). Returns the
 * wire in *out (free()). */
int dmp_client_update_build(const char *zone, const char *name, const char *value, size_t vlen,
                            uint32_t ttl, bool del, const char *tsig_name, const char *tsig_b64,
                            const char *tsig_alg, uint8_t **out, size_t *outlen)
{
    ldns_rdf *z = ldns_dname_new_frm_str(zone), *owner = ldns_dname_new_frm_str(name);
    if (!z || !owner) {
        if (z)
            ldns_rdf_deep_free(z);
        if (owner)
            ldns_rdf_deep_free(owner);
        return DMP_ENAME;
    }
    ldns_rr *rr = ldns_rr_new();
    ldns_rr_set_owner(rr, owner);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(rr, del ? LDNS_RR_CLASS_NONE : LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, del ? 0 : ttl);
    for (size_t off = 0; off < vlen || (vlen == 0 && off == 0); off += 255) {
        size_t k = vlen - off < 255 ? vlen - off : 255;
        uint8_t buf[256];
        buf[0] = (uint8_t)k;
        memcpy(buf + 1, value + off, k);
        ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, k + 1, buf));
        if (vlen == 0)
            break;
    }
    ldns_rr_list *up = ldns_rr_list_new();
    ldns_rr_list_push_rr(up, rr);
    ldns_pkt *p = ldns_update_pkt_new(z, LDNS_RR_CLASS_IN, NULL, up, NULL);
    ldns_rr_list_deep_free(up); /* the packet holds a clone */
    if (!p)
        return DMP_ENOMEM;
    ldns_pkt_set_id(p, (uint16_t)randombytes_uniform(65536));
    int rc = 0;
    if (tsig_name && tsig_b64) {
        if (ldns_pkt_tsig_sign(p, tsig_name, tsig_b64, 300, tsig_alg ? tsig_alg : "hmac-sha256.",
                               NULL) != LDNS_STATUS_OK)
            rc = DMP_ECRYPTO;
    }
    if (!rc && ldns_pkt2wire(out, p, outlen) != LDNS_STATUS_OK)
        rc = DMP_EFORMAT;
    ldns_pkt_free(p);
    return rc;
}

/* Sends an UPDATE and returns its rcode in *rcode. */
int dmp_client_update_send(const char *server, uint16_t port, const uint8_t *q, size_t qlen,
                           int timeout_ms, int *rcode)
{
    uint8_t *resp = malloc(65536);
    if (!resp)
        return DMP_ENOMEM;
    size_t rlen = 0;
    char hp[128];
    if (strchr(server, ':') && server[0] != '[')
        snprintf(hp, sizeof(hp), "[%s]:%u", server, port);
    else
        snprintf(hp, sizeof(hp), "%s:%u", server, port);
    /* an UPDATE larger than a safe UDP payload (1,232 bytes, DNS flag day 2020) goes over TCP:
     * the largest manifest makes an ~11 KB UPDATE that a server's UDP socket may drop */
    int rc = qlen > 1232
                 ? dmp_client_dns_raw(hp, true, q, qlen, resp, 65535, &rlen, timeout_ms)
                 : dmp_client_dns_exchange(hp, port, q, qlen, resp, 65535, &rlen, timeout_ms);
    if (!rc) {
        if (rlen < 12 || dmp_load_u16be(resp) != dmp_load_u16be(q))
            rc = DMP_EFORMAT;
        else
            *rcode = resp[3] & 0x0f;
    }
    free(resp);
    return rc;
}

int dmp_client_dns_raw(const char *server, bool tcp, const uint8_t *q, size_t qlen, uint8_t *resp,
                       size_t cap, size_t *rlen, int timeout_ms)
{
    dmp_client_dns_t d;
    dmp_client_dns_init(&d);
    int rc = dmp_client_dns_add(&d, server, 53);
    if (!rc) {
        int64_t dl = mono_ms() + timeout_ms;
        rc = tcp ? tcp_exchange(&d.r[0], q, qlen, resp, cap, rlen, dl)
                 : udp_exchange(&d.r[0], q, qlen, 0, resp, cap, rlen, dl, true);
    }
    dmp_client_dns_free(&d);
    return rc;
}
