/* dnsmesh-admin: operator tooling for a dnsmeshd node. Works on a stopped node's RocksDB store
 * (--db, or DMP_DB_PATH) or through a running node's HTTP API (--node URL with the operator
 * token). Both run the same commands (dmp_node_admin_run), so the answers are the same.
 * Exit status: 0 done, 1 failed / not found, 2 bad usage. */
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "node/node.h"

static const char USAGE[] =
    "usage: dnsmesh-admin [--db PATH | --node URL [--token TOKEN]] [--json] COMMAND ...\n"
    "\n"
    "Operator tooling for a dnsmeshd node: multi-tenant tokens, their audit log, the\n"
    "registration settings and a name's records.\n"
    "\n"
    "Where:\n"
    "  --db PATH      the node's RocksDB store (default $DMP_DB_PATH or /var/lib/dmp/dmp.db);\n"
    "                 the node must be stopped (RocksDB allows one process)\n"
    "  --node URL     a running node's HTTP API, e.g. http://127.0.0.1:8053\n"
    "  --token TOKEN  its operator token (default $DMP_OPERATOR_TOKEN)\n"
    "  --json         print JSON instead of text\n"
    "\n"
    "Commands:\n"
    "  token issue SUBJECT [--expires DUR] [--rate F] [--burst N] [--note TEXT]\n"
    "                      [--with-prekey-scope X25519_HEX]\n"
    "      mint a token for SUBJECT (user@domain); it is printed once and never stored\n"
    "  token list [--subject S] [--include-revoked]\n"
    "  token revoke SUBJECT|HASH-PREFIX\n"
    "      revoke every live token of SUBJECT, else the one live token with that hash prefix\n"
    "  token rotate SUBJECT [--expires DUR] [--rate F] [--burst N]\n"
    "      revoke SUBJECT's live tokens and mint a new one\n"
    "  audit tail [--event E] [--limit N]\n"
    "      newest audit rows (events: issued revoked used rejected throttled; default 50)\n"
    "  registration show\n"
    "      self-service registration settings (local: from the DMP_* environment)\n"
    "  records NAME\n"
    "      the live values at NAME with TTL and expiry, and who may write it\n"
    "  tsig list|add|revoke ...   TSIG keys for DNS UPDATE (see dnsmesh-admin tsig --help)\n"
    "      on a stopped store or a running node; add prints the nsupdate key line\n"
    "  cluster sign --name BASE --seq N --key-file F --node ID=URL ... [--publish NODE_URL]\n"
    "      sign (and publish) a cluster manifest (first word; see dnsmesh-admin cluster --help)\n"
    "  bootstrap sign --domain D --seq N --key-file F --entry PRIO=BASE=SPK ... [--publish URL]\n"
    "      sign (and publish) a bootstrap record (first word; see dnsmesh-admin bootstrap --help)\n"
    "  import-reference REF_DB [--tokens PATH] [--tsig PATH]   (needs --db, node stopped)\n"
    "      copy a reference node's SQLite databases into the store: live records with their\n"
    "      stored time and expiry (REF_DB = its DMP_DB_PATH), tokens and the token audit log\n"
    "      (--tokens, else $DMP_TOKEN_DB_PATH, else <stem>_tokens<ext> beside REF_DB) and TSIG\n"
    "      keys (--tsig, else $DMP_TSIG_DB_PATH, else <stem>_tsig<ext>)\n"
    "  load FILE [--format zone|jsonl]   (needs --db; the node must be STOPPED)\n"
    "      bulk-load TXT records into the store through RocksDB table-file ingestion\n"
    "      (store created if missing): a zone file ($ORIGIN, $TTL, TXT records; other types\n"
    "      are skipped) or JSON lines {\"name\": ..., \"value\": ..., \"ttl\": ...}. Every\n"
    "      record is checked as POST /v1/records checks it (name and value rules, DMP_MAX_TTL,\n"
    "      DMP_MAX_VALUE_BYTES, DMP_MAX_VALUES_PER_NAME, answer size, from the DMP_*\n"
    "      environment) before anything is written: the first bad one is reported as\n"
    "      FILE:LINE and the store is left untouched. It bypasses the write path but leaves\n"
    "      the store as publishing the same records would (indexes, count, Merkle digests,\n"
    "      zone serial + 1; the journal holds the load as one change set up to 64 MiB, else\n"
    "      IXFR falls back to AXFR). It refuses a store a running node holds (RocksDB's\n"
    "      LOCK). Progress goes to stderr, a summary (with wall/CPU seconds per phase) to\n"
    "      stdout. If it is killed between its first ingestion and its final batch the store\n"
    "      is marked and will not open.\n"
    "\n"
    "DUR is digits with an optional unit s, m, h, d or w (90d, 12h; bare digits = seconds).\n"
    "Exit status: 0 done, 1 failed or not found, 2 bad usage.\n";

