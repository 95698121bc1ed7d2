/* logrotate recipe: in-process compression (libarchive), crash- and ENOSPC-safe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/mount.h>

#include <archive.h>
#include <archive_entry.h>

#include "lr_compress.h"
#include "lr_testutil.h"

static int setup(void **state)
{
        *state = tdir_new();
        lr_compress_fail_after = 0;
        return 0;
}

static int teardown(void **state)
{
        lr_compress_fail_after = 0;
        tdir_free(*state);
        return 0;
}

/* A log-like file of about N bytes with line numbers. */
static void make_log(const char *dir, const char *rel, size_t n)
{
        char *p = tpath(dir, rel);
        FILE *f = fopen(p, "w");
        for (size_t i = 0, done = 0; done < n; i++)
                done += (size_t)fprintf(f, "10.0.0.%zu - - \"GET /page/%zu HTTP/1.1\" 200 %zu\n", i % 250, i, i * 7 % 9999);
        fclose(f);
        free(p);
}

/* Decompresses PATH with libarchive (any filter, raw format) into a malloc'd buffer. */
static char *decompress(const char *path, size_t *ret_len)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        char chunk[65536];
        la_ssize_t n;

        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
                fwrite(chunk, 1, (size_t)n, m);
        assert_true(n == 0);
        archive_read_free(a);
        fclose(m);
        *ret_len = len;
        return buf;
}

static void round_trip(const char *dir, enum lr_compression c, const char *ext)
{
        char *src = tpath(dir, "a.log.1"), *dst = NULL, *orig, *back;
        uint64_t in = 0, out = 0;
        size_t len;

        make_log(dir, "a.log.1", 300000);
        assert_true(asprintf(&dst, "%s%s", src, ext) > 0);
        assert_int_equal(lr_compress_file(src, dst, c, -1, &in, &out), 0);
        orig = tread(dir, "a.log.1");
        assert_int_equal(in, strlen(orig));
        assert_true(out > 0 && out < in / 3);
        back = decompress(dst, &len);
        assert_int_equal(len, strlen(orig));
        assert_memory_equal(back, orig, len);
        free(back);
        free(orig);
        unlink(dst);
        free(dst);
        free(src);
}

static void test_gzip_round_trip(void **state) { round_trip(*state, LR_COMP_GZIP, ".gz"); }
static void test_xz_round_trip(void **state) { round_trip(*state, LR_COMP_XZ, ".xz"); }
static void test_zstd_round_trip(void **state) { round_trip(*state, LR_COMP_ZSTD, ".zst"); }

static void test_gzip_output_is_plain_gzip(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.gz"), *cmd = NULL;

        make_log(*state, "a.log.1", 100000);
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_GZIP, 6, NULL, NULL), 0);
        assert_true(asprintf(&cmd, "gzip -dc '%s' | cmp -s - '%s'", dst, src) > 0);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        free(dst);
        free(src);
}

static void test_default_levels(void **state)
{
        assert_int_equal(lr_compress_default_level(LR_COMP_ZSTD), 2);
        assert_int_equal(lr_compress_default_level(LR_COMP_GZIP), 6);
        assert_int_equal(lr_compress_default_level(LR_COMP_XZ), 6);
}

static void test_existing_destination_is_left_alone(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.zst"), *s;

        twrite(*state, "a.log.1", "new lines\n");
        twrite(*state, "a.log.1.zst", "older rotation");
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_ZSTD, -1, NULL, NULL), -EEXIST);
        s = tread(*state, "a.log.1.zst");
        assert_string_equal(s, "older rotation");
        free(s);
        s = tread(*state, "a.log.1");
        assert_string_equal(s, "new lines\n");
        free(s);
        free(dst);
        free(src);
}

static void test_injected_enospc_keeps_source_and_leaves_nothing(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.zst"), *before, *after;

        make_log(*state, "a.log.1", 2000000);
        before = tread(*state, "a.log.1");
        lr_compress_fail_after = 1000000;
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_ZSTD, -1, NULL, NULL), -ENOSPC);
        assert_false(texists(*state, "a.log.1.zst"));
        assert_false(texists(*state, "a.log.1.zst" LR_TMP_SUFFIX));
        after = tread(*state, "a.log.1");
        assert_string_equal(before, after);
        free(before);
        free(after);
        free(dst);
        free(src);
}

/* A real full filesystem: a 64 KiB tmpfs (needs CAP_SYS_ADMIN; skipped without it). */
static void test_real_enospc_on_small_tmpfs(void **state)
{
        char *mnt = tpath(*state, "small"), *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "small/a.log.1.gz");
        char *cmd = NULL;
        DIR *d;
        int entries = 0;

        mkdir(mnt, 0755);
        if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
                free(mnt); free(src); free(dst);
                skip();
        }
        /* incompressible input, 1 MiB: cannot fit in 64 KiB */
        assert_true(asprintf(&cmd, "head -c 1048576 /dev/urandom > '%s'", src) > 0);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_GZIP, 1, NULL, NULL), -ENOSPC);
        d = opendir(mnt);
        for (struct dirent *de; (de = readdir(d));)
                entries += de->d_name[0] != '.';
        closedir(d);
        assert_int_equal(entries, 0);
        assert_int_equal(umount(mnt), 0);
        free(cmd);
        free(mnt); free(src); free(dst);
}

static void test_stale_temporary_is_replaced(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.zst"), *back;
        size_t len;

        twrite(*state, "a.log.1", "line\n");
        twrite(*state, "a.log.1.zst" LR_TMP_SUFFIX, "half-written by a killed run");
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_ZSTD, -1, NULL, NULL), 0);
        assert_false(texists(*state, "a.log.1.zst" LR_TMP_SUFFIX));
        back = decompress(dst, &len);
        assert_int_equal(len, 5);
        assert_memory_equal(back, "line\n", 5);
        free(back);
        free(dst);
        free(src);
}

static void test_mode_is_kept(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.xz");
        struct stat st;

        twrite(*state, "a.log.1", "secret line\n");
        chmod(src, 0600);
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_XZ, -1, NULL, NULL), 0);
        assert_int_equal(stat(dst, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        free(dst);
        free(src);
}

static void test_symlinked_source_is_refused(void **state)
{
        char *src = tpath(*state, "a.log.1"), *dst = tpath(*state, "a.log.1.gz");

        assert_int_equal(symlink("/etc/hostname", src), 0);
        assert_int_equal(lr_compress_file(src, dst, LR_COMP_GZIP, -1, NULL, NULL), -ELOOP);
        assert_false(texists(*state, "a.log.1.gz"));
        free(dst);
        free(src);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_gzip_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_xz_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_zstd_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gzip_output_is_plain_gzip, setup, teardown),
                cmocka_unit_test(test_default_levels),
                cmocka_unit_test_setup_teardown(test_existing_destination_is_left_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_injected_enospc_keeps_source_and_leaves_nothing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_real_enospc_on_small_tmpfs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stale_temporary_is_replaced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mode_is_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_symlinked_source_is_refused, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
