#!/bin/bash
# The CPU-side benchmarks on a GPU node, for absolute figures (the
# development machine is shared and only its ratios mean much).
# usage: bench/run-device.sh BENCHDIR OUTDIR
#   BENCHDIR holds nam56r-launch, n56-echo-runtime, bench_plan, bench_rank,
#   bench_layout and bench_topology built for the node (and GNU time as
#   BENCHDIR/time when the node lacks /usr/bin/time), and lib/ with the
#   shared libraries the node lacks (put on LD_LIBRARY_PATH, which
#   bench_exec.sh passes through), and hwloc/ with hwloc's PCI plugin when
#   the node lacks it. OUTDIR gets one NAME.txt per benchmark:
#     cpu       the node's processor and core count
#     plan131k  `nam56r-launch plan` of 16,384 nodes x 8 GPUs as JSON to
#               /dev/null: wall time and peak RSS of the whole process, 5 runs
#     plan      bench_plan (8k, 32k, 131k ranks)
#     rank      bench_rank
#     layout    bench_layout 52 (the NAM56R depth)
#     topology  bench_topology 20 (live vs the cache)
#     exec      bench_exec.sh (wrapper start to execve vs the runtime alone)
set -u
b=$(cd "${1:?usage: run-device.sh BENCHDIR OUTDIR}" && pwd) || exit 2
out=${2:?usage: run-device.sh BENCHDIR OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out" "$b/tests"
export LD_LIBRARY_PATH=$b/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# hwloc's PCI plugin, when the node has no hwloc of its own
[ -d "$b/hwloc" ] && export HWLOC_PLUGINS_PATH=$b/hwloc
# bench_exec.sh wants BUILD/nam56r-launch and BUILD/tests/n56-echo-runtime
ln -sf "$b/n56-echo-runtime" "$b/tests/n56-echo-runtime"

# NAM56R with tp 8, pp 4, ep 8 and a global batch that fits 131,072 ranks
big=$out/big.yaml
sed -e 's/^  tp: 1$/  tp: 8/' -e 's/^  pp: 2$/  pp: 4/' -e 's/^  ep: 1$/  ep: 8/' \
	-e 's/^  global_batch_size: 64$/  global_batch_size: 65536/' \
	"$top/examples/nam56r.yaml" >"$big"

bench() { # NAME CMD...: output to OUTDIR/NAME.txt and to stdout
	local name=$1
	shift
	echo "== $name: $*"
	"$@" >"$out/$name.txt" 2>&1
	echo "exit status $?" >>"$out/$name.txt"
	cat "$out/$name.txt"
}
bench cpu sh -c 'nproc; grep -m1 "model name" /proc/cpuinfo; uname -r'
# wall time and peak RSS of the whole process (GNU time: BENCHDIR/time
# when the node has none), 5 runs
gtime=/usr/bin/time
[ -x "$b/time" ] && gtime=$b/time
bench plan131k sh -c 'for i in 1 2 3 4 5; do "$0" -f "%e s %M KiB" "$1" plan \
	--recipe "$2" --nodes 16384 --format json >/dev/null || exit 1; done' \
	"$gtime" "$b/nam56r-launch" "$big"
bench plan "$b/bench_plan"
bench rank "$b/bench_rank"
bench layout "$b/bench_layout" 52
bench topology "$b/bench_topology" 20
bench exec bash "$top/bench/bench_exec.sh" "$b" 10 50
