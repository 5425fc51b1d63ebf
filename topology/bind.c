/* topology/bind.c: filled in by its owner */
