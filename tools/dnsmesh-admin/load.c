/* dnsmesh-admin load: bulk-loads TXT records from a zone file or JSON lines into a stopped
 * node's store through RocksDB SST ingestion (dmp_store_load_*). Every record is checked as
 * the HTTP publish path checks it (name rule, value rule, TTL and value caps, values per name,
 * answer size) before anything is written; the first bad record is reported with its line. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "load_int.h"

/* jemalloc (linked into the programs, CMakeLists.txt) reads its options from this symbol: its
 * memory in transparent huge pages (the kernel's "madvise" mode is enough). A 10M-record load
 * allocates ~2.5 GiB of arrays (entries, sort elements, rows, names) and fills each once: in
 * 4 KiB pages that took ~1.1M page faults, a fifth of the load's CPU on this paravirtualised
 * box (docs/store.md "Bulk load"); in 2 MiB pages, ~70k. It applies to every dnsmesh-admin
 * command (a few MiB more at most for the small ones); other allocators ignore it. */
extern const char *malloc_conf;
const char *malloc_conf = "thp:always";

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- JSON lines ---- */

static inline bool special_byte(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20 || c == 0x7f;
}

/* The first byte in [p, e) that is '"', '\\', below 0x20 or DEL (e when none): one pass that
 * finds a JSON string's end, its escapes and the bytes the value rule refuses (the rule's
 * bytes, dmp_node_value_safe, are the same set without the backslash). 16 bytes a step. */
const char *ld_scan_special(const char *p, const char *e)
{
#ifdef __SSE2__
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), del = _mm_set1_epi8(0x7f),
                  c1f = _mm_set1_epi8(0x1f);
    while (e - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v); /* v <= 0x1f, unsigned */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, del), ctl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask != 0)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < e && !special_byte((unsigned char)*p))
        p++;
    return p;
}

/* A string without escapes: [*s, *s + *n) inside the line. 0 = not that simple. *safe: it
 * holds no control byte or DEL either (so the value rule holds for it). Control bytes (invalid
 * raw in JSON) are otherwise left to the callers' checks: keys must match exactly, names and
 * values are refused by the name and value rules, which refuse every byte below 0x20. */
static int plain_str(const char **p, const char *e, const char **s, size_t *n, bool *safe)
{
    if (*p >= e || **p != '"')
        return 0;
    const char *q = *p + 1;
    const char *end = ld_scan_special(q, e);
    *safe = end < e && *end == '"';
    if (!*safe) { /* an escape, a control byte or DEL first, or no end: as before */
        if (end < e && *end == '\\')
            return 0;
        end = memchr(q, '"', (size_t)(e - q));
        if (!end || memchr(q, '\\', (size_t)(end - q)))
            return 0;
    }
    *s = q;
    *n = (size_t)(end - q);
    *p = end + 1;
    return 1;
}

/* The shape json.dumps writes ({"name": "...", "value": "...", "ttl": N} in any key order, no
 * escapes): parsed in place, the value borrowed from the file. 0 = use jansson. */
static int json_fast(ld_t *L, size_t line, const char *p, const char *e, int *out)
{
    const char *name = NULL, *val = NULL;
    size_t nl = 0, vl = 0;
    bool safe = false, vsafe = false;
    int64_t ttl = DEFAULT_JSON_TTL;
    p = ld_skip_ws(p, e);
    if (p >= e || *p++ != '{')
        return 0;
    for (int k = 0; k < 3; k++) {
        const char *key;
        size_t kl;
        p = ld_skip_ws(p, e);
        if (!plain_str(&p, e, &key, &kl, &safe))
            return 0;
        p = ld_skip_ws(p, e);
        if (p >= e || *p++ != ':')
            return 0;
        p = ld_skip_ws(p, e);
        if (kl == 4 && memcmp(key, "name", 4) == 0 && !name) {
            if (!plain_str(&p, e, &name, &nl, &safe))
                return 0;
        } else if (kl == 5 && memcmp(key, "value", 5) == 0 && !val) {
            if (!plain_str(&p, e, &val, &vl, &vsafe))
                return 0;
        } else if (kl == 3 && memcmp(key, "ttl", 3) == 0) {
            int64_t t = 0;
            int digits = 0;
            while (p < e && *p >= '0' && *p <= '9' && digits < 12)
                t = t * 10 + (*p++ - '0'), digits++;
            if (digits == 0 || digits == 12)
                return 0;
            ttl = t;
        } else {
            return 0;
        }
        p = ld_skip_ws(p, e);
        if (p < e && *p == ',') {
            p++;
            continue;
        }
        if (p < e && *p == '}') {
            p = ld_skip_ws(p + 1, e);
            if (p != e || !name || !val)
                return 0;
            *out = ld_add_rec(L, line, name, nl, (const uint8_t *)val, vl, ttl, vsafe);
            return 1;
        }
        return 0;
    }
    return 0;
}

