/* net: io_uring DNS frontends (UDP + TCP/RFC 7766), lock-free rings, shard worker threads.
 * Threads: F frontends (socket I/O, admit, route) and S shards (handle, tick, tasks). A query
 * never takes a lock: it travels frontend -> shard over an SPSC ring and back the same way. */
#ifndef DMP_NET_H
#define DMP_NET_H

#include "net/net_types.h"

const char *dmp_net_strerror(int err);

/* Fills every field with its default (no listen addresses). */
void dmp_net_config_default(dmp_net_config_t *cfg);
/* Appends a listen address (both UDP and TCP). DMP_EFULL / DMP_EINVAL. */
int dmp_net_config_add_listen(dmp_net_config_t *cfg, const char *host, uint16_t port);

/* Binds every listen address (one SO_REUSEPORT socket per frontend per address and transport)
 * and starts F frontend + S shard threads. cfg and h are copied. On failure nothing is left
 * running and err (if given) says why. */
int dmp_net_start(const dmp_net_config_t *cfg, const dmp_net_handler_t *h, dmp_net_t **out,
                  char *err, size_t errlen);

/* Runs fn(arg) on shard `shard`'s thread, soon (any thread may call; MPSC ring). Never blocks:
 * DMP_EFULL when the ring is full, DMP_EINVAL for a bad shard, DMP_NET_ESTOPPED after stop
 * (fn is then never run; the caller still owns arg). */
int dmp_net_submit(dmp_net_t *n, unsigned shard, void (*fn)(void *arg), void *arg);
/* Batching the calling thread's submits: while dmp_net_wakeups_defer(true) is on, dmp_net_submit
 * queues the task but leaves the shard asleep; dmp_net_wakeups_flush wakes every shard so left,
 * once each (deferral stays on); dmp_net_wakeups_defer(false) flushes and ends it. A thread that
 * hands over many tasks in one pass (the HTTP thread, one event-loop iteration) then wakes a
 * shard once, not once per task: on a shared core the woken shard would otherwise preempt the
 * submitter at every task. Flush before the thread sleeps or waits on a shard; a task waits at
 * most until then. Thread-local, no locks; a no-op on a thread that never deferred. */
void dmp_net_wakeups_defer(bool on);
void dmp_net_wakeups_flush(void);

/* Stops receiving, lets in-flight queries finish and their replies go out (bounded ~1 s), runs
 * queued tasks, joins all threads, closes sockets. Idempotent; callable from any thread except
 * the net's own threads (not from a callback). */
void dmp_net_stop(dmp_net_t *n);
/* Stops (if needed) and frees. NULL is fine. */
void dmp_net_free(dmp_net_t *n);

/* Bound port of listen address idx (after start), or a negative code (no such socket). */
int dmp_net_udp_port(const dmp_net_t *n, unsigned idx);
int dmp_net_tcp_port(const dmp_net_t *n, unsigned idx);

unsigned dmp_net_frontends(const dmp_net_t *n);
unsigned dmp_net_shards(const dmp_net_t *n);
/* The backend the frontends run ("io_uring" or "mmsg"). */
dmp_net_backend_t dmp_net_backend(const dmp_net_t *n);

/* Counters summed over all threads (any thread, any time while n is alive). */
void dmp_net_stats(const dmp_net_t *n, dmp_net_stats_t *out);

#endif
