/* dnsmesh-admin load (internal): the loader's state and the helpers the JSON-lines reader
 * (load.c) and the zone-file reader (load_zone.c) share; the record sink is load_rec.c. */
#ifndef DMP_ADMIN_LOAD_INT_H
#define DMP_ADMIN_LOAD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"

#define ARENA_BLOCK ((size_t)16 << 20)
#define DEFAULT_JSON_TTL 300 /* as POST /v1/records without "ttl" */

typedef struct {
    const char *path;
    const dmp_node_config_t *cfg;
    dmp_store_load_t *ld;
    uint32_t *lines; /* line of each record */
    size_t n, lines_cap;
    char **blocks; /* copies of values that are not contiguous in the file */
    size_t nblocks, blocks_cap, used, block_size;
    uint64_t skipped; /* non-TXT records of a zone file */
    double t0, last_print;
    size_t err_line; /* the failing line (in this part of the input) and why */
    char err_msg[900];
    char err[1024]; /* "path:line: why" */
} ld_t;

typedef struct {
    char origin[256];
    size_t olen;
    bool have_origin;
    int64_t dflt_ttl;  /* $TTL, else the last explicit TTL; -1 = none */
    const char *owner; /* in the arena: the loader borrows names until it commits */
    size_t owner_len;
    bool have_owner;
} zst_t;

/* Room for n bytes that live until the load ends (NULL: out of memory or n over a block). */
char *ld_arena(ld_t *L, size_t n);
/* Records the first failure, "path:line: why"; returns 1. */
int ld_fail(ld_t *L, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Checks one record as the HTTP publish path would and hands it to the store loader;
 * value_safe: the caller has checked the value rule already (dmp_node_value_safe's bytes: '"',
 * below 0x20, DEL). 0, or 1 after ld_fail(). */
int ld_add_rec(ld_t *L, size_t line, const char *name, size_t nl, const uint8_t *val, size_t vl,
               int64_t ttl, bool value_safe);
/* Monotonic seconds. */
double ld_now_s(void);
/* "load: read N records (R records/s)" on stderr, at most once a second unless force. */
void ld_progress(ld_t *L, bool force);
/* The first byte in [p, e) that is '"', '\\', below 0x20 or DEL (e when none). */
const char *ld_scan_special(const char *p, const char *e);
/* The first byte at or after p that is not a space, tab or CR (e when none). */
const char *ld_skip_ws(const char *p, const char *e);
/* One line of a zone file (RFC 1035 master-file subset: $ORIGIN, $TTL, TXT; other types
 * counted and skipped) into the loader; 0, or 1 after ld_fail(). */
int dmp_admin_load_zone_line(ld_t *L, zst_t *z, size_t line, const char *p, const char *e);

#endif
