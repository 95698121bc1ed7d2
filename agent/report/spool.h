/* The offline metrics spool. A batch (agent/util/metric.h) is what one PutMetricData request carries;
 * batches that cannot be sent (network down, 5xx, throttling) are appended to a spool file
 * under the state dir with their original timestamps and sent later, oldest first, once.
 *
 * On disk (DIR is usually STATE_DIR/spool, mode 0700):
 *   DIR/metrics.spool  "opsagent-spool 1 ID\n", then one record per line:
 *                      "CRC32HEX JSON\n" (CRC of the JSON text); appends are fsynced.
 *   DIR/cursor.json    {"spool_id": ID, "offset": N, "dropped": M}, written atomically:
 *                      the offset of the first record not yet sent (or dropped) in the spool
 *                      with that ID, and how many datums the bound dropped and nobody has
 *                      reported yet. A send advances the cursor before anything else.
 *   DIR/lock           flock()ed while a struct spool is open: one process at a time.
 * A record cut short by a power loss is recognised (no newline, bad CRC) and skipped with a
 * warning; the records before it are kept. */
#ifndef OPSAGENT_SPOOL_H
#define OPSAGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/error.h"
#include "util/metric.h"

/* Spool bounds. */
#define SPOOL_DEFAULT_MAX_BYTES (8ULL << 20)
#define SPOOL_MIN_MAX_BYTES 4096ULL
#define SPOOL_DEFAULT_MAX_AGE_MS (METRIC_MAX_AGE_MS - 3600LL * 1000)  /* an hour's margin */
#define SPOOL_RECORD_MAX_BYTES (4ULL << 20)     /* one line; longer ones are corrupt */
/* A flush sends consecutive records together, as long as they stay one PutMetricData request
 * by the metric model's own measure (metric_request_cost(), METRIC_SPLIT_BYTES): one group is
 * always one request, all sent or none. */

/* What a sender made of one batch: the spool keeps a batch for later only on RETRY_LATER. */
enum send_status {
        SEND_OK,
        SEND_RETRY_LATER,     /* network, 5xx, throttling, credentials not there yet */
        SEND_REJECTED,        /* the service refused this batch for good (400): drop it */
};

/* Sends one batch (at most 1000 datums, within one request). ERR says why on failure. */
typedef enum send_status (*metric_send_fn)(void *userdata, const struct metric_batch *b,
                                           struct error *err);

struct spool_limits {
        uint64_t max_bytes;           /* pending records; 0 = SPOOL_DEFAULT_MAX_BYTES */
        int64_t max_age_ms;           /* older datums are dropped; 0 = SPOOL_DEFAULT_MAX_AGE_MS */
        size_t flush_max_datums;      /* per request when flushing; 0 = METRIC_MAX_PER_REQUEST */
};

struct spool;

/* Opens (creating DIR when needed) and locks the spool; waits for another process holding it.
 * Repairs a torn last record (warning). Free with spool_free(). */
int spool_open(const char *dir, const struct spool_limits *lim, struct spool **ret,
               struct error *err);
void spool_free(struct spool *s);     /* NULL is fine; releases the lock */

/* Appends B (fsynced). When the pending records would exceed the size bound, the oldest are
 * dropped first (and counted); a batch larger than the bound on its own is dropped and
 * counted. Datums older than the age bound (relative to NOW_MS) are dropped and counted. */
int spool_append(struct spool *s, const struct metric_batch *b, int64_t now_ms, struct error *err);

/* Sends the pending records oldest first through SEND, consecutive records together up to
 * one request's worth, advancing the cursor after each request. Datums older than the age
 * bound are dropped and counted; when the service rejects a group its records are sent one
 * by one and only the one it rejects is dropped (and counted). 0 when the spool is empty afterwards; -EAGAIN (ERR set) when a send
 * failed for now (the rest stays spooled); other negative errno for local I/O errors. */
int spool_flush(struct spool *s, int64_t now_ms, metric_send_fn send, void *userdata,
                struct error *err);

/* Number of records / datums waiting. */
int spool_pending(struct spool *s, size_t *ret_records, size_t *ret_datums);
/* Datums dropped by the bounds and not yet reported. */
uint64_t spool_dropped(const struct spool *s);
/* Adds N to the dropped count (persisted). */
int spool_count_dropped(struct spool *s, uint64_t n);
/* The drop count N was reported: subtracts it (persisted). */
int spool_ack_dropped(struct spool *s, uint64_t n);

/* The spool file's path (owned by s), for messages. */
const char *spool_path(const struct spool *s);

#endif
