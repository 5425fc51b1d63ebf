#!/bin/bash
# A newer Slurm for the version matrix: a Debian chroot made with debootstrap
# from Debian's mirror, holding that release's Slurm (trixie: 24.11, sid:
# 26.05), munge and the project's build packages. The plugin is built inside
# it against that Slurm's headers, and the integration tests and the demo run
# there: tests/cluster/cluster.sh, run from inside the chroot, starts the
# chroot's munged, slurmctld and slurmd (one per network namespace).
#
# Usage: scripts/slurm-chroot.sh create SUITE    debootstrap + packages (idempotent)
#        scripts/slurm-chroot.sh version SUITE   prints the chroot's Slurm version
#        scripts/slurm-chroot.sh build SUITE     configure + make in build-SUITE/
#        scripts/slurm-chroot.sh check SUITE     make check in build-SUITE/
#        scripts/slurm-chroot.sh run SUITE -- CMD [ARGS...]
#                                                 CMD in the chroot, cwd the source
#        scripts/slurm-chroot.sh test SUITE [CASE...]  tests/integration/run.sh there
#        scripts/slurm-chroot.sh demo SUITE      scripts/demo.sh there
#        scripts/slurm-chroot.sh package SUITE   the Debian package for this Slurm
#                 (build-pkg-SUITE/), installed there, the demo against it, removed
#        scripts/slurm-chroot.sh remove SUITE    deletes the chroot
# SUITE is a Debian suite: trixie (Slurm 24.11) or sid (Slurm 26.05).
# Env: N56_CHROOT_BASE (default /var/lib/nam56r: the chroot is
#      $N56_CHROOT_BASE/slurm-SUITE), N56_MIRROR (http://deb.debian.org/debian),
#      JOBS (make -j, default 2).
# The source tree is bound at /n56/src inside the chroot (and ../shared, when
# present, at /n56/shared); builds go to /n56/src/build-SUITE. Root only.
# Exit status: the command's; 1 on a setup failure; 2 on usage.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base=${N56_CHROOT_BASE:-/var/lib/nam56r}
mirror=${N56_MIRROR:-http://deb.debian.org/debian}
JOBS=${JOBS:-2}

die() { echo "slurm-chroot.sh: $*" >&2; exit 1; }
usage() { sed -n '9,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# What the chroot needs: Slurm and munge, what cluster.sh and the tests
# call, and the plugin's build dependencies (configure has run on the host).
packages=(
	slurmctld slurmd slurm-client libslurm-dev munge
	iproute2 procps python3 passwd util-linux
	gcc make pkg-config libc6-dev
	libyaml-dev libhwloc-dev hwloc libjansson-dev nettle-dev libcmocka-dev
	# the Debian package for this release (scripts/package.sh deb)
	build-essential dpkg-dev debhelper
)

# apt options of a suite: sid's Release file on the mirror may be past its
# Valid-Until date; that check is relaxed for sid alone.
apt_conf_of() {
	case $1 in
	sid|unstable) echo 'Acquire::Check-Valid-Until "false";' ;;
	esac
}

check_suite() {
	case $1 in
	trixie|sid|forky|unstable|testing) ;;
	*) die "unknown suite '$1' (trixie or sid)" ;;
	esac
}

# in_chroot DIR CMD...: CMD inside DIR, in a private mount namespace with
# /proc, /sys, /dev, a tmpfs /run, the host's /etc/hosts (munged and
# slurmctld resolve the host's name) and the source tree bound in. cwd is
# /n56/src. The mounts vanish with the namespace.
in_chroot() {
	local dir=$1; shift
	local shared=
	[ -d "$top/../shared" ] && shared=$(cd "$top/../shared" && pwd)
	# The lock cluster.sh takes while choosing a bridge: one file for the
	# host's clusters and every chroot's.
	touch /run/n56-cluster.lock
	unshare -m --propagation private env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" JOBS="$JOBS" \
		N56_KEEP="${N56_KEEP:-0}" N56_D="$dir" N56_TOP="$top" N56_SHARED="$shared" \
		bash -c '
		set -e
		d=$N56_D
		# The root of the chroot a mount point: `ip -n NS` remounts /
		# as a slave, which fails on a plain directory.
		mount --bind "$d" "$d"
		mount -t proc proc "$d/proc"
		mount -t sysfs sysfs "$d/sys"
		mount --rbind /dev "$d/dev"
		mount -t tmpfs -o mode=0755 tmpfs "$d/run"
		mkdir -p "$d/run/lock" "$d/run/munge" "$d/n56/src" "$d/n56/shared"
		touch "$d/run/n56-cluster.lock"
		mount --bind /run/n56-cluster.lock "$d/run/n56-cluster.lock"
		[ -e "$d/etc/hosts" ] || : >"$d/etc/hosts"
		mount --bind -o ro /etc/hosts "$d/etc/hosts"
		mount --bind "$N56_TOP" "$d/n56/src"
		[ -z "$N56_SHARED" ] || mount --bind -o ro "$N56_SHARED" "$d/n56/shared"
		set +e
		cd "$d/n56/src" 2>/dev/null || true
		exec chroot "$d" /bin/sh -c "cd /n56/src && exec \"\$@\"" sh "$@"
		' sh "$@"
}

