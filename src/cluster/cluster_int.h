/* cluster: internals shared by the engine's files (not part of the module's API). */
#ifndef DMP_CLUSTER_INT_H
#define DMP_CLUSTER_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cluster/cluster.h"
#include "store/store.h"

#define QUAR_SLOTS 4096      /* quarantined (name, hash) pairs: direct-mapped, bounded */
#define QUAR_MS (300 * 1000) /* a refused record is not pulled again for 5 min */
#define PROBE_EVERY 30       /* rounds between re-probes of a peer without Merkle routes */
#define BACKOFF_BASE_MS 1000 /* first retry after a failed round */
#define BACKOFF_MAX_MS 60000 /* at most a minute between attempts */
#define FULL_REFRESH_MS 1000 /* the tree re-reads every leaf (one iterator) at least this often */

/* Per-peer state. Invariant: cursor is the reference-digest watermark (only moves forward
 * while the peer keeps its id and endpoint). */
typedef struct {
    dmp_cluster_peer_t p;
    dmp_cluster_cursor_t cursor;
    int merkle; /* 1 = speaks our Merkle protocol, 0 = does not (404), -1 = unknown */
    unsigned rounds_since_probe;
    int64_t last_ok_ms; /* end of the last successful round (clock ms; 0 = never) */
    uint64_t failures;  /* failed rounds with this peer */
} peer_state_t;

typedef struct {
    uint8_t key[16]; /* first 16 bytes of SHA-256(name || 0 || hash) */
    int64_t until_ms;
} quar_t;

struct dmp_cluster {
    dmp_cluster_env_t env;
    void *idx_ctx; /* ctx of list_bucket / tomb_get: the engine itself with store_index */
    char *token, *base, *self_url, *self_id;
    uint8_t spk[32];
    bool has_spk;
    dmp_cluster_tree_t *tree;
    pthread_mutex_t mu; /* peers, rr, quarantine, installed_seq */
    peer_state_t *peers;
    size_t npeers;
    size_t rr, grr;
    quar_t *quar;
    int64_t installed_seq;
    atomic_bool aborted;
    pthread_mutex_t refresh_mu;
    int64_t last_full_refresh;
    pthread_mutex_t pace_mu; /* pace */
    dmp_cluster_pace_t pace; /* DMP_SYNC_PULL_RATE */
    struct {
        _Atomic uint64_t rounds, merkle_rounds, digest_rounds, in_sync, pulled, written, rejected,
            deleted, errors, bytes_in, bytes_out, gossip_installed;
    } st;
};

#define ST_ADD(c, f, v) atomic_fetch_add_explicit(&(c)->st.f, (uint64_t)(v), memory_order_relaxed)

static inline int64_t cl_now(const dmp_cluster_t *c)
{
    return dmp_clock_now_ms(&c->env.clock);
}

/* pull.c: what the rounds use (nothing in it calls the engine or a round) */
bool dmp_cluster__quarantined(dmp_cluster_t *c, const char *name, size_t len,
                              const uint8_t hash[32]);
void dmp_cluster__quarantine(dmp_cluster_t *c, const char *name, size_t len,
                             const uint8_t hash[32]);
/* POST (body != NULL) or GET base_url + path through the environment's transport; counts bytes.
 * 0 with resp filled (any status) or a transport error code. */
int dmp_cluster__http(dmp_cluster_t *c, const char *base_url, const char *path, const uint8_t *body,
                      size_t len, const char *ctype, dmp_cluster_http_resp_t *resp);
/* Waits until the pull pacing allows the next request: 0, or DMP_EAGAIN once aborted. */
int dmp_cluster__pace_wait(dmp_cluster_t *c);
/* Charges n pulled records to the pacing. */
void dmp_cluster__pace_charge(dmp_cluster_t *c, uint64_t n);
/* The local state of (name, hash): the live row and its expiry, the tombstone. */
int dmp_cluster__local_state(dmp_cluster_t *c, const char *name, size_t len, const uint8_t hash[32],
                             int64_t now_ms, dmp_cluster_state_t *out);

/* A set of wanted (name, hash) pairs with the expiry each was advertised with. */
typedef struct {
    char name[DMP_CLUSTER_NAME_MAX + 1];
    size_t name_len;
    uint8_t hash[32];
} want_t;
typedef struct {
    want_t *w;
    size_t n, cap;
} wants_t;
int dmp_cluster__wants_add(wants_t *ws, const char *name, size_t len, const uint8_t hash[32]);
void dmp_cluster__wants_free(wants_t *ws);
/* Pulls every wanted pair from the peer (bodies <= body_cap), re-verifies, and applies what
 * passes through the write path. Refused records are quarantined. 0, or the first transport /
 * protocol / write error (what was applied before it stays applied). */
int dmp_cluster__pull_apply(dmp_cluster_t *c, const char *base_url, wants_t *ws, size_t body_cap);

/* serve.c: the highest seq among the stored manifests at cluster.<base> (-1: none). */
int dmp_cluster__best_seq(dmp_cluster_t *c, int64_t *seq);
/* The best stored manifest's wire (appended to wire) and seq (-1: none). */
int dmp_cluster__best_wire(dmp_cluster_t *c, dmp_buf_t *wire, int64_t *seq);

/* cursors.c: the persisted digest cursor of a peer (store map DMP_STORE_KV_CLUSTER). load
 * fills ps->cursor when one is stored for the peer's endpoint under the same node id, or under
 * a synthetic id (the retention rule of set_peers); returns true when it did. */
bool dmp_cluster__cursor_load(dmp_cluster_t *c, peer_state_t *ps);
int dmp_cluster__cursor_save(dmp_cluster_t *c, const peer_state_t *ps);

/* round_merkle.c: 0 on success; DMP_EUNSUPPORTED when the peer has no Merkle routes. */
int dmp_cluster__round_merkle(dmp_cluster_t *c, peer_state_t *ps);
/* round_digest.c */
int dmp_cluster__round_digest(dmp_cluster_t *c, peer_state_t *ps);

#endif
