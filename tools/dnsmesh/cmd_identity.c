/* dnsmesh identity show | publish | fetch | refresh-prekeys | rotate (client.md §6.3). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "dnsmesh.h"
#include "util/util.h"
#include "wire/wire.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    dmp_hex_encode(b, n, out, 2 * n + 1);
}

static int id_show(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--json", false, NULL}};
    dn_args_t a;
    dn_parse("identity show", "[--json]", argc, argv, o, 1, 0, 0, &a);
    dmp_client_session_t s;
    dn_session(&s, true);
    char pk[65], spk[65], uid[65];
    uint8_t u[32];
    dmp_crypto_user_id(s.id.x25519_pk, u);
    hex(s.id.x25519_pk, 32, pk);
    hex(s.id.ed_pk, 32, spk);
    hex(u, 32, uid);
    if (a.set[0]) {
        json_t *j =
            json_pack("{s:s,s:s,s:s,s:s,s:s}", "username", s.cfg.username, "domain", s.domain,
                      "public_key", pk, "signing_public_key", spk, "user_id", uid);
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        printf("username: %s\ndomain: %s\npublic_key: %s\nsigning_public_key: %s\nuser_id: %s\n",
               s.cfg.username, s.domain, pk, spk, uid);
    }
    dmp_client_session_free(&s);
    return 0;
}

/* The identity record wire for id (versions {1} or {1,2}). */
static void identity_wire(const dmp_client_session_t *s, const dmp_crypto_identity_t *id, bool v2,
                          int64_t now, dmp_buf_t *out)
{
    dmp_wire_identity_t rec = {.ts = (uint64_t)now};
    size_t ul = strlen(s->cfg.username);
    if (ul == 0 || ul > DMP_WIRE_USERNAME_MAX)
        dn_die(1, "username must be 1..64 bytes");
    memcpy(rec.username, s->cfg.username, ul);
    rec.username_len = ul;
    memcpy(rec.x25519_pk, id->x25519_pk, 32);
    memcpy(rec.ed25519_spk, id->ed_pk, 32);
    rec.versions[0] = 1;
    rec.n_versions = 1;
    if (v2) {
        rec.versions[1] = 2;
        rec.n_versions = 2;
    }
    if (dmp_wire_identity_encode(&rec, id->ed_sk, out) || dmp_buf_append_u8(out, 0))
        dn_die(1, "could not sign the identity record");
}

static void identity_name(const dmp_client_session_t *s, char *name, size_t cap)
{
    int rc = s->cfg.identity_domain[0]
                 ? dmp_wire_name_identity_zone(s->cfg.identity_domain, name, cap)
                 : dmp_wire_name_identity(s->cfg.username, strlen(s->cfg.username), s->domain, name,
                                          cap);
    if (rc)
        dn_die(1, "invalid identity domain");
}

static _Noreturn void die_publish(const char *name, const dmp_client_http_result_t *r)
{
    if (!r->status)
        dn_die(2, "publish to %s failed — %s", name, r->error[0] ? r->error : "no response");
    dn_die(2, "publish to %s failed: HTTP %d%s%s%s", name, r->status, r->error[0] ? " — " : "",
           r->error,
           r->status == 403 ? " (per-user token may not own this record namespace; if you are "
                              "the operator, retry with DMP_HTTP_TOKEN=<operator-token>)"
                            : "");
}

static int id_publish(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--ttl", true, "86400"}, {"--advertise-v2", false, NULL}};
    dn_args_t a;
    dn_parse("identity publish", "[--ttl N] [--advertise-v2]", argc, argv, o, 2, 0, 0, &a);
    uint32_t ttl = (uint32_t)dn_int(&a, o, 0, 1, 1LL << 31);
    dmp_client_session_t s;
    dn_session(&s, true);
    dn_net(&s, true);
    dmp_buf_t w;
    dmp_buf_init(&w);
    identity_wire(&s, &s.id, a.set[1], dmp_client_now(&s), &w);
    char name[DMP_WIRE_NAME_MAX];
    identity_name(&s, name, sizeof(name));
    dmp_client_http_result_t r;
    if (dmp_client_publish_one(&s, name, (const char *)w.data, ttl, &r))
        die_publish(name, &r);
    printf("published identity to %s\n", name);
    if (s.cfg.identity_domain[0])
        printf("  others can resolve you with: dnsmesh identity fetch %s@%s\n", s.cfg.username,
               s.cfg.identity_domain);
    else
        printf("  others can resolve you with: dnsmesh identity fetch %s\n", s.cfg.username);
    dmp_buf_free(&w);
    dmp_client_session_free(&s);
    return 0;
}

