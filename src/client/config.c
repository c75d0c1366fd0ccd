/* client: config.yaml of the reference CLI (client.md §6.4): libyaml parse and emit, every field
 * with the reference's name and default; written sorted like yaml.safe_dump(sort_keys=True),
 * 0600, atomically (temp file + rename). */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "client/client.h"
#include "util/util.h"

typedef enum { F_STR, F_OPTSTR, F_INT, F_BOOL, F_LIST, F_CONTACTS } ftype_t;

typedef struct {
    const char *key;
    ftype_t t;
    size_t off;
    size_t size;   /* F_STR / F_OPTSTR capacity */
    size_t setoff; /* F_OPTSTR: offset of the bool */
} field_t;

#define S(f) #f, F_STR, offsetof(dmp_client_config_t, f), sizeof(((dmp_client_config_t *)0)->f), 0
#define O(f)                                                                                       \
#f, F_OPTSTR, offsetof(dmp_client_config_t, f), sizeof(((dmp_client_config_t *)0)->f),         \
        offsetof(dmp_client_config_t, f##_set)
#define I(f) #f, F_INT, offsetof(dmp_client_config_t, f), 0, 0
#define B(f) #f, F_BOOL, offsetof(dmp_client_config_t, f), 0, 0

/* sorted by key: the order yaml.safe_dump(sort_keys=True) writes */
static const field_t fields[] = {
    {B(allow_tofu)},
    {S(bootstrap_signer_spk)},
    {S(bootstrap_user_domain)},
    {S(claim_provider_override)},
    {S(claim_provider_zone)},
    {S(cluster_base_domain)},
    {B(cluster_enabled)},
    {S(cluster_node_token)},
    {S(cluster_operator_spk)},
    {I(cluster_refresh_interval)},
    {"contacts", F_CONTACTS, 0, 0, 0},
    {O(dns_host)},
    {I(dns_port)},
    {"dns_resolvers", F_LIST, 0, 0, 0},
    {B(dnssec_required)},
    {S(domain)},
    {S(endpoint)},
    {O(http_token)},
    {S(identity_domain)},
    {S(kdf_salt)},
    {I(local_node_dns_port)},
    {S(local_node_dns_server)},
    {O(passphrase_file)},
    {I(recv_primary_interval_seconds)},
    {B(recv_secondary_disable)},
    {I(recv_secondary_interval_seconds)},
    {S(tsig_algorithm)},
    {I(tsig_dns_port)},
    {S(tsig_dns_server)},
    {S(tsig_key_name)},
    {S(tsig_secret_hex)},
    {S(tsig_zone)},
    {S(username)},
    {S(verify_pubkey)},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

void dmp_client_config_defaults(dmp_client_config_t *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->domain, "mesh.local");
    c->dns_port = 5353;
    c->cluster_refresh_interval = 3600;
    strcpy(c->tsig_algorithm, "hmac-sha256");
    c->tsig_dns_port = 53;
    c->recv_primary_interval_seconds = 30;
    c->recv_secondary_interval_seconds = 600;
}

void dmp_client_config_free(dmp_client_config_t *c)
{
    if (!c)
        return;
    free(c->dns_resolvers);
    if (c->contacts)
        dmp_wipe(c->contacts, c->n_contacts * sizeof(*c->contacts));
    free(c->contacts);
    dmp_wipe(c->tsig_secret_hex, sizeof(c->tsig_secret_hex));
    dmp_wipe(c->http_token, sizeof(c->http_token));
    c->dns_resolvers = NULL;
    c->contacts = NULL;
    c->n_resolvers = c->n_contacts = 0;
}

/* The resolver and contact arrays hold n entries in a capacity of 4, then the next power of two
 * (no capacity field: it follows from n), so n appends cost O(n) copying, not O(n^2). */
static bool needs_room(size_t n)
{
    return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

static size_t grown(size_t n)
{
    return n == 0 ? 4 : 2 * n;
}

int dmp_client_config_add_resolver(dmp_client_config_t *c, const char *r)
{
    if (strlen(r) >= sizeof(c->dns_resolvers[0]))
        return DMP_ETOOBIG;
    char(*v)[80] = c->dns_resolvers;
    if (needs_room(c->n_resolvers)) {
        v = realloc(v, grown(c->n_resolvers) * sizeof(*v));
        if (!v)
            return DMP_ENOMEM;
        c->dns_resolvers = v;
    }
    snprintf(v[c->n_resolvers++], sizeof(v[0]), "%s", r);
    return 0;
}

dmp_client_contact_t *dmp_client_config_contact(dmp_client_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_contacts; i++)
        if (strcmp(c->contacts[i].name, name) == 0)
            return &c->contacts[i];
    return NULL;
}

int dmp_client_config_contact_put(dmp_client_config_t *c, const dmp_client_contact_t *ct)
{
    dmp_client_contact_t *e = dmp_client_config_contact(c, ct->name);
    if (e) {
        *e = *ct;
        return 0;
    }
    dmp_client_contact_t *v = c->contacts;
    if (needs_room(c->n_contacts)) {
        v = realloc(v, grown(c->n_contacts) * sizeof(*v));
        if (!v)
            return DMP_ENOMEM;
        c->contacts = v;
    }
    v[c->n_contacts++] = *ct;
    return 0;
}

/* ---------------------------------------------------------------- parse */

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0 || strcmp(v, "~") == 0;
}

