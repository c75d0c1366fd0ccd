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

/* A DNS query for name/qtype with id (RD set, no EDNS) into b; returns its length. */
size_t mkq(uint8_t *b, uint16_t id, const char *name, uint16_t qtype)
{
    size_t n = 0;
    b[n++] = (uint8_t)(id >> 8);
    b[n++] = (uint8_t)id;
    b[n++] = 0x01; /* RD */
    b[n++] = 0;
    b[n++] = 0;
    b[n++] = 1; /* QDCOUNT */
    memset(b + n, 0, 6);
    n += 6;
    for (const char *p = name; *p;) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        b[n++] = (uint8_t)l;
        memcpy(b + n, p, l);
        n += l;
        p += l + (dot ? 1 : 0);
    }
    b[n++] = 0;
    b[n++] = (uint8_t)(qtype >> 8);
    b[n++] = (uint8_t)qtype;
    b[n++] = 0;
    b[n++] = 1;
    return n;
}

/* The largest N of the TXT strings "kN" in a reply (-1: none): which write an answer holds. */
int newest_k(const uint8_t *m, size_t len)
{
    int best = -1;
    for (size_t i = 0; i + 2 < len; i++) {
        size_t l = m[i];
        if (l < 2 || l > 6 || i + 1 + l > len || m[i + 1] != 'k')
            continue;
        int n = 0;
        size_t j = 1;
        while (j < l && m[i + 1 + j] >= '0' && m[i + 1 + j] <= '9')
            n = n * 10 + (m[i + 1 + j++] - '0');
        if (j == l && n > best)
            best = n;
    }
    return best;
}
