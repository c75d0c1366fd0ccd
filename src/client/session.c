/* client: the session of one CLI command (client.md §6.2): config, passphrase, identity with the
 * verify-pubkey tripwire, reader (resolver pool or cluster union) and writers (HTTP node or
 * cluster fan-out). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "util/util.h"
#include "wire/wire.h"

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

int64_t dmp_client_now(const dmp_client_session_t *s)
{
    return s->now ? s->now() : wall_now();
}

static void set_err(dmp_client_session_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_err(dmp_client_session_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
}

void dmp_client_session_init(dmp_client_session_t *s)
{
    memset(s, 0, sizeof(*s));
    dmp_client_config_defaults(&s->cfg);
    dmp_client_dns_init(&s->dns);
    dmp_client_dns_init(&s->cluster_dns);
}

void dmp_client_session_free(dmp_client_session_t *s)
{
    for (size_t i = 0; i < s->nhttp; i++)
        dmp_client_http_free(&s->http[i]);
    s->nhttp = 0;
    dmp_client_dns_free(&s->dns);
    dmp_client_dns_free(&s->cluster_dns);
    dmp_client_db_close(s->prekeys);
    dmp_client_db_close(s->intros);
    s->prekeys = s->intros = NULL;
    dmp_client_replay_free(&s->replay);
    dmp_wipe(s->tsig_b64, sizeof(s->tsig_b64));
    if (s->have_id)
        dmp_crypto_identity_wipe(&s->id);
    s->have_id = false;
    dmp_client_config_free(&s->cfg);
}

bool dmp_client_cluster_pinned(const dmp_client_config_t *c)
{
    return c->cluster_base_domain[0] && c->cluster_operator_spk[0];
}

int dmp_client_session_load(dmp_client_session_t *s)
{
    int rc = dmp_client_home_dir(s->home, sizeof(s->home));
    if (!rc)
        rc = dmp_client_home_path("config.yaml", s->config_path, sizeof(s->config_path));
    if (rc) {
        set_err(s, "cannot locate the config home (set DMP_CONFIG_HOME or HOME)");
        return DMP_EINVAL;
    }
    dmp_client_config_free(&s->cfg);
    char err[256];
    rc = dmp_client_config_load(s->config_path, &s->cfg, err, sizeof(err));
    if (rc == DMP_ENOTFOUND) {
        set_err(s, "no config at %s — run `dnsmesh init <username>` first", s->config_path);
        return rc;
    }
    if (rc) {
        set_err(s, "cannot load %s: %s", s->config_path, err);
        return rc;
    }
    snprintf(s->domain, sizeof(s->domain), "%s",
             dmp_client_cluster_pinned(&s->cfg) ? s->cfg.cluster_base_domain : s->cfg.domain);
    return 0;
}

int dmp_client_session_save(dmp_client_session_t *s)
{
    int rc = dmp_client_config_save(s->config_path, &s->cfg);
    if (rc)
        set_err(s, "cannot write %s", s->config_path);
    return rc;
}

/* Reads a line from the terminal with echo off. */
static int prompt_secret(const char *prompt, char *out, size_t cap)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return DMP_ENOTFOUND;
    struct termios old, quiet;
    bool tty = tcgetattr(fd, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    (void)!write(fd, prompt, strlen(prompt));
    size_t n = 0;
    char c;
    while (n + 1 < cap && read(fd, &c, 1) == 1 && c != '\n')
        out[n++] = c;
    out[n] = 0;
    if (tty)
        tcsetattr(fd, TCSAFLUSH, &old);
    (void)!write(fd, "\n", 1);
    close(fd);
    return 0;
}

static void expand_user(const char *p, char *out, size_t cap)
{
    const char *home = getenv("HOME");
    if (p[0] == '~' && (p[1] == '/' || p[1] == 0) && home)
        snprintf(out, cap, "%s%s", home, p + 1);
    else
        snprintf(out, cap, "%s", p);
}

