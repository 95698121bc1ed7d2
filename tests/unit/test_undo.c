/* undo: what opsagent changed in files and units it does not own, recorded before the first
 * change in a form a shell reads, and put back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdir.h"
#include "run/undo.h"
#include "util/fileio.h"

struct fixture {
        char root[64];
        char state[128];   /* ROOT/var/lib/opsagent */
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f || !testdir_new(f->root, sizeof(f->root), "undo"))
                return -1;
        snprintf(f->state, sizeof(f->state), "%s/var/lib/opsagent", f->root);
        if (mkdir_p(f->state, 0700) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (testdir_remove(f->root) != 0)
                return -1;
        free(f);
        return 0;
}

static char *under(const struct fixture *f, const char *path)
{
        char *p = path_under_root(f->root, path);

        assert_non_null(p);
        return p;
}

static void put(const struct fixture *f, const char *path, const char *text, mode_t mode)
{
        char *p = under(f, path), *dir = strdup(p);

        assert_non_null(dir);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file_atomic(p, text, strlen(text), mode), 0);
        free(dir);
        free(p);
}

static char *slurp(const char *path)
{
        char *text = NULL;

        if (read_file_capped(path, 1 << 20, &text, NULL) < 0)
                return NULL;
        return text;
}

static char *record(const struct fixture *f)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/undo/changes", f->state);
        return slurp(path);
}

/* A file that existed: its content, mode and owner are kept once, before the first change,
 * and put back byte for byte. */
