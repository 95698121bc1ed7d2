/* The comparison follows the method GNU diff uses, so that a dry run shows the hunks an
 * administrator would get from `diff -u`: the identical ends are set aside (keeping a few
 * lines of horizon), lines with no counterpart in the other file are discarded up front,
 * Myers' O(ND) algorithm with linear-space bisection ("An O(ND) Difference Algorithm and its
 * Variations", 1986) finds a shortest edit script for the rest, and runs of changes are then
 * slid so that they merge and sit as low as they can. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textdiff.h"
#include "util/buf.h"

#define TEXTDIFF_OUTPUT_MAX (64u << 20)

struct line {
        const char *s;
        size_t len;     /* without the newline */
        bool nl;        /* ends with a newline (only the last line may not) */
};

struct file {
        struct line *lines;
        int n;
        int *id;        /* equivalence class of each line, >= 1 */
        char *flags;    /* n + 2 bytes: changed[-1] and changed[n] are sentinels */
        char *changed;  /* flags + 1 */
        /* The region compared: [lo, lo + len); the rest is an identical prefix and suffix. */
        int lo, len;
        /* Lines of the region that take part in the search, and where they really are. */
        int *undiscarded, *realindex, n_undiscarded;
};

struct ctx {
        struct file f[2];
        int *xv, *yv;   /* undiscarded ids of each file */
        int *fd, *bd;   /* furthest x per diagonal, forward and backward; offset by n1 + 1 */
};

static int count_lines(const char *text)
{
        long n = 0;

        for (const char *p = text; *p; p++)
                if (*p == '\n' && ++n > TEXTDIFF_MAX_LINES)
                        return -E2BIG;
        if (*text && text[strlen(text) - 1] != '\n')
                n++;
        return n > TEXTDIFF_MAX_LINES ? -E2BIG : (int)n;
}

static int split_lines(const char *text, struct file *f)
{
        const char *p = text;
        int n = count_lines(text);

        if (n < 0)
                return n;
        f->lines = calloc((size_t)n + 1, sizeof(*f->lines));
        f->id = calloc((size_t)n + 1, sizeof(*f->id));
        f->flags = calloc((size_t)n + 2, 1);
        f->undiscarded = calloc((size_t)n + 1, sizeof(int));
        f->realindex = calloc((size_t)n + 1, sizeof(int));
        if (!f->lines || !f->id || !f->flags || !f->undiscarded || !f->realindex)
                return -ENOMEM;
        f->changed = f->flags + 1;
        f->n = n;
        for (int i = 0; i < n; i++) {
                const char *nl = strchr(p, '\n');

                f->lines[i].s = p;
                f->lines[i].len = nl ? (size_t)(nl - p) : strlen(p);
                f->lines[i].nl = nl != NULL;
                p = nl ? nl + 1 : p + f->lines[i].len;
        }
        return 0;
}

static void file_free(struct file *f)
{
        free(f->lines);
        free(f->id);
        free(f->flags);
        free(f->undiscarded);
        free(f->realindex);
}

static bool line_equal(const struct line *a, const struct line *b)
{
        return a->len == b->len && a->nl == b->nl && memcmp(a->s, b->s, a->len) == 0;
}

static uint32_t line_hash(const struct line *l)
{
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < l->len; i++)
                h = (h ^ (unsigned char)l->s[i]) * 16777619u;
        return (h ^ (l->nl ? 1u : 0u)) * 16777619u;
}

/* Numbers the distinct lines of both files (1, 2, ...): equal lines get equal numbers. */
static int assign_ids(struct ctx *c)
{
        size_t total = (size_t)c->f[0].n + (size_t)c->f[1].n, size = 16;
        const struct line **slot;
        int *slot_id, next = 1;

        while (size < 2 * total + 1)
                size *= 2;
        slot = calloc(size, sizeof(*slot));
        slot_id = calloc(size, sizeof(*slot_id));
        if (!slot || !slot_id) {
                free(slot);
                free(slot_id);
                return -ENOMEM;
        }
        for (int k = 0; k < 2; k++)
                for (int i = 0; i < c->f[k].n; i++) {
                        const struct line *l = &c->f[k].lines[i];
                        size_t h = line_hash(l) & (size - 1);

                        while (slot[h] && !line_equal(slot[h], l))
                                h = (h + 1) & (size - 1);
                        if (!slot[h]) {
                                slot[h] = l;
                                slot_id[h] = next++;
                        }
                        c->f[k].id[i] = slot_id[h];
                }
        free(slot);
        free(slot_id);
        return 0;
}