static void fingerprint(const dmp_wire_identity_t *r, char out[17])
{
    uint8_t in[64];
    memcpy(in, r->x25519_pk, 32);
    memcpy(in + 32, r->ed25519_spk, 32);
    dmp_crypto_sha256_hex(in, 64, 16, out);
}

/* --via-bootstrap: the cluster serving host, from its bootstrap record signed by the pinned
 * bootstrap signer; every read of this fetch then goes through that cluster's nodes. Nothing is
 * written to the config. */
static void via_bootstrap(dmp_client_session_t *s, const char *addr)
{
    char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    if (dmp_wire_parse_address(addr, strlen(addr), user, sizeof(user), host, sizeof(host)))
        dn_die(1, "--via-bootstrap requires an address in user@host form; got '%s'", addr);
    if (dmp_wire_dns_name_check(host, strlen(host), NULL))
        dn_die(1, "--via-bootstrap: invalid host in address: %s", host);
    if (strcasecmp(s->cfg.bootstrap_user_domain, host) != 0)
        dn_die(1,
               "--via-bootstrap: no bootstrap signer pinned for '%s'; run `dnsmesh bootstrap "
               "pin %s <signer_spk_hex>` first",
               host, host);
    uint8_t signer[32];
    if (strlen(s->cfg.bootstrap_signer_spk) != 64 ||
        dmp_hex_decode(s->cfg.bootstrap_signer_spk, 64, signer, 32))
        dn_die(1, "bootstrap_signer_spk must be 64 hex chars (32 bytes Ed25519)");
    if (dmp_client_session_reader(s))
        dn_die(1, "%s", s->err);
    char name[DMP_WIRE_NAME_MAX];
    dmp_wire_name_bootstrap(host, name, sizeof(name));
    dmp_client_txtset_t t;
    dmp_client_txtset_init(&t);
    dmp_wire_bootstrap_t *b = malloc(sizeof(*b));
    bool found = false;
    if (b && dmp_client_query(s, name, &t) == 0)
        for (size_t i = 0; i < t.n && !found; i++)
            found = dmp_wire_bootstrap_parse(t.v[i].data, t.v[i].len, signer, dmp_client_now(s),
                                             host, b) == 0;
    dmp_client_txtset_free(&t);
    if (!found)
        dn_die(2, "--via-bootstrap: no verifying bootstrap record at _dmp.%s", host);
    char keep_spk[sizeof(s->cfg.cluster_operator_spk)],
        keep_base[sizeof(s->cfg.cluster_base_domain)];
    memcpy(keep_spk, s->cfg.cluster_operator_spk, sizeof(keep_spk));
    memcpy(keep_base, s->cfg.cluster_base_domain, sizeof(keep_base));
    for (size_t i = 0; i < b->n_entries; i++) {
        dmp_hex_encode(b->entries[i].operator_spk, 32, s->cfg.cluster_operator_spk,
                       sizeof(s->cfg.cluster_operator_spk));
        snprintf(s->cfg.cluster_base_domain, sizeof(s->cfg.cluster_base_domain), "%s",
                 b->entries[i].cluster_base_domain);
        int rc = dmp_client_cluster_open(s);
        /* the config keeps its own anchors: `--add` saves it afterwards */
        memcpy(s->cfg.cluster_operator_spk, keep_spk, sizeof(keep_spk));
        memcpy(s->cfg.cluster_base_domain, keep_base, sizeof(keep_base));
        if (rc == 0) {
            s->cluster_reads_all = true;
            free(b);
            return;
        }
    }
    dn_die(2,
           "--via-bootstrap: no usable cluster manifest in the bootstrap record for %s (tried "
           "%zu in priority order)",
           host, b->n_entries);
}

