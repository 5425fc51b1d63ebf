# tests/layout.mk: owned by the layout work; included by tests/Makefile.inc
# policy/cost.h is the layout's own header (the policy fragment lists the
# shared ones); ship it in the tarball.
EXTRA_DIST += policy/cost.h
if HAVE_CMOCKA
check_PROGRAMS += tests/test_layout tests/test_cost
TESTS += tests/test_layout tests/test_cost
tests_test_layout_SOURCES = tests/test_layout.c
tests_test_layout_CFLAGS = $(TEST_CFLAGS)
tests_test_layout_LDADD = $(TEST_LIBS)
tests_test_cost_SOURCES = tests/test_cost.c
tests_test_cost_CFLAGS = $(TEST_CFLAGS)
tests_test_cost_LDADD = $(TEST_LIBS)
endif
