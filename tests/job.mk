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
# The host list against libslurm's own on a corpus of lists; without
# libslurm (configure says so) it reports SKIP and exits 77.
if HAVE_CMOCKA
check_PROGRAMS += tests/test_hostlist_slurm
TESTS += tests/test_hostlist_slurm
tests_test_hostlist_slurm_SOURCES = tests/test_hostlist_slurm.c
tests_test_hostlist_slurm_CPPFLAGS = $(AM_CPPFLAGS) $(SLURM_CPPFLAGS)
tests_test_hostlist_slurm_CFLAGS = $(TEST_CFLAGS)
tests_test_hostlist_slurm_LDADD = libn56job.la $(CMOCKA_LIBS) $(SLURM_LIBS)
endif