/* DMP_PASSPHRASE, then passphrase_file (stripped), then a prompt (client.md §6.2). */
int dmp_client_passphrase(const dmp_client_config_t *c, char *out, size_t cap)
{
    const char *e = getenv("DMP_PASSPHRASE");
    if (e && *e) {
        if (strlen(e) >= cap)
            return DMP_ETOOBIG;
        strcpy(out, e);
        return 0;
    }
    if (c->passphrase_file_set && c->passphrase_file[0]) {
        char path[DMP_CLIENT_PATH];
        expand_user(c->passphrase_file, path, sizeof(path));
        dmp_buf_t b;
        dmp_buf_init(&b);
        int rc = dmp_client_read_file(path, cap - 1, &b);
        if (rc == 0) {
            const uint8_t *p = b.data ? b.data : (const uint8_t *)"";
            size_t n = b.len;
            dmp_py_strip(&p, &n);
            memcpy(out, p, n);
            out[n] = 0;
            dmp_buf_free_secret(&b);
            return 0;
        }
        dmp_buf_free_secret(&b);
    }
    char prompt[DMP_CLIENT_STR + 32];
    snprintf(prompt, sizeof(prompt),
             "Passphrase for %s: ", c->username[0] ? c->username : "identity");
    return prompt_secret(prompt, out, cap);
}

int dmp_client_derive(const dmp_client_config_t *c, const char *pass, dmp_crypto_identity_t *id)
{
    uint8_t salt[64];
    size_t slen = 0;
    if (c->kdf_salt[0]) {
        slen = strlen(c->kdf_salt) / 2;
        if (slen > sizeof(salt) || strlen(c->kdf_salt) % 2 ||
            dmp_hex_decode(c->kdf_salt, strlen(c->kdf_salt), salt, slen))
            return DMP_EHEX;
    }
    return dmp_crypto_identity_from_passphrase(pass, strlen(pass), slen ? salt : NULL, slen, id);
}

int dmp_client_session_identity(dmp_client_session_t *s)
{
    if (s->have_id)
        return 0;
    char pass[1024];
    int rc = dmp_client_passphrase(&s->cfg, pass, sizeof(pass));
    if (rc) {
        set_err(s, "no passphrase: set DMP_PASSPHRASE, passphrase_file, or run on a terminal");
        return DMP_EINVAL;
    }
    rc = dmp_client_derive(&s->cfg, pass, &s->id);
    dmp_wipe(pass, sizeof(pass));
    if (rc) {
        set_err(s,
                rc == DMP_EHEX ? "kdf_salt in config is not valid hex" : "key derivation failed");
        return rc;
    }
    s->have_id = true;
    char spk[65];
    dmp_hex_encode(s->id.ed_pk, 32, spk, sizeof(spk));
    if (!s->cfg.verify_pubkey[0]) {
        snprintf(s->cfg.verify_pubkey, sizeof(s->cfg.verify_pubkey), "%s", spk);
        if (dmp_client_config_save(s->config_path, &s->cfg))
            fprintf(stderr, "warning: could not persist verify_pubkey to config\n");
    } else if (strcmp(s->cfg.verify_pubkey, spk) != 0) {
        const char *ov = getenv("DMP_PASSPHRASE_OVERRIDE_VERIFY");
        if (ov && strcmp(ov, "1") == 0) {
            fprintf(stderr,
                    "warning: passphrase derives a different identity than the one saved in "
                    "config (%s != %s); proceeding because DMP_PASSPHRASE_OVERRIDE_VERIFY=1.\n",
                    spk, s->cfg.verify_pubkey);
        } else {
            set_err(s,
                    "passphrase mismatch: the derived signing pubkey does not match the one "
                    "this config was first used with.\n  expected: %s\n  derived:  %s\n\n"
                    "Almost certainly a typo. Re-enter the passphrase that produced your "
                    "published identity. If you genuinely intended a different identity, run "
                    "`dnsmesh init --force` (loses the current identity) or set "
                    "DMP_PASSPHRASE_OVERRIDE_VERIFY=1 to bypass once.",
                    s->cfg.verify_pubkey, spk);
            dmp_crypto_identity_wipe(&s->id);
            s->have_id = false;
            return DMP_EAUTH;
        }
    }
    return 0;
}

