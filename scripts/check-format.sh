#!/bin/bash
# Checks every C file of the tree against .clang-format (Slurm's style):
# prints each file clang-format would change and exits 1, else 0.
# Usage: scripts/check-format.sh [--fix] [--require]
#   --fix      rewrite the files instead (clang-format -i)
#   --require  fail, not skip, when clang-format is not version 14
# Env: CLANG_FORMAT (default clang-format). Versions format differently:
# the tree is kept in clang-format 14's output (Debian 12's); another
# version is skipped with a message unless --require.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
fix=0 require=0
for a in "$@"; do
	case $a in
	--fix) fix=1 ;;
	--require) require=1 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "check-format: unknown option $a" >&2; exit 2 ;;
	esac
done
cf=${CLANG_FORMAT:-clang-format}
want=14
if ! command -v "$cf" >/dev/null; then
	echo "check-format: $cf not found (apt-get install clang-format)" >&2
	exit $(( require ? 1 : 0 ))
fi
ver=$("$cf" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p')
if [ "$ver" != "$want" ]; then
	echo "check-format: SKIP: $cf is version ${ver:-unknown}; the tree is" \
		"kept in clang-format $want's style (set CLANG_FORMAT)" >&2
	exit $(( require ? 1 : 0 ))
fi
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h')
else
	mapfile -t files < <(find . -name '*.[ch]' -not -path './build*' | sort)
fi
if [ $fix = 1 ]; then
	"$cf" -i "${files[@]}"
	exit
fi
bad=0
for f in "${files[@]}"; do
	if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f differs from .clang-format (scripts/check-format.sh --fix)"
		bad=$((bad + 1))
	fi
done
echo "check-format: ${#files[@]} files, $bad differ (clang-format $ver)"
[ $bad = 0 ]
