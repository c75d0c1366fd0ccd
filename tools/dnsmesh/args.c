/* dnsmesh: argument parsing and the session helpers every subcommand uses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmesh.h"
#include "util/util.h"

_Noreturn void dn_die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dnsmesh: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static _Noreturn void usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static _Noreturn void usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "usage: dnsmesh %s %s\ndnsmesh %s: error: ", cmd, usage, cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void dn_parse(const char *cmd, const char *usage, int argc, char **argv, const dn_opt_t *opts,
              size_t nopts, int minpos, int maxpos, dn_args_t *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < nopts; i++)
        out->val[i] = opts[i].def;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            printf("usage: dnsmesh %s %s\n", cmd, usage);
            exit(0);
        }
        if (!only_pos && a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a, '=');
            size_t nl = eq ? (size_t)(eq - a) : strlen(a);
            size_t k = nopts;
            for (size_t j = 0; j < nopts; j++)
                if (strlen(opts[j].name) == nl && strncmp(opts[j].name, a, nl) == 0)
                    k = j;
            if (k == nopts)
                usage_error(cmd, usage, "unrecognized arguments: %s", a);
            out->set[k] = true;
            if (!opts[k].value) {
                if (eq)
                    usage_error(cmd, usage, "argument %s: ignored explicit argument '%s'",
                                opts[k].name, eq + 1);
                out->val[k] = "1";
            } else if (eq) {
                out->val[k] = eq + 1;
            } else if (i + 1 < argc) {
                out->val[k] = argv[++i];
            } else {
                usage_error(cmd, usage, "argument %s: expected one argument", opts[k].name);
            }
            continue;
        }
        if (out->npos >= maxpos)
            usage_error(cmd, usage, "unrecognized arguments: %s", a);
        out->pos[out->npos++] = a;
    }
    if (out->npos < minpos)
        usage_error(cmd, usage, "the following arguments are required");
}

int64_t dn_int(const dn_args_t *a, const dn_opt_t *opts, size_t i, int64_t min, int64_t max)
{
    int64_t v;
    if (!a->val[i] || dmp_parse_i64(a->val[i], min, max, &v)) {
        fprintf(stderr, "dnsmesh: error: argument %s: invalid int value: '%s'\n", opts[i].name,
                a->val[i] ? a->val[i] : "");
        exit(2);
    }
    return v;
}

void dn_session(dmp_client_session_t *s, bool need_id)
{
    dmp_client_session_init(s);
    int rc = dmp_client_session_load(s);
    if (rc)
        dn_die(1, "%s", s->err);
    if (need_id && dmp_client_session_identity(s))
        dn_die(1, "%s", s->err);
}

void dn_net(dmp_client_session_t *s, bool write)
{
    int rc = dmp_client_session_net(s, write);
    if (rc)
        dn_die(rc == DMP_EINVAL ? 1 : 2, "%s", s->err);
}

void dn_dbs(dmp_client_session_t *s)
{
    if (dmp_client_session_dbs(s))
        dn_die(1, "%s", s->err[0] ? s->err : "cannot open the local databases");
}

void dn_save(dmp_client_session_t *s)
{
    if (dmp_client_session_save(s))
        dn_die(1, "%s", s->err);
}
