/* logrotate recipe: rotated file names. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

struct lr_dir {
        char *path;
        char **names;           /* sorted (strcmp) */
        size_t n, cap;
};

struct lr_dircache {
        struct lr_dir *dirs;
        size_t n, cap;
};

int lr_dircache_new(struct lr_dircache **ret)
{
        *ret = calloc(1, sizeof(**ret));
        return *ret ? 0 : -ENOMEM;
}

static void dir_clear(struct lr_dir *d)
{
        for (size_t i = 0; i < d->n; i++)
                free(d->names[i]);
        free(d->names);
        free(d->path);
}

void lr_dircache_free(struct lr_dircache *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++)
                dir_clear(&c->dirs[i]);
        free(c->dirs);
        free(c);
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first index of D's names not below KEY. */
static size_t lower_bound(const struct lr_dir *d, const char *key)
{
        size_t lo = 0, hi = d->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(d->names[mid], key) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static struct lr_dir *find_dir(struct lr_dircache *c, const char *path)
{
        for (size_t i = 0; c && i < c->n; i++)
                if (strcmp(c->dirs[i].path, path) == 0)
                        return &c->dirs[i];
        return NULL;
}

static int dir_insert(struct lr_dir *d, const char *name)
{
        size_t at = lower_bound(d, name);
        char *copy;

        if (at < d->n && strcmp(d->names[at], name) == 0)
                return 0;
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 64;
                char **nn = realloc(d->names, cap * sizeof(*nn));
                if (!nn)
                        return -ENOMEM;
                d->names = nn;
                d->cap = cap;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        memmove(d->names + at + 1, d->names + at, (d->n - at) * sizeof(*d->names));
        d->names[at] = copy;
        d->n++;
        return 0;
}

/* Reads DIR into a new entry of C. -E2BIG when it holds more than LR_DIRCACHE_MAX_NAMES names
 * (then nothing is kept), -ENOENT when it does not exist. */
static int read_dir(struct lr_dircache *c, const char *path, struct lr_dir **ret)
{
        struct lr_dir d = { 0 };
        struct dirent *de;
        DIR *dh;
        int r = 0;

        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 8;
                struct lr_dir *nd = realloc(c->dirs, cap * sizeof(*nd));
                if (!nd)
                        return -ENOMEM;
                c->dirs = nd;
                c->cap = cap;
        }
        dh = opendir(path);
        if (!dh)
                return -errno;
        d.path = strdup(path);
        if (!d.path) {
                r = -ENOMEM;
                goto out;
        }
        while ((de = readdir(dh))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (d.n >= LR_DIRCACHE_MAX_NAMES) {
                        r = -E2BIG;
                        goto out;
                }
                if (d.n == d.cap) {
                        size_t cap = d.cap ? d.cap * 2 : 64;
                        char **nn = realloc(d.names, cap * sizeof(*nn));
                        if (!nn) {
                                r = -ENOMEM;
                                goto out;
                        }
                        d.names = nn;
                        d.cap = cap;
                }
                d.names[d.n] = strdup(de->d_name);
                if (!d.names[d.n]) {
                        r = -ENOMEM;
                        goto out;
                }
                d.n++;
        }
        if (d.n)
                qsort(d.names, d.n, sizeof(*d.names), cmp_names);
        c->dirs[c->n] = d;
        *ret = &c->dirs[c->n++];
        d = (struct lr_dir){ 0 };
out:
        dir_clear(&d);
        closedir(dh);
        return r;
}

int lr_dircache_forget(struct lr_dircache *c, const char *dir)
{
        struct lr_dir *d = dir ? find_dir(c, dir) : NULL;

        if (d) {
                dir_clear(d);
                *d = c->dirs[--c->n];
        }
        return 0;
}

