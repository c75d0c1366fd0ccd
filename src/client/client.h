/* client: the message pipeline a sender and a receiver run (client.md §5.1-§5.3), independent of
 * the transport: the sender gets the records to publish, the receiver reads through a fetch
 * callback. */
#ifndef DMP_CLIENT_H
#define DMP_CLIENT_H

#include <sys/types.h>

#include "client/client_types.h"
#include "wire/wire_types.h"

/* Sender: header -> seal (AAD with the prekey id) -> outer DMPMessage -> erasure + chunk records
 * -> signed slot manifest. Appends n chunk records (chunk-NNNN-<key>.<zone>) and then the manifest
 * (slot-N.mb-<h>.<zone>) to out. */
int dmp_client_compose(const dmp_client_send_t *p, const uint8_t *msg, size_t len,
                       dmp_client_records_t *out);
void dmp_client_records_free(dmp_client_records_t *r);

/* Receiver: walks the ten mailbox slots, verifies each manifest addressed to self, fetches and
 * checks its chunks (only from the manifest's zone), erasure-decodes, opens and checks the inner
 * header against the manifest. Every delivered message is appended to *msgs (array grown with
 * realloc; *count updated). Undecodable or foreign manifests are skipped, not errors. */
int dmp_client_receive(dmp_client_recv_t *r, dmp_client_message_t **msgs, size_t *count);
void dmp_client_messages_free(dmp_client_message_t *msgs, size_t count);

/* dmp_client_fetch_fn over a dmp_client_memzone_t (ctx). */
int dmp_client_memzone_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n);

/* ---- config.yaml (config.c) and the config home (home.c) ---- */
void dmp_client_config_defaults(dmp_client_config_t *c);
void dmp_client_config_free(dmp_client_config_t *c);
/* Parses config.yaml bytes like the reference's CLIConfig.load (unknown keys ignored, nulls as
 * the reference reads them). Starts from the defaults; on error err names the problem. Never
 * reads past len. */
int dmp_client_config_parse(const uint8_t *buf, size_t len, dmp_client_config_t *c, char *err,
                            size_t errcap);
/* Every field, keys sorted, like yaml.safe_dump(asdict(cfg), sort_keys=True). Appends to out. */
int dmp_client_config_emit(const dmp_client_config_t *c, dmp_buf_t *out);
int dmp_client_config_add_resolver(dmp_client_config_t *c, const char *r);
dmp_client_contact_t *dmp_client_config_contact(dmp_client_config_t *c, const char *name);
/* Adds or replaces (same name) a contact. */
int dmp_client_config_contact_put(dmp_client_config_t *c, const dmp_client_contact_t *ct);
int dmp_client_config_load(const char *path, dmp_client_config_t *c, char *err, size_t errcap);
/* Written 0600 through a temp file and rename. */
int dmp_client_config_save(const char *path, const dmp_client_config_t *c);

/* $DMP_CONFIG_HOME or ~/.dmp; $DMP_TOKENS_HOME or ~/.dmp/tokens; <home>/<leaf>. */
int dmp_client_home_dir(char *out, size_t cap);
int dmp_client_tokens_dir(char *out, size_t cap);
int dmp_client_home_path(const char *leaf, char *out, size_t cap);
int dmp_client_mkdirs(const char *dir, mode_t mode);
int dmp_client_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Appends the file to out; DMP_ENOTFOUND when absent, DMP_ETOOBIG past max bytes. */
int dmp_client_read_file(const char *path, size_t max, dmp_buf_t *out);

/* ---- local databases (db.c: SQLite, the reference's schemas) ---- */
void dmp_client_db_close(void *db);
/* prekeys.db: user_version 2; a newer version is refused (DMP_EVERSION). */
int dmp_client_prekeys_open(const char *path, void **db);
int dmp_client_prekeys_add(void *db, uint32_t id, const uint8_t sk[32], const uint8_t pk[32],
                           int64_t exp, int64_t now);
int dmp_client_prekeys_exists(void *db, uint32_t id, bool *exists);
int dmp_client_prekeys_set_wire(void *db, uint32_t id, const char *wire);
/* sk of a live (exp > now) prekey and its published wire (may be ""); DMP_ENOTFOUND else. */
int dmp_client_prekeys_get(void *db, uint32_t id, int64_t now, uint8_t sk[32], char *wire,
                           size_t wcap);
