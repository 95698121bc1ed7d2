/* ec2: recorded answers (tests/data/aws, from the stand-in and AWS's documentation) become the
 * typed results recipes see. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/ec2.h"
#include "aws/xml.h"
#include "util/fileio.h"

static struct xml_node *fixture(const char *name)
{
        char path[1024], *text = NULL;
        size_t len = 0;
        struct xml_node *doc = NULL;
        struct error err = ERROR_INIT;

        snprintf(path, sizeof(path), TEST_DATA_DIR "/aws/%s", name);
        assert_int_equal(read_file_capped(path, 1 << 20, &text, &len), 0);
        assert_int_equal(xml_parse(text, len, &doc, &err), 0);
        free(text);
        return doc;
}

static void test_describe_instances(void **state)
{
        struct xml_node *doc = fixture("describe-instances.xml");
        struct opsagent_ec2_instance *in = NULL;

        assert_int_equal(ec2_parse_instance_response(doc, &in), 0);
        assert_string_equal(in->instance_id, "i-1c9d2e4fe8bec5372");
        assert_string_equal(in->root_device_name, "/dev/sda1");
        assert_string_equal(in->availability_zone, "us-east-1a");
        assert_string_equal(in->instance_type, "m4.xlarge");
        assert_int_equal(in->n_attachments, 3);
        assert_string_equal(in->attachments[0].device, "/dev/sda1");
        assert_string_equal(in->attachments[0].volume_id, "vol-6ed64a61f58477cf8");
        assert_string_equal(in->attachments[0].status, "attached");
        assert_true(in->attachments[0].is_root);
        assert_true(in->attachments[0].delete_on_termination);
        assert_string_equal(in->attachments[1].device, "/dev/sdf");
        assert_false(in->attachments[1].is_root);
        assert_false(in->attachments[1].delete_on_termination);
        assert_int_equal(in->n_tags, 1);
        assert_string_equal(in->tags[0].key, "Name");
        assert_string_equal(in->tags[0].value, "opsagent-standin");
        ec2_instance_free(in);
        xml_free(doc);
}

static void test_no_instance_is_enoent(void **state)
{
        const char *x = "<DescribeInstancesResponse><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>";
        struct opsagent_ec2_instance *in = NULL;
        struct xml_node *doc = NULL;
        struct error err = ERROR_INIT;

        assert_int_equal(xml_parse(x, strlen(x), &doc, &err), 0);
        assert_int_equal(ec2_parse_instance_response(doc, &in), -ENOENT);
        assert_null(in);
        xml_free(doc);
}

static void test_describe_volumes(void **state)
{
        struct xml_node *doc = fixture("describe-volumes.xml");
        struct opsagent_ec2_volume *v = NULL;
        size_t n = 0;

        assert_int_equal(ec2_parse_volumes_response(doc, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].volume_id, "vol-6ed64a61f58477cf8");
        assert_string_equal(v[0].state, "in-use");
        assert_string_equal(v[0].volume_type, "gp2");
        assert_int_equal(v[0].size_gib, 8);
        assert_string_equal(v[0].availability_zone, "us-east-1a");
        assert_int_equal(v[1].size_gib, 10);
        ec2_volumes_free(v, n);
        xml_free(doc);
}

/* AWS's documented DescribeSnapshots answer: states, progress, tags, times. */
static void test_describe_snapshots(void **state)
{
        struct xml_node *doc = fixture("describe-snapshots.xml");
        struct opsagent_ec2_snapshot *v = NULL;
        size_t n = 0;

        assert_int_equal(ec2_parse_snapshots_response(doc, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].snapshot_id, "snap-1234567890abcdef0");
        assert_string_equal(v[0].volume_id, "vol-1234567890abcdef0");
        assert_string_equal(v[0].state, "pending");
        assert_string_equal(v[0].progress, "80%");
        assert_string_equal(v[0].description, "Daily Backup");
        assert_int_equal(v[0].start_time, 1466285376);
        assert_int_equal(v[0].volume_size_gib, 15);
        assert_int_equal(v[0].n_tags, 1);
        assert_string_equal(v[0].tags[0].key, "opsagent:managed");
        assert_string_equal(v[0].tags[0].value, "ebs_snapshots");
        assert_string_equal(v[1].state, "completed");
        assert_null(v[1].description);
        assert_int_equal(v[1].n_tags, 0);
        ec2_snapshots_free(v, n);
        xml_free(doc);
}

