/* Fuzz target: the apt and dnf configuration the unattended_upgrades recipe reads. The recipe
 * reads no apt.conf or automatic.conf: what it reads is its attributes, the seed's
 * apt.unattended_upgrades keys (uu_settings.c, uu_settings_from_json()), and what it makes of
 * them is apt's 20auto-upgrades and apt.conf.d file, dnf-automatic's automatic.conf and
 * yum-cron.conf (uu_render_*, uu_plan.c). The input is that JSON object; once accepted, it
 * is checked and rendered for every family. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "uu_plan.h"
#include "uu_settings.h"

static void render(const struct uu_settings *s, enum uu_family f)
{
        const char *unmapped[16], *argv[UU_INSTALL_ARGV_MAX];
        struct uu_plan plan = { 0 };
        char *err = NULL, *text = NULL;

        if (uu_settings_check_family(s, f, &err) < 0) {
                free(err);
                return;
        }
        uu_settings_unmapped(s, f, unmapped, sizeof(unmapped) / sizeof(unmapped[0]));
        if (uu_plan_build(s, f, &plan) < 0)
                abort();        /* only ENOMEM */
        uu_plan_install_argv(&plan, s->package_blacklist, s->n_package_blacklist, argv);
        uu_plan_done(&plan);
        if (f <= UU_FAMILY_UBUNTU) {
                if (uu_render_apt_periodic(s, &text) == 0)
                        free(text);
                if (uu_render_apt_owned(s, f, &text) == 0)
                        free(text);
        } else if (f == UU_FAMILY_DNF) {
                if (uu_render_dnf_automatic(s, &text) == 0)
                        free(text);
        } else if (uu_render_yum_cron(s, &text) == 0)
                free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_strndup(data, size), *err = NULL;
        json_object *o = json_tokener_parse(text);
        struct uu_settings s = { 0 };

        if (uu_settings_from_json(o, &s, &err) == 0) {
                uu_origins_security_only(&s);
                for (int f = UU_FAMILY_DEBIAN; f <= UU_FAMILY_YUM; f++)
                        render(&s, (enum uu_family)f);
                uu_settings_done(&s);
        }
        free(err);
        json_object_put(o);
        free(text);
        return 0;
}
