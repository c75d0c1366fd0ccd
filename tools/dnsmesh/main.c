/* dnsmesh: the user's command-line tool, a drop-in for the reference client's `dnsmesh`
 * (client.md §6): same subcommands, flags, defaults, config home and exit codes (0 ok, 1
 * user/config error, 2 network/backend and usage errors). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "dnsmesh.h"

#ifndef DNSMESH_VERSION
#define DNSMESH_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
} commands[] = {
    {"init", "create a config (username, domain, endpoint, resolvers, kdf salt)", cmd_init},
    {"identity", "show | publish | fetch | refresh-prekeys | rotate", cmd_identity},
    {"contacts", "add | list", cmd_contacts},
    {"send", "send an encrypted message to a contact", cmd_send},
    {"recv", "fetch and decrypt messages addressed to you", cmd_recv},
    {"intro", "list | accept | trust | block first-contact intros", cmd_intro},
    {"doctor", "check the configured node and DNS", cmd_doctor},
    {"resolvers", "discover | list", cmd_resolvers},
    {"register", "get a per-user publish token from a node", cmd_register},
    {"tsig", "register: get a TSIG key from a node", cmd_tsig},
    {"token", "list | forget saved node tokens", cmd_token},
    {"cluster", "pin | fetch | status | enable | disable", cmd_cluster},
    {"bootstrap", "pin | fetch | discover", cmd_bootstrap},
    {"peers", "show a zone's heartbeat and seen records", cmd_peers},
    {"node", "run a node (execs dnsmeshd)", cmd_node},
    {"selftest", "derive identities, send a message through the whole pipeline and open it",
     dnsmesh_selftest},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh [--config-home DIR] [--tokens-home DIR] <command> [options]\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\noptions:\n  --config-home DIR  config home (default $DMP_CONFIG_HOME or ~/.dmp)\n"
               "  --tokens-home DIR  token store (default $DMP_TOKENS_HOME or "
               "<config home>/tokens)\n  --help     this text\n  --version  print the version\n"
               "\n`dnsmesh <command> --help` describes a command.\n");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (dmp_crypto_init() != 0) {
        fprintf(stderr, "dnsmesh: libsodium failed to initialise\n");
        return 1;
    }
    int i = 1;
    const char *config_home = NULL, *tokens_home = NULL;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0) {
            printf("dnsmesh %s (DMP v1)\n", DNSMESH_VERSION);
            return 0;
        }
        const char **dst = NULL;
        size_t nl = 0;
        if (strncmp(a, "--config-home", 13) == 0)
            dst = &config_home, nl = 13;
        else if (strncmp(a, "--tokens-home", 13) == 0)
            dst = &tokens_home, nl = 13;
        if (!dst || (a[nl] != 0 && a[nl] != '=')) {
            fprintf(stderr, "dnsmesh: error: unrecognized arguments: %s\n", a);
            usage(stderr);
            return 2;
        }
        if (a[nl] == '=') {
            *dst = a + nl + 1;
        } else if (i + 1 < argc) {
            *dst = argv[++i];
        } else {
            fprintf(stderr, "dnsmesh: error: argument %s: expected one argument\n", a);
            return 2;
        }
        i++;
    }
    if (config_home) {
        setenv("DMP_CONFIG_HOME", config_home, 1);
        if (!tokens_home && !getenv("DMP_TOKENS_HOME")) {
            char t[4096];
            snprintf(t, sizeof(t), "%s/tokens", config_home);
            setenv("DMP_TOKENS_HOME", t, 1);
        }
    }
    if (tokens_home)
        setenv("DMP_TOKENS_HOME", tokens_home, 1);
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].fn(argc - i, argv + i);
    }
    fprintf(stderr, "dnsmesh: error: invalid choice: '%s'\n", argv[i]);
    usage(stderr);
    return 2;
}
