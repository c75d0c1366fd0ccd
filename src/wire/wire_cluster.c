/* wire: cluster manifest, bootstrap record, heartbeat (reference/cluster.md §1, §2, §6;
 * node.md §6.2). */
#include <arpa/inet.h>
#include <strings.h>

#include "wire/wire_internal.h"

#define P_CLUSTER "v=dmp1;t=cluster;"
#define P_BOOTSTRAP "v=dmp1;t=bootstrap;"
#define P_HEARTBEAT "v=dmp1;t=heartbeat;"
#define CL_MAGIC "DMPCL01"
#define BS_MAGIC "DMPBS01"
#define HB_MAGIC3 "DMPHB03"
#define HB_MAGIC2 "DMPHB02"
#define I63 ((uint64_t)1 << 63)

/* Sign-side domain rule (cluster.md §1.4/§2.4): non-empty, not "..", one dot stripped,
 * <= 64 bytes, DNS rules. Returns the stripped length through *sl. */
static int sign_domain(const char *d, size_t n, size_t *sl)
{
    if (!d || n == 0)
        return DMP_EWIRE_NAME;
    if (n > DMP_WIRE_DOMAIN_MAX + 1)
        return DMP_EWIRE_LEN;
    size_t eff = d[n - 1] == '.' ? n - 1 : n;
    if (eff > DMP_WIRE_DOMAIN_MAX)
        return DMP_EWIRE_LEN;
    return dmp_wire_dns_name_check(d, n, sl);
}

/* ---------------------------------------------------------------- cluster manifest */

int dmp_wire_cluster_encode(const dmp_wire_cluster_t *c, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!c || !sk64 || !out)
        return DMP_EINVAL;
    size_t nl;
    int rc = sign_domain(c->cluster_name, c->cluster_name_len, &nl);
    if (rc)
        return rc;
    if (c->n_nodes < 1 || c->n_nodes > DMP_WIRE_CLUSTER_MAX_NODES)
        return DMP_EWIRE_COUNT;
    for (size_t i = 0; i < c->n_nodes; i++) {
        const dmp_wire_cluster_node_t *nd = &c->nodes[i];
        if (nd->node_id_len < 1 || nd->node_id_len > DMP_WIRE_NODE_ID_MAX ||
            nd->http_endpoint_len < 1 || nd->http_endpoint_len > DMP_WIRE_HTTP_EP_MAX ||
            nd->dns_endpoint_len > DMP_WIRE_DNS_EP_MAX)
            return DMP_EWIRE_FIELD;
        if (!dmp_wire__ascii((const uint8_t *)nd->node_id, nd->node_id_len) ||
            !dmp_wire__utf8_ok((const uint8_t *)nd->http_endpoint, nd->http_endpoint_len) ||
            !dmp_wire__utf8_ok((const uint8_t *)nd->dns_endpoint, nd->dns_endpoint_len))
            return DMP_EWIRE_UTF8;
        for (size_t j = 0; j < i; j++)
            if (c->nodes[j].node_id_len == nd->node_id_len &&
                memcmp(c->nodes[j].node_id, nd->node_id, nd->node_id_len) == 0)
                return DMP_EWIRE_DUP;
    }
    rc = dmp_wire__key_matches(sk64, c->operator_spk);
    if (rc)
        return rc;
    dmp_buf_t b;
    dmp_buf_init(&b);
    rc = dmp_buf_append(&b, CL_MAGIC, 7);
    rc = rc ? rc : dmp_buf_append_u64be(&b, c->seq);
    rc = rc ? rc : dmp_buf_append_u64be(&b, c->exp);
    rc = rc ? rc : dmp_buf_append(&b, c->operator_spk, 32);
    rc = rc ? rc : dmp_buf_append_u8(&b, (uint8_t)nl);
    rc = rc ? rc : dmp_buf_append(&b, c->cluster_name, nl);
    rc = rc ? rc : dmp_buf_append_u8(&b, (uint8_t)c->n_nodes);
    for (size_t i = 0; !rc && i < c->n_nodes; i++) {
        const dmp_wire_cluster_node_t *nd = &c->nodes[i];
        rc = dmp_buf_append_u8(&b, (uint8_t)nd->node_id_len);
        rc = rc ? rc : dmp_buf_append(&b, nd->node_id, nd->node_id_len);
        rc = rc ? rc : dmp_buf_append_u16be(&b, (uint16_t)nd->http_endpoint_len);
        rc = rc ? rc : dmp_buf_append(&b, nd->http_endpoint, nd->http_endpoint_len);
        rc = rc ? rc : dmp_buf_append_u16be(&b, (uint16_t)nd->dns_endpoint_len);
        rc = rc ? rc : dmp_buf_append(&b, nd->dns_endpoint, nd->dns_endpoint_len);
    }
    if (!rc)
        rc = dmp_wire__wrap(P_CLUSTER, b.data, b.len, sk64, DMP_WIRE_MAX_WIRE, out);
    dmp_buf_free(&b);
    return rc;
}

