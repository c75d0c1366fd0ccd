/* dnsmesh-admin load: the zone-file reader (RFC 1035 master-file subset). */
#include <string.h>
#include <strings.h>

#include "load_int.h"

/* ---- zone files (RFC 1035 master file subset: $ORIGIN, $TTL, TXT; other types skipped) ---- */

/* One token at p: a quoted string (quoted = true, escapes decoded into out) or a bare word
 * (escapes decoded too). Returns the position after it, NULL on a syntax error. */
static const char *zone_token(const char *p, const char *e, char *out, size_t cap, size_t *olen,
                              bool *quoted, const char **why)
{
    size_t n = 0;
    *quoted = *p == '"';
    if (*quoted)
        p++;
    while (p < e) {
        char c = *p;
        if (*quoted ? c == '"' : (c == ' ' || c == '\t' || c == ';' || c == '"'))
            break;
        if (!*quoted && (c == '(' || c == ')')) {
            *why = "parentheses (records over several lines) are not supported";
            return NULL;
        }
        if (c == '\\') {
            if (p + 1 >= e) {
                *why = "a '\\' at the end of the line";
                return NULL;
            }
            if (p[1] >= '0' && p[1] <= '9') {
                if (e - p < 4 || p[2] < '0' || p[2] > '9' || p[3] < '0' || p[3] > '9') {
                    *why = "a \\DDD escape needs three digits";
                    return NULL;
                }
                int v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
                if (v > 255) {
                    *why = "a \\DDD escape above 255";
                    return NULL;
                }
                c = (char)v;
                p += 4;
            } else {
                c = p[1];
                p += 2;
            }
        } else {
            p++;
        }
        if (n == cap) {
            *why = "a character-string longer than 255 bytes";
            return NULL;
        }
        out[n++] = c;
    }
    if (*quoted) {
        if (p >= e) {
            *why = "an unterminated quoted string";
            return NULL;
        }
        p++;
    }
    *olen = n;
    return p;
}

static bool is_ttl(const char *t, size_t n, int64_t *out)
{
    if (n == 0 || n > 10)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (t[i] - '0');
    }
    *out = v;
    return true;
}

static bool word_is(const char *t, size_t n, const char *w)
{
    return n == strlen(w) && strncasecmp(t, w, n) == 0;
}

/* An owner or $ORIGIN name: absolute (trailing dot), '@', or relative to $ORIGIN. */
static int zone_name(ld_t *L, zst_t *z, size_t line, const char *t, size_t n, char *out,
                     size_t *olen)
{
    if (n == 1 && t[0] == '@') {
        if (!z->have_origin)
            return ld_fail(L, line, "'@' without $ORIGIN");
        memcpy(out, z->origin, z->olen);
        *olen = z->olen;
        return 0;
    }
    if (n > 0 && t[n - 1] == '.') {
        if (n - 1 > 253)
            return ld_fail(L, line, "name too long");
        memcpy(out, t, n - 1);
        *olen = n - 1;
        return 0;
    }
    if (!z->have_origin)
        return ld_fail(L, line, "relative name '%.*s' without $ORIGIN", (int)n, t);
    if (n + 1 + z->olen > 253)
        return ld_fail(L, line, "name too long");
    memcpy(out, t, n);
    out[n] = '.';
    memcpy(out + n + 1, z->origin, z->olen);
    *olen = n + 1 + z->olen;
    return 0;
}

