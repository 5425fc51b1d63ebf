/* policy/site.c: filled in by its owner */
