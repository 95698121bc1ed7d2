#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/schema.h"

enum {
        ARG_ROOT = 0x100,
        ARG_CONFIG_DIR,
        ARG_STATE_DIR,
        ARG_RUN_DIR,
        ARG_ALL,
        ARG_JSON,
        ARG_NO_REPORT,
        ARG_LIMIT,
        ARG_NO_HEADER,
        ARG_LAST,
        ARG_UNDO,
        ARG_ONCE,
        ARG_STATUS,
        ARG_VERSION,
};

static const struct option long_options[] = {
        { "root", required_argument, NULL, ARG_ROOT },
        { "config-dir", required_argument, NULL, ARG_CONFIG_DIR },
        { "state-dir", required_argument, NULL, ARG_STATE_DIR },
        { "run-dir", required_argument, NULL, ARG_RUN_DIR },
        { "recipe", required_argument, NULL, 'r' },
        { "all", no_argument, NULL, ARG_ALL },
        { "dry-run", no_argument, NULL, 'n' },
        { "extra-json", required_argument, NULL, 'j' },
        { "json", no_argument, NULL, ARG_JSON },
        { "no-report", no_argument, NULL, ARG_NO_REPORT },
        { "limit", required_argument, NULL, ARG_LIMIT },
        { "no-header", no_argument, NULL, ARG_NO_HEADER },
        { "last", no_argument, NULL, ARG_LAST },
        { "undo", no_argument, NULL, ARG_UNDO },
        { "once", no_argument, NULL, ARG_ONCE },
        { "status", no_argument, NULL, ARG_STATUS },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, ARG_VERSION },
        { NULL, 0, NULL, 0 },
};

static const struct command *find_command(const struct command *commands, const char *name)
{
        for (const struct command *c = commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

static const char *option_name(unsigned opt)
{
        switch (opt) {
        case OPT_RECIPE:
                return "--recipe";
        case OPT_ALL:
                return "--all";
        case OPT_DRY_RUN:
                return "--dry-run";
        case OPT_EXTRA_JSON:
                return "-j/--extra-json";
        case OPT_JSON:
                return "--json";
        case OPT_NO_REPORT:
                return "--no-report";
        case OPT_LIMIT:
                return "--limit";
        case OPT_NO_HEADER:
                return "--no-header";
        case OPT_LAST:
                return "--last";
        case OPT_UNDO:
                return "--undo";
        case OPT_ONCE:
                return "--once";
        case OPT_STATUS:
                return "--status";
        }
        return "?";
}

int cli_parse(int argc, char **argv, const struct command *commands, struct cli *ret, struct error *err)
{
        struct cli c;
        unsigned used = 0;
        char *positional[64];
        size_t n_pos = 0;
        int opt;

        memset(&c, 0, sizeof(c));
        optind = 0; /* full re-initialisation, so that tests can parse repeatedly */
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "-:r:nj:vqh", long_options, NULL)) != -1) {
                switch (opt) {
                case 1: /* positional, in order */
                        if (n_pos >= sizeof(positional) / sizeof(positional[0]))
                                return error_set(err, -E2BIG, "too many arguments");
                        positional[n_pos++] = optarg;
                        break;
                case ARG_ROOT:
                        c.root = optarg;
                        break;
                case ARG_CONFIG_DIR:
                        c.config_dir = optarg;
                        break;
                case ARG_STATE_DIR:
                        c.state_dir = optarg;
                        break;
                case ARG_RUN_DIR:
                        c.run_dir = optarg;
                        break;
                case 'r':
                        if (c.n_recipes >= CLI_MAX_RECIPES)
                                return error_set(err, -E2BIG, "at most %d --recipe options", CLI_MAX_RECIPES);
                        c.recipes[c.n_recipes++] = optarg;
                        used |= OPT_RECIPE;
                        break;
                case ARG_ALL:
                        c.all = true;
                        used |= OPT_ALL;
                        break;
                case 'n':
                        c.dry_run = true;
                        used |= OPT_DRY_RUN;
                        break;
                case 'j':
                        if (c.n_extra_json >= CLI_MAX_EXTRA_JSON)
                                return error_set(err, -E2BIG, "at most %d -j files", CLI_MAX_EXTRA_JSON);
                        c.extra_json[c.n_extra_json++] = optarg;
                        used |= OPT_EXTRA_JSON;
                        break;
                case ARG_JSON:
                        c.json = true;
                        used |= OPT_JSON;
                        break;
                case ARG_NO_REPORT:
                        c.no_report = true;
                        used |= OPT_NO_REPORT;
                        break;
                case ARG_LIMIT: {
                        char *end;
                        long v;

                        errno = 0;
                        v = strtol(optarg, &end, 10);
                        if (errno || *end || v < 1 || v > 1000000)
                                return error_set(err, -EINVAL, "--limit: expected a number from 1 to 1000000, got \"%s\"",
                                                 optarg);
                        c.limit = (unsigned)v;
                        used |= OPT_LIMIT;
                        break;
                }
                case ARG_NO_HEADER:
                        c.no_header = true;
                        used |= OPT_NO_HEADER;
                        break;
                case ARG_UNDO:
                        c.undo = true;
                        used |= OPT_UNDO;
                        break;
                case ARG_ONCE:
                        c.once = true;
                        used |= OPT_ONCE;
                        break;
                case ARG_STATUS:
                        c.status = true;
                        used |= OPT_STATUS;
                        break;
                case ARG_LAST:
                        c.last = true;
                        used |= OPT_LAST;
                        break;
                case 'v':
                        c.verbosity++;
                        break;
                case 'q':
                        c.verbosity--;
                        break;
                case 'h':
                        c.help = true;
                        break;
                case ARG_VERSION:
                        c.version = true;
                        break;
                case ':':
                        return error_set(err, -EINVAL, "option %s needs a value", argv[optind - 1]);
                default:
                        if (optopt)
                                return error_set(err, -EINVAL, "unknown option -%c", optopt);
                        return error_set(err, -EINVAL, "unknown option %s", argv[optind - 1]);
                }
        }
        if (n_pos == 0) {
                if (!c.help && !c.version)
                        return error_set(err, -EINVAL, "no command given");
                *ret = c;
                return 0;
        }
        c.cmd = find_command(commands, positional[0]);
        if (!c.cmd) {
                const char *names[64], *near;
                size_t n = 0;

                for (const struct command *k = commands; k->name && n < sizeof(names) / sizeof(names[0]); k++)
                        names[n++] = k->name;
                near = did_you_mean(positional[0], names, n);
                if (near)
                        return error_set(err, -EINVAL, "unknown command \"%s\" (did you mean %s?)", positional[0],
                                         near);
                return error_set(err, -EINVAL, "unknown command \"%s\"", positional[0]);
        }
        if (c.help) {
                *ret = c;
                return 0;
        }
        for (unsigned bit = 1; bit <= OPT__LAST; bit <<= 1)
                if ((used & bit) && !(c.cmd->options & bit))
                        return error_set(err, -EINVAL, "%s does not take %s", c.cmd->name, option_name(bit));
        if (n_pos - 1 < c.cmd->min_args || n_pos - 1 > c.cmd->max_args ||
            n_pos - 1 > sizeof(c.args_storage) / sizeof(c.args_storage[0]))
                return error_set(err, -EINVAL, "%s: wrong number of arguments (usage: opsagent %s)", c.cmd->name,
                                 c.cmd->usage);
        for (size_t i = 1; i < n_pos; i++)
                c.args_storage[i - 1] = positional[i];
        *ret = c;
        ret->args = ret->args_storage;
        ret->n_args = n_pos - 1;
        return 0;
}

