/* Running a command without a shell: output line by line to a callback, the last few KiB
 * kept for the run record, a timeout enforced on the command's whole process group. */
#ifndef OPSAGENT_SPAWN_H
#define OPSAGENT_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "opsagent/recipe.h"

#define SPAWN_TAIL_MAX 4096                     /* bytes of output kept in output_tail */
#define SPAWN_LINE_MAX 4096                     /* longer lines reach line_cb in pieces */
#define SPAWN_KILL_GRACE_USEC (5ULL * 1000000)  /* SIGTERM, then SIGKILL this much later */
#define SPAWN_GROUPS_MAX 256                    /* supplementary groups of a user a command runs as */

/* The whole environment of a command from configuration (SPAWN_MINIMAL_ENV): nothing of the
 * agent's own (no AWS_*, no proxy, no LD_*, no PYTHONPATH) reaches it. Its PATH is also where a
 * command without a "/" is looked for. */
#define SPAWN_MINIMAL_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_MINIMAL_LANG "C.UTF-8"

struct spawn_options {
        uint64_t timeout_usec;  /* 0: none */
        uint64_t grace_usec;    /* SIGTERM to SIGKILL; 0: SPAWN_KILL_GRACE_USEC */
        /* The environment is exactly PATH=SPAWN_MINIMAL_PATH and LANG=SPAWN_MINIMAL_LANG, the
         * working directory "/" (else the agent's environment and directory are inherited). */
        bool minimal_env;
        /* Runs as UID/GID with the supplementary groups GROUPS (N_GROUPS, at most
         * SPAWN_GROUPS_MAX; none when 0): setgroups, setgid, setuid in the child before exec, all
         * checked, no way back. Needs root unless UID/GID are the agent's own. */
        bool as_user;
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
};

/* Runs ARGV (execvp, no shell) with stdin on /dev/null and stdout+stderr through one pipe, in
 * a process group of its own. Each line of output (without its newline; a last unterminated
 * line too) is passed to LINE_CB (may be NULL) as it arrives. After TIMEOUT_USEC (0 = none)
 * the group gets SIGTERM, and SIGKILL SPAWN_KILL_GRACE_USEC later; ret->timed_out is set.
 * Returns 0 when the command ran: *ret holds exit_status (-1 when killed or timed out),
 * term_signal, timed_out and output_tail (the last SPAWN_TAIL_MAX bytes of output, starting at
 * a line boundary when cut; never NULL; caller frees). Negative errno when it could not be
 * started: the exec error itself (-ENOENT, -EACCES, ...) or -EINVAL for an empty ARGV;
 * *ret is then untouched. */
int spawn_run(char *const argv[], uint64_t timeout_usec, void (*line_cb)(void *userdata, const char *line),
              void *userdata, struct opsagent_spawn_result *ret);

/* The same, keeping all of the output (at most MAX bytes) in *ret_output (caller frees; "" when
 * there was none) instead of passing it line by line. -E2BIG when there was more. */
int spawn_capture(char *const argv[], uint64_t timeout_usec, size_t max, char **ret_output,
                  struct opsagent_spawn_result *ret);

/* The same with the SIGTERM-to-SIGKILL grace given (tests). */
int spawn_run_grace(char *const argv[], uint64_t timeout_usec, uint64_t grace_usec,
                    void (*line_cb)(void *userdata, const char *line), void *userdata,
                    struct opsagent_spawn_result *ret);

/* The same with OPTS. A failure to drop to the user, like a failure to exec, is returned as the
 * negative errno (-EPERM, ...) with nothing run. -E2BIG past SPAWN_GROUPS_MAX groups. */
int spawn_run_opts(char *const argv[], const struct spawn_options *opts,
                   void (*line_cb)(void *userdata, const char *line), void *userdata,
                   struct opsagent_spawn_result *ret);

/* Drops the calling process to O's user (as_user fields only): setgroups(O->groups), setgid,
 * setuid, then checks that real, effective and saved ids are all O's and that setuid(0) fails.
 * Async-signal-safe: for a forked child (spawn's own, or one that acts on files as a user
 * without exec). 0, or -1 with errno set (then the process must not go on). */
int spawn_drop_to_user(const struct spawn_options *o);

/* The groups of user UID (its primary GID and those /etc/group lists it in), for
 * spawn_options.groups: *ret (caller frees) and *ret_n. Only GID when UID has no passwd entry. */
int spawn_user_groups(uid_t uid, gid_t gid, gid_t **ret, size_t *ret_n);

#endif
