/* client: per-node bearer tokens (client.md §6.5): $DMP_TOKENS_HOME/<host>.json, 0600, atomic. */
#include <dirent.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

/* strip, strip dots, lowercase; ^[a-z0-9](?:[a-z0-9.\-]{0,252}[a-z0-9])?$ */
int dmp_client_token_host(const char *in, char *out, size_t cap)
{
    const uint8_t *p = (const uint8_t *)in;
    size_t n = strlen(in);
    dmp_py_strip(&p, &n);
    while (n && p[0] == '.') {
        p++;
        n--;
    }
    while (n && p[n - 1] == '.')
        n--;
    if (n == 0 || n > 254 || n >= cap)
        return DMP_ENAME;
    for (size_t i = 0; i < n; i++) {
        char c = (char)p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && ((i == 0 || i == n - 1) || (c != '.' && c != '-')))
            return DMP_ENAME;
        out[i] = c;
    }
    out[n] = 0;
    return 0;
}

/* Host part of an endpoint URL (scheme optional; port, userinfo and path dropped). */
int dmp_client_endpoint_host(const char *endpoint, char *out, size_t cap)
{
    const char *s = strstr(endpoint, "://");
    s = s ? s + 3 : endpoint;
    const char *at = strchr(s, '@');
    const char *slash = strchr(s, '/');
    if (at && (!slash || at < slash))
        s = at + 1;
    size_t n = strcspn(s, "/?#");
    char tmp[512];
    if (n >= sizeof(tmp))
        return DMP_ETOOBIG;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *h = tmp;
    if (h[0] == '[') {
        char *rb = strchr(h, ']');
        if (!rb)
            return DMP_EFORMAT;
        *rb = 0;
        h++;
    } else {
        char *c = strrchr(h, ':');
        if (c)
            *c = 0;
    }
    if (!*h || strlen(h) >= cap)
        return DMP_EFORMAT;
    for (char *q = h; *q; q++)
        if (*q >= 'A' && *q <= 'Z')
            *q = (char)(*q + 32);
    strcpy(out, h);
    return 0;
}

static int token_path(const char *host, char *out, size_t cap)
{
    char safe[256], dir[DMP_CLIENT_PATH];
    int rc = dmp_client_token_host(host, safe, sizeof(safe));
    if (!rc)
        rc = dmp_client_tokens_dir(dir, sizeof(dir));
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s/%s.json", dir, safe);
    return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
}

int dmp_client_token_save(const char *host, const char *subject, const char *token,
                          int64_t expires_at, const char *registered_spk, int64_t now)
{
    char path[DMP_CLIENT_PATH], safe[256];
    int rc = token_path(host, path, sizeof(path));
    if (rc || (rc = dmp_client_token_host(host, safe, sizeof(safe))))
        return rc;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    json_object_set_new(o, "node", json_string(safe));
    json_object_set_new(o, "subject", json_string(subject ? subject : ""));
    json_object_set_new(o, "token", json_string(token));
    json_object_set_new(o, "expires_at", expires_at > 0 ? json_integer(expires_at) : json_null());
    json_object_set_new(o, "registered_spk", json_string(registered_spk ? registered_spk : ""));
    json_object_set_new(o, "saved_at", json_integer(now));
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!txt)
        return DMP_ENOMEM;
    rc = dmp_client_write_atomic(path, txt, strlen(txt), 0600);
    dmp_wipe(txt, strlen(txt));
    free(txt);
    return rc;
}

/* The bearer saved for host when still usable (now < expires_at + 300, or no expiry). */
int dmp_client_token_for_host(const char *host, int64_t now, char *out, size_t cap)
{
    char path[DMP_CLIENT_PATH];
    int rc = token_path(host, path, sizeof(path));
    if (rc)
        return rc;
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        return DMP_ENOTFOUND;
    const char *t = json_string_value(json_object_get(j, "token"));
    json_t *exp = json_object_get(j, "expires_at");
    rc = DMP_ENOTFOUND;
    if (t && *t && (!json_is_integer(exp) || now < json_integer_value(exp) + 300) &&
        strlen(t) < cap) {
        strcpy(out, t);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

int dmp_client_token_forget(const char *host)
{
    char path[DMP_CLIENT_PATH];
    int rc = token_path(host, path, sizeof(path));
    if (rc)
        return rc;
    return unlink(path) == 0 ? 0 : DMP_ENOTFOUND;
}