/* Sets aside the identical beginning and end, keeping TEXTDIFF_CONTEXT lines of each in the
 * region compared (as diff's horizon does). */
static void find_region(struct ctx *c)
{
        struct file *a = &c->f[0], *b = &c->f[1];
        int pre = 0, suf = 0, lo, keep;

        while (pre < a->n && pre < b->n && a->id[pre] == b->id[pre])
                pre++;
        lo = pre > TEXTDIFF_CONTEXT ? pre - TEXTDIFF_CONTEXT : 0;
        while (suf < a->n - lo && suf < b->n - lo && a->id[a->n - 1 - suf] == b->id[b->n - 1 - suf])
                suf++;
        keep = suf < TEXTDIFF_CONTEXT ? suf : TEXTDIFF_CONTEXT;
        a->lo = b->lo = lo;
        a->len = a->n - suf + keep - lo;
        b->len = b->n - suf + keep - lo;
}

/* Marks as changed, without searching, the lines of each file that match no line of the
 * other, and those matching very many lines when they sit among such lines; the search runs
 * on what is left. */
static int discard_confusing_lines(struct ctx *c)
{
        int max_id = 0, r = 0;
        int *count[2] = { NULL, NULL };
        char *discard[2] = { NULL, NULL };

        for (int k = 0; k < 2; k++)
                for (int i = 0; i < c->f[k].len; i++)
                        if (c->f[k].id[c->f[k].lo + i] > max_id)
                                max_id = c->f[k].id[c->f[k].lo + i];
        for (int k = 0; k < 2; k++) {
                count[k] = calloc((size_t)max_id + 1, sizeof(int));
                discard[k] = calloc((size_t)c->f[k].len + 1, 1);
                if (!count[k] || !discard[k]) {
                        r = -ENOMEM;
                        goto out;
                }
                for (int i = 0; i < c->f[k].len; i++)
                        count[k][c->f[k].id[c->f[k].lo + i]]++;
        }

        /* 1: matches nothing in the other file; 2: matches many lines, maybe discarded. */
        for (int k = 0; k < 2; k++) {
                const struct file *f = &c->f[k];
                int many = 5;

                for (int t = f->len / 64; (t >>= 2) > 0;)
                        many *= 2;
                for (int i = 0; i < f->len; i++) {
                        int m = count[1 - k][f->id[f->lo + i]];

                        if (m == 0)
                                discard[k][i] = 1;
                        else if (m > many)
                                discard[k][i] = 2;
                }
        }

        /* A many-matching line is discarded only inside a run of discarded lines, away from
         * its ends, and not where such lines make up a quarter of the run or come in long
         * stretches. */
        for (int k = 0; k < 2; k++) {
                char *d = discard[k];
                int end = c->f[k].len;

                for (int i = 0; i < end; i++) {
                        int j, length, provisional = 0;

                        if (d[i] == 2) {
                                d[i] = 0;
                                continue;
                        }
                        if (d[i] == 0)
                                continue;
                        for (j = i; j < end && d[j] != 0; j++)
                                if (d[j] == 2)
                                        provisional++;
                        while (j > i && d[j - 1] == 2) {
                                d[--j] = 0;
                                provisional--;
                        }
                        length = j - i;
                        if (provisional * 4 > length) {
                                while (j > i)
                                        if (d[--j] == 2)
                                                d[j] = 0;
                        } else {
                                int minimum = 1, consec = 0;

                                for (int t = length / 4; (t >>= 2) > 0;)
                                        minimum *= 2;
                                minimum++;
                                for (j = 0, consec = 0; j < length; j++) {
                                        if (d[i + j] != 2)
                                                consec = 0;
                                        else if (minimum == ++consec)
                                                j -= consec;  /* back to the subrun's start */
                                        else if (minimum < consec)
                                                d[i + j] = 0;
                                }
                                for (j = 0, consec = 0; j < length; j++) {
                                        if (j >= 8 && d[i + j] == 1)
                                                break;
                                        if (d[i + j] == 2) {
                                                consec = 0;
                                                d[i + j] = 0;
                                        } else if (d[i + j] == 0)
                                                consec = 0;
                                        else
                                                consec++;
                                        if (consec == 3)
                                                break;
                                }
                                i += length - 1;
                                for (j = 0, consec = 0; j < length; j++) {
                                        if (j >= 8 && d[i - j] == 1)
                                                break;
                                        if (d[i - j] == 2) {
                                                consec = 0;
                                                d[i - j] = 0;
                                        } else if (d[i - j] == 0)
                                                consec = 0;
                                        else
                                                consec++;
                                        if (consec == 3)
                                                break;
                                }
                        }
                }
        }

        for (int k = 0; k < 2; k++) {
                struct file *f = &c->f[k];
                int j = 0;

                for (int i = 0; i < f->len; i++) {
                        if (discard[k][i]) {
                                f->changed[f->lo + i] = 1;
                                continue;
                        }
                        f->undiscarded[j] = f->id[f->lo + i];
                        f->realindex[j++] = f->lo + i;
                }
                f->n_undiscarded = j;
        }
out:
        for (int k = 0; k < 2; k++) {
                free(count[k]);
                free(discard[k]);
        }
        return r;
}

