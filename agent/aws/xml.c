#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "xml.h"
#include "util/buf.h"

/* Bytes given to expat at a time: it copies what it is given into a buffer of its own (as
 * Debian builds it, with XML_CONTEXT_BYTES), so a whole 1 MB answer at once costs 1 MB more. */
#define XML_STREAM_PIECE (64 * 1024)

/* A document's nodes and strings live in a few large chunks (an arena): a page of 1,000
 * snapshots is some 30,000 nodes, and a malloc() or three for each cost twice the memory. */
#define ARENA_CHUNK (64 * 1024)
#define NAMES_SLOTS 256             /* distinct element names interned per document */

struct chunk {
        struct chunk *next;
        size_t used, size;
        char data[];
};

/* The root node heads the document, so that xml_free(root) finds the chunks. */
struct tree {
        struct xml_node root;
        struct chunk *chunks;
};

struct parse_state {
        XML_Parser parser;
        struct tree *tree;
        struct xml_node *cur;
        size_t depth;
        size_t n_nodes;
        int error;                  /* negative errno once something went wrong */
        const char *why;
        struct buf text[XML_MAX_DEPTH];  /* the open elements' text so far, by depth */
        const char *names[NAMES_SLOTS];  /* interned names (in the arena) */
};

static void stop(struct parse_state *st, int error, const char *why)
{
        if (st->error == 0) {
                st->error = error;
                st->why = why;
        }
        XML_StopParser(st->parser, XML_FALSE);
}

/* SIZE bytes from ST's arena, aligned for a node; NULL on ENOMEM. */
static void *arena_alloc(struct parse_state *st, size_t size)
{
        struct chunk *c = st->tree->chunks;
        size_t at;

        size = (size + 7) & ~(size_t)7;
        if (!c || c->size - c->used < size) {
                size_t want = size > ARENA_CHUNK ? size : ARENA_CHUNK;

                c = malloc(sizeof(*c) + want);
                if (!c)
                        return NULL;
                c->size = want;
                c->used = 0;
                c->next = st->tree->chunks;
                st->tree->chunks = c;
        }
        at = c->used;
        c->used += size;
        return c->data + at;
}

static char *arena_strndup(struct parse_state *st, const char *s, size_t len)
{
        char *d;

        if (len == 0)
                return (char *)"";  /* never written to: the tree is read-only */
        d = arena_alloc(st, len + 1);
        if (d) {
                memcpy(d, s, len);
                d[len] = '\0';
        }
        return d;
}

/* NAME, interned: the few names of a document are stored once. */
static const char *intern(struct parse_state *st, const char *name)
{
        size_t h = 5381, len = strlen(name);

        for (const char *p = name; *p; p++)
                h = h * 33 + (unsigned char)*p;
        for (size_t i = 0; i < NAMES_SLOTS; i++) {
                size_t k = (h + i) % NAMES_SLOTS;

                if (!st->names[k])
                        return st->names[k] = arena_strndup(st, name, len);
                if (strcmp(st->names[k], name) == 0)
                        return st->names[k];
        }
        return arena_strndup(st, name, len);   /* a document of many names: not shared */
}

static const char *local_name(const char *name)
{
        const char *colon = strrchr(name, ':');

        return colon ? colon + 1 : name;
}

static void on_start(void *userdata, const XML_Char *name, const XML_Char **attrs)
{
        struct parse_state *st = userdata;
        struct xml_node *n;

        if (st->error)
                return;
        if (st->depth >= XML_MAX_DEPTH)
                return stop(st, -E2BIG, "elements nested too deeply");
        if (st->n_nodes >= XML_MAX_NODES)
                return stop(st, -E2BIG, "too many elements");
        if (!st->cur && st->n_nodes > 0)
                return stop(st, -EBADMSG, "more than one root element");
        n = st->n_nodes == 0 ? &st->tree->root : arena_alloc(st, sizeof(*n));
        if (!n)
                return stop(st, -ENOMEM, "out of memory");
        memset(n, 0, sizeof(*n));
        n->name = (char *)intern(st, local_name(name));
        n->text = (char *)"";
        if (!n->name)
                return stop(st, -ENOMEM, "out of memory");
        n->parent = st->cur;
        if (st->cur) {
                if (st->cur->last)
                        st->cur->last->next = n;
                else
                        st->cur->children = n;
                st->cur->last = n;
        }
        st->cur = n;
        buf_truncate(&st->text[st->depth], 0);
        st->depth++;
        st->n_nodes++;
}

