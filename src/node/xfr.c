/* node: zone transfers to standard secondaries. AXFR (RFC 5936) and IXFR (RFC 1995, answered
 * with the whole zone, or one SOA when the client is current) over TCP on the DNS port: the TCP
 * frontend hands the connection over (dmp_net_handler_t.tcp_takeover) and one transfer thread
 * streams the zone from one RocksDB snapshot, so neither frontends nor shards ever walk the
 * zone. Only addresses in DMP_XFR_ALLOW get it (REFUSED otherwise). A NOTIFY thread (RFC 1996)
 * tells DMP_NOTIFY targets when the serial moved, at most once a second (coalesced). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "node/node.h"
#include "node/tsig_keys.h"
#include "wire/wire.h"

#define XFR_QUEUE 64
#define SOA_REFRESH 3600u /* as the SOA the DNS responder answers (src/dns/dns.c) */
#define SOA_RETRY 600u
#define SOA_EXPIRE 604800u

typedef struct {
    int fd;
    struct sockaddr_storage peer;
    uint8_t q[512];
    size_t qlen;
} job_t;

typedef struct {
    uint8_t addr[16];
    int family;
    unsigned prefix;
    char key[256]; /* "" = no TSIG needed; else the request must be signed by this key */
} acl_t;

typedef struct {
    struct sockaddr_storage sa;
    socklen_t len;
} target_t;

struct dmp_node_xfr {
    const dmp_node_config_t *cfg;
    dmp_store_t *store;
    acl_t acl[64];
    size_t nacl;
    target_t notify[16];
    size_t nnotify;
    pthread_t th;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job_t q[XFR_QUEUE];
    size_t qh, qn;
    bool stop;
    dmp_node_bgthread_t notifier;
    uint32_t notified_serial;
    _Atomic uint64_t transfers, refused, notifies;
};

/* ---- configuration ---- */

static int parse_acl(const char *list, acl_t *out, size_t cap, size_t *n, char *err, size_t ecap)
{
    *n = 0;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l && tok[l - 1] == ' ')
            tok[--l] = 0;
        if (!l)
            continue;
        if (*n == cap) {
            snprintf(err, ecap, "DMP_XFR_ALLOW: more than %zu entries", cap);
            return DMP_NODE_ECONFIG;
        }
        acl_t *a = &out[*n];
        a->key[0] = 0;
        char *eq = strchr(tok, '=');
        if (eq) { /* addr=keyname: only requests signed by that TSIG key */
            *eq = 0;
            size_t kl = strlen(eq + 1);
            while (kl && eq[kl] == '.')
                eq[kl--] = 0;
            if (kl == 0 || kl >= sizeof(a->key)) {
                snprintf(err, ecap, "DMP_XFR_ALLOW: invalid key name in '%s'", tok);
                return DMP_NODE_ECONFIG;
            }
            for (size_t i = 0; i < kl; i++)
                a->key[i] =
                    (char)((eq[1 + i] >= 'A' && eq[1 + i] <= 'Z') ? eq[1 + i] + 32 : eq[1 + i]);
            a->key[kl] = 0;
        }
        char *slash = strchr(tok, '/');
        long pfx = -1;
        if (slash) {
            *slash = 0;
            char *end;
            pfx = strtol(slash + 1, &end, 10);
            if (*end || pfx < 0) {
                snprintf(err, ecap, "DMP_XFR_ALLOW: invalid prefix in '%s'", tok);
                return DMP_NODE_ECONFIG;
            }
        }
        if (inet_pton(AF_INET, tok, a->addr) == 1) {
            a->family = AF_INET;
            a->prefix = pfx < 0 ? 32 : (unsigned)pfx;
        } else if (inet_pton(AF_INET6, tok, a->addr) == 1) {
            a->family = AF_INET6;
            a->prefix = pfx < 0 ? 128 : (unsigned)pfx;
        } else {
            snprintf(err, ecap, "DMP_XFR_ALLOW: invalid value '%s': expected an address or CIDR",
                     tok);
            return DMP_NODE_ECONFIG;
        }
        if (a->prefix > (a->family == AF_INET ? 32u : 128u)) {
            snprintf(err, ecap, "DMP_XFR_ALLOW: prefix too long in '%s'", tok);
            return DMP_NODE_ECONFIG;
        }
        (*n)++;
    }
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

