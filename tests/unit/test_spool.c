/* spool: metric batches kept on disk while CloudWatch cannot be reached, sent later once. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/spool.h"
#include "util/fileio.h"

#define NOW_MS 1800000000000LL   /* 2027-01-15 */
#define MAX_SENT 4096

/* A fake CloudWatch: records every datum it accepts; SCRIPT says what each call returns. */
struct fake {
        char *dir;
        struct metric_batch sent[MAX_SENT];
        size_t n_sent;
        size_t calls;
        enum send_status script[64];   /* per call; past the script: OK */
        size_t script_len;
        bool reject_bad;               /* refuse any batch holding a datum named bad* */
};

static enum send_status fake_send(void *userdata, const struct metric_batch *b, struct error *err)
{
        struct fake *f = userdata;
        enum send_status st = f->calls < f->script_len ? f->script[f->calls] : SEND_OK;

        f->calls++;
        for (size_t i = 0; f->reject_bad && i < b->n; i++)
                if (strncmp(b->items[i].name, "bad", 3) == 0)
                        st = SEND_REJECTED;
        if (st == SEND_RETRY_LATER) {
                error_set(err, -ECONNREFUSED, "PutMetricData: connection refused");
                return st;
        }
        if (st == SEND_REJECTED) {
                error_set(err, -EINVAL, "PutMetricData: InvalidParameterValue");
                return st;
        }
        assert_true(f->n_sent < MAX_SENT);
        assert_int_equal(metric_batch_set_namespace(&f->sent[f->n_sent], b->namespace_), 0);
        for (size_t i = 0; i < b->n; i++)
                assert_int_equal(metric_batch_add_metric(&f->sent[f->n_sent], &b->items[i]), 0);
        f->n_sent++;
        return SEND_OK;
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(p);
}

