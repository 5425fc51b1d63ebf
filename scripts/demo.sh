#!/bin/bash
# The README's main command. On a fresh Debian 12 machine, as root:
#   installs the packages (scripts/deps.sh), builds nam56r-launch and the
#   SPANK plugin, starts a local Slurm cluster (2 nodes x 8 fake GPUs, the
#   plugin `required` with examples/policy.yaml), submits
#     sbatch --nam56r-recipe=examples/nam56r.yaml examples/train.sh
#   as an ordinary user, waits, shows `scontrol show job` with the placement
#   record, `nam56r-launch placement JOBID` and what a few ranks got (argv and
#   env, from the echo runtime), then tears everything down.
# Usage: scripts/demo.sh [--no-deps] [--keep] [--installed]
#   --no-deps    packages are installed already
#   --keep       leave the cluster running (cluster.sh down --dir D stops it)
#   --installed  the installed package slurm-spank-nam56r instead of the
#                build: its plugin loaded where dpkg put it, its
#                nam56r-launch and /etc/nam56r/policy.yaml (only the echo
#                runtime, a test program, comes from the build)
# Env: BUILD (default ./build-demo), JOBS (make -j, default 2).
# Exit status: 0 when the job ran on every rank, 1 otherwise.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
deps=1 keep=0 installed=0
for a in "$@"; do
	case $a in
	--no-deps) deps=0 ;;
	--keep) keep=1 ;;
	--installed) installed=1 ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it starts slurmd)" >&2; exit 1; }
BUILD=${BUILD:-$top/build-demo}
JOBS=${JOBS:-2}
user=${N56_USER:-n56user}
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
show() { printf '\033[2m$ %s\033[0m\n' "$*"; }

if [ $deps = 1 ]; then
	step "installing packages (scripts/deps.sh)"
	bash "$top/scripts/deps.sh"
fi

step "building in $BUILD"
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
mkdir -p "$BUILD"
if [ $installed = 1 ]; then
	(cd "$BUILD" && { [ -f Makefile ] || "$top/configure" -q; } &&
		make -j"$JOBS" tests/n56-echo-runtime >/dev/null)
	plugin=$(dpkg-query -L slurm-spank-nam56r 2>/dev/null | grep '/spank_nam56r\.so$') ||
		{ echo "demo.sh: slurm-spank-nam56r is not installed" >&2; exit 1; }
	launch=/usr/bin/nam56r-launch policy=/etc/nam56r/policy.yaml
	[ -x "$launch" ] && [ -f "$policy" ] ||
		{ echo "demo.sh: the package lacks $launch or $policy" >&2; exit 1; }
	echo "installed: $(dpkg-query -W -f='${Package} ${Version}' slurm-spank-nam56r): $plugin, $launch, $policy"
	cluster_plugin=(--plugin "$plugin" --plugin-in-place)
else
	(cd "$BUILD" && { [ -f Makefile ] || "$top/configure" -q; } &&
		make -j"$JOBS" nam56r-launch spank_nam56r.la tests/n56-echo-runtime >/dev/null)
	echo "built $BUILD/nam56r-launch, $BUILD/.libs/spank_nam56r.so, $BUILD/tests/n56-echo-runtime"
	launch=$BUILD/nam56r-launch policy=$top/examples/policy.yaml
	cluster_plugin=(--plugin "$BUILD/.libs/spank_nam56r.so")
fi

step "starting a local Slurm cluster with the plugin"
D=$(mktemp -d /tmp/n56-demo.XXXXXX)
chmod 0755 "$D"
cleanup() {
	if [ $keep = 1 ]; then
		echo "demo.sh: cluster left running: $top/tests/cluster/cluster.sh down --dir $D --purge"
	else
		step "tearing down"
		bash "$top/tests/cluster/cluster.sh" down --dir "$D" --purge || true
	fi
}
trap cleanup EXIT
bash "$top/tests/cluster/cluster.sh" up --dir "$D" --nodes 2 --gpus 8 \
	"${cluster_plugin[@]}" --policy "$policy"
