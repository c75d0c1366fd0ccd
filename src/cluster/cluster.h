/* cluster: anti-entropy between nodes. The Merkle tree over the store's bucket leaves and the
 * descent that finds differing buckets (merkle.c), our binary Merkle messages (mwire.c), the
 * reference's JSON sync messages (sync_json.c), record re-verification and conflict rules
 * (verify.c), peer lists, back-off and the libcurl peer client (peer.c).
 * Parsers take (buf, len), never read past len and refuse anything malformed. */
#ifndef DMP_CLUSTER_H
#define DMP_CLUSTER_H

#include "cluster/cluster_types.h"
#include "util/util.h"
#include "wire/wire_types.h"

const char *dmp_cluster_strerror(int err);

/* ---- pull pacing (pace.c) ---- */
/* A bucket of rate records/s (0 = unpaced), full at now_ms. */
void dmp_cluster_pace_init(dmp_cluster_pace_t *p, uint32_t rate, int64_t now_ms);
/* Milliseconds to wait before the next pull request (0: now). A clock that went back is
 * taken as no time passed. */
int64_t dmp_cluster_pace_delay(dmp_cluster_pace_t *p, int64_t now_ms);
/* Charges n records received (the bucket may go into debt: the next delay pays it back). */
void dmp_cluster_pace_charge(dmp_cluster_pace_t *p, uint64_t n, int64_t now_ms);

/* ---- Merkle tree (merkle.c) ---- */
int dmp_cluster_tree_new(dmp_cluster_tree_t **out);
void dmp_cluster_tree_free(dmp_cluster_tree_t *t);
/* Reads every leaf (all = true) or only the buckets touched since the last refresh, through
 * leaf(), then recomputes the inner nodes above the changed leaves. Readers are blocked only
 * while the changed leaves and their ancestors are written, not while leaves are read. */
int dmp_cluster_tree_refresh(dmp_cluster_tree_t *t, dmp_cluster_leaf_fn leaf, void *ctx, bool all);
/* Full refresh from every leaf at once (leaves[b] for each bucket), e.g. from
 * dmp_store_bucket_digests; clears the touched marks. */
int dmp_cluster_tree_load(dmp_cluster_tree_t *t, const uint8_t (*leaves)[32]);
/* Marks a bucket for the next refresh (any thread, lock-free). */
void dmp_cluster_tree_touch(dmp_cluster_tree_t *t, uint32_t bucket);
/* Marks the bucket of a name (lowercased like the store) for the next refresh. */
void dmp_cluster_tree_touch_name(dmp_cluster_tree_t *t, const char *name, size_t len);
/* Sets one leaf and updates its ancestors. */
int dmp_cluster_tree_set_leaf(dmp_cluster_tree_t *t, uint32_t bucket, const uint8_t d[32]);
void dmp_cluster_tree_root(dmp_cluster_tree_t *t, uint8_t out[32]);
/* Digest of node (level 0..4, index < 16^level). */
int dmp_cluster_tree_node(dmp_cluster_tree_t *t, unsigned level, uint32_t index, uint8_t out[32]);
/* The 16 children of node (level 0..3, index). */
int dmp_cluster_tree_children(dmp_cluster_tree_t *t, unsigned level, uint32_t index,
                              uint8_t out[DMP_CLUSTER_FANOUT][32]);
/* dmp_cluster_leaf_fn over a dmp_store_t (ctx): the store's persisted bucket digest. */
int dmp_cluster_store_leaf(void *store, uint32_t bucket, uint8_t out[32]);
/* The inner-node rule: SHA-256 of the 16 children, zero when they are all zero. */
void dmp_cluster_inner_digest(const uint8_t children[DMP_CLUSTER_FANOUT][32], uint8_t out[32]);

/* The remote side of a descent: children() answers one Merkle request (mwire response). */
typedef struct {
    /* Fills resp for req. 0 or a DMP_E* code (the descent then stops with that code). */
    int (*children)(void *ctx, const dmp_cluster_mreq_t *req, uint8_t root[32],
                    uint8_t (*children)[DMP_CLUSTER_FANOUT][32]);
    void *ctx;
} dmp_cluster_remote_t;

