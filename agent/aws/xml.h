/* XML responses (EC2 and CloudWatch Query APIs) parsed with expat into a small element tree.
 * Namespaces are dropped (local names only). No DTDs, no entities beyond the five predefined
 * ones, no external anything; depth, node count and text size are capped. */
#ifndef OPSAGENT_XML_H
#define OPSAGENT_XML_H

#include <stddef.h>

#include "util/error.h"

#define XML_MAX_DEPTH 64
#define XML_MAX_NODES 200000
#define XML_MAX_TEXT (256 * 1024)

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

#endif