/* nameserver lines of /etc/resolv.conf (the system resolver the reference falls back to). */
static void add_system_resolvers(dmp_client_dns_t *d)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        char ip[128];
        if (sscanf(line, " nameserver %127s", ip) == 1) {
            if (strchr(ip, ':')) { /* bare IPv6: bracket it for the parser */
                char b[140];
                snprintf(b, sizeof(b), "[%s]", ip);
                (void)dmp_client_dns_add(d, b, 53);
            } else {
                (void)dmp_client_dns_add(d, ip, 53);
            }
        }
    }
    fclose(f);
}

int dmp_client_session_reader(dmp_client_session_t *s)
{
    if (s->dns.n)
        return 0;
    const dmp_client_config_t *c = &s->cfg;
    s->dns.dnssec = c->dnssec_required;
    if (c->n_resolvers) {
        for (size_t i = 0; i < c->n_resolvers; i++) {
            if (dmp_client_dns_add(&s->dns, c->dns_resolvers[i], 53)) {
                set_err(s, "invalid dns_resolvers entry %s", c->dns_resolvers[i]);
                return DMP_EINVAL;
            }
        }
        return 0;
    }
    /* legacy single host (timeouts 3 s / 6 s) or the system resolver */
    s->dns.timeout_ms = 3000;
    s->dns.lifetime_ms = 6000;
    if (c->dns_host_set && c->dns_host[0]) {
        if (dmp_client_dns_add(&s->dns, c->dns_host, (uint16_t)c->dns_port)) {
            set_err(s, "dns_host %s is not an IP address", c->dns_host);
            return DMP_EINVAL;
        }
        return 0;
    }
    add_system_resolvers(&s->dns);
    if (!s->dns.n) {
        set_err(s, "no DNS resolver: set dns_resolvers in config");
        return DMP_EINVAL;
    }
    return 0;
}

/* Bearer for one node: explicit token, else a saved token for its host. */
static void bearer_for(const dmp_client_session_t *s, const char *endpoint, const char *explicit_,
                       char *out, size_t cap)
{
    out[0] = 0;
    if (explicit_ && *explicit_) {
        snprintf(out, cap, "%s", explicit_);
        return;
    }
    char norm[512], host[256];
    if (dmp_client_endpoint_normalize(endpoint, norm, sizeof(norm)) == 0 &&
        dmp_client_endpoint_host(norm, host, sizeof(host)) == 0)
        (void)dmp_client_token_for_host(host, dmp_client_now(s), out, cap);
}

static unsigned env_conns(void)
{
    const char *e = getenv("DMP_HTTP_CONNECTIONS");
    int64_t v;
    if (e && dmp_parse_i64(e, 1, 64, &v) == 0)
        return (unsigned)v;
    /* the largest message is 256 writes, each acknowledged after the node's group commit, so
     * many in flight pay off; 16 = dnsmeshd's default connections per address
     * (DMP_HTTP_MAX_PER_IP = DMP_HTTP_MAX_CONCURRENCY / 4); the writer uses fewer when a node
     * refuses connections */
    return 16;
}

/* DMP_HTTP_BATCH: records per batch publish request (1 = one record a request, as the
 * reference's client sends them); default the node's cap */
static unsigned env_batch(void)
{
    const char *e = getenv("DMP_HTTP_BATCH");
    int64_t v;
    if (e && dmp_parse_i64(e, 1, DMP_CLIENT_HTTP_BATCH_MAX, &v) == 0)
        return (unsigned)v;
    return DMP_CLIENT_HTTP_BATCH_MAX;
}

