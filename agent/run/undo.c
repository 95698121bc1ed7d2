#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "undo.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/pathres.h"

#define UNDO_LOCK "lock"
#define UNDO_SAVED_DIR "saved"
#define UNDO_CHANGES_BYTES_MAX (4u << 20)

/* STATE_DIR/undo/NAME (NAME NULL: the directory). Caller frees; NULL on ENOMEM. */
static char *undo_path(const char *state_dir, const char *name)
{
        char *dir = path_join(state_dir, UNDO_SUBDIR), *p;

        if (!dir || !name)
                return dir;
        p = path_join(dir, name);
        free(dir);
        return p;
}

static bool recordable(const char *name)
{
        return name && *name && !strpbrk(name, "\t\n");
}

/* Takes the record's lock (creating the directory 0700): the fd, or negative errno. */
static int lock_record(const char *state_dir, struct error *err)
{
        char *dir = undo_path(state_dir, NULL), *lock = undo_path(state_dir, UNDO_LOCK);
        int fd = -ENOMEM, r;

        if (!dir || !lock) {
                error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                fd = error_set(err, r, "%s: cannot create it: %s", dir, strerror(-r));
                goto out;
        }
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                fd = error_set(err, -errno, "%s: cannot open it: %s", lock, strerror(errno));
                goto out;
        }
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        r = error_set(err, -errno, "%s: cannot lock it: %s", lock, strerror(errno));
                        close(fd);
                        fd = r;
                        goto out;
                }
out:
        free(dir);
        free(lock);
        return fd;
}

static void unlock_record(int fd)
{
        if (fd >= 0)
                close(fd);
}

/* Parses one line of the record into *c (strings owned by *c); false when it is none. */
static bool parse_line(char *line, struct undo_change *c)
{
        char *f[6] = { 0 }, *save = NULL, *tok;
        size_t n = 0;

        for (tok = strtok_r(line, "\t", &save); tok && n < 6; tok = strtok_r(NULL, "\t", &save))
                f[n++] = tok;
        memset(c, 0, sizeof(*c));
        if (n >= 3 && strcmp(f[0], "unit") == 0)
                c->kind = UNDO_UNIT;
        else if (n >= 3 && strcmp(f[0], "file") == 0 && f[1][0] == '/' &&
                 (strcmp(f[2], "-") == 0 || n == 6))
                c->kind = UNDO_FILE;
        else
                return false;
        if (c->kind == UNDO_FILE && strcmp(f[2], "-") != 0) {
                char *e1, *e2, *e3;

                c->mode = (unsigned)strtoul(f[3], &e1, 8);
                c->uid = (uid_t)strtoul(f[4], &e2, 10);
                c->gid = (gid_t)strtoul(f[5], &e3, 10);
                if (*e1 || *e2 || *e3 || strncmp(f[2], UNDO_SAVED_DIR "/", strlen(UNDO_SAVED_DIR) + 1) != 0 ||
                    strstr(f[2], ".."))
                        return false;
        }
        c->name = strdup(f[1]);
        c->saved = c->kind == UNDO_FILE && strcmp(f[2], "-") == 0 ? NULL : strdup(f[2]);
        if (!c->name || (!c->saved && !(c->kind == UNDO_FILE && strcmp(f[2], "-") == 0))) {
                free(c->name);
                free(c->saved);
                memset(c, 0, sizeof(*c));
                return false;
        }
        return true;
}

void undo_changes_free(struct undo_change *c, size_t n)
{
        for (size_t i = 0; c && i < n; i++) {
                free(c[i].name);
                free(c[i].saved);
        }
        free(c);
}

/* Reads the record (the caller holds the lock, or only reads). */
static int read_changes(const char *state_dir, struct undo_change **ret, size_t *ret_n, struct error *err)
{
        struct undo_change *v = NULL;
        char *path = undo_path(state_dir, UNDO_CHANGES), *text = NULL, *line, *save = NULL;
        size_t n = 0;
        int r;

        if (!path)
                return error_set(err, -ENOMEM, "out of memory");
        r = read_file_capped(path, UNDO_CHANGES_BYTES_MAX, &text, NULL);
        if (r == -ENOENT) {
                r = 0;
                goto done;
        }
        if (r < 0) {
                error_set(err, r, "%s: cannot read it: %s", path, strerror(-r));
                goto out;
        }
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct undo_change c, *p;

                if (!parse_line(line, &c))
                        continue;
                if (n >= UNDO_CHANGES_MAX) {
                        free(c.name);
                        free(c.saved);
                        break;
                }
                p = reallocarray(v, n + 1, sizeof(*v));
                if (!p) {
                        free(c.name);
                        free(c.saved);
                        r = error_set(err, -ENOMEM, "out of memory");
                        goto out;
                }
                v = p;
                v[n++] = c;
        }
