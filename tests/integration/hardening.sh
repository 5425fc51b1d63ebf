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


# 4. MASTER_PORT: two jobs whose ids are 1000 apart share their first node
# at the same time (the old job-id-modulo-1000 port collided); and with
# MpiParams=ports the port is the first that Slurm reserved for the step.
rank0_port() { sed -n 's/^MASTER_PORT=//p' "$1"/out/*.0.txt 2>/dev/null | head -1; }
case_master_port_shared_node() {
	local a b s n c1 c2
	c1=$(mkcase master_port_a) && c2=$(mkcase master_port_b) || return 1
	good_recipe "$c1/r.yaml" && good_recipe "$c2/r.yaml"
	echo 'sleep 8' >>"$c1/job.sh"
	a=$(as_user "$c1" sbatch --parsable -N1 -w n1 --ntasks-per-node=4 \
		--gpus-per-node=4 --nam56r-recipe=r.yaml job.sh 2>"$c1/sbatch.err") ||
		{ fail "sbatch: $(cat "$c1/sbatch.err")"; return 1; }
	# Job ids up to a + 999: an array whose tasks are split off (held one
	# by one) takes one id each.
	s=$(as_user "$W" sbatch --parsable -H --array=0-999 -n1 -o /dev/null \
		--nam56r-recipe=none --wrap=true) || { fail "array sbatch failed"; return 1; }
	n=$((a + 1000 - s - 1))
	[ "$n" -ge 1 ] && scontrol hold "${s}_[0-$((n - 1))]" >/dev/null 2>&1
	scancel "$s"
	for _ in $(seq 1 100); do [ "$(job_state "$a")" = RUNNING ] && break; sleep 0.1; done
	b=$(as_user "$c2" sbatch --parsable -N1 -w n1 --ntasks-per-node=4 \
		--gpus-per-node=4 --nam56r-recipe=r.yaml job.sh 2>"$c2/sbatch.err") ||
		{ fail "sbatch: $(cat "$c2/sbatch.err")"; return 1; }
	[ "$b" = $((a + 1000)) ] || { fail "job ids $a and $b, want $a and $((a + 1000))"; return 1; }
	finish_job "$c2" "$b" COMPLETED || return 1
	[ "$(job_state "$a")" = RUNNING ] ||
		{ fail "job $a was not running beside job $b: $(job_state "$a")"; return 1; }
	finish_job "$c1" "$a" COMPLETED || return 1
	local pa pb
	pa=$(rank0_port "$c1") pb=$(rank0_port "$c2")
	[ -n "$pa" ] && [ -n "$pb" ] || { fail "no MASTER_PORT: '$pa' '$pb'"; return 1; }
	[ "$pa" != "$pb" ] ||
		{ fail "jobs $a and $b on n1 at once both got MASTER_PORT=$pa"; return 1; }
	echo "    jobs $a and $b on n1 at once: MASTER_PORT $pa and $pb"
}

case_master_port_resv_ports() {
	local c; c=$(mkcase master_port_resv_ports) || return 1
	good_recipe "$c/r.yaml"
	cp "$SLURM_CONF" "$c/slurm.conf.saved"
	echo 'MpiParams=ports=41000-41999' >>"$SLURM_CONF"
	scontrol reconfigure || { fail "scontrol reconfigure failed"; cp "$c/slurm.conf.saved" "$SLURM_CONF"; return 1; }
	local rc=0
	run_job "$c" --nam56r-recipe=r.yaml || rc=1
	cp "$c/slurm.conf.saved" "$SLURM_CONF" && scontrol reconfigure
	[ $rc = 0 ] || return 1
	python3 - "$c/out" <<'PY' || return 1
import os, re, sys
bad, ports = [], set()
for f in sorted(os.listdir(sys.argv[1])):
    env = dict(l.split("=", 1) for l in open(os.path.join(sys.argv[1], f))
               .read().split("\n") if "=" in l and not l.startswith("--"))
    resv, port = env.get("SLURM_STEP_RESV_PORTS", ""), env.get("MASTER_PORT")
    m = re.match(r"(\d+)", resv)
    if not m or port != m.group(1):
        bad.append(f"{f}: MASTER_PORT={port}, SLURM_STEP_RESV_PORTS={resv!r}")
    ports.add(port)
for b in bad[:5]:
    print("    " + b)
if not bad:
    print(f"    16 ranks: MASTER_PORT={ports.pop()}, the first reserved port")
sys.exit(1 if bad else 0)
PY
}

# shellcheck disable=SC2034 # run.sh adds these to ALL_CASES
HARDENING_CASES="user_policy_in_step refuse_extra_args_generated
refuse_env_computed pinned_env_under_wrapper master_port_shared_node
master_port_resv_ports gpus_outside_allocation step_cyclic step_het_group
step_fewer_tasks_than_job_gpus runtime_resolved policy_user_link_in_sticky_dir
policy_unreadable_not_quoted cache_dir_user_owned policy_changed_during_launch
policy_replaced_while_running policy_rewritten_in_place option_env_form_and_chdir"

# 5. Without a node topology, a 4-rank step in a 6-GPU job while another job
# holds GPUs 0 and 1 of the node: never a GPU outside the step's (the step
# fails with the reason); a 4-GPU job beside it runs on its own 4 GPUs.
case_gpus_outside_allocation() {
	local c x id
	x=$(mkcase gpus_other_job) && c=$(mkcase gpus_outside_allocation) || return 1
	good_recipe "$c/r.yaml"
	x=$(as_user "$x" sbatch --parsable -N1 -w n1 -n2 --gpus-per-node=2 \
		--nam56r-recipe=none --wrap='sleep 30') || { fail "sbatch of the other job failed"; return 1; }
	for _ in $(seq 1 100); do [ "$(job_state "$x")" = RUNNING ] && break; sleep 0.1; done
	# The job's geometry in #SBATCH lines: 6 ranks would not fit the
	# recipe, and the submission does not see them (only the 4-rank
	# step matters here).
	write_job "$c" "-n4"
	sed -i '2i #SBATCH -N1 -w n1 -n6 --gres=gpu:6' "$c/job.sh"
	id=$(as_user "$c" sbatch --parsable --nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err") ||
		{ fail "sbatch: $(cat "$c/sbatch.err")"; return 1; }
	finish_job "$c" "$id" FAILED || { cat "$c"/out/* 2>/dev/null | grep -h '^CUDA_VISIBLE_DEVICES=' | sort | uniq -c | sed 's/^/      /' >&2; return 1; }
	[ -z "$(ls "$c/out")" ] || { fail "ranks ran: $(ls "$c/out" | head -3)"; return 1; }
	grep -q 'nam56r: Slurm gave this step 6 GPUs on n1 (2,3,4,5,6,7) for 4 ranks' "$c/slurm-$id.out" ||
		{ fail "no message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	echo "    job $id FAILED: $(grep -m1 'Slurm gave' "$c/slurm-$id.out")"
	# One rank per GPU of the step: GPUs 2-5, never 0 or 1.
	write_job "$c" ""
	id=$(as_user "$c" sbatch --parsable -N1 -w n1 -n4 --gpus-per-node=4 \
		--nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err") ||
		{ fail "sbatch: $(cat "$c/sbatch.err")"; return 1; }
	finish_job "$c" "$id" COMPLETED || return 1
	python3 - "$c/out" <<'PY' || return 1
import os, sys
bad, used = [], []
for f in sorted(os.listdir(sys.argv[1])):
    env = dict(l.split("=", 1) for l in open(os.path.join(sys.argv[1], f))
               .read().split("\n") if "=" in l and not l.startswith("--"))
    cvd = env["CUDA_VISIBLE_DEVICES"].split(",")
    gpu = cvd[int(env["LOCAL_RANK"])]
    used.append(gpu)
    if gpu not in env.get("SLURM_JOB_GPUS", "").split(",") or gpu in ("0", "1"):
        bad.append(f"{f}: GPU {gpu}, the job holds {env.get('SLURM_JOB_GPUS')}")
if len(used) != 4 or len(set(used)) != 4:
    bad.append(f"GPUs {used}: want 4 distinct")
for b in bad:
    print("    " + b)
if not bad:
    print(f"    4 ranks beside the other job: GPUs {','.join(used)}")
sys.exit(1 if bad else 0)
PY
}

# 10. Steps that would start half-way fail on every rank before any exec.
case_step_cyclic() { # srun -m cyclic: no rank starts
	local c id; c=$(mkcase step_cyclic) || return 1
	good_recipe "$c/r.yaml"
	write_job "$c" "-m cyclic"
	id=$(submit "$c" --nam56r-recipe=r.yaml) || return 1
	finish_job "$c" "$id" FAILED || return 1
	[ -z "$(ls "$c/out")" ] ||
		{ fail "$(ls "$c/out" | wc -l) of 16 ranks started"; return 1; }
	grep -q "nam56r: the step's tasks are distributed 'cyclic' (srun -m), but NAM56R ranks follow Megatron's order in blocks of 8 per node: use the block distribution" \
		"$c/slurm-$id.out" || { fail "no message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	echo "    job $id FAILED, no rank started: $(grep -m1 'distributed' "$c/slurm-$id.out" | cut -c1-120)"
}

het_wait() { # ID: HET_STATE = the leader's final state (60 s at most)
	HET_STATE=
	[ -n "$1" ] || return 0
	for _ in $(seq 1 300); do # one JobState line per component
		HET_STATE=$(scontrol show job "${1%%+*}" 2>/dev/null | grep -m1 -o 'JobState=[A-Z_]*' | cut -d= -f2)
		case $HET_STATE in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.2 ;; *) return 0 ;; esac
	done
}
case_step_het_group() { # srun --het-group=0,1 across a heterogeneous job
	local c id; c=$(mkcase step_het_group) || return 1
	good_recipe "$c/r.yaml"
	cat >"$c/job.sh" <<EOS
#!/bin/bash
#SBATCH -N1 -w n1 --ntasks-per-node=8 --gpus-per-node=8
#SBATCH hetjob
#SBATCH -N1 -w n2 --ntasks-per-node=8 --gpus-per-node=8
export PATH=$BIN:/usr/local/bin:/usr/bin:/bin
export N56_ECHO_DIR=$c/out
srun --het-group=0,1 nam56r-launch --runtime n56-echo-runtime
EOS
	chown "$U" "$c/job.sh"
	# Only the backfill scheduler starts heterogeneous jobs (the cluster
	# runs it every second).
	id=$(as_user "$c" sbatch --parsable --nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err")
	local rc=$? st
	het_wait "$id"
	[ $rc = 0 ] || { fail "sbatch: $(cat "$c/sbatch.err")"; return 1; }
	id=${id%%+*}
	st=$HET_STATE
	[ "$st" = FAILED ] || { fail "het job $id ended $st, want FAILED: $(head -5 "$c/slurm-$id.out" 2>/dev/null)"; return 1; }
	[ -z "$(ls "$c/out")" ] || { fail "$(ls "$c/out" | wc -l) ranks started"; return 1; }
	grep -q "nam56r: this step spans 2 nodes of the components of a heterogeneous job (srun --het-group=...), 1 of them in this component" \
		"$c/slurm-$id.out" || { fail "no message: $(head -3 "$c/slurm-$id.out")"; return 1; }
	echo "    job $id FAILED, no rank started: $(grep -m1 'heterogeneous' "$c/slurm-$id.out" | cut -c1-120)"
}

case_step_fewer_tasks_than_job_gpus() { # 4-rank steps in a 6-GPU job
	local c id; c=$(mkcase step_fewer_tasks) || return 1
	good_recipe "$c/r.yaml"
	# srun -n4 --gpus=4: Slurm 22.05 still gives the step the job's 6
	# GPUs (24.11 on gives it 4). The srun's own check is for 4 ranks per
	# node (not SLURM_GPUS_PER_NODE), and where the step has 6 GPUs the
	# compute nodes refuse it for its GPUs.
	write_job "$c" "-n4 --gpus=4"
	sed -i '2i #SBATCH -N1 -w n1 -n6 --gpus-per-node=6' "$c/job.sh"
	id=$(as_user "$c" sbatch --parsable --nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err") ||
		{ fail "sbatch: $(cat "$c/sbatch.err")"; return 1; }
	if [ "$(slurm_release | awk -F. '{printf "%d%02d", $1, $2}')" -lt 2411 ]; then
		finish_job "$c" "$id" FAILED || return 1
		[ -z "$(ls "$c/out")" ] || { fail "$(ls "$c/out" | wc -l) ranks started"; return 1; }
		grep -q 'nam56r: Slurm gave this step 6 GPUs on n1 (0,1,2,3,4,5) for 4 ranks' "$c/slurm-$id.out" ||
			{ fail "not the step's GPUs as the reason: $(head -3 "$c/slurm-$id.out")"; return 1; }
		echo "    job $id FAILED: $(grep -m1 'Slurm gave' "$c/slurm-$id.out" | cut -c1-110)"
	else
		finish_job "$c" "$id" COMPLETED || return 1
		[ "$(ls "$c/out" | wc -l)" = 4 ] || { fail "$(ls "$c/out" | wc -l) ranks, want 4"; return 1; }
		grep -h '^CUDA_VISIBLE_DEVICES=' "$c"/out/* | sort -u | grep -q '[4-9]' &&
			{ fail "a rank outside the step's 4 GPUs: $(grep -h '^CUDA_VISIBLE_DEVICES=' "$c"/out/* | sort -u | tr '\n' ' ')"; return 1; }
		echo "    Slurm $(slurm_release): job $id: srun -n4 --gpus=4 gave the step 4 GPUs; 4 ranks ran on them"
		rm -f "$c"/out/*
	fi
	# srun -n4 --gpus-per-node=4: the step has 4 GPUs, 4 ranks run.
	write_job "$c" "-n4 --gpus-per-node=4"
	sed -i '2i #SBATCH -N1 -w n1 -n6 --gpus-per-node=6' "$c/job.sh"
	id=$(as_user "$c" sbatch --parsable --nam56r-recipe=r.yaml job.sh 2>"$c/sbatch.err") ||
		{ fail "sbatch: $(cat "$c/sbatch.err")"; return 1; }
	finish_job "$c" "$id" COMPLETED || return 1
	[ "$(ls "$c/out" | wc -l)" = 4 ] || { fail "$(ls "$c/out" | wc -l) ranks, want 4"; return 1; }
	echo "    job $id: srun -n4 --gpus-per-node=4 ran 4 ranks in the 6-GPU job"
}

# 9. The allow list matches the resolved program: a python3 shim earlier
# in PATH, the shim by its path, and a glob's '*' across '/' are refused.
case_runtime_resolved() {
	local c id; c=$(mkcase runtime_resolved) || return 1
	good_recipe "$c/r.yaml"
	install -d -o "$U" "$c/shim" "$c/allowed" "$c/allowed/sub"
	local evil="#!/bin/sh\ntouch $c/out/evil.\$SLURM_PROCID\n"
	printf "$evil" >"$c/shim/python3" && printf "$evil" >"$c/allowed/sub/evil"
	chmod 0755 "$c/shim/python3" "$c/allowed/sub/evil"
	cp "$POLICY" "$c/policy.saved"
	# The admin allows programs directly in $c/allowed, not below it.
	sed -i "s|^  allowed_commands:\$|&\n    - \"$c/allowed/*\"|" "$POLICY"
	local rc=0 how
	for how in "PATH=$c/shim:\$PATH python3" "python3-by-path $c/shim/python3" \
		"glob $c/allowed/sub/evil"; do
		local rt=${how##* }
		write_job "$c" ""
		case $how in PATH=*) sed -i "s|^srun |export ${how%% *}\n&|" "$c/job.sh" ;; esac
		sed -i "s|--runtime n56-echo-runtime\$|--runtime $rt|" "$c/job.sh"
		id=$(submit "$c" --nam56r-recipe=r.yaml) || { rc=1; break; }
		finish_job "$c" "$id" FAILED || { rc=1; break; }
		[ -z "$(ls "$c/out")" ] || { fail "$how: the program ran on $(ls "$c/out" | wc -l) ranks"; rc=1; break; }
		grep -q "nam56r-launch: runtime '$rt' is not allowed by the site policy .* (runtime.allowed_commands; it is " \
			"$c/slurm-$id.out" || { fail "$how: no refusal: $(head -3 "$c/slurm-$id.out")"; rc=1; break; }
		echo "    ${how%% *}: job $id FAILED: $(grep -m1 'not allowed' "$c/slurm-$id.out" | cut -c1-110)"
	done
	cat "$c/policy.saved" >"$POLICY"
	[ $rc = 0 ] || return 1
	# The real python3 (a symbolic link in /usr/bin), by name: allowed.
	write_job "$c" ""
	sed -i '$d' "$c/job.sh"
	cat >>"$c/job.sh" <<EOS
srun nam56r-launch --runtime 'python3 -c open("$c/out/ok."+__import__("os").environ["RANK"],"w")'
EOS
	run_job "$c" --nam56r-recipe=r.yaml || return 1
	local ok; ok=$(find "$c/out" -maxdepth 1 -name 'ok.*' | wc -l)
	[ "$ok" = 16 ] || { fail "python3 ran on $ok ranks"; return 1; }
}

# 6. Root never follows a user's link, never quotes a file the user cannot
# read, and reads no topology from a directory a user controls. The job is
# submitted held with the normal setup, then the plugstack is pointed
# elsewhere (slurmstepd reads it per step) and the job released.
plugstack_swap() { # SED-EXPR: edit plugstack.conf (plugstack_restore undoes)
	cp "$D/etc/plugstack.conf" "$D/etc/plugstack.conf.h13" &&
		sed -i "/spank_nam56r.so/$1" "$D/etc/plugstack.conf"
}
plugstack_restore() { mv "$D/etc/plugstack.conf.h13" "$D/etc/plugstack.conf"; }
held_job_fails() { # DIR SED-EXPR SETUP-CMD: FAILED job, its output in $OUT6
	local c=$1 id rc=0
	# A plain srun (the option's variable unset): srun, as the user, reads
	# nothing; only slurmstepd, as root, does.
	sed -i 's/^srun /unset SLURM_SPANK__SLURM_SPANK_OPTION_nam56r_nam56r_recipe\n&/' "$c/job.sh"
	id=$(submit "$c" -H --nam56r-recipe=r.yaml) || return 1
	plugstack_swap "$2" && $3 || rc=1
	[ $rc = 0 ] && scontrol release "$id"
	[ $rc = 0 ] && { finish_job "$c" "$id" FAILED || rc=1; }
	plugstack_restore
	OUT6=$c/slurm-$id.out JOB=$id
	[ $rc = 0 ] || return 1
	[ -z "$(ls "$c/out")" ] || { fail "ranks ran"; return 1; }
}
case_policy_user_link_in_sticky_dir() {
	local c; c=$(mkcase policy_user_link) || return 1
	good_recipe "$c/r.yaml"
	install -d -m 1777 "$D/sticky"
	printf 'TOPSECRET_0xC0FFEE: 1\n' >"$D/etc/secret" && chmod 0600 "$D/etc/secret"
	mk_link() { as_user "$D/sticky" ln -sf "$D/etc/secret" "$D/sticky/policy.yaml"; }
	held_job_fails "$c" "s|policy=[^ ]*|policy=$D/sticky/policy.yaml|" mk_link
	local rc=$?
	rm -f "$D/sticky/policy.yaml"
	[ $rc = 0 ] || return 1
	grep -q 'C0FFEE' "$OUT6" && { fail "the root-only file's content reached the job: $(grep -m1 C0FFEE "$OUT6")"; return 1; }
	grep -q "nam56r: .*refusing the site policy: $D/sticky/policy.yaml is a symbolic link owned by uid $(id -u "$U"), not root" "$OUT6" ||
		{ fail "no refusal: $(head -3 "$OUT6")"; return 1; }
	echo "    job $JOB FAILED: $(grep -m1 'symbolic link' "$OUT6" | cut -c1-120)"
}
case_policy_unreadable_not_quoted() { # a root-only policy with an error
	local c; c=$(mkcase policy_unreadable_not_quoted) || return 1
	good_recipe "$c/r.yaml"
	{ cat "$POLICY"; printf 'TOPSECRET_0xC0FFEE: 1\n'; } >"$D/etc/secret.yaml"
	chmod 0600 "$D/etc/secret.yaml"
	held_job_fails "$c" "s|policy=[^ ]*|policy=$D/etc/secret.yaml|" true || return 1
	grep -q 'C0FFEE' "$OUT6" && { fail "the root-only file's content reached the job: $(grep -m1 C0FFEE "$OUT6")"; return 1; }
	grep -q "nam56r: $D/etc/secret.yaml: error: not a valid site policy (1 error, not shown: the file is not readable by others" "$OUT6" ||
		{ fail "no message: $(head -3 "$OUT6")"; return 1; }
	echo "    job $JOB FAILED: $(grep -m1 'not shown' "$OUT6" | cut -c1-120)"
}
case_cache_dir_user_owned() { # cache_dir the user owns, with their XML
	local c; c=$(mkcase cache_dir_user_owned) || return 1
	good_recipe "$c/r.yaml"
	install -d -o "$U" -m 0755 "$W/usercache"
	cp "$D/cache/topology.xml" "$W/usercache/topology.xml" 2>/dev/null ||
		echo '<topology/>' >"$W/usercache/topology.xml"
	chown "$U" "$W/usercache/topology.xml"
	held_job_fails "$c" "s|cache_dir=[^ ]*|cache_dir=$W/usercache|" true || return 1
	grep -q "nam56r: .*refusing the topology cache directory: owned by uid $(id -u "$U"), not root" "$OUT6" ||
		{ fail "no refusal: $(head -3 "$OUT6")"; return 1; }
	echo "    job $JOB FAILED: $(grep -m1 'refusing the topology' "$OUT6" | cut -c1-120)"
}

# 7. One policy for every rank of a step: a pinned value changed after the
# submission validated the step (the step's srun did not read it again)
# fails the step cleanly on every node; and with the policy replaced (by
# rename) every few ms during 6 jobs, every job that ran has one set of
# pinned values on all its ranks, and every other one says why it failed.
case_policy_changed_during_launch() {
	local c; c=$(mkcase policy_changed) || return 1
	good_recipe "$c/r.yaml"
	cp "$POLICY" "$c/policy.saved"
	bump() { sed -i 's/^    NCCL_NVLS_ENABLE: "0"$/    NCCL_NVLS_ENABLE: "1"/' "$POLICY"; }
	held_job_fails "$c" "s|\$||" bump
	local rc=$?
	cat "$c/policy.saved" >"$POLICY"
	[ $rc = 0 ] || return 1
	grep -q "nam56r: the site policy $POLICY on n[12] (sha256 [0-9a-f]*) is not the one this step was submitted with" "$OUT6" ||
		{ fail "no message: $(head -3 "$OUT6")"; return 1; }
	echo "    job $JOB FAILED: $(grep -m1 'submitted with' "$OUT6" | cut -c1-120)"
}

case_policy_replaced_while_running() {
	local c i id ids='' good=0 bad=0
	c=$(mkcase policy_replaced) || return 1
	good_recipe "$c/r.yaml"
	cp "$POLICY" "$c/policy.saved"
	sed 's/^    NCCL_NVLS_ENABLE: "0"$/    NCCL_NVLS_ENABLE: "1"/' "$POLICY" >"$c/policy.other"
	( while :; do
		for f in policy.other policy.saved; do
			cp "$c/$f" "$POLICY.new" && mv -f "$POLICY.new" "$POLICY"
			sleep 0.005
		done
	  done ) &
	local flip=$!
	for i in 1 2 3 4 5 6; do
		install -d -o "$U" "$c/out$i"
		sed "s|N56_ECHO_DIR=.*|N56_ECHO_DIR=$c/out$i|" "$c/job.sh" >"$c/job$i.sh"
		chown "$U" "$c/job$i.sh"; chmod 0755 "$c/job$i.sh"
		id=$(as_user "$c" sbatch --parsable -N2 --ntasks-per-node=8 --gpus-per-node=8 \
			--nam56r-recipe=r.yaml "job$i.sh" 2>/dev/null) && ids="$ids $i:$id"
	done
	for i in $ids; do finish_job "$c" "${i#*:}" COMPLETED >/dev/null 2>&1; done
	kill "$flip"; wait "$flip" 2>/dev/null
	cat "$c/policy.saved" >"$POLICY"
	for i in $ids; do
		local n=${i%%:*} j=${i#*:} vals
		vals=$(cat "$c/out$n"/* 2>/dev/null | grep -h '^NCCL_NVLS_ENABLE=' | sort -u | wc -l)
		case $(job_state "$j") in
		COMPLETED)
			[ "$vals" = 1 ] && [ "$(ls "$c/out$n" | wc -l)" = 16 ] ||
				{ fail "job $j: $(ls "$c/out$n" | wc -l) ranks, $vals NCCL_NVLS_ENABLE values"; return 1; }
			good=$((good + 1)) ;;
		*)
			# either reason fails the step closed: the node read another
			# policy than the submission's, or caught the file being
			# replaced while it checked it (policy/site.c)
			grep -Eq "nam56r: (the site policy .* is not the one this step was submitted with|.*: error: refusing the site policy: the file changed while it was being checked)" "$c/slurm-$j.out" ||
				{ fail "job $j $(job_state "$j") without the reason: $(grep -m2 nam56r "$c/slurm-$j.out")"; return 1; }
			bad=$((bad + 1)) ;;
		esac
	done
	[ $((good + bad)) -ge 1 ] || { fail "no job was submitted"; return 1; }
	echo "    policy flipped every 5 ms: $good job(s) ran with one policy on all ranks, $bad failed saying why"
}

# 11. What spank_nam56r(8) NOTES says: the environment form of the option
# works, and a relative recipe is read from the submitting directory, not
# --chdir.
case_option_env_form_and_chdir() {
	local c; c=$(mkcase option_env_form) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	run_job "$c" -- SLURM_SPANK__SLURM_SPANK_OPTION_nam56r_nam56r_recipe=r.yaml || return 1
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
	rm -rf "$c/out"/*
	install -d -o "$U" "$c/elsewhere"
	echo 'not: a recipe' >"$c/elsewhere/r.yaml"
	run_job "$c" --chdir="$c/elsewhere" -o "$c/slurm-%j.out" --nam56r-recipe=r.yaml || return 1
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
	echo "    the env form ran the recipe; --chdir did not change which r.yaml was read"
}

# 7 (cont.). The policy rewritten in place (truncated, then written) over
# and over while jobs are submitted: no submission sees an empty or a half
# policy (the reader reads again when the file changed under it).
case_policy_rewritten_in_place() {
	local c i out bad=0 n=30
	c=$(mkcase policy_in_place) || return 1
	good_recipe "$c/r.yaml"
	cp "$POLICY" "$c/policy.saved"
	( while :; do cat "$c/policy.saved" >"$POLICY"; done ) &
	local writer=$!
	for i in $(seq 1 $n); do
		out=$(as_user "$c" sbatch --parsable -H -N2 --ntasks-per-node=8 \
			--gpus-per-node=8 --nam56r-recipe=r.yaml job.sh 2>&1) ||
			{ bad=$((bad + 1)); echo "$out" >>"$c/refused.txt"; }
	done
	kill "$writer"; wait "$writer" 2>/dev/null
	cat "$c/policy.saved" >"$POLICY"
	[ $bad = 0 ] || { fail "$bad of $n submissions refused: $(grep -m1 'nam56r:' "$c/refused.txt")"; return 1; }
	echo "    $n submissions while the policy was rewritten in place: none refused"
}
