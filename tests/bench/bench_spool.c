/* Spool benchmark (not run by make check): N fsynced appends of batches of D datums, then, as
 * the next `opsagent report` does, the spool opened again and drained through a sender that
 * accepts everything.
 *   tests/bench/bench_spool [N [D]]     (defaults 500 and 22, a run's worth of metrics) */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "report/spool.h"
#include "util/fileio.h"

static enum send_status accept_all(void *userdata, const struct metric_batch *b, struct error *err)
{
        *(size_t *)userdata += b->n;
        return SEND_OK;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500, d = argc > 2 ? strtoul(argv[2], NULL, 10) : 22;
        struct metric_dim dims[] = { { "InstanceId", "i-0123456789abcdef0" }, { "Recipe", "ebs_snapshots" } };
        struct spool_limits lim = { .max_bytes = 128ULL << 20 };
        struct error err = ERROR_INIT;
        struct metric_batch b = METRIC_BATCH_INIT;
        char tmpl[] = "/tmp/bench-spool-XXXXXX", *dir;
        struct spool *s = NULL;
        int64_t now_ms = (int64_t)time(NULL) * 1000;
        size_t sent = 0;
        double t0, t1, t2;

        if (!mkdtemp(tmpl) || !(dir = path_join(tmpl, "spool")))
                return 1;
        metric_batch_set_namespace(&b, "OpsAgent");
        for (size_t i = 0; i < d; i++) {
                char name[32];

                snprintf(name, sizeof(name), "Metric%zu", i);
                metric_batch_add(&b, name, "Count", (double)i, now_ms, dims, 2);
        }
        if (spool_open(dir, &lim, &s, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        t0 = now_s();
        for (size_t i = 0; i < n; i++)
                if (spool_append(s, &b, now_ms, &err) < 0) {
                        fprintf(stderr, "%s\n", err.msg);
                        return 1;
                }
        t1 = now_s();
        spool_free(s);
        s = NULL;
        if (spool_open(dir, &lim, &s, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        if (spool_flush(s, now_ms, accept_all, &sent, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
        }
        t2 = now_s();
        printf("append: %zu batches of %zu datums in %.3f s (%.2f ms each, fsynced)\n", n, d, t1 - t0,
               1000 * (t1 - t0) / (double)n);
        printf("open+flush: %zu datums in %.3f s (%.2f ms per spooled batch; up to 1000 datums per request, cursor written after each)\n", sent, t2 - t1,
               1000 * (t2 - t1) / (double)n);
        spool_free(s);
        metric_batch_free(&b);
        nftw(tmpl, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
        return sent == n * d ? 0 : 1;
}
