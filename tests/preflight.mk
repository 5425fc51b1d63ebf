# tests/preflight.mk: owned by the preflight work; included by tests/Makefile.inc
# The preflight's judging, without a GPU: groups, thresholds, reports.
if HAVE_CMOCKA
check_PROGRAMS += tests/test_preflight
TESTS += tests/test_preflight
tests_test_preflight_SOURCES = tests/test_preflight.c
tests_test_preflight_CFLAGS = $(TEST_CFLAGS)
tests_test_preflight_LDADD = libn56preflight.la $(TEST_LIBS)
endif
# nam56r-launch local and the preflight's usage, without GPUs.
TESTS += tests/local-cli.sh
EXTRA_DIST += tests/local-cli.sh
