/* unattended_upgrades: attributes to settings (checks and limits) and settings to files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "uu_attrs.h"
#include "uu_settings.h"

/* The shipped defaults with OVERRIDES (a JSON object text) merged on top, key by key. */
static json_object *attrs_with(const char *overrides)
{
        json_object *d = json_tokener_parse(uu_defaults_json);
        json_object *o = json_tokener_parse(overrides);

        assert_non_null(d);
        assert_non_null(o);
        json_object_object_foreach(o, k, v)
                json_object_object_add(d, k, json_object_get(v));
        json_object_put(o);
        return d;
}

struct parsed {
        json_object *root;
        struct uu_settings s;
};

static void parse_ok(struct parsed *p, const char *overrides)
{
        char *err = NULL;

        p->root = attrs_with(overrides);
        assert_int_equal(uu_settings_from_json(p->root, &p->s, &err), 0);
        assert_null(err);
}

static void parsed_done(struct parsed *p)
{
        uu_settings_done(&p->s);
        json_object_put(p->root);
}

/* Parsing OVERRIDES fails with -EINVAL and a message holding every one of the NEEDLES. */
static void parse_fails(const char *overrides, const char *needle, const char *needle2)
{
        json_object *root = attrs_with(overrides);
        struct uu_settings s = { 0 };
        char *err = NULL;

        assert_int_equal(uu_settings_from_json(root, &s, &err), -EINVAL);
        assert_non_null(err);
        if (!strstr(err, needle) || (needle2 && !strstr(err, needle2)))
                fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err, needle, needle2 ? needle2 : "");
        assert_null(s.package_blacklist);
        free(err);
        json_object_put(root);
}

static void assert_contains(const char *hay, const char *needle)
{
        if (!strstr(hay, needle))
                fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
        if (strstr(hay, needle))
                fail_msg("\"%s\" unexpectedly found in:\n%s", needle, hay);
}

/* Defaults and schema are valid JSON, cover the same keys, and the schema is closed. */
static void test_defaults_match_schema(void **state)
{
        json_object *d = json_tokener_parse(uu_defaults_json);
        json_object *schema = json_tokener_parse(uu_schema_json);
        json_object *props = NULL, *ap = NULL;

        assert_non_null(d);
        assert_non_null(schema);
        assert_true(json_object_object_get_ex(schema, "properties", &props));
        assert_true(json_object_object_get_ex(schema, "additionalProperties", &ap));
        assert_false(json_object_get_boolean(ap));
        assert_int_equal(json_object_object_length(d), json_object_object_length(props));
        json_object_object_foreach(d, k, v) {
                json_object *p = NULL;

                (void)v;
                if (!json_object_object_get_ex(props, k, &p))
                        fail_msg("default %s has no schema entry", k);
        }
        assert_int_equal(json_object_object_length(d), 15);
        json_object_put(d);
        json_object_put(schema);
}

static void test_defaults_as_the_cookbook(void **state)
{
        struct parsed p;

        parse_ok(&p, "{}");
        assert_false(p.s.enable_set);     /* null: automatic updates left as the OS has them */
        assert_false(p.s.fail_on_install_error);
        assert_true(p.s.update_package_lists);
        assert_null(p.s.allowed_origins);
        assert_non_null(p.s.package_blacklist);
        assert_int_equal(p.s.n_package_blacklist, 0);
        assert_false(p.s.auto_fix_interrupted_dpkg);
        assert_false(p.s.minimal_steps);
        assert_false(p.s.install_on_shutdown);
        assert_null(p.s.mail);
        assert_true(p.s.mail_only_on_error);
        assert_false(p.s.remove_unused_dependencies);
        assert_false(p.s.automatic_reboot);
        assert_string_equal(p.s.automatic_reboot_time, "now");
        assert_int_equal(p.s.dl_limit, 0);
        assert_true(p.s.install_packages);
        parsed_done(&p);
}

