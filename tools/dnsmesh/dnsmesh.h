/* dnsmesh CLI: subcommand entry points. */
#ifndef DNSMESH_CLI_H
#define DNSMESH_CLI_H

int dnsmesh_selftest(int argc, char **argv);

#endif
