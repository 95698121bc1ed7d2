/* opsagent: the command table and main(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/configure.h"
#include "cmd/doctor.h"
#include "cmd/logcmd.h"
#include "cmd/logscmd.h"
#include "cmd/logrotate_import.h"
#include "cmd/setup.h"
#include "config/paths.h"
#include "util/log.h"

const struct command opsagent_commands[] = {
        {
                .name = "run",
                .summary = "run recipes now",
                .usage = "run (--recipe NAME... | --all) [--dry-run] [-j FILE]... [--no-report] [--json]",
                .help = "Runs each named recipe (or, with --all, every recipe enabled by opsagent.recipes.NAME)\n"
                        "in its own process with its time budget, one at a time, and records the outcome.\n\n"
                        "  -r, --recipe NAME     run NAME (repeatable)\n"
                        "  --all                 run every enabled recipe\n"
                        "  -n, --dry-run         print what would be done; change nothing\n"
                        "  -j, --extra-json FILE extra attributes, highest precedence (repeatable)\n"
                        "  --no-report           do not send this run's metrics to CloudWatch\n"
                        "  --json                print each run's record (run_id, recipe, start, end,\n"
                        "                        duration_sec, outcome, error, metrics, dry_run) as one line\n"
                        "                        of JSON; what the run says goes to stderr\n\n"
                        "Examples:\n"
                        "  opsagent run --recipe ebs_snapshots\n"
                        "  opsagent run --recipe logrotate --dry-run -j /tmp/override.json\n",
                .options = OPT_RECIPE | OPT_ALL | OPT_DRY_RUN | OPT_EXTRA_JSON | OPT_NO_REPORT | OPT_JSON,
                .run = cmd_run,
        },
        {
                .name = "recover",
                .summary = "undo what a killed run left behind",
                .usage = "recover (--recipe NAME... | --all) [--dry-run]",
                .help = "Calls the recover step of each named recipe (or, with --all, of every installed one):\n"
                        "it undoes what a run that was killed may have left, and does nothing when nothing was\n"
                        "left. ebs_snapshots thaws a filesystem that a killed run left frozen. Recipes without\n"
                        "a recover step are skipped. Each recipe's systemd unit runs this after every stop.\n"
                        "It waits for nobody: while a run of the recipe holds its lock, it exits 3.\n\n"
                        "  -r, --recipe NAME     recover NAME (repeatable)\n"
                        "  --all                 every installed recipe\n"
                        "  -n, --dry-run         say what would be undone; change nothing\n\n"
                        "Example:\n"
                        "  opsagent recover --recipe ebs_snapshots\n",
                .options = OPT_RECIPE | OPT_ALL | OPT_DRY_RUN,
                .run = cmd_recover,
        },
        {
                .name = "recipes",
                .summary = "list installed recipes",
                .usage = "recipes [--json | --no-header]",
                .help = "Lists the installed recipe plugins: name, version, whether enabled (opsagent.recipes.NAME),\n"
                        "summary.\n\n"
                        "  --json                machine-readable output\n"
                        "  --no-header           no header row (for scripts)\n",
                .options = OPT_JSON | OPT_NO_HEADER,
                .run = cmd_recipes,
        },
        {
                .name = "attributes",
                .summary = "print the merged attributes and where each value came from",
                .usage = "attributes [KEY.PATH] [--json] [-j FILE]...",
                .help = "Prints the merged attribute tree (or the part under KEY.PATH), one value per line\n"
                        "with the file it came from. Secrets (aws_key, aws_secret, *password*, *secret*,\n"
                        "*token*) are always shown as (redacted).\n\n"
                        "Precedence, lowest first: recipe defaults, stack.json (or user-data), layers/*.json,\n"
                        "local.json, -j files. Objects merge key by key; scalars and arrays replace.\n\n"
                        "  --json                machine-readable output\n"
                        "  -j, --extra-json FILE extra attributes, highest precedence (repeatable)\n",
                .options = OPT_JSON | OPT_EXTRA_JSON,
                .max_args = 1,
                .run = cmd_attributes,
        },
        {
                .name = "status",
                .summary = "the last outcome of each recipe",
                .usage = "status [--json | --no-header]",
                .help = "Shows each installed recipe, whether it is enabled, and its last run (dry runs are not\n"
                        "outcomes), or since when a run in progress holds its lock.\n"
                        "Exits 1 when the last run of an enabled recipe did not succeed, else 0 (for monitoring).\n\n"
                        "  --json                machine-readable output\n"
                        "  --no-header           no header row (for scripts)\n",
                .options = OPT_JSON | OPT_NO_HEADER,
                .run = cmd_status,
        },
        {
                .name = "history",
                .summary = "past runs, newest first",
                .usage = "history [--recipe NAME] [--limit N] [--json | --no-header]",
                .help = "Lists recorded runs, newest first: start (UTC), recipe, outcome, duration, error. At a\n"
                        "terminal the error is cut to its width (--json has it whole).\n\n"
                        "  -r, --recipe NAME     only this recipe\n"
                        "  --limit N             at most N runs (default 50)\n"
                        "  --json                machine-readable output\n"
                        "  --no-header           no header row (for scripts)\n",
                .options = OPT_RECIPE | OPT_JSON | OPT_LIMIT | OPT_NO_HEADER,
                .run = cmd_history,
        },
        LOG_COMMAND,
        LOGS_COMMAND,
        {
                .name = "logrotate-import",
                .summary = "print logrotate recipe attributes equivalent to a logrotate configuration",
                .usage = "logrotate-import FILE",
                .help = "Reads FILE, a logrotate configuration (/etc/logrotate.d style), and prints the\n"
                        "equivalent attributes of the logrotate recipe as JSON on stdout, to merge into\n"
                        "/etc/opsagent/stack.json or local.json. Directives that cannot be carried over\n"
                        "are named on stderr with their line.\n\n"
                        "Example:\n"
                        "  opsagent logrotate-import /etc/logrotate.d/supervisor\n",
                .min_args = 1,
                .max_args = 1,
                .run = cmd_logrotate_import_cli,
        },
        {
                .name = "report",
                .summary = "send the heartbeat and host metrics to CloudWatch",
                .usage = "report [--json]",
                .help = "Sends Heartbeat, the host metrics (disk_used_percent per filesystem, mem_used_percent,\n"
                        "swap_used_percent, load averages) and SecondsSinceLastSuccess of every enabled recipe\n"
                        "to CloudWatch (namespace cloudwatch.namespace), after what the spool kept while\n"
                        "CloudWatch could not be reached. Run by a timer every 5 minutes. Nothing is sent when\n"
                        "cloudwatch.enabled is false. If CloudWatch cannot be reached the metrics are spooled\n"
                        "and the command still succeeds.\n\n"
                        "  --json                print one JSON object: outcome (sent, spooled, disabled or\n"
                        "                        failed), duration_sec, recipes (those reported), error\n",
                .options = OPT_JSON,
                .run = cmd_report,
        },
        SETUP_COMMAND,
        CONFIGURE_COMMAND,
        DOCTOR_COMMAND,
        { .name = NULL },
};

/* `--version -v`: the directories configure built in, and where this command line would look
 * instead (--root, --*-dir, OPSAGENT_* variables). */
