# shellcheck shell=bash disable=SC2154
# Helpers of tests/integration/run.sh (sourced; expects $top and $B).
# Globals once the cluster is up: D (state dir), W (its work dir), BIN
# (nam56r-launch and n56-echo-runtime, readable by the user), POLICY (the
# plugin's policy file), U (the submitting user), MODE (netns|loopback),
# NODES (n1,n2), JOB (the last job run_job ran).
U=${N56_USER:-n56user}
NNODES=2 GPN=8
NODES=n1,n2
passed=0 failed=0 failed_names=
TEARDOWN_DONE=0 TEARDOWN_OK=0

fail() { echo "    $*" >&2; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

setup_cluster() {
	local f missing=
	for f in .libs/spank_nam56r.so nam56r-launch tests/n56-echo-runtime; do
		[ -f "$B/$f" ] || missing="$missing $B/$f"
	done
	[ -z "$missing" ] || { echo "run.sh: not built:$missing (run make)" >&2; return 1; }
	# The user runs these from a job: they must be real binaries, not
	# libtool wrapper scripts pointing into the (maybe private) build dir.
	for f in nam56r-launch tests/n56-echo-runtime; do
		[ "$(head -c2 "$B/$f")" = "#!" ] &&
			{ echo "run.sh: $B/$f is a script, want the binary" >&2; return 1; }
	done
	D=$(mktemp -d /tmp/n56-it.XXXXXX) || return 1
	chmod 0755 "$D"
	W=$D/work BIN=$D/bin POLICY=$D/etc/policy.yaml
	echo "run.sh: starting the cluster in $D"
	N56_USER=$U bash "$top/tests/cluster/cluster.sh" up --dir "$D" \
		--nodes "$NNODES" --gpus "$GPN" \
		--plugin "$B/.libs/spank_nam56r.so" \
		--policy "$top/examples/policy.yaml" ||
		{ echo "run.sh: the cluster did not come up" >&2; return 1; }
	# shellcheck disable=SC1091
	. "$D/env"
	MODE=$N56_CLUSTER_MODE
	install -d -m 0755 "$BIN" &&
		install -m 0755 "$B/nam56r-launch" "$B/tests/n56-echo-runtime" "$BIN/" ||
		return 1
	# The allow list matches the resolved program (nam56r-policy(5)): the
	# echo runtime lives in $BIN, outside the system directories where a
	# bare name is looked up.
	sed -i "s|^    - n56-echo-runtime .*|&\n    - \"$BIN/n56-echo-runtime\"|" "$POLICY" &&
		grep -qF -- "- \"$BIN/n56-echo-runtime\"" "$POLICY"
}

teardown_cluster() {
	[ "$TEARDOWN_DONE" = 1 ] && return 0
	TEARDOWN_DONE=1
	[ -n "${D:-}" ] || return 0
	local purge=--purge
	{ [ "$failed" != 0 ] || [ "${N56_KEEP:-0}" = 1 ]; } && purge=
	if bash "$top/tests/cluster/cluster.sh" down --dir "$D" $purge; then
		TEARDOWN_OK=1
		echo "PASS teardown (no process left behind)"
	else
		echo "FAIL teardown: processes left behind (see above)"
		failed_names="$failed_names teardown"
	fi
	[ -z "$purge" ] && echo "run.sh: logs and job files kept in $D"
	return 0
}

# as_user DIR CMD...: CMD as the submitting user in DIR, with a clean
# environment (PATH finds nam56r-launch); prefix CMD with `env X=Y` to export.
as_user() {
	local dir=$1; shift
	(cd "$dir" && runuser -u "$U" -- env -i HOME="$(getent passwd "$U" | cut -d: -f6)" \
		USER="$U" LOGNAME="$U" SHELL=/bin/bash LANG=C.UTF-8 \
		PATH="$BIN:/usr/local/bin:/usr/bin:/bin" SLURM_CONF="$SLURM_CONF" "$@")
}

# mkcase NAME: a fresh dir of the user's with job.sh and out/; prints it.
mkcase() {
	local c=$W/$1
	rm -rf "$c"
	install -d -o "$U" -m 0755 "$c" "$c/out" || return 1
	write_job "$c" ""
	echo "$c"
}

# write_job DIR SRUN-OPTIONS: the batch script of every test job. It keeps
# its own environment in batch.env and runs the echo runtime on every rank.
write_job() {
	cat >"$1/job.sh" <<EOF
#!/bin/bash
export PATH=$BIN:/usr/local/bin:/usr/bin:/bin
export N56_ECHO_DIR=$1/out
env >$1/batch.env
srun $2 nam56r-launch --runtime n56-echo-runtime
EOF
	chown "$U" "$1/job.sh" && chmod 0755 "$1/job.sh"
}

good_recipe() { install -o "$U" -m 0644 "$top/examples/nam56r.yaml" "$1"; }

plan_json() { # RECIPE OUT: the plan of this recipe for the whole allocation
	"$BIN/nam56r-launch" plan --recipe "$1" --policy "$POLICY" \
		--nodes "$NNODES" --gpus-per-node "$GPN" --format json >"$2" 2>"$2.err" ||
		{ fail "nam56r-launch plan failed: $(head -3 "$2.err")"; return 1; }
}

# submit DIR SBATCH-ARGS... [-- NAME=VALUE...]: prints the job id. With
# --wrap among the args no job.sh is given. The NAME=VALUE are exported by
# the user before sbatch.
submit() {
	local dir=$1; shift
	local args=() envs=() seen=0 script=job.sh a id
	for a in "$@"; do
		if [ $seen = 1 ]; then envs+=("$a"); continue; fi
		case $a in
		--) seen=1 ;;
		--wrap=*) script= ; args+=("$a") ;;
		*) args+=("$a") ;;
		esac
	done
	id=$(as_user "$dir" env "${envs[@]}" sbatch --parsable -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" "${args[@]}" $script \
		2>"$dir/sbatch.err") ||
		{ fail "sbatch exited $?: $(cat "$dir/sbatch.err")"; return 1; }
	[[ $id =~ ^[0-9]+$ ]] || { fail "sbatch printed '$id'"; return 1; }
	echo "$id"
}

