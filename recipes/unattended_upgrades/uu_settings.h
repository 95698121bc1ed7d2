/* unattended_upgrades: the recipe's attributes as a typed struct, their checks beyond the
 * schema (limits, characters a target file cannot hold), and the files they become:
 * apt's 20auto-upgrades and opsagent's own apt.conf.d file, dnf-automatic's automatic.conf,
 * yum-cron's yum-cron.conf. Pure functions: no I/O. */
#ifndef UU_SETTINGS_H
#define UU_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "uu_os_release.h"

#define UU_ATTR_ROOT "apt.unattended_upgrades"

/* At most this many entries in allowed_origins or package_blacklist. */
#define UU_LIST_MAX 512u
/* At most this many bytes in any string attribute or list entry. */
#define UU_VALUE_MAX 255u
/* dl_limit (kB/s) range. */
#define UU_DL_LIMIT_MIN 1
#define UU_DL_LIMIT_MAX 10000000

/* Where the files go (absolute, before the root prefix). */
#define UU_APT_PERIODIC_PATH "/etc/apt/apt.conf.d/20auto-upgrades"
/* Read by apt after Debian's and Ubuntu's 50unattended-upgrades (and a local 52...). */
#define UU_APT_OWNED_PATH "/etc/apt/apt.conf.d/90opsagent-unattended-upgrades"
#define UU_DNF_AUTOMATIC_PATH "/etc/dnf/automatic.conf"
#define UU_YUM_CRON_PATH "/etc/yum/yum-cron.conf"

struct uu_settings {
        /* enable null (the default): automatic updates stay as the OS has them (opsagent neither
         * turns them on nor off, nor installs the tool); enable_set is then false. */
        bool enable_set;
        bool enable;
        bool update_package_lists;
        bool auto_fix_interrupted_dpkg;
        bool minimal_steps;
        bool install_on_shutdown;
        bool mail_only_on_error;
        bool remove_unused_dependencies;
        bool automatic_reboot;
        bool install_packages;
        bool fail_on_install_error;       /* a failed installation fails the run (else a warning) */
        /* NULL (and 0) when null: the distribution's own default origins. */
        const char **allowed_origins;
        size_t n_allowed_origins;
        const char **package_blacklist;   /* never NULL after uu_settings_from_json() */
        size_t n_package_blacklist;
        const char *mail;                 /* NULL: no mail */
        const char *automatic_reboot_time;
        int64_t dl_limit;                 /* kB/s; 0: not set */
};

/* Fills *ret from the recipe's attribute object ROOT (absent keys take the shipped
 * defaults). Strings are borrowed from ROOT, which must outlive *ret; free the arrays with
 * uu_settings_done(). On a bad value returns -EINVAL and puts one line naming the key and what
 * to do into *ret_error (caller frees); -ENOMEM otherwise. */
int uu_settings_from_json(json_object *root, struct uu_settings *ret, char **ret_error);
void uu_settings_done(struct uu_settings *s);   /* NULL is fine */

/* The checks a family adds (dnf/yum exclude lists cannot hold spaces or commas). -EINVAL and
 * *ret_error (caller frees) on a value that family's file cannot hold. */
int uu_settings_check_family(const struct uu_settings *s, enum uu_family family, char **ret_error);

/* Names of the attributes set to something FAMILY's tool has no equivalent for (README.md
 * lists them), into NAMES (static strings, at most MAX); returns how many. Nothing for apt. */
size_t uu_settings_unmapped(const struct uu_settings *s, enum uu_family family, const char **names,
                            size_t max);

/* True when every allowed origin names a security archive: dnf/yum then apply security
 * updates only. False for the distribution's defaults (release and security). */
bool uu_origins_security_only(const struct uu_settings *s);

/* The files' contents, NUL-terminated into *ret (caller frees). */
int uu_render_apt_periodic(const struct uu_settings *s, char **ret);
int uu_render_apt_owned(const struct uu_settings *s, enum uu_family family, char **ret);
int uu_render_dnf_automatic(const struct uu_settings *s, char **ret);
int uu_render_yum_cron(const struct uu_settings *s, char **ret);

#endif
