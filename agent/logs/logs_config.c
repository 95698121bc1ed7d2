#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "logs_config.h"
#include "logs_buffer.h"
#include "util/buf.h"

static const int retention_values[] = { 1,   3,   5,   7,   14,  30,   60,   90,   120,  150,  180,
                                        365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 };

/* The origin of the first value at or under PATH (an object has none of its own). */
static const char *origin_under(struct attrs *a, const char *path, int depth)
{
        const char *origin = attrs_origin(a, path);
        json_object *o;

        if (origin || depth > 8)
                return origin;
        o = attrs_get(a, path);
        if (!json_object_is_type(o, json_type_object))
                return NULL;
        json_object_object_foreach(o, k, v) {
                char sub[512];

                (void)v;
                snprintf(sub, sizeof(sub), "%s.%s", path, k);
                origin = origin_under(a, sub, depth + 1);
                if (origin)
                        return origin;
        }
        return NULL;
}

/* "FILE: KEY: WHY" */
static int bad(struct attrs *a, const char *key, struct error *err, const char *why)
{
        const char *origin = origin_under(a, key, 0);
        char up[512];
        char *dot;

        /* A missing key has no origin: name the file that set the object it is missing from. */
        snprintf(up, sizeof(up), "%s", key);
        while (!origin && (dot = strrchr(up, '.'))) {
                *dot = '\0';
                origin = origin_under(a, up, 0);
        }
        return error_set(err, -EINVAL, "%s: %s: %s", origin ? origin : "the attributes", key, why);
}

int logs_priority_from_name(const char *name)
{
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        if (name[0] >= '0' && name[0] <= '7' && name[1] == '\0')
                return name[0] - '0';
        for (int i = 0; i < 8; i++)
                if (strcasecmp(name, names[i]) == 0)
                        return i;
        if (strcasecmp(name, "error") == 0)
                return 3;
        if (strcasecmp(name, "warn") == 0)
                return 4;
        if (strcasecmp(name, "emergency") == 0)
                return 0;
        if (strcasecmp(name, "critical") == 0)
                return 2;
        return -EINVAL;
}

int logs_stream_name(const char *tmpl, const char *instance_id, const char *hostname, const char *recipe,
                     const char *file, char **ret, struct error *err)
{
        struct buf b = BUF_INIT(4096);
        const char *p = tmpl;
        int r = 0;

        while (*p && r >= 0) {
                const char *v = NULL;
                size_t skip = 0;

                if (*p != '{') {
                        r = buf_append(&b, p++, 1);
                        continue;
                }
                if (strncmp(p, "{instance_id}", 13) == 0)
                        v = instance_id, skip = 13;
                else if (strncmp(p, "{hostname}", 10) == 0)
                        v = hostname, skip = 10;
                else if (strncmp(p, "{recipe}", 8) == 0)
                        v = recipe, skip = 8;
                else if (strncmp(p, "{file}", 6) == 0)
                        v = file, skip = 6;
                else {
                        buf_free(&b);
                        return error_set(err, -EINVAL, "\"%s\": unknown placeholder at \"%s\" (known: {instance_id}, "
                                         "{hostname}, {recipe}, {file})", tmpl, p);
                }
                r = buf_puts(&b, v ? v : "");
                p += skip;
        }
        if (r < 0) {
                buf_free(&b);
                return error_set(err, r == -E2BIG ? -EINVAL : r, "\"%s\": the stream name is too long", tmpl);
        }
        /* CloudWatch refuses ':' and '*' in stream names, and an empty one. */
        for (char *q = b.data; q && *q; q++)
                if (*q == ':' || *q == '*')
                        *q = '_';
        if (buf_len(&b) == 0) {
                buf_free(&b);
                return error_set(err, -EINVAL, "\"%s\": the stream name is empty", tmpl);
        }
        *ret = buf_steal(&b);
        return *ret ? 0 : error_set(err, -ENOMEM, "out of memory");
}

