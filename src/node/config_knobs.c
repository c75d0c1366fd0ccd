/* node: the configuration knob table (environment variable, flag, default, help), --help and
 * the commented environment template; config.c parses what it names. */
#include <stdio.h>
#include <string.h>

#include "node/config_knobs.h"

const dmp_node_knob_t dmp_node_knob_table[K_COUNT] = {
    [K_DB_PATH] = {"DMP_DB_PATH", NULL, "db-path", "/var/lib/dmp/dmp.db",
                   "RocksDB store directory (created, with its parent, if missing)", false},
    [K_STORE_MIN_FREE] = {"DMP_STORE_MIN_FREE_MB", NULL, "store-min-free-mb", "256",
                          "free-space reserve on the store's disk (MiB): below it writes are "
                          "refused (507, UPDATE SERVFAIL) and /health says 503; 0 = off",
                          false},
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
    [K_DNS_FE_READS] = {"DMP_DNS_FRONTEND_READS", NULL, "dns-frontend-reads", "1",
                        "UDP cache misses answered on the frontend thread that received them, "
                        "reading the store there (the shard fills its cache later, without a "
                        "wake-up per miss); 0 = a miss crosses to its shard (docs/cache.md)",
                        true},
    [K_WRITE_WINDOW] = {"DMP_WRITE_WINDOW_MS", NULL, "write-window-ms", "2",
                        "a shard writes the publishes queued for it together, at most once "
                        "per this many ms (a publish after a quiet spell at once); each still "
                        "waits for its WAL sync before its answer; 0 = one write per wake-up "
                        "(docs/store.md \"Write path cost\")",
                        false},
    [K_CACHE_DOOR] = {"DMP_CACHE_DOORKEEPER", NULL, "cache-doorkeeper", "1",
                      "1: once a shard's answer cache is half full, a frontend's store read "
                      "fills it only on the name's second miss (a 1 MiB doorkeeper per "
                      "frontend), so traffic that asks each name once does not churn it; "
                      "0 = every miss fills (docs/cache.md)",
                      true},
    [K_STORE_CACHE_MB] = {"DMP_STORE_CACHE_MB", NULL, "store-cache-mb", "192",
                          "RocksDB block cache for the store's data blocks (MiB, >= 8; "
                          "docs/store.md \"Read path at scale\")",
                          false},
    [K_STORE_WBUF_MB] = {"DMP_STORE_WRITE_BUFFER_MB", NULL, "store-write-buffer-mb", "64",
                         "RocksDB memtable of the store's records (MiB, 1..1024; the other "
                         "column families get a quarter): smaller searches faster under writes "
                         "and flushes more often (docs/store.md \"Write path cost\")",
                         false},
    [K_NAME_INDEX] = {"DMP_NAME_INDEX", NULL, "name-index", "1",
                      "at start, a background walk writes every name's answer to an unlinked file "
                      "in the store's directory and indexes it in memory (16-32 bytes per name): "
                      "a cache miss of a name not written since the start is one read of that "
                      "file instead of a RocksDB seek; 0 = off (docs/store.md \"The name index\")",
                      false},
    [K_NAME_INDEX_REBUILD_S] = {"DMP_NAME_INDEX_REBUILD_S", NULL, "name-index-rebuild-s", "60",
                                "the name index walks the store again into a new table sized "
                                "for it when the table is 3/4 full or writes took an eighth of "
                                "its names out of the file: at most once per this many seconds "
                                "(and per 50 walks' time); 0 = never (0..86400)",
                                false},
    [K_STORE_PREFETCH_MB] = {"DMP_STORE_PREFETCH_MB", NULL, "store-prefetch-mb", "auto",
                             "at start, a background thread reads the store's record and name "
                             "tables once into the page cache, at most this many MiB; auto = "
                             "half of the memory the kernel says is available, 0 = off "
                             "(docs/store.md)",
                             false},
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
    [K_SYNC_PULL_RATE] = {"DMP_SYNC_PULL_RATE", NULL, "sync-pull-rate", "1000",
                          "records/s this node pulls from its peers (a backfill's pace, so the "
                          "serving peer keeps answering DNS); 0 = unpaced",
                          false},
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
    return dmp_node_knob_table;
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
        const dmp_node_knob_t *kb = &dmp_node_knob_table[k];
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

void dmp_node_config_env_template(FILE *f)
{
    fprintf(f, "# Environment of dnsmeshd (read by its systemd unit at start, and by dnsmeshd\n"
               "# itself on SIGHUP through DMP_CONFIG_FILE: `systemctl reload dnsmeshd` applies\n"
               "# what can change while running and logs what needs a restart).\n"
               "# Every variable is listed with its default; uncomment to change one.\n"
               "# `dnsmeshd --check-config` validates a change before a restart.\n");
    for (int k = 0; k < K_COUNT; k++) {
        const dmp_node_knob_t *kb = &dmp_node_knob_table[k];
        fprintf(f, "\n# %s", kb->help);
        if (kb->alias)
            fprintf(f, " (alias %s)", kb->alias);
        fprintf(f, "\n#%s=%s\n", kb->env, kb->defval ? kb->defval : "");
    }
}
