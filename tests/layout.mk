# tests/layout.mk: owned by the layout work; included by tests/Makefile.inc
