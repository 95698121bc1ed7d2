/* logrotate recipe: attributes of one set -> struct lr_set. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opsagent/recipe.h>

#include "lr_config.h"

static const struct {
        const char *name;
        int signo;
} signals[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
        { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "CONT", SIGCONT }, { "WINCH", SIGWINCH },
        { "ALRM", SIGALRM },
};

static int fmt_err(char **ret_err, const char *set, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int fmt_err(char **ret_err, const char *set, const char *fmt, ...)
{
        char *msg = NULL, *full = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (msg && asprintf(&full, "logrotate.sets.%.*s%s.%s", LR_QUOTE_MAX, set,
                            strlen(set) > LR_QUOTE_MAX ? "..." : "", msg) < 0)
                full = NULL;
        free(msg);
        if (ret_err)
                *ret_err = full;
        else
                free(full);
        return -EINVAL;
}

int lr_parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;
        uint64_t mult = 1;

        if (!s || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -EINVAL;
        if (*end) {
                switch (*end) {
                case 'k': case 'K': mult = 1024ULL; break;
                case 'M': mult = 1024ULL * 1024; break;
                case 'G': mult = 1024ULL * 1024 * 1024; break;
                default: return -EINVAL;
                }
                if (end[1])
                        return -EINVAL;
        }
        if (v > UINT64_MAX / mult)
                return -EINVAL;
        *ret = v * mult;
        return 0;
}

int lr_parse_signal(const char *s, int *ret)
{
        char *end = NULL;
        long n;

        if (!s || !*s)
                return -EINVAL;
        if (isdigit((unsigned char)s[0])) {
                n = strtol(s, &end, 10);
                if (*end || n <= 0 || n >= NSIG)
                        return -EINVAL;
                *ret = (int)n;
                return 0;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
                if (strcasecmp(s, signals[i].name) == 0) {
                        *ret = signals[i].signo;
                        return 0;
                }
        return -EINVAL;
}

int lr_parse_mode(const char *s, mode_t *ret)
{
        char *end = NULL;
        unsigned long m;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++)
                if (*p < '0' || *p > '7')
                        return -EINVAL;
        m = strtoul(s, &end, 8);
        if (*end || m > 07777)
                return -EINVAL;
        *ret = (mode_t)m;
        return 0;
}

const char *lr_quote(const char *v, char *buf, size_t len)
{
        size_t n = strlen(v);

        if (n <= LR_QUOTE_MAX)
                snprintf(buf, len, "\"%s\"", v);
        else {
                size_t cut = LR_QUOTE_MAX;
                while (cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80)
                        cut--;          /* not inside a UTF-8 sequence */
                snprintf(buf, len, "\"%.*s...\" (%zu bytes)", (int)cut, v, n);
        }
        return buf;
}

const char *lr_compression_ext(enum lr_compression c)
{
        switch (c) {
        case LR_COMP_GZIP: return ".gz";
        case LR_COMP_XZ: return ".xz";
        case LR_COMP_ZSTD: return ".zst";
        default: return "";
        }
}

const char *lr_compression_name(enum lr_compression c)
{
        switch (c) {
        case LR_COMP_GZIP: return "gzip";
        case LR_COMP_XZ: return "xz";
        case LR_COMP_ZSTD: return "zstd";
        default: return "none";
        }
}

const char *lr_set_dateformat(const struct lr_set *s)
{
        if (s->dateformat)
                return s->dateformat;
        return s->frequency == LR_FREQ_HOURLY ? "-%Y%m%d%H" : "-%Y%m%d";
}

void lr_set_free(struct lr_set *s)
{
        if (!s)
                return;
        free(s->name);
        if (s->paths)
                for (char **p = s->paths; *p; p++)
                        free(*p);
        free(s->paths);
        free(s->dateformat);
        free(s->olddir);
        free(s->reopen_unit);
        free(s->reopen_pidfile);
        free(s->reopen_exe);
        free(s->su_user);
        free(s->su_group);
        if (s->reopen_command)
                for (char **p = s->reopen_command; *p; p++)
                        free(*p);
        free(s->reopen_command);
        free(s->create_owner);
        free(s->create_group);
        free(s);
}

