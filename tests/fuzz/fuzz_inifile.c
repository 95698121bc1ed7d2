/* libFuzzer target for what a user (or anything that can write ~/.aws/config) can hand the
 * agent: the bytes as an AWS config file (agent/aws/inifile.c, botocore's dialect), the
 * entries it yields looked up, and the same bytes as a credential_process command line
 * (agent/aws/shellwords.c). tests/unit/test_inifile.c crosses the limits;
 * tests/integration/test_aws_config.py compares the parse with botocore's. Seeds:
 * tests/fuzz/corpus/inifile; tests/fuzz/run fuzzes it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/inifile.h"
#include "aws/shellwords.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = ERROR_INIT;
        struct ini_file *f = NULL;
        char *text, **words = NULL;

        if (ini_parse((const char *)data, size, "fuzz", &f, &err) == 0) {
                for (size_t i = 0; i < f->n; i++) {
                        const struct ini_section *s = ini_section_find(f, f->sections[i].name);

                        for (size_t k = 0; s && k < s->n; k++)
                                (void)ini_entry_find(s->entries, s->n, s->entries[k].key);
                }
                ini_free(f);
        }
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        error_clear(&err);
        if (shellwords_split(text, "fuzz", &words, NULL, &err) == 0)
                shellwords_free(words);
        free(text);
        return 0;
}
