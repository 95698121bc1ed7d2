#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "trust.h"
#include "util/fileio.h"

static char *pick(const char *opt, const char *env, const char *root, const char *rooted, const char *compiled)
{
        const char *e = getenv(env);

        if (opt && *opt)
                return strdup(opt);
        if (e && *e)
                return strdup(e);
        if (root && *root)
                return path_join(root, rooted);
        return strdup(compiled);
}

int paths_init(struct paths *p, const char *root, const char *config_dir, const char *state_dir,
               const char *run_dir, struct error *err)
{
        const char *pp = getenv("OPSAGENT_PLUGIN_PATH");
        size_t rl;

        memset(p, 0, sizeof(*p));
        p->root = strdup(root ? root : "");
        if (!p->root)
                goto oom;
        rl = strlen(p->root);
        while (rl > 1 && p->root[rl - 1] == '/')
                p->root[--rl] = '\0';
        if (strcmp(p->root, "/") == 0)
                p->root[0] = '\0';
        p->config_dir = pick(config_dir, "OPSAGENT_CONFIG_DIR", p->root, "/etc/opsagent", SYSCONFDIR "/opsagent");
        p->state_dir = pick(state_dir, "OPSAGENT_STATE_DIR", p->root, "/var/lib/opsagent",
                            LOCALSTATEDIR "/lib/opsagent");
        p->run_dir = pick(run_dir, "OPSAGENT_RUN_DIR", p->root, "/run/opsagent", RUNSTATEDIR "/opsagent");
        p->plugin_path = strdup(pp && *pp ? pp : PLUGINDIR);
        if (!p->config_dir || !p->state_dir || !p->run_dir || !p->plugin_path)
                goto oom;
        return 0;
oom:
        paths_free(p);
        return error_set(err, -ENOMEM, "out of memory");
}

void paths_free(struct paths *p)
{
        free(p->root);
        free(p->config_dir);
        free(p->state_dir);
        free(p->run_dir);
        free(p->plugin_path);
        memset(p, 0, sizeof(*p));
}

int paths_check_trust(const struct paths *p, struct error *err)
{
        int r;

        r = trust_check(p->config_dir, "configuration directory", TRUST_MISSING_OK, err);
        if (r >= 0)
                r = trust_check(p->state_dir, "state directory", TRUST_MISSING_OK, err);
        if (r >= 0)
                r = trust_check(p->run_dir, "run directory", TRUST_MISSING_OK, err);
        return r;
}
