/* dnsmesh contacts | send | recv | intro (client.md §6.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "dnsmesh.h"
#include "util/util.h"

#define MAX_MESSAGE_READ (1u << 20)

static bool hex32(const char *s)
{
    uint8_t b[32];
    return s && strlen(s) == 64 && dmp_hex_decode(s, 64, b, 32) == 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s + 32);
}

static int contacts_add(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--signing-key", true, NULL}};
    dn_args_t a;
    dn_parse("contacts add", "NAME PUBKEY [--signing-key HEX]", argc, argv, o, 1, 2, 2, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    if (!hex32(a.pos[1]))
        dn_die(1, "public key must be 32 bytes (64 hex characters)");
    if (a.val[0] && !hex32(a.val[0]))
        dn_die(1, "signing key must be 32 bytes (64 hex characters)");
    dmp_client_contact_t ct;
    memset(&ct, 0, sizeof(ct));
    if (strlen(a.pos[0]) >= sizeof(ct.name))
        dn_die(1, "contact name too long");
    strcpy(ct.name, a.pos[0]);
    strcpy(ct.pub, a.pos[1]);
    lower(ct.pub);
    if (a.val[0]) {
        strcpy(ct.spk, a.val[0]);
        lower(ct.spk);
    }
    if (dmp_client_config_contact_put(&s.cfg, &ct))
        dn_die(1, "out of memory");
    dn_save(&s);
    if (ct.spk[0])
        printf("added contact %s (pinned signing key)\n", ct.name);
    else
        fprintf(stderr,
                "added contact %s\n  WARNING: no Ed25519 signing key pinned. Until at least one\n"
                "  contact has a pinned signing key, `dnsmesh recv` runs in\n"
                "  trust-on-first-use mode — any signature-valid manifest\n"
                "  addressed to you will be delivered, including from senders\n"
                "  you never added. Re-run with --signing-key <64-hex>, or\n"
                "  bootstrap via `dnsmesh identity fetch <user> --add` which\n"
                "  pins both keys.\n",
                ct.name);
    dmp_client_session_free(&s);
    return 0;
}

static int cmp_name(const void *x, const void *y)
{
    return strcmp(((const dmp_client_contact_t *)x)->name, ((const dmp_client_contact_t *)y)->name);
}

static int contacts_list(int argc, char **argv)
{
    dn_args_t a;
    dn_parse("contacts list", "", argc, argv, NULL, 0, 0, 0, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    if (!s.cfg.n_contacts) {
        printf("(no contacts yet — `dnsmesh contacts add <name> <pubkey_hex>` or `dnsmesh "
               "identity fetch <user> --add`)\n");
        dmp_client_session_free(&s);
        return 0;
    }
    qsort(s.cfg.contacts, s.cfg.n_contacts, sizeof(s.cfg.contacts[0]), cmp_name);
    int w = 0;
    for (size_t i = 0; i < s.cfg.n_contacts; i++)
        if ((int)strlen(s.cfg.contacts[i].name) > w)
            w = (int)strlen(s.cfg.contacts[i].name);
    for (size_t i = 0; i < s.cfg.n_contacts; i++)
        printf("%-*s  %s  (%s)\n", w, s.cfg.contacts[i].name, s.cfg.contacts[i].pub,
               s.cfg.contacts[i].spk[0] ? "pinned" : "UNPINNED");
    dmp_client_session_free(&s);
    return 0;
}

int cmd_contacts(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return contacts_add(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "list") == 0)
        return contacts_list(argc - 1, argv + 1);
    fprintf(stderr, "usage: dnsmesh contacts {add,list} ...\n");
    return 2;
}

/* MESSAGE, "-" (stdin) or "@path". */
static void read_message(const char *arg, dmp_buf_t *out)
{
    if (strcmp(arg, "-") == 0 || (arg[0] == '@' && arg[1])) {
        FILE *f = strcmp(arg, "-") == 0 ? stdin : fopen(arg + 1, "rb");
        if (!f)
            dn_die(1, "cannot read %s", arg + 1);
        uint8_t buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
            if (out->len + n > MAX_MESSAGE_READ)
                dn_die(1, "message larger than %u bytes", MAX_MESSAGE_READ);
            if (dmp_buf_append(out, buf, n))
                dn_die(1, "out of memory");
        }
        if (f != stdin)
            fclose(f);
        return;
    }
    if (dmp_buf_append(out, arg, strlen(arg)))
        dn_die(1, "out of memory");
}

