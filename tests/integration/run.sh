#!/bin/bash
# End-to-end tests of the SPANK plugin and nam56r-launch on a real local Slurm
# cluster (tests/cluster/cluster.sh: munged, slurmctld, 2 slurmd in network
# namespaces, 8 fake GPUs each). Root only.
#
# Usage: tests/integration/run.sh BUILDDIR [CASE...]
#   BUILDDIR  a configured and built tree: .libs/spank_nam56r.so,
#             nam56r-launch, tests/n56-echo-runtime
#   CASE      run only these cases (default: all; --list prints them)
# Env: N56_KEEP=1 keeps the cluster's state dir (logs) after a pass.
# Prints PASS/FAIL per case, then "N passed, N failed" alone on the last
# line; exit status 0 when every case passed, 1 otherwise, 2 on usage.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$top/tests/integration
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/versions.sh
. "$here/versions.sh"

# ---- cases --------------------------------------------------------------
# Each case returns 0 on success; on failure it prints why (fail) and
# returns 1. The runner then checks that no job is left and that every node
# is still idle (never drained), whatever the case did.

case_srun_hostname() { # the cluster itself: one task per node, as the user
	local out want
	out=$(as_user "$W" srun -N2 --ntasks-per-node=1 hostname 2>&1) ||
		{ fail "srun exited $?: $out"; return 1; }
	if [ "$MODE" = netns ]; then want="n1 n2"; else want="$(hostname) $(hostname)"; fi
	[ "$(echo "$out" | sort | tr '\n' ' ' | sed 's/ $//')" = "$want" ] ||
		{ fail "srun hostname printed '$out', want '$want'"; return 1; }
}

case_batch_ranks() { # argv and per-rank env of all 16 ranks vs the plan
	local c; c=$(mkcase batch_ranks) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
	# The batch script's own task is not a training rank.
	if grep -Eq '^(RANK|NAM56R_TP_RANK|NAM56R_PLAN_SHA256)=' "$c/batch.env"; then
		fail "the batch script got per-rank env: $(grep -E '^(RANK|NAM56R_)' "$c/batch.env" | head -3)"
		return 1
	fi
}

case_pinned_env_wins() { # the site's pinned value beats the user's export
	local c; c=$(mkcase pinned_env_wins) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	run_job "$c" --nam56r-recipe=r.yaml -- \
		CUDA_DEVICE_MAX_CONNECTIONS=8 NCCL_NVLS_ENABLE=1 || return 1
	grep -q '^CUDA_DEVICE_MAX_CONNECTIONS=8$' "$c/batch.env" ||
		{ fail "the user's export did not reach the batch script"; return 1; }
	check_ranks "$c" --env CUDA_DEVICE_MAX_CONNECTIONS=1 \
		--env NCCL_NVLS_ENABLE=0 || return 1
}

recipe_moved_after_submit() { # NAME ACTION: submit held, ACTION the file, release
	local c; c=$(mkcase "$1") || return 1
	local action=$2 sha id
	good_recipe "$c/r.yaml"
	cp "$c/r.yaml" "$c/submitted.yaml"
	sha=$(sha256_of "$c/r.yaml")
	plan_json "$c/submitted.yaml" "$c/plan.json" || return 1
	id=$(submit "$c" -H --nam56r-recipe=r.yaml) || return 1
	case $action in
	change) # other args: a job that read the file again would differ
		sed -i 's/global_batch_size: 64/global_batch_size: 128/' "$c/r.yaml"
		[ "$(sha256_of "$c/r.yaml")" != "$sha" ] ||
			{ fail "the edit did not change the file"; return 1; } ;;
	delete) rm -f "$c/r.yaml" ;;
	esac
	scontrol release "$id" || { fail "scontrol release $id failed"; return 1; }
	finish_job "$c" "$id" COMPLETED || return 1
	check_ranks "$c" --sha256 "$sha" || return 1
	check_record "$id" "$sha" "" || return 1
}
case_recipe_changed_after_submit() { recipe_moved_after_submit recipe_changed change; }
case_recipe_deleted_after_submit() { recipe_moved_after_submit recipe_deleted delete; }