static int scalar(const yaml_node_t *n, const char **v, size_t *len)
{
    if (n->type != YAML_SCALAR_NODE)
        return DMP_EFORMAT;
    *v = (const char *)n->data.scalar.value;
    *len = n->data.scalar.length;
    return 0;
}

static int put_str(char *dst, size_t cap, const yaml_node_t *n)
{
    const char *v;
    size_t l;
    if (is_null(n)) { /* the reference's `data.get(k, "") or ""` */
        dst[0] = 0;
        return 0;
    }
    if (scalar(n, &v, &l) || l >= cap || memchr(v, 0, l))
        return DMP_EFORMAT;
    memcpy(dst, v, l);
    dst[l] = 0;
    return 0;
}

static int parse_bool(const yaml_node_t *n, bool *out)
{
    const char *v;
    size_t l;
    if (is_null(n)) {
        *out = false;
        return 0;
    }
    if (scalar(n, &v, &l))
        return DMP_EFORMAT;
    static const char *const t[] = {"true", "yes", "on", "y"};
    static const char *const f[] = {"false", "no", "off", "n"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    int64_t x; /* bool(int) */
    if (dmp_parse_i64(v, INT64_MIN, INT64_MAX, &x) == 0) {
        *out = x != 0;
        return 0;
    }
    *out = l > 0; /* bool("text") */
    return 0;
}

static int parse_int(const yaml_node_t *n, int64_t *out)
{
    const char *v;
    size_t l;
    if (scalar(n, &v, &l) || dmp_parse_i64(v, -(1LL << 53), 1LL << 53, out))
        return DMP_EFORMAT;
    return 0;
}

static int parse_contacts(yaml_document_t *doc, const yaml_node_t *n, dmp_client_config_t *c)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return DMP_EFORMAT;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        if (!k || !v)
            return DMP_EFORMAT;
        dmp_client_contact_t ct;
        memset(&ct, 0, sizeof(ct));
        if (put_str(ct.name, sizeof(ct.name), k) || !ct.name[0])
            return DMP_EFORMAT;
        if (v->type == YAML_SCALAR_NODE) { /* legacy: name -> pub hex */
            if (put_str(ct.pub, sizeof(ct.pub), v))
                return DMP_EFORMAT;
        } else if (v->type == YAML_MAPPING_NODE) {
            ct.has_remote_username = false;
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *kk = yaml_document_get_node(doc, q->key);
                yaml_node_t *vv = yaml_document_get_node(doc, q->value);
                const char *ks;
                size_t kl;
                if (!kk || !vv || scalar(kk, &ks, &kl))
                    return DMP_EFORMAT;
                int rc = 0;
                if (strcmp(ks, "pub") == 0)
                    rc = put_str(ct.pub, sizeof(ct.pub), vv);
                else if (strcmp(ks, "spk") == 0)
                    rc = put_str(ct.spk, sizeof(ct.spk), vv);
                else if (strcmp(ks, "domain") == 0)
                    rc = put_str(ct.domain, sizeof(ct.domain), vv);
                else if (strcmp(ks, "remote_username") == 0)
                    rc = put_str(ct.remote_username, sizeof(ct.remote_username), vv);
                if (rc)
                    return rc;
            }
            /* the reference's load always adds remote_username to a dict entry */
            ct.has_remote_username = true;
        } else {
            continue; /* the reference ignores other shapes */
        }
        int rc = dmp_client_config_contact_put(c, &ct);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_list(yaml_document_t *doc, const yaml_node_t *n, dmp_client_config_t *c)
{
    if (is_null(n))
        return 0;
    if (n->type == YAML_SCALAR_NODE) { /* a scalar string is tolerated */
        char tmp[80];
        if (put_str(tmp, sizeof(tmp), n))
            return DMP_EFORMAT;
        return dmp_client_config_add_resolver(c, tmp);
    }
    if (n->type != YAML_SEQUENCE_NODE)
        return DMP_EFORMAT;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *v = yaml_document_get_node(doc, *it);
        char tmp[80];
        if (!v || put_str(tmp, sizeof(tmp), v))
            return DMP_EFORMAT;
        int rc = dmp_client_config_add_resolver(c, tmp);
        if (rc)
            return rc;
    }
    return 0;
}

