/* A growable byte buffer with a hard size cap (in the spirit of curl's dynbuf): anything an
 * outsider can make us accumulate (HTTP bodies, command output, frames) goes through one. */
#ifndef OPSAGENT_BUF_H
#define OPSAGENT_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* The members are the API's own (as curl's DYNBUF.md says of its members): read them through
 * buf_str() and buf_len(), change them only through the functions below. */
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
/* Cuts the contents back to their first LEN bytes (LEN larger than the length: no change). */
void buf_truncate(struct buf *b, size_t len);
static inline size_t buf_len(const struct buf *b)
{
        return b->len;
}
void buf_free(struct buf *b);

#endif
