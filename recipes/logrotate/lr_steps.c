/* logrotate recipe: steps a rotation and a recovery share: compressing a rotated file,
 * creating the new log. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_journal.h"
#include "lr_steps.h"
#include "lr_util.h"
#include "util/fileio.h"

/* Compresses rotated file SRC (full path) to SRC+ext, then removes SRC. */
int lr_compress_step(struct lr_run *run, const struct lr_set *set, const char *src, bool journaled)
{
        char *dst = lr_join3(src, lr_compression_ext(set->compress), "");
        uint64_t in = 0, out = 0;
        char b1[32], b2[32];
        int r;

        if (!dst)
                return -ENOMEM;
        if (lr_exists(dst)) {
                ctx_say(run->ctx, "warning: not compressing %s: %s exists already; move one of them away",
                        src, dst);
                r = -EEXIST;
                goto out;
        }
        if (!journaled) {
                r = lr_journal_step(run, "compress", (const char *const[]){ "src", src, "dst", dst, NULL });
                if (r < 0)
                        goto out;
        }
        r = lr_compress_file(src, dst, set->compress, set->compress_level, &in, &out);
        if (r < 0) {
                ctx_say(run->ctx, "error: compressing %s with %s failed: %s; kept it uncompressed and complete",
                        src, lr_compression_name(set->compress), strerror(-r));
                if (!journaled)
                        (void)lr_journal_clear(run->state_dir);
                goto out;
        }
        (void)lr_dircache_note(run->dirs, dst, true);
        /* DST is durable (fsynced, renamed, its directory fsynced): SRC can go; that its removal
         * be durable can wait (at worst both are there after a power cut) */
        if (unlink(src) < 0) {
                r = -errno;
                goto out;
        }
        (void)lr_dircache_note(run->dirs, src, false);
        lr_dirty(run, src);
        run->stats.bytes_compressed += out;
        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "compressed %s (%s -> %s)", src, lr_human(in, b1, sizeof(b1)),
                lr_human(out, b2, sizeof(b2)));
out:
        free(dst);
        return r;
}

/* The owner and group of the new log: create.owner and create.group, else the old log's. */
int lr_resolve_owner(struct lr_run *run, const struct lr_set *set, uid_t *uid, gid_t *gid)
{
        if (set->create_owner) {
                struct passwd *pw = getpwnam(set->create_owner);
                if (!pw) {
                        ctx_say(run->ctx, "error: create.owner \"%s\" of set %s: no such user", set->create_owner,
                                set->name);
                        return -ESRCH;
                }
                *uid = pw->pw_uid;
        }
        if (set->create_group) {
                struct group *gr = getgrnam(set->create_group);
                if (!gr) {
                        ctx_say(run->ctx, "error: create.group \"%s\" of set %s: no such group", set->create_group,
                                set->name);
                        return -ESRCH;
                }
                *gid = gr->gr_gid;
        }
        return 0;
}

int lr_keep_copy(struct lr_run *run, const char *tmp, const char *dst, char **ret_kept)
{
        char *name = strdup(dst);
        int r = -ENOMEM;

        for (unsigned i = 1; name && i <= LR_KEEP_TRIES + 1; i++) {
                r = lr_rename_noreplace(tmp, name);
                if (r != -EEXIST)
                        break;
                free(name);
                name = NULL;
                if (i == 1 ? asprintf(&name, "%s%s%jd", dst, LR_KEPT_INFIX, (intmax_t)run->now) < 0
                           : asprintf(&name, "%s%s%jd-%u", dst, LR_KEPT_INFIX, (intmax_t)run->now, i) < 0) {
                        name = NULL;
                        r = -ENOMEM;
                }
        }
        if (r < 0) {
                free(name);
                return r;
        }
        (void)fsync_parent_dir(name);
        *ret_kept = name;
        return 0;
}

int lr_create_new_log(const struct lr_set *set, const char *log, uid_t uid, gid_t gid)
{
        int fd, r = 0;

        fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : -errno;    /* the writer made it already */
        if (fchown(fd, uid, gid) < 0 && errno != EPERM)
                r = -errno;
        if (r == 0 && fchmod(fd, set->create_mode) < 0)
                r = -errno;
        close(fd);
        return r;
}
