/* logrotate recipe: finishing or undoing the step a killed run left in the journal. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lr_compress.h"
#include "lr_recover.h"
#include "lr_reopen.h"
#include "lr_state.h"
#include "lr_steps.h"
#include "lr_util.h"

#define LR_COMPARE_BYTES 65536        /* copytruncate recovery: bytes compared */

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static const struct lr_set *find_set(struct lr_run *run, const char *name)
{
        for (size_t i = 0; name && i < run->n_sets; i++)
                if (strcmp(run->sets[i]->name, name) == 0)
                        return run->sets[i];
        return NULL;
}

/* Was LOG truncated after TMP was copied from it? Compares their first bytes. */
static bool was_truncated(const char *log, const char *tmp, off_t copied)
{
        char a[LR_COMPARE_BYTES], b[LR_COMPARE_BYTES];
        struct stat st;
        size_t n;
        int fa, fb;
        bool truncated = true;

        if (stat(log, &st) < 0 || st.st_size < copied)
                return true;
        n = copied < (off_t)sizeof(a) ? (size_t)copied : sizeof(a);
        fa = open(log, O_RDONLY | O_CLOEXEC);
        fb = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fa >= 0 && fb >= 0 && pread(fa, a, n, 0) == (ssize_t)n && pread(fb, b, n, 0) == (ssize_t)n)
                truncated = memcmp(a, b, n) != 0;
        if (fa >= 0)
                close(fa);
        if (fb >= 0)
                close(fb);
        return truncated;
}

int lr_recover(struct lr_run *run)
{
        json_object *j = NULL;
        const char *step, *src, *dst, *log, *tmp, *logical;
        const struct lr_set *set;
        char *ctmp = NULL;
        int r;

        r = lr_journal_read(run->state_dir, &j);
        if (r == -ENOENT)
                return 0;
        if (r == -EBADMSG) {
                ctx_say(run->ctx, "warning: %s/%s was unreadable and is removed; check the rotated logs of "
                        "the last run", run->state_dir, LR_JOURNAL_FILE);
                return 0;
        }
        if (r < 0)
                return r;
        step = jstr(j, "step");
        src = jstr(j, "src");
        dst = jstr(j, "dst");
        log = jstr(j, "log");
        tmp = jstr(j, "tmp");
        logical = jstr(j, "logical");
        set = find_set(run, jstr(j, "set"));
        if (run->dry_run) {
                ctx_say(run->ctx, "would finish or undo the interrupted step \"%s\" of the last run",
                        step ? step : "?");
                goto out;
        }
        if (step && strcmp(step, "compress") == 0 && src && dst) {
                ctmp = lr_join3(dst, LR_TMP_SUFFIX, "");
                if (!ctmp) {
                        r = -ENOMEM;
                        goto out;
                }
                (void)unlink(ctmp);
                if (lr_exists(dst) && lr_exists(src)) {
                        /* renamed after fsync: the compressed file is complete */
                        if (unlink(src) < 0) {
                                r = -errno;
                                goto out;
                        }
                        ctx_say(run->ctx, "recovered: finished compressing %s", dst);
                } else if (lr_exists(src))
                        ctx_say(run->ctx, "recovered: undid the interrupted compression of %s (kept it whole)",
                                src);
        } else if (step && strcmp(step, "copytruncate") == 0 && log && dst && tmp) {
                const char *phase = jstr(j, "phase"), *copied = jstr(j, "copied");
                if (!lr_exists(tmp))
                        ;       /* either never made or already renamed to dst: nothing half-done */
                else if (phase && strcmp(phase, "truncate") == 0 && copied &&
                         was_truncated(log, tmp, (off_t)strtoll(copied, NULL, 10))) {
                        if (rename(tmp, dst) < 0) {
                                r = -errno;
                                goto out;
                        }
                        ctx_say(run->ctx, "recovered: %s had been truncated; kept its copy as %s", log, dst);
                        if (logical)
                                (void)lr_state_set(run->state, logical, run->now);
                } else {
                        (void)unlink(tmp);
                        ctx_say(run->ctx, "recovered: undid the interrupted copy of %s (it was not truncated)",
                                log);
                }
        } else if (step && strcmp(step, "rename") == 0 && log && dst) {
                if (lr_exists(dst)) {
                        const char *method = jstr(j, "method");
                        if (logical)
                                (void)lr_state_set(run->state, logical, run->now);
                        if (method && strcmp(method, "create") == 0 && set) {
                                struct stat st;
                                uid_t uid;
                                gid_t gid;
                                if (stat(dst, &st) == 0) {
                                        uid = st.st_uid;
                                        gid = st.st_gid;
                                        r = lr_resolve_owner(run, set, &uid, &gid);
                                        if (r >= 0)
                                                r = lr_create_new_log(set, log, uid, gid);
                                }
                        } else if (method && strcmp(method, "reopen") == 0 && set)
                                r = lr_reopen_and_compress(run, set, log, dst);
                        ctx_say(run->ctx, "recovered: finished rotating %s to %s", log, dst);
                }
        } else
                ctx_say(run->ctx, "warning: unknown step in %s/%s; ignored", run->state_dir, LR_JOURNAL_FILE);
        if (run->state)
                (void)lr_state_save(run->state);
out:
        if (r >= 0 && !run->dry_run)
                r = lr_journal_clear(run->state_dir);
        free(ctmp);
        json_object_put(j);
        return r;
}
