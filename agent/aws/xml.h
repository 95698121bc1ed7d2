/* XML responses (EC2 and CloudWatch Query APIs) parsed with expat into a small element tree.
 * Namespaces are dropped (local names only). No DTDs, no entities beyond the five predefined
 * ones, no external anything; depth, node count and text size are capped. */
#ifndef OPSAGENT_XML_H
#define OPSAGENT_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define XML_MAX_DEPTH 64
#define XML_MAX_NODES 200000
#define XML_MAX_TEXT (256 * 1024)
#define XML_STREAM_NAME_MAX 64    /* bytes of an element name a stream handler sees (cut beyond) */

/* A document is read-only: its nodes and strings belong to it, freed all at once. */
struct xml_node {
        char *name;                 /* local name ("snapshotSet") */
        char *text;                 /* concatenated character data, never NULL */
        struct xml_node *parent;
        struct xml_node *children;  /* first child */
        struct xml_node *last;
        struct xml_node *next;      /* next sibling */
};

/* Parses DATA[0..LEN) into *ret (caller frees with xml_free). -EBADMSG for malformed or
 * truncated XML, a DTD or an entity declaration; -E2BIG past a limit; err says where. */
int xml_parse(const char *data, size_t len, struct xml_node **ret, struct error *err);
void xml_free(struct xml_node *doc);  /* a document's root (what xml_parse gave), or NULL */

/* First child named NAME, or NULL. */
struct xml_node *xml_child(const struct xml_node *n, const char *name);
/* Next sibling of N named like N, or NULL (for iterating over <item>s). */
struct xml_node *xml_next_named(const struct xml_node *n);
/* Follows a "a/b/c" path of child names from N. */
struct xml_node *xml_path(const struct xml_node *n, const char *path);
/* Text of xml_path(N, PATH), or NULL when absent. Borrowed. */
const char *xml_path_text(const struct xml_node *n, const char *path);

/* Streaming: the same rules and limits as xml_parse() (no DTD, no entity declarations, depth
 * and text size capped; namespaces dropped), without a tree: the handler sees each element as
 * it opens and closes, with its local name and depth (the root's is 0), and at its close the
 * character data directly inside it (borrowed for the call). A handler's negative return
 * stops the parse and is what feeding returns. The data may come in pieces of any size. */
struct xml_stream_handler {
        int (*start)(void *userdata, const char *name, size_t depth);             /* may be NULL */
        int (*end)(void *userdata, const char *name, size_t depth, const char *text, size_t text_len);
};

struct xml_stream;

/* A parser calling H with USERDATA (caller frees with xml_stream_free). -ENOMEM. */
int xml_stream_new(const struct xml_stream_handler *h, void *userdata, struct xml_stream **ret);
/* Feeds LEN bytes of DATA; FINAL: they are the document's last. 0, -EBADMSG (malformed, or a
 * document that ends early or has no root), -E2BIG (a limit), or the handler's own negative
 * return; err says where. After a failure the parser accepts nothing more. */
int xml_stream_feed(struct xml_stream *x, const char *data, size_t len, bool final, struct error *err);
void xml_stream_free(struct xml_stream *x);  /* NULL is fine */

#endif
