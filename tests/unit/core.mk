# unit tests of codec, store, ops, access, secmem, config
if HAVE_CMOCKA
CORE_UNIT_TESTS = \
	tests/unit/test_codec \
	tests/unit/test_store \
	tests/unit/test_ops \
	tests/unit/test_kcm_srv \
	tests/unit/test_access \
	tests/unit/test_secmem \
	tests/unit/test_config
check_PROGRAMS += $(CORE_UNIT_TESTS)
TESTS += $(CORE_UNIT_TESTS)

tests_unit_test_codec_SOURCES = tests/unit/test_codec.c tests/unit/unit_common.h
tests_unit_test_codec_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_codec_LDADD = $(UNIT_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/unit_common.h
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LIBS)

tests_unit_test_ops_SOURCES = tests/unit/test_ops.c tests/unit/unit_common.h tests/unit/unit_kcm.h
tests_unit_test_ops_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ops_LDADD = $(UNIT_LIBS)

tests_unit_test_kcm_srv_SOURCES = tests/unit/test_kcm_srv.c tests/unit/unit_common.h \
	tests/unit/unit_kcm.h
tests_unit_test_kcm_srv_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_kcm_srv_LDADD = $(UNIT_LIBS)

tests_unit_test_access_SOURCES = tests/unit/test_access.c tests/unit/unit_common.h
tests_unit_test_access_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_access_LDADD = $(UNIT_LIBS)

tests_unit_test_secmem_SOURCES = tests/unit/test_secmem.c tests/unit/unit_common.h
tests_unit_test_secmem_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_secmem_LDADD = $(UNIT_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/unit_common.h
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LIBS)
endif
EXTRA_DIST += tests/data/kcm tests/tools/kcm-capture.py tests/tools/capture-golden.sh \
	tests/tools/select-golden.py tests/tools/make-fuzz-corpus.py
