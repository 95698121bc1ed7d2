/* logrotate recipe: in-process compression with libarchive. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "lr_compress.h"
#include "util/fileio.h"

uint64_t lr_compress_fail_after;

/* Default levels. gzip and xz keep their own tools' defaults (6), so that choosing "gzip" gives
 * what logrotate's `gzip -6` gives. zstd is the default method; its level was chosen by
 * measuring a 200 MB synthetic combined-format access log (tests/bench/logrotate/genlog.py)
 * against `gzip -6` (21.4 MB, 2.69 CPU s) on this project's build machine:
 *
 *   zstd -1  23.6 MB (1.102x gzip)  0.43 s      zstd -3  22.3 MB (1.038x)  0.63 s
 *   zstd -2  23.1 MB (1.077x gzip)  0.42 s      zstd -5  20.2 MB (0.944x)  1.25 s
 *
 * Level 1 is over the 10% size budget; level 2 is the fastest within it (6.4x less CPU than
 * gzip -6, 7.7% larger), and level 3 would spend half as much CPU again for 4% of size. */
int lr_compress_default_level(enum lr_compression c)
{
        switch (c) {
        case LR_COMP_ZSTD: return 2;
        case LR_COMP_GZIP: return 6;
        case LR_COMP_XZ: return 6;
        default: return 0;
        }
}

static int add_filter(struct archive *a, enum lr_compression c, int level)
{
        char lv[16];
        int r;

        switch (c) {
        case LR_COMP_XZ: r = archive_write_add_filter_xz(a); break;
        case LR_COMP_ZSTD: r = archive_write_add_filter_zstd(a); break;
        default: return -EINVAL;
        }
        /* ARCHIVE_WARN means libarchive lacks the library and would fork the program. */
        if (r != ARCHIVE_OK)
                return -ENOTSUP;
        snprintf(lv, sizeof(lv), "%d", level < 0 ? lr_compress_default_level(c) : level);
        if (archive_write_set_filter_option(a, NULL, "compression-level", lv) != ARCHIVE_OK)
                return -EINVAL;
        return 0;
}

/* gzip: zlib itself, not libarchive's gzip filter, which fixes the strategy and the memory
 * level: with it, level 6 made files 1.0007x gzip -6's size on genlog.py's access log. At the
 * same level, zlib's Z_FILTERED strategy (matches shorter than 6 bytes left as literals) makes
 * 0.976x there and 0.982x on genlog.py's varied log, but 1.008x on a dpkg log, where the default
 * strategy makes 0.9998x; memory level 9 (gzip's own block size) wins on very repetitive logs.
 * So a file is compressed with the one of these four that does best on its first
 * LR_GZIP_PROBE_BYTES (a file no bigger is compressed each way, and the smallest kept): on those
 * four logs the result is 0.976x, 0.982x, 0.9998x and 0.9998x gzip -6, for about 4 extra
 * compressions of 1 MiB per file. Files below LR_GZIP_PROBE_MIN (where the header's bytes
 * matter more) take zlib's defaults at once. The gzip framing (header, CRC-32, size) is zlib's
 * (windowBits 15 + 16). */
static const struct {
        int mem_level, strategy;
} gz_ways[] = {
        { 8, Z_DEFAULT_STRATEGY }, { 8, Z_FILTERED }, { 9, Z_DEFAULT_STRATEGY }, { 9, Z_FILTERED },
};

struct gz_out {
        int fd;
        unsigned char *buf;
        uint64_t written;
};

static int gz_flush(struct gz_out *o, const unsigned char *data, size_t n)
{
        while (n > 0) {
                ssize_t k = write(o->fd, data, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                data += k;
                n -= (size_t)k;
                o->written += (uint64_t)k;
        }
        return 0;
}

/* Deflates N bytes of DATA (FINISH: the last ones) through Z into O. */
static int gz_feed(z_stream *z, struct gz_out *o, const void *data, size_t n, bool finish)
{
        int zr;

        z->next_in = (Bytef *)(uintptr_t)data;
        z->avail_in = (uInt)n;
        do {
                int r;
                z->next_out = o->buf;
                z->avail_out = LR_COMPRESS_BUFSIZE;
                zr = deflate(z, finish ? Z_FINISH : Z_NO_FLUSH);
                if (zr == Z_STREAM_ERROR)
                        return -EIO;
                r = gz_flush(o, o->buf, LR_COMPRESS_BUFSIZE - z->avail_out);
                if (r < 0)
                        return r;
        } while (z->avail_out == 0 || (finish && zr != Z_STREAM_END));
        return 0;
}

/* The size of DATA deflated at LEVEL the WAY-th way as one gzip member into SCRATCH
 * (SCRATCH_LEN: compressBound() and a header). */
static int gz_probe(const void *data, size_t n, int level, size_t way, unsigned char *scratch, size_t scratch_len,
                    size_t *ret)
{
        z_stream z = { 0 };
        int zr;

        if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, gz_ways[way].mem_level, gz_ways[way].strategy) != Z_OK)
                return -ENOMEM;
        z.next_in = (Bytef *)(uintptr_t)data;
        z.avail_in = (uInt)n;
        z.next_out = scratch;
        z.avail_out = (uInt)scratch_len;
        zr = deflate(&z, Z_FINISH);
        *ret = scratch_len - z.avail_out;
        deflateEnd(&z);
        return zr == Z_STREAM_END ? 0 : -EIO;
}

