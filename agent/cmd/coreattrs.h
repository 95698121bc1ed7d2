/* Attribute sections that belong to the agent itself rather than to a recipe (opsagent.*,
 * aws.*, cloudwatch.*): their defaults and schemas, merged and validated like a recipe's. */
#ifndef OPSAGENT_COREATTRS_H
#define OPSAGENT_COREATTRS_H

#include "config/layers.h"

/* Terminated by an entry whose root is NULL; handed to layers_load() and layers_validate(). */
extern const struct attr_section core_attr_sections[];

#endif
