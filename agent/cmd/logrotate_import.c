/* `opsagent logrotate-import FILE`: logrotate configuration -> logrotate recipe attributes. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "logrotate_import.h"

#define MAX_TOKENS 64

struct opts {
        json_object *set;            /* attributes carried over so far */
        bool compress, copytruncate, create, saw_frequency;
        char *create_args[3];        /* mode, owner, group */
        char *postrotate;
};

struct import {
        const char *file;
        const char *set_base;        /* FILE's base name, for set names */
        int line;
        FILE *notes;
        json_object *sets;
        int n_sets;
};

static void note(struct import *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct import *im, const char *fmt, ...)
{
        va_list ap;

        fprintf(im->notes, "%s:%d: ", im->file, im->line);
        va_start(ap, fmt);
        vfprintf(im->notes, fmt, ap);
        va_end(ap);
        fputc('\n', im->notes);
}

static void opts_clear(struct opts *o)
{
        json_object_put(o->set);
        for (int i = 0; i < 3; i++)
                free(o->create_args[i]);
        free(o->postrotate);
        memset(o, 0, sizeof(*o));
}

static int opts_copy(const struct opts *from, struct opts *to)
{
        memset(to, 0, sizeof(*to));
        to->compress = from->compress;
        to->copytruncate = from->copytruncate;
        to->create = from->create;
        to->saw_frequency = from->saw_frequency;
        if (json_object_deep_copy(from->set, &to->set, NULL) < 0)
                return -ENOMEM;
        for (int i = 0; i < 3; i++)
                if (from->create_args[i] && !(to->create_args[i] = strdup(from->create_args[i])))
                        return -ENOMEM;
        if (from->postrotate && !(to->postrotate = strdup(from->postrotate)))
                return -ENOMEM;
        return 0;
}

