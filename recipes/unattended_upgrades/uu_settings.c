/* unattended_upgrades: attributes to settings, settings to configuration files. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opsagent/recipe.h>

#include "uu_settings.h"

/* What the shipped defaults say (the core merges them first; these cover a missing key). */
#define DEFAULT_REBOOT_TIME "now"

/* The distributions' own default origins, as their 50unattended-upgrades have them. */
static const char *const debian_origins_pattern[] = {
        "origin=Debian,codename=${distro_codename},label=Debian",
        "origin=Debian,codename=${distro_codename},label=Debian-Security",
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
        NULL,
};
static const char *const ubuntu_allowed_origins[] = {
        "${distro_id}:${distro_codename}",
        "${distro_id}:${distro_codename}-security",
        "${distro_id}ESMApps:${distro_codename}-apps-security",
        "${distro_id}ESM:${distro_codename}-infra-security",
        NULL,
};

static const char header_apt[] =
        "// Written by opsagent (recipe unattended_upgrades) from the attributes under\n"
        "// " UU_ATTR_ROOT "; edit those, not this file: it is rewritten on every run.\n";
static const char header_ini[] =
        "# Written by opsagent (recipe unattended_upgrades) from the attributes under\n"
        "# " UU_ATTR_ROOT "; edit those, not this file: it is rewritten on every run.\n";

__attribute__((format(printf, 2, 3))) static int set_error(char **ret_error, const char *fmt, ...)
{
        va_list ap;
        char *msg = NULL;
        int n;

        va_start(ap, fmt);
        n = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
        return -EINVAL;
}

static int get_bool(json_object *root, const char *key, bool dflt, bool *ret, char **ret_error)
{
        json_object *o = NULL;

        if (!json_object_object_get_ex(root, key, &o) || !o) {
                *ret = dflt;
                return 0;
        }
        if (!json_object_is_type(o, json_type_boolean))
                return set_error(ret_error, "%s.%s: expected a boolean, found %s", UU_ATTR_ROOT, key,
                                 opsagent_json_type_label(o));
        *ret = json_object_get_boolean(o);
        return 0;
}

/* Checks a string that goes into apt's and dnf's files. KEY names it in messages. */
static int check_text(const char *key, const char *s, bool allow_space, char **ret_error)
{
        size_t len = strlen(s);

        if (len == 0)
                return set_error(ret_error, "%s: must not be empty", key);
        if (len > UU_VALUE_MAX)
                return set_error(ret_error, "%s: longer than %u bytes (%zu); shorten it", key,
                                 UU_VALUE_MAX, len);
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f)
                        return set_error(ret_error, "%s: holds a control character at byte %zu; remove it",
                                         key, (size_t)(p - (const unsigned char *)s));
                if (*p == '"' || *p == '%')
                        return set_error(ret_error,
                                         "%s: \"%s\" holds '%c', which apt's configuration files cannot "
                                         "hold as written; remove it", key, s, *p);
                if (!allow_space && *p == ' ')
                        return set_error(ret_error, "%s: \"%s\" holds a space; remove it", key, s);
        }
        return 0;
}

static int get_string(json_object *root, const char *key, const char *dflt, bool allow_space,
                      const char **ret, char **ret_error)
{
        json_object *o = NULL;
        char name[128];
        int r;

        if (!json_object_object_get_ex(root, key, &o) || !o) {
                *ret = dflt;
                return 0;
        }
        if (!json_object_is_type(o, json_type_string))
                return set_error(ret_error, "%s.%s: expected a string, found %s", UU_ATTR_ROOT, key,
                                 opsagent_json_type_label(o));
        snprintf(name, sizeof name, "%s.%s", UU_ATTR_ROOT, key);
        r = check_text(name, json_object_get_string(o), allow_space, ret_error);
        if (r < 0)
                return r;
        *ret = json_object_get_string(o);
        return 0;
}

/* Array of strings at KEY into a borrowed array (*ret, caller frees the array). Null or
 * absent: *ret = NULL, *ret_null = true. */