case_export_none() { # sbatch --export=NONE: the content still reaches every rank
	local c; c=$(mkcase export_none) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	# The script exports PATH and N56_ECHO_DIR itself; srun passes them on
	# (the job's SLURM_EXPORT_ENV=NONE would drop them) and nothing else.
	write_job "$c" "--export=PATH,N56_ECHO_DIR"
	run_job "$c" --export=NONE --nam56r-recipe=r.yaml || return 1
	grep -q '^SLURM_SPANK_NAM56R_RECIPE_SHA256=' "$c/batch.env" ||
		{ fail "no carried recipe in the --export=NONE batch env"; return 1; }
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
}

# Bad recipes: refused at submission, non-zero exit, the position of the
# error, nothing queued.
refuse_case() { # NAME MAKE-RECIPE-CMD REGEX
	local c; c=$(mkcase "$1") || return 1
	local make=$2 regex=$3 out rc
	$make "$c/r.yaml" || { fail "could not write the recipe"; return 1; }
	out=$(as_user "$c" sbatch -N2 --ntasks-per-node=8 --gpus-per-node=8 \
		--nam56r-recipe=r.yaml job.sh 2>&1)
	rc=$?
	echo "$out" >"$c/sbatch.out"
	[ $rc != 0 ] || { fail "sbatch accepted the recipe: $out"; return 1; }
	echo "$out" | grep -Eq -- "$regex" ||
		{ fail "sbatch said: $out"; fail "want a line matching: $regex"; return 1; }
	queue_empty || return 1
	echo "    sbatch exit $rc: $(echo "$out" | grep -m1 '^nam56r:')"
}

line_of() { grep -n -m1 -- "$2" "$1" | cut -d: -f1; }
mk_tp3() { good_recipe "$1" && sed -i 's/^  tp: 1$/  tp: 3/' "$1"; }
mk_gbs() { good_recipe "$1" && sed -i 's/global_batch_size: 64/global_batch_size: 65/' "$1"; }
mk_ep5() { good_recipe "$1" && sed -i 's/^  ep: 1$/  ep: 5/' "$1"; }
mk_key() { good_recipe "$1" && sed -i 's/^  hidden_size:/  hiden_size:/' "$1"; }
mk_deny() { good_recipe "$1" && printf '  LD_PRELOAD: /tmp/evil.so\n' >>"$1"; }
mk_data() { install -o "$U" -m 0644 "$top/tests/data/parse/$2.yaml" "$1"; }
mk_tab() { mk_data "$1" tab; }
mk_empty() { mk_data "$1" empty; }
mk_binary() { mk_data "$1" binary; }

case_refuse_tp3() {
	refuse_case refuse_tp3 mk_tp3 \
		"r\.yaml:$(line_of "$top/examples/nam56r.yaml" '^  tp: 1$'):[0-9]+: error: .*tp 3"
}
case_refuse_global_batch() {
	refuse_case refuse_global_batch mk_gbs \
		"r\.yaml:$(line_of "$top/examples/nam56r.yaml" 'global_batch_size:'):[0-9]+: error: .*global batch 65"
}
case_refuse_ep5() {
	refuse_case refuse_ep5 mk_ep5 \
		"r\.yaml:$(line_of "$top/examples/nam56r.yaml" '^  ep: 1$'):[0-9]+: error: .*ep 5"
}
case_refuse_misspelt_key() {
	refuse_case refuse_misspelt_key mk_key \
		"r\.yaml:$(line_of "$top/examples/nam56r.yaml" '^  hidden_size:'):3: error: .*hiden_size"
}
case_refuse_tab() {
	refuse_case refuse_tab mk_tab \
		"r\.yaml:$(grep -n -m1 -P '\t' "$top/tests/data/parse/tab.yaml" | cut -d: -f1):[0-9]+: error: .*tab"
}
case_refuse_empty() { refuse_case refuse_empty mk_empty "r\.yaml(:[0-9]+:[0-9]+)?: error: .*empty"; }
case_refuse_binary() { refuse_case refuse_binary mk_binary "r\.yaml(:[0-9]+:[0-9]+)?: error: .*(binary|text)"; }
case_refuse_missing_file() {
	refuse_case refuse_missing_file "rm -f" "r\.yaml: error: .*No such file"
}
case_refuse_denied_env() {
	refuse_case refuse_denied_env mk_deny \
		"r\.yaml:$(($(wc -l <"$top/examples/nam56r.yaml") + 1)):3: error: .*LD_PRELOAD"
}

