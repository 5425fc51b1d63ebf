# tests/plan.mk: owned by the plan work; included by tests/Makefile.inc
if HAVE_CMOCKA
check_PROGRAMS += tests/test_tile
TESTS += tests/test_tile
tests_test_tile_SOURCES = tests/test_tile.c
tests_test_tile_CFLAGS = $(TEST_CFLAGS)
tests_test_tile_LDADD = $(TEST_LIBS)
endif
if HAVE_CMOCKA
check_PROGRAMS += tests/test_validate
TESTS += tests/test_validate
tests_test_validate_SOURCES = tests/test_validate.c
tests_test_validate_CFLAGS = $(TEST_CFLAGS)
tests_test_validate_LDADD = $(TEST_LIBS)
endif