/* Compares the local tree with a remote one level by level, descending only into differing
 * subtrees, and writes up to max_out differing bucket numbers (ascending) to out. *n_out is the
 * count written; *truncated is set when more differ (the next round finds the rest). *bytes (may
 * be NULL) accumulates the encoded size of the requests and responses exchanged. Returns 0 with
 * *n_out = 0 when the roots agree. */
int dmp_cluster_tree_diff(dmp_cluster_tree_t *local, const dmp_cluster_remote_t *remote,
                          uint16_t *out, size_t max_out, size_t *n_out, bool *truncated,
                          uint64_t *bytes);

/* ---- binary Merkle messages (mwire.c); formats in cluster_types.h ---- */
int dmp_cluster_mreq_encode(const dmp_cluster_mreq_t *req, dmp_buf_t *out);
int dmp_cluster_mreq_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out);
/* Answers req from the local tree (appends the response to out). */
int dmp_cluster_mresp_build(dmp_cluster_tree_t *t, const dmp_cluster_mreq_t *req, dmp_buf_t *out);
/* Parses a response to req: it must answer exactly req's level and indexes, in order. */
int dmp_cluster_mresp_parse(const uint8_t *buf, size_t len, const dmp_cluster_mreq_t *req,
                            uint8_t root[32], uint8_t (*children)[DMP_CLUSTER_FANOUT][32]);
/* Leaf request: reuses dmp_cluster_mreq_t with level = DMP_CLUSTER_DEPTH (idx = buckets). */
int dmp_cluster_lreq_encode(const dmp_cluster_mreq_t *req, dmp_buf_t *out);
int dmp_cluster_lreq_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out);
/* Version-2 leaf requests (the have-list, cluster_types.h). The key of (lowercase name, value
 * hash) under salt: */
uint64_t dmp_cluster_have_key(const uint8_t salt[16], const char *lname, size_t len,
                              const uint8_t hash[32]);
/* Writer: begin, then per bucket (ascending) its have-list (sorted and de-duplicated in place;
 * k is clamped to 65535), then end with the number of buckets written. */
int dmp_cluster_lreq2_begin(dmp_buf_t *out, const uint8_t salt[16]);
int dmp_cluster_lreq2_bucket(dmp_buf_t *out, uint16_t bucket, dmp_cluster_have_t *have, size_t k);
int dmp_cluster_lreq2_end(dmp_buf_t *out, size_t n);
/* Parses a version-2 request: the buckets into out (level DMP_CLUSTER_DEPTH), the have-list
 * into have (pointing into buf). Strict: anything out of order or left over is DMP_EFORMAT. */
int dmp_cluster_lreq2_parse(const uint8_t *buf, size_t len, dmp_cluster_mreq_t *out,
                            dmp_cluster_lhave_t *have);
/* True when entry e of request bucket i can be left out of the response: a live row the
 * requester holds with at most DMP_CLUSTER_TTL_SLOP seconds less left. */
bool dmp_cluster_lhave_covers(const dmp_cluster_lhave_t *have, size_t i,
                              const dmp_cluster_leaf_entry_t *e);
/* Leaf response writer: begin, then per requested bucket (in request order) bucket_begin and
 * its entries; end patches the counts. max_bytes bounds the response (DMP_ETOOBIG beyond). */
typedef struct {
    dmp_buf_t *out;
    size_t count_at; /* offset of the current bucket's u16 count (0 = none open) */
    uint32_t count;
    size_t max_bytes;
} dmp_cluster_lresp_t;
int dmp_cluster_lresp_begin(dmp_cluster_lresp_t *w, dmp_buf_t *out, size_t n, size_t max_bytes);
int dmp_cluster_lresp_bucket(dmp_cluster_lresp_t *w, uint16_t bucket);
int dmp_cluster_lresp_entry(dmp_cluster_lresp_t *w, const dmp_cluster_leaf_entry_t *e);
int dmp_cluster_lresp_end(dmp_cluster_lresp_t *w);
/* Parses a leaf response to req (same buckets, same order; every entry's name must hash to its
 * bucket, be 1..253 bytes and pass the HTTP name rule). Appends to out. */
