/* credentials: the chain's order, the instance role's document, refresh before expiry with an
 * injected clock, the warning about key files readable by others; the shared config files'
 * sources (credentials file, credential_process, config file), role chains through a fake STS
 * (what is asked of it, cycles refused), web identity, SSO and MFA refused, what the process
 * shares, and container credentials' URL rules. tests/integration/test_aws_config.py checks
 * the same chain against botocore. */
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

#include "canned_server.h"

#include "aws/awsconfig.h"
#include "aws/containercreds.h"
#include "aws/credentials.h"
#include "aws/credprocess.h"
#include "aws/imds.h"
#include "util/buf.h"
#include "util/fileio.h"
#include "util/log.h"

static time_t fake_time;

static time_t fake_now(void *u)
{
        return fake_time;
}

static const char *const chain_env[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL,
};

static int setup(void **state)
{
        for (size_t i = 0; chain_env[i]; i++)
                unsetenv(chain_env[i]);
        setenv("AWS_CONFIG_FILE", "/nonexistent/opsagent-tests/config", 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/opsagent-tests/credentials", 1);
        unsetenv("AWS_ACCESS_KEY_ID");
        unsetenv("AWS_SECRET_ACCESS_KEY");
        unsetenv("AWS_SESSION_TOKEN");
        log_forget_secrets();
        credentials_forget_shared();
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

/* ---- the shared config files and roles ---------------------------------------------------- */

struct files {
        char dir[64], config[128], credentials[128];
        struct aws_config *cfg;
        /* the fake STS: what it was asked */
        unsigned calls;
        char asked[8][256];
};

static void files_write(struct files *f, const char *config, const char *credentials)
{
        if (config)
                assert_int_equal(write_file_atomic(f->config, config, strlen(config), 0600), 0);
        if (credentials)
                assert_int_equal(write_file_atomic(f->credentials, credentials, strlen(credentials), 0600), 0);
}

static void files_init(struct files *f, const char *config, const char *credentials)
{
        memset(f, 0, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/opsagent-chain-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->config, sizeof(f->config), "%s/config", f->dir);
        snprintf(f->credentials, sizeof(f->credentials), "%s/credentials", f->dir);
        files_write(f, config, credentials);
        setenv("AWS_CONFIG_FILE", f->config, 1);
        setenv("AWS_SHARED_CREDENTIALS_FILE", f->credentials, 1);
}

static void files_load(struct files *f, const char *profile_attr)
{
        struct error err = ERROR_INIT;

        aws_config_free(f->cfg);
        f->cfg = NULL;
        if (aws_config_load(profile_attr, &f->cfg, &err) < 0)
                fail_msg("%s", err.msg);
}

static void files_done(struct files *f)
{
        char cmd[128];

        aws_config_free(f->cfg);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        assert_int_equal(system(cmd), 0);
}

/* Hands out ASIA<n>; remembers "RoleArn|session|external id|duration|source key or token". */
static int fake_sts(void *u, const struct credentials_sts_request *rq, struct aws_credentials *ret, struct error *err)
{
        struct files *f = u;
        char key[32];

        if (f->calls == 8)
                return error_set(err, -EIO, "too many STS calls");
        snprintf(f->asked[f->calls], sizeof(f->asked[0]), "%s %s|%s|%s|%d|%s", rq->web_identity ? "web" : "role",
                 rq->role_arn, rq->session_name, rq->external_id ? rq->external_id : "-", rq->duration_seconds,
                 rq->web_identity ? rq->web_identity_token : rq->source->access_key_id);
        snprintf(key, sizeof(key), "ASIA%u", ++f->calls);
        *ret = (struct aws_credentials){ strdup(key), strdup("sts-secret-value"), strdup("sts-token-value"),
                                         fake_time + 3600, CREDENTIALS_NONE };
        return 0;
}

static void provider(struct credentials_provider *p, struct files *f)
{
        *p = (struct credentials_provider){ .config = f->cfg, .sts = fake_sts, .sts_userdata = f, .now = fake_now };
}

static const struct credentials_step *chosen(const struct credentials_provider *p)
{
        for (size_t i = 0; i < p->trace.n; i++)
                if (p->trace.steps[i].chosen)
                        return &p->trace.steps[i];
        return NULL;
}

static void test_files_in_the_sdks_order(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        char script[160], conf[512];

        files_init(&f, NULL, NULL);
        snprintf(script, sizeof(script), "%s/creds.sh", f.dir);
        {
                const char *sh = "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS\", "
                                 "\"SecretAccessKey\": \"process-secret-1\", \"SessionToken\": \"process-token-1\"}'\n";

                assert_int_equal(write_file_atomic(script, sh, strlen(sh), 0755), 0);
        }
        snprintf(conf, sizeof(conf), "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = config-secret\n"
                                     "credential_process = %s --flag 'a b'\n", script);
        files_write(&f, conf, "[default]\naws_access_key_id = AKIACREDFILE\naws_secret_access_key = credfile-secret\n");
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIACREDFILE");          /* 6. the credentials file */
        assert_int_equal(c->source, CREDENTIALS_SHARED_FILE);
        assert_non_null(strstr(chosen(&p)->text, f.credentials));
        credentials_provider_done(&p);

        assert_int_equal(write_file_atomic(f.credentials, "", 0, 0600), 0);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIAPROCESS");           /* 7. credential_process */
        assert_string_equal(c->session_token, "process-token-1");
        assert_int_equal(c->source, CREDENTIALS_PROCESS);
        {
                char *clean = log_scrub("process-secret-1 process-token-1");

                assert_string_equal(clean, "(redacted) (redacted)");
                free(clean);
        }
        credentials_provider_done(&p);

        files_write(&f, "[default]\naws_access_key_id = AKIACONFIG\naws_secret_access_key = config-secret\n", "");
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIACONFIG");            /* 8. the config file */
        assert_int_equal(c->source, CREDENTIALS_CONFIG_FILE);
        /* everything before it said why it was skipped */
        assert_true(p.trace.n >= 7);
        assert_int_equal(p.trace.steps[0].source, CREDENTIALS_RECIPE);
        assert_int_equal(p.trace.steps[1].source, CREDENTIALS_ENV);
        assert_non_null(strstr(p.trace.steps[1].text, "AWS_ACCESS_KEY_ID is not set"));
        assert_int_equal(p.trace.steps[2].source, CREDENTIALS_ASSUME_ROLE);
        credentials_provider_done(&p);
        files_done(&f);
}

static void test_env_and_explicit_profile(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        files_init(&f, "[profile ops]\naws_access_key_id = AKIAOPS\naws_secret_access_key = ops-secret\n", NULL);
        setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-secret-9", 1);
        setenv("AWS_PROFILE", "ops", 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIAENV");               /* AWS_PROFILE does not hide them */
        credentials_provider_done(&p);
        unsetenv("AWS_PROFILE");
        files_load(&f, "ops");                                          /* aws.profile does, as in botocore */
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(c->access_key_id, "AKIAOPS");
        assert_non_null(strstr(p.trace.steps[1].text, "aws.profile"));
        credentials_provider_done(&p);

        unsetenv("AWS_SECRET_ACCESS_KEY");
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), -EINVAL);       /* half a pair: refused, not skipped */
        assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
        credentials_provider_done(&p);
        files_done(&f);
}

static void test_role_chain(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        fake_time = 5000;
        files_init(&f, "[profile top]\nrole_arn = arn:aws:iam::1:role/Top\nsource_profile = middle\n"
                       "external_id = ext-1\nrole_session_name = nightly\nduration_seconds = 900\n"
                       "[profile middle]\nrole_arn = arn:aws:iam::1:role/Middle\nsource_profile = base\n"
                       "duration_seconds = soon\n",
                   "[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = base-secret\n");
        setenv("AWS_PROFILE", "top", 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_int_equal(f.calls, 2);
        /* the inner role first, with base's keys; a duration that is not a number is left out */
        assert_string_equal(f.asked[0], "role arn:aws:iam::1:role/Middle|opsagent-session-5000|-|0|AKIABASE");
        assert_string_equal(f.asked[1], "role arn:aws:iam::1:role/Top|nightly|ext-1|900|ASIA1");
        assert_string_equal(c->access_key_id, "ASIA2");
        assert_int_equal(c->source, CREDENTIALS_ASSUME_ROLE);
        assert_int_equal(c->expiration, 5000 + 3600);
        assert_non_null(strstr(chosen(&p)->text, "arn:aws:iam::1:role/Top"));
        assert_non_null(strstr(chosen(&p)->text, "role arn:aws:iam::1:role/Middle"));

        /* kept until due; then resolved again */
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_int_equal(f.calls, 2);
        fake_time = 5000 + 3600 - CREDENTIALS_REFRESH_BEFORE_S;
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_int_equal(f.calls, 4);
        assert_string_equal(c->access_key_id, "ASIA4");
        credentials_provider_done(&p);
        files_done(&f);
}

/* What one provider resolved, the next one of the process takes; ExpiredToken forgets it. */
static void test_resolution_shared_by_the_process(void **state)
{
        struct files f;
        struct credentials_provider p, q;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        fake_time = 1000;
        files_init(&f, "[default]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = default\n"
                       "aws_access_key_id = AKIASELF\naws_secret_access_key = self-secret\n", NULL);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        /* a profile may name itself when it holds static keys */
        assert_string_equal(f.asked[0], "role arn:aws:iam::1:role/R|opsagent-session-1000|-|0|AKIASELF");
        provider(&q, &f);
        assert_int_equal(credentials_get(&q, &c, &err), 0);
        assert_int_equal(f.calls, 1);
        assert_string_equal(c->access_key_id, "ASIA1");
        assert_true(q.trace.cached);
        assert_true(credentials_invalidate(&q));
        assert_int_equal(credentials_get(&q, &c, &err), 0);
        assert_int_equal(f.calls, 2);
        credentials_provider_done(&p);
        credentials_provider_done(&q);
        files_done(&f);
}

static void refused(const char *config, const char *profile, int code, const char *needle)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        files_init(&f, config, NULL);
        setenv("AWS_PROFILE", profile, 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), code);
        if (!strstr(err.msg, needle))
                fail_msg("\"%s\" lacks \"%s\"", err.msg, needle);
        assert_int_equal(f.calls, 0);
        credentials_provider_done(&p);
        files_done(&f);
        unsetenv("AWS_PROFILE");
}