static int gzip_fd(int in, int out, int level, uint64_t *ret_in)
{
        unsigned char *probe = malloc(LR_GZIP_PROBE_BYTES), *best = NULL, *scratch = NULL;
        struct gz_out o = { .fd = out, .buf = malloc(LR_COMPRESS_BUFSIZE) };
        size_t n = 0, bound, best_size = SIZE_MAX, way = 0, ways;
        uint64_t total = 0;
        z_stream z = { 0 };
        bool z_open = false, eof = false;
        int r = 0;

        if (level < 0)
                level = lr_compress_default_level(LR_COMP_GZIP);
        if (!probe || !o.buf) {
                r = -ENOMEM;
                goto out;
        }
        while (n < LR_GZIP_PROBE_BYTES && !eof) {
                ssize_t k = read(in, probe + n, LR_GZIP_PROBE_BYTES - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto out;
                }
                eof = k == 0;
                n += (size_t)k;
        }
        total = n;
        if (lr_compress_fail_after && total > lr_compress_fail_after) {
                r = -ENOSPC;
                goto out;
        }
        ways = n < LR_GZIP_PROBE_MIN ? 1 : sizeof(gz_ways) / sizeof(gz_ways[0]);
        bound = compressBound((uLong)n) + 64;
        best = malloc(bound);
        scratch = malloc(bound);
        if (!best || !scratch) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < ways && (eof || ways > 1); i++) {
                size_t size = 0;
                unsigned char *swap;
                r = gz_probe(probe, n, level, i, scratch, bound, &size);
                if (r < 0)
                        goto out;
                if (size < best_size) {
                        best_size = size;
                        way = i;
                        swap = best;
                        best = scratch;
                        scratch = swap;
                }
        }
        if (eof) {              /* the whole file: keep the smallest */
                r = gz_flush(&o, best, best_size);
                goto done;
        }
        free(best);
        free(scratch);
        best = scratch = NULL;
        if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, gz_ways[way].mem_level, gz_ways[way].strategy) != Z_OK) {
                r = -ENOMEM;
                goto out;
        }
        z_open = true;
        r = gz_feed(&z, &o, probe, n, false);
        while (r >= 0) {
                ssize_t k = read(in, probe, LR_COMPRESS_BUFSIZE);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                if (lr_compress_fail_after && total + (uint64_t)k > lr_compress_fail_after) {
                        r = -ENOSPC;
                        break;
                }
                total += (uint64_t)k;
                r = gz_feed(&z, &o, probe, (size_t)k, k == 0);
                if (k == 0)
                        break;
        }
done:
        if (r >= 0)
                *ret_in = total;
out:
        if (z_open)
                deflateEnd(&z);
        free(best);
        free(scratch);
        free(o.buf);
        free(probe);
        return r;
}

static int archive_err(struct archive *a)
{
        int e = archive_errno(a);
        return e > 0 ? -e : -EIO;
}

int lr_compress_file(const char *src, const char *dst, enum lr_compression c, int level,
                     uint64_t *ret_in, uint64_t *ret_out)
{
        struct archive *a = NULL;
        struct archive_entry *entry = NULL;
        struct atomic_file out = { .fd = -1 };
        char *tmp = NULL, *buf = NULL;
        int in = -1, r;
        uint64_t total_in = 0;
        struct stat st, ost;

        if (asprintf(&tmp, "%s%s", dst, LR_TMP_SUFFIX) < 0) {
                tmp = NULL;
                r = -ENOMEM;
                goto out;
        }
        buf = malloc(LR_COMPRESS_BUFSIZE);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0 || fstat(in, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                goto out;
        }
        if (lstat(dst, &ost) == 0) {
                r = -EEXIST;
                goto out;
        }
        r = atomic_file_open(dst, tmp, st.st_mode & 07777, &out);
        if (r < 0)
                goto out;
        /* Keep the rotated file's owner (and mode, which atomic_file_open() set). */
        if (fchown(out.fd, st.st_uid, st.st_gid) < 0 && errno != EPERM) {
                r = -errno;
                goto out;
        }
        if (c == LR_COMP_GZIP) {
                r = gzip_fd(in, out.fd, level, &total_in);
                if (r < 0)
                        goto out;
                goto written;
        }
        a = archive_write_new();
        entry = archive_entry_new();
        if (!a || !entry) {
                r = -ENOMEM;
                goto out;
        }
        r = add_filter(a, c, level);
        if (r < 0)
                goto out;
        if (archive_write_set_format_raw(a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
            archive_write_open_fd(a, out.fd) != ARCHIVE_OK) {
                r = archive_err(a);
                goto out;
        }
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, st.st_mode & 07777);
        if (archive_write_header(a, entry) != ARCHIVE_OK) {
                r = archive_err(a);
                goto out;
        }
        for (;;) {
                ssize_t n = read(in, buf, LR_COMPRESS_BUFSIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (n == 0)
                        break;
                if (lr_compress_fail_after && total_in + (uint64_t)n > lr_compress_fail_after) {
                        r = -ENOSPC;
                        goto out;
                }
                if (archive_write_data(a, buf, (size_t)n) != n) {
                        r = archive_err(a);
                        goto out;
                }
                total_in += (uint64_t)n;
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                r = archive_err(a);
                goto out;
        }
written:
        if (fstat(out.fd, &ost) < 0) {
                r = -errno;
                goto out;
        }
        r = atomic_file_commit(&out);
        if (r < 0)
                goto out;
        if (ret_in)
                *ret_in = total_in;
        if (ret_out)
                *ret_out = (uint64_t)ost.st_size;
        r = 0;
out:
        if (a)
                archive_write_free(a);   /* closes nothing of ours: open_fd leaves the fd */
        archive_entry_free(entry);
        atomic_file_abort(&out);
        if (in >= 0)
                close(in);
        free(buf);
        free(tmp);
        return r;
}
