/* logrotate recipe: the journal entry of the step in flight. */
#include <errno.h>
#include <stdint.h>

#include "lr_journal.h"
#include "lr_state.h"

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
out:
        json_object_put(o);
        return r;
}
