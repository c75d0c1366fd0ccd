/* node: running as a service: systemd readiness (sd_notify), dropping root after binding, and
 * the environment file SIGHUP re-reads. */
#include <errno.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "node/node.h"

int dmp_node_service_notify(const char *state)
{
    if (!state)
        return DMP_EINVAL;
    int r = sd_notify(0, state); /* no NOTIFY_SOCKET: 0, nothing sent */
    return r < 0 ? DMP_ESYS : r;
}

static uid_t g_uid;
static gid_t g_gid;

static int chown_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return lchown(path, g_uid, g_gid) == 0 ? 0 : -1;
}

int dmp_node_drop_privileges(const char *user, const char *state_path, char *err, size_t errcap)
{
    if (geteuid() != 0 || !user)
        return 0; /* nothing to drop, or nothing asked (the caller warns) */
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errcap, "DMP_USER: no such user '%s'", user);
        return DMP_ENOTFOUND;
    }
    if (pw->pw_uid == 0) {
        snprintf(err, errcap, "DMP_USER: '%s' is root", user);
        return DMP_EINVAL;
    }
    g_uid = pw->pw_uid;
    g_gid = pw->pw_gid;
    /* the store was opened as root: hand its files to the user, or RocksDB could not write
     * its WAL and MANIFEST any more */
    if (state_path && nftw(state_path, chown_one, 16, FTW_PHYS) != 0) {
        snprintf(err, errcap, "DMP_USER: cannot chown '%s' to %s: %s", state_path, user,
                 strerror(errno));
        return DMP_ESYS;
    }
    /* glibc applies set*id to every thread of the process */
    if (setgroups(0, NULL) != 0 || initgroups(user, pw->pw_gid) != 0 ||
        setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
        snprintf(err, errcap, "DMP_USER: cannot switch to %s: %s", user, strerror(errno));
        return DMP_ESYS;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(err, errcap, "DMP_USER: root could be regained after switching to %s", user);
        return DMP_ESYS;
    }
    return 0;
}

void dmp_node_envfile_free(dmp_node_envfile_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        dmp_wipe(e->kv[i], strlen(e->kv[i]));
        free(e->kv[i]);
    }
    free(e->kv);
    e->kv = NULL;
    e->n = 0;
}

int dmp_node_envfile_load(const char *path, dmp_node_envfile_t *e)
{
    memset(e, 0, sizeof(*e));
    FILE *f = fopen(path, "r");
    if (!f)
        return DMP_ESYS;
    char line[4096];
    size_t cap = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        size_t l = strcspn(p, "\r\n");
        p[l] = 0;
        if (*p == '#' || *p == 0 || !strchr(p, '='))
            continue;
        char *eq = strchr(p, '=');
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = 0;
            memmove(v, v + 1, vl - 1);
        }
        if (e->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nk = realloc(e->kv, nc * sizeof(*nk));
            if (!nk) {
                rc = DMP_ENOMEM;
                break;
            }
            e->kv = nk;
            cap = nc;
        }
        e->kv[e->n] = strdup(p);
        if (!e->kv[e->n]) {
            rc = DMP_ENOMEM;
            break;
        }
        e->n++;
    }
    fclose(f);
    if (rc)
        dmp_node_envfile_free(e);
    return rc;
}

const char *dmp_node_envfile_get(const dmp_node_envfile_t *e, const char *name)
{
    size_t n = strlen(name);
    const char *hit = NULL;
    for (size_t i = 0; e && i < e->n; i++)
        if (strncmp(e->kv[i], name, n) == 0 && e->kv[i][n] == '=')
            hit = e->kv[i] + n + 1; /* the last assignment wins, as in a shell */
    return hit;
}

