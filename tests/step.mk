# tests/step.mk: the step core (step/core.c), included by tests/Makefile.inc
if HAVE_CMOCKA
check_PROGRAMS += tests/test_step
TESTS += tests/test_step
tests_test_step_SOURCES = tests/test_step.c
tests_test_step_CFLAGS = $(TEST_CFLAGS)
tests_test_step_LDADD = libn56step.la libn56spank.la $(TEST_LIBS)
endif
