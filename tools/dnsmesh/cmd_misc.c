/* dnsmesh token | resolvers | cluster | bootstrap | peers | node | doctor | register | tsig
 * (client.md §6.3, cluster.md §4-§5). */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "dnsmesh.h"
#include "util/util.h"
#include "wire/wire.h"

bool dn_dmp_dns_at(const char *host, uint16_t port, int timeout_ms);

static void iso(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------------------------------------------------------------- token */

int cmd_token(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    dn_args_t a;
    static const dn_opt_t lo[] = {{"--json", false, NULL}};
    if (strcmp(sub, "forget") == 0) {
        dn_parse("token forget", "NODE", argc - 1, argv + 1, NULL, 0, 1, 1, &a);
        if (dmp_client_token_forget(a.pos[0]) == 0) {
            printf("forgot token for %s\n", a.pos[0]);
            return 0;
        }
        fprintf(stderr, "no saved token for %s\n", a.pos[0]);
        return 1;
    }
    if (strcmp(sub, "list") != 0) {
        fprintf(stderr, "usage: dnsmesh token {list,forget} ...\n");
        return 2;
    }
    dn_parse("token list", "[--json]", argc - 1, argv + 1, lo, 1, 0, 0, &a);
    char dir[DMP_CLIENT_PATH];
    json_t *rows = json_array();
    if (dmp_client_tokens_dir(dir, sizeof(dir)) == 0) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
                continue;
            char p[DMP_CLIENT_PATH + 300];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            json_error_t je;
            json_t *j = json_load_file(p, 0, &je);
            if (json_is_object(j))
                json_array_append(rows, j);
            json_decref(j);
        }
        if (d)
            closedir(d);
    }
    if (a.set[0]) {
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            const char *t = json_string_value(json_object_get(r, "token"));
            size_t tl = t ? strlen(t) : 0;
            char pre[40];
            snprintf(pre, sizeof(pre), "%.16s%s", t ? t : "", tl > 16 ? "…" : "");
            json_object_del(r, "token");
            json_object_set_new(r, "token_prefix", json_string(pre));
            json_object_set_new(r, "token_len", json_integer((json_int_t)tl));
        }
        char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
    } else if (!json_array_size(rows)) {
        printf("(no saved tokens)\n");
    } else {
        printf("%-30s %-30s %-22s\n", "NODE", "SUBJECT", "EXPIRES");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            json_t *ex = json_object_get(r, "expires_at");
            char es[32] = "-";
            if (json_is_integer(ex))
                iso(json_integer_value(ex), es, sizeof(es));
            const char *node = json_string_value(json_object_get(r, "node"));
            const char *subj = json_string_value(json_object_get(r, "subject"));
            printf("%-30s %-30s %-22s\n", node ? node : "?", subj ? subj : "?", es);
        }
    }
    json_decref(rows);
    return 0;
}

/* ---------------------------------------------------------------- resolvers */

static const char *const well_known[] = {"1.1.1.1",        "1.0.0.1",       "8.8.8.8",
                                         "8.8.4.4",        "9.9.9.9",       "149.112.112.112",
                                         "208.67.222.222", "208.67.220.220"};

