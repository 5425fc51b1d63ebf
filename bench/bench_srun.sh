#!/bin/bash
# What the SPANK plugin costs srun: `srun -N2 --ntasks-per-node=8
# --gpus-per-node=8 true` on the local cluster (tests/cluster), as the user,
#   absent  plugstack.conf empty
#   loaded  the plugin listed (required), no recipe given
#   active  the plugin listed and --nam56r-recipe=examples/nam56r.yaml
#           (submission checks, carried content, per-rank env in task_init)
# Runs are interleaved (the order rotates every round) so that drift of the
# machine hits every variant alike; prints each variant's median and mean
# and the ratios of the medians to `absent`. Target: active within 5%.
# Usage: bench/bench_srun.sh BUILDDIR [ROUNDS]   (root; ROUNDS default 20)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
rounds=${2:-20}
[ "$(id -u)" = 0 ] || { echo "bench_srun.sh: run as root" >&2; exit 2; }
[ -f "$B/.libs/spank_nam56r.so" ] || { echo "bench_srun.sh: build $B first" >&2; exit 2; }
user=${N56_USER:-n56user}

D=$(mktemp -d /tmp/n56-bench.XXXXXX) && chmod 0755 "$D" || exit 1
trap 'bash "$top/tests/cluster/cluster.sh" down --dir "$D" --purge >/dev/null' EXIT
bash "$top/tests/cluster/cluster.sh" up --dir "$D" --nodes 2 --gpus 8 \
	--plugin "$B/.libs/spank_nam56r.so" --policy "$top/examples/policy.yaml" >/dev/null ||
	{ echo "bench_srun.sh: the cluster did not come up" >&2; exit 1; }
# shellcheck disable=SC1091
. "$D/env"
install -o "$user" -m 0644 "$top/examples/nam56r.yaml" "$D/work/r.yaml"
with_plugin=$(cat "$D/etc/plugstack.conf")

# Slurm reads plugstack.conf afresh in every srun and every slurmstepd.
set_plugin() { if [ "$1" = absent ]; then : >"$D/etc/plugstack.conf"; else echo "$with_plugin" >"$D/etc/plugstack.conf"; fi; }

run_once() { # VARIANT: prints the wall time in microseconds
	local extra=() t0 t1
	[ "$1" = active ] && extra=(--nam56r-recipe=r.yaml)
	set_plugin "$1"
	t0=$(date +%s%N)
	(cd "$D/work" && runuser -u "$user" -- env -i PATH=/usr/bin:/bin \
		SLURM_CONF="$SLURM_CONF" srun -N2 --ntasks-per-node=8 \
		--gpus-per-node=8 "${extra[@]}" true) >/dev/null 2>"$D/srun.err" ||
		{ echo "bench_srun.sh: srun ($1) failed: $(cat "$D/srun.err")" >&2; return 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

variants=(absent loaded active)
declare -A times
for v in "${variants[@]}"; do run_once "$v" >/dev/null || exit 1; done # warm-up
for r in $(seq 0 $((rounds - 1))); do
	for k in 0 1 2; do
		v=${variants[$(((r + k) % 3))]}
		t=$(run_once "$v") || exit 1
		times[$v]="${times[$v]:-} $t"
	done
done
set_plugin loaded
[ -n "${N56_BENCH_RAW:-}" ] && for v in "${variants[@]}"; do echo "$v:${times[$v]}"; done

stats() { # "median mean max" in ms of the microsecond list
	echo "$1" | tr ' ' '\n' | grep . | sort -n |
		awk '{a[NR]=$1; s+=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2;
			printf "%.1f %.1f %.1f\n", m / 1000, s / NR / 1000, a[NR] / 1000}'
}
read -r base_med _ _ <<<"$(stats "${times[absent]}")"
echo "srun -N2 --ntasks-per-node=8 --gpus-per-node=8 true, $rounds interleaved rounds ($N56_CLUSTER_MODE mode)"
printf '%-8s %10s %10s %10s %14s\n' variant "median ms" "mean ms" "max ms" "median/absent"
for v in "${variants[@]}"; do
	read -r med mean max <<<"$(stats "${times[$v]}")"
	printf '%-8s %10s %10s %10s %14s\n' "$v" "$med" "$mean" "$max" \
		"$(awk -v a="$med" -v b="$base_med" 'BEGIN {printf "%.3f", a / b}')"
done