static int json_line(ld_t *L, size_t line, const char *p, size_t len)
{
    int rc;
    if (json_fast(L, line, p, p + len, &rc))
        return rc;
    json_error_t je;
    json_t *j = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return ld_fail(L, line, "invalid JSON: %s", je.text);
    json_t *jn = json_object_get(j, "name"), *jv = json_object_get(j, "value"),
           *jt = json_object_get(j, "ttl");
    if (!json_is_object(j) || !json_is_string(jn) || !json_is_string(jv) ||
        (jt && !json_is_integer(jt))) {
        json_decref(j);
        return ld_fail(L, line,
                       "expected {\"name\": string, \"value\": string, \"ttl\": integer (optional, "
                       "default %d)}",
                       DEFAULT_JSON_TTL);
    }
    size_t nl = json_string_length(jn), vl = json_string_length(jv);
    char *c = ld_arena(L, nl + vl + 1);
    if (!c) {
        json_decref(j);
        return ld_fail(L, line, "out of memory (or a value over 16 MiB)");
    }
    memcpy(c, json_string_value(jn), nl);
    memcpy(c + nl, json_string_value(jv), vl);
    int64_t ttl = jt ? (int64_t)json_integer_value(jt) : DEFAULT_JSON_TTL;
    json_decref(j);
    return ld_add_rec(L, line, c, nl, (const uint8_t *)c + nl, vl, ttl, false);
}

static bool looks_jsonl(const char *path, const uint8_t *m, size_t len)
{
    size_t pl = strlen(path);
    if ((pl > 6 && strcmp(path + pl - 6, ".jsonl") == 0) ||
        (pl > 5 && strcmp(path + pl - 5, ".json") == 0))
        return true;
    size_t i = 0;
    while (i < len && (m[i] == ' ' || m[i] == '\t' || m[i] == '\r' || m[i] == '\n'))
        i++;
    return i < len && m[i] == '{';
}

static int parse_file(ld_t *L, const uint8_t *m, size_t len, bool jsonl, size_t *lines)
{
    zst_t z = {.dflt_ttl = -1};
    size_t line = 0;
    /* the first NUL byte of the part, found in one pass (a call per line cost more than the
     * scan); its line fails when the lines before it have passed */
    const uint8_t *nul = len ? memchr(m, 0, len) : NULL;
    for (size_t off = 0; off < len;) {
        const uint8_t *nl = memchr(m + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - m) : len;
        line++;
        const char *p = (const char *)m + off, *e = (const char *)m + end;
        while (e > p && e[-1] == '\r')
            e--;
        if (nul != NULL && nul < (const uint8_t *)e)
            return ld_fail(L, line, "a NUL byte");
        int rc = 0;
        if (jsonl) {
            const char *q = ld_skip_ws(p, e);
            if (q < e)
                rc = json_line(L, line, p, (size_t)(e - p));
        } else {
            rc = dmp_admin_load_zone_line(L, &z, line, p, e);
        }
        if (rc)
            return rc;
        off = end + 1;
    }
    if (lines)
        *lines = line;
    return 0;
}

/* ---- JSON lines in two halves ---- */

typedef struct {
    ld_t *L;
    const uint8_t *m;
    size_t len;
    size_t lines;
    int rc;
} part_t;

static void *parse_part(void *arg)
{
    part_t *p = arg;
    p->rc = parse_file(p->L, p->m, p->len, true, &p->lines);
    return NULL;
}

static void free_ld(ld_t *L)
{
    for (size_t i = 0; i < L->nblocks; i++)
        free(L->blocks[i]);
    free(L->blocks);
    free(L->lines);
}

/* Moves the second half's records, lines (numbered after the first half's) and arena after
 * the first's. */
