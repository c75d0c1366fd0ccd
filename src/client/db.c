/* client: the local databases of the config home, SQLite with the reference's schemas
 * (client.md §5.5 prekeys.db user_version 2, §5.7 intros.db user_version 1) so one config home
 * works with both clients. Files and the WAL siblings are 0600, the directory 0700. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

static int db_open(const char *path, int max_version, const char *const *schema, size_t nschema,
                   int version, void **out)
{
    char dir[DMP_CLIENT_PATH];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (dmp_client_mkdirs(dir, 0700))
            return DMP_ESYS;
    }
    mode_t old = umask(077);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    umask(old);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return DMP_EIO;
    }
    sqlite3_busy_timeout(db, 5000);
    (void)chmod(path, 0600);
    int uv = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        uv = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (uv > max_version) {
        sqlite3_close(db);
        return DMP_EVERSION;
    }
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return DMP_EIO;
    }
    for (size_t i = 0; i < nschema; i++) {
        if (sqlite3_exec(db, schema[i], NULL, NULL, NULL) != SQLITE_OK) {
            /* migration statements that already applied (duplicate column) are fine */
            if (strstr(schema[i], "ALTER") == NULL) {
                sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                sqlite3_close(db);
                return DMP_EIO;
            }
        }
    }
    char v[64];
    snprintf(v, sizeof(v), "PRAGMA user_version = %d", version);
    if (uv < version)
        sqlite3_exec(db, v, NULL, NULL, NULL);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return DMP_EIO;
    }
    char sib[DMP_CLIENT_PATH + 8];
    snprintf(sib, sizeof(sib), "%s-wal", path);
    (void)chmod(sib, 0600);
    snprintf(sib, sizeof(sib), "%s-shm", path);
    (void)chmod(sib, 0600);
    *out = db;
    return 0;
}

void dmp_client_db_close(void *db)
{
    if (db)
        sqlite3_close(db);
}

/* ---------------------------------------------------------------- prekeys.db */

static const char *const prekey_schema[] = {
    ("CREATE TABLE IF NOT EXISTS prekeys (prekey_id INTEGER PRIMARY KEY, private_key BLOB NOT "
     "NULL, public_key BLOB NOT NULL, exp INTEGER NOT NULL, created_at INTEGER NOT NULL)"),
    "CREATE INDEX IF NOT EXISTS idx_prekeys_exp ON prekeys(exp)",
    "ALTER TABLE prekeys ADD COLUMN wire_record TEXT DEFAULT ''",
};

int dmp_client_prekeys_open(const char *path, void **db)
{
    return db_open(path, 2, prekey_schema, 3, 2, db);
}

int dmp_client_prekeys_add(void *db, uint32_t id, const uint8_t sk[32], const uint8_t pk[32],
                           int64_t exp, int64_t now)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO prekeys (prekey_id, private_key, public_key, exp, "
                           "created_at, wire_record) VALUES (?, ?, ?, ?, ?, '')",
                           -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob(st, 2, sk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, pk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, exp);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return DMP_EEXIST;
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

int dmp_client_prekeys_exists(void *db, uint32_t id, bool *exists)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM prekeys WHERE prekey_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    *exists = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : DMP_EIO;
}

int dmp_client_prekeys_set_wire(void *db, uint32_t id, const char *wire)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "UPDATE prekeys SET wire_record = ? WHERE prekey_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_text(st, 1, wire, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

/* The private key of a live (exp > now) prekey; DMP_ENOTFOUND otherwise. */
int dmp_client_prekeys_get(void *db, uint32_t id, int64_t now, uint8_t sk[32], char *wire,
                           size_t wcap)
{
    if (id == 0)
        return DMP_ENOTFOUND;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT private_key, wire_record FROM prekeys WHERE prekey_id = ? "
                           "AND exp > ?",
                           -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    int out = DMP_ENOTFOUND;
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(sk, sqlite3_column_blob(st, 0), 32);
        if (wire && wcap) {
            const unsigned char *w = sqlite3_column_text(st, 1);
            snprintf(wire, wcap, "%s", w ? (const char *)w : "");
        }
        out = 0;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        out = DMP_EIO;
    }
    sqlite3_finalize(st);
    return out;
}

int dmp_client_prekeys_consume(void *db, uint32_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM prekeys WHERE prekey_id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

int dmp_client_prekeys_count_live(void *db, int64_t now, int64_t *count)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM prekeys WHERE exp > ?", -1, &st, NULL) !=
        SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, now);
    int rc = sqlite3_step(st);
    *count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : DMP_EIO;
}

/* ---------------------------------------------------------------- intros.db */

