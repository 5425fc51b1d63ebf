/* policy/recipe.c: filled in by its owner */