done:
        *ret = v;
        *ret_n = n;
        v = NULL;
        n = 0;
out:
        undo_changes_free(v, n);
        free(text);
        free(path);
        return r;
}

int undo_read(const char *state_dir, struct undo_change **ret, size_t *ret_n, struct error *err)
{
        return read_changes(state_dir, ret, ret_n, err);
}

/* The record's text for C[0..N). */
static int format_changes(const struct undo_change *c, size_t n, struct buf *b)
{
        for (size_t i = 0; i < n; i++) {
                int r;

                if (c[i].kind == UNDO_UNIT)
                        r = buf_printf(b, "unit\t%s\t%s\n", c[i].name, c[i].saved);
                else if (!c[i].saved)
                        r = buf_printf(b, "file\t%s\t-\n", c[i].name);
                else
                        r = buf_printf(b, "file\t%s\t%s\t%04o\t%lu\t%lu\n", c[i].name, c[i].saved, c[i].mode,
                                       (unsigned long)c[i].uid, (unsigned long)c[i].gid);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int write_changes(const char *state_dir, const struct undo_change *c, size_t n, struct error *err)
{
        struct buf b = BUF_INIT(UNDO_CHANGES_BYTES_MAX);
        char *path = undo_path(state_dir, UNDO_CHANGES);
        int r;

        if (!path)
                return error_set(err, -ENOMEM, "out of memory");
        r = format_changes(c, n, &b);
        if (r < 0) {
                error_set(err, r, "%s: the record of changes is too large", path);
                goto out;
        }
        r = write_file_atomic(path, buf_len(&b) ? buf_str(&b) : "", buf_len(&b), 0600);
        if (r < 0)
                error_set(err, r, "%s: cannot write it: %s", path, strerror(-r));
out:
        buf_free(&b);
        free(path);
        return r;
}

static bool recorded(const struct undo_change *c, size_t n, enum undo_kind kind, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (c[i].kind == kind && strcmp(c[i].name, name) == 0)
                        return true;
        return false;
}

/* Appends NEW to the record (under its lock) unless a change of its name is there already: 0,
 * 1 when it was there, negative errno. */
static int append(const char *state_dir, struct undo_change *new, struct error *err)
{
        struct undo_change *c = NULL, *p;
        size_t n = 0;
        int fd, r;

        fd = lock_record(state_dir, err);
        if (fd < 0)
                return fd;
        r = read_changes(state_dir, &c, &n, err);
        if (r < 0)
                goto out;
        if (recorded(c, n, new->kind, new->name)) {
                r = 1;                    /* another run recorded it meanwhile */
                goto out;
        }
        if (n >= UNDO_CHANGES_MAX) {
                r = error_set(err, -E2BIG, "more than %u changes recorded for undo; refusing more", UNDO_CHANGES_MAX);
                goto out;
        }
        p = reallocarray(c, n + 1, sizeof(*c));
        if (!p) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        c = p;
        c[n++] = *new;
        r = write_changes(state_dir, c, n, err);
        n--;                              /* NEW stays the caller's */
out:
        undo_changes_free(c, n);
        unlock_record(fd);
        return r;
}

/* The root the changed files are beneath (ROOT, or "/" when ROOT is "" or NULL), as an O_PATH
 * descriptor: each of them is then resolved beneath it without following a link (pathres.h),
 * never as a path string a link in the system could redirect. A descriptor or -errno. */
static int open_root(const char *root, struct error *err)
{
        const char *dir = root && *root ? root : "/";
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        return fd >= 0 ? fd : error_set(err, -errno, "%s: cannot open it: %s", dir, strerror(errno));
}

/* Saves the content of NAME beneath ROOT_FD (FULL in messages) into a new
 * STATE_DIR/undo/saved/N; its name into *ret. Under the record's lock (taken here for the
 * number). */
static int save_content(const char *state_dir, int root_fd, const char *name, const char *full, char **ret,
                        struct error *err)
{
        char *text = NULL, *dir = undo_path(state_dir, UNDO_SAVED_DIR), *rel = NULL, *path = NULL;
        size_t len = 0;
        int r, fd = -1;

        if (!dir)
                return error_set(err, -ENOMEM, "out of memory");
        r = pathres_read_capped(root_fd, name, UNDO_SAVED_MAX, &text, &len, 0);
        if (r < 0) {
                error_set(err, r, "%s: cannot keep its content for undo: %s", full,
                          r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
                goto out;
        }
        r = mkdir_p(dir, 0700);
        if (r < 0) {
                error_set(err, r, "%s: cannot create it: %s", dir, strerror(-r));
                goto out;
        }
        /* The first free number: O_EXCL makes it ours. */
        for (unsigned i = 1; i <= UNDO_CHANGES_MAX; i++) {
                free(rel);
                free(path);
                path = NULL;
                if (asprintf(&rel, UNDO_SAVED_DIR "/%u", i) < 0) {
                        rel = NULL;
                        break;
                }
                path = undo_path(state_dir, rel);
                if (!path)
                        break;
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (fd >= 0 || errno != EEXIST)
                        break;
        }
        if (!rel || !path) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        if (fd < 0) {
                r = error_set(err, -errno, "%s: cannot create it: %s", path, strerror(errno));
                goto out;
        }
        for (size_t off = 0; off < len;) {
                ssize_t k = write(fd, text + off, len - off);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = error_set(err, k < 0 ? -errno : -EIO, "%s: cannot write it: %s", path,
                                      strerror(k < 0 ? errno : EIO));
                        unlink(path);
                        goto out;
                }
                off += (size_t)k;
        }
        if (fsync(fd) < 0) {
                r = error_set(err, -errno, "%s: cannot write it: %s", path, strerror(errno));
                unlink(path);
                goto out;
        }
        *ret = rel;
        rel = NULL;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        free(text);
        free(rel);
        free(path);
        free(dir);
        return r;
}

/* FULL without ROOT, or NULL when it is not under ROOT. */
static const char *strip_root(const char *root, const char *full)
{
        size_t n = root ? strlen(root) : 0;

        if (n == 0)
                return full;
        if (strncmp(full, root, n) != 0 || full[n] != '/')
                return NULL;
        return full + n;
}

static bool under(const char *dir, const char *path)
{
        size_t n = strlen(dir);

        while (n > 1 && dir[n - 1] == '/')
                n--;
        return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int undo_note_file(const char *state_dir, const char *root, const char *full_path, struct error *err)
{
        struct undo_change c = { .kind = UNDO_FILE };
        struct undo_change *have = NULL;
        size_t n_have = 0;
        const char *name;
        struct stat st;
        int r, root_fd = -1;

        if (under(state_dir, full_path))
                return 0;                          /* opsagent's own */
        name = strip_root(root, full_path);
        if (!name)
                return error_set(err, -EXDEV, "%s is outside the root prefix %s: its change cannot be recorded for "
                                 "undo", full_path, root);
        if (!recordable(name))
                return error_set(err, -EINVAL, "%s: a name holding a tab or a newline cannot be recorded for undo",
                                 full_path);
        /* Cheap check first (no lock): most changes are of files recorded already. */
        r = read_changes(state_dir, &have, &n_have, err);
        if (r < 0)
                return r;
        r = recorded(have, n_have, UNDO_FILE, name);
        undo_changes_free(have, n_have);
        if (r)
                return 0;
        root_fd = open_root(root, err);
        if (root_fd < 0)
                return root_fd;
        r = pathres_stat(root_fd, name, &st, 0);
        if (r == 0) {
                if (!S_ISREG(st.st_mode)) {
                        r = error_set(err, -EINVAL, "%s is not a regular file: its change cannot be recorded for undo",
                                      full_path);
                        goto out;
                }
                r = save_content(state_dir, root_fd, name, full_path, &c.saved, err);
                if (r < 0)
                        goto out;
                c.mode = st.st_mode & 07777;
                c.uid = st.st_uid;
                c.gid = st.st_gid;
        } else if (r != -ENOENT) {
                error_set(err, r, "%s: cannot look at it: %s%s", full_path, strerror(-r),
                          r == -ELOOP ? " (a symbolic link on the way: opsagent changes no file through a link)" : "");
                goto out;
        }
        c.name = strdup(name);
        if (!c.name) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = append(state_dir, &c, err);
        if (r != 0 && c.saved) {
                char *p = undo_path(state_dir, c.saved);

                if (p)
                        unlink(p);
                free(p);
        }
out:
        if (root_fd >= 0)
                close(root_fd);
        free(c.name);
        free(c.saved);
        return r < 0 ? r : 0;
}

int undo_note_unit(const char *state_dir, const char *unit, const char *state, struct error *err)
{
        struct undo_change c = { .kind = UNDO_UNIT };
        int r;

        if (strcmp(state, "enabled") != 0 && strcmp(state, "disabled") != 0)
                return 0;                          /* static, masked, ...: opsagent changes none of them */
        if (!recordable(unit))
                return error_set(err, -EINVAL, "unit name %s cannot be recorded for undo", unit);
        c.name = strdup(unit);
        c.saved = strdup(state);
        if (!c.name || !c.saved)
                r = error_set(err, -ENOMEM, "out of memory");
        else
                r = append(state_dir, &c, err);
        free(c.name);
        free(c.saved);
        return r < 0 ? r : 0;
}

int undo_restore_file(const char *state_dir, const char *root, const struct undo_change *c, struct error *err)
{
        char *full = path_under_root(root, c->name), *saved = NULL, *text = NULL;
        size_t len = 0;
        int r, root_fd = -1;

        if (!full)
                return error_set(err, -ENOMEM, "out of memory");
        /* The record is root's (in the trusted state directory), but the directories on the way
         * to its paths may have changed since: resolved beneath the root, no link followed. */
        r = pathres_check(c->name, strlen(c->name), NULL);
        if (r < 0) {
                error_set(err, r, "%s: not a path opsagent changes (the undo record is damaged)", c->name);
                goto out;
        }
        r = root_fd = open_root(root, err);
        if (r < 0)
                goto out;
        if (!c->saved) {
                r = pathres_unlink(root_fd, c->name, 0, 0);
                if (r == -ENOENT)
                        r = 0;
                if (r < 0)
                        error_set(err, r, "%s: cannot remove it: %s", full, strerror(-r));
                goto out;
        }
        saved = undo_path(state_dir, c->saved);
        if (!saved) {
                r = error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        r = read_file_capped(saved, UNDO_SAVED_MAX, &text, &len);
        if (r < 0) {
                error_set(err, r, "%s: the saved content of %s cannot be read: %s", saved, full, strerror(-r));
                goto out;
        }
        r = pathres_write_atomic_owned(root_fd, c->name, text, len, c->mode, c->uid, c->gid, 0);
        if (r < 0)
                error_set(err, r, "%s: cannot put it back: %s%s", full, strerror(-r),
                          r == -ELOOP ? " (a symbolic link on the way: opsagent writes through none)" : "");
out:
        if (root_fd >= 0)
                close(root_fd);
        free(text);
        free(saved);
        free(full);
        return r;
}

int undo_rewrite(const char *state_dir, const struct undo_change *c, size_t n, struct error *err)
{
        struct undo_change *old = NULL;
        size_t n_old = 0;
        int fd, r;

        fd = lock_record(state_dir, err);
        if (fd < 0)
                return fd;
        r = read_changes(state_dir, &old, &n_old, err);
        if (r < 0)
                goto out;
        /* Saved contents no change refers to any more go. */
        for (size_t i = 0; i < n_old; i++) {
                bool kept = false;
                char *p;

                if (old[i].kind != UNDO_FILE || !old[i].saved)
                        continue;
                for (size_t j = 0; j < n && !kept; j++)
                        kept = c[j].kind == UNDO_FILE && c[j].saved && strcmp(c[j].saved, old[i].saved) == 0;
                p = kept ? NULL : undo_path(state_dir, old[i].saved);
                if (p)
                        unlink(p);
                free(p);
        }
        if (n > 0)
                r = write_changes(state_dir, c, n, err);
        else {
                char *changes = undo_path(state_dir, UNDO_CHANGES), *saved = undo_path(state_dir, UNDO_SAVED_DIR);

                if (changes && unlink(changes) < 0 && errno != ENOENT)
                        r = error_set(err, -errno, "%s: cannot remove it: %s", changes, strerror(errno));
                if (saved)
                        (void)rmdir(saved);
                free(changes);
                free(saved);
        }
out:
        undo_changes_free(old, n_old);
        unlock_record(fd);
        return r;
}
