# tests/plan.mk: owned by the plan work; included by tests/Makefile.inc
if HAVE_CMOCKA
check_PROGRAMS += tests/test_tile
TESTS += tests/test_tile
tests_test_tile_SOURCES = tests/test_tile.c
tests_test_tile_CFLAGS = $(TEST_CFLAGS)
tests_test_tile_LDADD = $(TEST_LIBS)
endif
