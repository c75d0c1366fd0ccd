/* dnsmesh init (client.md §6.3): writes config.yaml with a fresh kdf_salt. */
#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dnsmesh.h"
#include "util/util.h"

/* host -> an IP literal (first getaddrinfo answer), in out. */
static int host_ip(const char *host, char *out, size_t cap)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1) {
        snprintf(out, cap, "%s", host);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -1;
    void *a = res->ai_family == AF_INET ? (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
                                        : (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    inet_ntop(res->ai_family, a, out, (socklen_t)cap);
    freeaddrinfo(res);
    return 0;
}

/* A DMP node REFUSES (5) or answers NOTAUTH (9) to an un-TSIG'd non-claim UPDATE. */
bool dn_dmp_dns_at(const char *host, uint16_t port, int timeout_ms)
{
    char ip[INET6_ADDRSTRLEN], name[300];
    if (host_ip(host, ip, sizeof(ip)))
        return false;
    snprintf(name, sizeof(name), "_dmp-probe.%s", host);
    size_t hl = strlen(name);
    while (hl && name[hl - 1] == '.')
        name[--hl] = 0;
    uint8_t *q = NULL;
    size_t ql = 0;
    if (dmp_client_update_build(host, name, "v=dmp1;t=probe", 14, 60, false, NULL, NULL, NULL, &q,
                                &ql))
        return false;
    int rcode = -1;
    int rc = dmp_client_update_send(ip, port, q, ql, timeout_ms, &rcode);
    free(q);
    return rc == 0 && (rcode == 5 || rcode == 9);
}

/* "a,b" -> canonical entries (bare IP, ip:port, [v6]:port); 0 or -1 with the bad entry. */
static int parse_resolvers(const char *list, dmp_client_config_t *c, char *bad, size_t bcap)
{
    char *dup = strdup(list);
    if (!dup)
        return -1;
    int rc = 0;
    for (char *save = NULL, *tok = strtok_r(dup, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        const uint8_t *p = (const uint8_t *)tok;
        size_t n = strlen(tok);
        dmp_py_strip(&p, &n);
        if (!n)
            continue;
        char one[96], host[64], canon[96];
        snprintf(one, sizeof(one), "%.*s", (int)n, (const char *)p);
        uint16_t port = 0;
        if (dmp_client_resolver_parse(one, 0, host, sizeof(host), &port)) {
            snprintf(bad, bcap, "%s", one);
            rc = -1;
            break;
        }
        if (!port)
            snprintf(canon, sizeof(canon), "%s", host);
        else if (strchr(host, ':'))
            snprintf(canon, sizeof(canon), "[%s]:%u", host, port);
        else
            snprintf(canon, sizeof(canon), "%s:%u", host, port);
        if (dmp_client_config_add_resolver(c, canon)) {
            rc = -1;
            break;
        }
    }
    free(dup);
    return rc;
}

int cmd_init(int argc, char **argv)
{
    static const dn_opt_t o[] = {
        {"--domain", true, "mesh.local"},
        {"--endpoint", true, NULL},
        {"--http-token", true, NULL},
        {"--dns-host", true, NULL},
        {"--dns-port", true, "5353"},
        {"--dns-resolvers", true, ""},
        {"--no-default-resolvers", false, NULL},
        {"--identity-domain", true, ""},
        {"--force", false, NULL},
        {"--no-probe-local-dns", false, NULL},
        {"--allow-tofu", false, NULL},
        {"--require-dnssec", false, NULL},
    };
    enum {
        DOMAIN,
        ENDPOINT,
        TOKEN,
        DNSHOST,
        DNSPORT,
        RESOLVERS,
        NODEF,
        IDDOM,
        FORCE,
        NOPROBE,
        TOFU,
        DNSSEC
    };
    dn_args_t a;
    dn_parse("init",
             "USERNAME [--domain D] [--endpoint URL] [--http-token T] [--dns-host H] "
             "[--dns-port P] [--dns-resolvers LIST] [--no-default-resolvers] "
             "[--identity-domain ZONE] [--force] [--no-probe-local-dns] [--allow-tofu] "
             "[--require-dnssec]",
             argc, argv, o, sizeof(o) / sizeof(o[0]), 1, 1, &a);
    char path[DMP_CLIENT_PATH];
    if (dmp_client_home_path("config.yaml", path, sizeof(path)))
        dn_die(1, "cannot locate the config home (set DMP_CONFIG_HOME or HOME)");
    struct stat st;
    if (stat(path, &st) == 0 && !a.set[FORCE])
        dn_die(1, "config already exists at %s (use --force to overwrite)", path);
    dmp_client_config_t c;
    dmp_client_config_defaults(&c);
    const char *username = a.pos[0];
    const char *domain = a.val[DOMAIN];
    char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    const char *at = strchr(username, '@');
    if (at) {
        snprintf(user, sizeof(user), "%.*s", (int)(at - username), username);
        snprintf(host, sizeof(host), "%s", at + 1);
        if (!user[0] || !host[0])
            dn_die(1, "both user and host must be non-empty in '%s'", username);
        username = user;
        if (!domain[0] || strcmp(domain, "mesh.local") == 0)
            domain = host;
    }
    if (strlen(username) >= sizeof(c.username) || strlen(domain) >= sizeof(c.domain))
        dn_die(1, "username or domain too long");
    strcpy(c.username, username);
    strcpy(c.domain, domain);
    char bad[96];
    if (a.val[RESOLVERS][0]) {
        if (parse_resolvers(a.val[RESOLVERS], &c, bad, sizeof(bad)))
            dn_die(1, "invalid --dns-resolvers: not an IP address (optionally with :port): %s",
                   bad);
    } else if (!a.set[NODEF]) {
        dmp_client_config_add_resolver(&c, "1.1.1.1");
        dmp_client_config_add_resolver(&c, "8.8.8.8");
    }
    if (a.val[ENDPOINT] && a.val[ENDPOINT][0] &&
        dmp_client_endpoint_normalize(a.val[ENDPOINT], c.endpoint, sizeof(c.endpoint)))
        dn_die(1, "invalid --endpoint %s", a.val[ENDPOINT]);
    if (a.val[TOKEN]) {
        snprintf(c.http_token, sizeof(c.http_token), "%s", a.val[TOKEN]);
        c.http_token_set = true;
    }
    if (a.val[DNSHOST]) {
        snprintf(c.dns_host, sizeof(c.dns_host), "%s", a.val[DNSHOST]);
        c.dns_host_set = true;
    }
    c.dns_port = dn_int(&a, o, DNSPORT, 0, 65535);
    uint8_t salt[32];
    randombytes_buf(salt, sizeof(salt));
    dmp_hex_encode(salt, 32, c.kdf_salt, sizeof(c.kdf_salt));
    const uint8_t *idp = (const uint8_t *)a.val[IDDOM];
    size_t idn = strlen(a.val[IDDOM]);
    dmp_py_strip(&idp, &idn);
    snprintf(c.identity_domain, sizeof(c.identity_domain), "%.*s", (int)idn, (const char *)idp);
    c.allow_tofu = a.set[TOFU];
    c.dnssec_required = a.set[DNSSEC];
    if (c.endpoint[0] && !a.set[NOPROBE]) {
        char eh[256];
        if (dmp_client_endpoint_host(c.endpoint, eh, sizeof(eh)) == 0) {
            const uint16_t ports[] = {5353, 53};
            for (size_t i = 0; i < 2; i++) {
                if (dn_dmp_dns_at(eh, ports[i], 1500)) {
                    snprintf(c.local_node_dns_server, sizeof(c.local_node_dns_server), "%s", eh);
                    c.local_node_dns_port = ports[i];
                    printf("  probed local DNS endpoint: %s:%u\n", eh, ports[i]);
                    break;
                }
            }
        }
    }
    if (dmp_client_config_save(path, &c))
        dn_die(1, "cannot write %s", path);
    printf("wrote config to %s\n", path);
    if (c.endpoint[0] && !c.local_node_dns_server[0])
        fprintf(stderr,
                "  hint: could not auto-probe local DNS endpoint. Same-zone M10 phase-1 "
                "publishes will fall back to the endpoint host. Run `dnsmesh doctor` after first "
                "send to verify, or set local_node_dns_server / local_node_dns_port manually.\n");
    printf("Next: set DMP_PASSPHRASE or create a passphrase file, then `dnsmesh identity show`.\n"
           "Keep this config file. If you lose the kdf_salt you cannot recover this identity "
           "even with the passphrase.\n");
    dmp_client_config_free(&c);
    return 0;
}
