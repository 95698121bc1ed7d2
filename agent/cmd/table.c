#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "table.h"

#define TABLE_GAP 2
#define TABLE_LAST_MIN 10       /* a last column is never cut narrower than this */

struct table {
        size_t n_cols;
        char *headers[TABLE_COLUMNS_MAX];
        char **cells;           /* n_rows * n_cols */
        size_t n_rows, alloc_rows;
};

/* Characters in S (UTF-8: continuation bytes do not count). */
static size_t text_width(const char *s)
{
        size_t n = 0;

        for (; s && *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

int table_new(size_t n_cols, const char *const *headers, struct table **ret)
{
        struct table *t;

        if (n_cols == 0 || n_cols > TABLE_COLUMNS_MAX)
                return -EINVAL;
        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->n_cols = n_cols;
        for (size_t i = 0; i < n_cols; i++) {
                t->headers[i] = strdup(headers[i] ? headers[i] : "");
                if (!t->headers[i]) {
                        table_free(t);
                        return -ENOMEM;
                }
        }
        *ret = t;
        return 0;
}

void table_free(struct table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_cols; i++)
                free(t->headers[i]);
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

int table_add(struct table *t, const char *const *cells)
{
        char **row;

        if (t->n_rows >= TABLE_ROWS_MAX)
                return -E2BIG;
        if (t->n_rows == t->alloc_rows) {
                size_t n = t->alloc_rows ? t->alloc_rows * 2 : 16;
                char **p = reallocarray(t->cells, n * t->n_cols, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                t->cells = p;
                t->alloc_rows = n;
        }
        row = t->cells + t->n_rows * t->n_cols;
        for (size_t i = 0; i < t->n_cols; i++) {
                row[i] = strdup(cells[i] ? cells[i] : "");
                if (!row[i]) {
                        while (i > 0)
                                free(row[--i]);
                        return -ENOMEM;
                }
        }
        t->n_rows++;
        return 0;
}

size_t table_rows(const struct table *t)
{
        return t->n_rows;
}

/* Prints at most MAX characters of S (all when MAX is SIZE_MAX), control characters as
 * spaces; returns how many it printed. */
static size_t put_text(const char *s, size_t max, FILE *out)
{
        size_t n = 0;

        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                bool starts = (c & 0xc0) != 0x80;

                if (starts && n == max)
                        break;
                n += starts;
                fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
        }
        return n;
}

static void print_row(const struct table *t, char *const *row, const size_t *w, size_t width, FILE *out)
{
        size_t used = 0, last = t->n_cols - 1;

        /* Trailing empty cells print nothing, not even their padding. */
        while (last > 0 && !row[last][0])
                last--;
        for (size_t i = 0; i <= last; i++) {
                size_t tw = text_width(row[i]);

                if (i < last) {
                        put_text(row[i], SIZE_MAX, out);
                        for (size_t k = tw; k < w[i] + TABLE_GAP; k++)
                                fputc(' ', out);
                        used += w[i] + TABLE_GAP;
                        continue;
                }
                if (width > 0 && used + tw > width && width >= used + TABLE_LAST_MIN) {
                        size_t room = width - used - strlen(TABLE_CUT_MARK);

                        put_text(row[i], room, out);
                        fputs(TABLE_CUT_MARK, out);
                } else
                        put_text(row[i], SIZE_MAX, out);
        }
        fputc('\n', out);
}

void table_print(const struct table *t, bool header, size_t width, FILE *out)
{
        size_t w[TABLE_COLUMNS_MAX] = { 0 };

        for (size_t i = 0; i < t->n_cols; i++) {
                if (header)
                        w[i] = text_width(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++) {
                        size_t tw = text_width(t->cells[r * t->n_cols + i]);

                        if (tw > w[i])
                                w[i] = tw;
                }
        }
        if (header)
                print_row(t, t->headers, w, width, out);
        for (size_t r = 0; r < t->n_rows; r++)
                print_row(t, t->cells + r * t->n_cols, w, width, out);
}

size_t table_output_width(void)
{
        struct winsize ws;
        const char *e;

        if (!isatty(STDOUT_FILENO))
                return 0;
        e = getenv("COLUMNS");
        if (e && *e) {
                char *end;
                unsigned long v = strtoul(e, &end, 10);

                if (!*end && v > 0 && v < 100000)
                        return (size_t)v;
        }
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 80;
}
