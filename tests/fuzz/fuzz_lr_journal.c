/* Fuzz target: logrotate's journal.json and what the next run does with it
 * (recipes/logrotate/lr_state.c lr_journal_read(), lr_recover.c lr_recover()): finish or undo
 * the step a killed run left. The input is the journal and, after FUZZ_SEP, the files of the
 * log directory, one "PATH [SIZE]" a line (PATH under the root, SIZE bytes of one repeated
 * line, default 100). The sets the journal may name are fixed: "app" (reopen through the
 * unit fuzz.service), "cr" (create) and "ct" (copytruncate).
 *
 * lr_recover() renames and removes the files the journal names, so the target keeps it inside
 * its scratch directory: every string of the journal that is an absolute path is put under
 * the scratch root, a journal with ".." anywhere is not recovered from, and the recovery runs
 * in the scratch directory, so that a relative path lands there too. The context's commands
 * and systemd calls do nothing. A recovery that succeeds must leave no journal behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "lr_config.h"
#include "lr_names.h"
#include "lr_recover.h"
#include "lr_rotate.h"
#include "lr_state.h"

#define NOW 1800000000
#define FILES_MAX 32
#define FILE_MAX 65536

static const char *const set_json[] = {
        "{\"paths\": [\"/var/log/app/*.log\"], \"method\": \"reopen\", \"compress\": \"zstd\","
        " \"reopen\": {\"unit\": \"fuzz.service\", \"timeout\": 1, \"settle_ms\": 10}}",
        "{\"paths\": [\"/var/log/cr/*.log\"], \"method\": \"create\", \"compress\": \"gzip\"}",
        "{\"paths\": [\"/var/log/ct/*.log\"], \"method\": \"copytruncate\", \"compress\": \"none\"}",
};
static const char *const set_name[] = { "app", "cr", "ct" };
static struct lr_set *sets[3];
static char root[4096], state_dir[4096];

/* ---- a context whose outside world does nothing ---- */

static json_object *f_attr(struct opsagent_ctx *c, const char *path) { return NULL; }
static const char *f_fact(struct opsagent_ctx *c, const char *name) { return NULL; }
static void f_logv(struct opsagent_ctx *c, int level, const char *fmt, va_list ap)
{
        char line[1024];

        vsnprintf(line, sizeof(line), fmt, ap);
}
static void f_sayv(struct opsagent_ctx *c, const char *fmt, va_list ap)
{
        f_logv(c, 0, fmt, ap);
}
static int f_failv(struct opsagent_ctx *c, int error, const char *fmt, va_list ap)
{
        f_logv(c, 0, fmt, ap);
        return error;
}
static int f_metric(struct opsagent_ctx *c, const char *name, double v, const char *unit) { return 0; }
static char *f_path(struct opsagent_ctx *c, const char *path)
{
        char *p = NULL;

        return asprintf(&p, "%s%s", c->root, path) < 0 ? NULL : p;
}
static int f_write_file(struct opsagent_ctx *c, const char *p, const void *d, size_t l, mode_t m, unsigned fl)
{
        return -ENOTSUP;
}
static int f_spawn(struct opsagent_ctx *c, char *const argv[], unsigned t, struct opsagent_spawn_result *ret)
{
        return -ENOSYS;
}
static int f_kill_unit(struct opsagent_ctx *c, const char *unit, int signo) { return 0; }
static int f_units(struct opsagent_ctx *c, enum opsagent_unit_action a, const char *const *u) { return -ENOTSUP; }
static uint32_t f_time_left(struct opsagent_ctx *c) { return UINT32_MAX; }

static const struct opsagent_ctx_ops ops = {
        .size = sizeof(struct opsagent_ctx_ops), .attr = f_attr, .attr_abs = f_attr, .fact = f_fact,
        .logv = f_logv, .sayv = f_sayv, .failv = f_failv,
        .metric = f_metric, .path = f_path, .write_file = f_write_file, .spawn = f_spawn,
        .systemd_kill_unit = f_kill_unit, .systemd_units = f_units, .time_left = f_time_left,
};

static void init_once(void)
{
        if (sets[0])
                return;
        for (size_t i = 0; i < 3; i++) {
                json_object *o = json_tokener_parse(set_json[i]);
                char *why = NULL;

                if (!o || lr_set_parse(set_name[i], o, &sets[i], &why) < 0) {
                        fprintf(stderr, "fuzz_lr_journal: set %s: %s\n", set_name[i], why ? why : "?");
                        abort();
                }
                json_object_put(o);
        }
        snprintf(root, sizeof(root), "%s/root", fuzz_scratch());
        snprintf(state_dir, sizeof(state_dir), "%s/state", fuzz_scratch());
}

