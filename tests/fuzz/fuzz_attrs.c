/* Fuzz target: attribute JSON, its merge and its validation (agent/util/jsonutil.c,
 * agent/config/attrs.c, schema.c, layers_validate()). The input is up to three files cut at
 * FUZZ_SEP: a stack Custom JSON, a local.json merged over it, and a schema. The first two are
 * parsed strictly, merged over the agent's own defaults and those of ebs_snapshots, logrotate
 * and unattended_upgrades, validated against all their schemas (with the near-miss check on
 * top-level keys), printed both ways and searched for secrets; the third is checked as a schema
 * and, when it is one, validates the merged tree too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "cmd/coreattrs.h"
#include "config/attrs.h"
#include "config/layers.h"
#include "config/schema.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "ebs_settings.h"
#include "logrotate_recipe.h"
#include "uu_attrs.h"
#include "uu_settings.h"

#define SECTIONS_MAX 16

static struct attr_section sections[SECTIONS_MAX];
static FILE *devnull;

static void init_once(void)
{
        size_t n = 0;

        if (devnull)
                return;
        for (const struct attr_section *s = core_attr_sections; s->root && n < SECTIONS_MAX - 4; s++)
                sections[n++] = *s;
        sections[n++] = (struct attr_section){ "ebs_snapshots", ebs_defaults_json, ebs_schema_json };
        sections[n++] = (struct attr_section){ "logrotate", logrotate_defaults_json, logrotate_schema_json };
        sections[n++] = (struct attr_section){ UU_ATTR_ROOT, uu_defaults_json, uu_schema_json };
        sections[n] = (struct attr_section){ NULL, NULL, NULL };
        devnull = fopen("/dev/null", "w");
        if (!devnull)
                abort();
}

/* Merges TEXT (labelled FILE) at the top when it is a JSON object, as layers_read() would. */
static void merge_layer(struct attrs *a, const char *text, const char *file)
{
        struct error err = ERROR_INIT;
        json_object *o = NULL;

        if (json_parse_text(text, file, &o, &err) == 0 && json_object_is_type(o, json_type_object))
                attrs_merge(a, "", o, file, &err);
        json_object_put(o);
}

static void look_around(struct attrs *a)
{
        struct error err = ERROR_INIT;

        json_object_object_foreach(attrs_tree(a), key, v) {
                char path[300];

                attrs_origin(a, key);
                attrs_print(a, key, false, devnull, &err);
                if (!json_object_is_type(v, json_type_object))
                        continue;
                json_object_object_foreach(v, sub, w) {
                        (void)w;
                        snprintf(path, sizeof(path), "%s.%s", key, sub);
                        attrs_get(a, path);
                        attrs_origin(a, path);
                }
        }
        attrs_print(a, "", false, devnull, &err);
        attrs_print(a, "", true, devnull, &err);
        attrs_print(a, "no.such.key", false, devnull, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = ERROR_INIT;
        struct attrs *a = NULL;
        json_object *schema = NULL, *facts;
        char *part[3];

        init_once();
        fuzz_split(data, size, part, 3);
        if (attrs_new(&a) < 0)
                abort();
        for (const struct attr_section *s = sections; s->root; s++) {
                json_object *d = NULL;

                if (json_parse_text(s->defaults_json, s->root, &d, &err) < 0)
                        abort();        /* the shipped defaults are ours: they must parse */
                if (attrs_merge(a, s->root, d, "defaults", &err) < 0)
                        abort();
                json_object_put(d);
        }
        merge_layer(a, part[0], "/etc/opsagent/stack.json");
        merge_layer(a, part[1], "/etc/opsagent/local.json");
        facts = json_tokener_parse("{\"id\": \"i-0123456789abcdef0\", \"region\": \"us-east-1\"}");
        attrs_set_protected(a, facts, "instance metadata");
        json_object_put(facts);

        error_clear(&err);
        layers_validate(a, sections, NULL, NULL, 0, &err);
        if (json_parse_text(part[2], "schema", &schema, &err) == 0 && schema_check(schema, "schema", &err) == 0) {
                schema_validate(a, "", schema, &err);
                schema_validate(a, "logrotate", schema, &err);
        }
        json_object_put(schema);
        look_around(a);
        attrs_register_secrets(a);
        log_forget_secrets();
        attrs_free(a);
        fuzz_parts_free(part, 3);
        return 0;
}
