#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "util/buf.h"
#include "util/fileio.h"

/* What the parse builds before values are joined and nested blocks read. */
struct pending_key {
        char *key;
        struct buf value;       /* lines joined with '\n' as configparser joins them */
        unsigned line;
};

struct pending_section {
        char *name;             /* NULL for [DEFAULT] */
        struct pending_key *keys;
        size_t n, alloc;
        unsigned line;
};

struct parser {
        const char *name;
        struct pending_section *sections;
        size_t n, alloc;
        struct pending_section defaults;
        struct pending_section *cur;    /* NULL before the first header */
        struct pending_key *opt;        /* the key whose value a deeper line continues */
        size_t indent;                  /* of the last header or key line */
        size_t entries;
        struct error *err;
};

static bool space(char c)
{
        return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == '\n';
}

static void section_free(struct pending_section *s)
{
        for (size_t i = 0; i < s->n; i++) {
                free(s->keys[i].key);
                buf_free(&s->keys[i].value);
        }
        free(s->keys);
        free(s->name);
}

static void parser_free(struct parser *p)
{
        for (size_t i = 0; i < p->n; i++)
                section_free(&p->sections[i]);
        free(p->sections);
        section_free(&p->defaults);
}

static int bad(struct parser *p, unsigned line, const char *why, const char *what)
{
        return error_set(p->err, -EBADMSG, "%s:%u: %s%s (the AWS CLI refuses this file too)", p->name, line, why,
                         what ? what : "");
}

static int grow(void **arr, size_t *alloc, size_t n, size_t size)
{
        void *a;
        size_t na;

        if (n < *alloc)
                return 0;
        na = *alloc ? *alloc * 2 : 8;
        a = realloc(*arr, na * size);
        if (!a)
                return -ENOMEM;
        memset((char *)a + *alloc * size, 0, (na - *alloc) * size);
        *arr = a;
        *alloc = na;
        return 0;
}

static int header(struct parser *p, const char *v, size_t len, unsigned line)
{
        const char *close = NULL;
        char *name;

        /* configparser's "\[(?P<header>.+)\]": up to the last ']', at least one character. */
        for (size_t i = len; i > 1; i--)
                if (v[i - 1] == ']') {
                        close = v + i - 1;
                        break;
                }
        if (!close || close - v < 2)
                return 1;       /* not a header */
        name = strndup(v + 1, (size_t)(close - v - 1));
        if (!name)
                return -ENOMEM;
        p->opt = NULL;
        if (strcmp(name, "DEFAULT") == 0) {
                free(name);
                p->cur = &p->defaults;
                return 0;
        }
        for (size_t i = 0; i < p->n; i++)
                if (strcmp(p->sections[i].name, name) == 0) {
                        char what[64];

                        snprintf(what, sizeof(what), " (first at line %u)", p->sections[i].line);
                        free(name);
                        return error_set(p->err, -EBADMSG,
                                         "%s:%u: section [%s] appears twice%s (the AWS CLI refuses this file too)",
                                         p->name, line, p->sections[i].name, what);
                }
        if (p->n == INI_MAX_SECTIONS) {
                free(name);
                return error_set(p->err, -E2BIG, "%s:%u: more than %d sections", p->name, line, INI_MAX_SECTIONS);
        }
        if (grow((void **)&p->sections, &p->alloc, p->n, sizeof(*p->sections)) < 0) {
                free(name);
                return -ENOMEM;
        }
        p->cur = &p->sections[p->n++];
        p->cur->name = name;
        p->cur->line = line;
        return 0;
}

static int option(struct parser *p, const char *v, size_t len, unsigned line)
{
        struct pending_section *s = p->cur;
        struct pending_key *k;
        size_t d = 0, klen, vstart;
        char *key;

        while (d < len && v[d] != '=' && v[d] != ':')
                d++;
        if (d == len)
                return bad(p, line, "not \"key = value\"", NULL);
        klen = d;
        while (klen > 0 && space(v[klen - 1]))
                klen--;
        if (klen == 0)
                return bad(p, line, "a value without a key", NULL);
        key = strndup(v, klen);
        if (!key)
                return -ENOMEM;
        for (char *c = key; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->keys[i].key, key) == 0) {
                        int r = error_set(p->err, -EBADMSG,
                                          "%s:%u: key \"%s\" appears twice in [%s] (first at line %u; the AWS "
                                          "CLI refuses this file too)",
                                          p->name, line, key, s->name ? s->name : "DEFAULT", s->keys[i].line);
                        free(key);
                        return r;
                }
        if (++p->entries > INI_MAX_ENTRIES) {
                free(key);
                return error_set(p->err, -E2BIG, "%s:%u: more than %d keys", p->name, line, INI_MAX_ENTRIES);
        }
        if (grow((void **)&s->keys, &s->alloc, s->n, sizeof(*s->keys)) < 0) {
                free(key);
                return -ENOMEM;
        }
        k = &s->keys[s->n++];
        k->key = key;
        k->line = line;
        buf_init(&k->value, INI_MAX_BYTES);
        vstart = d + 1;
        while (vstart < len && space(v[vstart]))
                vstart++;
        p->opt = k;
        return buf_append(&k->value, v + vstart, len - vstart);
}