/* Copies the string at KEY of OBJ into *ret (left NULL when absent). */
static int get_string(json_object *obj, const char *key, const char *set, const char *prefix,
                      char **ret, char **ret_err)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return fmt_err(ret_err, set, "%s%s: must be a string", prefix, key);
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int get_bool(json_object *obj, const char *key, const char *set, bool *ret, char **ret_err)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return fmt_err(ret_err, set, "%s: must be true or false", key);
        *ret = json_object_get_boolean(v);
        return 0;
}

static int get_uint(json_object *obj, const char *key, const char *set, unsigned max, unsigned *ret,
                    char **ret_err)
{
        json_object *v;
        int64_t n;

        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (json_object_is_type(v, json_type_double))
                return fmt_err(ret_err, set, "%s: %g is not a whole number in 0..%u", key,
                               json_object_get_double(v), max);
        if (!json_object_is_type(v, json_type_int))
                return fmt_err(ret_err, set, "%s: must be a whole number in 0..%u, not a %s", key, max,
                               opsagent_json_type_label(v));
        n = json_object_get_int64(v);
        if (n < 0 || n > (int64_t)max)
                return fmt_err(ret_err, set, "%s: %" PRId64 " is out of range 0..%u", key, n, max);
        *ret = (unsigned)n;
        return 0;
}

static int get_size(json_object *obj, const char *key, const char *set, uint64_t *ret, char **ret_err)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
                *ret = (uint64_t)json_object_get_int64(v);
                return 0;
        }
        if (json_object_is_type(v, json_type_string) && lr_parse_size(json_object_get_string(v), ret) == 0)
                return 0;
        if (json_object_is_type(v, json_type_string)) {
                char q[LR_QUOTE_BUF];
                return fmt_err(ret_err, set, "%s: %s is not a size: give a byte count, or a number with k, M or G "
                               "(powers of 1024) like \"100M\"", key, lr_quote(json_object_get_string(v), q, sizeof(q)));
        }
        if (json_object_is_type(v, json_type_int))
                return fmt_err(ret_err, set, "%s: %" PRId64 " is negative: give a byte count, or a size like \"100M\"",
                               key, json_object_get_int64(v));
        return fmt_err(ret_err, set, "%s: must be a byte count or a size like \"100M\" (k, M, G), not a %s", key,
                       opsagent_json_type_label(v));
}

static int get_argv(json_object *v, const char *set, char ***ret, char **ret_err)
{
        size_t n;
        char **argv;

        if (json_object_is_type(v, json_type_string)) {
                const char *cmd = json_object_get_string(v);
                if (cmd[strspn(cmd, " \t\n")] == '\0')
                        return fmt_err(ret_err, set, "reopen.command: empty; give the command that makes the "
                                       "writer reopen its log (a string for /bin/sh, or an argv array)");
                argv = calloc(4, sizeof(char *));
                if (!argv)
                        return -ENOMEM;
                argv[0] = strdup("/bin/sh");
                argv[1] = strdup("-c");
                argv[2] = strdup(json_object_get_string(v));
                if (!argv[0] || !argv[1] || !argv[2]) {
                        for (int i = 0; i < 3; i++)
                                free(argv[i]);
                        free(argv);
                        return -ENOMEM;
                }
                *ret = argv;
                return 0;
        }
        if (!json_object_is_type(v, json_type_array))
                return fmt_err(ret_err, set, "reopen.command: must be a string (run by /bin/sh) or an argv array");
        n = json_object_array_length(v);
        if (n == 0 || n > LR_MAX_COMMAND_ARGS)
                return fmt_err(ret_err, set, "reopen.command: needs 1..%d arguments", LR_MAX_COMMAND_ARGS);
        argv = calloc(n + 1, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_array_get_idx(v, i);
                if (i == 0 && json_object_is_type(a, json_type_string) && !*json_object_get_string(a)) {
                        free(argv);
                        return fmt_err(ret_err, set, "reopen.command[0]: empty; give the program to run");
                }
                if (!json_object_is_type(a, json_type_string) ||
                    !(argv[i] = strdup(json_object_get_string(a)))) {
                        for (size_t j = 0; j < i; j++)
                                free(argv[j]);
                        free(argv);
                        return json_object_is_type(a, json_type_string)
                                ? -ENOMEM
                                : fmt_err(ret_err, set, "reopen.command[%zu]: must be a string", i);
                }
        }
        *ret = argv;
        return 0;
}