static int setup(void **state)
{
        struct fake *f = calloc(1, sizeof(*f));
        char tmpl[] = "/tmp/test-spool-XXXXXX";

        assert_non_null(f);
        assert_non_null(mkdtemp(tmpl));
        f->dir = path_join(tmpl, "spool");
        assert_non_null(f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fake *f = *state;
        char *top = strdup(f->dir);

        *strrchr(top, '/') = '\0';
        nftw(top, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        free(top);
        for (size_t i = 0; i < f->n_sent; i++)
                metric_batch_free(&f->sent[i]);
        free(f->dir);
        free(f);
        return 0;
}

/* A batch of N datums named NAME-0.., timestamps TS, TS+1, ... */
static void make_batch(struct metric_batch *b, const char *name, size_t n, int64_t ts)
{
        struct metric_dim dims[] = { { "InstanceId", "i-0123456789abcdef0" }, { "Recipe", "ebs_snapshots" } };
        char nm[64];

        assert_int_equal(metric_batch_set_namespace(b, "OpsAgent"), 0);
        for (size_t i = 0; i < n; i++) {
                snprintf(nm, sizeof(nm), "%s-%zu", name, i);
                assert_int_equal(metric_batch_add(b, nm, "Count", (double)i + 0.5, ts + (int64_t)i, dims, 2), 0);
        }
}

static void append_batch(struct spool *s, const char *name, size_t n, int64_t ts)
{
        struct metric_batch b = METRIC_BATCH_INIT;
        struct error err = ERROR_INIT;

        make_batch(&b, name, n, ts);
        assert_int_equal(spool_append(s, &b, NOW_MS, &err), 0);
        metric_batch_free(&b);
}

/* One record per request (flush_max_datums 1), unless a test says otherwise. */
static struct spool *open_spool_ex(struct fake *f, uint64_t max_bytes, size_t flush_max_datums)
{
        struct spool_limits lim = { .max_bytes = max_bytes, .flush_max_datums = flush_max_datums };
        struct error err = ERROR_INIT;
        struct spool *s = NULL;

        assert_int_equal(spool_open(f->dir, &lim, &s, &err), 0);
        return s;
}

static struct spool *open_spool(struct fake *f, uint64_t max_bytes)
{
        return open_spool_ex(f, max_bytes, 1);
}

static size_t pending_datums(struct spool *s)
{
        size_t recs, datums;

        assert_int_equal(spool_pending(s, &recs, &datums), 0);
        return datums;
}

static char *spool_file(struct fake *f)
{
        char *p = path_join(f->dir, "metrics.spool");

        assert_non_null(p);
        return p;
}

static off_t file_size(const char *p)
{
        struct stat st;

        if (stat(p, &st) < 0)
                return -1;
        return st.st_size;
}

/* ---- spool ---- */

/* A spool that cannot write its cursor says so once, in the error it returns; it logs
 * nothing itself (its caller logs the error). */
static void test_cursor_failure_reported_once(void **state)
{
        struct fake *f = *state;
        struct spool *s = open_spool(f, 1 << 20);
        struct metric_batch b = METRIC_BATCH_INIT;
        struct error err = ERROR_INIT;
        char *cursor = path_join(f->dir, "cursor.json"), *text = NULL, logpath[] = "/tmp/test-spool-log-XXXXXX";
        int logfd = mkstemp(logpath), saved = dup(2);

        assert_true(logfd >= 0 && saved >= 0);
        append_batch(s, "m", 2, NOW_MS);
        assert_int_equal(mkdir(cursor, 0700), 0);      /* renaming a file over it fails */
        make_batch(&b, "n", 1, NOW_MS);
        fflush(stderr);
        assert_int_equal(dup2(logfd, 2), 2);
        assert_true(spool_flush(s, NOW_MS, fake_send, f, &err) < 0);
        fflush(stderr);
        assert_int_equal(dup2(saved, 2), 2);
        assert_non_null(strstr(err.msg, "cannot write the spool cursor"));
        assert_non_null(strstr(err.msg, "cursor.json"));
        assert_int_equal(read_file_capped(logpath, 1 << 20, &text, NULL), 0);
        assert_null(strstr(text, "cursor"));
        free(text);
        close(logfd);
        close(saved);
        unlink(logpath);
        rmdir(cursor);
        free(cursor);
        metric_batch_free(&b);
        spool_free(s);
}

/* Spooled batches go out oldest first, with the timestamps they were made with. */
static void test_flush_sends_oldest_first_with_original_timestamps(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);
        char *p = spool_file(f);

        append_batch(s, "first", 2, NOW_MS - 3600000);
        append_batch(s, "second", 3, NOW_MS - 60000);
        assert_int_equal(pending_datums(s), 5);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 2);
        assert_string_equal(f->sent[0].items[0].name, "first-0");
        assert_int_equal(f->sent[0].items[1].timestamp_ms, NOW_MS - 3600000 + 1);
        assert_string_equal(f->sent[1].items[2].name, "second-2");
        assert_int_equal(f->sent[1].items[2].timestamp_ms, NOW_MS - 60000 + 2);
        assert_true(f->sent[1].items[2].value == 2.5);
        assert_int_equal(pending_datums(s), 0);
        assert_int_equal(file_size(p), -1);      /* emptied spool is removed */
        spool_free(s);
        free(p);
}

/* A send failing for now stops the flush; what was sent is not sent again. */
static void test_outage_keeps_rest_and_nothing_sent_twice(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);

        append_batch(s, "a", 1, NOW_MS - 3000);
        append_batch(s, "b", 1, NOW_MS - 2000);
        append_batch(s, "c", 1, NOW_MS - 1000);
        f->script[0] = SEND_OK;
        f->script[1] = SEND_RETRY_LATER;
        f->script_len = 2;
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), -EAGAIN);
        assert_non_null(strstr(err.msg, "connection refused"));
        assert_int_equal(f->n_sent, 1);
        assert_int_equal(pending_datums(s), 2);
        spool_free(s);

        /* Another process later: the cursor survived. */
        s = open_spool(f, 0);
        error_clear(&err);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 3);
        assert_string_equal(f->sent[0].items[0].name, "a-0");
        assert_string_equal(f->sent[1].items[0].name, "b-0");
        assert_string_equal(f->sent[2].items[0].name, "c-0");
        spool_free(s);
}

/* A crash after the last send but before the spool file was removed sends nothing again. */
static void test_crash_before_removal_sends_nothing_twice(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);
        char *p = spool_file(f), *copy = NULL;
        size_t len;

        append_batch(s, "x", 2, NOW_MS - 1000);
        assert_int_equal(read_file_capped(p, 1 << 20, &copy, &len), 0);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        spool_free(s);
        assert_int_equal(f->n_sent, 1);
        /* Put the file back as if the crash came before unlink(). */
        assert_int_equal(write_file_atomic(p, copy, len, 0600), 0);
        s = open_spool(f, 0);
        assert_int_equal(pending_datums(s), 0);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 1);
        /* A new spool file after that is sent in full, despite the old cursor. */
        append_batch(s, "y", 1, NOW_MS - 500);
        spool_free(s);
        s = open_spool(f, 0);
        assert_int_equal(pending_datums(s), 1);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 2);
        assert_string_equal(f->sent[1].items[0].name, "y-0");
        spool_free(s);
        free(copy);
        free(p);
}

