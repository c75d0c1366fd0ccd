/* dnsmesh-bench: dispatches to the benchmarks registered by bench_*.c. */
#include <stdio.h>
#include <string.h>

#include "bench.h"

#define MAX_CMDS 32
static const dmp_bench_cmd_t *cmds[MAX_CMDS];
static int ncmds;

void dmp_bench_register(const dmp_bench_cmd_t *cmd)
{
    if (ncmds < MAX_CMDS)
        cmds[ncmds++] = cmd;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsmesh-bench <benchmark> [options]   (dnsmesh-bench <benchmark> --help)\n"
               "\nbenchmarks:\n");
    for (int i = 0; i < ncmds; i++)
        fprintf(f, "  %-12s %s\n", cmds[i]->name, cmds[i]->summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 0; i < ncmds; i++) {
        if (strcmp(argv[1], cmds[i]->name) == 0)
            return cmds[i]->main(argc - 1, argv + 1);
    }
    fprintf(stderr, "dnsmesh-bench: unknown benchmark '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