int cmd_send(int argc, char **argv)
{
    dn_args_t a;
    dn_parse("send", "RECIPIENT MESSAGE   (MESSAGE may be - for stdin or @path for a file)", argc,
             argv, NULL, 0, 2, 2, &a);
    dmp_client_session_t s;
    dn_session(&s, false);
    dmp_client_contact_t *c;
    if (dmp_client_find_contact(&s, a.pos[0], &c))
        dn_die(1, "%s", s.err);
    if (dmp_client_session_identity(&s))
        dn_die(1, "%s", s.err);
    dn_net(&s, true);
    dmp_buf_t msg;
    dmp_buf_init(&msg);
    read_message(a.pos[1], &msg);
    dmp_client_send_report_t rep;
    int rc =
        dmp_client_send(&s, a.pos[0], msg.data ? msg.data : (const uint8_t *)"", msg.len, &rep);
    dmp_buf_free_secret(&msg);
    if (rc == DMP_ENOTFOUND || rc == DMP_EINVAL)
        dn_die(1, "%s", s.err);
    if (rc)
        dn_die(2, "send failed: %s", s.err[0] ? s.err : dmp_strerror(rc));
    if (rep.claims_total)
        printf("sent → %s (+ %u/%u claim publishes)\n", a.pos[0], rep.claims_ok, rep.claims_total);
    else
        printf("sent → %s\n", a.pos[0]);
    if (rep.claims_total && !rep.claims_ok)
        fprintf(stderr, "  WARNING: no claim provider accepted the discovery pointer — "
                        "first-contact reach is unavailable. Set claim_provider_override (and "
                        "claim_provider_zone) in config.yaml or check provider reachability.\n");
    if (getenv("DNSMESH_SEND_DEBUG")) {
        unsigned long long reqs = 0, batches = 0, fallbacks = 0;
        for (size_t i = 0; i < s.nhttp; i++) {
            reqs += s.http[i].requests;
            batches += s.http[i].batches;
            fallbacks += s.http[i].batch_fallbacks;
        }
        fprintf(stderr,
                "  msg_id=%s prekey_id=%u k=%u n=%u records=%zu attempts=%u lookup=%.1fms "
                "compose=%.1fms network=%.1fms manifest=%s chunk0=%s v2=%d http_requests=%llu "
                "batches=%llu batch_fallbacks=%llu\n",
                rep.msg_id_hex, rep.prekey_id, rep.k, rep.n, rep.records, rep.attempts,
                (double)rep.lookup_ns / 1e6, (double)rep.compose_ns / 1e6,
                (double)rep.network_ns / 1e6, rep.manifest_name, rep.chunk0_name, rep.v2, reqs,
                batches, fallbacks);
    }
    dmp_client_session_free(&s);
    return 0;
}

static void print_body(const uint8_t *p, size_t n)
{
    /* UTF-8 text as is, anything else as "(binary, N bytes)" */
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n)
            break;
        size_t j = 1;
        while (j < k && (p[i + j] & 0xc0) == 0x80)
            j++;
        if (j != k)
            break;
        i += k;
    }
    if (i == n)
        printf("  %.*s\n", (int)n, (const char *)p);
    else
        printf("  (binary, %zu bytes)\n", n);
}