int dmp_cluster_lresp_parse(const uint8_t *buf, size_t len, const dmp_cluster_mreq_t *req,
                            dmp_cluster_leaves_t *out);
void dmp_cluster_leaves_free(dmp_cluster_leaves_t *l);
int dmp_cluster_leaves_push(dmp_cluster_leaves_t *l, const dmp_cluster_leaf_entry_t *e);

/* ---- the reference's JSON sync messages (sync_json.c; cluster.md §3.4) ---- */
/* Server: query parameters of GET /v1/sync/digest (already URL-decoded; NULL = absent).
 * On 400 returns DMP_CLUSTER_EREQUEST with the reference's message in msg. */
int dmp_cluster_digest_query(const char *cursor, const char *since, const char *limit,
                             dmp_cluster_cursor_t *cur, size_t *lim, char *msg, size_t msgcap);
/* Parses "<ts>:<name>[:<hash>]" (the reference's _parse_digest_cursor). */
int dmp_cluster_cursor_parse(const char *s, size_t len, dmp_cluster_cursor_t *out);
/* Writes "<ts>:<name>:<hash hex or empty>" NUL-terminated (cap >= 20+1+255+1+64+1). */
int dmp_cluster_cursor_format(const dmp_cluster_cursor_t *c, char *out, size_t cap);
/* Server: digest response. Add entries in order, then finish (appends JSON to out). */
typedef struct {
    void *arr; /* json_t array, owned */
    dmp_cluster_cursor_t last;
    bool any;
} dmp_cluster_digest_writer_t;
int dmp_cluster_digest_writer_init(dmp_cluster_digest_writer_t *w);
int dmp_cluster_digest_writer_add(dmp_cluster_digest_writer_t *w, const char *name, size_t len,
                                  const uint8_t hash[32], int64_t ts, uint32_t ttl);
int dmp_cluster_digest_writer_finish(dmp_cluster_digest_writer_t *w, bool has_more,
                                     const dmp_cluster_cursor_t *input, dmp_buf_t *out);
void dmp_cluster_digest_writer_free(dmp_cluster_digest_writer_t *w);
/* Worker: parses a digest response. DMP_EFORMAT when the body is not a JSON object with a
 * "records" list; invalid entries are dropped and counted (name rule ^[A-Za-z0-9._-]{1,253}$,
 * 64 lowercase hex hash, ts integer >= 0, ttl integer 0..2^31). Unlike the reference, ts is not
 * compared with our clock (cluster.md §8.1 item 6): it is the peer's opaque cursor. */
int dmp_cluster_digest_parse(const uint8_t *buf, size_t len, dmp_cluster_digest_t *out);
void dmp_cluster_digest_free(dmp_cluster_digest_t *d);

/* Worker: appends {"names": [...]} for names[from..] to out, as many as fit in body_cap bytes
 * and DMP_CLUSTER_PULL_MAX_NAMES; *taken receives how many (>= 1 unless DMP_ETOOBIG). */
int dmp_cluster_pull_req_encode(const char *const *names, const size_t *lens, size_t n,
                                size_t body_cap, dmp_buf_t *out, size_t *taken);
/* Server: parses a pull request body; DMP_CLUSTER_EREQUEST + message on a 400. */
int dmp_cluster_pull_req_parse(const uint8_t *buf, size_t len, dmp_cluster_names_t *out, char *msg,
                               size_t msgcap);
void dmp_cluster_names_free(dmp_cluster_names_t *n);
/* Server: pull response writer. */
typedef struct {
    void *arr; /* json_t array, owned */
} dmp_cluster_pull_writer_t;
int dmp_cluster_pull_writer_init(dmp_cluster_pull_writer_t *w);
/* A value that is not valid UTF-8 cannot travel in JSON: DMP_EFORMAT, nothing added. */
int dmp_cluster_pull_writer_add(dmp_cluster_pull_writer_t *w, const char *name, size_t len,
                                const uint8_t *value, size_t vlen, uint32_t ttl);
int dmp_cluster_pull_writer_finish(dmp_cluster_pull_writer_t *w, dmp_buf_t *out);
void dmp_cluster_pull_writer_free(dmp_cluster_pull_writer_t *w);
/* Worker: parses a pull response. DMP_EFORMAT when not {"records": [...]}. */
int dmp_cluster_pull_parse(const uint8_t *buf, size_t len, dmp_cluster_pull_t *out);
void dmp_cluster_pull_free(dmp_cluster_pull_t *p);

