/* client: replay cache (client.md §5.4), persisted as the reference's replay_cache.json:
 * [[sender_spk_hex, msg_id_hex, exp], ...]; expired and malformed entries are dropped on load, an
 * unreadable file is an empty cache. Written atomically. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "client/client.h"
#include "util/util.h"

int dmp_client_replay_load(dmp_client_replay_t *r, const char *path, int64_t now)
{
    memset(r, 0, sizeof(*r));
    if (path)
        snprintf(r->path, sizeof(r->path), "%s", path);
    if (!path)
        return 0;
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_client_read_file(path, 64 << 20, &b);
    if (rc) {
        dmp_buf_free(&b);
        return rc == DMP_ENOMEM ? rc : 0;
    }
    json_error_t e;
    json_t *j = json_loadb((const char *)b.data, b.len, 0, &e);
    dmp_buf_free(&b);
    if (!json_is_array(j)) {
        json_decref(j);
        return 0;
    }
    size_t i;
    json_t *ent;
    json_array_foreach(j, i, ent)
    {
        if (!json_is_array(ent) || json_array_size(ent) != 3)
            continue;
        const char *s = json_string_value(json_array_get(ent, 0));
        const char *m = json_string_value(json_array_get(ent, 1));
        json_t *x = json_array_get(ent, 2);
        if (!s || !m || !json_is_integer(x))
            continue;
        dmp_client_seen_t e2;
        e2.exp = json_integer_value(x);
        if (e2.exp <= now || dmp_hex_decode(s, strlen(s), e2.spk, 32) ||
            dmp_hex_decode(m, strlen(m), e2.msg_id, 16))
            continue;
        dmp_client_seen_t *v = realloc(r->v, (r->n + 1) * sizeof(*v));
        if (!v) {
            json_decref(j);
            return DMP_ENOMEM;
        }
        r->v = v;
        v[r->n++] = e2;
    }
    json_decref(j);
    return 0;
}

void dmp_client_replay_free(dmp_client_replay_t *r)
{
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

bool dmp_client_replay_seen(const dmp_client_replay_t *r, const uint8_t spk[32],
                            const uint8_t msg_id[16], int64_t now)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].exp > now && memcmp(r->v[i].spk, spk, 32) == 0 &&
            memcmp(r->v[i].msg_id, msg_id, 16) == 0)
            return true;
    return false;
}

int dmp_client_replay_save(const dmp_client_replay_t *r, int64_t now)
{
    if (!r->path[0])
        return 0;
    json_t *a = json_array();
    if (!a)
        return DMP_ENOMEM;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].exp <= now)
            continue;
        char s[65], m[33];
        dmp_hex_encode(r->v[i].spk, 32, s, sizeof(s));
        dmp_hex_encode(r->v[i].msg_id, 16, m, sizeof(m));
        json_array_append_new(a, json_pack("[s,s,I]", s, m, (json_int_t)r->v[i].exp));
    }
    char *txt = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!txt)
        return DMP_ENOMEM;
    int rc = dmp_client_write_atomic(r->path, txt, strlen(txt), 0600);
    free(txt);
    return rc;
}

/* Records (spk, msg_id) until exp and persists the cache. */
int dmp_client_replay_add(dmp_client_replay_t *r, const uint8_t spk[32], const uint8_t msg_id[16],
                          int64_t exp, int64_t now)
{
    if (!dmp_client_replay_seen(r, spk, msg_id, now)) {
        dmp_client_seen_t *v = realloc(r->v, (r->n + 1) * sizeof(*v));
        if (!v)
            return DMP_ENOMEM;
        r->v = v;
        memcpy(v[r->n].spk, spk, 32);
        memcpy(v[r->n].msg_id, msg_id, 16);
        v[r->n].exp = exp;
        r->n++;
    }
    return dmp_client_replay_save(r, now);
}
