/* File helpers every module needs: capped reads, atomic writes (temporary file, fsync,
 * rename, fsync of the directory), directory creation, path joining. No logging: errors are
 * returned. The recipes link these too. */
#ifndef OPSAGENT_FILEIO_H
#define OPSAGENT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads PATH into *ret (NUL-terminated, caller frees), length in *ret_len (may be NULL).
 * -EFBIG when the file is larger than CAP bytes; other negative errno from open/read. */
int read_file_capped(const char *path, size_t cap, char **ret, size_t *ret_len);
/* The same from the descriptor FD (read to its end; not closed). */
int read_fd_capped(int fd, size_t cap, char **ret, size_t *ret_len);

/* Writes DATA to PATH atomically: PATH.tmp.XXXXXX in the same directory, fsync, rename,
 * fsync the directory. The file gets MODE. Nothing is left behind on failure. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same through the temporary TMP (see atomic_file_open()). */
int write_file_atomic_via(const char *path, const char *tmp, const void *data, size_t len, mode_t mode);

/* A file that replaces PATH atomically once complete, written through FD: a temporary in the
 * same directory, then fsync, rename over PATH and fsync of the directory. For content written
 * as a stream (a compressor, a copy), or a temporary whose name others must know. */
struct atomic_file {
        int fd;                 /* write here; -1 once committed or aborted */
        char *path;
        char *tmp;
};
/* Creates the temporary with MODE: TMP when given (a stale one, that a killed writer left, is
 * removed first; then it is created O_EXCL|O_NOFOLLOW), else PATH.tmp.XXXXXX. */
int atomic_file_open(const char *path, const char *tmp, mode_t mode, struct atomic_file *ret);
/* Writes all of DATA to F. */
int atomic_file_write(struct atomic_file *f, const void *data, size_t len);
/* fsync, close, rename over PATH, fsync of the directory. F is done with either way; on a
 * failure before the rename the temporary is removed. */
int atomic_file_commit(struct atomic_file *f);
/* Closes F and removes its temporary. NULL or done is fine. */
void atomic_file_abort(struct atomic_file *f);

/* fsync(2) of the directory DIR, or of the one holding PATH. */
int fsync_directory(const char *dir);
int fsync_parent_dir(const char *path);

/* Creates DIR and its missing parents with MODE. 0 when it exists already. */
int mkdir_p(const char *dir, mode_t mode);

/* "A/B" with exactly one slash between them; caller frees; NULL on ENOMEM. */
char *path_join(const char *a, const char *b);

/* ROOT + PATH for a root prefix ("" or NULL means none). Caller frees; NULL on ENOMEM. */
char *path_under_root(const char *root, const char *path);

/* True when PATH exists and group or others can read it. */
bool file_readable_by_others(const char *path);

#endif