static int parse_paths(struct lr_set *s, json_object *obj, char **ret_err)
{
        json_object *v;
        size_t n;

        if (!json_object_object_get_ex(obj, "paths", &v) || !v)
                return fmt_err(ret_err, s->name, "paths: missing; give the log files (globs) to rotate");
        if (json_object_is_type(v, json_type_string)) {
                s->paths = calloc(2, sizeof(char *));
                if (!s->paths || !(s->paths[0] = strdup(json_object_get_string(v))))
                        return -ENOMEM;
        } else if (json_object_is_type(v, json_type_array)) {
                n = json_object_array_length(v);
                if (n > LR_MAX_PATHS)
                        return fmt_err(ret_err, s->name, "paths: more than %d globs", LR_MAX_PATHS);
                s->paths = calloc(n + 1, sizeof(char *));
                if (!s->paths)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *p = json_object_array_get_idx(v, i);
                        if (!json_object_is_type(p, json_type_string))
                                return fmt_err(ret_err, s->name, "paths[%zu]: must be a string", i);
                        if (!(s->paths[i] = strdup(json_object_get_string(p))))
                                return -ENOMEM;
                }
        } else
                return fmt_err(ret_err, s->name, "paths: must be a glob or a list of globs");
        for (char **p = s->paths; *p; p++)
                if ((*p)[0] != '/') {
                        char q[LR_QUOTE_BUF];
                        return fmt_err(ret_err, s->name, "paths: %s is not absolute: give paths (globs) that "
                                       "start with /", lr_quote(*p, q, sizeof(q)));
                }
        return 0;
}

static int parse_enum(json_object *obj, const char *key, const char *set, const char *const *names,
                      int *ret, char **ret_err)
{
        json_object *v;
        const char *str;

        if (!json_object_object_get_ex(obj, key, &v) || !v)
                return 0;
        str = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        for (int i = 0; names[i]; i++)
                if (names[i][0] && strcmp(names[i], str) == 0) {
                        *ret = i;
                        return 0;
                }
        {
                char q[LR_QUOTE_BUF], list[256] = "";
                for (int i = 0; names[i]; i++)
                        if (names[i][0])
                                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                                         list[0] ? ", " : "", names[i]);
                return fmt_err(ret_err, set, "%s: %s is not one of %s", key, lr_quote(str, q, sizeof(q)), list);
        }
}

static int parse_reopen(struct lr_set *s, json_object *obj, char **ret_err)
{
        json_object *ro, *v;
        char *sig = NULL;
        int r;

        if (!json_object_object_get_ex(obj, "reopen", &ro) || !ro)
                return 0;
        if (!json_object_is_type(ro, json_type_object))
                return fmt_err(ret_err, s->name, "reopen: must be an object");
        r = get_string(ro, "unit", s->name, "reopen.", &s->reopen_unit, ret_err);
        if (r >= 0)
                r = get_string(ro, "pidfile", s->name, "reopen.", &s->reopen_pidfile, ret_err);
        if (r >= 0)
                r = get_string(ro, "exe", s->name, "reopen.", &s->reopen_exe, ret_err);
        if (r >= 0 && s->reopen_exe && s->reopen_exe[0] != '/') {
                char q[LR_QUOTE_BUF];
                r = fmt_err(ret_err, s->name, "reopen.exe: %s is not an absolute path (the executable as "
                            "/proc/PID/exe shows it)", lr_quote(s->reopen_exe, q, sizeof(q)));
        }
        if (r >= 0)
                r = get_string(ro, "signal", s->name, "reopen.", &sig, ret_err);
        if (r >= 0 && sig && lr_parse_signal(sig, &s->reopen_signal) < 0) {
                char q[LR_QUOTE_BUF];
                r = fmt_err(ret_err, s->name, "reopen.signal: %s is not a signal: give a name (SIGHUP, SIGUSR1, "
                            "SIGUSR2, SIGINT, SIGQUIT, SIGTERM, SIGCONT, SIGWINCH, SIGALRM) or a number 1..%d",
                            lr_quote(sig, q, sizeof(q)), NSIG - 1);
        }
        free(sig);
        if (r >= 0 && json_object_object_get_ex(ro, "command", &v) && v)
                r = get_argv(v, s->name, &s->reopen_command, ret_err);
        if (r >= 0)
                r = get_uint(ro, "timeout", s->name, 3600, &s->reopen_timeout, ret_err);
        if (r >= 0)
                r = get_uint(ro, "settle_ms", s->name, 60000, &s->reopen_settle_ms, ret_err);
        return r;
}

