/* client: the config home (client.md §6.1, §6.5): paths, atomic 0600 writes, config load/save. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/client.h"
#include "util/util.h"

static int home_base(char *out, size_t cap, const char *leaf)
{
    const char *h = getenv("HOME");
    if (!h || !*h)
        return DMP_ENOTFOUND;
    int n = snprintf(out, cap, "%s/.dmp%s%s", h, leaf ? "/" : "", leaf ? leaf : "");
    return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
}

int dmp_client_home_dir(char *out, size_t cap)
{
    const char *e = getenv("DMP_CONFIG_HOME");
    if (e && *e) {
        int n = snprintf(out, cap, "%s", e);
        return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
    }
    return home_base(out, cap, NULL);
}

int dmp_client_tokens_dir(char *out, size_t cap)
{
    const char *e = getenv("DMP_TOKENS_HOME");
    if (e && *e) {
        int n = snprintf(out, cap, "%s", e);
        return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
    }
    return home_base(out, cap, "tokens");
}

int dmp_client_home_path(const char *leaf, char *out, size_t cap)
{
    char dir[DMP_CLIENT_PATH];
    int rc = dmp_client_home_dir(dir, sizeof(dir));
    if (rc)
        return rc;
    int n = snprintf(out, cap, "%s/%s", dir, leaf);
    return n < 0 || (size_t)n >= cap ? DMP_ETOOBIG : 0;
}

int dmp_client_mkdirs(const char *dir, mode_t mode)
{
    char tmp[DMP_CLIENT_PATH];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(tmp))
        return DMP_EINVAL;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return DMP_ESYS;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return DMP_ESYS;
    return 0;
}

/* The parent directory of path is created (0700) when missing. */
int dmp_client_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[DMP_CLIENT_PATH + 32], dir[DMP_CLIENT_PATH];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = dmp_client_mkdirs(dir, 0700);
        if (rc)
            return rc;
    }
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return DMP_ETOOBIG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return DMP_ESYS;
    (void)fchmod(fd, mode); /* umask may have narrowed or the file pre-existed */
    const uint8_t *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return DMP_EIO;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp);
        return DMP_EIO;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return DMP_ESYS;
    }
    return 0;
}

int dmp_client_read_file(const char *path, size_t max, dmp_buf_t *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? DMP_ENOTFOUND : DMP_ESYS;
    uint8_t chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (out->len + n > max) {
            rc = DMP_ETOOBIG;
            break;
        }
        if ((rc = dmp_buf_append(out, chunk, n)))
            break;
    }
    if (!rc && ferror(f))
        rc = DMP_EIO;
    fclose(f);
    return rc;
}

int dmp_client_config_load(const char *path, dmp_client_config_t *c, char *err, size_t errcap)
{
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_client_read_file(path, 4 << 20, &b);
    if (rc) {
        dmp_client_config_defaults(c);
        dmp_buf_free(&b);
        if (err && errcap)
            snprintf(err, errcap, rc == DMP_ENOTFOUND ? "no config at %s" : "cannot read %s", path);
        return rc;
    }
    rc = dmp_client_config_parse(b.data, b.len, c, err, errcap);
    dmp_buf_free_secret(&b);
    return rc;
}

int dmp_client_config_save(const char *path, const dmp_client_config_t *c)
{
    dmp_buf_t b;
    dmp_buf_init(&b);
    int rc = dmp_client_config_emit(c, &b);
    if (!rc)
        rc = dmp_client_write_atomic(path, b.data, b.len, 0600);
    dmp_buf_free_secret(&b);
    return rc;
}
