# tests/parse.mk: the recipe and site-policy parsers (policy/recipe.c,
# policy/site.c, policy/yamlutil.c, policy/fileio.c)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_recipe_parse tests/test_policy_parse
TESTS += tests/test_recipe_parse tests/test_policy_parse
tests_test_recipe_parse_SOURCES = tests/test_recipe_parse.c
tests_test_recipe_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_recipe_parse_LDADD = $(TEST_LIBS)
tests_test_policy_parse_SOURCES = tests/test_policy_parse.c
tests_test_policy_parse_CFLAGS = $(TEST_CFLAGS)
tests_test_policy_parse_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/data/parse