int lr_dircache_note(struct lr_dircache *c, const char *path, bool exists)
{
        const char *slash = strrchr(path, '/');
        char *dir;
        struct lr_dir *d;
        int r = 0;

        if (!c || !slash)
                return 0;
        dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!dir)
                return -ENOMEM;
        d = find_dir(c, dir);
        if (d && exists)
                r = dir_insert(d, slash + 1);
        else if (d) {
                size_t at = lower_bound(d, slash + 1);
                if (at < d->n && strcmp(d->names[at], slash + 1) == 0) {
                        free(d->names[at]);
                        memmove(d->names + at, d->names + at + 1, (d->n - at - 1) * sizeof(*d->names));
                        d->n--;
                }
        }
        if (r < 0) {    /* forget the directory rather than keep a wrong list of it */
                dir_clear(d);
                *d = c->dirs[--c->n];
                r = 0;
        }
        free(dir);
        return r;
}

/* Adds NAME of DIR (open as DFD) to *LIST when it is one of SET's rotated names of BASE. */
static int consider(int dfd, const char *name, const char *base, const struct lr_set *set, struct lr_rotated **list,
                    size_t *n, size_t *cap)
{
        size_t len = strlen(name), restlen, baselen = strlen(base);
        const char *rest;
        unsigned index = 0;
        bool compressed = false;
        struct stat st;

        if (strncmp(name, base, baselen) != 0 || len == baselen)
                return 0;
        if (len > strlen(LR_TMP_SUFFIX) && strcmp(name + len - strlen(LR_TMP_SUFFIX), LR_TMP_SUFFIX) == 0)
                return 0;
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
                return 0;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return 0;
        if (*n == *cap) {
                struct lr_rotated *nl;
                if (*cap >= LR_MAX_ROTATED)
                        return -E2BIG;
                *cap = *cap ? *cap * 2 : 16;
                nl = realloc(*list, *cap * sizeof(**list));
                if (!nl)
                        return -ENOMEM;
                *list = nl;
        }
        (*list)[*n] = (struct lr_rotated){ .index = index, .compressed = compressed, .mtime = st.st_mtime };
        (*list)[*n].name = strdup(name);
        (*list)[*n].stem = strndup(name, baselen + restlen);
        if (!(*list)[*n].name || !(*list)[*n].stem) {
                free((*list)[*n].name);
                free((*list)[*n].stem);
                return -ENOMEM;
        }
        (*n)++;
        return 0;
}

int lr_list_rotated(struct lr_dircache *c, const char *dir, const char *base, const struct lr_set *set,
                    struct lr_rotated **ret, size_t *ret_n)
{
        struct lr_rotated *list = NULL;
        size_t n = 0, cap = 0;
        struct lr_dir *cached = find_dir(c, dir);
        DIR *d = NULL;
        struct dirent *de;
        int dfd = -1, r = 0;

        if (c && !cached) {
                r = read_dir(c, dir, &cached);
                if (r == -ENOENT) {
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                if (r < 0 && r != -E2BIG)
                        return r;
                r = 0;          /* too big to keep: read it now, as without a cache */
        }
        if (cached)
                dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        else if ((d = opendir(dir)))
                dfd = dirfd(d);
        if (dfd < 0)
                return errno == ENOENT ? (*ret = NULL, *ret_n = 0, 0) : -errno;
        if (cached) {
                for (size_t i = lower_bound(cached, base);
                     r >= 0 && i < cached->n && strncmp(cached->names[i], base, strlen(base)) == 0; i++)
                        r = consider(dfd, cached->names[i], base, set, &list, &n, &cap);
        } else
                while (r >= 0 && (de = readdir(d)))
                        r = consider(dfd, de->d_name, base, set, &list, &n, &cap);
        if (r < 0)
                goto out;
        if (n)
                qsort(list, n, sizeof(*list), cmp_rotated);
        *ret = list;
        *ret_n = n;
        list = NULL;
        n = 0;
out:
        lr_rotated_free(list, n);
        if (d)
                closedir(d);
        else
                close(dfd);
        return r;
}
