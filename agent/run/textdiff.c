#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spawn.h"
#include "textdiff.h"
#include "util/fileio.h"

/* A private directory for the two sides: $TMPDIR or /tmp, made by mkdtemp(3) (0700). */
static char *private_dir(void)
{
        const char *t = getenv("TMPDIR");
        char *d = NULL;

        if (asprintf(&d, "%s/opsagent-diff-XXXXXX", t && *t == '/' ? t : "/tmp") < 0)
                return NULL;
        if (!mkdtemp(d)) {
                free(d);
                return NULL;
        }
        return d;
}

int textdiff_unified(const char *label, const char *old_text, const char *new_text, char **ret)
{
        struct opsagent_spawn_result res = { 0 };
        char *dir = NULL, *a = NULL, *b = NULL, *out = NULL;
        int r;

        old_text = old_text ? old_text : "";
        new_text = new_text ? new_text : "";
        if (strcmp(old_text, new_text) == 0) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        dir = private_dir();
        if (!dir)
                return -errno ? -errno : -ENOMEM;
        a = path_join(dir, "old");
        b = path_join(dir, "new");
        if (!a || !b) {
                r = -ENOMEM;
                goto out;
        }
        r = write_file_atomic(a, old_text, strlen(old_text), 0600);
        if (r >= 0)
                r = write_file_atomic(b, new_text, strlen(new_text), 0600);
        if (r < 0)
                goto out;
        {
                /* LC_ALL=C: "\ No newline at end of file" is translated otherwise. */
                char *argv[] = { (char *)"env", (char *)"LC_ALL=C", (char *)"diff", (char *)"-u", (char *)"--label",
                                 (char *)label, (char *)"--label", (char *)label, a, b, NULL };

                r = spawn_capture(argv, TEXTDIFF_TIMEOUT_USEC, TEXTDIFF_MAX_OUTPUT, &out, &res);
        }
        if (r < 0)
                goto out;
        /* 1: the files differ; 0 cannot be (they do); 127 from env: no diff; else trouble. */
        if (res.exit_status != 1) {
                r = res.exit_status == 127 ? -ENOENT : -EIO;
                goto out;
        }
        *ret = out;
        out = NULL;
        r = 0;
out:
        free(res.output_tail);
        free(out);
        if (a)
                (void)unlink(a);
        if (b)
                (void)unlink(b);
        if (dir)
                (void)rmdir(dir);
        free(a);
        free(b);
        free(dir);
        return r;
}
