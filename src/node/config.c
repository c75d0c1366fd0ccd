/* node: configuration from environment variables and command-line flags (flags win). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "node/node.h"
#include "util/util.h"

/* The served-zone chain (first non-empty wins) uses these knobs in this order. */
#define ZONE_CHAIN_FIRST K_SERVED_ZONE
enum {
    K_DB_PATH,
    K_DNS_HOST,
    K_DNS_PORT,
    K_HTTP_HOST,
    K_HTTP_PORT,
    K_DNS_TTL,
    K_DNS_RATE,
    K_DNS_BURST,
    K_DNS_MAX_CONC,
    K_HTTP_RATE,
    K_HTTP_BURST,
    K_HTTP_MAX_CONC,
    K_MAX_TTL,
    K_MAX_VALUE_BYTES,
    K_MAX_VALUES,
    K_OPERATOR_TOKEN,
    K_AUTH_MODE,
    K_ALLOW_OPEN,
    K_SERVED_ZONE,
    K_CLAIM_PROVIDER_ZONE,
    K_CLUSTER_BASE_DOMAIN,
    K_DOMAIN,
    K_NODE_HOSTNAME,
    K_APEX_A,
    K_APEX_AAAA,
    K_APEX_NS,
    K_APEX_RNAME,
    K_CLEANUP,
    K_LOG_LEVEL,
    K_LOG_FORMAT,
    K_FRONTENDS,
    K_SHARDS,
    K_CACHE_MB,
    K_RING_SIZE,
    K_PORTS_FILE,
    K_RRL_RATE,
    K_RRL_SLIP,
    K_RRL_V4,
    K_RRL_V6,
    K_RRL_WHITELIST,
    K_RRL_TABLE,
    K_NSID,
    K_COOKIES,
    K_COOKIE_REQUIRE,
    K_COOKIE_SECRET,
    K_COOKIE_ROTATE,
    K_USER,
    K_CONFIG_FILE,
    K_HTTP_HEADER_TO,
    K_HTTP_BODY_TO,
    K_HTTP_PER_IP,
    K_SHUTDOWN_TO,
    K_REG_ENABLED,
    K_REG_ALLOWLIST,
    K_REG_TOKEN_TTL,
    K_REG_ISSUED_RATE,
    K_REG_ISSUED_BURST,
    K_REG_EP_RATE,
    K_REG_EP_BURST,
    K_SYNC_PEERS,
    K_SYNC_TOKEN,
    K_SYNC_INTERVAL,
    K_SYNC_SPK,
    K_SYNC_SELF,
    K_NODE_ID,
    K_XFR_ALLOW,
    K_NOTIFY,
    K_HB_ENABLED,
    K_HB_SELF,
    K_HB_KEY,
    K_HB_SEEN_MAX,
    K_HB_SEEDS,
    K_HB_INTERVAL,
    K_HB_TTL,
    K_HB_MAX_PEERS,
    K_HB_VERSION,
    K_HB_SEED_URLS,
    K_HB_SEED_URLS_OFF,
    K_HB_RESOLVERS,
    K_HB_DNSSEC,
    K_HB_SEED_LOCAL,
    K_COUNT
};

