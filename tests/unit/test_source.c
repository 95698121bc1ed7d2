/* source: the configuration of the stack source, the assembly of GetParametersByPath pages,
 * the line/column of a document that is not JSON, the cache, and the "nothing changed" check. */
#include <errno.h>
#include <fcntl.h>
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
#include "config/attrs.h"
#include "config/source.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"

struct fixture {
        char dir[64];
        struct paths p;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        assert_non_null(testdir_new(f->dir, sizeof(f->dir), "source"));
        f->p.config_dir = f->dir;
        f->p.state_dir = f->dir;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        testdir_remove(f->dir);
        free(f);
        return 0;
}

static void put_file(const char *dir, const char *name, const char *text)
{
        char *file = path_join(dir, name);

        assert_non_null(file);
        assert_int_equal(write_file_atomic(file, text, strlen(text), 0644), 0);
        free(file);
}

static json_object *J(const char *text)
{
        json_object *o = NULL;

        assert_int_equal(json_parse_text(text, "test", &o, NULL), 0);
        return o;
}

/* No source.json and no user-data: no source, no error. */
static void test_config_none(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        json_object *cfg = (json_object *)1;

        assert_int_equal(source_config_read(&f->p, NULL, &cfg, &err), 0);
        assert_null(cfg);
        /* User-data that is a shell script is somebody else's. */
        assert_int_equal(source_config_read(&f->p, "#!/bin/sh\necho hi\n", &cfg, &err), 0);
        assert_null(cfg);
        assert_false(error_is_set(&err));
}

static void test_config_ssm_from_file(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        json_object *cfg = NULL;
        char *label;

        put_file(f->dir, SOURCE_CONFIG_FILE, "{\"ssm\": {\"path\": \"/opsagent/plone\"}}");
        assert_int_equal(source_config_read(&f->p, NULL, &cfg, &err), 0);
        assert_non_null(cfg);
        label = source_config_label(cfg);
        assert_string_equal(label, "ssm:/opsagent/plone");
        free(label);
        json_object_put(cfg);
}

static void test_config_s3_from_user_data(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        json_object *cfg = NULL;
        char *label;

        assert_int_equal(source_config_read(&f->p, "{\"opsagent\": {\"source\": {\"s3\": \"s3://b/stack.json\"}}}",
                                            &cfg, &err), 0);
        assert_non_null(cfg);
        label = source_config_label(cfg);
        assert_string_equal(label, "s3://b/stack.json");
        free(label);
        json_object_put(cfg);
}

/* Each malformed configuration is refused with the file and the key. */
static void test_config_errors_name_file_and_key(void **state)
{
        static const struct {
                const char *text, *expect;
        } cases[] = {
                { "{\"ssm\": {\"path\": \"/a\"}, \"s3\": \"s3://b/k\"}", "exactly one" },
                { "{}", "exactly one" },
                { "{\"sssm\": {}}", "opsagent.source.sssm: unknown key" },
                { "{\"ssm\": {\"path\": \"opsagent\"}}", "opsagent.source.ssm.path" },
                { "{\"ssm\": {\"path\": \"/opsagent/\"}}", "opsagent.source.ssm.path" },
                { "{\"ssm\": {\"pth\": \"/a\"}}", "opsagent.source.ssm.pth: unknown key" },
                { "{\"ssm\": \"/a\"}", "opsagent.source.ssm must be an object" },
                { "{\"s3\": \"https://b/k\"}", "opsagent.source.s3" },
                { "{\"s3\": \"s3://bucket\"}", "opsagent.source.s3" },
                { "{\"s3\": \"s3://bucket/\"}", "opsagent.source.s3" },
                { "[1]", "must be an object" },
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct error err = ERROR_INIT;
                json_object *cfg = NULL;

                put_file(f->dir, SOURCE_CONFIG_FILE, cases[i].text);
                assert_int_equal(source_config_read(&f->p, NULL, &cfg, &err), -EINVAL);
                assert_null(cfg);
                if (!strstr(err.msg, cases[i].expect) || !strstr(err.msg, SOURCE_CONFIG_FILE))
                        fail_msg("case %zu: %s", i, err.msg);
        }
        /* In user-data, the message says so. */
        {
                struct error err = ERROR_INIT;
                json_object *cfg = NULL;
                char *file = path_join(f->dir, SOURCE_CONFIG_FILE);

                unlink(file);
                free(file);
                assert_int_equal(source_config_read(&f->p, "{\"opsagent\": {\"source\": {\"s3\": 1}}}", &cfg, &err),
                                 -EINVAL);
                assert_non_null(strstr(err.msg, "instance user-data: opsagent.source.s3"));
        }
}

