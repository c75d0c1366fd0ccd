/* Integration-test helpers (see itest.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"
#include "itest.h"

extern char **environ;
const char *itest_bin;

int itest_init(int argc, char **argv, const char *usage_more)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s /path/to/dnsmeshd%s%s\n", argv[0], usage_more ? " " : "",
                usage_more ? usage_more : "");
        return 77;
    }
    itest_bin = argv[1];
    if (access(itest_bin, X_OK) != 0) {
        fprintf(stderr, "skip: %s is not executable\n", itest_bin);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)time(NULL));
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int itest_node_init(itest_node_t *n)
{
    memset(n, 0, sizeof(*n));
    n->pid = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(n->dir, sizeof(n->dir), "%s/dmp-itest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(n->dir))
        return -1;
    n->own_dir = true;
    snprintf(n->db, sizeof(n->db), "%s/store", n->dir);
    snprintf(n->host, sizeof(n->host), "127.0.0.1");
    return 0;
}

/* Builds the child's environment: ours minus DMP_*, the test defaults, then env. */
static char **child_env(const itest_node_t *n, const char *const *env, char *bufs, size_t bcap)
{
    size_t cnt = 0;
    for (char **e = environ; *e; e++)
        cnt++;
    for (const char *const *e = env; e && *e; e++)
        cnt++;
    char **out = calloc(cnt + 16, sizeof(char *));
    if (!out)
        return NULL;
    size_t k = 0;
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "DMP_", 4) != 0)
            out[k++] = *e;
    }
    size_t off = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int w_ = snprintf(bufs + off, bcap - off, __VA_ARGS__);                                    \
        out[k++] = bufs + off;                                                                     \
        off += (size_t)w_ + 1;                                                                     \
    } while (0)
    ADD("DMP_DB_PATH=%s", n->db);
    ADD("DMP_DNS_HOST=%s", n->host);
    ADD("DMP_HTTP_HOST=%s", n->host);
    ADD("DMP_DNS_PORT=0");
    ADD("DMP_HTTP_PORT=0");
    ADD("DMP_PORTS_FILE=%s/ports", n->dir);
    ADD("DMP_LOG_LEVEL=warning");
    ADD("DMP_FRONTENDS=1");
    ADD("DMP_SHARDS=2");
    ADD("DMP_DNS_RATE=0");
    ADD("DMP_HTTP_RATE=0");
    ADD("DMP_CACHE_MB=4");
#undef ADD
    /* later entries win: drop earlier duplicates of each env key */
    for (const char *const *e = env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        size_t kl = eq ? (size_t)(eq - *e) + 1 : strlen(*e);
        for (size_t i = 0; i < k; i++) {
            if (out[i] && strncmp(out[i], *e, kl) == 0) {
                for (size_t j = i; j + 1 < k; j++)
                    out[j] = out[j + 1];
                k--;
                i--;
            }
        }
        out[k++] = (char *)*e;
    }
    out[k] = NULL;
    return out;
}

static bool read_ports(itest_node_t *n)
{
    char path[320], line[256];
    snprintf(path, sizeof(path), "%s/ports", n->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = false;
    if (fgets(line, sizeof(line), f)) {
        const char *d = strstr(line, "dns="), *h = strstr(line, "http=");
        if (d && h) {
            const char *dc = strchr(d, ' ');
            const char *dp = d;
            /* last ':' before the space */
            const char *colon = NULL;
            for (const char *p = dp; p < dc; p++)
                if (*p == ':')
                    colon = p;
            const char *hcolon = strrchr(h, ':');
            if (colon && hcolon) {
                n->dns_port = atoi(colon + 1);
                n->http_port = atoi(hcolon + 1);
                ok = n->dns_port > 0 && n->http_port > 0;
            }
        }
    }
    fclose(f);
    return ok;
}

/* In a forked child before its exec: the child gets SIGTERM when the test process ends, so a
 * test that stops at a failed assertion (before it stops its nodes) leaves none running. */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(125); /* the test process ended before prctl */
}

