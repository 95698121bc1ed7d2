/* awsconfig: where the files are, which profile is in use and why, how the credentials file
 * overrides the config file, [services] sections, the profiles the CLI finds by name. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws/awsconfig.h"
#include "util/fileio.h"

struct fixture {
        char dir[64];
        char config[128], credentials[128];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/opsagent-awsconfig-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->config, sizeof(f->config), "%s/config", f->dir);
        snprintf(f->credentials, sizeof(f->credentials), "%s/credentials", f->dir);
        setenv("AWS_CONFIG_FILE", f->config, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", f->credentials, 1);
        unsetenv("AWS_PROFILE");
        unsetenv("AWS_DEFAULT_PROFILE");
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        unlink(f->config);
        unlink(f->credentials);
        rmdir(f->dir);
        free(f);
        return 0;
}

static void put(const char *path, const char *text)
{
        assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
}

static struct aws_config *load(const char *profile_attr)
{
        struct aws_config *c = NULL;
        struct error err = ERROR_INIT;

        if (aws_config_load(profile_attr, &c, &err) < 0)
                fail_msg("load: %s", err.msg);
        return c;
}

static void test_no_files_default_profile(void **state)
{
        struct aws_config *c = load(NULL);

        assert_string_equal(c->profile, "default");
        assert_string_equal(c->profile_origin, "the default");
        assert_null(c->config);
        assert_null(c->credentials);
        assert_null(aws_config_get(c, "default", "region", NULL, 0));
        aws_config_free(c);
}

static void test_profile_precedence(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c;

        put(f->config, "[profile a]\nregion = r-a\n[profile b]\nregion = r-b\n[profile c]\nregion = r-c\n");
        setenv("AWS_PROFILE", "a", 1);
        c = load(NULL);
        assert_string_equal(c->profile, "a");
        assert_string_equal(c->profile_origin, "AWS_PROFILE");
        assert_false(c->profile_explicit);
        aws_config_free(c);
        setenv("AWS_DEFAULT_PROFILE", "b", 1);  /* botocore looks at it first */
        c = load(NULL);
        assert_string_equal(c->profile, "b");
        aws_config_free(c);
        c = load("c");                          /* the attribute is code-level: it wins */
        assert_string_equal(c->profile, "c");
        assert_true(c->profile_explicit);
        assert_string_equal(c->profile_origin, "the attribute aws.profile");
        aws_config_free(c);
}

static void test_missing_profile_refused(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c = NULL;
        struct error err = ERROR_INIT;

        put(f->config, "[profile a]\n");
        setenv("AWS_PROFILE", "nope", 1);
        assert_int_equal(aws_config_load(NULL, &c, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "AWS profile \"nope\" (from AWS_PROFILE) is in neither"));
        assert_non_null(strstr(err.msg, f->config));
        assert_non_null(strstr(err.msg, f->credentials));
}

static void test_credentials_file_overrides_config(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c;
        char origin[AWS_CONFIG_ORIGIN_MAX];

        put(f->config, "[default]\nregion = from-config\noutput = json\n"
                         "[profile ops]\nregion = ops-region\n[ops]\nignored = 1\n");
        put(f->credentials, "[default]\nregion = from-credentials\n[ops]\naws_access_key_id = AKIAOPS\n"
                              "[profile ops]\nnot = this\n");
        c = load(NULL);
        assert_string_equal(aws_config_get(c, "default", "region", origin, sizeof(origin)), "from-credentials");
        assert_non_null(strstr(origin, f->credentials));
        assert_non_null(strstr(origin, "[default] line 2"));
        assert_string_equal(aws_config_get(c, "default", "output", origin, sizeof(origin)), "json");
        assert_non_null(strstr(origin, f->config));
        /* the config file's [ops] is not a profile; the credentials file's [profile ops] is one named so */
        assert_string_equal(aws_config_get(c, "ops", "region", NULL, 0), "ops-region");
        assert_string_equal(aws_config_get(c, "ops", "aws_access_key_id", NULL, 0), "AKIAOPS");
        assert_null(aws_config_get(c, "ops", "ignored", NULL, 0));
        assert_null(aws_config_get(c, "ops", "not", NULL, 0));
        assert_string_equal(aws_config_get(c, "profile ops", "not", NULL, 0), "this");
        assert_true(aws_config_has_profile(c, "ops"));
        assert_false(aws_config_has_profile(c, "nope"));
        aws_config_free(c);
}

