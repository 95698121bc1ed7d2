/* ebs_snapshots config and volumes: attributes, description, volume selection, tags. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ebs_settings.h"
#include "ebs_volumes.h"

static json_object *defaults_with(const char *overlay)
{
        json_object *d = json_tokener_parse(ebs_defaults_json), *o;

        assert_non_null(d);
        if (!overlay)
                return d;
        o = json_tokener_parse(overlay);
        assert_non_null(o);
        json_object_object_foreach(o, k, v) json_object_object_add(d, k, json_object_get(v));
        json_object_put(o);
        return d;
}

/* Parses DEFAULTS+OVERLAY; returns the result and leaves the message in ERR. */
static int parse(const char *overlay, struct ebs_config *c, char *err, json_object **keep)
{
        json_object *d = defaults_with(overlay);
        int r;

        err[0] = '\0';
        r = ebs_config_parse(d, c, err, EBS_ERR_MAX);
        *keep = d;
        return r;
}

static void test_defaults(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d, *schema = json_tokener_parse(ebs_schema_json);

        assert_non_null(schema); /* the schema is valid JSON */
        json_object_put(schema);
        assert_int_equal(parse(NULL, &c, err, &d), 0);
        assert_int_equal(c.policy.kind, RETENTION_KEEP_NEWEST);
        assert_int_equal(c.policy.keep, 15);
        assert_int_equal(c.n_devices, 0);
        assert_true(c.include_root);
        assert_int_equal(c.mode, EBS_MODE_PER_VOLUME);
        assert_true(c.skip_pending);
        assert_false(c.freeze);
        assert_int_equal(c.freeze_timeout_seconds, 10);
        assert_string_equal(c.description, "%h: automated snapshot of %d (%v)");
        ebs_config_free(&c);
        json_object_put(d);
}

static void test_policies(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d;

        assert_int_equal(parse("{\"max_age_days\": 30}", &c, err, &d), 0);
        assert_int_equal(c.policy.kind, RETENTION_MAX_AGE);
        assert_int_equal(c.policy.max_age_days, 30);
        ebs_config_free(&c);
        json_object_put(d);

        assert_int_equal(parse("{\"tiers\": {\"daily\": 7, \"weekly\": 4, \"monthly\": 6}}", &c, err, &d), 0);
        assert_int_equal(c.policy.kind, RETENTION_TIERS);
        assert_int_equal(c.policy.daily + c.policy.weekly + c.policy.monthly, 17);
        ebs_config_free(&c);
        json_object_put(d);

        assert_int_equal(parse("{\"tiers\": {\"daily\": 7}, \"max_age_days\": 3}", &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "either tiers or max_age_days"));
        json_object_put(d);

        assert_int_equal(parse("{\"tiers\": {\"daily\": 0}}", &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "ebs_snapshots.tiers"));
        json_object_put(d);
}

/* Each limit, on both sides. */
static void test_limits(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX], buf[256];
        json_object *d;

        snprintf(buf, sizeof buf, "{\"keep\": %u}", RETENTION_KEEP_MAX);
        assert_int_equal(parse(buf, &c, err, &d), 0);
        ebs_config_free(&c);
        json_object_put(d);
        snprintf(buf, sizeof buf, "{\"keep\": %u}", RETENTION_KEEP_MAX + 1);
        assert_int_equal(parse(buf, &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "ebs_snapshots.keep"));
        json_object_put(d);
        assert_int_equal(parse("{\"keep\": 0}", &c, err, &d), -EINVAL);
        json_object_put(d);
        assert_int_equal(parse("{\"keep\": \"15\"}", &c, err, &d), -EINVAL);
        json_object_put(d);

        snprintf(buf, sizeof buf, "{\"max_age_days\": %u}", RETENTION_MAX_AGE_DAYS_MAX + 1);
        assert_int_equal(parse(buf, &c, err, &d), -EINVAL);
        json_object_put(d);
        snprintf(buf, sizeof buf, "{\"tiers\": {\"weekly\": %u}}", RETENTION_TIER_MAX + 1);
        assert_int_equal(parse(buf, &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "tiers.weekly"));
        json_object_put(d);

        snprintf(buf, sizeof buf, "{\"freeze\": {\"enable\": true, \"timeout_seconds\": %d}}", EBS_FREEZE_TIMEOUT_MAX);
        assert_int_equal(parse(buf, &c, err, &d), 0);
        assert_true(c.freeze);
        ebs_config_free(&c);
        json_object_put(d);
        snprintf(buf, sizeof buf, "{\"freeze\": {\"timeout_seconds\": %d}}", EBS_FREEZE_TIMEOUT_MAX + 1);
        assert_int_equal(parse(buf, &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "freeze.timeout_seconds"));
        json_object_put(d);
        assert_int_equal(parse("{\"freeze\": {\"mountpoints\": [\"srv\"]}}", &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "absolute"));
        json_object_put(d);
}