/* The head cluster manifests and bootstrap records share: magic(7) || seq u64 || exp u64 ||
 * signer spk(32) || u8 len || domain || u8 count. Leaves r after the count. */
static int read_head(dmp_rd_t *r, const uint8_t *b, size_t bl, const char *magic, uint64_t *seq,
                     uint64_t *exp, uint8_t spk[32], char *domain, size_t *domain_len,
                     uint8_t *count)
{
    const uint8_t *p;
    uint8_t u8;
    dmp_rd_init(r, b, bl);
    if (bl < 56)
        return DMP_EWIRE_TRUNC;
    if (memcmp(b, magic, 7) != 0)
        return DMP_EWIRE_MAGIC;
    r->off = 7;
    (void)dmp_rd_u64(r, seq);
    (void)dmp_rd_u64(r, exp);
    (void)dmp_rd_copy(r, spk, 32);
    (void)dmp_rd_u8(r, &u8);
    if (dmp_rd_bytes(r, u8, &p))
        return DMP_EWIRE_TRUNC;
    int rc = dmp_wire__domain_field(p, u8, domain, domain_len);
    if (rc)
        return rc;
    return dmp_rd_u8(r, count) ? DMP_EWIRE_TRUNC : 0;
}

int dmp_wire__cluster_body(const uint8_t *b, size_t bl, dmp_wire_cluster_t *out)
{
    dmp_rd_t r;
    const uint8_t *p;
    uint8_t u8;
    uint16_t u16;
    int rc = read_head(&r, b, bl, CL_MAGIC, &out->seq, &out->exp, out->operator_spk,
                       out->cluster_name, &out->cluster_name_len, &u8);
    if (rc)
        return rc;
    if (u8 > DMP_WIRE_CLUSTER_MAX_NODES)
        return DMP_EWIRE_COUNT;
    out->n_nodes = u8;
    for (size_t i = 0; i < out->n_nodes; i++) {
        dmp_wire_cluster_node_t *nd = &out->nodes[i];
        if (dmp_rd_u8(&r, &u8))
            return DMP_EWIRE_TRUNC;
        if (u8 < 1 || u8 > DMP_WIRE_NODE_ID_MAX)
            return DMP_EWIRE_FIELD;
        if (dmp_rd_bytes(&r, u8, &p))
            return DMP_EWIRE_TRUNC;
        if (!dmp_wire__ascii(p, u8))
            return DMP_EWIRE_UTF8;
        dmp_wire__copy_str(nd->node_id, p, u8);
        nd->node_id_len = u8;
        if (dmp_rd_u16(&r, &u16))
            return DMP_EWIRE_TRUNC;
        if (u16 < 1 || u16 > DMP_WIRE_HTTP_EP_MAX)
            return DMP_EWIRE_FIELD;
        if (dmp_rd_bytes(&r, u16, &p))
            return DMP_EWIRE_TRUNC;
        if (!dmp_wire__utf8_ok(p, u16))
            return DMP_EWIRE_UTF8;
        dmp_wire__copy_str(nd->http_endpoint, p, u16);
        nd->http_endpoint_len = u16;
        if (dmp_rd_u16(&r, &u16))
            return DMP_EWIRE_TRUNC;
        if (u16 > DMP_WIRE_DNS_EP_MAX)
            return DMP_EWIRE_FIELD;
        if (dmp_rd_bytes(&r, u16, &p))
            return DMP_EWIRE_TRUNC;
        if (!dmp_wire__utf8_ok(p, u16))
            return DMP_EWIRE_UTF8;
        dmp_wire__copy_str(nd->dns_endpoint, p, u16);
        nd->dns_endpoint_len = u16;
        for (size_t j = 0; j < i; j++)
            if (out->nodes[j].node_id_len == nd->node_id_len &&
                memcmp(out->nodes[j].node_id, nd->node_id, nd->node_id_len) == 0)
                return DMP_EWIRE_DUP;
    }
    if (dmp_rd_left(&r))
        return DMP_EWIRE_TRAILING;
    return 0;
}

