# tests/placement.mk: owned by the placement work; included by tests/Makefile.inc
if HAVE_CMOCKA
check_PROGRAMS += tests/test_placement tests/test_rankenv
TESTS += tests/test_placement tests/test_rankenv
tests_test_placement_SOURCES = tests/test_placement.c wrapper/picture.c
tests_test_placement_CFLAGS = $(TEST_CFLAGS)
tests_test_placement_LDADD = $(TEST_LIBS)
tests_test_rankenv_SOURCES = tests/test_rankenv.c
tests_test_rankenv_CFLAGS = $(TEST_CFLAGS)
tests_test_rankenv_LDADD = $(TEST_LIBS)
endif
