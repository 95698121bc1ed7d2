/* xml: recorded AWS responses parse into a tree; DTDs, entities and oversize input do not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/xml.h"
#include "util/buf.h"
#include "util/fileio.h"

static struct xml_node *parse_fixture(const char *name, int *ret_r, struct error *err)
{
        char path[1024], *text = NULL;
        size_t len = 0;
        struct xml_node *doc = NULL;

        snprintf(path, sizeof(path), TEST_DATA_DIR "/aws/%s", name);
        assert_int_equal(read_file_capped(path, 1 << 20, &text, &len), 0);
        *ret_r = xml_parse(text, len, &doc, err);
        free(text);
        return doc;
}

static void test_describe_snapshots_response(void **state)
{
        struct error err = ERROR_INIT;
        struct xml_node *doc, *item;
        int r;

        doc = parse_fixture("describe-snapshots.xml", &r, &err);
        assert_int_equal(r, 0);
        assert_string_equal(doc->name, "DescribeSnapshotsResponse");
        assert_string_equal(xml_path_text(doc, "requestId"), "59dbff89-35bd-4eac-99ed-be587EXAMPLE");
        item = xml_path(doc, "snapshotSet/item");
        assert_non_null(item);
        assert_string_equal(xml_path_text(item, "snapshotId"), "snap-1234567890abcdef0");
        assert_string_equal(xml_path_text(item, "tagSet/item/key"), "opsagent:managed");
        item = xml_next_named(item);
        assert_non_null(item);
        assert_string_equal(xml_path_text(item, "status"), "completed");
        assert_null(xml_next_named(item));
        assert_string_equal(xml_path_text(doc, "nextToken"), "eyJ2IjoiMiIsImMiOiJleGFtcGxlIn0=");
        assert_null(xml_path_text(doc, "snapshotSet/item/nothere"));
        xml_free(doc);
}

/* Prefixed names lose their prefix; predefined entities and CDATA are text. */
static void test_prefixes_entities_cdata(void **state)
{
        const char *x = "<a:Root xmlns:a=\"urn:x\"><a:v>1 &amp; 2 &lt;3&gt;</a:v><w><![CDATA[<raw>]]></w></a:Root>";
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;

        assert_int_equal(xml_parse(x, strlen(x), &doc, &err), 0);
        assert_string_equal(doc->name, "Root");
        assert_string_equal(xml_path_text(doc, "v"), "1 & 2 <3>");
        assert_string_equal(xml_path_text(doc, "w"), "<raw>");
        xml_free(doc);
}

static void test_billion_laughs_refused(void **state)
{
        struct error err = ERROR_INIT;
        struct xml_node *doc;
        int r;

        doc = parse_fixture("billion-laughs.xml", &r, &err);
        assert_int_equal(r, -EBADMSG);
        assert_null(doc);
        assert_non_null(strstr(err.msg, "not accepted"));
}

static void test_external_entity_refused(void **state)
{
        struct error err = ERROR_INIT;
        struct xml_node *doc;
        int r;

        doc = parse_fixture("external-entity.xml", &r, &err);
        assert_int_equal(r, -EBADMSG);
        assert_null(doc);
}

static void test_truncated_is_bad_message(void **state)
{
        const char *x = "<?xml version=\"1.0\"?>\n<Response><Errors><Error><Code>Thro";
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;

        assert_int_equal(xml_parse(x, strlen(x), &doc, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "line 2"));
        error_clear(&err);
        assert_int_equal(xml_parse("", 0, &doc, &err), -EBADMSG);
}

static void test_depth_limit(void **state)
{
        struct buf b = BUF_INIT(1 << 20);
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;

        for (int i = 0; i < XML_MAX_DEPTH; i++)
                assert_int_equal(buf_puts(&b, "<a>"), 0);
        for (int i = 0; i < XML_MAX_DEPTH; i++)
                assert_int_equal(buf_puts(&b, "</a>"), 0);
        assert_int_equal(xml_parse(b.data, b.len, &doc, &err), 0);
        xml_free(doc);
        doc = NULL;
        buf_reset(&b);
        for (int i = 0; i <= XML_MAX_DEPTH; i++)
                assert_int_equal(buf_puts(&b, "<a>"), 0);
        for (int i = 0; i <= XML_MAX_DEPTH; i++)
                assert_int_equal(buf_puts(&b, "</a>"), 0);
        assert_int_equal(xml_parse(b.data, b.len, &doc, &err), -E2BIG);
        assert_null(doc);
        buf_free(&b);
}

static void test_node_limit(void **state)
{
        struct buf b = BUF_INIT(16 << 20);
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;

        assert_int_equal(buf_puts(&b, "<r>"), 0);
        for (int i = 0; i < XML_MAX_NODES; i++)
                assert_int_equal(buf_puts(&b, "<i/>"), 0);
        assert_int_equal(buf_puts(&b, "</r>"), 0);
        assert_int_equal(xml_parse(b.data, b.len, &doc, &err), -E2BIG);
        buf_free(&b);
}

static void test_text_limit(void **state)
{
        struct buf b = BUF_INIT(XML_MAX_TEXT * 2);
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;

        assert_int_equal(buf_puts(&b, "<r>"), 0);
        for (int i = 0; i <= XML_MAX_TEXT; i++)
                assert_int_equal(buf_puts(&b, "x"), 0);
        assert_int_equal(buf_puts(&b, "</r>"), 0);
        assert_int_equal(xml_parse(b.data, b.len, &doc, &err), -E2BIG);
        buf_free(&b);
}

/* A document of more distinct names than are shared, text split by children, and nodes beyond
 * one arena chunk: every name and text as written. */
