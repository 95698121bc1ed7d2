/* logrotate recipe: the journal entry of the step in flight. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lr_journal.h"
#include "lr_state.h"
#include "lr_util.h"

int lr_journal_step(struct lr_run *run, const char *step, const char *const *kv)
{
        json_object *o = json_object_new_object();
        int r = -ENOMEM;

        if (!o)
                return -ENOMEM;
        if (json_object_object_add(o, "step", json_object_new_string(step)) < 0)
                goto out;
        for (size_t i = 0; kv[i]; i += 2)
                if (kv[i + 1] && json_object_object_add(o, kv[i], json_object_new_string(kv[i + 1])) < 0)
                        goto out;
        if (json_object_object_add(o, "time", json_object_new_int64((int64_t)run->now)) < 0)
                goto out;
        r = lr_journal_write(run->state_dir, o);
        if (r >= 0)
                run->journaled = true;
        if (r < 0) {
                const char *what = NULL;
                for (const char *const *key = (const char *const[]){ "logical", "log", "src", NULL }; *key && !what;
                     key++)
                        for (size_t i = 0; kv[i] && !what; i += 2)
                                if (strcmp(kv[i], *key) == 0)
                                        what = kv[i + 1];
                ctx_say(run->ctx, "error: cannot write %s/%s (the recipe's state, recorded before each step) "
                        "before the %s of %s: %s%s", run->state_dir, LR_JOURNAL_FILE, step, what ? what : "a log",
                        strerror(-r), lr_write_advice(r));
        }
out:
        json_object_put(o);
        return r;
}
