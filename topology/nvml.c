/* topology/nvml.c: filled in by its owner */