# Recipes the submitting user cannot read: refused with the OS's reason.
# The plugin must not read them with root's rights (it runs as the user in
# sbatch; slurmd/slurmstepd never open the user's path at all).
unreadable_case() { # NAME OWNER MODE
	local c; c=$(mkcase "$1") || return 1
	good_recipe "$c/r.yaml"
	chown "$2" "$c/r.yaml" && chmod "$3" "$c/r.yaml"
	local out rc
	out=$(as_user "$c" sbatch -N2 --ntasks-per-node=8 --gpus-per-node=8 \
		--nam56r-recipe=r.yaml job.sh 2>&1)
	rc=$?
	[ $rc != 0 ] || { fail "sbatch accepted an unreadable recipe: $out"; return 1; }
	echo "$out" | grep -Eq 'r\.yaml: error: .*Permission denied' ||
		{ fail "sbatch said: $out"; return 1; }
	queue_empty || return 1
	echo "    sbatch exit $rc: $(echo "$out" | grep -m1 '^nam56r:')"
}
case_recipe_unreadable_by_user() { unreadable_case recipe_unreadable_by_user "$U" 000; }
case_recipe_only_root_can_read() { unreadable_case recipe_only_root_can_read root 0600; }

# A policy file with bad ownership or mode: the plugin refuses to use it.
# At submission the user sees why; on a compute node (the file went bad
# after submission) the job fails from task_init and the node stays up.
policy_broken() { # ACTION: owner|mode|dir
	case $1 in
	owner) chown "$U" "$POLICY" ;;
	mode) chmod 0666 "$POLICY" ;;
	dir) chmod 0777 "${POLICY%/*}" ;; # anyone could replace the file
	esac
}
policy_restore() {
	chown root:root "$POLICY" && chmod 0644 "$POLICY" && chmod 0755 "${POLICY%/*}"
}

policy_submit_case() { # NAME ACTION
	local c; c=$(mkcase "$1") || return 1
	good_recipe "$c/r.yaml"
	policy_broken "$2"
	local out rc
	out=$(as_user "$c" sbatch -N2 --ntasks-per-node=8 --gpus-per-node=8 \
		--nam56r-recipe=r.yaml job.sh 2>&1)
	rc=$?
	policy_restore
	[ $rc != 0 ] || { fail "sbatch accepted a job under a bad policy: $out"; return 1; }
	echo "$out" | grep -q "$POLICY" ||
		{ fail "the message does not name the policy file: $out"; return 1; }
	queue_empty || return 1
	echo "    sbatch exit $rc: $(echo "$out" | grep -m1 "$POLICY")"
}
case_policy_bad_owner() { policy_submit_case policy_bad_owner owner; }
case_policy_writable_by_others() { policy_submit_case policy_writable_by_others mode; }
case_policy_dir_writable_by_others() { policy_submit_case policy_dir_writable_by_others dir; }

