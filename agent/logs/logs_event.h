/* Turning the bytes of a log into CloudWatch Logs events: lines joined into one event by a
 * multiline start pattern (POSIX ERE), the timestamp read at an event's start with a strptime
 * format (else the read time), invalid UTF-8 replaced by U+FFFD (never dropped), and events
 * larger than CloudWatch takes cut into pieces. Pure: no I/O, no logging. */
#ifndef OPSAGENT_LOGS_EVENT_H
#define OPSAGENT_LOGS_EVENT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define LOGS_EVENT_OVERHEAD 26                          /* bytes CloudWatch counts per event */
#define LOGS_EVENT_MAX_BYTES (256 * 1024 - LOGS_EVENT_OVERHEAD) /* message bytes of one event */
#define LOGS_EVENT_BUILD_MAX (8 * 1024 * 1024)          /* a multiline event is cut here */
#define LOGS_TIMESTAMP_SCAN 256                         /* bytes of a line strptime looks at */

/* Appends S (LEN bytes) to OUT, each maximal invalid UTF-8 subsequence (WHATWG/Unicode's
 * "maximal subpart") replaced by U+FFFD. 0, or -ENOMEM/-E2BIG from OUT. */
int logs_utf8_repair(const char *s, size_t len, struct buf *out);

/* Length of the longest prefix of S (LEN bytes) that is valid UTF-8 (LEN: all of it). */
size_t logs_utf8_valid_prefix(const char *s, size_t len);

/* Length of the longest prefix of S (valid UTF-8, LEN bytes) that is at most MAX bytes and
 * does not cut a character. */
size_t logs_utf8_cut(const char *s, size_t len, size_t max);

/* The time at the start of LINE (LEN bytes) by the strptime FORMAT, in ms since the epoch,
 * into *ret_ms; fractional seconds (".123" or ",123") right after what FORMAT matched are
 * taken. Local time unless FORMAT has %z or %Z... (%z: the offset given); a format without a
 * year (syslog's "%b %d %H:%M:%S") takes the current year (of NOW_MS). -EINVAL when LINE does
 * not start with such a time. */
int logs_parse_timestamp(const char *line, size_t len, const char *format, int64_t now_ms, int64_t *ret_ms);

/* Called for each event (or piece of one) the builder completes: MSG (LEN bytes, valid UTF-8,
 * 1..LOGS_EVENT_MAX_BYTES, borrowed for the call), its time, and END, the offset in the source
 * after which the event's bytes all lie (for a piece that is not the last of its event: the
 * offset where the event started, so that a checkpoint never lands inside one). A negative
 * return stops the builder with it. */
typedef int (*logs_emit_fn)(void *userdata, int64_t ts_ms, const char *msg, size_t len, uint64_t end);

/* Assembles events from lines. The pattern and format are the caller's and must outlive it. */
struct logs_builder {
        const regex_t *start;           /* NULL: every line is an event */
        const char *ts_format;          /* NULL: the read time */
        struct buf cur;                 /* the event being assembled (raw bytes); the builder's */
        bool have;
        int64_t cur_ts;
        uint64_t cur_start, cur_end;    /* offsets of its first byte and after its last line */
        struct buf fixed;               /* scratch for the repaired text; the builder's */
};

void logs_builder_init(struct logs_builder *b, const regex_t *start, const char *ts_format);
void logs_builder_free(struct logs_builder *b);
/* One line (without its newline; LINE[LEN] must be writable and is set to NUL for the regex,
 * so LINE must have LEN+1 bytes) that starts at offset START and ends (newline included) at
 * END; READ_MS is the time it was read. Completes the event before it when the line starts a
 * new one. */
int logs_builder_line(struct logs_builder *b, char *line, size_t len, uint64_t start, uint64_t end,
                      int64_t read_ms, logs_emit_fn emit, void *userdata);
/* Completes the event being assembled, if any. */
int logs_builder_flush(struct logs_builder *b, logs_emit_fn emit, void *userdata);
/* Whether an event is being assembled, and the offset where it starts. */
static inline bool logs_builder_pending(const struct logs_builder *b, uint64_t *ret_start)
{
        if (b->have && ret_start)
                *ret_start = b->cur_start;
        return b->have;
}
/* Forgets the event being assembled (a source that starts over). */
void logs_builder_reset(struct logs_builder *b);

#endif
