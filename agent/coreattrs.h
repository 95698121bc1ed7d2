/* Attribute sections that belong to the agent itself rather than to a recipe (opsagent.*,
 * aws.*, cloudwatch.*): their defaults and schemas, merged and validated like a recipe's. */
#ifndef OPSAGENT_COREATTRS_H
#define OPSAGENT_COREATTRS_H

struct core_attr_section {
        const char *root;          /* top-level key */
        const char *defaults_json; /* JSON object */
        const char *schema_json;   /* schema (see schema.h) */
};

/* Terminated by an entry whose root is NULL. */
extern const struct core_attr_section core_attr_sections[];

#endif
