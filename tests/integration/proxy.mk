# GSS-Proxy service tests (issue 5): the RPC layer, the kernel nfsd accept path, Debian's
# interposer. Included from tests/integration/Makefile.inc.
GP_INTEGRATION_TESTS = \
	tests/integration/t_gp_rpc.sh \
	tests/integration/t_gp_kernel.sh \
	tests/integration/t_gp_interposer.sh \
	tests/integration/t_gp_kcm.sh \
	tests/integration/t_gp_impersonate.sh \
	tests/integration/t_gp_cli.sh \
	tests/integration/t_gp_program.sh \
	tests/integration/t_gp_s4u2proxy.sh \
	tests/integration/t_gp_tickets.sh

TESTS += $(GP_INTEGRATION_TESTS)
EXTRA_DIST += $(GP_INTEGRATION_TESTS) \
	tests/integration/gp_lib.sh \
	tests/integration/gpkernel.py \
	tests/integration/gpcred.py \
	tests/integration/gpinit.py \
	tests/integration/gprpc.py

check_PROGRAMS += tests/integration/helpers/gp_pair
tests_integration_helpers_gp_pair_SOURCES = tests/integration/helpers/gp_pair.c
tests_integration_helpers_gp_pair_CFLAGS = $(AM_CFLAGS) $(GSSAPI_CFLAGS)
tests_integration_helpers_gp_pair_LDADD = $(GSSAPI_LIBS)

# Unit tests of the pure parts (record marking, RPC header, gssproxy.conf reader).
check_PROGRAMS += tests/proxy/test_gp
TESTS += tests/proxy/test_gp
tests_proxy_test_gp_SOURCES = tests/proxy/test_gp.c tests/proxy/gp_check.h
tests_proxy_test_gp_CFLAGS = $(AM_CFLAGS) $(TALLOC_CFLAGS) $(KRB5_CFLAGS) $(GSSAPI_CFLAGS) \
	$(TIRPC_CFLAGS)
tests_proxy_test_gp_LDADD = libcachet_core.la

# Kept initiator tickets (gp_tkt_cache.c): synthetic credentials, no KDC.
check_PROGRAMS += tests/proxy/test_gp_tkt
TESTS += tests/proxy/test_gp_tkt
tests_proxy_test_gp_tkt_SOURCES = tests/proxy/test_gp_tkt.c tests/proxy/gp_check.h
tests_proxy_test_gp_tkt_CFLAGS = $(AM_CFLAGS) $(TALLOC_CFLAGS) $(KRB5_CFLAGS) $(GSSAPI_CFLAGS) \
	$(TIRPC_CFLAGS)
tests_proxy_test_gp_tkt_LDADD = libcachet_core.la