case_policy_bad_owner_at_run() {
	local c; c=$(mkcase policy_bad_owner_at_run) || return 1
	good_recipe "$c/r.yaml"
	local id
	id=$(submit "$c" -H --nam56r-recipe=r.yaml) || return 1
	policy_broken owner
	scontrol release "$id"
	finish_job "$c" "$id" FAILED
	local rc=$?
	policy_restore
	[ $rc = 0 ] || return 1
	[ -n "$(ls "$c/out")" ] &&
		{ fail "ranks ran under a bad policy: $(ls "$c/out" | head -3)"; return 1; }
	grep -q "nam56r: .*$POLICY" "$c/slurm-$id.out" ||
		{ fail "the job's output does not say why: $(head -5 "$c/slurm-$id.out")"; return 1; }
	echo "    job $id FAILED: $(grep -m1 "nam56r: .*$POLICY" "$c/slurm-$id.out")"
}

case_record_keeps_comment() { # the record is added, the user's comment kept
	local c; c=$(mkcase record_keeps_comment) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	local note="keep this note; it is the user's"
	run_job "$c" --comment="$note" --nam56r-recipe=r.yaml || return 1
	check_record "$JOB" "$(sha256_of "$c/r.yaml")" "$note" "$c/plan.json" || return 1
}

case_placement_command() { # nam56r-launch placement JOBID rebuilds the table
	local c; c=$(mkcase placement_command) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	as_user "$c" nam56r-launch placement "$JOB" --format json >"$c/placement.json" \
		2>"$c/placement.err" ||
		{ fail "placement $JOB exited $?: $(cat "$c/placement.err")"; return 1; }
	as_user "$c" nam56r-launch placement "$JOB" >"$c/placement.txt" 2>&1 ||
		{ fail "placement $JOB (text) failed: $(cat "$c/placement.txt")"; return 1; }
	python3 - "$c/plan.json" "$c/placement.json" "$c/placement.txt" <<'EOF' || return 1
import json, sys
plan = json.load(open(sys.argv[1]))["placement"]
got = json.load(open(sys.argv[2]))
rows = got["placement"] if isinstance(got, dict) and "placement" in got else got
if not isinstance(rows, list):
    rows = next(v for v in got.values() if isinstance(v, list))
keys = ["rank", "node", "local_rank", "gpu", "island", "tp", "cp", "ep", "dp", "pp"]
bad = []
if len(rows) != len(plan):
    bad.append(f"{len(rows)} rows, the plan has {len(plan)}")
for p, r in zip(plan, rows):
    for k in keys:
        if p.get(k) != r.get(k):
            bad.append(f"rank {p['rank']}: {k} {r.get(k)!r}, plan {p.get(k)!r}")
text = open(sys.argv[3]).read().splitlines()
if sum(1 for l in text if l.split()[:1] and l.split()[0].isdigit()) != len(plan):
    bad.append("the text table does not have one line per rank")
for b in bad[:10]:
    print("    " + b)
sys.exit(1 if bad else 0)
EOF
	# A job without a record: exit 2 with a message.
	local out rc id
	id=$(submit "$c" --wrap=true) || return 1
	finish_job "$c" "$id" COMPLETED || return 1
	out=$(as_user "$c" nam56r-launch placement "$id" 2>&1)
	rc=$?
	[ $rc = 2 ] && echo "$out" | grep -q "$id" ||
		{ fail "placement of a job without record: exit $rc: $out"; return 1; }
}