static int id_fetch(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--domain", true, NULL},
                                 {"--add", false, NULL},
                                 {"--accept-fingerprint", true, NULL},
                                 {"--json", false, NULL},
                                 {"--via-bootstrap", false, NULL}};
    enum { DOM, ADD, FPR, JSON, VIA };
    dn_args_t a;
    dn_parse("identity fetch",
             "NAME [--domain D] [--add] [--accept-fingerprint HEX16] [--json] [--via-bootstrap]",
             argc, argv, o, 5, 1, 1, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    if (a.set[VIA])
        via_bootstrap(&s, a.pos[0]);
    else
        dn_net(&s, false);
    const char *arg = a.pos[0];
    char user[DMP_CLIENT_STR], host[DMP_CLIENT_STR];
    bool addr =
        dmp_wire_parse_address(arg, strlen(arg), user, sizeof(user), host, sizeof(host)) == 0;
    if (!addr) {
        snprintf(user, sizeof(user), "%s", arg);
        snprintf(host, sizeof(host), "%s", a.val[DOM] ? a.val[DOM] : s.domain);
    }
    dmp_wire_identity_t *recs = NULL;
    size_t n = 0;
    char name[DMP_WIRE_NAME_MAX];
    int rc = dmp_client_identity_lookup(&s, user, host, addr, false, &recs, &n, name, sizeof(name));
    if (rc == DMP_ENOTFOUND || rc == DMP_EIO) {
        if (addr) {
            char z[DMP_WIRE_NAME_MAX], h[DMP_WIRE_NAME_MAX];
            dmp_wire_name_identity_zone(host, z, sizeof(z));
            dmp_wire_name_identity(user, strlen(user), host, h, sizeof(h));
            dn_die(2, "no identity record at %s or %s", z, h);
        }
        dn_die(2, "no identity record at %s", name);
    }
    if (rc == DMP_EFORMAT || (rc == 0 && n == 0))
        dn_die(2, "found TXT records at %s but none verified as a DMP identity", name);
    if (rc)
        dn_die(2, "identity lookup failed: %s", dmp_strerror(rc));
    rc = dmp_client_identity_filter(&s, user, host, recs, &n);
    if (rc == DMP_EAUTH)
        dn_die(2,
               "all IdentityRecords at %s are revoked by a matching RevocationRecord at the "
               "rotate RRset — re-pin out-of-band.",
               name);
    const dmp_wire_identity_t *id = &recs[0];
    if (n > 1) {
        const dmp_wire_identity_t *match = NULL;
        for (size_t i = 0; a.val[FPR] && i < n; i++) {
            char f[17];
            fingerprint(&recs[i], f);
            if (strcasecmp(f, a.val[FPR]) == 0)
                match = &recs[i];
        }
        if (!match) {
            fprintf(stderr, "ambiguous: %zu valid identity records at %s\n", n, name);
            for (size_t i = 0; i < n; i++) {
                char f[17], x[65], e[65];
                fingerprint(&recs[i], f);
                hex(recs[i].x25519_pk, 32, x);
                hex(recs[i].ed25519_spk, 32, e);
                fprintf(stderr, "  fingerprint=%s  x25519=%.16s...  ed25519=%.16s...  ts=%llu\n", f,
                        x, e, (unsigned long long)recs[i].ts);
            }
            fprintf(stderr, "verify out-of-band and rerun with --accept-fingerprint=<16-hex>\n");
            exit(2);
        }
        id = match;
    }
    char display[2 * DMP_CLIENT_STR + 2], pk[65], spk[65];
    snprintf(display, sizeof(display), "%.*s@%s", (int)id->username_len, id->username,
             addr         ? host
             : a.val[DOM] ? a.val[DOM]
                          : s.domain);
    hex(id->x25519_pk, 32, pk);
    hex(id->ed25519_spk, 32, spk);
    if (a.set[JSON]) {
        json_t *j =
            json_pack("{s:s%,s:s,s:s,s:s,s:I,s:s}", "username", id->username, id->username_len,
                      "address", display, "public_key", pk, "signing_public_key", spk, "ts",
                      (json_int_t)id->ts, "dns_name", name);
        char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", t);
        free(t);
        json_decref(j);
    } else {
        printf("address:            %s\nusername:           %.*s\npublic_key:         %s\n"
               "signing_public_key: %s\npublished at:       %llu\n",
               display, (int)id->username_len, id->username, pk, spk, (unsigned long long)id->ts);
    }
    if (a.set[ADD]) {
        if (addr &&
            (id->username_len != strlen(user) || memcmp(id->username, user, id->username_len) != 0))
            dn_die(2, "record at %s carries username '%.*s', not '%s' as the address implied", name,
                   (int)id->username_len, id->username, user);
        dmp_client_contact_t ct;
        memset(&ct, 0, sizeof(ct));
        const char *remote = addr ? host : a.val[DOM] ? a.val[DOM] : "";
        if (addr) {
            if (snprintf(ct.name, sizeof(ct.name), "%.*s@%s", (int)id->username_len, id->username,
                         host) >= (int)sizeof(ct.name))
                dn_die(1, "contact name too long");
        } else
            snprintf(ct.name, sizeof(ct.name), "%.*s", (int)id->username_len, id->username);
        snprintf(ct.pub, sizeof(ct.pub), "%s", pk);
        snprintf(ct.spk, sizeof(ct.spk), "%s", spk);
        snprintf(ct.domain, sizeof(ct.domain), "%s", remote);
        /* client.md §9.3/§9.4: record the remote username so prekeys and rotation subjects are
         * looked up as <user>, not <user@host> (the reference reads the same key) */
        snprintf(ct.remote_username, sizeof(ct.remote_username), "%.*s", (int)id->username_len,
                 id->username);
        ct.has_remote_username = true;
        dmp_client_contact_t *upgrade = NULL;
        for (size_t i = 0; i < s.cfg.n_contacts; i++)
            if (!s.cfg.contacts[i].pub[0] && strcasecmp(s.cfg.contacts[i].spk, spk) == 0)
                upgrade = &s.cfg.contacts[i];
        if (upgrade) {
            snprintf(upgrade->pub, sizeof(upgrade->pub), "%s", pk);
            snprintf(upgrade->spk, sizeof(upgrade->spk), "%s", spk);
            if (remote[0])
                snprintf(upgrade->domain, sizeof(upgrade->domain), "%s", remote);
            snprintf(upgrade->remote_username, sizeof(upgrade->remote_username), "%.*s",
                     (int)id->username_len, id->username);
            upgrade->has_remote_username = true;
            dn_save(&s);
            printf("upgraded contact `%s` (filled in X25519 pubkey for %.*s)\n", upgrade->name,
                   (int)id->username_len, id->username);
        } else if (dmp_client_config_contact(&s.cfg, ct.name)) {
            printf("(contact `%s` already exists — not overwriting)\n", ct.name);
        } else {
            if (dmp_client_config_contact_put(&s.cfg, &ct))
                dn_die(1, "out of memory");
            dn_save(&s);
            printf("added contact %s (pinned signing key)\n", ct.name);
        }
    }
    free(recs);
    dmp_client_session_free(&s);
    return 0;
}

