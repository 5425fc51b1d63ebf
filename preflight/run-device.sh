#!/bin/sh
# The preflight on one GPU node, as run on the device machine (2 GPUs on
# NVLink), every rank started by `nam56r-launch local`.
# usage: preflight/run-device.sh BINDIR OUTDIR [CASE...]
#   BINDIR holds nam56r-launch and nam56r-preflight; OUTDIR gets, per case,
#   NAME.txt (the table), NAME.json, NAME.err and NAME.rc. Cases:
#     planned    tp 2 as planned: expect PASS
#     offnvlink  the same with NCCL_P2P_DISABLE=1: expect FAIL naming tp 0
#     pp2        the built-in recipe (tp 1, pp 2): send/recv between stages
#     ep2        tp 1, ep 2, dp 2 with --min-dp-busbw 100: all-reduce and
#                all-to-all
#     gpuorder   tp 2 with the GPU order forced to 1,0
#     degraded   tp 2 placed from an XML without NVLink facts: no
#                expectation, INFO
#     cp2        cp 2: the context-parallel ring exchange, INFO
# NCCL_NVLS_ENABLE stays 0: multicast can take a shared host's GPUs out of
# service.
set -u
bin=${1:?usage: run-device.sh BINDIR OUTDIR [CASE...]}
out=${2:?usage: run-device.sh BINDIR OUTDIR [CASE...]}
shift 2
here=$(dirname "$0")
n=${N:-2}
export NCCL_NVLS_ENABLE=0
mkdir -p "$out"

# run NAME "LOCAL OPTIONS" "PREFLIGHT ARGS" [VAR=VALUE...]
run() {
	name=$1 lopts=$2 pargs=$3
	shift 3
	echo "== $name: env NCCL_NVLS_ENABLE=0 $* nam56r-launch local -n $n" \
		"$lopts -- nam56r-preflight --json $name.json $pargs"
	# shellcheck disable=SC2086 # the options are words on purpose
	env NCCL_NVLS_ENABLE=0 "$@" "$bin/nam56r-launch" local -n "$n" \
		$lopts -- "$bin/nam56r-preflight" --json "$out/$name.json" \
		$pargs >"$out/$name.txt" 2>"$out/$name.err"
	rc=$?
	cat "$out/$name.txt" "$out/$name.err"
	echo "== $name: exit status $rc"
	echo "$rc" >"$out/$name.rc"
}

[ $# -gt 0 ] || set -- planned offnvlink
for c in "$@"; do
	case $c in
	planned) run planned "--recipe $here/tp2.yaml" "" ;;
	offnvlink) run offnvlink "--recipe $here/tp2.yaml" "" \
		NCCL_P2P_DISABLE=1 ;;
	pp2) run pp2 "" "" ;;
	ep2) run ep2 "--recipe $here/ep2.yaml" "--min-dp-busbw 100" ;;
	gpuorder) run gpuorder "--recipe $here/tp2.yaml --gpu-order 1,0" "" ;;
	degraded) run degraded "--recipe $here/tp2.yaml --topology \
$here/data/h200-x2-live.xml" "" ;;
	cp2) run cp2 "--recipe $here/cp2.yaml" "" ;;
	*) echo "run-device.sh: unknown case '$c'" >&2; exit 2 ;;
	esac
done
