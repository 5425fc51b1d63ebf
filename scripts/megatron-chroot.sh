#!/bin/bash
# Creates the Debian 13 (trixie) chroot in which the Megatron conformance
# harness runs Megatron-LM's start-up code: Debian's python3-torch 2.6,
# numpy, packaging and yaml, nothing from outside Debian. Idempotent: a
# chroot whose torch imports is kept.
# Usage: scripts/megatron-chroot.sh [DIR]
#   DIR  default $NAM56R_MEGATRON_CHROOT, else /var/lib/nam56r/megatron-trixie
# Env: DEBIAN_MIRROR (default: the first deb.debian.org-style URI in this
# machine's apt sources, else http://deb.debian.org/debian).
# Exit status: 0 ready, 1 failure. Root only. About 1.6 GB, 2-10 minutes.
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
dir=${1:-${NAM56R_MEGATRON_CHROOT:-/var/lib/nam56r/megatron-trixie}}
die() { echo "megatron-chroot.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	mirror=$(grep -hoE '^URIs: *http[^ ]*/debian$|^deb +http[^ ]*/debian ' \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		head -1 | sed -E 's/^URIs: *//; s/^deb +//; s/ *$//' || true)
	mirror=${mirror:-http://deb.debian.org/debian}
fi
if [ -x "$dir/usr/bin/python3" ] &&
	chroot "$dir" python3 -c 'import torch, numpy, yaml, packaging' 2>/dev/null; then
	echo "megatron-chroot.sh: $dir ready ($(chroot "$dir" python3 -c 'import torch; print("torch", torch.__version__)' 2>/dev/null | grep -o 'torch .*'))"
	exit 0
fi
command -v debootstrap >/dev/null || {
	apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
} || die "cannot install debootstrap"
mkdir -p "$dir"
echo "megatron-chroot.sh: debootstrap trixie into $dir from $mirror"
if [ ! -x "$dir/usr/bin/python3" ]; then
	debootstrap --variant=minbase \
		--include=python3,python3-numpy,python3-packaging,python3-yaml \
		trixie "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
		{ tail -20 "$dir.debootstrap.log" >&2; die "debootstrap failed (log: $dir.debootstrap.log)"; }
fi
chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends python3-torch python3-setuptools >"$dir.apt.log" 2>&1 ||
	{ tail -20 "$dir.apt.log" >&2; die "apt-get install python3-torch failed in the chroot (log: $dir.apt.log)"; }
chroot "$dir" apt-get clean
mkdir -p "$dir/mnt/megatron" "$dir/mnt/judge"
chroot "$dir" python3 -c 'import torch; print("megatron-chroot.sh: ready, torch", torch.__version__)' 2>/dev/null ||
	die "torch does not import in $dir"
