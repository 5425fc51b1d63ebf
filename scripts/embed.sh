#!/bin/sh
# embed.sh NAME FILE: print a C file defining `const char NAME[]` with FILE's bytes.
set -eu
name=$1 file=$2
printf '/* Generated from %s by scripts/embed.sh; do not edit. */\n' "$(basename "$file")"
printf 'const char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed -e 's/ *$//' -e 's/^ */\t0x/' -e 's/  */, 0x/g' -e 's/$/,/'
printf '\t0x00\n};\n'