job_exit() { scontrol show job "$1" 2>/dev/null | grep -o 'ExitCode=[0-9:]*' | cut -d= -f2; }
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

# finish_job DIR ID WANT: wait (60 s at most) for the job to end in WANT.
finish_job() {
	local dir=$1 id=$2 want=$3 st i
	for i in $(seq 1 300); do
		st=$(job_state "$id")
		case $st in
		PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.2 ;;
		*) break ;;
		esac
	done
	if [ "$st" != "$want" ]; then
		fail "job $id ended $st, want $want; its output:"
		sed 's/^/      /' "$dir/slurm-$id.out" 2>/dev/null | head -15 >&2
		return 1
	fi
}

run_job() { # DIR SBATCH-ARGS... [-- ENV...]: submit, wait for COMPLETED
	JOB=$(submit "$@") || return 1
	finish_job "$1" "$JOB" COMPLETED
}

check_ranks() { # DIR [check_ranks.py options]
	local dir=$1; shift
	local host=
	[ "$MODE" = netns ] && host=--hostnames
	python3 "$top/tests/integration/check_ranks.py" "$dir/plan.json" \
		"$dir/out" --nodes "$NODES" --gpn "$GPN" $host "$@" >"$dir/check.txt" ||
		{ fail "ranks differ from the plan:"; sed 's/^/      /' "$dir/check.txt" >&2; return 1; }
}

# check_record ID SHA256 NOTE [PLAN]: the job's Comment holds the record of
# that recipe content (and the plan's geometry) and still holds NOTE.
check_record() {
	local comment
	comment=$(scontrol show job "$1" | sed -n 's/^ *Comment=//p')
	python3 - "$comment" "$2" "$3" "${4:-}" "$NNODES" "$GPN" <<'EOF' || return 1
import json, re, sys
comment, sha, note, plan, nodes, gpn = sys.argv[1:7]
bad = []
m = re.search(r"nam56r:1 (.*?)( \| |$)", comment)
if not m:
    bad.append(f"no nam56r:1 record in Comment={comment!r}")
else:
    rec = dict(kv.split("=", 1) for kv in m.group(1).split() if "=" in kv)
    if rec.get("sha256") != sha[:12]:
        bad.append(f"record sha256={rec.get('sha256')}, submitted {sha[:12]}")
    want = {"nodes": nodes, "gpn": gpn}
    if plan:
        par = json.load(open(plan))["parallel"]
        for k in ("world", "tp", "cp", "ep", "etp", "dp", "pp", "vpp"):
            if k in par:
                want[k] = str(par[k])
    for k, v in want.items():
        if rec.get(k) != v:
            bad.append(f"record {k}={rec.get(k)}, want {v}")
if note and note not in comment:
    bad.append(f"the user's comment {note!r} is gone: Comment={comment!r}")
for b in bad:
    print("    " + b)
sys.exit(1 if bad else 0)
EOF
}

queue_empty() {
	local q
	q=$(squeue -h -o '%i %u %T' 2>&1)
	[ -z "$q" ] || { fail "the queue is not empty: $q"; return 1; }
}

# Every node idle within 15 s; a drained, down or invalid node fails at once.
nodes_idle() {
	local i st
	for _ in $(seq 1 75); do
		st=$(sinfo -h -N -o '%N %T' | sort -u)
		if echo "$st" | grep -Eqi 'drain|down|inval|fail'; then
			fail "a node is not healthy: $(echo "$st" | tr '\n' ' ') $(sinfo -h -R | tr '\n' ' ')"
			return 1
		fi
		[ "$(echo "$st" | grep -c ' idle$')" = "$NNODES" ] && return 0
		sleep 0.2
	done
	fail "nodes not idle after 15 s: $(echo "$st" | tr '\n' ' ')"
	return 1
}

run_case() {
	local name=$1 t0=$SECONDS ok=1
	echo "--- $name"
	"case_$name" || ok=0
	# Whatever happened: no job left behind, every node idle, not drained.
	scancel --user="$U" 2>/dev/null
	for _ in $(seq 1 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
	nodes_idle || ok=0
	if [ $ok = 1 ]; then
		passed=$((passed + 1)); echo "PASS $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failed_names="$failed_names $name"
		echo "FAIL $name ($((SECONDS - t0)) s)"
	fi
}
