/* wire: types for every DMP v1 TXT record (reference/client.md §1, cluster.md §1, §2, §6).
 *
 * Parsed records are plain structs with fixed-size arrays: they own no heap memory and need no
 * free. Strings are copied out of the wire, NUL-terminated, with an explicit length (a UTF-8
 * string may itself contain U+0000). Every length field obeys the record's own cap, so the arrays
 * below can never overflow. */
#ifndef DMP_WIRE_TYPES_H
#define DMP_WIRE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Module error codes (range -100..-199). dmp_wire_strerror() names them and falls back to
 * dmp_strerror() for the generic codes, which parsers also return (DMP_ENOMEM, DMP_EINVAL). */
enum {
    DMP_EWIRE_PREFIX = -100,   /* value does not start with the record's exact prefix */
    DMP_EWIRE_B64 = -101,      /* payload is not base64 in the record's mode (strict/lax) */
    DMP_EWIRE_SHORT = -102,    /* decoded blob shorter than the record's minimum */
    DMP_EWIRE_LEN = -103,      /* blob/body length not one the record allows */
    DMP_EWIRE_MAGIC = -104,    /* body magic is wrong */
    DMP_EWIRE_VERSION = -105,  /* identity versions suffix / chunk v= not acceptable */
    DMP_EWIRE_SIG = -106,      /* Ed25519 signature does not verify */
    DMP_EWIRE_WEAKKEY = -107,  /* signer key is a blocked low-order/identity encoding */
    DMP_EWIRE_EXPIRED = -108,  /* past its expiry for the injected now */
    DMP_EWIRE_FUTURE = -109,   /* ts/exp further in the future than the record allows */
    DMP_EWIRE_NAME = -110,     /* not a valid DNS name (cluster.md §1.5 / HTTP name rule) */
    DMP_EWIRE_SIGNER = -111,   /* embedded signer key differs from the expected/pinned key */
    DMP_EWIRE_COUNT = -112,    /* node/entry/chunk count (or k vs n) out of range */
    DMP_EWIRE_DUP = -113,      /* duplicate node_id / bootstrap entry */
    DMP_EWIRE_TOOBIG = -114,   /* wire longer than the record's cap (1200 or 255 bytes) */
    DMP_EWIRE_UTF8 = -115,     /* string field is not strict UTF-8 / ASCII where required */
    DMP_EWIRE_FIELD = -116,    /* scalar field out of its range (id 0, slot, reason, type...) */
    DMP_EWIRE_TRAILING = -117, /* bytes left after the last field */
    DMP_EWIRE_TRUNC = -118,    /* body ends inside a field */
    DMP_EWIRE_SUBJECT = -119,  /* rotation/revocation subject invalid for its type */
    DMP_EWIRE_SAMEKEY = -120,  /* rotation old_spk == new_spk */
    DMP_EWIRE_ENDPOINT = -121, /* heartbeat endpoint URL not acceptable */
    DMP_EWIRE_CHARS = -122,    /* control/whitespace characters where forbidden */
    DMP_EWIRE_TSORDER = -123,  /* exp <= ts */
    DMP_EWIRE_STALE = -124, /* revocation older than the caller's max age; heartbeat ts too old */
    DMP_EWIRE_NOHASHES = -125, /* manifest without chunk hashes where they are required */
    DMP_EWIRE_EXPECTED = -126, /* name/subject differs from the caller's expected value */
    DMP_EWIRE_TYPE = -127,     /* generic k=v record whose t= is not the wanted type */
    DMP_EWIRE_CHUNKHASH = -128 /* chunk bytes do not match the manifest's chunk hash */
};

#define DMP_WIRE_SIG_LEN 64
#define DMP_WIRE_KEY_LEN 32
#define DMP_WIRE_MAX_WIRE 1200  /* cap for rotation/revocation/cluster/bootstrap/heartbeat */
#define DMP_WIRE_CLAIM_MAX 255  /* claim wire cap */
#define DMP_WIRE_NAME_MAX 512   /* buffer size that fits every owner name we build */
#define DMP_WIRE_TXT_STRING 255 /* max bytes of one TXT character-string */
#define DMP_WIRE_MAX_FUTURE_30D 2592000
#define DMP_WIRE_MAX_FUTURE_5Y 157680000
#define DMP_WIRE_TS_SKEW 300

