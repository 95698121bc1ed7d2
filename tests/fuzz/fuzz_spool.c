/* Fuzz target: the metrics spool's files (agent/report/spool.c), driven through its public API
 * on a scratch directory. The input is up to three parts cut at FUZZ_SEP: the spool file
 * (header "opsagent-spool 1 ID" and "CRC32HEX JSON" records), the cursor file cursor.json,
 * and a script for the sender ('0' sent, '1' try later, '2' refused, one per request; sent
 * when the script runs out). A record whose CRC field reads ffffffff gets its true CRC here, so
 * that mutations reach the JSON behind the checksum; other CRCs are left as they are.
 * The spool is opened (which repairs a torn tail), counted, appended to, flushed and opened
 * again; a flush that says the spool is empty must leave nothing pending. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_util.h"
#include "report/spool.h"
#include "util/metric.h"

#define NOW_MS 1800000000000LL

struct sender {
        const char *script;
        size_t calls;
};

static enum send_status send_fn(void *userdata, const struct metric_batch *b, struct error *err)
{
        struct sender *s = userdata;
        char c = s->script[s->calls] ? s->script[s->calls] : '0';

        if (s->script[s->calls])
                s->calls++;
        for (size_t i = 0; i < b->n; i++)
                if (!b->items[i].name || !b->items[i].name[0])
                        abort();        /* the spool handed over a datum no parser should have made */
        if (c == '1') {
                error_set(err, -EIO, "fuzz: try later");
                return SEND_RETRY_LATER;
        }
        if (c == '2') {
                error_set(err, -EINVAL, "fuzz: refused");
                return SEND_REJECTED;
        }
        return SEND_OK;
}

/* Gives every "ffffffff " record of TEXT its CRC. */
static void fix_crcs(char *text)
{
        for (char *line = strchr(text, '\n'); line; line = strchr(line, '\n')) {
                char *nl, hex[9];

                line++;
                nl = strchr(line, '\n');
                if (!nl || nl - line < 10 || memcmp(line, "ffffffff ", 9) != 0)
                        continue;
                snprintf(hex, sizeof(hex), "%08lx",
                         (unsigned long)crc32(0L, (const Bytef *)line + 9, (uInt)(nl - line - 9)));
                memcpy(line, hex, 8);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct spool_limits lim = { .max_bytes = 4096, .flush_max_datums = 3 };
        struct metric_batch b = METRIC_BATCH_INIT;
        struct error err = ERROR_INIT;
        struct spool *s = NULL;
        struct sender snd;
        size_t records, datums;
        char *part[3];
        int r;

        fuzz_split(data, size, part, 3);
        fuzz_scratch_reset();
        fix_crcs(part[0]);
        fuzz_write("/spool/metrics.spool", part[0], strlen(part[0]));
        if (part[1][0])
                fuzz_write_str("/spool/cursor.json", part[1]);
        snd = (struct sender){ part[2], 0 };

        if (spool_open(fuzz_path("/spool"), &lim, &s, &err) < 0)
                goto out;
        spool_pending(s, &records, &datums);
        if (metric_batch_set_namespace(&b, "OpsAgent") < 0 ||
            metric_batch_add(&b, "Heartbeat", "Count", 1, NOW_MS - 1000, NULL, 0) < 0)
                abort();
        spool_append(s, &b, NOW_MS, &err);
        r = spool_flush(s, NOW_MS, send_fn, &snd, &err);
        if (r == 0) {
                if (spool_pending(s, &records, &datums) == 0 && (records || datums))
                        abort();        /* "empty afterwards" */
        }
        if (spool_dropped(s))
                spool_ack_dropped(s, 1);
        spool_free(s);
        s = NULL;
        /* What the first open left must open again. */
        if (spool_open(fuzz_path("/spool"), &lim, &s, &err) < 0)
                abort();
        spool_pending(s, &records, &datums);
out:
        spool_free(s);
        metric_batch_free(&b);
        fuzz_parts_free(part, 3);
        return 0;
}
