# tests/fuzz.mk: owned by the fuzz work; included by tests/Makefile.inc