/* A record cut short by a power loss is skipped; the records before it are kept, and
 * later appends are not glued to the torn bytes. */
static void test_torn_last_record_skipped_rest_kept(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);
        char *p = spool_file(f);
        off_t size;

        append_batch(s, "kept", 2, NOW_MS - 2000);
        append_batch(s, "torn", 2, NOW_MS - 1000);
        spool_free(s);
        size = file_size(p);
        assert_int_equal(truncate(p, size - 7), 0);

        s = open_spool(f, 0);
        assert_int_equal(pending_datums(s), 2);
        append_batch(s, "after", 1, NOW_MS - 500);
        assert_int_equal(pending_datums(s), 3);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 2);
        assert_string_equal(f->sent[0].items[0].name, "kept-0");
        assert_string_equal(f->sent[1].items[0].name, "after-0");
        spool_free(s);
        free(p);
}

/* Zeros where the last record should be (delayed allocation after a power loss). */
static void test_zero_filled_tail_skipped(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);
        char *p = spool_file(f), zeros[300] = { 0 };
        int fd;

        append_batch(s, "kept", 1, NOW_MS - 2000);
        spool_free(s);
        fd = open(p, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
        assert_int_equal(write(fd, "\n", 1), 1);
        close(fd);
        s = open_spool(f, 0);
        assert_int_equal(pending_datums(s), 1);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 1);
        spool_free(s);
        free(p);
}

/* A damaged file header: the file is moved aside and a new spool starts. */
static void test_bad_header_moved_aside(void **state)
{
        struct fake *f = *state;
        char *p = spool_file(f), *aside = NULL;
        struct spool *s;

        assert_int_equal(mkdir_p(f->dir, 0700), 0);
        assert_int_equal(write_file_atomic(p, "garbage\n", 8, 0600), 0);
        s = open_spool(f, 0);
        assert_int_equal(pending_datums(s), 0);
        assert_true(asprintf(&aside, "%s.bad", p) > 0);
        assert_int_equal(file_size(aside), 8);
        append_batch(s, "new", 1, NOW_MS);
        assert_int_equal(pending_datums(s), 1);
        spool_free(s);
        free(aside);
        free(p);
}

/* Crossing the size bound drops the oldest batches, counts their datums, and keeps the
 * pending part within the bound. */
static void test_size_bound_drops_oldest_and_counts(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, SPOOL_MIN_MAX_BYTES);
        char *p = spool_file(f);
        size_t appended = 0, n;

        for (int i = 0; i < 40; i++) {
                char name[16];

                snprintf(name, sizeof(name), "b%02d", i);
                append_batch(s, name, 3, NOW_MS - 100000 + i);
                appended += 3;
                assert_true(file_size(p) <= (off_t)(2 * SPOOL_MIN_MAX_BYTES));
        }
        n = pending_datums(s);
        assert_true(n < appended);
        assert_int_equal(spool_dropped(s), appended - n);
        spool_free(s);

        s = open_spool(f, SPOOL_MIN_MAX_BYTES);     /* the count is persisted */
        assert_int_equal(spool_dropped(s), appended - n);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        /* What is left is the newest, in order. */
        assert_string_equal(f->sent[f->n_sent - 1].items[0].name, "b39-0");
        for (size_t i = 1; i < f->n_sent; i++)
                assert_true(strcmp(f->sent[i - 1].items[0].name, f->sent[i].items[0].name) < 0);
        assert_int_equal(f->n_sent * 3, n);
        spool_free(s);
        free(p);
}

/* One batch bigger than the whole bound is dropped and counted, not written. */
static void test_batch_larger_than_bound_dropped(void **state)
{
        struct fake *f = *state;
        struct spool *s = open_spool(f, SPOOL_MIN_MAX_BYTES);

        append_batch(s, "small", 1, NOW_MS);
        append_batch(s, "huge", 200, NOW_MS);
        assert_int_equal(pending_datums(s), 1);
        assert_int_equal(spool_dropped(s), 200);
        spool_free(s);
}

