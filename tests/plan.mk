# tests/plan.mk: owned by the plan work; included by tests/Makefile.inc
