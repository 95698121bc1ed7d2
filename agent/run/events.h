/* The one protocol between a recipe's child process and the agent: JSON lines on a pipe,
 * written and read only here (in the spirit of OpenBSD's imsg).
 *
 *   {"metric": M}    a metric, in agent/util/metric.h's JSON
 *   {"fail": TEXT}   every failure reason recorded so far, joined with "; " (the last one wins)
 *   {"changes": N}   how many files and units the run changed (or, dry, would change): before done
 *   {"done": CODE}   run() returned CODE (0 or a negative errno): the child's last message
 *
 * The child scrubs registered secrets from each line before writing it, and writes each line
 * with one write(2) of at most EVENTS_LINE_MAX bytes (below PIPE_BUF, so lines never mix).
 * The agent reads at most EVENTS_MAX_BYTES of one run and keeps EVENTS_MAX_METRICS metrics. */
#ifndef OPSAGENT_EVENTS_H
#define OPSAGENT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/metric.h"

#define EVENTS_LINE_MAX 4000
#define EVENTS_MAX_BYTES (1u << 20)
#define EVENTS_MAX_METRICS 10000

/* The child's side: 0, -E2BIG for a line over EVENTS_LINE_MAX (not sent), -ENOMEM, or the
 * negative errno of write(2). FD < 0 sends nothing and succeeds. */
int events_send_metric(int fd, const struct metric *m);
/* A REASON too long for one line is cut (on a UTF-8 boundary, ending in "...") to fit. */
int events_send_fail(int fd, const char *reason);
int events_send_changes(int fd, unsigned n);
int events_send_done(int fd, int code);

/* The agent's side: what one run said. Malformed lines are ignored. */
struct events_reader {
        struct buf pending;            /* a line not yet complete */
        size_t total;                  /* bytes fed, counted past EVENTS_MAX_BYTES too */
        struct metric_batch metrics;   /* in order; caller may take it (then zero it) */
        char *fail;                    /* the last reason, or NULL; owned */
        bool done;
        int done_code;
        unsigned changes;              /* the last "changes" said */
        size_t metrics_dropped;        /* metrics past EVENTS_MAX_METRICS */
        size_t malformed;              /* lines that were not a known event */
};

void events_reader_init(struct events_reader *r);
/* Takes N more bytes from the pipe. */
void events_reader_feed(struct events_reader *r, const char *data, size_t n);
/* The pipe is closed: a last line without its newline counts too. */
void events_reader_finish(struct events_reader *r);
void events_reader_clear(struct events_reader *r);

#endif