static void test_existing_file_is_saved_once_and_put_back(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        struct undo_change *c = NULL;
        char *p = under(f, "/etc/apt/apt.conf.d/20auto-upgrades"), *text, want[256], saved[256];
        struct stat st;
        size_t n = 0;

        put(f, "/etc/apt/apt.conf.d/20auto-upgrades", "APT::Periodic::Unattended-Upgrade \"1\";\n", 0640);
        assert_int_equal(undo_note_file(f->state, f->root, p, &err), 0);
        put(f, "/etc/apt/apt.conf.d/20auto-upgrades", "changed once\n", 0644);
        assert_int_equal(undo_note_file(f->state, f->root, p, &err), 0);   /* recorded: not again */
        put(f, "/etc/apt/apt.conf.d/20auto-upgrades", "changed twice\n", 0644);

        text = record(f);
        snprintf(want, sizeof(want), "file\t/etc/apt/apt.conf.d/20auto-upgrades\tsaved/1\t0640\t%lu\t%lu\n",
                 (unsigned long)getuid(), (unsigned long)getgid());
        assert_string_equal(text, want);
        free(text);
        snprintf(saved, sizeof(saved), "%s/undo/saved/1", f->state);
        assert_int_equal(stat(saved, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        assert_int_equal(undo_read(f->state, &c, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(undo_restore_file(f->state, f->root, &c[0], &err), 0);
        text = slurp(p);
        assert_string_equal(text, "APT::Periodic::Unattended-Upgrade \"1\";\n");
        free(text);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(undo_rewrite(f->state, NULL, 0, &err), 0);
        assert_null(record(f));
        assert_int_equal(access(saved, F_OK), -1);
        undo_changes_free(c, n);
        free(p);
}

/* A file opsagent created: undoing removes it. opsagent's own state is not recorded. */
static void test_created_file_is_removed_and_own_state_ignored(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        struct undo_change *c = NULL;
        char *p = under(f, "/etc/apt/apt.conf.d/90opsagent-unattended-upgrades");
        char *own = under(f, "/var/lib/opsagent/recipes/logrotate/status.json"), *text;
        size_t n = 0;

        assert_int_equal(undo_note_file(f->state, f->root, p, &err), 0);
        assert_int_equal(undo_note_file(f->state, f->root, own, &err), 0);
        text = record(f);
        assert_string_equal(text, "file\t/etc/apt/apt.conf.d/90opsagent-unattended-upgrades\t-\n");
        free(text);
        put(f, "/etc/apt/apt.conf.d/90opsagent-unattended-upgrades", "opsagent's\n", 0644);
        assert_int_equal(undo_read(f->state, &c, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_null(c[0].saved);
        assert_int_equal(undo_restore_file(f->state, f->root, &c[0], &err), 0);
        assert_int_equal(access(p, F_OK), -1);
        undo_changes_free(c, n);
        free(own);
        free(p);
}

/* Units: their file state before the first change; only enabled and disabled are recorded. */
static void test_units_recorded_once(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *text;

        assert_int_equal(undo_note_unit(f->state, "apt-daily.timer", "enabled", &err), 0);
        assert_int_equal(undo_note_unit(f->state, "apt-daily.timer", "disabled", &err), 0);
        assert_int_equal(undo_note_unit(f->state, "systemd-tmpfiles-clean.timer", "static", &err), 0);
        text = record(f);
        assert_string_equal(text, "unit\tapt-daily.timer\tenabled\n");
        free(text);
}

/* What cannot be written down is refused, so that the change is not made unrecorded. */
static void test_unrecordable_names_refused(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        char *p = under(f, "/etc/a\tb"), outside[] = "/elsewhere/x";

        assert_int_equal(undo_note_file(f->state, f->root, p, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "tab or a newline"));
        assert_int_equal(undo_note_file(f->state, f->root, outside, &err), -EXDEV);
        assert_int_equal(undo_note_unit(f->state, "a\nb.timer", "enabled", &err), -EINVAL);
        assert_null(record(f));
        free(p);
}

/* Without a root prefix the names are the paths themselves; a kept change survives a rewrite. */
static void test_rewrite_keeps_what_was_not_put_back(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        struct undo_change *c = NULL;
        char *a = under(f, "/etc/a.conf"), *b = under(f, "/etc/b.conf"), *text;
        size_t n = 0;

        put(f, "/etc/a.conf", "a\n", 0644);
        put(f, "/etc/b.conf", "b\n", 0644);
        assert_int_equal(undo_note_file(f->state, "", a, &err), 0);
        assert_int_equal(undo_note_file(f->state, "", b, &err), 0);
        assert_int_equal(undo_read(f->state, &c, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(c[0].name, a);
        assert_int_equal(undo_rewrite(f->state, &c[1], 1, &err), 0);
        text = record(f);
        assert_non_null(strstr(text, b));
        assert_null(strstr(text, a));
        assert_non_null(strstr(text, "saved/2"));
        free(text);
        undo_changes_free(c, n);
        free(a);
        free(b);
}

/* The record names paths, but what is on the way to them may change: a file reached through a
 * symbolic link is neither recorded nor put back nor removed, and what the link points to
 * (here a directory outside the system's /etc) is left as it was. */
static void test_links_on_the_way_are_not_followed(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        struct undo_change *c = NULL;
        char *via = under(f, "/etc/link/x.conf"), *link = under(f, "/etc/link"), *d = under(f, "/etc/d"), *e = under(f, "/etc/e");
        char *dx = under(f, "/etc/d/x.conf"), *en = under(f, "/etc/e/new.conf"), *outside = under(f, "/outside");
        char *ox = under(f, "/outside/x.conf"), *on = under(f, "/outside/new.conf"), *text;
        size_t n = 0;

        put(f, "/etc/real/x.conf", "real\n", 0644);
        assert_int_equal(symlink("real", link), 0);
        assert_int_equal(undo_note_file(f->state, f->root, via, &err), -ELOOP);
        assert_non_null(strstr(err.msg, "symbolic link"));
        assert_null(record(f));

        put(f, "/etc/d/x.conf", "before\n", 0644);
        assert_int_equal(undo_note_file(f->state, f->root, dx, &err), 0);
        assert_int_equal(undo_note_file(f->state, f->root, en, &err), 0);
        put(f, "/outside/x.conf", "outside\n", 0644);
        put(f, "/outside/new.conf", "outside too\n", 0644);
        assert_int_equal(unlink(dx), 0);
        assert_int_equal(rmdir(d), 0);
        assert_int_equal(symlink(outside, d), 0);   /* swapped for links after the record */
        assert_int_equal(symlink(outside, e), 0);

        assert_int_equal(undo_read(f->state, &c, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(undo_restore_file(f->state, f->root, &c[0], &err), -ELOOP);
        assert_non_null(strstr(err.msg, "symbolic link"));
        assert_int_equal(undo_restore_file(f->state, f->root, &c[1], &err), -ELOOP);
        text = slurp(ox);
        assert_string_equal(text, "outside\n");
        free(text);
        text = slurp(on);
        assert_string_equal(text, "outside too\n");
        free(text);
        undo_changes_free(c, n);
        free(via);
        free(link);
        free(d);
        free(e);
        free(dx);
        free(en);
        free(outside);
        free(ox);
        free(on);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_existing_file_is_saved_once_and_put_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_created_file_is_removed_and_own_state_ignored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_units_recorded_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unrecordable_names_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rewrite_keeps_what_was_not_put_back, setup, teardown),
                cmocka_unit_test_setup_teardown(test_links_on_the_way_are_not_followed, setup, teardown),
        };
        return cmocka_run_group_tests_name("undo", tests, NULL, NULL);
}