int cmd_recv(int argc, char **argv)
{
    static const dn_opt_t o[] = {{"--primary-only", false, NULL}, {"--skip-primary", false, NULL}};
    dn_args_t a;
    dn_parse("recv", "[--primary-only | --skip-primary]", argc, argv, o, 2, 0, 0, &a);
    if (a.set[0] && a.set[1]) {
        fprintf(stderr, "usage: dnsmesh recv [--primary-only | --skip-primary]\ndnsmesh recv: "
                        "error: argument --skip-primary: not allowed with argument "
                        "--primary-only\n");
        return 2;
    }
    dmp_client_session_t s;
    dn_session(&s, true);
    dn_net(&s, false);
    dn_dbs(&s);
    if (s.cfg.endpoint[0] || s.cfg.cluster_enabled)
        (void)dmp_client_session_net(&s, true); /* for deleting consumed prekeys; best effort */
    bool primary_only = a.set[0];
    if (s.cfg.recv_secondary_disable && !a.set[1] && !primary_only) {
        bool pinned = false;
        for (size_t i = 0; i < s.cfg.n_contacts; i++)
            pinned |= s.cfg.contacts[i].spk[0] != 0;
        if (pinned)
            primary_only = true;
        else
            fprintf(stderr,
                    "  NOTE: recv_secondary_disable=true is configured but no contacts are pinned "
                    "yet — phase 2 stays enabled to preserve TOFU delivery. Pin a contact (e.g. "
                    "`dnsmesh identity fetch user@host --add`) for the knob to engage.\n");
    }
    dmp_client_intro_t *intros = NULL;
    size_t before = 0, after = 0;
    dmp_client_intros_list(s.intros, &intros, &before);
    dmp_client_intros_free(intros, before);
    dmp_client_message_t *msgs = NULL;
    size_t n = 0;
    dmp_client_recv_stats_t st;
    uint64_t q0 = s.dns.queries + s.cluster_dns.queries;
    int rc = dmp_client_recv(&s, primary_only, a.set[1], &msgs, &n, &st);
    if (rc)
        dn_die(2, "receive failed: %s", dmp_strerror(rc));
    /* every query went unanswered: say so instead of "(no new messages)" */
    uint64_t answered = 0;
    for (size_t i = 0; i < s.dns.n; i++)
        answered += s.dns.r[i].answers;
    for (size_t i = 0; i < s.cluster_dns.n; i++)
        answered += s.cluster_dns.r[i].answers;
    if (s.dns.queries + s.cluster_dns.queries > q0 && answered == 0) {
        char list[256] = "";
        for (size_t i = 0; i < s.dns.n; i++)
            snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                     s.dns.r[i].text);
        dn_die(2, "no DNS resolver answered (%s)", list);
    }
    dmp_client_intros_list(s.intros, &intros, &after);
    dmp_client_intros_free(intros, after);
    size_t new_intros = after > before ? after - before : 0;
    if (getenv("DNSMESH_RECV_DEBUG"))
        fprintf(stderr, "  skipped: %u bad manifests, %u bad chunks, %u undeliverable\n",
                st.bad_manifests, st.bad_chunks, st.undeliverable);
    if (!n && !new_intros) {
        printf("(no new messages)\n");
    } else {
        for (size_t i = 0; i < n; i++) {
            char spk[65];
            dmp_hex_encode(msgs[i].sender_spk, 32, spk, sizeof(spk));
            printf("from %.16s...\n  ts=%lld\n", spk, (long long)msgs[i].ts);
            print_body(msgs[i].body.data, msgs[i].body.len);
            printf("\n");
        }
        if (new_intros)
            printf("(%zu new intro(s) from un-pinned senders — review with `dnsmesh intro "
                   "list`)\n",
                   new_intros);
    }
    dmp_client_messages_free(msgs, n);
    dmp_client_session_free(&s);
    return 0;
}

/* ---------------------------------------------------------------- intro */

static int64_t intro_id(const char *s)
{
    int64_t v;
    if (dmp_parse_i64(s, INT64_MIN, INT64_MAX, &v))
        dn_die(2, "argument INTRO_ID: invalid int value: '%s'", s);
    return v;
}

