# shellcheck shell=bash disable=SC2154
# Cases of the GPU memory fit at submission (issue 15), sourced by
# tests/integration/run.sh: sbatch refuses a job whose worst pipeline rank
# the memory model (nam56r.yaml(5), MEMORY) puts over the capacity less the
# headroom, with the capacity of the partition the job asks for.

# mem_policy LINES: the site policy with a memory section of these lines
# (printf %b); mem_policy_restore puts the policy back, owner and mode too.
mem_policy() {
	cp "$POLICY" "$D/etc/policy.mem" &&
		printf '\nmemory:\n%b' "$1" >>"$POLICY"
}
mem_policy_restore() {
	[ -f "$D/etc/policy.mem" ] && cat "$D/etc/policy.mem" >"$POLICY" &&
		rm -f "$D/etc/policy.mem"
	policy_restore
}

# mem_sbatch DIR [NAME=VALUE...] -- [SBATCH-ARGS...]: sbatch of 2 x 8 with
# --nam56r-recipe=r.yaml as the user, the NAME=VALUE in its environment;
# sets MEM_OUT (stdout and stderr) and MEM_RC.
mem_sbatch() {
	local c=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	MEM_OUT=$(as_user "$c" env "${envs[@]}" sbatch --parsable -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" "$@" \
		--nam56r-recipe=r.yaml job.sh 2>&1)
	MEM_RC=$?
}

# mem_refused DIR REGEX [NAME=VALUE...] -- [SBATCH-ARGS...]: sbatch exits
# 255 (Slurm exits -1 when a SPANK option callback fails), prints a line
# matching REGEX and the refusal, and nothing is queued.
mem_refused() {
	local c=$1 regex=$2
	shift 2
	mem_sbatch "$c" "$@"
	echo "$MEM_OUT" >>"$c/sbatch.out"
	[ "$MEM_RC" = 255 ] ||
		{ fail "sbatch ($*) exited $MEM_RC, want 255: $MEM_OUT"; return 1; }
	echo "$MEM_OUT" | grep -Eq -- "$regex" ||
		{ fail "sbatch ($*) said: $MEM_OUT"; fail "want a line matching: $regex"; return 1; }
	echo "$MEM_OUT" | grep -qx 'nam56r: r\.yaml: refused (1 error); nothing was submitted' ||
		{ fail "sbatch ($*): no refusal line: $MEM_OUT"; return 1; }
	queue_empty || return 1
	echo "    sbatch ($*) exit 255: $(echo "$MEM_OUT" | grep -m1 -o 'needs .*headroom)')"
}

# The memory message's stable parts: the recipe's micro_batch_size line,
# the pipeline rank with its virtual stage and layers, the peak, the limit
# and where the capacity comes from (LIMIT, a regex), the largest terms
# with the microbatches in flight, then REST.
mem_regex() { # LIMIT REST
	printf '%s' "^nam56r: r\\.yaml:$(line_of "$top/examples/nam56r.yaml" 'micro_batch_size:'):[0-9]+: error: GPU memory: pipeline rank 0 \\(virtual stage [0-9]+, layers [0-9]+-[0-9]+ '[AEMR]+'\\) needs [0-9.]+ GB at its peak, more than the $1; largest terms: activations [0-9.]+ GB, [a-z]+ [0-9.]+ GB, [a-z]+ [0-9.]+ GB \\([0-9+]+ microbatches in flight\\); $2"
}

# (a) micro batch 16 and no recompute (global batch 256: 2 microbatches
# on 2 x 8): refused with the rank, its largest terms and what fits (full
# recompute is no fix under the recipe's per-module CUDA graphs); the fix
# applied, the job is accepted and runs.
case_memory_refused_at_sbatch() {
	local c; c=$(mkcase memory_refused_at_sbatch) || return 1
	local rc=0
	good_recipe "$c/r.yaml"
	sed -i 's/^  micro_batch_size: 4$/  micro_batch_size: 16/; s/^  global_batch_size: 64$/  global_batch_size: 256/' "$c/r.yaml"
	{ grep -q '^  micro_batch_size: 16$' "$c/r.yaml" && grep -q '^  global_batch_size: 256$' "$c/r.yaml"; } ||
		{ fail "examples/nam56r.yaml has no 'micro_batch_size: 4' or 'global_batch_size: 64' line"; return 1; }
	grep -q '^ *recompute:' "$c/r.yaml" &&
		{ fail "examples/nam56r.yaml sets memory.recompute; this case wants none"; return 1; }
	# 80 GB: no single change the model tries fits, and it says so.
	mem_policy '  gpu_memory_gb: 80\n' &&
		mem_refused "$c" "$(mem_regex '76\.0 GB limit \(80\.0 GB from the policy less 5% headroom\)' \
			'no change of recompute, micro batch, distributed optimizer, split, tp or pp fits: use more GPUs$')" -- ||
		rc=1
	mem_policy_restore
	[ $rc = 0 ] || return 1
	# 141 GB: refused with the smaller micro batch that fits (the model
	# says 1 today), which the job then takes.
	mem_policy '  gpu_memory_gb: 141\n' &&
		mem_refused "$c" "$(mem_regex '133\.9 GB limit \(141\.0 GB from the policy less 5% headroom\)' \
			'fits with: batch\.micro_batch_size: [0-9]+ \(peak [0-9.]+ GB on pipeline rank [0-9]+\)$')" -- ||
		rc=1
	if [ $rc = 0 ]; then
		local mbs
		mbs=$(echo "$MEM_OUT" | sed -n 's/.*fits with: batch\.micro_batch_size: \([0-9]*\) (peak.*/\1/p')
		sed -i "s/^  micro_batch_size: 16\$/  micro_batch_size: $mbs/" "$c/r.yaml"
		plan_json "$c/r.yaml" "$c/plan.json" &&
			run_job "$c" --nam56r-recipe=r.yaml &&
			check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || rc=1
		[ $rc = 0 ] && echo "    micro batch $mbs under 141 GB: job $JOB COMPLETED, 16 ranks as planned"
	fi
	# The built-in recipe as shipped (the distributed optimizer on) fits
	# 141 GB on 2 x 8: accepted, and it runs.
	if [ $rc = 0 ]; then
		good_recipe "$c/r.yaml"
		plan_json "$c/r.yaml" "$c/plan.json" &&
			run_job "$c" --nam56r-recipe=r.yaml &&
			check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || rc=1
		[ $rc = 0 ] && echo "    the built-in recipe under 141 GB: job $JOB COMPLETED, 16 ranks as planned"
	fi
	mem_policy_restore
	return $rc
}

# (b) The capacity of the partition the job asks for: a small entry for
# the cluster's partition refuses the built-in recipe (125.8 GB at its
# peak on 2 x 8) whether the job names it with -p, --partition= or
# SBATCH_PARTITION, and a list is held to its smallest entry; the same job
# with a larger entry is accepted and runs. The policy gives no default
# gpu_memory_gb: the compute nodes check the step again with the default
# only (spank/remote.c passes no partition), which then says nothing.
case_memory_partition_at_sbatch() {
	local c; c=$(mkcase memory_partition_at_sbatch) || return 1
	local part rc=0 limit advice
	part=$(sinfo -h -o %R | head -1)
	[ -n "$part" ] || { fail "sinfo names no partition"; return 1; }
	good_recipe "$c/r.yaml"
	limit="76\\.0 GB limit \\(80\\.0 GB from the policy partition $part"
	# what fits is case (a)'s matter: here either answer
	advice='(fits with: .*|no change of recompute, micro batch, distributed optimizer, split, tp or pp fits: use more GPUs)$'
	mem_policy "  partitions:\n    $part: 80\n    roomy: 1000\n" || rc=1
	[ $rc = 0 ] && { mem_refused "$c" "$(mem_regex "$limit less 5% headroom\\)" "$advice")" \
		-- -p "$part" || rc=1; }
	[ $rc = 0 ] && { mem_refused "$c" "$(mem_regex "$limit less 5% headroom\\)" "$advice")" \
		-- --partition="$part" || rc=1; }
	[ $rc = 0 ] && { mem_refused "$c" "$(mem_regex "$limit less 5% headroom\\)" "$advice")" \
		SBATCH_PARTITION="$part" -- || rc=1; }
	# roomy does not exist: the plugin refuses before Slurm looks.
	[ $rc = 0 ] && { mem_refused "$c" "$(mem_regex "$limit \\(the smallest of roomy,$part\\) less 5% headroom\\)" "$advice")" \
		-- -p "roomy,$part" || rc=1; }
	mem_policy_restore
	[ $rc = 0 ] || return 1
	mem_policy "  partitions:\n    $part: 1000\n" &&
		plan_json "$c/r.yaml" "$c/plan.json" &&
		run_job "$c" -p "$part" --nam56r-recipe=r.yaml &&
		check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || rc=1
	mem_policy_restore
	[ $rc = 0 ] || return 1
	echo "    -p $part with $part: 1000: job $JOB COMPLETED, 16 ranks as planned"
}

# shellcheck disable=SC2034 # run.sh adds these to ALL_CASES
MEMORY_CASES="memory_refused_at_sbatch memory_partition_at_sbatch"
