/* The shipper's configuration: the `cloudwatch_logs` attribute section (flush_seconds,
 * buffer_max_bytes, sources.NAME.{path | journal, log_group, log_stream, multiline_start,
 * timestamp, retention_days, encoding}) and opsagent.logs.run_log_group (the recipes' runs,
 * an implicit source). Read from the merged attributes; an error names the file the value
 * came from and its key. No logging. */
#ifndef OPSAGENT_LOGS_CONFIG_H
#define OPSAGENT_LOGS_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/attrs.h"
#include "util/error.h"

#define LOGS_DEFAULT_FLUSH_USEC 2000000ULL    /* = the shipped default of flush_seconds (agent/cmd/coreattrs.c) */
#define LOGS_MAX_FLUSH_SECONDS 3600.0
#define LOGS_MAX_SOURCES 256
#define LOGS_MAX_UNITS 64
#define LOGS_NAME_MAX 64
#define LOGS_DEFAULT_STREAM "{instance_id}"
#define LOGS_RUNS_SOURCE "opsagent-runs"        /* the implicit source of the recipes' runs */
#define LOGS_RUNS_FILE "runs/runs.log"          /* STATE/logs/runs/runs.log (agent/run/runlines.h) */

struct logs_source_config {
        char *name;
        char *path;                     /* a glob, absolute (/var/log/app/NAME.log); NULL: the journal */
        bool in_state;                  /* PATH is the state directory's, not under --root */
        bool journal;
        char **units;                   /* journal: _SYSTEMD_UNIT= values, N_UNITS of them */
        size_t n_units;
        int priority;                   /* journal: the least urgent PRIORITY= taken; -1: all */
        char *group;
        char *stream;                   /* the template ({instance_id}, {hostname}, {recipe}, {file}) */
        bool has_start;
        regex_t start;                  /* multiline_start, when has_start */
        char *ts_format;                /* timestamp, or NULL */
        int retention_days;             /* 0: none */
};

/* Owns everything it points to. */
struct logs_config {
        uint64_t flush_usec;
        uint64_t buffer_max_bytes;
        struct logs_source_config *src;
        size_t n_src;
};

/* Reads the configuration from A. RUNS_LOG_PATH is where the runner writes the runs
 * (STATE/logs/runs/runs.log), shipped when opsagent.logs.run_log_group is set. -EINVAL with ERR
 * naming the file and key for a value that is wrong. Free with logs_config_free(). */
int logs_config_from_attrs(struct attrs *a, const char *runs_log_path, struct logs_config *ret, struct error *err);
void logs_config_free(struct logs_config *c);

/* The stream name of TMPL for these values (each may be NULL: empty); caller frees. -EINVAL
 * (ERR says which) for an unknown {placeholder}. */
int logs_stream_name(const char *tmpl, const char *instance_id, const char *hostname, const char *recipe,
                     const char *file, char **ret, struct error *err);

/* The journal priority NAME ("warning", "err", "3", ...) as a number 0..7, or -EINVAL. */
int logs_priority_from_name(const char *name);

#endif
