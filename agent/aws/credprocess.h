/* credential_process: the command a profile names is run without a shell (its words split as
 * the AWS CLI splits them, agent/aws/shellwords.h), with the agent's environment, stdin on
 * /dev/null; its stdout must be the CLI's JSON document
 *
 *   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
 *    "SessionToken": "...", "Expiration": "2026-01-01T00:00:00Z"}
 *
 * (SessionToken and Expiration optional). The secret and token are registered with the log
 * scrubber before anything else is done with the output; no byte of stdout is ever put in a
 * message. A command that runs too long is killed with its process group. */
#ifndef OPSAGENT_CREDPROCESS_H
#define OPSAGENT_CREDPROCESS_H

#include <stdint.h>

#include "credentials.h"
#include "util/error.h"

#define CREDPROCESS_MAX_OUTPUT (64 * 1024)  /* stdout read at most (the document is < 4 KiB) */
#define CREDPROCESS_STDERR_KEPT 512         /* stderr kept for the error message */
#define CREDPROCESS_TIMEOUT_MS (60 * 1000)  /* then the command's process group is killed */

/* Runs COMMAND (the credential_process value; WHAT names it in errors: "credential_process of
 * profile \"x\" (/root/.aws/config line 3)") within TIMEOUT_MS (0: CREDPROCESS_TIMEOUT_MS)
 * and fills *ret (source CREDENTIALS_PROCESS; caller clears). -ENOEXEC / -ENOENT when it
 * cannot be started, -ETIMEDOUT, -E2BIG for more output than the cap, -EIO when it exits
 * non-zero (err has its status and the first line of its stderr, scrubbed), -EBADMSG for a
 * document that is not the one above. */
int credprocess_run(const char *command, const char *what, uint64_t timeout_ms, struct aws_credentials *ret,
                    struct error *err);

/* Parses a credential_process document (exposed for tests). */
int credprocess_parse(const char *text, const char *what, struct aws_credentials *ret, struct error *err);

#endif