static const dmp_node_knob_t knobs[K_COUNT] = {
    [K_DB_PATH] = {"DMP_DB_PATH", NULL, "db-path", "/var/lib/dmp/dmp.db",
                   "RocksDB store directory (created, with its parent, if missing)", false},
    [K_DNS_HOST] = {"DMP_DNS_HOST", NULL, "dns-host", "0.0.0.0",
                    "DNS bind address, IPv4 or IPv6 literal (:: = all, dual-stack)", false},
    [K_DNS_PORT] = {"DMP_DNS_PORT", NULL, "dns-port", "5353",
                    "DNS UDP and TCP port; 0 = ephemeral (printed at start)", false},
    [K_HTTP_HOST] = {"DMP_HTTP_HOST", NULL, "http-host", "0.0.0.0",
                     "HTTP API bind address, IPv4 or IPv6 literal", false},
    [K_HTTP_PORT] = {"DMP_HTTP_PORT", NULL, "http-port", "8053",
                     "HTTP API port; 0 = ephemeral (printed at start)", false},
    [K_DNS_TTL] = {"DMP_DNS_TTL", NULL, "dns-ttl", "60",
                   "TTL on every DNS answer RR and the SOA MINIMUM (s)", false},
    [K_DNS_RATE] = {"DMP_DNS_RATE", NULL, "dns-rate", "0",
                    "per-source DNS query token bucket as the reference's (queries/s; the "
                    "reference's default is 50); 0 = off, RRL protects instead",
                    false},
    [K_DNS_BURST] = {"DMP_DNS_BURST", NULL, "dns-burst", "200",
                     "per-source DNS bucket size; 0 disables", false},
    [K_DNS_MAX_CONC] = {"DMP_DNS_MAX_CONCURRENCY", NULL, "dns-max-concurrency", "128",
                        "DNS TCP connections open at once = max(8 x this, 256)", false},
    [K_HTTP_RATE] = {"DMP_HTTP_RATE", NULL, "http-rate", "10",
                     "per-IP request rate on /v1/records/* (req/s); 0 disables", false},
    [K_HTTP_BURST] = {"DMP_HTTP_BURST", NULL, "http-burst", "300",
                      "per-IP bucket size for /v1/records/*; 0 disables", false},
    [K_HTTP_MAX_CONC] = {"DMP_HTTP_MAX_CONCURRENCY", NULL, "http-max-concurrency", "64",
                         "HTTP connections open at once; more are refused", false},
    [K_MAX_TTL] = {"DMP_MAX_TTL", NULL, "max-ttl", "86400", "largest TTL a publish may ask (s)",
                   false},
    [K_MAX_VALUE_BYTES] = {"DMP_MAX_VALUE_BYTES", NULL, "max-value-bytes", "12288",
                           "largest TXT value in UTF-8 bytes", false},
    [K_MAX_VALUES] = {"DMP_MAX_VALUES_PER_NAME", NULL, "max-values-per-name", "64",
                      "most live values one name may hold; 0 = no cap", false},
    [K_OPERATOR_TOKEN] = {"DMP_OPERATOR_TOKEN", "DMP_HTTP_TOKEN", "operator-token", NULL,
                          "operator bearer token (alias DMP_HTTP_TOKEN); guards writes, "
                          "/metrics and record reads",
                          false},
    [K_AUTH_MODE] = {"DMP_AUTH_MODE", NULL, "auth-mode", NULL,
                     "open | legacy | multi-tenant; unset = open without a token, legacy with "
                     "one",
                     false},
    [K_ALLOW_OPEN] = {"DMP_ALLOW_OPEN_PUBLIC_BIND", NULL, "allow-open-public-bind", "0",
                      "allow auth mode open on a non-loopback HTTP bind", true},
    [K_SERVED_ZONE] = {"DMP_SERVED_ZONE", NULL, "served-zone", NULL,
                       "served zone (apex); else the first of the next four variables", false},
    [K_CLAIM_PROVIDER_ZONE] = {"DMP_CLAIM_PROVIDER_ZONE", NULL, NULL, NULL,
                               "served zone, 2nd in the chain", false},
    [K_CLUSTER_BASE_DOMAIN] = {"DMP_CLUSTER_BASE_DOMAIN", NULL, NULL, NULL,
                               "served zone, 3rd in the chain", false},
    [K_DOMAIN] = {"DMP_DOMAIN", NULL, NULL, NULL, "served zone, 4th in the chain", false},
    [K_NODE_HOSTNAME] = {"DMP_NODE_HOSTNAME", NULL, "node-hostname", NULL,
                         "this node's hostname: served zone (5th in the chain) and the 'node' "
                         "string registration challenges are signed over",
                         false},
    [K_APEX_A] = {"DMP_DNS_APEX_A", NULL, "apex-a", NULL, "IPv4 answered for <zone> A", false},
    [K_APEX_AAAA] = {"DMP_DNS_APEX_AAAA", NULL, "apex-aaaa", NULL, "IPv6 answered for <zone> AAAA",
                     false},
    [K_APEX_NS] = {"DMP_DNS_APEX_NS", NULL, "apex-ns", NULL,
                   "NS target at the apex; also the SOA MNAME", false},
    [K_APEX_RNAME] = {"DMP_DNS_APEX_SOA_RNAME", NULL, "apex-soa-rname", NULL,
                      "SOA RNAME; the SOA exists when NS and RNAME are both set", false},
    [K_CLEANUP] = {"DMP_CLEANUP_INTERVAL", NULL, "cleanup-interval", "60",
                   "seconds between sweeps of expired records (> 0)", false},
    [K_LOG_LEVEL] = {"DMP_LOG_LEVEL", NULL, "log-level", "info", "debug | info | warning | error",
                     false},
    [K_LOG_FORMAT] = {"DMP_LOG_FORMAT", NULL, "log-format", "text", "text | json", false},
    [K_FRONTENDS] = {"DMP_FRONTENDS", NULL, "frontends", "0",
                     "io_uring frontend threads; 0 = half the CPUs (at least 1)", false},
    [K_SHARDS] = {"DMP_SHARDS", NULL, "shards", "0",
                  "shard worker threads; 0 = half the CPUs (at least 1)", false},
    [K_CACHE_MB] = {"DMP_CACHE_MB", NULL, "cache-mb", "64",
                    "answer cache size over all shards (MiB); 0 = off", false},
    [K_RING_SIZE] = {"DMP_RING_SIZE", NULL, "ring-size", "4096",
                     "entries per frontend<->shard ring (power of two)", false},
    [K_PORTS_FILE] = {"DMP_PORTS_FILE", NULL, "ports-file", NULL,
                      "write the bound ports here once listening (dns=H:P http=H:P)", false},
    [K_RRL_RATE] = {"DMP_RRL_RATE", NULL, "rrl-rate", "200",
                    "response rate limit: identical UDP responses/s per source prefix (as "
                    "Knot mod-rrl / NSD rrl-ratelimit); 0 = off",
                    false},
    [K_RRL_SLIP] = {"DMP_RRL_SLIP", NULL, "rrl-slip", "2",
                    "every Nth rate-limited response is sent truncated (TC=1); 0 = drop all",
                    false},
    [K_RRL_V4] = {"DMP_RRL_IPV4_PREFIX", NULL, "rrl-ipv4-prefix", "24",
                  "IPv4 prefix length sharing one RRL bucket (1..32)", false},
    [K_RRL_V6] = {"DMP_RRL_IPV6_PREFIX", NULL, "rrl-ipv6-prefix", "56",
                  "IPv6 prefix length sharing one RRL bucket (1..128)", false},
    [K_RRL_WHITELIST] = {"DMP_RRL_WHITELIST", NULL, "rrl-whitelist", NULL,
                         "addresses/prefixes never rate limited (comma separated CIDRs)", false},
    [K_RRL_TABLE] = {"DMP_RRL_TABLE_SIZE", NULL, "rrl-table-size", "65536",
                     "RRL buckets per shard (memory bound: 24 bytes each)", false},
    [K_NSID] = {"DMP_NSID", NULL, "nsid", NULL,
                "NSID (RFC 5001) answered to queries that ask; text, or 0x-prefixed hex", false},
    [K_COOKIES] = {"DMP_COOKIES", NULL, "cookies", "1",
                   "answer DNS Cookies (RFC 7873, server cookies as RFC 9018)", true},
    [K_COOKIE_REQUIRE] = {"DMP_COOKIE_REQUIRE", NULL, "cookie-require", "0",
                          "answer BADCOOKIE to UDP queries that carry a client cookie but no "
                          "valid server cookie",
                          true},
    [K_COOKIE_SECRET] = {"DMP_COOKIE_SECRET", NULL, "cookie-secret", NULL,
                         "64 hex digits: cookie master key, shared by anycast siblings; unset = "
                         "random per start",
                         false},
    [K_COOKIE_ROTATE] = {"DMP_COOKIE_ROTATE", NULL, "cookie-rotate", "86400",
                         "seconds each cookie secret is used (the previous one stays accepted; "
                         ">= 3600)",
                         false},
    [K_USER] = {"DMP_USER", NULL, "user", NULL,
                "started as root: drop to this user after binding the listeners", false},
    [K_CONFIG_FILE] = {"DMP_CONFIG_FILE", NULL, NULL, NULL,
                       "KEY=VALUE file read at start and again on SIGHUP; its values win over "
                       "the environment",
                       false},
    [K_HTTP_HEADER_TO] = {"DMP_HTTP_HEADER_TIMEOUT", NULL, "http-header-timeout", "5",
                          "seconds a client has to send a request's headers (also closes idle "
                          "keep-alive connections); then 408 and close",
                          false},
    [K_HTTP_BODY_TO] = {"DMP_HTTP_BODY_TIMEOUT", NULL, "http-body-timeout", "5",
                        "seconds a client has to send a request body once the headers are in; "
                        "then 408 and close",
                        false},
    [K_HTTP_PER_IP] = {"DMP_HTTP_MAX_PER_IP", NULL, "http-max-per-ip", "0",
                       "HTTP connections open at once from one address; 0 = a quarter of "
                       "DMP_HTTP_MAX_CONCURRENCY (at least 2)",
                       false},
    [K_SHUTDOWN_TO] = {"DMP_SHUTDOWN_TIMEOUT", NULL, "shutdown-timeout", "25",
                       "seconds SIGTERM waits for writes in flight to become durable; those "
                       "still waiting are then answered 503",
                       false},
    [K_REG_ENABLED] = {"DMP_REGISTRATION_ENABLED", NULL, "registration-enabled", "0",
                       "self-service registration (needs multi-tenant and DMP_NODE_HOSTNAME)",
                       true},
    [K_REG_ALLOWLIST] = {"DMP_REGISTRATION_ALLOWLIST", NULL, "registration-allowlist", NULL,
                         "comma list of subject domains allowed to register; unset = any", false},
    [K_REG_TOKEN_TTL] = {"DMP_REGISTRATION_TOKEN_TTL_SECONDS", NULL, "registration-token-ttl",
                         "7776000", "lifetime of self-service tokens (s); 0 = no expiry", false},
    [K_REG_ISSUED_RATE] = {"DMP_REGISTRATION_ISSUED_RATE_PER_SEC", NULL, "registration-issued-rate",
                           "10", "per-token write rate stamped on self-service tokens", false},
    [K_REG_ISSUED_BURST] = {"DMP_REGISTRATION_ISSUED_RATE_BURST", NULL, "registration-issued-burst",
                            "50", "per-token burst stamped on self-service tokens", false},
    [K_REG_EP_RATE] = {"DMP_REGISTRATION_ENDPOINT_RATE_PER_SEC", NULL, "registration-rate",
                       "0.001388888888888889",
                       "per-IP request rate on /v1/registration/* (req/s; default 5/hour)", false},
    [K_REG_EP_BURST] = {"DMP_REGISTRATION_ENDPOINT_RATE_BURST", NULL, "registration-burst", "5",
                        "per-IP bucket size on /v1/registration/*", false},
    [K_SYNC_PEERS] = {"DMP_SYNC_PEERS", NULL, "sync-peers", NULL,
                      "anti-entropy peers: comma-separated base URLs (http://host:port)", false},
    [K_SYNC_TOKEN] = {"DMP_SYNC_PEER_TOKEN", NULL, "sync-peer-token", NULL,
                      "shared bearer token of the /v1/sync/* routes; unset = they answer 403",
                      false},
    [K_SYNC_INTERVAL] = {"DMP_SYNC_INTERVAL", "DMP_SYNC_INTERVAL_SECONDS", "sync-interval", "10",
                         "seconds between anti-entropy rounds (one peer per round) (> 0)", false},
    [K_SYNC_SPK] = {"DMP_SYNC_OPERATOR_SPK", NULL, "sync-operator-spk", NULL,
                    "operator Ed25519 key (64 hex): verifies cluster manifests; with "
                    "DMP_CLUSTER_BASE_DOMAIN enables manifest gossip",
                    false},
    [K_SYNC_SELF] = {"DMP_SYNC_SELF_ENDPOINT", NULL, "sync-self-endpoint", NULL,
                     "this node's own base URL, never synced with", false},
    [K_NODE_ID] = {"DMP_NODE_ID", NULL, "node-id", NULL,
                   "this node's id in the cluster manifest, never synced with", false},
    [K_XFR_ALLOW] = {"DMP_XFR_ALLOW", NULL, "xfr-allow", NULL,
                     "AXFR/IXFR of the served zone over TCP to these comma-separated addresses "
                     "or CIDRs, each optionally =TSIGKEY (then only signed by that key); "
                     "everyone else gets REFUSED (needs the apex NS and SOA)",
                     false},
    [K_NOTIFY] = {"DMP_NOTIFY", NULL, "notify", NULL,
                  "send NOTIFY (RFC 1996) to these comma-separated host:port when the zone "
                  "serial moves (at most once a second)",
                  false},
    [K_HB_ENABLED] = {"DMP_HEARTBEAT_ENABLED", NULL, "heartbeat-enabled", "0",
                      "publish a signed heartbeat and harvest peers' (docs/node.md Heartbeat)",
                      true},
    [K_HB_SELF] = {"DMP_HEARTBEAT_SELF_ENDPOINT", NULL, "heartbeat-self-endpoint", NULL,
                   "this node's public URL in its heartbeat (https://host[:port], no path); "
                   "required by heartbeat",
                   false},
    [K_HB_KEY] = {"DMP_HEARTBEAT_OPERATOR_KEY_PATH", NULL, "heartbeat-operator-key-path", NULL,
                  "file with the operator Ed25519 seed (32 raw bytes or 64 hex) signing the "
                  "heartbeat; required by heartbeat",
                  false},
    [K_HB_SEEN_MAX] = {"DMP_HEARTBEAT_SEEN_MAX_ROWS", NULL, "heartbeat-seen-max-rows", "10000",
                       "peers' heartbeats kept (oldest received dropped first)", false},
    [K_HB_SEEDS] = {"DMP_HEARTBEAT_SEEDS", NULL, "heartbeat-seeds", NULL,
                    "comma list of seed zones (hostnames or URLs) harvested first", false},
    [K_HB_INTERVAL] = {"DMP_HEARTBEAT_INTERVAL_SECONDS", NULL, "heartbeat-interval", "300",
                       "seconds between heartbeat ticks (first tick at start)", false},
    [K_HB_TTL] = {"DMP_HEARTBEAT_TTL_SECONDS", NULL, "heartbeat-ttl", "86400",
                  "lifetime of our heartbeat (exp - ts) and TTL of the published TXT records",
                  false},
    [K_HB_MAX_PEERS] = {"DMP_HEARTBEAT_MAX_PEERS", NULL, "heartbeat-max-peers", "25",
                        "zones harvested per tick", false},
    [K_HB_VERSION] = {"DMP_HEARTBEAT_VERSION", NULL, "heartbeat-version", NULL,
                      "version string in the heartbeat (<= 32 ASCII; default the node's)", false},
    [K_HB_SEED_URLS] = {"DMP_HEARTBEAT_PUBLIC_SEED_URLS", NULL, "heartbeat-public-seed-urls",
                        "https://raw.githubusercontent.com/oscarvalenzuelab/DNSMeshProtocol/main/"
                        "directory/seeds.txt",
                        "comma list of https URLs of seed-zone lists (refreshed every 6 h)", false},
    [K_HB_SEED_URLS_OFF] = {"DMP_HEARTBEAT_PUBLIC_SEED_URLS_DISABLED", NULL,
                            "heartbeat-public-seed-urls-disabled", "0",
                            "do not fetch the public seed lists", true},
    [K_HB_RESOLVERS] = {"DMP_HEARTBEAT_DNS_RESOLVERS", NULL, "heartbeat-dns-resolvers", NULL,
                        "comma list of ip or ip:port resolvers for harvest queries; unset = "
                        "/etc/resolv.conf",
                        false},
    [K_HB_DNSSEC] = {"DMP_HEARTBEAT_DNSSEC_REQUIRED", NULL, "heartbeat-dnssec-required", "0",
                     "drop harvest answers without the AD bit", true},
    [K_HB_SEED_LOCAL] = {"DMP_HEARTBEAT_SEED_URLS_ALLOW_LOCAL", NULL,
                         "heartbeat-seed-urls-allow-local", "0",
                         "tests only: let seed URLs be http:// and loopback/private addresses",
                         true},
};