static void test_role_configurations_refused(void **state)
{
        refused("[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = b\n"
                "[profile b]\nrole_arn = arn:aws:iam::1:role/B\nsource_profile = a\n",
                "a", -EINVAL, "source_profile loop (a -> b -> a)");
        refused("[profile a]\nrole_arn = arn:aws:iam::1:role/A\nsource_profile = a\n", "a", -EINVAL,
                "source_profile loop");
        refused("[profile a]\nrole_arn = arn:aws:iam::1:role/A\n", "a", -EINVAL,
                "has role_arn but neither source_profile nor credential_source");
        refused("[profile a]\nrole_arn = r\nsource_profile = b\ncredential_source = Environment\n[profile b]\n", "a",
                -EINVAL, "both source_profile and credential_source");
        refused("[profile a]\nrole_arn = r\nsource_profile = nope\n", "a", -EINVAL, "\"nope\" does not exist");
        refused("[profile a]\nrole_arn = r\nsource_profile = b\n[profile b]\nregion = x\n", "a", -EINVAL,
                "the source profile \"b\" must have credentials");
        refused("[profile a]\nrole_arn = r\ncredential_source = Ec2Config\n", "a", -EINVAL,
                "credential_source \"Ec2Config\" is not one of");
        refused("[profile a]\nrole_arn = r\ncredential_source = environment\n", "a", -ENOKEY,
                "AWS_ACCESS_KEY_ID is not set");
        refused("[profile a]\nrole_arn = r\nsource_profile = b\nmfa_serial = arn:aws:iam::1:mfa/me\n[profile b]\n", "a",
                -EINVAL, "cannot ask for an MFA code");
        refused("[profile sso]\nsso_session = corp\nsso_account_id = 1\n[sso-session corp]\nsso_start_url = x\n",
                "sso", -EINVAL, "opsagent does not do SSO");
        refused("[profile w]\nweb_identity_token_file = /nonexistent/token\n", "w", -EINVAL, "no role");
}

