/* policy/layout.c: filled in by its owner */
