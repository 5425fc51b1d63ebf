#!/bin/bash
# Soak: many recipe jobs through the real local cluster while faults are
# injected, then a check of every job that completed. Root only.
#
# Usage: tests/integration/soak.sh BUILDDIR [JOBS]     (default 200 jobs)
#
# The jobs (1 node x 2 GPUs and 2 nodes x 2 GPUs, some of them job arrays
# of 4, the example recipe, a comment of their own) run `srun nam56r-launch --runtime n56-echo-runtime`.
# While they run, a fault injector picks one at a time, in turn, every 2 s
# (FAULTS of them, default 32): restart a node's slurmd, requeue a running
# job, set a node down and resume it, cancel a job as it starts. At the end, for every COMPLETED job (its last run when it
# was requeued): every rank file is there, with one NAM56R_PLAN_SHA256, the
# submitted recipe's sha256, the site's pinned values, a GPU that Slurm gave
# the job; its Comment still holds the user's text and the record. No node
# may be drained, down or failing. Prints the figures, then PASS or FAIL;
# exit 0 on PASS. N56_KEEP=1 keeps the cluster dir.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/integration/lib.sh
. "$top/tests/integration/lib.sh"

[ $# -ge 1 ] || { sed -n '5,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" 2>/dev/null && pwd) || { echo "soak.sh: no build dir $1" >&2; exit 2; }
JOBS=${2:-200}
[ "$(id -u)" = 0 ] || { echo "soak.sh: must run as root" >&2; exit 2; }

setup_cluster || exit 1
trap 'teardown_cluster' EXIT
trap 'exit 130' INT TERM
t0=$SECONDS
S=$W/soak
install -d -o "$U" "$S" "$S/out"
good_recipe "$S/r.yaml"
sha=$(sha256_of "$S/r.yaml")
cat >"$S/job.sh" <<EOF
#!/bin/bash
export PATH=$BIN:/usr/local/bin:/usr/bin:/bin
export N56_ECHO_DIR=$S/out/\$SLURM_JOB_ID.\${SLURM_RESTART_COUNT:-0}
mkdir -p "\$N56_ECHO_DIR"
srun nam56r-launch --runtime n56-echo-runtime
# A second in RUNNING for the faults to hit.
sleep 1
EOF
chown "$U" "$S/job.sh" && chmod 0755 "$S/job.sh"

# ---- submit: all jobs at once (slurmctld queues them) -------------------
: >"$S/jobs"
i=0 njobs=0 arrays=0
while [ "$njobs" -lt "$JOBS" ]; do
	i=$((i + 1)) arr=
	if [ $((i % 4)) = 0 ]; then geo="-N2 --ntasks-per-node=2 --gpus-per-node=2"
	else geo="-N1 --ntasks-per-node=2 --gpus-per-node=2"; fi
	# Every 10th submission a job array of 4 (each task a recipe job).
	[ $((i % 10)) = 5 ] && [ $((JOBS - njobs)) -ge 4 ] && arr=--array=0-3
	# shellcheck disable=SC2086
	id=$(as_user "$S" sbatch --parsable $geo $arr --requeue -o "$S/slurm-%j.out" \
		--comment="soak-$i keep" --nam56r-recipe=r.yaml job.sh 2>>"$S/sbatch.err") &&
		echo "$id soak-$i" >>"$S/jobs"
	if [ -n "$arr" ]; then njobs=$((njobs + 4)) arrays=$((arrays + 1))
	else njobs=$((njobs + 1)); fi
done
submitted=$njobs
echo "soak: $i submissions ($njobs jobs, job arrays of 4 among them) in $((SECONDS - t0)) s"

# ---- faults, one at a time, while jobs are left -----------------------
declare -A faults=([slurmd_restart]=0 [requeue]=0 [node_down_resume]=0 [cancel_mid_launch]=0)
running() { squeue -h -t R -o %i 2>/dev/null; }
left() { squeue -h -o %i 2>/dev/null | wc -l; }
k=0
# FAULTS of them (default 32: 8 of each kind), 2 s apart, while jobs are left.
while [ "$(left)" -gt 0 ] && [ "$k" -lt "${FAULTS:-32}" ] &&
	[ $((SECONDS - t0)) -lt 900 ]; do
	k=$((k + 1))
	case $((k % 4)) in
	1) bash "$top/tests/cluster/cluster.sh" restart-slurmd --dir "$D" --node $((k % 2 + 1)) \
		>/dev/null 2>&1 && faults[slurmd_restart]=$((faults[slurmd_restart] + 1)) ;;
	2) j=$(running | shuf -n1); [ -n "$j" ] && scontrol requeue "$j" 2>/dev/null &&
		faults[requeue]=$((faults[requeue] + 1)) && echo "$j" >>"$S/requeued" ;;
	3) n=n$((k % 2 + 1))
	   scontrol update nodename="$n" state=down reason=soak 2>/dev/null &&
		faults[node_down_resume]=$((faults[node_down_resume] + 1))
	   sleep 1
	   scontrol update nodename="$n" state=resume 2>/dev/null ;;
	0) for _ in $(seq 1 20); do j=$(running | head -1); [ -n "$j" ] && break; sleep 0.05; done
	   [ -n "$j" ] && scancel "$j" 2>/dev/null && faults[cancel_mid_launch]=$((faults[cancel_mid_launch] + 1)) &&
		echo "$j" >>"$S/cancelled" ;;
	esac
	sleep 2
