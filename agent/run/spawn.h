/* Running a command without a shell: output line by line to a callback, the last few KiB
 * kept for the run record, a timeout enforced on the command's whole process group. */
#ifndef OPSAGENT_SPAWN_H
#define OPSAGENT_SPAWN_H

#include <stdint.h>

#include "opsagent/recipe.h"

#define SPAWN_TAIL_MAX 4096                     /* bytes of output kept in output_tail */
#define SPAWN_LINE_MAX 4096                     /* longer lines reach line_cb in pieces */
#define SPAWN_KILL_GRACE_USEC (5ULL * 1000000)  /* SIGTERM, then SIGKILL this much later */

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

#endif
