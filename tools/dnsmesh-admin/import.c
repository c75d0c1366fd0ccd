/* dnsmesh-admin import-reference: copies a reference (Python) node's SQLite databases into a
 * stopped dnsmeshd store, so an operator can switch nodes without users re-registering:
 * live records with their stored time and expiry (`dmp.db`), tokens and their audit log
 * (`<stem>_tokens<ext>` or DMP_TOKEN_DB_PATH), TSIG keys (`<stem>_tsig<ext>` or
 * DMP_TSIG_DB_PATH). The SQLite files are opened read-only. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admin.h"
#include "dns/dns.h"
#include "node/tsig_keys.h"

#define TOKENS_SCHEMA_MAX 2 /* the reference's tokens user_version this tool understands */

static bool is_file(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* "<dir>/<stem><suffix><ext>" from "<dir>/<stem><ext>" (the reference's sibling naming). */
static void sibling(const char *db, const char *suffix, char *out, size_t cap)
{
    const char *slash = strrchr(db, '/');
    const char *base = slash ? slash + 1 : db;
    const char *dot = strrchr(base, '.');
    size_t stem_end = dot && dot != base ? (size_t)(dot - db) : strlen(db);
    snprintf(out, cap, "%.*s%s%s", (int)stem_end, db, suffix, db + stem_end);
}

static int open_ro(const char *path, sqlite3 **db, char *err, size_t cap)
{
    if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, cap, "cannot open '%s': %s", path, *db ? sqlite3_errmsg(*db) : "no memory");
        sqlite3_close(*db);
        *db = NULL;
        return 1;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

static bool has_table(sqlite3 *db, const char *t)
{
    sqlite3_stmt *st = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
        yes = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return yes;
}

static bool has_column(sqlite3 *db, const char *table, const char *col)
{
    char q[128];
    snprintf(q, sizeof(q), "PRAGMA table_info(%s)", table);
    sqlite3_stmt *st = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
        while (!yes && sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *n = sqlite3_column_text(st, 1);
            yes = n && strcmp((const char *)n, col) == 0;
        }
    }
    sqlite3_finalize(st);
    return yes;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static int import_records(sqlite3 *db, dmp_store_t *s, int64_t now_s, json_t *rep, char *err,
                          size_t cap)
{
    if (!has_table(db, "records")) {
        snprintf(err, cap, "no 'records' table: not a reference node's record database");
        return 1;
    }
    bool has_stored = has_column(db, "records", "stored_ts");
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT name, value, ttl, created_at, expires_at, %s FROM records "
             "WHERE expires_at > ? ORDER BY %s",
             has_stored ? "stored_ts" : "0", has_stored ? "stored_ts, rowid" : "created_at, rowid");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "reading records: %s", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_bind_int64(st, 1, now_s);
    int64_t imported = 0, invalid = 0;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = col_text(st, 0);
        const uint8_t *val = sqlite3_column_blob(st, 1);
        size_t vlen = (size_t)sqlite3_column_bytes(st, 1);
        int64_t ttl = sqlite3_column_int64(st, 2);
        int64_t created = sqlite3_column_int64(st, 3);
        int64_t expires = sqlite3_column_int64(st, 4);
        int64_t stored = sqlite3_column_int64(st, 5);
        if (stored > 0 && stored < 1000000000000LL)
            stored *= 1000; /* the reference's own seconds -> ms migration */
        if (stored <= 0)
            stored = created * 1000;
        /* keep the expiry: ttl counted from the stored time */
        int64_t t = expires - stored / 1000;
        if (ttl <= 0 || t <= 0 || t > 0x7fffffff) {
            invalid++;
            continue;
        }
        size_t nl = strlen(name);
        while (nl && name[nl - 1] == '.')
            nl--;
        if (!dmp_node_name_valid(name, nl)) { /* the node's record-name rule */
            invalid++;
            continue;
        }
        dmp_store_put_t p = {name, nl, val ? val : (const uint8_t *)"", vlen, (uint32_t)t};
        int prc = dmp_store_put_batch_ex(s, &p, 1, stored, DMP_STORE_NOSYNC);
        if (prc == DMP_ENAME || prc == DMP_ETOOBIG || prc == DMP_ERANGE) {
            invalid++;
            continue;
        }
        if (prc != 0) {
            snprintf(err, cap, "writing the store: %s", dmp_store_strerror(prc));
            rc = 1;
            break;
        }
        imported++;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        snprintf(err, cap, "reading records: %s", sqlite3_errmsg(db));
        rc = 1;
    }
    sqlite3_finalize(st);
    int64_t expired = 0;
    if (rc == 0 && sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM records WHERE expires_at <= ?", -1,
                                      &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now_s);
        if (sqlite3_step(st) == SQLITE_ROW)
            expired = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    json_object_set_new(rep, "records",
                        json_pack("{s:I,s:I,s:I}", "imported", (json_int_t)imported,
                                  "expired_skipped", (json_int_t)expired, "invalid_skipped",
                                  (json_int_t)invalid));
    return rc;
}

