/* cluster: peer lists (DMP_SYNC_PEERS, self-exclusion, the reference's synthetic ids), per-peer
 * back-off, sync-token checks, and the libcurl client every exchange with a peer goes through. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cluster/cluster.h"
#include "crypto/crypto.h"

/* ---- URLs and ids ---- */

/* Splits scheme://[userinfo@]host[:port][/path...] (host may be a [v6] literal). */
typedef struct {
    const char *host;
    size_t host_len;
    long port; /* -1 = none */
    const char *path;
    size_t path_len;
} url_parts_t;

static int url_split(const char *url, size_t len, url_parts_t *p)
{
    memset(p, 0, sizeof(*p));
    p->port = -1;
    const char *end = url + len;
    const char *s = NULL;
    for (const char *q = url; q + 2 < end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            s = q + 3;
            break;
        }
    if (!s)
        return DMP_EINVAL;
    const char *auth_end = s;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    const char *at = NULL;
    for (const char *q = s; q < auth_end; q++)
        if (*q == '@')
            at = q;
    if (at)
        s = at + 1;
    const char *host = s, *hend;
    if (s < auth_end && *s == '[') {
        const char *rb = memchr(s, ']', (size_t)(auth_end - s));
        if (!rb)
            return DMP_EINVAL;
        host = s + 1;
        hend = rb;
        s = rb + 1;
    } else {
        hend = s;
        while (hend < auth_end && *hend != ':')
            hend++;
        s = hend;
    }
    if (s < auth_end && *s == ':') {
        long port = 0;
        const char *q = s + 1;
        if (q == auth_end)
            port = -1;
        for (; q < auth_end; q++) {
            if (*q < '0' || *q > '9' || port > 65535)
                return DMP_EINVAL;
            port = port * 10 + (*q - '0');
        }
        if (port > 65535)
            return DMP_EINVAL;
        p->port = port;
    }
    p->host = host;
    p->host_len = (size_t)(hend - host);
    const char *pend = auth_end;
    while (pend < end && *pend != '?' && *pend != '#')
        pend++;
    p->path = auth_end;
    p->path_len = (size_t)(pend - auth_end);
    return 0;
}

int dmp_cluster_peer_id_from_url(const char *url, size_t len, char *out, size_t cap)
{
    if (!url || !out || cap < DMP_CLUSTER_NODE_ID_MAX + 1)
        return DMP_EINVAL;
    char host[300];
    url_parts_t p;
    const char *h;
    size_t hl;
    if (url_split(url, len, &p) == 0 && p.host_len > 0) {
        h = p.host;
        hl = p.host_len;
    } else {
        h = url;
        hl = len;
        p.port = -1;
        p.path_len = 0;
        while (hl > 0 && isspace((unsigned char)h[0])) {
            h++;
            hl--;
        }
        while (hl > 0 && isspace((unsigned char)h[hl - 1]))
            hl--;
    }
    if (hl >= sizeof(host))
        hl = sizeof(host) - 1;
    for (size_t i = 0; i < hl; i++)
        host[i] = (char)tolower((unsigned char)h[i]);
    host[hl] = '\0';
    if (hl == 0) {
        strcpy(host, "peer");
        hl = 4;
    }
    char key[700];
    char portbuf[24] = "";
    if (p.port > 0) /* Python's `port or ''`: port 0 prints nothing too */
        snprintf(portbuf, sizeof(portbuf), "%ld", p.port);
    int kl = snprintf(key, sizeof(key), "%s:%s%.*s", host, portbuf, (int)p.path_len,
                      p.path_len ? p.path : "");
    if (kl < 0 || (size_t)kl >= sizeof(key))
        return DMP_ETOOBIG;
    char hex[7];
    dmp_crypto_sha256_hex((const uint8_t *)key, (size_t)kl, 6, hex);
    snprintf(out, cap, "%.9s-%s", host, hex);
    return 0;
}

