/* facts: with metadata disabled, only what the environment and attributes tell; from IMDS the
 * identity document, hostname, block devices and user-data. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canned_server.h"
#include "aws/facts.h"

static void test_disabled_uses_environment_and_attributes(void **state)
{
        json_object *attrs = json_tokener_parse("{\"aws\": {\"region\": \"eu-west-1\", \"instance_id\": \"i-0abc\"}}");
        json_object *facts = NULL;
        struct error err = ERROR_INIT;
        char *ud = (char *)"unchanged";

        setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
        setenv("AWS_REGION", "us-west-2", 1);
        assert_int_equal(instance_facts_load(attrs, &facts, &ud, &err), 0);
        assert_null(ud);
        assert_string_equal(json_object_to_json_string_ext(facts, JSON_C_TO_STRING_PLAIN),
                            "{\"region\":\"us-west-2\",\"id\":\"i-0abc\"}");
        json_object_put(facts);
        unsetenv("AWS_REGION");
        assert_int_equal(instance_facts_load(attrs, &facts, &ud, &err), 0);
        assert_string_equal(json_object_get_string(json_object_object_get(facts, "region")), "eu-west-1");
        json_object_put(facts);
        json_object_put(attrs);
        unsetenv("AWS_EC2_METADATA_DISABLED");
}

#define OK(body) "HTTP/1.1 200 OK\r\nContent-Length: " #body "\r\n\r\n"

static void test_from_imds(void **state)
{
        const char *ident = "{\"accountId\":\"123456789012\",\"availabilityZone\":\"us-east-1a\","
                            "\"instanceId\":\"i-0123\",\"instanceType\":\"m4.xlarge\",\"region\":\"us-east-1\"}";
        char r_ident[512];
        const char *responses[8];
        json_object *attrs = json_object_new_object(), *facts = NULL, *bd;
        struct canned_server srv;
        struct error err = ERROR_INIT;
        char ep[64], *ud = NULL;

        snprintf(r_ident, sizeof(r_ident), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(ident), ident);
        responses[0] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nTOKEN";
        responses[1] = r_ident;
        responses[2] = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nip-10-0-0-1\n";
        responses[3] = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nami\nebs1";
        responses[4] = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n/dev/sda1";
        responses[5] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nsdf";
        responses[6] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\": {}}\n";
        assert_int_equal(canned_start(&srv, responses, 7), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", srv.port);
        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
        unsetenv("AWS_EC2_METADATA_DISABLED");
        assert_int_equal(instance_facts_load(attrs, &facts, &ud, &err), 0);
        assert_string_equal(json_object_get_string(json_object_object_get(facts, "id")), "i-0123");
        assert_string_equal(json_object_get_string(json_object_object_get(facts, "account_id")), "123456789012");
        assert_string_equal(json_object_get_string(json_object_object_get(facts, "availability_zone")), "us-east-1a");
        assert_string_equal(json_object_get_string(json_object_object_get(facts, "hostname")), "ip-10-0-0-1");
        bd = json_object_object_get(facts, "block_devices");
        assert_string_equal(json_object_get_string(json_object_object_get(bd, "ami")), "/dev/sda1");
        assert_string_equal(json_object_get_string(json_object_object_get(bd, "ebs1")), "sdf");
        assert_string_equal(ud, "{\"a\": {}}\n");
        free(ud);
        json_object_put(facts);
        json_object_put(attrs);
        canned_stop(&srv);
        canned_free(&srv);
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

static void test_off_ec2(void **state)
{
        json_object *attrs = json_object_new_object(), *facts = NULL;
        struct error err = ERROR_INIT;
        char *ud = NULL;

        setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
        assert_true(instance_facts_load(attrs, &facts, &ud, &err) < 0);
        assert_null(facts);
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_SERVICE_ENDPOINT"));
        assert_non_null(strstr(err.msg, "AWS_EC2_METADATA_DISABLED"));
        assert_null(strchr(err.msg, '\n'));
        json_object_put(attrs);
        unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

/* The identity document alone: its strings become facts; what is missing or not a string is
 * left out; anything but a JSON object is refused. */
static void test_identity_document(void **state)
{
        json_object *facts = json_object_new_object();
        struct error err = ERROR_INIT;

        assert_int_equal(instance_facts_from_identity("{\"instanceId\": \"i-0abc\", \"region\": \"eu-west-1\", "
                                                      "\"accountId\": 123, \"instanceType\": \"t3.micro\"}",
                                                      facts, &err), 0);
        assert_string_equal(json_object_to_json_string_ext(facts, JSON_C_TO_STRING_PLAIN),
                            "{\"id\":\"i-0abc\",\"region\":\"eu-west-1\",\"instance_type\":\"t3.micro\"}");
        json_object_put(facts);
        facts = json_object_new_object();
        assert_int_equal(instance_facts_from_identity("[\"i-0abc\"]", facts, &err), -EBADMSG);
        assert_non_null(strstr(err.msg, "identity document"));
        assert_int_equal(json_object_object_length(facts), 0);
        assert_int_equal(instance_facts_from_identity("{\"instanceId\": ", facts, &err), -EBADMSG);
        json_object_put(facts);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_disabled_uses_environment_and_attributes),
                cmocka_unit_test(test_from_imds),
                cmocka_unit_test(test_off_ec2),
                cmocka_unit_test(test_identity_document),
        };
        return cmocka_run_group_tests_name("facts", tests, NULL, NULL);
}
