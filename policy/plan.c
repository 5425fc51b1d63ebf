/* policy/plan.c: filled in by its owner */
