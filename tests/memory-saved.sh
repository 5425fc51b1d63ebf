#!/bin/sh
# Predicted activations of one GPT layer against the bytes Megatron's own
# layer saves, run on the CPU in the Megatron chroot
# (tests/memory/compare_saved.py says what is compared). Needs root (a
# private mount namespace), the chroot (scripts/megatron-chroot.sh) and
# Megatron-LM; skips, saying which is absent.
# Env: MEGATRON_DIR, MEGATRON_CHROOT (default /var/lib/nam56r/megatron-trixie).
set -u
top=$(cd "${srcdir:-.}" && pwd)
megatron=${MEGATRON_DIR:-$top/../shared/third_party/megatron-lm}
chroot=${MEGATRON_CHROOT:-/var/lib/nam56r/megatron-trixie}
command -v python3 >/dev/null || { echo "SKIP: python3 is needed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for the chroot's mount namespace"; exit 77; }
[ -x "$chroot/usr/bin/python3" ] || { echo "SKIP: no Megatron chroot at $chroot (scripts/megatron-chroot.sh makes it)"; exit 77; }
[ -d "$chroot/mnt/megatron" ] && [ -d "$chroot/mnt/judge" ] ||
	{ echo "SKIP: $chroot lacks /mnt/megatron and /mnt/judge (tests/megatron/run-judge.sh makes them)"; exit 77; }
[ -f "$megatron/megatron/training/arguments.py" ] ||
	{ echo "SKIP: Megatron-LM is absent at $megatron: set MEGATRON_DIR to a checkout"; exit 77; }
python3 "$top/tests/memory/compare_saved.py" "$(pwd)/nam56r-launch" "$chroot" "$megatron"
