/* unattended_upgrades: what a run does on each family. */
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
#include "uu_plan.h"
#include "uu_settings.h"

struct fixture {
        json_object *root;
        struct uu_settings s;
        struct uu_plan plan;
};

static void build(struct fixture *f, const char *overrides, enum uu_family family)
{
        json_object *o = json_tokener_parse(overrides);

        f->root = json_tokener_parse(uu_defaults_json);
        assert_non_null(f->root);
        assert_non_null(o);
        json_object_object_foreach(o, k, v)
                json_object_object_add(f->root, k, json_object_get(v));
        json_object_put(o);
        assert_int_equal(uu_settings_from_json(f->root, &f->s, NULL), 0);
        assert_int_equal(uu_plan_build(&f->s, family, &f->plan), 0);
}

static void done(struct fixture *f)
{
        uu_plan_done(&f->plan);
        uu_settings_done(&f->s);
        json_object_put(f->root);
}

static size_t n_units(const struct uu_plan *p)
{
        size_t n = 0;

        while (p->units[n])
                n++;
        return n;
}

static void test_apt_plan(void **state)
{
        struct fixture f;

        build(&f, "{\"enable\": true}", UU_FAMILY_DEBIAN);
        assert_int_equal(f.plan.n_files, 2);
        assert_string_equal(f.plan.files[0].path, "/etc/apt/apt.conf.d/20auto-upgrades");
        assert_string_equal(f.plan.files[1].path, UU_APT_OWNED_PATH);
        assert_int_equal(f.plan.files[0].mode, 0644);
        assert_non_null(strstr(f.plan.files[0].data, "APT::Periodic::Unattended-Upgrade \"1\";"));
        assert_non_null(strstr(f.plan.files[1].data, "Unattended-Upgrade::Package-Blacklist"));
        assert_int_equal(f.plan.n_packages, 1);
        assert_string_equal(f.plan.packages[0].name, "unattended-upgrades");
        assert_string_equal(f.plan.packages[0].markers[0], "/usr/bin/unattended-upgrade");
        assert_string_equal(f.plan.tool, "apt-get");
        assert_int_equal(n_units(&f.plan), 2);
        assert_string_equal(f.plan.units[0], "apt-daily.timer");
        assert_string_equal(f.plan.units[1], "apt-daily-upgrade.timer");
        assert_true(f.plan.enable);
        done(&f);
}

/* The apt file sorts after Debian's and Ubuntu's 50unattended-upgrades and a local 52... */
static void test_apt_owned_file_sorts_last(void **state)
{
        const char *base = strrchr(UU_APT_OWNED_PATH, '/') + 1;

        assert_true(strcmp(base, "50unattended-upgrades") > 0);
        assert_true(strcmp(base, "52unattended-upgrades-local") > 0);
        assert_true(strcmp(base, "20auto-upgrades") > 0);
}

static void test_apt_mail_adds_a_mailer(void **state)
{
        struct fixture f;

        build(&f, "{\"enable\": true, \"mail\": \"ops@example.com\"}", UU_FAMILY_UBUNTU);
        assert_int_equal(f.plan.n_packages, 2);
        assert_string_equal(f.plan.packages[1].name, "bsd-mailx");
        assert_string_equal(f.plan.packages[1].markers[0], "/usr/bin/mail");
        assert_true(f.plan.enable);
        done(&f);
}

static void test_no_packages_when_install_packages_false(void **state)
{
        struct fixture f;

        build(&f, "{\"enable\": true, \"install_packages\": false, \"mail\": \"ops@example.com\"}",
              UU_FAMILY_DEBIAN);
        assert_int_equal(f.plan.n_packages, 0);
        assert_int_equal(f.plan.n_files, 2);
        done(&f);
        build(&f, "{\"install_packages\": false}", UU_FAMILY_DNF);
        assert_int_equal(f.plan.n_packages, 0);
        done(&f);
}

/* enable null (the default): nothing that turns updates on or off, nothing installed: on apt
 * only opsagent's own file, on dnf and yum nothing at all. false: off, without installing. */
static void test_enable_null_keeps_the_os_defaults(void **state)
{
        static const enum uu_family families[] = { UU_FAMILY_DNF, UU_FAMILY_YUM };
        struct fixture f;

        build(&f, "{\"mail\": \"ops@example.com\"}", UU_FAMILY_DEBIAN);
        assert_true(f.plan.keep_os_defaults);
        assert_int_equal(f.plan.n_files, 1);
        assert_string_equal(f.plan.files[0].path, UU_APT_OWNED_PATH);
        assert_int_equal(f.plan.n_packages, 0);
        assert_int_equal(n_units(&f.plan), 0);
        done(&f);
        for (size_t i = 0; i < 2; i++) {
                build(&f, "{}", families[i]);
                assert_int_equal(f.plan.n_files, 0);
                assert_int_equal(f.plan.n_packages, 0);
                assert_int_equal(n_units(&f.plan), 0);
                done(&f);
        }
        build(&f, "{\"enable\": false}", UU_FAMILY_DEBIAN);
        assert_false(f.plan.keep_os_defaults);
        assert_int_equal(f.plan.n_files, 2);
        assert_int_equal(f.plan.n_packages, 0);
        assert_int_equal(n_units(&f.plan), 2);
        done(&f);
}