static void test_devices_limit(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d = defaults_with(NULL), *arr = json_object_new_array();

        for (int i = 0; i < EBS_DEVICES_MAX; i++)
                json_object_array_add(arr, json_object_new_string("/dev/sdf"));
        json_object_object_add(d, "devices", arr);
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), 0);
        assert_int_equal(c.n_devices, EBS_DEVICES_MAX);
        ebs_config_free(&c);
        json_object_array_add(arr, json_object_new_string("/dev/sdg"));
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "ebs_snapshots.devices"));
        json_object_put(d);
}

/* 44 user tags fit beside opsagent's 6 (AWS allows 50); 45 do not. Reserved keys refused. */
static void test_tag_limits(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX], key[32];
        json_object *d = defaults_with(NULL), *tags = json_object_new_object();
        struct ebs_tagset set;
        char longval[EBS_TAG_VALUE_MAX + 2];

        for (int i = 0; i < EBS_USER_TAGS_MAX; i++) {
                snprintf(key, sizeof key, "k%d", i);
                json_object_object_add(tags, key, json_object_new_string("v"));
        }
        json_object_object_add(d, "tags", tags);
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), 0);
        ebs_build_tags(&c, "i-1", "web1", "/dev/sdf", "0123456789abcdef0123456789abcdef", &set);
        assert_int_equal(set.n, EBS_TAGS_MAX);
        ebs_config_free(&c);
        json_object_object_add(tags, "one-too-many", json_object_new_string("v"));
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "at most 44"));
        json_object_put(d);

        d = defaults_with("{\"tags\": {\"opsagent:managed\": \"false\"}}");
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "reserved"));
        json_object_put(d);
        d = defaults_with("{\"tags\": {\"aws:x\": \"1\"}}");
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), -EINVAL);
        json_object_put(d);

        memset(longval, 'x', sizeof longval - 1);
        longval[sizeof longval - 1] = '\0';
        d = defaults_with(NULL);
        tags = json_object_new_object();
        json_object_object_add(tags, "Team", json_object_new_string(longval));
        json_object_object_add(d, "tags", tags);
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), -EINVAL);
        assert_non_null(strstr(err, "tags.Team"));
        longval[EBS_TAG_VALUE_MAX] = '\0';
        json_object_object_add(tags, "Team", json_object_new_string(longval));
        assert_int_equal(ebs_config_parse(d, &c, err, sizeof err), 0);
        ebs_config_free(&c);
        json_object_put(d);
}

static const char *tag(const struct ebs_tagset *s, const char *key)
{
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->tags[i].key, key) == 0)
                        return s->tags[i].value;
        return NULL;
}

