#!/bin/sh
# The preflight on one node of four GPUs, as run on the device machine
# (nvidia-h100-x4 / nvidia-h200-x4), every rank started by
# `nam56r-launch local -n 4`. The binaries and the libraries the image lacks
# travel in CARRY (bin/, lib/, hwloc/); NCCL is the image's Python wheel.
# usage: preflight/run-device-x4.sh CARRY OUTDIR [CASE...]
#   OUTDIR gets, per case, NAME.txt (the table), NAME.json, NAME.err and
#   NAME.rc, and topo.txt, topo.json, smi.txt and live.xml. Cases:
#     topo        nvidia-smi topo -m, `nam56r-launch topology` (text, json),
#                 lstopo-no-graphics --of xml
#     tp4         tp 4 as planned: expect PASS
#     tp4off      the same with NCCL_P2P_DISABLE=1: expect FAIL naming tp 0
#     tp2dp2      tp 2, dp 2 (two TP groups), --min-dp-busbw 100
#     ep4         tp 1, ep 4, dp 4: all-to-all and all-reduce
#     gpuorder4   tp 2, dp 2 with the GPU order forced to 0,2,1,3 (each TP
#                 group split across the halves): on a fully switched node
#                 every pair is NVLink, so expect PASS
#     tp2cp2      tp 2, cp 2: two TP groups and two context-parallel rings
#                 (CP reported without a threshold)
# NCCL_NVLS_ENABLE stays 0 in every process: multicast can take a shared
# host's GPUs out of service.
set -u
carry=${1:?usage: run-device-x4.sh CARRY OUTDIR [CASE...]}
out=${2:?usage: run-device-x4.sh CARRY OUTDIR [CASE...]}
shift 2
here=$(dirname "$0")
bin=$carry/bin
n=4
export NCCL_NVLS_ENABLE=0
mkdir -p "$out"

# The image's NCCL sits in the nvidia-nccl wheel of the python3 that holds
# PyTorch; ask that python where, else look for the library.
nccl=$(python3 -c 'import nvidia.nccl as m, os
print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null)
if [ ! -e "$nccl/libnccl.so.2" ]; then
	nccl=$(find / -xdev -name libnccl.so.2 2>/dev/null | head -n 1)
	nccl=${nccl%/*}
fi
echo "== NCCL from $nccl"
export LD_LIBRARY_PATH="$carry/lib:$nccl"${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export HWLOC_PLUGINS_PATH="$carry/hwloc"

# run NAME "LOCAL OPTIONS" "PREFLIGHT ARGS" [VAR=VALUE...]
run() {
	name=$1 lopts=$2 pargs=$3
	shift 3
	echo "== $name: env NCCL_NVLS_ENABLE=0 $* nam56r-launch local -n $n" \
		"$lopts -- nam56r-preflight --json $name.json $pargs"
	# a hung rendezvous must not eat the whole call
	# shellcheck disable=SC2086 # the options are words on purpose
	env NCCL_NVLS_ENABLE=0 "$@" timeout -k 10 150 \
		"$bin/nam56r-launch" local -n "$n" $lopts -- \
		"$bin/nam56r-preflight" --timeout 60 \
		--json "$out/$name.json" $pargs \
		>"$out/$name.txt" 2>"$out/$name.err"
	rc=$?
	cat "$out/$name.txt" "$out/$name.err"
	echo "== $name: exit status $rc"
	echo "$rc" >"$out/$name.rc"
}

topo() {
	echo "== nvidia-smi"
	nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,memory.total \
		--format=csv >"$out/smi.txt" 2>&1
	nvidia-smi topo -m >>"$out/smi.txt" 2>&1
	cat "$out/smi.txt"
	echo "== nam56r-launch topology"
	"$bin/nam56r-launch" topology >"$out/topo.txt" 2>&1
	echo "exit status $?" >>"$out/topo.txt"
	"$bin/nam56r-launch" topology --format json >"$out/topo.json" \
		2>"$out/topo.err"
	echo "json exit status $?" >>"$out/topo.txt"
	cat "$out/topo.txt" "$out/topo.json" "$out/topo.err"
	echo "== lstopo-no-graphics --of xml"
	"$bin/lstopo-no-graphics" --of xml >"$out/live.xml" 2>"$out/lstopo.err"
	echo "lstopo exit status $?, $(wc -c <"$out/live.xml") bytes"
	cat "$out/lstopo.err"
	# the exported XML read back: what a node without NVML would see
	"$bin/nam56r-launch" topology --topology "$out/live.xml" \
		>"$out/topo-xml.txt" 2>&1
	cat "$out/topo-xml.txt"
}

[ $# -gt 0 ] || set -- topo tp4 tp4off tp2dp2 ep4 gpuorder4 tp2cp2
for c in "$@"; do
	case $c in
	topo) topo ;;
	tp4) run tp4 "--recipe $here/tp4.yaml" "" ;;
	tp4off) run tp4off "--recipe $here/tp4.yaml" "" NCCL_P2P_DISABLE=1 ;;
	tp2dp2) run tp2dp2 "--recipe $here/tp2dp2.yaml" "--min-dp-busbw 100" ;;
	ep4) run ep4 "--recipe $here/ep4.yaml" "--min-dp-busbw 100" ;;
	gpuorder4) run gpuorder4 \
		"--recipe $here/tp2dp2.yaml --gpu-order 0,2,1,3" \
		"--min-dp-busbw 100" ;;
	tp2cp2) run tp2cp2 "--recipe $here/tp2cp2.yaml" "" ;;
	*) echo "run-device-x4.sh: unknown case '$c'" >&2; exit 2 ;;
	esac
done
