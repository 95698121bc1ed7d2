/* unattended_upgrades: os-release(5) parsing and family detection. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uu_os_release.h"

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Parses the value starting at P (after '=') up to the end of its line into OUT (at least
 * UU_OS_RELEASE_VALUE_MAX + 1 bytes). */
static int parse_value(const char *p, char *out)
{
        size_t n = 0;
        char quote = 0;

        if (*p == '"' || *p == '\'')
                quote = *p++;
        for (;;) {
                char c = *p;

                if (c == '\0' || c == '\n') {
                        if (quote)
                                return -EINVAL;   /* unterminated quote */
                        break;
                }
                if (quote && c == quote) {
                        p++;
                        while (is_blank(*p))
                                p++;
                        if (*p != '\0' && *p != '\n' && *p != '#')
                                return -EINVAL;   /* text after the closing quote */
                        break;
                }
                if (!quote && is_blank(c)) {
                        while (is_blank(*p))
                                p++;
                        if (*p != '\0' && *p != '\n' && *p != '#')
                                return -EINVAL;   /* unquoted value with a space */
                        break;
                }
                if (c == '\\' && quote != '\'') {
                        char next = p[1];

                        if (next == '\0' || next == '\n')
                                return -EINVAL;
                        /* In double quotes only these are escapes; elsewhere any char is. */
                        if (!quote || strchr("$\"\\`", next)) {
                                c = next;
                                p++;
                        }
                }
                if (n >= UU_OS_RELEASE_VALUE_MAX)
                        return -E2BIG;
                out[n++] = c;
                p++;
        }
        out[n] = '\0';
        return 0;
}

int uu_os_release_value(const char *text, const char *key, char **ret)
{
        char value[UU_OS_RELEASE_VALUE_MAX + 1];
        size_t klen = strlen(key);
        bool found = false;
        const char *line;
        char *copy;
        int r;

        for (line = text; line && *line; ) {
                const char *p = line;
                const char *eol = strchr(line, '\n');

                while (is_blank(*p))
                        p++;
                if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
                        r = parse_value(p + klen + 1, value);
                        if (r < 0)
                                return r;
                        found = true;     /* keep going: the last assignment wins */
                }
                line = eol ? eol + 1 : NULL;
        }
        if (!found)
                return -ENOENT;
        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

/* Major version number of VERSION_ID ("7.9" -> 7), 0 when it does not start with a digit. */
static long major_version(const char *version_id)
{
        return strtol(version_id, NULL, 10);
}

/* Family for one os-release identifier, or -1 when it says nothing we know. */
static int family_of(const char *id, const char *id_original, const char *version_id)
{
        if (strcmp(id, "ubuntu") == 0)
                return UU_FAMILY_UBUNTU;
        if (strcmp(id, "debian") == 0)
                return UU_FAMILY_DEBIAN;
        if (strcmp(id, "fedora") == 0)
                return UU_FAMILY_DNF;
        if (strcmp(id, "amzn") == 0)
                /* Amazon Linux 2 has yum-cron; 2023 and later have dnf-automatic. */
                return strcmp(version_id, "2") == 0 ? UU_FAMILY_YUM : UU_FAMILY_DNF;
        if (strcmp(id, "rhel") == 0 || strcmp(id, "centos") == 0 || strcmp(id, "rocky") == 0 ||
            strcmp(id, "almalinux") == 0 || strcmp(id, "ol") == 0) {
                /* The version is the system's own: it only means RHEL's numbering when the
                 * system is RHEL-like itself (Amazon Linux 2 says ID_LIKE="centos rhel"). */
                if (strcmp(id_original, "amzn") == 0)
                        return strcmp(version_id, "2") == 0 ? UU_FAMILY_YUM : UU_FAMILY_DNF;
                return major_version(version_id) > 0 && major_version(version_id) < 8 ?
                               UU_FAMILY_YUM : UU_FAMILY_DNF;
        }
        return -1;
}

int uu_os_detect(const char *text, struct uu_os *ret)
{
        char *id = NULL, *id_like = NULL, *version_id = NULL;
        int family = -1;
        int r;

        r = uu_os_release_value(text, "ID", &id);
        if (r == -ENOENT)
                id = strdup("linux");   /* os-release(5): the default */
        else if (r < 0)
                goto out;
        r = uu_os_release_value(text, "VERSION_ID", &version_id);
        if (r == -ENOENT)
                version_id = strdup("");
        else if (r < 0)
                goto out;
        r = uu_os_release_value(text, "ID_LIKE", &id_like);
        if (r < 0 && r != -ENOENT)
                goto out;
        if (!id || !version_id) {
                r = -ENOMEM;
                goto out;
        }

        family = family_of(id, id, version_id);
        if (family < 0 && id_like) {
                char *save = NULL;

                for (char *w = strtok_r(id_like, " \t", &save); w && family < 0;
                     w = strtok_r(NULL, " \t", &save))
                        family = family_of(w, id, version_id);
        }
        if (family < 0) {
                r = -EOPNOTSUPP;
                goto out;
        }
        ret->family = (enum uu_family)family;
        ret->id = id;
        ret->version_id = version_id;
        id = version_id = NULL;
        r = 0;
out:
        free(id);
        free(id_like);
        free(version_id);
        return r;
}

void uu_os_done(struct uu_os *os)
{
        if (!os)
                return;
        free(os->id);
        free(os->version_id);
        os->id = os->version_id = NULL;
}

const char *uu_family_name(enum uu_family f)
{
        switch (f) {
        case UU_FAMILY_DEBIAN:
                return "debian";
        case UU_FAMILY_UBUNTU:
                return "ubuntu";
        case UU_FAMILY_DNF:
                return "dnf";
        case UU_FAMILY_YUM:
                return "yum";
        }
        return "unknown";
}