/* Server: {"wire": ..., "seq": N, "exp": N, "cluster_name": ...}. */
int dmp_cluster_manifest_resp_encode(const char *wire, size_t wire_len, uint64_t seq, uint64_t exp,
                                     const char *cluster_name, dmp_buf_t *out);
/* Worker: extracts "wire" (a non-empty string) into out (appended). DMP_EFORMAT otherwise. The
 * caller verifies the wire; the other fields are not trusted. */
int dmp_cluster_manifest_resp_parse(const uint8_t *buf, size_t len, dmp_buf_t *wire);

/* ---- verification and conflicts (verify.c) ---- */
/* cluster.md §3.6: 0 when a record pulled from a peer may be stored, DMP_CLUSTER_EREJECT
 * otherwise (*why, may be NULL, gets a static reason). operator_spk may be NULL (no pinned
 * key: cluster manifests are checked structurally). now in Unix seconds. */
int dmp_cluster_verify_record(const char *name, size_t name_len, const uint8_t *value,
                              size_t value_len, const uint8_t *operator_spk, int64_t now,
                              const char **why);
/* The reference's digest-entry name rule ^[A-Za-z0-9._-]{1,253}$. */
bool dmp_cluster_name_ok(const char *name, size_t len);
/* What to do about (name, hash) given the local and the remote state; now_ms on our clock.
 * Rules: a live remote row is pulled when we have neither it nor a tombstone that covers it,
 * or (TTL refresh, §3.5) when its expiry is later than ours by more than DMP_CLUSTER_TTL_SLOP;
 * a tombstone covers a row whose expiry is at most the tombstone's expiry + slop (a re-publish
 * after the delete expires later and wins; a replicated old copy does not); a remote tombstone
 * deletes our live row when it covers it. Anything else: KEEP. */
dmp_cluster_action_t dmp_cluster_decide(const dmp_cluster_state_t *local,
                                        const dmp_cluster_state_t *remote);
/* True when a tombstone (tomb_expires) covers a row expiring at row_expires. */
bool dmp_cluster_tomb_covers(int64_t tomb_expires, int64_t row_expires);

/* ---- peers (peer.c) ---- */
/* The reference's synthetic id: host[:9] + "-" + sha256("{host_lower}:{port or ''}{path}")[:6]
 * (cluster.md §3.9). out must hold DMP_CLUSTER_NODE_ID_MAX + 1. */
int dmp_cluster_peer_id_from_url(const char *url, size_t len, char *out, size_t cap);
/* DMP_SYNC_PEERS: comma-separated base URLs; whitespace and trailing '/' stripped, empties and
 * exact duplicates skipped, self_url (case-insensitive, may be NULL) and self_id (may be NULL)
 * dropped. Only http:// and https:// URLs; anything else is DMP_EINVAL. */
int dmp_cluster_peers_parse(const char *list, const char *self_url, const char *self_id,
                            dmp_cluster_peer_t *out, size_t cap, size_t *n);
/* Back-off: a failure at now_ms schedules the next attempt (base_ms * 2^(k-1), at most max_ms,
 * plus jitter in [0, delay/4] taken from `rnd`); success clears it. */
void dmp_cluster_backoff_fail(dmp_cluster_backoff_t *b, int64_t now_ms, int64_t base_ms,
                              int64_t max_ms, uint32_t rnd);
void dmp_cluster_backoff_ok(dmp_cluster_backoff_t *b);
bool dmp_cluster_backoff_ready(const dmp_cluster_backoff_t *b, int64_t now_ms);

/* libcurl client. dmp_cluster_http_global_init once per process before threads start. */
int dmp_cluster_http_global_init(void);
/* GET (body == NULL) or POST body with content_type; resp->status 0 on transport failure,
 * timeout or a response over max_response (then DMP_CLUSTER_EHTTP is returned too). Free
 * resp with dmp_cluster_http_resp_free. */