/* A key missing altogether (no shipped defaults merged) takes the same defaults. */
static void test_absent_keys_take_defaults(void **state)
{
        json_object *root = json_object_new_object();
        struct uu_settings s = { 0 };

        assert_int_equal(uu_settings_from_json(root, &s, NULL), 0);
        assert_false(s.enable_set);
        assert_true(s.update_package_lists);
        assert_true(s.mail_only_on_error);
        assert_string_equal(s.automatic_reboot_time, "now");
        assert_int_equal(s.n_package_blacklist, 0);
        uu_settings_done(&s);
        json_object_put(root);
}

/* The seed's Custom JSON, verbatim. */
static void test_seed_custom_json(void **state)
{
        struct parsed p;

        parse_ok(&p, "{\"package_blacklist\": [], \"enable\": true, \"mail\": \"youremail@here\","
                     " \"auto_fix_interrupted_dpkg\": true}");
        assert_true(p.s.enable);
        assert_string_equal(p.s.mail, "youremail@here");
        assert_true(p.s.auto_fix_interrupted_dpkg);
        assert_int_equal(p.s.n_package_blacklist, 0);
        parsed_done(&p);
}

static void test_wrong_types_name_the_key(void **state)
{
        parse_fails("{\"package_blacklist\": \"linux-image\"}", "apt.unattended_upgrades.package_blacklist",
                    "found string");
        parse_fails("{\"enable\": \"yes\"}", "apt.unattended_upgrades.enable", "expected a boolean");
        parse_fails("{\"mail\": 5}", "apt.unattended_upgrades.mail", "expected a string");
        parse_fails("{\"dl_limit\": \"70\"}", "apt.unattended_upgrades.dl_limit", "expected an integer");
        parse_fails("{\"package_blacklist\": [\"a\", 3]}", "apt.unattended_upgrades.package_blacklist[1]",
                    "found integer");
        parse_fails("{\"allowed_origins\": {}}", "apt.unattended_upgrades.allowed_origins", "found object");
}

static void test_root_must_be_object(void **state)
{
        json_object *arr = json_object_new_array();
        char *err = NULL;
        struct uu_settings s = { 0 };

        assert_int_equal(uu_settings_from_json(NULL, &s, &err), -EINVAL);
        assert_non_null(err);
        free(err);
        err = NULL;
        assert_int_equal(uu_settings_from_json(arr, &s, &err), -EINVAL);
        assert_contains(err, "expected an object");
        free(err);
        json_object_put(arr);
}

/* Builds {"KEY": [N strings]} as JSON text; caller frees. */
static char *list_of(const char *key, size_t n)
{
        size_t cap = 64 + n * 16;
        char *t = malloc(cap);
        size_t len;

        assert_non_null(t);
        len = (size_t)snprintf(t, cap, "{\"%s\": [", key);
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(t + len, cap - len, "%s\"pkg%zu\"", i ? "," : "", i);
        snprintf(t + len, cap - len, "]}");
        return t;
}

/* UU_LIST_MAX entries pass; one more is refused, naming the key and the limit. */
static void test_list_limit(void **state)
{
        char *t = list_of("package_blacklist", UU_LIST_MAX);
        struct parsed p;
        char limit[32];

        parse_ok(&p, t);
        assert_int_equal(p.s.n_package_blacklist, UU_LIST_MAX);
        assert_string_equal(p.s.package_blacklist[UU_LIST_MAX - 1], "pkg511");
        parsed_done(&p);
        free(t);
        t = list_of("allowed_origins", UU_LIST_MAX + 1);
        snprintf(limit, sizeof limit, "%u allowed", UU_LIST_MAX);
        parse_fails(t, "apt.unattended_upgrades.allowed_origins", limit);
        free(t);
}

/* A value of UU_VALUE_MAX bytes passes; one byte more is refused. */
static void test_value_length_limit(void **state)
{
        char v[UU_VALUE_MAX + 2];
        char json[UU_VALUE_MAX + 64];
        struct parsed p;

        memset(v, 'a', UU_VALUE_MAX);
        v[UU_VALUE_MAX] = '\0';
        snprintf(json, sizeof json, "{\"package_blacklist\": [\"%s\"]}", v);
        parse_ok(&p, json);
        assert_int_equal(strlen(p.s.package_blacklist[0]), UU_VALUE_MAX);
        parsed_done(&p);
        v[UU_VALUE_MAX] = 'a';
        v[UU_VALUE_MAX + 1] = '\0';
        snprintf(json, sizeof json, "{\"mail\": \"%s\"}", v);
        parse_fails(json, "apt.unattended_upgrades.mail", "longer than 255 bytes");
}

