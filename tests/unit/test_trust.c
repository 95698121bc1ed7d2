/* trust: a file, or a directory above it, that someone other than root can write is refused,
 * with its owner, mode and the command that fixes it; sticky directories above are fine. The
 * cases that need another owner use chown and are skipped when not run as root. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "testdir.h"
#include "config/trust.h"

#define OTHER_UID 54321 /* no such user: "uid 54321" */

static char *p(const char *dir, const char *rel)
{
        static char buf[4][PATH_MAX];
        static int i;
        char *b = buf[i++ % 4];

        snprintf(b, PATH_MAX, "%s/%s", dir, rel);
        return b;
}

static void put(const char *path, mode_t mode)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs("{}", f);
        fclose(f);
        assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
        char *dir = malloc(64);

        assert_non_null(dir);
        assert_non_null(testdir_new(dir, 64, "trust"));
        /* DIR/etc/opsagent/stack.json, as a root-owned tree would be */
        assert_int_equal(mkdir(p(dir, "etc"), 0755), 0);
        assert_int_equal(mkdir(p(dir, "etc/opsagent"), 0755), 0);
        put(p(dir, "etc/opsagent/stack.json"), 0644);
        *state = dir;
        return 0;
}

static int teardown(void **state)
{
        assert_int_equal(testdir_remove(*state), 0);
        free(*state);
        return 0;
}

/* The cases that chown: a non-root agent trusts its own user's files, so they need root. */
#define need_root()                                                                   \
        do {                                                                          \
                if (geteuid() != 0) {                                                 \
                        printf("# not root: %s needs chown; not tested\n", __func__); \
                        return;                                                       \
                }                                                                     \
        } while (0)

static void test_trusted_tree(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;

        assert_int_equal(trust_check(p(dir, "etc/opsagent/stack.json"), "configuration file", 0, &err), 0);
        assert_int_equal(trust_check(p(dir, "etc/opsagent"), "configuration directory", 0, &err), 0);
        assert_int_equal(chmod(p(dir, "etc/opsagent/stack.json"), 0600), 0);
        assert_int_equal(trust_check(p(dir, "etc/opsagent/stack.json"), "configuration file", 0, &err), 0);
        assert_false(error_is_set(&err));
}