/* One line (without its end), as configparser's _read sees it. */
static int one_line(struct parser *p, const char *line, size_t len, unsigned lineno)
{
        size_t a = 0, b = len, indent;
        int r;

        while (a < b && space(line[a]))
                a++;
        while (b > a && space(line[b - 1]))
                b--;
        indent = a;
        if (a == b)     /* an empty line belongs to the value being read, if any */
                return p->opt ? buf_append(&p->opt->value, "\n", 1) : 0;
        if (line[a] == '#' || line[a] == ';')
                return 0;
        if (p->opt && indent > p->indent) {
                r = buf_append(&p->opt->value, "\n", 1);
                return r < 0 ? r : buf_append(&p->opt->value, line + a, b - a);
        }
        p->indent = indent;
        if (line[a] == '[') {
                r = header(p, line + a, b - a, lineno);
                if (r <= 0)
                        return r;
        }
        if (!p->cur)
                return bad(p, lineno, "text before the first [section] header", NULL);
        return option(p, line + a, b - a, lineno);
}

static bool valid_utf8(const unsigned char *s, size_t len, size_t *ret_bad)
{
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
                uint32_t cp;

                if (n == 0 || i + n > len || (n == 2 && c < 0xc2)) {
                        *ret_bad = i;
                        return false;
                }
                cp = n == 1 ? c : c & (0x7f >> n);
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80) {
                                *ret_bad = i;
                                return false;
                        }
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
                        *ret_bad = i;
                        return false;
                }
                i += n;
        }
        return true;
}

static void rstrip(char *s)
{
        size_t l = strlen(s);

        while (l > 0 && space(s[l - 1]))
                s[--l] = '\0';
}

static char *trimmed_dup(const char *a, const char *b)
{
        while (a < b && space(*a))
                a++;
        while (b > a && space(b[-1]))
                b--;
        return strndup(a, (size_t)(b - a));
}

static void entries_free(struct ini_entry *e, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(e[i].key);
                free(e[i].value);
                entries_free(e[i].sub, e[i].n_sub);
        }
        free(e);
}

/* Reads VALUE (which starts with a newline) as botocore's nested block into E. */
static int nested(struct parser *p, const char *key, const char *value, unsigned line, struct ini_entry *e)
{
        struct ini_entry *sub = NULL;
        size_t n = 0, alloc = 0;
        int r = 0;

        for (const char *s = value; *s && r >= 0;) {
                const char *end = strchr(s, '\n'), *eq;
                char *k, *v;

                if (!end)
                        end = s + strlen(s);
                eq = memchr(s, '=', (size_t)(end - s));
                k = NULL;
                for (const char *c = s; c < end; c++)
                        if (!space(*c)) {
                                k = (char *)c;
                                break;
                        }
                if (k && !eq) {
                        r = error_set(p->err, -EBADMSG,
                                      "%s:%u: the block under \"%s\" has a line that is not \"name = value\" (the "
                                      "AWS CLI refuses this file too)", p->name, line, key);
                        break;
                }
                if (k) {
                        if (++p->entries > INI_MAX_ENTRIES) {
                                r = error_set(p->err, -E2BIG, "%s:%u: more than %d keys", p->name, line,
                                              INI_MAX_ENTRIES);
                                break;
                        }
                        k = trimmed_dup(s, eq);
                        v = trimmed_dup(eq + 1, end);
                        if (!k || !v || grow((void **)&sub, &alloc, n, sizeof(*sub)) < 0) {
                                free(k);
                                free(v);
                                r = -ENOMEM;
                                break;
                        }
                        /* a name given twice: the last one wins, as in a Python dict */
                        for (size_t i = 0; i < n; i++)
                                if (strcmp(sub[i].key, k) == 0) {
                                        free(sub[i].key);
                                        free(sub[i].value);
                                        memmove(&sub[i], &sub[i + 1], (n - i - 1) * sizeof(*sub));
                                        n--;
                                        break;
                                }
                        sub[n++] = (struct ini_entry){ .key = k, .value = v, .line = line };
                }
                s = *end ? end + 1 : end;
        }
        if (r < 0) {
                entries_free(sub, n);
                return r;
        }
        e->sub = sub;
        e->n_sub = n;
        return 0;
}