/* Datums older than the age bound are dropped and counted, on append and on flush. */
static void test_age_bound_drops_and_counts(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);

        append_batch(s, "ancient", 2, NOW_MS - METRIC_MAX_AGE_MS - 1000);
        assert_int_equal(spool_dropped(s), 2);
        assert_int_equal(pending_datums(s), 0);
        append_batch(s, "old", 2, NOW_MS - SPOOL_DEFAULT_MAX_AGE_MS + 10);
        append_batch(s, "fresh", 1, NOW_MS);
        /* A day passes before sending works again: "old" is now too old. */
        assert_int_equal(spool_flush(s, NOW_MS + 86400000LL, fake_send, f, &err), 0);
        assert_int_equal(spool_dropped(s), 4);
        assert_int_equal(f->n_sent, 1);
        assert_string_equal(f->sent[0].items[0].name, "fresh-0");
        spool_free(s);
}

/* The dropped count is reported once: ack subtracts what was reported, and persists. */
static void test_dropped_ack(void **state)
{
        struct fake *f = *state;
        struct spool *s = open_spool(f, 0);

        assert_int_equal(spool_count_dropped(s, 7), 0);
        assert_int_equal(spool_dropped(s), 7);
        assert_int_equal(spool_count_dropped(s, 3), 0);
        assert_int_equal(spool_ack_dropped(s, 7), 0);
        spool_free(s);
        s = open_spool(f, 0);
        assert_int_equal(spool_dropped(s), 3);
        assert_int_equal(spool_ack_dropped(s, 3), 0);
        assert_int_equal(spool_dropped(s), 0);
        spool_free(s);
}

/* A batch the service refuses for good is dropped (counted) and the flush goes on. */
static void test_rejected_batch_dropped_flush_continues(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, 0);

        append_batch(s, "bad", 2, NOW_MS);
        append_batch(s, "good", 1, NOW_MS);
        f->reject_bad = true;
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 1);
        assert_string_equal(f->sent[0].items[0].name, "good-0");
        assert_int_equal(spool_dropped(s), 2);
        spool_free(s);
}

/* Small spooled batches go out together, up to 1000 datums per request, in order. */
static void test_flush_merges_small_records(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool_ex(f, 0, 0);
        char name[48];
        size_t k = 0;

        for (int i = 0; i < 30; i++) {
                snprintf(name, sizeof(name), "r%02d", i);
                append_batch(s, name, 50, NOW_MS - 100000 + i * 100);
        }
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        assert_int_equal(f->n_sent, 2);
        assert_int_equal(f->sent[0].n, 1000);
        assert_int_equal(f->sent[1].n, 500);
        for (size_t i = 0; i < f->n_sent; i++)
                for (size_t j = 0; j < f->sent[i].n; j++, k++) {
                        snprintf(name, sizeof(name), "r%02zu-%zu", k / 50, k % 50);
                        assert_string_equal(f->sent[i].items[j].name, name);
                }
        assert_int_equal(pending_datums(s), 0);
        spool_free(s);
}

/* A merged request that is refused is retried record by record: only the bad one is lost. */
static void test_rejected_group_isolates_the_bad_record(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool_ex(f, 0, 0);
        size_t total = 0;

        append_batch(s, "ok1", 3, NOW_MS);
        append_batch(s, "bad", 2, NOW_MS);
        append_batch(s, "ok2", 4, NOW_MS);
        f->reject_bad = true;
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        for (size_t i = 0; i < f->n_sent; i++)
                total += f->sent[i].n;
        assert_int_equal(total, 7);
        assert_string_equal(f->sent[0].items[0].name, "ok1-0");
        assert_string_equal(f->sent[f->n_sent - 1].items[3].name, "ok2-3");
        assert_int_equal(spool_dropped(s), 2);
        spool_free(s);
}

/* An outage in the middle of a merged flush: the groups sent stay sent, the rest waits. */
static void test_merged_flush_outage_resumes_without_repeats(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool_ex(f, 0, 0);
        size_t total = 0;
        char name[16];

        for (int i = 0; i < 5; i++) {
                snprintf(name, sizeof(name), "m%d", i);
                append_batch(s, name, 400, NOW_MS - 1000 + i);   /* 2 records per request */
        }
        f->script[0] = SEND_OK;
        f->script[1] = SEND_RETRY_LATER;
        f->script_len = 2;
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), -EAGAIN);
        assert_int_equal(f->n_sent, 1);
        assert_int_equal(f->sent[0].n, 800);
        spool_free(s);
        s = open_spool_ex(f, 0, 0);
        assert_int_equal(pending_datums(s), 1200);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        for (size_t i = 0; i < f->n_sent; i++)
                total += f->sent[i].n;
        assert_int_equal(total, 2000);
        assert_string_equal(f->sent[1].items[0].name, "m2-0");
        spool_free(s);
}