int dmp_client_prekeys_consume(void *db, uint32_t id);
int dmp_client_prekeys_count_live(void *db, int64_t now, int64_t *count);
/* intros.db: user_version 1. add: DMP_EDUP when queued already, DMP_EAUTH when denylisted. */
int dmp_client_intros_open(const char *path, void **db);
int dmp_client_intros_add(void *db, const dmp_client_intro_t *in);
int dmp_client_intros_list(void *db, dmp_client_intro_t **out, size_t *n); /* newest first */
int dmp_client_intros_get(void *db, int64_t id, dmp_client_intro_t *out);
int dmp_client_intros_has(void *db, const uint8_t spk[32], const uint8_t msg_id[16], bool *has);
int dmp_client_intros_remove(void *db, int64_t id);
int dmp_client_intros_block(void *db, const uint8_t spk[32], const char *note, int64_t now);
int dmp_client_intros_denied(void *db, const uint8_t spk[32], bool *denied);
void dmp_client_intros_free(dmp_client_intro_t *v, size_t n);

/* ---- replay cache (replay.c) ---- */
int dmp_client_replay_load(dmp_client_replay_t *r, const char *path, int64_t now);
void dmp_client_replay_free(dmp_client_replay_t *r);
bool dmp_client_replay_seen(const dmp_client_replay_t *r, const uint8_t spk[32],
                            const uint8_t msg_id[16], int64_t now);
int dmp_client_replay_add(dmp_client_replay_t *r, const uint8_t spk[32], const uint8_t msg_id[16],
                          int64_t exp, int64_t now);
int dmp_client_replay_save(const dmp_client_replay_t *r, int64_t now);

/* ---- tokens (tokens.c) ---- */
/* Sanitized token-file host (strip, dots, lowercase, [a-z0-9.-]); DMP_ENAME when unsafe. */
int dmp_client_token_host(const char *in, char *out, size_t cap);
/* Lowercased host of an endpoint URL (no scheme, port, userinfo or path). */
int dmp_client_endpoint_host(const char *endpoint, char *out, size_t cap);
int dmp_client_token_save(const char *host, const char *subject, const char *token,
                          int64_t expires_at, const char *registered_spk, int64_t now);
int dmp_client_token_for_host(const char *host, int64_t now, char *out, size_t cap);
int dmp_client_token_forget(const char *host);

/* ---- session (session.c) ---- */
int64_t dmp_client_now(const dmp_client_session_t *s);
void dmp_client_session_init(dmp_client_session_t *s);
void dmp_client_session_free(dmp_client_session_t *s);
bool dmp_client_cluster_pinned(const dmp_client_config_t *c);
/* Loads config.yaml from the config home; s->err says why not. */
int dmp_client_session_load(dmp_client_session_t *s);
int dmp_client_session_save(dmp_client_session_t *s);
int dmp_client_passphrase(const dmp_client_config_t *c, char *out, size_t cap);
int dmp_client_derive(const dmp_client_config_t *c, const char *pass, dmp_crypto_identity_t *id);
/* Passphrase -> identity; the verify_pubkey tripwire (DMP_EAUTH on mismatch). */
int dmp_client_session_identity(dmp_client_session_t *s);
int dmp_client_session_reader(dmp_client_session_t *s);
int dmp_client_session_writer(dmp_client_session_t *s);
int dmp_client_session_net(dmp_client_session_t *s, bool write);
int dmp_client_session_dbs(dmp_client_session_t *s);
int dmp_client_cluster_fetch(dmp_client_session_t *s, dmp_wire_cluster_t *m, char *wire,
                             size_t wcap);
int dmp_client_cluster_open(dmp_client_session_t *s);
int dmp_client_query(dmp_client_session_t *s, const char *name, dmp_client_txtset_t *out);
int dmp_client_session_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n);
int dmp_client_publish(dmp_client_session_t *s, const dmp_client_record_t *recs, size_t n, bool *ok,
                       dmp_client_http_result_t *res);
int dmp_client_publish_one(dmp_client_session_t *s, const char *name, const char *value,
                           uint32_t ttl, dmp_client_http_result_t *res);
