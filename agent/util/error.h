/* A user-facing error: a negative errno plus one line that names the file, key, operation or
 * path involved and, where there is one, what to do. Filled by the function that knows best,
 * passed up unchanged. */
#ifndef OPSAGENT_ERROR_H
#define OPSAGENT_ERROR_H

#include <stddef.h>

#define ERROR_MSG_MAX 1024

struct error {
        int code;               /* negative errno, 0 when unset */
        char msg[ERROR_MSG_MAX];
};

#define ERROR_INIT { 0, { 0 } }

/* Sets *err (if not NULL) unless it is already set; returns CODE (negative) for `return`. */
int error_set(struct error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, but replaces a message already there. */
int error_reset(struct error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes an existing message: "PREFIX: old message". */
void error_prefix(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int error_is_set(const struct error *err)
{
        return err && err->msg[0] != '\0';
}
void error_clear(struct error *err);

#endif
