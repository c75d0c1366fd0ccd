/* Shared by the test_store_* unit tests: see store_harness.h. */
#include "store_harness.h"

/* ---- temp dir helpers ---- */

void rm_rf(const char *path)
{
    DIR *d = opendir(path);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", path, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_rf(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(path);
}

dmp_store_t *open_at(const char *path, int *rc_out, char *err, size_t errlen)
{
    dmp_store_opts_t o = {.path = path,
                          .block_cache_bytes = 8u << 20,
                          .write_buffer_bytes = 4u << 20,
                          .create_if_missing = true};
    dmp_store_t *s = NULL;
    int rc = dmp_store_open(&o, &s, err, errlen);
    if (rc_out)
        *rc_out = rc;
    return s;
}

int setup(void **state)
{
    fx_t *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/dmp_store_XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/db", f->dir);
    char err[256];
    int rc;
    f->s = open_at(f->path, &rc, err, sizeof err);
    if (f->s == NULL) {
        fprintf(stderr, "open: %d %s\n", rc, err);
        rm_rf(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int teardown(void **state)
{
    fx_t *f = *state;
    dmp_store_close(f->s);
    rm_rf(f->dir);
    free(f);
    return 0;
}

void reopen(fx_t *f)
{
    dmp_store_close(f->s);
    char err[256];
    int rc;
    f->s = open_at(f->path, &rc, err, sizeof err);
    assert_non_null(f->s);
    assert_int_equal(rc, 0);
}

/* ---- collecting visitor ---- */

int collect(void *ctx, const char *name, size_t nl, const dmp_store_record_t *r)
{
    coll_t *c = ctx;
    if (c->n < 64) {
        snprintf(c->names[c->n], 64, "%.*s", (int)nl, name);
        snprintf(c->vals[c->n], 64, "%.*s", (int)r->value_len, (const char *)r->value);
        c->recs[c->n] = *r;
        c->recs[c->n].value = NULL;
    }
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

int put_s(dmp_store_t *s, const char *name, const char *val, uint32_t ttl, int64_t now)
{
    return dmp_store_put(s, name, strlen(name), (const uint8_t *)val, strlen(val), ttl, now);
}

int get_s(dmp_store_t *s, const char *name, int64_t now, coll_t *c)
{
    memset(c, 0, sizeof *c);
    return dmp_store_get(s, name, strlen(name), now, collect, c);
}

uint64_t count_of(dmp_store_t *s)
{
    uint64_t n = 99999;
    assert_int_equal(dmp_store_record_count(s, &n), 0);
    return n;
}

/* Edits a closed store directly with RocksDB, opening every column family on disk (plus
 * add_cf, created when not NULL): drops drop_cf when not NULL, stamps schema_version = ver when
 * ver != 0, and reports the version found before in *old (0 when absent). */
void raw_edit(const char *path, uint32_t ver, const char *drop_cf, const char *add_cf,
              uint32_t *old)
{
    char *err = NULL;
    rocksdb_options_t *o = rocksdb_options_create();
    size_t ncf = 0;
    char **cfs = rocksdb_list_column_families(o, path, &ncf, &err);
    assert_null(err);
    assert_true(ncf >= 9);
    size_t nall = ncf + (add_cf != NULL);
    const rocksdb_options_t **opts = calloc(nall, sizeof *opts);
    rocksdb_column_family_handle_t **h = calloc(nall, sizeof *h);
    const char **names = calloc(nall, sizeof *names);
    size_t meta = SIZE_MAX, drop = SIZE_MAX;
    for (size_t i = 0; i < ncf; i++) {
        opts[i] = o;
        names[i] = cfs[i];
        if (strcmp(cfs[i], "meta") == 0)
            meta = i;
        if (drop_cf != NULL && strcmp(cfs[i], drop_cf) == 0)
            drop = i;
    }
    if (add_cf != NULL) {
        names[ncf] = add_cf;
        opts[ncf] = o;
    }
    rocksdb_options_set_create_missing_column_families(o, 1);
    assert_true(meta != SIZE_MAX);
    assert_true(drop_cf == NULL || drop != SIZE_MAX);
    rocksdb_t *db = rocksdb_open_column_families(o, path, (int)nall, names, opts, h, &err);
    assert_null(err);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    size_t vl = 0;
    char *v = rocksdb_get_cf(db, ro, h[meta], "schema_version", 14, &vl, &err);
    assert_null(err);
    *old = v != NULL && vl == 4 ? dmp_load_u32be((const uint8_t *)v) : 0;
    rocksdb_free(v);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    if (ver != 0) {
        uint8_t vb[4];
        dmp_store_u32be(vb, ver);
        rocksdb_put_cf(db, wo, h[meta], "schema_version", 14, (const char *)vb, 4, &err);
        assert_null(err);
    }
    if (drop != SIZE_MAX) {
        rocksdb_drop_column_family(db, h[drop], &err);
        assert_null(err);
    }
    for (size_t i = 0; i < nall; i++)
        rocksdb_column_family_handle_destroy(h[i]);
    rocksdb_close(db);
    rocksdb_readoptions_destroy(ro);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    rocksdb_list_column_families_destroy(cfs, ncf);
    free(opts);
    free(h);
    free(names);
}

void xor32(uint8_t *a, const uint8_t *b)
{
    for (int i = 0; i < 32; i++)
        a[i] ^= b[i];
}
