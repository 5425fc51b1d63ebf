# tests/megatron.mk: the Megatron conformance harness (tests/megatron/README)
noinst_PROGRAMS += tests/megatron/n56-args
tests_megatron_n56_args_SOURCES = tests/megatron/n56-args.c
tests_megatron_n56_args_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(YAML_CFLAGS)
tests_megatron_n56_args_LDADD = libn56policy.la $(JANSSON_LIBS) $(YAML_LIBS) $(NETTLE_LIBS) -lm
EXTRA_DIST += tests/megatron/README tests/megatron/judge.py
