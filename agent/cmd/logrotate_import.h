/* `opsagent logrotate-import FILE`: reads a logrotate configuration (/etc/logrotate.d style)
 * and prints the equivalent attributes for the logrotate recipe, saying which directives it
 * cannot carry over. */
#ifndef OPSAGENT_LOGROTATE_IMPORT_H
#define OPSAGENT_LOGROTATE_IMPORT_H

#include <json-c/json.h>

#define LOGROTATE_IMPORT_MAX_BYTES (1024 * 1024)  /* a bigger config file is refused */
#define LOGROTATE_IMPORT_MAX_SETS 1000

/* Converts logrotate configuration TEXT, read from FILE (used in messages and, by its base
 * name, in set names), into *ret = {"logrotate": {"sets": {...}}} (caller puts). Every
 * directive that cannot be carried over gets a "FILE:LINE: ..." line in *ret_notes (caller
 * frees; NULL when there is none). -EINVAL on a syntax error, explained in *ret_notes. */
int logrotate_import_text(const char *text, const char *file, json_object **ret, char **ret_notes);

/* The command: argv[0] is "logrotate-import", argv[1] the file. Prints the JSON on stdout and
 * the notes on stderr. Returns the exit status: 0 done, 2 usage, unreadable file or syntax. */
int cmd_logrotate_import(int argc, char **argv);

/* The same for the command table (agent/main.c): c->args[0] is the file. */
struct cli;
int cmd_logrotate_import_cli(const struct cli *c);

#endif
