/* dnsmesh-admin: operator tooling for a dnsmeshd store. */
#include <stdio.h>
#include <string.h>

#include "admin.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-admin <command> ...\n"
            "commands:\n"
            "  tsig list|add|revoke   TSIG keys for DNS UPDATE (see dnsmesh-admin tsig --help)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "tsig") == 0)
        return dmp_admin_tsig(argc - 1, argv + 1);
    fprintf(stderr, "dnsmesh-admin: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
