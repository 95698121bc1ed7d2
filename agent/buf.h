/* A growable byte buffer with a hard size cap (in the spirit of curl's dynbuf): anything an
 * outsider can make us accumulate (HTTP bodies, command output, frames) goes through one. */
#ifndef OPSAGENT_BUF_H
#define OPSAGENT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
        char *data;     /* always NUL-terminated when len > 0 or after buf_str() */
        size_t len;
        size_t alloc;
        size_t cap;     /* maximum len; appends past it fail with -E2BIG */
};

#define BUF_INIT(cap_) { NULL, 0, 0, (cap_) }

void buf_init(struct buf *b, size_t cap);
/* 0, -ENOMEM, or -E2BIG when the result would exceed the cap (b unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* The contents as a C string ("" when empty); owned by b. */
const char *buf_str(struct buf *b);
/* Hands the contents to the caller (caller frees; never NULL unless ENOMEM) and resets b. */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);  /* keeps the allocation */
void buf_free(struct buf *b);

#endif
