# fragment for tests/integration: the SESSION ccache type (libcachet-ccache, issue 6).
# Real KDC, real MIT tools through the krb5.conf profile module, real audit sessions
# (/proc/self/loginuid) and session keyrings (keyctl). Tests skip (77) with a reason when
# root, keyctl or a writable loginuid are missing. See tests/integration/t_ccache_lib.sh.
CCACHE_TESTS = \
	tests/integration/t_ccache_tools.sh \
	tests/integration/t_ccache_capability.sh \
	tests/integration/t_ccache_logind.sh \
	tests/integration/t_ccache_failures.sh \
	tests/integration/t_ccache_api.sh \
	tests/integration/t_ccache_valgrind.sh

TESTS += $(CCACHE_TESTS)
EXTRA_DIST += $(CCACHE_TESTS) tests/integration/t_ccache_lib.sh