int cmd_resolvers(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    dn_args_t a;
    if (strcmp(sub, "list") == 0) {
        dn_parse("resolvers list", "", argc - 1, argv + 1, NULL, 0, 0, 0, &a);
        dmp_client_session_t s;
        dn_session(&s, false);
        if (!s.cfg.n_resolvers)
            printf("(no resolvers configured — using dns_host / system resolver)\n");
        for (size_t i = 0; i < s.cfg.n_resolvers; i++)
            printf("%s\n", s.cfg.dns_resolvers[i]);
        dmp_client_session_free(&s);
        return 0;
    }
    if (strcmp(sub, "discover") != 0) {
        fprintf(stderr, "usage: dnsmesh resolvers {discover,list} ...\n");
        return 2;
    }
    static const dn_opt_t o[] = {{"--save", false, NULL}, {"--timeout", true, "2.0"}};
    dn_parse("resolvers discover", "[--save] [--timeout SECONDS]", argc - 1, argv + 1, o, 2, 0, 0,
             &a);
    double t;
    if (dmp_parse_double(a.val[1], 0.01, 60, &t))
        dn_die(2, "argument --timeout: invalid float value: '%s'", a.val[1]);
    /* DNSMESH_DISCOVER_CANDIDATES replaces the public list (tests use loopback ones) */
    const char *env = getenv("DNSMESH_DISCOVER_CANDIDATES");
    char *envdup = env ? strdup(env) : NULL;
    const char *cand[32];
    size_t nc = 0;
    if (envdup) {
        for (char *sv = NULL, *tok = strtok_r(envdup, ",", &sv); tok && nc < 32;
             tok = strtok_r(NULL, ",", &sv))
            cand[nc++] = tok;
    } else {
        for (size_t i = 0; i < sizeof(well_known) / sizeof(well_known[0]); i++)
            cand[nc++] = well_known[i];
    }
    const char *working[32];
    size_t nw = 0;
    for (size_t i = 0; i < nc; i++) {
        dmp_client_dns_t d;
        dmp_client_dns_init(&d);
        d.timeout_ms = d.lifetime_ms = (int)(t * 1000);
        dmp_client_txtset_t ts;
        dmp_client_txtset_init(&ts);
        if (dmp_client_dns_add(&d, cand[i], 53) == 0 &&
            dmp_client_dns_txt(&d, "google.com", &ts) != DMP_EIO)
            working[nw++] = cand[i];
        dmp_client_txtset_free(&ts);
        dmp_client_dns_free(&d);
    }
    if (!nw)
        dn_die(2, "resolver discovery failed: no resolver answered");
    printf("discovered %zu working resolver(s):\n", nw);
    for (size_t i = 0; i < nw; i++)
        printf("  %s\n", working[i]);
    if (a.set[0]) {
        dmp_client_session_t s;
        dn_session(&s, false);
        free(s.cfg.dns_resolvers);
        s.cfg.dns_resolvers = NULL;
        s.cfg.n_resolvers = 0;
        for (size_t i = 0; i < nw; i++)
            dmp_client_config_add_resolver(&s.cfg, working[i]);
        dn_save(&s);
        printf("saved %zu resolvers to %s\n", nw, s.config_path);
        dmp_client_session_free(&s);
    }
    free(envdup);
    return 0;
}

/* ---------------------------------------------------------------- cluster */

static void print_manifest(const dmp_wire_cluster_t *m, bool nodes)
{
    printf("cluster: %s\n  seq:   %llu\n  exp:   %llu\n  nodes: %zu\n", m->cluster_name,
           (unsigned long long)m->seq, (unsigned long long)m->exp, m->n_nodes);
    for (size_t i = 0; nodes && i < m->n_nodes; i++)
        printf("    %s  http=%s  dns=%s\n", m->nodes[i].node_id, m->nodes[i].http_endpoint,
               m->nodes[i].dns_endpoint_len ? m->nodes[i].dns_endpoint : "(via bootstrap reader)");
}

static void need_anchors(dmp_client_session_t *s)
{
    if (!dmp_client_cluster_pinned(&s->cfg))
        dn_die(1, "cluster anchors not pinned — run `dnsmesh cluster pin <operator_spk_hex> "
                  "<base_domain>` first");
}

