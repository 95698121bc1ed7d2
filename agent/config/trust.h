/* Configuration trust, as sshd's StrictModes and sudoers have it: a file that can change what
 * the agent (root) does is used only when nobody but root could have written it. That is:
 * the file (or directory) is owned by a trusted user and not writable by its group or by
 * others, and so is every directory above it up to "/" (symbolic links resolved: the
 * directories checked are those the path really goes through), except that a directory above
 * it may be world-writable when it has the sticky bit (/tmp: others cannot rename or remove
 * what they do not own in it).
 *
 * Trusted users: root; and when the agent does not run as root, also the user it runs as,
 * whose own files can make it do nothing that user could not do anyway (the escape that lets
 * tests and a --root sandbox owned by the invoking user work). See SECURITY.md. */
#ifndef OPSAGENT_TRUST_H
#define OPSAGENT_TRUST_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum trust_flags {
        /* A missing PATH is fine: the deepest directory above it that exists is checked instead,
         * as the one it would be created in (or by someone else). */
        TRUST_MISSING_OK = 1u << 0,
};

/* Whether files owned by UID are trusted. */
bool trust_owner(uid_t uid);

/* Checks PATH (relative to the working directory when not absolute). WHAT names it in the
 * message ("configuration file", "plugin directory", ...). 0 when trusted; -EPERM with ERR
 * naming the file, the offending directory, its owner and mode and the chown/chmod that fixes
 * it; -ENOENT (ERR set) when PATH is missing without TRUST_MISSING_OK; other negative errno
 * (ERR set) when it cannot be examined. */
int trust_check(const char *path, const char *what, unsigned flags, struct error *err);

#endif