const dmp_node_knob_t *dmp_node_knobs(size_t *n)
{
    *n = K_COUNT;
    return knobs;
}

static int fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errcap, const char *fmt, ...)
{
    if (err && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return DMP_NODE_ECONFIG;
}

/* "DMP_X" or "--x (DMP_X)" depending on where the value came from. */
static void origin(char *o, size_t cap, int k, bool from_flag)
{
    if (from_flag)
        snprintf(o, cap, "--%s (%s)", knobs[k].flag, knobs[k].env);
    else
        snprintf(o, cap, "%s", knobs[k].env);
}

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

bool dmp_node_host_is_loopback(const char *host)
{
    if (!host)
        return false;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

static bool valid_host(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(h, "localhost") == 0)
        return true;
    return inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h, &a6) == 1;
}

/* Lowercases, strips surrounding whitespace and trailing dots, checks it is a DNS name
 * (labels 1..63 of printable non-space ASCII without dots, total <= 253). Returns a new string. */
static int norm_zone(const char *in, char **out)
{
    while (isspace((unsigned char)*in))
        in++;
    size_t n = strlen(in);
    while (n && isspace((unsigned char)in[n - 1]))
        n--;
    while (n && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return DMP_ENAME;
    char *s = malloc(n + 1);
    if (!s)
        return DMP_ENOMEM;
    size_t lab = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '.') {
            if (lab == 0) {
                free(s);
                return DMP_ENAME;
            }
            lab = 0;
        } else {
            if (c <= 0x20 || c >= 0x7f || ++lab > 63) {
                free(s);
                return DMP_ENAME;
            }
        }
        s[i] = (char)tolower(c);
    }
    s[n] = 0;
    *out = s;
    return 0;
}