int cmd_cluster(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    dn_args_t a;
    dmp_client_session_t s;
    if (strcmp(sub, "pin") == 0) {
        dn_parse("cluster pin", "OPERATOR_SPK BASE_DOMAIN", argc - 1, argv + 1, NULL, 0, 2, 2, &a);
        dn_session(&s, false);
        uint8_t k[32];
        if (strlen(a.pos[0]) != 64 || dmp_hex_decode(a.pos[0], 64, k, 32))
            dn_die(1, "operator_spk must be 64 hex chars (32 bytes Ed25519)");
        if (dmp_wire_dns_name_check(a.pos[1], strlen(a.pos[1]), NULL))
            dn_die(1, "invalid base_domain: %s", a.pos[1]);
        snprintf(s.cfg.cluster_operator_spk, sizeof(s.cfg.cluster_operator_spk), "%s", a.pos[0]);
        for (char *p = s.cfg.cluster_operator_spk; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        snprintf(s.cfg.cluster_base_domain, sizeof(s.cfg.cluster_base_domain), "%s", a.pos[1]);
        s.cfg.cluster_enabled = false;
        dn_save(&s);
        printf("pinned cluster operator key and base domain %s\nnext:\n  1. `dnsmesh cluster "
               "fetch` to verify the manifest resolves\n  2. `dnsmesh cluster enable` to cut "
               "over from the legacy endpoint\n",
               a.pos[1]);
    } else if (strcmp(sub, "fetch") == 0 || strcmp(sub, "enable") == 0 ||
               strcmp(sub, "status") == 0) {
        static const dn_opt_t fo[] = {{"--save", false, NULL}};
        bool fetch = strcmp(sub, "fetch") == 0;
        dn_parse(fetch                        ? "cluster fetch"
                 : strcmp(sub, "enable") == 0 ? "cluster enable"
                                              : "cluster status",
                 fetch ? "[--save]" : "", argc - 1, argv + 1, fo, fetch ? 1 : 0, 0, 0, &a);
        dn_session(&s, false);
        need_anchors(&s);
        dmp_wire_cluster_t *m = malloc(sizeof(*m));
        char *wire = malloc(2048);
        if (!m || !wire)
            dn_die(1, "out of memory");
        if (dmp_client_cluster_fetch(&s, m, wire, 2048))
            dn_die(2, "no verifying cluster manifest at cluster.%s", s.cfg.cluster_base_domain);
        if (fetch) {
            print_manifest(m, true);
            if (a.set[0]) {
                char p[DMP_CLIENT_PATH];
                dmp_client_home_path("cluster_manifest.wire", p, sizeof(p));
                if (dmp_client_write_atomic(p, wire, strlen(wire), 0600))
                    dn_die(1, "cannot write %s", p);
                printf("saved signed manifest wire to %s\n", p);
            }
        } else if (strcmp(sub, "enable") == 0) {
            print_manifest(m, false);
            bool was = s.cfg.cluster_enabled;
            s.cfg.cluster_enabled = true;
            dn_save(&s);
            printf(was ? "cluster mode already enabled — manifest verified, state unchanged.\n"
                       : "cluster mode enabled.\n");
        } else {
            printf("cluster: %s (seq=%llu, exp=%llu)\ncluster_enabled: %s\n", m->cluster_name,
                   (unsigned long long)m->seq, (unsigned long long)m->exp,
                   s.cfg.cluster_enabled ? "True" : "False");
            printf("fan-out writer snapshot:\n");
            for (size_t i = 0; i < m->n_nodes; i++) {
                dmp_client_http_t h;
                int st = 0;
                bool up = dmp_client_http_init(&h, m->nodes[i].http_endpoint, NULL, 1) == 0 &&
                          dmp_client_http_request(&h, "GET", "/health", NULL, &st, NULL) == 0 &&
                          st == 200;
                dmp_client_http_free(&h);
                printf("  %s  %s  %s\n", m->nodes[i].node_id, m->nodes[i].http_endpoint,
                       up ? "healthy" : "unreachable");
            }
            printf("union reader snapshot:\n");
            for (size_t i = 0; i < m->n_nodes; i++) {
                if (!m->nodes[i].dns_endpoint_len) {
                    printf("  %s  (via bootstrap reader)\n", m->nodes[i].node_id);
                    continue;
                }
                dmp_client_dns_t d;
                dmp_client_dns_init(&d);
                d.timeout_ms = d.lifetime_ms = 2000;
                dmp_client_txtset_t ts;
                dmp_client_txtset_init(&ts);
                char name[DMP_WIRE_NAME_MAX];
                dmp_wire_name_cluster(s.cfg.cluster_base_domain, name, sizeof(name));
                bool up = dmp_client_dns_add(&d, m->nodes[i].dns_endpoint, 53) == 0 &&
                          dmp_client_dns_txt(&d, name, &ts) != DMP_EIO;
                printf("  %s  %s  %s\n", m->nodes[i].node_id, m->nodes[i].dns_endpoint,
                       up ? "healthy" : "unreachable");
                dmp_client_txtset_free(&ts);
                dmp_client_dns_free(&d);
            }
        }
        free(m);
        free(wire);
    } else if (strcmp(sub, "disable") == 0) {
        dn_parse("cluster disable", "", argc - 1, argv + 1, NULL, 0, 0, 0, &a);
        dn_session(&s, false);
        bool was = s.cfg.cluster_enabled;
        s.cfg.cluster_enabled = false;
        dn_save(&s);
        printf(was ? "cluster mode disabled. Pinned anchors kept; `dnsmesh cluster enable` to "
                     "re-enable.\n"
                   : "cluster mode already disabled — state unchanged.\n");
    } else {
        fprintf(stderr, "usage: dnsmesh cluster {pin,fetch,status,enable,disable} ...\n");
        return 2;
    }
    dmp_client_session_free(&s);
    return 0;
}

/* ---------------------------------------------------------------- bootstrap */

int cmd_bootstrap(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    dn_args_t a;
    dmp_client_session_t s;
    if (strcmp(sub, "pin") == 0) {
        dn_parse("bootstrap pin", "USER_DOMAIN SIGNER_SPK", argc - 1, argv + 1, NULL, 0, 2, 2, &a);
        dn_session(&s, false);
        uint8_t k[32];
        if (strlen(a.pos[1]) != 64 || dmp_hex_decode(a.pos[1], 64, k, 32))
            dn_die(1, "signer_spk must be 64 hex chars (32 bytes Ed25519)");
        if (dmp_wire_dns_name_check(a.pos[0], strlen(a.pos[0]), NULL))
            dn_die(1, "invalid user_domain: %s", a.pos[0]);
        snprintf(s.cfg.bootstrap_user_domain, sizeof(s.cfg.bootstrap_user_domain), "%s", a.pos[0]);
        snprintf(s.cfg.bootstrap_signer_spk, sizeof(s.cfg.bootstrap_signer_spk), "%s", a.pos[1]);
        dn_save(&s);
        printf("pinned bootstrap signer for %s\n", a.pos[0]);
        dmp_client_session_free(&s);
        return 0;
    }
    bool discover = strcmp(sub, "discover") == 0;
    if (!discover && strcmp(sub, "fetch") != 0) {
        fprintf(stderr, "usage: dnsmesh bootstrap {pin,fetch,discover} ...\n");
        return 2;
    }
    static const dn_opt_t fo[] = {
        {"--user-domain", true, NULL}, {"--signer-spk", true, NULL}, {"--auto-pin", false, NULL}};
    if (discover)
        dn_parse("bootstrap discover", "ADDRESS [--signer-spk HEX] [--auto-pin]", argc - 1,
                 argv + 1, fo + 1, 2, 1, 1, &a);
    else
        dn_parse("bootstrap fetch", "[--user-domain D] [--signer-spk HEX]", argc - 1, argv + 1, fo,
                 2, 0, 0, &a);
    dn_session(&s, false);
    const char *dom = NULL, *spkh = NULL;
    if (discover) {
        const char *at = strchr(a.pos[0], '@');
        dom = at ? at + 1 : a.pos[0];
        spkh = a.val[0] ? a.val[0] : s.cfg.bootstrap_signer_spk;
    } else {
        dom = a.val[0] ? a.val[0] : s.cfg.bootstrap_user_domain;
        spkh = a.val[1] ? a.val[1] : s.cfg.bootstrap_signer_spk;
    }
    uint8_t spk[32];
    if (!dom || !dom[0] || !spkh || strlen(spkh) != 64 || dmp_hex_decode(spkh, 64, spk, 32))
        dn_die(1, "bootstrap anchors missing — pass --user-domain/--signer-spk or run "
                  "`dnsmesh bootstrap pin` first");
    dn_net(&s, false);
    char name[DMP_WIRE_NAME_MAX];
    if (dmp_wire_name_bootstrap(dom, name, sizeof(name)))
        dn_die(1, "invalid user domain %s", dom);
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    dmp_wire_bootstrap_t *b = malloc(sizeof(*b));
    bool found = false;
    if (b && dmp_client_query(&s, name, &t) == 0)
        for (size_t i = 0; i < t.n && !found; i++)
            found = dmp_wire_bootstrap_parse(t.v[i].data, t.v[i].len, spk, dmp_client_now(&s), dom,
                                             b) == 0;
    if (!found)
        dn_die(2, "no verifying bootstrap record at %s", name);
    printf("bootstrap: %s (seq=%llu, exp=%llu)\n", b->user_domain, (unsigned long long)b->seq,
           (unsigned long long)b->exp);
    for (size_t i = 0; i < b->n_entries; i++) {
        char op[65];
        dmp_hex_encode(b->entries[i].operator_spk, 32, op, sizeof(op));
        printf("  priority=%u  cluster=%s  operator_spk=%s\n", b->entries[i].priority,
               b->entries[i].cluster_base_domain, op);
    }
    if (discover && a.set[1] && b->n_entries) {
        dmp_hex_encode(b->entries[0].operator_spk, 32, s.cfg.cluster_operator_spk,
                       sizeof(s.cfg.cluster_operator_spk));
        snprintf(s.cfg.cluster_base_domain, sizeof(s.cfg.cluster_base_domain), "%s",
                 b->entries[0].cluster_base_domain);
        snprintf(s.cfg.bootstrap_user_domain, sizeof(s.cfg.bootstrap_user_domain), "%s", dom);
        snprintf(s.cfg.bootstrap_signer_spk, sizeof(s.cfg.bootstrap_signer_spk), "%s", spkh);
        dmp_wire_cluster_t *m = malloc(sizeof(*m));
        if (!m || dmp_client_cluster_fetch(&s, m, NULL, 0))
            dn_die(2, "%s", s.err);
        free(m);
        s.cfg.cluster_enabled = true;
        dn_save(&s);
        printf("pinned cluster %s and enabled cluster mode\n", s.cfg.cluster_base_domain);
    }
    free(b);
    dmp_client_txtset_free(&t);
    dmp_client_session_free(&s);
    return 0;
}

/* ---------------------------------------------------------------- peers */

int cmd_peers(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--json", false, NULL}, {"--timeout", true, "5.0"}};
    dn_args_t a;
    dn_parse("peers", "ZONE [--json] [--timeout SECONDS]", argc, argv, o, 2, 1, 1, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    dn_net(&s, false);
    const char *zone = a.pos[0];
    char hb[DMP_WIRE_NAME_MAX], seen[DMP_WIRE_NAME_MAX];
    if (dmp_wire_name_heartbeat(zone, hb, sizeof(hb)) ||
        dmp_wire_name_seen(zone, seen, sizeof(seen)))
        dn_die(1, "invalid zone %s", zone);
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    int64_t now = dmp_client_now(&s);
    int rc = dmp_client_query(&s, hb, &t);
    if (rc == DMP_EIO)
        dn_die(2, "DNS query for %s failed: no resolver answered", hb);
    dmp_wire_heartbeat_t self;
    bool have_self = false;
    for (size_t i = 0; !rc && i < t.n && !have_self; i++)
        have_self = dmp_wire_heartbeat_parse(t.v[i].data, t.v[i].len, now, -1, &self) == 0;
    rc = dmp_client_query(&s, seen, &t);
    if (rc == DMP_EIO)
        dn_die(2, "DNS query for %s failed: no resolver answered", seen);
    json_t *peers = json_array();
    for (size_t i = 0; !rc && i < t.n; i++) {
        dmp_wire_heartbeat_t h;
        if (dmp_wire_heartbeat_parse(t.v[i].data, t.v[i].len, now, -1, &h))
            continue;
        char op[65];
        dmp_hex_encode(h.operator_spk, 32, op, sizeof(op));
        json_array_append_new(peers,
                              json_pack("{s:s,s:s,s:s,s:I}", "endpoint", h.endpoint, "operator_spk",
                                        op, "version", h.version, "ts", (json_int_t)h.ts));
    }
    if (a.set[0]) {
        json_t *j = json_object();
        json_object_set_new(j, "zone", json_string(zone));
        if (have_self) {
            char op[65];
            dmp_hex_encode(self.operator_spk, 32, op, sizeof(op));
            json_object_set_new(j, "self",
                                json_pack("{s:s,s:s,s:s,s:s}", "endpoint", self.endpoint,
                                          "operator_spk", op, "claim_provider_zone",
                                          self.claim_provider_zone, "version", self.version));
        } else {
            json_object_set_new(j, "self", json_null());
        }
        json_object_set(j, "peers", peers);
        char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", out);
        free(out);
        json_decref(j);
    } else {
        printf("zone:    %s\n", zone);
        if (!have_self) {
            printf("  (_dnsmesh-heartbeat.%s not published yet)\n", zone);
        } else {
            char op[65];
            dmp_hex_encode(self.operator_spk, 32, op, sizeof(op));
            printf("  self endpoint: %s\n  operator spk:  %s\n  claim zone:    %s\n  version:    "
                   "   %s\n",
                   self.endpoint, op, self.zone_len ? self.claim_provider_zone : "-", self.version);
        }
        printf("\n");
        if (!json_array_size(peers)) {
            printf("(no peers seen yet)\n");
        } else {
            printf("peers (%zu):\n", json_array_size(peers));
            size_t i;
            json_t *p;
            json_array_foreach(peers, i, p)
            {
                json_int_t ts = json_integer_value(json_object_get(p, "ts"));
                printf("  %s\n    spk=%.16s...  version=%s  last heard %llds ago\n",
                       json_string_value(json_object_get(p, "endpoint")),
                       json_string_value(json_object_get(p, "operator_spk")),
                       json_string_value(json_object_get(p, "version")),
                       (long long)(now - (int64_t)ts));
            }
        }
    }
    json_decref(peers);
    dmp_client_txtset_free(&t);
    dmp_client_session_free(&s);
    return 0;
}

/* ---------------------------------------------------------------- node */

int cmd_node(int argc, char **argv)
{
    static const dn_opt_t o[] = {
        {"--db-path", true, NULL}, {"--dns-port", true, NULL}, {"--http-port", true, NULL}};
    dn_args_t a;
    dn_parse("node", "[--db-path P] [--dns-port N] [--http-port N]", argc, argv, o, 3, 0, 0, &a);
    /* dnsmeshd beside this binary, else on PATH */
    char self[PATH_MAX], prog[PATH_MAX + 32] = "dnsmeshd";
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(prog, sizeof(prog), "%s/dnsmeshd", self) >= (int)sizeof(prog) ||
                access(prog, X_OK) != 0) { /* build tree: tools/dnsmesh -> src/node */
                if (snprintf(prog, sizeof(prog), "%s/../../src/node/dnsmeshd", self) >=
                        (int)sizeof(prog) ||
                    access(prog, X_OK) != 0)
                    snprintf(prog, sizeof(prog), "dnsmeshd");
            }
        }
    }
    char *args[8];
    char b[3][PATH_MAX + 32];
    int k = 0;
    args[k++] = prog;
    const char *flag[3] = {"--db-path", "--dns-port", "--http-port"};
    for (int i = 0; i < 3; i++)
        if (a.val[i]) {
            snprintf(b[i], sizeof(b[i]), "%s=%s", flag[i], a.val[i]);
            args[k++] = b[i];
        }
    args[k] = NULL;
    execvp(prog, args);
    dn_die(1, "cannot run %s: %s", prog, strerror(errno));
}

