# agent/aws: AWS access. HTTP over libcurl, SigV4, XML answers, the retry modes and the adaptive
# rate limiter, IMDSv2, the shared config files (INI), endpoints, the credentials chain (with
# credential_process, container credentials, STS), the session, the Query client and the typed
# EC2, CloudWatch and STS calls, and the instance facts. Sources, unit tests, the stand-in's tests and their tools.
agent_libopsagent_la_SOURCES += \
	agent/aws/sigv4.c agent/aws/sigv4.h \
	agent/aws/http.c agent/aws/http.h \
	agent/aws/xml.c agent/aws/xml.h \
	agent/aws/retry.c agent/aws/retry.h \
	agent/aws/imds.c agent/aws/imds.h \
	agent/aws/shellwords.c agent/aws/shellwords.h \
	agent/aws/inifile.c agent/aws/inifile.h \
	agent/aws/awsconfig.c agent/aws/awsconfig.h \
	agent/aws/endpoints.c agent/aws/endpoints.h \
	agent/aws/ratelimit.c agent/aws/ratelimit.h \
	agent/aws/credprocess.c agent/aws/credprocess.h \
	agent/aws/containercreds.c agent/aws/containercreds.h \
	agent/aws/credentials.c agent/aws/credentials.h \
	agent/aws/session.c agent/aws/session.h \
	agent/aws/sts.c agent/aws/sts.h \
	agent/aws/awserror.c agent/aws/awserror.h \
	agent/aws/call.c agent/aws/call.h \
	agent/aws/query.c agent/aws/query.h \
	agent/aws/awsjson.c agent/aws/awsjson.h \
	agent/aws/s3.c agent/aws/s3.h \
	agent/aws/ec2.c agent/aws/ec2.h \
	agent/aws/cloudwatch.c agent/aws/cloudwatch.h \
	agent/aws/facts.c agent/aws/facts.h

aws_unit_tests = tests/unit/test_sigv4 tests/unit/test_xml tests/unit/test_retry tests/unit/test_credentials \
	tests/unit/test_query tests/unit/test_awsjson tests/unit/test_ec2 tests/unit/test_http tests/unit/test_imds tests/unit/test_facts \
	tests/unit/test_inifile tests/unit/test_awsconfig tests/unit/test_endpoints tests/unit/test_session
check_PROGRAMS += $(aws_unit_tests)
TESTS += $(aws_unit_tests)

tests_unit_test_xml_SOURCES = tests/unit/test_xml.c
tests_unit_test_xml_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_xml_LDADD = $(TEST_LDADD)
tests_unit_test_retry_SOURCES = tests/unit/test_retry.c
tests_unit_test_retry_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_retry_LDADD = $(TEST_LDADD) -lm
tests_unit_test_inifile_SOURCES = tests/unit/test_inifile.c
tests_unit_test_inifile_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_inifile_LDADD = $(TEST_LDADD)
tests_unit_test_awsconfig_SOURCES = tests/unit/test_awsconfig.c
tests_unit_test_awsconfig_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_awsconfig_LDADD = $(TEST_LDADD)
tests_unit_test_endpoints_SOURCES = tests/unit/test_endpoints.c
tests_unit_test_endpoints_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_endpoints_LDADD = $(TEST_LDADD)
tests_unit_test_credentials_SOURCES = tests/unit/test_credentials.c tests/unit/canned_server.h
tests_unit_test_credentials_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_credentials_LDADD = $(TEST_LDADD) -lpthread
tests_unit_test_session_SOURCES = tests/unit/test_session.c
tests_unit_test_session_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_session_LDADD = $(TEST_LDADD)
tests_unit_test_query_SOURCES = tests/unit/test_query.c
tests_unit_test_query_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_query_LDADD = $(TEST_LDADD) $(ZLIB_LIBS) -lm -lpthread
# awsjson talks to the canned loopback server too.
tests_unit_test_awsjson_SOURCES = tests/unit/test_awsjson.c tests/unit/canned_server.h
tests_unit_test_awsjson_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_awsjson_LDADD = $(TEST_LDADD) -lpthread
tests_unit_test_ec2_SOURCES = tests/unit/test_ec2.c
tests_unit_test_ec2_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ec2_LDADD = $(TEST_LDADD)
# http, imds and facts talk to a canned loopback server thread (tests/unit/canned_server.h).
tests_unit_test_http_SOURCES = tests/unit/test_http.c tests/unit/canned_server.h
tests_unit_test_http_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS) -pthread
# not linked with libcurl: the agent loads it on first use, and test_http checks when
tests_unit_test_http_LDADD = $(TEST_LDADD) -lpthread
tests_unit_test_imds_SOURCES = tests/unit/test_imds.c tests/unit/canned_server.h
tests_unit_test_imds_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_imds_LDADD = $(TEST_LDADD) -lpthread
tests_unit_test_facts_SOURCES = tests/unit/test_facts.c tests/unit/canned_server.h
tests_unit_test_facts_CFLAGS = $(TEST_CFLAGS) -pthread
tests_unit_test_facts_LDADD = $(TEST_LDADD) -lpthread

tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sigv4_LDADD = $(TEST_LDADD)

# AWS's SigV4 suite (Apache-2.0, LICENSE and NOTICE inside) and the metadata mock's values.
EXTRA_DIST += tests/data/sigv4 tests/data/imds tests/data/aws

# The local AWS stand-in (moto + a SigV4/model-checking front) and its own tests.
EXTRA_DIST += tests/standin/__init__.py tests/standin/aws_standin.py tests/standin/README.md \
	tests/bench/aws_bench.py tests/fuzz/fuzz_aws_response.c tests/fuzz/aws.dict tests/fuzz/fuzz_inifile.c tests/integration/aws_common.py
aws_integration_tests = tests/integration/test_aws_standin.py tests/integration/test_aws_calls.py \
	tests/integration/test_aws_probe.py tests/integration/test_aws_faults.py tests/integration/test_aws_json.py tests/integration/test_aws_config.py
TESTS += $(aws_integration_tests)
EXTRA_DIST += $(aws_integration_tests)

# A test-only driver of the AWS modules, for the integration tests.
check_PROGRAMS += tests/tools/aws_tool
tests_tools_aws_tool_SOURCES = tests/tools/aws_tool.c
tests_tools_aws_tool_CFLAGS = $(TEST_CFLAGS)
tests_tools_aws_tool_LDADD = $(TEST_LDADD) -lm

# A test-only recipe that calls the ctx->aws ops named in its attributes (integration tests
# add its .libs to OPSAGENT_PLUGIN_PATH themselves: it is not a real recipe).
check_LTLIBRARIES += tests/plugins/aws_probe.la
tests_plugins_aws_probe_la_SOURCES = tests/plugins/aws_probe.c
tests_plugins_aws_probe_la_CFLAGS = $(AM_CFLAGS)
tests_plugins_aws_probe_la_LDFLAGS = -module -rpath /nowhere -avoid-version -shared
tests_plugins_aws_probe_la_LIBADD = $(JSONC_LIBS)