/* TSIG block of config.yaml (client.md §5.9): zone, server (tsig_dns_server or the endpoint's
 * host), port, key name, hex secret, algorithm. */
static int tsig_writer(dmp_client_session_t *s)
{
    const dmp_client_config_t *c = &s->cfg;
    size_t hl = strlen(c->tsig_secret_hex);
    uint8_t key[150];
    if (hl % 2 || hl / 2 > sizeof(key) || dmp_hex_decode(c->tsig_secret_hex, hl, key, hl / 2)) {
        set_err(s, "tsig_secret_hex in config is not valid hex");
        return DMP_EINVAL;
    }
    if (!c->tsig_zone[0]) {
        set_err(s, "tsig_zone in config is empty — re-run `dnsmesh tsig register` to "
                   "repopulate the TSIG block");
        return DMP_EINVAL;
    }
    char host[DMP_CLIENT_STR] = "";
    if (c->tsig_dns_server[0])
        snprintf(host, sizeof(host), "%s", c->tsig_dns_server);
    else if (c->endpoint[0])
        (void)dmp_client_endpoint_host(c->endpoint, host, sizeof(host));
    if (!host[0]) {
        set_err(s, "could not resolve a DNS server for the TSIG writer — set `tsig_dns_server` "
                   "in config or pass --endpoint with a hostname");
        return DMP_EINVAL;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        set_err(s, "cannot resolve the TSIG DNS server %s", host);
        return DMP_EIO;
    }
    void *ad = res->ai_family == AF_INET
                   ? (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                   : (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, ad, s->tsig_ip, sizeof(s->tsig_ip));
    freeaddrinfo(res);
    s->tsig_port =
        (uint16_t)(c->tsig_dns_port > 0 && c->tsig_dns_port < 65536 ? c->tsig_dns_port : 53);
    dmp_b64_encode(key, hl / 2, s->tsig_b64, sizeof(s->tsig_b64));
    dmp_wipe(key, sizeof(key));
    snprintf(s->tsig_alg, sizeof(s->tsig_alg), "%s%s", c->tsig_algorithm,
             c->tsig_algorithm[strlen(c->tsig_algorithm) - 1] == '.' ? "" : ".");
    s->tsig = true;
    s->quorum = 1;
    return 0;
}

/* One signed UPDATE per record over UDP (TCP when truncated); NOERROR = written. */
static int tsig_publish(dmp_client_session_t *s, const dmp_client_record_t *recs, size_t n,
                        bool *ok, dmp_client_http_result_t *res)
{
    char kn[DMP_CLIENT_STR + 2];
    size_t kl = strlen(s->cfg.tsig_key_name);
    snprintf(kn, sizeof(kn), "%s%s", s->cfg.tsig_key_name,
             kl && s->cfg.tsig_key_name[kl - 1] == '.' ? "" : ".");
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = NULL;
        size_t ql = 0;
        int rcode = -1;
        int rc = dmp_client_update_build(s->cfg.tsig_zone, recs[i].name, recs[i].value,
                                         recs[i].value_len, recs[i].ttl, false, kn, s->tsig_b64,
                                         s->tsig_alg, &q, &ql);
        if (!rc)
            rc = dmp_client_update_send(s->tsig_ip, s->tsig_port, q, ql, 5000, &rcode);
        free(q);
        ok[i] = rc == 0 && rcode == 0;
        res[i].status = ok[i] ? 201 : 0;
        if (!ok[i])
            snprintf(res[i].error, sizeof(res[i].error), "DNS UPDATE %s",
                     rc           ? dmp_strerror(rc)
                     : rcode == 9 ? "NOTAUTH"
                     : rcode == 5 ? "REFUSED"
                                  : "failed");
    }
    return 0;
}