static void on_end(void *userdata, const XML_Char *name)
{
        struct parse_state *st = userdata;
        struct buf *t;

        if (st->error || !st->cur)
                return;
        t = &st->text[st->depth - 1];
        st->cur->text = arena_strndup(st, buf_len(t) ? buf_str(t) : "", buf_len(t));
        if (!st->cur->text)
                return stop(st, -ENOMEM, "out of memory");
        st->cur = st->cur->parent;
        st->depth--;
}

static void on_text(void *userdata, const XML_Char *s, int len)
{
        struct parse_state *st = userdata;
        struct buf *t;

        if (st->error || !st->cur || len <= 0)
                return;
        t = &st->text[st->depth - 1];
        if (buf_len(t) + (size_t)len > XML_MAX_TEXT)
                return stop(st, -E2BIG, "element text too long");
        if (buf_append(t, s, (size_t)len) < 0)
                return stop(st, -ENOMEM, "out of memory");
}

/* AWS never sends a DTD: refuse any, which rules out entity expansion attacks. */
static void on_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset)
{
        stop(userdata, -EBADMSG, "document type declarations are not accepted");
}

static void on_entity_decl(void *userdata, const XML_Char *name, int is_param, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                           const XML_Char *notation)
{
        stop(userdata, -EBADMSG, "entity declarations are not accepted");
}

void xml_free(struct xml_node *n)
{
        struct tree *t = (struct tree *)n;

        if (!n || n->parent)
                return;     /* only a document's root frees it */
        while (t->chunks) {
                struct chunk *c = t->chunks;

                t->chunks = c->next;
                free(c);
        }
        free(t);
}

int xml_parse(const char *data, size_t len, struct xml_node **ret, struct error *err)
{
        struct parse_state st = { 0 };
        int r = 0;

        if (len > INT_MAX)
                return error_set(err, -E2BIG, "XML document too large");
        for (size_t i = 0; i < XML_MAX_DEPTH; i++)
                buf_init(&st.text[i], XML_MAX_TEXT + 1);
        st.tree = calloc(1, sizeof(*st.tree));
        st.parser = XML_ParserCreate("UTF-8");
        if (!st.tree || !st.parser) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        XML_SetUserData(st.parser, &st);
        XML_SetElementHandler(st.parser, on_start, on_end);
        XML_SetCharacterDataHandler(st.parser, on_text);
        XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
        XML_SetEntityDeclHandler(st.parser, on_entity_decl);
        XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

        /* in pieces, as xml_stream_feed() does: expat copies what it is given */
        for (;;) {
                size_t piece = len > XML_STREAM_PIECE ? XML_STREAM_PIECE : len;
                bool last = piece == len;

                if (XML_Parse(st.parser, data, (int)piece, last ? XML_TRUE : XML_FALSE) != XML_STATUS_OK ||
                    st.error || last)
                        break;
                data += piece;
                len -= piece;
        }
        if (XML_GetErrorCode(st.parser) != XML_ERROR_NONE || st.error) {
                if (st.error) {
                        r = error_set(err, st.error, "XML at line %lu: %s",
                                      (unsigned long)XML_GetCurrentLineNumber(st.parser), st.why);
                } else {
                        r = error_set(err, -EBADMSG, "malformed XML at line %lu column %lu: %s",
                                      (unsigned long)XML_GetCurrentLineNumber(st.parser),
                                      (unsigned long)XML_GetCurrentColumnNumber(st.parser),
                                      XML_ErrorString(XML_GetErrorCode(st.parser)));
                }
                goto out;
        }
        if (st.n_nodes == 0) {
                r = error_set(err, -EBADMSG, "empty XML document");
                goto out;
        }
        *ret = &st.tree->root;
        st.tree = NULL;
out:
        xml_free(st.tree ? &st.tree->root : NULL);
        for (size_t i = 0; i < XML_MAX_DEPTH; i++)
                buf_free(&st.text[i]);
        if (st.parser)
                XML_ParserFree(st.parser);
        return r;
}