/* After partial flushes the sent prefix is cut off (compaction) and nothing is lost or
 * repeated across it. */
static void test_compaction_keeps_exactly_the_pending(void **state)
{
        struct fake *f = *state;
        struct error err = ERROR_INIT;
        struct spool *s = open_spool(f, SPOOL_MIN_MAX_BYTES);
        char *p = spool_file(f);
        char name[16];
        size_t total = 0;

        /* Fill, send all but the last record (the last send fails), fill again. */
        for (int i = 0; i < 8; i++) {
                snprintf(name, sizeof(name), "p%02d", i);
                append_batch(s, name, 2, NOW_MS - 1000 + i);
        }
        f->script_len = 8;
        for (int i = 0; i < 7; i++)
                f->script[i] = SEND_OK;
        f->script[7] = SEND_RETRY_LATER;
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), -EAGAIN);
        assert_int_equal(f->n_sent, 7);
        for (int i = 8; i < 30; i++) {
                snprintf(name, sizeof(name), "p%02d", i);
                append_batch(s, name, 2, NOW_MS - 1000 + i);
                assert_true(file_size(p) <= (off_t)(2 * SPOOL_MIN_MAX_BYTES));
        }
        spool_free(s);
        s = open_spool(f, SPOOL_MIN_MAX_BYTES);
        error_clear(&err);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        /* Every name at most once, in order, and everything not sent was counted dropped. */
        for (size_t i = 1; i < f->n_sent; i++)
                assert_true(strcmp(f->sent[i - 1].items[0].name, f->sent[i].items[0].name) < 0);
        for (size_t i = 0; i < f->n_sent; i++)
                total += f->sent[i].n;
        assert_int_equal(total + spool_dropped(s), 60);
        assert_string_equal(f->sent[f->n_sent - 1].items[0].name, "p29-0");
        spool_free(s);
        free(p);
}

/* One process at a time: the lock is held while the spool is open. */
static void test_lock_held_while_open(void **state)
{
        struct fake *f = *state;
        struct spool *s = open_spool(f, 0);
        char *lock = path_join(f->dir, "lock");
        int fd = open(lock, O_RDWR);

        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
        spool_free(s);
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
        close(fd);
        free(lock);
}

/* The spool and its cursor are private to root. */
static void test_files_are_private(void **state)
{
        struct fake *f = *state;
        struct spool *s = open_spool(f, 0);
        char *p = spool_file(f), *c = path_join(f->dir, "cursor.json");
        struct error err = ERROR_INIT;
        struct stat st;

        append_batch(s, "m", 1, NOW_MS);
        assert_int_equal(spool_count_dropped(s, 1), 0);
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        assert_int_equal(stat(c, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        assert_int_equal(stat(f->dir, &st), 0);
        assert_int_equal(st.st_mode & 077, 0);
        assert_int_equal(spool_flush(s, NOW_MS, fake_send, f, &err), 0);
        spool_free(s);
        free(p);
        free(c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_cursor_failure_reported_once),
                T(test_flush_sends_oldest_first_with_original_timestamps),
                T(test_outage_keeps_rest_and_nothing_sent_twice),
                T(test_crash_before_removal_sends_nothing_twice),
                T(test_torn_last_record_skipped_rest_kept),
                T(test_zero_filled_tail_skipped),
                T(test_bad_header_moved_aside),
                T(test_size_bound_drops_oldest_and_counts),
                T(test_batch_larger_than_bound_dropped),
                T(test_age_bound_drops_and_counts),
                T(test_dropped_ack),
                T(test_rejected_batch_dropped_flush_continues),
                T(test_flush_merges_small_records),
                T(test_rejected_group_isolates_the_bad_record),
                T(test_merged_flush_outage_resumes_without_repeats),
                T(test_compaction_keeps_exactly_the_pending),
                T(test_lock_held_while_open),
                T(test_files_are_private),
        };
        return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
