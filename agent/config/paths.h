/* Where the agent reads its configuration and keeps state, locks and plugins. */
#ifndef OPSAGENT_PATHS_H
#define OPSAGENT_PATHS_H

#include "util/error.h"

struct paths {
        char *root;        /* "" or the --root prefix, no trailing slash */
        char *config_dir;  /* stack.json, layers/, local.json */
        char *state_dir;   /* run records, recipe state */
        char *run_dir;     /* locks */
        char *plugin_path; /* colon-separated directories */
};

/* Resolution, first found wins: the explicit option, the environment (OPSAGENT_CONFIG_DIR,
 * OPSAGENT_STATE_DIR, OPSAGENT_RUN_DIR, OPSAGENT_PLUGIN_PATH), then with a root prefix
 * ROOT/etc/opsagent, ROOT/var/lib/opsagent, ROOT/run/opsagent, else the configure-time
 * directories. All strings owned by *p; free with paths_free(). */
int paths_init(struct paths *p, const char *root, const char *config_dir, const char *state_dir,
               const char *run_dir, struct error *err);
void paths_free(struct paths *p);

/* Checks that the configuration, state and run directories (or, when missing, the directory
 * they would be created in) are trusted (agent/config/trust.h); -EPERM with ERR saying which
 * and how to fix it. */
int paths_check_trust(const struct paths *p, struct error *err);

#endif
