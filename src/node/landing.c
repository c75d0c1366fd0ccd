/* node: the landing page (GET /, node.md §3.6): identity and health, record count, operator
 * key, how to get write access in the node's current mode, dig examples, and the peers heard
 * by heartbeat. Every request- or peer-derived string is HTML-escaped. Pure: renders from a
 * dmp_node_landing_t the HTTP layer fills. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node/node.h"

static void put(dmp_buf_t *b, const char *s)
{
    dmp_buf_append(b, s, strlen(s));
}

static void putf(dmp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(dmp_buf_t *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        dmp_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void dmp_node_html_escape(dmp_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            put(b, "&amp;");
            break;
        case '<':
            put(b, "&lt;");
            break;
        case '>':
            put(b, "&gt;");
            break;
        case '"':
            put(b, "&quot;");
            break;
        case '\'':
            put(b, "&#x27;");
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\t')
                put(b, "&#xfffd;"); /* no control characters in the page */
            else
                dmp_buf_append_u8(b, (uint8_t)*s);
        }
    }
}

/* The host part of an endpoint URL ("https://h:8443/x" -> "h"). */
static void host_of(const char *ep, char *out, size_t cap)
{
    const char *p = strstr(ep, "://");
    p = p ? p + 3 : ep;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    if (n && p[0] == '[') {
        const char *rb = memchr(p, ']', n);
        n = rb ? (size_t)(rb - p - 1) : n - 1;
        p++;
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon)
            n = (size_t)(colon - p);
    }
    snprintf(out, cap, "%.*s", (int)n, p);
}

static const char *STYLE =
    "<style>\n"
    "body{font:15px/1.55 system-ui,sans-serif;max-width:920px;margin:2em auto;padding:0 1em;"
    "color:#1d2125}\n"
    "h1{margin-bottom:.1em}h1 small{font-weight:normal;font-size:15px;color:#5b6570}\n"
    "h2{margin-top:1.8em;border-bottom:1px solid #d6dde3;padding-bottom:.25em}\n"
    "table{border-collapse:collapse;width:100%}th,td{border:1px solid #cfd6dc;"
    "padding:.35em .6em;text-align:left}th{background:#f2f4f6}\n"
    "td.fresh{color:#137333}td.stale{color:#a15c00}\n"
    "code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}code{word-break:break-all}\n"
    "pre{background:#f6f8fa;border:1px solid #d6dde3;padding:.6em .8em;border-radius:4px;"
    "overflow-x:auto}\n"
    ".ok{display:inline-block;padding:.1em .6em;border-radius:4px;background:#e3f6e8;"
    "color:#137333;font-size:13px}.bad{background:#fde7e7;color:#a50e0e}\n"
    "small{color:#5b6570}\n"
    "</style>\n";

static void registration_block(dmp_buf_t *b, const dmp_node_landing_t *in, const char *host,
                               const char *endpoint)
{
    put(b, "<h2>Getting write access</h2>\n");
    if (in->registration_open) {
        put(b, "<p>Self-service registration is <strong>open</strong>: prove you hold an "
               "Ed25519 key and the node hands you a credential scoped to your own names.");
        if (in->tsig_enabled)
            put(b, " This node also accepts RFC 2136 DNS UPDATE, so after registering for a "
                   "TSIG key every write can go over plain DNS.");
        putf(b, " Credentials live %lld days.</p>\n", (long long)(in->token_ttl_s / 86400));
        put(b, "<pre>dnsmesh init alice@&lt;your-domain&gt; --endpoint ");
        dmp_node_html_escape(b, host);
        put(b, "\ndnsmesh register --node ");
        dmp_node_html_escape(b, host);
        if (in->tsig_enabled) {
            put(b, "\ndnsmesh tsig register --node ");
            dmp_node_html_escape(b, host);
        }
        put(b, "\ndnsmesh identity publish</pre>\n");
        if (in->allowlist_n) {
            put(b, "<p><small>Only these subject domains may register: ");
            for (size_t i = 0; i < in->allowlist_n; i++) {
                put(b, i ? ", <code>" : "<code>");
                dmp_node_html_escape(b, in->allowlist[i]);
                put(b, "</code>");
            }
            put(b, ".</small></p>\n");
        } else {
            put(b, "<p><small>Any <code>user@domain</code> subject may register.</small></p>\n");
        }
        put(b, "<p><small>By hand: <code>GET /v1/registration/challenge</code>, sign "
               "<code>challenge || subject || node || 0x01</code> with your Ed25519 key, "
               "<code>POST /v1/registration/confirm</code>.</small></p>\n");
        return;
    }
    switch (in->auth_mode) {
    case DMP_NODE_AUTH_MULTI_TENANT:
        put(b, "<p>Every user writes with a credential of their own, but self-service "
               "registration is <strong>closed</strong> here: ask the operator of <code>");
        dmp_node_html_escape(b, endpoint);
        put(b, "</code> for a token.</p>\n");
        break;
    case DMP_NODE_AUTH_LEGACY:
        put(b, "<p>This node is in <strong>legacy</strong> mode: one operator token guards "
               "every write. Ask the operator for access.</p>\n");
        break;
    default:
        put(b, "<p>This node is in <strong>open</strong> mode: anyone may write. That suits a "
               "test bench; a public node should run with <code>DMP_AUTH_MODE=multi-tenant"
               "</code> and <code>DMP_REGISTRATION_ENABLED=1</code>.</p>\n");
    }
}

