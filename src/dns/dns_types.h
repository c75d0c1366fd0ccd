/* dns: types of the authoritative query path (parser + answer builder). */
#ifndef DMP_DNS_TYPES_H
#define DMP_DNS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/util_types.h"

/* Module error codes (range -300..). */
enum {
    DMP_DNS_ENOSPACE = -300, /* reply does not fit the output buffer */
};

/* DNS constants used by callers (node metrics, net frontends). */
enum {
    DMP_DNS_HDR_LEN = 12,
    DMP_DNS_DEFAULT_EDNS_PAYLOAD = 1232,
    DMP_DNS_MIN_UDP = 512,
    DMP_DNS_MAX_MSG = 65535,
};

enum {
    DMP_DNS_T_A = 1,
    DMP_DNS_T_NS = 2,
    DMP_DNS_T_CNAME = 5,
    DMP_DNS_T_SOA = 6,
    DMP_DNS_T_PTR = 12,
    DMP_DNS_T_MX = 15,
    DMP_DNS_T_TXT = 16,
    DMP_DNS_T_AAAA = 28,
    DMP_DNS_T_SRV = 33,
    DMP_DNS_T_OPT = 41,
    DMP_DNS_T_DS = 43,
    DMP_DNS_T_RRSIG = 46,
    DMP_DNS_T_DNSKEY = 48,
    DMP_DNS_T_TKEY = 249,
    DMP_DNS_T_TSIG = 250,
    DMP_DNS_T_IXFR = 251,
    DMP_DNS_T_AXFR = 252,
    DMP_DNS_T_MAILB = 253,
    DMP_DNS_T_MAILA = 254,
    DMP_DNS_T_ANY = 255,
};

enum {
    DMP_DNS_C_IN = 1,
    DMP_DNS_C_CH = 3,
    DMP_DNS_C_NONE = 254,
    DMP_DNS_C_ANY = 255,
};

enum {
    DMP_DNS_RCODE_NOERROR = 0,
    DMP_DNS_RCODE_FORMERR = 1,
    DMP_DNS_RCODE_SERVFAIL = 2,
    DMP_DNS_RCODE_NXDOMAIN = 3,
    DMP_DNS_RCODE_NOTIMP = 4,
    DMP_DNS_RCODE_REFUSED = 5,
    DMP_DNS_RCODE_BADVERS = 16,   /* extended rcode, needs an OPT in the reply */
    DMP_DNS_RCODE_BADCOOKIE = 23, /* extended rcode (RFC 7873 8) */
};

/* EDNS option codes this module reads or writes. */
enum {
    DMP_DNS_OPT_NSID = 3,       /* RFC 5001 */
    DMP_DNS_OPT_COOKIE = 10,    /* RFC 7873 */
    DMP_DNS_OPT_KEEPALIVE = 11, /* RFC 7828 */
};

/* DNS Cookies (RFC 7873, server cookies as RFC 9018). */
enum {
    DMP_DNS_CLIENT_COOKIE_LEN = 8,
    DMP_DNS_SERVER_COOKIE_LEN = 16, /* the RFC 9018 layout this module writes */
    DMP_DNS_COOKIE_SECRET_LEN = 16, /* SipHash-2-4 key */
    DMP_DNS_NSID_MAX = 128,         /* longest NSID payload sent */
};

/* Server secrets: cookies are made with cur and accepted with cur or (when has_prev) prev, so a
 * rotation does not invalidate the cookies handed out just before it (RFC 9018 5). Secret: wipe
 * with sodium_memzero when done. */
typedef struct {
    uint8_t cur[DMP_DNS_COOKIE_SECRET_LEN];
    uint8_t prev[DMP_DNS_COOKIE_SECRET_LEN];
    bool has_prev;
} dmp_dns_cookie_secret_t;

/* What the query's COOKIE option was (for RRL exemption and metrics). */
typedef enum {
    DMP_DNS_COOKIE_NONE = 0,    /* no COOKIE option (or cookies are off) */
    DMP_DNS_COOKIE_CLIENT_ONLY, /* client cookie alone: the reply hands out a server cookie */
    DMP_DNS_COOKIE_INVALID,     /* a server cookie we did not make, or an expired one */
    DMP_DNS_COOKIE_VALID,       /* a server cookie we made, still valid: source is verified */
    DMP_DNS_COOKIE_MALFORMED,   /* option length not 8 or 16..40: FORMERR */
} dmp_dns_cookie_state_t;

enum {
    DMP_DNS_OPCODE_QUERY = 0,
    DMP_DNS_OPCODE_NOTIFY = 4,
    DMP_DNS_OPCODE_UPDATE = 5,
};

/* Served zone configuration. Plain value type, caller-owned, read-only during dmp_dns_respond.
 * Invariants expected by the responder: apex lowercase without trailing dot ("" = no served
 * zone: every name is answered as the reference does); ns / soa_rname dotted names without
 * trailing dot ("" = not configured). The SOA record exists when apex, ns and soa_rname are all
 * set. edns_payload: advertised UDP payload (0 means DMP_DNS_DEFAULT_EDNS_PAYLOAD; values under
 * 512 are raised to 512). */
typedef struct {
    char apex[256];
    uint32_t ttl;
    bool has_a;
    uint8_t a[4];
    bool has_aaaa;
    uint8_t aaaa[16];
    char ns[256];
    char soa_rname[256];
    uint32_t soa_serial;
    uint16_t edns_payload;
} dmp_dns_zone_t;