/* Finds where a shortest edit script of xv[xoff..xlim) -> yv[yoff..ylim) crosses its middle,
 * searching forward from the start and backward from the end at once. The first and last
 * elements are known to differ. */
static void bisect(struct ctx *c, int xoff, int xlim, int yoff, int ylim, int *ret_x, int *ret_y)
{
        int *fd = c->fd, *bd = c->bd;
        const int *xv = c->xv, *yv = c->yv;
        const int dmin = xoff - ylim, dmax = xlim - yoff;
        const int fmid = xoff - yoff, bmid = xlim - ylim;
        int fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
        bool odd = (fmid - bmid) & 1;

        fd[fmid] = xoff;
        bd[bmid] = xlim;
        for (;;) {
                if (fmin > dmin)
                        fd[--fmin - 1] = -1;
                else
                        ++fmin;
                if (fmax < dmax)
                        fd[++fmax + 1] = -1;
                else
                        --fmax;
                for (int d = fmax; d >= fmin; d -= 2) {
                        int lo = fd[d - 1], hi = fd[d + 1];
                        int x = lo < hi ? hi : lo + 1, y = x - d;

                        while (x < xlim && y < ylim && xv[x] == yv[y])
                                x++, y++;
                        fd[d] = x;
                        if (odd && bmin <= d && d <= bmax && bd[d] <= x) {
                                *ret_x = x;
                                *ret_y = y;
                                return;
                        }
                }

                if (bmin > dmin)
                        bd[--bmin - 1] = INT_MAX;
                else
                        ++bmin;
                if (bmax < dmax)
                        bd[++bmax + 1] = INT_MAX;
                else
                        --bmax;
                for (int d = bmax; d >= bmin; d -= 2) {
                        int lo = bd[d - 1], hi = bd[d + 1];
                        int x = lo < hi ? lo : hi - 1, y = x - d;

                        while (xoff < x && yoff < y && xv[x - 1] == yv[y - 1])
                                x--, y--;
                        bd[d] = x;
                        if (!odd && fmin <= d && d <= fmax && x <= fd[d]) {
                                *ret_x = x;
                                *ret_y = y;
                                return;
                        }
                }
        }
}

static void compare(struct ctx *c, int xoff, int xlim, int yoff, int ylim)
{
        struct file *a = &c->f[0], *b = &c->f[1];

        /* Iterative on the right half, recursive on the left: depth stays logarithmic. */
        for (;;) {
                int xmid, ymid;

                while (xoff < xlim && yoff < ylim && c->xv[xoff] == c->yv[yoff])
                        xoff++, yoff++;
                while (xoff < xlim && yoff < ylim && c->xv[xlim - 1] == c->yv[ylim - 1])
                        xlim--, ylim--;
                if (xoff == xlim) {
                        while (yoff < ylim)
                                b->changed[b->realindex[yoff++]] = 1;
                        return;
                }
                if (yoff == ylim) {
                        while (xoff < xlim)
                                a->changed[a->realindex[xoff++]] = 1;
                        return;
                }
                bisect(c, xoff, xlim, yoff, ylim, &xmid, &ymid);
                compare(c, xoff, xmid, yoff, ymid);
                xoff = xmid;
                yoff = ymid;
        }
}

