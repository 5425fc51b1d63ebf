#!/bin/bash
# A NAM56R training job: 2 nodes x 8 GPUs, one rank per GPU.
#   sbatch --nam56r-recipe=examples/nam56r.yaml examples/train.sh
# The SPANK plugin checks the recipe at submission and sets every rank's
# environment (rank identity, placement, the site's fixed policy);
# nam56r-launch then execs the runtime with the generated native args.
#SBATCH --job-name=nam56r
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=8
#SBATCH --gpus-per-node=8
#SBATCH --output=nam56r-%j.out
#
# The runtime: n56-echo-runtime (the project's stand-in, which writes each
# rank's argv and env to $N56_ECHO_DIR/<host>.<rank>.txt) unless
# NAM56R_RUNTIME names another command; NAM56R_RUNTIME= (set, empty) runs the
# recipe's own runtime.command (python3 pretrain_hybrid.py ...). Either must
# be allowed by the site policy's runtime.allowed_commands.
set -eu
runtime=${NAM56R_RUNTIME-n56-echo-runtime}
if [ "$runtime" = n56-echo-runtime ]; then
	export N56_ECHO_DIR=${N56_ECHO_DIR:-$PWD/nam56r-ranks-$SLURM_JOB_ID}
	mkdir -p "$N56_ECHO_DIR"
fi
echo "job $SLURM_JOB_ID on $SLURM_JOB_NODELIST: $SLURM_NTASKS ranks, runtime ${runtime:-from the recipe}"
srun nam56r-launch ${runtime:+--runtime "$runtime"}