int dmp_client_delete(dmp_client_session_t *s, const char *name, const char *value);

/* ---- keys (keys.c): identities, rotation chain, prekeys ---- */
void dmp_client_contact_names(const dmp_client_session_t *s, const dmp_client_contact_t *c,
                              char *user, size_t ucap, char *host, size_t hcap);
int dmp_client_rotation_head(dmp_client_session_t *s, const uint8_t pinned[32], const char *user,
                             const char *host, uint8_t head[32]);
int dmp_client_identity_lookup(dmp_client_session_t *s, const char *user, const char *host,
                               bool zone_first, bool match_user, dmp_wire_identity_t **out,
                               size_t *n, char *name, size_t ncap);
int dmp_client_identity_filter(dmp_client_session_t *s, const char *user, const char *host,
                               dmp_wire_identity_t *recs, size_t *n);
int dmp_client_pick_prekey(dmp_client_session_t *s, const char *user, const char *host,
                           const uint8_t spk[32], uint32_t *id, uint8_t pk[32]);
int dmp_client_refresh_prekeys(dmp_client_session_t *s, unsigned count, uint32_t ttl,
                               unsigned *published, dmp_client_http_result_t *last_fail);

bool dmp_client_own_address(const dmp_client_session_t *s, char *out, size_t cap);
bool dmp_client_recipient_v2(dmp_client_session_t *s, const char *user, const char *host,
                             const uint8_t spk[32]);
void dmp_client_verify_label(dmp_client_session_t *s, const char *claimed, const uint8_t spk[32],
                             char *out, size_t cap);

/* ---- send / receive (send.c, recv.c) ---- */
size_t dmp_client_max_message_for_cap(size_t cap);
int dmp_client_find_contact(dmp_client_session_t *s, const char *recipient,
                            dmp_client_contact_t **out);
/* 0 sent; DMP_ENOTFOUND unknown contact; DMP_EIO the node refused/unreachable (s->err). */
int dmp_client_send(dmp_client_session_t *s, const char *recipient, const uint8_t *msg, size_t len,
                    dmp_client_send_report_t *rep);
int dmp_client_recv(dmp_client_session_t *s, bool primary_only, bool skip_primary,
                    dmp_client_message_t **msgs, size_t *count, dmp_client_recv_stats_t *st);

/* ---- first-contact claims (claims.c) ---- */
/* claim_provider_override alone when set; else up to three providers from the home node's seen
 * feed, then the built-in seed (dmp.dnsmesh.io) unless it opted out or
 * DNSMESH_NO_DEFAULT_PROVIDER=1. Deduplicated by endpoint. */
size_t dmp_client_claim_providers(dmp_client_session_t *s, dmp_client_provider_t *out, size_t cap);
int dmp_client_publish_claim(dmp_client_session_t *s, const dmp_client_provider_t *p,
                             const uint8_t recipient_id[32], const uint8_t msg_id[16],
                             unsigned slot, int64_t now, uint32_t ttl);
int dmp_client_recv_claims(dmp_client_session_t *s, const char *zone,
                           bool (*pinned)(dmp_client_session_t *, const uint8_t *, const char *),
                           dmp_client_message_t **msgs, size_t *count, unsigned *intros,
                           dmp_client_recv_stats_t *st);
/* After a delivery (or an intro): consume the one-time prekey, record the replay entry. */
void dmp_client_recv_finalize(dmp_client_session_t *s, const dmp_client_message_t *m, int64_t now);

/* ---- DNS reads (dns_client.c) ---- */
void dmp_client_txtset_init(dmp_client_txtset_t *s);
void dmp_client_txtset_clear(dmp_client_txtset_t *s);
void dmp_client_txtset_free(dmp_client_txtset_t *s);
/* Adds one value unless an equal one is present (union semantics). */
int dmp_client_txtset_add(dmp_client_txtset_t *s, const uint8_t *p, size_t len);

/* Parses one DNS answer to a TXT query for qname with this id: on 0, the TXT RRs owned by qname
 * (case-insensitive) are added to out, each RR's strings joined; *tc set (nothing added) when
 * truncated; *rcode the answer's rcode. DMP_EMISMATCH for another id/question, DMP_EAUTH when
 * need_ad and the AD bit is clear, DMP_EFORMAT on malformed input. Never reads past len. */