# shellcheck disable=SC1091
. "$D/env"
echo "plugstack.conf: $(cat "$D/etc/plugstack.conf")"
# runtime.allowed_commands matches the resolved program: the stand-in
# runtime lives in $D/bin, outside the system directories a bare name
# stands for, so the cluster's policy names it by its path.
sed -i "s|^    - n56-echo-runtime .*|&\n    - \"$D/bin/n56-echo-runtime\"|" "$D/etc/policy.yaml"

# What the user owns: the example files and the programs, in the work dir.
W=$D/work
install -d -m 0755 "$D/bin"
install -m 0755 "$BUILD/tests/n56-echo-runtime" "$D/bin/"
[ $installed = 1 ] || install -m 0755 "$launch" "$D/bin/"
install -d -o "$user" -m 0755 "$W/examples"
install -o "$user" -m 0644 "$top/examples/nam56r.yaml" "$W/examples/"
install -o "$user" -m 0755 "$top/examples/train.sh" "$W/examples/"
as_user() {
	(cd "$W" && runuser -u "$user" -- env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8 \
		PATH="$D/bin:/usr/local/bin:/usr/bin:/bin" SLURM_CONF="$SLURM_CONF" "$@")
}

step "submitting as $user"
show "sbatch --nam56r-recipe=examples/nam56r.yaml examples/train.sh"
out=$(as_user sbatch --nam56r-recipe=examples/nam56r.yaml examples/train.sh 2>&1) ||
	{ echo "$out"; echo "demo.sh: sbatch refused the job" >&2; exit 1; }
echo "$out"
job=$(echo "$out" | grep -o '[0-9]\+$')

step "waiting for job $job"
state=
for _ in $(seq 1 300); do
	state=$(scontrol show job "$job" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
	case $state in PENDING|RUNNING|CONFIGURING|COMPLETING) sleep 0.2 ;; *) break ;; esac
done
echo "job $job: $state"

step "the job, with the placement record in Comment"
show "scontrol show job $job"
scontrol show job "$job"

step "the per-rank table, rebuilt from the record"
show "nam56r-launch placement $job"
as_user nam56r-launch placement "$job" || true

step "the job's output"
show "cat nam56r-$job.out"
cat "$W/nam56r-$job.out" 2>/dev/null || echo "(no output file)"

step "what a few ranks got (n56-echo-runtime)"
ranks=$W/nam56r-ranks-$job
nfiles=$(ls "$ranks" 2>/dev/null | wc -l)
echo "$nfiles rank files in $ranks"
argv_of() { sed -n "2,$(($(head -1 "$1" | cut -d' ' -f2) + 1))p" "$1"; }
env_of() { sed -n "$(($(head -1 "$1" | cut -d' ' -f2) + 3)),\$p" "$1"; }
f0=$(ls "$ranks"/*.0.txt 2>/dev/null | head -1)
if [ -n "$f0" ]; then
	echo
	echo "rank 0 on $(basename "$f0" | cut -d. -f1): argv (the generated native args, nothing else)"
	argv_of "$f0" | tr '\n' ' ' | fold -w 96 -s | sed 's/^/    /'
	echo
	echo "rank 0: env set by the plugin (rank identity, placement, fixed policy, patch surface)"
	env_of "$f0" | grep -E '^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|GROUP_RANK|MASTER_ADDR|MASTER_PORT|CUDA_VISIBLE_DEVICES|CUDA_DEVICE_MAX_CONNECTIONS|TORCH_NCCL_[A-Z_]*|NCCL_[A-Z_]*|NAM56R_[A-Z_0-9]*)=' |
		sed 's/^/    /'
	echo
	for r in 1 7 8 15; do
		f=$(ls "$ranks"/*."$r".txt 2>/dev/null | head -1)
		[ -n "$f" ] || continue
		same="argv differs from rank 0"
		[ "$(argv_of "$f")" = "$(argv_of "$f0")" ] && same="argv as rank 0"
		printf 'rank %-2s on %s: %s; %s\n' "$r" "$(basename "$f" | cut -d. -f1)" "$same" \
			"$(env_of "$f" | grep -E '^(RANK|LOCAL_RANK|GROUP_RANK|NAM56R_(TP|DP|PP)_RANK|NAM56R_ISLAND)=' | tr '\n' ' ')"
	done
fi
[ "$state" = COMPLETED ] && [ "$nfiles" = 16 ]
