/* logrotate recipe: the names of rotated files, as logrotate makes them, so that operators'
 * tools keep working: LOG.1, LOG.2.gz, ... or, with dateext, LOG-20261123(.gz). */
#ifndef LR_NAMES_H
#define LR_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lr_config.h"

#define LR_MAX_ROTATED 100000   /* rotated files of one log considered in one directory */
#define LR_DIRCACHE_MAX_NAMES 100000 /* names of one directory kept; a bigger one is read each time */

struct lr_rotated {
        char *name;          /* file name in the rotation directory */
        char *stem;          /* the same without its compression extension */
        unsigned index;      /* numbered scheme: N of LOG.N; 0 with dateext */
        bool compressed;
        time_t mtime;
};

/* The directory rotated files of LOG_REAL go to: its own, or OLDDIR (absolute under ROOT, or
 * relative to the log's directory). Caller frees; NULL on ENOMEM. */
char *lr_rotation_dir(const char *log_real, const char *olddir, const char *root);

/* SUFFIX for dateext at NOW (local time) in BUF. -ENAMETOOLONG if it does not fit or is empty. */
int lr_dateext_suffix(const char *fmt, time_t now, char *buf, size_t len);
/* Length of the prefix of S that the strftime FMT can produce (digits for %Y %m %d %H %M %S %V
 * %s, literal characters as they are), or 0 when S does not start with such a date. */
size_t lr_dateext_match(const char *fmt, const char *s);

/* The directories read in one run: each is read once (readdir), its names kept sorted, and
 * kept up to date with the changes the run makes itself (lr_dircache_note()), so that the logs
 * of a directory of N logs cost O(N log N) to list instead of O(N^2). */
struct lr_dircache;
int lr_dircache_new(struct lr_dircache **ret);
void lr_dircache_free(struct lr_dircache *c);      /* NULL is fine */
/* Forgets what C knew of DIR (another process changed it). */
int lr_dircache_forget(struct lr_dircache *c, const char *dir);
/* PATH (a file in a directory read already, or not) exists now, or does not any more. */
int lr_dircache_note(struct lr_dircache *c, const char *path, bool exists);

/* Rotated files of the log named BASE in DIR for SET's scheme, oldest first (numbered: highest
 * N first; dateext: by name), from the cache C (NULL: read DIR now). *ret: caller frees with
 * lr_rotated_free(). Temporary files (LR_TMP_SUFFIX) are never listed. */
int lr_list_rotated(struct lr_dircache *c, const char *dir, const char *base, const struct lr_set *set,
                    struct lr_rotated **ret, size_t *ret_n);
void lr_rotated_free(struct lr_rotated *list, size_t n);

#endif