done
for _ in $(seq 1 1500); do [ "$(left)" = 0 ] && break; sleep 0.2; done
elapsed=$((SECONDS - t0))

# ---- check --------------------------------------------------------------
for _ in $(seq 1 50); do sinfo -h -N -o '%T' | grep -qvx idle || break; sleep 0.2; done
nodes_state=$(sinfo -h -N -o '%N %T' | sort -u | tr '\n' ' ')
drained=$(sinfo -h -N -o '%T' | grep -Eci 'drain|down|fail|inval')
: >"$S/states"
# Every record (an array's tasks are records of their own), then one row
# per job: id, state, comment, its last run's rank dir, its world.
while read -r id tag; do
	echo "### $tag"
	scontrol show job "$id" 2>/dev/null
done <"$S/jobs" >"$S/records"
python3 - "$S/records" "$S/out" "$S/states" <<'PY' >"$S/completed"
import glob, re, sys
rows, tag = [], None
for block in re.split(r"\n\s*\n|\n(?=### )", open(sys.argv[1]).read()):
    block = block.strip()
    if block.startswith("### "):
        tag, _, block = block.partition("\n")
        tag = tag[4:]
    m = re.search(r"\bJobId=(\d+)", block)
    if not m:
        continue
    jid = m.group(1)
    st = re.search(r"\bJobState=([A-Z_]+)", block)
    st = st.group(1) if st else "GONE"
    nn = re.search(r"\bNumNodes=(\d+)", block)
    com = re.search(r"^\s*Comment=(.*)$", block, re.M)
    runs = sorted(glob.glob(f"{sys.argv[2]}/{jid}.*"),
                  key=lambda p: int(p.rsplit(".", 1)[1]))
    open(sys.argv[3], "a").write(f"{jid} {st}\n")
    if st == "COMPLETED":
        print("\t".join([jid, tag or "", com.group(1) if com else "",
                         runs[-1] if runs else "",
                         str(int(nn.group(1)) * 2 if nn else 0)]))
PY
python3 - "$S/completed" "$sha" "$POLICY" <<'PY' >"$S/check.txt"
import os, re, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
sha, policy = sys.argv[2], sys.argv[3]
pins = {}
text = open(policy).read()
m = re.search(r"^  pinned:\n((?:    .*\n|\s*#.*\n)+)", text, re.M)
for line in (m.group(1) if m else "").splitlines():
    kv = re.match(r'\s+([A-Z_][A-Z0-9_]*):\s*"?([^"#]*)"?', line)
    if kv:
        pins[kv.group(1)] = kv.group(2).strip()
