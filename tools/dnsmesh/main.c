/* dnsmesh: the user's command-line tool. */
#include <stdio.h>
#include <string.h>

#include "dnsmesh.h"

#ifndef DNSMESH_VERSION
#define DNSMESH_VERSION "0.1.0"
#endif

static const struct {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
} commands[] = {
    {"selftest", "derive identities, send a message through the whole pipeline and open it",
     dnsmesh_selftest},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh <command> [options]   (dnsmesh <command> --help)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\noptions:\n  --help     this text\n  --version  print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("dnsmesh %s (DMP v1)\n", DNSMESH_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "dnsmesh: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
