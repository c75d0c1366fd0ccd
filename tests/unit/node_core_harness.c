/* Shared fixtures of the node core unit tests; see node_core_harness.h. */
#include "node_core_harness.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void tstore_open(tstore_t *t)
{
    strcpy(t->dir, "/tmp/dmp-node-core-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/db", t->dir);
    dmp_store_opts_t o = {.path = path, .create_if_missing = true};
    char err[256];
    assert_int_equal(dmp_store_open(&o, &t->s, err, sizeof(err)), 0);
}

void tstore_close(tstore_t *t)
{
    dmp_store_close(t->s);
    nftw(t->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int64_t g_now = 1700000000000;

int64_t fake_now(void)
{
    return g_now;
}

size_t count_at(dmp_store_t *s, const char *name)
{
    size_t n = 0;
    int rc = dmp_store_count_values(s, name, strlen(name), g_now, &n);
    assert_true(rc == 0 || rc == DMP_ENOTFOUND);
    return n;
}

bool has(dmp_store_t *s, const char *name, const char *v)
{
    bool out = false;
    int rc = dmp_store_has_value(s, name, strlen(name), (const uint8_t *)v, strlen(v), g_now, &out);
    assert_true(rc == 0 || rc == DMP_ENOTFOUND);
    return out;
}

void mk(dmp_node_change_t *c, dmp_node_chop_t op, const char *name, const char *val)
{
    assert_int_equal(dmp_node_change_set(c, op, name, strlen(name), (const uint8_t *)val,
                                         val ? strlen(val) : 0, 60),
                     0);
}
