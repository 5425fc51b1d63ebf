# tests/spank.mk: owned by the spank work; included by tests/Makefile.inc