static void test_many_names_and_mixed_text(void **state)
{
        struct buf b = BUF_INIT(4 << 20);
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL, *c;
        char name[32];
        int i = 0;

        assert_int_equal(buf_puts(&b, "<r>a"), 0);
        for (int k = 0; k < 3000; k++)
                assert_int_equal(buf_printf(&b, "<n%d>v%d</n%d>", k % 700, k, k % 700), 0);
        assert_int_equal(buf_puts(&b, "b<big>"), 0);
        for (int k = 0; k < 100000; k++)
                assert_int_equal(buf_puts(&b, "y"), 0);
        assert_int_equal(buf_puts(&b, "</big>c</r>"), 0);
        assert_int_equal(xml_parse(b.data, b.len, &doc, &err), 0);
        assert_string_equal(doc->text, "abc");
        for (c = doc->children; c && strcmp(c->name, "big") != 0; c = c->next, i++) {
                char text[32];

                snprintf(name, sizeof(name), "n%d", i % 700);
                snprintf(text, sizeof(text), "v%d", i);
                assert_string_equal(c->name, name);
                assert_string_equal(c->text, text);
        }
        assert_int_equal(i, 3000);
        assert_int_equal(strlen(xml_path_text(doc, "big")), 100000);
        assert_null(xml_path_text(doc, "n0/none"));
        xml_free(xml_child(doc, "n1"));   /* not a document: nothing happens */
        xml_free(doc);
        buf_free(&b);
}

/* ---- streaming ---- */

struct seen {
        struct buf log;
        int stop_at;        /* the end handler fails at this many ends (0: never) */
        int ends;
};

static int seen_start(void *userdata, const char *name, size_t depth)
{
        struct seen *z = userdata;
        char line[128];

        snprintf(line, sizeof line, "<%s@%zu", name, depth);
        return buf_puts(&z->log, line);
}

static int seen_end(void *userdata, const char *name, size_t depth, const char *text, size_t len)
{
        struct seen *z = userdata;
        char line[256];

        if (++z->ends == z->stop_at)
                return -ECANCELED;
        snprintf(line, sizeof line, ">%s@%zu[%.*s]", name, depth, (int)len, text);
        return buf_puts(&z->log, line);
}

static const struct xml_stream_handler seen_handler = { seen_start, seen_end };

/* Names without their prefix, depths, each element's own text (entities, CDATA), whatever the
 * pieces the document comes in. */
static void test_stream_events_in_any_pieces(void **state)
{
        static const char doc[] = "<r:a xmlns:r=\"urn:x\">x<b>one &amp; <![CDATA[<two>]]></b>y<c/></r:a>";
        static const char want[] = "<a@0<b@1>b@1[one & <two>]<c@1>c@1[]>a@0[xy]";
        size_t len = sizeof(doc) - 1;

        for (size_t k = 0; k <= len; k++) {
                struct seen z = { .log = BUF_INIT(1 << 20) };
                struct xml_stream *x = NULL;
                struct error err = ERROR_INIT;

                assert_int_equal(xml_stream_new(&seen_handler, &z, &x), 0);
                assert_int_equal(xml_stream_feed(x, doc, k, false, &err), 0);
                assert_int_equal(xml_stream_feed(x, doc + k, len - k, true, &err), 0);
                assert_string_equal(buf_str(&z.log), want);
                xml_stream_free(x);
                buf_free(&z.log);
        }
}

/* The tree parser's limits hold for the stream, a handler's error stops it and is returned,
 * and a document cut short is malformed. */
static void test_stream_limits_and_errors(void **state)
{
        struct buf deep = BUF_INIT(1 << 20);
        struct error err = ERROR_INIT;
        struct seen z = { .log = BUF_INIT(1 << 20), .stop_at = 2 };
        struct xml_stream *x = NULL;

        for (int i = 0; i < XML_MAX_DEPTH + 1; i++)
                assert_int_equal(buf_puts(&deep, "<d>"), 0);
        assert_int_equal(xml_stream_new(&seen_handler, &z, &x), 0);
        assert_int_equal(xml_stream_feed(x, buf_str(&deep), buf_len(&deep), false, &err), -E2BIG);
        assert_int_equal(xml_stream_feed(x, "</d>", 4, true, &err), -E2BIG);   /* stays failed */
        xml_stream_free(x);

        buf_truncate(&z.log, 0);
        assert_int_equal(xml_stream_new(&seen_handler, &z, &x), 0);
        assert_int_equal(xml_stream_feed(x, "<a><b/><c/><d/></a>", 19, true, &err), -ECANCELED);
        assert_string_equal(buf_str(&z.log), "<a@0<b@1>b@1[]<c@1");
        xml_stream_free(x);

        assert_int_equal(xml_stream_new(&seen_handler, &z, &x), 0);
        assert_int_equal(xml_stream_feed(x, "<a><b>", 6, true, &err), -EBADMSG);
        xml_stream_free(x);
        assert_int_equal(xml_stream_new(&seen_handler, &z, &x), 0);
        assert_int_equal(xml_stream_feed(x, "", 0, true, &err), -EBADMSG);
        xml_stream_free(x);
        xml_stream_free(NULL);
        buf_free(&z.log);
        buf_free(&deep);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_describe_snapshots_response),
                cmocka_unit_test(test_many_names_and_mixed_text),
                cmocka_unit_test(test_prefixes_entities_cdata),
                cmocka_unit_test(test_billion_laughs_refused),
                cmocka_unit_test(test_external_entity_refused),
                cmocka_unit_test(test_truncated_is_bad_message),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_node_limit),
                cmocka_unit_test(test_stream_events_in_any_pieces),
                cmocka_unit_test(test_stream_limits_and_errors),
                cmocka_unit_test(test_text_limit),
        };
        return cmocka_run_group_tests_name("xml", tests, NULL, NULL);
}