static int parse_su(struct lr_set *s, json_object *obj, char **ret_err)
{
        json_object *su;
        int r;

        if (!json_object_object_get_ex(obj, "su", &su) || !su)
                return 0;
        if (!json_object_is_type(su, json_type_object))
                return fmt_err(ret_err, s->name, "su: must be an object {\"user\": ..., \"group\": ...}");
        r = get_string(su, "user", s->name, "su.", &s->su_user, ret_err);
        if (r >= 0)
                r = get_string(su, "group", s->name, "su.", &s->su_group, ret_err);
        if (r >= 0 && !s->su_user)
                r = fmt_err(ret_err, s->name, "su.user: missing; give the user the set's logs are rotated as");
        return r;
}

static int parse_create(struct lr_set *s, json_object *obj, char **ret_err)
{
        json_object *co;
        char *mode = NULL;
        int r;

        if (!json_object_object_get_ex(obj, "create", &co) || !co)
                return 0;
        if (!json_object_is_type(co, json_type_object))
                return fmt_err(ret_err, s->name, "create: must be an object");
        r = get_string(co, "mode", s->name, "create.", &mode, ret_err);
        if (r >= 0 && mode && lr_parse_mode(mode, &s->create_mode) < 0) {
                char q[LR_QUOTE_BUF];
                r = fmt_err(ret_err, s->name, "create.mode: %s is not an octal mode (0 to 07777) like \"0640\"",
                            lr_quote(mode, q, sizeof(q)));
        }
        free(mode);
        if (r >= 0)
                r = get_string(co, "owner", s->name, "create.", &s->create_owner, ret_err);
        if (r >= 0)
                r = get_string(co, "group", s->name, "create.", &s->create_group, ret_err);
        return r;
}

/* A dateformat makes file names: non-empty, no '/', at most LR_MAX_DATEFORMAT bytes, and only
 * the conversions that rotated names can be recognised by again (as logrotate allows). */
static int check_dateformat(const char *set, const char *f, char **ret_err)
{
        char q[LR_QUOTE_BUF];

        if (!f[0])
                return fmt_err(ret_err, set, "dateformat: empty; give a format like \"-%%Y%%m%%d\" (or leave it out)");
        if (strlen(f) > LR_MAX_DATEFORMAT)
                return fmt_err(ret_err, set, "dateformat: %s is longer than %d bytes", lr_quote(f, q, sizeof(q)),
                               LR_MAX_DATEFORMAT);
        if (strchr(f, '/'))
                return fmt_err(ret_err, set, "dateformat: %s contains '/': it makes file names",
                               lr_quote(f, q, sizeof(q)));
        for (const char *p = f; *p; p++) {
                if (*p != '%')
                        continue;
                p++;
                if (!*p || !strchr("YmdHMSVs%", *p))
                        return fmt_err(ret_err, set, "dateformat: %s uses %%%s, which rotated names could not be "
                                       "recognised by: use %%Y %%m %%d %%H %%M %%S %%V %%s (as logrotate)",
                                       lr_quote(f, q, sizeof(q)), *p ? (char[]){ *p, 0 } : "");
        }
        return 0;
}