static int merge_ld(ld_t *L, ld_t *L2, size_t base)
{
    if (dmp_store_load_append(L->ld, L2->ld) != 0)
        return ld_fail(L, 0, "out of memory");
    if (L->n + L2->n > L->lines_cap) {
        uint32_t *nv = realloc(L->lines, (L->n + L2->n) * sizeof *nv);
        if (!nv)
            return ld_fail(L, 0, "out of memory");
        L->lines = nv;
        L->lines_cap = L->n + L2->n;
    }
    for (size_t i = 0; i < L2->n; i++) {
        uint64_t ln = (uint64_t)L2->lines[i] + base;
        L->lines[L->n + i] = ln > UINT32_MAX ? UINT32_MAX : (uint32_t)ln;
    }
    L->n += L2->n;
    L2->n = 0;
    if (L->nblocks + L2->nblocks > L->blocks_cap) {
        char **nb = realloc(L->blocks, (L->nblocks + L2->nblocks) * sizeof *nb);
        if (!nb)
            return ld_fail(L, 0, "out of memory");
        L->blocks = nb;
        L->blocks_cap = L->nblocks + L2->nblocks;
    }
    /* the second half's value copies are only freed from here on (no more parsing) */
    if (L2->nblocks)
        memcpy(L->blocks + L->nblocks, L2->blocks, L2->nblocks * sizeof *L2->blocks);
    L->nblocks += L2->nblocks;
    L2->nblocks = 0;
    L->skipped += L2->skipped;
    return 0;
}

/* JSON lines of 4 MiB and more are parsed in two halves on two threads (each line stands
 * alone); the first error in file order is reported. A zone file's lines depend on the ones
 * before ($ORIGIN, $TTL, blank owners): one thread. */
static int parse_input(ld_t *L, const uint8_t *m, size_t len, bool jsonl)
{
    const uint8_t *mid = len >= ((size_t)4 << 20) ? memchr(m + len / 2, '\n', len - len / 2) : NULL;
    if (!jsonl || mid == NULL || (size_t)(mid + 1 - m) >= len)
        return parse_file(L, m, len, jsonl, NULL);
    size_t cut = (size_t)(mid + 1 - m);
    ld_t L2 = {.path = L->path, .cfg = L->cfg};
    L2.t0 = L->t0;
    L2.last_print = ld_now_s() + 1e9; /* the first half reports progress */
    if (dmp_store_load_new(&L2.ld) != 0)
        return ld_fail(L, 0, "out of memory");
    part_t p1 = {L, m, cut, 0, 0}, p2 = {&L2, m + cut, len - cut, 0, 0};
    pthread_t th;
    bool threaded = pthread_create(&th, NULL, parse_part, &p2) == 0;
    parse_part(&p1);
    if (threaded)
        pthread_join(th, NULL);
    else
        parse_part(&p2);
    int rc = p1.rc;
    if (rc == 0 && p2.rc != 0) {
        rc = ld_fail(L, L2.err_line + p1.lines, "%s", L2.err_msg);
    } else if (rc == 0) {
        rc = merge_ld(L, &L2, p1.lines);
    }
    dmp_store_load_free(L2.ld);
    free_ld(&L2);
    return rc;
}

int admin_load_parse(const uint8_t *buf, size_t len, bool jsonl, const dmp_node_config_t *cfg,
                     size_t *records, char *err, size_t cap)
{
    ld_t L = {.path = "input", .cfg = cfg};
    L.t0 = L.last_print = ld_now_s() + 1e9; /* no progress lines */
    int rc = dmp_store_load_new(&L.ld) == 0 ? parse_input(&L, buf, len, jsonl) : 1;
    if (rc != 0 && err && cap)
        snprintf(err, cap, "%s", L.ld ? L.err : "out of memory");
    if (records)
        *records = L.n;
    dmp_store_load_free(L.ld);
    for (size_t i = 0; i < L.nblocks; i++)
        free(L.blocks[i]);
    free(L.blocks);
    free(L.lines);
    return rc;
}

/* The load's phases: reading (both parse threads), opening (joining the halves, the store),
 * then the store loader's stages, each from its first progress report to the next stage's. */
#define PHASES_MAX 16
typedef struct {
    const char *name;
    double t, cpu; /* wall and process CPU seconds at its start */
} phase_t;

typedef struct {
    ld_t *L;
    const char *stage;
    phase_t ph[PHASES_MAX];
    size_t nph;
} prog_t;

static void phase_start(prog_t *pg, const char *name, double t)
{
    if (pg->nph < PHASES_MAX)
        pg->ph[pg->nph++] = (phase_t){name, t, cpu_s()};
}

