/* opsagent recipe plugin SDK (ABI 1).
 *
 * A recipe is a shared object that exports exactly one symbol, `opsagent_recipe`, a
 * `const struct opsagent_recipe` (use OPSAGENT_RECIPE_DESCRIPTOR). The agent loads it, checks
 * the ABI version, merges the recipe's default attributes under its attribute root, validates
 * them against its schema, then calls run() in a forked child with a context. Everything a
 * recipe needs from the outside world (attributes, instance facts, AWS calls, metrics, logging,
 * the root prefix, the dry-run flag, atomic writes, commands, systemd) comes through that
 * context: recipes never sign requests, parse XML or talk HTTP themselves.
 *
 * Strings handed to a recipe by the context are owned by the agent and valid for the whole run
 * unless a function says otherwise. Functions that return int return 0 (or a documented
 * positive value) on success and a negative errno on failure.
 */
#ifndef OPSAGENT_RECIPE_H
#define OPSAGENT_RECIPE_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OPSAGENT_RECIPE_ABI 1
#define OPSAGENT_RECIPE_SYMBOL "opsagent_recipe"

/* syslog(3) priorities */
enum opsagent_log_level {
        OPSAGENT_LOG_ERR = 3,
        OPSAGENT_LOG_WARNING = 4,
        OPSAGENT_LOG_NOTICE = 5,
        OPSAGENT_LOG_INFO = 6,
        OPSAGENT_LOG_DEBUG = 7,
};

enum opsagent_recipe_flags {
        OPSAGENT_RECIPE_NEEDS_INSTANCE = 1u << 0, /* needs instance facts (IMDS) before run() */
        OPSAGENT_RECIPE_SETUP = 1u << 1,          /* also run by `opsagent setup` */
        /* Also run by `opsagent configure` when the stack configuration (opsagent.source)
         * changed and the recipe is enabled, or is a setup recipe setup would run: for recipes
         * that render files from their attributes. An older agent ignores the bit. */
        OPSAGENT_RECIPE_CONFIGURE = 1u << 2,
};

struct opsagent_ctx;

struct opsagent_recipe {
        uint32_t abi;                 /* OPSAGENT_RECIPE_ABI; always the first field */
        uint32_t size;                /* sizeof(struct opsagent_recipe) */
        const char *name;             /* [a-z0-9_]+, unique */
        const char *version;
        const char *summary;          /* one line */
        const char *attr_root;        /* dotted path of its attributes, e.g. "ebs_snapshots" */
        const char *defaults_json;    /* JSON object: shipped defaults under attr_root */
        const char *schema_json;      /* JSON Schema subset for attr_root (see opsagent-recipe(3)) */
        unsigned time_budget_seconds; /* default budget; 0 = unlimited; <root>.time_budget_seconds overrides */
        uint32_t flags;               /* enum opsagent_recipe_flags */
        int (*run)(struct opsagent_ctx *ctx); /* 0 success, negative errno failure, or
                                               * OPSAGENT_RUN_CONFIG_ERROR */
        /* Optional (NULL: nothing to do), added within ABI 1: descriptors built before it are
         * OPSAGENT_RECIPE_SIZE_V1 bytes and have none. Undoes what a run that was killed may have
         * left behind (ebs_snapshots: a frozen filesystem). `opsagent recover` calls it, and the
         * recipe's systemd unit runs that after every stop (ExecStopPost). It must be quick,
         * idempotent, honour ctx->dry_run, and return 0 when there is nothing to undo. */
        int (*recover)(struct opsagent_ctx *ctx);
};

/* What run() returns, once ctx_fail() has named the setting and said what to do, when the
 * recipe cannot work because of how the node is configured in a way its schema cannot tell:
 * no AWS region, no credentials, an empty server list, values that contradict each other.
 * The run is recorded with the outcome "config_error" and the command exits 2 (a usage or
 * configuration error), as when the schema refuses an attribute. ctx_fail_config() does
 * both. It is no errno: an agent older than it records an ordinary failure (exit 1). A
 * function of the recipe may return it up its call chain like any negative errno. */
#define OPSAGENT_RUN_CONFIG_ERROR (-0x10000)

/* The size of a descriptor built before recover() existed; the agent accepts it. */
#define OPSAGENT_RECIPE_SIZE_V1 offsetof(struct opsagent_recipe, recover)

#define OPSAGENT_RECIPE_DESCRIPTOR(name_, version_, summary_, root_, defaults_, schema_, budget_, flags_, run_) \
        OPSAGENT_RECIPE_DESCRIPTOR_RECOVER(name_, version_, summary_, root_, defaults_, schema_, budget_, flags_, \
                                           run_, NULL)