int dmp_client_session_writer(dmp_client_session_t *s)
{
    if (s->nhttp || s->tsig)
        return 0;
    const dmp_client_config_t *c = &s->cfg;
    if (s->cluster)
        return 0; /* dmp_client_cluster_open installed them */
    if (c->tsig_key_name[0] && c->tsig_secret_hex[0])
        return tsig_writer(s);
    if (!c->endpoint[0]) {
        set_err(s, "no endpoint in config: `dnsmesh init --endpoint URL` or edit config.yaml");
        return DMP_EINVAL;
    }
    char tok[512];
    bearer_for(s, c->endpoint, c->http_token_set ? c->http_token : NULL, tok, sizeof(tok));
    int rc = dmp_client_http_init(&s->http[0], c->endpoint, tok, env_conns());
    dmp_wipe(tok, sizeof(tok));
    if (rc) {
        set_err(s, "bad endpoint %s", c->endpoint);
        return rc;
    }
    s->http[0].batch_max = env_batch();
    s->nhttp = 1;
    s->quorum = 1;
    return 0;
}

/* Cluster mode (cluster.md §4): fetch and verify cluster.<base> with the pinned operator key,
 * then one HTTP writer per node (quorum ceil(n/2)) and a union reader over the nodes' DNS
 * endpoints (nodes without one are read through the resolver pool). */
int dmp_client_cluster_fetch(dmp_client_session_t *s, dmp_wire_cluster_t *m, char *wire,
                             size_t wcap)
{
    uint8_t op[32];
    const char *hx = s->cfg.cluster_operator_spk;
    if (strlen(hx) != 64 || dmp_hex_decode(hx, 64, op, 32)) {
        set_err(s, "cluster_operator_spk must be 32 bytes (64 hex chars)");
        return DMP_EINVAL;
    }
    int rc = dmp_client_session_reader(s);
    if (rc)
        return rc;
    char name[DMP_CLIENT_NAME_MAX];
    if (dmp_wire_name_cluster(s->cfg.cluster_base_domain, name, sizeof(name))) {
        set_err(s, "invalid cluster_base_domain %s", s->cfg.cluster_base_domain);
        return DMP_EINVAL;
    }
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    rc = dmp_client_dns_txt(&s->dns, name, &t);
    bool found = false;
    uint64_t best = 0;
    for (size_t i = 0; !rc && i < t.n; i++) {
        dmp_wire_cluster_t cand;
        if (dmp_wire_cluster_parse(t.v[i].data, t.v[i].len, op, dmp_client_now(s),
                                   s->cfg.cluster_base_domain, &cand))
            continue;
        if (!found || cand.seq > best) {
            *m = cand;
            best = cand.seq;
            found = true;
            if (wire && wcap > t.v[i].len) {
                memcpy(wire, t.v[i].data, t.v[i].len);
                wire[t.v[i].len] = 0;
            }
        }
    }
    dmp_client_txtset_free(&t);
    if (!found) {
        set_err(s,
                "cluster manifest fetch failed for %s. Check that `cluster.<base>` TXT is "
                "published, signed by the pinned operator key, and not expired.",
                s->cfg.cluster_base_domain);
        return DMP_ENOTFOUND;
    }
    return 0;
}