static void print_built_paths(const struct cli *c)
{
        static const char *const names[] = { "configuration", "state", "locks", "recipes" };
        const char *built[] = { SYSCONFDIR "/opsagent", LOCALSTATEDIR "/lib/opsagent", RUNSTATEDIR "/opsagent",
                                PLUGINDIR };
        struct error err = ERROR_INIT;
        struct paths p;
        bool have = paths_init(&p, c->root, c->config_dir, c->state_dir, c->run_dir, &err) >= 0;
        const char *now[4] = { have ? p.config_dir : NULL, have ? p.state_dir : NULL, have ? p.run_dir : NULL,
                               have ? p.plugin_path : NULL };

        printf("built with (configure):\n");
        for (size_t i = 0; i < 4; i++) {
                printf("  %-14s %s", names[i], built[i]);
                if (now[i] && strcmp(now[i], built[i]) != 0)
                        printf("   (here: %s)", now[i]);
                printf("\n");
        }
        printf("  %-14s %s\n", "systemd units", SYSTEMDSYSTEMUNITDIR);
        if (have)
                paths_free(&p);
}

int main(int argc, char **argv)
{
        struct error err = ERROR_INIT;
        struct cli c;
        int level;

        log_setup(LOG_TARGET_AUTO, LOG_NOTICE);
        if (cli_parse(argc, argv, opsagent_commands, &c, &err) < 0) {
                fprintf(stderr, "opsagent: %s\nTry 'opsagent --help'.\n", err.msg);
                return EXIT_USAGE;
        }
        if (c.version) {
                printf("opsagent %s (recipe plugin ABI %d)\n", PACKAGE_VERSION, OPSAGENT_RECIPE_ABI);
                if (c.verbosity > 0)
                        print_built_paths(&c);
                return EXIT_OK;
        }
        if (c.help) {
                if (c.cmd)
                        cli_print_command_help(c.cmd, stdout);
                else
                        cli_print_help(opsagent_commands, stdout);
                return EXIT_OK;
        }
        level = LOG_NOTICE + c.verbosity;
        if (level < LOG_ERR)
                level = LOG_ERR;
        if (level > LOG_DEBUG)
                level = LOG_DEBUG;
        log_setup(LOG_TARGET_AUTO, level);
        return c.cmd->run(&c);
}
