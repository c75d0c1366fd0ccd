/* dns: fast authoritative query parser and answer builder (no malloc on the query path). */
#ifndef DMP_DNS_H
#define DMP_DNS_H

#include "dns/dns_types.h"

/* Build the reply to query q into out (cap bytes; 65535 or at least 512 is sensible). *out_len
 * = 0 means send nothing. Never fails on hostile input (hostile -> outcome FORMERR or DROPPED);
 * returns DMP_EINVAL only for bad arguments (NULL pointers). res may be NULL. No allocation.
 * The lookup is called at most once, only for names inside the served zone that are not
 * answered from the zone configuration alone. See docs/dns.md for the behaviour. */
int dmp_dns_respond(const dmp_dns_zone_t *z, const uint8_t *q, size_t qlen, dmp_dns_transport_t t,
                    dmp_dns_lookup_fn lookup, void *ctx, uint8_t *out, size_t cap, size_t *out_len,
                    dmp_dns_result_t *res);

/* dmp_dns_respond with per-query options (client address for DNS Cookies, NSID, TCP
 * keepalive; see dmp_dns_opts_t). opts may be NULL (same as dmp_dns_respond). res->cookie says
 * what the query's COOKIE option was. */
int dmp_dns_respond_ex(const dmp_dns_zone_t *z, const dmp_dns_opts_t *opts, const uint8_t *q,
                       size_t qlen, dmp_dns_transport_t t, dmp_dns_lookup_fn lookup, void *ctx,
                       uint8_t *out, size_t cap, size_t *out_len, dmp_dns_result_t *res);

/* DNS Cookies (cookie.c). Server cookie for a client cookie and address (4 or 16 bytes), made
 * with s->cur at now_s (RFC 9018 layout). */
int dmp_dns_cookie_make(const dmp_dns_cookie_secret_t *s, const uint8_t client[8],
                        const uint8_t *ip, size_t ip_len, uint32_t now_s,
                        uint8_t out[DMP_DNS_SERVER_COOKIE_LEN]);
/* Check a COOKIE option (client + server cookie, opt_len bytes) from ip: 0 when the server
 * cookie is ours (current or previous secret) and not expired; then *refresh says whether a new
 * one should be handed out. DMP_EMISMATCH (not our length), DMP_EVERSION, DMP_EEXPIRED,
 * DMP_EAUTH (hash does not match). Constant-time in the secret. */
int dmp_dns_cookie_check(const dmp_dns_cookie_secret_t *s, const uint8_t *opt, size_t opt_len,
                         const uint8_t *ip, size_t ip_len, uint32_t now_s, bool *refresh);
/* Secret for rotation epoch `epoch`: keyed BLAKE2b of the epoch under a 32-byte master key, so
 * every thread (and every node of an anycast fleet sharing the master) derives the same secret
 * without talking. */
int dmp_dns_cookie_secret_derive(const uint8_t master[32], uint64_t epoch,
                                 uint8_t out[DMP_DNS_COOKIE_SECRET_LEN]);
/* cur = secret of epoch now_s / rotate_s, prev = the epoch before. */
int dmp_dns_cookie_secret_at(const uint8_t master[32], uint64_t now_s, uint64_t rotate_s,
                             dmp_dns_cookie_secret_t *out);

/* Append the precompiled answer RRs for a set of TXT values (owner 0xC00C, class IN, given
 * TTL) to out: one RR per value, each value split into 255-byte character-strings (an empty
 * value is one empty string). DMP_ETOOBIG when one RR's RDATA would exceed 65535 bytes. */
int dmp_dns_txt_rrs_build(const dmp_dns_value_t *vals, size_t n, uint32_t ttl, dmp_buf_t *out);

/* Hash of the lowercased dotted name (no trailing dot). Seedless, stable across processes. */
uint64_t dmp_dns_name_hash(const char *lname, size_t len);

/* Routing: hash of the lowercased query name straight from the raw packet; equals
 * dmp_dns_name_hash() of the lowercased dotted name. DMP_EFORMAT when there is no routable
 * question (short packet, qdcount == 0, bad name). */
int dmp_dns_query_route(const uint8_t *q, size_t qlen, uint64_t *hash);

/* RRL slip: minimal reply to q with TC=1 (header + question, no answers, QR=1 AA=1, RD copied).
 * *out_len = 0 when q isn't a parseable query. */
int dmp_dns_tc_stub(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, size_t *out_len);

/* Parse the header, question and OPT of a query. 0 on success; DMP_ETRUNC when shorter than a
 * header; DMP_EFORMAT for malformed question/additional; DMP_EUNSUPPORTED when qdcount != 1. */
int dmp_dns_query_parse(const uint8_t *q, size_t qlen, dmp_dns_query_t *out);

/* Wire name (uncompressed, at most 255 bytes) -> dotted text without trailing dot ("" for
 * root), optionally lowercased. Labels are copied verbatim (no escaping). DMP_ENAME / DMP_ETOOBIG.
 * *consumed = wire bytes read. */
