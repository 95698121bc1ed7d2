/* unattended_upgrades: which update machinery a system has, from os-release(5) (ID, ID_LIKE,
 * VERSION_ID). Pure functions over the file's text, so that tests need no real system. */
#ifndef UU_OS_RELEASE_H
#define UU_OS_RELEASE_H

#include <stddef.h>

/* Larger os-release files are refused (real ones are well under 1 KiB). */
#define UU_OS_RELEASE_MAX_BYTES (64u * 1024u)
/* A value longer than this is refused. */
#define UU_OS_RELEASE_VALUE_MAX 512u

enum uu_family {
        UU_FAMILY_DEBIAN,  /* apt, Debian's default origins (Origins-Pattern) */
        UU_FAMILY_UBUNTU,  /* apt, Ubuntu's default origins (Allowed-Origins) */
        UU_FAMILY_DNF,     /* dnf-automatic: Amazon Linux 2023, Fedora, RHEL 8 and later */
        UU_FAMILY_YUM,     /* yum-cron: Amazon Linux 2, RHEL/CentOS 7 */
};

struct uu_os {
        enum uu_family family;
        char *id;          /* ID ("linux" when absent, as os-release(5) says); owned */
        char *version_id;  /* VERSION_ID, "" when absent; owned */
};

/* Value of KEY in os-release TEXT, unquoted and unescaped, into *ret (caller frees).
 * -ENOENT when KEY is absent, -EINVAL when its quoting is broken, -E2BIG when longer than
 * UU_OS_RELEASE_VALUE_MAX. The last assignment wins, as with a shell. */
int uu_os_release_value(const char *text, const char *key, char **ret);

/* Detects the family from TEXT: ID first, then each word of ID_LIKE. Fills *ret (free with
 * uu_os_done()). -EOPNOTSUPP when neither names a system this recipe knows. */
int uu_os_detect(const char *text, struct uu_os *ret);


void uu_os_done(struct uu_os *os);   /* frees the strings; NULL is fine */

const char *uu_family_name(enum uu_family f);   /* "debian", "ubuntu", "dnf", "yum" */

#endif
