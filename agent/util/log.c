#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "buf.h"
#include "log.h"

#define MAX_SECRETS 64
#define REDACTED "(redacted)"

static int max_level = LOG_NOTICE;
static bool use_journal, say_to_stderr;
static char *ctx_recipe, *ctx_run_id;
static char *secrets[MAX_SECRETS];
static size_t secret_len[MAX_SECRETS];
static size_t n_secrets;
static bool secret_start[256];  /* bytes some secret begins with */

static bool stderr_is_journal(void)
{
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(enum log_target target, int level)
{
        max_level = level;
        switch (target) {
        case LOG_TARGET_JOURNAL:
                use_journal = true;
                break;
        case LOG_TARGET_STDERR:
                use_journal = false;
                break;
        default:
                use_journal = stderr_is_journal() || (getenv("INVOCATION_ID") && getenv("JOURNAL_STREAM"));
                break;
        }
}

int log_get_max_level(void)
{
        return max_level;
}

bool log_to_journal(void)
{
        return use_journal;
}

void log_set_context(const char *recipe, const char *run_id)
{
        free(ctx_recipe);
        free(ctx_run_id);
        ctx_recipe = recipe ? strdup(recipe) : NULL;
        ctx_run_id = run_id ? strdup(run_id) : NULL;
}

void log_register_secret(const char *s)
{
        if (!s || strlen(s) < 4 || n_secrets >= MAX_SECRETS)
                return;
        for (size_t i = 0; i < n_secrets; i++)
                if (strcmp(secrets[i], s) == 0)
                        return;
        secrets[n_secrets] = strdup(s);
        if (secrets[n_secrets]) {
                secret_len[n_secrets] = strlen(s);
                secret_start[(unsigned char)s[0]] = true;
                n_secrets++;
        }
}

void log_forget_secrets(void)
{
        for (size_t i = 0; i < n_secrets; i++)
                free(secrets[i]);
        n_secrets = 0;
        memset(secret_start, 0, sizeof(secret_start));
}

/* The length of the longest secret P begins with, 0 for none. */
static size_t secret_at(const char *p)
{
        size_t best = 0;

        if (!secret_start[(unsigned char)*p])
                return 0;
        for (size_t i = 0; i < n_secrets; i++)
                if (secret_len[i] > best && strncmp(p, secrets[i], secret_len[i]) == 0)
                        best = secret_len[i];
        return best;
}

char *log_scrub(const char *s)
{
        struct buf b = BUF_INIT(1 << 24);
        const char *p = s, *run = s;
        bool any = false;

        /* Most lines hold no secret: one fast search per secret says so. */
        for (size_t i = 0; i < n_secrets && !any; i++)
                any = strstr(s, secrets[i]) != NULL;
        if (!any)
                return strdup(s);
        while (*p) {
                size_t l = secret_at(p);

                if (l == 0) {
                        p++;
                        continue;
                }
                if (buf_append(&b, run, (size_t)(p - run)) < 0 || buf_puts(&b, REDACTED) < 0)
                        goto fail;
                p += l;
                run = p;
        }
        if (buf_append(&b, run, (size_t)(p - run)) < 0)
                goto fail;
        return buf_steal(&b);
fail:
        buf_free(&b);
        return NULL;
}

static const char *level_name(int level)
{
        switch (level) {
        case LOG_EMERG:
        case LOG_ALERT:
        case LOG_CRIT:
        case LOG_ERR:
                return "error";
        case LOG_WARNING:
                return "warning";
        case LOG_NOTICE:
                return "notice";
        case LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

/* Appends one "NAME=value" field to V[*N]; -ENOMEM leaves *N as it was. */
__attribute__((format(printf, 3, 4))) static int add_field(char **v, size_t *n, const char *fmt, ...)
{
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&v[*n], fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        (*n)++;
        return 0;
}

int log_journal_fields(int level, int error, const char *text, const struct log_fields *f,
                       char *ret[static LOG_JOURNAL_FIELDS_MAX], size_t *ret_n)
{
        char *v[LOG_JOURNAL_FIELDS_MAX];
        size_t n = 0;
        int r;

        r = add_field(v, &n, "MESSAGE=%s", text);
        if (r >= 0)
                r = add_field(v, &n, "PRIORITY=%d", level);
        if (r >= 0)
                r = add_field(v, &n, "SYSLOG_IDENTIFIER=opsagent");
        if (r >= 0 && ctx_recipe)
                r = add_field(v, &n, "RECIPE=%s", ctx_recipe);
        if (r >= 0 && ctx_run_id)
                r = add_field(v, &n, "RUN_ID=%s", ctx_run_id);
        if (r >= 0 && error)
                r = add_field(v, &n, "ERRNO=%d", error < 0 ? -error : error);
        if (r >= 0 && f && f->message_id)
                r = add_field(v, &n, "MESSAGE_ID=%s", f->message_id);
        if (r >= 0 && f && f->outcome)
                r = add_field(v, &n, "OPSAGENT_OUTCOME=%s", f->outcome);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                return r;
        }
        for (size_t i = 0; i < n; i++)
                ret[i] = v[i];
        *ret_n = n;
        return 0;
}

static void journal_send(int level, int error, const char *text, const struct log_fields *f)
{
        char *fields[LOG_JOURNAL_FIELDS_MAX];
        struct iovec iov[LOG_JOURNAL_FIELDS_MAX];
        size_t n = 0;

        if (log_journal_fields(level, error, text, f, fields, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec){ .iov_base = fields[i], .iov_len = strlen(fields[i]) };
        (void)sd_journal_sendv(iov, (int)n);
        for (size_t i = 0; i < n; i++)
                free(fields[i]);
}

static void emit(int level, int error, const char *text)
{
        if (use_journal) {
                journal_send(level, error, text, NULL);
                return;
        }
        if (ctx_recipe)
                fprintf(stderr, "opsagent[%s]: %s: %s\n", ctx_recipe, level_name(level), text);
        else
                fprintf(stderr, "opsagent: %s: %s\n", level_name(level), text);
}

int log_internalv(int level, int error, const char *fmt, va_list ap)
{
        int saved = errno;
        char *msg = NULL, *clean;

        error = error < 0 ? -error : error;
        if (level > max_level)
                goto out;
        errno = error;
        if (vasprintf(&msg, fmt, ap) < 0)
                goto out;
        clean = log_scrub(msg);
        emit(level, error, clean ? clean : "(out of memory)");
        free(clean);
        free(msg);
out:
        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_internalv(level, error, fmt, ap);
        va_end(ap);
        return r;
}

static void say_fieldsv(int level, const struct log_fields *f, const char *fmt, va_list ap)
{
        char *msg = NULL, *clean;

        if (level > max_level)
                return;
        if (vasprintf(&msg, fmt, ap) < 0)
                return;
        clean = log_scrub(msg);
        if (!clean)
                goto out;
        if (use_journal)
                journal_send(level, 0, clean, f);
        else {
                FILE *out = say_to_stderr ? stderr : stdout;

                fputs(clean, out);
                fputc('\n', out);
                fflush(out);
        }
out:
        free(clean);
        free(msg);
}

void log_say_to_stderr(bool on)
{
        say_to_stderr = on;
}

void log_sayv(const char *fmt, va_list ap)
{
        say_fieldsv(LOG_NOTICE, NULL, fmt, ap);
}

void log_say(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say_fieldsv(LOG_NOTICE, NULL, fmt, ap);
        va_end(ap);
}

void log_say_fields(int level, const struct log_fields *f, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        say_fieldsv(level, f, fmt, ap);
        va_end(ap);
}