static void add_name(char *list, size_t cap, const char *name)
{
    size_t l = strlen(list);
    snprintf(list + l, cap - l, "%s%s", l ? ", " : "", name);
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool wl_differs(const dmp_node_config_t *a, const dmp_node_config_t *b)
{
    return a->rrl_nwhitelist != b->rrl_nwhitelist ||
           (a->rrl_nwhitelist && memcmp(a->rrl_whitelist, b->rrl_whitelist,
                                        a->rrl_nwhitelist * sizeof(dmp_node_cidr_t)));
}

int dmp_node_config_reload(dmp_node_config_t *cur, dmp_node_config_t *nc, dmp_node_core_t *core,
                           char *done, size_t donecap, char *restart, size_t restartcap)
{
    done[0] = restart[0] = 0;
    if (nc->log_level != cur->log_level) {
        dmp_log_set_level(nc->log_level);
        cur->log_level = nc->log_level;
        add_name(done, donecap, "DMP_LOG_LEVEL");
    }
    if (nc->log_format != cur->log_format) {
        dmp_log_set_format(nc->log_format);
        cur->log_format = nc->log_format;
        add_name(done, donecap, "DMP_LOG_FORMAT");
    }
    bool rrl = nc->rrl_rate != cur->rrl_rate || nc->rrl_slip != cur->rrl_slip ||
               nc->rrl_v4_prefix != cur->rrl_v4_prefix || nc->rrl_v6_prefix != cur->rrl_v6_prefix ||
               nc->rrl_table_size != cur->rrl_table_size || wl_differs(nc, cur);
    bool ck = nc->cookie_required != cur->cookie_required;
    if (rrl || ck) {
        int rc = core ? dmp_node_core_reload(core, nc) : 0;
        if (rc != 0)
            add_name(restart, restartcap, "DMP_RRL_* (a shard was busy: send SIGHUP again)");
        cur->rrl_rate = nc->rrl_rate;
        cur->rrl_slip = nc->rrl_slip;
        cur->rrl_v4_prefix = nc->rrl_v4_prefix;
        cur->rrl_v6_prefix = nc->rrl_v6_prefix;
        cur->rrl_table_size = nc->rrl_table_size;
        dmp_node_cidr_t *old = cur->rrl_whitelist; /* the shards hold their own copies */
        cur->rrl_whitelist = nc->rrl_whitelist;
        cur->rrl_nwhitelist = nc->rrl_nwhitelist;
        nc->rrl_whitelist = old;
        cur->cookie_required = nc->cookie_required;
        if (rrl)
            add_name(done, donecap, "DMP_RRL_*");
        if (ck)
            add_name(done, donecap, "DMP_COOKIE_REQUIRE");
    }
#define NEEDS_RESTART(cond, name)                                                                  \
    do {                                                                                           \
        if (cond)                                                                                  \
            add_name(restart, restartcap, name);                                                   \
    } while (0)
    NEEDS_RESTART(str_differs(nc->db_path, cur->db_path), "DMP_DB_PATH");
    NEEDS_RESTART(nc->store_min_free_mb != cur->store_min_free_mb, "DMP_STORE_MIN_FREE_MB");
    NEEDS_RESTART(str_differs(nc->dns_host, cur->dns_host) || nc->dns_port != cur->dns_port,
                  "DMP_DNS_HOST/PORT");
    NEEDS_RESTART(str_differs(nc->http_host, cur->http_host) || nc->http_port != cur->http_port,
                  "DMP_HTTP_HOST/PORT");
    NEEDS_RESTART(nc->dns_ttl != cur->dns_ttl, "DMP_DNS_TTL");
    NEEDS_RESTART(nc->dns_rate != cur->dns_rate || nc->dns_burst != cur->dns_burst,
                  "DMP_DNS_RATE/BURST");
    NEEDS_RESTART(nc->http_rate != cur->http_rate || nc->http_burst != cur->http_burst,
                  "DMP_HTTP_RATE/BURST");
    NEEDS_RESTART(str_differs(nc->operator_token, cur->operator_token) ||
                      nc->auth_mode != cur->auth_mode,
                  "DMP_OPERATOR_TOKEN/DMP_AUTH_MODE");
    NEEDS_RESTART(
        str_differs(nc->served_zone, cur->served_zone) || str_differs(nc->apex_a, cur->apex_a) ||
            str_differs(nc->apex_aaaa, cur->apex_aaaa) || str_differs(nc->apex_ns, cur->apex_ns) ||
            str_differs(nc->apex_soa_rname, cur->apex_soa_rname),
        "zone and apex records");
    NEEDS_RESTART(nc->nsid_len != cur->nsid_len ||
                      (nc->nsid_len && memcmp(nc->nsid, cur->nsid, nc->nsid_len) != 0),
                  "DMP_NSID");
    NEEDS_RESTART(nc->cookies != cur->cookies || nc->cookie_rotate != cur->cookie_rotate ||
                      nc->cookie_secret_set != cur->cookie_secret_set ||
                      memcmp(nc->cookie_secret, cur->cookie_secret, 32) != 0,
                  "DMP_COOKIES/SECRET/ROTATE");
    NEEDS_RESTART(nc->frontends != cur->frontends || nc->shards != cur->shards ||
                      nc->cache_mb != cur->cache_mb || nc->ring_size != cur->ring_size ||
                      nc->cache_doorkeeper != cur->cache_doorkeeper ||
                      nc->store_cache_mb != cur->store_cache_mb ||
                      nc->store_wbuf_mb != cur->store_wbuf_mb ||
                      nc->store_prefetch_mb != cur->store_prefetch_mb,
                  "threads, caches and rings");
    NEEDS_RESTART(nc->max_ttl != cur->max_ttl || nc->max_value_bytes != cur->max_value_bytes ||
                      nc->max_values_per_name != cur->max_values_per_name,
                  "write limits");
    NEEDS_RESTART(nc->hb_enabled != cur->hb_enabled ||
                      str_differs(nc->hb_self_endpoint, cur->hb_self_endpoint) ||
                      str_differs(nc->hb_key_path, cur->hb_key_path) ||
                      str_differs(nc->hb_seeds, cur->hb_seeds) ||
                      nc->hb_interval != cur->hb_interval,
                  "DMP_HEARTBEAT_*");
#undef NEEDS_RESTART
    return 0;
}