/* exp < now -> expired (exp == now still valid); exp - now > 5 y -> future. */
static int check_exp_5y(uint64_t exp, int64_t now)
{
    __int128 d = dmp_wire__diff(exp, now);
    if (d < 0)
        return DMP_EWIRE_EXPIRED;
    if (d > DMP_WIRE_MAX_FUTURE_5Y)
        return DMP_EWIRE_FUTURE;
    return 0;
}

/* Cluster manifests and bootstrap records: strict base64 under prefix, then the trailing
 * signature by the pinned key checked before any body field is read. On success *blob owns the
 * bytes and *bl is the body length; on error *blob is freed. */
static int unwrap_pinned(const uint8_t *buf, size_t len, const char *prefix, const uint8_t spk[32],
                         dmp_buf_t *blob, size_t *bl)
{
    int rc = dmp_wire__unwrap(buf, len, prefix, DMP_WIRE_MAX_WIRE, DMP_B64_STRICT, blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob->len >= 7 + DMP_WIRE_SIG_LEN) {
        *bl = blob->len - DMP_WIRE_SIG_LEN;
        rc = dmp_wire__verify(spk, blob->data, *bl, blob->data + *bl);
    }
    if (rc)
        dmp_buf_free(blob);
    return rc;
}

int dmp_wire_cluster_parse(const uint8_t *buf, size_t len, const uint8_t operator_spk[32],
                           int64_t now, const char *expected_name, dmp_wire_cluster_t *out)
{
    if (!out || !operator_spk)
        return DMP_EINVAL;
    dmp_buf_t blob;
    size_t bl;
    int rc = unwrap_pinned(buf, len, P_CLUSTER, operator_spk, &blob, &bl);
    if (rc)
        return rc;
    rc = dmp_wire__cluster_body(blob.data, bl, out);
    if (rc)
        goto done;
    rc = DMP_EWIRE_SIGNER;
    if (memcmp(out->operator_spk, operator_spk, 32) != 0)
        goto done;
    rc = check_exp_5y(out->exp, now);
    if (rc)
        goto done;
    if (expected_name && !dmp_wire__name_eq(out->cluster_name, out->cluster_name_len, expected_name,
                                            strlen(expected_name)))
        rc = DMP_EWIRE_EXPECTED;
done:
    dmp_buf_free(&blob);
    return rc;
}

/* ---------------------------------------------------------------- bootstrap */

static bool base_eq(const dmp_wire_bootstrap_entry_t *a, const char *bd, size_t bn)
{
    return a->base_len == bn && strncasecmp(a->cluster_base_domain, bd, bn) == 0;
}