static bool allowed(const dmp_node_xfr_t *x, const struct sockaddr_storage *ss,
                    const char *signed_by)
{
    uint8_t v4[4], v6[16];
    bool is4 = false, is6 = false;
    if (ss->ss_family == AF_INET) {
        memcpy(v4, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        is4 = true;
    } else if (ss->ss_family == AF_INET6) {
        memcpy(v6, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        is6 = true;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(v6, mapped, 12) == 0) {
            memcpy(v4, v6 + 12, 4);
            is4 = true;
        }
    }
    for (size_t i = 0; i < x->nacl; i++) {
        const acl_t *a = &x->acl[i];
        bool addr = (a->family == AF_INET && is4 && prefix_match(v4, a->addr, a->prefix)) ||
                    (a->family == AF_INET6 && is6 && prefix_match(v6, a->addr, a->prefix));
        if (addr && (!a->key[0] || (signed_by && strcmp(signed_by, a->key) == 0)))
            return true;
    }
    return false;
}

static int parse_targets(const char *list, target_t *out, size_t cap, size_t *n, char *err,
                         size_t ecap)
{
    *n = 0;
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        /* host:port, [v6]:port */
        char host[256], port[16];
        const char *colon = strrchr(tok, ':');
        if (!colon || *n == cap) {
            snprintf(err, ecap, "DMP_NOTIFY: invalid value '%s': expected host:port", tok);
            return DMP_NODE_ECONFIG;
        }
        size_t hl = (size_t)(colon - tok);
        const char *h = tok;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
            h++;
            hl -= 2;
        }
        snprintf(host, sizeof(host), "%.*s", (int)hl, h);
        snprintf(port, sizeof(port), "%s", colon + 1);
        struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
                                 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV},
                        *ai = NULL;
        if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
            snprintf(err, ecap, "DMP_NOTIFY: invalid value '%s': expected a numeric host:port",
                     tok);
            return DMP_NODE_ECONFIG;
        }
        memcpy(&out[*n].sa, ai->ai_addr, ai->ai_addrlen);
        out[*n].len = ai->ai_addrlen;
        (*n)++;
        freeaddrinfo(ai);
    }
    return 0;
}

/* ---- the transfer ---- */

