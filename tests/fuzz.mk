# tests/fuzz.mk: libFuzzer targets for the recipe and policy parsers, the
# native-args check, the host list and the reader of Slurm's block
# topology, built
# with `configure --enable-fuzzers --enable-sanitizers CC=clang`. The parser
# sources are compiled into each target so that libFuzzer's coverage
# instrumentation sees them; run with tests/fuzz/run.sh or `make fuzz`.
FUZZ_PARSER_SOURCES = policy/diag.c policy/yamlutil.c policy/recipe.c \
	policy/site.c policy/fileio.c
if ENABLE_FUZZERS
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
noinst_PROGRAMS += tests/fuzz/fuzz_recipe tests/fuzz/fuzz_policy \
	tests/fuzz/fuzz_args tests/fuzz/fuzz_hostlist \
	tests/fuzz/fuzz_slurmblock
tests_fuzz_fuzz_recipe_SOURCES = tests/fuzz/fuzz_recipe.c \
	$(FUZZ_PARSER_SOURCES)
nodist_tests_fuzz_fuzz_recipe_SOURCES = policy/builtin.c
tests_fuzz_fuzz_recipe_CFLAGS = $(WARN_CFLAGS) $(FUZZ_FLAGS) \
	$(YAML_CFLAGS) $(NETTLE_CFLAGS)
tests_fuzz_fuzz_recipe_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_recipe_LDADD = $(YAML_LIBS) $(NETTLE_LIBS) -lm
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c \
	$(FUZZ_PARSER_SOURCES)
nodist_tests_fuzz_fuzz_policy_SOURCES = policy/builtin.c
tests_fuzz_fuzz_policy_CFLAGS = $(tests_fuzz_fuzz_recipe_CFLAGS)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_policy_LDADD = $(YAML_LIBS) $(NETTLE_LIBS) -lm
tests_fuzz_fuzz_args_SOURCES = tests/fuzz/fuzz_args.c \
	policy/megatron_args.c $(FUZZ_PARSER_SOURCES)
nodist_tests_fuzz_fuzz_args_SOURCES = policy/builtin.c
tests_fuzz_fuzz_args_CFLAGS = $(tests_fuzz_fuzz_recipe_CFLAGS)
tests_fuzz_fuzz_args_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_args_LDADD = $(YAML_LIBS) $(NETTLE_LIBS) -lm
# The host list of the job contract (job/hostlist.c).
tests_fuzz_fuzz_hostlist_SOURCES = tests/fuzz/fuzz_hostlist.c job/hostlist.c
tests_fuzz_fuzz_hostlist_CFLAGS = $(WARN_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_hostlist_LDFLAGS = $(FUZZ_FLAGS)
# The block topology reader is compiled in (instrumented); the hostlist
# matcher and the YAML helpers it calls come from the libraries.
tests_fuzz_fuzz_slurmblock_SOURCES = tests/fuzz/fuzz_slurmblock.c \
	topology/slurmblock.c
tests_fuzz_fuzz_slurmblock_CFLAGS = $(tests_fuzz_fuzz_recipe_CFLAGS) \
	$(HWLOC_CFLAGS)
tests_fuzz_fuzz_slurmblock_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_slurmblock_LDADD = libn56topology.la libn56policy.la \
	$(HWLOC_LIBS) $(YAML_LIBS) $(NETTLE_LIBS) -lm
FUZZ_SECONDS = 60
fuzz: tests/fuzz/fuzz_recipe tests/fuzz/fuzz_policy tests/fuzz/fuzz_args \
	tests/fuzz/fuzz_hostlist tests/fuzz/fuzz_slurmblock
	$(SHELL) $(srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS) $(abs_top_builddir)
.PHONY: fuzz
endif
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run.sh tests/fuzz/yaml.dict \
	tests/fuzz/fuzz_recipe.c tests/fuzz/fuzz_policy.c tests/fuzz/fuzz_args.c \
	tests/fuzz/fuzz_hostlist.c tests/fuzz/hostlist.dict \
	tests/fuzz/fuzz_slurmblock.c