static const char *const intro_schema[] = {
    "CREATE TABLE IF NOT EXISTS intros (id INTEGER PRIMARY KEY AUTOINCREMENT, sender_spk BLOB NOT "
    "NULL, msg_id BLOB NOT NULL, plaintext BLOB NOT NULL, sender_mailbox_domain TEXT NOT NULL, "
    "sender_label TEXT NOT NULL DEFAULT '', received_at INTEGER NOT NULL, msg_exp INTEGER NOT "
    "NULL, UNIQUE(sender_spk, msg_id))",
    "CREATE INDEX IF NOT EXISTS idx_intros_received_at ON intros(received_at DESC)",
    ("CREATE TABLE IF NOT EXISTS denylist (sender_spk BLOB PRIMARY KEY, blocked_at INTEGER NOT "
     "NULL, note TEXT NOT NULL DEFAULT '')"),
};

int dmp_client_intros_open(const char *path, void **db)
{
    return db_open(path, 1, intro_schema, 3, 1, db);
}

int dmp_client_intros_denied(void *db, const uint8_t spk[32], bool *denied)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM denylist WHERE sender_spk = ? LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_blob(st, 1, spk, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *denied = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : DMP_EIO;
}

/* DMP_EDUP when (spk, msg_id) is already queued; DMP_EAUTH when the sender is denylisted. */
int dmp_client_intros_add(void *db, const dmp_client_intro_t *in)
{
    bool denied = false;
    int rc = dmp_client_intros_denied(db, in->sender_spk, &denied);
    if (rc)
        return rc;
    if (denied)
        return DMP_EAUTH;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO intros (sender_spk, msg_id, plaintext, "
                           "sender_mailbox_domain, sender_label, received_at, msg_exp) VALUES "
                           "(?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_blob(st, 1, in->sender_spk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, in->msg_id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 3, in->plaintext.data ? (const void *)in->plaintext.data : "",
                      (int)in->plaintext.len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, in->zone, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, in->label, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, in->received_at);
    sqlite3_bind_int64(st, 7, in->msg_exp);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return DMP_EDUP;
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

static int row_to_intro(sqlite3_stmt *st, dmp_client_intro_t *o)
{
    memset(o, 0, sizeof(*o));
    dmp_buf_init(&o->plaintext);
    o->id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) == 32)
        memcpy(o->sender_spk, sqlite3_column_blob(st, 1), 32);
    if (sqlite3_column_bytes(st, 2) == 16)
        memcpy(o->msg_id, sqlite3_column_blob(st, 2), 16);
    int n = sqlite3_column_bytes(st, 3);
    if (n > 0 && dmp_buf_append(&o->plaintext, sqlite3_column_blob(st, 3), (size_t)n))
        return DMP_ENOMEM;
    const unsigned char *z = sqlite3_column_text(st, 4), *l = sqlite3_column_text(st, 5);
    snprintf(o->zone, sizeof(o->zone), "%s", z ? (const char *)z : "");
    snprintf(o->label, sizeof(o->label), "%s", l ? (const char *)l : "");
    o->received_at = sqlite3_column_int64(st, 6);
    o->msg_exp = sqlite3_column_int64(st, 7);
    return 0;
}

#define INTRO_COLS                                                                                 \
    "SELECT id, sender_spk, msg_id, plaintext, sender_mailbox_domain, sender_label, "              \
    "received_at, msg_exp FROM intros "

int dmp_client_intros_list(void *db, dmp_client_intro_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, INTRO_COLS "ORDER BY received_at DESC, id DESC", -1, &st, NULL) !=
        SQLITE_OK)
        return DMP_EIO;
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        dmp_client_intro_t *v = realloc(*out, (*n + 1) * sizeof(*v));
        if (!v) {
            rc = DMP_ENOMEM;
            break;
        }
        *out = v;
        if ((rc = row_to_intro(st, &v[*n])))
            break;
        (*n)++;
    }
    if (!rc && s != SQLITE_DONE)
        rc = DMP_EIO;
    sqlite3_finalize(st);
    return rc;
}

int dmp_client_intros_get(void *db, int64_t id, dmp_client_intro_t *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, INTRO_COLS "WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    int s = sqlite3_step(st);
    int rc = s == SQLITE_ROW ? row_to_intro(st, out) : s == SQLITE_DONE ? DMP_ENOTFOUND : DMP_EIO;
    sqlite3_finalize(st);
    return rc;
}

int dmp_client_intros_has(void *db, const uint8_t spk[32], const uint8_t msg_id[16], bool *has)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM intros WHERE sender_spk = ? AND msg_id = ? LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_blob(st, 1, spk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, msg_id, 16, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *has = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : DMP_EIO;
}

int dmp_client_intros_remove(void *db, int64_t id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "DELETE FROM intros WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

int dmp_client_intros_block(void *db, const uint8_t spk[32], const char *note, int64_t now)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT OR IGNORE INTO denylist (sender_spk, blocked_at, note) VALUES "
                           "(?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return DMP_EIO;
    sqlite3_bind_blob(st, 1, spk, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, note ? note : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : DMP_EIO;
}

void dmp_client_intros_free(dmp_client_intro_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dmp_buf_free_secret(&v[i].plaintext);
    free(v);
}
