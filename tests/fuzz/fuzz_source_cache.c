/* Fuzz target: the stack configuration source's last known good (STATE/source/cache.json,
 * agent/config/source.c): source_cache_parse() with every check source_cache_read() makes, and
 * what is done with a cache that passes them: merged into attributes (origins, secrets
 * registered), printed, and compared with itself by version. The input is the
 * file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "config/attrs.h"
#include "config/source.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_strndup(data, size);
        struct source_set *s = NULL;
        struct attrs *a = NULL;

        if (!devnull)
                devnull = fopen("/dev/null", "w");
        if (source_cache_parse(text, "cache.json", &s, NULL) == 0) {
                if (!s->from_cache || !s->source || s->n_docs > SOURCE_MAX_DOCS || s->n_layers > SOURCE_MAX_LAYERS)
                        abort();        /* documented as checked */
                for (size_t i = 0; i < s->n_docs; i++)
                        if (!s->docs[i].name || !s->docs[i].version || !s->docs[i].json ||
                            source_doc_check(s->docs[i].name, s->docs[i].json, NULL) < 0)
                                abort();
                if (attrs_new(&a) == 0) {
                        if (source_merge(a, s, NULL) == 0 && devnull)
                                attrs_print(a, "", false, devnull, NULL);
                        attrs_free(a);
                }
                if (!source_set_same_versions(s, s))
                        abort();
                source_set_free(s);
        }
        free(text);
        return 0;
}
