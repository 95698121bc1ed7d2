/* Unified diffs of small text files (configuration a recipe would write), formatted as
 * GNU `diff -u` formats them, for dry runs to show what would change. */
#ifndef OPSAGENT_TEXTDIFF_H
#define OPSAGENT_TEXTDIFF_H

#define TEXTDIFF_MAX_LINES 20000        /* per side; larger inputs fail with -E2BIG */
#define TEXTDIFF_CONTEXT 3              /* lines of context around each change */

/* Unified diff from OLD_TEXT to NEW_TEXT (either may be NULL, meaning empty) with
 * "--- LABEL" / "+++ LABEL" headers and "@@ -a,b +c,d @@" hunks, lines without a final
 * newline marked "\ No newline at end of file". *ret is "" when the texts are equal; caller
 * frees. -E2BIG when either side has more than TEXTDIFF_MAX_LINES lines, -ENOMEM. */
int textdiff_unified(const char *label, const char *old_text, const char *new_text, char **ret);

#endif
