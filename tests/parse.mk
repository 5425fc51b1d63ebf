# tests/parse.mk: owned by the parse work; included by tests/Makefile.inc