static void test_credential_source_environment(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        files_init(&f, "[profile a]\nrole_arn = arn:aws:iam::1:role/A\ncredential_source = Environment\n", NULL);
        setenv("AWS_ACCESS_KEY_ID", "AKIAENVSRC", 1);
        setenv("AWS_SECRET_ACCESS_KEY", "env-src-secret", 1);
        files_load(&f, "a");    /* named by aws.profile: env keys are not the answer, but a source */
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_int_equal(f.calls, 1);
        assert_non_null(strstr(f.asked[0], "|AKIAENVSRC"));
        credentials_provider_done(&p);
        files_done(&f);
}

static void test_web_identity(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        char token[160];
        char *clean;

        fake_time = 7000;
        files_init(&f, "[default]\nregion = eu-west-1\n", NULL);
        snprintf(token, sizeof(token), "%s/token", f.dir);
        assert_int_equal(write_file_atomic(token, "eyJ-web-identity-token\n", 23, 0600), 0);
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
        setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/Pod", 1);
        setenv("AWS_ROLE_SESSION_NAME", "pod-1", 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), 0);
        assert_string_equal(f.asked[0], "web arn:aws:iam::1:role/Pod|pod-1|-|0|eyJ-web-identity-token\n");
        assert_int_equal(c->source, CREDENTIALS_WEB_IDENTITY);
        clean = log_scrub("token eyJ-web-identity-token");
        assert_string_equal(clean, "token (redacted)");
        free(clean);
        credentials_provider_done(&p);
        files_done(&f);
}