/* Stable insertion sort by priority (at most 16 entries). */
static void sort_entries(dmp_wire_bootstrap_entry_t *e, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        dmp_wire_bootstrap_entry_t t = e[i];
        size_t j = i;
        while (j > 0 && e[j - 1].priority > t.priority) {
            e[j] = e[j - 1];
            j--;
        }
        e[j] = t;
    }
}

int dmp_wire_bootstrap_encode(const dmp_wire_bootstrap_t *b, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!b || !sk64 || !out)
        return DMP_EINVAL;
    size_t ul;
    int rc = sign_domain(b->user_domain, b->user_domain_len, &ul);
    if (rc)
        return rc;
    if (b->n_entries < 1 || b->n_entries > DMP_WIRE_BOOTSTRAP_MAX_ENTRIES)
        return DMP_EWIRE_COUNT;
    /* work on a copy: the reference strips dots and sorts in place (docs/wire.md #10) */
    dmp_wire_bootstrap_entry_t e[DMP_WIRE_BOOTSTRAP_MAX_ENTRIES];
    for (size_t i = 0; i < b->n_entries; i++) {
        e[i] = b->entries[i];
        size_t sl;
        rc = sign_domain(e[i].cluster_base_domain, e[i].base_len, &sl);
        if (rc)
            return rc;
        e[i].base_len = sl;
        e[i].cluster_base_domain[sl] = '\0';
        for (size_t j = 0; j < i; j++)
            if (e[j].priority == e[i].priority && base_eq(&e[j], e[i].cluster_base_domain, sl))
                return DMP_EWIRE_DUP;
    }
    sort_entries(e, b->n_entries);
    rc = dmp_wire__key_matches(sk64, b->signer_spk);
    if (rc)
        return rc;
    dmp_buf_t body;
    dmp_buf_init(&body);
    rc = dmp_buf_append(&body, BS_MAGIC, 7);
    rc = rc ? rc : dmp_buf_append_u64be(&body, b->seq);
    rc = rc ? rc : dmp_buf_append_u64be(&body, b->exp);
    rc = rc ? rc : dmp_buf_append(&body, b->signer_spk, 32);
    rc = rc ? rc : dmp_buf_append_u8(&body, (uint8_t)ul);
    rc = rc ? rc : dmp_buf_append(&body, b->user_domain, ul);
    rc = rc ? rc : dmp_buf_append_u8(&body, (uint8_t)b->n_entries);
    for (size_t i = 0; !rc && i < b->n_entries; i++) {
        rc = dmp_buf_append_u16be(&body, e[i].priority);
        rc = rc ? rc : dmp_buf_append_u8(&body, (uint8_t)e[i].base_len);
        rc = rc ? rc : dmp_buf_append(&body, e[i].cluster_base_domain, e[i].base_len);
        rc = rc ? rc : dmp_buf_append(&body, e[i].operator_spk, 32);
    }
    if (!rc)
        rc = dmp_wire__wrap(P_BOOTSTRAP, body.data, body.len, sk64, DMP_WIRE_MAX_WIRE, out);
    dmp_buf_free(&body);
    return rc;
}