static int set_str(json_object *o, const char *key, const char *v)
{
        json_object *s = json_object_new_string(v);
        if (!s || json_object_object_add(o, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int set_int(json_object *o, const char *key, long v)
{
        json_object *s = json_object_new_int64(v);
        if (!s || json_object_object_add(o, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static int set_bool(json_object *o, const char *key, bool v)
{
        json_object *s = json_object_new_boolean(v);
        if (!s || json_object_object_add(o, key, s) < 0) {
                json_object_put(s);
                return -ENOMEM;
        }
        return 0;
}

static bool parse_count(const char *s, long *ret)
{
        char *end;
        long v;

        if (!s || !isdigit((unsigned char)*s))
                return false;
        v = strtol(s, &end, 10);
        if (*end || v < 0 || v > 100000)
                return false;
        *ret = v;
        return true;
}

static bool is_size(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || !isdigit((unsigned char)s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isdigit((unsigned char)s[i]))
                        return i == n - 1 && strchr("kKMG", s[i]);
        return true;
}

/* Which directives the recipe has no equivalent for, and what to tell the operator. */
static const struct {
        const char *name, *why;
} unsupported[] = {
        { "su", "the recipe runs as the agent; fix the directory's ownership instead" },
        { "mail", "rotated logs are not mailed" },
        { "mailfirst", "rotated logs are not mailed" },
        { "maillast", "rotated logs are not mailed" },
        { "compresscmd", "compression is in-process (zstd, gzip or xz)" },
        { "uncompresscmd", "compression is in-process (zstd, gzip or xz)" },
        { "compressext", "the extension follows the method (.zst, .gz, .xz)" },
        { "compressoptions", "use compress_level" },
        { "tabooext", "only the listed globs are read" },
        { "taboopat", "only the listed globs are read" },
        { "include", "import each included file separately" },
        { "extension", "not supported" },
        { "addextension", "not supported" },
        { "start", "numbering starts at 1" },
        { "shred", "not supported" },
        { "shredcycles", "not supported" },
        { "dateyesterday", "dateext names use the rotation's date" },
        { "datehourago", "dateext names use the rotation's date" },
        { "renamecopy", "not supported" },
        { "copy", "not supported (use method copytruncate or reopen)" },
        { "prerotate", "scripts other than postrotate are not run" },
        { "firstaction", "scripts other than postrotate are not run" },
        { "lastaction", "scripts other than postrotate are not run" },
        { "preremove", "scripts other than postrotate are not run" },
        { "minage", "not supported" },
        { "sharedscripts", "the reopen runs once per rotated log" },
        { "allowhardlink", "not supported" },
        { "createolddir", "olddir is created (0755) when missing" },
};

/* Applies one directive (TOK[0..N-1]) to O. */
static int directive(struct import *im, struct opts *o, char **tok, int n)
{
        static const char *const freqs[] = { "hourly", "daily", "weekly", "monthly", "yearly", NULL };
        const char *d = tok[0], *arg = n > 1 ? tok[1] : NULL;
        long v;

        for (int i = 0; freqs[i]; i++)
                if (strcmp(d, freqs[i]) == 0) {
                        o->saw_frequency = true;
                        json_object_object_del(o->set, "size");
                        return set_str(o->set, "frequency", d);
                }
        if (strcmp(d, "rotate") == 0 || strcmp(d, "maxage") == 0) {
                if (!parse_count(arg, &v)) {
                        note(im, "%s: \"%s\" is not a count; ignored", d, arg ? arg : "");
                        return 0;
                }
                return set_int(o->set, d, v);
        }
        if (strcmp(d, "size") == 0 || strcmp(d, "minsize") == 0 || strcmp(d, "maxsize") == 0) {
                if (!is_size(arg)) {
                        note(im, "%s: \"%s\" is not a size like 100k, 10M or 1G; ignored", d, arg ? arg : "");
                        return 0;
                }
                if (strcmp(d, "size") == 0) {
                        o->saw_frequency = true;
                        json_object_object_del(o->set, "frequency");   /* the later one wins */
                }
                return set_str(o->set, d, arg);
        }
        if (strcmp(d, "compress") == 0 || strcmp(d, "nocompress") == 0) {
                o->compress = d[0] == 'c';
                return 0;
        }
        if (strcmp(d, "delaycompress") == 0 || strcmp(d, "nodelaycompress") == 0)
                return set_bool(o->set, "delaycompress", d[0] == 'd');
        if (strcmp(d, "dateext") == 0 || strcmp(d, "nodateext") == 0)
                return set_bool(o->set, "dateext", d[0] == 'd');
        if (strcmp(d, "missingok") == 0 || strcmp(d, "nomissingok") == 0)
                return set_bool(o->set, "missingok", d[0] == 'm');
        if (strcmp(d, "notifempty") == 0 || strcmp(d, "ifempty") == 0)
                return set_bool(o->set, "notifempty", d[0] == 'n');
        if (strcmp(d, "dateformat") == 0 && arg)
                return set_str(o->set, "dateformat", arg);
        if (strcmp(d, "olddir") == 0 && arg)
                return set_str(o->set, "olddir", arg);
        if (strcmp(d, "noolddir") == 0) {
                json_object_object_del(o->set, "olddir");
                return 0;
        }
        if (strcmp(d, "copytruncate") == 0 || strcmp(d, "nocopytruncate") == 0) {
                o->copytruncate = d[0] == 'c';
                return 0;
        }
        if (strcmp(d, "create") == 0) {
                o->create = true;
                for (int i = 0; i < 3; i++) {
                        free(o->create_args[i]);
                        o->create_args[i] = NULL;
                        if (i + 1 < n && !(o->create_args[i] = strdup(tok[i + 1])))
                                return -ENOMEM;
                }
                return 0;
        }
        if (strcmp(d, "nocreate") == 0) {
                o->create = false;
                return 0;
        }
        if (strcmp(d, "nomail") == 0 || strcmp(d, "nosharedscripts") == 0 || strcmp(d, "noshred") == 0 ||
            strcmp(d, "nocopy") == 0)
                return 0;
        for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
                if (strcmp(d, unsupported[i].name) == 0) {
                        note(im, "%s: cannot carry over: %s", d, unsupported[i].why);
                        return 0;
                }
        note(im, "%s: unknown directive; ignored", d);
        return 0;
}

/* "kill -USR2 `cat /run/x.pid`" and the like -> pidfile + signal; "systemctl kill -s SIG unit"
 * -> unit + signal. Anything else stays a command. */
static int reopen_from_script(json_object *reopen, const char *script)
{
        static const char *const kill_re =
                "^[ \t]*(/usr)?(/bin/)?kill[ \t]+(-s[ \t]+|-)(SIG)?([A-Za-z0-9]+)[ \t]+"
                "(\"?\\$\\(cat[ \t]+([^ \t)\"]+)[ \t]*\\)\"?|`cat[ \t]+([^ \t`]+)[ \t]*`)"
                "([ \t]+2>[ \t]*/dev/null)?([ \t]*\\|\\|[ \t]*true)?[ \t]*$";
        static const char *const systemctl_re =
                "^[ \t]*(/usr)?(/bin/)?systemctl[ \t]+kill[ \t]+(--kill-who=main[ \t]+)?(-s[ \t]+|--signal=)"
                "(SIG)?([A-Za-z0-9]+)[ \t]+(--kill-who=main[ \t]+)?([A-Za-z0-9@._-]+)[ \t]*$";
        regex_t re;
        regmatch_t m[12];
        char *line = NULL, sig[40], *p;
        int r = 0;
        size_t len;

        /* one non-empty line only */
        while (*script == '\n' || *script == ' ' || *script == '\t')
                script++;
        len = strcspn(script, "\n");
        for (p = (char *)script + len; *p; p++)
                if (!isspace((unsigned char)*p))
                        return set_str(reopen, "command", script);
        line = strndup(script, len);
        if (!line)
                return -ENOMEM;
        if (regcomp(&re, kill_re, REG_EXTENDED) == 0) {
                if (regexec(&re, line, 12, m, 0) == 0) {
                        int pf = m[7].rm_so >= 0 ? 7 : 8;
                        snprintf(sig, sizeof(sig), "%s%.*s", isdigit((unsigned char)line[m[5].rm_so]) ? "" : "SIG",
                                 (int)(m[5].rm_eo - m[5].rm_so), line + m[5].rm_so);
                        line[m[pf].rm_eo] = '\0';
                        r = set_str(reopen, "pidfile", line + m[pf].rm_so);
                        if (r >= 0)
                                r = set_str(reopen, "signal", sig);
                        regfree(&re);
                        goto out;
                }
                regfree(&re);
        }
        if (regcomp(&re, systemctl_re, REG_EXTENDED) == 0) {
                if (regexec(&re, line, 12, m, 0) == 0) {
                        snprintf(sig, sizeof(sig), "SIG%.*s", (int)(m[6].rm_eo - m[6].rm_so), line + m[6].rm_so);
                        line[m[8].rm_eo] = '\0';
                        r = set_str(reopen, "unit", line + m[8].rm_so);
                        if (r >= 0)
                                r = set_str(reopen, "signal", sig);
                        regfree(&re);
                        goto out;
                }
                regfree(&re);
        }
        r = set_str(reopen, "command", script);
out:
        free(line);
        return r;
}

/* Turns a block's options into a set named after the file and adds it. */
static int finish_block(struct import *im, struct opts *o, json_object *paths)
{
        json_object *set = o->set, *reopen = NULL, *create = NULL;
        char name[256];
        int r;

        if (im->n_sets >= LOGROTATE_IMPORT_MAX_SETS)
                return -E2BIG;
        im->n_sets++;
        if (im->n_sets == 1)
                snprintf(name, sizeof(name), "%s", im->set_base);
        else
                snprintf(name, sizeof(name), "%s_%d", im->set_base, im->n_sets);
        if ((r = json_object_object_add(set, "paths", json_object_get(paths))) < 0 ||
            (r = set_str(set, "compress", o->compress ? "gzip" : "none")) < 0)
                return -ENOMEM;
        if (!json_object_object_get_ex(set, "rotate", NULL) && (r = set_int(set, "rotate", 0)) < 0)
                return r;
        if (!o->saw_frequency)
                note(im, "no frequency or size: the recipe's default (daily) applies");
        if (o->copytruncate) {
                r = set_str(set, "method", "copytruncate");
                if (o->postrotate)
                        note(im, "postrotate: not run with copytruncate (the writer keeps its file)");
        } else if (o->postrotate) {
                reopen = json_object_new_object();
                if (!reopen)
                        return -ENOMEM;
                r = set_str(set, "method", "reopen");
                if (r >= 0)
                        r = reopen_from_script(reopen, o->postrotate);
                if (r >= 0)
                        r = json_object_object_add(set, "reopen", reopen) < 0 ? -ENOMEM : 0;
                else
                        json_object_put(reopen);
                if (o->create && o->create_args[0])
                        note(im, "create %s: with method reopen the writer creates its new file itself",
                             o->create_args[0]);
        } else {
                if (!o->create)
                        note(im, "neither create, copytruncate nor postrotate: using method create (the "
                             "writer would otherwise keep writing to the rotated file)");
                r = set_str(set, "method", "create");
                if (r >= 0 && o->create_args[0]) {
                        static const char *const keys[] = { "mode", "owner", "group" };
                        create = json_object_new_object();
                        if (!create)
                                return -ENOMEM;
                        for (int i = 0; i < 3 && r >= 0; i++)
                                if (o->create_args[i])
                                        r = set_str(create, keys[i], o->create_args[i]);
                        if (r >= 0 && json_object_object_add(set, "create", create) < 0)
                                r = -ENOMEM;
                        if (r < 0)
                                json_object_put(create);
                }
        }
        if (r < 0)
                return r;
        if (o->compress)
                note(im, "compress: kept gzip so that rotated names stay .gz; \"compress\": \"zstd\" spends "
                     "about 6x less CPU");
        r = json_object_object_add(im->sets, name, json_object_get(set)) < 0 ? -ENOMEM : 0;
        return r;
}

/* Splits LINE into tokens in *ret_buf (caller frees): words, "quoted words", and each brace as
 * a token of its own. */
static int tokenize(const char *line, char **tok, int max, char **ret_buf)
{
        char *buf = malloc(strlen(line) * 3 + 1), *w;
        int n = 0;
        char q = 0;

        *ret_buf = buf;
        if (!buf)
                return -ENOMEM;
        w = buf;
        for (const char *p = line; *p; p++) {
                if (!q && (*p == '{' || *p == '}')) {
                        *w++ = ' ';
                        *w++ = *p;
                        *w++ = ' ';
                } else {
                        if (*p == '"' || *p == '\'')
                                q = q == *p ? 0 : (q ? q : *p);
                        *w++ = *p;
                }
        }
        *w = '\0';
        for (char *p = buf; *p && n < max;) {
                while (isspace((unsigned char)*p))
                        p++;
                if (!*p)
                        break;
                if (*p == '"' || *p == '\'') {
                        char quote = *p++;
                        tok[n++] = p;
                        while (*p && *p != quote)
                                p++;
                } else {
                        tok[n++] = p;
                        while (*p && !isspace((unsigned char)*p))
                                p++;
                }
                if (*p)
                        *p++ = '\0';
        }
        return n;
}

int logrotate_import_text(const char *text, const char *file, json_object **ret, char **ret_notes)
{
        struct import im = { .file = file, .line = 0 };
        struct opts global = { 0 }, block = { 0 };
        json_object *paths = NULL, *out = NULL, *lr = NULL;
        char *copy = strdup(text), *notes = NULL, *base = NULL, *dot;
        size_t notes_len = 0;
        bool in_block = false, in_script = false, postrotate = false;
        FILE *script = NULL;
        char *script_buf = NULL;
        size_t script_len = 0;
        int r = 0;

        im.notes = open_memstream(&notes, &notes_len);
        base = strdup(strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
        global.set = json_object_new_object();
        im.sets = json_object_new_object();
        if (!copy || !im.notes || !base || !global.set || !im.sets) {
                r = -ENOMEM;
                goto out;
        }
        if ((dot = strchr(base, '.')))
                *dot = '\0';
        for (char *c = base; *c; c++)
                if (!isalnum((unsigned char)*c) && *c != '_')
                        *c = '_';
        im.set_base = *base ? base : "imported";
        for (char *ln = copy, *next; ln; ln = next) {
                char *tok[MAX_TOKENS], *tokbuf = NULL;
                int n, i = 0;

                next = strchr(ln, '\n');
                if (next)
                        *next++ = '\0';
                im.line++;
                if (in_script) {
                        char *t = ln;
                        while (isspace((unsigned char)*t))
                                t++;
                        if (strncmp(t, "endscript", 9) == 0 && (t[9] == '\0' || isspace((unsigned char)t[9]))) {
                                in_script = false;
                                fclose(script);
                                script = NULL;
                                if (postrotate) {
                                        struct opts *o = in_block ? &block : &global;
                                        free(o->postrotate);
                                        o->postrotate = script_buf;
                                } else
                                        free(script_buf);
                                script_buf = NULL;
                        } else
                                fprintf(script, "%s\n", ln);
                        continue;
                }
                {
                        char *t = ln;
                        while (isspace((unsigned char)*t))
                                t++;
                        if (*t == '#' || !*t)
                                continue;
                }
                for (char *e = ln; *e; e++)     /* "size=100M" is "size 100M" */
                        if (*e == '=' && e > ln && isalpha((unsigned char)e[-1])) {
                                *e = ' ';
                                break;
                        }
                n = tokenize(ln, tok, MAX_TOKENS, &tokbuf);
                if (n < 0) {
                        r = n;
                        goto out;
                }
                r = 0;
                while (i < n && r >= 0) {
                        if (strcmp(tok[i], "{") == 0) {
                                if (in_block || !paths || json_object_array_length(paths) == 0) {
                                        note(&im, "\"{\" %s", in_block ? "inside a block" : "without log paths before it");
                                        r = -EINVAL;
                                        break;
                                }
                                r = opts_copy(&global, &block);
                                if (r < 0)
                                        break;
                                in_block = true;
                                i++;
                        } else if (strcmp(tok[i], "}") == 0) {
                                if (!in_block) {
                                        note(&im, "\"}\" without an open block");
                                        r = -EINVAL;
                                        break;
                                }
                                r = finish_block(&im, &block, paths);
                                if (r < 0) {
                                        if (r == -E2BIG)
                                                note(&im, "more than %d blocks", LOGROTATE_IMPORT_MAX_SETS);
                                        break;
                                }
                                opts_clear(&block);
                                json_object_put(paths);
                                paths = NULL;
                                in_block = false;
                                i++;
                        } else if (!in_block && (tok[i][0] == '/' || tok[i][0] == '~')) {
                                if (!paths && !(paths = json_object_new_array())) {
                                        r = -ENOMEM;
                                        break;
                                }
                                json_object_array_add(paths, json_object_new_string(tok[i]));
                                i++;
                        } else {
                                /* a directive runs to the end of the line or the next brace */
                                int j = i + 1;
                                while (j < n && strcmp(tok[j], "{") != 0 && strcmp(tok[j], "}") != 0)
                                        j++;
                                if (strcmp(tok[i], "postrotate") == 0 || strcmp(tok[i], "prerotate") == 0 ||
                                    strcmp(tok[i], "firstaction") == 0 || strcmp(tok[i], "lastaction") == 0 ||
                                    strcmp(tok[i], "preremove") == 0) {
                                        postrotate = strcmp(tok[i], "postrotate") == 0;
                                        if (!postrotate)
                                                note(&im, "%s: cannot carry over: scripts other than postrotate "
                                                     "are not run", tok[i]);
                                        in_script = true;
                                        script_len = 0;
                                        script = open_memstream(&script_buf, &script_len);
                                        if (!script) {
                                                r = -ENOMEM;
                                                break;
                                        }
                                        break;
                                }
                                r = directive(&im, in_block ? &block : &global, tok + i, j - i);
                                if (r < 0)
                                        break;
                                i = j;
                        }
                }
                free(tokbuf);
                if (r < 0)
                        goto out;
        }
        if (in_script || in_block) {
                note(&im, "end of file inside %s", in_script ? "a script (missing endscript)" : "a block (missing \"}\")");
                r = -EINVAL;
                goto out;
        }
        if (paths)
                note(&im, "log paths without a block after them; ignored");
        if (json_object_object_length(im.sets) == 0) {
                /* /etc/passwd and the like: every line an "unknown directive". One line says it. */
                size_t unknown = 0;

                fflush(im.notes);
                for (size_t i = 0; i < notes_len; i++)
                        unknown += notes[i] == '\n';
                fclose(im.notes);
                im.notes = NULL;
                free(notes);
                notes = NULL;
                if (asprintf(&notes, "%s: no log file block (\"PATH { ... }\") in it%s\n", file,
                             unknown ? ", and lines that are no logrotate directive" : "") < 0)
                        notes = NULL;
                notes_len = notes ? strlen(notes) : 0;
                r = -EINVAL;
                goto out;
        }
        out = json_object_new_object();
        lr = json_object_new_object();
        if (!out || !lr || json_object_object_add(lr, "sets", json_object_get(im.sets)) < 0 ||
            json_object_object_add(out, "logrotate", lr) < 0) {
                json_object_put(lr);
                r = -ENOMEM;
                goto out;
        }
        lr = NULL;
        *ret = out;
        out = NULL;
        r = 0;
out:
        if (script) {
                fclose(script);
                free(script_buf);
        }
        json_object_put(out);
        json_object_put(paths);
        json_object_put(im.sets);
        opts_clear(&global);
        opts_clear(&block);
        if (im.notes)
                fclose(im.notes);
        if (notes && notes_len == 0) {
                free(notes);
                notes = NULL;
        }
        *ret_notes = notes;
        free(base);
        free(copy);
        return r;
}

static int read_text(const char *path, char **ret)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC), r;
        struct stat st;
        char *buf = NULL;
        ssize_t n;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (st.st_size > LOGROTATE_IMPORT_MAX_BYTES) {
                r = -EFBIG;
                goto out;
        }
        buf = calloc(1, (size_t)st.st_size + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        n = read(fd, buf, (size_t)st.st_size);
        if (n < 0) {
                r = -errno;
                goto out;
        }
        buf[n] = '\0';
        if (strlen(buf) != (size_t)n) {
                r = -EINVAL;     /* a NUL byte: not a configuration file */
                goto out;
        }
        *ret = buf;
        buf = NULL;
        r = 0;
out:
        free(buf);
        close(fd);
        return r;
}

int cmd_logrotate_import(int argc, char **argv)
{
        char *text = NULL, *notes = NULL;
        json_object *out = NULL;
        int r;

        if (argc != 2 || argv[1][0] == '-') {
                fprintf(stderr, "usage: opsagent logrotate-import FILE\n"
                        "Prints the logrotate recipe's attributes equivalent to a logrotate configuration file\n"
                        "(/etc/logrotate.d style); merge them into /etc/opsagent/stack.json or local.json.\n");
                return 2;
        }
        r = read_text(argv[1], &text);
        if (r < 0) {
                fprintf(stderr, "opsagent: %s: cannot read: %s\n", argv[1],
                        r == -EFBIG ? "larger than 1 MiB" : r == -EINVAL ? "contains NUL bytes" : strerror(-r));
                return 2;
        }
        r = logrotate_import_text(text, argv[1], &out, &notes);
        if (notes)
                fputs(notes, stderr);
        if (r < 0) {
                fprintf(stderr, "opsagent: %s: %s; nothing printed\n", argv[1],
                        r == -EINVAL ? "not a logrotate configuration" : strerror(-r));
                r = 2;
        } else {
                puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE));
                r = 0;
        }
        json_object_put(out);
        free(notes);
        free(text);
        return r;
}

int cmd_logrotate_import_cli(const struct cli *c)
{
        char *argv[3] = { (char *)"logrotate-import", c->n_args ? c->args[0] : NULL, NULL };

        return cmd_logrotate_import(c->n_args == 1 ? 2 : 1, argv);
}
