# tests/topology.mk: owned by the topology work; included by tests/Makefile.inc
# topology/bind.h is not in libn56topology's source list: ship it here.
EXTRA_DIST += topology/bind.h
# Topologies the tests generate (BUILDDIR/tests/data/topology).
CLEANFILES += tests/data/topology/*.xml tests/data/topology/*.tmp*
if HAVE_CMOCKA
# A stand-in libnvidia-ml.so.1 that test_topology dlopen()s.
check_LTLIBRARIES += tests/fake_nvml/libfakenvml.la
tests_fake_nvml_libfakenvml_la_SOURCES = tests/fake_nvml/fake_nvml.c
tests_fake_nvml_libfakenvml_la_CFLAGS = $(AM_CFLAGS)
tests_fake_nvml_libfakenvml_la_LDFLAGS = -module -avoid-version -shared \
	-rpath /nowhere
check_PROGRAMS += tests/test_topology
TESTS += tests/test_topology
tests_test_topology_SOURCES = tests/test_topology.c
tests_test_topology_CFLAGS = $(TEST_CFLAGS)
tests_test_topology_LDADD = $(TEST_LIBS)
check_PROGRAMS += tests/test_bind
TESTS += tests/test_bind
tests_test_bind_SOURCES = tests/test_bind.c
tests_test_bind_CFLAGS = $(TEST_CFLAGS)
tests_test_bind_LDADD = $(TEST_LIBS)
endif
# The topology command end to end (exit codes, messages, JSON, fixtures).
TESTS += tests/topology-cli.sh
EXTRA_DIST += tests/topology-cli.sh tests/data/hwloc
# The node homogeneity check (topology/homog.c), end to end on generated
# topologies, the fake NVML, the node cache and the shared fixtures.
if HAVE_CMOCKA
check_PROGRAMS += tests/test_homog
TESTS += tests/test_homog
tests_test_homog_SOURCES = tests/test_homog.c
tests_test_homog_CFLAGS = $(TEST_CFLAGS)
tests_test_homog_LDADD = $(TEST_LIBS)
endif
# The homogeneity check in the exec wrapper without the plugin.
TESTS += tests/homog-cli.sh
EXTRA_DIST += tests/homog-cli.sh
# Slurm's block topology as an island source (topology/slurmblock.c).
if HAVE_CMOCKA
check_PROGRAMS += tests/test_slurmblock
TESTS += tests/test_slurmblock
tests_test_slurmblock_SOURCES = tests/test_slurmblock.c
tests_test_slurmblock_CFLAGS = $(TEST_CFLAGS)
tests_test_slurmblock_LDADD = $(TEST_LIBS)
endif
# plan --nodelist, validate and topology with island_source slurm-block.
TESTS += tests/block-cli.sh
EXTRA_DIST += tests/block-cli.sh
