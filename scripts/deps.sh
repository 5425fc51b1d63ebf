#!/bin/bash
# Installs every Debian 12 package nam56r-launch needs to build, test and run
# its local Slurm cluster. Idempotent: packages already present are kept.
# Run as root (or it uses sudo when available). Exit status: apt-get's.
set -euo pipefail
packages=(
	# build tools
	autoconf automake libtool pkg-config make gcc clang
	# the C style check (scripts/check-format.sh: Debian 12's is 14)
	clang-format
	# libraries
	libyaml-dev libhwloc-dev hwloc libjansson-dev nettle-dev
	# unit tests
	libcmocka-dev valgrind
	# the local Slurm cluster of the integration tests and the demo
	slurm-wlm slurmctld slurmd slurm-client libslurm-dev munge
	iproute2 util-linux passwd python3
	# the chroots: the Megatron conformance chroot (scripts/megatron-chroot.sh)
	# and the version matrix's newer Debian releases (scripts/slurm-chroot.sh)
	debootstrap debian-archive-keyring
	# plan --picture's render test (tests/picture-render.sh); libxml2-utils
	# checks the SVG's well-formedness (tests/plan-schedule.sh)
	chromium libxml2-utils
	# packages for sites (scripts/package.sh): Debian's, and an RPM
	build-essential dpkg-dev debhelper lintian rpm
)
as_root=()
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: run as root" >&2; exit 1; }
	as_root=(sudo)
fi
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then
	echo "deps.sh: all ${#packages[@]} packages installed"
	exit 0
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}"
