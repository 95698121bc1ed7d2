/* logrotate recipe: in-process compression of one rotated file, with libarchive (raw format
 * with the xz or zstd filter) or zlib (gzip: see lr_compress.c for why), written crash-safely
 * next to its final name. */
#ifndef LR_COMPRESS_H
#define LR_COMPRESS_H

#include <stdint.h>

#include "lr_config.h"

#define LR_TMP_SUFFIX ".opsagent-tmp"   /* our temporary files; nothing else ends so */
#define LR_COMPRESS_BUFSIZE (256 * 1024)
#define LR_GZIP_PROBE_BYTES (1024 * 1024)   /* gzip: the start compressed each way to choose one */
#define LR_GZIP_PROBE_MIN (64 * 1024)       /* gzip: smaller files are compressed one way */

/* The level used when the set gives none. See lr_compress.c for why zstd's is what it is. */
int lr_compress_default_level(enum lr_compression c);

/* Compresses SRC into DST: writes DST LR_TMP_SUFFIX (O_EXCL, SRC's mode and owner; a stale one
 * is replaced), fsyncs it, renames it to DST and fsyncs the directory. SRC is never modified:
 * the caller removes it once this returns 0. On any failure (-ENOSPC, -EIO, ...) the temporary
 * file is removed, DST is not created and SRC stays complete; -EEXIST when DST exists already,
 * -ENOTSUP when libarchive would need an external program for C. Sizes in ret_in, ret_out
 * (either may be NULL). LEVEL < 0 means lr_compress_default_level(). */
int lr_compress_file(const char *src, const char *dst, enum lr_compression c, int level,
                     uint64_t *ret_in, uint64_t *ret_out);

/* Test hook: when non-zero, the compressed stream fails with -ENOSPC after this many bytes of
 * input. Never set by the recipe itself. */
extern uint64_t lr_compress_fail_after;


#endif