static int id_prekeys(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--count", true, "25"}, {"--ttl", true, "86400"}};
    dn_args_t a;
    dn_parse("identity refresh-prekeys", "[--count N] [--ttl N]", argc, argv, o, 2, 0, 0, &a);
    unsigned count = (unsigned)dn_int(&a, o, 0, 0, 1000);
    uint32_t ttl = (uint32_t)dn_int(&a, o, 1, 1, 2592000);
    dmp_client_session_t s;
    dn_session(&s, true);
    dn_net(&s, true);
    dn_dbs(&s);
    unsigned published = 0;
    dmp_client_http_result_t last = {0};
    int rc = dmp_client_refresh_prekeys(&s, count, ttl, &published, &last);
    if (rc && rc != DMP_EIO)
        dn_die(1, "prekey refresh failed: %s", dmp_strerror(rc));
    char name[DMP_WIRE_NAME_MAX];
    dmp_wire_name_prekeys(s.cfg.username, strlen(s.cfg.username), s.domain, name, sizeof(name));
    int64_t live = 0;
    dmp_client_prekeys_count_live(s.prekeys, dmp_client_now(&s), &live);
    printf("published %u/%u prekeys to %s\n  local live prekey count: %lld\n", published, count,
           name, (long long)live);
    if (published < count) {
        if (last.status)
            printf("  (note: some publishes were rejected — check node rate limits and caps) — "
                   "last response: publish to %s failed: HTTP %d%s%s\n",
                   name, last.status, last.error[0] ? " — " : "", last.error);
        else
            printf("  (note: some publishes were rejected — check node rate limits and caps)\n");
    }
    dmp_client_session_free(&s);
    return 0;
}

