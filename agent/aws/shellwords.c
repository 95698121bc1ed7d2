#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shellwords.h"
#include "util/buf.h"

void shellwords_free(char **words)
{
        if (!words)
                return;
        for (char **w = words; *w; w++)
                free(*w);
        free(words);
}

static bool blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';     /* shlex.whitespace */
}

/* Appends the word in B to WORDS (which has room for one more and the NULL). */
static int push(char **words, size_t *n, struct buf *b)
{
        char *w = buf_steal(b);

        if (!w)
                return -ENOMEM;
        words[(*n)++] = w;
        words[*n] = NULL;
        return 0;
}

int shellwords_split(const char *s, const char *what, char ***ret_words, size_t *ret_n, struct error *err)
{
        struct buf b = BUF_INIT(SHELLWORDS_MAX_BYTES + 1);
        char **words = NULL;
        size_t n = 0, len = strlen(s);
        bool in_word = false;
        char quote = 0;
        int r = 0;

        if (len > SHELLWORDS_MAX_BYTES)
                return error_set(err, -E2BIG, "%s is longer than %d bytes", what, SHELLWORDS_MAX_BYTES);
        words = calloc(SHELLWORDS_MAX_WORDS + 1, sizeof(*words));
        if (!words)
                return -ENOMEM;
        for (size_t i = 0; i < len && r >= 0; i++) {
                char c = s[i];

                if (quote == '\'') {
                        if (c == '\'')
                                quote = 0;
                        else
                                r = buf_append(&b, &c, 1);
                        continue;
                }
                if (quote == '"') {
                        if (c == '"') {
                                quote = 0;
                        } else if (c == '\\' && i + 1 < len && (s[i + 1] == '"' || s[i + 1] == '\\')) {
                                r = buf_append(&b, &s[++i], 1);
                        } else {
                                r = buf_append(&b, &c, 1);
                        }
                        continue;
                }
                if (blank(c)) {
                        if (in_word) {
                                if (n == SHELLWORDS_MAX_WORDS) {
                                        r = error_set(err, -E2BIG, "%s has more than %d words", what,
                                                      SHELLWORDS_MAX_WORDS);
                                        break;
                                }
                                r = push(words, &n, &b);
                                in_word = false;
                        }
                        continue;
                }
                in_word = true;
                if (c == '\'' || c == '"') {
                        quote = c;      /* '' alone is a word too: in_word is set */
                } else if (c == '\\') {
                        if (i + 1 == len) {
                                r = error_set(err, -EINVAL, "%s ends with a backslash that escapes nothing", what);
                                break;
                        }
                        r = buf_append(&b, &s[++i], 1);
                } else {
                        r = buf_append(&b, &c, 1);
                }
        }
        if (r >= 0 && quote)
                r = error_set(err, -EINVAL, "%s has an unclosed %s quote", what, quote == '"' ? "double" : "single");
        if (r >= 0 && in_word) {
                if (n == SHELLWORDS_MAX_WORDS)
                        r = error_set(err, -E2BIG, "%s has more than %d words", what, SHELLWORDS_MAX_WORDS);
                else
                        r = push(words, &n, &b);
        }
        buf_free(&b);
        if (r < 0) {
                shellwords_free(words);
                return r;
        }
        *ret_words = words;
        if (ret_n)
                *ret_n = n;
        return 0;
}