int dmp_wire__bootstrap_body(const uint8_t *b, size_t bl, dmp_wire_bootstrap_t *out)
{
    dmp_rd_t r;
    const uint8_t *p;
    uint8_t u8;
    int rc = read_head(&r, b, bl, BS_MAGIC, &out->seq, &out->exp, out->signer_spk, out->user_domain,
                       &out->user_domain_len, &u8);
    if (rc)
        return rc;
    if (u8 < 1 || u8 > DMP_WIRE_BOOTSTRAP_MAX_ENTRIES)
        return DMP_EWIRE_COUNT;
    out->n_entries = u8;
    for (size_t i = 0; i < out->n_entries; i++) {
        dmp_wire_bootstrap_entry_t *e = &out->entries[i];
        if (dmp_rd_u16(&r, &e->priority) || dmp_rd_u8(&r, &u8))
            return DMP_EWIRE_TRUNC;
        size_t eff = (u8 > 0 && dmp_rd_left(&r) >= u8 && r.p[r.off + u8 - 1] == '.') ? u8 - 1u : u8;
        if (eff < 1 || eff > DMP_WIRE_DOMAIN_MAX)
            return DMP_EWIRE_LEN;
        if (dmp_rd_bytes(&r, u8, &p))
            return DMP_EWIRE_TRUNC;
        if (!dmp_wire__utf8_ok(p, u8))
            return DMP_EWIRE_UTF8;
        if (dmp_rd_copy(&r, e->operator_spk, 32))
            return DMP_EWIRE_TRUNC;
        rc = dmp_wire__domain_field(p, u8, e->cluster_base_domain, &e->base_len);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (out->entries[j].priority == e->priority &&
                base_eq(&out->entries[j], e->cluster_base_domain, e->base_len))
                return DMP_EWIRE_DUP;
    }
    if (dmp_rd_left(&r))
        return DMP_EWIRE_TRAILING;
    sort_entries(out->entries, out->n_entries);
    return 0;
}

int dmp_wire_bootstrap_parse(const uint8_t *buf, size_t len, const uint8_t signer_spk[32],
                             int64_t now, const char *expected_user_domain,
                             dmp_wire_bootstrap_t *out)
{
    if (!out || !signer_spk)
        return DMP_EINVAL;
    dmp_buf_t blob;
    size_t bl;
    int rc = unwrap_pinned(buf, len, P_BOOTSTRAP, signer_spk, &blob, &bl);
    if (rc)
        return rc;
    rc = dmp_wire__bootstrap_body(blob.data, bl, out);
    if (rc)
        goto done;
    rc = DMP_EWIRE_SIGNER;
    if (memcmp(out->signer_spk, signer_spk, 32) != 0)
        goto done;
    rc = check_exp_5y(out->exp, now);
    if (rc)
        goto done;
    if (expected_user_domain &&
        !dmp_wire__name_eq(out->user_domain, out->user_domain_len, expected_user_domain,
                           strlen(expected_user_domain)))
        rc = DMP_EWIRE_EXPECTED;
done:
    dmp_buf_free(&blob);
    return rc;
}

/* ---------------------------------------------------------------- heartbeat */

static bool in4(uint32_t a, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xFFFFFFFFu << (32 - bits);
    return (a & mask) == (net & mask);
}