/* The same, with a recover() function. */
#define OPSAGENT_RECIPE_DESCRIPTOR_RECOVER(name_, version_, summary_, root_, defaults_, schema_, budget_, flags_, \
                                           run_, recover_)                                                      \
        __attribute__((visibility("default"))) const struct opsagent_recipe opsagent_recipe = {               \
                .abi = OPSAGENT_RECIPE_ABI,                                                                   \
                .size = sizeof(struct opsagent_recipe),                                                       \
                .name = (name_),                                                                              \
                .version = (version_),                                                                        \
                .summary = (summary_),                                                                        \
                .attr_root = (root_),                                                                         \
                .defaults_json = (defaults_),                                                                 \
                .schema_json = (schema_),                                                                     \
                .time_budget_seconds = (budget_),                                                             \
                .flags = (flags_),                                                                            \
                .run = (run_),                                                                                \
                .recover = (recover_),                                                                        \
        }

/* Result of ctx_spawn(). */
struct opsagent_spawn_result {
        int exit_status;     /* exit code, or -1 when killed by a signal or timed out */
        int term_signal;     /* signal that ended it, 0 if none */
        bool timed_out;
        char *output_tail;   /* last lines of stdout+stderr (at most 4 KiB), caller frees */
};

/* How ctx_spawn_command() runs a command that came from configuration. Zero it, set size; fields
 * added later go at the end. */
struct opsagent_command {
        uint32_t size;              /* sizeof(struct opsagent_command) */
        /* The attribute the argv came from, relative to attr_root ("command",
         * "sets.web.reopen.command"): the command runs only when that value came from a trusted
         * origin. NULL for a command the recipe itself chose. */
        const char *attr;
        unsigned timeout_seconds;   /* 0: the recipe's remaining budget */
        bool as_user;               /* run as UID/GID (and UID's groups) instead of root */
        uid_t uid;
        gid_t gid;
};

enum opsagent_unit_action {
        OPSAGENT_UNIT_ENABLE_START = 1, /* enable the unit file and start it */
        OPSAGENT_UNIT_DISABLE_STOP = 2, /* stop it and disable the unit file */
};

/* Flags for ctx_write_file(). */
enum opsagent_write_flags {
        OPSAGENT_WRITE_NO_DIFF = 1u << 0, /* in dry-run, do not print a diff (secrets inside) */
};

/* Flags for the file ops (open_path, read_path, stat_path). */
enum opsagent_path_flags {
        /* Follow symbolic links, but only within the root, as if it were "/" (reading /sys,
         * /proc, /etc/os-release, whose entries are links). Without it no link is followed. */
        OPSAGENT_PATH_FOLLOW = 1u << 0,
};

struct opsagent_aws_ops; /* see <opsagent/aws.h> */

struct opsagent_ctx_ops {
        uint32_t size; /* sizeof(struct opsagent_ctx_ops) as the agent was built */

        /* Attribute at PATH (dotted) relative to the recipe's attr_root; "" is the root object.
         * Borrowed. NULL when the key is absent or null. Already validated against the schema. */
        json_object *(*attr)(struct opsagent_ctx *ctx, const char *path);
        /* The same, from the top of the merged tree ("opsagent.instance.id"). */
        json_object *(*attr_abs)(struct opsagent_ctx *ctx, const char *path);
        /* Instance fact: "id", "region", "availability_zone", "account_id", "instance_type",
         * "hostname". NULL when unknown (off EC2, metadata disabled). */
        const char *(*fact)(struct opsagent_ctx *ctx, const char *name);

        void (*logv)(struct opsagent_ctx *ctx, int level, const char *fmt, va_list ap);
        /* One line of output for the person running the agent (stdout, and the journal). */
        void (*sayv)(struct opsagent_ctx *ctx, const char *fmt, va_list ap);
        /* Records why the run failed (shown, logged and kept in the run record); returns error. */
        int (*failv)(struct opsagent_ctx *ctx, int error, const char *fmt, va_list ap);
        /* Adds a metric for CloudWatch (unit: "Count", "Seconds", "Bytes", ...). */
        int (*metric)(struct opsagent_ctx *ctx, const char *name, double value, const char *unit);

