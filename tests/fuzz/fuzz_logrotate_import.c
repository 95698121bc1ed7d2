/* Fuzz target: `opsagent logrotate-import` (agent/cmd/logrotate_import.c,
 * logrotate_import_text()): the input is a logrotate configuration file as found in
 * /etc/logrotate.d. What it makes of it is then taken as the logrotate recipe would: validated
 * against the recipe's schema and every set parsed by lr_set_parse(). */
#include <stdlib.h>

#include "fuzz_util.h"
#include "cmd/logrotate_import.h"
#include "config/attrs.h"
#include "config/schema.h"
#include "util/jsonutil.h"
#include "logrotate_recipe.h"
#include "lr_config.h"

static json_object *schema;

static void check_output(json_object *out)
{
        struct error err = ERROR_INIT;
        struct attrs *a = NULL;
        json_object *sets = json_get_path(out, "logrotate.sets");

        if (!schema && json_parse_text(logrotate_schema_json, "logrotate", &schema, &err) < 0)
                abort();
        if (attrs_new(&a) < 0)
                abort();
        if (attrs_merge(a, "", out, "import", &err) == 0)
                schema_validate(a, "logrotate", schema, &err);
        attrs_free(a);
        if (!sets || !json_object_is_type(sets, json_type_object))
                return;
        json_object_object_foreach(sets, name, obj) {
                struct lr_set *s = NULL;
                char *why = NULL;

                if (lr_set_parse(name, obj, &s, &why) == 0)
                        lr_set_free(s);
                free(why);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_strndup(data, size);
        json_object *out = NULL;
        char *notes = NULL;

        if (logrotate_import_text(text, "/etc/logrotate.d/fuzz", &out, &notes) == 0)
                check_output(out);
        json_object_put(out);
        free(notes);
        free(text);
        return 0;
}
