/* A strict, bounded pickle subset for ZEO (see pickle.h).
 *
 * Decoded opcodes: PROTO FRAME STOP MARK POP POP_MARK DUP; NONE NEWTRUE NEWFALSE; BININT
 * BININT1 BININT2 LONG1; BINFLOAT; SHORT_BINUNICODE BINUNICODE BINUNICODE8 SHORT_BINBYTES
 * BINBYTES; EMPTY_TUPLE TUPLE1 TUPLE2 TUPLE3 TUPLE; EMPTY_LIST APPEND APPENDS; EMPTY_DICT
 * SETITEM SETITEMS; BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET; GLOBAL STACK_GLOBAL REDUCE
 * BUILD (opaque). Everything else, including the text opcodes of protocol 0, is rejected. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zodb_pickle.h"

enum {
        OP_MARK = '(',
        OP_STOP = '.',
        OP_POP = '0',
        OP_POP_MARK = '1',
        OP_DUP = '2',
        OP_BINBYTES = 'B',
        OP_SHORT_BINBYTES = 'C',
        OP_BINFLOAT = 'G',
        OP_BININT = 'J',
        OP_BININT1 = 'K',
        OP_BININT2 = 'M',
        OP_NONE = 'N',
        OP_REDUCE = 'R',
        OP_BINUNICODE = 'X',
        OP_EMPTY_LIST = ']',
        OP_APPEND = 'a',
        OP_BUILD = 'b',
        OP_GLOBAL = 'c',
        OP_APPENDS = 'e',
        OP_BINGET = 'h',
        OP_LONG_BINGET = 'j',
        OP_BINPUT = 'q',
        OP_LONG_BINPUT = 'r',
        OP_SETITEM = 's',
        OP_TUPLE = 't',
        OP_SETITEMS = 'u',
        OP_EMPTY_DICT = '}',
        OP_EMPTY_TUPLE = ')',
        OP_PROTO = 0x80,
        OP_TUPLE1 = 0x85,
        OP_TUPLE2 = 0x86,
        OP_TUPLE3 = 0x87,
        OP_NEWTRUE = 0x88,
        OP_NEWFALSE = 0x89,
        OP_LONG1 = 0x8a,
        OP_SHORT_BINUNICODE = 0x8c,
        OP_BINUNICODE8 = 0x8d,
        OP_STACK_GLOBAL = 0x93,
        OP_MEMOIZE = 0x94,
        OP_FRAME = 0x95,
};

/* GLOBAL's "module\nname\n" lines: Python identifiers and dotted names, never long. */
#define PICKLE_MAX_GLOBAL_LINE 256u

struct pickle_doc {
        struct pickle_value *root;
        struct pickle_value *values; /* every value, linked through ->next */
        size_t nvalues;
};

struct decoder {
        const uint8_t *p;
        size_t len;
        size_t pos;
        struct pickle_doc *doc;
        struct pickle_value *stack[PICKLE_MAX_STACK];
        size_t sp;
        size_t marks[PICKLE_MAX_MARKS];
        size_t nmarks;
        struct pickle_value *memo[PICKLE_MAX_MEMO]; /* below memo_len: set, or NULL (never set) */
        size_t memo_len; /* MEMOIZE's next index: highest index set + 1 */
        struct pickle_error *err;
};

static int fail(struct decoder *d, int r, size_t at, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct decoder *d, int r, size_t at, const char *fmt, ...)
{
        va_list ap;

        if (d->err) {
                d->err->offset = at;
                va_start(ap, fmt);
                vsnprintf(d->err->why, sizeof(d->err->why), fmt, ap);
                va_end(ap);
        }
        return r;
}

/* UTF-8 check. Python pickles str with "surrogatepass", so the decoder lets encoded surrogates
 * through (ALLOW_SURROGATES); the encoder does not produce them. */
