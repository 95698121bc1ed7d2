/* logrotate recipe: rotated file names. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lr_compress.h"
#include "lr_names.h"

static const char *const comp_exts[] = { ".gz", ".xz", ".zst", ".bz2", NULL };

char *lr_rotation_dir(const char *log_real, const char *olddir, const char *root)
{
        const char *slash = strrchr(log_real, '/');
        int dirlen = slash ? (int)(slash - log_real) : 0;
        char *ret = NULL;
        int r;

        if (!olddir || !*olddir)
                r = asprintf(&ret, "%.*s", dirlen ? dirlen : 1, dirlen ? log_real : "/");
        else if (olddir[0] == '/')
                r = asprintf(&ret, "%s%s", root ? root : "", olddir);
        else
                r = asprintf(&ret, "%.*s/%s", dirlen, log_real, olddir);
        if (r < 0)
                return NULL;
        /* no trailing slash, so that "DIR/NAME" joins cleanly */
        for (size_t n = strlen(ret); n > 1 && ret[n - 1] == '/'; n--)
                ret[n - 1] = '\0';
        return ret;
}

int lr_dateext_suffix(const char *fmt, time_t now, char *buf, size_t len)
{
        struct tm tm;
        size_t n;

        if (!localtime_r(&now, &tm))
                return -EINVAL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        n = strftime(buf, len, fmt, &tm);   /* the set's dateformat, as logrotate uses it */
#pragma GCC diagnostic pop
        if (n == 0 || strchr(buf, '/'))
                return -ENAMETOOLONG;
        return 0;
}

static size_t digits(const char *s, size_t exact)
{
        size_t n = 0;
        while (isdigit((unsigned char)s[n]) && (exact == 0 || n < exact))
                n++;
        if (exact && n != exact)
                return 0;
        return n;
}

size_t lr_dateext_match(const char *fmt, const char *s)
{
        size_t pos = 0;

        for (const char *f = fmt; *f; f++) {
                size_t n;
                if (*f != '%') {
                        if (s[pos] != *f)
                                return 0;
                        pos++;
                        continue;
                }
                f++;
                switch (*f) {
                case 'Y': n = digits(s + pos, 4); break;
                case 'm': case 'd': case 'H': case 'M': case 'S': case 'V': n = digits(s + pos, 2); break;
                case 's': n = digits(s + pos, 0); break;
                case '%': n = s[pos] == '%'; break;
                default: return 0;
                }
                if (n == 0)
                        return 0;
                pos += n;
        }
        return pos;
}

static int cmp_rotated(const void *a, const void *b)
{
        const struct lr_rotated *x = a, *y = b;

        if (x->index != y->index)
                return x->index > y->index ? -1 : 1;    /* numbered: highest (oldest) first */
        return strcmp(x->stem, y->stem);               /* dateext: by date, oldest first */
}

void lr_rotated_free(struct lr_rotated *list, size_t n)
{
        if (!list)
                return;
        for (size_t i = 0; i < n; i++) {
                free(list[i].name);
                free(list[i].stem);
        }
        free(list);
}

/* Is REST (what follows the log's name) one of SET's rotated names? */
static bool parse_rest(const struct lr_set *set, const char *rest, size_t restlen, unsigned *ret_index)
{
        if (set->dateext)
                return restlen > 0 && lr_dateext_match(lr_set_dateformat(set), rest) == restlen;
        if (restlen < 2 || rest[0] != '.' || rest[1] == '0')
                return false;
        for (size_t i = 1; i < restlen; i++)
                if (!isdigit((unsigned char)rest[i]))
                        return false;
        if (restlen > 10)
                return false;
        *ret_index = (unsigned)strtoul(rest + 1, NULL, 10);
        return true;
}

int lr_list_rotated(const char *dir, const char *base, const struct lr_set *set,
                    struct lr_rotated **ret, size_t *ret_n)
{
        struct lr_rotated *list = NULL;
        size_t n = 0, cap = 0, baselen = strlen(base);
        DIR *d;
        struct dirent *de;
        int r = 0;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? (*ret = NULL, *ret_n = 0, 0) : -errno;
        while ((de = readdir(d))) {
                const char *name = de->d_name, *rest;
                size_t len = strlen(name), restlen;
                unsigned index = 0;
                bool compressed = false;
                struct stat st;

                if (strncmp(name, base, baselen) != 0 || len == baselen)
                        continue;
                if (len > strlen(LR_TMP_SUFFIX) &&
                    strcmp(name + len - strlen(LR_TMP_SUFFIX), LR_TMP_SUFFIX) == 0)
                        continue;
                rest = name + baselen;
                restlen = len - baselen;
                for (int i = 0; comp_exts[i]; i++) {
                        size_t el = strlen(comp_exts[i]);
                        if (restlen > el && strcmp(rest + restlen - el, comp_exts[i]) == 0) {
                                restlen -= el;
                                compressed = true;
                                break;
                        }
                }
                if (!parse_rest(set, rest, restlen, &index))
                        continue;
                if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (n == cap) {
                        struct lr_rotated *nl;
                        if (cap >= LR_MAX_ROTATED) {
                                r = -E2BIG;
                                goto out;
                        }
                        cap = cap ? cap * 2 : 16;
                        nl = realloc(list, cap * sizeof(*list));
                        if (!nl) {
                                r = -ENOMEM;
                                goto out;
                        }
                        list = nl;
                }
                list[n] = (struct lr_rotated){ .index = index, .compressed = compressed,
                                               .mtime = st.st_mtime };
                list[n].name = strdup(name);
                list[n].stem = strndup(name, baselen + restlen);
                if (!list[n].name || !list[n].stem) {
                        free(list[n].name);
                        free(list[n].stem);
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        if (n)
                qsort(list, n, sizeof(*list), cmp_rotated);
        *ret = list;
        *ret_n = n;
        list = NULL;
        n = 0;
out:
        lr_rotated_free(list, n);
        closedir(d);
        return r;
}
