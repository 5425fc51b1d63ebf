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
if HAVE_CMOCKA
check_PROGRAMS += tests/test_translate tests/test_env
TESTS += tests/test_translate tests/test_env
tests_test_translate_SOURCES = tests/test_translate.c
tests_test_translate_CFLAGS = $(TEST_CFLAGS)
tests_test_translate_LDADD = $(TEST_LIBS)
tests_test_env_SOURCES = tests/test_env.c
tests_test_env_CFLAGS = $(TEST_CFLAGS)
tests_test_env_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/data/plan/gqa-tp2.yaml tests/data/plan/dense-graphs.yaml \
	tests/golden/builtin-1x8.args tests/golden/nam56r-2x8.args \
	tests/golden/gqa-tp2-1x8.args tests/golden/dense-graphs-1x8.args
# The plan and validate commands end to end (exit codes, messages, JSON).
TESTS += tests/plan-cli.sh
EXTRA_DIST += tests/plan-cli.sh tests/data/plan/require-tp-island.yaml