static void test_characters_files_cannot_hold(void **state)
{
        parse_fails("{\"package_blacklist\": [\"a\\\"b\"]}", "package_blacklist[0]", "'\"'");
        parse_fails("{\"mail\": \"100%@example.com\"}", "apt.unattended_upgrades.mail", "'%'");
        parse_fails("{\"package_blacklist\": [\"ok\", \"a\\nb\"]}", "package_blacklist[1]", "control character");
        parse_fails("{\"package_blacklist\": [\"two words\"]}", "package_blacklist[0]", "space");
        parse_fails("{\"mail\": \"a b@example.com\"}", "apt.unattended_upgrades.mail", "space");
        parse_fails("{\"package_blacklist\": [\"\"]}", "package_blacklist[0]", "empty");
}

/* Origins may hold spaces ("Google LLC:stable"); regular expressions pass in the blacklist. */
static void test_origins_with_spaces_and_regexps(void **state)
{
        struct parsed p;

        parse_ok(&p, "{\"allowed_origins\": [\"Google LLC:stable\"], \"package_blacklist\": [\"linux-.*\", \"libc6$\"]}");
        assert_int_equal(p.s.n_allowed_origins, 1);
        assert_string_equal(p.s.allowed_origins[0], "Google LLC:stable");
        assert_string_equal(p.s.package_blacklist[1], "libc6$");
        parsed_done(&p);
}

static void test_reboot_time(void **state)
{
        static const char *const good[] = { "now", "+5", "+10080", "02:30", "23:59", "00:00" };
        static const char *const bad[] = { "tomorrow", "+", "+1234567", "24:00", "12:60", "2:30", "+5m" };
        char json[128];

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
                struct parsed p;

                snprintf(json, sizeof json, "{\"automatic_reboot_time\": \"%s\"}", good[i]);
                parse_ok(&p, json);
                assert_string_equal(p.s.automatic_reboot_time, good[i]);
                parsed_done(&p);
        }
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                snprintf(json, sizeof json, "{\"automatic_reboot_time\": \"%s\"}", bad[i]);
                parse_fails(json, "apt.unattended_upgrades.automatic_reboot_time", "HH:MM");
        }
}

/* dl_limit: UU_DL_LIMIT_MIN..UU_DL_LIMIT_MAX pass, just outside is refused. */
static void test_dl_limit_range(void **state)
{
        char json[64];
        struct parsed p;

        snprintf(json, sizeof json, "{\"dl_limit\": %d}", UU_DL_LIMIT_MIN);
        parse_ok(&p, json);
        assert_int_equal(p.s.dl_limit, UU_DL_LIMIT_MIN);
        parsed_done(&p);
        snprintf(json, sizeof json, "{\"dl_limit\": %d}", UU_DL_LIMIT_MAX);
        parse_ok(&p, json);
        assert_int_equal(p.s.dl_limit, UU_DL_LIMIT_MAX);
        parsed_done(&p);
        snprintf(json, sizeof json, "{\"dl_limit\": %d}", UU_DL_LIMIT_MIN - 1);
        parse_fails(json, "apt.unattended_upgrades.dl_limit", "outside");
        snprintf(json, sizeof json, "{\"dl_limit\": %d}", UU_DL_LIMIT_MAX + 1);
        parse_fails(json, "apt.unattended_upgrades.dl_limit", "outside");
        parse_fails("{\"dl_limit\": 1.5}", "apt.unattended_upgrades.dl_limit", "found number");
}