typedef struct {
    const char *db;
    const char *node;
    const char *token;
    bool json;
    const char *words[4];
    int nwords;
    /* command options */
    const char *expires, *rate, *burst, *note, *prekey, *subject, *event, *limit;
    const char *tokens_db, *tsig_db, *format;
    bool include_revoked;
} opts_t;

static int usage_error(const char *fmt, const char *a)
{
    fprintf(stderr, "dnsmesh-admin: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n(see dnsmesh-admin --help)\n");
    return 2;
}

/* ^[0-9]+[smhdw]?$ after stripping ASCII whitespace, as the reference's parse_duration. */
static int parse_duration(const char *s, int64_t *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0)
        return -1;
    int64_t mult = 1;
    switch (s[n - 1]) {
    case 's':
        n--;
        break;
    case 'm':
        mult = 60, n--;
        break;
    case 'h':
        mult = 3600, n--;
        break;
    case 'd':
        mult = 86400, n--;
        break;
    case 'w':
        mult = 604800, n--;
        break;
    default:
        break;
    }
    if (n == 0 || n > 12)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v * mult;
    return 0;
}

static void fmt_ts(json_t *v, char *out, size_t cap)
{
    if (!json_is_integer(v)) {
        snprintf(out, cap, "-");
        return;
    }
    time_t t = (time_t)json_integer_value(v);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

/* ---- text output ---- */
static void print_issued(json_t *r, const char *cmd)
{
    char exp[40];
    fmt_ts(json_object_get(r, "expires_at"), exp, sizeof(exp));
    if (strcmp(cmd, "rotate") == 0)
        printf("revoked %lld old token(s) for '%s'\n",
               (long long)json_integer_value(json_object_get(r, "revoked")),
               jstr(r, "subject", ""));
    printf("  subject:    %s\n", jstr(r, "subject", ""));
    if (json_is_string(json_object_get(r, "subject_hash12")))
        printf("  prekey h12: %s\n", jstr(r, "subject_hash12", ""));
    printf("  rate:       %g req/s  burst=%lld\n",
           json_number_value(json_object_get(r, "rate_per_sec")),
           (long long)json_integer_value(json_object_get(r, "rate_burst")));
    printf("  expires:    %s\n\n", exp);
    printf("  token (copy it now: it is not stored and cannot be shown again):\n      %s\n",
           jstr(r, "token", ""));
    const char *note = jstr(r, "note", "");
    if (*note)
        printf("\n  note: %s\n", note);
}

static void print_list(json_t *arr)
{
    if (json_array_size(arr) == 0) {
        printf("(no tokens)\n");
        return;
    }
    printf("%-18s  %-28s  %-20s  %-20s  %-20s  %s\n", "HASH-PREFIX", "SUBJECT", "ISSUED", "EXPIRES",
           "REVOKED", "STATUS");
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        char iss[40], exp[40], rev[40];
        fmt_ts(json_object_get(r, "issued_at"), iss, sizeof(iss));
        fmt_ts(json_object_get(r, "expires_at"), exp, sizeof(exp));
        fmt_ts(json_object_get(r, "revoked_at"), rev, sizeof(rev));
        printf("%-18.16s  %-28s  %-20s  %-20s  %-20s  %s\n", jstr(r, "token_hash", ""),
               jstr(r, "subject", ""), iss, exp, rev,
               json_is_true(json_object_get(r, "live")) ? "live" : "inactive");
    }
}

