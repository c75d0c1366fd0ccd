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

#endif
