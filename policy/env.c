/* policy/env.c: filled in by its owner */