static void print_audit(json_t *arr)
{
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r)
    {
        char ts[40], h[20];
        fmt_ts(json_object_get(r, "ts"), ts, sizeof(ts));
        const char *th = jstr(r, "token_hash", NULL);
        snprintf(h, sizeof(h), "%.12s%s", th ? th : "-", th ? "..." : "");
        printf("%s  %-10s  subject=%-24s  hash=%-15s  addr=%-16s  %s\n", ts, jstr(r, "event", ""),
               jstr(r, "subject", "-"), h, jstr(r, "remote_addr", "-"), jstr(r, "detail", ""));
    }
    if (json_array_size(arr) == 0)
        printf("(no audit rows)\n");
}

static void print_registration(json_t *r)
{
    printf("self-service registration: %s\n",
           json_is_true(json_object_get(r, "open")) ? "open" : "closed");
    if (json_is_string(json_object_get(r, "closed_because")))
        printf("  closed because:     %s\n", jstr(r, "closed_because", ""));
    printf("  auth mode:          %s\n", jstr(r, "auth_mode", ""));
    printf("  node hostname:      %s\n", jstr(r, "node_hostname", "(unset)"));
    printf("  served zone:        %s\n", jstr(r, "served_zone", "(unset)"));
    json_t *al = json_object_get(r, "allowlist");
    printf("  allowlist:          ");
    if (json_array_size(al) == 0)
        printf("(any domain)");
    size_t i;
    json_t *d;
    json_array_foreach(al, i, d) printf("%s%s", i ? ", " : "", json_string_value(d));
    int64_t ttl = json_integer_value(json_object_get(r, "token_ttl_seconds"));
    printf("\n  token lifetime:     %lld s%s\n", (long long)ttl, ttl ? "" : " (never expires)");
    printf("  issued token rate:  %g req/s, burst %lld\n",
           json_number_value(json_object_get(r, "issued_rate_per_sec")),
           (long long)json_integer_value(json_object_get(r, "issued_rate_burst")));
    printf("  endpoint limit:     %g req/s per IP, burst %g\n",
           json_number_value(json_object_get(r, "endpoint_rate_per_sec")),
           json_number_value(json_object_get(r, "endpoint_rate_burst")));
}

static void print_records(json_t *r)
{
    json_t *vals = json_object_get(r, "values");
    printf("%s  (%s%s%s)\n", jstr(r, "name", ""), jstr(r, "scope", ""),
           json_is_string(json_object_get(r, "owner")) ? ": " : "", jstr(r, "owner", ""));
    if (json_array_size(vals) == 0)
        printf("  (no live values)\n");
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
        char exp[40];
        json_t *e = json_integer(json_integer_value(json_object_get(v, "expires_ms")) / 1000);
        fmt_ts(e, exp, sizeof(exp));
        json_decref(e);
        printf("  ttl=%-6lld expires=%s  %s\n",
               (long long)json_integer_value(json_object_get(v, "ttl")), exp, jstr(v, "value", ""));
    }
}

static void print_result(const opts_t *o, const char *op, json_t *res)
{
    if (o->json) {
        char *s = json_dumps(res, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s)
            printf("%s\n", s);
        free(s);
        return;
    }
    if (strcmp(op, "token.issue") == 0)
        print_issued(res, "issue");
    else if (strcmp(op, "token.rotate") == 0)
        print_issued(res, "rotate");
    else if (strcmp(op, "token.list") == 0)
        print_list(res);
    else if (strcmp(op, "token.revoke") == 0) {
        if (strcmp(jstr(res, "by", ""), "subject") == 0)
            printf("revoked %lld token(s) for subject '%s'\n",
                   (long long)json_integer_value(json_object_get(res, "revoked")),
                   jstr(res, "subject", ""));
        else
            printf("revoked token %.16s... (subject %s)\n", jstr(res, "token_hash", ""),
                   jstr(res, "subject", ""));
    } else if (strcmp(op, "audit.tail") == 0)
        print_audit(res);
    else if (strcmp(op, "registration.show") == 0)
        print_registration(res);
    else
        print_records(res);
}