static int parse_u32(const char *v, int64_t min, int64_t max, uint32_t *out)
{
    int64_t x;
    int rc = dmp_parse_i64(v, min, max, &x);
    if (rc == 0)
        *out = (uint32_t)x;
    return rc;
}

static unsigned ncpu_half(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return 1;
    return (unsigned)(n / 2);
}

void dmp_node_config_free(dmp_node_config_t *c)
{
    if (!c)
        return;
    free(c->db_path);
    free(c->dns_host);
    free(c->http_host);
    if (c->operator_token) {
        dmp_wipe(c->operator_token, strlen(c->operator_token));
        free(c->operator_token);
    }
    free(c->served_zone);
    free(c->apex_a);
    free(c->apex_aaaa);
    free(c->apex_ns);
    free(c->apex_soa_rname);
    free(c->ports_file);
    free(c->rrl_whitelist);
    free(c->nsid);
    free(c->user);
    dmp_wipe(c->cookie_secret, sizeof(c->cookie_secret));
    free(c->node_hostname);
    for (size_t i = 0; c->reg_allowlist && i < c->reg_allowlist_n; i++)
        free(c->reg_allowlist[i]);
    free(c->reg_allowlist);
    free(c->sync_peers);
    if (c->sync_token) {
        dmp_wipe(c->sync_token, strlen(c->sync_token));
        free(c->sync_token);
    }
    free(c->sync_self_endpoint);
    free(c->node_id);
    free(c->xfr_allow);
    free(c->notify);
    free(c->cluster_base_domain);
    free(c->hb_self_endpoint);
    free(c->hb_key_path);
    free(c->hb_seeds);
    free(c->hb_version);
    free(c->hb_seed_urls);
    free(c->hb_resolvers);
    memset(c, 0, sizeof(*c));
}

static const char *trimmed_nonempty(const char *v)
{
    if (!v)
        return NULL;
    const char *p = v;
    while (isspace((unsigned char)*p))
        p++;
    return *p ? v : NULL;
}

