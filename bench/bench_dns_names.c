/* dnsmesh-bench: query names in wire form, from files in dnsperf's format or from a pattern. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench_dns.h"

static int grow(dmpb_names_t *nm)
{
    size_t nc = nm->cap ? nm->cap * 2 : 1024;
    uint32_t *no = realloc(nm->off, (nc + 1) * sizeof(*no));
    if (!no)
        return -1;
    nm->off = no;
    uint16_t *nq = realloc(nm->qtype, nc * sizeof(*nq));
    if (!nq)
        return -1;
    nm->qtype = nq;
    uint8_t *nk = realloc(nm->kind, nc);
    if (!nk)
        return -1;
    nm->kind = nk;
    uint32_t *ne = realloc(nm->exp, nc * sizeof(*ne));
    if (!ne)
        return -1;
    nm->exp = ne;
    nm->cap = nc;
    return 0;
}

int dmpb_names_add(dmpb_names_t *nm, const char *name, size_t len, uint16_t qtype, uint8_t kind)
{
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > 253) {
        fprintf(stderr, "bad query name '%.*s': empty or longer than 253\n", (int)len, name);
        return -1;
    }
    if (nm->n >= DMPB_MAX_NAMES) {
        fprintf(stderr, "more than %d query names\n", DMPB_MAX_NAMES);
        return -1;
    }
    if (nm->n + 1 >= nm->cap && grow(nm) != 0) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    if (nm->wire_len + len + 2 > nm->wire_cap) {
        size_t nc = nm->wire_cap ? nm->wire_cap * 2 : 65536;
        while (nc < nm->wire_len + len + 2)
            nc *= 2;
        uint8_t *nw = realloc(nm->wire, nc);
        if (!nw) {
            fprintf(stderr, "out of memory\n");
            return -1;
        }
        nm->wire = nw;
        nm->wire_cap = nc;
    }
    if (nm->n == 0)
        nm->off[0] = 0;
    uint8_t *w = nm->wire + nm->wire_len;
    size_t o = 0, lab = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || name[i] == '.') {
            size_t ll = i - lab;
            if (ll == 0 || ll > 63) {
                fprintf(stderr, "bad query name '%.*s': empty label or label over 63\n", (int)len,
                        name);
                return -1;
            }
            w[o++] = (uint8_t)ll;
            for (size_t j = lab; j < i; j++) {
                unsigned char c = (unsigned char)name[j];
                if (c <= ' ' || c >= 0x7f) {
                    fprintf(stderr, "bad query name '%.*s': unprintable byte\n", (int)len, name);
                    return -1;
                }
                w[o++] = (uint8_t)((c >= 'A' && c <= 'Z') ? c + 32 : c);
            }
            lab = i + 1;
        }
    }
    w[o++] = 0;
    nm->wire_len += o;
    nm->qtype[nm->n] = qtype;
    nm->kind[nm->n] = kind;
    nm->exp[nm->n] = DMPB_EXP_NONE;
    nm->n++;
    nm->off[nm->n] = (uint32_t)nm->wire_len;
    return 0;
}

int dmpb_names_load_file(dmpb_names_t *nm, const char *path, uint16_t qtype)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open query file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int rc = 0;
    size_t lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t l = strlen(line);
        if (l == sizeof(line) - 1 && line[l - 1] != '\n') {
            fprintf(stderr, "%s:%zu: line longer than %zu bytes\n", path, lineno, sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == 0 || *s == '\n' || *s == '\r' || *s == '#')
            continue;
        char *name = strtok(s, " \t\r\n");
        char *type = strtok(NULL, " \t\r\n");
        char *extra = strtok(NULL, " \t\r\n");
        uint16_t t = qtype;
        if (extra) {
            fprintf(stderr, "%s:%zu: give 'name' or 'name TYPE'\n", path, lineno);
            rc = -1;
            break;
        }
        if (type && dmpb_parse_qtype(type, &t) != 0) {
            fprintf(stderr, "%s:%zu: unknown query type '%s'\n", path, lineno, type);
            rc = -1;
            break;
        }
        if (dmpb_names_add(nm, name, strlen(name), t, 0) != 0) {
            fprintf(stderr, "%s:%zu: bad line\n", path, lineno);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && nm->n == 0) {
        fprintf(stderr, "%s: no names\n", path);
        rc = -1;
    }
    return rc;
}

int dmpb_names_from_pattern(dmpb_names_t *nm, const char *pat, int64_t count, uint16_t qtype)
{
    const char *p = strstr(pat, "{i}");
    if (!p || strstr(p + 3, "{i}")) {
        fprintf(stderr, "--pattern must contain {i} exactly once\n");
        return -1;
    }
    char buf[300];
    for (int64_t i = 0; i < count; i++) {
        int l = snprintf(buf, sizeof(buf), "%.*s%lld%s", (int)(p - pat), pat, (long long)i, p + 3);
        if (l < 0 || (size_t)l >= sizeof(buf)) {
            fprintf(stderr, "--pattern gives a name that is too long\n");
            return -1;
        }
        if (dmpb_names_add(nm, buf, (size_t)l, qtype, 0) != 0)
            return -1;
    }
    return 0;
}

void dmpb_names_free(dmpb_names_t *nm)
{
    free(nm->wire);
    free(nm->off);
    free(nm->qtype);
    free(nm->kind);
    free(nm->exp);
    memset(nm, 0, sizeof(*nm));
}

const char *dmpb_name_text(const dmpb_names_t *nm, uint32_t i, char *buf, size_t cap)
{
    const uint8_t *w = nm->wire + nm->off[i];
    size_t o = 0;
    while (*w && o + 65 < cap) {
        if (o)
            buf[o++] = '.';
        memcpy(buf + o, w + 1, *w);
        o += *w;
        w += 1 + *w;
    }
    buf[o] = 0;
    return buf;
}

static const struct {
    const char *n;
    uint16_t v;
} qtypes[] = {{"A", 1}, {"NS", 2}, {"SOA", 6}, {"TXT", 16}, {"AAAA", 28}};

int dmpb_parse_qtype(const char *s, uint16_t *out)
{
    for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
        if (strcasecmp(s, qtypes[i].n) == 0) {
            *out = qtypes[i].v;
            return 0;
        }
    int64_t x;
    if (dmpb_opt_i64("query type", s, 1, 65535, &x) != 0)
        return -1;
    *out = (uint16_t)x;
    return 0;
}

const char *dmpb_qtype_name(uint16_t t, char buf[8])
{
    for (size_t i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
        if (qtypes[i].v == t)
            return qtypes[i].n;
    snprintf(buf, 8, "%u", (unsigned)t);
    return buf;
}
