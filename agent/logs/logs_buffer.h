/* The bounded on-disk buffer of events that were read but could not be sent (CloudWatch Logs
 * unreachable, failing or throttling): STATE/logs/buffer/, one file per batch,
 * "SEQ-COUNT.json" (SEQ: 16 digits, in the order they were put; COUNT: its events), each
 * written atomically with mode 0600, two lines: what the batch is, then its events:
 *   {"group": G, "stream": S, "files": [[DEV, INO, BYTES], ...], "oldest_usec": T}
 *   [[TIMESTAMP_MS, "message"], ...]
 * "files" says how many bytes of which file the batch holds and "oldest_usec" when its oldest
 * event was read (CLOCK_REALTIME), for the lag `opsagent logs --status` shows.
 * While the buffer holds anything, new batches are put behind it, so that every stream is
 * sent in order. Over the byte bound the oldest batches are dropped first; the caller counts
 * what was dropped (LogEventsDropped) and warns. No logging. */
#ifndef OPSAGENT_LOGS_BUFFER_H
#define OPSAGENT_LOGS_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include "logs_batch.h"
#include "util/error.h"

#define LOGS_BUFFER_DEFAULT_MAX_BYTES (100ULL << 20)
#define LOGS_BUFFER_MIN_MAX_BYTES (64ULL << 10)
#define LOGS_BUFFER_RECORD_MAX_BYTES (16ULL << 20)      /* one file at most (a batch is ~1 MiB) */
#define LOGS_BUFFER_MAX_FILES 1000000
#define LOGS_BUFFER_META_MAX (64 * 1024)             /* the first line at most */
#define LOGS_BUFFER_MAX_FILES_PER_BATCH 64

struct logs_buffer;

/* Opens DIR (created 0700 when missing), remembering the batches already there. Files that
 * are not the buffer's are left alone. Free with logs_buffer_free(). */
int logs_buffer_open(const char *dir, uint64_t max_bytes, struct logs_buffer **ret, struct error *err);
void logs_buffer_free(struct logs_buffer *b);   /* NULL is fine */

/* One file's share of a batch. */
struct logs_buffer_file {
        uint64_t dev, ino, bytes;
};

/* Puts B (to GROUP/STREAM; N_FILES FILES of it, OLDEST_USEC its oldest read time) behind the
 * rest. When the buffer goes over its bound, the oldest batches are removed until it fits (B
 * itself too when it is larger than the bound); the number of events removed so is added to
 * *ret_dropped. */
int logs_buffer_put(struct logs_buffer *buf, const char *group, const char *stream, const struct logs_batch *b,
                    const struct logs_buffer_file *files, size_t n_files, int64_t oldest_usec,
                    uint64_t *ret_dropped, struct error *err);

/* The bytes of file DEV/INO the buffer holds, and when the oldest of them was read (0: none). */
void logs_buffer_file_lag(const struct logs_buffer *buf, uint64_t dev, uint64_t ino, uint64_t *ret_bytes,
                          int64_t *ret_oldest_usec);

/* The oldest batch: its events into *ret (an empty batch), its group and stream (caller frees
 * both). -ENOENT when the buffer is empty. A file that cannot be parsed is removed, its events
 * added to *ret_dropped, and the next one is read. */
int logs_buffer_peek(struct logs_buffer *buf, char **ret_group, char **ret_stream, struct logs_batch *ret,
                     uint64_t *ret_dropped, struct error *err);
/* Removes the oldest batch (it was accepted). */
int logs_buffer_pop(struct logs_buffer *buf, struct error *err);

size_t logs_buffer_batches(const struct logs_buffer *buf);
uint64_t logs_buffer_bytes(const struct logs_buffer *buf);
uint64_t logs_buffer_events(const struct logs_buffer *buf);

#endif