int lr_set_parse(const char *name, json_object *obj, struct lr_set **ret, char **ret_err)
{
        static const char *const freqs[] = { "", "hourly", "daily", "weekly", "monthly", "yearly", NULL };
        static const char *const methods[] = { "reopen", "create", "copytruncate", NULL };
        static const char *const comps[] = { "none", "gzip", "xz", "zstd", NULL };
        struct lr_set *s;
        int freq = LR_FREQ_DAILY, method = LR_METHOD_REOPEN, comp = LR_COMP_ZSTD;
        unsigned level = 0;
        json_object *lv;
        int r;

        if (!json_object_is_type(obj, json_type_object))
                return fmt_err(ret_err, name, "%s", "(set): must be an object");
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->rotate = 4;
        s->compress_level = -1;
        s->reopen_signal = SIGHUP;
        s->reopen_timeout = LR_DEFAULT_REOPEN_TIMEOUT;
        s->reopen_settle_ms = LR_DEFAULT_SETTLE_MS;
        s->create_mode = 0640;
        s->name = strdup(name);
        if (!s->name) {
                r = -ENOMEM;
                goto out;
        }
        r = parse_paths(s, obj, ret_err);
        if (r < 0)
                goto out;
        if ((r = get_uint(obj, "rotate", name, LR_MAX_ROTATE, &s->rotate, ret_err)) < 0 ||
            (r = parse_enum(obj, "frequency", name, freqs, &freq, ret_err)) < 0 ||
            (r = get_size(obj, "size", name, &s->size, ret_err)) < 0 ||
            (r = get_size(obj, "minsize", name, &s->minsize, ret_err)) < 0 ||
            (r = get_size(obj, "maxsize", name, &s->maxsize, ret_err)) < 0 ||
            (r = get_uint(obj, "maxage", name, LR_MAX_MAXAGE, &s->maxage, ret_err)) < 0 ||
            (r = parse_enum(obj, "compress", name, comps, &comp, ret_err)) < 0 ||
            (r = get_bool(obj, "delaycompress", name, &s->delaycompress, ret_err)) < 0 ||
            (r = get_bool(obj, "dateext", name, &s->dateext, ret_err)) < 0 ||
            (r = get_bool(obj, "missingok", name, &s->missingok, ret_err)) < 0 ||
            (r = get_bool(obj, "notifempty", name, &s->notifempty, ret_err)) < 0 ||
            (r = get_string(obj, "dateformat", name, "", &s->dateformat, ret_err)) < 0 ||
            (r = get_string(obj, "olddir", name, "", &s->olddir, ret_err)) < 0 ||
            (r = parse_enum(obj, "method", name, methods, &method, ret_err)) < 0 ||
            (r = parse_reopen(s, obj, ret_err)) < 0 ||
            (r = parse_su(s, obj, ret_err)) < 0 ||
            (r = get_bool(obj, "allowhardlink", name, &s->allowhardlink, ret_err)) < 0 ||
            (r = parse_create(s, obj, ret_err)) < 0)
                goto out;
        if (json_object_object_get_ex(obj, "compress_level", &lv) && lv) {
                r = get_uint(obj, "compress_level", name, 22, &level, ret_err);
                if (r < 0)
                        goto out;
                s->compress_level = (int)level;
        }
        s->frequency = (enum lr_frequency)freq;
        s->method = (enum lr_method)method;
        s->compress = (enum lr_compression)comp;
        if (s->compress == LR_COMP_GZIP && s->compress_level > 9) {
                r = fmt_err(ret_err, name, "compress_level: gzip takes 1..9, not %d", s->compress_level);
                goto out;
        }
        if (s->compress == LR_COMP_XZ && s->compress_level > 9) {
                r = fmt_err(ret_err, name, "compress_level: xz takes 0..9, not %d", s->compress_level);
                goto out;
        }
        if (s->dateformat) {
                r = check_dateformat(name, s->dateformat, ret_err);
                if (r < 0)
                        goto out;
        }
        if (s->method == LR_METHOD_REOPEN) {
                /* a unit is preferred to a pidfile (the kernel knows its cgroup: no file to forge) */
                int ways = !!s->reopen_unit + (!!s->reopen_pidfile && !s->reopen_unit) + !!s->reopen_command;
                if (ways != 1) {
                        r = fmt_err(ret_err, name, "reopen: give one of unit (with or without a pidfile, which "
                                    "it is preferred to), pidfile or command (found %d), or choose method "
                                    "\"create\" or \"copytruncate\"", ways);
                        goto out;
                }
        }
        *ret = s;
        s = NULL;
        r = 0;
out:
        lr_set_free(s);
        return r;
}
