/* topology/cache.c: filled in by its owner */
