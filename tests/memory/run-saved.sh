#!/bin/bash
# Runs saved_bytes.py in the Megatron chroot as tests/megatron/run-judge.sh
# runs judge.py: Megatron-LM and tests/ bound read-only under /mnt in a
# private mount namespace (nothing stays mounted afterwards).
# Usage: run-saved.sh CHROOT MEGATRON_DIR < cases.json
set -euo pipefail
[ $# = 2 ] || { echo "usage: run-saved.sh CHROOT MEGATRON_DIR < cases.json" >&2; exit 2; }
root=$1 megatron=$(cd "$2" && pwd)
tests=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/usr/bin/python3" ] || { echo "run-saved.sh: no Megatron chroot at $root" >&2; exit 1; }
[ -d "$root/mnt/megatron" ] && [ -d "$root/mnt/judge" ] ||
	{ echo "run-saved.sh: $root lacks /mnt/megatron and /mnt/judge (run tests/megatron/run-judge.sh once)" >&2; exit 1; }
exec unshare -m --propagation private bash -c '
	set -e
	root=$1 megatron=$2 tests=$3
	mount --bind -o ro "$megatron" "$root/mnt/megatron"
	mount --bind -o ro "$tests" "$root/mnt/judge"
	mount -t proc proc "$root/proc"
	exec chroot "$root" env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
		PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/mnt/judge/megatron TORCHDYNAMO_DISABLE=1 \
		python3 /mnt/judge/memory/saved_bytes.py /mnt/megatron
' run-saved "$root" "$megatron" "$tests"