static void peers_block(dmp_buf_t *b, const dmp_node_landing_t *in)
{
    if (!in->heartbeat_on) {
        put(b, "<h2>Peers</h2>\n<p>Heartbeat discovery is <strong>off</strong>, so this node "
               "neither announces itself nor lists the peers it hears. The operator turns it "
               "on with <code>DMP_HEARTBEAT_ENABLED=1</code>, "
               "<code>DMP_HEARTBEAT_SELF_ENDPOINT</code> and "
               "<code>DMP_HEARTBEAT_OPERATOR_KEY_PATH</code>.</p>\n");
        return;
    }
    putf(b, "<h2>Recent peers (%zu)</h2>\n", in->npeers);
    put(b, "<table><thead><tr><th>Endpoint</th><th>Operator key</th><th>Version</th>"
           "<th>Last heard</th><th>Sources</th></tr></thead><tbody>\n");
    if (in->npeers == 0)
        put(b, "<tr><td colspan=\"5\">no heartbeat heard yet</td></tr>\n");
    for (size_t i = 0; i < in->npeers; i++) {
        const dmp_node_peer_row_t *p = &in->peers[i];
        int64_t age = in->now_s - p->ts;
        if (age < 0)
            age = 0;
        put(b, "<tr><td><code>");
        dmp_node_html_escape(b, p->endpoint);
        put(b, "</code></td><td><code>");
        dmp_node_html_escape(b, p->operator_spk_hex);
        put(b, "</code></td><td>");
        dmp_node_html_escape(b, p->version);
        putf(b, "</td><td class=\"%s\">", age < 3600 ? "fresh" : "stale");
        if (age < 120)
            putf(b, "%llds ago", (long long)age);
        else if (age < 7200)
            putf(b, "%lldm ago", (long long)(age / 60));
        else if (age < 172800)
            putf(b, "%lldh ago", (long long)(age / 3600));
        else
            putf(b, "%lldd ago", (long long)(age / 86400));
        putf(b, "</td><td>%u</td></tr>\n", p->sources);
    }
    put(b, "</tbody></table>\n");
}

int dmp_node_landing_render(const dmp_node_landing_t *in, dmp_buf_t *b)
{
    char identity[600], host[300];
    if (in->self_endpoint && in->self_endpoint[0])
        snprintf(identity, sizeof(identity), "%s", in->self_endpoint);
    else if (in->host_header && in->host_header[0])
        snprintf(identity, sizeof(identity), "https://%s", in->host_header);
    else
        snprintf(identity, sizeof(identity), "this node");
    if (strcmp(identity, "this node") == 0)
        snprintf(host, sizeof(host), "<this-host>");
    else
        host_of(identity, host, sizeof(host));
    const char *zone = in->zone && in->zone[0] ? in->zone : "<zone>";

    put(b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    dmp_node_html_escape(b, identity);
    put(b, " &middot; dnsmeshd</title>\n");
    put(b, STYLE);
    put(b, "</head>\n<body>\n<h1>");
    dmp_node_html_escape(b, identity);
    put(b, " <small>dnsmeshd");
    if (in->version) {
        put(b, " ");
        dmp_node_html_escape(b, in->version);
    }
    put(b, "</small></h1>\n");
    put(b, in->healthy ? "<p><span class=\"ok\">healthy</span></p>\n"
                       : "<p><span class=\"ok bad\">store unreadable</span></p>\n");
    put(b, "<p>A DNS Mesh Protocol node: an authoritative DNS server for signed, end-to-end "
           "encrypted message records, with an HTTP API to publish them.</p>\n");

    put(b, "<h2>This node</h2>\n<ul>\n<li><strong>Endpoint:</strong> <code>");
    dmp_node_html_escape(b, identity);
    put(b, "</code></li>\n");
    if (in->records_ok)
        putf(b, "<li><strong>Records stored:</strong> %llu</li>\n",
             (unsigned long long)in->records);
    if (in->zone && in->zone[0]) {
        put(b, "<li><strong>Served zone:</strong> <code>");
        dmp_node_html_escape(b, in->zone);
        put(b, "</code></li>\n");
    }
    if (in->operator_spk_hex && in->operator_spk_hex[0]) {
        put(b, "<li><strong>Operator key (Ed25519):</strong> <code>");
        dmp_node_html_escape(b, in->operator_spk_hex);
        put(b, "</code></li>\n");
    }
    putf(b, "<li><strong>Auth mode:</strong> %s</li>\n",
         in->auth_mode == DMP_NODE_AUTH_MULTI_TENANT ? "multi-tenant"
         : in->auth_mode == DMP_NODE_AUTH_LEGACY     ? "legacy"
                                                     : "open");
    put(b, "<li><strong>API:</strong> <a href=\"/health\">/health</a> &middot; "
           "<a href=\"/stats\">/stats</a></li>\n</ul>\n");

    registration_block(b, in, host, identity);

    put(b, "<h2>Ask it over DNS</h2>\n<pre>dig @");
    dmp_node_html_escape(b, host);
    put(b, " _dnsmesh-heartbeat.");
    dmp_node_html_escape(b, zone);
    put(b, " TXT +short\ndig @");
    dmp_node_html_escape(b, host);
    put(b, " _dnsmesh-seen.");
    dmp_node_html_escape(b, zone);
    put(b, " TXT +short</pre>\n<p><small>Each answer is a signed heartbeat record; "
           "<code>dnsmesh peers ");
    dmp_node_html_escape(b, in->zone && in->zone[0] ? in->zone : host);
    put(b, "</code> verifies them.</small></p>\n");

    peers_block(b, in);

    put(b, "<h2>DNS Mesh Protocol</h2>\n<p>Messages travel as signed TXT records: your "
           "identity is a DNS name, readers use any resolver, and no server ever sees a "
           "plaintext. <a href=\"https://github.com/oscarvalenzuelab/DNSMeshProtocol\">"
           "Protocol and reference client</a>.</p>\n</body>\n</html>\n");
    return b->data ? 0 : DMP_ENOMEM;
}