int itest_node_start(itest_node_t *n, const char *const *env)
{
    char bufs[4096];
    char ports[320];
    snprintf(ports, sizeof(ports), "%s/ports", n->dir);
    unlink(ports);
    char **cenv = child_env(n, env, bufs, sizeof(bufs));
    if (!cenv)
        return -1;
    char logp[320];
    snprintf(logp, sizeof(logp), "%s/log", n->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        free(cenv);
        return -1;
    }
    if (pid == 0) {
        die_with_parent(parent);
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        if (n->nofile_soft || n->nofile_hard) {
            struct rlimit rl;
            getrlimit(RLIMIT_NOFILE, &rl);
            if (n->nofile_hard)
                rl.rlim_max = (rlim_t)n->nofile_hard;
            if (n->nofile_soft)
                rl.rlim_cur = (rlim_t)n->nofile_soft;
            if (rl.rlim_cur > rl.rlim_max)
                rl.rlim_cur = rl.rlim_max;
            if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                _exit(126);
        }
        char *argv[] = {(char *)itest_bin, NULL};
        execve(itest_bin, argv, cenv);
        _exit(127);
    }
    free(cenv);
    n->pid = pid;
    int64_t deadline = mono_ms() + 20000;
    while (mono_ms() < deadline) {
        if (read_ports(n))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            n->pid = -1;
            fprintf(stderr, "itest: dnsmeshd exited early (status %d); log %s\n", st, logp);
            return -1;
        }
        sleep_ms(20);
    }
    fprintf(stderr, "itest: dnsmeshd did not report its ports\n");
    itest_node_stop(n, SIGKILL);
    return -1;
}

int itest_node_stop(itest_node_t *n, int sig)
{
    if (n->pid <= 0)
        return -1;
    kill(n->pid, sig);
    int64_t deadline = mono_ms() + 15000;
    int st = 0;
    while (mono_ms() < deadline) {
        pid_t r = waitpid(n->pid, &st, WNOHANG);
        if (r == n->pid) {
            n->pid = -1;
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
            return -1;
        }
        sleep_ms(10);
    }
    kill(n->pid, SIGKILL);
    waitpid(n->pid, &st, 0);
    n->pid = -1;
    return -1;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

void itest_node_cleanup(itest_node_t *n)
{
    if (n->pid > 0)
        itest_node_stop(n, SIGKILL);
    if (n->own_dir && strstr(n->dir, "/dmp-itest-"))
        nftw(n->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    n->own_dir = false;
}

int itest_run_once(const char *const *env, const char *const *argv, char *err, size_t errcap)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    size_t cnt = 0;
    for (char **e = environ; *e; e++)
        cnt++;
    for (const char *const *e = env; e && *e; e++)
        cnt++;
    char **cenv = calloc(cnt + 1, sizeof(char *));
    size_t k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "DMP_", 4) != 0)
            cenv[k++] = *e;
    for (const char *const *e = env; e && *e; e++)
        cenv[k++] = (char *)*e;
    char *av[32];
    size_t a = 0;
    av[a++] = (char *)itest_bin;
    for (const char *const *p = argv; p && *p && a < 31; p++)
        av[a++] = (char *)*p;
    av[a] = NULL;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        die_with_parent(parent);
        dup2(pfd[1], 2);
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1);
        close(pfd[0]);
        execve(itest_bin, av, cenv);
        _exit(127);
    }
    free(cenv);
    close(pfd[1]);
    size_t got = 0;
    int64_t deadline = mono_ms() + 10000;
    while (mono_ms() < deadline && got + 1 < errcap) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = read(pfd[0], err + got, errcap - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    err[got] = 0;
    close(pfd[0]);
    int st = 0;
    while (mono_ms() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* ---- DNS ---- */
size_t itest_build_query(uint8_t *b, size_t cap, uint16_t id, const char *name, uint16_t qtype,
                         int edns_payload, uint8_t edns_version, uint8_t opcode)
{
    if (cap < 512)
        return 0;
    memset(b, 0, 12);
    b[0] = (uint8_t)(id >> 8);
    b[1] = (uint8_t)id;
    b[2] = (uint8_t)(opcode << 3);
    b[5] = 1; /* qdcount */
    if (edns_payload >= 0)
        b[11] = 1;
    size_t o = 12;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || o + l + 1 > 300)
            return 0;
        b[o++] = (uint8_t)l;
        memcpy(b + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    b[o++] = 0;
    b[o++] = (uint8_t)(qtype >> 8);
    b[o++] = (uint8_t)qtype;
    b[o++] = 0;
    b[o++] = 1; /* IN */
    if (edns_payload >= 0) {
        b[o++] = 0; /* root */
        b[o++] = 0;
        b[o++] = 41; /* OPT */
        b[o++] = (uint8_t)(edns_payload >> 8);
        b[o++] = (uint8_t)edns_payload;
        b[o++] = 0; /* ext rcode */
        b[o++] = edns_version;
        b[o++] = 0;
        b[o++] = 0; /* flags */
        b[o++] = 0;
        b[o++] = 0; /* rdlen */
    }
    return o;
}

static int mk_addr(const itest_node_t *n, int port, struct sockaddr_storage *ss, socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(n->host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, n->host, &a->sin6_addr);
        *sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, n->host, &a->sin_addr);
        *sl = sizeof(*a);
    }
    return ss->ss_family;
}

