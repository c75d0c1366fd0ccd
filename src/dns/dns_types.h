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

/* ---------------------------------------------------------------------------------------- */
/* Generic message walking, TSIG (RFC 8945) and UPDATE (RFC 2136): src/dns/msg.c, tsig.c,     */
/* update.c. See docs/dns.md "UPDATE and TSIG".                                                */

/* Further rcodes used by UPDATE and TSIG (RFC 2136 §2.2, RFC 8945 §3). */
enum {
    DMP_DNS_RCODE_YXDOMAIN = 6,
    DMP_DNS_RCODE_YXRRSET = 7,
    DMP_DNS_RCODE_NXRRSET = 8,
    DMP_DNS_RCODE_NOTAUTH = 9,
    DMP_DNS_RCODE_NOTZONE = 10,
};

/* TSIG error field values (RFC 8945 §3). */
enum {
    DMP_TSIG_ERR_NONE = 0,
    DMP_TSIG_ERR_BADSIG = 16,
    DMP_TSIG_ERR_BADKEY = 17,
    DMP_TSIG_ERR_BADTIME = 18,
    DMP_TSIG_ERR_BADTRUNC = 22,
};

/* One resource record read out of a message (dmp_dns_rr_read). The owner is decompressed and
 * stored uncompressed; rdata is a view into the message (names inside rdata are not expanded).
 * Invariant: rdata_off + rdlen <= message length; next = offset just past the RR. */
typedef struct {
    uint8_t owner[255]; /* uncompressed wire name, case as sent */
    size_t owner_len;
    size_t start; /* offset of the RR's first owner byte */
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlen;
    size_t rdata_off;
    size_t next;
} dmp_dns_rr_t;

/* HMAC algorithms TSIG knows (RFC 8945 §6). */
typedef enum {
    DMP_TSIG_ALG_UNKNOWN = 0,
    DMP_TSIG_HMAC_MD5,
    DMP_TSIG_HMAC_SHA1,
    DMP_TSIG_HMAC_SHA224,
    DMP_TSIG_HMAC_SHA256,
    DMP_TSIG_HMAC_SHA384,
    DMP_TSIG_HMAC_SHA512,
} dmp_tsig_alg_t;

enum {
    DMP_TSIG_MAX_MAC = 64,     /* SHA-512 */
    DMP_TSIG_MAX_SECRET = 256, /* longer secrets are refused by the keystore */
    DMP_TSIG_DEFAULT_FUDGE = 300,
};

/* A TSIG key. Owns its secret bytes (wipe with dmp_tsig_key_wipe). name: lowercased dotted,
 * no trailing dot. */
typedef struct {
    char name[256];
    dmp_tsig_alg_t alg;
    uint8_t secret[DMP_TSIG_MAX_SECRET];
    size_t secret_len;
} dmp_tsig_key_t;

/* Key lookup for verification: lname is the lowercased dotted key name without trailing dot.
 * Fill *out and return 0, DMP_ENOTFOUND for an unknown (or inactive) key, any other negative
 * code for a storage error (the verifier then reports DMP_EIO to its caller). */
typedef int (*dmp_tsig_key_lookup_fn)(void *ctx, const char *lname, dmp_tsig_key_t *out);

/* The TSIG RR of a message (views into the message). */
typedef struct {
    size_t rr_off; /* offset of the TSIG RR: the signed message is [0, rr_off) */
    size_t rr_end;
    char key_name[256]; /* lowercased dotted, no trailing dot */
    uint8_t key_wire[255];
    size_t key_wire_len; /* canonical (lowercased, uncompressed) wire form */
    uint8_t alg_wire[255];
    size_t alg_wire_len; /* canonical (lowercased, uncompressed) wire form */
    dmp_tsig_alg_t alg;  /* DMP_TSIG_ALG_UNKNOWN if the algorithm name is not one we know */
    uint64_t time_signed;
    uint16_t fudge;
    uint16_t mac_len;
    const uint8_t *mac;
    uint16_t orig_id;
    uint16_t error;
    uint16_t other_len;
    const uint8_t *other;
} dmp_tsig_rr_t;

/* Outcome of server-side verification (dmp_tsig_verify_request). */
typedef enum {
    DMP_TSIG_NONE = 0,     /* no TSIG RR: an anonymous message */
    DMP_TSIG_OK,           /* verified: sign the reply with key and rr.mac */
    DMP_TSIG_FORMERR,      /* misplaced / malformed TSIG or forbidden MAC size: FORMERR, unsigned */
    DMP_TSIG_BAD_UNSIGNED, /* BADKEY / BADSIG: NOTAUTH with an unsigned TSIG error RR */
    DMP_TSIG_BAD_SIGNED,   /* BADTIME: NOTAUTH with a TSIG error RR signed by the key */
} dmp_tsig_status_t;

/* Verification state: the parsed RR, the key (secret copied; wipe with dmp_tsig_state_wipe),
 * the status and the TSIG error to report. */