static const char common_options[] =
        "Common options:\n"
        "  --root DIR         treat DIR as the system root: configuration in DIR/etc/opsagent,\n"
        "                     state in DIR/var/lib/opsagent, and every path a recipe touches\n"
        "  --config-dir DIR   attribute files (default: " SYSCONFDIR "/opsagent)\n"
        "  --state-dir DIR    run records and recipe state (default: " LOCALSTATEDIR "/lib/opsagent)\n"
        "  --run-dir DIR      locks (default: " RUNSTATEDIR "/opsagent)\n"
        "  -v, --verbose      more detail (twice for debug)\n"
        "  -q, --quiet        errors only\n"
        "  -h, --help         this help; `opsagent COMMAND --help` for one command\n"
        "  --version          print the version\n";

static const char exit_codes[] =
        "Exit status:\n"
        "  0  success\n"
        "  1  a recipe failed (or was interrupted)\n"
        "  2  usage or configuration error: nothing was run, or a recipe stopped at a\n"
        "     setting it cannot work with (outcome config_error)\n"
        "  3  another run of that recipe holds its lock\n";

void cli_print_help(const struct command *commands, FILE *out)
{
        fprintf(out, "Usage: opsagent [OPTIONS] COMMAND [ARGS]\n\n"
                     "Node agent for OpsWorks-style EC2 stacks: merges instance metadata and Custom JSON into\n"
                     "attributes, runs recipe plugins, reports to CloudWatch.\n\nCommands:\n");
        for (const struct command *c = commands; c->name; c++)
                fprintf(out, "  %-18s %s\n", c->name, c->summary);
        fprintf(out, "\n%s\n%s\nEnvironment: OPSAGENT_PLUGIN_PATH, OPSAGENT_CONFIG_DIR, OPSAGENT_STATE_DIR,\n"
                     "OPSAGENT_RUN_DIR, and the AWS SDK variables (see opsagent(8)).\n",
                common_options, exit_codes);
}

void cli_print_command_help(const struct command *cmd, FILE *out)
{
        fprintf(out, "Usage: opsagent %s\n\n%s\n%s\n%s", cmd->usage, cmd->help, common_options, exit_codes);
}
