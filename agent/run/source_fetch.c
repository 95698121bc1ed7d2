/* source_fetch() of agent/config/source.h: the layer names from the instance tag (IMDS instance
 * tags, else DescribeTags), the documents from Parameter Store (GetParametersByPath, every page)
 * or S3 (GetObject), the cache written on success and used, with from_cache, when the service
 * cannot be reached. Here, not in agent/config/, because it needs the AWS layer, which is that
 * folder's peer (docs/internals.md, "The layer rule"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/awserror.h"
#include "aws/awsjson.h"
#include "aws/ec2.h"
#include "aws/imds.h"
#include "aws/s3.h"
#include "aws/session.h"
#include "config/source.h"
#include "util/jsonutil.h"

#define SOURCE_MAX_PAGES 100            /* GetParametersByPath pages at most (10 parameters each) */
#define SOURCE_S3_MAX (SOURCE_CACHE_MAX / 2)  /* bytes of an S3 document at most: it must fit in the cache */
#define SOURCE_TAG_PATH "/latest/meta-data/tags/instance/"

/* The value of the layers tag into *ret (caller frees), NULL when the instance has none. */
static int read_layers_tag(struct aws_session *s, char **ret, struct error *err)
{
        struct error ierr = ERROR_INIT;
        struct imds *m = aws_session_imds(s, &ierr);
        const char *id = NULL;
        char *value = NULL, *list = NULL;
        char ebuf[ERROR_MSG_MAX];
        int r;

        *ret = NULL;
        if (m) {
                r = imds_get(m, SOURCE_TAG_PATH SOURCE_LAYERS_TAG, &value, &ierr);
                if (r == 0) {
                        value[strcspn(value, "\r\n")] = '\0';
                        *ret = value;
                        return 0;
                }
                if (r != -ENOENT)
                        return error_set(err, r, "instance tag %s from instance metadata: %s", SOURCE_LAYERS_TAG,
                                         ierr.msg[0] ? ierr.msg : strerror(-r));
                /* Tags in metadata on (the listing answers) but no such tag: no layers. */
                r = imds_get(m, SOURCE_TAG_PATH, &list, &ierr);
                free(list);
                if (r == 0)
                        return 0;
                if (r != -ENOENT)
                        return error_set(err, r, "instance tags from instance metadata: %s",
                                         ierr.msg[0] ? ierr.msg : strerror(-r));
        }
        /* Tags in metadata are off (or metadata is disabled): ask EC2. */
        r = ec2_self_instance_id(s, &id);
        if (r >= 0)
                r = ec2_describe_tag(s, id, SOURCE_LAYERS_TAG, &value);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_set(err, r, "instance tag %s: %s", SOURCE_LAYERS_TAG,
                                 aws_error_format(&s->last_error, ebuf, sizeof(ebuf)));
        *ret = value;
        return 0;
}

static int layers_of_instance(struct aws_session *s, char ***ret, size_t *ret_n, struct error *err)
{
        char *tag = NULL;
        int r;

        r = read_layers_tag(s, &tag, err);
        if (r < 0)
                return r;
        if (!tag) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = source_layers_parse(tag, ret, ret_n, err);
        free(tag);
        return r;
}