/* As botocore's build_profile_map: quoted names, and the last section naming a profile wins. */
static void test_profile_names(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c;

        put(f->config, "[profile \"with space\"]\nregion = q\n[default]\nregion = d1\n[profile default]\nregion = d2\n"
                         "[profile a b c]\nregion = no\n[profile 'x]\nregion = no\n");
        c = load(NULL);
        assert_string_equal(aws_config_get(c, "with space", "region", NULL, 0), "q");
        assert_string_equal(aws_config_get(c, "default", "region", NULL, 0), "d2");
        assert_false(aws_config_has_profile(c, "a b c"));
        assert_false(aws_config_has_profile(c, "'x"));
        aws_config_free(c);
}

static void test_services_section(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c;
        struct error err = ERROR_INIT;
        char origin[AWS_CONFIG_ORIGIN_MAX];
        const char *v;

        put(f->config, "[profile local]\nservices = dev\n[services dev]\nec2 =\n  endpoint_url = http://127.0.0.1:1\n"
                         "[profile broken]\nservices = gone\n[profile none]\n");
        c = load(NULL);
        assert_int_equal(aws_config_service_get(c, "local", "ec2", "endpoint_url", &v, origin, sizeof(origin), &err), 0);
        assert_string_equal(v, "http://127.0.0.1:1");
        assert_non_null(strstr(origin, "[services dev] ec2.endpoint_url"));
        assert_int_equal(aws_config_service_get(c, "local", "sts", "endpoint_url", &v, NULL, 0, &err), 0);
        assert_null(v);
        assert_int_equal(aws_config_service_get(c, "none", "ec2", "endpoint_url", &v, NULL, 0, &err), 0);
        assert_null(v);
        assert_int_equal(aws_config_service_get(c, "broken", "ec2", "endpoint_url", &v, NULL, 0, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "[services gone]"));
        aws_config_free(c);
}

static void test_bad_file_refused_naming_it(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c = NULL;
        struct error err = ERROR_INIT;

        put(f->credentials, "[default]\naws_access_key_id\n");
        assert_int_equal(aws_config_load(NULL, &c, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "AWS_SHARED_CREDENTIALS_FILE"));
        assert_non_null(strstr(err.msg, ":2: not \"key = value\""));
}

static void test_find_prefix(void **state)
{
        struct fixture *f = *state;
        struct aws_config *c;

        put(f->config, "[profile sso]\nregion = x\nsso_session = corp\n[sso-session corp]\nsso_region = us-east-1\n");
        c = load(NULL);
        assert_string_equal(aws_config_find_prefix(c, "sso", "sso_"), "sso_session");
        assert_null(aws_config_find_prefix(c, "default", "sso_"));
        assert_false(aws_config_has_profile(c, "corp"));
        aws_config_free(c);
}

static void test_expand_path(void **state)
{
        char *p;

        setenv("HOME", "/home/op", 1);
        setenv("OPSAGENT_TEST_DIR", "/etc/aws", 1);
        p = aws_config_expand_path("~/.aws/config");
        assert_string_equal(p, "/home/op/.aws/config");
        free(p);
        p = aws_config_expand_path("$OPSAGENT_TEST_DIR/config-${OPSAGENT_TEST_DIR}-$UNSET_VAR_X-$");
        assert_string_equal(p, "/etc/aws/config-/etc/aws-$UNSET_VAR_X-$");
        free(p);
        p = aws_config_expand_path("~user/x");
        assert_string_equal(p, "~user/x");
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_files_default_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_precedence, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_profile_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_credentials_file_overrides_config, setup, teardown),
                cmocka_unit_test_setup_teardown(test_profile_names, setup, teardown),
                cmocka_unit_test_setup_teardown(test_services_section, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_file_refused_naming_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_find_prefix, setup, teardown),
                cmocka_unit_test(test_expand_path),
        };
        return cmocka_run_group_tests_name("awsconfig", tests, NULL, NULL);
}