static int import_tokens(sqlite3 *db, dmp_node_tokens_t *t, json_t *rep, char *err, size_t cap)
{
    sqlite3_stmt *st = NULL;
    int64_t ver = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        ver = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (ver > TOKENS_SCHEMA_MAX) {
        snprintf(err, cap, "token database schema version %lld is newer than this tool knows (%d)",
                 (long long)ver, TOKENS_SCHEMA_MAX);
        return 1;
    }
    if (!has_table(db, "tokens")) {
        snprintf(err, cap, "no 'tokens' table: not a reference node's token database");
        return 1;
    }
    char q[512];
    snprintf(q, sizeof(q),
             "SELECT token_hash, subject, subject_type, subject_hash12, rate_per_sec, "
             "rate_burst, issued_at, expires_at, revoked_at, issuer, note, %s FROM tokens",
             has_column(db, "tokens", "registered_spk") ? "registered_spk" : "NULL");
    if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "reading tokens: %s", sqlite3_errmsg(db));
        return 1;
    }
    int64_t n = 0, bad = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        dmp_node_token_t r;
        memset(&r, 0, sizeof(r));
        snprintf(r.token_hash, sizeof(r.token_hash), "%s", col_text(st, 0));
        snprintf(r.subject, sizeof(r.subject), "%s", col_text(st, 1));
        r.subject_type = sqlite3_column_int(st, 2);
        snprintf(r.subject_hash12, sizeof(r.subject_hash12), "%s", col_text(st, 3));
        r.rate_per_sec = sqlite3_column_double(st, 4);
        r.rate_burst = sqlite3_column_int64(st, 5);
        r.issued_at = sqlite3_column_int64(st, 6);
        r.expires_at = sqlite3_column_int64(st, 7);
        r.revoked_at = sqlite3_column_int64(st, 8);
        snprintf(r.issuer, sizeof(r.issuer), "%s", col_text(st, 9));
        snprintf(r.note, sizeof(r.note), "%s", col_text(st, 10));
        snprintf(r.registered_spk, sizeof(r.registered_spk), "%s", col_text(st, 11));
        if (dmp_node_tokens_put(t, &r) == 0)
            n++;
        else
            bad++;
    }
    sqlite3_finalize(st);
    int64_t audit = 0;
    if (has_table(db, "token_audit") &&
        sqlite3_prepare_v2(db,
                           "SELECT ts, event, token_hash, subject, remote_addr, detail FROM "
                           "token_audit ORDER BY id",
                           -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            dmp_node_tokens_audit_at(t, sqlite3_column_int64(st, 0), col_text(st, 1),
                                     col_text(st, 2), col_text(st, 3), col_text(st, 4),
                                     col_text(st, 5));
            audit++;
        }
        sqlite3_finalize(st);
    }
    int frc = dmp_node_tokens_flush(t);
    if (frc != 0) {
        snprintf(err, cap, "writing the audit log: %s", dmp_strerror(frc));
        return 1;
    }
    json_object_set_new(rep, "tokens",
                        json_pack("{s:I,s:I,s:I}", "imported", (json_int_t)n, "invalid_skipped",
                                  (json_int_t)bad, "audit_rows", (json_int_t)audit));
    return 0;
}

