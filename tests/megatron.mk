# tests/megatron.mk: the Megatron conformance harness (tests/megatron/README)
noinst_PROGRAMS += tests/megatron/n56-args
tests_megatron_n56_args_SOURCES = tests/megatron/n56-args.c
tests_megatron_n56_args_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(YAML_CFLAGS)
tests_megatron_n56_args_LDADD = libn56policy.la $(JANSSON_LIBS) $(YAML_LIBS) $(NETTLE_LIBS) -lm
EXTRA_DIST += tests/megatron/README tests/megatron/judge.py \
	tests/megatron/corpus.py tests/megatron/compare.py \
	tests/megatron/conformance.sh tests/megatron/run-judge.sh \
	tests/megatron/exceptions.txt tests/megatron/node-cudnn.yaml
# The whole corpus against Megatron (needs the chroot and Megatron-LM).
check-megatron: tests/megatron/n56-args
	$(SHELL) $(top_srcdir)/tests/megatron/conformance.sh $(abs_top_builddir)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_megatron_args
TESTS += tests/test_megatron_args
tests_test_megatron_args_SOURCES = tests/test_megatron_args.c
tests_test_megatron_args_CFLAGS = $(TEST_CFLAGS)
tests_test_megatron_args_LDADD = $(TEST_LIBS)
endif
EXTRA_DIST += tests/megatron/flags.py