int dmp_node_config_load(dmp_node_config_t *c, dmp_node_getenv_fn getenv_fn, void *env_ctx,
                         int argc, char **argv, bool *want_help, char *err, size_t errcap)
{
    const char *val[K_COUNT];
    bool from_flag[K_COUNT];
    char o[128];
    int rc;

    memset(c, 0, sizeof(*c));
    *want_help = false;
    if (err && errcap)
        err[0] = 0;

    /* 1. environment (empty = unset), alias second */
    for (int k = 0; k < K_COUNT; k++) {
        from_flag[k] = false;
        val[k] = trimmed_nonempty(getenv_fn(knobs[k].env, env_ctx));
        if (!val[k] && knobs[k].alias)
            val[k] = trimmed_nonempty(getenv_fn(knobs[k].alias, env_ctx));
    }

    /* 2. flags: --name=value, --name value, bare --name for booleans */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *want_help = true;
            return 0;
        }
        if (strncmp(a, "--", 2) != 0)
            return fail(err, errcap, "unexpected argument '%s' (see --help)", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int k;
        for (k = 0; k < K_COUNT; k++) {
            if (knobs[k].flag && strlen(knobs[k].flag) == nlen &&
                strncmp(knobs[k].flag, name, nlen) == 0)
                break;
        }
        if (k == K_COUNT)
            return fail(err, errcap, "unknown option '%.*s' (see --help)", (int)(nlen + 2), a);
        if (eq) {
            val[k] = eq + 1;
        } else if (knobs[k].is_bool && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            val[k] = "1";
        } else {
            if (i + 1 >= argc)
                return fail(err, errcap, "option --%s needs a value", knobs[k].flag);
            val[k] = argv[++i];
        }
        from_flag[k] = true;
    }

    /* 3. defaults */
    for (int k = 0; k < K_COUNT; k++) {
        if (!val[k] && knobs[k].defval)
            val[k] = knobs[k].defval;
    }