/* source.json that another user could write is not configuration. */
static void test_config_group_writable_refused(void **state)
{
        struct fixture *f = *state;
        struct error err = ERROR_INIT;
        json_object *cfg = NULL;
        char *file = path_join(f->dir, SOURCE_CONFIG_FILE);

        put_file(f->dir, SOURCE_CONFIG_FILE, "{\"ssm\": {\"path\": \"/a\"}}");
        assert_int_equal(chmod(file, 0664), 0);
        assert_int_equal(source_config_read(&f->p, NULL, &cfg, &err), -EPERM);
        assert_non_null(strstr(err.msg, file));
        free(file);
}

static void test_layers_parse(void **state)
{
        struct error err = ERROR_INIT;
        char **names = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(source_layers_parse(" web, zeoserver ,,", &names, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "web");
        assert_string_equal(names[1], "zeoserver");
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        assert_int_equal(source_layers_parse("", &names, &n, &err), 0);
        assert_int_equal(n, 0);
        free(names);
        assert_int_equal(source_layers_parse("web,../etc", &names, &n, &err), -EINVAL);
        assert_non_null(strstr(err.msg, SOURCE_LAYERS_TAG));
}

/* More than SOURCE_MAX_LAYERS names are refused. */
static void test_layers_parse_limit(void **state)
{
        struct error err = ERROR_INIT;
        char text[SOURCE_MAX_LAYERS * 4 + 16] = "";
        char **names = NULL;
        size_t n = 0;

        (void)state;
        for (unsigned i = 0; i <= SOURCE_MAX_LAYERS; i++)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "l%u,", i);
        assert_int_equal(source_layers_parse(text, &names, &n, &err), -E2BIG);
}

static void test_doc_check_line_and_column(void **state)
{
        struct error err = ERROR_INIT;

        (void)state;
        assert_int_equal(source_doc_check("SSM parameter /a/stack (version 3)", "{\"a\": 1}", &err), 0);
        assert_int_equal(source_doc_check("SSM parameter /a/stack (version 3)", "{\n  \"a\": 1,\n  \"b\" 2\n}", &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "SSM parameter /a/stack (version 3): line 3, column"));
        error_clear(&err);
        assert_int_equal(source_doc_check("P", "[1, 2]", &err), -EINVAL);
        assert_non_null(strstr(err.msg, "P: line 1, column 1: the value must be a JSON object"));
}

#define PAGE1 "{\"Parameters\": [" \
        "{\"Name\": \"/s/layers/web\", \"Type\": \"String\", \"Value\": \"{\\\"w\\\": 1}\", \"Version\": 2}," \
        "{\"Name\": \"/s/other\", \"Type\": \"String\", \"Value\": \"not json\", \"Version\": 1}]," \
        "\"NextToken\": \"t\"}"
#define PAGE2 "{\"Parameters\": [" \
        "{\"Name\": \"/s/stack\", \"Type\": \"String\", \"Value\": \"{\\\"s\\\": 1}\", \"Version\": 7}," \
        "{\"Name\": \"/s/layers/db\", \"Type\": \"SecureString\", \"Value\": \"{\\\"pw\\\": \\\"hunter22\\\"}\"," \
        " \"Version\": 1}]}"

/* Stack first, then the layers in the tag's order, from whichever page they came on; other
 * parameters ignored (even when they are not JSON). */
static void test_assemble_pages_in_order(void **state)
{
        json_object *pages[2] = { J(PAGE1), J(PAGE2) };
        char *layers[] = { "db", "web", "absent" };
        struct error err = ERROR_INIT;
        struct source_set *s = NULL;

        (void)state;
        assert_int_equal(source_ssm_assemble("/s", layers, 3, pages, 2, &s, &err), 0);
        assert_int_equal(s->n_docs, 3);
        assert_string_equal(s->docs[0].name, "ssm:/s/stack");
        assert_string_equal(s->docs[0].version, "7");
        assert_false(s->docs[0].secret);
        assert_string_equal(s->docs[1].name, "ssm:/s/layers/db");
        assert_true(s->docs[1].secret);
        assert_string_equal(s->docs[2].name, "ssm:/s/layers/web");
        assert_string_equal(s->docs[2].version, "2");
        assert_int_equal(s->n_layers, 3);
        source_set_free(s);
        /* Without page 2 there is no stack document: a different set. */
        assert_int_equal(source_ssm_assemble("/s", layers, 3, pages, 1, &s, &err), 0);
        assert_int_equal(s->n_docs, 1);
        source_set_free(s);
        json_object_put(pages[0]);
        json_object_put(pages[1]);
}