/* Puts every absolute path of O under the root; false when a string holds "..". */
static bool confine(json_object *o)
{
        if (json_object_is_type(o, json_type_string)) {
                const char *s = json_object_get_string(o);
                char *p = NULL;

                if (strstr(s, ".."))
                        return false;
                if (s[0] != '/')
                        return true;
                if (asprintf(&p, "%s%s", root, s) < 0)
                        abort();
                json_object_set_string(o, p);
                free(p);
                return true;
        }
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, k, v) {
                        if (strstr(k, "..") || !confine(v))
                                return false;
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        if (!confine(json_object_array_get_idx(o, i)))
                                return false;
        }
        return true;
}

/* Writes SCRATCH/REL and the directories above it, as far as it can (a path may run into a
 * file the list made before). */
static void try_write(const char *rel, const char *data, size_t len)
{
        char path[8192];
        int fd;

        snprintf(path, sizeof(path), "%s%s", fuzz_scratch(), rel);
        for (char *p = path + strlen(fuzz_scratch()) + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                (void)mkdir(path, 0755);
                *p = '/';
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        ssize_t k = write(fd, data, len);

        (void)k;
        close(fd);
}

static void make_files(char *list)
{
        static char block[FILE_MAX];
        size_t n = 0;

        if (!block[0])
                for (size_t i = 0; i < sizeof(block); i++)
                        block[i] = "a line of the log\n"[i % 18];
        for (char *save = NULL, *l = strtok_r(list, "\n", &save); l && n < FILES_MAX; l = strtok_r(NULL, "\n", &save)) {
                char rel[4200], *sp = strchr(l, ' ');
                size_t size = 100;

                if (sp) {
                        *sp = '\0';
                        size = strtoul(sp + 1, NULL, 10);
                        if (size > FILE_MAX)
                                size = FILE_MAX;
                }
                if (l[0] != '/' || l[1] == '\0' || strstr(l, "..") || l[strlen(l) - 1] == '/' || strlen(l) > 200)
                        continue;
                snprintf(rel, sizeof(rel), "/root%s", l);
                try_write(rel, block, size);
                n++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct opsagent_ctx ctx;
        struct lr_run run;
        struct lr_state *st = NULL;
        json_object *j;
        char *part[2], *warning = NULL;
        const char *text;
        int r, cwd;

        init_once();
        fuzz_split(data, size, part, 2);
        fuzz_scratch_reset();
        fuzz_mkdirs("/state");
        fuzz_mkdirs("/root/var/log/app");
        fuzz_mkdirs("/root/var/log/cr");
        fuzz_mkdirs("/root/var/log/ct");
        make_files(part[1]);
        j = json_tokener_parse(part[0]);
        if (j && !confine(j))
                goto out;       /* could reach out of the scratch directory: not run */
        text = j ? json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN) : part[0];
        fuzz_write("/state/journal.json", text, strlen(text));
        if (lr_state_load(state_dir, &st, &warning) < 0)
                abort();
        ctx = (struct opsagent_ctx){ .size = sizeof(ctx), .recipe = "logrotate", .run_id = "fuzz", .root = root,
                                     .state_dir = state_dir, .ops = &ops };
        run = (struct lr_run){ .ctx = &ctx, .state = st, .state_dir = state_dir, .root = root, .now = NOW,
                               .sets = sets, .n_sets = 3, .root_fd = -1 };
        /* what logrotate.c sets up around lr_recover(), and takes down after it */
        if (lr_dircache_new(&run.dirs) < 0)
                abort();
        run.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (run.root_fd < 0)
                abort();
        /* In the scratch directory while it runs, so that a relative path lands there. */
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || chdir(fuzz_scratch()) < 0)
                abort();
        r = lr_recover(&run);
        (void)lr_flush_dirty(&run);
        lr_journal_close();
        close(run.root_fd);
        lr_dircache_free(run.dirs);
        if (fchdir(cwd) < 0)
                abort();
        close(cwd);
        if (r >= 0 && access(fuzz_path("/state/journal.json"), F_OK) == 0)
                abort();        /* recovered, yet the journal is still there for the next run */
out:
        lr_state_free(st);
        free(warning);
        json_object_put(j);
        fuzz_parts_free(part, 2);
        return 0;
}