/* Slides each run of changed lines over equal neighbours so that runs merge where they can
 * and otherwise sit as low as they can, lined up with a run in the other file if possible. */
static void shift_boundaries(struct ctx *c)
{
        for (int k = 0; k < 2; k++) {
                char *changed = c->f[k].changed + c->f[k].lo;
                const char *other = c->f[1 - k].changed + c->f[1 - k].lo;
                const int *id = c->f[k].id + c->f[k].lo;
                int i = 0, j = 0, end = c->f[k].len;

                /* changed[-1] and changed[end] (and other's) are unchanged lines of the
                 * set-aside ends, or the zero sentinels: the scans below stop there. */
                for (;;) {
                        int start, runlength, corresponding;

                        while (i < end && !changed[i]) {
                                while (other[j++])
                                        ;
                                i++;
                        }
                        if (i == end)
                                break;
                        start = i;
                        while (changed[++i])
                                ;
                        while (other[j])
                                j++;
                        do {
                                runlength = i - start;
                                while (start && id[start - 1] == id[i - 1]) {
                                        changed[--start] = 1;
                                        changed[--i] = 0;
                                        while (changed[start - 1])
                                                start--;
                                        while (other[--j])
                                                ;
                                }
                                corresponding = other[j - 1] ? i : end;
                                while (i != end && id[start] == id[i]) {
                                        changed[start++] = 0;
                                        changed[i++] = 1;
                                        while (changed[i])
                                                i++;
                                        while (other[++j])
                                                corresponding = i;
                                }
                        } while (runlength != i - start);
                        while (corresponding < i) {
                                changed[--start] = 1;
                                changed[--i] = 0;
                                while (other[--j])
                                        ;
                        }
                }
        }
}

/* One change: DEL lines of file 0 from LINE0 replaced by INS lines of file 1 from LINE1. */
struct change {
        int line0, line1, del, ins;
};

