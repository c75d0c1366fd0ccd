/* dnsmesh-admin import-reference: the reference's TSIG keystore (`tsig_keys` in its `_tsig`
 * SQLite file, node.md §5.4; user_version up to 4, older files lack subject / registered_spk /
 * registered_x25519_pub) into the store's tsig column family, so users registered on the
 * reference keep their keys. Rows whose name, algorithm, secret or suffixes cannot be used are
 * skipped and counted (the reference skips them too when it builds its keyring). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "dns/dns.h"
#include "node/tsig_keys.h"
#include "util/util.h"

static bool col_exists(sqlite3 *db, const char *col)
{
    sqlite3_stmt *st = NULL;
    bool yes = false;
    if (sqlite3_prepare_v2(db, "PRAGMA table_info(tsig_keys)", -1, &st, NULL) == SQLITE_OK)
        while (!yes && sqlite3_step(st) == SQLITE_ROW) {
            const char *n = (const char *)sqlite3_column_text(st, 1);
            yes = n && strcmp(n, col) == 0;
        }
    sqlite3_finalize(st);
    return yes;
}

static const char *text(sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    return t ? t : "";
}

/* One row into r; false when it cannot be a key. */
static bool row_to_rec(sqlite3_stmt *st, dmp_node_tsig_rec_t *r)
{
    memset(r, 0, sizeof(*r));
    const char *name = text(st, 0);
    size_t nl = strlen(name);
    while (nl && name[nl - 1] == '.')
        nl--;
    uint8_t w[255];
    size_t wl;
    if (nl == 0 || nl >= sizeof(r->key.name) || dmp_dns_name_from_text(name, nl, w, sizeof(w), &wl))
        return false;
    for (size_t i = 0; i < nl; i++)
        r->key.name[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] | 0x20) : name[i];
    const char *alg = text(st, 1);
    if (dmp_tsig_alg_parse(alg, strlen(alg), &r->key.alg) != 0)
        return false;
    int sl = sqlite3_column_bytes(st, 2);
    const void *sec = sqlite3_column_blob(st, 2);
    if (sl <= 0 || sl > DMP_TSIG_MAX_SECRET || !sec)
        return false;
    memcpy(r->key.secret, sec, (size_t)sl);
    r->key.secret_len = (size_t)sl;
    /* allowed_suffixes: newline-joined */
    const char *s = text(st, 3);
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        while (l && (s[l - 1] == '.' || s[l - 1] == '\r' || s[l - 1] == ' '))
            l--;
        while (l && (*s == '.' || *s == ' ')) {
            s++;
            l--;
        }
        if (l) {
            if (r->n_suffixes == DMP_NODE_TSIG_MAX_SUFFIXES || l >= sizeof(r->suffixes[0]))
                return false;
            for (size_t i = 0; i < l; i++)
                r->suffixes[r->n_suffixes][i] =
                    (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] | 0x20) : s[i];
            r->n_suffixes++;
        }
        if (!e)
            break;
        s = e + 1;
    }
    r->created_at = sqlite3_column_int64(st, 4);
    r->expires_at = sqlite3_column_int64(st, 5);
    r->revoked = sqlite3_column_int64(st, 6) != 0;
    snprintf(r->subject, sizeof(r->subject), "%s", text(st, 7));
    if (strlen(text(st, 8)) < sizeof(r->spk_hex))
        snprintf(r->spk_hex, sizeof(r->spk_hex), "%s", text(st, 8));
    if (strlen(text(st, 9)) < sizeof(r->x25519_hex))
        snprintf(r->x25519_hex, sizeof(r->x25519_hex), "%s", text(st, 9));
    return true;
}

int admin_import_tsig(sqlite3 *kdb, dmp_store_t *s, int64_t *found, int64_t *imported,
                      int64_t *invalid, char *err, size_t cap)
{
    *found = *imported = *invalid = 0;
    char q[512];
    snprintf(q, sizeof(q),
             "SELECT name, algorithm, secret, allowed_suffixes, created_at, expires_at, revoked, "
             "%s, %s, %s FROM tsig_keys ORDER BY name",
             col_exists(kdb, "subject") ? "subject" : "''",
             col_exists(kdb, "registered_spk") ? "registered_spk" : "''",
             col_exists(kdb, "registered_x25519_pub") ? "registered_x25519_pub" : "''");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kdb, q, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, cap, "reading tsig_keys: %s", sqlite3_errmsg(kdb));
        return 1;
    }
    int rc = 0, sr;
    dmp_node_tsig_rec_t r;
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        (*found)++;
        if (!row_to_rec(st, &r)) {
            (*invalid)++;
            continue;
        }
        int pr = dmp_node_tsig_put(s, &r);
        if (pr != 0) {
            snprintf(err, cap, "storing TSIG key '%s': %s", r.key.name, dmp_strerror(pr));
            rc = 1;
            break;
        }
        (*imported)++;
    }
    if (rc == 0 && sr != SQLITE_DONE) {
        snprintf(err, cap, "reading tsig_keys: %s", sqlite3_errmsg(kdb));
        rc = 1;
    }
    dmp_node_tsig_rec_wipe(&r);
    sqlite3_finalize(st);
    return rc;
}