/* Record class of a TXT value by exact prefix, first match wins (cluster.md §3.6). */
typedef enum {
    DMP_WIRE_REC_EMPTY = 0, /* zero-length value */
    DMP_WIRE_REC_NONDMP,    /* does not start with "v=dmp" */
    DMP_WIRE_REC_MANIFEST,
    DMP_WIRE_REC_IDENTITY,
    DMP_WIRE_REC_PREKEY,
    DMP_WIRE_REC_CLUSTER,
    DMP_WIRE_REC_BOOTSTRAP,
    DMP_WIRE_REC_CHUNK,
    DMP_WIRE_REC_CLAIM,
    DMP_WIRE_REC_ROTATION,
    DMP_WIRE_REC_REVOCATION,
    DMP_WIRE_REC_HEARTBEAT,   /* not in the reference's sync classifier (there: unknown-dmp) */
    DMP_WIRE_REC_UNKNOWN_DMP, /* starts with "v=dmp" but no known prefix */
} dmp_wire_rec_t;

/* ---- identity (client.md §1.1) ---- */
#define DMP_WIRE_USERNAME_MAX 64
typedef struct {
    char username[DMP_WIRE_USERNAME_MAX + 1];
    size_t username_len; /* 1..64 bytes, strict UTF-8 */
    uint8_t x25519_pk[32];
    uint8_t ed25519_spk[32];
    uint64_t ts;
    /* Protocol versions, strictly increasing. {1} when the record has no suffix. */
    uint8_t versions[255];
    size_t n_versions;
} dmp_wire_identity_t;

/* ---- prekey (client.md §1.2) ---- */
typedef struct {
    uint32_t prekey_id; /* never 0 */
    uint8_t public_key[32];
    uint64_t exp;
} dmp_wire_prekey_t;

/* ---- slot manifest (client.md §1.3) ---- */
#define DMP_WIRE_MAX_CHUNKS 1024
typedef struct {
    uint8_t msg_id[16];
    uint8_t sender_spk[32];
    uint8_t recipient_id[32];
    uint32_t total_chunks; /* n, 1..1024 */
    uint32_t data_chunks;  /* k, 1..n */
    uint32_t prekey_id;    /* 0 = long-term key */
    uint64_t ts;
    uint64_t exp;
    bool has_hashes; /* false only for legacy 108-byte bodies */
    /* SHA-256 of each 168-byte wrapped chunk, [0..total_chunks) valid when has_hashes.
     * Fixed array: the struct is ~32 KiB; allocate it on the heap in small-stack threads. */
    uint8_t chunk_hashes[DMP_WIRE_MAX_CHUNKS][32];
} dmp_wire_manifest_t;

/* ---- rotation / revocation (client.md §1.5, §1.6) ---- */
enum {
    DMP_WIRE_SUBJECT_USER = 1,
    DMP_WIRE_SUBJECT_CLUSTER = 2,
    DMP_WIRE_SUBJECT_BOOTSTRAP = 3,
};
typedef struct {
    uint8_t subject_type; /* 1..3 */
    char subject[256];
    size_t subject_len; /* 1..255 (type 1), 1..64 (types 2/3) */
    uint8_t old_spk[32];
    uint8_t new_spk[32];
    uint64_t seq;
    uint64_t ts;
    uint64_t exp;
} dmp_wire_rotation_t;

enum {
    DMP_WIRE_REASON_COMPROMISE = 1,
    DMP_WIRE_REASON_ROUTINE = 2,
    DMP_WIRE_REASON_LOST_KEY = 3,
    DMP_WIRE_REASON_OTHER = 4,
};
typedef struct {
    uint8_t subject_type;
    char subject[256];
    size_t subject_len;
    uint8_t revoked_spk[32];
    uint8_t reason_code; /* 1..4 */
    uint64_t ts;
} dmp_wire_revocation_t;