int dmp_client_cluster_open(dmp_client_session_t *s)
{
    dmp_wire_cluster_t *m = malloc(sizeof(*m));
    if (!m)
        return DMP_ENOMEM;
    int rc = dmp_client_cluster_fetch(s, m, NULL, 0);
    if (rc) {
        free(m);
        return rc;
    }
    if (m->n_nodes == 0) { /* a 0-node manifest would make every write vacuously succeed */
        set_err(s, "cluster manifest for %s lists no nodes", s->cfg.cluster_base_domain);
        free(m);
        return DMP_EINVAL;
    }
    s->cluster = true;
    s->cluster_dns.union_all = true;
    s->cluster_dns.timeout_ms = 3000;
    s->cluster_dns.lifetime_ms = 5000;
    s->cluster_dns.dnssec = s->cfg.dnssec_required;
    const char *tok = s->cfg.cluster_node_token[0] ? s->cfg.cluster_node_token
                      : s->cfg.http_token_set      ? s->cfg.http_token
                                                   : NULL;
    for (size_t i = 0; i < m->n_nodes && s->nhttp < DMP_CLIENT_MAX_WRITERS; i++) {
        char b[512];
        bearer_for(s, m->nodes[i].http_endpoint, tok, b, sizeof(b));
        if (dmp_client_http_init(&s->http[s->nhttp], m->nodes[i].http_endpoint, b, env_conns()) ==
            0) {
            s->http[s->nhttp].max_transport_retries = 1;
            s->http[s->nhttp].batch_max = env_batch();
            s->nhttp++;
        }
        dmp_wipe(b, sizeof(b));
        if (m->nodes[i].dns_endpoint_len)
            (void)dmp_client_dns_add(&s->cluster_dns, m->nodes[i].dns_endpoint, 53);
    }
    s->quorum = (unsigned)((m->n_nodes + 1) / 2);
    free(m);
    return 0;
}

/* Opens the network side a command needs: the reader, and the writers when write is set. */
int dmp_client_session_net(dmp_client_session_t *s, bool write)
{
    int rc = dmp_client_session_reader(s);
    if (rc)
        return rc;
    if (s->cfg.cluster_enabled && dmp_client_cluster_pinned(&s->cfg) && !s->cluster) {
        if ((rc = dmp_client_cluster_open(s)))
            return rc;
    }
    return write ? dmp_client_session_writer(s) : 0;
}

/* Reads name: cluster names through the union reader (when it has DNS endpoints), everything
 * else through the resolver pool (the reference's CompositeReader). */
int dmp_client_query(dmp_client_session_t *s, const char *name, dmp_client_txtset_t *out)
{
    dmp_client_dns_t *d = &s->dns;
    if (s->cluster && s->cluster_dns.n && s->cluster_reads_all)
        return dmp_client_dns_txt(&s->cluster_dns, name, out);
    if (s->cluster && s->cluster_dns.n) {
        size_t nl = strlen(name), bl = strlen(s->cfg.cluster_base_domain);
        while (bl && s->cfg.cluster_base_domain[bl - 1] == '.')
            bl--;
        while (nl && name[nl - 1] == '.')
            nl--;
        if (bl && (nl == bl || (nl > bl && name[nl - bl - 1] == '.')) &&
            strncasecmp(name + nl - bl, s->cfg.cluster_base_domain, bl) == 0)
            d = &s->cluster_dns;
    }
    return dmp_client_dns_txt(d, name, out);
}

int dmp_client_session_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n)
{
    dmp_client_session_t *s = ctx;
    int rc = dmp_client_query(s, name, &s->dns.last);
    if (rc == DMP_EIO)
        return DMP_EIO;
    if (rc || !s->dns.last.n)
        return DMP_ENOTFOUND;
    *vals = s->dns.last.v;
    *n = s->dns.last.n;
    return 0;
}

/* Publishes every record through every writer; ok[i] is set when recs[i] reached the quorum.
 * res[i] keeps the first failure seen for recs[i] (for the one-line reason). */
