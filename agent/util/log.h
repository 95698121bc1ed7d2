/* Logging: to the journal with structured fields (RECIPE=, RUN_ID=, and on the lines that say so
 * MESSAGE_ID= and OPSAGENT_OUTCOME=) when stderr is the journal or we run under systemd, to
 * stderr otherwise. Every message, output line and stored error passes through the secret
 * scrubber first: a registered secret never leaves the process. */
#ifndef OPSAGENT_LOG_H
#define OPSAGENT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_target {
        LOG_TARGET_AUTO,    /* journal when JOURNAL_STREAM matches stderr or INVOCATION_ID is set */
        LOG_TARGET_STDERR,
        LOG_TARGET_JOURNAL,
};

/* MAX_LEVEL is a syslog priority: LOG_NOTICE by default, LOG_INFO with -v, LOG_DEBUG -vv. */
void log_setup(enum log_target target, int max_level);
int log_get_max_level(void);
bool log_to_journal(void);
/* Fields added to every message from now on (NULL clears). Copied. A line logged without a
 * context carries no RECIPE= or RUN_ID= field at all (not an empty one). */
void log_set_context(const char *recipe, const char *run_id);

/* Journal fields of one line beyond MESSAGE=, PRIORITY=, SYSLOG_IDENTIFIER=opsagent and the
 * context's RECIPE= and RUN_ID=. Each may be NULL (no field). */
struct log_fields {
        const char *message_id;   /* MESSAGE_ID=: 32 lowercase hex digits (an sd-id128) */
        const char *outcome;      /* OPSAGENT_OUTCOME=: a run's outcome, on its last line */
};

#define LOG_JOURNAL_FIELDS_MAX 8
/* The journal fields of one line (MESSAGE=TEXT, PRIORITY=LEVEL, SYSLOG_IDENTIFIER=, the
 * context's, ERRNO= when ERROR is not 0, then F's), each a "NAME=value" string, into RET
 * (caller frees each); their number into *ret_n. -ENOMEM (nothing to free). */
int log_journal_fields(int level, int error, const char *text, const struct log_fields *f,
                       char *ret[static LOG_JOURNAL_FIELDS_MAX], size_t *ret_n);

/* Remembers S (copied) as a secret: it is replaced by "(redacted)" wherever it would be
 * printed, logged or stored. Strings shorter than 4 bytes are ignored. */
void log_register_secret(const char *s);
/* Copy of S with every registered secret replaced. Caller frees; NULL on ENOMEM. */
char *log_scrub(const char *s);
void log_forget_secrets(void);

/* Always returns -abs(ERROR) (or 0 when ERROR is 0), for `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int log_internalv(int level, int error, const char *fmt, va_list ap);

/* A line of output for the person running the command: stdout, or the journal (priority
 * notice). Like a notice, it is not shown with -q (errors only). */
void log_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_sayv(const char *fmt, va_list ap);
/* With ON, said lines go to stderr instead of stdout (when not to the journal): for --json,
 * whose stdout is only JSON. */
void log_say_to_stderr(bool on);
/* The same at journal priority LEVEL (shown unless LEVEL is above the -v/-q level: an error is
 * shown with -q too), with the journal fields F (may be NULL). */
void log_say_fields(int level, const struct log_fields *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)

#endif