static void test_process_failures(void **state)
{
        static const struct {
                const char *script;
                int code;
                const char *needle;
        } cases[] = {
                { "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"never-shown-1\"}'", -EBADMSG,
                  "unsupported \"Version\"" },
                { "echo '{\"Version\": 1, \"SecretAccessKey\": \"never-shown-2\"}'", -EBADMSG, "lacks AccessKeyId" },
                { "echo 'not json never-shown-3'", -EBADMSG, "not a JSON object" },
                { "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"never-shown-4\"}'; "
                  "echo 'denied never-shown-4' >&2; exit 3", -EIO, "exited with status 3: denied (redacted)" },
                { "exec head -c 70000 /dev/zero", -E2BIG, "more than 65536 bytes" },
                { "exec sleep 30", -ETIMEDOUT, "still running after 300 ms" },
        };
        char dir[] = "/tmp/opsagent-proc-XXXXXX", path[128];

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/p.sh", dir);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct aws_credentials c = { 0 };
                struct error err = ERROR_INIT;
                char sh[512];

                snprintf(sh, sizeof(sh), "#!/bin/sh\n%s\n", cases[i].script);
                assert_int_equal(write_file_atomic(path, sh, strlen(sh), 0755), 0);
                assert_int_equal(credprocess_run(path, "credential_process of profile \"t\"", 300, &c, &err),
                                 cases[i].code);
                if (!strstr(err.msg, cases[i].needle) || strstr(err.msg, "never-shown"))
                        fail_msg("case %zu: %s", i, err.msg);
        }
        {
                struct aws_credentials c = { 0 };
                struct error err = ERROR_INIT;

                assert_int_equal(credprocess_run("/nonexistent/creds-helper --x", "cp", 0, &c, &err), -ENOENT);
                error_clear(&err);
                assert_int_equal(credprocess_run("  ", "cp", 0, &c, &err), -EINVAL);
        }
        unlink(path);
        rmdir(dir);
}

static void test_container_urls(void **state)
{
        static const char *const ok[] = { "http://127.0.0.1:8080/creds", "http://127.1.2.3/x", "http://[::1]:9/x",
                                          "http://169.254.170.2/v2/credentials/1", "http://169.254.170.23/v1/credentials",
                                          "http://[fd00:ec2::23]/v1/credentials", "http://localhost:1/x",
                                          "https://creds.example.com/x" };
        static const char *const bad[] = { "http://10.0.0.1/creds", "http://example.com/creds",
                                           "http://169.254.169.254/latest", "http://[::2]/x" };
        char *u = NULL;
        const char *var = NULL;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                struct error err = ERROR_INIT;

                if (containercreds_check_url(ok[i], &err) < 0)
                        fail_msg("%s: %s", ok[i], err.msg);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct error err = ERROR_INIT;

                assert_int_equal(containercreds_check_url(bad[i], &err), -EACCES);
                assert_non_null(strstr(err.msg, "use https"));
        }
        assert_int_equal(containercreds_url(&u, &var), -ENOENT);
        setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/x", 1);
        assert_true(containercreds_configured());
        assert_int_equal(containercreds_url(&u, &var), 0);     /* the relative one first, as botocore */
        assert_string_equal(u, "http://169.254.170.2/v2/credentials/abc");
        assert_string_equal(var, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        free(u);
        unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
}

static void test_mask_key_id(void **state)
{
        char b[32];

        credentials_mask_key_id("AKIAIOSFODNN7EXAMPLE", b, sizeof(b));
        assert_string_equal(b, "****************MPLE");
        credentials_mask_key_id("AKI", b, sizeof(b));
        assert_string_equal(b, "****");
}

static void test_chain_depth_limit(void **state)
{
        struct buf b = BUF_INIT(64 * 1024);
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;

        /* p0 -> p1 -> ... -> p17 (static): one hop more than CREDENTIALS_MAX_CHAIN */
        for (int i = 0; i <= CREDENTIALS_MAX_CHAIN; i++)
                assert_int_equal(buf_printf(&b, "[profile p%d]\nrole_arn = arn:aws:iam::1:role/R%d\nsource_profile = p%d\n",
                                            i, i, i + 1), 0);
        assert_int_equal(buf_printf(&b, "[profile p%d]\naws_access_key_id = AKIAEND\naws_secret_access_key = end-s\n",
                                    CREDENTIALS_MAX_CHAIN + 1), 0);
        files_init(&f, buf_str(&b), NULL);
        setenv("AWS_PROFILE", "p0", 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "more than 16 roles chained"));
        assert_int_equal(f.calls, 0);
        credentials_provider_done(&p);
        files_done(&f);
        buf_free(&b);
}

