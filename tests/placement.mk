# tests/placement.mk: owned by the placement work; included by tests/Makefile.inc
