#!/bin/sh
# The job contract's names are spelled once, in job/n56job.h: no other C
# source of the plugin, nam56r-launch or the preflight may hold one in a
# string literal (tests may: they check the contract from outside).
set -u
top=$(cd "${srcdir:-.}" && pwd)
hdr=$top/job/n56job.h
[ -r "$hdr" ] || { echo "SKIP: $hdr not found"; exit 77; }
names=$(sed -n 's/^#define N56_\(CARRY\|ENV\)_[A-Z0-9_]* "\([A-Z0-9_]*\)".*/\2/p' "$hdr")
[ -n "$names" ] || { echo "FAIL: no names found in $hdr"; exit 1; }
fails=0
for name in $names; do
	hits=$(cd "$top" && grep -nE "\"[^\"]*\\b$name\\b" \
		job/*.c spank/*.c spank/*.h wrapper/*.c wrapper/*.h \
		topology/*.c topology/*.h preflight/*.c preflight/*.h \
		policy/*.c policy/*.h 2>/dev/null)
	if [ -n "$hits" ]; then
		echo "FAIL: $name is spelled outside job/n56job.h (use its N56_ constant):"
		echo "$hits"
		fails=$((fails + 1))
	fi
done
n=$(echo "$names" | wc -l)
[ "$fails" -eq 0 ] && echo "PASS: $n contract names, each spelled only in job/n56job.h"
[ "$fails" -eq 0 ]
