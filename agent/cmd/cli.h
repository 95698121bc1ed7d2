/* The command line: one getopt_long pass over every argument (options may come before or
 * after the command), then a check that each option is one the command accepts. */
#ifndef OPSAGENT_CLI_H
#define OPSAGENT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

/* opsagent's exit status (documented in opsagent(8)). */
enum {
        EXIT_OK = 0,
        EXIT_RECIPE_FAILED = 1,   /* a recipe failed, or the run was interrupted */
        EXIT_USAGE = 2,           /* usage or configuration error: nothing was run, or a recipe
                                   * stopped at a setting it cannot work with (config_error) */
        EXIT_LOCKED = 3,          /* another run of a recipe held its lock */
};

#define CLI_MAX_RECIPES 64
#define CLI_MAX_EXTRA_JSON 16

enum cli_option {
        OPT_RECIPE = 1u << 0,     /* -r, --recipe NAME (repeatable) */
        OPT_ALL = 1u << 1,        /* --all */
        OPT_DRY_RUN = 1u << 2,    /* -n, --dry-run */
        OPT_EXTRA_JSON = 1u << 3, /* -j, --extra-json FILE (repeatable) */
        OPT_JSON = 1u << 4,       /* --json (output) */
        OPT_NO_REPORT = 1u << 5,  /* --no-report */
        OPT_LIMIT = 1u << 6,      /* --limit N */
        OPT_NO_HEADER = 1u << 7,  /* --no-header (tables for scripts) */
        OPT_LAST = 1u << 8,       /* --last */
        OPT_UNDO = 1u << 9,       /* --undo */
        OPT_ONCE = 1u << 10,      /* --once */
        OPT_STATUS = 1u << 11,    /* --status */
        OPT__LAST = OPT_STATUS,
};

struct cli;

struct command {
        const char *name;
        const char *summary;   /* one line for `opsagent --help` */
        const char *help;      /* the whole `opsagent CMD --help` text after the usage line */
        const char *usage;     /* "run (--recipe NAME... | --all) [--dry-run] [-j FILE]" */
        unsigned options;      /* enum cli_option accepted */
        unsigned min_args, max_args;
        int (*run)(const struct cli *c); /* returns the exit code */
};

struct cli {
        const struct command *cmd;      /* NULL with --help/--version alone */
        const char *root, *config_dir, *state_dir, *run_dir;
        const char *recipes[CLI_MAX_RECIPES];
        size_t n_recipes;
        const char *extra_json[CLI_MAX_EXTRA_JSON];
        size_t n_extra_json;
        bool all, dry_run, json, no_report, no_header, last, undo, once, status, help, version;
        int verbosity;                  /* +1 per -v, -1 per -q */
        unsigned limit;                 /* 0 = command default */
        char **args;                    /* positionals after the command (borrowed from argv) */
        size_t n_args;
        char *args_storage[16];
};

/* Parses ARGV against COMMANDS (terminated by a NULL name). On a usage error err says what is
 * wrong in one line; the caller prints it with the usage and exits 2. ARGV may be permuted. */
int cli_parse(int argc, char **argv, const struct command *commands, struct cli *ret, struct error *err);

/* Prints `opsagent --help` (all commands, common options, exit codes). */
void cli_print_help(const struct command *commands, FILE *out);
/* Prints `opsagent CMD --help`. */
void cli_print_command_help(const struct command *cmd, FILE *out);

#endif