static void test_assemble_missing_path(void **state)
{
        json_object *pages[1] = { J("{\"Parameters\": []}") };
        struct error err = ERROR_INIT;
        struct source_set *s = NULL;

        (void)state;
        assert_int_equal(source_ssm_assemble("/opsagent/nope", NULL, 0, pages, 1, &s, &err), -ENOENT);
        assert_null(s);
        assert_non_null(strstr(err.msg, "missing path /opsagent/nope"));
        json_object_put(pages[0]);
}

static void test_assemble_not_json_names_parameter(void **state)
{
        json_object *pages[1] = { J("{\"Parameters\": [{\"Name\": \"/s/stack\", \"Type\": \"String\", "
                                    "\"Value\": \"{\\n\\\"a\\\": }\", \"Version\": 4}]}") };
        struct error err = ERROR_INIT;
        struct source_set *s = NULL;

        (void)state;
        assert_int_equal(source_ssm_assemble("/s", NULL, 0, pages, 1, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "SSM parameter /s/stack (version 4): line 2, column 6"));
        json_object_put(pages[0]);
}

static void test_assemble_bad_answer(void **state)
{
        json_object *pages[1] = { J("{\"Parameters\": {}}") };
        struct error err = ERROR_INIT;
        struct source_set *s = NULL;

        (void)state;
        assert_int_equal(source_ssm_assemble("/s", NULL, 0, pages, 1, &s, &err), -EBADMSG);
        json_object_put(pages[0]);
}

static struct source_set *sample(void)
{
        json_object *pages[2] = { J(PAGE1), J(PAGE2) };
        char *layers[] = { "db", "web" };
        struct source_set *s = NULL;

        assert_int_equal(source_ssm_assemble("/s", layers, 2, pages, 2, &s, NULL), 0);
        s->source = strdup("ssm:/s");
        s->fetched_at = 1700000000;
        json_object_put(pages[0]);
        json_object_put(pages[1]);
        return s;
}

static void test_cache_round_trip(void **state)
{
        struct fixture *f = *state;
        struct source_set *s = sample(), *back = NULL;
        struct error err = ERROR_INIT;
        struct stat st;
        char *file;

        assert_int_equal(source_cache_read(f->dir, &back, &err), -ENOENT);
        assert_int_equal(source_cache_write(f->dir, s, &err), 0);
        assert_int_equal(asprintf(&file, "%s/%s/%s", f->dir, SOURCE_CACHE_DIR, SOURCE_CACHE_FILE) > 0, 1);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        free(file);
        assert_int_equal(source_cache_read(f->dir, &back, &err), 0);
        assert_true(back->from_cache);
        assert_string_equal(back->source, "ssm:/s");
        assert_int_equal(back->fetched_at, 1700000000);
        assert_int_equal(back->n_layers, 2);
        assert_string_equal(back->layers[1], "web");
        assert_int_equal(back->n_docs, s->n_docs);
        for (size_t i = 0; i < s->n_docs; i++) {
                assert_string_equal(back->docs[i].name, s->docs[i].name);
                assert_string_equal(back->docs[i].version, s->docs[i].version);
                assert_string_equal(back->docs[i].json, s->docs[i].json);
                assert_int_equal(back->docs[i].secret, s->docs[i].secret);
        }
        assert_true(source_set_same_versions(s, back));
        source_set_free(back);
        source_set_free(s);
}