/* ---- running the command ---- */
static const char *admin_getenv(const char *name, void *ctx)
{
    (void)ctx;
    /* the admin tool binds nothing: keep the node's bind guard out of the way */
    if (strcmp(name, "DMP_HTTP_HOST") == 0 && !getenv(name))
        return "127.0.0.1";
    if (strcmp(name, "DMP_ALLOW_OPEN_PUBLIC_BIND") == 0)
        return "1";
    return getenv(name);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_local(const opts_t *o, const char *op, json_t *args, json_t **res)
{
    const char *db = o->db ? o->db : getenv("DMP_DB_PATH");
    if (!db || !*db)
        db = "/var/lib/dmp/dmp.db";
    dmp_store_opts_t so = {.path = db, .create_if_missing = false};
    dmp_store_t *s = NULL;
    char err[600];
    int rc = dmp_store_open(&so, &s, err, sizeof(err));
    if (rc != 0) {
        if (strstr(err, "lock") || strstr(err, "LOCK"))
            fprintf(stderr,
                    "dnsmesh-admin: store '%s' is in use (is dnsmeshd running?): stop the node "
                    "or use --node http://HOST:PORT --token OPERATOR_TOKEN\n",
                    db);
        else
            fprintf(stderr, "dnsmesh-admin: cannot open store '%s': %s\n", db,
                    err[0] ? err : dmp_store_strerror(rc));
        return 1;
    }
    dmp_node_tokens_t *t = NULL;
    if (dmp_node_tokens_open(s, NULL, &t) != 0) {
        dmp_store_close(s);
        fprintf(stderr, "dnsmesh-admin: out of memory\n");
        return 1;
    }
    dmp_node_config_t cfg;
    bool help = false;
    char cerr[512];
    char *argv0[] = {"dnsmesh-admin", NULL};
    bool have_cfg =
        dmp_node_config_load(&cfg, admin_getenv, NULL, 1, argv0, &help, cerr, sizeof(cerr)) == 0;
    if (!have_cfg && strcmp(op, "registration.show") == 0)
        fprintf(stderr, "dnsmesh-admin: the DMP_* environment does not load: %s\n", cerr);
    char actor[128];
    const char *user = getenv("USER");
    snprintf(actor, sizeof(actor), "admin:%s", user && *user ? user : "unknown");
    dmp_node_admin_env_t env = {.store = s,
                                .tokens = t,
                                .cfg = have_cfg ? &cfg : NULL,
                                .actor = actor,
                                .remote = "",
                                .now_ms = now_ms};
    rc = dmp_node_admin_run(&env, op, args, res, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "dnsmesh-admin: %s\n", err);
    if (have_cfg)
        dmp_node_config_free(&cfg);
    dmp_node_tokens_close(t);
    dmp_store_close(s);
    return rc;
}

static int run_remote(const opts_t *o, const char *op, json_t *args, json_t **res)
{
    return admin_remote(o->node, o->token, op, args, res);
}

static int want_value(int argc, char **argv, int *i, const char **out)
{
    const char *a = argv[*i];
    const char *eq = strchr(a, '=');
    if (eq) {
        *out = eq + 1;
        return 0;
    }
    if (*i + 1 >= argc)
        return -1;
    *out = argv[++*i];
    return 0;
}

int main(int argc, char **argv)
{
    /* `tsig` (admin_tsig.c) parses its own options, before or after the word */
    for (int i = 1; i < argc; i++) {
        const char *p = i > 1 ? argv[i - 1] : "";
        bool prev_takes_value = strncmp(p, "--", 2) == 0 && !strchr(p, '=') &&
                                strcmp(p, "--json") != 0 && strcmp(p, "--include-revoked") != 0;
        if (strcmp(argv[i], "tsig") == 0 && !prev_takes_value)
            return dmp_admin_tsig(argc, argv);
        if (argv[i][0] != '-' && !prev_takes_value)
            break; /* another command */
    }
    if (argc > 1 && strcmp(argv[1], "cluster") == 0)
        return dmp_admin_cluster(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "bootstrap") == 0)
        return dmp_admin_bootstrap(argc - 1, argv + 1);
    opts_t o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t al = strcspn(a, "=");
#define IS(flag) (al == strlen(flag) && strncmp(a, flag, al) == 0)
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
            continue;
        } else if (strcmp(a, "--include-revoked") == 0) {
            o.include_revoked = true;
            continue;
        } else if (IS("--db"))
            slot = &o.db;
        else if (IS("--node"))
            slot = &o.node;
        else if (IS("--token"))
            slot = &o.token;
        else if (IS("--expires"))
            slot = &o.expires;
        else if (IS("--rate"))
            slot = &o.rate;
        else if (IS("--burst"))
            slot = &o.burst;
        else if (IS("--note"))
            slot = &o.note;
        else if (IS("--with-prekey-scope"))
            slot = &o.prekey;
        else if (IS("--subject"))
            slot = &o.subject;
        else if (IS("--event"))
            slot = &o.event;
        else if (IS("--limit"))
            slot = &o.limit;
        else if (IS("--tokens"))
            slot = &o.tokens_db;
        else if (IS("--tsig"))
            slot = &o.tsig_db;
        else if (IS("--format"))
            slot = &o.format;
        else if (a[0] == '-' && a[1] == '-')
            return usage_error("unknown option '%s'", a);