static void on_progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    prog_t *pg = ctx;
    double t = ld_now_s();
    bool new_stage = pg->stage == NULL || strcmp(pg->stage, stage) != 0;
    if (!new_stage && t - pg->L->last_print < 1.0 && done < total)
        return;
    if (new_stage) {
        pg->stage = stage;
        phase_start(pg, stage, t);
    }
    pg->L->last_print = t;
    fprintf(stderr, "load: %-6s %llu/%llu (%.1f s, cpu %.1f s)\n", stage, (unsigned long long)done,
            (unsigned long long)total, t - pg->L->t0, cpu_s());
}

/* "read 8.8/14.1, open 0.6/0.6, ..." (wall/CPU seconds per phase), up to the end at t_end */
static void phases_text(const prog_t *pg, double t_end, double cpu_end, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < pg->nph && o < cap; i++) {
        double t1 = i + 1 < pg->nph ? pg->ph[i + 1].t : t_end,
               c1 = i + 1 < pg->nph ? pg->ph[i + 1].cpu : cpu_end;
        int w = snprintf(out + o, cap - o, "%s%s %.1f/%.1f", i ? ", " : "", pg->ph[i].name,
                         t1 - pg->ph[i].t, c1 - pg->ph[i].cpu);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

static json_t *phases_json(const prog_t *pg, double t_end, double cpu_end)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < pg->nph; i++) {
        double t1 = i + 1 < pg->nph ? pg->ph[i + 1].t : t_end,
               c1 = i + 1 < pg->nph ? pg->ph[i + 1].cpu : cpu_end;
        json_array_append_new(a, json_pack("{s:s,s:f,s:f}", "phase", pg->ph[i].name, "seconds",
                                           t1 - pg->ph[i].t, "cpu_seconds", c1 - pg->ph[i].cpu));
    }
    return a;
}

static int on_name(void *ctx, const char *name, size_t nl, size_t values, size_t bytes, size_t last)
{
    prog_t *pg = ctx;
    ld_t *L = pg->L;
    const dmp_node_config_t *c = L->cfg;
    /* the line is looked up on a failure only (last is in input order: a random access) */
    if (c->max_values_per_name && values > c->max_values_per_name) {
        size_t line = last < L->n ? L->lines[last] : 0;
        ld_fail(L, line,
                "%.*s would hold %zu values, over the cap of %u (DMP_MAX_VALUES_PER_NAME); this is "
                "its last record",
                (int)nl, name, values, c->max_values_per_name);
        return 1;
    }
    size_t sz = dmp_node_answer_size(nl, values, bytes);
    if (sz > DMP_NODE_ANSWER_MAX) {
        size_t line = last < L->n ? L->lines[last] : 0;
        ld_fail(L, line,
                "the answer for %.*s would be %zu bytes, over the %u-byte DNS limit; this is its "
                "last record",
                (int)nl, name, sz, DMP_NODE_ANSWER_MAX);
        return 1;
    }
    return 0;
}

static int open_store(const char *db, bool create, dmp_store_t **s)
{
    dmp_store_opts_t so = {.path = db, .create_if_missing = create};
    char err[700];
    int rc = dmp_store_open(&so, s, err, sizeof err);
    if (rc == 0)
        return 0;
    if (strstr(err, "lock") || strstr(err, "LOCK"))
        fprintf(stderr,
                "dnsmesh-admin: load: store '%s' is in use (is dnsmeshd running?): stop the node "
                "first; load writes only a stopped node's store\n",
                db);
    else
        fprintf(stderr, "dnsmesh-admin: load: cannot open store '%s': %s\n", db,
                err[0] ? err : dmp_store_strerror(rc));
    return 1;
}

