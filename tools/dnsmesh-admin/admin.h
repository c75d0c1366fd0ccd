/* dnsmesh-admin: one entry point per command group. */
#ifndef DMP_ADMIN_H
#define DMP_ADMIN_H

/* `dnsmesh-admin tsig ...` (argv[0] = "tsig"). Returns the process exit status. */
int dmp_admin_tsig(int argc, char **argv);
/* `dnsmesh-admin cluster sign ...` / `dnsmesh-admin bootstrap sign ...` (admin_cluster.c). */
int dmp_admin_cluster(int argc, char **argv);
int dmp_admin_bootstrap(int argc, char **argv);

#endif
