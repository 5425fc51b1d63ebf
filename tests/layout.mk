# tests/layout.mk: owned by the layout work; included by tests/Makefile.inc
# policy/cost.h is the layout's own header (the policy fragment lists the
# shared ones); ship it in the tarball.
EXTRA_DIST += policy/cost.h