struct xml_node *xml_child(const struct xml_node *n, const char *name)
{
        if (!n)
                return NULL;
        for (struct xml_node *c = n->children; c; c = c->next)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

struct xml_node *xml_next_named(const struct xml_node *n)
{
        if (!n)
                return NULL;
        for (struct xml_node *c = n->next; c; c = c->next)
                if (strcmp(c->name, n->name) == 0)
                        return c;
        return NULL;
}

struct xml_node *xml_path(const struct xml_node *n, const char *path)
{
        char name[128];

        while (n && *path) {
                const char *slash = strchr(path, '/');
                size_t l = slash ? (size_t)(slash - path) : strlen(path);

                if (l >= sizeof(name))
                        return NULL;
                memcpy(name, path, l);
                name[l] = '\0';
                n = xml_child(n, name);
                path += l;
                if (*path == '/')
                        path++;
        }
        return (struct xml_node *)n;
}

const char *xml_path_text(const struct xml_node *n, const char *path)
{
        struct xml_node *c = xml_path(n, path);

        return c ? c->text : NULL;
}

/* ---- streaming ---------------------------------------------------------------------------- */


struct xml_stream {
        XML_Parser parser;
        const struct xml_stream_handler *h;
        void *userdata;
        size_t depth;
        size_t n_elements;
        bool done;                  /* failed, or the final piece was fed */
        int error;                  /* negative errno once something went wrong */
        const char *why;
        struct buf text[XML_MAX_DEPTH];  /* the open elements' text so far, by depth */
        char names[XML_MAX_DEPTH][XML_STREAM_NAME_MAX];   /* the open elements' local names */
};

static void stream_stop(struct xml_stream *x, int error, const char *why)
{
        if (x->error == 0) {
                x->error = error;
                x->why = why;
        }
        XML_StopParser(x->parser, XML_FALSE);
}

static void stream_start(void *userdata, const XML_Char *name, const XML_Char **attrs)
{
        struct xml_stream *x = userdata;
        const char *local = local_name(name);
        int r;

        if (x->error)
                return;
        if (x->depth >= XML_MAX_DEPTH)
                return stream_stop(x, -E2BIG, "elements nested too deeply");
        if (x->n_elements >= XML_MAX_NODES)
                return stream_stop(x, -E2BIG, "too many elements");
        if (x->depth == 0 && x->n_elements > 0)
                return stream_stop(x, -EBADMSG, "more than one root element");
        /* a longer name matches nothing a handler looks for: kept cut, which is harmless */
        snprintf(x->names[x->depth], sizeof(x->names[x->depth]), "%s", local);
        buf_truncate(&x->text[x->depth], 0);
        r = x->h->start ? x->h->start(x->userdata, x->names[x->depth], x->depth) : 0;
        x->depth++;
        x->n_elements++;
        if (r < 0)
                stream_stop(x, r, "stopped by the reader");
}

static void stream_end(void *userdata, const XML_Char *name)
{
        struct xml_stream *x = userdata;
        struct buf *t;
        int r;

        if (x->error || x->depth == 0)
                return;
        x->depth--;
        t = &x->text[x->depth];
        r = x->h->end(x->userdata, x->names[x->depth], x->depth, buf_len(t) ? buf_str(t) : "", buf_len(t));
        if (r < 0)
                stream_stop(x, r, "stopped by the reader");
}

static void stream_text(void *userdata, const XML_Char *s, int len)
{
        struct xml_stream *x = userdata;
        struct buf *t;

        if (x->error || x->depth == 0 || len <= 0)
                return;
        t = &x->text[x->depth - 1];
        if (buf_len(t) + (size_t)len > XML_MAX_TEXT)
                return stream_stop(x, -E2BIG, "element text too long");
        if (buf_append(t, s, (size_t)len) < 0)
                return stream_stop(x, -ENOMEM, "out of memory");
}

static void stream_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                           int has_internal_subset)
{
        stream_stop(userdata, -EBADMSG, "document type declarations are not accepted");
}