static int get_string(struct attrs *a, json_object *o, const char *base, const char *key, bool required,
                      char **ret, struct error *err)
{
        char path[512];
        json_object *v = json_object_object_get(o, key);

        snprintf(path, sizeof(path), "%s.%s", base, key);
        if (!v || json_object_is_type(v, json_type_null)) {
                if (required)
                        return bad(a, path, err, "is required; set it");
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0 ||
            strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
                return bad(a, path, err, "must be a non-empty string");
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : error_set(err, -ENOMEM, "out of memory");
}

static int parse_journal(struct attrs *a, json_object *j, const char *base, struct logs_source_config *s,
                         struct error *err)
{
        char path[512];
        json_object *units, *prio;

        snprintf(path, sizeof(path), "%s.journal", base);
        if (!json_object_is_type(j, json_type_object))
                return bad(a, path, err, "must be an object: {\"units\": [...], \"priority\": \"warning\"}");
        json_object_object_foreach(j, k, v) {
                (void)v;
                if (strcmp(k, "units") != 0 && strcmp(k, "priority") != 0) {
                        snprintf(path, sizeof(path), "%s.journal.%s", base, k);
                        return bad(a, path, err, "unknown key (known: units, priority)");
                }
        }
        s->journal = true;
        s->priority = -1;
        units = json_object_object_get(j, "units");
        if (units) {
                size_t n = json_object_array_length(units);

                snprintf(path, sizeof(path), "%s.journal.units", base);
                if (!json_object_is_type(units, json_type_array) || n > LOGS_MAX_UNITS)
                        return bad(a, path, err, "must be a list of at most 64 unit names");
                s->units = calloc(n + 1, sizeof(*s->units));
                if (!s->units)
                        return error_set(err, -ENOMEM, "out of memory");
                for (size_t i = 0; i < n; i++) {
                        json_object *u = json_object_array_get_idx(units, i);

                        if (!json_object_is_type(u, json_type_string) || json_object_get_string_len(u) == 0)
                                return bad(a, path, err, "must be a list of unit names (\"nginx.service\")");
                        s->units[i] = strdup(json_object_get_string(u));
                        if (!s->units[i])
                                return error_set(err, -ENOMEM, "out of memory");
                        s->n_units++;
                }
        }
        prio = json_object_object_get(j, "priority");
        if (prio) {
                snprintf(path, sizeof(path), "%s.journal.priority", base);
                if (json_object_is_type(prio, json_type_int) && json_object_get_int(prio) >= 0 &&
                    json_object_get_int(prio) <= 7)
                        s->priority = json_object_get_int(prio);
                else if (json_object_is_type(prio, json_type_string) &&
                         logs_priority_from_name(json_object_get_string(prio)) >= 0)
                        s->priority = logs_priority_from_name(json_object_get_string(prio));
                else
                        return bad(a, path, err, "must be a syslog priority: emerg, alert, crit, err, warning, "
                                   "notice, info, debug (or 0..7)");
        }
        return 0;
}

static int parse_source(struct attrs *a, const char *name, json_object *o, struct logs_source_config *s,
                        struct error *err)
{
        static const char *const known[] = { "path", "journal", "log_group", "log_stream", "multiline_start",
                                             "timestamp", "retention_days", "encoding", NULL };
        char base[256], path[512];
        json_object *v;
        char *enc = NULL, *start = NULL;
        int r;

        snprintf(base, sizeof(base), "cloudwatch_logs.sources.%s", name);
        s->priority = -1;
        s->name = strdup(name);
        if (!s->name)
                return error_set(err, -ENOMEM, "out of memory");
        if (strlen(name) > LOGS_NAME_MAX || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                         "0123456789_-") != strlen(name) || !name[0])
                return bad(a, base, err, "a source name is 1 to 64 letters, digits, '_' or '-'");
        if (!json_object_is_type(o, json_type_object))
                return bad(a, base, err, "must be an object with path (or journal) and log_group");
        json_object_object_foreach(o, k, kv) {
                size_t i;

                (void)kv;
                for (i = 0; known[i] && strcmp(known[i], k) != 0; i++)
                        ;
                if (!known[i]) {
                        snprintf(path, sizeof(path), "%s.%s", base, k);
                        return bad(a, path, err, "unknown key (known: path, journal, log_group, log_stream, "
                                   "multiline_start, timestamp, retention_days, encoding)");
                }
        }
        r = get_string(a, o, base, "path", false, &s->path, err);
        if (r < 0)
                return r;
        v = json_object_object_get(o, "journal");
        if (v && !json_object_is_type(v, json_type_null)) {
                if (s->path)
                        return bad(a, base, err, "has both path and journal: a source is one or the other");
                r = parse_journal(a, v, base, s, err);
                if (r < 0)
                        return r;
        } else if (!s->path)
                return bad(a, base, err, "needs path (a file glob) or journal");
        if (s->path) {
                snprintf(path, sizeof(path), "%s.path", base);
                if (s->path[0] != '/' || strstr(s->path, "/../") || strstr(s->path, "//"))
                        return bad(a, path, err, "must be an absolute path without \"..\" (a glob: /var/log/app/*.log)");
                if (strchr(s->path, '*') == NULL && strchr(s->path, '?') == NULL && strchr(s->path, '[') == NULL &&
                    s->path[strlen(s->path) - 1] == '/')
                        return bad(a, path, err, "names a directory; give the files (/var/log/app/*.log)");
                if (strpbrk(strrchr(s->path, '/'), "*?[") == NULL) {
                        /* no glob in the name: fine */
                }
                {
                        const char *last = strrchr(s->path, '/');

                        if (strpbrk(s->path, "*?[") && strpbrk(s->path, "*?[") < last)
                                return bad(a, path, err, "a glob only in the file name is supported "
                                           "(/var/log/app/*.log, not /var/log/*/app.log)");
                }
        }
        r = get_string(a, o, base, "log_group", true, &s->group, err);
        if (r < 0)
                return r;
        r = get_string(a, o, base, "log_stream", false, &s->stream, err);
        if (r < 0)
                return r;
        if (!s->stream && !(s->stream = strdup(LOGS_DEFAULT_STREAM)))
                return error_set(err, -ENOMEM, "out of memory");
        {
                struct error e = ERROR_INIT;
                char *probe = NULL;

                snprintf(path, sizeof(path), "%s.log_stream", base);
                if (logs_stream_name(s->stream, "i", "h", "r", "f", &probe, &e) < 0)
                        return bad(a, path, err, e.msg);
                free(probe);
        }
        r = get_string(a, o, base, "multiline_start", false, &start, err);
        if (r < 0)
                return r;
        if (start) {
                int rc = regcomp(&s->start, start, REG_EXTENDED | REG_NOSUB);

                free(start);
                if (rc != 0) {
                        char why[256], msg[400];

                        regerror(rc, NULL, why, sizeof(why));
                        snprintf(msg, sizeof(msg), "not a POSIX extended regular expression: %s", why);
                        snprintf(path, sizeof(path), "%s.multiline_start", base);
                        return bad(a, path, err, msg);
                }
                s->has_start = true;
        }
        r = get_string(a, o, base, "timestamp", false, &s->ts_format, err);
        if (r < 0)
                return r;
        if (s->ts_format && !strchr(s->ts_format, '%')) {
                snprintf(path, sizeof(path), "%s.timestamp", base);
                return bad(a, path, err, "must be a strptime(3) format (\"%Y-%m-%d %H:%M:%S\")");
        }
        v = json_object_object_get(o, "retention_days");
        if (v && !json_object_is_type(v, json_type_null)) {
                bool ok = false;

                snprintf(path, sizeof(path), "%s.retention_days", base);
                if (json_object_is_type(v, json_type_int))
                        for (size_t i = 0; i < sizeof(retention_values) / sizeof(retention_values[0]); i++)
                                if (json_object_get_int64(v) == retention_values[i])
                                        ok = true;
                if (!ok)
                        return bad(a, path, err, "must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, "
                                   "30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
                                   "3288, 3653");
                s->retention_days = json_object_get_int(v);
        }
        r = get_string(a, o, base, "encoding", false, &enc, err);
        if (r < 0)
                return r;
        if (enc && strcasecmp(enc, "utf-8") != 0 && strcasecmp(enc, "utf8") != 0) {
                free(enc);
                snprintf(path, sizeof(path), "%s.encoding", base);
                return bad(a, path, err, "only \"utf-8\" is supported (invalid bytes become U+FFFD)");
        }
        free(enc);
        return 0;
}

