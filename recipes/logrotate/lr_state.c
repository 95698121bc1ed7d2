/* logrotate recipe: state file and journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_state.h"
#include "util/fileio.h"

struct lr_state {
        char *path;
        char *log_path;      /* status.log */
        int log_fd;          /* status.log opened for appending, or -1 until the first change */
        json_object *logs;   /* { "/var/log/x.log": { "last_rotated": EPOCH }, ... } */
        bool dirty;          /* changed since loaded or saved */
};

/* Writes DATA to PATH atomically with MODE, through PATH LR_TMP_SUFFIX: a fixed name, so that a
 * temporary a killed write left is found and removed (remove_stale_tmp()). */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
        char *tmp = NULL;
        int r;

        if (asprintf(&tmp, "%s%s", path, LR_TMP_SUFFIX) < 0)
                return -ENOMEM;
        r = write_file_atomic_via(path, tmp, data, len, mode);
        free(tmp);
        return r;
}

/* A temporary left by a write that a kill -9 interrupted: the file it was to replace is still
 * whole, so the temporary is only removed. */
static void remove_stale_tmp(const char *path)
{
        char *tmp = NULL;

        if (asprintf(&tmp, "%s%s", path, LR_TMP_SUFFIX) < 0)
                return;
        (void)unlink(tmp);
        free(tmp);
}

static bool state_shape_ok(json_object *root)
{
        json_object *logs, *v;

        if (!json_object_is_type(root, json_type_object) ||
            !json_object_object_get_ex(root, "logs", &logs) ||
            !json_object_is_type(logs, json_type_object))
                return false;
        json_object_object_foreach(logs, key, entry) {
                (void)key;
                if (!json_object_is_type(entry, json_type_object) ||
                    !json_object_object_get_ex(entry, "last_rotated", &v) ||
                    !json_object_is_type(v, json_type_int))
                        return false;
        }
        return true;
}

/* Sets LOG's time in S's memory only. */
static int set_entry(struct lr_state *s, const char *log, time_t when)
{
        json_object *entry = json_object_new_object(), *v = json_object_new_int64((int64_t)when);

        if (!entry || !v || json_object_object_add(entry, "last_rotated", v) < 0) {
                json_object_put(v);
                json_object_put(entry);
                return -ENOMEM;
        }
        if (json_object_object_add(s->logs, log, entry) < 0) {
                json_object_put(entry);
                return -ENOMEM;
        }
        s->dirty = true;
        return 0;
}

/* Replays status.log over S: one {"log": L, "last_rotated": T} per line; a line that is not
 * one (torn by a kill, or garbage) is skipped. *ret_warning when the file is over the bound
 * (it is removed then). */
static int replay_log(struct lr_state *s, char **ret_warning)
{
        char *text = NULL, *line, *save = NULL;
        int r;

        r = read_file_capped(s->log_path, LR_STATE_MAX_BYTES, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r == -EFBIG) {
                (void)unlink(s->log_path);
                if (asprintf(ret_warning, "%s is larger than %d bytes: removed it; the logs rotated since the "
                             "last save of %s may be rotated again", s->log_path, LR_STATE_MAX_BYTES, s->path) < 0)
                        *ret_warning = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_object *o = json_tokener_parse(line), *l, *t;
                if (o && json_object_object_get_ex(o, "log", &l) && json_object_is_type(l, json_type_string) &&
                    json_object_object_get_ex(o, "last_rotated", &t) && json_object_is_type(t, json_type_int))
                        r = set_entry(s, json_object_get_string(l), (time_t)json_object_get_int64(t));
                json_object_put(o);
                if (r < 0)
                        break;
        }
        free(text);
        return r;
}