static int get_list(json_object *root, const char *key, bool allow_space, const char ***ret,
                    size_t *ret_n, bool *ret_null, char **ret_error)
{
        json_object *o = NULL;
        const char **list = NULL;
        size_t n;
        int r;

        if (!json_object_object_get_ex(root, key, &o) || !o) {
                *ret = NULL;
                *ret_n = 0;
                *ret_null = true;
                return 0;
        }
        if (!json_object_is_type(o, json_type_array))
                return set_error(ret_error, "%s.%s: expected an array of strings, found %s", UU_ATTR_ROOT,
                                 key, opsagent_json_type_label(o));
        n = json_object_array_length(o);
        if (n > UU_LIST_MAX)
                return set_error(ret_error, "%s.%s: %zu entries, more than the %u allowed; shorten the list",
                                 UU_ATTR_ROOT, key, n, UU_LIST_MAX);
        list = calloc(n + 1, sizeof *list);
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(o, i);
                char name[160];

                snprintf(name, sizeof name, "%s.%s[%zu]", UU_ATTR_ROOT, key, i);
                if (!e || !json_object_is_type(e, json_type_string)) {
                        r = set_error(ret_error, "%s: expected a string, found %s", name,
                                      e ? opsagent_json_type_label(e) : "null");
                        goto fail;
                }
                r = check_text(name, json_object_get_string(e), allow_space, ret_error);
                if (r < 0)
                        goto fail;
                list[i] = json_object_get_string(e);
        }
        *ret = list;
        *ret_n = n;
        *ret_null = false;
        return 0;
fail:
        free(list);
        return r;
}

/* "now", "+MINUTES" or "HH:MM": what shutdown(8) takes and unattended-upgrades passes on. */
static bool valid_reboot_time(const char *t)
{
        size_t len = strlen(t);

        if (strcmp(t, "now") == 0)
                return true;
        if (t[0] == '+') {
                if (len < 2 || len > 6)
                        return false;
                for (size_t i = 1; i < len; i++)
                        if (!isdigit((unsigned char)t[i]))
                                return false;
                return true;
        }
        if (len == 5 && isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) && t[2] == ':' &&
            isdigit((unsigned char)t[3]) && isdigit((unsigned char)t[4])) {
                int h = (t[0] - '0') * 10 + (t[1] - '0');
                int m = (t[3] - '0') * 10 + (t[4] - '0');
                return h < 24 && m < 60;
        }
        return false;
}