/* Python ipaddress (3.11): loopback, private, link-local, multicast, reserved, unspecified. */
static bool v4_nonpublic(uint32_t a)
{
    static const struct {
        uint32_t net;
        int bits;
    } nets[] = {
        {0x00000000, 8},  {0x0A000000, 8},  {0x7F000000, 8},  {0xA9FE0000, 16}, {0xAC100000, 12},
        {0xC0000000, 29}, {0xC00000AA, 31}, {0xC0000200, 24}, {0xC0A80000, 16}, {0xC6120000, 15},
        {0xC6336400, 24}, {0xCB007100, 24}, {0xE0000000, 4},  {0xF0000000, 4},  {0xFFFFFFFF, 32},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (in4(a, nets[i].net, nets[i].bits))
            return true;
    return false;
}

static bool in6(const uint8_t *a, const uint8_t *net, int bits)
{
    int full = bits / 8, rem = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (rem == 0)
        return true;
    uint8_t m = (uint8_t)(0xFF << (8 - rem));
    return (a[full] & m) == (net[full] & m);
}

static bool v6_nonpublic(const uint8_t a[16])
{
    /* Everything outside 2000::/3 is reserved, loopback, unspecified, ULA, link-local,
     * site-local or multicast; inside it Python calls 2001::/23 and 2001:db8::/32 private. */
    static const uint8_t g[16] = {0x20};
    static const uint8_t p1[16] = {0x20, 0x01};
    static const uint8_t p2[16] = {0x20, 0x01, 0x0d, 0xb8};
    if (!in6(a, g, 3))
        return true;
    return in6(a, p1, 23) || in6(a, p2, 32);
}

/* Reference rule (cluster.md §6) with deliberate tightening (docs/wire.md #5): empty query or
 * fragment, backslash, non-numeric or > 65535 ports, inet_aton shorthand of non-public IPv4,
 * any IPv6 outside global unicast and zone ids are refused. */
int dmp_wire_heartbeat_endpoint_check(const char *ep, size_t len)
{
    if (!ep || len == 0 || len > DMP_WIRE_HB_ENDPOINT_MAX)
        return DMP_EWIRE_ENDPOINT;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)ep[i];
        if (c >= 0x80)
            return DMP_EWIRE_ENDPOINT;
        if (c < 0x21 || c == 0x7F)
            return DMP_EWIRE_CHARS;
    }
    size_t pos;
    if (len > 8 && strncasecmp(ep, "https://", 8) == 0)
        pos = 8;
    else if (len > 7 && strncasecmp(ep, "http://", 7) == 0)
        pos = 7;
    else
        return DMP_EWIRE_ENDPOINT;
    const char *net = ep + pos;
    size_t nn = len - pos;
    /* authority only: no path, query or fragment (not even an empty one) */
    for (size_t i = 0; i < nn; i++)
        if (net[i] == '/' || net[i] == '?' || net[i] == '#' || net[i] == '@' || net[i] == '\\')
            return DMP_EWIRE_ENDPOINT;
    const char *host = net;
    size_t hn;
    const char *port = NULL;
    size_t pn = 0;
    char hb[256];
    if (nn && net[0] == '[') {
        const char *close = memchr(net, ']', nn);
        if (!close)
            return DMP_EWIRE_ENDPOINT;
        host = net + 1;
        hn = (size_t)(close - host);
        size_t rest = nn - (size_t)(close - net) - 1;
        if (rest) {
            if (close[1] != ':')
                return DMP_EWIRE_ENDPOINT;
            port = close + 2;
            pn = rest - 1;
        }
        if (hn == 0 || hn >= sizeof hb)
            return DMP_EWIRE_ENDPOINT;
        memcpy(hb, host, hn);
        hb[hn] = '\0';
        uint8_t a6[16];
        if (inet_pton(AF_INET6, hb, a6) != 1)
            return DMP_EWIRE_ENDPOINT;
        if (v6_nonpublic(a6))
            return DMP_EWIRE_ENDPOINT;
    } else {
        if (memchr(net, '[', nn) || memchr(net, ']', nn))
            return DMP_EWIRE_ENDPOINT;
        const char *colon = memchr(net, ':', nn);
        hn = colon ? (size_t)(colon - net) : nn;
        if (colon) {
            port = colon + 1;
            pn = nn - hn - 1;
        }
        if (hn == 0 || hn >= sizeof hb)
            return DMP_EWIRE_ENDPOINT;
        memcpy(hb, host, hn);
        hb[hn] = '\0';
        if (strcasecmp(hb, "localhost") == 0 || strcasecmp(hb, "localhost.localdomain") == 0 ||
            strcasecmp(hb, "ip6-localhost") == 0)
            return DMP_EWIRE_ENDPOINT;
        struct in_addr a4;
        /* inet_aton also catches shorthand forms (127.1, 0x7f.1) a client would connect to */
        if (inet_aton(hb, &a4) == 1 && v4_nonpublic(ntohl(a4.s_addr)))
            return DMP_EWIRE_ENDPOINT;
    }
    if (port) {
        if (pn == 0 || pn > 5)
            return DMP_EWIRE_ENDPOINT;
        uint32_t v = 0;
        for (size_t i = 0; i < pn; i++) {
            if (port[i] < '0' || port[i] > '9')
                return DMP_EWIRE_ENDPOINT;
            v = v * 10 + (uint32_t)(port[i] - '0');
        }
        if (v > 65535)
            return DMP_EWIRE_ENDPOINT;
    }
    return 0;
}

