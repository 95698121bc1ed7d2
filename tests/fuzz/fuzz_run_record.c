/* Fuzz target: run records (agent/run/records.c). The input is a record file and, after
 * FUZZ_SEP, optionally its name (default: a well-formed one). The file is put in a scratch
 * state directory and read back by records_list(), records_last() and records_prune(), the
 * way `status` and `history` read them; the text is also parsed directly, and a record that
 * run_record_from_json() accepts must survive run_record_to_json() and back unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "run/records.h"

#define NOW_USEC 1800000000000000LL

static void round_trip(const char *text)
{
        struct run_record r = { 0 }, back = { 0 };
        json_object *o = json_tokener_parse(text), *again;

        if (run_record_from_json(o, &r) == 0) {
                run_outcome_to_string(r.outcome);
                again = run_record_to_json(&r);
                if (!again || run_record_from_json(again, &back) < 0)
                        abort();        /* a record we read cannot be written the same way */
                if (strcmp(r.run_id, back.run_id) != 0 || strcmp(r.recipe, back.recipe) != 0 ||
                    r.start_usec != back.start_usec || r.end_usec != back.end_usec || r.outcome != back.outcome ||
                    r.dry_run != back.dry_run || r.metrics.n != back.metrics.n || !r.error != !back.error ||
                    (r.error && strcmp(r.error, back.error) != 0))
                        abort();
                json_object_put(again);
                run_record_clear(&back);
                run_record_clear(&r);
        }
        json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct run_record *recs = NULL, last = { 0 };
        const char *name = "20261201T080000.000000Z-ebs_snapshots-r1.json";
        char *part[2], rel[300];
        size_t n = 0, removed = 0;

        fuzz_split(data, size, part, 2);
        round_trip(part[0]);
        if (part[1][0]) {
                part[1][strcspn(part[1], "\n")] = '\0';
                name = part[1];
        }
        if (!fuzz_valid_name(name))
                goto out;
        fuzz_scratch_reset();
        fuzz_mkdirs("/state/runs");
        snprintf(rel, sizeof(rel), "/state/runs/%s", name);
        fuzz_write(rel, part[0], strlen(part[0]));
        if (records_list(fuzz_path("/state"), NULL, 0, &recs, &n) == 0)
                records_free(recs, n);
        if (records_last(fuzz_path("/state"), "ebs_snapshots", false, &last) == 0)
                run_record_clear(&last);
        if (records_last(fuzz_path("/state"), "ebs_snapshots", true, &last) == 0)
                run_record_clear(&last);
        records_prune(fuzz_path("/state"), 1, 90 * 86400, NOW_USEC, &removed);
out:
        fuzz_parts_free(part, 2);
        return 0;
}