int lr_state_load(const char *dir, struct lr_state **ret, char **ret_warning)
{
        struct lr_state *s;
        char *text = NULL, *aside = NULL, *warning = NULL, *log_warning = NULL;
        json_object *root = NULL, *logs;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->log_fd = -1;
        if (asprintf(&s->path, "%s/%s", dir, LR_STATE_FILE) < 0) {
                s->path = NULL;
                r = -ENOMEM;
                goto out;
        }
        if (asprintf(&s->log_path, "%s/%s", dir, LR_STATE_LOG_FILE) < 0) {
                s->log_path = NULL;
                r = -ENOMEM;
                goto out;
        }
        remove_stale_tmp(s->path);
        r = read_file_capped(s->path, LR_STATE_MAX_BYTES, &text, NULL);
        if (r == 0) {
                root = json_tokener_parse(text);
                if (root && state_shape_ok(root)) {
                        json_object_object_get_ex(root, "logs", &logs);
                        s->logs = json_object_get(logs);
                }
        }
        if (r < 0 && r != -ENOENT && r != -EFBIG)
                goto out;
        if (r == -EFBIG || (r == 0 && !s->logs)) {
                if (asprintf(&aside, "%s.corrupt-%" PRId64, s->path, (int64_t)time(NULL)) < 0) {
                        aside = NULL;
                        r = -ENOMEM;
                        goto out;
                }
                if (rename(s->path, aside) < 0) {
                        r = -errno;
                        goto out;
                }
                if (asprintf(&warning, "%s is corrupt (%s); moved it to %s and started a new one: "
                             "logs are rotated as if seen for the first time",
                             s->path, r == -EFBIG ? "too large" : "not the expected JSON", aside) < 0)
                        warning = NULL;
        }
        if (!s->logs) {
                s->logs = json_object_new_object();
                if (!s->logs) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        r = replay_log(s, &log_warning);
        if (r < 0)
                goto out;
        if (!warning) {         /* a warning of both: keep the first */
                warning = log_warning;
                log_warning = NULL;
        }
        *ret = s;
        s = NULL;
        if (ret_warning)
                *ret_warning = warning;
        else
                free(warning);
        warning = NULL;
        r = 0;
out:
        free(log_warning);
        free(warning);
        free(aside);
        json_object_put(root);
        free(text);
        lr_state_free(s);
        return r;
}

int lr_state_get(struct lr_state *s, const char *log, time_t *ret)
{
        json_object *entry, *v;

        if (!json_object_object_get_ex(s->logs, log, &entry) ||
            !json_object_object_get_ex(entry, "last_rotated", &v))
                return -ENOENT;
        *ret = (time_t)json_object_get_int64(v);
        return 0;
}

int lr_state_set(struct lr_state *s, const char *log, time_t when)
{
        json_object *line = NULL;
        const char *text;
        char *buf = NULL;
        size_t len;
        ssize_t k;
        int r;

        r = set_entry(s, log, when);
        if (r < 0)
                return r;
        if (s->log_fd < 0) {
                s->log_fd = open(s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (s->log_fd < 0)
                        return -errno;
        }
        line = json_object_new_object();
        if (!line || json_object_object_add(line, "log", json_object_new_string(log)) < 0 ||
            json_object_object_add(line, "last_rotated", json_object_new_int64((int64_t)when)) < 0) {
                r = -ENOMEM;
                goto out;
        }
        text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
                r = -ENOMEM;
                goto out;
        }
        /* one write(2) per line: a kill leaves whole lines, and at worst a torn last one */
        len = strlen(text);
        buf = malloc(len + 1);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(buf, text, len);
        buf[len] = '\n';
        do
                k = write(s->log_fd, buf, len + 1);
        while (k < 0 && errno == EINTR);
        r = k < 0 ? -errno : (size_t)k != len + 1 ? -EIO : 0;
out:
        free(buf);
        json_object_put(line);
        return r;
}

int lr_state_prepare(struct lr_state *s)
{
        if (s->log_fd < 0)
                s->log_fd = open(s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        return s->log_fd < 0 ? -errno : 0;
}

bool lr_state_dirty(const struct lr_state *s)
{
        return s->dirty;
}

int lr_state_save(struct lr_state *s)
{
        json_object *root = json_object_new_object();
        const char *text;
        int r;

        if (!root)
                return -ENOMEM;
        if (json_object_object_add(root, "version", json_object_new_int(1)) < 0 ||
            json_object_object_add(root, "logs", json_object_get(s->logs)) < 0) {
                r = -ENOMEM;
                goto out;
        }
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text) {
                r = -ENOMEM;
                goto out;
        }
        r = write_atomic(s->path, text, strlen(text), 0644);
        if (r < 0)
                goto out;
        s->dirty = false;
        /* the changes are in status.json now; if this fails, replaying them again is harmless */
        if (s->log_fd >= 0)
                (void)ftruncate(s->log_fd, 0);
        else
                (void)truncate(s->log_path, 0);
out:
        json_object_put(root);
        return r;
}

void lr_state_free(struct lr_state *s)
{
        if (!s)
                return;
        json_object_put(s->logs);
        if (s->log_fd >= 0)
                close(s->log_fd);
        free(s->log_path);
        free(s->path);
        free(s);
}

static char *journal_path(const char *dir)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, LR_JOURNAL_FILE) < 0)
                return NULL;
        return p;
}

/* The journal kept open for appending: a rotation that runs as another user (a child that
 * dropped root, lr_trust.h) appends through it, the state directory being root's. */
static char *jopen_path;
static int jopen_fd = -1;

