/* dnsmesh-bench missfloor: a store's table files (every *.sst of a directory, opened read-only),
 * how much of them the page cache holds, and one sequential read of them. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_missfloor.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mf_open_tables(const char *dir, mf_files_t *fs)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "missfloor: cannot open %s\n", dir);
        return -1;
    }
    char *names[MF_MAX_FILES];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MF_MAX_FILES) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".sst") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    fs->n = 0;
    for (size_t i = 0; i < n; i++) {
        char p[4352];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        free(names[i]);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            fprintf(stderr, "missfloor: cannot open %s\n", p);
            if (fd >= 0)
                close(fd);
            continue;
        }
        fs->fd[fs->n] = fd;
        fs->size[fs->n++] = (uint64_t)st.st_size;
    }
    return fs->n ? 0 : -1;
}

void mf_resident(const mf_files_t *fs, uint64_t *res, uint64_t *pages)
{
    long pg = sysconf(_SC_PAGESIZE);
    *res = *pages = 0;
    for (size_t f = 0; f < fs->n; f++) {
        if (fs->size[f] == 0)
            continue;
        size_t np = (fs->size[f] + (uint64_t)pg - 1) / (uint64_t)pg;
        void *m = mmap(NULL, fs->size[f], PROT_READ, MAP_SHARED, fs->fd[f], 0);
        unsigned char *v = malloc(np);
        if (m != MAP_FAILED && v != NULL && mincore(m, fs->size[f], v) == 0) {
            for (size_t i = 0; i < np; i++)
                *res += v[i] & 1;
            *pages += np;
        }
        free(v);
        if (m != MAP_FAILED)
            munmap(m, fs->size[f]);
    }
}

double mf_warm(const mf_files_t *fs, char *buf, size_t len)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t f = 0; f < fs->n; f++) {
        for (uint64_t off = 0; off < fs->size[f];) {
            ssize_t r = pread(fs->fd[f], buf, len, (off_t)off);
            if (r <= 0)
                break;
            off += (uint64_t)r;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}
