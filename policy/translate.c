/* policy/translate.c: filled in by its owner */
