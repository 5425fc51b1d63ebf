/* policy/fileio.c: filled in by its owner */