bad = []
for jid, tag, comment, run, world in rows:
    world = int(world)
    files = sorted(os.listdir(run)) if run and os.path.isdir(run) else []
    if len(files) != world:
        bad.append(f"job {jid}: {len(files)} rank files, want {world}")
        continue
    plan_shas, gpus_bad = set(), []
    for f in files:
        env = dict(l.split("=", 1) for l in open(os.path.join(run, f)).read().split("\n")
                   if "=" in l and not l.startswith("-"))
        plan_shas.add(env.get("NAM56R_PLAN_SHA256"))
        if env.get("SLURM_SPANK_NAM56R_RECIPE_SHA256") != sha:
            bad.append(f"job {jid} {f}: recipe sha {env.get('SLURM_SPANK_NAM56R_RECIPE_SHA256')}")
        for k, v in pins.items():
            if env.get(k) != v:
                bad.append(f"job {jid} {f}: {k}={env.get(k)}, pinned {v}")
        cvd = env.get("CUDA_VISIBLE_DEVICES", "").split(",")
        lr = int(env.get("LOCAL_RANK", "-1"))
        held = (env.get("SLURM_STEP_GPUS") or env.get("SLURM_JOB_GPUS", "")).split(",")
        if not (0 <= lr < len(cvd)) or cvd[lr] not in held:
            gpus_bad.append(f"{f}: GPU {cvd[lr] if 0 <= lr < len(cvd) else '?'} of {held}")
    if len(plan_shas) != 1:
        bad.append(f"job {jid}: {len(plan_shas)} plan sha256s")
    bad += [f"job {jid} {g}" for g in gpus_bad]
    if tag + " keep" not in comment or "nam56r:1 sha256=" + sha[:12] not in comment:
        bad.append(f"job {jid}: Comment={comment!r}")
print(f"checked {len(rows)} completed jobs, {len(bad)} problems")
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
check_rc=$?
states=$(cut -d' ' -f2 "$S/states" | sort | uniq -c | awk '{printf "%s=%s ", $2, $1}')
nfaults=0; for f in "${!faults[@]}"; do nfaults=$((nfaults + faults[$f])); done
echo "soak: $submitted jobs ($arrays arrays of 4) in ${elapsed} s; end states: $states"
echo "soak: $nfaults faults injected:$(for f in "${!faults[@]}"; do printf ' %s=%s' "$f" "${faults[$f]}"; done)"
echo "soak: $(head -1 "$S/check.txt")"
sed -n '2,21p' "$S/check.txt"
echo "soak: nodes at the end: $nodes_state(drained, down or failing: $drained)"
# A job that failed without a fault: its output says why (never silent).
unexplained=0
while read -r id st; do
	case $st in COMPLETED|CANCELLED|NODE_FAIL|REQUEUED|PREEMPTED|GONE) continue ;; esac
	grep -qx "$id" "$S/cancelled" 2>/dev/null && continue
	grep -q 'nam56r' "$S/slurm-$id.out" 2>/dev/null && continue
	unexplained=$((unexplained + 1))
	echo "soak: job $id $st without a nam56r message: $(head -2 "$S/slurm-$id.out" 2>/dev/null)"
done <"$S/states"
ok=1
[ "$check_rc" = 0 ] || ok=0
[ "$drained" = 0 ] || ok=0
[ "$unexplained" = 0 ] || ok=0
[ "$(wc -l <"$S/jobs")" = "$i" ] || { echo "soak: sbatch refused $((i - $(wc -l <"$S/jobs"))) submissions: $(head -2 "$S/sbatch.err")"; ok=0; }
[ "$(grep -c ' COMPLETED$' "$S/states")" -ge $((JOBS / 2)) ] ||
	{ echo "soak: fewer than half of the jobs completed"; ok=0; }
[ $ok = 1 ] || failed=1
teardown_cluster
trap - EXIT
if [ $ok = 1 ]; then echo "soak: PASS"; else echo "soak: FAIL"; exit 1; fi