static bool utf8_check(const char *s, size_t len, bool allow_surrogates)
{
        const uint8_t *u = (const uint8_t *)s;
        size_t i = 0, n, k;
        uint32_t cp;

        while (i < len) {
                uint8_t c = u[i];

                if (c < 0x80) {
                        i++;
                        continue;
                } else if (c >= 0xc2 && c <= 0xdf) {
                        n = 1;
                        cp = c & 0x1f;
                } else if (c >= 0xe0 && c <= 0xef) {
                        n = 2;
                        cp = c & 0x0f;
                } else if (c >= 0xf0 && c <= 0xf4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return false;
                if (len - i - 1 < n)
                        return false;
                for (k = 1; k <= n; k++) {
                        if ((u[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (u[i + k] & 0x3f);
                }
                if (n == 2 && cp < 0x800)
                        return false;
                if (n == 2 && cp >= 0xd800 && cp <= 0xdfff && !allow_surrogates)
                        return false;
                if (n == 3 && (cp < 0x10000 || cp > 0x10ffff))
                        return false;
                i += n + 1;
        }
        return true;
}

bool pickle_utf8_valid(const char *s, size_t len)
{
        return utf8_check(s, len, false);
}

/* ---- decoder ---- */

static int new_value(struct decoder *d, size_t at, enum pickle_kind kind, struct pickle_value **ret)
{
        struct pickle_value *v = NULL;

        if (d->doc->nvalues >= PICKLE_MAX_VALUES)
                return fail(d, -E2BIG, at, "more than %u values", PICKLE_MAX_VALUES);
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->kind = kind;
        v->next = d->doc->values;
        d->doc->values = v;
        d->doc->nvalues++;
        *ret = v;
        return 0;
}

static int new_blob(struct decoder *d, size_t at, enum pickle_kind kind, const void *src, size_t n,
                    struct pickle_value **ret)
{
        struct pickle_value *v = NULL;
        int r;

        if (kind == PICKLE_STR && !utf8_check(src, n, true))
                return fail(d, -EBADMSG, at, "str is not valid UTF-8");
        r = new_value(d, at, kind, &v);
        if (r < 0)
                return r;
        v->data = malloc(n + 1);
        if (!v->data)
                return -ENOMEM;
        if (n)
                memcpy(v->data, src, n);
        v->data[n] = '\0';
        v->len = n;
        *ret = v;
        return 0;
}

static int add_item(struct decoder *d, size_t at, struct pickle_value *c, struct pickle_value *item)
{
        if (c->n == c->alloc) {
                size_t na = c->alloc ? c->alloc * 2 : 4;
                struct pickle_value **ni = realloc(c->items, na * sizeof(*ni));

                if (!ni)
                        return -ENOMEM;
                c->items = ni;
                c->alloc = na;
        }
        c->items[c->n++] = item;
        if (item->depth + 1 > c->depth)
                c->depth = item->depth + 1;
        if (c->depth > PICKLE_MAX_DEPTH)
                return fail(d, -E2BIG, at, "nested deeper than %u", PICKLE_MAX_DEPTH);
        return 0;
}

static size_t floor_of(const struct decoder *d)
{
        return d->nmarks ? d->marks[d->nmarks - 1] : 0;
}

static int push(struct decoder *d, size_t at, struct pickle_value *v)
{
        if (d->sp >= PICKLE_MAX_STACK)
                return fail(d, -E2BIG, at, "more than %u values on the stack", PICKLE_MAX_STACK);
        d->stack[d->sp++] = v;
        return 0;
}

static int pop(struct decoder *d, size_t at, struct pickle_value **ret)
{
        if (d->sp <= floor_of(d))
                return fail(d, -EBADMSG, at, "stack underflow");
        *ret = d->stack[--d->sp];
        return 0;
}

static int top(struct decoder *d, size_t at, struct pickle_value **ret)
{
        if (d->sp <= floor_of(d))
                return fail(d, -EBADMSG, at, "stack underflow");
        *ret = d->stack[d->sp - 1];
        return 0;
}

/* Pops the topmost mark; *ret_mark is the stack index it marked. The value just below it (for
 * APPENDS/SETITEMS) must lie above the previous mark, as in CPython. */
static int pop_mark(struct decoder *d, size_t at, size_t *ret_mark)
{
        if (d->nmarks == 0)
                return fail(d, -EBADMSG, at, "no MARK to close");
        *ret_mark = d->marks[--d->nmarks];
        return 0;
}

static int need(struct decoder *d, size_t n, size_t at)
{
        if (d->len - d->pos < n)
                return fail(d, -EBADMSG, at, "truncated (opcode needs %zu more bytes)", n);
        return 0;
}

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
        return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int push_new(struct decoder *d, size_t at, enum pickle_kind kind, struct pickle_value **ret)
{
        struct pickle_value *v = NULL;
        int r;

        r = new_value(d, at, kind, &v);
        if (r < 0)
                return r;
        if (kind == PICKLE_TUPLE || kind == PICKLE_LIST || kind == PICKLE_DICT)
                v->depth = 1;
        r = push(d, at, v);
        if (r < 0)
                return r;
        if (ret)
                *ret = v;
        return 0;
}

static int push_blob(struct decoder *d, size_t at, enum pickle_kind kind, size_t n)
{
        struct pickle_value *v = NULL;
        int r;

        r = need(d, n, at);
        if (r < 0)
                return r;
        r = new_blob(d, at, kind, d->p + d->pos, n, &v);
        if (r < 0)
                return r;
        d->pos += n;
        return push(d, at, v);
}

/* Builds a tuple from stack[from..sp) and leaves it in their place. */
static int make_tuple(struct decoder *d, size_t at, size_t from)
{
        struct pickle_value *t = NULL;
        size_t i;
        int r;

        r = new_value(d, at, PICKLE_TUPLE, &t);
        if (r < 0)
                return r;
        t->depth = 1;
        for (i = from; i < d->sp; i++) {
                r = add_item(d, at, t, d->stack[i]);
                if (r < 0)
                        return r;
        }
        d->sp = from;
        return push(d, at, t);
}

static bool global_name_ok(const char *s, size_t n)
{
        size_t i;

        if (n == 0 || n > PICKLE_MAX_GLOBAL_LINE)
                return false;
        for (i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.'))
                        return false;
        }
        return true;
}

static int push_global(struct decoder *d, size_t at, const char *mod, size_t nmod, const char *name,
                       size_t nname)
{
        struct pickle_value *v = NULL;
        int r;

        if (!global_name_ok(mod, nmod) || !global_name_ok(name, nname))
                return fail(d, -EBADMSG, at, "class reference is not a dotted Python name");
        r = new_value(d, at, PICKLE_GLOBAL, &v);
        if (r < 0)
                return r;
        v->data = malloc(nmod + 1 + nname + 1);
        if (!v->data)
                return -ENOMEM;
        memcpy(v->data, mod, nmod);
        v->data[nmod] = '.';
        memcpy(v->data + nmod + 1, name, nname);
        v->data[nmod + 1 + nname] = '\0';
        v->len = nmod + 1 + nname;
        return push(d, at, v);
}

/* GLOBAL's argument: a line of at most PICKLE_MAX_GLOBAL_LINE bytes ending with '\n'. */
static int read_line(struct decoder *d, size_t at, const char **ret, size_t *ret_len)
{
        const uint8_t *start = d->p + d->pos;
        size_t avail = d->len - d->pos;
        size_t max = avail < PICKLE_MAX_GLOBAL_LINE + 1 ? avail : PICKLE_MAX_GLOBAL_LINE + 1;
        const uint8_t *nl = memchr(start, '\n', max);

        if (!nl)
                return fail(d, -EBADMSG, at, "GLOBAL line missing or longer than %u bytes",
                            PICKLE_MAX_GLOBAL_LINE);
        *ret = (const char *)start;
        *ret_len = (size_t)(nl - start);
        d->pos += *ret_len + 1;
        return 0;
}

static int memo_put(struct decoder *d, size_t at, uint64_t idx)
{
        struct pickle_value *v = NULL;
        int r;

        if (idx >= PICKLE_MAX_MEMO)
                return fail(d, -E2BIG, at, "memo index %" PRIu64 " beyond %u", idx, PICKLE_MAX_MEMO);
        r = top(d, at, &v);
        if (r < 0)
                return r;
        /* The arrays are not zeroed when the decoder is made (66 KB for every message): the
         * memo is cleared as far as it is used. */
        if (idx >= d->memo_len) {
                memset(&d->memo[d->memo_len], 0, (size_t)(idx - d->memo_len) * sizeof(d->memo[0]));
                d->memo_len = (size_t)idx + 1;
        }
        d->memo[idx] = v;
        return 0;
}

static int memo_get(struct decoder *d, size_t at, uint64_t idx)
{
        if (idx >= d->memo_len || !d->memo[idx])
                return fail(d, -EBADMSG, at, "memo index %" PRIu64 " was never set", idx);
        return push(d, at, d->memo[idx]);
}

static int run(struct decoder *d)
{
        int r = 0;

        for (;;) {
                size_t at = d->pos;
                struct pickle_value *v = NULL, *k = NULL, *c = NULL;
                size_t mark = 0, i;
                uint8_t op;

                if (d->pos >= d->len)
                        return fail(d, -EBADMSG, at, "truncated (no STOP)");
                op = d->p[d->pos++];
                switch (op) {
                case OP_PROTO:
                        r = need(d, 1, at);
                        if (r < 0)
                                return r;
                        if (d->p[d->pos] > PICKLE_MAX_PROTO)
                                return fail(d, -EBADMSG, at, "unsupported pickle protocol %u",
                                            d->p[d->pos]);
                        d->pos++;
                        break;
                case OP_FRAME:
                        r = need(d, 8, at);
                        if (r < 0)
                                return r;
                        if (le64(d->p + d->pos) > d->len - d->pos - 8)
                                return fail(d, -EBADMSG, at, "FRAME longer than the data");
                        d->pos += 8;
                        break;
                case OP_STOP:
                        if (d->nmarks != 0 || d->sp != 1)
                                return fail(d, -EBADMSG, at, "STOP with %zu values and %zu marks",
                                            d->sp, d->nmarks);
                        if (d->pos != d->len)
                                return fail(d, -EBADMSG, d->pos, "%zu bytes after STOP",
                                            d->len - d->pos);
                        d->doc->root = d->stack[0];
                        return 0;
                case OP_MARK:
                        if (d->nmarks >= PICKLE_MAX_MARKS)
                                return fail(d, -E2BIG, at, "more than %u MARKs open", PICKLE_MAX_MARKS);
                        d->marks[d->nmarks++] = d->sp;
                        break;
                case OP_POP:
                        if (d->sp > floor_of(d))
                                d->sp--;
                        else if (d->nmarks > 0)
                                d->nmarks--;
                        else
                                return fail(d, -EBADMSG, at, "stack underflow");
                        break;
                case OP_POP_MARK:
                        r = pop_mark(d, at, &mark);
                        if (r < 0)
                                return r;
                        d->sp = mark;
                        break;
                case OP_DUP:
                        r = top(d, at, &v);
                        if (r < 0)
                                return r;
                        r = push(d, at, v);
                        break;
                case OP_NONE:
                        r = push_new(d, at, PICKLE_NONE, NULL);
                        break;
                case OP_NEWTRUE:
                case OP_NEWFALSE:
                        r = push_new(d, at, PICKLE_BOOL, &v);
                        if (r >= 0)
                                v->b = op == OP_NEWTRUE;
                        break;
                case OP_BININT1:
                        r = need(d, 1, at);
                        if (r >= 0)
                                r = push_new(d, at, PICKLE_INT, &v);
                        if (r >= 0)
                                v->i = d->p[d->pos++];
                        break;
                case OP_BININT2:
                        r = need(d, 2, at);
                        if (r >= 0)
                                r = push_new(d, at, PICKLE_INT, &v);
                        if (r >= 0) {
                                v->i = d->p[d->pos] | d->p[d->pos + 1] << 8;
                                d->pos += 2;
                        }
                        break;
                case OP_BININT:
                        r = need(d, 4, at);
                        if (r >= 0)
                                r = push_new(d, at, PICKLE_INT, &v);
                        if (r >= 0) {
                                v->i = (int32_t)le32(d->p + d->pos);
                                d->pos += 4;
                        }
                        break;
                case OP_LONG1: {
                        size_t n;
                        uint64_t u = 0;

                        r = need(d, 1, at);
                        if (r < 0)
                                return r;
                        n = d->p[d->pos++];
                        if (n > 8)
                                return fail(d, -EBADMSG, at, "integer of %zu bytes does not fit in 64 bits", n);
                        r = need(d, n, at);
                        if (r < 0)
                                return r;
                        for (i = 0; i < n; i++)
                                u |= (uint64_t)d->p[d->pos + i] << (8 * i);
                        if (n > 0 && n < 8 && (d->p[d->pos + n - 1] & 0x80))
                                u |= UINT64_MAX << (8 * n); /* sign-extend */
                        d->pos += n;
                        r = push_new(d, at, PICKLE_INT, &v);
                        if (r >= 0)
                                v->i = (int64_t)u;
                        break;
                }
                case OP_BINFLOAT: {
                        uint64_t u = 0;
                        double f;

                        r = need(d, 8, at);
                        if (r < 0)
                                return r;
                        for (i = 0; i < 8; i++)
                                u = u << 8 | d->p[d->pos + i];
                        d->pos += 8;
                        memcpy(&f, &u, sizeof(f));
                        r = push_new(d, at, PICKLE_FLOAT, &v);
                        if (r >= 0)
                                v->f = f;
                        break;
                }
                case OP_SHORT_BINUNICODE:
                case OP_SHORT_BINBYTES:
                        r = need(d, 1, at);
                        if (r < 0)
                                return r;
                        d->pos++;
                        r = push_blob(d, at, op == OP_SHORT_BINBYTES ? PICKLE_BYTES : PICKLE_STR,
                                      d->p[d->pos - 1]);
                        break;
                case OP_BINUNICODE:
                case OP_BINBYTES: {
                        uint32_t n;

                        r = need(d, 4, at);
                        if (r < 0)
                                return r;
                        n = le32(d->p + d->pos);
                        d->pos += 4;
                        r = push_blob(d, at, op == OP_BINBYTES ? PICKLE_BYTES : PICKLE_STR, n);
                        break;
                }
                case OP_BINUNICODE8: {
                        uint64_t n;

                        r = need(d, 8, at);
                        if (r < 0)
                                return r;
                        n = le64(d->p + d->pos);
                        d->pos += 8;
                        if (n > d->len - d->pos)
                                return fail(d, -EBADMSG, at, "truncated (str of %" PRIu64 " bytes)", n);
                        r = push_blob(d, at, PICKLE_STR, (size_t)n);
                        break;
                }
                case OP_EMPTY_TUPLE:
                        r = push_new(d, at, PICKLE_TUPLE, NULL);
                        break;
                case OP_TUPLE1:
                case OP_TUPLE2:
                case OP_TUPLE3: {
                        size_t n = (size_t)(op - OP_TUPLE1) + 1;

                        if (d->sp - floor_of(d) < n)
                                return fail(d, -EBADMSG, at, "stack underflow");
                        r = make_tuple(d, at, d->sp - n);
                        break;
                }
                case OP_TUPLE:
                        r = pop_mark(d, at, &mark);
                        if (r >= 0)
                                r = make_tuple(d, at, mark);
                        break;
                case OP_EMPTY_LIST:
                        r = push_new(d, at, PICKLE_LIST, NULL);
                        break;
                case OP_EMPTY_DICT:
                        r = push_new(d, at, PICKLE_DICT, NULL);
                        break;
                case OP_APPEND:
                        r = pop(d, at, &v);
                        if (r >= 0)
                                r = top(d, at, &c);
                        if (r < 0)
                                return r;
                        if (c->kind != PICKLE_LIST)
                                return fail(d, -EBADMSG, at, "APPEND to something not a list");
                        r = add_item(d, at, c, v);
                        break;
                case OP_SETITEM:
                        r = pop(d, at, &v);
                        if (r >= 0)
                                r = pop(d, at, &k);
                        if (r >= 0)
                                r = top(d, at, &c);
                        if (r < 0)
                                return r;
                        if (c->kind != PICKLE_DICT)
                                return fail(d, -EBADMSG, at, "SETITEM on something not a dict");
                        r = add_item(d, at, c, k);
                        if (r >= 0)
                                r = add_item(d, at, c, v);
                        break;
                case OP_APPENDS:
                case OP_SETITEMS:
                        r = pop_mark(d, at, &mark);
                        if (r < 0)
                                return r;
                        if (mark <= floor_of(d))
                                return fail(d, -EBADMSG, at, "stack underflow");
                        c = d->stack[mark - 1];
                        if (op == OP_APPENDS && c->kind != PICKLE_LIST)
                                return fail(d, -EBADMSG, at, "APPENDS to something not a list");
                        if (op == OP_SETITEMS && c->kind != PICKLE_DICT)
                                return fail(d, -EBADMSG, at, "SETITEMS on something not a dict");
                        if (op == OP_SETITEMS && (d->sp - mark) % 2 != 0)
                                return fail(d, -EBADMSG, at, "SETITEMS with an odd number of values");
                        for (i = mark; i < d->sp && r >= 0; i++)
                                r = add_item(d, at, c, d->stack[i]);
                        d->sp = mark;
                        break;
                case OP_BINPUT:
                        r = need(d, 1, at);
                        if (r >= 0)
                                r = memo_put(d, at, d->p[d->pos++]);
                        break;
                case OP_LONG_BINPUT:
                        r = need(d, 4, at);
                        if (r >= 0) {
                                d->pos += 4;
                                r = memo_put(d, at, le32(d->p + d->pos - 4));
                        }
                        break;
                case OP_MEMOIZE:
                        r = memo_put(d, at, d->memo_len);
                        break;
                case OP_BINGET:
                        r = need(d, 1, at);
                        if (r >= 0)
                                r = memo_get(d, at, d->p[d->pos++]);
                        break;
                case OP_LONG_BINGET:
                        r = need(d, 4, at);
                        if (r >= 0) {
                                d->pos += 4;
                                r = memo_get(d, at, le32(d->p + d->pos - 4));
                        }
                        break;
                case OP_GLOBAL: {
                        const char *mod, *name;
                        size_t nmod, nname;

                        r = read_line(d, at, &mod, &nmod);
                        if (r >= 0)
                                r = read_line(d, at, &name, &nname);
                        if (r >= 0)
                                r = push_global(d, at, mod, nmod, name, nname);
                        break;
                }
                case OP_STACK_GLOBAL:
                        r = pop(d, at, &v);
                        if (r >= 0)
                                r = pop(d, at, &k);
                        if (r < 0)
                                return r;
                        if (k->kind != PICKLE_STR || v->kind != PICKLE_STR)
                                return fail(d, -EBADMSG, at, "STACK_GLOBAL needs two str");
                        r = push_global(d, at, k->data, k->len, v->data, v->len);
                        break;
                case OP_REDUCE:
                        r = pop(d, at, &v);
                        if (r >= 0)
                                r = pop(d, at, &k);
                        if (r < 0)
                                return r;
                        if (k->kind != PICKLE_GLOBAL || v->kind != PICKLE_TUPLE)
                                return fail(d, -EBADMSG, at, "REDUCE needs a class and an argument tuple");
                        r = new_value(d, at, PICKLE_OBJECT, &c);
                        if (r >= 0)
                                r = add_item(d, at, c, k);
                        if (r >= 0)
                                r = add_item(d, at, c, v);
                        if (r >= 0)
                                r = push(d, at, c);
                        break;
                case OP_BUILD:
                        r = pop(d, at, &v);
                        if (r >= 0)
                                r = top(d, at, &c);
                        if (r < 0)
                                return r;
                        if (c->kind != PICKLE_OBJECT || c->n != 2)
                                return fail(d, -EBADMSG, at, "BUILD on something not a new object");
                        r = add_item(d, at, c, v);
                        break;
                default:
                        return fail(d, -EBADMSG, at, "unsupported opcode 0x%02x", op);
                }
                if (r < 0)
                        return r;
        }
}

void pickle_doc_free(struct pickle_doc *doc)
{
        struct pickle_value *v, *next;

        if (!doc)
                return;
        for (v = doc->values; v; v = next) {
                next = v->next;
                free(v->data);
                free(v->items);
                free(v);
        }
        free(doc);
}

int pickle_decode(const void *data, size_t len, struct pickle_doc **ret, struct pickle_error *err)
{
        struct decoder *d = NULL;
        struct pickle_doc *doc = NULL;
        int r;

        if (err) {
                err->offset = 0;
                err->why[0] = '\0';
        }
        if (len > PICKLE_MAX_INPUT) {
                r = -E2BIG;
                if (err)
                        snprintf(err->why, sizeof(err->why), "pickle of %zu bytes (limit %u)", len,
                                 PICKLE_MAX_INPUT);
                goto out;
        }
        doc = calloc(1, sizeof(*doc));
        d = malloc(sizeof(*d));    /* its arrays are written before they are read */
        if (!doc || !d) {
                r = -ENOMEM;
                goto out;
        }
        d->pos = 0;
        d->sp = 0;
        d->nmarks = 0;
        d->memo_len = 0;
        d->p = data;
        d->len = len;
        d->doc = doc;
        d->err = err;
        r = run(d);
        if (r == -ENOMEM && err)
                snprintf(err->why, sizeof(err->why), "out of memory");
        if (r < 0)
                goto out;
        *ret = doc;
        doc = NULL;
out:
        pickle_doc_free(doc);
        free(d);
        return r;
}

const struct pickle_value *pickle_doc_root(const struct pickle_doc *doc)
{
        return doc ? doc->root : NULL;
}

/* ---- message head ---- */

static int peek_int(const uint8_t *p, size_t len, size_t *pos, int64_t *ret)
{
        size_t i = *pos;

        if (i >= len)
                return -EBADMSG;
        switch (p[i]) {
        case OP_BININT1:
                if (len - i < 2)
                        return -EBADMSG;
                *ret = p[i + 1];
                *pos = i + 2;
                return 0;
        case OP_BININT2:
                if (len - i < 3)
                        return -EBADMSG;
                *ret = p[i + 1] | p[i + 2] << 8;
                *pos = i + 3;
                return 0;
        case OP_BININT:
                if (len - i < 5)
                        return -EBADMSG;
                *ret = (int32_t)le32(p + i + 1);
                *pos = i + 5;
                return 0;
        case OP_NEWTRUE:
        case OP_NEWFALSE:
                *ret = p[i] == OP_NEWTRUE;
                *pos = i + 1;
                return 0;
        default:
                return -EBADMSG;
        }
}

int pickle_peek_message(const void *data, size_t len, int64_t *ret_msgid, int64_t *ret_flag,
                        const char **ret_name, size_t *ret_name_len)
{
        const uint8_t *p = data;
        size_t i = 0, n;
        int64_t msgid, flag;

        if (len - i >= 2 && p[i] == OP_PROTO)
                i += 2;
        if (len - i >= 9 && p[i] == OP_FRAME)
                i += 9;
        if (i >= len || p[i] != OP_MARK)
                return -EBADMSG;
        i++;
        if (peek_int(p, len, &i, &msgid) < 0 || peek_int(p, len, &i, &flag) < 0 || i >= len)
                return -EBADMSG;
        if (p[i] == OP_BINUNICODE && len - i >= 5) {
                n = le32(p + i + 1);
                i += 5;
        } else if (p[i] == OP_SHORT_BINUNICODE && len - i >= 2) {
                n = p[i + 1];
                i += 2;
        } else
                return -EBADMSG;
        if (n > len - i || !utf8_check((const char *)p + i, n, true))
                return -EBADMSG;
        *ret_msgid = msgid;
        *ret_flag = flag;
        *ret_name = (const char *)p + i;
        *ret_name_len = n;
        return 0;
}

/* ---- accessors ---- */

const struct pickle_value *pickle_item(const struct pickle_value *v, size_t i)
{
        if (!v || (v->kind != PICKLE_TUPLE && v->kind != PICKLE_LIST) || i >= v->n)
                return NULL;
        return v->items[i];
}

bool pickle_is_str(const struct pickle_value *v, const char *s)
{
        size_t n = strlen(s);

        return v && v->kind == PICKLE_STR && v->len == n && memcmp(v->data, s, n) == 0;
}

const struct pickle_value *pickle_dict_get(const struct pickle_value *v, const char *key)
{
        const struct pickle_value *found = NULL;
        size_t i;

        if (!v || v->kind != PICKLE_DICT)
                return NULL;
        for (i = 0; i + 1 < v->n; i += 2) /* the last one wins, as in Python */
                if (pickle_is_str(v->items[i], key))
                        found = v->items[i + 1];
        return found;
}

bool pickle_get_int(const struct pickle_value *v, int64_t *ret)
{
        if (!v)
                return false;
        switch (v->kind) {
        case PICKLE_INT:
                *ret = v->i;
                return true;
        case PICKLE_BOOL:
                *ret = v->b;
                return true;
        case PICKLE_FLOAT:
                if (!isfinite(v->f) || v->f != floor(v->f) || v->f < -9.2e18 || v->f > 9.2e18)
                        return false;
                *ret = (int64_t)v->f;
                return true;
        default:
                return false;
        }
}

struct out {
        char *buf;
        size_t size;
        size_t len;
};

static void out_add(struct out *o, const char *s, size_t n)
{
        size_t room = o->size - 1 - o->len;

        if (n > room)
                n = room;
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
        out_add(o, s, strlen(s));
}

static void out_quoted(struct out *o, const char *prefix, const char *s, size_t n)
{
        char tmp[8];
        size_t i;

        out_str(o, prefix);
        out_str(o, "'");
        for (i = 0; i < n && o->len + 1 < o->size; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '\'' || c == '\\') {
                        tmp[0] = '\\';
                        tmp[1] = (char)c;
                        out_add(o, tmp, 2);
                } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && prefix[0] == 'b')) {
                        snprintf(tmp, sizeof(tmp), "\\x%02x", c);
                        out_str(o, tmp);
                } else
                        out_add(o, (const char *)&c, 1);
        }
        out_str(o, "'");
}

static void repr_rec(struct out *o, const struct pickle_value *v, unsigned depth)
{
        char tmp[64];
        size_t i;

        if (depth > PICKLE_MAX_DEPTH) {
                out_str(o, "...");
                return;
        }
        switch (v->kind) {
        case PICKLE_NONE:
                out_str(o, "None");
                break;
        case PICKLE_BOOL:
                out_str(o, v->b ? "True" : "False");
                break;
        case PICKLE_INT:
                snprintf(tmp, sizeof(tmp), "%" PRId64, v->i);
                out_str(o, tmp);
                break;
        case PICKLE_FLOAT:
                snprintf(tmp, sizeof(tmp), "%.17g", v->f);
                out_str(o, tmp);
                break;
        case PICKLE_STR:
                out_quoted(o, "", v->data, v->len);
                break;
        case PICKLE_BYTES:
                out_quoted(o, "b", v->data, v->len);
                break;
        case PICKLE_GLOBAL:
                out_str(o, "<class ");
                out_add(o, v->data, v->len);
                out_str(o, ">");
                break;
        case PICKLE_OBJECT:
                out_add(o, v->items[0]->data, v->items[0]->len);
                repr_rec(o, v->items[1], depth + 1);
                break;
        case PICKLE_TUPLE:
        case PICKLE_LIST:
        case PICKLE_DICT:
                out_str(o, v->kind == PICKLE_TUPLE ? "(" : v->kind == PICKLE_LIST ? "[" : "{");
                for (i = 0; i < v->n && o->len + 1 < o->size; i++) {
                        if (i > 0)
                                out_str(o, v->kind == PICKLE_DICT && i % 2 ? ": " : ", ");
                        repr_rec(o, v->items[i], depth + 1);
                }
                if (v->kind == PICKLE_TUPLE && v->n == 1)
                        out_str(o, ",");
                out_str(o, v->kind == PICKLE_TUPLE ? ")" : v->kind == PICKLE_LIST ? "]" : "}");
                break;
        }
}

char *pickle_repr(const struct pickle_value *v, char *buf, size_t size)
{
        struct out o = { buf, size, 0 };

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (!v) {
                out_str(&o, "(nothing)");
                return buf;
        }
        repr_rec(&o, v, 0);
        if (o.len + 1 == size && size > 4)
                memcpy(buf + size - 4, "...", 4);
        return buf;
}

/* ---- encoder ---- */

static void enc_put(struct pickle_enc *e, const void *p, size_t n)
{
        if (e->error)
                return;
        if (e->alloc - e->len < n) {
                size_t na = e->alloc ? e->alloc : 64;
                uint8_t *nd;

                while (na - e->len < n) {
                        if (na > SIZE_MAX / 2) {
                                e->error = -ENOMEM;
                                return;
                        }
                        na *= 2;
                }
                nd = realloc(e->data, na);
                if (!nd) {
                        e->error = -ENOMEM;
                        return;
                }
                e->data = nd;
                e->alloc = na;
        }
        memcpy(e->data + e->len, p, n);
        e->len += n;
}

static void enc_op(struct pickle_enc *e, uint8_t op)
{
        enc_put(e, &op, 1);
}

static void enc_le(struct pickle_enc *e, uint64_t u, size_t n)
{
        uint8_t b[8];
        size_t i;

        for (i = 0; i < n; i++)
                b[i] = (uint8_t)(u >> (8 * i));
        enc_put(e, b, n);
}

void pickle_enc_proto(struct pickle_enc *e)
{
        uint8_t b[2] = { OP_PROTO, 3 };

        enc_put(e, b, 2);
}

void pickle_enc_none(struct pickle_enc *e)
{
        enc_op(e, OP_NONE);
}

void pickle_enc_bool(struct pickle_enc *e, bool b)
{
        enc_op(e, b ? OP_NEWTRUE : OP_NEWFALSE);
}

void pickle_enc_int(struct pickle_enc *e, int64_t i)
{
        if (i >= 0 && i <= 0xff) {
                enc_op(e, OP_BININT1);
                enc_le(e, (uint64_t)i, 1);
        } else if (i >= 0 && i <= 0xffff) {
                enc_op(e, OP_BININT2);
                enc_le(e, (uint64_t)i, 2);
        } else if (i >= INT32_MIN && i <= INT32_MAX) {
                enc_op(e, OP_BININT);
                enc_le(e, (uint64_t)(uint32_t)(int32_t)i, 4);
        } else {
                /* Python's encode_long: (bit_length >> 3) + 1 bytes of two's complement,
                 * minus a redundant 0xff sign byte for negative numbers. */
                uint64_t mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
                unsigned bits = 64 - (unsigned)__builtin_clzll(mag);
                size_t n = (bits >> 3) + 1, k;
                uint8_t b[9];

                for (k = 0; k < n; k++)
                        b[k] = k < 8 ? (uint8_t)((uint64_t)i >> (8 * k)) : (i < 0 ? 0xff : 0);
                if (i < 0 && n > 1 && b[n - 1] == 0xff && (b[n - 2] & 0x80))
                        n--;
                enc_op(e, OP_LONG1);
                enc_le(e, n, 1);
                enc_put(e, b, n);
        }
}

void pickle_enc_float(struct pickle_enc *e, double f)
{
        uint8_t b[9];
        uint64_t u;
        size_t k;

        memcpy(&u, &f, sizeof(u));
        b[0] = OP_BINFLOAT;
        for (k = 0; k < 8; k++)
                b[1 + k] = (uint8_t)(u >> (56 - 8 * k));
        enc_put(e, b, sizeof(b));
}

void pickle_enc_str(struct pickle_enc *e, const char *s, size_t len)
{
        if (e->error)
                return;
        if (!pickle_utf8_valid(s, len) || len > UINT32_MAX) {
                e->error = -EINVAL;
                return;
        }
        enc_op(e, OP_BINUNICODE);
        enc_le(e, len, 4);
        enc_put(e, s, len);
}

void pickle_enc_bytes(struct pickle_enc *e, const void *p, size_t len)
{
        if (e->error)
                return;
        if (len > UINT32_MAX) {
                e->error = -EINVAL;
                return;
        }
        if (len < 256) {
                enc_op(e, OP_SHORT_BINBYTES);
                enc_le(e, len, 1);
        } else {
                enc_op(e, OP_BINBYTES);
                enc_le(e, len, 4);
        }
        enc_put(e, p, len);
}

void pickle_enc_tuple_begin(struct pickle_enc *e, size_t n)
{
        if (n > 3)
                enc_op(e, OP_MARK);
}

void pickle_enc_tuple_end(struct pickle_enc *e, size_t n)
{
        static const uint8_t small[4] = { OP_EMPTY_TUPLE, OP_TUPLE1, OP_TUPLE2, OP_TUPLE3 };

        enc_op(e, n <= 3 ? small[n] : OP_TUPLE);
}

void pickle_enc_free(struct pickle_enc *e)
{
        free(e->data);
        e->data = NULL;
        e->len = e->alloc = 0;
}

int pickle_enc_finish(struct pickle_enc *e, uint8_t **ret, size_t *ret_len)
{
        int r;

        enc_op(e, OP_STOP);
        r = e->error;
        if (r < 0) {
                pickle_enc_free(e);
                return r;
        }
        *ret = e->data;
        *ret_len = e->len;
        e->data = NULL;
        e->len = e->alloc = 0;
        return 0;
}
