# fragment for tests/integration: login-session scope (issue 4), logind wipes, cachetctl.
# Real audit sessions (t_newsession writes /proc/self/loginuid), a private dbus-daemon with
# python3-dbusmock's logind template, the real MIT tools.
SESSION_TESTS = \
	tests/integration/t_session_isolation.sh \
	tests/integration/t_session_unsessioned.sh \
	tests/integration/t_session_helper.sh \
	tests/integration/t_session_boot.sh \
	tests/integration/t_logind.sh \
	tests/integration/t_cachetctl.sh

TESTS += $(SESSION_TESTS)
EXTRA_DIST += $(SESSION_TESTS) tests/integration/session_lib.sh tests/integration/logind_mock.py \
	tests/integration/logind_lib.sh

check_PROGRAMS += tests/integration/helpers/t_newsession
tests_integration_helpers_t_newsession_SOURCES = tests/integration/helpers/t_newsession.c
