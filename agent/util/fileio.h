/* File helpers every module needs: capped reads, atomic writes (temporary file, fsync,
 * rename, fsync of the directory), directory creation, path joining. */
#ifndef OPSAGENT_FILEIO_H
#define OPSAGENT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads PATH into *ret (NUL-terminated, caller frees), length in *ret_len (may be NULL).
 * -EFBIG when the file is larger than CAP bytes; other negative errno from open/read. */
int read_file_capped(const char *path, size_t cap, char **ret, size_t *ret_len);

/* Writes DATA to PATH atomically: PATH.tmp.XXXXXX in the same directory, fsync, rename,
 * fsync the directory. The file gets MODE. Nothing is left behind on failure. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Creates DIR and its missing parents with MODE. 0 when it exists already. */
int mkdir_p(const char *dir, mode_t mode);

/* "A/B" with exactly one slash between them; caller frees; NULL on ENOMEM. */
char *path_join(const char *a, const char *b);

/* ROOT + PATH for a root prefix ("" or NULL means none). Caller frees; NULL on ENOMEM. */
char *path_under_root(const char *root, const char *path);

/* True when PATH exists and group or others can read it. */
bool file_readable_by_others(const char *path);

#endif