int admin_import_reference(const char *store_path, const char *ref_db, const char *tokens_db,
                           const char *tsig_db, json_t **report, char *err, size_t cap)
{
    *report = NULL;
    char tok_path[4096], tsig_path[4096];
    if (!tokens_db) {
        tokens_db = getenv("DMP_TOKEN_DB_PATH");
        if (!tokens_db || !*tokens_db) {
            sibling(ref_db, "_tokens", tok_path, sizeof(tok_path));
            tokens_db = tok_path;
        }
    }
    if (!tsig_db) {
        tsig_db = getenv("DMP_TSIG_DB_PATH");
        if (!tsig_db || !*tsig_db) {
            sibling(ref_db, "_tsig", tsig_path, sizeof(tsig_path));
            tsig_db = tsig_path;
        }
    }
    if (!is_file(ref_db)) {
        snprintf(err, cap, "'%s' is not a file (the reference node's DMP_DB_PATH)", ref_db);
        return 1;
    }
    if (is_file(store_path)) {
        snprintf(err, cap, "--db '%s' is a file: name the dnsmeshd store directory to import into",
                 store_path);
        return 2;
    }
    sqlite3 *rdb = NULL, *tdb = NULL;
    if (open_ro(ref_db, &rdb, err, cap) != 0)
        return 1;
    if (is_file(tokens_db) && open_ro(tokens_db, &tdb, err, cap) != 0) {
        sqlite3_close(rdb);
        return 1;
    }
    dmp_store_opts_t so = {.path = store_path, .create_if_missing = true};
    dmp_store_t *s = NULL;
    char serr[600];
    int rc = dmp_store_open(&so, &s, serr, sizeof(serr));
    if (rc != 0) {
        if (strstr(serr, "lock") || strstr(serr, "LOCK"))
            snprintf(err, cap, "store '%s' is in use (is dnsmeshd running?): stop the node first",
                     store_path);
        else
            snprintf(err, cap, "cannot open store '%s': %s", store_path,
                     serr[0] ? serr : dmp_store_strerror(rc));
        sqlite3_close(rdb);
        sqlite3_close(tdb);
        return 1;
    }
    json_t *rep = json_object();
    rc = import_records(rdb, s, (int64_t)time(NULL), rep, err, cap);
    if (rc == 0) {
        int src = dmp_store_sync_wal(s);
        if (src != 0) {
            snprintf(err, cap, "syncing the store: %s", dmp_store_strerror(src));
            rc = 1;
        }
    }
    if (rc == 0 && tdb) {
        dmp_node_tokens_t *t = NULL;
        rc = dmp_node_tokens_open(s, NULL, &t) == 0 ? import_tokens(tdb, t, rep, err, cap) : 1;
        dmp_node_tokens_close(t);
    } else if (rc == 0) {
        json_object_set_new(
            rep, "tokens",
            json_pack("{s:s,s:s}", "skipped", "no token database", "path", tokens_db));
    }
    /* TSIG keys into the keystore (import_tsig.c) */
    if (rc == 0 && is_file(tsig_db)) {
        sqlite3 *kdb = NULL;
        if (open_ro(tsig_db, &kdb, err, cap) != 0) {
            rc = 1;
        } else if (has_table(kdb, "tsig_keys")) {
            int64_t found = 0, imported = 0, invalid = 0;
            rc = admin_import_tsig(kdb, s, &found, &imported, &invalid, err, cap);
            if (rc == 0 && dmp_store_sync_wal(s) != 0) {
                snprintf(err, cap, "syncing the store after the TSIG keys");
                rc = 1;
            }
            json_object_set_new(rep, "tsig_keys",
                                json_pack("{s:I,s:I,s:I}", "found", (json_int_t)found, "imported",
                                          (json_int_t)imported, "invalid_skipped",
                                          (json_int_t)invalid));
        }
        sqlite3_close(kdb);
    }
    dmp_store_close(s);
    sqlite3_close(rdb);
    sqlite3_close(tdb);
    if (rc != 0) {
        json_decref(rep);
        return rc;
    }
    *report = rep;
    return 0;
}