static bool send_msg(int fd, const dmp_dns_xfr_msg_t *m)
{
    uint8_t len[2];
    dmp_store_u16be(len, (uint16_t)m->len);
    struct iovec iov[2] = {{len, 2}, {(void *)m->buf, m->len}};
    size_t total = 2 + m->len, done = 0;
    while (done < total) {
        struct msghdr mh = {0};
        struct iovec v[2];
        int nv = 0;
        size_t skip = done;
        for (int i = 0; i < 2; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            v[nv].iov_base = (uint8_t *)iov[i].iov_base + skip;
            v[nv].iov_len = iov[i].iov_len - skip;
            skip = 0;
            nv++;
        }
        mh.msg_iov = v;
        mh.msg_iovlen = (size_t)nv;
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

typedef struct {
    dmp_node_xfr_t *x;
    int fd;
    const job_t *job;
    const dmp_dns_xfr_query_t *xq;
    dmp_dns_xfr_msg_t *m;
    uint8_t apex[255];
    size_t apex_len;
    uint32_t serial;
    bool opened, failed;
    dmp_buf_t rd;
    uint64_t rrs;
    const dmp_tsig_state_t *tsig;  /* verified request: every message is signed; else NULL */
    uint8_t mac[DMP_TSIG_MAX_MAC]; /* the previous message's MAC (0 length before the first) */
    size_t mac_len;
    bool first_sent;
} xfr_ctx_t;

/* Sends the message being filled, signed when the request was (RFC 8945 §5.3.1: the first as a
 * normal reply, every later one over the prior MAC and the timers). */
static bool flush_msg(xfr_ctx_t *c)
{
    if (c->tsig) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        size_t len = c->m->len;
        int rc;
        if (!c->first_sent) {
            rc = dmp_tsig_reply_finish(c->tsig, ts.tv_sec, c->m->buf, &len, sizeof(c->m->buf));
            dmp_tsig_rr_t rr;
            if (rc == 0 && dmp_tsig_find(c->m->buf, len, &rr) == 0 &&
                rr.mac_len <= sizeof(c->mac)) {
                memcpy(c->mac, rr.mac, rr.mac_len);
                c->mac_len = rr.mac_len;
            } else {
                rc = DMP_EFORMAT;
            }
        } else {
            rc = dmp_tsig_sign_next(c->m->buf, &len, sizeof(c->m->buf), &c->tsig->key, c->mac,
                                    c->mac_len, (uint64_t)ts.tv_sec, DMP_TSIG_DEFAULT_FUDGE, c->mac,
                                    &c->mac_len);
        }
        if (rc != 0)
            return false;
        c->m->len = len;
    }
    c->first_sent = true;
    return send_msg(c->fd, c->m);
}

/* Adds one RR, sending the full message first when it does not fit. */
static bool add_rr(xfr_ctx_t *c, const uint8_t *owner, size_t olen, uint16_t type,
                   const uint8_t *rd, size_t rdlen)
{
    int rc = dmp_dns_xfr_msg_rr(c->m, owner, olen, type, c->x->cfg->dns_ttl, rd, rdlen);
    if (rc == DMP_ETOOBIG && c->m->count > 0) {
        if (!flush_msg(c))
            return false;
        dmp_dns_xfr_msg_begin(c->m, c->job->q, c->xq->question_end, c->xq->id, 0);
        rc = dmp_dns_xfr_msg_rr(c->m, owner, olen, type, c->x->cfg->dns_ttl, rd, rdlen);
    }
    if (rc == 0)
        c->rrs++;
    return rc == 0;
}

static bool add_soa(xfr_ctx_t *c)
{
    const dmp_node_config_t *cfg = c->x->cfg;
    uint8_t rd[600];
    size_t rl;
    if (dmp_dns_soa_rdata(cfg->apex_ns, cfg->apex_soa_rname, c->serial, SOA_REFRESH, SOA_RETRY,
                          SOA_EXPIRE, cfg->dns_ttl, rd, sizeof(rd), &rl) != 0)
        return false;
    return add_rr(c, c->apex, c->apex_len, DMP_DNS_T_SOA, rd, rl);
}

/* The zone's head: SOA, then the apex NS and the apex addresses the responder answers. */
static bool open_zone(xfr_ctx_t *c)
{
    const dmp_node_config_t *cfg = c->x->cfg;
    c->opened = true;
    if (!add_soa(c))
        return false;
    uint8_t ns[255];
    size_t nl;
    if (dmp_dns_name_from_text(cfg->apex_ns, strlen(cfg->apex_ns), ns, sizeof(ns), &nl) != 0 ||
        !add_rr(c, c->apex, c->apex_len, DMP_DNS_T_NS, ns, nl))
        return false;
    uint8_t a[16];
    if (cfg->apex_a && inet_pton(AF_INET, cfg->apex_a, a) == 1 &&
        !add_rr(c, c->apex, c->apex_len, DMP_DNS_T_A, a, 4))
        return false;
    if (cfg->apex_aaaa && inet_pton(AF_INET6, cfg->apex_aaaa, a) == 1 &&
        !add_rr(c, c->apex, c->apex_len, DMP_DNS_T_AAAA, a, 16))
        return false;
    return true;
}

static int zone_visit(void *ctx, const char *name, size_t len, const dmp_store_record_t *r)
{
    xfr_ctx_t *c = ctx;
    const char *zone = c->x->cfg->served_zone;
    if (!c->opened && !open_zone(c)) {
        c->failed = true;
        return 1;
    }
    if (!dmp_dns_name_in_zone(name, len, zone, strlen(zone)))
        return 0;
    uint8_t owner[255];
    size_t ol;
    if (dmp_dns_name_from_text(name, len, owner, sizeof(owner), &ol) != 0)
        return 0; /* not a DNS name: the responder cannot serve it either */
    c->rd.len = 0;
    if (dmp_wire_txt_split(r->value, r->value_len, &c->rd) != 0 || c->rd.len > 65535)
        return 0;
    if (!add_rr(c, owner, ol, DMP_DNS_T_TXT, c->rd.data, c->rd.len)) {
        c->failed = true;
        return 1;
    }
    return 0;
}

/* ---- IXFR from the journal ---- */

typedef struct {
    xfr_ctx_t *c;
    dmp_buf_t dels, adds; /* this step's rows: u8 name_len | name | u32 len | TXT rdata */
    bool failed;
} ixfr_t;

static int note_row(dmp_buf_t *b, const char *name, size_t nl, const uint8_t *v, size_t vl)
{
    uint8_t owner[255];
    size_t ol;
    if (dmp_dns_name_from_text(name, nl, owner, sizeof(owner), &ol) != 0)
        return 0; /* not a DNS name: never in the zone */
    dmp_buf_t rd;
    dmp_buf_init(&rd);
    int rc = dmp_wire_txt_split(v, vl, &rd);
    if (rc == 0 && rd.len <= 65535) {
        rc = dmp_buf_append_u8(b, (uint8_t)ol);
        if (rc == 0)
            rc = dmp_buf_append(b, owner, ol);
        if (rc == 0)
            rc = dmp_buf_append_u32be(b, (uint32_t)rd.len);
        if (rc == 0)
            rc = dmp_buf_append(b, rd.data, rd.len);
    }
    dmp_buf_free(&rd);
    return rc;
}

static bool emit_rows(xfr_ctx_t *c, const dmp_buf_t *b)
{
    dmp_rd_t r;
    dmp_rd_init(&r, b->data, b->len);
    while (dmp_rd_left(&r) > 0) {
        uint8_t ol;
        uint32_t rl;
        const uint8_t *owner, *rd;
        if (dmp_rd_u8(&r, &ol) || dmp_rd_bytes(&r, ol, &owner) || dmp_rd_u32(&r, &rl) ||
            dmp_rd_bytes(&r, rl, &rd))
            return false;
        if (!add_rr(c, owner, ol, DMP_DNS_T_TXT, rd, rl))
            return false;
    }
    return true;
}

static int ixfr_change(void *ctx, uint32_t serial, bool add, const char *name, size_t nl,
                       const uint8_t *v, size_t vl)
{
    ixfr_t *ix = ctx;
    xfr_ctx_t *c = ix->c;
    if (name == NULL) { /* end of the change set that made `serial` */
        c->serial = serial - 1;
        bool ok = add_soa(c) && emit_rows(c, &ix->dels);
        c->serial = serial;
        ok = ok && add_soa(c) && emit_rows(c, &ix->adds);
        ix->dels.len = ix->adds.len = 0;
        ix->failed = !ok;
        return !ok;
    }
    const char *zone = c->x->cfg->served_zone;
    if (!dmp_dns_name_in_zone(name, nl, zone, strlen(zone)))
        return 0;
    if (note_row(add ? &ix->adds : &ix->dels, name, nl, v, vl) != 0) {
        ix->failed = true;
        return 1;
    }
    return 0;
}

/* RFC 1995 4: SOA(new), then per change set SOA(old) deletions SOA(new) additions, SOA(new).
 * Returns 0 when sent, DMP_ENOTFOUND when the journal does not reach back (send AXFR). */
static int send_ixfr(xfr_ctx_t *c, uint32_t client)
{
    ixfr_t ix = {.c = c};
    dmp_buf_init(&ix.dels);
    dmp_buf_init(&ix.adds);
    /* first check the journal covers client..to, before anything is sent */
    uint32_t to = dmp_store_soa_serial(c->x->store);
    int rc = dmp_store_journal_read(c->x->store, client, to, NULL, NULL);
    if (rc != 0)
        return rc;
    c->serial = to;
    bool ok = add_soa(c);
    rc = ok ? dmp_store_journal_read(c->x->store, client, to, ixfr_change, &ix) : DMP_EIO;
    if (rc == 0 && !ix.failed && c->serial == to) {
        ok = add_soa(c) && flush_msg(c);
        rc = ok ? 0 : DMP_EIO;
    } else if (rc == 0) {
        rc = DMP_EIO;
    }
    dmp_buf_free(&ix.dels);
    dmp_buf_free(&ix.adds);
    return rc;
}

static void serve_job(dmp_node_xfr_t *x, job_t *j, dmp_dns_xfr_msg_t *m)
{
    int fd = j->fd;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    dmp_dns_xfr_query_t xq;
    dmp_tsig_state_t st;
    memset(&st, 0, sizeof(st));
    if (dmp_dns_xfr_query_parse(j->q, j->qlen, &xq) != 0)
        goto done;
    struct timespec now_ts;
    clock_gettime(CLOCK_REALTIME, &now_ts);
    dmp_node_tsig_env_t kenv = {x->store, now_ts.tv_sec};
    if (dmp_tsig_verify_request(j->q, j->qlen, now_ts.tv_sec, dmp_node_tsig_lookup, &kenv, &st) !=
        0)
        goto done; /* keystore error: close, the secondary retries */
    if (st.status != DMP_TSIG_NONE && st.status != DMP_TSIG_OK) {
        /* a bad signature, unknown key or clock skew: NOTAUTH with the TSIG error (§5.2) */
        size_t ol = 0;
        if (dmp_tsig_error_reply(j->q, j->qlen, &st, now_ts.tv_sec, m->buf, sizeof(m->buf), &ol) ==
                0 &&
            ol > 0) {
            m->len = ol;
            send_msg(fd, m);
        }
        atomic_fetch_add(&x->refused, 1);
        goto done;
    }
    xfr_ctx_t c = {.x = x, .fd = fd, .job = j, .xq = &xq, .m = m};
    c.tsig = st.status == DMP_TSIG_OK ? &st : NULL;
    if (!allowed(x, &j->peer, c.tsig ? st.key.name : NULL)) {
        atomic_fetch_add(&x->refused, 1);
        dmp_dns_xfr_msg_begin(m, j->q, xq.question_end, xq.id, DMP_DNS_RCODE_REFUSED);
        flush_msg(&c);
        goto done;
    }
    dmp_buf_init(&c.rd);
    dmp_dns_name_from_text(x->cfg->served_zone, strlen(x->cfg->served_zone), c.apex, sizeof(c.apex),
                           &c.apex_len);
    dmp_dns_xfr_msg_begin(m, j->q, xq.question_end, xq.id, 0);
    uint32_t cur = dmp_store_soa_serial(x->store);
    if (xq.qtype == DMP_DNS_T_IXFR && xq.has_client_serial &&
        (int32_t)(cur - xq.client_serial) <= 0) {
        /* RFC 1995 2: the client is current: one SOA */
        c.serial = cur;
        if (add_soa(&c))
            flush_msg(&c);
        dmp_buf_free(&c.rd);
        goto done;
    }
    if (xq.qtype == DMP_DNS_T_IXFR && xq.has_client_serial) {
        int irc = send_ixfr(&c, xq.client_serial);
        if (irc == 0) {
            atomic_fetch_add(&x->transfers, 1);
            dmp_info("xfr: IXFR of %s from serial %u to %u: %llu RRs", x->cfg->served_zone,
                     xq.client_serial, c.serial, (unsigned long long)c.rrs);
            dmp_buf_free(&c.rd);
            goto done;
        }
        if (irc != DMP_ENOTFOUND) {
            dmp_warn("xfr: IXFR of %s failed", x->cfg->served_zone);
            dmp_buf_free(&c.rd);
            goto done;
        }
        /* the journal does not reach back that far: the whole zone (RFC 1995 4) */
        dmp_dns_xfr_msg_begin(m, j->q, xq.question_end, xq.id, 0);
        c.rrs = 0;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int rc = dmp_store_zone_scan(x->store, now, &c.serial, zone_visit, &c);
    if (rc == 0 && !c.failed && !c.opened && !open_zone(&c))
        c.failed = true;
    if (rc == 0 && !c.failed && add_soa(&c) && flush_msg(&c)) {
        atomic_fetch_add(&x->transfers, 1);
        dmp_info("xfr: %s of %s serial %u: %llu RRs", xq.qtype == DMP_DNS_T_AXFR ? "AXFR" : "IXFR",
                 x->cfg->served_zone, c.serial, (unsigned long long)c.rrs);
    } else {
        dmp_warn("xfr: transfer of %s failed (store %s)", x->cfg->served_zone,
                 rc ? dmp_store_strerror(rc) : "ok, peer gone");
    }
    dmp_buf_free(&c.rd);
done:
    dmp_tsig_state_wipe(&st);
    close(fd);
}

static void *xfr_main(void *arg)
{
    dmp_node_xfr_t *x = arg;
    dmp_node_background_thread();
    dmp_dns_xfr_msg_t *m = malloc(sizeof(*m));
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->stop && x->qn == 0)
            pthread_cond_wait(&x->cv, &x->mu);
        if (x->stop && x->qn == 0)
            break;
        job_t j = x->q[x->qh];
        x->qh = (x->qh + 1) % XFR_QUEUE;
        x->qn--;
        pthread_mutex_unlock(&x->mu);
        if (m && !x->stop)
            serve_job(x, &j, m);
        else
            close(j.fd);
        pthread_mutex_lock(&x->mu);
    }
    pthread_mutex_unlock(&x->mu);
    free(m);
    return NULL;
}

