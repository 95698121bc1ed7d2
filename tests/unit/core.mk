# Unit tests of the core modules (cmocka).
core_unit_tests = tests/unit/test_buf
check_PROGRAMS += $(core_unit_tests)
TESTS += $(core_unit_tests)

tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(TEST_LDADD)