static void free_names(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Every GetParametersByPath page of PATH into *ret (N answers): all or nothing. */
static int ssm_pages(struct aws_session *s, const char *path, json_object ***ret, size_t *ret_n, struct error *err)
{
        json_object **pages = NULL, *in = NULL;
        const char *next = NULL;
        size_t n = 0;
        int r = 0;

        for (;;) {
                struct opsagent_aws_error e = { 0 };
                json_object *ans = NULL, **grown;
                char ebuf[ERROR_MSG_MAX];

                if (n >= SOURCE_MAX_PAGES) {
                        r = error_set(err, -E2BIG, "GetParametersByPath %s: more than %d pages", path,
                                      SOURCE_MAX_PAGES);
                        goto out;
                }
                in = json_object_new_object();
                r = in ? json_add_string(in, "Path", path) : -ENOMEM;
                if (r >= 0)
                        r = json_add(in, "Recursive", json_object_new_boolean(1));
                if (r >= 0)
                        r = json_add(in, "WithDecryption", json_object_new_boolean(1));
                if (r >= 0 && next)
                        r = json_add_string(in, "NextToken", next);
                if (r < 0) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                r = awsjson_call(s, AWS_SERVICE_SSM, "GetParametersByPath", in, &ans, &e);
                json_object_put(in);
                in = NULL;
                if (r < 0) {
                        r = error_set(err, r, "SSM Parameter Store %s: %s", path,
                                      aws_error_format(&e, ebuf, sizeof(ebuf)));
                        goto out;
                }
                grown = reallocarray(pages, n + 1, sizeof(*pages));
                if (!grown) {
                        json_object_put(ans);
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                pages = grown;
                pages[n++] = ans;
                next = json_get_nonempty_string(ans, "NextToken");
                if (!next)
                        break;
        }
        *ret = pages;
        *ret_n = n;
        pages = NULL;
        n = 0;
out:
        json_object_put(in);
        for (size_t i = 0; i < n; i++)
                json_object_put(pages[i]);
        free(pages);
        return r;
}

static int fetch_ssm(struct aws_session *s, const char *path, struct source_set **ret, struct error *err)
{
        json_object **pages = NULL;
        char **layers = NULL;
        size_t n_pages = 0, n_layers = 0;
        int r;

        r = layers_of_instance(s, &layers, &n_layers, err);
        if (r >= 0)
                r = ssm_pages(s, path, &pages, &n_pages, err);
        if (r >= 0)
                r = source_ssm_assemble(path, layers, n_layers, pages, n_pages, ret, err);
        for (size_t i = 0; i < n_pages; i++)
                json_object_put(pages[i]);
        free(pages);
        free_names(layers, n_layers);
        return r;
}

static int fetch_s3(struct aws_session *s, const char *url, struct source_set **ret, struct error *err)
{
        struct source_set *set = calloc(1, sizeof(*set));
        char *body = NULL, *etag = NULL, *label = NULL, *bucket = NULL, *key = NULL;
        char ebuf[ERROR_MSG_MAX];
        int r;

        if (!set)
                return error_set(err, -ENOMEM, "out of memory");
        r = s3_url_split(url, &bucket, &key);
        if (r < 0) {
                error_set(err, r, "%s: not s3://bucket/key", url);
                goto out;
        }
        r = s3_get_object(s, bucket, key, SOURCE_S3_MAX, &body, &etag);
        if (r < 0) {
                error_set(err, r, "S3 object %s: %s", url, aws_error_format(&s->last_error, ebuf, sizeof(ebuf)));
                goto out;
        }
        if (asprintf(&label, "S3 object %s (ETag %s)", url, etag) < 0) {
                label = NULL;
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = source_doc_check(label, body, err);
        if (r < 0)
                goto out;
        set->docs = calloc(1, sizeof(*set->docs));
        if (!set->docs) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        set->n_docs = 1;
        set->docs[0].name = strdup(url);
        set->docs[0].version = etag;
        set->docs[0].json = body;
        etag = body = NULL;
        if (!set->docs[0].name) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        *ret = set;
        set = NULL;
out:
        free(bucket);
        free(key);
        free(label);
        free(body);
        free(etag);
        source_set_free(set);
        return r;
}

/* Whether R (with ERR) means the service could not be reached or could not answer now: the
 * cases the last known good stands in for. */
static bool unreachable(int r)
{
        return r == -EAGAIN || r == -EIO || r == -ETIMEDOUT || r == -ECONNREFUSED || r == -ECONNRESET ||
               r == -EHOSTUNREACH || r == -ENETUNREACH || r == -ECONNABORTED;
}

int source_fetch(struct aws_session *s, json_object *cfg, const char *state_dir, unsigned flags,
                 struct source_set **ret, struct error *err)
{
        struct source_set *set = NULL, *cache = NULL;
        struct error cerr = ERROR_INIT;
        const char *path = json_get_string(cfg, "ssm.path"), *url = json_get_string(cfg, "s3");
        char *label = source_config_label(cfg);
        int r, r2;

        if (!label)
                return error_set(err, -ENOMEM, "out of memory");
        r = path ? fetch_ssm(s, path, &set, err) : fetch_s3(s, url, &set, err);
        if (r >= 0) {
                set->source = label;
                label = NULL;
                set->fetched_at = (long long)time(NULL);
                if (!(flags & SOURCE_FETCH_NO_CACHE_WRITE)) {
                        r = source_cache_write(state_dir, set, err);
                        if (r < 0)
                                goto out;
                }
                *ret = set;
                set = NULL;
                goto out;
        }
        if (!unreachable(r) || (flags & SOURCE_FETCH_NO_CACHE_USE))
                goto out;
        /* The last known good, if it is this source's: ERR keeps why the service was not used. */
        r2 = source_cache_read(state_dir, &cache, &cerr);
        if (r2 == -ENOENT)
                error_prefix(err, "no cached copy of %s to fall back on", label);
        else if (r2 < 0)
                error_prefix(err, "%s", cerr.msg);
        else if (strcmp(cache->source, label) != 0)
                error_prefix(err, "the cached copy is of %s, not %s: not used", cache->source, label);
        if (r2 < 0 || strcmp(cache->source, label) != 0)
                goto out;
        cache->from_cache = true;
        *ret = cache;
        cache = NULL;
        r = 0;
out:
        source_set_free(cache);
        source_set_free(set);
        free(label);
        return r;
}
