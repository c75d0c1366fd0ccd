/* dnsmesh-admin tsig: list, add and revoke TSIG keys, on a stopped node's store (--db; RocksDB
 * allows one process at a time) or through a running node's POST /v1/admin (--node URL with
 * the operator token). Both run the node's own commands (dmp_node_admin_run, "tsig.*" in
 * src/node/admin_tsig.c), so the answers are the same. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "node/tsig_keys.h"
#include "store/store.h"
#include "util/util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh-admin tsig <list|add|revoke> [--db PATH | --node URL [--token T]]\n"
               "  list   [--include-revoked] [--json]\n"
               "  add    NAME --scope SUFFIX [--scope SUFFIX]... [--algorithm ALG]\n"
               "         [--secret-b64 B64] [--subject S] [--expires-in SECONDS] [--json]\n"
               "         prints the nsupdate key line ALG:NAME:SECRET (use with nsupdate -y or\n"
               "         knsupdate -y); ALG is hmac-sha256 unless given (hmac-md5, hmac-sha1,\n"
               "         hmac-sha224, hmac-sha384, hmac-sha512); the secret is 32 random bytes\n"
               "         unless given. SUFFIX: an owner suffix, '*' inside a label allowed\n"
               "         (adds need any match, deletes a match without '*')\n"
               "  revoke NAME\n"
               "--db PATH: the node's DMP_DB_PATH (the node must be stopped; add creates it);\n"
               "--node URL: a running node's HTTP API (operator token: --token or\n"
               "$DMP_OPERATOR_TOKEN).\n");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_local(const char *db, bool create, const char *op, json_t *args, json_t **res)
{
    dmp_store_t *s = NULL;
    char err[600] = "";
    dmp_store_opts_t so = {.path = db, .create_if_missing = create};
    int rc = dmp_store_open(&so, &s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmesh-admin: cannot open store '%s': %s%s\n", db,
                err[0] ? err : dmp_store_strerror(rc),
                strstr(err, "lock") || strstr(err, "LOCK")
                    ? " (is dnsmeshd running? stop it, or use --node URL --token T)"
                    : "");
        return 1;
    }
    char actor[128];
    const char *user = getenv("USER");
    snprintf(actor, sizeof(actor), "admin:%s", user && *user ? user : "unknown");
    dmp_node_admin_env_t env = {.store = s, .actor = actor, .remote = "", .now_ms = now_ms};
    rc = dmp_node_admin_run(&env, op, args, res, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "dnsmesh-admin: %s\n", err);
    dmp_store_close(s);
    return rc;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        printf("%s\n", s);
    free(s);
}

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int dmp_admin_tsig(int argc, char **argv)
{
    const char *cmd = NULL, *db = NULL, *node = NULL, *token = NULL, *name = NULL, *alg = NULL,
               *sec_b64 = NULL, *subject = NULL;
    json_t *scopes = json_array();
    bool json = false, incl = false, seen_tsig = false;
    int64_t expires_in = 0;
    int status = 2;
    json_t *args = json_object(), *res = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        size_t al = strncmp(a, "--", 2) == 0 && eq ? (size_t)(eq - a) : strlen(a);
        const char *v =
            eq && strncmp(a, "--", 2) == 0 ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        bool inline_v = eq && strncmp(a, "--", 2) == 0;
#define OPT(f) (al == strlen(f) && strncmp(a, f, al) == 0)
#define TAKE()                                                                                     \
    do {                                                                                           \
        if (!v) {                                                                                  \
            fprintf(stderr, "dnsmesh-admin: option %.*s needs a value\n", (int)al, a);             \
            goto out;                                                                              \
        }                                                                                          \
        if (!inline_v)                                                                             \
            i++;                                                                                   \
    } while (0)
        if (OPT("--help") || OPT("-h")) {
            usage(stdout);
            status = 0;
            goto out;
        } else if (OPT("--json")) {
            json = true;
        } else if (OPT("--include-revoked")) {
            incl = true;
        } else if (OPT("--db")) {
            TAKE();
            db = v;
        } else if (OPT("--node")) {
            TAKE();
            node = v;
        } else if (OPT("--token")) {
            TAKE();
            token = v;
        } else if (OPT("--scope")) {
            TAKE();
            json_array_append_new(scopes, json_string(v));
        } else if (OPT("--algorithm")) {
            TAKE();
            alg = v;
        } else if (OPT("--secret-b64")) {
            TAKE();
            sec_b64 = v;
        } else if (OPT("--subject")) {
            TAKE();
            subject = v;
        } else if (OPT("--expires-in")) {
            TAKE();
            if (dmp_parse_i64(v, 0, INT64_C(1) << 40, &expires_in) != 0) {
                fprintf(stderr, "dnsmesh-admin: --expires-in: not a number of seconds\n");
                goto out;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "dnsmesh-admin: tsig: unknown option '%s'\n", a);
            usage(stderr);
            goto out;
        } else if (!seen_tsig && strcmp(a, "tsig") == 0) {
            seen_tsig = true;
        } else if (!cmd) {
            cmd = a;
        } else if (!name) {
            name = a;
        } else {
            fprintf(stderr, "dnsmesh-admin: tsig: unexpected argument '%s'\n", a);
            goto out;
        }
#undef OPT
#undef TAKE
    }
    if (!cmd) {
        usage(stderr);
        goto out;
    }
    bool is_list = !strcmp(cmd, "list"), is_add = !strcmp(cmd, "add"),
         is_rev = !strcmp(cmd, "revoke");
    if (!is_list && !is_add && !is_rev) {
        fprintf(stderr, "dnsmesh-admin: tsig: unknown subcommand '%s'\n", cmd);
        usage(stderr);
        goto out;
    }
    if ((is_add || is_rev) && !name) {
        fprintf(stderr, "dnsmesh-admin: tsig %s: NAME is required\n", cmd);
        goto out;
    }
    if (is_list && name) {
        fprintf(stderr, "dnsmesh-admin: tsig list: unexpected argument '%s'\n", name);
        goto out;
    }
    if (db && node) {
        fprintf(stderr, "dnsmesh-admin: --db and --node are exclusive\n");
        goto out;
    }
    if (!node && !db && !(db = getenv("DMP_DB_PATH")))
        db = "/var/lib/dmp/dmp.db";
    char op[32];
    snprintf(op, sizeof(op), "tsig.%s", cmd);
    if (is_list)
        json_object_set_new(args, "include_revoked", json_boolean(incl));
    if (name)
        json_object_set_new(args, "name", json_string(name));
    if (is_add) {
        json_object_set(args, "scopes", scopes);
        if (alg)
            json_object_set_new(args, "algorithm", json_string(alg));
        if (sec_b64)
            json_object_set_new(args, "secret_b64", json_string(sec_b64));
        if (subject)
            json_object_set_new(args, "subject", json_string(subject));
        if (expires_in)
            json_object_set_new(args, "expires_in", json_integer(expires_in));
    }
    status =
        node ? admin_remote(node, token, op, args, &res) : run_local(db, is_add, op, args, &res);
    if (status != 0)
        goto out;
    if (json) {
        print_json(res);
    } else if (is_list) {
        size_t i;
        json_t *r;
        json_array_foreach(res, i, r)
        {
            printf("%s\t%s\t%s\t", js(r, "name"), js(r, "algorithm"),
                   json_is_true(json_object_get(r, "revoked"))  ? "revoked"
                   : json_is_true(json_object_get(r, "active")) ? "active"
                                                                : "expired");
            json_t *suf = json_object_get(r, "allowed_suffixes");
            for (size_t k = 0; k < json_array_size(suf); k++)
                printf("%s%s", k ? "," : "", json_string_value(json_array_get(suf, k)));
            printf("\t%s\n", js(r, "subject")[0] ? js(r, "subject") : "-");
        }
    } else if (is_add) {
        printf("%s\n", js(res, "nsupdate_key"));
    } else {
        printf("revoked %s\n", name);
    }
out:
    json_decref(res);
    json_decref(args);
    json_decref(scopes);
    return status;
}
