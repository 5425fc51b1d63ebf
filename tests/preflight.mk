# tests/preflight.mk: owned by the preflight work; included by tests/Makefile.inc