static void test_tags_content(void **state)
{
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d;
        struct ebs_tagset s;

        assert_int_equal(parse("{\"tags\": {\"Team\": \"ops\"}}", &c, err, &d), 0);
        ebs_build_tags(&c, "i-0abc", "web1", "/dev/sdf", "run-1", &s);
        assert_string_equal(tag(&s, "opsagent:managed"), "true");
        assert_string_equal(tag(&s, "opsagent:run-id"), "run-1");
        assert_string_equal(tag(&s, "opsagent:instance-id"), "i-0abc");
        assert_string_equal(tag(&s, "opsagent:device"), "/dev/sdf");
        assert_string_equal(tag(&s, "opsagent:hostname"), "web1");
        assert_string_equal(tag(&s, "Name"), "web1 /dev/sdf");
        assert_string_equal(tag(&s, "Team"), "ops");
        /* multi-volume: no device tag at creation */
        ebs_build_tags(&c, "i-0abc", "web1", NULL, "run-1", &s);
        assert_null(tag(&s, "opsagent:device"));
        assert_string_equal(tag(&s, "opsagent:run-id"), "run-1");
        ebs_config_free(&c);
        json_object_put(d);

        assert_int_equal(parse("{\"tags\": {\"Name\": \"nightly\"}}", &c, err, &d), 0);
        ebs_build_tags(&c, "i-0abc", "web1", "/dev/sdf", "run-1", &s);
        assert_string_equal(tag(&s, "Name"), "nightly");
        assert_int_equal(s.n, 6);
        ebs_config_free(&c);
        json_object_put(d);
}

static void test_description(void **state)
{
        char buf[EBS_DESCRIPTION_BUF], fmt[600], small[8];
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d;

        assert_int_equal(ebs_format_description("%h: automated snapshot of %d (%v)", "web1", "/dev/sdf",
                                                "vol-1", "i-1", buf, sizeof buf), 0);
        assert_string_equal(buf, "web1: automated snapshot of /dev/sdf (vol-1)");
        assert_int_equal(ebs_format_description("%i 100%% %v", "h", "d", "vol-1", "i-1", buf, sizeof buf), 0);
        assert_string_equal(buf, "i-1 100% vol-1");
        assert_int_equal(ebs_format_description("50%", "h", "d", "v", "i", buf, sizeof buf), -EINVAL);
        assert_int_equal(ebs_format_description("%x", "h", "d", "v", "i", buf, sizeof buf), -EINVAL);
        assert_int_equal(ebs_format_description("x", "h", "d", "v", "i", small, sizeof small), -ENOBUFS);

        /* cut at 255 bytes, never inside a UTF-8 sequence */
        memset(fmt, 'a', 254);
        strcpy(fmt + 254, "\xc3\xa9tail"); /* é straddles the limit */
        assert_int_equal(ebs_format_description(fmt, "h", "d", "v", "i", buf, sizeof buf), 0);
        assert_int_equal(strlen(buf), 254);
        memset(fmt, 'a', 255);
        strcpy(fmt + 255, "%h");
        assert_int_equal(ebs_format_description(fmt, "host", "d", "v", "i", buf, sizeof buf), 0);
        assert_int_equal(strlen(buf), EBS_DESCRIPTION_MAX);

        assert_int_equal(parse("{\"description\": \"%q\"}", &c, err, &d), -EINVAL);
        assert_non_null(strstr(err, "ebs_snapshots.description"));
        json_object_put(d);
        {
                char big[EBS_DESCRIPTION_FMT_MAX + 40];
                snprintf(big, sizeof big, "{\"description\": \"%0*d\"}", EBS_DESCRIPTION_FMT_MAX + 1, 0);
                assert_int_equal(parse(big, &c, err, &d), -EINVAL);
                json_object_put(d);
                snprintf(big, sizeof big, "{\"description\": \"%0*d\"}", EBS_DESCRIPTION_FMT_MAX, 0);
                assert_int_equal(parse(big, &c, err, &d), 0);
                ebs_config_free(&c);
                json_object_put(d);
        }
}

static void test_device_equal(void **state)
{
        assert_true(ebs_device_equal("/dev/sdf", "xvdf"));
        assert_true(ebs_device_equal("sdf", "/dev/xvdf"));
        assert_true(ebs_device_equal("/dev/sda1", "/dev/xvda"));
        assert_false(ebs_device_equal("/dev/sdf", "/dev/sdg"));
        assert_false(ebs_device_equal("/dev/sdf", NULL));
        assert_true(ebs_device_equal("nvme1n1", "/dev/nvme1n1"));
        assert_false(ebs_device_equal("nvme1n1", "nvme1n1p1"));
}

