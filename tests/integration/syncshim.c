/* LD_PRELOAD shim for the durability and shutdown tests: records every fsync/fdatasync the
 * process makes (CLOCK_MONOTONIC start and end in ns, result, path of the descriptor) as one
 * line appended to $DMP_SYNCSHIM_LOG. With DMP_SYNCSHIM_NOOP=1 the calls return 0 without
 * syncing and without being recorded: what "fsync turned into a no-op" means, to show the test
 * then fails. While the file $DMP_SYNCSHIM_STALL exists, each call first sleeps
 * $DMP_SYNCSHIM_DELAY_MS (a stalled disk); while $DMP_SYNCSHIM_FAIL exists, each call fails
 * with EIO (a failing disk). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_log = -1;
static int g_noop;
static const char *g_stall;
static const char *g_fail;
static long g_delay_ms;

__attribute__((constructor)) static void shim_init(void)
{
    const char *p = getenv("DMP_SYNCSHIM_LOG");
    if (p && *p)
        g_log = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const char *n = getenv("DMP_SYNCSHIM_NOOP");
    g_noop = n && strcmp(n, "1") == 0;
    g_stall = getenv("DMP_SYNCSHIM_STALL");
    g_fail = getenv("DMP_SYNCSHIM_FAIL");
    const char *d = getenv("DMP_SYNCSHIM_DELAY_MS");
    g_delay_ms = d ? atol(d) : 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int wrap(int fd, int (*real)(int), const char *what)
{
    if (g_noop)
        return 0;
    if (g_stall && g_delay_ms > 0 && access(g_stall, F_OK) == 0) {
        struct timespec ts = {g_delay_ms / 1000, (g_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (g_fail && access(g_fail, F_OK) == 0) {
        errno = EIO; /* a failing disk */
        return -1;
    }
    int64_t t0 = now_ns();
    int r = real ? real(fd) : -1;
    int64_t t1 = now_ns();
    if (g_log >= 0) {
        char link[64], path[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof(path) - 1);
        path[n > 0 ? n : 0] = 0;
        char line[700];
        int len = snprintf(line, sizeof(line), "%s %lld %lld %d %s\n", what, (long long)t0,
                           (long long)t1, r, path);
        if (len > 0 && (size_t)len < sizeof(line))
            (void)!write(g_log, line, (size_t)len); /* O_APPEND: one line per write */
    }
    return r;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    return wrap(fd, real, "fsync");
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    return wrap(fd, real, "fdatasync");
}
