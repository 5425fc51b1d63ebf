/* policy/cost.c: filled in by its owner */
