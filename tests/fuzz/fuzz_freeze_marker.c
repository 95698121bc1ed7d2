/* Fuzz target: the freeze marker of ebs_snapshots (recipes/ebs_snapshots/ebs_freeze.c,
 * freeze_marker_read()), the file that tells `opsagent recover` what a killed run left
 * frozen. The input is the file. A marker that reads must write back (freeze_marker_write())
 * and read again as the same paths. Nothing is ever frozen or thawed here. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "ebs_freeze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char **paths = NULL, **again = NULL, err[512];
        size_t n = 0, m = 0;

        fuzz_scratch_reset();
        fuzz_write("/state/frozen.json", (const char *)data, size);
        if (freeze_marker_read(fuzz_path("/state/frozen.json"), &paths, err, sizeof(err)) < 0)
                return 0;
        while (paths[n])
                n++;
        if (freeze_marker_write(fuzz_path("/state/again.json"), (const char *const *)paths, n, err, sizeof(err)) < 0 ||
            freeze_marker_read(fuzz_path("/state/again.json"), &again, err, sizeof(err)) < 0)
                abort();        /* what a run writes, recover must read */
        while (again[m] && m < n && strcmp(again[m], paths[m]) == 0)
                m++;
        if (m != n || again[m])
                abort();
        freeze_strv_free(again);
        freeze_strv_free(paths);
        return 0;
}