static void journal_forget(void)
{
        if (jopen_fd >= 0)
                close(jopen_fd);
        jopen_fd = -1;
        free(jopen_path);
        jopen_path = NULL;
}

/* The journal DIR/journal.json open for appending (created, and its directory fsynced, when
 * missing), kept for the next writes. */
static int journal_fd(const char *path)
{
        bool created = false;
        int fd, r;

        if (jopen_fd >= 0 && strcmp(jopen_path, path) == 0)
                return jopen_fd;
        fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                created = true;
        }
        if (fd < 0)
                return -errno;
        if (created) {
                r = fsync_parent_dir(path);
                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        journal_forget();
        jopen_path = strdup(path);
        if (!jopen_path) {
                close(fd);
                return -ENOMEM;
        }
        jopen_fd = fd;
        return fd;
}

int lr_journal_prepare(const char *dir)
{
        char *path = journal_path(dir);
        int r;

        if (!path)
                return -ENOMEM;
        r = journal_fd(path);
        free(path);
        return r < 0 ? r : 0;
}

void lr_journal_close(void)
{
        journal_forget();
}

int lr_journal_write(const char *dir, json_object *step)
{
        char *path = journal_path(dir), *line = NULL;
        const char *text;
        struct stat st;
        ssize_t k;
        size_t len;
        int fd = -1, r;

        if (!path)
                return -ENOMEM;
        text = json_object_to_json_string_ext(step, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text || asprintf(&line, "%s\n", text) < 0) {
                line = NULL;
                r = -ENOMEM;
                goto out;
        }
        len = strlen(line);
        if (len > LR_JOURNAL_LINE_MAX) {
                r = -E2BIG;
                goto out;
        }
        fd = journal_fd(path);
        if (fd < 0) {
                r = fd;
                goto out;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        /* only the last line counts: start again rather than grow for ever (a truncation that a
         * power cut undoes leaves older lines before the new one, which changes nothing) */
        if (st.st_size > LR_JOURNAL_COMPACT_BYTES && ftruncate(fd, 0) < 0) {
                r = -errno;
                goto out;
        }
        do
                k = write(fd, line, len);
        while (k < 0 && errno == EINTR);
        if (k < 0 || (size_t)k != len) {
                r = k < 0 ? -errno : -ENOSPC;
                /* a part of a line is no entry, but the next one must start on its own line */
                if (k > 0)
                        (void)ftruncate(fd, st.st_size > LR_JOURNAL_COMPACT_BYTES ? 0 : st.st_size);
                goto out;
        }
        r = fdatasync(fd) < 0 ? -errno : 0;
out:
        free(line);
        free(path);
        return r;
}

int lr_journal_read(const char *dir, json_object **ret)
{
        char *path = journal_path(dir), *text = NULL, *end;
        json_object *obj = NULL;
        size_t len = 0;
        int r;

        if (!path)
                return -ENOMEM;
        remove_stale_tmp(path);         /* versions before 1.1 wrote the journal through one */
        r = read_file_capped(path, LR_JOURNAL_MAX_BYTES, &text, &len);
        if (jopen_path && strcmp(jopen_path, path) == 0)
                journal_forget();       /* read it as it is on disk; the next write opens it again */
        if (r == -EFBIG) {
                (void)unlink(path);
                r = -EBADMSG;
        }
        if (r < 0)
                goto out;
        /* The entry in flight is the last whole line that is an object (a kill may have torn the
         * line after it, which was then not acted on); a file of one object without a newline is
         * a journal of an older version. */
        end = text + len;
        while (end > text && !obj) {
                char *start = end;
                while (start > text && start[-1] != '\n')
                        start--;
                if (*end == '\n' || end == text + len) {
                        char save = *end;
                        *end = '\0';
                        obj = json_tokener_parse(start);
                        *end = save;
                        if (obj && !json_object_is_type(obj, json_type_object)) {
                                json_object_put(obj);
                                obj = NULL;
                        }
                }
                end = start > text ? start - 1 : text;
        }
        if (!obj) {
                (void)unlink(path);
                r = len == 0 ? -ENOENT : -EBADMSG;
                goto out;
        }
        *ret = obj;
        obj = NULL;
        r = 0;
out:
        json_object_put(obj);
        free(text);
        free(path);
        return r;
}

int lr_journal_clear(const char *dir)
{
        char *path = journal_path(dir);
        int r = 0;

        if (!path)
                return -ENOMEM;
        if (jopen_path && strcmp(jopen_path, path) == 0)
                journal_forget();
        if (unlink(path) < 0 && errno != ENOENT)
                r = -errno;
        else
                r = fsync_parent_dir(path);
        free(path);
        return r;
}
