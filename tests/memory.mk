# tests/memory.mk: the GPU memory model (policy/memory.c)
if HAVE_CMOCKA
check_PROGRAMS += tests/test_memory
TESTS += tests/test_memory
tests_test_memory_SOURCES = tests/test_memory.c
tests_test_memory_CFLAGS = $(TEST_CFLAGS)
tests_test_memory_LDADD = $(TEST_LIBS)
endif
# Predicted memory against Megatron's own estimator (skips without it).
TESTS += tests/memory-megatron.sh tests/memory-cli.sh tests/memory-saved.sh
EXTRA_DIST += tests/memory-megatron.sh tests/memory-cli.sh tests/memory-saved.sh \
	tests/memory/saved_bytes.py tests/memory/run-saved.sh tests/memory/compare_saved.py tests/memory/megatron_estimate.py \
	tests/memory/compare_megatron.py tests/memory/cases.txt \
	tests/memory/gpu-cases.sh tests/memory/compare_gpu.py
