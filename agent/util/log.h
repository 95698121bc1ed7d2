/* Logging: to the journal with structured fields (RECIPE=, RUN_ID=) when stderr is the journal
 * or we run under systemd, to stderr otherwise. Every message, output line and stored error
 * passes through the secret scrubber first: a registered secret never leaves the process. */
#ifndef OPSAGENT_LOG_H
#define OPSAGENT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
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
/* Fields added to every message from now on (NULL clears). Copied. */
void log_set_context(const char *recipe, const char *run_id);

/* Remembers S (copied) as a secret: it is replaced by "(redacted)" wherever it would be
 * printed, logged or stored. Strings shorter than 4 bytes are ignored. */
void log_register_secret(const char *s);
/* Copy of S with every registered secret replaced. Caller frees; NULL on ENOMEM. */
char *log_scrub(const char *s);
void log_forget_secrets(void);

/* Always returns -abs(ERROR) (or 0 when ERROR is 0), for `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int log_internalv(int level, int error, const char *fmt, va_list ap);

/* A line of output for the person running the command: stdout, or the journal. */
void log_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_sayv(const char *fmt, va_list ap);

#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)

#endif
