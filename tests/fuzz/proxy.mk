# GSS-Proxy fuzz target (issue 5): record marking, RPC header, XDR decode and dispatch.
# Built only with ./configure --enable-fuzzing CC=clang, like the other targets.
EXTRA_DIST += tests/fuzz/gp-corpus.py
if ENABLE_FUZZING
GP_FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
noinst_PROGRAMS += tests/fuzz/fuzz_gp_rpc
tests_fuzz_fuzz_gp_rpc_SOURCES = tests/fuzz/fuzz_gp_rpc.c
tests_fuzz_fuzz_gp_rpc_CFLAGS = $(AM_CFLAGS) $(TALLOC_CFLAGS) $(GSSAPI_CFLAGS) $(TIRPC_CFLAGS) \
	$(KRB5_CFLAGS) $(GP_FUZZ_SAN)
tests_fuzz_fuzz_gp_rpc_LDFLAGS = $(GP_FUZZ_SAN)
tests_fuzz_fuzz_gp_rpc_LDADD = libcachet_core.la
endif