/* E from pending key K: the joined value, or the nested block it holds. */
static int finish_entry(struct parser *p, struct pending_key *k, struct ini_entry *e)
{
        char *v = strdup(buf_str(&k->value));

        if (!v)
                return -ENOMEM;
        rstrip(v);
        e->line = k->line;
        e->key = strdup(k->key);
        if (!e->key) {
                free(v);
                return -ENOMEM;
        }
        if (v[0] == '\n') {
                int r = nested(p, k->key, v, k->line, e);

                free(v);
                return r;
        }
        e->value = v;
        return 0;
}

static int finish(struct parser *p, struct ini_file **ret)
{
        struct ini_file *f = calloc(1, sizeof(*f));
        int r = 0;

        if (!f)
                return -ENOMEM;
        f->sections = calloc(p->n ? p->n : 1, sizeof(*f->sections));
        if (!f->sections) {
                free(f);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n && r >= 0; i++) {
                struct pending_section *ps = &p->sections[i];
                struct ini_section *s = &f->sections[f->n++];
                size_t total = ps->n + p->defaults.n;

                s->line = ps->line;
                s->name = strdup(ps->name);
                s->entries = calloc(total ? total : 1, sizeof(*s->entries));
                if (!s->name || !s->entries) {
                        r = -ENOMEM;
                        break;
                }
                for (size_t k = 0; k < ps->n && r >= 0; k++)
                        r = finish_entry(p, &ps->keys[k], &s->entries[s->n++]);
                /* [DEFAULT]'s keys that the section does not set itself */
                for (size_t k = 0; k < p->defaults.n && r >= 0; k++) {
                        bool own = false;

                        for (size_t j = 0; j < ps->n; j++)
                                own = own || strcmp(ps->keys[j].key, p->defaults.keys[k].key) == 0;
                        if (own)
                                continue;
                        if (++p->entries > INI_MAX_ENTRIES) {
                                r = error_set(p->err, -E2BIG, "%s: more than %d keys (with those [DEFAULT] gives "
                                              "every section)", p->name, INI_MAX_ENTRIES);
                                break;
                        }
                        r = finish_entry(p, &p->defaults.keys[k], &s->entries[s->n++]);
                }
        }
        if (r < 0) {
                ini_free(f);
                return r;
        }
        *ret = f;
        return 0;
}

int ini_parse(const char *text, size_t len, const char *name, struct ini_file **ret, struct error *err)
{
        struct parser p = { .name = name, .err = err };
        size_t bad_at = 0;
        unsigned lineno = 0;
        int r = 0;

        if (len > INI_MAX_BYTES)
                return error_set(err, -EFBIG, "%s is larger than %d bytes: not an AWS config file?", name,
                                 INI_MAX_BYTES);
        if (memchr(text, '\0', len))
                return error_set(err, -EBADMSG, "%s holds a NUL byte: not a text file", name);
        if (!valid_utf8((const unsigned char *)text, len, &bad_at)) {
                unsigned line = 1;

                for (size_t i = 0; i < bad_at; i++)
                        line += text[i] == '\n';
                return error_set(err, -EBADMSG, "%s:%u: not valid UTF-8", name, line);
        }
        p.defaults.line = 0;
        /* Lines end at \n, \r\n or \r (Python's universal newlines). */
        for (size_t i = 0; i < len && r >= 0;) {
                size_t e = i;

                while (e < len && text[e] != '\n' && text[e] != '\r')
                        e++;
                r = one_line(&p, text + i, e - i, ++lineno);
                if (e < len && text[e] == '\r' && e + 1 < len && text[e + 1] == '\n')
                        e++;
                i = e + 1;
        }
        if (r >= 0)
                r = finish(&p, ret);
        parser_free(&p);
        return r;
}

int ini_load(const char *path, struct ini_file **ret, struct error *err)
{
        char *text = NULL;
        size_t len = 0;
        int r;

        r = read_file_capped(path, INI_MAX_BYTES, &text, &len);
        if (r == -ENOENT)
                return r;
        if (r == -EFBIG)
                return error_set(err, r, "%s is larger than %d bytes: not an AWS config file?", path, INI_MAX_BYTES);
        if (r < 0)
                return error_set(err, r, "%s: cannot read: %s", path, strerror(-r));
        r = ini_parse(text, len, path, ret, err);
        free(text);
        return r;
}

void ini_free(struct ini_file *f)
{
        if (!f)
                return;
        for (size_t i = 0; i < f->n; i++) {
                free(f->sections[i].name);
                entries_free(f->sections[i].entries, f->sections[i].n);
        }
        free(f->sections);
        free(f);
}

const struct ini_section *ini_section_find(const struct ini_file *f, const char *name)
{
        for (size_t i = 0; f && i < f->n; i++)
                if (strcmp(f->sections[i].name, name) == 0)
                        return &f->sections[i];
        return NULL;
}

const struct ini_entry *ini_entry_find(const struct ini_entry *entries, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(entries[i].key, key) == 0)
                        return &entries[i];
        return NULL;
}
