/* The stack configuration source (issue 18): an attribute layer fetched from Systems Manager
 * Parameter Store (GetParametersByPath under opsagent.source.ssm.path: PATH/stack and
 * PATH/layers/LAYER, JSON strings, SecureString decrypted by the service) or from one S3 object
 * (opsagent.source.s3, "s3://bucket/key"), merged between the layer files and the -j files.
 * The layer names come from the instance tag `opsagent:layers` (IMDS instance tags, else
 * DescribeTags). What was fetched is kept as the last known good in STATE/source/cache.json
 * (0600, written atomically); when the service cannot be reached the cache stands in, with a
 * warning, and a partial fetch is never used.
 *
 * This header is the contract between the source layer (agent/config/source.c) and
 * `opsagent configure` (agent/cmd/configure.c). */
#ifndef OPSAGENT_SOURCE_H
#define OPSAGENT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "attrs.h"
#include "paths.h"
#include "util/error.h"

struct aws_session;

/* Where opsagent.source is read from: CONFIG/source.json ({"ssm": {...}} or {"s3": "..."}),
 * else the "opsagent": {"source": ...} member of JSON user-data. */
#define SOURCE_CONFIG_FILE "source.json"
/* The last known good, under the state directory. */
#define SOURCE_CACHE_DIR "source"
#define SOURCE_CACHE_FILE "cache.json"
/* The instance tag naming the node's layers, comma-separated. */
#define SOURCE_LAYERS_TAG "opsagent:layers"

/* One fetched document. All strings owned by the struct. */
struct source_doc {
        char *name;       /* "ssm:/opsagent/STACK/stack", "ssm:/opsagent/STACK/layers/zeoserver",
                             "s3://bucket/key" */
        char *version;    /* the parameter's Version in decimal, or the object's ETag */
        char *json;       /* its text: a JSON object */
        bool secret;      /* a SecureString: none of its values may appear anywhere */
};

/* What a source yields, in merge order (the stack document, then the layers in the tag's
 * order). Owned by the struct; free with source_set_free(). */
struct source_set {
        struct source_doc *docs;
        size_t n_docs;
        char **layers;    /* the layer names the tag gave (may be none) */
        size_t n_layers;
        bool from_cache;  /* the service could not be reached: this is the last known good */
        /* Extensions (after the contract's first version): */
        char *source;     /* what it was fetched from: "ssm:/opsagent/STACK" or "s3://bucket/key" */
        long long fetched_at; /* Unix seconds of the fetch (for a cache: how old it is) */
};
void source_set_free(struct source_set *s);  /* NULL is fine */

/* Reads opsagent.source. 0 and *ret (caller puts) when one is configured; 0 and *ret NULL when
 * none is; a negative errno with ERR naming the file and what is wrong otherwise (a source.json
 * that a non-root user could have written is -EPERM, as every configuration file). USER_DATA
 * may be NULL. */
int source_config_read(const struct paths *p, const char *user_data, json_object **ret, struct error *err);

enum source_fetch_flags {
        SOURCE_FETCH_NO_CACHE_WRITE = 1u << 0, /* `configure` writes the cache itself, after it acted */
        SOURCE_FETCH_NO_CACHE_USE = 1u << 1,   /* fail rather than fall back on the cache */
};

/* Fetches every document CFG names, every page, through S (signed by the AWS layer). On
 * success the cache is replaced (unless SOURCE_FETCH_NO_CACHE_WRITE). When the service cannot
 * be reached or answers with a server error, the cache is returned with from_cache set, and the
 * caller warns; with no cache that is an error. A document that is not a JSON object is -EINVAL
 * (exit 2) with ERR naming the parameter (or object) and the line and column. *ret: caller frees. */
/* (Extension: when the cache stands in, ERR says why the service was not used, for the
 * caller's warning, though 0 is returned; when it cannot, ERR says that too.) */
int source_fetch(struct aws_session *s, json_object *cfg, const char *state_dir, unsigned flags,
                 struct source_set **ret, struct error *err);

/* The cache: -ENOENT when there is none. */
int source_cache_read(const char *state_dir, struct source_set **ret, struct error *err);
int source_cache_write(const char *state_dir, const struct source_set *s, struct error *err);

/* Merges S's documents into A in order, each with the origin "NAME@version V"; a secret
 * document's values are registered as secrets (redacted in every output). */
int source_merge(struct attrs *a, const struct source_set *s, struct error *err);

/* Whether A and B hold the same documents at the same versions (the cheap "nothing changed"). */
bool source_set_same_versions(const struct source_set *a, const struct source_set *b);

/* Extensions. */
#define SOURCE_CACHE_MAX (8u << 20)    /* a cache file larger than this is refused */
#define SOURCE_MAX_DOCS 256            /* documents in a set at most */
#define SOURCE_MAX_LAYERS 64           /* layer names in the tag at most */
#define SOURCE_LAYER_NAME_MAX 128      /* bytes of one layer name at most */

/* The label of CFG (a configuration source_config_read() returned): "ssm:/opsagent/STACK" or
 * "s3://bucket/key". Caller frees; NULL on ENOMEM. */
char *source_config_label(json_object *cfg);

/* Splits the tag's value TEXT ("web, zeoserver") into names: trimmed, empty ones dropped, each
 * a letter/digit/-/_/. name. *ret (caller frees each and the array). -EINVAL (ERR names the tag)
 * for a name that is not, -E2BIG past SOURCE_MAX_LAYERS. */
int source_layers_parse(const char *text, char ***ret, size_t *ret_n, struct error *err);

/* Parses a cache file's TEXT (LABEL names it) with every check source_cache_read() makes:
 * -EBADMSG (ERR names the field, never a document's text) for anything malformed. */
int source_cache_parse(const char *text, const char *label, struct source_set **ret, struct error *err);

/* Assembles a set from the GetParametersByPath answers ANSWERS (every page, in order) of
 * PATH: PATH/stack, then PATH/layers/NAME for each of LAYERS in order (a layer without a
 * parameter is left out); every other parameter is ignored. -ENOENT (ERR "missing path") when
 * there is neither the stack document nor any layer's; -EINVAL (ERR naming the parameter, line
 * and column) for a value that is not a JSON object; -EBADMSG for an answer of the wrong shape.
 * *ret: caller frees; layers copied, source and fetched_at not set. */
int source_ssm_assemble(const char *path, char *const *layers, size_t n_layers, json_object *const *answers,
                        size_t n_answers, struct source_set **ret, struct error *err);

/* Checks that TEXT (document LABEL) is a JSON object: -EINVAL with ERR "LABEL: line L, column C:
 * why" otherwise. */
int source_doc_check(const char *label, const char *text, struct error *err);

#endif
