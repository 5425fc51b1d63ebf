# shellcheck shell=bash disable=SC2154
# Cases of issue 13 (hardening), sourced by tests/integration/run.sh: what a
# user can change stays what the site and the recipe allow, on every rank.
# Each one failed on the code before its fix (see the issue's note).

# 1. A policy the user names inside a job step: refused, nothing runs.
case_user_policy_in_step() {
	local c; c=$(mkcase user_policy_in_step) || return 1
	good_recipe "$c/r.yaml"
	# The site's policy, with any runtime allowed: the plan (and its sha)
	# stays the site's, only the allow list differs.
	sed 's/^  allowed_commands:$/&\n    - "*"/' "$POLICY" >"$c/mine.yaml"
	grep -q '^    - "\*"$' "$c/mine.yaml" ||
		{ fail "the policy has no allowed_commands list to extend"; return 1; }
	printf '#!/bin/sh\ntouch %s/out/evil.$SLURM_PROCID\n' "$c" >"$c/evil.sh"
	chown "$U" "$c/mine.yaml" "$c/evil.sh" && chmod 0755 "$c/evil.sh"
	sed -i "s|--runtime n56-echo-runtime\$|--policy ./mine.yaml --runtime $c/evil.sh|" "$c/job.sh"
	local id
	id=$(submit "$c" --nam56r-recipe=r.yaml) || return 1
	finish_job "$c" "$id" FAILED || return 1
	[ -z "$(ls "$c/out")" ] ||
		{ fail "the user's runtime ran on $(ls "$c/out" | wc -l) ranks"; return 1; }
	grep -q 'nam56r-launch: --policy ./mine.yaml: inside a job step the site policy applies' \
		"$c/slurm-$id.out" ||
		{ fail "no refusal message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	[ "$(job_exit "$id")" = 2:0 ] ||
		{ fail "want exit 2: $(scontrol show job "$id" | grep -o 'ExitCode=[0-9:]*')"; return 1; }
	echo "    job $id FAILED: $(grep -m1 -- '--policy' "$c/slurm-$id.out")"
}

# 2. runtime.extra_args repeating a generated flag: refused at submission,
# as `--flag value` and as `--flag=value`.
mk_extra() { good_recipe "$1" && sed -i "s/^  extra_args: \[\]\$/  extra_args: $2/" "$1"; }
mk_extra_tp() { mk_extra "$1" '["--tensor-model-parallel-size", "8"]'; }
mk_extra_eq() { mk_extra "$1" '["--log-interval", "1", "--micro-batch-size=4"]'; }
case_refuse_extra_args_generated() {
	local l; l=$(line_of "$top/examples/nam56r.yaml" '^  extra_args:')
	refuse_case refuse_extra_args_tp mk_extra_tp \
		"r\.yaml:$l:16: error: runtime\.extra_args: --tensor-model-parallel-size is generated from the recipe \(the plan gives '--tensor-model-parallel-size 1'\)" &&
	refuse_case refuse_extra_args_eq mk_extra_eq \
		"r\.yaml:$l:39: error: runtime\.extra_args: --micro-batch-size is generated from the recipe"
}

# 3. Rank identity, placement and code-loading names from the recipe env:
# refused at submission whatever the policy's deny list says.
mk_env() { good_recipe "$1" && printf '  %s\n' "$2" >>"$1"; }
mk_env_group_rank() { mk_env "$1" 'GROUP_RANK: "1"'; }
mk_env_lws() { mk_env "$1" 'LOCAL_WORLD_SIZE: "1"'; }
mk_env_path() { mk_env "$1" 'PATH: /tmp/evil:/usr/bin:/bin'; }
mk_env_startup() { mk_env "$1" 'PYTHONSTARTUP: /tmp/evil.py'; }
case_refuse_env_computed() {
	local l=$(($(wc -l <"$top/examples/nam56r.yaml") + 1))
	local why='computed for every rank by the plugin'
	local code='it changes which program or code a rank runs; refused unless the site policy lists it in env\.allow'
	refuse_case refuse_env_group_rank mk_env_group_rank "r\.yaml:$l:3: error: env GROUP_RANK: $why" &&
	refuse_case refuse_env_lws mk_env_lws "r\.yaml:$l:3: error: env LOCAL_WORLD_SIZE: $why" &&
	refuse_case refuse_env_path mk_env_path "r\.yaml:$l:3: error: env PATH: $code" &&
	refuse_case refuse_env_startup mk_env_startup "r\.yaml:$l:3: error: env PYTHONSTARTUP: $code"
}

# 8. The pins win also when something between task_init and the wrapper
# changed the env (srun env X=Y nam56r-launch).
case_pinned_env_under_wrapper() {
	local c; c=$(mkcase pinned_env_under_wrapper) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	sed -i 's|^srun  nam56r-launch|srun env CUDA_DEVICE_MAX_CONNECTIONS=8 NCCL_NVLS_ENABLE=1 nam56r-launch|' "$c/job.sh"
	grep -q '^srun env CUDA_DEVICE_MAX_CONNECTIONS=8' "$c/job.sh" ||
		{ fail "job.sh has no 'srun  nam56r-launch' line to change"; return 1; }
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	check_ranks "$c" --env CUDA_DEVICE_MAX_CONNECTIONS=1 \
		--env NCCL_NVLS_ENABLE=0 || return 1
}

HARDENING_CASES="user_policy_in_step refuse_extra_args_generated
refuse_env_computed pinned_env_under_wrapper"
