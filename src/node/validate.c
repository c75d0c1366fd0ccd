/* node: record name / value rules of the reference's HTTP API and record-path parsing. */
#include <string.h>

#include "node/node.h"
#include "wire/wire.h"

/* node.md §3.2 rule 10: the rule lives in wire, shared with every other record-name check */
bool dmp_node_name_valid(const char *name, size_t len)
{
    return dmp_wire_http_name_check(name, len) == 0;
}

bool dmp_node_value_safe(const uint8_t *v, size_t len)
{
    /* no early exit: the compiler vectorises this (a bulk load checks gigabytes with it) */
    unsigned bad = 0;
    for (size_t i = 0; i < len; i++)
        bad |= (unsigned)(v[i] == '"') | (unsigned)(v[i] < 0x20) | (unsigned)(v[i] == 0x7f);
    return bad == 0;
}

/* Python's str.strip() whitespace within ASCII: \t \n \v \f \r, 0x1c..0x1f and space. */
static bool py_space(unsigned char c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
}

int dmp_node_record_path(const char *path, size_t len, char *out, size_t cap, size_t *out_len)
{
    static const char prefix[] = "/v1/records/";
    const size_t plen = sizeof(prefix) - 1;
    if (!path || len <= plen || memcmp(path, prefix, plen) != 0)
        return DMP_ENOTFOUND;
    const char *seg = path + plen;
    size_t seglen = len - plen;
    if (seg[seglen - 1] == '/')
        seglen--; /* one optional trailing slash */
    if (seglen == 0)
        return DMP_ENOTFOUND;
    for (size_t i = 0; i < seglen; i++) {
        if (seg[i] == '/' || seg[i] == 0)
            return DMP_ENOTFOUND;
    }
    /* percent-decode (invalid escapes stay literal, as urllib.parse.unquote) */
    size_t o = 0;
    for (size_t i = 0; i < seglen; i++) {
        unsigned char c = (unsigned char)seg[i];
        if (c == '%' && i + 2 < seglen) {
            int h = dmp_hex_digit(seg[i + 1]), l = dmp_hex_digit(seg[i + 2]);
            if (h >= 0 && l >= 0) {
                c = (unsigned char)(h << 4 | l);
                i += 2;
            }
        }
        if (o + 1 >= cap)
            return DMP_ETOOBIG;
        out[o++] = (char)c;
    }
    /* strip whitespace both ends, then trailing dots */
    size_t s = 0;
    while (s < o && py_space((unsigned char)out[s]))
        s++;
    while (o > s && py_space((unsigned char)out[o - 1]))
        o--;
    while (o > s && out[o - 1] == '.')
        o--;
    if (s)
        memmove(out, out + s, o - s);
    o -= s;
    out[o] = 0;
    *out_len = o;
    return 0;
}