static void stream_entity_decl(void *userdata, const XML_Char *name, int is_param, const XML_Char *value,
                               int value_len, const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid,
                               const XML_Char *notation)
{
        stream_stop(userdata, -EBADMSG, "entity declarations are not accepted");
}

int xml_stream_new(const struct xml_stream_handler *h, void *userdata, struct xml_stream **ret)
{
        struct xml_stream *x = calloc(1, sizeof(*x));

        if (!x)
                return -ENOMEM;
        x->parser = XML_ParserCreate("UTF-8");
        if (!x->parser) {
                free(x);
                return -ENOMEM;
        }
        x->h = h;
        x->userdata = userdata;
        for (size_t i = 0; i < XML_MAX_DEPTH; i++)
                buf_init(&x->text[i], XML_MAX_TEXT + 1);
        XML_SetUserData(x->parser, x);
        XML_SetElementHandler(x->parser, stream_start, stream_end);
        XML_SetCharacterDataHandler(x->parser, stream_text);
        XML_SetStartDoctypeDeclHandler(x->parser, stream_doctype);
        XML_SetEntityDeclHandler(x->parser, stream_entity_decl);
        XML_SetParamEntityParsing(x->parser, XML_PARAM_ENTITY_PARSING_NEVER);
        *ret = x;
        return 0;
}

int xml_stream_feed(struct xml_stream *x, const char *data, size_t len, bool final, struct error *err)
{
        int r = 0;

        if (x->done)
                return error_set(err, x->error < 0 ? x->error : -EINVAL, "XML: the document was read already");
        while (r == 0 && (len > 0 || final)) {
                size_t piece = len > XML_STREAM_PIECE ? XML_STREAM_PIECE : len;
                bool last = final && piece == len;

                if (XML_Parse(x->parser, data, (int)piece, last ? XML_TRUE : XML_FALSE) != XML_STATUS_OK ||
                    x->error) {
                        if (x->error)
                                r = error_set(err, x->error, "XML at line %lu: %s",
                                              (unsigned long)XML_GetCurrentLineNumber(x->parser), x->why);
                        else
                                r = error_set(err, -EBADMSG, "malformed XML at line %lu column %lu: %s",
                                              (unsigned long)XML_GetCurrentLineNumber(x->parser),
                                              (unsigned long)XML_GetCurrentColumnNumber(x->parser),
                                              XML_ErrorString(XML_GetErrorCode(x->parser)));
                        break;
                }
                data += piece;
                len -= piece;
                if (last) {
                        if (x->n_elements == 0)
                                r = error_set(err, -EBADMSG, "empty XML document");
                        break;
                }
        }
        if (r < 0 || final) {
                x->done = true;
                if (r < 0 && x->error == 0)
                        x->error = r;
        }
        return r;
}

void xml_stream_free(struct xml_stream *x)
{
        if (!x)
                return;
        for (size_t i = 0; i < XML_MAX_DEPTH; i++)
                buf_free(&x->text[i]);
        XML_ParserFree(x->parser);
        free(x);
}