cmd_create() {
	local suite=$1 dir=$2 conf
	command -v debootstrap >/dev/null || die "debootstrap not found (run scripts/deps.sh)"
	mkdir -p "$base" || die "cannot create $base"
	if [ ! -x "$dir/usr/bin/apt-get" ] || [ ! -f "$dir/.n56-debootstrap-done" ]; then
		rm -rf "$dir"
		echo "slurm-chroot.sh: debootstrap $suite into $dir from $mirror"
		debootstrap --variant=minbase "$suite" "$dir" "$mirror" \
			>"$base/slurm-$suite.debootstrap.log" 2>&1 || {
			tail -20 "$base/slurm-$suite.debootstrap.log" >&2
			die "debootstrap $suite failed (log: $base/slurm-$suite.debootstrap.log)"
		}
		touch "$dir/.n56-debootstrap-done"
	fi
	conf=$(apt_conf_of "$suite")
	if [ -n "$conf" ]; then
		echo "$conf" >"$dir/etc/apt/apt.conf.d/99n56-valid-until"
	fi
	cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	# No service starts from a package's postinst: cluster.sh starts them.
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 0755 "$dir/usr/sbin/policy-rc.d"
	if [ -f "$dir/.n56-packages" ] &&
		[ "$(cat "$dir/.n56-packages")" = "${packages[*]}" ]; then
		echo "slurm-chroot.sh: $dir is ready ($(cmd_version "$dir"))"
		return 0
	fi
	echo "slurm-chroot.sh: installing ${packages[*]} in $dir"
	in_chroot "$dir" env DEBIAN_FRONTEND=noninteractive sh -c \
		'apt-get update -q && apt-get install -y -q --no-install-recommends "$@"' \
		sh "${packages[@]}" >"$base/slurm-$suite.apt.log" 2>&1 || {
		tail -30 "$base/slurm-$suite.apt.log" >&2
		die "installing packages in $dir failed (log: $base/slurm-$suite.apt.log)"
	}
	echo "${packages[*]}" >"$dir/.n56-packages"
	echo "slurm-chroot.sh: $dir is ready ($(cmd_version "$dir"))"
}

cmd_version() { # the Slurm of the chroot, as `slurmd -V` says it
	chroot "$1" /usr/sbin/slurmd -V 2>/dev/null | awk '{print $2}'
}

cmd_build() {
	local suite=$1 dir=$2
	[ -x "$top/configure" ] || die "no $top/configure: run autoreconf -fi first"
	in_chroot "$dir" sh -c '
		b=/n56/src/build-'"$suite"'
		rm -rf "$b" && mkdir -p "$b" && cd "$b" &&
		../configure -q --enable-werror && make -j"$JOBS" >make.log 2>&1 ||
			{ tail -40 make.log >&2; exit 1; }
		echo "slurm-chroot.sh: built $b against Slurm $(slurmd -V | cut -d" " -f2)"'
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case $cmd in -h|--help) usage ;; esac
[ $# -ge 1 ] || usage
suite=$1; shift
check_suite "$suite"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"
dir=$base/slurm-$suite
if [ "$cmd" != create ] && [ "$cmd" != remove ]; then
	[ -x "$dir/usr/sbin/slurmd" ] ||
		die "no chroot at $dir (scripts/slurm-chroot.sh create $suite)"
fi
case $cmd in
create) cmd_create "$suite" "$dir" ;;
version) cmd_version "$dir" ;;
build) cmd_build "$suite" "$dir" ;;
check)
	[ -f "$top/build-$suite/Makefile" ] ||
		die "not built for $suite (scripts/slurm-chroot.sh build $suite)"
	in_chroot "$dir" sh -c 'make -C "$1" -j"$JOBS" check >"$1/check.log" 2>&1 ||
		{ tail -60 "$1/check.log"; cat "$1"/tests/*.log 2>/dev/null | tail -60; exit 1; }
		grep -E "^# (TOTAL|PASS|SKIP|FAIL|ERROR)" "$1/check.log"' sh "/n56/src/build-$suite" ;;
run)
	[ "${1:-}" = -- ] && shift
	[ $# -ge 1 ] || usage
	in_chroot "$dir" "$@" ;;
test)
	[ -f "$top/build-$suite/.libs/spank_nam56r.so" ] ||
		die "not built for $suite (scripts/slurm-chroot.sh build $suite)"
	in_chroot "$dir" bash tests/integration/run.sh "/n56/src/build-$suite" "$@" ;;
demo)
	in_chroot "$dir" env BUILD="/n56/src/build-$suite" bash scripts/demo.sh --no-deps ;;
package)
	in_chroot "$dir" sh -c 'bash scripts/package.sh deb --no-lintian --out "$1" &&
		BUILD="$2" bash scripts/package.sh install --out "$1"' sh \
		"/n56/src/build-pkg-$suite" "/n56/src/build-$suite" ;;
remove)
	[ -d "$dir" ] || { echo "slurm-chroot.sh: no $dir"; exit 0; }
	grep -q " $dir/" /proc/mounts && die "$dir still has mounts: not removed"
	rm -rf "$dir" && echo "slurm-chroot.sh: removed $dir" ;;
*) usage ;;
esac