static void test_token_file_limit(void **state)
{
        struct files f;
        struct credentials_provider p;
        const struct aws_credentials *c;
        struct error err = ERROR_INIT;
        char token[160];
        char *big = malloc(CREDENTIALS_TOKEN_FILE_MAX + 1);

        assert_non_null(big);
        memset(big, 'j', CREDENTIALS_TOKEN_FILE_MAX + 1);
        files_init(&f, NULL, NULL);
        snprintf(token, sizeof(token), "%s/token", f.dir);
        assert_int_equal(write_file_atomic(token, big, CREDENTIALS_TOKEN_FILE_MAX + 1, 0600), 0);
        setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
        setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/Pod", 1);
        files_load(&f, NULL);
        provider(&p, &f);
        assert_int_equal(credentials_get(&p, &c, &err), -EFBIG);
        assert_non_null(strstr(err.msg, "larger than the limit"));
        assert_int_equal(f.calls, 0);
        credentials_provider_done(&p);
        files_done(&f);
        free(big);
}

static void test_container_fetch(void **state)
{
        static char big[CONTAINERCREDS_MAX_RESPONSE + 256], answer[512];
        const char *body = "{\"AccessKeyId\": \"ASIACONT\", \"SecretAccessKey\": \"container-secret-1\", \"Token\": "
                           "\"container-tok-1\", \"Expiration\": \"2099-01-01T00:00:00Z\"}";
        const char *ok = answer;
        struct canned_server srv;
        struct aws_credentials c = { 0 };
        struct error err = ERROR_INIT;
        char url[96];

        snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(body), body);
        assert_int_equal(canned_start(&srv, &ok, 1), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/credentials", srv.port);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Bearer auth-token-xyz", 1);
        assert_int_equal(containercreds_fetch(&c, &err), 0);
        canned_stop(&srv);
        assert_string_equal(c.access_key_id, "ASIACONT");
        assert_int_equal(c.source, CREDENTIALS_CONTAINER);
        assert_int_equal(c.expiration, 4070908800);
        assert_non_null(strstr(srv.requests[0], "Authorization: Bearer auth-token-xyz\r\n"));
        canned_free(&srv);
        credentials_clear(&c);

        /* an answer one past the cap: refused at once, not retried */
        snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", CONTAINERCREDS_MAX_RESPONSE + 1);
        memset(big + strlen(big), 'x', CONTAINERCREDS_MAX_RESPONSE + 1);
        {
                const char *r1 = big;

                assert_int_equal(canned_start(&srv, &r1, 1), 0);
        }
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/credentials", srv.port);
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        assert_int_equal(containercreds_fetch(&c, &err), -E2BIG);
        assert_non_null(strstr(err.msg, "larger than 65536 bytes"));
        canned_stop(&srv);
        canned_free(&srv);
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

        /* a token with a line break never becomes a header */
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/x", 1);
        setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Evil: 1", 1);
        error_clear(&err);
        assert_int_equal(containercreds_fetch(&c, &err), -EINVAL);
        unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
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
                cmocka_unit_test_setup(test_files_in_the_sdks_order, setup),
                cmocka_unit_test_setup(test_env_and_explicit_profile, setup),
                cmocka_unit_test_setup(test_role_chain, setup),
                cmocka_unit_test_setup(test_resolution_shared_by_the_process, setup),
                cmocka_unit_test_setup(test_role_configurations_refused, setup),
                cmocka_unit_test_setup(test_credential_source_environment, setup),
                cmocka_unit_test_setup(test_web_identity, setup),
                cmocka_unit_test_setup(test_process_failures, setup),
                cmocka_unit_test_setup(test_container_urls, setup),
                cmocka_unit_test_setup(test_mask_key_id, setup),
                cmocka_unit_test_setup(test_chain_depth_limit, setup),
                cmocka_unit_test_setup(test_token_file_limit, setup),
                cmocka_unit_test_setup(test_container_fetch, setup),
        };
        log_setup(LOG_TARGET_STDERR, LOG_ERR);
        return cmocka_run_group_tests_name("credentials", tests, NULL, NULL);
}
