/* store: the zone's SOA serial, persisted in CF_META ("soa_serial", u64 BE) and advanced by one
 * in the same WriteBatch as every change set (put batch, delete, transaction, sweep chunk that
 * removes rows). A fresh store starts at the Unix time of its creation, so a serial never goes
 * below what a time-based serial of an older build handed out. */
#include "store/store_internal.h"

#include <string.h>
#include <time.h>

#define META_SERIAL "soa_serial"

int dmp_store_serial_load(dmp_store_t *s)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->rdefault, s->cf[CF_META], META_SERIAL,
                             sizeof META_SERIAL - 1, &vl, &err);
    int rc = dmp_store_rerr(err);
    if (rc != 0)
        return rc;
    uint64_t cur;
    if (v != NULL && vl == 8) {
        cur = dmp_load_u64be((const uint8_t *)v);
    } else {
        cur = (uint64_t)time(NULL);
        uint8_t b[8];
        dmp_store_u64be(b, cur);
        rocksdb_put_cf(s->db, s->wsync, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1,
                       (const char *)b, 8, &err);
        rc = dmp_store_rerr(err);
    }
    rocksdb_free(v);
    atomic_store(&s->serial, cur);
    return rc;
}

/* The serial is assigned and the batch written under serial_mu, so serials reach the WAL in
 * order and the persisted value is always the latest one. */
int dmp_store_write_stamped(dmp_store_t *s, const rocksdb_writeoptions_t *wo, void *batch, bool wi)
{
    char *err = NULL;
    uint8_t b[8];
    pthread_mutex_lock(&s->serial_mu);
    uint64_t next = atomic_load(&s->serial) + 1;
    dmp_store_u64be(b, next);
    if (wi) {
        rocksdb_writebatch_wi_put_cf(batch, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1,
                                     (const char *)b, 8);
        rocksdb_write_writebatch_wi(s->db, wo, batch, &err);
    } else {
        rocksdb_writebatch_put_cf(batch, s->cf[CF_META], META_SERIAL, sizeof META_SERIAL - 1,
                                  (const char *)b, 8);
        rocksdb_write(s->db, wo, batch, &err);
    }
    int rc = dmp_store_rerr(err);
    if (rc == 0)
        atomic_store(&s->serial, next);
    pthread_mutex_unlock(&s->serial_mu);
    return rc;
}

uint32_t dmp_store_soa_serial(dmp_store_t *s)
{
    return s ? (uint32_t)atomic_load_explicit(&s->serial, memory_order_relaxed) : 0;
}
