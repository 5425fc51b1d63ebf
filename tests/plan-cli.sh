#!/bin/sh
# nam56r-launch plan / validate from the command line: exit codes (0 ok, 2
# invalid input or usage), messages on stderr as file:line:col: error: ...,
# the JSON keys of nam56r-launch(1), and TP-in-island refusal with a topology.
set -u
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to check the JSON"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
bin=${N56_LAUNCH:-${BUILDDIR:-$(pwd)}/nam56r-launch}
[ -x "$bin" ] || bin=$(pwd)/nam56r-launch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
recipe=$top/examples/nam56r.yaml

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS CMD...: run, keep stdout/stderr in $tmp/out, $tmp/err
expect() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || { fail "exit $got, want $want: $*"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}

# stderr_has TEXT: the last command's stderr contains TEXT literally
stderr_has() {
	grep -qF -- "$1" "$tmp/err" || { fail "stderr lacks: $1"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}

lineof() { # lineof FILE REGEX: the number of the first line matching
	grep -n -- "$2" "$1" | head -1 | cut -d: -f1
}

variant() { # variant NAME SED-EXPR: the NAM56R recipe with one edit
	sed "$2" "$recipe" >"$tmp/$1.yaml"
	cmp -s "$recipe" "$tmp/$1.yaml" && fail "variant $1: the edit changed nothing"
}

# Success paths.
expect 0 "$bin" validate
grep -q '^recipe OK: builtin sha256=[0-9a-f]\{64\} world=8 tp=1 pp=2 vpp=2 ep=1 etp=1 cp=1 dp=4$' "$tmp/out" ||
	fail "validate output: $(cat "$tmp/out")"
expect 0 "$bin" validate --recipe "$recipe" --nodes 2 --gpus-per-node 8
grep -q "world=16 .* dp=8" "$tmp/out" || fail "validate 2x8: $(cat "$tmp/out")"
# 4 x 8: one microbatch an iteration, fewer than interleaving's group of 2
expect 2 "$bin" validate --recipe "$recipe" --nodes 4 --gpus-per-node 8
stderr_has "nam56r.yaml:$(lineof "$recipe" 'global_batch_size:'):22: error: global batch 64 gives 1 microbatch per iteration (global / (micro 4 x dp 16)); with vpp 2 Megatron's interleaved schedule needs at least pp 2: use global batch 128, or vpp 1"
expect 0 "$bin" plan --help
grep -q '^usage: nam56r-launch plan' "$tmp/out" || fail "plan --help"
expect 0 "$bin" validate --help
expect 0 "$bin" plan
for s in 'recipe: builtin sha256=' 'native pattern:' 'generated native args' \
	'--hybrid-layer-pattern' 'fixed policy env' 'runtime patch surface' \
	'NAM56R_R_LAYER_INDICES=12,24,36,48' 'assumed: one island per node'; do
	grep -qF -- "$s" "$tmp/out" || fail "text plan lacks: $s"
done

# JSON: valid, with every key nam56r-launch(1) names.
expect 0 "$bin" plan --recipe "$recipe" --nodes 2 --gpus-per-node 8 --format json
cp "$tmp/out" "$tmp/plan.json"
python3 - "$tmp/plan.json" <<'PY' || fail "plan JSON keys"
import json, sys
p = json.load(open(sys.argv[1]))
need = {
    "recipe": ["path", "sha256"],
    "layout": ["pattern", "depth", "counts", "r_layer_indices",
               "dsa_a_layer_ranks", "native_pattern", "stages", "imbalance"],
    "parallel": ["tp", "pp", "vpp", "ep", "etp", "cp", "dp", "world"],
}
for k, sub in need.items():
    for s in sub:
        assert s in p[k], (k, s)
for k in ["generated_native_args", "fixed_policy", "patch_surface",
          "placement", "plan_sha256", "placement_report"]:
    assert k in p, k
assert p["layout"]["counts"] == {"A": 13, "E": 22, "M": 13, "R": 4}
assert p["layout"]["r_layer_indices"] == [12, 24, 36, 48]
assert p["parallel"]["world"] == 16 and p["parallel"]["dp"] == 8
assert len(p["placement"]) == 16
for r, row in enumerate(p["placement"]):
    assert row["rank"] == r
    for k in ["node", "local_rank", "gpu", "island", "tp", "cp", "ep", "dp", "pp"]:
        assert k in row, k
for s in p["layout"]["stages"]:
    for k in ["pp", "vpp", "layers", "letters", "cost"]:
        assert k in s, k
assert set(p["layout"]["imbalance"]) >= {"balanced", "naive"}
assert all(isinstance(a, str) for a in p["generated_native_args"])
assert p["patch_surface"]["NAM56R_DSA_A_LAYER_RANKS"] == "1,2,3,5,6,7,9,10,11"
PY
python3 -m json.tool "$tmp/plan.json" >/dev/null || fail "plan JSON does not parse"

# Invalid recipes: exit 2, each error as file:line:col: error: message.
variant tp3 's/^  tp: 1$/  tp: 3/'
expect 2 "$bin" validate --recipe "$tmp/tp3.yaml"
stderr_has "$tmp/tp3.yaml:$(lineof "$tmp/tp3.yaml" "^  tp: 3"):7: error: tp 3: 56 attention heads, 8 query groups and 8 Mamba groups allow tp 1, 2, 4 or 8"
expect 2 "$bin" plan --recipe "$tmp/tp3.yaml"
variant gb60 's/global_batch_size: 64/global_batch_size: 60/'
expect 2 "$bin" validate --recipe "$tmp/gb60.yaml"
stderr_has "$tmp/gb60.yaml:$(lineof "$tmp/gb60.yaml" "global_batch_size: 60"):22: error: global batch 60 is not a multiple of micro batch 4 x data parallel 4 = 16: use 48 or 64"
variant ep5 's/^  ep: 1$/  ep: 5/'
expect 2 "$bin" validate --recipe "$tmp/ep5.yaml" --nodes 5 --gpus-per-node 2
stderr_has "ep5.yaml:$(lineof "$tmp/ep5.yaml" "^  ep: 5"):7: error: ep 5: 16 experts allow ep 1, 2, 4, 8 or 16"
variant misspelt 's/^  tp: 1$/  tpp: 1/'
expect 2 "$bin" validate --recipe "$tmp/misspelt.yaml"
grep -q "misspelt.yaml:$(lineof "$tmp/misspelt.yaml" "^  tpp:"):3: error: " "$tmp/err" || fail "misspelt key: $(cat "$tmp/err")"
printf 'schema: 1\nmodel:\n\tpattern: AEME\n' >"$tmp/tab.yaml"
expect 2 "$bin" validate --recipe "$tmp/tab.yaml"
grep -q "tab.yaml:[0-9]*:[0-9]*: error: " "$tmp/err" || fail "tab: $(cat "$tmp/err")"
: >"$tmp/empty.yaml"
expect 2 "$bin" validate --recipe "$tmp/empty.yaml"
grep -q "empty.yaml.*: error: " "$tmp/err" || fail "empty: $(cat "$tmp/err")"
head -c 4096 "$bin" >"$tmp/binary.yaml"
expect 2 "$bin" validate --recipe "$tmp/binary.yaml"
grep -q "binary.yaml.*: error: " "$tmp/err" || fail "binary: $(cat "$tmp/err")"
expect 2 "$bin" validate --recipe "$tmp/missing.yaml"
grep -q "missing.yaml.*: error: " "$tmp/err" || fail "missing: $(cat "$tmp/err")"
expect 2 "$bin" plan --recipe "$tmp/missing.yaml" --format json
[ -s "$tmp/out" ] && fail "an invalid plan printed JSON"

# Every error of a recipe, in the file's order (line, then column).
expect 2 "$bin" validate --recipe "$top/tests/data/parse/many-errors.yaml"
[ "$(grep -c ': error: ' "$tmp/err")" -ge 10 ] || fail "many-errors: $(cat "$tmp/err")"
sed -n 's/^[^:]*many-errors.yaml:\([0-9]*\):\([0-9]*\): error: .*/\1 \2/p' "$tmp/err" >"$tmp/pos"
[ "$(wc -l <"$tmp/pos")" = "$(wc -l <"$tmp/err")" ] || fail "many-errors: a line without file:line:col: error: $(cat "$tmp/err")"
sort -s -n -k1,1 -k2,2 "$tmp/pos" | cmp -s - "$tmp/pos" || fail "many-errors: not in line order: $(cat "$tmp/pos" | tr '\n' ' ')"
head -1 "$tmp/pos" | grep -qx '4 3' || fail "many-errors: first is not 4:3: $(head -1 "$tmp/err")"

# Every command answers -h and --help with its usage on stdout, exit 0.
for c in plan validate topology placement local preflight; do
	for h in -h --help; do
		expect 0 "$bin" $c $h
		head -1 "$tmp/out" | grep -q "^usage: nam56r-launch $c " || fail "$c $h: $(head -1 "$tmp/out")"
	done
done
expect 0 "$bin" --recipe "$recipe" -h
head -1 "$tmp/out" | grep -q '^usage: nam56r-launch \[--recipe F\]' || fail "exec -h: $(head -1 "$tmp/out")"
expect 2 "$bin" placement --bogus
stderr_has "nam56r-launch placement: unknown option '--bogus'"

# Usage errors: exit 2.
expect 2 "$bin" plan --nodes 0
expect 2 "$bin" plan --nodes 3x
expect 2 "$bin" plan --gpus-per-node 65
expect 2 "$bin" plan --format xml
expect 2 "$bin" plan --bogus
expect 2 "$bin" plan extra
expect 2 "$bin" plan --recipe
expect 2 "$bin" validate --format json
expect 2 "$bin" validate --topology x.xml

# Site policy: a recipe env that the policy denies or pins differently.
variant ldpre 's/^  TORCH_NCCL_AVOID_RECORD_STREAMS: "1"$/  LD_PRELOAD: x.so\n  NCCL_IB_DISABLE: "0"/'
policy=$top/tests/data/plan/require-tp-island.yaml
expect 2 "$bin" validate --recipe "$tmp/ldpre.yaml" --policy "$policy"
stderr_has "ldpre.yaml:$(lineof "$tmp/ldpre.yaml" "^  LD_PRELOAD"):3: error: env LD_PRELOAD: denied by the site policy (rule 'LD_*')"
stderr_has "ldpre.yaml:$(lineof "$tmp/ldpre.yaml" "^  NCCL_IB_DISABLE"):3: error: env NCCL_IB_DISABLE is pinned by the site policy to 1"

# validate assumes one island per node: tp 16 on 8-GPU nodes spans two.
variant tp16 's/^  tp: 1$/  tp: 16/; s/heads: 56$/heads: 64/; s/groups: 8$/groups: 16/'
expect 0 "$bin" validate --recipe "$tmp/tp16.yaml" --nodes 4
stderr_has "nam56r-launch validate: warning: tp 16"
expect 2 "$bin" validate --recipe "$tmp/tp16.yaml" --nodes 4 --policy "$policy"
stderr_has "require-tp-island.yaml: error: tp 16"
stderr_has "the site policy requires TP inside one island (topology.require_tp_in_island)"

# record.master_port: the highest base whose every port offset (job id mod
# 1000) stays below 65536 is taken, one more is refused.
printf 'schema: 1\nrecord:\n  master_port: 64537\n' >"$tmp/port.yaml"
expect 2 "$bin" validate --policy "$tmp/port.yaml"
stderr_has "$tmp/port.yaml:3:16: error: record.master_port: 64537 is out of range (1024 to 64536)"
printf 'schema: 1\nrecord:\n  master_port: 64536\n' >"$tmp/port-max.yaml"
expect 0 "$bin" validate --policy "$tmp/port-max.yaml"
# An admin map whose hostlist the plugin cannot read.
printf 'schema: 1\ntopology:\n  island_source: admin-map\n  islands:\n    - {nodes: "n[1-", domain: d}\n' >"$tmp/badmap.yaml"
for cmd in validate plan; do
	expect 2 "$bin" $cmd --policy "$tmp/badmap.yaml"
	stderr_has "$tmp/badmap.yaml:5:7: error: topology.islands[0].nodes: bad host list 'n[1-': missing ']'"
done
# A recipe larger than the plugin carries (64 KiB).
cp "$recipe" "$tmp/big.yaml"
while [ "$(wc -c <"$tmp/big.yaml")" -le 65536 ]; do
	echo "# padding comment: the plugin carries at most 65536 bytes of recipe" >>"$tmp/big.yaml"
done
size=$(wc -c <"$tmp/big.yaml")
for cmd in validate plan; do
	expect 2 "$bin" $cmd --recipe "$tmp/big.yaml"
	stderr_has "$tmp/big.yaml: error: the recipe is $size bytes; at most 65536 are carried to the compute nodes (shorten its comments)"
done
head -c 65536 "$tmp/big.yaml" >"$tmp/fits.yaml"
expect 0 "$bin" validate --recipe "$tmp/fits.yaml"

# A topology with two NVLink islands of 2 GPUs: tp 4 spans both.
fixtures=$top/../shared/fixtures/topology
if [ -f "$fixtures/hwloc-v2.14_power8gpudistances.xml" ]; then
	variant tp4 's/^  tp: 1$/  tp: 4/; s/^  pp: 2$/  pp: 1/; s/^  vpp: 2$/  vpp: 1/'
	xml=$fixtures/hwloc-v2.14_power8gpudistances.xml
	expect 0 "$bin" plan --recipe "$tmp/tp4.yaml" --topology "$xml"
	stderr_has "warning: "
	expect 2 "$bin" plan --recipe "$tmp/tp4.yaml" --topology "$xml" --policy "$policy"
	stderr_has "topology.require_tp_in_island"
	variant tp2 's/^  tp: 1$/  tp: 2/; s/^  pp: 2$/  pp: 1/; s/^  vpp: 2$/  vpp: 1/'
	expect 0 "$bin" plan --recipe "$tmp/tp2.yaml" --topology "$xml" --policy "$policy" --format json
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["placement_report"]["tp_in_island"] is True; assert p["fixed_policy"]["NCCL_IB_DISABLE"] == "1"; assert p["fixed_policy_origin"]["CUDA_DEVICE_MAX_CONNECTIONS"] == "derived"' "$tmp/out" ||
		fail "tp2 on two islands"
else
	echo "SKIP: $fixtures absent: no topology checks"
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "plan-cli: all checks passed"
