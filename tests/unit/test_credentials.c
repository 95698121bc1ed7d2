/* credentials: the chain's order, the instance role's document, refresh before expiry with an
 * injected clock, and the warning about key files readable by others. */
#include <errno.h>
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

#include "aws/credentials.h"
#include "aws/imds.h"
#include "util/fileio.h"
#include "util/log.h"

static time_t fake_time;

static time_t fake_now(void *u)
{
        return fake_time;
}

static int setup(void **state)
{
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_SESSION_TOKEN");
        log_forget_secrets();
        return 0;
}

static void test_recipe_keys_win(void **state)
{
        json_object *ra = json_tokener_parse("{\"aws_key\":\"AKIARECIPE\",\"aws_secret\":\"recipe-secret-1\"}");
        struct credentials_provider p = { .recipe_attrs = ra };
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        char *scrubbed;

        setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-1", 1);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIARECIPE");
        assert_int_equal(c->source, CREDENTIALS_RECIPE);
        scrubbed = log_scrub("key recipe-secret-1 leaked");
        assert_string_equal(scrubbed, "key (redacted) leaked");
        free(scrubbed);
        credentials_provider_done(&p);
        json_object_put(ra);
}

static void test_environment_with_session_token(void **state)
{
        struct credentials_provider p = { 0 };
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        char *scrubbed;

        setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-2", 1);
        setenv("AWS_SESSION_TOKEN", "env-session-token", 1);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_int_equal(c->source, CREDENTIALS_ENV);
        assert_string_equal(c->session_token, "env-session-token");
        scrubbed = log_scrub("env-secret-2 env-session-token");
        assert_string_equal(scrubbed, "(redacted) (redacted)");
        free(scrubbed);
        assert_false(credentials_invalidate(&p));  /* static keys cannot be refreshed */
        credentials_provider_done(&p);
}

static void test_half_a_pair_refused(void **state)
{
        json_object *ra = json_tokener_parse("{\"aws_key\":\"AKIARECIPE\"}");
        struct credentials_provider p = { .recipe_attrs = ra };
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        assert_int_equal(credentials_get(&p, &c, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "aws_secret"));
        credentials_provider_done(&p);
        json_object_put(ra);
}

static void test_none_found(void **state)
{
        struct credentials_provider p = { 0 };
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        /* No recipe attributes (the report's case): their keys are no way to give it any. */
        assert_int_equal(credentials_get(&p, &c, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "AWS_ACCESS_KEY_ID"));
        assert_null(strstr(err.msg, "aws_key"));
        /* A recipe's: its aws_key/aws_secret attributes are. */
        p.recipe_attrs = json_object_new_object();
        assert_non_null(p.recipe_attrs);
        error_clear(&err);
        assert_int_equal(credentials_get(&p, &c, &err), -ENOKEY);
        assert_non_null(strstr(err.msg, "aws_key/aws_secret in the recipe's attributes"));
        json_object_put(p.recipe_attrs);
}

static void test_role_document(void **state)
{
        struct aws_credentials c = { 0 };
        struct error err = ERROR_INIT;
        char *text = NULL, *scrubbed;

        assert_int_equal(read_file_capped(TEST_DATA_DIR "/aws/role-credentials.json", 65536, &text, NULL), 0);
        assert_int_equal(credentials_parse_role_json(text, &c, &err), 0);
        assert_string_equal(c.access_key_id, "ASIAEXAMPLEROLEKEY01");
        assert_int_equal(c.expiration, 1795474800); /* 2026-11-23T23:00:00Z */
        assert_int_equal(c.source, CREDENTIALS_IMDS);
        scrubbed = log_scrub(text);
        assert_null(strstr(scrubbed, "roleSecretExample"));
        assert_null(strstr(scrubbed, "IQoJb3JpZ2luX2VjEXAMPLETOKENVALUE0123456789"));
        free(scrubbed);
        credentials_clear(&c);
        free(text);

        assert_int_equal(credentials_parse_role_json("{\"Code\":\"Failure\"}", &c, &err), -EACCES);
        error_clear(&err);
        assert_int_equal(credentials_parse_role_json("[1]", &c, &err), -EBADMSG);
        error_clear(&err);
        assert_int_equal(credentials_parse_role_json(
                "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"Sxxxx\",\"Expiration\":\"soon\"}", &c, &err), -EBADMSG);
}

/* Role credentials are used until CREDENTIALS_REFRESH_BEFORE_S before they expire; then the
 * agent asks IMDS again (here nothing answers): still valid ones are kept, expired ones are not. */
static void test_role_refresh_before_expiry(void **state)
{
        struct imds_config ic = { .endpoint = "http://127.0.0.1:1", .attempts = 1, .timeout_ms = 500 };
        struct credentials_provider p = { .now = fake_now };
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        struct imds *m = NULL;

        assert_int_equal(imds_new(&ic, &m), 0);
        p.imds = m;
        p.role = strdup("role");
        p.cur.access_key_id = strdup("ASIA1");
        p.cur.secret_access_key = strdup("secret1");
        p.cur.source = CREDENTIALS_IMDS;
        p.cur.expiration = 10000;

        fake_time = 10000 - CREDENTIALS_REFRESH_BEFORE_S - 1;
        assert_int_equal(credentials_get(&p, &c, &err), 0);      /* fresh enough: no IMDS call */
        assert_string_equal(c->access_key_id, "ASIA1");

        fake_time = 10000 - 60;                                 /* refresh due, IMDS down */
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "ASIA1");

        fake_time = 10001;                                      /* expired, IMDS down */
        assert_true(credentials_get(&p, &c, &err) < 0);
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_SERVICE_ENDPOINT"));

        assert_true(credentials_invalidate(&p));
        assert_null(p.cur.access_key_id);
        credentials_provider_done(&p);
        imds_free(m);
}

static void test_key_file_readable_by_others_warned(void **state)
{
        char dir[] = "/tmp/opsagent-cred-XXXXXX";
        char path[256];
        const char *json = "{\"ebs_snapshots\":{\"aws_key\":\"AKIA\",\"aws_secret\":\"file-secret-123\"}}";

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/stack.json", dir);
        assert_int_equal(write_file_atomic(path, json, strlen(json), 0644), 0);
        assert_int_equal(credentials_warn_exposed_key_files(dir, "file-secret-123"), 1);
        assert_int_equal(credentials_warn_exposed_key_files(dir, "another-secret"), 0);
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(credentials_warn_exposed_key_files(dir, "file-secret-123"), 0);
        unlink(path);
        rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_recipe_keys_win, setup),
                cmocka_unit_test_setup(test_environment_with_session_token, setup),
                cmocka_unit_test_setup(test_half_a_pair_refused, setup),
                cmocka_unit_test_setup(test_none_found, setup),
                cmocka_unit_test_setup(test_role_document, setup),
                cmocka_unit_test_setup(test_role_refresh_before_expiry, setup),
                cmocka_unit_test_setup(test_key_file_readable_by_others_warned, setup),
        };
        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        return cmocka_run_group_tests_name("credentials", tests, NULL, NULL);
}
