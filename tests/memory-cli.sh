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
hasnt() { ! grep -qF -- "$2" "$tmp/$1" || fail "$1 has: $2"; }
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

# The built-in recipe (the distributed optimizer on, as the public
# profile) fits an H200 on two nodes; on one node (dp 4) it is refused,
# with the rank, its stage, the dominant terms and the fixes the model
# checked; on an 80 GB GPU nothing fits.
expect 0 "$bin" validate --nodes 2 --policy "$tmp/p141.yaml"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/p141.yaml"
has out "capacity 141.0 GB (policy), headroom 5%"
grep -Eq '^  0 +4 .* 125\.76 +fits$' "$tmp/out" || fail "pipeline rank 0 at 2 x 8: $(grep '^  0 ' "$tmp/out")"
expect 2 "$bin" validate --nodes 1 --policy "$tmp/p141.yaml"
has err "builtin:65:21: error: GPU memory: pipeline rank 0 (virtual stage 1, layers 26-51 'EMEAEMEAEMRAEMEAEMEAEMRAEM') needs 160.2 GB"
has err "largest terms: activations 106.2 GB, "
has err "fits with: layout.segments: [13, 13, 13, 13] (peak 124.7 GB on pipeline rank 1); or batch.micro_batch_size: 2 (peak 128.1 GB on pipeline rank 0)"
# Full recompute fits but Megatron refuses it under per-module CUDA
# graphs: never offered as a fix.
hasnt err "memory.recompute: full"
expect 2 "$bin" validate --nodes 2 --policy "$tmp/p80.yaml"
has err "needs 125.8 GB at its peak, more than the 76.0 GB limit (80.0 GB from the policy less 5% headroom)"
has err "no change of recompute, micro batch, distributed optimizer, split, tp or pp fits: use more GPUs"
# micro batch 16 on an H200
sed 's/micro_batch_size: 4/micro_batch_size: 16/; s/global_batch_size: 64/global_batch_size: 256/' "$recipe" >"$tmp/mbs16.yaml"
expect 2 "$bin" validate --nodes 2 --recipe "$tmp/mbs16.yaml" --policy "$tmp/p141.yaml"
has err "GPU memory: pipeline rank 0"
# The first fix, applied, fits.
# (full recompute needs the CUDA graphs off: Megatron's rule)
sed 's/impl: transformer_engine/impl: none/; s/modules: \[attn, mamba, moe_router, moe_preprocess\]/modules: []/; s/^  distributed_optimizer: true$/  distributed_optimizer: true\n  recompute: full/' \
	"$recipe" >"$tmp/full.yaml"
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

# Every change a refusal offers, applied to the recipe, fits, with the peak
# and on the pipeline rank it names: the plan of the changed recipe splits
# the layers again (more microbatches, another dp), and so does the advice.
fixes_fit() { # RECIPE POLICY NODES
	"$bin" validate --recipe "$1" --policy "$2" --nodes "$3" >/dev/null 2>"$tmp/fx.err"
	python3 - "$bin" "$1" "$2" "$3" "$tmp" <<'PY'
import json, re, subprocess, sys
bin, recipe, policy, nodes, tmp = sys.argv[1:6]
err = open(tmp + "/fx.err").read()
m = re.search(r"fits with: (.*)$", err, re.M)
assert m, "no fix offered: " + err
def apply(text, key, value):
    top, sub = key.split(".")
    lines = text.split("\n")
    if top + ":" not in lines:
        return text.rstrip("\n") + "\n%s:\n  %s: %s\n" % (top, sub, value)
    i = lines.index(top + ":") + 1
    while i < len(lines) and (lines[i].startswith(" ") or not lines[i]):
        if lines[i].startswith("  %s:" % sub):
            lines[i] = "  %s: %s" % (sub, value)
            return "\n".join(lines)
        i += 1
    lines.insert(lines.index(top + ":") + 1, "  %s: %s" % (sub, value))
    return "\n".join(lines)
for k, fix in enumerate(m.group(1).split("; or ")):
    f = re.fullmatch(r"(.*) \(peak ([0-9.]+) GB on pipeline rank (\d+)\)", fix)
    assert f, fix
    text = open(recipe).read()
    for change in re.split(r" with | and ", f.group(1)):
        key, value = change.split(": ")
        text = apply(text, key, value)
    path = "%s/fix%d.yaml" % (tmp, k)
    open(path, "w").write(text)
    run = subprocess.run([bin, "plan", "--recipe", path, "--policy", policy,
                          "--nodes", nodes, "--format", "json"],
                         capture_output=True, text=True)
    assert run.returncode == 0, "%s: %s" % (fix, run.stderr)
    ranks = json.loads(run.stdout)["memory"]["ranks"]
    worst = max(ranks, key=lambda r: r["total_bytes"])
    assert worst["verdict"] != "over", fix
    got = "%.1f" % (worst["total_bytes"] / 1e9)
    assert (got, worst["pp"]) == (f.group(2), int(f.group(3))), \
        "%s: applied, the peak is %s GB on pipeline rank %d" % (fix, got, worst["pp"])
    print("  applied, fits: " + fix)
PY
}
fixes_fit "$recipe" "$tmp/p141.yaml" 1 || fail "a fix for the built-in recipe on 1 x 8 at 141 GB"
sed 's/micro_batch_size: 4/micro_batch_size: 16/; s/global_batch_size: 64/global_batch_size: 256/' "$recipe" >"$tmp/mbs16.yaml"
fixes_fit "$tmp/mbs16.yaml" "$tmp/p141.yaml" 2 || fail "a fix for micro batch 16 on 2 x 8 at 141 GB"
# without CUDA graphs full recompute is open, alone and with the
# distributed optimizer
sed 's/^    impl: transformer_engine$/    impl: none/; /^    modules: /d; /^    warmup_steps: /d' "$recipe" >"$tmp/nograph.yaml"
fixes_fit "$tmp/nograph.yaml" "$tmp/p141.yaml" 1 || fail "a fix without CUDA graphs at 141 GB"
fixes_fit "$tmp/nograph.yaml" "$tmp/p80.yaml" 2 || fail "a fix without CUDA graphs at 80 GB"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "memory-cli: all checks passed"