static int hb_zone_check(const uint8_t *z, size_t n)
{
    if (n > DMP_WIRE_HB_ZONE_MAX)
        return DMP_EWIRE_FIELD;
    if (!dmp_wire__ascii(z, n))
        return DMP_EWIRE_UTF8;
    for (size_t i = 0; i < n; i++)
        if (z[i] < 0x21 || z[i] == 0x7F)
            return DMP_EWIRE_CHARS;
    return 0;
}

int dmp_wire_heartbeat_encode(const dmp_wire_heartbeat_t *h, const uint8_t sk64[64], dmp_buf_t *out)
{
    if (!h || !sk64 || !out)
        return DMP_EINVAL;
    int rc = dmp_wire_heartbeat_endpoint_check(h->endpoint, h->endpoint_len);
    if (rc)
        return rc;
    if (h->version_len > DMP_WIRE_HB_VERSION_MAX)
        return DMP_EWIRE_FIELD;
    if (!dmp_wire__ascii((const uint8_t *)h->version, h->version_len))
        return DMP_EWIRE_UTF8;
    rc = hb_zone_check((const uint8_t *)h->claim_provider_zone, h->zone_len);
    if (rc)
        return rc;
    if (h->ts >= I63 || h->exp >= I63)
        return DMP_EWIRE_FIELD;
    if (h->exp <= h->ts)
        return DMP_EWIRE_TSORDER;
    rc = dmp_wire__key_matches(sk64, h->operator_spk);
    if (rc)
        return rc;
    uint8_t body[7 + 2 + 255 + 32 + 1 + 32 + 2 + 1 + 64 + 16];
    size_t o = 0;
    memcpy(body, HB_MAGIC3, 7);
    o = 7;
    dmp_store_u16be(body + o, (uint16_t)h->endpoint_len);
    o += 2;
    memcpy(body + o, h->endpoint, h->endpoint_len);
    o += h->endpoint_len;
    memcpy(body + o, h->operator_spk, 32);
    o += 32;
    body[o++] = (uint8_t)h->version_len;
    memcpy(body + o, h->version, h->version_len);
    o += h->version_len;
    dmp_store_u16be(body + o, h->capabilities);
    o += 2;
    body[o++] = (uint8_t)h->zone_len;
    memcpy(body + o, h->claim_provider_zone, h->zone_len);
    o += h->zone_len;
    dmp_store_u64be(body + o, h->ts);
    dmp_store_u64be(body + o + 8, h->exp);
    o += 16;
    return dmp_wire__wrap(P_HEARTBEAT, body, o, sk64, DMP_WIRE_MAX_WIRE, out);
}