/* ---------------------------------------------------------------- doctor */

static const char *const public_resolvers[] = {"1.1.1.1", "1.0.0.1", "8.8.8.8",
                                               "8.8.4.4", "9.9.9.9", "149.112.112.112"};

int cmd_doctor(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--repair", false, NULL}};
    dn_args_t a;
    dn_parse("doctor", "[--repair]", argc, argv, o, 1, 0, 0, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    int fails = 0;
    char host[256] = "";
    if (!s.cfg.endpoint[0]) {
        printf("[WARN] no endpoint configured — publishing needs one\n");
    } else {
        dmp_client_http_t h;
        int st = 0;
        bool ok = dmp_client_http_init(&h, s.cfg.endpoint, NULL, 1) == 0 &&
                  dmp_client_http_request(&h, "GET", "/health", NULL, &st, NULL) == 0 && st == 200;
        dmp_client_http_free(&h);
        printf("[%s] node health at %s/health%s\n", ok ? " OK " : "FAIL", s.cfg.endpoint,
               ok ? "" : " (unreachable or not healthy)");
        fails += !ok;
        dmp_client_endpoint_host(s.cfg.endpoint, host, sizeof(host));
    }
    if (s.cfg.local_node_dns_server[0]) {
        bool ok =
            dn_dmp_dns_at(s.cfg.local_node_dns_server, (uint16_t)s.cfg.local_node_dns_port, 1500);
        printf("[%s] local node DNS %s:%lld%s\n", ok ? " OK " : "FAIL", s.cfg.local_node_dns_server,
               (long long)s.cfg.local_node_dns_port,
               ok ? " answers like a DMP node" : " does not answer like a DMP node");
        fails += !ok;
    } else if (host[0]) {
        printf("[WARN] local_node_dns_server not set — `dnsmesh doctor --repair` probes it\n");
    }
    if (s.cfg.dns_host_set && !s.cfg.local_node_dns_server[0])
        for (size_t i = 0; i < sizeof(public_resolvers) / sizeof(public_resolvers[0]); i++)
            if (strcmp(s.cfg.dns_host, public_resolvers[i]) == 0) {
                printf("[FAIL] dns_host %s is a public resolver and no local node DNS is set\n",
                       s.cfg.dns_host);
                fails++;
            }
    printf("[%s] TSIG key %s\n", s.cfg.tsig_key_name[0] ? " OK " : "INFO",
           s.cfg.tsig_key_name[0] ? "configured" : "not configured (HTTP writer in use)");
    if (a.set[0] && host[0]) {
        const uint16_t ports[] = {5353, 53};
        for (size_t i = 0; i < 2; i++)
            if (dn_dmp_dns_at(host, ports[i], 1500)) {
                snprintf(s.cfg.local_node_dns_server, sizeof(s.cfg.local_node_dns_server), "%s",
                         host);
                s.cfg.local_node_dns_port = ports[i];
                dn_save(&s);
                printf("repaired: local_node_dns_server=%s local_node_dns_port=%u\n", host,
                       ports[i]);
                break;
            }
    }
    dmp_client_session_free(&s);
    return fails ? 1 : 0;
}

/* ---------------------------------------------------------------- register / tsig register */

static int do_register(int argc, char **argv, bool tsig)
{
    static const dn_opt_t o[] = {{"--node", true, NULL},
                                 {"--subject", true, NULL},
                                 {"--scheme", true, "https"},
                                 {"--dns-server", true, ""},
                                 {"--dns-port", true, "53"}};
    enum { NODE, SUBJ, SCHEME, DNSSRV, DNSPORT };
    dn_args_t a;
    dn_parse(tsig ? "tsig register" : "register",
             tsig ? "--node HOST [--subject S] [--scheme https|http] [--dns-server H] "
                    "[--dns-port N]"
                  : "--node HOST [--subject S] [--scheme https|http]",
             argc, argv, o, tsig ? 5 : 3, 0, 0, &a);
    if (!a.val[NODE])
        dn_die(2, "the following arguments are required: --node");
    if (strcmp(a.val[SCHEME], "https") != 0 && strcmp(a.val[SCHEME], "http") != 0)
        dn_die(2, "argument --scheme: invalid choice: '%s'", a.val[SCHEME]);
    dmp_client_session_t s;
    dn_session(&s, false);
    if (!s.cfg.username[0])
        dn_die(1, "no local config — run `dnsmesh init <username>` before `dnsmesh register`");
    if (dmp_client_session_identity(&s))
        dn_die(1, "%s", s.err);
    char subject[2 * DMP_CLIENT_STR + 2];
    if (a.val[SUBJ])
        snprintf(subject, sizeof(subject), "%s", a.val[SUBJ]);
    else
        snprintf(subject, sizeof(subject), "%s@%s", s.cfg.username, s.domain);
    const char *nh = a.val[NODE];
    const char *sch = strstr(nh, "://");
    char node_host[256];
    snprintf(node_host, sizeof(node_host), "%s", sch ? sch + 3 : nh);
    size_t l = strlen(node_host);
    while (l && node_host[l - 1] == '/')
        node_host[--l] = 0;
    char base[300];
    snprintf(base, sizeof(base), "%s://%s", a.val[SCHEME], node_host);
    dmp_client_http_t h;
    if (dmp_client_http_init(&h, base, NULL, 1))
        dn_die(1, "invalid --node %s", a.val[NODE]);
    int st = 0;
    dmp_buf_t body;
    dmp_buf_init(&body);
    if (dmp_client_http_request(&h, "GET", "/v1/registration/challenge", NULL, &st, &body) ||
        st == 0)
        dn_die(2, "cannot reach %s", base);
    if (st == 404)
        dn_die(1,
               "%s did not accept the challenge request (404). The node may not have "
               "DMP_REGISTRATION_ENABLED=1, or auth_mode is not multi-tenant. Ask the operator.",
               a.val[NODE]);
    if (st == 429)
        dn_die(2, "registration rate-limited (429). Try again later.");
    if (st != 200)
        dn_die(2, "challenge request failed: HTTP %d: %.*s", st, (int)body.len,
               (const char *)body.data);
    json_error_t je;
    json_t *ch = json_loadb((const char *)body.data, body.len, 0, &je);
    const char *chx = json_string_value(json_object_get(ch, "challenge"));
    const char *node = json_string_value(json_object_get(ch, "node"));
    const char *srv_pub = json_string_value(json_object_get(ch, "server_x25519_pub"));
    uint8_t challenge[32];
    if (!chx || !node || strlen(chx) != 64 || dmp_hex_decode(chx, 64, challenge, 32))
        dn_die(2, "malformed challenge response: %.*s", (int)body.len, (const char *)body.data);
    uint8_t sig[64];
    if (dmp_crypto_registration_sign(s.id.ed_sk, challenge, subject, strlen(subject), node,
                                     strlen(node), sig))
        dn_die(1, "could not sign the registration");
    char sigh[129], spkh[65], xh[65], poph[65];
    dmp_hex_encode(sig, 64, sigh, sizeof(sigh));
    dmp_hex_encode(s.id.ed_pk, 32, spkh, sizeof(spkh));
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "subject", subject, "ed25519_spk", spkh,
                            "challenge", chx, "signature", sigh);
    if (tsig) {
        dmp_hex_encode(s.id.x25519_pk, 32, xh, sizeof(xh));
        json_object_set_new(req, "x25519_pub", json_string(xh));
        uint8_t sp[32], pop[32];
        if (srv_pub && strlen(srv_pub) == 64 && dmp_hex_decode(srv_pub, 64, sp, 32) == 0 &&
            dmp_crypto_x25519_pop(s.id.x25519_sk, sp, challenge, subject, strlen(subject),
                                  s.id.x25519_pk, pop) == 0) {
            dmp_hex_encode(pop, 32, poph, sizeof(poph));
            json_object_set_new(req, "x25519_pop", json_string(poph));
        }
    }
    char *reqs = json_dumps(req, JSON_COMPACT);
    body.len = 0;
    if (dmp_client_http_request(&h, "POST",
                                tsig ? "/v1/registration/tsig-confirm" : "/v1/registration/confirm",
                                reqs, &st, &body) ||
        st == 0)
        dn_die(2, "confirm request failed to reach node");
    free(reqs);
    json_decref(req);
    if (st == 401)
        dn_die(1, "node rejected the signature (401). Usually means the signing key stored in "
                  "~/.dmp/config.yaml doesn't match the one the user thinks it does — re-check "
                  "the passphrase.");
    if (st == 403)
        dn_die(1,
               "subject '%s' is not in the node's allowlist (403). Ask the operator to add your "
               "domain, or register for a subject on a domain the operator permits.",
               subject);
    if (st == 409)
        dn_die(1,
               "subject '%s' is already held by a different key (409). If you previously "
               "registered on another machine, use that same passphrase here, or ask the "
               "operator to revoke the prior token via `dnsmesh-node-admin token revoke "
               "<subject>`.",
               subject);
    if (st != 200)
        dn_die(2, "confirm failed: HTTP %d: %.*s", st, (int)body.len, (const char *)body.data);
    json_t *r = json_loadb((const char *)body.data, body.len, 0, &je);
    char host[256];
    if (dmp_client_endpoint_host(base, host, sizeof(host)))
        dn_die(1, "invalid --node %s", a.val[NODE]);
    if (!tsig) {
        const char *tok = json_string_value(json_object_get(r, "token"));
        if (!tok || !*tok)
            dn_die(2, "confirm returned no token: %.*s", (int)body.len, (const char *)body.data);
        json_t *ex = json_object_get(r, "expires_at");
        const char *sj = json_string_value(json_object_get(r, "subject"));
        if (dmp_client_token_save(host, sj ? sj : subject, tok,
                                  json_is_integer(ex) ? json_integer_value(ex) : 0, spkh,
                                  dmp_client_now(&s)))
            dn_die(1, "cannot save the token for %s", host);
        char dir[DMP_CLIENT_PATH];
        dmp_client_tokens_dir(dir, sizeof(dir));
        printf("registered %s on %s\n  token saved to %s/%s.json (mode 0600)\n", subject, node_host,
               dir, host);
        if (json_is_integer(ex)) {
            char ts[32];
            iso(json_integer_value(ex), ts, sizeof(ts));
            printf("  expires at %s\n", ts);
        }
        printf("  subsequent `dnsmesh identity publish` / `dnsmesh send` to this node will use "
               "this token automatically.\n");
    } else {
        /* the reference's tsig-confirm answers tsig_key_name / tsig_secret_hex / tsig_algorithm */
        const char *kn = json_string_value(json_object_get(r, "tsig_key_name"));
        const char *sec = json_string_value(json_object_get(r, "tsig_secret_hex"));
        const char *alg = json_string_value(json_object_get(r, "tsig_algorithm"));
        const char *zone = json_string_value(json_object_get(r, "zone"));
        if (!kn || !sec || !zone)
            dn_die(2, "tsig-confirm returned no key: %.*s", (int)body.len, (const char *)body.data);
        snprintf(s.cfg.tsig_key_name, sizeof(s.cfg.tsig_key_name), "%s", kn);
        snprintf(s.cfg.tsig_secret_hex, sizeof(s.cfg.tsig_secret_hex), "%s", sec);
        snprintf(s.cfg.tsig_algorithm, sizeof(s.cfg.tsig_algorithm), "%s",
                 alg ? alg : "hmac-sha256");
        snprintf(s.cfg.tsig_zone, sizeof(s.cfg.tsig_zone), "%s", zone);
        snprintf(s.cfg.tsig_dns_server, sizeof(s.cfg.tsig_dns_server), "%s",
                 a.val[DNSSRV][0] ? a.val[DNSSRV] : host);
        s.cfg.tsig_dns_port = dn_int(&a, o, DNSPORT, 1, 65535);
        dn_save(&s);
        printf("registered %s on %s\n  TSIG key:  %s\n  algorithm: %s\n  zone:      %s\n  DNS:   "
               "    %s:%lld/udp\n",
               subject, node_host, kn, s.cfg.tsig_algorithm, zone, s.cfg.tsig_dns_server,
               (long long)s.cfg.tsig_dns_port);
        json_t *suf = json_object_get(r, "allowed_suffixes");
        if (json_array_size(suf)) {
            printf("  scope:\n");
            size_t k;
            json_t *v;
            json_array_foreach(suf, k, v) printf("    - %s\n", json_string_value(v));
        }
        json_t *ex = json_object_get(r, "expires_at");
        if (json_is_integer(ex) && json_integer_value(ex) > 0) {
            char ts[32];
            iso(json_integer_value(ex), ts, sizeof(ts));
            printf("  expires:   %s\n", ts);
        }
        printf("  subsequent `dnsmesh identity publish` / `dnsmesh send` will go over DNS UPDATE "
               "through the node's DNS port.\n");
    }
    json_decref(ch);
    json_decref(r);
    dmp_buf_free(&body);
    dmp_client_http_free(&h);
    dmp_client_session_free(&s);
    return 0;
}

int cmd_register(int argc, char **argv)
{
    return do_register(argc, argv, false);
}

int cmd_tsig(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "register") == 0)
        return do_register(argc - 1, argv + 1, true);
    fprintf(stderr, "usage: dnsmesh tsig {register} ...\n");
    return 2;
}
