/* dnsmesh-admin: commands that exist only in the tool (no node API). */
#ifndef DMP_ADMIN_H
#define DMP_ADMIN_H

#include <jansson.h>
#include <sqlite3.h>

#include "node/node.h"
#include "store/store.h"

/* Imports a reference node's SQLite files into the (stopped) store at store_path (created if
 * missing). tokens_db / tsig_db NULL = DMP_TOKEN_DB_PATH / DMP_TSIG_DB_PATH, else the
 * reference's siblings of ref_db. 0 with a JSON report, or an exit code and err. */
int admin_import_reference(const char *store_path, const char *ref_db, const char *tokens_db,
                           const char *tsig_db, json_t **report, char *err, size_t cap);

/* `dnsmesh-admin [opts] tsig ...` (the whole argv; the word "tsig" anywhere among the
 * options): TSIG keys in a stopped node's store (--db) or through a running node (--node URL
 * --token T). Returns the process exit status. */
int dmp_admin_tsig(int argc, char **argv);
/* `dnsmesh-admin cluster sign ...` / `dnsmesh-admin bootstrap sign ...` (admin_cluster.c). */
int dmp_admin_cluster(int argc, char **argv);
int dmp_admin_bootstrap(int argc, char **argv);

/* POST /v1/admin {"op", "args"} to a running node (remote.c); 0 with *res, or an exit code
 * (the message already printed). */
int admin_remote(const char *node, const char *token, const char *op, json_t *args, json_t **res);

/* import_tsig.c: every row of a reference keystore's tsig_keys table into the store's tsig
 * column family (overwriting keys of the same name). Counts rows found, imported and skipped
 * as unusable. 0, or 1 with err set. */
int admin_import_tsig(sqlite3 *kdb, dmp_store_t *s, int64_t *found, int64_t *imported,
                      int64_t *invalid, char *err, size_t cap);

/* load.c: `dnsmesh-admin load FILE` into the stopped store at db (created if missing);
 * format "zone", "jsonl" or NULL (by extension / first byte). The node's caps come from cfg.
 * Returns the exit status. */
int admin_load(const char *db, const char *file, const char *format, bool json_out,
               const dmp_node_config_t *cfg);
/* The parser alone (fuzz target): every record of buf checked, nothing stored. 0 with
 * *records, or 1 with the FILE:LINE message in err. */
int admin_load_parse(const uint8_t *buf, size_t len, bool jsonl, const dmp_node_config_t *cfg,
                     size_t *records, char *err, size_t cap);

#endif
