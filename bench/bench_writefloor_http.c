/* dnsmesh-bench writefloor: request framing, /proc parsing and medians (bench_writefloor.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench_writefloor.h"

static const char *find_crlf2(const char *b, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
            return b + i;
    return NULL;
}

/* value of a header line [h, e) after its name of nl bytes and the colon, trimmed */
static void header_value(const char *h, const char *e, size_t nl, const char **v, size_t *vl)
{
    const char *p = h + nl + 1;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    const char *q = e;
    while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
        q--;
    *v = p;
    *vl = (size_t)(q - p);
}

static bool header_is(const char *h, const char *e, const char *name)
{
    size_t nl = strlen(name);
    return (size_t)(e - h) > nl && h[nl] == ':' && strncasecmp(h, name, nl) == 0;
}

ssize_t dmpb_wf_request_len(const char *buf, size_t len, size_t cap)
{
    const char *hend = find_crlf2(buf, len);
    if (hend == NULL)
        return len >= cap ? -1 : 0;
    const char *eol = memchr(buf, '\r', (size_t)(hend - buf) + 1);
    /* request line: METHOD SP target SP HTTP/1.x */
    const char *sp1 = memchr(buf, ' ', (size_t)(eol - buf));
    if (sp1 == NULL || sp1 == buf || eol - buf < 10 || memcmp(eol - 8, "HTTP/1.", 7) != 0 ||
        eol - 9 <= sp1 || eol[-9] != ' ')
        return -1;
    for (const char *p = buf; p < sp1; p++)
        if (*p < 'A' || *p > 'Z')
            return -1;
    long long clen = -1;
    for (const char *h = eol + 2; h < hend + 2;) {
        const char *e = memchr(h, '\r', (size_t)(hend + 2 - h));
        if (e == NULL || e == h)
            break;
        const char *v;
        size_t vl;
        if (header_is(h, e, "content-length")) {
            header_value(h, e, 14, &v, &vl);
            if (vl == 0 || vl > 12 || clen >= 0)
                return -1;
            long long n = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -1;
                n = n * 10 + (v[i] - '0');
            }
            clen = n;
        } else if (header_is(h, e, "transfer-encoding")) {
            return -1;
        }
        h = e + 2;
    }
    size_t hl = (size_t)(hend - buf) + 4;
    size_t total = hl + (size_t)(clen > 0 ? clen : 0);
    if (total > cap)
        return -1;
    return len >= total ? (ssize_t)total : 0;
}

int dmpb_wf_stat_ticks(const char *line, size_t len, uint64_t *ticks)
{
    /* pid (comm) state ppid ... : utime and stime are fields 14 and 15, the 12th and 13th
     * after the last ')' */
    const char *p = NULL;
    for (size_t i = len; i > 0; i--)
        if (line[i - 1] == ')') {
            p = line + i;
            break;
        }
    if (p == NULL)
        return -1;
    const char *end = line + len;
    uint64_t f[13];
    for (int k = 0; k < 13; k++) {
        if (p >= end || *p != ' ')
            return -1;
        p++;
        if (k == 0) { /* the state letter */
            if (p >= end || *p == ' ')
                return -1;
            p++;
            f[k] = 0;
            continue;
        }
        if (p >= end || ((*p < '0' || *p > '9') && *p != '-'))
            return -1;
        uint64_t n = 0;
        bool neg = *p == '-';
        if (neg)
            p++;
        while (p < end && *p >= '0' && *p <= '9')
            n = n * 10 + (uint64_t)(*p++ - '0');
        f[k] = neg ? 0 : n;
    }
    *ticks = f[11] + f[12];
    return 0;
}

int dmpb_wf_schedstat_ns(const char *line, size_t len, uint64_t *ns)
{
    uint64_t n = 0;
    size_t i = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9'; i++)
        n = n * 10 + (uint64_t)(line[i] - '0');
    if (i == 0 || (i < len && line[i] != ' ' && line[i] != '\n'))
        return -1;
    *ns = n;
    return 0;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double dmpb_wf_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, dcmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
