/* unattended_upgrades: the plan of one run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uu_plan.h"

static const char *const apt_units[] = { "apt-daily.timer", "apt-daily-upgrade.timer", NULL };
static const char *const dnf_units[] = { "dnf-automatic-install.timer", NULL };
/* yum-cron runs from cron; its service only switches the cron job on and off. */
static const char *const yum_units[] = { "yum-cron.service", NULL };
static const char *const no_units[] = { NULL };

/* At launch (opsagent setup) cloud-init or apt-daily may hold the dpkg lock: wait for it. */
static const char *const apt_install[] = {
        "/usr/bin/env", "DEBIAN_FRONTEND=noninteractive", "/usr/bin/apt-get", "install", "-y", "-q",
        "--no-install-recommends", "-o", "DPkg::Lock::Timeout=" UU_APT_LOCK_TIMEOUT, "-o",
        "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", NULL,
};
static const char *const dnf_install[] = { "/usr/bin/dnf", "install", "-y", "-q", NULL };
static const char *const yum_install[] = { "/usr/bin/yum", "install", "-y", "-q", NULL };

static const char *const uu_markers[] = { "/usr/bin/unattended-upgrade", NULL };
/* unattended-upgrades mails through mail(1), or sendmail when there is no mail(1). */
static const char *const mailer_markers[] = { "/usr/bin/mail", "/usr/bin/mailx", "/usr/sbin/sendmail", NULL };
static const char *const dnf_automatic_markers[] = { "/usr/bin/dnf-automatic", NULL };
static const char *const yum_cron_markers[] = { "/usr/sbin/yum-cron", NULL };

static void add_package(struct uu_plan *p, const char *name, const char *const *markers)
{
        p->packages[p->n_packages].name = name;
        p->packages[p->n_packages].markers = markers;
        p->n_packages++;
}

static int add_file(struct uu_plan *p, const char *path, int (*render)(const struct uu_settings *, char **),
                    const struct uu_settings *s)
{
        char *data = NULL;
        int r = render(s, &data);

        if (r < 0)
                return r;
        p->files[p->n_files].path = path;
        p->files[p->n_files].data = data;
        p->files[p->n_files].mode = 0644;
        p->n_files++;
        return 0;
}

int uu_plan_build(const struct uu_settings *s, enum uu_family family, struct uu_plan *ret)
{
        struct uu_plan p = { .family = family, .enable = s->enable, .keep_os_defaults = !s->enable_set,
                             .units = no_units };
        /* The tool is needed to turn updates on, not to leave them or turn them off. */
        bool install = s->install_packages && s->enable_set && s->enable;
        char *owned = NULL;
        int r;

        switch (family) {
        case UU_FAMILY_DEBIAN:
        case UU_FAMILY_UBUNTU:
                if (s->enable_set) {
                        r = add_file(&p, UU_APT_PERIODIC_PATH, uu_render_apt_periodic, s);
                        if (r < 0)
                                goto fail;
                        p.units = apt_units;
                }
                r = uu_render_apt_owned(s, family, &owned);
                if (r < 0)
                        goto fail;
                p.files[p.n_files].path = UU_APT_OWNED_PATH;
                p.files[p.n_files].data = owned;
                p.files[p.n_files].mode = 0644;
                p.n_files++;
                if (install) {
                        add_package(&p, "unattended-upgrades", uu_markers);
                        if (s->mail)
                                add_package(&p, "bsd-mailx", mailer_markers);
                }
                p.tool = "apt-get";
                p.install_argv = apt_install;
                break;
        case UU_FAMILY_DNF:
                if (s->enable_set) {
                        r = add_file(&p, UU_DNF_AUTOMATIC_PATH, uu_render_dnf_automatic, s);
                        if (r < 0)
                                goto fail;
                        p.units = dnf_units;
                }
                if (install)
                        add_package(&p, "dnf-automatic", dnf_automatic_markers);
                p.tool = "dnf";
                p.install_argv = dnf_install;
                break;
        case UU_FAMILY_YUM:
                if (s->enable_set) {
                        r = add_file(&p, UU_YUM_CRON_PATH, uu_render_yum_cron, s);
                        if (r < 0)
                                goto fail;
                        p.units = yum_units;
                }
                if (install)
                        add_package(&p, "yum-cron", yum_cron_markers);
                p.tool = "yum";
                p.install_argv = yum_install;
                break;
        default:
                r = -EINVAL;
                goto fail;
        }
        *ret = p;
        return 0;
fail:
        uu_plan_done(&p);
        return r;
}

void uu_plan_done(struct uu_plan *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_files; i++) {
                free(p->files[i].data);
                p->files[i].data = NULL;
        }
        p->n_files = 0;
}

int uu_plan_install_argv(const struct uu_plan *p, const char *const *names, size_t n, const char **argv)
{
        size_t k = 0;

        for (const char *const *w = p->install_argv; *w; w++) {
                if (k + 1 >= UU_INSTALL_ARGV_MAX)
                        return -E2BIG;
                argv[k++] = *w;
        }
        for (size_t i = 0; i < n; i++) {
                if (k + 1 >= UU_INSTALL_ARGV_MAX)
                        return -E2BIG;
                argv[k++] = names[i];
        }
        argv[k] = NULL;
        return 0;
}
