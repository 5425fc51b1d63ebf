/* topology/placement.c: filled in by its owner */