int uu_settings_from_json(json_object *root, struct uu_settings *ret, char **ret_error)
{
        struct uu_settings s = { .mail_only_on_error = true, .update_package_lists = true,
                                 .install_packages = true };
        json_object *o = NULL;
        bool is_null;
        int r;

        if (!root || !json_object_is_type(root, json_type_object))
                return set_error(ret_error, "%s: expected an object, found %s", UU_ATTR_ROOT,
                                 root ? opsagent_json_type_label(root) : "null");

        if (json_object_object_get_ex(root, "enable", &o) && o) {
                s.enable_set = true;
                r = get_bool(root, "enable", false, &s.enable, ret_error);
                if (r < 0)
                        goto fail;
        }
        if ((r = get_bool(root, "update_package_lists", true, &s.update_package_lists, ret_error)) < 0 ||
            (r = get_bool(root, "auto_fix_interrupted_dpkg", false, &s.auto_fix_interrupted_dpkg,
                          ret_error)) < 0 ||
            (r = get_bool(root, "minimal_steps", false, &s.minimal_steps, ret_error)) < 0 ||
            (r = get_bool(root, "install_on_shutdown", false, &s.install_on_shutdown, ret_error)) < 0 ||
            (r = get_bool(root, "mail_only_on_error", true, &s.mail_only_on_error, ret_error)) < 0 ||
            (r = get_bool(root, "remove_unused_dependencies", false, &s.remove_unused_dependencies,
                          ret_error)) < 0 ||
            (r = get_bool(root, "automatic_reboot", false, &s.automatic_reboot, ret_error)) < 0 ||
            (r = get_bool(root, "install_packages", true, &s.install_packages, ret_error)) < 0 ||
            (r = get_bool(root, "fail_on_install_error", false, &s.fail_on_install_error, ret_error)) < 0)
                goto fail;

        r = get_string(root, "mail", NULL, false, &s.mail, ret_error);
        if (r < 0)
                goto fail;
        r = get_string(root, "automatic_reboot_time", DEFAULT_REBOOT_TIME, false, &s.automatic_reboot_time,
                       ret_error);
        if (r < 0)
                goto fail;
        if (!valid_reboot_time(s.automatic_reboot_time)) {
                r = set_error(ret_error,
                              "%s.automatic_reboot_time: \"%s\" is not a time shutdown(8) takes; use \"now\", "
                              "\"+MINUTES\" or \"HH:MM\"", UU_ATTR_ROOT, s.automatic_reboot_time);
                goto fail;
        }

        if (json_object_object_get_ex(root, "dl_limit", &o) && o) {
                int64_t v;

                if (!json_object_is_type(o, json_type_int)) {
                        r = set_error(ret_error, "%s.dl_limit: expected an integer (kB/s) or null, found %s",
                                      UU_ATTR_ROOT, opsagent_json_type_label(o));
                        goto fail;
                }
                v = json_object_get_int64(o);
                if (v < UU_DL_LIMIT_MIN || v > UU_DL_LIMIT_MAX) {
                        r = set_error(ret_error, "%s.dl_limit: %lld kB/s is outside %d..%d; use null for no limit",
                                      UU_ATTR_ROOT, (long long)v, UU_DL_LIMIT_MIN, UU_DL_LIMIT_MAX);
                        goto fail;
                }
                s.dl_limit = v;
        }

        r = get_list(root, "allowed_origins", true, &s.allowed_origins, &s.n_allowed_origins, &is_null, ret_error);
        if (r < 0)
                goto fail;
        r = get_list(root, "package_blacklist", false, &s.package_blacklist, &s.n_package_blacklist, &is_null,
                     ret_error);
        if (r < 0)
                goto fail;
        if (is_null) {
                s.package_blacklist = calloc(1, sizeof *s.package_blacklist);
                if (!s.package_blacklist) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = s;
        return 0;
fail:
        uu_settings_done(&s);
        return r;
}

void uu_settings_done(struct uu_settings *s)
{
        if (!s)
                return;
        free(s->allowed_origins);
        free(s->package_blacklist);
        s->allowed_origins = s->package_blacklist = NULL;
        s->n_allowed_origins = s->n_package_blacklist = 0;
}

int uu_settings_check_family(const struct uu_settings *s, enum uu_family family, char **ret_error)
{
        if (family != UU_FAMILY_DNF && family != UU_FAMILY_YUM)
                return 0;
        for (size_t i = 0; i < s->n_package_blacklist; i++)
                if (strchr(s->package_blacklist[i], ','))
                        return set_error(ret_error,
                                         "%s.package_blacklist[%zu]: \"%s\" holds a comma, which %s's exclude "
                                         "list reads as a separator; give each package as its own entry",
                                         UU_ATTR_ROOT, i, s->package_blacklist[i],
                                         family == UU_FAMILY_DNF ? "dnf" : "yum");
        return 0;
}

size_t uu_settings_unmapped(const struct uu_settings *s, enum uu_family family, const char **names,
                            size_t max)
{
        const char *found[8];
        size_t n = 0;

        if (family != UU_FAMILY_DNF && family != UU_FAMILY_YUM)
                return 0;
        /* dnf-automatic and yum-cron refresh metadata on every run. */
        if (!s->update_package_lists)
                found[n++] = "update_package_lists";
        if (s->auto_fix_interrupted_dpkg)
                found[n++] = "auto_fix_interrupted_dpkg";
        if (s->minimal_steps)
                found[n++] = "minimal_steps";
        if (s->install_on_shutdown)
                found[n++] = "install_on_shutdown";
        /* Both report every run that found updates, error or not. */
        if (s->mail && s->mail_only_on_error)
                found[n++] = "mail_only_on_error";
        if (s->remove_unused_dependencies)
                found[n++] = "remove_unused_dependencies";
        if (family == UU_FAMILY_YUM && s->automatic_reboot)
                found[n++] = "automatic_reboot";
        if (n > max)
                n = max;
        for (size_t i = 0; i < n; i++)
                names[i] = found[i];
        return n;
}

static bool contains_ci(const char *hay, const char *needle)
{
        size_t n = strlen(needle);

        for (; *hay; hay++)
                if (strncasecmp(hay, needle, n) == 0)
                        return true;
        return false;
}

bool uu_origins_security_only(const struct uu_settings *s)
{
        if (!s->allowed_origins || s->n_allowed_origins == 0)
                return false;
        for (size_t i = 0; i < s->n_allowed_origins; i++)
                if (!contains_ci(s->allowed_origins[i], "security"))
                        return false;
        return true;
}

/* Closes the memstream F and hands its buffer to *ret, or frees it on a write error. */
static int finish(FILE *f, char **buf, char **ret)
{
        bool bad = ferror(f);

        if (fclose(f) != 0 || bad) {
                free(*buf);
                *buf = NULL;
                return -ENOMEM;
        }
        *ret = *buf;
        *buf = NULL;
        return 0;
}

static const char *tf(bool b)
{
        return b ? "true" : "false";
}

int uu_render_apt_periodic(const struct uu_settings *s, char **ret)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fputs(header_apt, f);
        fprintf(f, "APT::Periodic::Update-Package-Lists \"%d\";\n", s->update_package_lists ? 1 : 0);
        fprintf(f, "APT::Periodic::Unattended-Upgrade \"%d\";\n", s->enable ? 1 : 0);
        return finish(f, &buf, ret);
}

