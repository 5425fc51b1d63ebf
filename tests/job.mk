# tests/job.mk: the job contract (job/), included by tests/Makefile.inc.
# The host list: names, order, count, match and every refusal's message.
if HAVE_CMOCKA
check_PROGRAMS += tests/test_hostlist
TESTS += tests/test_hostlist
tests_test_hostlist_SOURCES = tests/test_hostlist.c
tests_test_hostlist_CFLAGS = $(TEST_CFLAGS)
tests_test_hostlist_LDADD = libn56job.la $(CMOCKA_LIBS)
endif
# The contract's names are spelled only in job/n56job.h.
TESTS += tests/contract-names.sh
EXTRA_DIST += tests/contract-names.sh
