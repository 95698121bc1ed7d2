# AWS access (IMDSv2, credentials, SigV4, Query client): sources and tests (issue 3).
agent_libopsagent_la_SOURCES += \
	agent/sigv4.c agent/sigv4.h \
	agent/http.c agent/http.h \
	agent/xml.c agent/xml.h \
	agent/retry.c agent/retry.h \
	agent/imds.c agent/imds.h \
	agent/credentials.c agent/credentials.h \
	agent/aws_session.c agent/aws_session.h \
	agent/query.c agent/query.h \
	agent/ec2.c agent/ec2.h \
	agent/cloudwatch.c agent/cloudwatch.h \
	agent/facts.c agent/facts.h \
	agent/ctx_aws.c

aws_unit_tests = tests/unit/test_sigv4
check_PROGRAMS += $(aws_unit_tests)
TESTS += $(aws_unit_tests)

tests_unit_test_sigv4_SOURCES = tests/unit/test_sigv4.c
tests_unit_test_sigv4_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sigv4_LDADD = $(TEST_LDADD)

# AWS's SigV4 suite (Apache-2.0, LICENSE and NOTICE inside) and the metadata mock's values.
EXTRA_DIST += tests/data/sigv4 tests/data/imds

# The local AWS stand-in (moto + a SigV4/model-checking front) and its own tests.
EXTRA_DIST += tests/standin/__init__.py tests/standin/aws_standin.py
aws_integration_tests = tests/integration/test_aws_standin.py
TESTS += $(aws_integration_tests)
EXTRA_DIST += $(aws_integration_tests)
