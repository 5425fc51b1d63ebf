/* topology/rankenv.c: filled in by its owner */
