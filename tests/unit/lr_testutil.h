/* Helpers for the logrotate recipe's unit tests: a fresh directory per test, small file
 * helpers and a fake recipe context that records what the recipe says and does. */
#ifndef LR_TESTUTIL_H
#define LR_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opsagent/recipe.h>

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st; (void)flag; (void)f;
        return remove(p);
}

/* A fresh directory under BASE ("/tmp"; "/dev/shm" where fsync must cost nothing). */
static inline char *tdir_new_in(const char *base)
{
        char *d = NULL;
        if (asprintf(&d, "%s/lr-unit-XXXXXX", base) < 0 || !mkdtemp(d))
                abort();
        chmod(d, 0755);
        return d;
}

static inline char *tdir_new(void)
{
        return tdir_new_in("/tmp");
}

static inline void tdir_free(char *d)
{
        if (d)
                nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

static inline char *tpath(const char *dir, const char *rel)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, rel) < 0)
                abort();
        return p;
}

static inline void twrite(const char *dir, const char *rel, const char *text)
{
        char *p = tpath(dir, rel);
        FILE *f = fopen(p, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
        free(p);
}

static inline char *tread(const char *dir, const char *rel)
{
        char *p = tpath(dir, rel), *buf = NULL;
        size_t len = 0;
        FILE *f = fopen(p, "r"), *m;
        free(p);
        if (!f)
                return NULL;
        m = open_memstream(&buf, &len);
        for (int c; (c = fgetc(f)) != EOF;)
                fputc(c, m);
        fclose(m);
        fclose(f);
        return buf;
}

static inline bool texists(const char *dir, const char *rel)
{
        char *p = tpath(dir, rel);
        struct stat st;
        bool r = lstat(p, &st) == 0;
        free(p);
        return r;
}

/* ---- fake context ---- */

struct fake {
        struct opsagent_ctx ctx;
        json_object *attrs;          /* the recipe's attributes (owned) */
        char said[16384];            /* every ctx_say line, '\n'-separated */
        char logged[16384];          /* every ctx_log line, '\n'-separated (cut when full) */
        char metrics[2048];
        char killed_unit[128];
        int killed_signo;
        char *on_kill_touch;         /* a file systemd_kill_unit creates (the "writer" reopening) */
        const char *kill_on_say;     /* SIGKILL the process when a said line starts so */
        int said_fd;                 /* > 0: each said line written there too (from a child as well) */
        char root[256];
        char state_dir[512];
        /* spawn_command: what it was asked, and whether to refuse (an untrusted origin) */
        char spawn_attr[256];
        bool spawn_as_user;
        uid_t spawn_uid;
        bool spawn_refuse;
};

static struct fake *fake_of(struct opsagent_ctx *c)
{
        return (struct fake *)c;
}

static inline json_object *fake_attr(struct opsagent_ctx *c, const char *path)
{
        json_object *o = fake_of(c)->attrs;
        char *p = strdup(path), *save = NULL;
        for (char *k = strtok_r(p, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
                if (!json_object_object_get_ex(o, k, &o))
                        o = NULL;
        free(p);
        return o;
}
static inline json_object *fake_attr_abs(struct opsagent_ctx *c, const char *path) { return NULL; }
static inline const char *fake_fact(struct opsagent_ctx *c, const char *n) { return NULL; }
static inline void fake_append(char *to, size_t size, const char *fmt, va_list ap)
{
        size_t n = strlen(to);
        if (n + 2 < size) {
                vsnprintf(to + n, size - n - 1, fmt, ap);
                strcat(to, "\n");
        }
}
static inline void fake_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        fake_append(fake_of(c)->logged, sizeof(fake_of(c)->logged), fmt, ap);
}
static inline void fake_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        struct fake *f = fake_of(c);
        size_t n = strlen(f->said);
        fake_append(f->said, sizeof(f->said), fmt, ap);
        if (f->said_fd > 0 && write(f->said_fd, f->said + n, strlen(f->said + n)) < 0)
                abort();
        if (f->kill_on_say && strncmp(f->said + n, f->kill_on_say, strlen(f->kill_on_say)) == 0)
                raise(SIGKILL);
}
static inline int fake_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        fake_sayv(c, fmt, ap);
        return error;
}
static inline int fake_metric(struct opsagent_ctx *c, const char *name, double v, const char *unit)
{
        struct fake *f = fake_of(c);
        size_t n = strlen(f->metrics);
        snprintf(f->metrics + n, sizeof(f->metrics) - n, "%s=%.0f\n", name, v);
        return 0;
}
static inline char *fake_path(struct opsagent_ctx *c, const char *path)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s", c->root, path) < 0)
                return NULL;
        return p;
}
static inline int fake_write_file(struct opsagent_ctx *c, const char *p, const void *d, size_t l, mode_t m,
                                  unsigned fl)
{
        return -ENOTSUP;
}
static inline int fake_spawn(struct opsagent_ctx *c, char *const argv[], unsigned t, struct opsagent_spawn_result *ret)
{
        int status;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        waitpid(pid, &status, 0);
        memset(ret, 0, sizeof(*ret));
        ret->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return 0;
}
/* As the agent's: -EPERM when the origin is not trusted (spawn_refuse); records what it was
 * asked (the user is not switched here: the agent's own tests do that). */