        /* PATH under the root prefix (PATH must be absolute), as a string for what needs one.
         * Caller frees; NULL on ENOMEM. To open, read, write or create files, use the file ops
         * below: a string resolved later follows whatever links someone put on the way. */
        char *(*path)(struct opsagent_ctx *ctx, const char *path);
        /* Atomically writes DATA to PATH beneath the root (as the file ops below: no link followed,
         * no ".."; missing directories created 0755): temporary file, fsync, rename.
         * An identical file is left alone. 1 when the file changed (or would change in dry-run,
         * which prints a unified diff instead of writing), 0 when unchanged, negative errno. */
        int (*write_file)(struct opsagent_ctx *ctx, const char *path, const void *data, size_t len,
                          mode_t mode, unsigned flags);
        /* Runs ARGV (no shell) with a timeout in seconds (0 = the recipe's remaining budget);
         * its output goes to the agent's log. 0 when it ran (look at *ret), negative errno when
         * it could not be started. */
        int (*spawn)(struct opsagent_ctx *ctx, char *const argv[], unsigned timeout_seconds,
                     struct opsagent_spawn_result *ret);
        /* Sends SIGNO to the processes of systemd UNIT (sd-bus KillUnit, who=main).
         * Under a root prefix without DBUS_SYSTEM_BUS_ADDRESS the host's systemd is left alone:
         * -EHOSTUNREACH (and the systemd_units op only says what it would do, returning 1). */
        int (*systemd_kill_unit)(struct opsagent_ctx *ctx, const char *unit, int signo);
        /* Enables+starts or stops+disables the NULL-terminated UNITS through sd-bus.
         * 1 when something changed, 0 when all were already so. Honours dry-run. */
        int (*systemd_units)(struct opsagent_ctx *ctx, enum opsagent_unit_action action,
                             const char *const *units);
        /* Seconds left of the time budget; UINT32_MAX when unlimited. */
        uint32_t (*time_left)(struct opsagent_ctx *ctx);

        /* Added within ABI 1 (check with OPSAGENT_CTX_HAS_OP before calling): */

        /* Runs ARGV (no shell) as a command from configuration must run: only when the value of
         * CMD->attr came from a trusted origin (a recipe's defaults, the instance user-data, or a
         * file that only root can write, checked again now); with exactly PATH=/usr/sbin:/usr/bin:
         * /sbin:/bin and LANG=C.UTF-8 in its environment (ARGV[0] without a "/" is looked for in
         * that PATH), "/" as its working directory, stdin from /dev/null; and with CMD->as_user,
         * as CMD->uid/gid with that user's supplementary groups (setgroups, setgid, setuid, no
         * way back). Output and *ret as spawn. -EPERM, logged with the attribute and where it
         * came from, when the origin is not trusted: nothing runs. */
        int (*spawn_command)(struct opsagent_ctx *ctx, char *const argv[], const struct opsagent_command *cmd,
                             struct opsagent_spawn_result *ret);

        /* The file ops. PATH is absolute and resolved beneath the root prefix ("/" without one)
         * by agent/util/pathres.h: no symbolic link is followed anywhere on it (-ELOOP) unless
         * FLAGS has OPSAGENT_PATH_FOLLOW; "..", empty components and NUL bytes are -EINVAL. So a
         * user who owns a directory on the way cannot send the recipe elsewhere. */
        /* open(2) of PATH: a descriptor (O_CLOEXEC; caller closes) or negative errno. Opening for
         * writing is the recipe's to avoid in dry-run. */
        int (*open_path)(struct opsagent_ctx *ctx, const char *path, int oflags, mode_t mode, unsigned flags);
        /* Reads the regular file PATH (at most CAP bytes: -EFBIG) into *ret (NUL-terminated,
         * caller frees), its length into *ret_len (may be NULL). */
        int (*read_path)(struct opsagent_ctx *ctx, const char *path, size_t cap, char **ret, size_t *ret_len,
                         unsigned flags);
        /* lstat(2) of PATH (stat(2) with OPSAGENT_PATH_FOLLOW). */
        int (*stat_path)(struct opsagent_ctx *ctx, const char *path, struct stat *ret, unsigned flags);
        /* mkdir -p of PATH with MODE. 1 when something was created (or would be, in dry-run,
         * which says so instead), 0 when it all existed. */
        int (*mkdir_path)(struct opsagent_ctx *ctx, const char *path, mode_t mode);
        /* A descriptor of the root (O_PATH, borrowed: valid for the run, the agent closes it), for
         * the pathres_*() calls of agent/util/pathres.h beneath it or beneath a directory opened
         * from it (renameat/unlinkat on descriptors, never on strings). Negative errno. */
        int (*root_fd)(struct opsagent_ctx *ctx);
};

/* Whether the agent's ops table has OP (and it is set): ops added within ABI 1 are not there for
 * an agent built before them. */
#define OPSAGENT_CTX_HAS_OP(ctx, op)                                                                \
        ((ctx)->ops->size >= offsetof(struct opsagent_ctx_ops, op) + sizeof((ctx)->ops->op) && (ctx)->ops->op)

struct opsagent_ctx {
        uint32_t size;              /* sizeof(struct opsagent_ctx) */
        const char *recipe;         /* the recipe's name */
        const char *run_id;
        const char *root;           /* root prefix, "" for none; no trailing slash */
        const char *state_dir;      /* this recipe's private state directory (exists, root applied) */
        const char *agent_state_dir;/* the agent's state directory (never freeze its filesystem) */
        const char *log_dir;        /* where the agent's own logs live, if anywhere; may be NULL */
        bool dry_run;               /* plan and print; make no change */
        const struct opsagent_ctx_ops *ops;
        const struct opsagent_aws_ops *aws; /* NULL when this agent has no AWS support */
        void *core;                 /* private to the agent */
};