static struct logs_source_config *new_source(struct logs_config *c)
{
        struct logs_source_config *n = realloc(c->src, (c->n_src + 1) * sizeof(*n));

        if (!n)
                return NULL;
        c->src = n;
        memset(&n[c->n_src], 0, sizeof(*n));
        return &n[c->n_src++];
}

int logs_config_from_attrs(struct attrs *a, const char *runs_log_path, struct logs_config *ret, struct error *err)
{
        struct logs_config c = { LOGS_DEFAULT_FLUSH_USEC, LOGS_BUFFER_DEFAULT_MAX_BYTES, NULL, 0 };
        json_object *sec = attrs_get(a, "cloudwatch_logs"), *v, *srcs;
        const char *runs_group;
        int r = 0;

        if (sec && !json_object_is_type(sec, json_type_null)) {
                if (!json_object_is_type(sec, json_type_object)) {
                        r = bad(a, "cloudwatch_logs", err, "must be an object");
                        goto out;
                }
                json_object_object_foreach(sec, k, kv) {
                        (void)kv;
                        if (strcmp(k, "flush_seconds") && strcmp(k, "buffer_max_bytes") && strcmp(k, "sources")) {
                                char path[300];

                                snprintf(path, sizeof(path), "cloudwatch_logs.%s", k);
                                r = bad(a, path, err, "unknown key (known: flush_seconds, buffer_max_bytes, sources)");
                                goto out;
                        }
                }
                v = json_object_object_get(sec, "flush_seconds");
                if (v && !json_object_is_type(v, json_type_null)) {
                        double d = json_object_get_double(v);

                        if ((!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) ||
                            !isfinite(d) || d <= 0 || d > LOGS_MAX_FLUSH_SECONDS) {
                                r = bad(a, "cloudwatch_logs.flush_seconds", err,
                                        "must be a number of seconds above 0 (fractions allowed: 0.2), at most 3600");
                                goto out;
                        }
                        c.flush_usec = (uint64_t)(d * 1e6);
                        if (c.flush_usec == 0)
                                c.flush_usec = 1;
                }
                v = json_object_object_get(sec, "buffer_max_bytes");
                if (v && !json_object_is_type(v, json_type_null)) {
                        if (!json_object_is_type(v, json_type_int) ||
                            json_object_get_int64(v) < (int64_t)LOGS_BUFFER_MIN_MAX_BYTES) {
                                r = bad(a, "cloudwatch_logs.buffer_max_bytes", err,
                                        "must be an integer number of bytes, at least 65536");
                                goto out;
                        }
                        c.buffer_max_bytes = (uint64_t)json_object_get_int64(v);
                }
                srcs = json_object_object_get(sec, "sources");
                if (srcs && !json_object_is_type(srcs, json_type_null)) {
                        if (!json_object_is_type(srcs, json_type_object)) {
                                r = bad(a, "cloudwatch_logs.sources", err, "must be an object: NAME -> source");
                                goto out;
                        }
                        if (json_object_object_length(srcs) > LOGS_MAX_SOURCES) {
                                r = bad(a, "cloudwatch_logs.sources", err, "at most 256 sources");
                                goto out;
                        }
                        json_object_object_foreach(srcs, name, so) {
                                struct logs_source_config *s;

                                if (strcmp(name, LOGS_RUNS_SOURCE) == 0) {
                                        char path[300];

                                        snprintf(path, sizeof(path), "cloudwatch_logs.sources.%s", name);
                                        r = bad(a, path, err, "this name is the recipe runs' source "
                                                "(opsagent.logs.run_log_group); choose another");
                                        goto out;
                                }
                                s = new_source(&c);
                                if (!s) {
                                        r = error_set(err, -ENOMEM, "out of memory");
                                        goto out;
                                }
                                r = parse_source(a, name, so, s, err);
                                if (r < 0)
                                        goto out;
                        }
                }
        }
        v = attrs_get(a, "opsagent.logs.run_log_group");
        if (v && !json_object_is_type(v, json_type_null)) {
                struct logs_source_config *s;

                if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0) {
                        r = bad(a, "opsagent.logs.run_log_group", err, "must be a log group name (a string)");
                        goto out;
                }
                runs_group = json_object_get_string(v);
                s = new_source(&c);
                if (!s || !(s->name = strdup(LOGS_RUNS_SOURCE)) || !(s->path = strdup(runs_log_path)) ||
                    !(s->group = strdup(runs_group)) || !(s->stream = strdup("{instance_id}"))) {
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                s->priority = -1;
                s->in_state = true;
        }
        *ret = c;
        memset(&c, 0, sizeof(c));
out:
        logs_config_free(&c);
        return r;
}

void logs_config_free(struct logs_config *c)
{
        for (size_t i = 0; i < c->n_src; i++) {
                struct logs_source_config *s = &c->src[i];

                free(s->name);
                free(s->path);
                for (size_t j = 0; j < s->n_units; j++)
                        free(s->units[j]);
                free(s->units);
                free(s->group);
                free(s->stream);
                if (s->has_start)
                        regfree(&s->start);
                free(s->ts_format);
        }
        free(c->src);
        memset(c, 0, sizeof(*c));
}