#undef IS
        if (slot) {
            if (want_value(argc, argv, &i, slot) != 0)
                return usage_error("option %s needs a value", a);
            continue;
        }
        if (o.nwords >= 3)
            return usage_error("unexpected argument '%s'", a);
        o.words[o.nwords++] = a;
    }
    if (o.nwords == 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (o.db && o.node)
        return usage_error("%s", "--db and --node are exclusive");

    const char *w0 = o.words[0], *w1 = o.nwords > 1 ? o.words[1] : NULL;
    if (strcmp(w0, "import-reference") == 0) {
        if (!w1)
            return usage_error("%s", "import-reference needs the reference's DMP_DB_PATH (dmp.db)");
        if (o.nwords > 2)
            return usage_error("unexpected argument '%s'", o.words[2]);
        if (!o.db || o.node)
            return usage_error("%s", "import-reference writes a stopped node's store: give --db "
                                     "STORE_DIR (not --node)");
        json_t *rep = NULL;
        char err[1200];
        int rc = admin_import_reference(o.db, w1, o.tokens_db, o.tsig_db, &rep, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "dnsmesh-admin: import-reference: %s\n", err);
            return rc;
        }
        if (o.json) {
            char *js = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", js ? js : "{}");
            free(js);
        } else {
            json_t *r = json_object_get(rep, "records"), *t = json_object_get(rep, "tokens");
            printf("records: %lld imported, %lld expired left behind, %lld invalid skipped\n",
                   (long long)json_integer_value(json_object_get(r, "imported")),
                   (long long)json_integer_value(json_object_get(r, "expired_skipped")),
                   (long long)json_integer_value(json_object_get(r, "invalid_skipped")));
            if (json_object_get(t, "skipped"))
                printf("tokens: none (%s at %s)\n", jstr(t, "skipped", ""), jstr(t, "path", ""));
            else
                printf("tokens: %lld imported, %lld invalid skipped; %lld audit rows\n",
                       (long long)json_integer_value(json_object_get(t, "imported")),
                       (long long)json_integer_value(json_object_get(t, "invalid_skipped")),
                       (long long)json_integer_value(json_object_get(t, "audit_rows")));
            json_t *k = json_object_get(rep, "tsig_keys");
            if (k)
                printf("tsig keys: %lld imported, %lld invalid skipped\n",
                       (long long)json_integer_value(json_object_get(k, "imported")),
                       (long long)json_integer_value(json_object_get(k, "invalid_skipped")));
        }
        json_decref(rep);
        return 0;
    }
    if (strcmp(w0, "load") == 0) {
        if (!w1)
            return usage_error("%s", "load needs a FILE (zone file or JSON lines)");
        if (o.nwords > 2)
            return usage_error("unexpected argument '%s'", o.words[2]);
        if (!o.db || o.node)
            return usage_error("%s", "load writes a stopped node's store: give --db STORE_DIR "
                                     "(not --node)");
        if (o.format && strcmp(o.format, "zone") != 0 && strcmp(o.format, "jsonl") != 0)
            return usage_error("--format: expected zone or jsonl, got '%s'", o.format);
        dmp_node_config_t cfg;
        bool help = false;
        char cerr[512];
        char *argv0[] = {"dnsmesh-admin", NULL};
        if (dmp_node_config_load(&cfg, admin_getenv, NULL, 1, argv0, &help, cerr, sizeof(cerr)) !=
            0) {
            fprintf(stderr, "dnsmesh-admin: load: the DMP_* environment does not load: %s\n", cerr);
            return 1;
        }
        int rc = admin_load(o.db, w1, o.format, o.json, &cfg);
        dmp_node_config_free(&cfg);
        return rc;
    }
    const char *w2 = o.nwords > 2 ? o.words[2] : NULL;
    char op[40];
