/* logrotate recipe: SHA-256 with OpenSSL's EVP interface (see lr_digest.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lr_digest.h"

#define LR_DIGEST_BUFSIZE (256 * 1024)

struct lr_digest {
        EVP_MD_CTX *md;
};

int lr_digest_new(struct lr_digest **ret)
{
        struct lr_digest *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        d->md = EVP_MD_CTX_new();
        if (!d->md || EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1) {
                lr_digest_free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

int lr_digest_update(struct lr_digest *d, const void *data, size_t len)
{
        return EVP_DigestUpdate(d->md, data, len) == 1 ? 0 : -EIO;
}

int lr_digest_peek(const struct lr_digest *d, char hex[static LR_DIGEST_HEX_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        EVP_MD_CTX *copy = EVP_MD_CTX_new();
        int r = -EIO;

        if (!copy)
                return -ENOMEM;
        if (EVP_MD_CTX_copy_ex(copy, d->md) != 1 || EVP_DigestFinal_ex(copy, md, &n) != 1 || n != 32)
                goto out;
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        r = 0;
out:
        EVP_MD_CTX_free(copy);
        return r;
}

void lr_digest_free(struct lr_digest *d)
{
        if (!d)
                return;
        EVP_MD_CTX_free(d->md);
        free(d);
}

int lr_digest_fd_prefix(int fd, off_t len, char hex[static LR_DIGEST_HEX_LEN + 1])
{
        struct lr_digest *d = NULL;
        char *buf = malloc(LR_DIGEST_BUFSIZE);
        off_t pos = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        r = lr_digest_new(&d);
        if (r < 0)
                goto out;
        while (pos < len) {
                size_t want = len - pos < LR_DIGEST_BUFSIZE ? (size_t)(len - pos) : LR_DIGEST_BUFSIZE;
                ssize_t n = pread(fd, buf, want, pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                if (n == 0) {
                        r = -ENODATA;
                        goto out;
                }
                r = lr_digest_update(d, buf, (size_t)n);
                if (r < 0)
                        goto out;
                pos += n;
        }
        r = lr_digest_peek(d, hex);
out:
        lr_digest_free(d);
        free(buf);
        return r;
}
