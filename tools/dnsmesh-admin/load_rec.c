/* dnsmesh-admin load: the record sink both readers (JSON lines in load.c, zone files in
 * load_zone.c) feed: each record checked as the HTTP publish path checks it and handed to the
 * store loader, the arena for copied bytes, the first failure with its line, progress lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load_int.h"

double ld_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *ld_arena(ld_t *L, size_t n)
{
    if (n > ARENA_BLOCK)
        return NULL;
    if (L->nblocks == 0 || L->used + n > L->block_size) {
        /* blocks grow from 64 KiB to 16 MiB: small inputs stay small */
        size_t bs = L->block_size ? L->block_size * 2 : (size_t)64 << 10;
        L->block_size = bs > ARENA_BLOCK ? ARENA_BLOCK : bs;
        while (L->block_size < n)
            L->block_size *= 2;
        if (L->nblocks == L->blocks_cap) {
            size_t nc = L->blocks_cap ? L->blocks_cap * 2 : 16;
            char **nb = realloc(L->blocks, nc * sizeof *nb);
            if (!nb)
                return NULL;
            L->blocks = nb;
            L->blocks_cap = nc;
        }
        if (!(L->blocks[L->nblocks] = malloc(L->block_size)))
            return NULL;
        L->nblocks++;
        L->used = 0;
    }
    char *p = L->blocks[L->nblocks - 1] + L->used;
    L->used += n;
    return p;
}

int ld_fail(ld_t *L, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int ld_fail(ld_t *L, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->err_msg, sizeof L->err_msg, fmt, ap);
    va_end(ap);
    L->err_line = line;
    snprintf(L->err, sizeof L->err, "%s:%zu: %s", L->path, line, L->err_msg);
    return 1;
}

void ld_progress(ld_t *L, bool force)
{
    double t = ld_now_s();
    if (!force && t - L->last_print < 1.0)
        return;
    L->last_print = t;
    fprintf(stderr, "load: read %zu records (%.0f records/s)\n", L->n,
            (double)L->n / (t - L->t0 > 1e-9 ? t - L->t0 : 1e-9));
}

int ld_add_rec(ld_t *L, size_t line, const char *name, size_t nl, const uint8_t *val, size_t vl,
               int64_t ttl, bool value_safe)
{
    if (nl > 0 && name[nl - 1] == '.')
        nl--;
    if (!dmp_node_name_valid(name, nl))
        return ld_fail(L, line, "invalid record name '%.*s'", (int)(nl > 300 ? 300 : nl), name);
    if (ttl <= 0)
        return ld_fail(L, line, "ttl must be an integer > 0");
    if (ttl > (int64_t)L->cfg->max_ttl)
        return ld_fail(L, line, "ttl %lld exceeds the cap of %us (DMP_MAX_TTL)", (long long)ttl,
                       L->cfg->max_ttl);
    if (vl > L->cfg->max_value_bytes)
        return ld_fail(L, line, "value of %zu bytes exceeds the cap of %u (DMP_MAX_VALUE_BYTES)",
                       vl, L->cfg->max_value_bytes);
    if (!value_safe && !dmp_node_value_safe(val, vl))
        return ld_fail(L, line, "invalid record value (a '\"', a control byte or DEL)");
    if (L->n == L->lines_cap) {
        size_t nc = L->lines_cap ? L->lines_cap * 2 : 65536;
        uint32_t *nv = realloc(L->lines, nc * sizeof *nv);
        if (!nv)
            return ld_fail(L, line, "out of memory");
        L->lines = nv;
        L->lines_cap = nc;
    }
    int rc = dmp_store_load_add(L->ld, name, nl, val, vl, (uint32_t)ttl);
    if (rc != 0)
        return ld_fail(L, line, "%s", dmp_store_strerror(rc));
    L->lines[L->n++] = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
    if ((L->n & 0xffff) == 0)
        ld_progress(L, false);
    return 0;
}

const char *ld_skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}
