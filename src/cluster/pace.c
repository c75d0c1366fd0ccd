/* cluster: pacing of pulled records, a token bucket on the engine's clock (the puller waits
 * before a pull request while the bucket is in debt and charges what came back). Integer
 * arithmetic in thousandths of a record: rate records/s = rate thousandths per millisecond. */
#include "cluster/cluster.h"

#define PACE_MAX_DEBT_S 3600 /* a charge never puts the bucket more than an hour in debt */

static void refill(dmp_cluster_pace_t *p, int64_t now_ms)
{
    int64_t full = (int64_t)p->rate * 1000; /* one second of records */
    if (now_ms > p->last_ms) {
        int64_t dt = now_ms - p->last_ms;
        /* dt * rate overflows only after ~2.9e6 years at the largest rate: cap dt first */
        if (dt > 3600 * 1000)
            dt = 3600 * 1000;
        p->tokens += dt * (int64_t)p->rate;
        if (p->tokens > full)
            p->tokens = full;
    }
    p->last_ms = now_ms; /* a clock that went back: no time passed */
}

void dmp_cluster_pace_init(dmp_cluster_pace_t *p, uint32_t rate, int64_t now_ms)
{
    if (!p)
        return;
    p->rate = rate;
    p->tokens = (int64_t)rate * 1000;
    p->last_ms = now_ms;
}

int64_t dmp_cluster_pace_delay(dmp_cluster_pace_t *p, int64_t now_ms)
{
    if (!p || p->rate == 0)
        return 0;
    refill(p, now_ms);
    if (p->tokens >= 0)
        return 0;
    /* ceil(-tokens / rate) ms */
    return (-p->tokens + (int64_t)p->rate - 1) / (int64_t)p->rate;
}

void dmp_cluster_pace_charge(dmp_cluster_pace_t *p, uint64_t n, int64_t now_ms)
{
    if (!p || p->rate == 0)
        return;
    refill(p, now_ms);
    int64_t floor = -(int64_t)p->rate * 1000 * PACE_MAX_DEBT_S;
    uint64_t cap = (uint64_t)(p->tokens - floor) / 1000; /* records until the floor */
    if (n >= cap)
        p->tokens = floor;
    else
        p->tokens -= (int64_t)n * 1000;
}
