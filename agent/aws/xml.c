#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "xml.h"

struct parse_state {
        XML_Parser parser;
        struct xml_node *root;
        struct xml_node *cur;
        size_t depth;
        size_t n_nodes;
        int error;                  /* negative errno once something went wrong */
        const char *why;
        size_t text_len;            /* of cur->text */
};

static void stop(struct parse_state *st, int error, const char *why)
{
        if (st->error == 0) {
                st->error = error;
                st->why = why;
        }
        XML_StopParser(st->parser, XML_FALSE);
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
        if (!st->cur && st->root)
                return stop(st, -EBADMSG, "more than one root element");
        n = calloc(1, sizeof(*n));
        if (!n)
                return stop(st, -ENOMEM, "out of memory");
        n->name = strdup(local_name(name));
        n->text = strdup("");
        if (!n->name || !n->text) {
                free(n->name);
                free(n->text);
                free(n);
                return stop(st, -ENOMEM, "out of memory");
        }
        n->parent = st->cur;
        if (st->cur) {
                if (st->cur->last)
                        st->cur->last->next = n;
                else
                        st->cur->children = n;
                st->cur->last = n;
        } else {
                st->root = n;
        }
        st->cur = n;
        st->depth++;
        st->n_nodes++;
        st->text_len = 0;
}

static void on_end(void *userdata, const XML_Char *name)
{
        struct parse_state *st = userdata;

        if (st->error || !st->cur)
                return;
        st->cur = st->cur->parent;
        st->depth--;
        st->text_len = st->cur ? strlen(st->cur->text) : 0;
}

static void on_text(void *userdata, const XML_Char *s, int len)
{
        struct parse_state *st = userdata;
        char *t;

        if (st->error || !st->cur || len <= 0)
                return;
        if (st->text_len + (size_t)len > XML_MAX_TEXT)
                return stop(st, -E2BIG, "element text too long");
        t = realloc(st->cur->text, st->text_len + (size_t)len + 1);
        if (!t)
                return stop(st, -ENOMEM, "out of memory");
        memcpy(t + st->text_len, s, (size_t)len);
        st->text_len += (size_t)len;
        t[st->text_len] = '\0';
        st->cur->text = t;
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
        while (n) {
                struct xml_node *next = n->next;

                xml_free(n->children);
                free(n->name);
                free(n->text);
                free(n);
                n = next;
        }
}

int xml_parse(const char *data, size_t len, struct xml_node **ret, struct error *err)
{
        struct parse_state st = { 0 };
        int r = 0;

        if (len > INT_MAX)
                return error_set(err, -E2BIG, "XML document too large");
        st.parser = XML_ParserCreate("UTF-8");
        if (!st.parser)
                return error_set(err, -ENOMEM, "out of memory");
        XML_SetUserData(st.parser, &st);
        XML_SetElementHandler(st.parser, on_start, on_end);
        XML_SetCharacterDataHandler(st.parser, on_text);
        XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
        XML_SetEntityDeclHandler(st.parser, on_entity_decl);
        XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

        if (XML_Parse(st.parser, data, (int)len, XML_TRUE) != XML_STATUS_OK || st.error) {
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
        if (!st.root) {
                r = error_set(err, -EBADMSG, "empty XML document");
                goto out;
        }
        *ret = st.root;
        st.root = NULL;
out:
        xml_free(st.root);
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
