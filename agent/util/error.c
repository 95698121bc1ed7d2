#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int error_vset(struct error *err, int code, const char *fmt, va_list ap)
{
        if (!err)
                return code;
        err->code = code;
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        return code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;

        if (error_is_set(err))
                return code;
        va_start(ap, fmt);
        error_vset(err, code, fmt, ap);
        va_end(ap);
        return code;
}

int error_reset(struct error *err, int code, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        error_vset(err, code, fmt, ap);
        va_end(ap);
        return code;
}

void error_prefix(struct error *err, const char *fmt, ...)
{
        char old[ERROR_MSG_MAX];
        size_t n;
        va_list ap;

        if (!err)
                return;
        memcpy(old, err->msg, sizeof(old));
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        n = strlen(err->msg);
        if (n + 2 < sizeof(err->msg)) {
                memcpy(err->msg + n, ": ", 3);
                n += 2;
                memcpy(err->msg + n, old, sizeof(err->msg) - n - 1);
                err->msg[sizeof(err->msg) - 1] = '\0';
        }
}

void error_clear(struct error *err)
{
        if (!err)
                return;
        err->code = 0;
        err->msg[0] = '\0';
}
