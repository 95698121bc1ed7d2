/* logrotate recipe: the rotated files of a log: shifting the numbered ones, removing what falls
 * off the end or is too old, compressing what was left uncompressed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lr_names.h"
#include "lr_prune.h"
#include "lr_reopen.h"
#include "lr_steps.h"
#include "lr_util.h"

int lr_prune_numbered(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        r = lr_list_rotated(run->dirs, dir, base, set, &list, &n);
        if (r < 0)
                return r;
        /* oldest (highest N) first: remove what falls off the end, shift the rest up by one */
        for (size_t i = 0; i < n && r >= 0; i++) {
                char *from = lr_join(dir, list[i].name), *to = NULL;
                if (!from) {
                        r = -ENOMEM;
                        break;
                }
                if (list[i].index >= set->rotate) {
                        if (unlink(from) < 0)
                                r = -errno;
                        else {
                                ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (rotate %u)", from, set->rotate);
                                r = lr_dircache_note(run->dirs, from, false);
                        }
                } else if (asprintf(&to, "%s/%s.%u%s", dir, base, list[i].index + 1,
                                    list[i].name + strlen(list[i].stem)) < 0) {
                        to = NULL;
                        r = -ENOMEM;
                } else if (rename(from, to) < 0)
                        r = -errno;
                else if ((r = lr_dircache_note(run->dirs, from, false)) >= 0)
                        r = lr_dircache_note(run->dirs, to, true);
                free(from);
                free(to);
        }
        lr_rotated_free(list, n);
        return r;
}

int lr_prune_dateext(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base,
                         unsigned keep)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        r = lr_list_rotated(run->dirs, dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i + keep < n && r >= 0; i++) {
                char *p = lr_join(dir, list[i].name);
                if (!p)
                        r = -ENOMEM;
                else if (unlink(p) < 0)
                        r = -errno;
                else {
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (rotate %u)", p, set->rotate);
                        r = lr_dircache_note(run->dirs, p, false);
                }
                free(p);
        }
        lr_rotated_free(list, n);
        return r;
}

int lr_prune_maxage(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r;

        if (!set->maxage)
                return 0;
        r = lr_list_rotated(run->dirs, dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                char *p;
                if (list[i].mtime >= run->now - (time_t)set->maxage * 86400)
                        continue;
                p = lr_join(dir, list[i].name);
                if (!p)
                        r = -ENOMEM;
                else if (unlink(p) < 0)
                        r = -errno;
                else {
                        ctx_log(run->ctx, OPSAGENT_LOG_INFO, "removed %s (older than %u days)", p, set->maxage);
                        r = lr_dircache_note(run->dirs, p, false);
                }
                free(p);
        }
        lr_rotated_free(list, n);
        return r;
}

/* Compresses rotated files left uncompressed (delaycompress, a reopen timeout, a crash). */
int lr_compress_leftovers(struct lr_run *run, const struct lr_set *set, const char *dir, const char *base)
{
        struct lr_rotated *list = NULL;
        size_t n = 0;
        int r, first = 0;

        if (set->compress == LR_COMP_NONE)
                return 0;
        r = lr_list_rotated(run->dirs, dir, base, set, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char *p;
                int k;
                if (list[i].compressed)
                        continue;
                p = lr_join(dir, list[i].name);
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                if (lr_open_for_writing(p) == 1) {
                        /* a writer that never reopened: compressing would lose its next lines */
                        ctx_say(run->ctx, "warning: not compressing %s: a process still has it open for writing",
                                p);
                        free(p);
                        continue;
                }
                k = lr_compress_step(run, set, p, false);
                if (k < 0 && !first)
                        first = k;
                free(p);
        }
        lr_rotated_free(list, n);
        return r < 0 ? r : first;
}