/* Precompiled answer RRs (wire form) whose owner is the pointer 0xC00C to the question name.
 * Borrowed: owned by the lookup's backing store and must stay valid until dmp_dns_respond
 * returns. count = number of RRs in rrs[0..len). */
typedef struct {
    const uint8_t *rrs;
    size_t len;
    uint16_t count;
    /* When set, every answer RR's TTL is lowered to ttl if it is higher (the records' remaining
     * lifetime, so caches never keep a record past its expiry). Zero-initialised: no clamp. */
    bool clamp_ttl;
    uint32_t ttl;
} dmp_dns_rrset_view_t;

/* Lookup callback. lname = lowercased dotted name without trailing dot (only names made of
 * LDH/underscore labels reach it; lname is NUL-terminated as well). Return 0 with count > 0
 * (TXT values), 0 with count == 0 (the name exists without TXT values, e.g. it has
 * descendants), DMP_ENOTFOUND (no such name), any other negative code -> SERVFAIL. */
typedef int (*dmp_dns_lookup_fn)(void *ctx, const char *lname, size_t lname_len,
                                 dmp_dns_rrset_view_t *out);

typedef enum {
    DMP_DNS_UDP = 0,
    DMP_DNS_TCP = 1,
} dmp_dns_transport_t;

/* What dmp_dns_respond did, for metrics and for the node's dispatch. */
typedef enum {
    DMP_DNS_OUT_ANSWERED = 0, /* NOERROR with answers */
    DMP_DNS_OUT_NODATA,       /* NOERROR, no answers */
    DMP_DNS_OUT_NXDOMAIN,
    DMP_DNS_OUT_REFUSED,
    DMP_DNS_OUT_FORMERR,
    DMP_DNS_OUT_NOTIMP,
    DMP_DNS_OUT_SERVFAIL,
    DMP_DNS_OUT_TRUNCATED, /* UDP answer did not fit: TC=1 stub sent */
    DMP_DNS_OUT_BADVERS,
    DMP_DNS_OUT_DROPPED,   /* nothing to send (QR=1, < 12 bytes, ...) */
    DMP_DNS_OUT_UPDATE,    /* opcode UPDATE: reply built is NOTIMP; node may dispatch instead */
    DMP_DNS_OUT_XFR,       /* AXFR/IXFR over TCP: reply built is NOTIMP; node may dispatch */
    DMP_DNS_OUT_BADCOOKIE, /* cookie required over UDP and no valid server cookie */
    DMP_DNS_OUT_COUNT_
} dmp_dns_outcome_t;

typedef struct {
    uint16_t qtype; /* 0 when no question could be parsed */
    uint8_t
        rcode; /* full (extended) rcode of the reply: 0..4095 truncated to 8 bits (16 = BADVERS) */
    int outcome; /* dmp_dns_outcome_t */
    int cookie;  /* dmp_dns_cookie_state_t of the query */
    /* For response rate limiting: dmp_dns_name_hash of the name the reply is about, as Knot's
     * mod-rrl picks it: the question name for answers, NODATA and truncations; the served zone's
     * apex ("" without one) for NXDOMAIN and errors, so a random-subdomain flood is one bucket.
     * 0 when no question could be parsed. */
    uint64_t rrl_name_hash;
} dmp_dns_result_t;

/* Per-query options of dmp_dns_respond_ex. Every pointer is borrowed for the call. A zeroed
 * struct behaves as dmp_dns_respond. */
typedef struct {
    const uint8_t *client_ip; /* 4 or 16 bytes (network order); NULL: no cookies answered */
    size_t client_ip_len;
    const dmp_dns_cookie_secret_t *cookie; /* NULL: COOKIE options are ignored */
    uint32_t now_s;                        /* wall-clock seconds (cookie timestamps) */
    bool cookie_required;         /* UDP queries with a client cookie but no valid server cookie
                                   * get BADCOOKIE (RFC 7873 5.2.3) */
    const uint8_t *nsid;          /* NSID payload (RFC 5001), sent only when asked; NULL: none */
    size_t nsid_len;              /* at most DMP_DNS_NSID_MAX (longer is cut) */
    uint16_t tcp_keepalive_100ms; /* RFC 7828 idle timeout in TCP answers to queries that carry
                                   * the option; 0: never sent */
} dmp_dns_opts_t;

/* One TXT value: raw bytes, borrowed. */
typedef struct {
    const uint8_t *data;
    size_t len;
} dmp_dns_value_t;

/* A parsed query (from dmp_dns_query_parse): views into the caller's packet plus the
 * lowercased name. Invariant after a successful parse: qname_wire[0..qname_wire_len) is the
 * uncompressed wire name as received (original case), lname[0..lname_len) its lowercased
 * dotted text (NUL-terminated; "" for the root). */
typedef struct {
    uint16_t id;
    uint16_t flags;
    uint16_t qtype;
    uint16_t qclass;
    const uint8_t *qname_wire;
    size_t qname_wire_len;
    size_t question_end; /* offset just past QCLASS */
    char lname[256];
    size_t lname_len;
    bool name_ldh; /* every label is LDH or underscore */
    /* EDNS */
    bool has_opt;
    uint16_t opt_payload;
    uint8_t opt_version;
    bool opt_do;
    const uint8_t *cookie; /* COOKIE option data inside the packet, NULL when absent */
    size_t cookie_len;     /* 8 (client cookie) or 16..40 when well-formed */
    bool want_nsid;        /* an NSID option was present */
    bool want_keepalive;   /* an edns-tcp-keepalive option was present */
} dmp_dns_query_t;

#endif
