/* Fuzz target: the logrotate recipe's state file, status.json (recipes/logrotate/lr_state.c).
 * The input is the file; it is loaded from a scratch directory (a corrupt one is moved aside),
 * every log it names is looked up, one is added, and the state is saved. What was saved must
 * load again without being called corrupt, and give the same answers. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "lr_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct lr_state *s = NULL, *again = NULL;
        json_object *doc, *logs = NULL;
        char *text = fuzz_strndup(data, size), *warning = NULL;
        const char *dir;
        time_t t, u;

        fuzz_scratch_reset();
        fuzz_write("/state/status.json", text, strlen(text));
        dir = fuzz_path("/state");
        if (lr_state_load(dir, &s, &warning) < 0)
                goto out;
        free(warning);
        warning = NULL;
        doc = json_tokener_parse(text);
        if (json_object_object_get_ex(doc, "logs", &logs) && json_object_is_type(logs, json_type_object)) {
                json_object_object_foreach(logs, log, v) {
                        (void)v;
                        lr_state_get(s, log, &t);
                }
        }
        if (lr_state_set(s, "/var/log/fuzz.log", 1800000000) < 0 || lr_state_save(s) < 0)
                abort();
        if (lr_state_load(dir, &again, &warning) < 0 || warning)
                abort();        /* what we wrote is not what we read */
        if (json_object_is_type(logs, json_type_object)) {
                json_object_object_foreach(logs, log2, v2) {
                        (void)v2;
                        if ((lr_state_get(s, log2, &t) == 0) != (lr_state_get(again, log2, &u) == 0) ||
                            (lr_state_get(s, log2, &t) == 0 && t != u))
                                abort();
                }
        }
        if (lr_state_get(again, "/var/log/fuzz.log", &t) < 0 || t != 1800000000)
                abort();
        json_object_put(doc);
out:
        lr_state_free(again);
        lr_state_free(s);
        free(warning);
        free(text);
        return 0;
}
