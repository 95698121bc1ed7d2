/* Fuzz target: one logrotate set's configuration (recipes/logrotate/lr_config.c,
 * lr_set_parse(), and the size, signal and mode parsers), and the names of rotated files it
 * then looks for (lr_names.c). The input is the set's JSON object and, after FUZZ_SEP, file
 * names, one a line, created in a scratch directory beside the log "app.log" and listed as
 * rotated files of it under the set's scheme (numbered or dateext). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fuzz_util.h"
#include "lr_config.h"
#include "lr_names.h"

#define NOW 1800000000
#define FILES_MAX 64

static void names(const struct lr_set *s, char *list)
{
        struct lr_rotated *rot = NULL;
        char suffix[256], rel[300], *dir;
        size_t n = 0, files = 0;

        fuzz_scratch_reset();
        fuzz_mkdirs("/log");
        fuzz_write_str("/log/app.log", "a line\n");
        for (char *save = NULL, *f = strtok_r(list, "\n", &save); f && files < FILES_MAX;
             f = strtok_r(NULL, "\n", &save)) {
                if (!fuzz_valid_name(f))
                        continue;
                snprintf(rel, sizeof(rel), "/log/%s", f);
                fuzz_write_str(rel, "");
                files++;
        }
        if (lr_dateext_suffix(lr_set_dateformat(s), NOW, suffix, sizeof(suffix)) == 0)
                lr_dateext_match(lr_set_dateformat(s), suffix);
        dir = lr_rotation_dir(fuzz_path("/log/app.log"), s->olddir, fuzz_scratch());
        free(dir);
        if (lr_list_rotated(NULL, fuzz_path("/log"), "app.log", s, &rot, &n) == 0)
                lr_rotated_free(rot, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct lr_set *s = NULL;
        json_object *o;
        char *part[2], *why = NULL;
        uint64_t bytes;
        mode_t mode;
        int sig;

        fuzz_split(data, size, part, 2);
        lr_parse_size(part[0], &bytes);
        lr_parse_signal(part[0], &sig);
        lr_parse_mode(part[0], &mode);
        o = json_tokener_parse(part[0]);
        if (lr_set_parse("fuzz", o, &s, &why) == 0) {
                lr_compression_ext(s->compress);
                lr_compression_name(s->compress);
                names(s, part[1]);
                lr_set_free(s);
        }
        free(why);
        json_object_put(o);
        fuzz_parts_free(part, 2);
        return 0;
}