#define BAD(k, what)                                                                               \
    do {                                                                                           \
        origin(o, sizeof(o), (k), from_flag[(k)]);                                                 \
        rc = fail(err, errcap, "%s: invalid value '%s': %s", o, val[(k)], (what));                 \
        goto out;                                                                                  \
    } while (0)

    int64_t x;
    rc = 0;

    if (!val[K_DB_PATH] || !*val[K_DB_PATH])
        BAD(K_DB_PATH, "expected a directory path");
    c->db_path = xstrdup(val[K_DB_PATH]);

    if (!valid_host(val[K_DNS_HOST]))
        BAD(K_DNS_HOST, "expected an IPv4 or IPv6 address");
    c->dns_host = xstrdup(val[K_DNS_HOST]);
    if (dmp_parse_i64(val[K_DNS_PORT], 0, 65535, &x))
        BAD(K_DNS_PORT, "expected a port number 0..65535");
    c->dns_port = (uint16_t)x;
    if (!valid_host(val[K_HTTP_HOST]))
        BAD(K_HTTP_HOST, "expected an IPv4 or IPv6 address");
    c->http_host = xstrdup(val[K_HTTP_HOST]);
    if (dmp_parse_i64(val[K_HTTP_PORT], 0, 65535, &x))
        BAD(K_HTTP_PORT, "expected a port number 0..65535");
    c->http_port = (uint16_t)x;

    if (parse_u32(val[K_DNS_TTL], 0, 2147483647, &c->dns_ttl))
        BAD(K_DNS_TTL, "expected an integer 0..2147483647");
    if (dmp_parse_double(val[K_DNS_RATE], 0, 1e9, &c->dns_rate))
        BAD(K_DNS_RATE, "expected a number >= 0");
    if (dmp_parse_double(val[K_DNS_BURST], 0, 1e9, &c->dns_burst))
        BAD(K_DNS_BURST, "expected a number >= 0");
    if (parse_u32(val[K_DNS_MAX_CONC], 1, 1000000, &c->dns_max_concurrency))
        BAD(K_DNS_MAX_CONC, "expected an integer 1..1000000");
    if (dmp_parse_double(val[K_HTTP_RATE], 0, 1e9, &c->http_rate))
        BAD(K_HTTP_RATE, "expected a number >= 0");
    if (dmp_parse_double(val[K_HTTP_BURST], 0, 1e9, &c->http_burst))
        BAD(K_HTTP_BURST, "expected a number >= 0");
    if (parse_u32(val[K_HTTP_MAX_CONC], 1, 100000, &c->http_max_concurrency))
        BAD(K_HTTP_MAX_CONC, "expected an integer 1..100000");
    if (parse_u32(val[K_HTTP_HEADER_TO], 1, 3600, &c->http_header_timeout))
        BAD(K_HTTP_HEADER_TO, "expected seconds 1..3600");
    if (parse_u32(val[K_HTTP_BODY_TO], 1, 3600, &c->http_body_timeout))
        BAD(K_HTTP_BODY_TO, "expected seconds 1..3600");
    if (parse_u32(val[K_SHUTDOWN_TO], 0, 3600, &c->shutdown_timeout))
        BAD(K_SHUTDOWN_TO, "expected seconds 0..3600");
    if (parse_u32(val[K_HTTP_PER_IP], 0, 100000, &c->http_max_per_ip))
        BAD(K_HTTP_PER_IP, "expected an integer 0..100000");
    if (c->http_max_per_ip == 0) {
        c->http_max_per_ip = c->http_max_concurrency / 4;
        if (c->http_max_per_ip < 2)
            c->http_max_per_ip = 2;
    }
    if (parse_u32(val[K_MAX_TTL], 1, 2147483647, &c->max_ttl))
        BAD(K_MAX_TTL, "expected an integer 1..2147483647");
    if (parse_u32(val[K_MAX_VALUE_BYTES], 1, 65535, &c->max_value_bytes))
        BAD(K_MAX_VALUE_BYTES, "expected an integer 1..65535");
    if (parse_u32(val[K_MAX_VALUES], 0, 100000, &c->max_values_per_name))
        BAD(K_MAX_VALUES, "expected an integer 0..100000");

    if (val[K_OPERATOR_TOKEN]) {
        const char *t = val[K_OPERATOR_TOKEN];
        for (const char *p = t; *p; p++) {
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
                origin(o, sizeof(o), K_OPERATOR_TOKEN, from_flag[K_OPERATOR_TOKEN]);
                rc = fail(err, errcap,
                          "%s: invalid value: the token must be printable ASCII "
                          "without spaces",
                          o);
                goto out;
            }
        }
        c->operator_token = xstrdup(t);
    }
    if (val[K_AUTH_MODE]) {
        char m[32];
        snprintf(m, sizeof(m), "%s", val[K_AUTH_MODE]);
        for (char *p = m; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strcmp(m, "open") == 0)
            c->auth_mode = DMP_NODE_AUTH_OPEN;
        else if (strcmp(m, "legacy") == 0)
            c->auth_mode = DMP_NODE_AUTH_LEGACY;
        else if (strcmp(m, "multi-tenant") == 0)
            c->auth_mode = DMP_NODE_AUTH_MULTI_TENANT;
        else
            BAD(K_AUTH_MODE, "expected open, legacy or multi-tenant");
        c->auth_mode_set = true;
    } else {
        c->auth_mode = c->operator_token ? DMP_NODE_AUTH_LEGACY : DMP_NODE_AUTH_OPEN;
    }
    if (c->auth_mode == DMP_NODE_AUTH_LEGACY && !c->operator_token) {
        origin(o, sizeof(o), K_AUTH_MODE, from_flag[K_AUTH_MODE]);
        rc = fail(err, errcap,
                  "%s: invalid value 'legacy': legacy mode needs DMP_OPERATOR_TOKEN "
                  "(or DMP_HTTP_TOKEN)",
                  o);
        goto out;
    }
    if (dmp_parse_bool(val[K_ALLOW_OPEN], &c->allow_open_public_bind))
        BAD(K_ALLOW_OPEN, "expected 1/true/yes/on or 0/false/no/off");

    /* served zone chain */
    for (int k = ZONE_CHAIN_FIRST; k <= K_NODE_HOSTNAME; k++) {
        if (!val[k])
            continue;
        if (norm_zone(val[k], &c->served_zone))
            BAD(k, "expected a DNS name");
        break;
    }
    if (val[K_APEX_A]) {
        struct in_addr a4;
        if (inet_pton(AF_INET, val[K_APEX_A], &a4) != 1)
            BAD(K_APEX_A, "expected an IPv4 address");
        c->apex_a = xstrdup(val[K_APEX_A]);
    }
    if (val[K_APEX_AAAA]) {
        struct in6_addr a6;
        if (inet_pton(AF_INET6, val[K_APEX_AAAA], &a6) != 1)
            BAD(K_APEX_AAAA, "expected an IPv6 address");
        c->apex_aaaa = xstrdup(val[K_APEX_AAAA]);
    }
    if (val[K_APEX_NS] && norm_zone(val[K_APEX_NS], &c->apex_ns))
        BAD(K_APEX_NS, "expected a DNS name");
    if (val[K_APEX_RNAME] && norm_zone(val[K_APEX_RNAME], &c->apex_soa_rname))
        BAD(K_APEX_RNAME, "expected a DNS name");

    if (dmp_parse_double(val[K_CLEANUP], 1e-3, 1e7, &c->cleanup_interval))
        BAD(K_CLEANUP, "expected a number of seconds > 0");
    if (dmp_log_level_parse(val[K_LOG_LEVEL], &c->log_level))
        BAD(K_LOG_LEVEL, "expected debug, info, warning or error");
    if (dmp_log_format_parse(val[K_LOG_FORMAT], &c->log_format))
        BAD(K_LOG_FORMAT, "expected text or json");

    if (parse_u32(val[K_FRONTENDS], 0, 64, &c->frontends))
        BAD(K_FRONTENDS, "expected an integer 0..64");
    if (c->frontends == 0)
        c->frontends = ncpu_half();
    if (parse_u32(val[K_SHARDS], 0, 64, &c->shards))
        BAD(K_SHARDS, "expected an integer 0..64");
    if (c->shards == 0)
        c->shards = ncpu_half();
    if (dmp_parse_i64(val[K_CACHE_MB], 0, 1 << 20, &x))
        BAD(K_CACHE_MB, "expected an integer 0..1048576");
    c->cache_mb = (uint64_t)x;
    if (parse_u32(val[K_RING_SIZE], 64, 1 << 20, &c->ring_size) ||
        (c->ring_size & (c->ring_size - 1)) != 0)
        BAD(K_RING_SIZE, "expected a power of two 64..1048576");
    if (val[K_PORTS_FILE])
        c->ports_file = xstrdup(val[K_PORTS_FILE]);
    c->http_max_body = 16384;

    if (dmp_parse_double(val[K_RRL_RATE], 0, 1e9, &c->rrl_rate))
        BAD(K_RRL_RATE, "expected a number >= 0");
    if (parse_u32(val[K_RRL_SLIP], 0, 100, &c->rrl_slip))
        BAD(K_RRL_SLIP, "expected an integer 0..100");
    if (parse_u32(val[K_RRL_V4], 1, 32, &c->rrl_v4_prefix))
        BAD(K_RRL_V4, "expected a prefix length 1..32");
    if (parse_u32(val[K_RRL_V6], 1, 128, &c->rrl_v6_prefix))
        BAD(K_RRL_V6, "expected a prefix length 1..128");
    if (parse_u32(val[K_RRL_TABLE], 64, 1 << 24, &c->rrl_table_size))
        BAD(K_RRL_TABLE, "expected an integer 64..16777216");
    if (val[K_RRL_WHITELIST] &&
        dmp_node_cidr_parse_list(val[K_RRL_WHITELIST], &c->rrl_whitelist, &c->rrl_nwhitelist))
        BAD(K_RRL_WHITELIST, "expected addresses or CIDR prefixes (host bits zero), "
                             "comma separated");
    if (val[K_NSID]) {
        const char *v = val[K_NSID];
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
            dmp_buf_t b;
            dmp_buf_init(&b);
            if (n == 2 || dmp_hex_decode_buf(v + 2, n - 2, &b) != 0 || b.len > 128) {
                dmp_buf_free(&b);
                BAD(K_NSID, "expected 0x and an even number of hex digits (at most 128 bytes)");
            }
            c->nsid = calloc(1, b.len + 1);
            if (c->nsid)
                memcpy(c->nsid, b.data, b.len);
            c->nsid_len = b.len;
            dmp_buf_free(&b);
        } else {
            if (n == 0 || n > 128)
                BAD(K_NSID, "expected 1..128 bytes of text");
            c->nsid = xstrdup(v);
            c->nsid_len = n;
        }
    }
    if (dmp_parse_bool(val[K_COOKIES], &c->cookies))
        BAD(K_COOKIES, "expected 1/true/yes/on or 0/false/no/off");
    if (dmp_parse_bool(val[K_COOKIE_REQUIRE], &c->cookie_required))
        BAD(K_COOKIE_REQUIRE, "expected 1/true/yes/on or 0/false/no/off");
    if (c->cookie_required && !c->cookies)
        BAD(K_COOKIE_REQUIRE, "cookies cannot be required when DMP_COOKIES is off");
    if (val[K_COOKIE_SECRET]) {
        if (strlen(val[K_COOKIE_SECRET]) != 64 ||
            dmp_hex_decode(val[K_COOKIE_SECRET], 64, c->cookie_secret, 32) != 0)
            BAD(K_COOKIE_SECRET, "expected 64 hex digits");
        c->cookie_secret_set = true;
    }
    if (parse_u32(val[K_COOKIE_ROTATE], 3600, 365 * 86400, &c->cookie_rotate))
        BAD(K_COOKIE_ROTATE, "expected seconds 3600..31536000");
    if (val[K_USER]) {
        for (const char *p = val[K_USER]; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
                BAD(K_USER, "expected a user name (letters, digits, _ - .)");
        c->user = xstrdup(val[K_USER]);
    }
    if (val[K_NODE_HOSTNAME]) {
        const char *h = val[K_NODE_HOSTNAME];
        while (isspace((unsigned char)*h))
            h++;
        size_t hl = strlen(h);
        while (hl && isspace((unsigned char)h[hl - 1]))
            hl--;
        c->node_hostname = strndup(h, hl);
    }
    if (dmp_parse_bool(val[K_REG_ENABLED], &c->registration_enabled))
        BAD(K_REG_ENABLED, "expected 1/true/yes/on or 0/false/no/off");
    if (val[K_REG_ALLOWLIST]) {
        /* comma list; entries lowercased, stripped, trailing dots removed, empties skipped */
        const char *p = val[K_REG_ALLOWLIST];
        size_t n = 1;
        for (const char *q = p; *q; q++)
            n += *q == ',';
        c->reg_allowlist = calloc(n + 1, sizeof(char *));
        if (!c->reg_allowlist) {
            rc = DMP_ENOMEM;
            goto out;
        }
        while (*p) {
            size_t l = strcspn(p, ",");
            const char *b = p, *e = p + l;
            while (b < e && isspace((unsigned char)*b))
                b++;
            while (e > b && (isspace((unsigned char)e[-1]) || e[-1] == '.'))
                e--;
            if (e > b) {
                char *d = strndup(b, (size_t)(e - b));
                if (!d) {
                    rc = DMP_ENOMEM;
                    goto out;
                }
                for (char *q = d; *q; q++)
                    *q = (char)tolower((unsigned char)*q);
                c->reg_allowlist[c->reg_allowlist_n++] = d;
            }
            p += l;
            if (*p == ',')
                p++;
        }
    }
    if (dmp_parse_i64(val[K_REG_TOKEN_TTL], 0, (int64_t)1 << 40, &c->reg_token_ttl_s))
        BAD(K_REG_TOKEN_TTL, "expected an integer number of seconds >= 0");
    if (dmp_parse_double(val[K_REG_ISSUED_RATE], 0, 1e9, &c->reg_issued_rate))
        BAD(K_REG_ISSUED_RATE, "expected a number >= 0");
    if (dmp_parse_i64(val[K_REG_ISSUED_BURST], 0, 1000000000, &c->reg_issued_burst))
        BAD(K_REG_ISSUED_BURST, "expected an integer >= 0");
    if (dmp_parse_double(val[K_REG_EP_RATE], 0, 1e9, &c->reg_endpoint_rate))
        BAD(K_REG_EP_RATE, "expected a number >= 0");
    if (dmp_parse_double(val[K_REG_EP_BURST], 0, 1e9, &c->reg_endpoint_burst))
        BAD(K_REG_EP_BURST, "expected a number >= 0");
    if (val[K_SYNC_PEERS])
        c->sync_peers = xstrdup(val[K_SYNC_PEERS]);
    if (val[K_SYNC_TOKEN] && *val[K_SYNC_TOKEN]) {
        for (const char *p = val[K_SYNC_TOKEN]; *p; p++)
            if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
                BAD(K_SYNC_TOKEN, "the token must be printable ASCII without spaces");
        c->sync_token = xstrdup(val[K_SYNC_TOKEN]);
    }
    if (dmp_parse_double(val[K_SYNC_INTERVAL], 1e-3, 1e7, &c->sync_interval))
        BAD(K_SYNC_INTERVAL, "expected a number of seconds > 0");
    if (val[K_SYNC_SPK] && *val[K_SYNC_SPK]) {
        /* the reference ignores a bad key with a warning; refusing is safer than syncing
         * manifests nobody can verify */
        if (dmp_hex_decode(val[K_SYNC_SPK], strlen(val[K_SYNC_SPK]), c->sync_operator_spk, 32))
            BAD(K_SYNC_SPK, "expected 64 hex digits (an Ed25519 public key)");
        c->has_sync_operator_spk = true;
    }
    if (val[K_SYNC_SELF])
        c->sync_self_endpoint = xstrdup(val[K_SYNC_SELF]);
    if (val[K_NODE_ID])
        c->node_id = xstrdup(val[K_NODE_ID]);
    if (val[K_XFR_ALLOW] && *val[K_XFR_ALLOW])
        c->xfr_allow = xstrdup(val[K_XFR_ALLOW]);
    if (val[K_NOTIFY] && *val[K_NOTIFY])
        c->notify = xstrdup(val[K_NOTIFY]);
    if (dmp_parse_bool(val[K_HB_ENABLED], &c->hb_enabled))
        BAD(K_HB_ENABLED, "expected a boolean");
    c->hb_self_endpoint = val[K_HB_SELF] ? xstrdup(val[K_HB_SELF]) : NULL;
    c->hb_key_path = val[K_HB_KEY] ? xstrdup(val[K_HB_KEY]) : NULL;
    if (parse_u32(val[K_HB_SEEN_MAX], 1, 10000000, &c->hb_seen_max_rows))
        BAD(K_HB_SEEN_MAX, "expected an integer 1..10000000");
    c->hb_seeds = val[K_HB_SEEDS] ? xstrdup(val[K_HB_SEEDS]) : NULL;
    if (dmp_parse_double(val[K_HB_INTERVAL], 1e-3, 1e7, &c->hb_interval))
        BAD(K_HB_INTERVAL, "expected a number of seconds > 0");
    if (parse_u32(val[K_HB_TTL], 1, 2592000, &c->hb_ttl))
        BAD(K_HB_TTL, "expected seconds 1..2592000");
    if (parse_u32(val[K_HB_MAX_PEERS], 0, 100000, &c->hb_max_peers))
        BAD(K_HB_MAX_PEERS, "expected an integer 0..100000");
    if (val[K_HB_VERSION] && strlen(val[K_HB_VERSION]) > 32)
        BAD(K_HB_VERSION, "at most 32 characters");
    c->hb_version = val[K_HB_VERSION] ? xstrdup(val[K_HB_VERSION]) : NULL;
    c->hb_seed_urls = val[K_HB_SEED_URLS] ? xstrdup(val[K_HB_SEED_URLS]) : NULL;
    if (dmp_parse_bool(val[K_HB_SEED_URLS_OFF], &c->hb_seed_urls_disabled))
        BAD(K_HB_SEED_URLS_OFF, "expected a boolean");
    c->hb_resolvers = val[K_HB_RESOLVERS] ? xstrdup(val[K_HB_RESOLVERS]) : NULL;
    if (dmp_parse_bool(val[K_HB_DNSSEC], &c->hb_dnssec))
        BAD(K_HB_DNSSEC, "expected a boolean");
    if (dmp_parse_bool(val[K_HB_SEED_LOCAL], &c->hb_seed_allow_local))
        BAD(K_HB_SEED_LOCAL, "expected a boolean");
    if (val[K_CLUSTER_BASE_DOMAIN] &&
        norm_zone(val[K_CLUSTER_BASE_DOMAIN], &c->cluster_base_domain))
        BAD(K_CLUSTER_BASE_DOMAIN, "expected a DNS name");

    if (!c->db_path || !c->dns_host || !c->http_host) {
        rc = DMP_ENOMEM;
        goto out;
    }

    /* the reference's guard: open writes on a public bind need an explicit opt-in */
    if (c->auth_mode == DMP_NODE_AUTH_OPEN && !c->allow_open_public_bind &&
        !dmp_node_host_is_loopback(c->http_host)) {
        rc = fail(err, errcap,
                  "DMP_HTTP_HOST: refusing to serve auth mode 'open' on non-loopback address "
                  "'%s': set DMP_OPERATOR_TOKEN, bind 127.0.0.1, or set "
                  "DMP_ALLOW_OPEN_PUBLIC_BIND=1",
                  c->http_host);
        goto out;
    }
#undef BAD
out:
    if (rc)
        dmp_node_config_free(c);
    return rc;
}

