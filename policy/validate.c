/* policy/validate.c: filled in by its owner */