int dmp_client_config_parse(const uint8_t *buf, size_t len, dmp_client_config_t *c, char *err,
                            size_t errcap)
{
    if ((!buf && len) || !c)
        return DMP_EINVAL;
    dmp_client_config_defaults(c);
    if (err && errcap)
        err[0] = 0;
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p))
        return DMP_ENOMEM;
    yaml_parser_set_input_string(&p, buf ? buf : (const uint8_t *)"", len);
    if (!yaml_parser_load(&p, &doc)) {
        if (err)
            snprintf(err, errcap, "YAML error at line %zu: %s", p.problem_mark.line + 1,
                     p.problem ? p.problem : "malformed");
        yaml_parser_delete(&p);
        return DMP_EFORMAT;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || is_null(root))
        goto done; /* empty file: every default (yaml.safe_load -> None -> {}) */
    if (root->type != YAML_MAPPING_NODE) {
        rc = DMP_EFORMAT;
        if (err)
            snprintf(err, errcap, "config is not a mapping");
        goto done;
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
         pr < root->data.mapping.pairs.top && !rc; pr++) {
        yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
        const char *ks;
        size_t kl;
        if (!k || !v || scalar(k, &ks, &kl))
            continue;
        const field_t *f = NULL;
        for (size_t i = 0; i < NFIELDS; i++)
            if (strcmp(fields[i].key, ks) == 0)
                f = &fields[i];
        if (!f)
            continue; /* unknown keys are ignored, as the reference does */
        char *base = (char *)c;
        switch (f->t) {
        case F_STR:
            rc = put_str(base + f->off, f->size, v);
            break;
        case F_OPTSTR:
            *(bool *)(base + f->setoff) = !is_null(v);
            rc = put_str(base + f->off, f->size, v);
            break;
        case F_INT:
            rc = parse_int(v, (int64_t *)(base + f->off));
            break;
        case F_BOOL:
            rc = parse_bool(v, (bool *)(base + f->off));
            break;
        case F_LIST:
            rc = parse_list(&doc, v, c);
            break;
        case F_CONTACTS:
            rc = parse_contacts(&doc, v, c);
            break;
        }
        if (rc && err)
            snprintf(err, errcap, "bad value for %s", f->key);
    }
done:
    yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    if (rc && rc != DMP_ENOMEM && err && !err[0])
        snprintf(err, errcap, "malformed config");
    return rc;
}

/* ---------------------------------------------------------------- emit */

/* PyYAML's implicit resolvers (YAML 1.1): a plain scalar matching one of these would read back
 * as something other than a string, so safe_dump quotes it; we quote exactly those. */
static const char *const implicit_re[] = {
    "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
    "^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?|"
    "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$",
    "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|"
    "[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
    "^(<<|=|~|null|Null|NULL)$",
    "^([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
    "([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](\\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9]"
    "[0-9])?))?)$",
};
#define N_IMPLICIT (sizeof(implicit_re) / sizeof(implicit_re[0]))
static regex_t implicit[N_IMPLICIT];
static bool implicit_ok;
static pthread_once_t implicit_once = PTHREAD_ONCE_INIT;

static void implicit_init(void)
{
    implicit_ok = true;
    for (size_t i = 0; i < N_IMPLICIT; i++)
        if (regcomp(&implicit[i], implicit_re[i], REG_EXTENDED | REG_NOSUB) != 0)
            implicit_ok = false;
}

static bool needs_quotes(const char *s)
{
    if (!*s)
        return true;
    pthread_once(&implicit_once, implicit_init);
    if (!implicit_ok)
        return true; /* quoting is always a correct encoding */
    for (size_t i = 0; i < N_IMPLICIT; i++)
        if (regexec(&implicit[i], s, 0, NULL, 0) == 0)
            return true;
    return false;
}

typedef struct {
    yaml_emitter_t em;
    bool ok;
} emit_t;