static void print_wrapped(FILE *f, const char *help)
{
    fprintf(f, "      %s\n", help);
}

void dmp_node_config_usage(FILE *f)
{
    fprintf(f, "usage: dnsmeshd [--option=value ...]\n"
               "Authoritative DNS server and HTTP API for DMP records.\n"
               "Every option can also be set by its environment variable; a flag wins.\n\n");
    for (int k = 0; k < K_COUNT; k++) {
        const dmp_node_knob_t *kb = &knobs[k];
        if (kb->flag)
            fprintf(f, "  --%s%s", kb->flag, kb->is_bool ? "[=BOOL]" : "=VALUE");
        else
            fprintf(f, "  (no flag)");
        fprintf(f, "   env %s%s%s   default %s\n", kb->env, kb->alias ? ", alias " : "",
                kb->alias ? kb->alias : "", kb->defval ? kb->defval : "(unset)");
        print_wrapped(f, kb->help);
    }
    fprintf(f, "  --version\n      print the version\n");
    fprintf(f, "  --check-config\n      validate the environment and flags, print a summary, "
               "exit 0 (valid) or 2\n");
    fprintf(f, "  --env-template\n      print every variable, commented, as an environment "
               "file\n");
    fprintf(f, "\nSignals: SIGTERM/SIGINT drain and stop; SIGHUP re-reads DMP_CONFIG_FILE and the "
               "environment,\napplies log level/format, DMP_RRL_* and DMP_COOKIE_REQUIRE, and "
               "logs what needs a restart.\n");
    fprintf(f, "  --help\n      this text\n\nA bad value prints one line naming the variable "
               "and exits with status 2.\n");
}

const char *dmp_node_strerror(int err)
{
    switch (err) {
    case DMP_NODE_ECONFIG:
        return "invalid configuration";
    case DMP_NODE_EBIND:
        return "cannot bind a listener";
    default:
        return dmp_strerror(err);
    }
}

void dmp_node_config_env_template(FILE *f)
{
    fprintf(f, "# Environment of dnsmeshd (read by its systemd unit at start, and by dnsmeshd\n"
               "# itself on SIGHUP through DMP_CONFIG_FILE: `systemctl reload dnsmeshd` applies\n"
               "# what can change while running and logs what needs a restart).\n"
               "# Every variable is listed with its default; uncomment to change one.\n"
               "# `dnsmeshd --check-config` validates a change before a restart.\n");
    for (int k = 0; k < K_COUNT; k++) {
        const dmp_node_knob_t *kb = &knobs[k];
        fprintf(f, "\n# %s", kb->help);
        if (kb->alias)
            fprintf(f, " (alias %s)", kb->alias);
        fprintf(f, "\n#%s=%s\n", kb->env, kb->defval ? kb->defval : "");
    }
}
