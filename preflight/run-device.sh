#!/bin/sh
# The preflight's run on one GPU node, as on the device machine: the planned
# placement, then the same run forced off NVLink (NCCL_P2P_DISABLE=1).
# usage: preflight/run-device.sh BINDIR OUTDIR
#   BINDIR holds nam56r-launch and nam56r-preflight, OUTDIR gets the tables
#   and JSON reports. NCCL_NVLS_ENABLE stays 0: multicast can take a shared
#   host's GPUs out of service.
set -u
bin=${1:?usage: run-device.sh BINDIR OUTDIR}
out=${2:?usage: run-device.sh BINDIR OUTDIR}
n=${N:-2}
recipe=${RECIPE:-$(dirname "$0")/tp2.yaml}
export NCCL_NVLS_ENABLE=0
mkdir -p "$out"

run() { # name, then env assignments for the ranks
	name=$1
	shift
	echo "== $name: env $* nam56r-launch local -n $n --recipe $recipe" \
		"-- nam56r-preflight --json $out/$name.json"
	env "$@" "$bin/nam56r-launch" local -n "$n" --recipe "$recipe" -- \
		"$bin/nam56r-preflight" --json "$out/$name.json" \
		>"$out/$name.txt" 2>"$out/$name.err"
	rc=$?
	cat "$out/$name.txt" "$out/$name.err"
	echo "== $name: exit status $rc"
	echo "$rc" >"$out/$name.rc"
}

run planned NCCL_NVLS_ENABLE=0
run offnvlink NCCL_NVLS_ENABLE=0 NCCL_P2P_DISABLE=1