case_sbatch_directives() { # geometry from #SBATCH lines, as in examples/train.sh
	local c; c=$(mkcase sbatch_directives) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	sed -i "2i #SBATCH --nodes=$NNODES\n#SBATCH --ntasks-per-node=$GPN\n#SBATCH --gpus-per-node=$GPN" "$c/job.sh"
	JOB=$(as_user "$c" sbatch --parsable --nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err") ||
		{ fail "sbatch exited $?: $(cat "$c/sbatch.err")"; return 1; }
	finish_job "$c" "$JOB" COMPLETED || return 1
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
	# A recipe that cannot run on 2 x 8 GPUs: refused at submission even
	# though the geometry is only in the script, or at the latest its tasks
	# fail (never a node).
	mk_tp3 "$c/tp3.yaml"
	local out rc id
	out=$(as_user "$c" sbatch --parsable --nam56r-recipe=tp3.yaml job.sh 2>&1)
	rc=$?
	if [ $rc != 0 ]; then
		echo "$out" | grep -Eq 'tp3\.yaml:[0-9]+:[0-9]+: error: .*tp 3' ||
			{ fail "sbatch said: $out"; return 1; }
		queue_empty || return 1
		echo "    tp 3 with #SBATCH geometry: refused at submission (exit $rc)"
	else
		id=$(echo "$out" | tail -1)
		rm -rf "$c/out"/*
		finish_job "$c" "$id" FAILED || return 1
		grep -Eq 'tp3\.yaml:[0-9]+:[0-9]+: error: .*tp 3|nam56r: .*tp 3' "$c/slurm-$id.out" ||
			{ fail "job $id failed without saying why: $(head -5 "$c/slurm-$id.out")"; return 1; }
		[ -z "$(ls "$c/out")" ] || { fail "ranks of a tp 3 job ran"; return 1; }
		echo "    tp 3 with #SBATCH geometry: accepted by sbatch, job $id FAILED: $(grep -m1 'tp 3' "$c/slurm-$id.out")"
	fi
}

case_srun_direct() { # srun --nam56r-recipe from the login node, no batch script
	local c; c=$(mkcase srun_direct) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	as_user "$c" env N56_ECHO_DIR="$c/out" srun -N"$NNODES" --ntasks-per-node="$GPN" \
		--gpus-per-node="$GPN" --nam56r-recipe=r.yaml \
		nam56r-launch --runtime n56-echo-runtime >"$c/srun.out" 2>&1 ||
		{ fail "srun exited $?: $(head -5 "$c/srun.out")"; return 1; }
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
}

case_user_args() { # ARGS after --: appended, unless they contradict a generated arg
	local c; c=$(mkcase user_args) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	sed -i 's/--runtime n56-echo-runtime$/& -- --log-interval 10/' "$c/job.sh"
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	check_ranks "$c" --append=--log-interval --append=10 || return 1
	local id
	rm -rf "$c/out"/*
	sed -i 's/--log-interval 10$/--micro-batch-size 8/' "$c/job.sh"
	id=$(submit "$c" --nam56r-recipe=r.yaml) || return 1
	finish_job "$c" "$id" FAILED || return 1
	grep -q -- '--micro-batch-size' "$c/slurm-$id.out" &&
		grep -q "contradicts" "$c/slurm-$id.out" ||
		{ fail "no message naming both args: $(head -3 "$c/slurm-$id.out")"; return 1; }
	[ "$(job_exit "$id")" = 2:0 ] ||
		{ fail "want exit 2: $(scontrol show job "$id" | grep -o 'ExitCode=[0-9:]*')"; return 1; }
	[ -z "$(ls "$c/out")" ] || { fail "the runtime ran with contradicting args"; return 1; }
	echo "    job $id FAILED: $(grep -m1 contradicts "$c/slurm-$id.out")"
}

case_runtime_not_allowed() { # a runtime outside runtime.allowed_commands
	local c; c=$(mkcase runtime_not_allowed) || return 1
	good_recipe "$c/r.yaml"
	sed -i 's/--runtime n56-echo-runtime$/--runtime env/' "$c/job.sh"
	local id
	id=$(submit "$c" --nam56r-recipe=r.yaml) || return 1
	finish_job "$c" "$id" FAILED || return 1
	grep -q "runtime 'env' is not allowed" "$c/slurm-$id.out" ||
		{ fail "no refusal message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	echo "    job $id FAILED: $(grep -m1 'not allowed' "$c/slurm-$id.out")"
}

case_runtime_exec_fails() { # an allowed runtime that is not installed: 127
	local c; c=$(mkcase runtime_exec_fails) || return 1
	good_recipe "$c/r.yaml"
	sed -i 's/--runtime n56-echo-runtime$/--runtime nam56r-preflight-absent/' "$c/job.sh"
	# Allowed by a glob only this case adds: the policy keeps its owner/mode.
	sed -i 's/^    - n56-echo-runtime .*/&\n    - "nam56r-preflight-absent"/' "$POLICY"
	local id rc=0
	id=$(submit "$c" --nam56r-recipe=r.yaml) || rc=1
	[ $rc = 0 ] && { finish_job "$c" "$id" FAILED || rc=1; }
	sed -i '/nam56r-preflight-absent/d' "$POLICY"
	[ $rc = 0 ] || return 1
	grep -q 'nam56r-launch: exec nam56r-preflight-absent: No such file' "$c/slurm-$id.out" ||
		{ fail "no exec message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	[ "$(job_exit "$id")" = 127:0 ] ||
		{ fail "want exit 127: $(scontrol show job "$id" | grep -o 'ExitCode=[0-9:]*')"; return 1; }
	echo "    job $id FAILED (127): $(grep -m1 'exec' "$c/slurm-$id.out")"
}

mk_huge() { # a valid recipe over the size the plugin carries
	good_recipe "$1" && awk 'BEGIN { for (i = 0; i < 1500; i++)
		print "# padding padding padding padding padding padding" }' >>"$1"
}
case_refuse_too_large() { refuse_case refuse_too_large mk_huge "r\.yaml.*(bytes|too large)"; }

case_helper_step() { # inside a NAM56R job: helper steps only by name
	local c; c=$(mkcase helper_step) || return 1
	good_recipe "$c/r.yaml"
	cat >"$c/job.sh" <<EOF
#!/bin/bash
export PATH=$BIN:/usr/local/bin:/usr/bin:/bin
srun -N1 -n1 --nam56r-recipe=none hostname >$c/helper.out 2>&1
echo "helper exit \$?"
srun -N1 -n1 hostname >$c/plain.out 2>&1
echo "plain exit \$?"
EOF
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	grep -q '^helper exit 0$' "$c/slurm-$JOB.out" ||
		{ fail "srun --nam56r-recipe=none failed: $(cat "$c/helper.out")"; return 1; }
	grep -q '^plain exit 0$' "$c/slurm-$JOB.out" &&
		{ fail "a plain srun in a NAM56R job ran as a training step"; return 1; }
	grep -q 'nam56r: .*--nam56r-recipe=none' "$c/plain.out" ||
		{ fail "the plain srun failed without saying why: $(head -3 "$c/plain.out")"; return 1; }
	echo "    plain srun in the job: $(grep -m1 'nam56r:' "$c/plain.out")"
}

case_no_topology_cache() { # slurmd left no cache: found on first use
	local c; c=$(mkcase no_topology_cache) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	[ -n "$D" ] && rm -rf "${D:?}/cache"/*
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	check_ranks "$c" || return 1
}

case_option_in_help() { # --nam56r-recipe is listed by sbatch, salloc and srun
	local cmd
	for cmd in sbatch salloc srun; do
		as_user "$W" "$cmd" --help >"$W/help.$cmd" 2>&1
		grep -q -- '--nam56r-recipe=FILE' "$W/help.$cmd" ||
			{ fail "$cmd --help does not list --nam56r-recipe"; return 1; }
	done
}

case_salloc_ranks() { # salloc --nam56r-recipe, then srun in the allocation
	local c; c=$(mkcase salloc_ranks) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	as_user "$c" env N56_ECHO_DIR="$c/out" timeout 60 salloc -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" --nam56r-recipe=r.yaml \
		srun nam56r-launch --runtime n56-echo-runtime >"$c/salloc.out" 2>&1 ||
		{ fail "salloc exited $?: $(head -5 "$c/salloc.out")"; return 1; }
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
}

case_record_admin_comment() { # policy record.field admin_comment
	local c; c=$(mkcase record_admin_comment) || return 1
	good_recipe "$c/r.yaml"
	sed -i 's/^  field: comment$/  field: admin_comment/' "$POLICY"
	grep -q '^  field: admin_comment$' "$POLICY" ||
		{ fail "examples/policy.yaml has no 'field: comment' line to change"; return 1; }
	run_job "$c" --comment="mine" --nam56r-recipe=r.yaml
	local rc=$?
	sed -i 's/^  field: admin_comment$/  field: comment/' "$POLICY"
	[ $rc = 0 ] || return 1
	local job
	job=$(scontrol show job "$JOB")
	echo "$job" | grep -q "AdminComment=nam56r:1 sha256=$(sha256_of "$c/r.yaml" | cut -c1-12) " ||
		{ fail "no record in AdminComment: $(echo "$job" | grep -i comment)"; return 1; }
	echo "$job" | grep -q '^ *Comment=mine *$' ||
		{ fail "Comment changed: $(echo "$job" | grep -i comment)"; return 1; }
}

# ---- node homogeneity: a node that does not look like the shape it would
# place by fails its tasks (the node stays idle). The fake GPUs have no
# topology, so the plugin is given a 4-GPU node's XML (islands 0-1 | 2-3 from
# its NVLink distances) with plugstack topology=, for these cases only.
HOMOG_XML=$top/../shared/fixtures/topology/derived_ipa20-2islands.xml
homog_begin() { # install the XML and name it in plugstack.conf
	[ -f "$HOMOG_XML" ] || { echo "    skipped: $HOMOG_XML is absent"; return 1; }
	install -m 0644 "$HOMOG_XML" "$D/etc/homog.xml" &&
		cp "$D/etc/plugstack.conf" "$D/etc/plugstack.conf.homog" &&
		sed -i "/spank_nam56r.so/s|\$| topology=$D/etc/homog.xml|" \
			"$D/etc/plugstack.conf" &&
		cp "$POLICY" "$D/etc/policy.homog"
}
homog_end() {
	mv "$D/etc/plugstack.conf.homog" "$D/etc/plugstack.conf"
	cat "$D/etc/policy.homog" >"$POLICY" && rm -f "$D/etc/policy.homog"
	policy_restore
}
homog_map() { # ENTRY...: an admin map of these entries in the policy
	local e lines="  islands:"
	for e in "$@"; do lines="$lines\n    - $e"; done
	sed -i "s|^  island_source: auto\$|&\n$lines|" "$POLICY"
	grep -q '^  islands:$' "$POLICY" ||
		{ fail "examples/policy.yaml has no 'island_source: auto' line"; return 1; }
}
homog_job() { # DIR GPN WANT MESSAGE: 2 x GPN ranks end in WANT
	local id
	id=$(as_user "$1" sbatch --parsable -N"$NNODES" --ntasks-per-node="$2" \
		--gpus-per-node="$2" --nam56r-recipe=r.yaml job.sh 2>"$1/sbatch.err") ||
		{ fail "sbatch: $(cat "$1/sbatch.err")"; return 1; }
	finish_job "$1" "$id" "$3" || return 1
	JOB=$id
	[ -z "$4" ] && return 0
	grep -qF -- "$4" "$1/slurm-$id.out" ||
		{ fail "no message '$4': $(head -3 "$1/slurm-$id.out")"; return 1; }
	[ -n "$(ls "$1/out")" ] &&
		{ fail "ranks ran on a node that was refused"; return 1; }
	echo "    job $id $3: $(grep -m1 -F -- "$4" "$1/slurm-$id.out")"
}

case_homog_gpu_count() { # 8 ranks per node on a 4-GPU node
	local c; c=$(mkcase homog_gpu_count) || return 1
	good_recipe "$c/r.yaml"
	homog_begin || return 0
	homog_job "$c" 8 FAILED "nam56r: the step expects 8 GPUs on n1, but hwloc on n1 finds 4"
	local rc=$?
	homog_end
	return $rc
}

case_homog_admin_map() { # the map's island of 4 against the node's 2 + 2
	local c; c=$(mkcase homog_admin_map) || return 1
	good_recipe "$c/r.yaml"
	homog_begin || return 0
	homog_map '{nodes: "n[1-2]", gpus: "0-3", domain: nvl-a}' &&
		homog_job "$c" 4 FAILED "nam56r: the admin map puts GPUs 0-3 of n1 in domain nvl-a, but hwloc-distances on n1 finds islands 0-1 | 2-3"
	local rc=$?
	homog_end
	return $rc
}

case_homog_agrees() { # a map the node confirms: ranks run with the shape
	local c; c=$(mkcase homog_agrees) || return 1
	good_recipe "$c/r.yaml"
	homog_begin || return 0
	homog_map '{nodes: "n[1-2]", gpus: "0-1", domain: a}' \
		'{nodes: "n[1-2]", gpus: "2-3", domain: b}' &&
		homog_job "$c" 4 COMPLETED ""
	local rc=$?
	homog_end
	[ $rc = 0 ] || return 1
	local n
	n=$(cat "$c"/out/* 2>/dev/null | grep -c '^NAM56R_NODE_SHAPE=2+2@2$')
	[ "$n" = 8 ] || { fail "NAM56R_NODE_SHAPE=2+2@2 on $n of 8 ranks"; return 1; }
	echo "    job $JOB: 8 ranks with NAM56R_NODE_SHAPE=2+2@2"
}

ALL_CASES="srun_hostname batch_ranks pinned_env_wins recipe_changed_after_submit
recipe_deleted_after_submit export_none refuse_tp3 refuse_global_batch
refuse_ep5 refuse_misspelt_key refuse_tab refuse_empty refuse_binary
refuse_missing_file refuse_denied_env recipe_unreadable_by_user
recipe_only_root_can_read policy_bad_owner policy_writable_by_others
policy_dir_writable_by_others policy_bad_owner_at_run record_keeps_comment placement_command
sbatch_directives srun_direct user_args runtime_not_allowed runtime_exec_fails
refuse_too_large helper_step no_topology_cache option_in_help salloc_ranks
record_admin_comment homog_gpu_count homog_admin_map homog_agrees
$VERSION_CASES"
# shellcheck source=tests/integration/hardening.sh
. "$here/hardening.sh"
ALL_CASES="$ALL_CASES $HARDENING_CASES"
# shellcheck source=tests/integration/blocks.sh
. "$here/blocks.sh"
ALL_CASES="$ALL_CASES $BLOCK_CASES"
# shellcheck source=tests/integration/memory.sh
. "$here/memory.sh"
ALL_CASES="$ALL_CASES $MEMORY_CASES"

# ---- main ---------------------------------------------------------------
[ $# -ge 1 ] || { sed -n '6,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ "$1" = --list ] && { echo $ALL_CASES | tr ' ' '\n'; exit 0; }
B=$(cd "$1" 2>/dev/null && pwd) || { echo "run.sh: no build dir $1" >&2; exit 2; }
shift
cases=${*:-$ALL_CASES}
for name in $cases; do
	declare -F "case_$name" >/dev/null || { echo "run.sh: no case $name" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run.sh: must run as root (it starts a Slurm cluster)" >&2; exit 2; }

setup_cluster || { echo "0 passed, 1 failed"; exit 1; }
trap 'teardown_cluster' EXIT
trap 'exit 130' INT TERM
for name in $cases; do run_case "$name"; done
teardown_cluster
trap - EXIT
[ "$TEARDOWN_OK" = 1 ] && passed=$((passed + 1)) || failed=$((failed + 1))
echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