int dmp_client_dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *qname,
                                bool need_ad, dmp_client_txtset_t *out, bool *tc, int *rcode);

/* "ip", "ip:port", "[v6]" or "[v6]:port" -> host literal and port (default_port when absent). */
int dmp_client_resolver_parse(const char *spec, uint16_t default_port, char *host, size_t hcap,
                              uint16_t *port);
void dmp_client_dns_init(dmp_client_dns_t *d); /* timeouts 5 s / 10 s, cooldown 60 s */
void dmp_client_dns_free(dmp_client_dns_t *d);
int dmp_client_dns_add(dmp_client_dns_t *d, const char *spec, uint16_t default_port);
/* TXT values at name: 0 with out->n > 0; DMP_ENOTFOUND when every upstream that answered had
 * none; DMP_EIO when no upstream answered. */
int dmp_client_dns_txt(dmp_client_dns_t *d, const char *name, dmp_client_txtset_t *out);
/* dmp_client_fetch_fn over a dmp_client_dns_t (ctx); values live until the next call. */
int dmp_client_dns_fetch(void *ctx, const char *name, const dmp_client_txt_t **vals, size_t *n);

/* One query/response with server ("ip", "ip:port", "[v6]:port"): UDP, TCP when truncated. */
int dmp_client_dns_exchange(const char *server, uint16_t default_port, const uint8_t *q,
                            size_t qlen, uint8_t *resp, size_t cap, size_t *rlen, int timeout_ms);
/* One raw exchange for probes and tests: the query bytes as given; UDP takes the first datagram
 * (no retransmission); DMP_EAGAIN on timeout; over TCP DMP_ENOTFOUND when the server closed
 * without answering, DMP_ETOOBIG when the answer exceeds cap. */
int dmp_client_dns_raw(const char *server, bool tcp, const uint8_t *q, size_t qlen, uint8_t *resp,
                       size_t cap, size_t *rlen, int timeout_ms);
/* RFC 2136 UPDATE adding (or, with del, deleting) one TXT value at name in zone; the value is
 * split into <= 255-byte character-strings of one RR (client.md §9.1). Signed with TSIG when
 * tsig_name and tsig_b64 (base64 secret) are given. *out is malloc'd. */
int dmp_client_update_build(const char *zone, const char *name, const char *value, size_t vlen,
                            uint32_t ttl, bool del, const char *tsig_name, const char *tsig_b64,
                            const char *tsig_alg, uint8_t **out, size_t *outlen);
int dmp_client_update_send(const char *server, uint16_t port, const uint8_t *q, size_t qlen,
                           int timeout_ms, int *rcode);

/* ---- HTTP writer (http_client.c) ---- */
/* strip, drop trailing '/', prepend https:// without a scheme (the reference's rule). */
int dmp_client_endpoint_normalize(const char *in, char *out, size_t cap);
int dmp_client_http_init(dmp_client_http_t *h, const char *endpoint, const char *token,
                         unsigned conns);
void dmp_client_http_free(dmp_client_http_t *h);
/* POSTs every record (JSON {value, ttl}) concurrently; res[i] = outcome of recs[i] (201 = ok). */
int dmp_client_http_publish(dmp_client_http_t *h, const dmp_client_record_t *recs, size_t n,
                            dmp_client_http_result_t *res);
/* DELETE /v1/records/<name>, with {"value"} when value != NULL (204 = ok). */
int dmp_client_http_delete(dmp_client_http_t *h, const char *name, const char *value,
                           dmp_client_http_result_t *res);
/* Any request: headers are extra "Name: value\r\n" lines (may be NULL), body may be binary or
 * NULL; *status 0 when no HTTP answer came. Appends the response body to resp (may be NULL). */
int dmp_client_http_raw(dmp_client_http_t *h, const char *method, const char *path,
                        const char *headers, const uint8_t *body, size_t len, int *status,
                        dmp_buf_t *resp);
/* One request (GET when json_body is NULL and method is "GET"); appends the body to resp. */
int dmp_client_http_request(dmp_client_http_t *h, const char *method, const char *path,
                            const char *json_body, int *status, dmp_buf_t *resp);

#endif
