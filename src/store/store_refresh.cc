// store: the one C++ call the store makes. RocksDB's C API has no Iterator::Refresh(), which
// moves a kept iterator to the latest sequence (and, only when the column family's memtables or
// files changed, rebuilds it): store_read.c's readers (dmp_store_reader_t) use it instead of
// building an iterator over every level per DNS read. docs/store.md "Read path at scale".
#include <rocksdb/c.h>
#include <rocksdb/iterator.h>

// The C API's handle, as librocksdb's c.cc defines it (one pointer to the C++ iterator; the
// same definition since RocksDB 3.x).
struct rocksdb_iterator_t {
    rocksdb::Iterator *rep;
};

extern "C" int dmp_store_iter_refresh(rocksdb_iterator_t *it)
{
    try {
        return it->rep->Refresh().ok() ? 0 : -1;
    } catch (...) {
        return -1;
    }
}
