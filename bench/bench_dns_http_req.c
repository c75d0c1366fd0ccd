/* dnsmesh-bench load / writes: the request builder. Reads records from a JSON-lines file (load)
 * or makes synthetic DMP chunk records (writes), and frames them as one POST /v1/records/{name}
 * or, with --batch, one batch publish POST /v1/records. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <jansson.h>

#include "bench_dns_http.h"
#include "util/util.h"

static int url_path(char *out, size_t cap, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    int l = snprintf(out, cap, "/v1/records/");
    if (l < 0)
        return -1;
    o = (size_t)l;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_';
        if (o + 4 >= cap)
            return -1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = 0;
    return 0;
}

/* The next record: its name (out), its value (*val, a new reference) and TTL; for `load` with
 * --failed, the input line is appended to *lines. Returns 0, 1 at end of input, -1 on error. */
static int next_record(dmpb_http_source_t *src, const dmpb_http_opts_t *o, dmpb_http_stats_t *st,
                       char name[300], json_t **val, json_int_t *ttl_out, char **lines)
{
    if (o->writes) {
        /* A realistic chunk: checksum(8) + block(128) + parity(32) = 168 bytes, 224 base64. */
        uint8_t wire[168];
        for (size_t i = 0; i < sizeof(wire); i += 8) {
            uint64_t r = dmpb_rand(&src->rng);
            memcpy(wire + i, &r, 8);
        }
        char b64[240];
        if (dmp_b64_encode(wire, sizeof(wire), b64, sizeof(b64)) < 0)
            return -1;
        snprintf(name, 300, "chunk-%04u-%012llx.%s", (unsigned)(src->n % 11),
                 (unsigned long long)((src->tag + src->n / 11) & 0xffffffffffffULL), o->zone);
        *val = json_pack("s+", "v=dmp1;t=chunk;d=", b64);
        *ttl_out = (json_int_t)o->ttl;
        src->n++;
        return *val ? 0 : -1;
    }
    for (;;) {
        ssize_t l = getline(&src->line, &src->line_cap, src->f);
        if (l < 0)
            return 1;
        src->lineno++;
        if (l <= 1)
            continue;
        json_error_t err;
        json_t *j = json_loadb(src->line, (size_t)l, 0, &err);
        const char *nm = j ? json_string_value(json_object_get(j, "name")) : NULL;
        json_t *v = j ? json_object_get(j, "value") : NULL;
        json_t *ttl = j ? json_object_get(j, "ttl") : NULL;
        if (!nm || !json_is_string(v) || (ttl && !json_is_integer(ttl)) || strlen(nm) >= 300) {
            if (st->bad_lines++ < 5)
                fprintf(stderr,
                        "load: %s line %llu: need {\"name\": str, \"value\": str, "
                        "\"ttl\": int}\n",
                        o->file, (unsigned long long)src->lineno);
            json_decref(j);
            continue;
        }
        snprintf(name, 300, "%s", nm);
        if (o->failed) {
            size_t have = *lines ? strlen(*lines) : 0;
            char *nl = realloc(*lines, have + (size_t)l + 2);
            if (nl) {
                memcpy(nl + have, src->line, (size_t)l);
                nl[have + (size_t)l] = 0;
                *lines = nl;
            }
        }
        *val = json_incref(v);
        *ttl_out = ttl ? json_integer_value(ttl) : 300;
        json_decref(j);
        return 0;
    }
}

/* Writes the full HTTP request into c->req: one record to /v1/records/{name}, or up to --batch
 * records to /v1/records. Returns 0, 1 at end of input, -1 on a bad line (already counted). */
int dmpb_http_next_request(dmpb_http_source_t *src, const dmpb_http_opts_t *o, dmpb_http_conn_t *c,
                           dmpb_http_stats_t *st)
{
    free(c->src);
    c->src = NULL;
    c->nrec = 0;
    char name[300], path[1024];
    json_t *recs = o->batch > 1 ? json_array() : NULL;
    json_t *one = NULL;
    int rc = 0;
    for (int64_t k = 0; k < o->batch; k++) {
        json_t *val = NULL;
        json_int_t ttl = 300;
        rc = next_record(src, o, st, name, &val, &ttl, o->failed ? &c->src : NULL);
        if (rc != 0)
            break;
        c->nrec++;
        if (recs) {
            json_array_append_new(
                recs, json_pack("{s:s, s:o, s:I}", "name", name, "value", val, "ttl", ttl));
        } else {
            one = json_pack("{s:o, s:I}", "value", val, "ttl", ttl);
        }
    }
    if (c->nrec == 0) {
        json_decref(recs);
        return rc;
    }
    json_t *j = recs ? json_pack("{s:o}", "records", recs) : one;
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return -1;
    size_t blen = strlen(body);
    int l = -1;
    if (o->batch > 1)
        snprintf(path, sizeof(path), "/v1/records");
    if (o->batch > 1 || url_path(path, sizeof(path), name) == 0)
        l = snprintf(c->req, sizeof(c->req),
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s%s%s\r\n%s",
                     path, o->host, o->port, blen, o->token ? "Authorization: Bearer " : "",
                     o->token ? o->token : "", o->token ? "\r\n" : "", body);
    free(body);
    if (l < 0 || (size_t)l >= sizeof(c->req)) {
        st->bad_lines++;
        return -1;
    }
    c->req_len = (size_t)l;
    c->req_off = 0;
    return 0;
}
