/* dnsmesh CLI: subcommand entry points and the small argument parser they share. */
#ifndef DNSMESH_CLI_H
#define DNSMESH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/client.h"

int dnsmesh_selftest(int argc, char **argv);

/* An option of a subcommand: "--name" with a value, or a flag. */
typedef struct {
    const char *name;
    bool value;
    const char *def; /* default value (NULL: unset) */
} dn_opt_t;

#define DN_MAX_OPTS 16
#define DN_MAX_POS 4
typedef struct {
    const char *val[DN_MAX_OPTS]; /* value, default, or NULL */
    bool set[DN_MAX_OPTS];        /* given on the command line */
    const char *pos[DN_MAX_POS];
    int npos;
} dn_args_t;

/* argparse-like: --name value, --name=value, flags; exits 2 with usage on a bad command line and
 * 0 after printing usage on --help. */
void dn_parse(const char *cmd, const char *usage, int argc, char **argv, const dn_opt_t *opts,
              size_t nopts, int minpos, int maxpos, dn_args_t *out);
/* Value of option i as an integer in [min, max]; exits 2 naming the option when it is not. */
int64_t dn_int(const dn_args_t *a, const dn_opt_t *opts, size_t i, int64_t min, int64_t max);

/* "dnsmesh: <msg>" on stderr, exit with code. */
_Noreturn void dn_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Loads the session (config; identity when need_id); dies with the reference's codes. */
void dn_session(dmp_client_session_t *s, bool need_id);
/* Opens reader (and writers when write) and the databases when dbs; exits 2 on failure. */
void dn_net(dmp_client_session_t *s, bool write);
void dn_dbs(dmp_client_session_t *s);
void dn_save(dmp_client_session_t *s);

int cmd_init(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_contacts(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_intro(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_resolvers(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_bootstrap(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_node(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_tsig(int argc, char **argv);

#endif
