/* Unified diffs of small text files (configuration a recipe would write), for dry runs to show
 * what would change: GNU diff's own `diff -u` (diffutils is Essential on Debian and present on
 * every RPM distribution), run without a shell on two temporary files in a private directory. */
#ifndef OPSAGENT_TEXTDIFF_H
#define OPSAGENT_TEXTDIFF_H

#define TEXTDIFF_MAX_OUTPUT (1u << 20)          /* bytes of diff kept; more is -E2BIG */
#define TEXTDIFF_TIMEOUT_USEC (30ULL * 1000000) /* diff is given this long */

/* Unified diff from OLD_TEXT to NEW_TEXT (either may be NULL, meaning empty) with
 * "--- LABEL" / "+++ LABEL" headers, as `diff -u --label LABEL --label LABEL` prints it.
 * *ret is "" when the texts are equal; caller frees. -ENOENT when diff is not installed,
 * -E2BIG when the diff is longer than TEXTDIFF_MAX_OUTPUT, -EIO when diff failed, -ENOMEM. */
int textdiff_unified(const char *label, const char *old_text, const char *new_text, char **ret);

#endif