int dmp_cluster_http_request(const dmp_cluster_http_opts_t *o, const char *url, const uint8_t *body,
                             size_t body_len, const char *content_type,
                             dmp_cluster_http_resp_t *resp);
void dmp_cluster_http_resp_free(dmp_cluster_http_resp_t *r);
/* "Authorization: Bearer <token>" check of the sync routes (constant time; no token configured
 * = everyone forbidden, as the reference). */
bool dmp_cluster_auth_ok(const char *header, const char *token);

/* ---- the anti-entropy engine (engine.c, round_merkle.c, round_digest.c, pull.c, serve.c) ---- */
int dmp_cluster_new(const dmp_cluster_env_t *env, dmp_cluster_t **out);
void dmp_cluster_free(dmp_cluster_t *c);
/* Replaces the peer list (self filtered, duplicates by node_id dropped; a peer keeps its digest
 * cursor when its normalised endpoint and id match an old one, or the old id was synthetic:
 * reference cluster.md §3.10.4). A peer new to the engine takes the digest cursor persisted in
 * the store for its endpoint by the same rule (so a restart resumes the reference digest). */
int dmp_cluster_set_peers(dmp_cluster_t *c, const dmp_cluster_peer_t *p, size_t n);
/* Copies up to cap peers out; returns the number of peers. */
size_t dmp_cluster_get_peers(dmp_cluster_t *c, dmp_cluster_peer_t *out, size_t cap);
dmp_cluster_tree_t *dmp_cluster_get_tree(dmp_cluster_t *c);
/* Brings the tree up to date with the store: every leaf (all) or the touched ones. */
int dmp_cluster_refresh(dmp_cluster_t *c, bool all);
/* One anti-entropy round with the next peer whose back-off has passed (round robin):
 * our Merkle protocol, or the reference's digest protocol with a peer that lacks it.
 * DMP_ENOTFOUND when no peer is ready. */
int dmp_cluster_tick(dmp_cluster_t *c);
/* One round with peer i (tests, tools). */
int dmp_cluster_sync_peer(dmp_cluster_t *c, size_t i);
/* One gossip step (reference §3.10.3) with the next peer: fetch its cluster manifest, verify it
 * against the pinned key and base domain, install it if its seq is higher and use its nodes
 * as the peer list. DMP_EUNSUPPORTED when gossip is off (no key or no base domain). */
int dmp_cluster_gossip_tick(dmp_cluster_t *c);
void dmp_cluster_get_stats(dmp_cluster_t *c, dmp_cluster_stats_t *out);
/* Copies up to cap peers' health out; returns the number of peers. */
size_t dmp_cluster_get_peer_stats(dmp_cluster_t *c, dmp_cluster_peer_stats_t *out, size_t cap);
/* Makes every later peer request fail at once (DMP_EAGAIN), so a round in flight ends quickly
 * at shutdown. serve() keeps working. */
void dmp_cluster_abort(dmp_cluster_t *c);
/* With a pinned key and a base domain: takes the peers of the best verifying manifest stored at
 * cluster.<base> (restart recovery). DMP_ENOTFOUND when there is none. */
int dmp_cluster_peers_from_store(dmp_cluster_t *c);
/* Peers of a verified cluster manifest (node_id, http_endpoint with trailing '/' stripped;
 * nodes whose endpoint is not http(s) skipped). Returns the count written. */
size_t dmp_cluster_peers_from_manifest(const dmp_wire_cluster_t *m, dmp_cluster_peer_t *out,
                                       size_t cap);

/* Query parameters of a sync request, URL-decoded (NULL = absent). */
typedef struct {
    const char *cursor, *since, *limit;
} dmp_cluster_query_t;
/* True for the paths serve() answers. */
bool dmp_cluster_is_sync_path(const char *path);
/* Answers one sync request (rate limiting is the caller's job). reply->body is heap-owned:
 * dmp_cluster_reply_free. Returns 0 (reply filled) or DMP_ENOMEM. */
int dmp_cluster_serve(dmp_cluster_t *c, const char *method, const char *path,
                      const dmp_cluster_query_t *q, const char *authorization, const uint8_t *body,
                      size_t len, dmp_cluster_reply_t *reply);
void dmp_cluster_reply_free(dmp_cluster_reply_t *r);

#endif
