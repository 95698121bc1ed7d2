#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_init(struct buf *b, size_t cap)
{
        b->data = NULL;
        b->len = 0;
        b->alloc = 0;
        b->cap = cap;
}

static int buf_reserve(struct buf *b, size_t extra)
{
        size_t need, n;
        char *p;

        if (extra > b->cap || b->len > b->cap - extra)
                return -E2BIG;
        need = b->len + extra + 1;
        if (need <= b->alloc)
                return 0;
        n = b->alloc ? b->alloc : 64;
        while (n < need)
                n = n > SIZE_MAX / 2 ? need : n * 2;
        if (n > b->cap + 1)
                n = b->cap + 1;
        p = realloc(b->data, n);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->alloc = n;
        return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
        int r = buf_reserve(b, len);

        if (r < 0)
                return r;
        if (len)
                memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
}

int buf_puts(struct buf *b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list aq;
        int n, r;

        va_copy(aq, ap);
        n = vsnprintf(NULL, 0, fmt, aq);
        va_end(aq);
        if (n < 0)
                return -EINVAL;
        r = buf_reserve(b, (size_t)n);
        if (r < 0)
                return r;
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        b->len += (size_t)n;
        return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = buf_vprintf(b, fmt, ap);
        va_end(ap);
        return r;
}

const char *buf_str(struct buf *b)
{
        return b->data ? b->data : "";
}

char *buf_steal(struct buf *b)
{
        char *p = b->data;

        if (!p)
                p = strdup("");
        b->data = NULL;
        b->len = b->alloc = 0;
        return p;
}

void buf_reset(struct buf *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
        free(b->data);
        b->data = NULL;
        b->len = b->alloc = 0;
}

void buf_truncate(struct buf *b, size_t len)
{
        if (len >= b->len)
                return;
        b->len = len;
        b->data[len] = '\0';
}
