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
                cmocka_unit_test(test_no_instance_is_enoent),
                cmocka_unit_test(test_describe_volumes),
                cmocka_unit_test(test_describe_snapshots),
                cmocka_unit_test(test_create_snapshots),
                cmocka_unit_test(test_create_snapshot),
        };
        return cmocka_run_group_tests_name("ec2", tests, NULL, NULL);
}