static void test_comma_refused_only_for_rpm_exclude(void **state)
{
        struct parsed p;
        char *err = NULL;

        parse_ok(&p, "{\"package_blacklist\": [\"a{1,2}\"]}");
        assert_int_equal(uu_settings_check_family(&p.s, UU_FAMILY_DEBIAN, &err), 0);
        assert_int_equal(uu_settings_check_family(&p.s, UU_FAMILY_UBUNTU, &err), 0);
        assert_int_equal(uu_settings_check_family(&p.s, UU_FAMILY_DNF, &err), -EINVAL);
        assert_contains(err, "package_blacklist[0]");
        assert_contains(err, "dnf");
        free(err);
        err = NULL;
        assert_int_equal(uu_settings_check_family(&p.s, UU_FAMILY_YUM, &err), -EINVAL);
        assert_contains(err, "yum");
        free(err);
        parsed_done(&p);
}

static void test_security_only(void **state)
{
        struct parsed p;

        parse_ok(&p, "{}");
        assert_false(uu_origins_security_only(&p.s));   /* distribution default: release too */
        parsed_done(&p);
        parse_ok(&p, "{\"allowed_origins\": [\"${distro_id}:${distro_codename}-security\","
                     " \"origin=Debian,label=Debian-Security\"]}");
        assert_true(uu_origins_security_only(&p.s));
        parsed_done(&p);
        parse_ok(&p, "{\"allowed_origins\": [\"${distro_id}:${distro_codename}-security\","
                     " \"${distro_id}:${distro_codename}-updates\"]}");
        assert_false(uu_origins_security_only(&p.s));
        parsed_done(&p);
        parse_ok(&p, "{\"allowed_origins\": []}");
        assert_false(uu_origins_security_only(&p.s));
        parsed_done(&p);
}

static void test_unmapped_keys(void **state)
{
        const char *names[8];
        struct parsed p;

        parse_ok(&p, "{\"auto_fix_interrupted_dpkg\": true, \"minimal_steps\": true, \"install_on_shutdown\": true,"
                     " \"remove_unused_dependencies\": true, \"update_package_lists\": false,"
                     " \"mail\": \"ops@example.com\", \"automatic_reboot\": true}");
        assert_int_equal(uu_settings_unmapped(&p.s, UU_FAMILY_DEBIAN, names, 8), 0);
        assert_int_equal(uu_settings_unmapped(&p.s, UU_FAMILY_DNF, names, 8), 6);
        assert_string_equal(names[0], "update_package_lists");
        assert_string_equal(names[4], "mail_only_on_error");
        assert_int_equal(uu_settings_unmapped(&p.s, UU_FAMILY_YUM, names, 8), 7);
        assert_string_equal(names[6], "automatic_reboot");
        assert_int_equal(uu_settings_unmapped(&p.s, UU_FAMILY_YUM, names, 2), 2);
        parsed_done(&p);
        parse_ok(&p, "{}");
        assert_int_equal(uu_settings_unmapped(&p.s, UU_FAMILY_DNF, names, 8), 0);
        parsed_done(&p);
}

static void test_apt_periodic(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{\"enable\": true}");
        assert_int_equal(uu_render_apt_periodic(&p.s, &out), 0);
        assert_contains(out, "APT::Periodic::Update-Package-Lists \"1\";\n");
        assert_contains(out, "APT::Periodic::Unattended-Upgrade \"1\";\n");
        free(out);
        parsed_done(&p);
        parse_ok(&p, "{\"enable\": false, \"update_package_lists\": false}");
        assert_int_equal(uu_render_apt_periodic(&p.s, &out), 0);
        assert_contains(out, "APT::Periodic::Update-Package-Lists \"0\";\n");
        assert_contains(out, "APT::Periodic::Unattended-Upgrade \"0\";\n");
        free(out);
        parsed_done(&p);
}

