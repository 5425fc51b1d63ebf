/* topology/topology.c: filled in by its owner */
