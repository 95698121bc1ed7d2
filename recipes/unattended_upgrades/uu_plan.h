/* unattended_upgrades: what one run does on a given family (files with their contents,
 * packages with the files that show they are installed, the install command, the systemd
 * units), decided without touching the system so that tests can check every decision. */
#ifndef UU_PLAN_H
#define UU_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "uu_os_release.h"
#include "uu_settings.h"

#define UU_PLAN_FILES_MAX 2
#define UU_PLAN_PACKAGES_MAX 2
/* Longest install command: its fixed words, the packages, the terminating NULL. */
#define UU_INSTALL_ARGV_MAX 20
/* Seconds apt-get waits for the dpkg lock (apt 1.9.11 and later; older ones ignore it). */
#define UU_APT_LOCK_TIMEOUT "300"

struct uu_file {
        const char *path;   /* absolute, before the root prefix; static */
        char *data;         /* NUL-terminated contents; owned by the plan */
        unsigned mode;
};

struct uu_package {
        const char *name;               /* static */
        const char *const *markers;     /* NULL-terminated; installed when one exists; static */
};

struct uu_plan {
        enum uu_family family;
        struct uu_file files[UU_PLAN_FILES_MAX];
        size_t n_files;
        /* Empty unless enable is true and install_packages too. */
        struct uu_package packages[UU_PLAN_PACKAGES_MAX];
        size_t n_packages;
        const char *tool;                  /* "apt-get", "dnf" or "yum"; static */
        const char *const *install_argv;   /* the command before the package names; static */
        const char *const *units;          /* NULL-terminated (empty: left alone); static */
        bool enable;                       /* enable+start the units, or stop+disable them */
        bool keep_os_defaults;             /* enable is null: no file or unit that turns updates on or off */
};

/* Fills *ret for settings S on FAMILY (free with uu_plan_done()). With enable null, only what
 * neither turns automatic updates on nor off: apt's opsagent file (origins, blacklist, mail,
 * ...), and nothing on dnf and yum, whose one file holds both. -ENOMEM. */
int uu_plan_build(const struct uu_settings *s, enum uu_family family, struct uu_plan *ret);
void uu_plan_done(struct uu_plan *p);   /* NULL is fine */

/* The install command for the NAMES (n of them) into ARGV (at least UU_INSTALL_ARGV_MAX
 * slots; NULL-terminated; borrowed strings). -E2BIG when they do not fit. */
int uu_plan_install_argv(const struct uu_plan *p, const char *const *names, size_t n, const char **argv);

#endif