/* Every list is cleared right before it is given, so it replaces the distribution's. */
static void test_apt_owned_lists_replace(void **state)
{
        static const char *const lists[] = { "Allowed-Origins", "Origins-Pattern", "Package-Blacklist" };
        struct parsed p;
        char *out = NULL;
        char want[160];

        parse_ok(&p, "{\"package_blacklist\": [\"linux-image-.*\", \"mysql-server\"]}");
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_DEBIAN, &out), 0);
        for (size_t i = 0; i < 3; i++) {
                snprintf(want, sizeof want, "#clear Unattended-Upgrade::%s;\nUnattended-Upgrade::%s {\n",
                         lists[i], lists[i]);
                assert_contains(out, want);
        }
        assert_contains(out, "Unattended-Upgrade::Package-Blacklist {\n        \"linux-image-.*\";\n"
                             "        \"mysql-server\";\n};\n");
        free(out);
        parsed_done(&p);
}

static void test_apt_owned_scalars(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{\"auto_fix_interrupted_dpkg\": true, \"minimal_steps\": true, \"install_on_shutdown\": true,"
                     " \"mail\": \"ops@example.com\", \"mail_only_on_error\": false,"
                     " \"remove_unused_dependencies\": true, \"automatic_reboot\": true,"
                     " \"automatic_reboot_time\": \"02:30\", \"dl_limit\": 70}");
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_UBUNTU, &out), 0);
        assert_contains(out, "Unattended-Upgrade::AutoFixInterruptedDpkg \"true\";\n");
        assert_contains(out, "Unattended-Upgrade::MinimalSteps \"true\";\n");
        assert_contains(out, "Unattended-Upgrade::InstallOnShutdown \"true\";\n");
        assert_contains(out, "#clear Unattended-Upgrade::Mail;\nUnattended-Upgrade::Mail \"ops@example.com\";\n");
        assert_contains(out, "Unattended-Upgrade::MailOnlyOnError \"false\";\n");
        assert_contains(out, "Unattended-Upgrade::MailReport \"always\";\n");
        assert_contains(out, "Unattended-Upgrade::Remove-Unused-Dependencies \"true\";\n");
        assert_contains(out, "Unattended-Upgrade::Automatic-Reboot \"true\";\n");
        assert_contains(out, "Unattended-Upgrade::Automatic-Reboot-Time \"02:30\";\n");
        assert_contains(out, "Acquire::http::Dl-Limit \"70\";\n");
        free(out);
        parsed_done(&p);
}

/* No mail: any distribution-set address is cleared; no dl_limit: apt's own setting stays. */
static void test_apt_owned_nulls(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{}");
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_DEBIAN, &out), 0);
        assert_contains(out, "#clear Unattended-Upgrade::Mail;\n");
        assert_lacks(out, "Unattended-Upgrade::Mail \"");
        assert_lacks(out, "Dl-Limit");
        assert_contains(out, "Unattended-Upgrade::MailReport \"only-on-error\";\n");
        free(out);
        parsed_done(&p);
}

static void test_apt_default_origins_per_distribution(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{}");
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_DEBIAN, &out), 0);
        assert_contains(out, "Unattended-Upgrade::Origins-Pattern {\n"
                             "        \"origin=Debian,codename=${distro_codename},label=Debian\";\n"
                             "        \"origin=Debian,codename=${distro_codename},label=Debian-Security\";\n"
                             "        \"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\";\n"
                             "};\n");
        assert_contains(out, "Unattended-Upgrade::Allowed-Origins {\n};\n");
        free(out);
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_UBUNTU, &out), 0);
        assert_contains(out, "Unattended-Upgrade::Allowed-Origins {\n"
                             "        \"${distro_id}:${distro_codename}\";\n"
                             "        \"${distro_id}:${distro_codename}-security\";\n");
        assert_contains(out, "Unattended-Upgrade::Origins-Pattern {\n};\n");
        free(out);
        parsed_done(&p);
}

/* "o:a" pairs go to Allowed-Origins, "key=value" patterns to Origins-Pattern. */
static void test_apt_origins_routed_by_form(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{\"allowed_origins\": [\"Debian:bookworm-security\", \"origin=Docker,label=Docker CE\"]}");
        assert_int_equal(uu_render_apt_owned(&p.s, UU_FAMILY_DEBIAN, &out), 0);
        assert_contains(out, "Unattended-Upgrade::Allowed-Origins {\n        \"Debian:bookworm-security\";\n};\n");
        assert_contains(out, "Unattended-Upgrade::Origins-Pattern {\n        \"origin=Docker,label=Docker CE\";\n};\n");
        free(out);
        parsed_done(&p);
}

