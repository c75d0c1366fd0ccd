/* dnsmesh-bench rrl: the expect file and the check of one reply (see bench_rrl_check.h). */
#include "bench_rrl_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EXPECT 5000000

/* "a.b.c" (a trailing dot allowed) -> lowercase wire form. */
int dmpb_rrl_name_to_wire(const char *s, size_t n, uint8_t *w, uint16_t *wlen)
{
    if (n > 0 && s[n - 1] == '.')
        n--;
    size_t p = 0, lab = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            size_t l = i - lab;
            if (l == 0 || l > 63 || p + 1 + l + 1 > 255)
                return -1;
            w[p++] = (uint8_t)l;
            for (size_t k = lab; k < i; k++) {
                char c = s[k];
                w[p++] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            }
            lab = i + 1;
        }
    }
    w[p++] = 0;
    *wlen = (uint16_t)p;
    return 0;
}

int dmpb_rrl_expect_load(const char *path, dmpb_rrl_expect_t **out, size_t *n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "rrl: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 0, cnt = 0;
    dmpb_rrl_expect_t *v = NULL;
    char line[512];
    unsigned long lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char name[300];
        unsigned rcode, count;
        unsigned long bytes;
        unsigned long long hash;
        if (sscanf(line, "%299s %u %u %lu %llx", name, &rcode, &count, &bytes, &hash) != 5 ||
            rcode > 15 || count > 65535 || bytes > 65535 || cnt >= MAX_EXPECT) {
            fprintf(stderr, "rrl: %s:%lu: expected 'name rcode count bytes hash16'\n", path,
                    lineno);
            rc = -1;
            break;
        }
        if (cnt == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            dmpb_rrl_expect_t *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                rc = -1;
                break;
            }
            v = nv;
            cap = nc;
        }
        dmpb_rrl_expect_t *e = &v[cnt];
        if (dmpb_rrl_name_to_wire(name, strlen(name), e->wire, &e->wire_len) != 0) {
            fprintf(stderr, "rrl: %s:%lu: bad name '%s'\n", path, lineno, name);
            rc = -1;
            break;
        }
        e->rcode = (uint8_t)rcode;
        e->count = (uint16_t)count;
        e->bytes = (uint32_t)bytes;
        e->hash = (uint64_t)hash;
        cnt++;
    }
    fclose(f);
    if (rc == 0 && cnt == 0) {
        fprintf(stderr, "rrl: %s holds no names\n", path);
        rc = -1;
    }
    if (rc != 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n = cnt;
    return 0;
}

size_t dmpb_rrl_build_query(uint8_t *q, const dmpb_rrl_expect_t *e, uint16_t id, int64_t edns)
{
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    q[2] = 0; /* QUERY, RD=0: an authoritative server */
    q[3] = 0;
    q[4] = 0;
    q[5] = 1;
    memset(q + 6, 0, 6);
    memcpy(q + 12, e->wire, e->wire_len);
    size_t p = 12 + e->wire_len;
    q[p++] = 0;
    q[p++] = 16; /* TXT */
    q[p++] = 0;
    q[p++] = 1; /* IN */
    if (edns) {
        q[11] = 1;
        q[p++] = 0;
        q[p++] = 0;
        q[p++] = 41;
        q[p++] = (uint8_t)(edns >> 8);
        q[p++] = (uint8_t)edns;
        memset(q + p, 0, 6);
        p += 6;
    }
    return p;
}

/* Skips a possibly compressed name at r[*p]; 0 or -1 when it runs past len. */
static int skip_name(const uint8_t *r, size_t len, size_t *p)
{
    size_t i = *p;
    for (int labels = 0; labels < 128; labels++) {
        if (i >= len)
            return -1;
        uint8_t l = r[i];
        if (l == 0) {
            *p = i + 1;
            return 0;
        }
        if ((l & 0xC0) == 0xC0) {
            if (i + 2 > len)
                return -1;
            *p = i + 2;
            return 0;
        }
        if (l & 0xC0)
            return -1;
        i += 1 + (size_t)l;
    }
    return -1;
}

/* Parses a reply to the question `e` (never reads past len). */
void dmpb_rrl_parse_reply(const uint8_t *r, size_t len, const dmpb_rrl_expect_t *e,
                          dmpb_rrl_reply_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 12 || !(r[2] & 0x80) || ((r[2] >> 3) & 0xF) != 0)
        return;
    out->tc = (r[2] & 0x02) != 0;
    out->rcode = r[3] & 0x0F;
    out->ancount = (uint16_t)(r[6] << 8 | r[7]);
    if (r[4] != 0 || r[5] != 1 || len < 12u + e->wire_len + 4)
        return;
    for (size_t i = 0; i < e->wire_len; i++) {
        uint8_t c = r[12 + i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        if (e->random_label && i >= 1 && i <= DMPB_RRL_RANDOM_LABEL) {
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                return;
        } else if (c != e->wire[i]) {
            return;
        }
    }
    size_t p = 12 + e->wire_len;
    if (r[p] != 0 || r[p + 1] != 16 || r[p + 2] != 0 || r[p + 3] != 1)
        return;
    out->question_ok = true;
    p += 4;
    for (unsigned a = 0; a < out->ancount; a++) {
        if (skip_name(r, len, &p) != 0 || p + 10 > len)
            return;
        uint16_t type = (uint16_t)(r[p] << 8 | r[p + 1]);
        uint16_t rdlen = (uint16_t)(r[p + 8] << 8 | r[p + 9]);
        p += 10;
        if (p + rdlen > len)
            return;
        if (type == 16) {
            uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a-64 over the joined strings */
            size_t q = p, end = p + rdlen;
            while (q < end) {
                size_t sl = r[q++];
                if (q + sl > end)
                    return;
                for (size_t k = 0; k < sl; k++) {
                    h ^= r[q + k];
                    h *= 0x100000001b3ULL;
                }
                out->txt_bytes += (uint32_t)sl;
                q += sl;
            }
            out->txt_count++;
            out->txt_hash += h;
        }
        p += rdlen;
    }
    out->parsed = true;
}

bool dmpb_rrl_reply_full(const dmpb_rrl_reply_t *rp, const dmpb_rrl_expect_t *e)
{
    return rp->question_ok && rp->parsed && !rp->tc && rp->rcode == e->rcode &&
           rp->txt_count == e->count && rp->txt_bytes == e->bytes && rp->txt_hash == e->hash;
}