int dmp_client_publish(dmp_client_session_t *s, const dmp_client_record_t *recs, size_t n, bool *ok,
                       dmp_client_http_result_t *res)
{
    if (s->tsig) /* a TSIG key bypasses the fan-out, as the reference does */
        return tsig_publish(s, recs, n, ok, res);
    if (!s->nhttp)
        return DMP_EINVAL;
    unsigned *good = calloc(n ? n : 1, sizeof(*good));
    dmp_client_http_result_t *tmp = calloc(n ? n : 1, sizeof(*tmp));
    if (!good || !tmp) {
        free(good);
        free(tmp);
        return DMP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        res[i] = (dmp_client_http_result_t){.status = 201};
    int rc = 0;
    for (size_t w = 0; w < s->nhttp && !rc; w++) {
        rc = dmp_client_http_publish(&s->http[w], recs, n, tmp);
        for (size_t i = 0; i < n && !rc; i++) {
            if (tmp[i].status == 201)
                good[i]++;
            else if (res[i].status == 201)
                res[i] = tmp[i];
        }
    }
    for (size_t i = 0; i < n; i++)
        ok[i] = !rc && good[i] >= s->quorum;
    free(good);
    free(tmp);
    return rc;
}

int dmp_client_publish_one(dmp_client_session_t *s, const char *name, const char *value,
                           uint32_t ttl, dmp_client_http_result_t *res)
{
    dmp_client_record_t r = {.value = (char *)value, .value_len = strlen(value), .ttl = ttl};
    if (strlen(name) >= sizeof(r.name))
        return DMP_ENAME;
    strcpy(r.name, name);
    bool ok = false;
    int rc = dmp_client_publish(s, &r, 1, &ok, res);
    return rc ? rc : ok ? 0 : DMP_EIO;
}

/* Best-effort delete of one value on every writer; 0 when the quorum confirmed. */
int dmp_client_delete(dmp_client_session_t *s, const char *name, const char *value)
{
    if (s->tsig) {
        uint8_t *q = NULL;
        size_t ql = 0;
        int rcode = -1;
        char kn[DMP_CLIENT_STR + 2];
        size_t kl = strlen(s->cfg.tsig_key_name);
        snprintf(kn, sizeof(kn), "%s%s", s->cfg.tsig_key_name,
                 kl && s->cfg.tsig_key_name[kl - 1] == '.' ? "" : ".");
        int rc = dmp_client_update_build(s->cfg.tsig_zone, name, value, strlen(value), 0, true, kn,
                                         s->tsig_b64, s->tsig_alg, &q, &ql);
        if (!rc)
            rc = dmp_client_update_send(s->tsig_ip, s->tsig_port, q, ql, 5000, &rcode);
        free(q);
        return rc ? rc : rcode == 0 ? 0 : DMP_EIO;
    }
    unsigned good = 0;
    for (size_t w = 0; w < s->nhttp; w++) {
        dmp_client_http_result_t r;
        if (dmp_client_http_delete(&s->http[w], name, value, &r) == 0 &&
            (r.status == 204 || r.status == 404))
            good++;
    }
    return s->nhttp && good >= s->quorum ? 0 : DMP_EIO;
}

int dmp_client_session_dbs(dmp_client_session_t *s)
{
    char p[DMP_CLIENT_PATH];
    int rc;
    if (!s->prekeys) {
        if ((rc = dmp_client_home_path("prekeys.db", p, sizeof(p))) ||
            (rc = dmp_client_prekeys_open(p, &s->prekeys))) {
            set_err(s,
                    rc == DMP_EVERSION ? "prekeys.db was written by a newer client"
                                       : "cannot open prekeys.db in %s",
                    s->home);
            return rc;
        }
    }
    if (!s->intros) {
        if ((rc = dmp_client_home_path("intros.db", p, sizeof(p))) ||
            (rc = dmp_client_intros_open(p, &s->intros))) {
            set_err(s,
                    rc == DMP_EVERSION ? "intros.db was written by a newer client"
                                       : "cannot open intros.db in %s",
                    s->home);
            return rc;
        }
    }
    if (!s->replay_loaded) {
        if ((rc = dmp_client_home_path("replay_cache.json", p, sizeof(p))) ||
            (rc = dmp_client_replay_load(&s->replay, p, dmp_client_now(s))))
            return rc;
        s->replay_loaded = true;
    }
    return 0;
}