int dmp_admin_load_zone_line(ld_t *L, zst_t *z, size_t line, const char *p, const char *e)
{
    char tok[256];
    size_t tl;
    bool quoted;
    const char *why = NULL;
    bool blank_owner = p < e && (*p == ' ' || *p == '\t');
    p = ld_skip_ws(p, e);
    if (p >= e || *p == ';')
        return 0;
    if (*p == '$') {
        const char *q = zone_token(p, e, tok, sizeof tok, &tl, &quoted, &why);
        if (!q)
            return ld_fail(L, line, "%s", why);
        p = ld_skip_ws(q, e);
        char arg[256];
        size_t al;
        q = p < e ? zone_token(p, e, arg, sizeof arg, &al, &quoted, &why) : NULL;
        if (!q)
            return ld_fail(L, line, "%.*s needs an argument", (int)tl, tok);
        if (word_is(tok, tl, "$TTL")) {
            if (!is_ttl(arg, al, &z->dflt_ttl))
                return ld_fail(L, line, "$TTL: expected seconds, got '%.*s'", (int)al, arg);
            return 0;
        }
        if (word_is(tok, tl, "$ORIGIN")) {
            if (al == 0 || arg[al - 1] != '.')
                return ld_fail(L, line, "$ORIGIN must be an absolute name (ending in '.')");
            if (al - 1 > 253)
                return ld_fail(L, line, "$ORIGIN too long");
            memcpy(z->origin, arg, al - 1);
            z->olen = al - 1;
            z->have_origin = true;
            return 0;
        }
        return ld_fail(L, line, "unsupported directive %.*s", (int)tl, tok);
    }
    char owner[256];
    size_t owl = 0;
    if (!blank_owner) {
        const char *q = zone_token(p, e, tok, sizeof tok, &tl, &quoted, &why);
        if (!q)
            return ld_fail(L, line, "%s", why);
        if (zone_name(L, z, line, tok, tl, owner, &owl))
            return 1;
        if (!z->have_owner || owl != z->owner_len || memcmp(owner, z->owner, owl) != 0) {
            char *c = ld_arena(L, owl ? owl : 1);
            if (!c)
                return ld_fail(L, line, "out of memory");
            memcpy(c, owner, owl);
            z->owner = c;
        }
        z->owner_len = owl;
        z->have_owner = true;
        p = ld_skip_ws(q, e);
    } else if (!z->have_owner) {
        return ld_fail(L, line, "a record without an owner name");
    }
    int64_t ttl = -1;
    /* [ttl] [class] type, ttl and class in either order */
    for (int k = 0; k < 3; k++) {
        if (p >= e || *p == ';')
            return ld_fail(L, line, "a record without a type");
        const char *q = zone_token(p, e, tok, sizeof tok, &tl, &quoted, &why);
        if (!q)
            return ld_fail(L, line, "%s", why);
        p = ld_skip_ws(q, e);
        int64_t t;
        if (ttl < 0 && is_ttl(tok, tl, &t)) {
            ttl = t;
            continue;
        }
        if (word_is(tok, tl, "IN"))
            continue;
        if (word_is(tok, tl, "CH") || word_is(tok, tl, "HS") || word_is(tok, tl, "CS"))
            return ld_fail(L, line, "class %.*s: only IN is served", (int)tl, tok);
        if (!word_is(tok, tl, "TXT")) {
            L->skipped++;
            return 0;
        }
        if (ttl >= 0)
            z->dflt_ttl = ttl; /* RFC 1035: later records without a TTL reuse it */
        else if ((ttl = z->dflt_ttl) < 0)
            return ld_fail(L, line, "a record without a TTL and no $TTL before it");
        /* the character-strings, concatenated: the value the node splits again */
        size_t vl = 0;
        char *val = NULL;
        size_t count = 0;
        char *buf = malloc((size_t)(e - p) + 1);
        if (!buf)
            return ld_fail(L, line, "out of memory");
        while (p < e && *p != ';') {
            q = zone_token(p, e, buf + vl, 255, &tl, &quoted, &why);
            if (!q) {
                free(buf);
                return ld_fail(L, line, "%s", why);
            }
            vl += tl;
            count++;
            p = ld_skip_ws(q, e);
        }
        if (count == 0) {
            free(buf);
            return ld_fail(L, line, "TXT without a character-string");
        }
        val = ld_arena(L, vl + 1);
        if (!val) {
            free(buf);
            return ld_fail(L, line, "out of memory (or a value over 16 MiB)");
        }
        memcpy(val, buf, vl);
        free(buf);
        return ld_add_rec(L, line, z->owner, z->owner_len, (const uint8_t *)val, vl, ttl, false);
    }
    return ld_fail(L, line, "a record without a type");
}

/* ---- driver ---- */
