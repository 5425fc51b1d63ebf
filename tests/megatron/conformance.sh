#!/bin/bash
# Megatron conformance: the product's verdict on every corpus recipe
# against Megatron-LM's own start-up code on the args the recipe implies.
# Usage: tests/megatron/conformance.sh [--slice K] [--seed S] [--count N]
#            [--keep DIR] BUILDDIR
#   --slice K  a fixed slice of K recipes of the corpus (CI uses 120)
#   --keep DIR keep the corpus, the verdicts and the report in DIR
# Env: MEGATRON_DIR (default ../shared/third_party/megatron-lm beside the
# checkout), NAM56R_MEGATRON_CHROOT (default /var/lib/nam56r/megatron-trixie,
# made by scripts/megatron-chroot.sh).
# Prints each disagreement and ends with "conformance: N passed, N failed".
# Exit status: 0 all agree, 1 a disagreement or a missing part, 2 usage.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
corpus_args=() keep= build=
while [ $# -gt 0 ]; do
	case $1 in
	--slice|--seed|--count) [ $# -ge 2 ] || usage; corpus_args+=("$1" "$2"); shift 2 ;;
	--keep) [ $# -ge 2 ] || usage; keep=$2; shift 2 ;;
	-h|--help) usage 0 ;;
	-*) echo "conformance.sh: unknown option $1" >&2; usage ;;
	*) [ -z "$build" ] || usage; build=$1; shift ;;
	esac
done
[ -n "$build" ] || usage
megatron=${MEGATRON_DIR:-$top/../shared/third_party/megatron-lm}
chroot_dir=${NAM56R_MEGATRON_CHROOT:-/var/lib/nam56r/megatron-trixie}
args_bin=$build/tests/megatron/n56-args
die() { echo "conformance.sh: $*" >&2; echo "conformance: 0 passed, 1 failed"; exit 1; }
[ -x "$args_bin" ] || die "no $args_bin: build the project first (make)"
[ -f "$megatron/megatron/training/arguments.py" ] ||
	die "Megatron-LM is absent at $megatron: set MEGATRON_DIR to a checkout of the pinned commit (see tests/megatron/README)"
[ -x "$chroot_dir/usr/bin/python3" ] ||
	die "the Megatron chroot is absent at $chroot_dir: run scripts/megatron-chroot.sh"
work=${keep:-$(mktemp -d /tmp/n56-conformance.XXXXXX)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
t0=$SECONDS
python3 "$here/corpus.py" "${corpus_args[@]}" "$work/corpus" || die "corpus.py failed"
"$args_bin" < "$work/corpus/index.txt" > "$work/product.jsonl" || die "n56-args failed"
# The corpus mutates a copy of the built-in recipe (corpus.py BASE): its
# args must be the built-in's, or the corpus would judge another recipe.
base_args=$(grep '"id":"[0-9]*-edge-builtin-1x8"' "$work/product.jsonl" |
	python3 -c 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())["args"]))') ||
	die "no edge-builtin-1x8 verdict in the corpus"
builtin_args=$("$build/nam56r-launch" plan --nodes 1 --gpus-per-node 8 --format json |
	python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["generated_native_args"]))') ||
	die "nam56r-launch plan of the built-in recipe failed"
[ "$base_args" = "$builtin_args" ] ||
	die "corpus.py's BASE is not the built-in recipe (examples/nam56r.yaml): their args differ; update BASE"
# The node-software pass: the hand-written cases again, on a site whose
# policy says its nodes have the cuDNN DSA kernels only, judged by a
# Megatron on such a node.
grep '^[0-9]*-edge-' "$work/corpus/index.txt" |
	sed "s|^|node-cudnn/|; s|\$| $here/node-cudnn.yaml|" > "$work/node-index.txt"
"$args_bin" < "$work/node-index.txt" > "$work/product-node.jsonl" || die "n56-args failed"
requests() {
	python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    if p["args"] is not None:
        print(json.dumps({"id": p["id"], "args": p["args"], "env": p["env"],
                          "world": p["world"]}))
PY
}
requests "$work/product.jsonl" > "$work/requests.jsonl" || die "cannot build the requests"
requests "$work/product-node.jsonl" > "$work/requests-node.jsonl" || die "cannot build the requests"
n=$(wc -l < "$work/corpus/index.txt")
echo "conformance.sh: $n recipes, $(wc -l < "$work/requests.jsonl") with args, product verdicts in $((SECONDS - t0)) s"
t1=$SECONDS
"$here/run-judge.sh" "$chroot_dir" "$megatron" < "$work/requests.jsonl" \
	> "$work/judge.jsonl" 2> "$work/judge.log" ||
	{ tail -20 "$work/judge.log" >&2; die "judge.py failed"; }
"$here/run-judge.sh" "$chroot_dir" "$megatron" --dsa-backends cudnn \
	< "$work/requests-node.jsonl" >> "$work/judge.jsonl" 2>> "$work/judge.log" ||
	{ tail -20 "$work/judge.log" >&2; die "judge.py failed (node pass)"; }
echo "conformance.sh: Megatron's verdicts in $((SECONDS - t1)) s ($(head -1 "$work/judge.jsonl"))"
echo "conformance.sh: rules of Megatron-LM $("$args_bin" --megatron)"
cat "$work/product-node.jsonl" >> "$work/product.jsonl"
python3 "$here/compare.py" "$work/product.jsonl" "$work/judge.jsonl" \
	"$here/exceptions.txt" | tee "$work/report.txt"
exit "${PIPESTATUS[0]}"
