#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awserror.h"
#include "util/log.h"

static void copy_str(char *dst, size_t size, const char *src)
{
        snprintf(dst, size, "%s", src ? src : "");
}

void aws_error_set(struct opsagent_aws_error *e, const char *operation, const char *code, long status,
                   const char *request_id, const char *fmt, ...)
{
        memset(e, 0, sizeof(*e));
        e->http_status = (int)status;
        copy_str(e->operation, sizeof(e->operation), operation);
        copy_str(e->code, sizeof(e->code), code);
        copy_str(e->request_id, sizeof(e->request_id), request_id);
        if (fmt) {
                char msg[sizeof(e->message)];
                char *clean;
                va_list ap;

                va_start(ap, fmt);
                vsnprintf(msg, sizeof(msg), fmt, ap);
                va_end(ap);
                clean = log_scrub(msg);
                copy_str(e->message, sizeof(e->message), clean ? clean : "(message withheld)");
                free(clean);
        }
}

char *aws_error_format(const struct opsagent_aws_error *e, char *buf, size_t size)
{
        bool rid = e->request_id[0] != '\0';

        snprintf(buf, size, "%s%s%s%s%s%s%s%s", e->operation, e->operation[0] ? ": " : "", e->code,
                 e->code[0] && e->message[0] ? ": " : "", e->message, rid ? " (request id " : "", e->request_id,
                 rid ? ")" : "");
        return buf;
}

int aws_errno_for_code(const char *code, long http_status)
{
        static const char *const auth[] = {
                "AuthFailure", "UnauthorizedOperation", "InvalidClientTokenId", "SignatureDoesNotMatch",
                "AccessDenied", "AccessDeniedException", "ExpiredToken", "ExpiredTokenException",
                "RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture", "SignatureExpired",
                "OptInRequired", "MissingAuthenticationToken", "IncompleteSignature", "InvalidAccessKeyId",
        };
        size_t l = code ? strlen(code) : 0;

        if (!code || !*code)
                return http_status >= 500 ? -EIO : http_status == 403 || http_status == 401 ? -EACCES : -EINVAL;
        if (strcmp(code, "InvalidSnapshot.InUse") == 0)
                return -EBUSY;
        if (l > 9 && strcmp(code + l - 9, ".NotFound") == 0)
                return -ENOENT;
        if (l > 10 && strcmp(code + l - 10, ".Malformed") == 0)
                return -EINVAL;
        /* JSON protocols: ResourceNotFoundException, ParameterNotFound, ResourceAlreadyExistsException */
        if ((l > 17 && strcmp(code + l - 17, "NotFoundException") == 0) ||
            (l > 8 && strcmp(code + l - 8, "NotFound") == 0))
                return -ENOENT;
        if (l > 22 && strcmp(code + l - 22, "AlreadyExistsException") == 0)
                return -EEXIST;
        for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++)
                if (strcmp(code, auth[i]) == 0)
                        return -EACCES;
        if (http_status >= 500)
                return -EIO;
        return -EINVAL;
}