int dmp_cluster_peers_parse(const char *list, const char *self_url, const char *self_id,
                            dmp_cluster_peer_t *out, size_t cap, size_t *n)
{
    if (!out || !n)
        return DMP_EINVAL;
    *n = 0;
    if (!list)
        return 0;
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        const char *t = s;
        s = e ? e + 1 : s + l;
        while (l > 0 && isspace((unsigned char)t[0])) {
            t++;
            l--;
        }
        while (l > 0 && isspace((unsigned char)t[l - 1]))
            l--;
        while (l > 0 && t[l - 1] == '/')
            l--;
        if (l == 0)
            continue;
        if (l > DMP_CLUSTER_URL_MAX)
            return DMP_ETOOBIG;
        if (!((l > 7 && strncasecmp(t, "http://", 7) == 0) ||
              (l > 8 && strncasecmp(t, "https://", 8) == 0)))
            return DMP_EINVAL;
        url_parts_t p;
        if (url_split(t, l, &p) != 0 || p.host_len == 0)
            return DMP_EINVAL;
        bool dup = false;
        for (size_t i = 0; i < *n && !dup; i++)
            dup = strlen(out[i].url) == l && memcmp(out[i].url, t, l) == 0;
        if (dup)
            continue;
        if (self_url) {
            size_t sl = strlen(self_url);
            while (sl > 0 && self_url[sl - 1] == '/')
                sl--;
            if (sl == l && strncasecmp(self_url, t, l) == 0)
                continue;
        }
        dmp_cluster_peer_t peer;
        memset(&peer, 0, sizeof(peer));
        memcpy(peer.url, t, l);
        peer.url[l] = '\0';
        dmp_cluster_peer_id_from_url(t, l, peer.node_id, sizeof(peer.node_id));
        peer.synthetic_id = true;
        if (self_id && strcmp(self_id, peer.node_id) == 0)
            continue;
        if (*n == cap)
            return DMP_EFULL;
        out[(*n)++] = peer;
    }
    return 0;
}

/* ---- back-off ---- */

void dmp_cluster_backoff_fail(dmp_cluster_backoff_t *b, int64_t now_ms, int64_t base_ms,
                              int64_t max_ms, uint32_t rnd)
{
    if (!b)
        return;
    if (b->failures < 63)
        b->failures++;
    int64_t d = base_ms;
    for (unsigned i = 1; i < b->failures && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t jitter = d / 4 > 0 ? (int64_t)(rnd % (uint64_t)(d / 4 + 1)) : 0;
    b->next_ms = now_ms + d + jitter;
}

void dmp_cluster_backoff_ok(dmp_cluster_backoff_t *b)
{
    if (b) {
        b->failures = 0;
        b->next_ms = 0;
    }
}

bool dmp_cluster_backoff_ready(const dmp_cluster_backoff_t *b, int64_t now_ms)
{
    return !b || b->failures == 0 || now_ms >= b->next_ms;
}

bool dmp_cluster_auth_ok(const char *header, const char *token)
{
    if (!token || !*token || !header)
        return false;
    size_t tl = strlen(token), hl = strlen(header);
    if (hl != tl + 7 || memcmp(header, "Bearer ", 7) != 0)
        return false;
    return dmp_ct_equal(header + 7, tl, token, tl);
}

/* ---- libcurl ---- */

int dmp_cluster_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : DMP_EIO;
}

typedef struct {
    dmp_buf_t b;
    size_t max;
    bool over;
} sink_t;

static size_t sink_write(char *p, size_t sz, size_t nm, void *ud)
{
    sink_t *s = ud;
    size_t n = sz * nm;
    if (s->b.len + n > s->max) {
        s->over = true;
        return 0; /* aborts the transfer */
    }
    return dmp_buf_append(&s->b, p, n) == 0 ? n : 0;
}

void dmp_cluster_http_resp_free(dmp_cluster_http_resp_t *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int dmp_cluster_http_request(const dmp_cluster_http_opts_t *o, const char *url, const uint8_t *body,
                             size_t body_len, const char *content_type,
                             dmp_cluster_http_resp_t *resp)
{
    if (!o || !url || !resp)
        return DMP_EINVAL;
    memset(resp, 0, sizeof(*resp));
    CURL *c = curl_easy_init();
    if (!c)
        return DMP_ENOMEM;
    sink_t sink;
    dmp_buf_init(&sink.b);
    sink.max = o->max_response ? o->max_response : (8u << 20);
    sink.over = false;
    struct curl_slist *hdr = NULL;
    char auth[600], ctype[128];
    int rc = 0;
    if (o->token && *o->token) {
        if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token) >=
            (int)sizeof(auth)) {
            curl_easy_cleanup(c);
            return DMP_ETOOBIG;
        }
        hdr = curl_slist_append(hdr, auth);
    }
    hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
    if (body) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        hdr = curl_slist_append(hdr, ctype);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms > 0 ? o->connect_ms : 2000L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "dnsmesh-c-sync/1");
    CURLcode cc = curl_easy_perform(c);
    if (cc == CURLE_OK) {
        long st = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
        resp->status = st;
        resp->body = sink.b.data;
        resp->len = sink.b.len;
        sink.b.data = NULL;
    } else {
        rc = sink.over || cc == CURLE_FILESIZE_EXCEEDED ? DMP_ETOOBIG : DMP_CLUSTER_EHTTP;
        dmp_buf_free(&sink.b);
    }
    dmp_buf_free(&sink.b);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return rc;
}
