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
# `nam56r-launch placement` end to end, with a stand-in libslurm (built
# against slurm.h) that answers from the environment.
if HAVE_LIBSLURM
check_LTLIBRARIES += tests/fake_slurm/libfakeslurm.la
tests_fake_slurm_libfakeslurm_la_SOURCES = tests/fake_slurm/fake_slurm.c
tests_fake_slurm_libfakeslurm_la_CPPFLAGS = $(AM_CPPFLAGS) $(SLURM_CPPFLAGS)
tests_fake_slurm_libfakeslurm_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere
endif
TESTS += tests/placement-cli.sh
EXTRA_DIST += tests/placement-cli.sh tests/fake_slurm/fake_slurm.c \
	tests/golden/placement-42.txt tests/golden/placement-42.json \
	tests/golden/placement-43.txt