static void test_writable_by_others(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;
        char *f = p(dir, "etc/opsagent/stack.json"), want[2 * PATH_MAX];

        need_root(); /* a non-root owner's own files are trusted only when not root: see below */
        assert_int_equal(chmod(f, 0666), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
        snprintf(want, sizeof(want),
                 "configuration file %s: refusing to use it: owned by root (uid 0), mode 0666; group root and "
                 "others can write it, so someone other than root could change what the agent does as root; "
                 "run: chmod go-w %s",
                 f, f);
        assert_string_equal(err.msg, want);
}

static void test_owned_by_someone_else(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;
        char *f = p(dir, "etc/opsagent/stack.json");

        need_root();
        assert_int_equal(chown(f, OTHER_UID, 0), 0);
        assert_int_equal(chmod(f, 0600), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
        assert_non_null(strstr(err.msg, "owned by uid 54321, mode 0600"));
        assert_non_null(strstr(err.msg, "run: chown root:root "));
}

static void test_group_writable(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;
        char *f = p(dir, "etc/opsagent/stack.json");

        need_root();
        assert_int_equal(chown(f, 0, OTHER_UID), 0);
        assert_int_equal(chmod(f, 0660), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
        assert_non_null(strstr(err.msg, "mode 0660; group gid 54321 can write it"));
        assert_non_null(strstr(err.msg, "run: chmod go-w "));
}

/* Every directory above counts, and is named. */
static void test_directory_above(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;
        char *f = p(dir, "etc/opsagent/stack.json"), *d = p(dir, "etc");

        need_root();
        assert_int_equal(chmod(d, 0777), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
        assert_non_null(strstr(err.msg, "refusing to use it: the directory "));
        assert_non_null(strstr(err.msg, "/etc above it is owned by root (uid 0), mode 0777"));
        assert_non_null(strstr(err.msg, "run: chmod go-w "));
        error_clear(&err);
        assert_int_equal(chmod(d, 0755), 0);
        assert_int_equal(chown(p(dir, "etc/opsagent"), OTHER_UID, 0), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
        assert_non_null(strstr(err.msg, "/etc/opsagent above it is owned by uid 54321"));
}

/* A sticky world-writable directory above (like /tmp) is fine; as the object itself, or owned
 * by someone else, it is not. */
static void test_sticky_directory_above(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;
        char *f = p(dir, "etc/opsagent/stack.json"), *d = p(dir, "etc");

        need_root();
        assert_int_equal(chmod(d, 01777), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), 0);
        assert_int_equal(trust_check(d, "configuration directory", 0, &err), -EPERM);
        error_clear(&err);
        assert_int_equal(chown(d, OTHER_UID, 0), 0);
        assert_int_equal(trust_check(f, "configuration file", 0, &err), -EPERM);
}

/* Links are resolved: what counts is the directory the file really is in. */
static void test_link_to_an_untrusted_directory(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;

        need_root();
        assert_int_equal(mkdir(p(dir, "open"), 0777), 0);
        assert_int_equal(chmod(p(dir, "open"), 0777), 0);
        put(p(dir, "open/local.json"), 0644);
        assert_int_equal(symlink(p(dir, "open/local.json"), p(dir, "etc/opsagent/local.json")), 0);
        assert_int_equal(trust_check(p(dir, "etc/opsagent/local.json"), "configuration file", 0, &err), -EPERM);
        assert_non_null(strstr(err.msg, "/open above it is owned by root (uid 0), mode 0777"));
}

static void test_missing(void **state)
{
        struct error err = ERROR_INIT;
        const char *dir = *state;

        assert_int_equal(trust_check(p(dir, "etc/opsagent/local.json"), "configuration file", 0, &err), -ENOENT);
        error_clear(&err);
        assert_int_equal(trust_check(p(dir, "etc/opsagent/local.json"), "configuration file", TRUST_MISSING_OK, &err),
                         0);
        assert_int_equal(trust_check(p(dir, "var/lib/opsagent"), "state directory", TRUST_MISSING_OK, &err), 0);
        if (geteuid() != 0)
                return;
        /* missing, in a directory others could create it in */
        assert_int_equal(chmod(dir, 01777), 0);
        assert_int_equal(trust_check(p(dir, "var/lib/opsagent"), "state directory", TRUST_MISSING_OK, &err), -EPERM);
        assert_non_null(strstr(err.msg, "var/lib/opsagent: refusing to use it: the directory "));
        assert_int_equal(chmod(dir, 0700), 0);
}

/* Not running as root, the agent also trusts its own user's files (test sandboxes). */
static void test_own_files_trusted_when_not_root(void **state)
{
        (void)state;
        assert_true(trust_owner(0));
        need_root();
        assert_false(trust_owner(OTHER_UID));
        assert_int_equal(seteuid(OTHER_UID), 0);
        assert_true(trust_owner(OTHER_UID));
        assert_true(trust_owner(0));
        assert_false(trust_owner(OTHER_UID + 1));
        assert_int_equal(seteuid(0), 0);
        assert_false(trust_owner(OTHER_UID));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trusted_tree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_writable_by_others, setup, teardown),
                cmocka_unit_test_setup_teardown(test_owned_by_someone_else, setup, teardown),
                cmocka_unit_test_setup_teardown(test_group_writable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_directory_above, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sticky_directory_above, setup, teardown),
                cmocka_unit_test_setup_teardown(test_link_to_an_untrusted_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
                cmocka_unit_test(test_own_files_trusted_when_not_root),
        };
        return cmocka_run_group_tests_name("trust", tests, NULL, NULL);
}