typedef struct {
    dmp_tsig_status_t status;
    uint16_t error; /* DMP_TSIG_ERR_* for the reply's TSIG RR */
    dmp_tsig_rr_t rr;
    dmp_tsig_key_t key; /* valid for OK and BAD_SIGNED */
    uint8_t req_mac[DMP_TSIG_MAX_MAC];
    uint16_t req_mac_len; /* request MAC as received (possibly truncated) for chaining */
} dmp_tsig_state_t;

/* ---- UPDATE (RFC 2136) ---- */

typedef enum {
    DMP_UPD_ADD = 0,   /* add TXT value (class IN) */
    DMP_UPD_DEL_VALUE, /* delete one TXT value (class NONE) */
    DMP_UPD_DEL_RRSET, /* delete the TXT RRset (class ANY, type TXT) */
    DMP_UPD_DEL_NAME,  /* delete all RRsets at the name (class ANY, type ANY) */
    DMP_UPD_NOOP,      /* delete of a type we never store: nothing to do (RFC 2136 §3.4.2.3) */
} dmp_upd_kind_t;

/* One change of an UPDATE, in wire order. owner: lowercased dotted, no trailing dot. value:
 * the joined character-strings (value_off/value_len into dmp_dns_update_t.values). */
typedef struct {
    dmp_upd_kind_t kind;
    char owner[254];
    size_t owner_len;
    uint32_t ttl; /* adds: the RR TTL (0 becomes 60 as the reference) */
    size_t value_off;
    size_t value_len;
} dmp_upd_op_t;

/* RFC 2136 §2.4 prerequisite kinds. */
typedef enum {
    DMP_PRQ_NAME_IN_USE = 0,   /* ANY ANY */
    DMP_PRQ_NAME_NOT_IN_USE,   /* NONE ANY */
    DMP_PRQ_RRSET_EXISTS,      /* ANY type */
    DMP_PRQ_RRSET_NOT_EXISTS,  /* NONE type */
    DMP_PRQ_RRSET_EXISTS_VALUE /* IN type + rdata: the RRs with the same name and type form one
                                  set that must equal the stored RRset */
} dmp_prq_kind_t;

typedef struct {
    dmp_prq_kind_t kind;
    char owner[254];
    size_t owner_len;
    uint16_t type;
    size_t value_off; /* RRSET_EXISTS_VALUE with type TXT: the joined value */
    size_t value_len;
} dmp_prq_t;

/* Caps applied while parsing (0 = no cap), as node.md §2.5 step 6. */
typedef struct {
    uint32_t max_value_bytes;
    uint32_t max_ttl;
} dmp_upd_limits_t;

/* A parsed UPDATE. Owns ops, prereqs and values (free with dmp_dns_update_free). rcode is what
 * the parse decided (NOERROR = the ops are well-formed and may be authorised and applied). */
typedef struct {
    uint16_t id;
    uint16_t flags;
    uint8_t rcode;
    bool zone_ok;           /* the zone section parsed (it is echoed in the reply) */
    size_t zone_end;        /* offset just past the zone section */
    uint8_t zone_wire[255]; /* the zone name as sent (uncompressed), echoed in the reply */
    size_t zone_wire_len;
    uint16_t zone_class;
    char zone[254]; /* lowercased, no trailing dot */
    size_t zone_len;
    dmp_upd_op_t *ops;
    size_t n_ops;
    dmp_prq_t *prqs;
    size_t n_prqs;
    dmp_buf_t values;
} dmp_dns_update_t;

/* What the node knows about a name, for prerequisite checks: the TXT values (borrowed until the
 * next call) and whether the name exists at all (values, descendants or apex records). */
typedef struct {
    bool exists;
    const dmp_dns_value_t *txt;
    size_t n_txt;
    bool has_other_types; /* e.g. the apex with SOA/NS/A configured */
} dmp_upd_name_state_t;

typedef int (*dmp_upd_name_fn)(void *ctx, const char *lname, size_t len, dmp_upd_name_state_t *out);

/* ---- zone transfers (xfr.c) ---- */

/* An AXFR or IXFR query (dmp_dns_xfr_query_parse). zone is the lowercased question name. */
typedef struct {
    uint16_t id;
    uint16_t qtype; /* DMP_DNS_T_AXFR or DMP_DNS_T_IXFR */
    uint16_t qclass;
    char zone[256];
    size_t zone_len;
    size_t question_end;
    bool has_client_serial; /* IXFR: the SOA serial the client holds */
    uint32_t client_serial;
} dmp_dns_xfr_query_t;

/* One transfer message being filled (owner names uncompressed). Invariant: buf[0..len) is a
 * complete message with count answer RRs. 16 KiB per message keeps every secondary happy. */
#define DMP_DNS_XFR_MSG_RRS 16384 /* RRs fill at most this much; the rest is for a TSIG RR */
typedef struct {
    uint8_t buf[DMP_DNS_XFR_MSG_RRS + 1024];
    size_t len;
    size_t count;
} dmp_dns_xfr_msg_t;

#endif
