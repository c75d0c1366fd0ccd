/* dnsmesh-admin tsig: list, add and revoke TSIG keys in a stopped node's store (RocksDB allows
 * one process at a time: stop dnsmeshd first, or the open fails with a clear message). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "dns/dns.h"
#include "node/tsig_keys.h"
#include "store/store.h"
#include "util/util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh-admin tsig <list|add|revoke> --db PATH [options]\n"
               "  list   [--include-revoked] [--json]\n"
               "  add    NAME --scope SUFFIX [--scope SUFFIX]... [--algorithm ALG]\n"
               "         [--secret-b64 B64] [--subject S] [--expires-in SECONDS] [--json]\n"
               "         prints the nsupdate key line ALG:NAME:SECRET (use with nsupdate -y or\n"
               "         knsupdate -y); ALG is hmac-sha256 unless given (hmac-md5, hmac-sha1,\n"
               "         hmac-sha224, hmac-sha384, hmac-sha512); the secret is 32 random bytes\n"
               "         unless given. SUFFIX: an owner suffix, '*' inside a label allowed\n"
               "         (adds need any match, deletes a match without '*')\n"
               "  revoke NAME\n"
               "--db PATH is the node's DMP_DB_PATH (the node must be stopped).\n");
}

typedef struct {
    bool json, include_revoked;
    int64_t now;
    json_t *arr;
} list_ctx_t;

static json_t *rec_json(const dmp_node_tsig_rec_t *r, int64_t now)
{
    json_t *suf = json_array();
    for (size_t i = 0; i < r->n_suffixes; i++)
        json_array_append_new(suf, json_string(r->suffixes[i]));
    return json_pack("{s:s, s:s, s:o, s:s, s:I, s:I, s:b, s:b, s:s, s:s}", "name", r->key.name,
                     "algorithm", dmp_tsig_alg_name(r->key.alg), "allowed_suffixes", suf, "subject",
                     r->subject, "created_at", (json_int_t)r->created_at, "expires_at",
                     (json_int_t)r->expires_at, "revoked", r->revoked, "active",
                     dmp_node_tsig_active(r, now), "registered_spk", r->spk_hex,
                     "registered_x25519_pub", r->x25519_hex);
}

static int list_visit(void *ctx, const dmp_node_tsig_rec_t *r)
{
    list_ctx_t *l = ctx;
    if (r->revoked && !l->include_revoked)
        return 0;
    if (l->json) {
        json_array_append_new(l->arr, rec_json(r, l->now));
        return 0;
    }
    printf("%s\t%s\t%s\t", r->key.name, dmp_tsig_alg_name(r->key.alg),
           r->revoked                        ? "revoked"
           : dmp_node_tsig_active(r, l->now) ? "active"
                                             : "expired");
    for (size_t i = 0; i < r->n_suffixes; i++)
        printf("%s%s", i ? "," : "", r->suffixes[i]);
    printf("\t%s\n", r->subject[0] ? r->subject : "-");
    return 0;
}

static void print_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s)
        printf("%s\n", s);
    free(s);
    json_decref(o);
}

int dmp_admin_tsig(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *db = NULL, *name = NULL, *alg_s = "hmac-sha256", *sec_b64 = NULL,
               *subject = "";
    const char *scopes[DMP_NODE_TSIG_MAX_SUFFIXES];
    size_t n_scopes = 0;
    bool json = false, incl = false;
    int64_t expires_in = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--db") && has)
            db = argv[++i];
        else if (!strcmp(a, "--scope") && has) {
            if (n_scopes == DMP_NODE_TSIG_MAX_SUFFIXES) {
                fprintf(stderr, "dnsmesh-admin: at most %d --scope\n", DMP_NODE_TSIG_MAX_SUFFIXES);
                return 2;
            }
            scopes[n_scopes++] = argv[++i];
        } else if (!strcmp(a, "--algorithm") && has)
            alg_s = argv[++i];
        else if (!strcmp(a, "--secret-b64") && has)
            sec_b64 = argv[++i];
        else if (!strcmp(a, "--subject") && has)
            subject = argv[++i];
        else if (!strcmp(a, "--expires-in") && has) {
            if (dmp_parse_i64(argv[++i], 0, INT64_C(1) << 40, &expires_in) != 0) {
                fprintf(stderr, "dnsmesh-admin: --expires-in: not a number of seconds\n");
                return 2;
            }
        } else if (!strcmp(a, "--json"))
            json = true;
        else if (!strcmp(a, "--include-revoked"))
            incl = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && !name)
            name = a;
        else {
            fprintf(stderr, "dnsmesh-admin: tsig: unexpected argument '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!db) {
        fprintf(stderr, "dnsmesh-admin: tsig: --db PATH is required (the node's DMP_DB_PATH)\n");
        return 2;
    }
    bool is_list = !strcmp(cmd, "list"), is_add = !strcmp(cmd, "add"),
         is_rev = !strcmp(cmd, "revoke");
    if (!is_list && !is_add && !is_rev) {
        fprintf(stderr, "dnsmesh-admin: tsig: unknown subcommand '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    if ((is_add || is_rev) && !name) {
        fprintf(stderr, "dnsmesh-admin: tsig %s: NAME is required\n", cmd);
        return 2;
    }
    dmp_node_tsig_rec_t r;
    memset(&r, 0, sizeof(r));
    if (is_add) {
        if (n_scopes == 0) {
            fprintf(stderr, "dnsmesh-admin: tsig add: give at least one --scope SUFFIX (e.g. "
                            "the zone, or id-<hash>.<zone>)\n");
            return 2;
        }
        if (dmp_tsig_alg_parse(alg_s, strlen(alg_s), &r.key.alg) != 0) {
            fprintf(stderr, "dnsmesh-admin: --algorithm: unknown '%s'\n", alg_s);
            return 2;
        }
        size_t nl = strlen(name);
        while (nl && name[nl - 1] == '.')
            nl--;
        uint8_t w[255];
        size_t wl;
        if (nl == 0 || nl >= sizeof(r.key.name) ||
            dmp_dns_name_from_text(name, nl, w, sizeof(w), &wl) != 0) {
            fprintf(stderr, "dnsmesh-admin: tsig add: '%s' is not a DNS name\n", name);
            return 2;
        }
        for (size_t i = 0; i < nl; i++)
            r.key.name[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] | 0x20) : name[i];
        if (sec_b64) {
            dmp_buf_t b;
            dmp_buf_init(&b);
            if (dmp_b64_decode(sec_b64, strlen(sec_b64), DMP_B64_STRICT, &b) != 0 || b.len == 0 ||
                b.len > DMP_TSIG_MAX_SECRET) {
                dmp_buf_free_secret(&b);
                fprintf(stderr, "dnsmesh-admin: --secret-b64: not 1..%d bytes of base64\n",
                        DMP_TSIG_MAX_SECRET);
                return 2;
            }
            memcpy(r.key.secret, b.data, b.len);
            r.key.secret_len = b.len;
            dmp_buf_free_secret(&b);
        } else {
            r.key.secret_len = 32;
            dmp_node_tsig_random_secret(r.key.secret, 32);
        }
        for (size_t i = 0; i < n_scopes; i++) {
            size_t sl = strlen(scopes[i]);
            while (sl && scopes[i][sl - 1] == '.')
                sl--;
            const char *sp = scopes[i];
            while (sl && *sp == '.') {
                sp++;
                sl--;
            }
            if (sl == 0 || sl >= sizeof(r.suffixes[0])) {
                fprintf(stderr, "dnsmesh-admin: --scope '%s': not a name suffix\n", scopes[i]);
                return 2;
            }
            for (size_t k = 0; k < sl; k++)
                r.suffixes[r.n_suffixes][k] =
                    (sp[k] >= 'A' && sp[k] <= 'Z') ? (char)(sp[k] | 0x20) : sp[k];
            r.n_suffixes++;
        }
        snprintf(r.subject, sizeof(r.subject), "%s", subject);
        r.created_at = (int64_t)time(NULL);
        r.expires_at = expires_in ? r.created_at + expires_in : 0;
    }

    dmp_store_t *s = NULL;
    char err[512] = "";
    dmp_store_opts_t so = {.path = db, .create_if_missing = is_add};
    int rc = dmp_store_open(&so, &s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "dnsmesh-admin: cannot open store '%s': %s (is dnsmeshd still running?)\n",
                db, err[0] ? err : dmp_store_strerror(rc));
        dmp_node_tsig_rec_wipe(&r);
        return 1;
    }
    int status = 0;
    if (is_list) {
        list_ctx_t l = {json, incl, (int64_t)time(NULL), json ? json_array() : NULL};
        rc = dmp_node_tsig_list(s, list_visit, &l);
        if (json)
            print_json(l.arr);
    } else if (is_rev) {
        rc = dmp_node_tsig_revoke(s, name);
        if (rc == DMP_ENOTFOUND) {
            fprintf(stderr, "dnsmesh-admin: no TSIG key named '%s'\n", name);
            status = 1;
            rc = 0;
        } else if (rc == 0) {
            printf("revoked %s\n", name);
        }
    } else {
        rc = dmp_node_tsig_put(s, &r);
        if (rc == 0) {
            char b64[2 * DMP_TSIG_MAX_SECRET];
            dmp_b64_encode(r.key.secret, r.key.secret_len, b64, sizeof(b64));
            const char *an =
                r.key.alg == DMP_TSIG_HMAC_MD5 ? "hmac-md5" : dmp_tsig_alg_name(r.key.alg);
            if (json) {
                json_t *o = rec_json(&r, r.created_at);
                json_object_set_new(o, "secret_b64", json_string(b64));
                char line[1024];
                snprintf(line, sizeof(line), "%s:%s:%s", an, r.key.name, b64);
                json_object_set_new(o, "nsupdate_key", json_string(line));
                print_json(o);
            } else {
                printf("%s:%s:%s\n", an, r.key.name, b64);
            }
            dmp_wipe(b64, sizeof(b64));
        }
    }
    if (rc != 0) {
        fprintf(stderr, "dnsmesh-admin: tsig %s: %s\n", cmd, dmp_strerror(rc));
        status = 1;
    }
    dmp_node_tsig_rec_wipe(&r);
    dmp_store_close(s);
    return status;
}
