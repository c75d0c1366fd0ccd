/* Shared by the cluster unit tests' in-memory transports: a request URL's path and its
 * cursor=/limit= query parameters, split as the node's HTTP layer hands them to
 * dmp_cluster_serve. */
#ifndef DMP_TEST_CLUSTER_URL_H
#define DMP_TEST_CLUSTER_URL_H

#include <stdio.h>
#include <string.h>

#include "cluster/cluster.h"

typedef struct {
    char path[600];
    char cursor[500], limit[32];
    dmp_cluster_query_t q; /* points into cursor and limit */
} cluster_url_t;

/* p: "/v1/...[?query]". */
static inline void cluster_url_split(const char *p, cluster_url_t *u)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->path, sizeof(u->path), "%s", p);
    char *qs = strchr(u->path, '?');
    if (!qs)
        return;
    *qs++ = '\0';
    char *c = strstr(qs, "cursor="), *l = strstr(qs, "limit=");
    if (c) {
        snprintf(u->cursor, sizeof(u->cursor), "%.*s", (int)strcspn(c + 7, "&"), c + 7);
        u->q.cursor = u->cursor;
    }
    if (l) {
        snprintf(u->limit, sizeof(u->limit), "%s", l + 6);
        u->q.limit = u->limit;
    }
}

#endif