int admin_load(const char *db, const char *file, const char *format, bool json_out,
               const dmp_node_config_t *cfg)
{
    bool jsonl;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "dnsmesh-admin: load: cannot open '%s': %s\n", file, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "dnsmesh-admin: load: '%s' is not a regular file\n", file);
        close(fd);
        return 1;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *m = (const uint8_t *)"";
    if (len > 0) {
        void *mp = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mp == MAP_FAILED) {
            fprintf(stderr, "dnsmesh-admin: load: cannot map '%s': %s\n", file, strerror(errno));
            close(fd);
            return 1;
        }
        madvise(mp, len, MADV_SEQUENTIAL);
        m = mp;
    }
    close(fd);
    if (format && strcmp(format, "jsonl") == 0)
        jsonl = true;
    else if (format && strcmp(format, "zone") == 0)
        jsonl = false;
    else
        jsonl = looks_jsonl(file, m, len);

    /* an existing store is opened (and locked) first, so a running node fails it at once; a
     * new one is created only once the input has parsed */
    char cur[4200];
    snprintf(cur, sizeof cur, "%s/CURRENT", db);
    bool exists = access(cur, F_OK) == 0;
    dmp_store_t *s = NULL;
    int rc = 0;
    ld_t L = {.path = file, .cfg = cfg};
    L.t0 = L.last_print = ld_now_s();
    prog_t pg = {.L = &L};
    phase_start(&pg, "read", L.t0);
    if (exists && open_store(db, false, &s) != 0)
        rc = 1;
    dmp_store_load_t *ld = NULL;
    if (rc == 0 && dmp_store_load_new(&ld) != 0) {
        fprintf(stderr, "dnsmesh-admin: load: out of memory\n");
        rc = 1;
    }
    L.ld = ld;
    if (rc == 0 && parse_input(&L, m, len, jsonl) != 0) {
        fprintf(stderr, "dnsmesh-admin: load: %s\n", L.err);
        fprintf(stderr, "dnsmesh-admin: load: nothing was written\n");
        rc = 1;
    }
    double t_parse = ld_now_s() - L.t0;
    if (rc == 0)
        ld_progress(&L, true);
    phase_start(&pg, "open", L.t0 + t_parse);
    if (rc == 0 && !exists && open_store(db, true, &s) != 0)
        rc = 1;
    dmp_store_load_stats_t stt;
    memset(&stt, 0, sizeof stt);
    if (rc == 0) {
        char tmp[4200], err[1024];
        snprintf(tmp, sizeof tmp, "%s/bulk-load.tmp", db);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        L.err[0] = '\0';
        int lr = dmp_store_load_commit(ld, s, now_ms, tmp, on_name, on_progress, &pg, &stt, err,
                                       sizeof err);
        if (lr != 0) {
            fprintf(stderr, "dnsmesh-admin: load: %s\n", L.err[0] ? L.err : err);
            if (lr == DMP_EINVAL)
                fprintf(stderr, "dnsmesh-admin: load: nothing was written\n");
            rc = 1;
        }
    }
    double t_end = ld_now_s(), t_all = t_end - L.t0, cpu_end = cpu_s();
    if (rc == 0) {
        double rate = (double)stt.records / (t_all > 1e-9 ? t_all : 1e-9);
        if (json_out) {
            json_t *r = json_pack(
                "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:b,s:f,s:f,s:f,s:f,s:o}", "file",
                file, "store", db, "records", (json_int_t)stt.records, "added",
                (json_int_t)stt.added, "refreshed", (json_int_t)stt.refreshed, "duplicates",
                (json_int_t)stt.duplicates, "names", (json_int_t)stt.names, "skipped_non_txt",
                (json_int_t)L.skipped, "sst_files", (json_int_t)stt.sst_files, "sst_bytes",
                (json_int_t)stt.sst_bytes, "serial", (int)stt.serial, "journaled", stt.journaled,
                "parse_seconds", t_parse, "seconds", t_all, "records_per_second", rate,
                "cpu_seconds", cpu_end, "phases", phases_json(&pg, t_end, cpu_end));
            char *js = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", js ? js : "{}");
            free(js);
            json_decref(r);
        } else {
            printf("loaded %llu records from %s into %s in %.1f s (%.0f records/s; reading "
                   "%.1f s)\n",
                   (unsigned long long)stt.records, file, db, t_all, rate, t_parse);
            printf("  %llu new rows, %llu refreshed, %llu duplicates in the input (the later "
                   "won), %llu names; %llu non-TXT records skipped\n",
                   (unsigned long long)stt.added, (unsigned long long)stt.refreshed,
                   (unsigned long long)stt.duplicates, (unsigned long long)stt.names,
                   (unsigned long long)L.skipped);
            printf("  %llu table files, %.1f MiB; zone serial %u; %s\n",
                   (unsigned long long)stt.sst_files, (double)stt.sst_bytes / 1048576.0, stt.serial,
                   stt.journaled ? "journaled as one change set (IXFR)"
                                 : "not journaled (over 64 MiB): IXFR from an older serial "
                                   "falls back to AXFR");
            char ph[1024];
            phases_text(&pg, t_end, cpu_end, ph, sizeof ph);
            printf("  phases (wall/CPU seconds): %s; CPU %.1f s in all\n", ph, cpu_end);
        }
    }
    dmp_store_load_free(ld);
    dmp_store_close(s);
    for (size_t i = 0; i < L.nblocks; i++)
        free(L.blocks[i]);
    free(L.blocks);
    free(L.lines);
    if (len > 0)
        munmap((void *)m, len);
    return rc;
}