static int id_rotate(int argc, char **argv)
{
    static const dn_opt_t o[] = {
        {"--new-passphrase-file", true, NULL}, {"--ttl", true, "86400"},
        {"--exp-seconds", true, "31536000"},   {"--yes", false, NULL},
        {"--reason", true, "routine"},         {"--experimental", false, NULL},
        {"--advertise-v2", false, NULL}};
    enum { NPF, TTL, EXPS, YES, REASON, EXPER, V2 };
    dn_args_t a;
    dn_parse("identity rotate",
             "[--new-passphrase-file F] [--ttl N] [--exp-seconds N] [--yes] "
             "[--reason routine|compromise|lost_key] [--experimental] [--advertise-v2]",
             argc, argv, o, 7, 0, 0, &a);
    uint8_t reason = 0;
    if (strcmp(a.val[REASON], "routine") == 0)
        reason = DMP_WIRE_REASON_ROUTINE;
    else if (strcmp(a.val[REASON], "compromise") == 0)
        reason = DMP_WIRE_REASON_COMPROMISE;
    else if (strcmp(a.val[REASON], "lost_key") == 0)
        reason = DMP_WIRE_REASON_LOST_KEY;
    else
        dn_die(2, "argument --reason: invalid choice: '%s'", a.val[REASON]);
    uint32_t ttl = (uint32_t)dn_int(&a, o, TTL, 1, 1LL << 31);
    int64_t exps = dn_int(&a, o, EXPS, 1, DMP_WIRE_MAX_FUTURE_5Y);
    if (!a.set[EXPER])
        dn_die(1, "key rotation is EXPERIMENTAL and subject to revision after the external "
                  "crypto audit — re-run with --experimental to proceed.");
    fprintf(stderr, "WARNING: identity rotation is EXPERIMENTAL.\n  The wire format for rotation "
                    "+ revocation records is draft and may change in v0.3.0 after the external "
                    "crypto audit.\n  See docs/protocol/rotation.md for the threat model and "
                    "limits.\n");
    dmp_client_session_t s;
    dn_session(&s, true);
    char newpass[1024] = "";
    if (a.val[NPF]) {
        dmp_buf_t b;
        dmp_buf_init(&b);
        if (dmp_client_read_file(a.val[NPF], sizeof(newpass) - 1, &b))
            dn_die(1, "--new-passphrase-file: %s does not exist", a.val[NPF]);
        const uint8_t *p = b.data ? b.data : (const uint8_t *)"";
        size_t n = b.len;
        dmp_py_strip(&p, &n);
        memcpy(newpass, p, n);
        newpass[n] = 0;
        dmp_buf_free_secret(&b);
    } else if (getenv("DMP_NEW_PASSPHRASE")) {
        snprintf(newpass, sizeof(newpass), "%s", getenv("DMP_NEW_PASSPHRASE"));
    } else {
        dmp_client_config_t tmp = s.cfg;
        tmp.passphrase_file_set = false;
        if (snprintf(tmp.username, sizeof(tmp.username), "%s (new)", s.cfg.username) >=
            (int)sizeof(tmp.username))
            tmp.username[0] = 0;
        const char *saved = getenv("DMP_PASSPHRASE");
        char *keep = saved ? strdup(saved) : NULL;
        unsetenv("DMP_PASSPHRASE");
        (void)dmp_client_passphrase(&tmp, newpass, sizeof(newpass));
        if (keep) {
            setenv("DMP_PASSPHRASE", keep, 1);
            free(keep);
        }
    }
    if (!newpass[0])
        dn_die(1, "new passphrase is empty");
    dmp_crypto_identity_t nid;
    if (dmp_client_derive(&s.cfg, newpass, &nid))
        dn_die(1, "key derivation failed");
    if (memcmp(nid.ed_pk, s.id.ed_pk, 32) == 0)
        dn_die(1, "new passphrase derives the SAME signing key as the current one — pick a "
                  "different passphrase");
    char oldh[65], newh[65];
    hex(s.id.ed_pk, 32, oldh);
    hex(nid.ed_pk, 32, newh);
    printf("current signing key: %s\nnew signing key:     %s\n", oldh, newh);
    if (!a.set[YES]) {
        printf("Publish RotationRecord? [y/N] ");
        fflush(stdout);
        char line[16] = "";
        if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y')) {
            printf("aborted.\n");
            return 1;
        }
    }
    dn_net(&s, true);
    int64_t now = dmp_client_now(&s);
    const char *zone = s.cfg.identity_domain[0] ? s.cfg.identity_domain : s.domain;
    dmp_wire_rotation_t r = {
        .subject_type = DMP_WIRE_SUBJECT_USER, .ts = (uint64_t)now, .exp = (uint64_t)(now + exps)};
    r.subject_len = (size_t)snprintf(r.subject, sizeof(r.subject), "%s@%s", s.cfg.username, zone);
    memcpy(r.old_spk, s.id.ed_pk, 32);
    memcpy(r.new_spk, nid.ed_pk, 32);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    r.seq = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
    dmp_buf_t rw, vw;
    dmp_buf_init(&rw);
    dmp_buf_init(&vw);
    if (dmp_wire_rotation_encode(&r, s.id.ed_sk, nid.ed_sk, &rw) || dmp_buf_append_u8(&rw, 0))
        dn_die(1, "failed to co-sign RotationRecord");
    bool revoke = reason != DMP_WIRE_REASON_ROUTINE;
    if (revoke) {
        dmp_wire_revocation_t v = {
            .subject_type = DMP_WIRE_SUBJECT_USER, .reason_code = reason, .ts = (uint64_t)now};
        memcpy(v.subject, r.subject, r.subject_len + 1);
        v.subject_len = r.subject_len;
        memcpy(v.revoked_spk, s.id.ed_pk, 32);
        if (dmp_wire_revocation_encode(&v, s.id.ed_sk, &vw) || dmp_buf_append_u8(&vw, 0))
            dn_die(1, "failed to sign RevocationRecord");
    }
    char rname[DMP_WIRE_NAME_MAX], iname[DMP_WIRE_NAME_MAX];
    if (s.cfg.identity_domain[0])
        dmp_wire_name_rotate_user_zone(s.cfg.identity_domain, rname, sizeof(rname));
    else
        dmp_wire_name_rotate_user(s.cfg.username, strlen(s.cfg.username), s.domain, rname,
                                  sizeof(rname));
    identity_name(&s, iname, sizeof(iname));
    dmp_client_http_result_t res;
    if (dmp_client_publish_one(&s, rname, (const char *)rw.data, ttl, &res))
        dn_die(2, "publish of RotationRecord to %s failed", rname);
    printf("published RotationRecord to %s\n", rname);
    if (revoke) {
        if (dmp_client_publish_one(&s, rname, (const char *)vw.data, ttl, &res))
            fprintf(stderr,
                    "warning: RotationRecord published, but RevocationRecord of the old key "
                    "FAILED to publish at %s — non-rotation-aware `dnsmesh identity fetch` will "
                    "see BOTH the old and new IdentityRecords and exit ambiguous. Re-publish the "
                    "revocation manually.\n",
                    rname);
        else
            printf("published RevocationRecord (old key, reason=%s) to %s\n", a.val[REASON], rname);
    } else {
        printf("reason=routine: skipping RevocationRecord so rotation_chain_enabled contacts "
               "can auto-follow the new key\n");
    }
    dmp_buf_t iw;
    dmp_buf_init(&iw);
    identity_wire(&s, &nid, a.set[V2], now, &iw);
    if (dmp_client_publish_one(&s, iname, (const char *)iw.data, ttl, &res))
        fprintf(stderr,
                "warning: RotationRecord published, but IdentityRecord for the new key FAILED "
                "to publish at %s — re-run `dnsmesh identity publish` after updating the local "
                "config to the new passphrase.\n",
                iname);
    else
        printf("published new IdentityRecord to %s\n", iname);
    bool swapped = false, mismatch = false;
    if (a.set[YES]) {
        if (a.val[NPF]) {
            const char *env = getenv("DMP_PASSPHRASE");
            mismatch = env && strcmp(env, newpass) != 0;
            char abs[DMP_CLIENT_PATH];
            if (!realpath(a.val[NPF], abs))
                snprintf(abs, sizeof(abs), "%s", a.val[NPF]);
            snprintf(s.cfg.passphrase_file, sizeof(s.cfg.passphrase_file), "%s", abs);
            s.cfg.passphrase_file_set = true;
            snprintf(s.cfg.verify_pubkey, sizeof(s.cfg.verify_pubkey), "%s", newh);
            dn_save(&s);
            swapped = true;
            printf("local identity swapped atomically (config.yaml passphrase_file -> %s; "
                   "kdf_salt preserved). Local pubkey: %s\n",
                   s.cfg.passphrase_file, newh);
            if (mismatch)
                fprintf(stderr,
                        "WARNING: DMP_PASSPHRASE is set in your environment and does not match "
                        "the contents of --new-passphrase-file (%s); `_load_passphrase` prefers "
                        "the env var over the file, so subsequent `dmp` commands in this shell "
                        "will keep deriving the OLD identity. Run `unset DMP_PASSPHRASE` or "
                        "`export DMP_PASSPHRASE=<new>` to finish the swap.\n",
                        a.val[NPF]);
        } else {
            printf("note: --yes without --new-passphrase-file leaves the config's passphrase "
                   "source untouched; set DMP_PASSPHRASE=<new> on subsequent invocations. "
                   "kdf_salt is preserved; current salt + new passphrase derives pubkey %s.\n",
                   newh);
        }
    }
    printf("\nNext steps:\n  1. Pinned contacts running with rotation_chain_enabled=True will "
           "pick up the new key automatically.\n  2. Other contacts must manually re-pin: "
           "`dnsmesh identity fetch <user>@<host> --add` against the new key.\n");
    if (swapped)
        printf("  3. The local identity has already been swapped atomically; `dnsmesh identity "
               "show` will report the new pubkey. `dnsmesh identity publish` will re-publish the "
               "new IdentityRecord under the rotated key.\n");
    else
        printf("  3. Point your passphrase source at the new passphrase (edit `passphrase_file` "
               "in config.yaml, or set DMP_PASSPHRASE). Do NOT regenerate kdf_salt — the current "
               "salt + new passphrase derives the rotated keypair. Re-running `dnsmesh init "
               "--force` would break local adoption.\n");
    dmp_wipe(newpass, sizeof(newpass));
    dmp_crypto_identity_wipe(&nid);
    dmp_buf_free(&rw);
    dmp_buf_free(&vw);
    dmp_buf_free(&iw);
    dmp_client_session_free(&s);
    return mismatch ? 3 : 0;
}

int cmd_identity(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } sub[] = {{"show", id_show},
               {"publish", id_publish},
               {"fetch", id_fetch},
               {"refresh-prekeys", id_prekeys},
               {"rotate", id_rotate}};
    if (argc >= 2)
        for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
            if (strcmp(argv[1], sub[i].name) == 0)
                return sub[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "usage: dnsmesh identity {show,publish,fetch,refresh-prekeys,rotate} ...\n");
    return 2;
}