static void apt_list(FILE *f, const char *key, const char *const *items, size_t n, bool (*want)(const char *))
{
        fprintf(f, "#clear %s;\n%s {\n", key, key);
        for (size_t i = 0; i < n; i++)
                if (!want || want(items[i]))
                        fprintf(f, "        \"%s\";\n", items[i]);
        fputs("};\n", f);
}

/* An entry with '=' is an Origins-Pattern ("origin=Debian,codename=..."); without, an
 * Allowed-Origins "origin:archive" pair. */
static bool is_pattern(const char *o)
{
        return strchr(o, '=') != NULL;
}

static bool is_pair(const char *o)
{
        return !is_pattern(o);
}

static size_t count(const char *const *v)
{
        size_t n = 0;

        while (v[n])
                n++;
        return n;
}

int uu_render_apt_owned(const struct uu_settings *s, enum uu_family family, char **ret)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        fputs(header_apt, f);
        fputs("// apt reads it after 50unattended-upgrades: each list is cleared first, so that it\n"
              "// replaces the distribution's list instead of adding to it.\n\n", f);

        if (s->allowed_origins) {
                const char *const *o = s->allowed_origins;

                apt_list(f, "Unattended-Upgrade::Allowed-Origins", o, s->n_allowed_origins, is_pair);
                apt_list(f, "Unattended-Upgrade::Origins-Pattern", o, s->n_allowed_origins, is_pattern);
        } else if (family == UU_FAMILY_UBUNTU) {
                fputs("// allowed_origins is null: Ubuntu's own default origins.\n", f);
                apt_list(f, "Unattended-Upgrade::Allowed-Origins", ubuntu_allowed_origins,
                         count(ubuntu_allowed_origins), NULL);
                apt_list(f, "Unattended-Upgrade::Origins-Pattern", NULL, 0, NULL);
        } else {
                fputs("// allowed_origins is null: Debian's own default origins.\n", f);
                apt_list(f, "Unattended-Upgrade::Allowed-Origins", NULL, 0, NULL);
                apt_list(f, "Unattended-Upgrade::Origins-Pattern", debian_origins_pattern,
                         count(debian_origins_pattern), NULL);
        }
        apt_list(f, "Unattended-Upgrade::Package-Blacklist", s->package_blacklist, s->n_package_blacklist,
                 NULL);
        fputc('\n', f);
        fprintf(f, "Unattended-Upgrade::AutoFixInterruptedDpkg \"%s\";\n", tf(s->auto_fix_interrupted_dpkg));
        fprintf(f, "Unattended-Upgrade::MinimalSteps \"%s\";\n", tf(s->minimal_steps));
        fprintf(f, "Unattended-Upgrade::InstallOnShutdown \"%s\";\n", tf(s->install_on_shutdown));
        fputs("#clear Unattended-Upgrade::Mail;\n", f);
        if (s->mail)
                fprintf(f, "Unattended-Upgrade::Mail \"%s\";\n", s->mail);
        fprintf(f, "Unattended-Upgrade::MailOnlyOnError \"%s\";\n", tf(s->mail_only_on_error));
        /* unattended-upgrades 1.13 and later read MailReport before MailOnlyOnError. */
        fprintf(f, "Unattended-Upgrade::MailReport \"%s\";\n", s->mail_only_on_error ? "only-on-error" : "always");
        fprintf(f, "Unattended-Upgrade::Remove-Unused-Dependencies \"%s\";\n", tf(s->remove_unused_dependencies));
        fprintf(f, "Unattended-Upgrade::Automatic-Reboot \"%s\";\n", tf(s->automatic_reboot));
        fprintf(f, "Unattended-Upgrade::Automatic-Reboot-Time \"%s\";\n", s->automatic_reboot_time);
        if (s->dl_limit > 0)
                fprintf(f, "Acquire::http::Dl-Limit \"%lld\";\n", (long long)s->dl_limit);
        return finish(f, &buf, ret);
}

