/* logrotate recipe: SHA-256 (OpenSSL EVP) of what copytruncate copied, streamed as it copies,
 * and of the first bytes of a file, as lowercase hex: the fact that recovery decides from. */
#ifndef LR_DIGEST_H
#define LR_DIGEST_H

#include <stddef.h>
#include <sys/types.h>

#define LR_DIGEST_HEX_LEN 64          /* SHA-256 as hex, without the NUL */

struct lr_digest;                     /* opaque; one running SHA-256 */

/* A new running digest in *ret (caller frees with lr_digest_free()). -ENOMEM. */
int lr_digest_new(struct lr_digest **ret);
/* Adds LEN bytes of DATA. -EIO when OpenSSL fails. */
int lr_digest_update(struct lr_digest *d, const void *data, size_t len);
/* The digest of everything added so far into HEX (LR_DIGEST_HEX_LEN + 1 bytes); D goes on
 * and can be updated further. */
int lr_digest_peek(const struct lr_digest *d, char hex[static LR_DIGEST_HEX_LEN + 1]);
void lr_digest_free(struct lr_digest *d);     /* NULL is fine */

/* SHA-256 of the first LEN bytes of FD (read with pread, the offset is left alone) into HEX.
 * -ENODATA when FD holds fewer than LEN bytes; -errno of pread. */
int lr_digest_fd_prefix(int fd, off_t len, char hex[static LR_DIGEST_HEX_LEN + 1]);

#endif
