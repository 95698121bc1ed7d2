/* Test helper: loads recorded ZEO frames (see zeo_frames.h). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zodb_frames.h"

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static void die(const char *what, const char *path)
{
        fprintf(stderr, "zeo_frames: %s: %s\n", path, what);
        abort();
}

void zeo_recording_load(const char *name, struct zeo_recording *ret)
{
        char path[512], line[8192];
        FILE *f;

        memset(ret, 0, sizeof(*ret));
        snprintf(path, sizeof(path), "%s/zeo/%s.jsonl", TEST_DATA_DIR, name);
        f = fopen(path, "r");
        if (!f)
                die("cannot open", path);
        while (fgets(line, sizeof(line), f)) {
                json_object *o = json_tokener_parse(line), *from, *hex, *len;
                struct zeo_frame *fr;
                const char *h;
                size_t n, i;

                if (!o || !json_object_object_get_ex(o, "from", &from) ||
                    !json_object_object_get_ex(o, "frame_hex", &hex) ||
                    !json_object_object_get_ex(o, "length", &len) || ret->n >= ZEO_FRAMES_MAX)
                        die("bad line", path);
                h = json_object_get_string(hex);
                n = strlen(h) / 2;
                if (n != (size_t)json_object_get_int64(len))
                        die("length does not match frame_hex", path);
                fr = &ret->frames[ret->n++];
                fr->from_server = strcmp(json_object_get_string(from), "server") == 0;
                fr->data = malloc(n ? n : 1);
                if (!fr->data)
                        die("out of memory", path);
                for (i = 0; i < n; i++) {
                        int a = hexval(h[2 * i]), b = hexval(h[2 * i + 1]);

                        if (a < 0 || b < 0)
                                die("bad hex", path);
                        fr->data[i] = (uint8_t)(a << 4 | b);
                }
                fr->len = n;
                json_object_put(o);
        }
        fclose(f);
        if (ret->n == 0)
                die("no frames", path);
}

void zeo_recording_free(struct zeo_recording *rec)
{
        size_t i;

        for (i = 0; i < rec->n; i++)
                free(rec->frames[i].data);
        rec->n = 0;
}
