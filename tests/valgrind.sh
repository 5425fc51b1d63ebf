#!/bin/sh
# LOG_COMPILER of `make check-valgrind`: runs one test under memcheck; any
# error or definite/indirect leak fails it (exit 99). A shell test is run as
# it is, with N56_LAUNCH naming a shim that runs nam56r-launch under
# memcheck, so the command-line paths are checked, not the shell.
# tests/valgrind.supp names the leaks that are not ours (libslurm's).
vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no --suppressions=$(cd "$(dirname "$0")" && pwd)/valgrind.supp"
case $(head -c 2 "$1" 2>/dev/null) in
'#!')
	shim=$(mktemp -d "${TMPDIR:-/tmp}/n56-vg.XXXXXX") || exit 99
	trap 'rm -rf "$shim"' EXIT
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$vg" "$(pwd)/nam56r-launch" >"$shim/nam56r-launch"
	chmod +x "$shim/nam56r-launch"
	N56_LAUNCH=$shim/nam56r-launch "$@"
	exit $?
	;;
esac
exec $vg "$@"