static char d_root[] = "/dev/xvda", d_f[] = "/dev/sdf", d_g[] = "/dev/sdg", d_h[] = "/dev/sdh";
static char v_root[] = "vol-root", v_f[] = "vol-f", v_g[] = "vol-g", v_h[] = "vol-h";
static char s_att[] = "attached", s_det[] = "detaching";

static void instance(struct opsagent_ec2_instance *inst, struct opsagent_ec2_attachment a[4])
{
        memset(inst, 0, sizeof *inst);
        memset(a, 0, 4 * sizeof *a);
        a[0] = (struct opsagent_ec2_attachment){ d_root, v_root, s_att, true, true };
        a[1] = (struct opsagent_ec2_attachment){ d_f, v_f, s_att, false, false };
        a[2] = (struct opsagent_ec2_attachment){ d_g, v_g, s_att, false, false };
        a[3] = (struct opsagent_ec2_attachment){ d_h, v_h, s_det, false, false };
        inst->attachments = a;
        inst->n_attachments = 4;
}

static void select_with(const char *overlay, const char *const *nvme, bool expect[4], size_t *unmatched,
                        char reasons[4][EBS_REASON_MAX])
{
        struct ebs_config c;
        char err[EBS_ERR_MAX];
        json_object *d;
        struct opsagent_ec2_instance inst;
        struct opsagent_ec2_attachment a[4];
        struct ebs_target *t;
        struct ebs_unmatched *u;
        size_t n, nu;

        instance(&inst, a);
        assert_int_equal(parse(overlay, &c, err, &d), 0);
        assert_int_equal(ebs_select_volumes(&c, &inst, nvme, &t, &n, &u, &nu), 0);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < 4; i++) {
                expect[i] = t[i].selected;
                snprintf(reasons[i], EBS_REASON_MAX, "%s", t[i].reason);
                assert_true(t[i].selected == (t[i].reason[0] == '\0'));
        }
        *unmatched = nu;
        free(t);
        free(u);
        ebs_config_free(&c);
        json_object_put(d);
}

static void test_select(void **state)
{
        bool sel[4];
        size_t nu;
        char why[4][EBS_REASON_MAX];
        const char *nvme[] = { "nvme2n1", "vol-g", NULL };

        select_with(NULL, NULL, sel, &nu, why); /* all attached, root included */
        assert_true(sel[0] && sel[1] && sel[2]);
        assert_false(sel[3]);
        assert_non_null(strstr(why[3], "detaching"));

        select_with("{\"include_root\": false}", NULL, sel, &nu, why);
        assert_false(sel[0]);
        assert_non_null(strstr(why[0], "include_root"));
        assert_true(sel[1] && sel[2]);

        select_with("{\"devices\": [\"xvdf\", \"/dev/sdz\"]}", NULL, sel, &nu, why);
        assert_true(!sel[0] && sel[1] && !sel[2]);
        assert_non_null(strstr(why[2], "not listed"));
        assert_int_equal(nu, 1);

        select_with("{\"exclude_devices\": [\"vol-f\"], \"devices\": [\"/dev/sdf\", \"sdg\"]}", NULL, sel, &nu, why);
        assert_true(!sel[1] && sel[2]);
        assert_non_null(strstr(why[1], "exclude_devices"));
        assert_int_equal(nu, 0);

        /* an NVMe name, resolved to its volume id by the caller */
        select_with("{\"devices\": [\"/dev/nvme2n1\"]}", nvme, sel, &nu, why);
        assert_true(!sel[0] && !sel[1] && sel[2]);
        assert_int_equal(nu, 0);
        select_with("{\"devices\": [\"nvme5n1\"]}", nvme, sel, &nu, why);
        assert_int_equal(nu, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_policies),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_devices_limit),
                cmocka_unit_test(test_tag_limits),
                cmocka_unit_test(test_tags_content),
                cmocka_unit_test(test_description),
                cmocka_unit_test(test_device_equal),
                cmocka_unit_test(test_select),
        };
        return cmocka_run_group_tests_name("ebs_settings", tests, NULL, NULL);
}
