# tests/spank.mk: the SPANK plugin's tests, included by tests/Makefile.inc.
# The integration harness (tests/cluster, tests/integration) runs a real local
# Slurm cluster; `tests/integration/run.sh BUILDDIR` is its entry point.

# The stand-in training runtime: writes its argv and env for the tests to read.
noinst_PROGRAMS += tests/n56-echo-runtime
tests_n56_echo_runtime_SOURCES = tests/n56-echo-runtime.c

EXTRA_DIST += tests/cluster tests/integration bench/bench_srun.sh \
	bench/bench_exec.sh
# The plugin's pure logic (spank work): plugstack args, record, base64,
# the request seen at submission, ARGS contradictions.
if HAVE_CMOCKA
check_PROGRAMS += tests/test_spank_args
TESTS += tests/test_spank_args
tests_test_spank_args_SOURCES = tests/test_spank_args.c
tests_test_spank_args_CFLAGS = $(TEST_CFLAGS)
tests_test_spank_args_LDADD = libn56spank.la libn56job.la $(TEST_LIBS)
endif
# The exec wrapper in a fake job step (spank work): env, argv, exit codes.
TESTS += tests/exec-cli.sh
EXTRA_DIST += tests/exec-cli.sh
