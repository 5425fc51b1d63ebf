#!/bin/sh
# Runs one test program under memcheck; any error or leak fails the test.
exec valgrind --quiet --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --track-fds=no "$@"
