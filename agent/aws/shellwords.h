/* Words of a command line as POSIX shells (and Python's shlex.split, which the AWS CLI uses
 * for credential_process and for config-file section names) split them: blanks separate
 * words; 'single quotes' keep everything; "double quotes" keep everything but \" and \\; a
 * backslash outside quotes keeps the next character. No variables, globs or substitutions:
 * nothing is ever given to a shell. */
#ifndef OPSAGENT_SHELLWORDS_H
#define OPSAGENT_SHELLWORDS_H

#include <stddef.h>

#include "util/error.h"

#define SHELLWORDS_MAX_WORDS 256          /* words of one line */
#define SHELLWORDS_MAX_BYTES (64 * 1024)  /* the line itself */

/* Splits S into *ret_words (a NULL-terminated array; free with shellwords_free) and
 * *ret_n (may be NULL). -EINVAL (err says why: an unclosed quote, a trailing backslash) or
 * -E2BIG past the limits above; WHAT names the line in errors ("credential_process of
 * profile \"x\""). */
int shellwords_split(const char *s, const char *what, char ***ret_words, size_t *ret_n, struct error *err);
void shellwords_free(char **words);     /* NULL is fine */

#endif