/* Whether dnf/yum should apply anything: an explicit empty origin list allows nothing. */
static bool rpm_apply(const struct uu_settings *s)
{
        return s->enable && (!s->allowed_origins || s->n_allowed_origins > 0);
}

static void rpm_exclude(FILE *f, const char *key, const struct uu_settings *s)
{
        if (s->n_package_blacklist == 0)
                return;
        fprintf(f, "%s =", key);
        for (size_t i = 0; i < s->n_package_blacklist; i++)
                fprintf(f, " %s", s->package_blacklist[i]);
        fputc('\n', f);
}

int uu_render_dnf_automatic(const struct uu_settings *s, char **ret)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        bool apply = rpm_apply(s);

        if (!f)
                return -ENOMEM;
        fputs(header_ini, f);
        fputs("\n[commands]\n", f);
        fprintf(f, "upgrade_type = %s\n", uu_origins_security_only(s) ? "security" : "default");
        fputs("random_sleep = 0\n", f);
        fputs("network_online_timeout = 60\n", f);
        fprintf(f, "download_updates = %s\n", apply ? "yes" : "no");
        fprintf(f, "apply_updates = %s\n", apply ? "yes" : "no");
        fprintf(f, "reboot = %s\n", s->automatic_reboot ? "when-needed" : "never");
        fprintf(f, "reboot_command = shutdown -r %s 'Rebooting after applying package updates'\n",
                s->automatic_reboot_time);
        fputs("\n[emitters]\n", f);
        fprintf(f, "emit_via = %s\n", s->mail ? "stdio,email" : "stdio");
        fputs("\n[email]\n", f);
        fputs("email_from = root\n", f);
        fprintf(f, "email_to = %s\n", s->mail ? s->mail : "root");
        fputs("email_host = localhost\n", f);
        fputs("\n[command]\n", f);
        fputs("\n[command_email]\n", f);
        fputs("\n[base]\n", f);
        fputs("debuglevel = 1\n", f);
        rpm_exclude(f, "excludepkgs", s);
        if (s->dl_limit > 0)
                fprintf(f, "throttle = %lldk\n", (long long)s->dl_limit);
        return finish(f, &buf, ret);
}

int uu_render_yum_cron(const struct uu_settings *s, char **ret)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        bool apply = rpm_apply(s);

        if (!f)
                return -ENOMEM;
        fputs(header_ini, f);
        fputs("\n[commands]\n", f);
        fprintf(f, "update_cmd = %s\n", uu_origins_security_only(s) ? "security" : "default");
        fputs("update_messages = yes\n", f);
        fprintf(f, "download_updates = %s\n", apply ? "yes" : "no");
        fprintf(f, "apply_updates = %s\n", apply ? "yes" : "no");
        fputs("random_sleep = 360\n", f);
        fputs("\n[emitters]\n", f);
        fputs("system_name = None\n", f);
        fprintf(f, "emit_via = %s\n", s->mail ? "stdio,email" : "stdio");
        fputs("output_width = 80\n", f);
        fputs("\n[email]\n", f);
        fputs("email_from = root@localhost\n", f);
        fprintf(f, "email_to = %s\n", s->mail ? s->mail : "root");
        fputs("email_host = localhost\n", f);
        fputs("\n[groups]\n", f);
        fputs("group_list = None\n", f);
        fputs("group_package_types = mandatory, default\n", f);
        fputs("\n[base]\n", f);
        fputs("debuglevel = -2\n", f);
        fputs("mdpolicy = group:main\n", f);
        rpm_exclude(f, "exclude", s);
        if (s->dl_limit > 0)
                fprintf(f, "throttle = %lldk\n", (long long)s->dl_limit);
        return finish(f, &buf, ret);
}
