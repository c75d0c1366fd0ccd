/* dnsmesh-admin: operator tooling for a dnsmeshd store. */
#include <stdio.h>
#include <string.h>

#include "admin.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: dnsmesh-admin <command> ...\n"
            "commands:\n"
            "  tsig list|add|revoke   TSIG keys for DNS UPDATE (see dnsmesh-admin tsig --help)\n"
            "  cluster sign           sign (and publish) a cluster manifest (cluster sign --help)\n"
            "  bootstrap sign         sign (and publish) a bootstrap record (bootstrap sign "
            "--help)\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "tsig") == 0)
        return dmp_admin_tsig(argc - 1, argv + 1);
    if (strcmp(argv[1], "cluster") == 0)
        return dmp_admin_cluster(argc - 1, argv + 1);
    if (strcmp(argv[1], "bootstrap") == 0)
        return dmp_admin_bootstrap(argc - 1, argv + 1);
    fprintf(stderr, "dnsmesh-admin: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
