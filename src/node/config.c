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

#include "node/config_knobs.h"

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
        snprintf(o, cap, "--%s (%s)", dmp_node_knob_table[k].flag, dmp_node_knob_table[k].env);
    else
        snprintf(o, cap, "%s", dmp_node_knob_table[k].env);
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
        val[k] = trimmed_nonempty(getenv_fn(dmp_node_knob_table[k].env, env_ctx));
        if (!val[k] && dmp_node_knob_table[k].alias)
            val[k] = trimmed_nonempty(getenv_fn(dmp_node_knob_table[k].alias, env_ctx));
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
            if (dmp_node_knob_table[k].flag && strlen(dmp_node_knob_table[k].flag) == nlen &&
                strncmp(dmp_node_knob_table[k].flag, name, nlen) == 0)
                break;
        }
        if (k == K_COUNT)
            return fail(err, errcap, "unknown option '%.*s' (see --help)", (int)(nlen + 2), a);
        if (eq) {
            val[k] = eq + 1;
        } else if (dmp_node_knob_table[k].is_bool &&
                   (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)) {
            val[k] = "1";
        } else {
            if (i + 1 >= argc)
                return fail(err, errcap, "option --%s needs a value", dmp_node_knob_table[k].flag);
            val[k] = argv[++i];
        }
        from_flag[k] = true;
    }

    /* 3. defaults */
    for (int k = 0; k < K_COUNT; k++) {
        if (!val[k] && dmp_node_knob_table[k].defval)
            val[k] = dmp_node_knob_table[k].defval;
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
    if (dmp_parse_i64(val[K_STORE_MIN_FREE], 0, 1 << 24, &x))
        BAD(K_STORE_MIN_FREE, "expected an integer 0..16777216");
    c->store_min_free_mb = (uint64_t)x;

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
    if (dmp_parse_bool(val[K_DNS_FE_READS], &c->dns_fe_reads))
        BAD(K_DNS_FE_READS, "expected 1/true/yes/on or 0/false/no/off");
    if (parse_u32(val[K_WRITE_WINDOW], 0, 100, &c->write_window_ms))
        BAD(K_WRITE_WINDOW, "expected an integer 0..100");
    if (dmp_parse_bool(val[K_CACHE_DOOR], &c->cache_doorkeeper))
        BAD(K_CACHE_DOOR, "expected 1/true/yes/on or 0/false/no/off");
    if (dmp_parse_i64(val[K_STORE_CACHE_MB], 8, 1 << 20, &x))
        BAD(K_STORE_CACHE_MB, "expected an integer 8..1048576");
    c->store_cache_mb = (uint64_t)x;
    if (dmp_parse_i64(val[K_STORE_WBUF_MB], 1, 1024, &x))
        BAD(K_STORE_WBUF_MB, "expected an integer 1..1024");
    c->store_wbuf_mb = (uint64_t)x;
    if (dmp_parse_bool(val[K_NAME_INDEX], &c->name_index))
        BAD(K_NAME_INDEX, "expected 1/true/yes/on or 0/false/no/off");
    if (dmp_parse_i64(val[K_NAME_INDEX_REBUILD_S], 0, 86400, &x))
        BAD(K_NAME_INDEX_REBUILD_S, "expected an integer 0..86400");
    c->name_index_rebuild_s = (uint32_t)x;
    if (strcmp(val[K_STORE_PREFETCH_MB], "auto") == 0)
        c->store_prefetch_mb = -1;
    else if (dmp_parse_i64(val[K_STORE_PREFETCH_MB], 0, 1 << 20, &x))
        BAD(K_STORE_PREFETCH_MB, "expected auto or an integer 0..1048576");
    else
        c->store_prefetch_mb = x;
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
    if (parse_u32(val[K_SYNC_PULL_RATE], 0, 10000000, &c->sync_pull_rate))
        BAD(K_SYNC_PULL_RATE, "expected records per second 0..10000000 (0 = unpaced)");
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
