#!/bin/bash
# Runs tests/megatron/judge.py inside the Megatron chroot: Megatron-LM and
# this directory bound read-only under /mnt in a private mount namespace
# (nothing stays mounted afterwards). Requests on stdin, verdicts on stdout.
# Usage: run-judge.sh CHROOT MEGATRON_DIR [JUDGE-OPTIONS...]
# Env: JUDGE_SCRIPT (default judge.py; flags.py writes the flag table).
# Exit status: judge.py's; 1 when the chroot or Megatron is absent.
set -euo pipefail
case ${1:-} in -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# -ge 2 ] || { sed -n '5p' "$0" | sed 's/^# //' >&2; exit 2; }
root=$1 megatron=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$root/usr/bin/python3" ] ||
	{ echo "run-judge.sh: no Megatron chroot at $root: create it with scripts/megatron-chroot.sh" >&2; exit 1; }
[ -f "$megatron/megatron/training/arguments.py" ] ||
	{ echo "run-judge.sh: no Megatron-LM at $megatron (megatron/training/arguments.py missing)" >&2; exit 1; }
megatron=$(cd "$megatron" && pwd)
mkdir -p "$root/mnt/megatron" "$root/mnt/judge"
export JUDGE_SCRIPT
exec unshare -m --propagation private bash -c '
	set -e
	root=$1 megatron=$2 here=$3 script=${JUDGE_SCRIPT:-judge.py}; shift 3
	mount --bind -o ro "$megatron" "$root/mnt/megatron"
	mount --bind -o ro "$here" "$root/mnt/judge"
	mount -t proc proc "$root/proc"
	exec chroot "$root" env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
		PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/mnt/judge \
		python3 "/mnt/judge/$script" "$@" /mnt/megatron
' run-judge "$root" "$megatron" "$here" "$@"
