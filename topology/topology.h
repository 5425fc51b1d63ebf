/* topology/topology.h: filled in by its owner */