/* Every kind of damage is refused, and the message never quotes a document. */
static void test_cache_corrupt_rejected(void **state)
{
        static const char *cases[] = {
                "",
                "{\"format\": 1",
                "[]",
                "{\"format\": 2, \"source\": \"ssm:/s\", \"fetched_at\": 1, \"layers\": [], \"docs\": []}",
                "{\"format\": 1, \"source\": \"ssm:/s\", \"layers\": [], \"docs\": []}",
                "{\"format\": 1, \"source\": \"\", \"fetched_at\": 1, \"layers\": [], \"docs\": []}",
                "{\"format\": 1, \"source\": \"ssm:/s\", \"fetched_at\": 1, \"layers\": [\"../x\"], \"docs\": []}",
                "{\"format\": 1, \"source\": \"ssm:/s\", \"fetched_at\": 1, \"layers\": [], \"docs\": [1]}",
                "{\"format\": 1, \"source\": \"ssm:/s\", \"fetched_at\": 1, \"layers\": [], \"docs\": "
                "[{\"name\": \"n\", \"version\": \"1\", \"secret\": true, \"json\": \"{\\\"pw\\\": \\\"hunter22\"}]}",
                "{\"format\": 1, \"source\": \"ssm:/s\", \"fetched_at\": 1, \"layers\": [], \"docs\": "
                "[{\"name\": \"n\", \"version\": \"1\", \"json\": \"{}\"}]}",
        };
        struct fixture *f = *state;
        char *dir = path_join(f->dir, SOURCE_CACHE_DIR);

        assert_int_equal(mkdir_p(dir, 0700), 0);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct error err = ERROR_INIT;
                struct source_set *s = NULL;

                put_file(dir, SOURCE_CACHE_FILE, cases[i]);
                assert_int_equal(source_cache_read(f->dir, &s, &err), -EBADMSG);
                assert_null(s);
                if (!strstr(err.msg, SOURCE_CACHE_FILE) || strstr(err.msg, "hunter22"))
                        fail_msg("case %zu: %s", i, err.msg);
        }
        free(dir);
}

static void test_same_versions(void **state)
{
        struct source_set *a = sample(), *b = sample();

        (void)state;
        assert_true(source_set_same_versions(a, b));
        free(b->docs[1].version);
        b->docs[1].version = strdup("2");
        assert_false(source_set_same_versions(a, b));
        source_set_free(b);
        b = sample();
        b->n_docs--;
        free(b->docs[b->n_docs].name);
        free(b->docs[b->n_docs].version);
        free(b->docs[b->n_docs].json);
        assert_false(source_set_same_versions(a, b));
        assert_false(source_set_same_versions(a, NULL));
        assert_true(source_set_same_versions(NULL, NULL));
        source_set_free(a);
        source_set_free(b);
}

/* The documents merge in order with "NAME@version V" origins; a SecureString's values are
 * redacted whatever their keys, and scrubbed from logs. */
static void test_merge_origins_and_secrets(void **state)
{
        struct source_set *s = sample();
        struct error err = ERROR_INIT;
        struct attrs *a = NULL;
        char buf[4096] = "";
        FILE *out = fmemopen(buf, sizeof(buf) - 1, "w");
        char *scrubbed;

        (void)state;
        assert_non_null(out);
        assert_int_equal(attrs_new(&a), 0);
        assert_int_equal(source_merge(a, s, &err), 0);
        assert_string_equal(attrs_origin(a, "s"), "ssm:/s/stack@version 7");
        assert_string_equal(attrs_origin(a, "w"), "ssm:/s/layers/web@version 2");
        assert_string_equal(attrs_origin(a, "pw"), "ssm:/s/layers/db@version 1");
        assert_int_equal(attrs_print(a, "", false, out, &err), 0);
        fclose(out);
        assert_null(strstr(buf, "hunter22"));
        assert_non_null(strstr(buf, "pw = "));
        scrubbed = log_scrub("the password is hunter22");
        assert_null(strstr(scrubbed, "hunter22"));
        free(scrubbed);
        attrs_free(a);
        source_set_free(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_config_none, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_ssm_from_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_s3_from_user_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_errors_name_file_and_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_group_writable_refused, setup, teardown),
                cmocka_unit_test(test_layers_parse),
                cmocka_unit_test(test_layers_parse_limit),
                cmocka_unit_test(test_doc_check_line_and_column),
                cmocka_unit_test(test_assemble_pages_in_order),
                cmocka_unit_test(test_assemble_missing_path),
                cmocka_unit_test(test_assemble_not_json_names_parameter),
                cmocka_unit_test(test_assemble_bad_answer),
                cmocka_unit_test_setup_teardown(test_cache_round_trip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cache_corrupt_rejected, setup, teardown),
                cmocka_unit_test(test_same_versions),
                cmocka_unit_test(test_merge_origins_and_secrets),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