/* ---- claim (client.md §1.7) ---- */
#define DMP_WIRE_CLAIM_DOMAIN_MAX 43
typedef struct {
    uint8_t msg_id[16];
    uint8_t sender_spk[32];
    char sender_mailbox_domain[DMP_WIRE_CLAIM_DOMAIN_MAX + 1];
    size_t domain_len; /* 1..43 bytes UTF-8, no char < 0x21 nor 0x7F */
    uint8_t slot;      /* 0..9 */
    uint64_t ts;       /* < 2^63 */
    uint64_t exp;      /* < 2^63, > ts */
} dmp_wire_claim_t;

/* ---- cluster manifest (cluster.md §1) ---- */
#define DMP_WIRE_CLUSTER_MAX_NODES 32
#define DMP_WIRE_NODE_ID_MAX 16
#define DMP_WIRE_HTTP_EP_MAX 128
#define DMP_WIRE_DNS_EP_MAX 64
#define DMP_WIRE_DOMAIN_MAX 64 /* cluster name / user domain / base domain, after dot strip */
typedef struct {
    char node_id[DMP_WIRE_NODE_ID_MAX + 1]; /* 1..16 ASCII */
    size_t node_id_len;
    char http_endpoint[DMP_WIRE_HTTP_EP_MAX + 1]; /* 1..128 bytes UTF-8, free-form */
    size_t http_endpoint_len;
    char dns_endpoint[DMP_WIRE_DNS_EP_MAX + 1]; /* 0 = absent */
    size_t dns_endpoint_len;
} dmp_wire_cluster_node_t;

typedef struct {
    uint64_t seq;
    uint64_t exp;
    uint8_t operator_spk[32];
    char cluster_name[DMP_WIRE_DOMAIN_MAX + 1]; /* DNS name, one trailing dot stripped */
    size_t cluster_name_len;
    size_t n_nodes; /* encode: 1..32; parse accepts 0..32 (reference parity) */
    dmp_wire_cluster_node_t nodes[DMP_WIRE_CLUSTER_MAX_NODES];
} dmp_wire_cluster_t;

/* ---- bootstrap (cluster.md §2) ---- */
#define DMP_WIRE_BOOTSTRAP_MAX_ENTRIES 16
typedef struct {
    uint16_t priority;
    char cluster_base_domain[DMP_WIRE_DOMAIN_MAX + 1];
    size_t base_len;
    uint8_t operator_spk[32];
} dmp_wire_bootstrap_entry_t;

typedef struct {
    uint64_t seq;
    uint64_t exp;
    uint8_t signer_spk[32];
    char user_domain[DMP_WIRE_DOMAIN_MAX + 1];
    size_t user_domain_len;
    size_t n_entries; /* 1..16, sorted by priority (stable) after parse and before encode */
    dmp_wire_bootstrap_entry_t entries[DMP_WIRE_BOOTSTRAP_MAX_ENTRIES];
} dmp_wire_bootstrap_t;

/* ---- heartbeat (cluster.md §6, node.md §6.2) ---- */
#define DMP_WIRE_HB_ENDPOINT_MAX 255
#define DMP_WIRE_HB_VERSION_MAX 32
#define DMP_WIRE_HB_ZONE_MAX 64
#define DMP_WIRE_CAP_CLAIM_PROVIDER 0x0001u
typedef struct {
    uint8_t magic_version; /* 3 (DMPHB03) or 2 (legacy DMPHB02, parse only, zone empty) */
    char endpoint[DMP_WIRE_HB_ENDPOINT_MAX + 1];
    size_t endpoint_len;
    uint8_t operator_spk[32];
    char version[DMP_WIRE_HB_VERSION_MAX + 1];
    size_t version_len;
    uint16_t capabilities; /* unknown bits preserved */
    char claim_provider_zone[DMP_WIRE_HB_ZONE_MAX + 1];
    size_t zone_len;
    uint64_t ts;
    uint64_t exp;
} dmp_wire_heartbeat_t;

#endif
