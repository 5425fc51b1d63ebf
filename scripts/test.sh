#!/bin/bash
# The project's whole test suite, as README.md gives it and CI runs it:
#   the C style check (.clang-format), unit tests (cmocka), the same
#   under ASan+UBSan and under valgrind,
#   the fuzzers for a bounded time, `make distcheck`, and the integration
#   tests on a real local Slurm cluster (munge, slurmctld, 2 slurmd), a
#   soak of recipe jobs under injected faults on that cluster,
#   Megatron's start-up code on a slice of the conformance corpus
#   (tests/megatron/README), then the README's main command
#   (scripts/demo.sh) on the same build;
#   then the packages (scripts/package.sh: the Debian package built, checked
#   by lintian, installed, the demo run against it, removed; the RPM built);
#   then the version matrix: the same integration tests and demo on Slurm
#   24.11 (Debian 13) and 26.05 (Debian sid), each from a chroot that
#   scripts/slurm-chroot.sh makes with debootstrap, the plugin built there.
# Usage: scripts/test.sh [--quick] [--no-deps] [--no-matrix]
#   --quick      unit tests, integration tests and the demo only (with the matrix)
#   --no-deps    do not run scripts/deps.sh (packages already installed)
#   --no-matrix  only the host's Slurm (22.05), no chroots
# Env: FUZZ_SECONDS (default 60 per fuzzer), JOBS (default 2),
#      SOAK_JOBS (default 200), MEGATRON_SLICE (default 120 corpus recipes),
#      N56_MATRIX (default "trixie sid": the chroot suites),
#      N56_CHROOT_BASE (where the chroots live, default /var/lib/nam56r).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
quick=0 deps=1 matrix=1
for a in "$@"; do
	case $a in
	--quick) quick=1 ;;
	--no-deps) deps=0 ;;
	--no-matrix) matrix=0 ;;
	-h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "test.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
JOBS=${JOBS:-2}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
SOAK_JOBS=${SOAK_JOBS:-200}
passed=0 failed=0 failures=()

stage() { # stage NAME CMD...: run one stage, count it, keep going
	local name=$1; shift
	echo "=== $name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failures+=("$name")
		echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

if [ $deps = 1 ]; then
	bash scripts/deps.sh || { echo "test.sh: installing packages failed" >&2; exit 1; }
fi
autoreconf -fi >/dev/null || { echo "test.sh: autoreconf failed" >&2; exit 1; }

build() { # build DIR CONFIGURE-ARGS...: warnings are errors here
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
		"$top/configure" -q --enable-werror "$@" && make -j"$JOBS" && cd "$top"
}
unit() { make -C "$1" -j"$JOBS" check || { cat "$1"/tests/*.log 2>/dev/null | tail -100; return 1; }; }

stage "C style (.clang-format, scripts/check-format.sh)" \
	bash scripts/check-format.sh --require
stage "build" build "$top/build"
stage "unit tests" unit "$top/build"
if [ $quick = 0 ]; then
	stage "unit tests under valgrind" make -C "$top/build" check-valgrind
	stage "build with ASan+UBSan and fuzzers (clang)" \
		build "$top/build-san" CC=clang --enable-sanitizers --enable-fuzzers
	stage "unit tests under ASan+UBSan" unit "$top/build-san"
	stage "fuzzers (${FUZZ_SECONDS} s each)" \
		bash tests/fuzz/run.sh "$FUZZ_SECONDS" "$top/build-san"
	stage "make distcheck" make -C "$top/build" distcheck
fi
# Megatron's own start-up code on a fixed slice of the conformance corpus,
# in a Debian 13 chroot with Debian's torch (made once, then kept).
megatron() {
	bash scripts/megatron-chroot.sh &&
		bash tests/megatron/conformance.sh --slice "${MEGATRON_SLICE:-120}" "$top/build"
}
stage "Megatron conformance (corpus slice)" megatron
stage "integration tests on a local Slurm cluster" \
	bash tests/integration/run.sh "$top/build"
# Recipe jobs under injected faults (slurmd restarts, requeues, node down
# and resume, cancels): every completed job consistent, no node drained.
[ $quick = 0 ] && stage "soak: ${SOAK_JOBS} recipe jobs under faults" \
	bash tests/integration/soak.sh "$top/build" "$SOAK_JOBS"
# The README's other command, on the same build: a real sbatch with the
# recipe across two nodes, the record and the placement shown.
stage "the README's main command (scripts/demo.sh)" \
	env BUILD="$top/build" bash scripts/demo.sh --no-deps

# The packages a site installs, built from a clean copy of the tree.
stage "Debian package: dpkg-buildpackage, lintian" \
	bash scripts/package.sh deb --out "$top/build-pkg"
stage "Debian package: dpkg -i, the demo against it, dpkg -r" \
	env BUILD="$top/build" bash scripts/package.sh install --out "$top/build-pkg"
stage "RPM: rpmbuild of the spec" bash scripts/package.sh rpm --out "$top/build-pkg"

# The version matrix: each suite's Slurm, its own build of the plugin.
slurm_of() { # the Slurm release a suite carries, for the stage names
	case $1 in trixie) echo 24.11 ;; sid) echo 26.05 ;; *) echo "of $1" ;; esac
}
if [ $matrix = 1 ]; then
	for suite in ${N56_MATRIX:-trixie sid}; do
		v=$(slurm_of "$suite")
		stage "Slurm $v: chroot of Debian $suite (debootstrap, packages)" \
			bash scripts/slurm-chroot.sh create "$suite"
		stage "Slurm $v: build in the chroot" \
			bash scripts/slurm-chroot.sh build "$suite"
		stage "Slurm $v: unit tests in the chroot" \
			bash scripts/slurm-chroot.sh check "$suite"
		stage "Slurm $v: integration tests" \
			bash scripts/slurm-chroot.sh test "$suite"
		stage "Slurm $v: the README's main command" \
			bash scripts/slurm-chroot.sh demo "$suite"
		stage "Slurm $v: Debian package built, installed, demo, removed" \
			bash scripts/slurm-chroot.sh package "$suite"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed stage: %s\n' "${failures[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
