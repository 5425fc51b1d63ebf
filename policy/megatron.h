/* The Megatron-LM whose start-up rules policy/validate.c and the
 * translation follow. Moving to a newer Megatron is a change here, the
 * rules that changed, and a rerun of the conformance corpus
 * (tests/megatron/README, `make check-megatron`). */
#ifndef NAM56R_MEGATRON_H
#define NAM56R_MEGATRON_H

#define N56_MEGATRON_COMMIT "d98e8a64ddf34856e74b24714e3bedb2f5a39553"
#define N56_MEGATRON_DATE "2026-08-22"
/* Transformer Engine pinned in that commit's lock file: what a node needs
 * for Megatron's default transformer implementation. */
#define N56_MEGATRON_TE_VERSION "2.17.1"

#endif
