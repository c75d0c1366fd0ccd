/* dnsmesh-admin: commands that exist only in the tool (no node API). */
#ifndef DMP_ADMIN_H
#define DMP_ADMIN_H

#include <jansson.h>

#include "node/node.h"

/* Imports a reference node's SQLite files into the (stopped) store at store_path (created if
 * missing). tokens_db / tsig_db NULL = DMP_TOKEN_DB_PATH / DMP_TSIG_DB_PATH, else the
 * reference's siblings of ref_db. 0 with a JSON report, or an exit code and err. */
int admin_import_reference(const char *store_path, const char *ref_db, const char *tokens_db,
                           const char *tsig_db, json_t **report, char *err, size_t cap);

/* `dnsmesh-admin tsig ...` (argv[0] = "tsig"): TSIG keys in a stopped node's store. Returns the
 * process exit status. */
int dmp_admin_tsig(int argc, char **argv);

#endif
