/* Fuzz target: what the log shipper reads from outside: the bytes of a log file, as lines
 * through the event builder (multiline pattern, strptime timestamp, UTF-8 repair, splitting:
 * agent/logs/logs_event.c), and its own state files a crash or an operator may leave:
 * checkpoints.json (logs_checkpoint.c) and a disk buffer file (logs_buffer.c). The input is
 * three parts cut at FUZZ_SEP: the log, the checkpoint file, a buffer file. Every event the
 * builder emits must be non-empty, valid UTF-8 and within CloudWatch's size. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "logs/logs_buffer.h"
#include "logs/logs_checkpoint.h"
#include "logs/logs_event.h"

static int check_event(void *userdata, int64_t ts, const char *msg, size_t len, uint64_t end)
{
        struct buf b = BUF_INIT(4 * LOGS_EVENT_MAX_BYTES);

        (void)userdata;
        (void)ts;
        (void)end;
        if (len == 0 || len > LOGS_EVENT_MAX_BYTES)
                abort();
        /* valid UTF-8: repairing changes nothing */
        if (logs_utf8_repair(msg, len, &b) < 0 || buf_len(&b) != len || memcmp(buf_str(&b), msg, len) != 0)
                abort();
        buf_free(&b);
        return 0;
}

static void fuzz_log(const char *text, size_t len)
{
        static regex_t re;
        static int compiled;
        struct logs_builder b;
        uint64_t off = 0;

        if (!compiled) {
                if (regcomp(&re, "^[^ \t]", REG_EXTENDED | REG_NOSUB) != 0)
                        abort();
                compiled = 1;
        }
        for (int pass = 0; pass < 2; pass++) {
                logs_builder_init(&b, pass ? &re : NULL, "%Y-%m-%d %H:%M:%S");
                off = 0;
                while (off < len) {
                        const char *nl = memchr(text + off, '\n', len - off);
                        size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
                        char *line = malloc(n + 1);

                        if (!line)
                                abort();
                        memcpy(line, text + off, n);
                        (void)logs_builder_line(&b, line, n, off, off + n + 1, 1800000000000LL, check_event, NULL);
                        free(line);
                        off += n + 1;
                }
                (void)logs_builder_flush(&b, check_event, NULL);
                logs_builder_free(&b);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *parts[3];
        struct error err = ERROR_INIT;
        json_object *tree = NULL;
        struct logs_buffer *buf = NULL;

        fuzz_split(data, size, parts, 3);
        fuzz_log(parts[0], strlen(parts[0]));
        fuzz_scratch_reset();
        fuzz_write_str("/logs/checkpoints.json", parts[1]);
        if (logs_checkpoint_load(fuzz_path("/logs"), &tree, &err) == 0) {
                json_object *srcs = json_object_object_get(tree, "sources");

                json_object_object_foreach(srcs, name, src) {
                        json_object *files = json_object_object_get(src, "files");
                        size_t n = json_object_is_type(files, json_type_array) ? json_object_array_length(files) : 0;

                        (void)name;
                        for (size_t i = 0; i < n; i++) {
                                struct logs_file_ckpt c;

                                if (logs_file_ckpt_from_json(json_object_array_get_idx(files, i), &c) == 0) {
                                        json_object *back = logs_file_ckpt_to_json(&c);
                                        struct logs_file_ckpt again;

                                        if (!back || logs_file_ckpt_from_json(back, &again) != 0 ||
                                            again.offset != c.offset || again.ino != c.ino ||
                                            !logs_fp_equal(&again.fp, &c.fp))
                                                abort();        /* what is written reads back the same */
                                        json_object_put(back);
                                }
                        }
                }
                json_object_put(tree);
        }
        fuzz_write_str("/logs/buffer/0000000000000001-3.json", parts[2]);
        if (logs_buffer_open(fuzz_path("/logs/buffer"), 0, &buf, &err) == 0) {
                struct logs_batch b = { 0 };
                char *g = NULL, *s = NULL;
                uint64_t dropped = 0;

                if (logs_buffer_peek(buf, &g, &s, &b, &dropped, &err) == 0) {
                        if (b.n == 0)
                                abort();
                        free(g);
                        free(s);
                        logs_batch_free(&b);
                } else if (dropped != 3) {
                        abort();        /* an unreadable file is counted as its events */
                }
                logs_buffer_free(buf);
        }
        fuzz_parts_free(parts, 3);
        return 0;
}
