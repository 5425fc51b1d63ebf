# tests/topology.mk: owned by the topology work; included by tests/Makefile.inc
