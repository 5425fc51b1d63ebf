#!/bin/sh
# The memory fit from the command line: plan's per-rank table and JSON
# `memory`, validate's refusal (exit 2) with the rank, the dominant terms
# and a checked fix, the warning band, and the fix that then fits.
set -u
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to check the JSON"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
bin=$(pwd)/nam56r-launch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
recipe=$top/examples/nam56r.yaml
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || { fail "exit $got, want $want: $*"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}
has() { grep -qF -- "$2" "$tmp/$1" || { fail "$1 lacks: $2"; sed 's/^/  /' "$tmp/$1" | head -5; }; }
policy() { printf 'schema: 1\nmemory:\n  gpu_memory_gb: %s\n' "$1" >"$tmp/p$1.yaml"; }
policy 141
policy 80
policy 1000
policy 196

# No capacity anywhere: the table, no verdict against a limit.
expect 0 "$bin" plan --nodes 2
has out "memory per rank (GB; predicted peak, 2 microbatches per iteration):"
has out "capacity unknown: set memory.gpu_memory_gb in the policy or the recipe"
has out " unchecked"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/p1000.yaml"
has out "capacity 1000.0 GB (policy), headroom 5%: limit 950.0 GB; warning within 3%"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/p1000.yaml" --format json
python3 - "$tmp/out" <<'PY' || fail "plan JSON memory"
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
assert m["capacity_source"] == "policy" and m["verdict"] == "fits", m
assert m["capacity_bytes"] == 1000 * 10**9
assert len(m["ranks"]) == 2
for r in m["ranks"]:
    t = r["terms_bytes"]
    assert set(t) == {"weights", "master", "grads", "optimizer", "activations",
                      "embedding", "logits", "allowance"}, t
    assert abs(sum(t.values()) - r["total_bytes"]) <= 8, r
    assert r["verdict"] == "fits"
assert m["ranks"][0]["inflight_microbatches"] == [2.0, 2.0]
assert m["ranks"][0]["terms_bytes"]["embedding"] > 0
assert m["ranks"][1]["terms_bytes"]["logits"] > 0
PY

# The built-in recipe on an H200 and on an 80 GB GPU: refused, with the
# rank, its stage, the dominant terms and the fixes the model checked.
expect 2 "$bin" validate --nodes 2 --policy "$tmp/p141.yaml"
has err "builtin:65:21: error: GPU memory: pipeline rank 0 (virtual stage 1, layers 18-51 'EMEAEMRAEMEAEMEAEMRAEMEAEMEAEMRAEM') needs "
has err "largest terms: activations 84.1 GB, "
has err "fits with: memory.distributed_optimizer: true (peak 125.8 GB on pipeline rank 0); or memory.recompute: full (peak "
expect 2 "$bin" validate --nodes 2 --policy "$tmp/p80.yaml"
has err "more than the 76.0 GB limit (80.0 GB from the policy less 5% headroom)"
has err "fits with: memory.distributed_optimizer: true with memory.recompute: full (peak "
# micro batch 16 on an H200
sed 's/micro_batch_size: 4/micro_batch_size: 16/; s/global_batch_size: 64/global_batch_size: 256/' "$recipe" >"$tmp/mbs16.yaml"
expect 2 "$bin" validate --nodes 2 --recipe "$tmp/mbs16.yaml" --policy "$tmp/p141.yaml"
has err "GPU memory: pipeline rank 0"
# The first fix, applied, fits.
cat "$recipe" - >"$tmp/full.yaml" <<'Y'
memory:
  recompute: full
Y
expect 0 "$bin" validate --nodes 2 --recipe "$tmp/full.yaml" --policy "$tmp/p141.yaml"
has out "recipe OK: "
# Within the warn band: a warning, exit 0.
expect 0 "$bin" validate --nodes 2 --recipe "$tmp/full.yaml" --policy "$tmp/p196.yaml"
: >"$tmp/none"
total=$("$bin" plan --nodes 2 --recipe "$tmp/full.yaml" --format json | python3 -c '
import json, sys
print(max(r["total_bytes"] for r in json.load(sys.stdin)["memory"]["ranks"]))')
# a capacity that puts the worst rank 1% below the limit
cap=$(python3 -c "print(round($total / 0.94 / 1e9, 3))")
policy "$cap"
expect 0 "$bin" validate --nodes 2 --recipe "$tmp/full.yaml" --policy "$tmp/p$cap.yaml"
has err "nam56r-launch: warning: GPU memory: pipeline rank "
has err "within 3% of the "

# The partition's capacity wins over the policy's default.
printf 'schema: 1\nmemory:\n  gpu_memory_gb: 80\n  partitions:\n    big: 1000\n' >"$tmp/part.yaml"
expect 0 "$bin" validate --nodes 2 --policy "$tmp/part.yaml" --partition big
expect 2 "$bin" validate --nodes 2 --policy "$tmp/part.yaml" --partition small
has err "(80.0 GB from the policy less 5% headroom)"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/part.yaml" --partition big
has out "capacity 1000.0 GB (policy partition), headroom 5%"
# A list of partitions: the smallest capacity among them, named.
expect 2 "$bin" validate --nodes 2 --policy "$tmp/part.yaml" --partition big,small
has err "(80.0 GB from the policy less 5% headroom)"
printf 'schema: 1\nmemory:\n  partitions:\n    big: 1000\n    small: 100\n' >"$tmp/part2.yaml"
expect 2 "$bin" validate --nodes 2 --policy "$tmp/part2.yaml" --partition big,small
has err "(100.0 GB from the policy partition small (the smallest of big,small) less 5% headroom)"
expect 0 "$bin" validate --nodes 2 --policy "$tmp/part2.yaml" --partition big
expect 0 "$bin" validate --nodes 2 --policy "$tmp/part2.yaml" --partition other
expect 2 "$bin" validate --partition
has err "nam56r-launch validate: --partition needs a value"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "memory-cli: all checks passed"
