// store: the block cache as a HyperClockCache. RocksDB's C API makes only LRU caches; this shim
// builds RocksDB's lock-free clock cache in C++ and hands it back as the C API's cache handle,
// so the rest of the store (rocksdb_block_based_options_set_block_cache, rocksdb_cache_get_usage,
// rocksdb_cache_destroy) uses it as it used the LRU one. docs/store.md "Sixth pass".
#include <new>
#include <rocksdb/c.h>
#include <rocksdb/cache.h>

// The C API's handle, as librocksdb's c.cc defines it (a shared_ptr to the C++ cache; the same
// definition since RocksDB 5.x). rocksdb_cache_destroy deletes it.
struct rocksdb_cache_t {
    std::shared_ptr<rocksdb::Cache> rep;
};

extern "C" rocksdb_cache_t *dmp_store_cache_create_clock(size_t capacity, size_t entry_charge)
{
    try {
        rocksdb::HyperClockCacheOptions o(capacity, entry_charge);
        std::shared_ptr<rocksdb::Cache> c = o.MakeSharedCache();
        if (!c)
            return nullptr;
        return new (std::nothrow) rocksdb_cache_t{std::move(c)};
    } catch (...) {
        return nullptr;
    }
}

extern "C" const char *dmp_store_cache_kind(rocksdb_cache_t *c)
{
    return c->rep->Name();
}
