/* topology/islands.c: filled in by its owner */
