/* dnsmesh-admin: the operator API of a running node (POST /v1/admin {"op", "args"}, bearer
 * token), shared by the commands that act through --node. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "util/util.h"

static size_t curl_sink(char *p, size_t sz, size_t n, void *ctx)
{
    dmp_buf_t *b = ctx;
    if (b->len + sz * n > (8u << 20))
        return 0;
    return dmp_buf_append(b, p, sz * n) == 0 ? sz * n : 0;
}

int admin_remote(const char *node, const char *token, const char *op, json_t *args, json_t **res)
{
    const char *tok = token ? token : getenv("DMP_OPERATOR_TOKEN");
    if (!tok || !*tok)
        tok = getenv("DMP_HTTP_TOKEN");
    if (!tok || !*tok) {
        fprintf(stderr, "dnsmesh-admin: --node needs the operator token (--token or "
                        "$DMP_OPERATOR_TOKEN)\n(see dnsmesh-admin --help)\n");
        return 2;
    }
    char url[1024];
    size_t ul = strlen(node);
    while (ul && node[ul - 1] == '/')
        ul--;
    snprintf(url, sizeof(url), "%.*s/v1/admin", (int)ul, node);
    json_t *req = json_pack("{s:s,s:O}", "op", op, "args", args);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char auth[1100];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, auth);
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    dmp_buf_t b;
    dmp_buf_init(&b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    free(body);
    if (cc != CURLE_OK) {
        fprintf(stderr, "dnsmesh-admin: %s: %s\n", url, curl_easy_strerror(cc));
        dmp_buf_free(&b);
        return 1;
    }
    json_t *reply = json_loadb(b.data ? (const char *)b.data : "", b.len, 0, NULL);
    dmp_buf_free(&b);
    int rc = 0;
    if (status == 200 && reply) {
        *res = reply;
        return 0;
    }
    json_t *em = json_object_get(reply, "error");
    const char *msg = json_is_string(em) ? json_string_value(em) : "no JSON answer";
    if (status == 401)
        fprintf(stderr, "dnsmesh-admin: %s: unauthorized: wrong operator token\n", url);
    else if (status == 404)
        fprintf(stderr,
                "dnsmesh-admin: %s: not found: the node's admin API needs DMP_OPERATOR_TOKEN "
                "set on the node\n",
                url);
    else
        fprintf(stderr, "dnsmesh-admin: %s\n", msg);
    json_t *ex = json_object_get(reply, "exit");
    rc = json_is_integer(ex) ? (int)json_integer_value(ex) : 1;
    json_decref(reply);
    return rc ? rc : 1;
}