/* "host:port" / "[v6]:port" of the node's DNS listener, for the client library. */
static void dns_server(const itest_node_t *n, char *out, size_t cap)
{
    if (strchr(n->host, ':'))
        snprintf(out, cap, "[%s]:%d", n->host, n->dns_port);
    else
        snprintf(out, cap, "%s:%d", n->host, n->dns_port);
}

/* Through the client library's raw exchange (the same socket code dnsmesh uses). */
int itest_udp(const itest_node_t *n, const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
              int timeout_ms)
{
    char srv[96];
    dns_server(n, srv, sizeof(srv));
    size_t rl = 0;
    int rc = dmp_client_dns_raw(srv, false, q, qlen, resp, cap, &rl, timeout_ms);
    if (rc == DMP_EAGAIN)
        return 0;
    return rc ? -1 : (int)rl;
}

int itest_connect_tcp(const itest_node_t *n, int port)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fam = mk_addr(n, port, &ss, &sl);
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int itest_tcp(const itest_node_t *n, const uint8_t *q, size_t qlen, uint8_t *resp, size_t cap,
              int timeout_ms)
{
    char srv[96];
    dns_server(n, srv, sizeof(srv));
    size_t rl = 0;
    int rc = dmp_client_dns_raw(srv, true, q, qlen, resp, cap, &rl, timeout_ms);
    if (rc == DMP_ENOTFOUND)
        return 0; /* closed without an answer */
    return rc ? -1 : (int)rl;
}

/* ---- HTTP ---- */
/* Through the client library's HTTP client (libcurl). */
int itest_http(const itest_node_t *n, const char *method, const char *path,
               const char *extra_headers, const char *body, size_t body_len, char *resp_body,
               size_t cap)
{
    char ep[128];
    if (strchr(n->host, ':'))
        snprintf(ep, sizeof(ep), "http://[%s]:%d", n->host, n->http_port);
    else
        snprintf(ep, sizeof(ep), "http://%s:%d", n->host, n->http_port);
    dmp_client_http_t h;
    if (dmp_client_http_init(&h, ep, NULL, 1))
        return -1;
    h.timeout_ms = 10000;
    int status = 0;
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_client_http_raw(&h, method, path, extra_headers, (const uint8_t *)body,
                                 body ? body_len : 0, &status, &b);
    dmp_client_http_free(&h);
    if (resp_body && cap)
        snprintf(resp_body, cap, "%.*s", (int)b.len, b.data ? (const char *)b.data : "");
    dmp_buf_free(&b);
    return rc || status == 0 ? -1 : status;
}
