# unit tests of the sqlite backend (src/store/store_sqlite.c, store_crypt.c)
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_store_sqlite
TESTS += tests/unit/test_store_sqlite
tests_unit_test_store_sqlite_SOURCES = tests/unit/test_store_sqlite.c
tests_unit_test_store_sqlite_CFLAGS = $(UNIT_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_sqlite_LDADD = $(UNIT_LIBS)
endif
# The v0 and v1 fixtures, their keys and how to regenerate them (tests/data/make-store.sh 0|1).
EXTRA_DIST += tests/data/store-v0.sqlite tests/data/store-v0.key \
	tests/data/make-store.sh tests/data/make-store-v0.c \
	tests/data/store-v1.sqlite tests/data/store-v1.key \
	tests/data/make-store-v1.c tests/data/make-store-common.h
