/* Fuzz target: /etc/os-release as the unattended_upgrades recipe reads it
 * (recipes/unattended_upgrades/uu_os_release.c): the family detection and the value lookup
 * with its shell-like quoting. The input is the file. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "uu_os_release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const keys[] = { "ID", "ID_LIKE", "VERSION_ID", "PRETTY_NAME", "NAME" };
        char *text = fuzz_strndup(data, size);
        struct uu_os os = { 0 };

        if (uu_os_detect(text, &os) == 0) {
                if (!os.id || !os.version_id)
                        abort();        /* documented as always set */
                uu_family_name(os.family);
                uu_os_done(&os);
        }
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                char *v = NULL;

                if (uu_os_release_value(text, keys[i], &v) == 0)
                        free(v);
        }
        free(text);
        return 0;
}