bool dmp_node_xfr_takeover(dmp_node_xfr_t *x, int fd, const struct sockaddr *peer,
                           socklen_t peer_len, const uint8_t *pkt, size_t len)
{
    if (!x || len > sizeof(((job_t *)0)->q) || peer_len > sizeof(struct sockaddr_storage))
        return false;
    dmp_dns_xfr_query_t xq;
    if (dmp_dns_xfr_query_parse(pkt, len, &xq) != 0 || strcmp(xq.zone, x->cfg->served_zone) != 0)
        return false; /* not a transfer of our zone: the responder answers it */
    pthread_mutex_lock(&x->mu);
    bool ok = !x->stop && x->qn < XFR_QUEUE;
    if (ok) {
        job_t *j = &x->q[(x->qh + x->qn) % XFR_QUEUE];
        j->fd = fd;
        memset(&j->peer, 0, sizeof(j->peer));
        memcpy(&j->peer, peer, peer_len);
        memcpy(j->q, pkt, len);
        j->qlen = len;
        x->qn++;
        pthread_cond_signal(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    return ok;
}

/* ---- NOTIFY ---- */

static void notify_tick(void *ctx)
{
    dmp_node_xfr_t *x = ctx;
    uint32_t cur = dmp_store_soa_serial(x->store);
    if (cur == x->notified_serial)
        return;
    x->notified_serial = cur; /* every change since the last tick: one NOTIFY (coalesced) */
    uint8_t msg[300];
    size_t ml;
    if (dmp_dns_notify_build((uint16_t)randombytes_uniform(65536), x->cfg->served_zone, msg,
                             sizeof(msg), &ml) != 0)
        return;
    for (size_t i = 0; i < x->nnotify; i++) {
        int fd = socket(x->notify[i].sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        /* up to 3 tries, 300 ms apart, until the secondary answers (RFC 1996 3.6) */
        for (int t = 0; t < 3; t++) {
            if (sendto(fd, msg, ml, 0, (const struct sockaddr *)&x->notify[i].sa,
                       x->notify[i].len) < 0)
                break;
            struct pollfd p = {.fd = fd, .events = POLLIN};
            uint8_t ans[512];
            if (poll(&p, 1, 300) > 0 && recv(fd, ans, sizeof(ans), 0) >= 12 && ans[0] == msg[0] &&
                ans[1] == msg[1])
                break;
        }
        close(fd);
        atomic_fetch_add(&x->notifies, 1);
    }
}

/* ---- life cycle ---- */

int dmp_node_xfr_start(const dmp_node_config_t *cfg, dmp_store_t *store, dmp_node_xfr_t **out,
                       char *err, size_t errcap)
{
    *out = NULL;
    if (!cfg->xfr_allow && !cfg->notify)
        return 0;
    if (!cfg->served_zone || !cfg->apex_ns || !cfg->apex_soa_rname) {
        snprintf(err, errcap,
                 "DMP_XFR_ALLOW / DMP_NOTIFY need a zone with an apex SOA and NS: set "
                 "DMP_SERVED_ZONE (or DMP_DOMAIN), DMP_DNS_APEX_NS and DMP_DNS_APEX_SOA_RNAME");
        return DMP_NODE_ECONFIG;
    }
    dmp_node_xfr_t *x = calloc(1, sizeof(*x));
    if (!x)
        return DMP_ENOMEM;
    x->cfg = cfg;
    x->store = store;
    int rc = 0;
    if (cfg->xfr_allow)
        rc = parse_acl(cfg->xfr_allow, x->acl, 64, &x->nacl, err, errcap);
    if (rc == 0 && cfg->notify)
        rc = parse_targets(cfg->notify, x->notify, 16, &x->nnotify, err, errcap);
    if (rc != 0) {
        free(x);
        return rc;
    }
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    if (pthread_create(&x->th, NULL, xfr_main, x) != 0) {
        snprintf(err, errcap, "cannot start the zone transfer thread");
        free(x);
        return DMP_ESYS;
    }
    x->started = true;
    x->notified_serial = dmp_store_soa_serial(store);
    if (x->nnotify) {
        x->notifier = (dmp_node_bgthread_t){
            .name = "notify", .interval_s = 1.0, .tick = notify_tick, .ctx = x, .nice = 13};
        if (dmp_node_bgthread_start(&x->notifier) != 0) {
            dmp_node_xfr_stop(x);
            snprintf(err, errcap, "cannot start the NOTIFY thread");
            return DMP_ESYS;
        }
    }
    dmp_info("zone transfers of %s: %zu allowed source(s), NOTIFY to %zu target(s)",
             cfg->served_zone, x->nacl, x->nnotify);
    *out = x;
    return 0;
}

void dmp_node_xfr_stop(dmp_node_xfr_t *x)
{
    if (!x)
        return;
    dmp_node_bgthread_stop(&x->notifier);
    if (x->started) {
        pthread_mutex_lock(&x->mu);
        x->stop = true;
        pthread_cond_signal(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->th, NULL);
        for (size_t i = 0; i < x->qn; i++)
            close(x->q[(x->qh + i) % XFR_QUEUE].fd);
    }
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
}