int cmd_intro(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : "";
    static const dn_opt_t trust_o[] = {{"--label", true, NULL}, {"--username", true, NULL}};
    static const dn_opt_t block_o[] = {{"--note", true, ""}};
    dn_args_t a;
    if (strcmp(sub, "list") == 0)
        dn_parse("intro list", "", argc - 1, argv + 1, NULL, 0, 0, 0, &a);
    else if (strcmp(sub, "accept") == 0)
        dn_parse("intro accept", "INTRO_ID", argc - 1, argv + 1, NULL, 0, 1, 1, &a);
    else if (strcmp(sub, "trust") == 0)
        dn_parse("intro trust", "INTRO_ID [--label L] [--username U]", argc - 1, argv + 1, trust_o,
                 2, 1, 1, &a);
    else if (strcmp(sub, "block") == 0)
        dn_parse("intro block", "INTRO_ID [--note N]", argc - 1, argv + 1, block_o, 1, 1, 1, &a);
    else {
        fprintf(stderr, "usage: dnsmesh intro {list,accept,trust,block} ...\n");
        return 2;
    }
    dmp_client_session_t s;
    dn_session(&s, true);
    dn_dbs(&s);
    int64_t now = dmp_client_now(&s);
    if (strcmp(sub, "list") == 0) {
        dmp_client_intro_t *v = NULL;
        size_t n = 0;
        dmp_client_intros_list(s.intros, &v, &n);
        if (!n)
            printf("(no pending intros)\n");
        for (size_t i = 0; i < n; i++) {
            char spk[65], label[DMP_CLIENT_STR];
            dmp_hex_encode(v[i].sender_spk, 32, spk, sizeof(spk));
            if (v[i].label[0])
                snprintf(label, sizeof(label), "%s", v[i].label);
            else
                snprintf(label, sizeof(label), "intro-%.12s", spk);
            printf("#%lld  %s  [%s]\n  sender_spk: %s\n  from zone:  %s\n  received:   %lld\n",
                   (long long)v[i].id, label, v[i].msg_exp - now > 0 ? "fresh" : "EXPIRED", spk,
                   v[i].zone, (long long)v[i].received_at);
            printf("  message:    ");
            if (v[i].plaintext.len > 120)
                printf("%.120s…\n", (const char *)v[i].plaintext.data);
            else
                printf("%.*s\n", (int)v[i].plaintext.len, (const char *)v[i].plaintext.data);
            printf("\n");
        }
        dmp_client_intros_free(v, n);
        dmp_client_session_free(&s);
        return 0;
    }
    int64_t id = intro_id(a.pos[0]);
    dmp_client_intro_t in;
    if (dmp_client_intros_get(s.intros, id, &in))
        dn_die(1, "no pending intro with id %s", a.pos[0]);
    char spk[65];
    dmp_hex_encode(in.sender_spk, 32, spk, sizeof(spk));
    if (strcmp(sub, "block") == 0) {
        if (dmp_client_intros_block(s.intros, in.sender_spk, a.val[0], now) ||
            dmp_client_intros_remove(s.intros, id))
            dn_die(2, "block_intro failed");
        printf("blocked intro #%lld\n  sender_spk: %s\n  future claims signed by this key will "
               "be silently dropped.\n",
               (long long)id, spk);
    } else if (strcmp(sub, "trust") == 0) {
        const char *remote = a.val[1] ? a.val[1] : "";
        dmp_client_contact_t ct;
        memset(&ct, 0, sizeof(ct));
        if (a.val[0])
            snprintf(ct.name, sizeof(ct.name), "%s", a.val[0]);
        else if (remote[0])
            snprintf(ct.name, sizeof(ct.name), "%s", remote);
        else
            snprintf(ct.name, sizeof(ct.name), "intro-%.12s", spk);
        dmp_client_contact_t *ex = dmp_client_config_contact(&s.cfg, ct.name);
        if (ex && ex->spk[0] && strcasecmp(ex->spk, spk) != 0)
            dn_die(1,
                   "contact `%s` already pinned to a different signing key (%.16s…); refusing to "
                   "overwrite with %.16s…. Re-run with --label <a-different-name> to keep both.",
                   ct.name, ex->spk, spk);
        if (ex && ex->domain[0] && strcmp(ex->domain, in.zone) != 0)
            dn_die(1,
                   "contact `%s` already pinned at zone `%s`; this intro is from `%s`. Re-run "
                   "with --label <a-different-name> to keep both.",
                   ct.name, ex->domain, in.zone);
        snprintf(ct.pub, sizeof(ct.pub), "%s", ex ? ex->pub : "");
        snprintf(ct.spk, sizeof(ct.spk), "%s", spk);
        snprintf(ct.domain, sizeof(ct.domain), "%s", in.zone);
        snprintf(ct.remote_username, sizeof(ct.remote_username), "%s", remote);
        ct.has_remote_username = true;
        if (dmp_client_config_contact_put(&s.cfg, &ct))
            dn_die(1, "out of memory");
        dn_save(&s); /* the pin first: losing the intro row then loses nothing */
        if (dmp_client_intros_remove(s.intros, id))
            dn_die(2, "trust_intro failed (raced removal?)");
        printf("trusted intro #%lld as `%s`\n", (long long)id, ct.name);
        print_body(in.plaintext.data, in.plaintext.len);
        if (remote[0])
            printf("  pinned signing key only — run `dnsmesh identity fetch %s@%s --add` to fill "
                   "in the X25519 key needed to reply.\n",
                   remote, in.zone);
        else
            printf("  pinned signing key only — run `dnsmesh identity fetch "
                   "<remote-username>@%s --add` to fill in the X25519 key needed to reply (pass "
                   "--username on trust to skip the prompt next time).\n",
                   in.zone);
    } else {
        if (dmp_client_intros_remove(s.intros, id))
            dn_die(1, "no pending intro with id %s", a.pos[0]);
        printf("accepted intro #%lld\n", (long long)id);
        print_body(in.plaintext.data, in.plaintext.len);
        printf("  (sender NOT pinned — `dnsmesh intro trust` if you want future messages from "
               "this key to bypass quarantine)\n");
    }
    dmp_buf_free_secret(&in.plaintext);
    dmp_client_session_free(&s);
    return 0;
}