static inline int fake_spawn_command(struct opsagent_ctx *c, char *const argv[], const struct opsagent_command *cmd,
                                     struct opsagent_spawn_result *ret)
{
        struct fake *f = fake_of(c);
        snprintf(f->spawn_attr, sizeof(f->spawn_attr), "%s", cmd->attr ? cmd->attr : "(none)");
        f->spawn_as_user = cmd->as_user;
        f->spawn_uid = cmd->uid;
        if (f->spawn_refuse) {
                snprintf(f->said + strlen(f->said), sizeof(f->said) - strlen(f->said),
                         "error: %s comes from an untrusted file\n", f->spawn_attr);
                return -EPERM;
        }
        return fake_spawn(c, argv, cmd->timeout_seconds, ret);
}
static inline int fake_kill_unit(struct opsagent_ctx *c, const char *unit, int signo)
{
        struct fake *f = fake_of(c);
        snprintf(f->killed_unit, sizeof(f->killed_unit), "%s", unit);
        f->killed_signo = signo;
        if (f->on_kill_touch)
                close(open(f->on_kill_touch, O_WRONLY | O_CREAT, 0644));
        return 0;
}
static inline int fake_units(struct opsagent_ctx *c, enum opsagent_unit_action a, const char *const *u)
{
        return -ENOTSUP;
}
static inline uint32_t fake_time_left(struct opsagent_ctx *c) { return UINT32_MAX; }

static const struct opsagent_ctx_ops fake_ops = {
        .size = sizeof(struct opsagent_ctx_ops), .attr = fake_attr, .attr_abs = fake_attr_abs, .fact = fake_fact,
        .logv = fake_logv, .sayv = fake_sayv, .failv = fake_failv, .metric = fake_metric, .path = fake_path,
        .write_file = fake_write_file, .spawn = fake_spawn, .systemd_kill_unit = fake_kill_unit,
        .systemd_units = fake_units, .time_left = fake_time_left, .spawn_command = fake_spawn_command,
};

/* A context rooted at DIR/root with its state in DIR/state (both created). */
static inline struct fake *fake_new(const char *dir, const char *attrs_json)
{
        struct fake *f = calloc(1, sizeof(*f));
        if (!f)
                abort();
        snprintf(f->root, sizeof(f->root), "%s/root", dir);
        snprintf(f->state_dir, sizeof(f->state_dir), "%s/state", dir);
        mkdir(f->root, 0755);
        mkdir(f->state_dir, 0700);
        f->ctx = (struct opsagent_ctx){ .size = sizeof(struct opsagent_ctx), .recipe = "logrotate",
                                        .run_id = "test", .root = f->root, .state_dir = f->state_dir,
                                        .ops = &fake_ops, .core = f };
        f->attrs = attrs_json ? json_tokener_parse(attrs_json) : json_object_new_object();
        if (!f->attrs)
                abort();
        return f;
}

static inline void fake_free(struct fake *f)
{
        if (!f)
                return;
        json_object_put(f->attrs);
        free(f->on_kill_touch);
        free(f);
}

#endif
