/* libFuzzer target for the zodb_pack pickle decoder and the ZEO message handling around it.
 * Built and run by tests/fuzz/run (README.md); seeds: corpus/pickle, the recorded ZEO frames
 * (tests/data/zeo, written by seed_pickle_corpus.py). */
#include <stddef.h>
#include <stdint.h>

#include "zodb_pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct pickle_doc *doc = NULL;
        struct pickle_error err;
        char buf[512];
        int64_t i;

        if (pickle_decode(data, size, &doc, &err) == 0) {
                const struct pickle_value *root = pickle_doc_root(doc);

                /* What the ZEO client does with a message. */
                pickle_repr(root, buf, sizeof(buf));
                pickle_get_int(pickle_item(root, 0), &i);
                pickle_is_str(pickle_item(root, 2), ".reply");
                pickle_get_int(pickle_dict_get(pickle_item(root, 3), "size"), &i);
                pickle_get_int(pickle_dict_get(pickle_item(pickle_item(root, 3), 0), "size"), &i);
                pickle_doc_free(doc);
        }
        return 0;
}