static void test_dnf_automatic(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{\"enable\": true, \"package_blacklist\": [\"kernel*\", \"docker\"], \"mail\": \"ops@example.com\","
                     " \"automatic_reboot\": true, \"automatic_reboot_time\": \"+10\", \"dl_limit\": 500,"
                     " \"allowed_origins\": [\"amzn:security\"]}");
        assert_int_equal(uu_render_dnf_automatic(&p.s, &out), 0);
        assert_contains(out, "\n[commands]\nupgrade_type = security\n");
        assert_contains(out, "download_updates = yes\napply_updates = yes\n");
        assert_contains(out, "reboot = when-needed\n");
        assert_contains(out, "reboot_command = shutdown -r +10 ");
        assert_contains(out, "emit_via = stdio,email\n");
        assert_contains(out, "email_to = ops@example.com\n");
        assert_contains(out, "\n[base]\n");
        assert_contains(out, "excludepkgs = kernel* docker\n");
        assert_contains(out, "throttle = 500k\n");
        free(out);
        parsed_done(&p);
}

static void test_dnf_automatic_disabled_and_defaults(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{}");
        assert_int_equal(uu_render_dnf_automatic(&p.s, &out), 0);
        assert_contains(out, "upgrade_type = default\n");
        assert_contains(out, "apply_updates = no\n");
        assert_contains(out, "reboot = never\n");
        assert_contains(out, "emit_via = stdio\n");
        assert_lacks(out, "excludepkgs");
        assert_lacks(out, "throttle");
        free(out);
        parsed_done(&p);
        /* An empty origin list allows nothing, as with apt. */
        parse_ok(&p, "{\"enable\": true, \"allowed_origins\": []}");
        assert_int_equal(uu_render_dnf_automatic(&p.s, &out), 0);
        assert_contains(out, "apply_updates = no\n");
        free(out);
        parsed_done(&p);
}

static void test_yum_cron(void **state)
{
        struct parsed p;
        char *out = NULL;

        parse_ok(&p, "{\"enable\": true, \"package_blacklist\": [\"kernel*\"],"
                     " \"allowed_origins\": [\"amzn2-core:security\"]}");
        assert_int_equal(uu_render_yum_cron(&p.s, &out), 0);
        assert_contains(out, "update_cmd = security\n");
        assert_contains(out, "apply_updates = yes\n");
        assert_contains(out, "exclude = kernel*\n");
        assert_lacks(out, "reboot");
        free(out);
        parsed_done(&p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_match_schema),
                cmocka_unit_test(test_defaults_as_the_cookbook),
                cmocka_unit_test(test_absent_keys_take_defaults),
                cmocka_unit_test(test_seed_custom_json),
                cmocka_unit_test(test_wrong_types_name_the_key),
                cmocka_unit_test(test_root_must_be_object),
                cmocka_unit_test(test_list_limit),
                cmocka_unit_test(test_value_length_limit),
                cmocka_unit_test(test_characters_files_cannot_hold),
                cmocka_unit_test(test_origins_with_spaces_and_regexps),
                cmocka_unit_test(test_reboot_time),
                cmocka_unit_test(test_dl_limit_range),
                cmocka_unit_test(test_comma_refused_only_for_rpm_exclude),
                cmocka_unit_test(test_security_only),
                cmocka_unit_test(test_unmapped_keys),
                cmocka_unit_test(test_apt_periodic),
                cmocka_unit_test(test_apt_owned_lists_replace),
                cmocka_unit_test(test_apt_owned_scalars),
                cmocka_unit_test(test_apt_owned_nulls),
                cmocka_unit_test(test_apt_default_origins_per_distribution),
                cmocka_unit_test(test_apt_origins_routed_by_form),
                cmocka_unit_test(test_dnf_automatic),
                cmocka_unit_test(test_dnf_automatic_disabled_and_defaults),
                cmocka_unit_test(test_yum_cron),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