/* ---- DescribeSnapshots read as a stream (struct ec2_snapshot_page) ---- */

static const char stream_page[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
        "<requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>"
        "<snapshotSet>"
        "<item><snapshotId>snap-0123456789abcdef0</snapshotId><volumeId>vol-1</volumeId>"
        "<status>completed</status><startTime>2026-11-23T03:00:01.000Z</startTime><progress>100%</progress>"
        "<volumeSize>8</volumeSize><description>a &amp; b &lt;c&gt; caf\xc3\xa9</description>"
        "<tagSet><item><key>opsagent:managed</key><value>true</value></item>"
        "<item><key>Name</key><value/></item><item><key>only-key</key></item></tagSet>"
        "<tagSet><item><key>second-tagset</key><value>ignored</value></item></tagSet></item>"
        "<item><snapshotId>snap-2</snapshotId><snapshotId>snap-2-second</snapshotId>"
        "<state>pending</state><status>completed</status><startTime>not a time</startTime>"
        "<other><item><snapshotId>nested-not-a-field</snapshotId></item></other></item>"
        "<item/>"
        "</snapshotSet>"
        "<snapshotSet><item><snapshotId>second-set-ignored</snapshotId></item></snapshotSet>"
        "<nextToken>tok&amp;en==</nextToken><nextToken>second</nextToken>"
        "</DescribeSnapshotsResponse>";

static void assert_same_str(const char *a, const char *b)
{
        if (!a || !b)
                assert_ptr_equal(a, b);
        else
                assert_string_equal(a, b);
}

/* Every field of the stream's snapshot I is what the tree parser makes of the same answer. */
static void assert_page_is(const struct ec2_snapshot_page *p, const struct opsagent_ec2_snapshot *want, size_t n,
                           const char *want_token)
{
        assert_int_equal(ec2_snapshot_page_count(p), n);
        assert_same_str(ec2_snapshot_page_next_token(p), want_token);
        for (size_t i = 0; i < n; i++) {
                struct opsagent_ec2_tag tags[8];
                struct opsagent_ec2_snapshot v;

                assert_true(ec2_snapshot_page_tags(p, i) <= 8);
                ec2_snapshot_page_view(p, i, &v, tags);
                assert_same_str(v.snapshot_id, want[i].snapshot_id);
                assert_same_str(v.volume_id, want[i].volume_id);
                assert_same_str(v.state, want[i].state);
                assert_same_str(v.progress, want[i].progress);
                assert_same_str(v.description, want[i].description);
                assert_int_equal(v.volume_size_gib, want[i].volume_size_gib);
                assert_int_equal(v.start_time, want[i].start_time);
                assert_int_equal(v.n_tags, want[i].n_tags);
                for (size_t k = 0; k < v.n_tags; k++) {
                        assert_same_str(v.tags[k].key, want[i].tags[k].key);
                        assert_same_str(v.tags[k].value, want[i].tags[k].value);
                }
        }
}

/* The page split in two at every byte boundary, and fed a byte at a time, reads the same as
 * the tree parser reads it whole (the first of repeated fields, the first snapshotSet and
 * tagSet, <status> before <state>, absent fields NULL, entities and UTF-8 decoded). */
static void test_snapshot_page_split_at_every_byte(void **state)
{
        size_t len = sizeof(stream_page) - 1, n = 0;
        struct opsagent_ec2_snapshot *want = NULL;
        struct xml_node *doc = NULL;
        struct error err = ERROR_INIT;
        const char *token;

        assert_int_equal(xml_parse(stream_page, len, &doc, &err), 0);
        assert_int_equal(ec2_parse_snapshots_response(doc, &want, &n), 0);
        token = xml_path_text(doc, "nextToken");
        assert_int_equal(n, 3);
        assert_string_equal(want[0].description, "a & b <c> caf\xc3\xa9");
        assert_string_equal(want[1].snapshot_id, "snap-2");
        assert_string_equal(want[1].state, "completed");
        assert_string_equal(token, "tok&en==");
        for (size_t k = 0; k <= len; k++) {
                struct ec2_snapshot_page *p = NULL;

                assert_int_equal(ec2_snapshot_page_new(&p), 0);
                assert_int_equal(ec2_snapshot_page_feed(p, stream_page, k, false, &err), 0);
                assert_int_equal(ec2_snapshot_page_feed(p, stream_page + k, len - k, true, &err), 0);
                assert_page_is(p, want, n, token);
                ec2_snapshot_page_free(p);
        }
        {
                struct ec2_snapshot_page *p = NULL;

                assert_int_equal(ec2_snapshot_page_new(&p), 0);
                for (size_t k = 0; k < len; k++)
                        assert_int_equal(ec2_snapshot_page_feed(p, stream_page + k, 1, false, &err), 0);
                assert_int_equal(ec2_snapshot_page_feed(p, "", 0, true, &err), 0);
                assert_page_is(p, want, n, token);
                ec2_snapshot_page_free(p);
        }
        ec2_snapshots_free(want, n);
        xml_free(doc);
}

static int feed_whole(const char *text, size_t len, size_t split)
{
        struct ec2_snapshot_page *p = NULL;
        struct error err = ERROR_INIT;
        int r;

        assert_int_equal(ec2_snapshot_page_new(&p), 0);
        r = ec2_snapshot_page_feed(p, text, split, false, &err);
        if (r >= 0)
                r = ec2_snapshot_page_feed(p, text + split, len - split, true, &err);
        if (r < 0)
                assert_true(err.msg[0] != '\0');
        ec2_snapshot_page_free(p);
        return r;
}

/* A page cut short anywhere, or malformed, is refused (-EBADMSG) wherever it is split, so
 * that the call engine retries it; no DTD, no entity declarations. */
static void test_snapshot_page_malformed(void **state)
{
        static const char *const bad[] = {
                "",
                "<DescribeSnapshotsResponse><snapshotSet><item></snapshotSet></DescribeSnapshotsResponse>",
                "<a></a><b></b>",
                "<a>&undefined;</a>",
                "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
                "<a>\xff\xfe</a>",
                "not xml at all",
        };
        size_t len = sizeof(stream_page) - 1;

        for (size_t cut = 0; cut < len; cut++)
                for (size_t split = 0; split <= cut; split += 1 + cut / 8)
                        assert_int_equal(feed_whole(stream_page, cut, split), -EBADMSG);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                for (size_t split = 0; split <= strlen(bad[i]); split++)
                        assert_int_equal(feed_whole(bad[i], strlen(bad[i]), split), -EBADMSG);
        {
                /* nothing more after the final piece */
                struct ec2_snapshot_page *p = NULL;
                struct error err = ERROR_INIT;

                assert_int_equal(ec2_snapshot_page_new(&p), 0);
                assert_int_equal(ec2_snapshot_page_feed(p, "<a/>", 4, true, &err), 0);
                assert_true(ec2_snapshot_page_feed(p, "<a/>", 4, true, &err) < 0);
                assert_int_equal(ec2_snapshot_page_count(p), 0);
                assert_null(ec2_snapshot_page_next_token(p));
                ec2_snapshot_page_free(p);
        }
}

/* CreateSnapshots says <state> where DescribeSnapshots says <status>. */
static void test_create_snapshots(void **state)
{
        struct xml_node *doc = fixture("create-snapshots.xml");
        struct opsagent_ec2_snapshot *v = NULL;
        size_t n = 0;

        assert_int_equal(ec2_parse_snapshots_response(doc, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0].volume_id, "vol-983b9421c76e436ba");
        assert_string_equal(v[0].snapshot_id, "snap-4ce41fdccb05e26c9");
        assert_true(v[0].start_time > 0);
        ec2_snapshots_free(v, n);
        xml_free(doc);
}

static void test_create_snapshot(void **state)
{
        struct xml_node *doc = fixture("create-snapshot.xml");

        assert_string_equal(xml_path_text(doc, "snapshotId"), "snap-9cdf04c7ca6c7801b");
        assert_string_equal(xml_path_text(doc, "status"), "completed");
        xml_free(doc);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_describe_instances),
                cmocka_unit_test(test_snapshot_page_split_at_every_byte),
                cmocka_unit_test(test_snapshot_page_malformed),
                cmocka_unit_test(test_no_instance_is_enoent),
                cmocka_unit_test(test_describe_volumes),
                cmocka_unit_test(test_describe_snapshots),
                cmocka_unit_test(test_create_snapshots),
                cmocka_unit_test(test_create_snapshot),
        };
        return cmocka_run_group_tests_name("ec2", tests, NULL, NULL);
}
