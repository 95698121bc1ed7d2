/* logrotate recipe: rotated file names as logrotate makes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lr_names.h"
#include "lr_testutil.h"

static int setup(void **state)
{
        *state = tdir_new();
        return 0;
}

static int teardown(void **state)
{
        tdir_free(*state);
        return 0;
}

static void test_rotation_dir(void **state)
{
        char *d = lr_rotation_dir("/r/var/log/a.log", NULL, "/r");
        assert_string_equal(d, "/r/var/log");
        free(d);
        d = lr_rotation_dir("/r/var/log/a.log", "old/", "/r");
        assert_string_equal(d, "/r/var/log/old");
        free(d);
        d = lr_rotation_dir("/r/var/log/a.log", "/var/archive", "/r");
        assert_string_equal(d, "/r/var/archive");
        free(d);
        d = lr_rotation_dir("/a.log", NULL, "");
        assert_string_equal(d, "/");
        free(d);
}

static void test_dateext_suffix_defaults(void **state)
{
        char buf[64];
        time_t t = 1795435200;   /* 2026-11-23 12:00:00 UTC */
        setenv("TZ", "UTC", 1);
        tzset();
        assert_int_equal(lr_dateext_suffix("-%Y%m%d", t, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "-20261123");
        assert_int_equal(lr_dateext_suffix("-%Y%m%d%H", t, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "-2026112312");
        assert_int_equal(lr_dateext_suffix("-%Y%m%d", t, buf, 5), -ENAMETOOLONG);
}

static void test_dateext_match(void **state)
{
        assert_int_equal(lr_dateext_match("-%Y%m%d", "-20261123"), 9);
        assert_int_equal(lr_dateext_match("-%Y%m%d", "-20261123.gz"), 9);
        assert_int_equal(lr_dateext_match("-%Y%m%d", "-2026112"), 0);
        assert_int_equal(lr_dateext_match("-%Y%m%d", "-2026x123"), 0);
        assert_int_equal(lr_dateext_match("-%Y%m%d", "_20261123"), 0);
        assert_int_equal(lr_dateext_match(".%s", ".1795435200"), 11);
        assert_int_equal(lr_dateext_match("-%Y-%m-%d_%H", "-2026-11-23_08"), 14);
}

static struct lr_set *set_of(bool dateext)
{
        struct lr_set *s = calloc(1, sizeof(*s));
        s->dateext = dateext;
        s->frequency = LR_FREQ_DAILY;
        return s;
}

static void test_numbered_listing_oldest_first(void **state)
{
        const char *files[] = { "a.log", "a.log.1", "a.log.2.gz", "a.log.10.zst", "a.log.01", "a.log.x",
                                "a.log.3.gz.opsagent-tmp", "b.log.1", "a.log-20261123", "a.log.4.bz2" };
        struct lr_set *s = set_of(false);
        struct lr_rotated *l = NULL;
        size_t n = 0;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
                twrite(*state, files[i], "x");
        assert_int_equal(lr_list_rotated(NULL, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(l[0].name, "a.log.10.zst");
        assert_int_equal(l[0].index, 10);
        assert_true(l[0].compressed);
        assert_string_equal(l[0].stem, "a.log.10");
        assert_string_equal(l[1].name, "a.log.4.bz2");
        assert_string_equal(l[2].name, "a.log.2.gz");
        assert_string_equal(l[3].name, "a.log.1");
        assert_false(l[3].compressed);
        lr_rotated_free(l, n);
        free(s);
}

static void test_dateext_listing_by_date(void **state)
{
        const char *files[] = { "a.log-20261123", "a.log-20261101.gz", "a.log-20261115.gz", "a.log.1",
                                "a.log-2026111.gz" };
        struct lr_set *s = set_of(true);
        struct lr_rotated *l = NULL;
        size_t n = 0;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
                twrite(*state, files[i], "x");
        assert_int_equal(lr_list_rotated(NULL, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(l[0].name, "a.log-20261101.gz");
        assert_string_equal(l[1].name, "a.log-20261115.gz");
        assert_string_equal(l[2].name, "a.log-20261123");
        lr_rotated_free(l, n);
        free(s);
}

static void test_symlinks_are_not_rotated_files(void **state)
{
        struct lr_set *s = set_of(false);
        struct lr_rotated *l = NULL;
        size_t n = 9;
        char *p = tpath(*state, "a.log.1");

        assert_int_equal(symlink("/etc/passwd", p), 0);
        assert_int_equal(lr_list_rotated(NULL, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 0);
        lr_rotated_free(l, n);
        free(p);
        free(s);
}

static void test_missing_directory_lists_nothing(void **state)
{
        struct lr_set *s = set_of(false);
        struct lr_rotated *l = NULL;
        size_t n = 9;
        char *p = tpath(*state, "nope");
        assert_int_equal(lr_list_rotated(NULL, p, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 0);
        free(p);
        free(s);
}

/* With the run's cache, a directory is read once; what the run changes itself (noted) is seen,
 * and the listing is the same as reading the directory again. */
static void test_cached_listing_follows_our_changes(void **state)
{
        struct lr_set *s = set_of(false);
        struct lr_dircache *c = NULL;
        struct lr_rotated *l = NULL;
        size_t n = 0;
        char *one = tpath(*state, "a.log.1"), *five = tpath(*state, "a.log.5.gz"), *other = tpath(*state, "a.log.7");

        twrite(*state, "a.log", "x");
        twrite(*state, "a.log.1", "x");
        twrite(*state, "a.log.2.gz", "x");
        twrite(*state, "a.log2.1", "x");
        assert_int_equal(lr_dircache_new(&c), 0);
        assert_int_equal(lr_list_rotated(c, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 2);
        lr_rotated_free(l, n);
        assert_int_equal(unlink(one), 0);
        assert_int_equal(lr_dircache_note(c, one, false), 0);
        twrite(*state, "a.log.5.gz", "x");
        assert_int_equal(lr_dircache_note(c, five, true), 0);
        twrite(*state, "a.log.7", "x");         /* behind the run's back: not seen until the next run */
        assert_int_equal(lr_list_rotated(c, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(l[0].name, "a.log.5.gz");
        assert_string_equal(l[1].name, "a.log.2.gz");
        lr_rotated_free(l, n);
        assert_int_equal(lr_list_rotated(c, *state, "a.log2", s, &l, &n), 0);
        assert_int_equal(n, 1);
        lr_rotated_free(l, n);
        assert_int_equal(lr_list_rotated(NULL, *state, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 3);
        lr_rotated_free(l, n);
        lr_dircache_free(c);
        free(other);
        free(five);
        free(one);
        free(s);
}

/* A directory with more than LR_DIRCACHE_MAX_NAMES names is not kept: it is read at each
 * listing, which stays right. */
static void test_directory_over_the_cache_bound_is_read_each_time(void **state)
{
        char *d = tdir_new_in("/dev/shm"), name[64];
        struct lr_set *s = set_of(false);
        struct lr_dircache *c = NULL;
        struct lr_rotated *l = NULL;
        size_t n = 0;

        for (unsigned i = 0; i <= LR_DIRCACHE_MAX_NAMES; i++) {
                int fd;
                snprintf(name, sizeof(name), "%s/f%u", d, i);
                fd = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                assert_true(fd >= 0);
                close(fd);
        }
        twrite(d, "a.log.1", "x");
        assert_int_equal(lr_dircache_new(&c), 0);
        assert_int_equal(lr_list_rotated(c, d, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 1);
        lr_rotated_free(l, n);
        twrite(d, "a.log.2", "x");              /* not noted: seen all the same */
        assert_int_equal(lr_list_rotated(c, d, "a.log", s, &l, &n), 0);
        assert_int_equal(n, 2);
        lr_rotated_free(l, n);
        lr_dircache_free(c);
        tdir_free(d);
        free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rotation_dir),
                cmocka_unit_test(test_dateext_suffix_defaults),
                cmocka_unit_test(test_dateext_match),
                cmocka_unit_test_setup_teardown(test_numbered_listing_oldest_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dateext_listing_by_date, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlinks_are_not_rotated_files, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_directory_lists_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cached_listing_follows_our_changes, setup, teardown),
                cmocka_unit_test(test_directory_over_the_cache_bound_is_read_each_time),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
