# tests/hardening.mk: issue 13's unit tests (included by tests/Makefile.inc)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_extra_args
TESTS += tests/test_extra_args
tests_test_extra_args_SOURCES = tests/test_extra_args.c
tests_test_extra_args_CFLAGS = $(TEST_CFLAGS)
tests_test_extra_args_LDADD = $(TEST_LIBS)
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/test_ports
TESTS += tests/test_ports
tests_test_ports_SOURCES = tests/test_ports.c
tests_test_ports_CFLAGS = $(TEST_CFLAGS)
tests_test_ports_LDADD = libn56job.la $(TEST_LIBS)
endif
# What configure's hardening flags left in the plugin and the programs.
TESTS += tests/hardening-flags.sh
EXTRA_DIST += tests/hardening-flags.sh