/* Convenience wrappers: what recipes call. */
static inline json_object *ctx_attr(struct opsagent_ctx *c, const char *path)
{
        return c->ops->attr(c, path);
}
static inline json_object *ctx_attr_abs(struct opsagent_ctx *c, const char *path)
{
        return c->ops->attr_abs(c, path);
}
static inline const char *ctx_fact(struct opsagent_ctx *c, const char *name)
{
        return c->ops->fact(c, name);
}
__attribute__((format(printf, 3, 4))) static inline void ctx_log(struct opsagent_ctx *c, int level,
                                                                   const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        c->ops->logv(c, level, fmt, ap);
        va_end(ap);
}
__attribute__((format(printf, 2, 3))) static inline void ctx_say(struct opsagent_ctx *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        c->ops->sayv(c, fmt, ap);
        va_end(ap);
}
__attribute__((format(printf, 3, 4))) static inline int ctx_fail(struct opsagent_ctx *c, int error,
                                                                   const char *fmt, ...)
{
        va_list ap;
        int r;
        va_start(ap, fmt);
        r = c->ops->failv(c, error, fmt, ap);
        va_end(ap);
        return r;
}
/* ctx_fail() for a configuration error: records the reason and returns
 * OPSAGENT_RUN_CONFIG_ERROR, for `return ctx_fail_config(ctx, "KEY is empty: set it to ...");`. */
__attribute__((format(printf, 2, 3))) static inline int ctx_fail_config(struct opsagent_ctx *c, const char *fmt,
                                                                          ...)
{
        va_list ap;
        va_start(ap, fmt);
        (void)c->ops->failv(c, -EINVAL, fmt, ap);
        va_end(ap);
        return OPSAGENT_RUN_CONFIG_ERROR;
}
static inline int ctx_metric(struct opsagent_ctx *c, const char *name, double value, const char *unit)
{
        return c->ops->metric(c, name, value, unit);
}
static inline char *ctx_path(struct opsagent_ctx *c, const char *path)
{
        return c->ops->path(c, path);
}
/* The file ops, -ENOSYS from an agent built before them. */
static inline int ctx_open(struct opsagent_ctx *c, const char *path, int oflags, mode_t mode, unsigned flags)
{
        return OPSAGENT_CTX_HAS_OP(c, open_path) ? c->ops->open_path(c, path, oflags, mode, flags) : -ENOSYS;
}
static inline int ctx_read_file(struct opsagent_ctx *c, const char *path, size_t cap, char **ret, size_t *ret_len,
                                unsigned flags)
{
        return OPSAGENT_CTX_HAS_OP(c, read_path) ? c->ops->read_path(c, path, cap, ret, ret_len, flags) : -ENOSYS;
}
static inline int ctx_stat(struct opsagent_ctx *c, const char *path, struct stat *ret, unsigned flags)
{
        return OPSAGENT_CTX_HAS_OP(c, stat_path) ? c->ops->stat_path(c, path, ret, flags) : -ENOSYS;
}
static inline int ctx_mkdir(struct opsagent_ctx *c, const char *path, mode_t mode)
{
        return OPSAGENT_CTX_HAS_OP(c, mkdir_path) ? c->ops->mkdir_path(c, path, mode) : -ENOSYS;
}
static inline int ctx_root_fd(struct opsagent_ctx *c)
{
        return OPSAGENT_CTX_HAS_OP(c, root_fd) ? c->ops->root_fd(c) : -ENOSYS;
}

/* Typed attribute reads with a fallback for absent/null keys. */
static inline int64_t ctx_attr_int(struct opsagent_ctx *c, const char *path, int64_t dflt)
{
        json_object *o = ctx_attr(c, path);
        return o ? json_object_get_int64(o) : dflt;
}
static inline bool ctx_attr_bool(struct opsagent_ctx *c, const char *path, bool dflt)
{
        json_object *o = ctx_attr(c, path);
        return o ? json_object_get_boolean(o) : dflt;
}
static inline const char *ctx_attr_string(struct opsagent_ctx *c, const char *path, const char *dflt)
{
        json_object *o = ctx_attr(c, path);
        return o && json_object_is_type(o, json_type_string) ? json_object_get_string(o) : dflt;
}

/* The JSON Schema name of O's type, for messages: "string", "integer", "number", "boolean",
 * "object", "array" or "null" (NULL is "null"). */
static inline const char *opsagent_json_type_label(json_object *o)
{
        switch (json_object_get_type(o)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "boolean";
        case json_type_double:
                return "number";
        case json_type_int:
                return "integer";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "unknown";
}

#ifdef __cplusplus
}
#endif
#endif