static void test_dnf_plan(void **state)
{
        struct fixture f;

        build(&f, "{\"enable\": true, \"mail\": \"ops@example.com\"}", UU_FAMILY_DNF);
        assert_int_equal(f.plan.n_files, 1);
        assert_string_equal(f.plan.files[0].path, "/etc/dnf/automatic.conf");
        assert_non_null(strstr(f.plan.files[0].data, "apply_updates = yes"));
        assert_int_equal(f.plan.n_packages, 1);   /* dnf-automatic mails over SMTP itself */
        assert_string_equal(f.plan.packages[0].name, "dnf-automatic");
        assert_string_equal(f.plan.tool, "dnf");
        assert_int_equal(n_units(&f.plan), 1);
        assert_string_equal(f.plan.units[0], "dnf-automatic-install.timer");
        done(&f);
}

static void test_yum_plan(void **state)
{
        struct fixture f;

        build(&f, "{\"enable\": true}", UU_FAMILY_YUM);
        assert_int_equal(f.plan.n_files, 1);
        assert_string_equal(f.plan.files[0].path, "/etc/yum/yum-cron.conf");
        assert_string_equal(f.plan.packages[0].name, "yum-cron");
        assert_string_equal(f.plan.tool, "yum");
        assert_string_equal(f.plan.units[0], "yum-cron.service");
        assert_null(f.plan.units[1]);
        done(&f);
}

static void test_install_argv(void **state)
{
        static const char *const names[] = { "unattended-upgrades", "bsd-mailx" };
        const char *argv[UU_INSTALL_ARGV_MAX];
        struct fixture f;
        size_t n = 0;

        build(&f, "{}", UU_FAMILY_DEBIAN);
        assert_int_equal(uu_plan_install_argv(&f.plan, names, 2, argv), 0);
        while (argv[n])
                n++;
        assert_true(n >= 4);
        assert_string_equal(argv[0], "/usr/bin/env");
        assert_string_equal(argv[1], "DEBIAN_FRONTEND=noninteractive");
        assert_string_equal(argv[2], "/usr/bin/apt-get");
        assert_string_equal(argv[3], "install");
        assert_string_equal(argv[n - 2], "unattended-upgrades");
        assert_string_equal(argv[n - 1], "bsd-mailx");
        done(&f);
        build(&f, "{}", UU_FAMILY_DNF);
        assert_int_equal(uu_plan_install_argv(&f.plan, names, 1, argv), 0);
        assert_string_equal(argv[0], "/usr/bin/dnf");
        assert_string_equal(argv[4], "unattended-upgrades");
        assert_null(argv[5]);
        done(&f);
}

/* Names that would overflow UU_INSTALL_ARGV_MAX are refused, not truncated. */
static void test_install_argv_limit(void **state)
{
        const char *names[UU_INSTALL_ARGV_MAX];
        const char *argv[UU_INSTALL_ARGV_MAX];
        struct fixture f;
        size_t fixed = 4;   /* "/usr/bin/dnf install -y -q" */

        for (size_t i = 0; i < UU_INSTALL_ARGV_MAX; i++)
                names[i] = "p";
        build(&f, "{}", UU_FAMILY_DNF);
        assert_int_equal(uu_plan_install_argv(&f.plan, names, UU_INSTALL_ARGV_MAX - 1 - fixed, argv), 0);
        assert_null(argv[UU_INSTALL_ARGV_MAX - 1]);
        assert_int_equal(uu_plan_install_argv(&f.plan, names, UU_INSTALL_ARGV_MAX - fixed, argv), -E2BIG);
        done(&f);
}

static void test_unknown_family_refused(void **state)
{
        struct fixture f;

        f.root = json_tokener_parse(uu_defaults_json);
        assert_int_equal(uu_settings_from_json(f.root, &f.s, NULL), 0);
        assert_int_equal(uu_plan_build(&f.s, (enum uu_family)42, &f.plan), -EINVAL);
        uu_settings_done(&f.s);
        json_object_put(f.root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_apt_plan),
                cmocka_unit_test(test_apt_owned_file_sorts_last),
                cmocka_unit_test(test_apt_mail_adds_a_mailer),
                cmocka_unit_test(test_no_packages_when_install_packages_false),
                cmocka_unit_test(test_enable_null_keeps_the_os_defaults),
                cmocka_unit_test(test_dnf_plan),
                cmocka_unit_test(test_yum_plan),
                cmocka_unit_test(test_install_argv),
                cmocka_unit_test(test_install_argv_limit),
                cmocka_unit_test(test_unknown_family_refused),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