static int heartbeat_body(const uint8_t *b, size_t bl, dmp_wire_heartbeat_t *out)
{
    dmp_rd_t r;
    dmp_rd_init(&r, b, bl);
    const uint8_t *p;
    uint8_t u8;
    uint16_t u16;
    if (bl < 9)
        return DMP_EWIRE_TRUNC;
    if (memcmp(b, HB_MAGIC3, 7) == 0)
        out->magic_version = 3;
    else if (memcmp(b, HB_MAGIC2, 7) == 0)
        out->magic_version = 2;
    else
        return DMP_EWIRE_MAGIC;
    r.off = 7;
    (void)dmp_rd_u16(&r, &u16);
    if (u16 < 1 || u16 > DMP_WIRE_HB_ENDPOINT_MAX)
        return DMP_EWIRE_FIELD;
    if (dmp_rd_bytes(&r, u16, &p))
        return DMP_EWIRE_TRUNC;
    if (!dmp_wire__utf8_ok(p, u16))
        return DMP_EWIRE_UTF8;
    dmp_wire__copy_str(out->endpoint, p, u16);
    out->endpoint_len = u16;
    if (dmp_rd_copy(&r, out->operator_spk, 32) || dmp_rd_u8(&r, &u8))
        return DMP_EWIRE_TRUNC;
    if (u8 > DMP_WIRE_HB_VERSION_MAX)
        return DMP_EWIRE_FIELD;
    if (dmp_rd_bytes(&r, u8, &p))
        return DMP_EWIRE_TRUNC;
    if (!dmp_wire__utf8_ok(p, u8))
        return DMP_EWIRE_UTF8;
    dmp_wire__copy_str(out->version, p, u8);
    out->version_len = u8;
    if (dmp_rd_u16(&r, &out->capabilities))
        return DMP_EWIRE_TRUNC;
    out->zone_len = 0;
    out->claim_provider_zone[0] = '\0';
    if (out->magic_version == 3) {
        if (dmp_rd_u8(&r, &u8))
            return DMP_EWIRE_TRUNC;
        if (u8 > DMP_WIRE_HB_ZONE_MAX)
            return DMP_EWIRE_FIELD;
        if (dmp_rd_bytes(&r, u8, &p))
            return DMP_EWIRE_TRUNC;
        if (!dmp_wire__utf8_ok(p, u8))
            return DMP_EWIRE_UTF8;
        dmp_wire__copy_str(out->claim_provider_zone, p, u8);
        out->zone_len = u8;
    }
    if (dmp_rd_u64(&r, &out->ts) || dmp_rd_u64(&r, &out->exp))
        return DMP_EWIRE_TRUNC;
    if (dmp_rd_left(&r))
        return DMP_EWIRE_TRAILING;
    int rc = dmp_wire_heartbeat_endpoint_check(out->endpoint, out->endpoint_len);
    if (rc)
        return rc;
    if (!dmp_wire__ascii((const uint8_t *)out->version, out->version_len))
        return DMP_EWIRE_UTF8;
    /* the reference validates the zone only when signing (docs/wire.md #6) */
    rc = hb_zone_check((const uint8_t *)out->claim_provider_zone, out->zone_len);
    if (rc)
        return rc;
    if (out->exp <= out->ts)
        return DMP_EWIRE_TSORDER;
    return 0;
}

int dmp_wire_heartbeat_parse(const uint8_t *buf, size_t len, int64_t now, int64_t ts_skew,
                             dmp_wire_heartbeat_t *out)
{
    if (!out)
        return DMP_EINVAL;
    if (ts_skew < 0)
        ts_skew = DMP_WIRE_TS_SKEW;
    dmp_buf_t blob;
    int rc = dmp_wire__unwrap(buf, len, P_HEARTBEAT, DMP_WIRE_MAX_WIRE, DMP_B64_STRICT, &blob);
    if (rc)
        return rc;
    rc = DMP_EWIRE_SHORT;
    if (blob.len < 7 + 64 + 2 + 32 + 1 + 2 + 16)
        goto done;
    size_t bl = blob.len - DMP_WIRE_SIG_LEN;
    rc = heartbeat_body(blob.data, bl, out);
    if (rc)
        goto done;
    rc = dmp_wire__verify(out->operator_spk, blob.data, bl, blob.data + bl);
    if (rc)
        goto done;
    __int128 d = dmp_wire__diff(out->ts, now);
    if (d > ts_skew)
        rc = DMP_EWIRE_FUTURE;
    else if (d < -(__int128)ts_skew)
        rc = DMP_EWIRE_STALE;
    else if (dmp_wire__diff(out->exp, now) <= 0)
        rc = DMP_EWIRE_EXPIRED;
    else if (dmp_wire__diff(out->exp, now) > DMP_WIRE_MAX_FUTURE_30D)
        rc = DMP_EWIRE_FUTURE;
done:
    dmp_buf_free(&blob);
    return rc;
}