static int build_script(const struct ctx *c, struct change **ret, size_t *ret_n)
{
        const struct file *a = &c->f[0], *b = &c->f[1];
        struct change *v = NULL, *p;
        size_t n = 0, alloc = 0;
        int i0 = 0, i1 = 0;

        while (i0 < a->n || i1 < b->n) {
                struct change ch;

                if (i0 < a->n && i1 < b->n && !a->changed[i0] && !b->changed[i1]) {
                        i0++, i1++;
                        continue;
                }
                ch.line0 = i0;
                ch.line1 = i1;
                while (i0 < a->n && a->changed[i0])
                        i0++;
                while (i1 < b->n && b->changed[i1])
                        i1++;
                ch.del = i0 - ch.line0;
                ch.ins = i1 - ch.line1;
                if (ch.del == 0 && ch.ins == 0)
                        break;  /* cannot happen with consistent flags; never loop */
                if (n == alloc) {
                        alloc = alloc ? alloc * 2 : 16;
                        p = realloc(v, alloc * sizeof(*v));
                        if (!p) {
                                free(v);
                                return -ENOMEM;
                        }
                        v = p;
                }
                v[n++] = ch;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int put_line(struct buf *out, char mark, const struct line *l)
{
        int r = buf_append(out, &mark, 1);

        if (r >= 0)
                r = buf_append(out, l->s, l->len);
        if (r >= 0)
                r = buf_puts(out, l->nl ? "\n" : "\n\\ No newline at end of file\n");
        return r;
}

/* "a,b" as diff -u prints a range of COUNT lines starting at 0-based FIRST. */
static int put_range(struct buf *out, int first, int count)
{
        if (count == 1)
                return buf_printf(out, "%d", first + 1);
        if (count == 0)
                return buf_printf(out, "%d,0", first);
        return buf_printf(out, "%d,%d", first + 1, count);
}

static int put_hunks(const struct ctx *c, const struct change *ch, size_t n, struct buf *out)
{
        const struct file *a = &c->f[0], *b = &c->f[1];
        const int context = TEXTDIFF_CONTEXT;
        size_t i = 0;
        int r = 0;

        while (i < n) {
                size_t last = i;
                int first0, first1, end0, end1, x, y;

                /* Changes closer than 2 * context + 1 unchanged lines share a hunk. */
                while (last + 1 < n && ch[last + 1].line0 - (ch[last].line0 + ch[last].del) < 2 * context + 1)
                        last++;
                first0 = ch[i].line0 - context < 0 ? 0 : ch[i].line0 - context;
                first1 = ch[i].line1 - (ch[i].line0 - first0);
                end0 = ch[last].line0 + ch[last].del + context;
                if (end0 > a->n)
                        end0 = a->n;
                end1 = ch[last].line1 + ch[last].ins + (end0 - (ch[last].line0 + ch[last].del));
                if (end1 > b->n)
                        end1 = b->n;

                r = buf_puts(out, "@@ -");
                if (r >= 0)
                        r = put_range(out, first0, end0 - first0);
                if (r >= 0)
                        r = buf_puts(out, " +");
                if (r >= 0)
                        r = put_range(out, first1, end1 - first1);
                if (r >= 0)
                        r = buf_puts(out, " @@\n");
                x = first0;
                y = first1;
                for (size_t k = i; r >= 0 && k <= last; k++) {
                        while (r >= 0 && x < ch[k].line0) {
                                r = put_line(out, ' ', &a->lines[x++]);
                                y++;
                        }
                        for (int d = 0; r >= 0 && d < ch[k].del; d++)
                                r = put_line(out, '-', &a->lines[x++]);
                        for (int d = 0; r >= 0 && d < ch[k].ins; d++)
                                r = put_line(out, '+', &b->lines[y++]);
                }
                while (r >= 0 && x < end0)
                        r = put_line(out, ' ', &a->lines[x++]);
                if (r < 0)
                        return r;
                i = last + 1;
        }
        return 0;
}

int textdiff_unified(const char *label, const char *old_text, const char *new_text, char **ret)
{
        struct ctx c;
        struct buf out = BUF_INIT(TEXTDIFF_OUTPUT_MAX);
        struct change *script = NULL;
        size_t n_script = 0;
        int *diag = NULL;
        char *s;
        int r;

        memset(&c, 0, sizeof(c));
        r = split_lines(old_text ? old_text : "", &c.f[0]);
        if (r >= 0)
                r = split_lines(new_text ? new_text : "", &c.f[1]);
        if (r >= 0)
                r = assign_ids(&c);
        if (r < 0)
                goto out;
        find_region(&c);
        r = discard_confusing_lines(&c);
        if (r < 0)
                goto out;

        /* Diagonals run from -(n1 + 1) to n0 + 1. */
        diag = calloc(2 * ((size_t)c.f[0].n_undiscarded + (size_t)c.f[1].n_undiscarded + 3), sizeof(int));
        if (!diag) {
                r = -ENOMEM;
                goto out;
        }
        c.fd = diag + c.f[1].n_undiscarded + 1;
        c.bd = c.fd + c.f[0].n_undiscarded + c.f[1].n_undiscarded + 3;
        c.xv = c.f[0].undiscarded;
        c.yv = c.f[1].undiscarded;
        compare(&c, 0, c.f[0].n_undiscarded, 0, c.f[1].n_undiscarded);
        shift_boundaries(&c);

        r = build_script(&c, &script, &n_script);
        if (r < 0)
                goto out;
        if (n_script > 0) {
                const char *l = label ? label : "";

                r = buf_printf(&out, "--- %s\n+++ %s\n", l, l);
                if (r >= 0)
                        r = put_hunks(&c, script, n_script, &out);
                if (r < 0)
                        goto out;
        }
        s = buf_steal(&out);
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        *ret = s;
        r = 0;
out:
        buf_free(&out);
        free(script);
        free(diag);
        file_free(&c.f[0]);
        file_free(&c.f[1]);
        return r;
}
