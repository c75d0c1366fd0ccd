/* cluster: JSON bodies of the reference's sync protocol (reference/cluster.md §3.4): digest,
 * pull and cluster-manifest, both the server's and the worker's side. jansson does the JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/cluster.h"

#define CURSOR_MSG "cursor must be '<ts>:<name>:<value_hash>'"

static void set_msg(char *msg, size_t cap, const char *s)
{
    if (msg && cap)
        snprintf(msg, cap, "%s", s);
}

static bool is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Non-negative decimal integer, digits only, fitting int64. */
static int parse_ts(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 19)
        return DMP_EFORMAT;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return DMP_EFORMAT;
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return DMP_EFORMAT;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int dmp_cluster_cursor_parse(const char *s, size_t len, dmp_cluster_cursor_t *out)
{
    if (!s || !out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    const char *c1 = memchr(s, ':', len);
    if (!c1)
        return DMP_EFORMAT;
    if (parse_ts(s, (size_t)(c1 - s), &out->ts) != 0)
        return DMP_EFORMAT;
    const char *name = c1 + 1;
    size_t rest = len - (size_t)(name - s);
    const char *c2 = memchr(name, ':', rest);
    size_t nlen = c2 ? (size_t)(c2 - name) : rest;
    if (nlen > DMP_CLUSTER_NAME_MAX || memchr(name, '\0', nlen))
        return DMP_EFORMAT;
    memcpy(out->name, name, nlen);
    out->name[nlen] = '\0';
    out->name_len = nlen;
    if (!c2)
        return 0; /* legacy 2-field cursor: empty hash */
    const char *h = c2 + 1;
    size_t hlen = len - (size_t)(h - s);
    if (hlen == 0)
        return 0;
    if (hlen != 64 || !is_lower_hex(h, 64))
        return DMP_EFORMAT;
    if (dmp_hex_decode(h, 64, out->hash, 32) != 0)
        return DMP_EFORMAT;
    out->has_hash = true;
    return 0;
}

int dmp_cluster_cursor_format(const dmp_cluster_cursor_t *c, char *out, size_t cap)
{
    if (!c || !out || c->name_len > DMP_CLUSTER_NAME_MAX + 1)
        return DMP_EINVAL;
    char hex[65] = "";
    if (c->has_hash)
        dmp_hex_encode(c->hash, 32, hex, sizeof(hex));
    int n = snprintf(out, cap, "%" PRId64 ":%.*s:%s", c->ts, (int)c->name_len, c->name, hex);
    return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
}

int dmp_cluster_digest_query(const char *cursor, const char *since, const char *limit,
                             dmp_cluster_cursor_t *cur, size_t *lim, char *msg, size_t msgcap)
{
    if (!cur || !lim)
        return DMP_EINVAL;
    memset(cur, 0, sizeof(*cur));
    if (cursor) {
        if (dmp_cluster_cursor_parse(cursor, strlen(cursor), cur) != 0) {
            set_msg(msg, msgcap, CURSOR_MSG);
            return DMP_CLUSTER_EREQUEST;
        }
    } else if (since) {
        int64_t v;
        if (dmp_parse_i64(since, INT64_MIN, INT64_MAX, &v) != 0) {
            set_msg(msg, msgcap, "since must be an integer");
            return DMP_CLUSTER_EREQUEST;
        }
        if (v < 0) {
            set_msg(msg, msgcap, "since must be >= 0");
            return DMP_CLUSTER_EREQUEST;
        }
        /* strictly after `since`: a name above every stored name */
        cur->ts = v;
        cur->name[0] = '\xff';
        cur->name[1] = '\0';
        cur->name_len = 1;
    }
    *lim = DMP_CLUSTER_DIGEST_LIMIT;
    if (limit) {
        int64_t v;
        if (dmp_parse_i64(limit, INT64_MIN, INT64_MAX, &v) != 0) {
            set_msg(msg, msgcap, "limit must be an integer");
            return DMP_CLUSTER_EREQUEST;
        }
        if (v <= 0) {
            set_msg(msg, msgcap, "limit must be > 0");
            return DMP_CLUSTER_EREQUEST;
        }
        *lim = v > DMP_CLUSTER_DIGEST_LIMIT_MAX ? DMP_CLUSTER_DIGEST_LIMIT_MAX : (size_t)v;
    }
    return 0;
}

/* Dumps root (reference json.dumps style: ", " and ": ", non-ASCII escaped) and appends. */
static int dump_append(json_t *root, dmp_buf_t *out)
{
    char *s = json_dumps(root, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    if (!s)
        return DMP_ENOMEM;
    /* jansson writes \u00E9, Python \u00e9: lowercase the hex digits of every escape */
    for (char *p = s; *p; p++) {
        if (*p != '\\')
            continue;
        p++;
        if (*p == 'u')
            for (int i = 1; i <= 4 && p[i]; i++)
                if (p[i] >= 'A' && p[i] <= 'F')
                    p[i] = (char)(p[i] - 'A' + 'a');
        if (!*p)
            break;
    }
    int rc = dmp_buf_append(out, s, strlen(s));
    free(s);
    return rc;
}

/* ---- digest ---- */

int dmp_cluster_digest_writer_init(dmp_cluster_digest_writer_t *w)
{
    memset(w, 0, sizeof(*w));
    w->arr = json_array();
    return w->arr ? 0 : DMP_ENOMEM;
}

void dmp_cluster_digest_writer_free(dmp_cluster_digest_writer_t *w)
{
    if (w && w->arr) {
        json_decref(w->arr);
        w->arr = NULL;
    }
}

int dmp_cluster_digest_writer_add(dmp_cluster_digest_writer_t *w, const char *name, size_t len,
                                  const uint8_t hash[32], int64_t ts, uint32_t ttl)
{
    if (!w || !w->arr || !name || len > DMP_CLUSTER_NAME_MAX)
        return DMP_EINVAL;
    char hex[65];
    dmp_hex_encode(hash, 32, hex, sizeof(hex));
    json_t *jn = json_stringn(name, len);
    if (!jn)
        return DMP_EFORMAT;
    json_t *o = json_pack("{s:o, s:s, s:I, s:I}", "name", jn, "hash", hex, "ts", (json_int_t)ts,
                          "ttl", (json_int_t)ttl);
    if (!o || json_array_append_new(w->arr, o) != 0)
        return DMP_ENOMEM;
    w->last.ts = ts;
    memcpy(w->last.name, name, len);
    w->last.name_len = len;
    memcpy(w->last.hash, hash, 32);
    w->last.has_hash = true;
    w->any = true;
    return 0;
}

int dmp_cluster_digest_writer_finish(dmp_cluster_digest_writer_t *w, bool has_more,
                                     const dmp_cluster_cursor_t *input, dmp_buf_t *out)
{
    if (!w || !w->arr || !input || !out)
        return DMP_EINVAL;
    char cur[400];
    int rc = dmp_cluster_cursor_format(w->any ? &w->last : input, cur, sizeof(cur));
    if (rc != 0)
        return rc;
    /* the echoed cursor may hold the legacy "\xff" sentinel: not JSON text, send it escaped */
    json_t *jc = json_string(cur);
    if (!jc) {
        for (char *p = cur; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        jc = json_string(cur);
    }
    json_t *root =
        json_pack("{s:O, s:b, s:o}", "records", w->arr, "has_more", has_more, "next_cursor", jc);
    if (!root)
        return DMP_ENOMEM;
    rc = dump_append(root, out);
    json_decref(root);
    return rc;
}

bool dmp_cluster_name_ok(const char *name, size_t len)
{
    if (!name || len == 0 || len > DMP_CLUSTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void dmp_cluster_digest_free(dmp_cluster_digest_t *d)
{
    if (!d)
        return;
    free(d->e);
    memset(d, 0, sizeof(*d));
}

static json_t *load_object(const uint8_t *buf, size_t len)
{
    if (!buf)
        return NULL;
    json_t *root = json_loadb((const char *)buf, len, 0, NULL);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static bool dentry_parse(json_t *o, dmp_cluster_dentry_t *e)
{
    if (!json_is_object(o))
        return false;
    json_t *jn = json_object_get(o, "name"), *jh = json_object_get(o, "hash");
    json_t *jt = json_object_get(o, "ts"), *jl = json_object_get(o, "ttl");
    if (!json_is_string(jn) || !json_is_string(jh) || !json_is_integer(jt) || !json_is_integer(jl))
        return false;
    const char *name = json_string_value(jn);
    size_t nlen = json_string_length(jn);
    if (!dmp_cluster_name_ok(name, nlen))
        return false;
    if (json_string_length(jh) != 64 || !is_lower_hex(json_string_value(jh), 64))
        return false;
    json_int_t ts = json_integer_value(jt), ttl = json_integer_value(jl);
    if (ts < 0 || ttl < 0 || ttl > (json_int_t)DMP_CLUSTER_TTL_MAX)
        return false;
    memcpy(e->name, name, nlen);
    e->name[nlen] = '\0';
    e->name_len = nlen;
    dmp_hex_decode(json_string_value(jh), 64, e->hash, 32);
    e->ts = ts;
    /* 2^31 does not fit u32's signed peers; it means "very long" either way */
    e->ttl = ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl;
    return true;
}

int dmp_cluster_digest_parse(const uint8_t *buf, size_t len, dmp_cluster_digest_t *out)
{
    if (!out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    json_t *root = load_object(buf, len);
    if (!root)
        return DMP_EFORMAT;
    json_t *recs = json_object_get(root, "records");
    if (!json_is_array(recs)) {
        json_decref(root);
        return DMP_EFORMAT;
    }
    out->has_more = json_is_true(json_object_get(root, "has_more"));
    size_t n = json_array_size(recs);
    if (n > 0) {
        out->e = malloc(n * sizeof(*out->e));
        if (!out->e) {
            json_decref(root);
            return DMP_ENOMEM;
        }
        out->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        if (dentry_parse(json_array_get(recs, i), &out->e[out->n]))
            out->n++;
        else
            out->rejected++;
    }
    json_decref(root);
    return 0;
}

/* ---- pull ---- */

static bool json_safe_name(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            return false;
    }
    return n > 0;
}

int dmp_cluster_pull_req_encode(const char *const *names, const size_t *lens, size_t n,
                                size_t body_cap, dmp_buf_t *out, size_t *taken)
{
    if (!names || !lens || !out || !taken)
        return DMP_EINVAL;
    static const char head[] = "{\"names\": [", tail[] = "]}";
    *taken = 0;
    size_t size = sizeof(head) - 1 + sizeof(tail) - 1, k = 0;
    for (; k < n && k < DMP_CLUSTER_PULL_MAX_NAMES; k++) {
        if (!json_safe_name(names[k], lens[k]))
            return DMP_EINVAL;
        size_t add = lens[k] + 2 + (k ? 2 : 0);
        if (size + add > body_cap)
            break;
        size += add;
    }
    if (k == 0)
        return n == 0 ? DMP_EINVAL : DMP_ETOOBIG;
    int rc = dmp_buf_reserve(out, size);
    if (rc == 0)
        rc = dmp_buf_append(out, head, sizeof(head) - 1);
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (i)
            rc = dmp_buf_append(out, ", ", 2);
        if (rc == 0)
            rc = dmp_buf_append(out, "\"", 1);
        if (rc == 0)
            rc = dmp_buf_append(out, names[i], lens[i]);
        if (rc == 0)
            rc = dmp_buf_append(out, "\"", 1);
    }
    if (rc == 0)
        rc = dmp_buf_append(out, tail, sizeof(tail) - 1);
    if (rc == 0)
        *taken = k;
    return rc;
}

void dmp_cluster_names_free(dmp_cluster_names_t *nm)
{
    if (!nm)
        return;
    for (size_t i = 0; i < nm->n; i++)
        free(nm->names[i]);
    free(nm->names);
    free(nm->lens);
    memset(nm, 0, sizeof(*nm));
}

/* Python's str.strip() whitespace among ASCII: \t\n\v\f\r, 0x1c-0x1f and space. */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

int dmp_cluster_pull_req_parse(const uint8_t *buf, size_t len, dmp_cluster_names_t *out, char *msg,
                               size_t msgcap)
{
    if (!out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    json_t *root;
    if (!buf || len == 0) {
        root = json_object(); /* missing body reads as {} */
    } else {
        root = json_loadb((const char *)buf, len, 0, NULL);
        if (!root || !json_is_object(root)) {
            json_decref(root);
            set_msg(msg, msgcap, "invalid body");
            return DMP_CLUSTER_EREQUEST;
        }
    }
    if (!root)
        return DMP_ENOMEM;
    json_t *arr = json_object_get(root, "names");
    int rc = 0;
    if (!json_is_array(arr)) {
        set_msg(msg, msgcap, "names must be a list");
        rc = DMP_CLUSTER_EREQUEST;
    } else if (json_array_size(arr) > DMP_CLUSTER_PULL_MAX_NAMES) {
        set_msg(msg, msgcap, "at most 256 names per request");
        rc = DMP_CLUSTER_EREQUEST;
    } else {
        size_t n = json_array_size(arr);
        for (size_t i = 0; i < n; i++)
            if (!json_is_string(json_array_get(arr, i))) {
                set_msg(msg, msgcap, "names must be strings");
                rc = DMP_CLUSTER_EREQUEST;
                break;
            }
        if (rc == 0 && n > 0) {
            out->names = calloc(n, sizeof(*out->names));
            out->lens = calloc(n, sizeof(*out->lens));
            if (!out->names || !out->lens)
                rc = DMP_ENOMEM;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            json_t *js = json_array_get(arr, i);
            const char *s = json_string_value(js);
            size_t l = json_string_length(js);
            while (l > 0 && py_space((unsigned char)s[0])) {
                s++;
                l--;
            }
            while (l > 0 && py_space((unsigned char)s[l - 1]))
                l--;
            while (l > 0 && s[l - 1] == '.')
                l--;
            out->names[i] = malloc(l + 1);
            if (!out->names[i]) {
                rc = DMP_ENOMEM;
                break;
            }
            memcpy(out->names[i], s, l);
            out->names[i][l] = '\0';
            out->lens[i] = l;
            out->n = i + 1;
        }
    }
    json_decref(root);
    if (rc != 0)
        dmp_cluster_names_free(out);
    return rc;
}

int dmp_cluster_pull_writer_init(dmp_cluster_pull_writer_t *w)
{
    w->arr = json_array();
    return w->arr ? 0 : DMP_ENOMEM;
}

void dmp_cluster_pull_writer_free(dmp_cluster_pull_writer_t *w)
{
    if (w && w->arr) {
        json_decref(w->arr);
        w->arr = NULL;
    }
}

int dmp_cluster_pull_writer_add(dmp_cluster_pull_writer_t *w, const char *name, size_t len,
                                const uint8_t *value, size_t vlen, uint32_t ttl)
{
    if (!w || !w->arr || !name || (!value && vlen))
        return DMP_EINVAL;
    json_t *jn = json_stringn(name, len);
    json_t *jv = json_stringn(value ? (const char *)value : "", vlen);
    if (!jn || !jv) {
        json_decref(jn);
        json_decref(jv);
        return DMP_EFORMAT;
    }
    json_t *o =
        json_pack("{s:o, s:o, s:I}", "name", jn, "value", jv, "ttl", (json_int_t)(ttl ? ttl : 1));
    if (!o || json_array_append_new(w->arr, o) != 0)
        return DMP_ENOMEM;
    return 0;
}

int dmp_cluster_pull_writer_finish(dmp_cluster_pull_writer_t *w, dmp_buf_t *out)
{
    if (!w || !w->arr || !out)
        return DMP_EINVAL;
    json_t *root = json_pack("{s:O}", "records", w->arr);
    if (!root)
        return DMP_ENOMEM;
    int rc = dump_append(root, out);
    json_decref(root);
    return rc;
}

void dmp_cluster_pull_free(dmp_cluster_pull_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->r[i].value);
    free(p->r);
    memset(p, 0, sizeof(*p));
}

int dmp_cluster_pull_parse(const uint8_t *buf, size_t len, dmp_cluster_pull_t *out)
{
    if (!out)
        return DMP_EINVAL;
    memset(out, 0, sizeof(*out));
    json_t *root = load_object(buf, len);
    if (!root)
        return DMP_EFORMAT;
    json_t *recs = json_object_get(root, "records");
    if (!json_is_array(recs)) {
        json_decref(root);
        return DMP_EFORMAT;
    }
    size_t n = json_array_size(recs);
    if (n > 0) {
        out->r = calloc(n, sizeof(*out->r));
        if (!out->r) {
            json_decref(root);
            return DMP_ENOMEM;
        }
        out->cap = n;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(recs, i);
        json_t *jn = json_object_get(o, "name"), *jv = json_object_get(o, "value");
        json_t *jt = json_object_get(o, "ttl");
        if (!json_is_string(jn) || !json_is_string(jv) || !json_is_integer(jt) ||
            json_integer_value(jt) <= 0 || json_integer_value(jt) > UINT32_MAX ||
            json_string_length(jn) > DMP_CLUSTER_NAME_MAX) {
            out->rejected++;
            continue;
        }
        dmp_cluster_precord_t *r = &out->r[out->n];
        size_t nl = json_string_length(jn), vl = json_string_length(jv);
        memcpy(r->name, json_string_value(jn), nl);
        r->name[nl] = '\0';
        r->name_len = nl;
        r->value = malloc(vl ? vl : 1);
        if (!r->value) {
            rc = DMP_ENOMEM;
            break;
        }
        memcpy(r->value, json_string_value(jv), vl);
        r->value_len = vl;
        r->ttl = (uint32_t)json_integer_value(jt);
        out->n++;
    }
    json_decref(root);
    if (rc != 0)
        dmp_cluster_pull_free(out);
    return rc;
}

/* ---- cluster manifest ---- */

int dmp_cluster_manifest_resp_encode(const char *wire, size_t wire_len, uint64_t seq, uint64_t exp,
                                     const char *cluster_name, dmp_buf_t *out)
{
    if (!wire || !cluster_name || !out)
        return DMP_EINVAL;
    json_t *jw = json_stringn(wire, wire_len), *jn = json_string(cluster_name);
    if (!jw || !jn) {
        json_decref(jw);
        json_decref(jn);
        return DMP_EFORMAT;
    }
    json_t *root = json_pack("{s:o, s:I, s:I, s:o}", "wire", jw, "seq", (json_int_t)seq, "exp",
                             (json_int_t)exp, "cluster_name", jn);
    if (!root)
        return DMP_ENOMEM;
    int rc = dump_append(root, out);
    json_decref(root);
    return rc;
}

int dmp_cluster_manifest_resp_parse(const uint8_t *buf, size_t len, dmp_buf_t *wire)
{
    if (!wire)
        return DMP_EINVAL;
    json_t *root = load_object(buf, len);
    if (!root)
        return DMP_EFORMAT;
    json_t *jw = json_object_get(root, "wire");
    int rc = DMP_EFORMAT;
    if (json_is_string(jw) && json_string_length(jw) > 0)
        rc = dmp_buf_append(wire, json_string_value(jw), json_string_length(jw));
    json_decref(root);
    return rc;
}
