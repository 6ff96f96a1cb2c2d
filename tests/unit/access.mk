# unit tests of the session-scope policy, session registry, boot-id discard and control codec
if HAVE_CMOCKA
ACCESS_UNIT_TESTS = tests/unit/test_access_session
check_PROGRAMS += $(ACCESS_UNIT_TESTS)
TESTS += $(ACCESS_UNIT_TESTS)

tests_unit_test_access_session_SOURCES = tests/unit/test_access_session.c tests/unit/unit_common.h
tests_unit_test_access_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_access_session_LDADD = $(UNIT_LIBS)
endif
