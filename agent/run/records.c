#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "records.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

#define STAMP_LEN 23    /* YYYYmmddTHHMMSS.uuuuuuZ */
#define USEC_PER_SEC 1000000LL

static const char *const outcome_names[] = {
        [RUN_SUCCESS] = "success",
        [RUN_FAILED] = "failed",
        [RUN_TIMED_OUT] = "timeout",
        [RUN_CRASHED] = "crashed",
        [RUN_INTERRUPTED] = "interrupted",
        [RUN_CONFIG_ERROR] = "config_error",
};

const char *run_outcome_to_string(enum run_outcome o)
{
        if ((unsigned)o >= sizeof(outcome_names) / sizeof(outcome_names[0]))
                return "unknown";
        return outcome_names[o];
}

int run_outcome_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++)
                if (strcmp(s, outcome_names[i]) == 0)
                        return (int)i;
        return -EINVAL;
}

void run_record_clear(struct run_record *r)
{
        if (!r)
                return;
        free(r->error);
        metric_batch_free(&r->metrics);
        json_object_put(r->detail);
        memset(r, 0, sizeof(*r));
}

void records_free(struct run_record *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++)
                run_record_clear(&r[i]);
        free(r);
}

static bool valid_recipe(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n >= max)
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool valid_run_id(const char *s, size_t max)
{
        size_t n = strlen(s);

        if (n == 0 || n >= max || s[0] == '.')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* "YYYYmmddTHHMMSS.uuuuuuZ" (compact, for file names) or ISO 8601 with separators. */
static int format_time(int64_t usec, bool compact, char *out, size_t size)
{
        time_t secs = (time_t)(usec / USEC_PER_SEC);
        long frac = (long)(usec % USEC_PER_SEC);
        struct tm tm;
        char base[32];

        if (usec < 0 || !gmtime_r(&secs, &tm))
                return -EINVAL;
        if (strftime(base, sizeof(base), compact ? "%Y%m%dT%H%M%S" : "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return -EINVAL;
        if ((size_t)snprintf(out, size, "%s.%06ldZ", base, frac) >= size)
                return -EINVAL;
        return 0;
}

/* The start time encoded in a record file name, -EINVAL when it is not one. */
static int parse_stamp(const char *name, int64_t *ret)
{
        struct tm tm = { 0 };
        unsigned long frac;
        char *end;
        time_t t;

        if (strlen(name) < STAMP_LEN + 1 || name[8] != 'T' || name[15] != '.' || name[22] != 'Z' ||
            name[23] != '-')
                return -EINVAL;
        if (strspn(name, "0123456789") != 8 || strspn(name + 9, "0123456789") != 6 ||
            strspn(name + 16, "0123456789") != 6)
                return -EINVAL;
        end = strptime(name, "%Y%m%dT%H%M%S", &tm);
        if (!end || end != name + 15)
                return -EINVAL;
        frac = strtoul(name + 16, NULL, 10);
        t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret = (int64_t)t * USEC_PER_SEC + (int64_t)frac;
        return 0;
}

/* The recipe in a record file name ("STAMP-RECIPE-RUNID.json") into OUT, or -EINVAL. */
static int parse_recipe(const char *name, char *out, size_t size)
{
        const char *p, *dash;
        size_t n, len = strlen(name);
        int64_t t;

        if (parse_stamp(name, &t) < 0)
                return -EINVAL;
        if (len < 5 || strcmp(name + len - 5, ".json") != 0)
                return -EINVAL;
        p = name + STAMP_LEN + 1;
        dash = strchr(p, '-');
        if (!dash || dash == p || dash[1] == '.')
                return -EINVAL;
        n = (size_t)(dash - p);
        if (n >= size)
                return -EINVAL;
        memcpy(out, p, n);
        out[n] = '\0';
        return valid_recipe(out, size) ? 0 : -EINVAL;
}

static char *runs_dir(const char *state_dir)
{
        return path_join(state_dir, RECORDS_SUBDIR);
}

json_object *run_record_to_json(const struct run_record *r)
{
        json_object *o = json_object_new_object();
        json_object *metrics = NULL;
        char start[40], end[40];
        char *error = NULL;

        if (!o)
                return NULL;
        if (format_time(r->start_usec, false, start, sizeof(start)) < 0)
                start[0] = '\0';
        if (format_time(r->end_usec, false, end, sizeof(end)) < 0)
                end[0] = '\0';
        if (r->error) {
                error = log_scrub(r->error);
                if (!error)
                        goto fail;
        }
        if (json_add(o, "run_id", json_object_new_string(r->run_id)) < 0 ||
            json_add(o, "recipe", json_object_new_string(r->recipe)) < 0 ||
            json_add(o, "start", json_object_new_string(start)) < 0 ||
            json_add(o, "end", json_object_new_string(end)) < 0 ||
            json_add(o, "start_usec", json_object_new_int64(r->start_usec)) < 0 ||
            json_add(o, "end_usec", json_object_new_int64(r->end_usec)) < 0 ||
            json_add(o, "duration_sec", json_object_new_double((double)(r->end_usec - r->start_usec) / 1e6)) < 0 ||
            json_add(o, "outcome", json_object_new_string(run_outcome_to_string(r->outcome))) < 0 ||
            json_add(o, "changes", json_object_new_int64(r->changes)) < 0 ||
            json_add(o, "dry_run", json_object_new_boolean(r->dry_run)) < 0)
                goto fail;
        if (error) {
                if (json_add(o, "error", json_object_new_string(error)) < 0)
                        goto fail;
        } else if (json_object_object_add(o, "error", NULL) < 0)
                goto fail;
        if (metric_batch_metrics_to_json(&r->metrics, &metrics) < 0 || json_add(o, "metrics", metrics) < 0)
                goto fail;
        if (r->detail && json_add(o, "detail", json_object_get(r->detail)) < 0)
                goto fail;
        free(error);
        return o;
fail:
        free(error);
        json_object_put(o);
        return NULL;
}

static int get_string(json_object *o, const char *key, char *out, size_t size)
{
        json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return -EINVAL;
        s = json_object_get_string(v);
        if ((size_t)json_object_get_string_len(v) >= size || strlen(s) >= size)
                return -EINVAL;
        strcpy(out, s);
        return 0;
}

static int get_int64(json_object *o, const char *key, int64_t *ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -EINVAL;
        *ret = json_object_get_int64(v);
        return 0;
}

int run_record_from_json(json_object *o, struct run_record *ret)
{
        struct run_record r = { 0 };
        char outcome[32];
        json_object *v;
        int k;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EINVAL;
        if (get_string(o, "run_id", r.run_id, sizeof(r.run_id)) < 0 || !valid_run_id(r.run_id, sizeof(r.run_id)) ||
            get_string(o, "recipe", r.recipe, sizeof(r.recipe)) < 0 || !valid_recipe(r.recipe, sizeof(r.recipe)) ||
            get_int64(o, "start_usec", &r.start_usec) < 0 || get_int64(o, "end_usec", &r.end_usec) < 0 ||
            r.start_usec < 0 || r.end_usec < 0 ||      /* never written; and end - start stays in range */
            get_string(o, "outcome", outcome, sizeof(outcome)) < 0)
                return -EINVAL;
        k = run_outcome_from_string(outcome);
        if (k < 0)
                return -EINVAL;
        r.outcome = (enum run_outcome)k;
        if (json_object_object_get_ex(o, "dry_run", &v)) {
                if (!json_object_is_type(v, json_type_boolean))
                        return -EINVAL;
                r.dry_run = json_object_get_boolean(v);
        }
        if (json_object_object_get_ex(o, "changes", &v) && v) {
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
                    json_object_get_int64(v) > UINT32_MAX)
                        return -EINVAL;
                r.changes = (unsigned)json_object_get_int64(v);
        }
        if (json_object_object_get_ex(o, "metrics", &v) && v) {
                k = metric_batch_metrics_from_json(v, &r.metrics);
                if (k < 0)
                        return k == -ENOMEM ? k : -EINVAL;
        }
        if (json_object_object_get_ex(o, "error", &v) && v) {
                if (!json_object_is_type(v, json_type_string)) {
                        metric_batch_free(&r.metrics);
                        return -EINVAL;
                }
                r.error = strdup(json_object_get_string(v));
                if (!r.error) {
                        metric_batch_free(&r.metrics);
                        return -ENOMEM;
                }
        }
        if (json_object_object_get_ex(o, "detail", &v) && v) {
                if (!json_object_is_type(v, json_type_object)) {
                        run_record_clear(&r);
                        return -EINVAL;
                }
                r.detail = json_object_get(v);
        }
        *ret = r;
        return 0;
}

int records_write(const char *state_dir, const struct run_record *r)
{
        json_object *o = NULL;
        char stamp[40], *dir = NULL, *file = NULL, *path = NULL, *text = NULL;
        const char *json;
        int k;

        if (!valid_recipe(r->recipe, sizeof(r->recipe)) || !valid_run_id(r->run_id, sizeof(r->run_id)) ||
            format_time(r->start_usec, true, stamp, sizeof(stamp)) < 0)
                return -EINVAL;
        dir = runs_dir(state_dir);
        if (!dir) {
                k = -ENOMEM;
                goto out;
        }
        k = mkdir_p(dir, 0700);
        if (k < 0)
                goto out;
        if (asprintf(&file, "%s-%s-%s.json", stamp, r->recipe, r->run_id) < 0) {
                file = NULL;
                k = -ENOMEM;
                goto out;
        }
        path = path_join(dir, file);
        o = run_record_to_json(r);
        if (!path || !o) {
                k = -ENOMEM;
                goto out;
        }
        json = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!json || asprintf(&text, "%s\n", json) < 0) {
                text = NULL;
                k = -ENOMEM;
                goto out;
        }
        k = write_file_atomic(path, text, strlen(text), 0600);
out:
        json_object_put(o);
        free(text);
        free(path);
        free(file);
        free(dir);
        return k;
}

static int cmp_desc(const void *a, const void *b)
{
        return strcmp(*(char *const *)b, *(char *const *)a);
}

static void free_names(char **names, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Names of the record files in DIR (of RECIPE, or all when NULL), newest first. A missing
 * directory gives none. */
static int list_names(const char *dir, const char *recipe, char ***ret, size_t *ret_n)
{
        char **names = NULL, **p;
        size_t n = 0, alloc = 0, seen = 0;
        struct dirent *de;
        DIR *d;
        int k = 0;

        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        for (;;) {
                char rec[64];

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno)
                                k = -errno;
                        break;
                }
                if (++seen > RECORDS_SCAN_MAX) {
                        log_warning("%s: more than %d files, only the first ones are looked at", dir,
                                    RECORDS_SCAN_MAX);
                        break;
                }
                if (parse_recipe(de->d_name, rec, sizeof(rec)) < 0)
                        continue;
                if (recipe && strcmp(rec, recipe) != 0)
                        continue;
                if (n == alloc) {
                        alloc = alloc ? alloc * 2 : 64;
                        p = realloc(names, alloc * sizeof(*names));
                        if (!p) {
                                k = -ENOMEM;
                                break;
                        }
                        names = p;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        k = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (k < 0) {
                free_names(names, n);
                return k;
        }
        if (n > 1)
                qsort(names, n, sizeof(*names), cmp_desc);
        *ret = names;
        *ret_n = n;
        return 0;
}

/* Reads one record file; logs and returns negative errno when it is unusable. */
static int read_record(const char *dir, const char *name, struct run_record *ret)
{
        json_object *o = NULL;
        struct json_tokener *tok = NULL;
        char *path, *text = NULL;
        size_t len = 0;
        int k;

        path = path_join(dir, name);
        if (!path)
                return -ENOMEM;
        k = read_file_capped(path, RECORDS_FILE_MAX, &text, &len);
        if (k < 0) {
                log_warning("%s: skipping run record: %s", path,
                            k == -EFBIG ? "larger than 1 MiB" : strerror(-k));
                goto out;
        }
        tok = json_tokener_new();
        if (!tok) {
                k = -ENOMEM;
                goto out;
        }
        o = json_tokener_parse_ex(tok, text, (int)len);
        if (!o || json_tokener_get_error(tok) != json_tokener_success) {
                log_warning("%s: skipping corrupt run record: %s", path,
                            json_tokener_error_desc(json_tokener_get_error(tok)));
                k = -EBADMSG;
                goto out;
        }
        k = run_record_from_json(o, ret);
        if (k == -EINVAL) {
                log_warning("%s: skipping run record with missing or invalid fields", path);
                k = -EBADMSG;
        }
out:
        json_object_put(o);
        if (tok)
                json_tokener_free(tok);
        free(text);
        free(path);
        return k;
}

int records_list(const char *state_dir, const char *recipe_or_null, size_t max, struct run_record **ret,
                 size_t *ret_n)
{
        struct run_record *recs = NULL;
        char *dir, **names = NULL;
        size_t n_names = 0, n = 0;
        int k;

        dir = runs_dir(state_dir);
        if (!dir)
                return -ENOMEM;
        k = list_names(dir, recipe_or_null, &names, &n_names);
        if (k < 0)
                goto out;
        if (max == 0 || max > n_names)
                max = n_names;
        if (max > 0) {
                recs = calloc(max, sizeof(*recs));
                if (!recs) {
                        k = -ENOMEM;
                        goto out;
                }
        }
        for (size_t i = 0; i < n_names && n < max; i++) {
                k = read_record(dir, names[i], &recs[n]);
                if (k == -ENOMEM)
                        goto out;
                if (k == 0)
                        n++;
        }
        if (n == 0) {
                free(recs);
                recs = NULL;
        }
        *ret = recs;
        *ret_n = n;
        recs = NULL;
        k = 0;
out:
        records_free(recs, n);
        free_names(names, n_names);
        free(dir);
        return k;
}

int records_last(const char *state_dir, const char *recipe, unsigned flags, struct run_record *ret)
{
        char *dir, **names = NULL;
        size_t n_names = 0;
        int k;

        dir = runs_dir(state_dir);
        if (!dir)
                return -ENOMEM;
        k = list_names(dir, recipe, &names, &n_names);
        if (k < 0)
                goto out;
        k = -ENOENT;
        for (size_t i = 0; i < n_names; i++) {
                struct run_record r;
                int q = read_record(dir, names[i], &r);

                if (q == -ENOMEM) {
                        k = q;
                        break;
                }
                if (q < 0)
                        continue;
                if (((flags & RECORDS_SUCCESS_ONLY) && r.outcome != RUN_SUCCESS) ||
                    ((flags & RECORDS_NO_DRY_RUN) && r.dry_run)) {
                        run_record_clear(&r);
                        continue;
                }
                *ret = r;
                k = 0;
                break;
        }
out:
        free_names(names, n_names);
        free(dir);
        return k;
}

/* The run id in a record file name ("STAMP-RECIPE-RUNID.json"; recipe names hold no '-'), or
 * NULL. Points into NAME; LEN gets its length. */
static const char *name_run_id(const char *name, size_t *len)
{
        const char *p, *dash;
        size_t n = strlen(name);

        if (n < STAMP_LEN + 8 || strcmp(name + n - 5, ".json") != 0)
                return NULL;
        p = name + STAMP_LEN + 1;
        dash = strchr(p, '-');
        if (!dash)
                return NULL;
        *len = (size_t)(name + n - 5 - (dash + 1));
        return dash + 1;
}

int records_find(const char *state_dir, const char *run_id, struct run_record *ret)
{
        char *dir, **names = NULL;
        const char *found = NULL;
        size_t n_names = 0, want = run_id ? strlen(run_id) : 0;
        int k;

        if (want == 0 || !valid_run_id(run_id, sizeof(ret->run_id)))
                return -EINVAL;
        dir = runs_dir(state_dir);
        if (!dir)
                return -ENOMEM;
        k = list_names(dir, NULL, &names, &n_names);
        if (k < 0)
                goto out;
        for (size_t i = 0; i < n_names; i++) {
                size_t len = 0;
                const char *id = name_run_id(names[i], &len);

                if (!id || len < want || strncmp(id, run_id, want) != 0)
                        continue;
                if (found && len == want)   /* the whole id beats a prefix of another */
                        found = NULL;
                else if (found) {
                        k = -EEXIST;
                        goto out;
                }
                found = names[i];
                if (len == want)
                        break;
        }
        k = found ? read_record(dir, found, ret) : -ENOENT;
out:
        free_names(names, n_names);
        free(dir);
        return k;
}

int records_prune(const char *state_dir, size_t keep_per_recipe, int64_t max_age_sec, int64_t now_usec,
                  size_t *ret_removed)
{
        char *dir, **names = NULL;
        size_t n_names = 0, removed = 0;
        int k;

        dir = runs_dir(state_dir);
        if (!dir)
                return -ENOMEM;
        k = list_names(dir, NULL, &names, &n_names);
        if (k < 0)
                goto out;
        /* The names are newest first: each recipe's records are taken in one pass, starting
         * from its newest, and crossed out (NULL) once handled. */
        for (size_t i = 0; i < n_names; i++) {
                char rec[64];
                size_t rank = 0;

                if (!names[i] || parse_recipe(names[i], rec, sizeof(rec)) < 0)
                        continue;
                for (size_t j = i; j < n_names; j++) {
                        char other[64];
                        int64_t start;
                        bool drop;

                        if (!names[j] || parse_recipe(names[j], other, sizeof(other)) < 0 ||
                            strcmp(other, rec) != 0 || parse_stamp(names[j], &start) < 0)
                                continue;
                        rank++;
                        drop = rank > 1 && ((keep_per_recipe > 0 && rank > keep_per_recipe) ||
                                            (max_age_sec > 0 && start < now_usec - max_age_sec * USEC_PER_SEC));
                        if (drop) {
                                char *path = path_join(dir, names[j]);

                                if (!path) {
                                        k = -ENOMEM;
                                        goto out;
                                }
                                if (unlink(path) < 0 && errno != ENOENT)
                                        log_warning_errno(errno, "%s: cannot remove old run record: %m", path);
                                else
                                        removed++;
                                free(path);
                        }
                        free(names[j]);
                        names[j] = NULL;
                }
        }
        if (ret_removed)
                *ret_removed = removed;
        k = 0;
out:
        free_names(names, n_names);
        free(dir);
        return k;
}
