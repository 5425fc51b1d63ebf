/* policy/tile.c: filled in by its owner */