#define UERR(...)                                                                                  \
    do {                                                                                           \
        json_decref(args);                                                                         \
        return usage_error(__VA_ARGS__);                                                           \
    } while (0)
    json_t *args = json_object();
    int want_words = 2;
    if (strcmp(w0, "token") == 0 && w1) {
        snprintf(op, sizeof(op), "token.%s", w1);
        if (strcmp(w1, "issue") == 0 || strcmp(w1, "rotate") == 0) {
            want_words = 3;
            if (!w2)
                UERR("token %s needs a SUBJECT", w1);
            json_object_set_new(args, "subject", json_string(w2));
            if (o.expires) {
                int64_t d;
                if (parse_duration(o.expires, &d) != 0)
                    UERR("--expires: bad duration '%s': expected digits with "
                         "an optional unit s/m/h/d/w",
                         o.expires);
                json_object_set_new(args, "expires_in", json_integer(d));
            }
            if (o.rate) {
                char *end;
                double r = strtod(o.rate, &end);
                if (*end || end == o.rate || r < 0)
                    UERR("--rate: expected a number >= 0, got '%s'", o.rate);
                json_object_set_new(args, "rate", json_real(r));
            }
            if (o.burst) {
                char *end;
                long long bb = strtoll(o.burst, &end, 10);
                if (*end || end == o.burst || bb < 0)
                    UERR("--burst: expected an integer >= 0, got '%s'", o.burst);
                json_object_set_new(args, "burst", json_integer(bb));
            }
            if (o.note)
                json_object_set_new(args, "note", json_string(o.note));
            if (o.prekey) {
                if (strcmp(w1, "rotate") == 0)
                    UERR("%s", "--with-prekey-scope is for token issue");
                json_object_set_new(args, "prekey_x25519", json_string(o.prekey));
            }
        } else if (strcmp(w1, "list") == 0) {
            if (o.subject)
                json_object_set_new(args, "subject", json_string(o.subject));
            json_object_set_new(args, "include_revoked", json_boolean(o.include_revoked));
        } else if (strcmp(w1, "revoke") == 0) {
            want_words = 3;
            if (!w2)
                UERR("%s", "token revoke needs a SUBJECT or a token-hash prefix");
            json_object_set_new(args, "target", json_string(w2));
        } else {
            UERR("unknown token command '%s'", w1);
        }
    } else if (strcmp(w0, "audit") == 0 && w1 && strcmp(w1, "tail") == 0) {
        snprintf(op, sizeof(op), "audit.tail");
        if (o.event)
            json_object_set_new(args, "event", json_string(o.event));
        if (o.limit) {
            char *end;
            long long l = strtoll(o.limit, &end, 10);
            if (*end || end == o.limit || l < 1 || l > 100000)
                UERR("--limit: expected an integer 1..100000, got '%s'", o.limit);
            json_object_set_new(args, "limit", json_integer(l));
        }
    } else if (strcmp(w0, "registration") == 0 && w1 && strcmp(w1, "show") == 0) {
        snprintf(op, sizeof(op), "registration.show");
    } else if (strcmp(w0, "records") == 0 && w1) {
        snprintf(op, sizeof(op), "records");
        json_object_set_new(args, "name", json_string(w1));
    } else {
        UERR("unknown command '%s'", w0);
    }
    if (o.nwords > want_words)
        UERR("unexpected argument '%s'", o.words[want_words]);

#undef UERR
    json_t *res = NULL;
    int rc;
    if (o.node) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = run_remote(&o, op, args, &res);
        curl_global_cleanup();
    } else {
        rc = run_local(&o, op, args, &res);
    }
    json_decref(args);
    if (rc == 0) {
        print_result(&o, op, res);
        /* the token leaves only through stdout */
        json_t *t = json_object_get(res, "token");
        if (json_is_string(t))
            sodium_memzero((char *)json_string_value(t), json_string_length(t));
    }
    json_decref(res);
    return rc;
}
