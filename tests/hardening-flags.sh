#!/bin/sh
# The hardening configure chose (configure.ac: N56_CHECK_*), as the linker
# left it in the plugin and the programs: BIND_NOW and a GNU_RELRO segment
# (full RELRO) where -Wl,-z,relro -Wl,-z,now were accepted, glibc's
# fortified calls where -D_FORTIFY_SOURCE=2 was added, and the stack
# protector's __stack_chk_fail where -fstack-protector-strong was.
set -u
command -v readelf >/dev/null || { echo "SKIP: readelf is needed"; exit 77; }
[ -f Makefile ] || { echo "SKIP: run from the build directory"; exit 77; }
var() { sed -n "s/^$1 = *//p" Makefile; }
ld=$(var HARDEN_LDFLAGS) cf=$(var HARDEN_CFLAGS) cpp=$(var HARDEN_CPPFLAGS)
[ -n "$ld$cf$cpp" ] || { echo "SKIP: built with --disable-hardening"; exit 77; }
fails=0 checked=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for f in nam56r-launch nam56r-preflight .libs/spank_nam56r.so; do
	[ -f "$f" ] || continue
	checked=$((checked + 1))
	case $ld in *z,now*)
		readelf -d "$f" | grep -q 'BIND_NOW' || fail "$f: no BIND_NOW" ;;
	esac
	case $ld in *z,relro*)
		readelf -lW "$f" | grep -q 'GNU_RELRO' || fail "$f: no GNU_RELRO" ;;
	esac
	case $cf in *stack-protector*)
		readelf --dyn-syms -W "$f" | grep -q '__stack_chk_fail' ||
			fail "$f: no stack protector" ;;
	esac
	case $cpp in *_FORTIFY_SOURCE*)
		readelf --dyn-syms -W "$f" | grep -q '_chk@' ||
			fail "$f: no fortified call" ;;
	esac
	echo "checked $f: $ld $cf $cpp"
done
[ "$checked" -gt 0 ] || { echo "SKIP: nothing built to check"; exit 77; }
[ "$fails" = 0 ] || exit 1
echo "hardening-flags: $checked binaries as configured"
