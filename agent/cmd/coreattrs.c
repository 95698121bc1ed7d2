#include <stddef.h>

#include "coreattrs.h"
#include "run/records.h"
#include "aws/session.h"
#include "report/report.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* opsagent.*: which recipes run with `--all` and get timers, how long run records are kept.
 * opsagent.instance holds the instance facts and cannot be set from JSON. */
static const char opsagent_defaults[] =
        "{"
        " \"recipes\": {},"
        " \"stack_name\": null,"
        " \"logs\": { \"run_log_group\": null },"
        " \"records\": { \"keep\": " STR(RECORDS_DEFAULT_KEEP) ", \"max_age_days\": "
        STR(RECORDS_DEFAULT_MAX_AGE_DAYS) " }"
        "}";

static const char opsagent_schema[] =
        "{ \"type\": \"object\", \"properties\": {"
        "  \"recipes\": { \"type\": \"object\", \"additionalProperties\": { \"type\": \"boolean\" },"
        "    \"description\": \"recipe name -> enabled (run by --all, timers enabled by setup)\" },"
        "  \"stack_name\": { \"type\": [\"string\", \"null\"] },"
        "  \"records\": { \"type\": \"object\", \"properties\": {"
        "    \"keep\": { \"type\": \"integer\", \"minimum\": 1 },"
        "    \"max_age_days\": { \"type\": \"integer\", \"minimum\": 1 } } },"
        "  \"logs\": { \"type\": \"object\", \"properties\": {"
        "    \"run_log_group\": { \"type\": [\"string\", \"null\"], \"minLength\": 1,"
        "      \"description\": \"CloudWatch Logs group for the recipes' runs (one stream per instance)\" } } },"
        "  \"source\": { \"type\": \"object\","
        "    \"description\": \"the stack configuration source, read before the rest (source.h checks it)\" },"
        "  \"instance\": { \"type\": \"object\" }"
        "} }";

/* cloudwatch_logs.*: the log shipper's (agent/logs/logs_config.c checks it fully, naming the file). */
static const char logs_attr_defaults[] = "{ \"flush_seconds\": 2, \"buffer_max_bytes\": 104857600, \"sources\": {} }";
static const char logs_attr_schema[] = "{ \"type\": \"object\" }";

const struct attr_section core_attr_sections[] = {
        { "opsagent", opsagent_defaults, opsagent_schema },
        { "aws", AWS_ATTR_DEFAULTS_JSON, AWS_ATTR_SCHEMA_JSON },
        { "cloudwatch", report_attr_defaults, report_attr_schema },
        { "cloudwatch_logs", logs_attr_defaults, logs_attr_schema },
        { NULL, NULL, NULL },
};