int dmp_dns_name_to_text(const uint8_t *wire, size_t len, bool lower, char *out, size_t cap,
                         size_t *out_len, size_t *consumed);

/* Dotted text (optional trailing dot, no escapes) -> uncompressed wire name. DMP_ENAME for empty
 * labels, labels > 63 or names > 255 wire bytes. */
int dmp_dns_name_from_text(const char *name, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Metric labels: never NULL ("unknown" / "TYPE<n>" style strings for unknown values; qtype
 * names of unknown types are "other"). */
const char *dmp_dns_outcome_name(int outcome);
const char *dmp_dns_qtype_name(uint16_t qtype);
const char *dmp_dns_rcode_name(int rcode);

const char *dmp_dns_strerror(int err);

/* ---- whole-message walking (msg.c) ---- */

/* Reads the (possibly compressed) name at off into out (uncompressed wire, case as sent, at
 * most 255 bytes). Pointers must point before the run of labels they end, so no loops.
 * *next = offset just past the name where it started. DMP_EFORMAT on anything malformed. */
int dmp_dns_msg_name(const uint8_t *m, size_t len, size_t off, uint8_t *out, size_t *out_len,
                     size_t *next);

/* Reads one RR (question = a question/zone entry: name, type, class only) at off. */
int dmp_dns_rr_read(const uint8_t *m, size_t len, size_t off, bool question, dmp_dns_rr_t *rr);

/* Uncompressed wire name -> lowercased dotted text without trailing dot (cap includes the NUL).
 * *ldh (optional) = every byte is a letter, digit, '-' or '_'. */
int dmp_dns_wire_name_text(const uint8_t *wire, size_t wlen, char *out, size_t cap, size_t *out_len,
                           bool *ldh);

/* name is zone or below it (both lowercased dotted text; zone "" contains everything). */
bool dmp_dns_name_in_zone(const char *name, size_t nlen, const char *zone, size_t zlen);

/* Strict UTF-8 as Python's decode("utf-8"): no overlongs, surrogates or code points > U+10FFFF. */
bool dmp_dns_utf8_valid(const uint8_t *p, size_t n);

/* ---- TSIG, RFC 8945 (tsig.c) ---- */

/* "hmac-sha256", ...; hmac-md5 is "hmac-md5.sig-alg.reg.int". */
const char *dmp_tsig_alg_name(dmp_tsig_alg_t alg);
size_t dmp_tsig_alg_mac_len(dmp_tsig_alg_t alg);
/* Case-insensitive, optional trailing dot; "hmac-md5" is accepted as an alias (key files).
 * DMP_EUNSUPPORTED (and *out = UNKNOWN) for anything else. */
int dmp_tsig_alg_parse(const char *s, size_t len, dmp_tsig_alg_t *out);
void dmp_tsig_key_wipe(dmp_tsig_key_t *k);
void dmp_tsig_state_wipe(dmp_tsig_state_t *st);

/* Finds the TSIG RR. 0 = found and parsed; DMP_ENOTFOUND = none; DMP_EFORMAT = the message
 * does not walk, a TSIG RR is not the last additional record, has class != ANY or TTL != 0,
 * bytes follow it, or its RDATA is malformed. */
int dmp_tsig_find(const uint8_t *m, size_t len, dmp_tsig_rr_t *out);

/* Server-side verification (RFC 8945 §5.2) of request m at time now_s: key check (BADKEY also
 * when the algorithm is not the key's), MAC size rules (§5.2.2.1), MAC (BADSIG), time with the
 * request's fudge (BADTIME). Result in st->status (see dmp_tsig_status_t). Returns 0, or
 * DMP_EIO when the key lookup failed (answer SERVFAIL). Wipe st with dmp_tsig_state_wipe. */
int dmp_tsig_verify_request(const uint8_t *m, size_t len, int64_t now_s,
                            dmp_tsig_key_lookup_fn lookup, void *ctx, dmp_tsig_state_t *st);

/* Appends a TSIG RR signed with key to the message m[0..*len) (cap bytes) and bumps ARCOUNT.
 * req_mac != NULL: a response, the MAC covers (size, request MAC) first (RFC 8945 §4.3.1).
 * time_signed is truncated to 48 bits. Used for requests (tests, bench) and replies. */
int dmp_tsig_sign(uint8_t *m, size_t *len, size_t cap, const dmp_tsig_key_t *key,
                  const uint8_t *req_mac, size_t req_mac_len, uint64_t time_signed, uint16_t fudge,
                  uint16_t error, const uint8_t *other, uint16_t other_len);

/* A message after the first of a multi-message answer (zone transfer, RFC 8945 §5.3.1): appends
 * a TSIG RR whose MAC covers the prior message's MAC, this message and the timers; *out_mac
 * receives it (the next message's prior MAC). */
int dmp_tsig_sign_next(uint8_t *m, size_t *len, size_t cap, const dmp_tsig_key_t *key,
                       const uint8_t *prior_mac, size_t prior_len, uint64_t time_signed,
                       uint16_t fudge, uint8_t out_mac[DMP_TSIG_MAX_MAC], size_t *out_mac_len);

/* Completes the reply m[0..*len) as st requires: OK -> signed (time now, fudge 300, chained to
 * the request MAC); BAD_SIGNED (BADTIME) -> signed, Time Signed of the request, Other Data =
 * now; BAD_UNSIGNED (BADKEY/BADSIG) -> unsigned TSIG RR (MAC size 0) with the error; NONE and
 * FORMERR -> nothing appended. */
int dmp_tsig_reply_finish(const dmp_tsig_state_t *st, int64_t now_s, uint8_t *m, size_t *len,
                          size_t cap);

/* The whole answer to a request that failed TSIG (st->status FORMERR, BAD_UNSIGNED or
 * BAD_SIGNED): header (ID, QR, opcode), the question/zone entry when it parses, rcode FORMERR
 * or NOTAUTH, and the TSIG RR as dmp_tsig_reply_finish adds it. *out_len = 0: send nothing. */
int dmp_tsig_error_reply(const uint8_t *req, size_t len, const dmp_tsig_state_t *st, int64_t now_s,
                         uint8_t *out, size_t cap, size_t *out_len);

/* ---- UPDATE, RFC 2136 (update.c) ---- */

/* Parses UPDATE m against the served zone (lowercased, no trailing dot; "" = none, every zone
 * is NOTAUTH) and the caps. Returns 0 with u->rcode set: NOERROR (ops and prereqs ready),
 * FORMERR, NOTAUTH, NOTZONE or REFUSED (cap exceeded, or an add of a type other than TXT or at
 * a name with bytes other than LDH/underscore). DMP_EFORMAT: shorter than a header or QR=1
 * (send nothing); DMP_ENOMEM. Always free u with dmp_dns_update_free. */
int dmp_dns_update_parse(const uint8_t *m, size_t len, const char *zone,
                         const dmp_upd_limits_t *lim, dmp_dns_update_t *u);
void dmp_dns_update_free(dmp_dns_update_t *u);
/* Bytes of a value stored at off in u->values (op->value_off / prq->value_off). */
const uint8_t *dmp_dns_update_value(const dmp_dns_update_t *u, size_t off);

/* Evaluates the prerequisites (RFC 2136 §3.2) with fn giving the node's view of each name.
 * *rcode = NOERROR or the RFC's NXDOMAIN / YXDOMAIN / NXRRSET / YXRRSET. Returns fn's error. */
int dmp_dns_update_prereqs(const dmp_dns_update_t *u, dmp_upd_name_fn fn, void *ctx,
                           uint8_t *rcode);

/* Reply to an UPDATE: header (ID, QR, opcode 5, rcode) and the zone entry when it parsed. The
 * caller appends TSIG with dmp_tsig_reply_finish. u may be NULL (no zone echoed). */
int dmp_dns_update_reply(const dmp_dns_update_t *u, const uint8_t *req, size_t len, uint8_t rcode,
                         uint8_t *out, size_t cap, size_t *out_len);

/* Builds an unsigned UPDATE for zone with the given ops (values at values + op->value_off),
 * appended to out. For tests, the bench and clients. */
int dmp_dns_update_build(uint16_t id, const char *zone, const dmp_upd_op_t *ops, size_t n,
                         const uint8_t *values, dmp_buf_t *out);

/* ---- zone transfers (xfr.c) ---- */
/* Parses an AXFR/IXFR query (opcode QUERY, one question; an IXFR's authority SOA gives the
 * client's serial). DMP_ENOTFOUND when it is another query type; DMP_EFORMAT when malformed. */
int dmp_dns_xfr_query_parse(const uint8_t *m, size_t len, dmp_dns_xfr_query_t *out);
/* Starts a reply message: header (id, QR AA, rcode), the question copied from q[12..question_end).
 */
int dmp_dns_xfr_msg_begin(dmp_dns_xfr_msg_t *w, const uint8_t *q, size_t question_end, uint16_t id,
                          uint8_t rcode);
/* Appends one answer RR (class IN, owner as uncompressed wire). DMP_ETOOBIG when the message is
 * full: send it, begin the next and add the RR there. */
int dmp_dns_xfr_msg_rr(dmp_dns_xfr_msg_t *w, const uint8_t *owner, size_t owner_len, uint16_t type,
                       uint32_t ttl, const uint8_t *rdata, size_t rdlen);
/* SOA RDATA (uncompressed names) into out (cap >= 530). */
int dmp_dns_soa_rdata(const char *mname, const char *rname, uint32_t serial, uint32_t refresh,
                      uint32_t retry, uint32_t expire, uint32_t minimum, uint8_t *out, size_t cap,
                      size_t *out_len);
/* NOTIFY (RFC 1996): opcode 4, AA, question <zone> SOA IN. */
int dmp_dns_notify_build(uint16_t id, const char *zone, uint8_t *out, size_t cap, size_t *out_len);

#endif
