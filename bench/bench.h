/* dnsmesh-bench: one program, one subcommand per benchmark. Each bench_<name>.c registers its
 * subcommand with DMP_BENCH_REGISTER; main.c dispatches on argv[1]. */
#ifndef DMP_BENCH_H
#define DMP_BENCH_H

typedef struct {
    const char *name;                   /* subcommand, e.g. "dns" */
    const char *summary;                /* one line for `dnsmesh-bench --help` */
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
} dmp_bench_cmd_t;

void dmp_bench_register(const dmp_bench_cmd_t *cmd);

#define DMP_BENCH_REGISTER(var)                                                                    \
    __attribute__((constructor)) static void dmp_bench_register_##var(void)                        \
    {                                                                                              \
        dmp_bench_register(&var);                                                                  \
    }

#endif
