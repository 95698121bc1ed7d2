#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_build.h"
#include "report_deliver.h"
#include "util/log.h"

bool report_error_is_transient(int r)
{
        /* Only a refusal of the data itself is final; anything else (network, 5xx,
         * throttling, credentials or permissions being fixed) is worth keeping for later. */
        switch (-r) {
        case EINVAL:
        case E2BIG:
        case EMSGSIZE:
        case ERANGE:
        case EDOM:
                return false;
        default:
                return true;
        }
}

static int send_dropped_count(const struct report_config *cfg, const struct report_sender *snd,
                              struct spool *sp, int64_t now_ms)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        struct error err = ERROR_INIT;
        struct metric_dim dims[4];
        size_t nd = report_base_dims(cfg, NULL, dims);
        uint64_t dropped = spool_dropped(sp);
        enum send_status st;
        int r;

        if (dropped == 0)
                return 0;
        r = report_ensure_namespace(cfg, &b);
        if (r >= 0)
                r = metric_batch_add(&b, "MetricsDropped", "Count", (double)dropped, now_ms, dims, nd);
        if (r < 0)
                goto out;
        st = snd->send(snd->userdata, &b, &err);
        if (st == SEND_OK) {
                log_warning("%" PRIu64 " datums were dropped by the metrics spool's bound while CloudWatch "
                            "could not be reached; reported as MetricsDropped", dropped);
                r = spool_ack_dropped(sp, dropped);
        } else
                log_warning("cannot report MetricsDropped (%" PRIu64 "): %s; tried again next time",
                            dropped, err.msg);
out:
        metric_batch_free(&b);
        return r;
}

int report_deliver(const struct report_config *cfg, const struct report_sender *snd, int64_t now_ms,
                   const struct metric_batch *b, enum report_outcome *ret_outcome, struct error *err)
{
        struct metric_batch *chunks = NULL;
        struct spool *sp = NULL;
        struct error send_err = ERROR_INIT;
        char refused_msg[ERROR_MSG_MAX] = "";
        size_t n_chunks = 0, spooled = 0, refused = 0, lost = 0;
        bool down = false;
        int r;

        if (!cfg->enabled) {
                *ret_outcome = REPORT_DISABLED;
                return 0;
        }
        r = metric_batch_split(b, &chunks, &n_chunks);
        if (r < 0)
                return error_set(err, r, "cannot prepare metrics: %s", strerror(-r));
        r = spool_open(cfg->spool_dir, &cfg->spool, &sp, &send_err);
        if (r < 0) {
                /* A full or broken disk is when the heartbeat matters most: send without. */
                log_warning("%s; sending without the spool", send_err.msg);
                error_clear(&send_err);
                sp = NULL;
        }
        /* What waited in the spool goes first, oldest first. */
        r = sp ? spool_flush(sp, now_ms, snd->send, snd->userdata, &send_err) : 0;
        if (r == -EAGAIN) {
                down = true;
        } else if (r < 0) {
                log_error("%s", send_err.msg);
                error_clear(&send_err);
        }
        for (size_t i = 0; i < n_chunks; i++) {
                if (!down) {
                        enum send_status st;

                        error_clear(&send_err);
                        st = snd->send(snd->userdata, &chunks[i], &send_err);
                        if (st == SEND_OK)
                                continue;
                        if (st == SEND_REJECTED) {
                                log_error("CloudWatch refused %zu metrics: %s", chunks[i].n, send_err.msg);
                                if (!refused)
                                        snprintf(refused_msg, sizeof(refused_msg), "%s", send_err.msg);
                                refused += chunks[i].n;
                                continue;
                        }
                        down = true;
                }
                if (!sp) {
                        lost += chunks[i].n;
                        continue;
                }
                r = spool_append(sp, &chunks[i], now_ms, err);
                if (r < 0)
                        goto out;
                spooled += chunks[i].n;
        }
        if (lost > 0) {
                r = error_set(err, -EIO, "CloudWatch cannot be reached (%s) and the spool in %s cannot be used: "
                              "%zu metrics lost", send_err.msg[0] ? send_err.msg : "unknown error",
                              cfg->spool_dir, lost);
                goto out;
        }
        if (down) {
                size_t recs = 0, datums = 0;

                (void)spool_pending(sp, &recs, &datums);
                log_warning("CloudWatch cannot be reached (%s): %zu metrics kept in %s (%zu waiting in all), "
                            "sent when it can", send_err.msg[0] ? send_err.msg : "unknown error", spooled,
                            spool_path(sp), datums);
        } else if (sp) {
                r = send_dropped_count(cfg, snd, sp, now_ms);
                if (r < 0)
                        log_warning_errno(r, "%s: cannot update the dropped count: %s", spool_path(sp), strerror(-r));
        }
        r = 0;
        if (refused > 0)
                r = error_set(err, -EINVAL, "CloudWatch refused %zu metrics (namespace %s): %s", refused,
                              cfg->namespace_, refused_msg);
        else
                *ret_outcome = down ? REPORT_SPOOLED : REPORT_SENT;
out:
        spool_free(sp);
        for (size_t i = 0; i < n_chunks; i++)
                metric_batch_free(&chunks[i]);
        free(chunks);
        return r;
}