static void ev(emit_t *e, yaml_event_t *event, int made)
{
    if (!made || !yaml_emitter_emit(&e->em, event))
        e->ok = false;
}

static void str(emit_t *e, const char *s)
{
    yaml_event_t event;
    bool q = needs_quotes(s);
    ev(e, &event,
       yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                    q ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE));
}

static void plain(emit_t *e, const char *s)
{
    yaml_event_t event;
    ev(e, &event,
       yaml_scalar_event_initialize(&event, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                    YAML_PLAIN_SCALAR_STYLE));
}

static void map_start(emit_t *e, bool empty)
{
    yaml_event_t event;
    ev(e, &event,
       yaml_mapping_start_event_initialize(
           &event, NULL, NULL, 1, empty ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE));
}

static void map_end(emit_t *e)
{
    yaml_event_t event;
    ev(e, &event, yaml_mapping_end_event_initialize(&event));
}

static int write_handler(void *data, unsigned char *buffer, size_t size)
{
    return dmp_buf_append(data, buffer, size) == 0;
}

static int cmp_contact(const void *a, const void *b)
{
    return strcmp(((const dmp_client_contact_t *)a)->name, ((const dmp_client_contact_t *)b)->name);
}

int dmp_client_config_emit(const dmp_client_config_t *c, dmp_buf_t *out)
{
    emit_t e = {.ok = true};
    if (!yaml_emitter_initialize(&e.em))
        return DMP_ENOMEM;
    yaml_emitter_set_output(&e.em, write_handler, out);
    yaml_emitter_set_unicode(&e.em, 1);
    yaml_event_t event;
    ev(&e, &event, yaml_stream_start_event_initialize(&event, YAML_UTF8_ENCODING));
    ev(&e, &event, yaml_document_start_event_initialize(&event, NULL, NULL, NULL, 1));
    map_start(&e, false);
    const char *base = (const char *)c;
    char num[32];
    dmp_client_contact_t *sorted = NULL;
    for (size_t i = 0; i < NFIELDS && e.ok; i++) {
        const field_t *f = &fields[i];
        plain(&e, f->key);
        switch (f->t) {
        case F_STR:
            str(&e, base + f->off);
            break;
        case F_OPTSTR:
            if (*(const bool *)(base + f->setoff))
                str(&e, base + f->off);
            else
                plain(&e, "null");
            break;
        case F_INT:
            snprintf(num, sizeof(num), "%lld", (long long)*(const int64_t *)(base + f->off));
            plain(&e, num);
            break;
        case F_BOOL:
            plain(&e, *(const bool *)(base + f->off) ? "true" : "false");
            break;
        case F_LIST:
            ev(&e, &event,
               yaml_sequence_start_event_initialize(&event, NULL, NULL, 1,
                                                    c->n_resolvers ? YAML_BLOCK_SEQUENCE_STYLE
                                                                   : YAML_FLOW_SEQUENCE_STYLE));
            for (size_t j = 0; j < c->n_resolvers; j++)
                str(&e, c->dns_resolvers[j]);
            ev(&e, &event, yaml_sequence_end_event_initialize(&event));
            break;
        case F_CONTACTS:
            map_start(&e, c->n_contacts == 0);
            if (c->n_contacts) {
                sorted = malloc(c->n_contacts * sizeof(*sorted));
                if (!sorted) {
                    e.ok = false;
                    break;
                }
                memcpy(sorted, c->contacts, c->n_contacts * sizeof(*sorted));
                qsort(sorted, c->n_contacts, sizeof(*sorted), cmp_contact);
            }
            for (size_t j = 0; j < c->n_contacts && e.ok; j++) {
                const dmp_client_contact_t *ct = &sorted[j];
                str(&e, ct->name);
                map_start(&e, false);
                plain(&e, "domain");
                str(&e, ct->domain);
                plain(&e, "pub");
                str(&e, ct->pub);
                if (ct->has_remote_username) {
                    plain(&e, "remote_username");
                    str(&e, ct->remote_username);
                }
                plain(&e, "spk");
                str(&e, ct->spk);
                map_end(&e);
            }
            if (sorted) {
                dmp_wipe(sorted, c->n_contacts * sizeof(*sorted));
                free(sorted);
                sorted = NULL;
            }
            map_end(&e);
            break;
        }
    }
    map_end(&e);
    ev(&e, &event, yaml_document_end_event_initialize(&event, 1));
    ev(&e, &event, yaml_stream_end_event_initialize(&event));
    yaml_emitter_delete(&e.em);
    return e.ok ? 0 : DMP_EFORMAT;
}
