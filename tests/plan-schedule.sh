#!/bin/sh
# nam56r-launch plan's schedule section, the advice and --picture from the
# command line: text and JSON figures, the recipe's schedule keys and their
# exact errors, the SVG written whole (or not at all) and well formed.
set -u
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to check the JSON and SVG"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
bin=${N56_LAUNCH:-${BUILDDIR:-$(pwd)}/nam56r-launch}
[ -x "$bin" ] || bin=$(pwd)/nam56r-launch
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fails=0
recipe=$top/examples/nam56r.yaml

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || { fail "exit $got, want $want: $*"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}
has() { grep -qF -- "$2" "$1" || { fail "$1 lacks: $2"; head -40 "$1" | sed 's/^/  | /'; }; }

# The text plan: the schedule, the stage-balanced and equal splits, the
# per-rank table and the advice.
expect 0 "$bin" plan
has "$tmp/out" 'schedule: Megatron interleaved 1F1B, 4 microbatches (global 64 / (micro 4 x dp 4)), group 2; backward 2 x forward, p2p 0 us, 400 TFLOP/s per GPU'
has "$tmp/out" 'stage-balanced split 16,1,29,6: '
has "$tmp/out" 'split search: exact'
has "$tmp/out" 'equal-count split: '
has "$tmp/out" 'least-iteration-time split'
has "$tmp/out" 'advice: vpp 1 would take '
has "$tmp/out" '(recipe)'

# JSON: the figures, per-rank idle, and every alternative with a reason.
expect 0 "$bin" plan --format json
python3 - "$tmp/out" <<'PY' || fail "plan JSON schedule"
import json, sys
s = json.load(open(sys.argv[1]))["schedule"]
assert s["simulated"] and s["schedule"] == "interleaved 1F1B", s
assert s["microbatches"] == 4 and s["group"] == 2
assert s["ideal_s"] <= s["iteration_s"] <= s["stage_balanced_s"]
assert abs(s["bubble"] - (1 - s["ideal_s"] / s["iteration_s"])) < 1e-12
assert len(s["idle_s"]) == 2 and len(s["peak_inflight"]) == 2
assert s["warmup"] == [4, 2]
cur = [a for a in s["alternatives"] if a["current"]]
assert len(cur) == 1 and cur[0]["pp"] == 2 and cur[0]["vpp"] == 2
assert abs(cur[0]["iteration_s"] - s["iteration_s"]) < 1e-12
bad = [a for a in s["alternatives"] if not a["valid"]]
assert all(a["why"] for a in bad)
assert s["advice"].startswith("vpp 1 would take"), s["advice"]
PY

# The schedule keys change the figures; bad values are exact errors.
sed 's/^  segments:.*//' "$recipe" >"$tmp/keys.yaml"
printf 'layout:\n  backward_ratio: 3\n  p2p_latency_us: 20\n  gpu_tflops: 800\n' >>"$tmp/keys.yaml"
expect 0 "$bin" plan --recipe "$tmp/keys.yaml"
has "$tmp/out" 'backward 3 x forward, p2p 20 us, 800 TFLOP/s per GPU'
line=$(wc -l <"$recipe")
printf 'layout:\n  backward_ratio: 0\n  gpu_tflops: 0\n' >"$tmp/tail"
cat "$recipe" "$tmp/tail" >"$tmp/bad.yaml"
expect 2 "$bin" plan --recipe "$tmp/bad.yaml"
has "$tmp/err" "$tmp/bad.yaml:$((line + 2)):19: error: layout.backward_ratio is 0: give a positive number, the backward time over the forward time (e.g. 2)"
has "$tmp/err" "$tmp/bad.yaml:$((line + 3)):15: error: layout.gpu_tflops is 0: give a positive number, the TFLOP/s one GPU achieves"

# A hand split is kept, and timed.
printf 'layout:\n  segments: [16, 1, 29, 6]\n' >"$tmp/tail"
cat "$recipe" "$tmp/tail" >"$tmp/hand.yaml"
expect 0 "$bin" plan --recipe "$tmp/hand.yaml"
has "$tmp/out" 'hand split (layout.segments), taken as written'
has "$tmp/out" 'pp 2 x vpp 2 = 4 segments, hand split'

# an empty segment (Megatron takes `||`) is simulated and drawn too
printf 'layout:\n  segments: [26, 0, 25, 1]\n' >"$tmp/tail"
cat "$recipe" "$tmp/tail" >"$tmp/empty.yaml"
expect 0 "$bin" plan --recipe "$tmp/empty.yaml" --picture "$tmp/empty.svg"
has "$tmp/out" 'iteration 2.74 s simulated, 1.430x the ideal'
python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$tmp/empty.svg" ||
	fail "SVG of a split with an empty segment"

# --picture: a well-formed SVG, readable by others under umask 022.
umask 022
expect 0 "$bin" plan --picture "$tmp/p.svg"
[ -s "$tmp/p.svg" ] || fail "no picture"
[ "$(stat -c %a "$tmp/p.svg")" = 644 ] || fail "picture mode $(stat -c %a "$tmp/p.svg")"
python3 - "$tmp/p.svg" <<'PY' || fail "SVG does not parse"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
rects = root.findall(".//{http://www.w3.org/2000/svg}rect")
titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
# 8 GPU cells, 2 ranks x 2 x 4 microbatches x 2 chunks ops
assert sum(t.startswith("forward") for t in titles) == 16, len(titles)
assert sum(t.startswith("backward") for t in titles) == 16
assert len(rects) > 40
PY
if command -v xmllint >/dev/null; then
	xmllint --noout "$tmp/p.svg" || fail "xmllint refuses the SVG"
fi
# The memory colouring: under each GPU a bar of its pipeline rank's peak
# and a bar per pipeline rank, as long and in the colour of their share of
# the scale (the capacity, else the largest rank), the figures of plan's
# memory table; the legend gives the scale in GB.
memcheck() { # SVG JSON GPUS HEADER
	python3 - "$@" <<'PY'
import json, re, sys, xml.etree.ElementTree as ET
svg, plan, gpus, header = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
S = "{http://www.w3.org/2000/svg}"
root = ET.parse(svg).getroot()
m = json.load(open(plan))["memory"]
tot = [r["total_bytes"] for r in m["ranks"]]
scale = m["capacity_bytes"] or max(tot)
whose = "the capacity" if m["capacity_bytes"] else "the largest rank"
pal = ["#006837", "#1a9850", "#66bd63", "#a6d96a", "#d9ef8b", "#fee08b",
       "#fdae61", "#f46d43", "#d73027", "#a50026"]
texts = ["".join(t.itertext()) for t in root.iter(S + "text")]
assert header in texts, (header, [t for t in texts if "GPU memory" in t])
def rects(cls):
    return [r for r in root.iter(S + "rect") if r.get("class") == cls]
cells, rows = rects("mem"), rects("memrow")
assert len(cells) == gpus, len(cells)
assert len(rows) == len(tot), len(rows)
for r in cells + rows:
    t = r.find(S + "title").text
    g = re.fullmatch(r"memory: (?:rank (\d+), )?pipeline rank (\d+): "
                     r"([0-9.]+) GB, (\d+)% of ([0-9.]+) GB \((.*)\)", t)
    assert g, t
    pp = int(g.group(2))
    share = tot[pp] / scale
    assert g.group(3) == "%.1f" % (tot[pp] / 1e9), t
    assert g.group(4) == "%.0f" % (100 * share), t
    assert g.group(5) == "%.1f" % (scale / 1e9) and g.group(6) == whose, t
    full = 52 if r.get("class") == "mem" else 600
    assert abs(float(r.get("width")) - full * min(share, 1)) < 0.01, (t, r.get("width"))
    assert r.get("fill") == pal[min(9, int(share * 10))], (t, r.get("fill"))
assert [r.get("fill") for r in rects("memscale")] == pal
steps = [t for t in texts if t.endswith(" GB") and re.fullmatch(r"[0-9.]+-[0-9.]+ GB", t)]
assert len(steps) == 10, steps
assert abs(float(steps[-1].split("-")[1].split()[0]) - scale / 1e9) < 0.5, steps[-1]
assert "colour and length of the bars: the predicted peak in steps of 10%% of %s, %.1f GB" % (
    "the GPU's capacity" if m["capacity_bytes"] else "the largest rank", scale / 1e9) in texts
if m["capacity_bytes"]:
    assert "limit %.1f GB" % (m["limit_bytes"] / 1e9) in texts
print("memory colouring of %s: %d GPU bars, %d rank bars against %.1f GB" % (svg, len(cells), len(rows), scale / 1e9))
PY
}
"$bin" plan --format json >"$tmp/p.json" || fail "plan --format json"
memcheck "$tmp/p.svg" "$tmp/p.json" 8 \
	"GPU memory: predicted peak per pipeline rank relative to the largest rank, 160.2 GB (capacity unknown: set memory.gpu_memory_gb to check the fit)" ||
	fail "memory colouring without a capacity"
printf 'schema: 1\nmemory:\n  gpu_memory_gb: 150\n  partitions:\n    big: 1000\n' >"$tmp/p150.yaml"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/p150.yaml" --picture "$tmp/p150.svg"
"$bin" plan --nodes 2 --policy "$tmp/p150.yaml" --format json >"$tmp/p150.json"
memcheck "$tmp/p150.svg" "$tmp/p150.json" 16 \
	"GPU memory: predicted peak per pipeline rank against the 150.0 GB capacity (policy), limit 142.5 GB (5% headroom)" ||
	fail "memory colouring against the capacity"
grep -qF 'fill="#d73027"><title>memory: rank 0, pipeline rank 0: 125.8 GB, 84% of 150.0 GB (the capacity)</title>' "$tmp/p150.svg" ||
	fail "p150.svg: rank 0's bar is not the 80-90% red of 125.8 GB"
grep -qF '>104.4 GB, 70% of 150.0 GB, fits; largest term: activations 39.7 GB<' "$tmp/p150.svg" ||
	fail "p150.svg: pipeline rank 1's figures"
expect 0 "$bin" plan --nodes 2 --policy "$tmp/p150.yaml" --partition big --picture "$tmp/big-part.svg"
"$bin" plan --nodes 2 --policy "$tmp/p150.yaml" --partition big --format json >"$tmp/big-part.json"
memcheck "$tmp/big-part.svg" "$tmp/big-part.json" 16 \
	"GPU memory: predicted peak per pipeline rank against the 1000.0 GB capacity (policy partition big), limit 950.0 GB (5% headroom)" ||
	fail "memory colouring against a partition's capacity"
if command -v xmllint >/dev/null; then
	xmllint --noout "$tmp/p150.svg" || fail "xmllint refuses p150.svg"
fi

# the README's picture is the built-in plan's, as drawn today
cmp -s "$tmp/p.svg" "$top/examples/plan-builtin.svg" ||
	fail "examples/plan-builtin.svg is not today's picture: nam56r-launch plan --picture examples/plan-builtin.svg"
# nowhere to write: exit 1, nothing left behind
expect 1 "$bin" plan --picture "$tmp/none/p.svg"
has "$tmp/err" "nam56r-launch plan: --picture $tmp/none/p.svg: cannot write there: No such file or directory"
if [ "$(id -u)" != 0 ]; then
	mkdir "$tmp/ro" && chmod a-w "$tmp/ro"
	expect 1 "$bin" plan --picture "$tmp/ro/p.svg"
	has "$tmp/err" "cannot write there: Permission denied"
	[ -z "$(ls "$tmp/ro")" ] || fail "files left in $tmp/ro"
fi
expect 2 "$bin" validate --picture "$tmp/v.svg"
has "$tmp/err" "nam56r-launch validate: unknown option '--picture'"
expect 2 "$bin" plan --picture
has "$tmp/err" "nam56r-launch plan: --picture needs a value"

# A huge batch: past the ops the model simulates, said and not simulated;
# past the ops a picture draws, simulated and the chart left out.
sed 's/global_batch_size: 64/global_batch_size: 16777216/' "$recipe" >"$tmp/huge.yaml"
expect 0 "$bin" plan --recipe "$tmp/huge.yaml" --picture "$tmp/huge.svg"
has "$tmp/out" 'schedule: not simulated: 1048576 microbatches x pp 2 x vpp 2: more than the 4194304 ops the model simulates'
grep -qF 'Schedule not drawn: the schedule was not simulated: 1048576 microbatches' "$tmp/huge.svg" ||
	fail "huge.svg lacks the reason"
sed 's/global_batch_size: 64/global_batch_size: 262144/' "$recipe" >"$tmp/wide.yaml"
expect 0 "$bin" plan --recipe "$tmp/wide.yaml" --picture "$tmp/wide.svg"
has "$tmp/out" 'schedule: Megatron interleaved 1F1B, 16384 microbatches'
grep -qF 'Schedule not drawn: 131072 ops (2 x 16384 microbatches x 4 chunks), more than the 65536 a picture draws' "$tmp/wide.svg" ||
	fail "wide.svg lacks the reason"

# pp 8 vpp 4 on 4 nodes, 32 microbatches: the large picture.
sed -e 's/^  pp: 2$/  pp: 8/' -e 's/^  vpp: 2$/  vpp: 4/' \
	-e 's/global_batch_size: 64/global_batch_size: 512/' "$recipe" >"$tmp/big.yaml"
expect 0 "$bin" plan --recipe "$tmp/big.yaml" --nodes 4 --picture "$tmp/big.svg"
has "$tmp/out" 'schedule: Megatron interleaved 1F1B, 32 microbatches'
python3 - "$tmp/big.svg" <<'PY' || fail "big SVG"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")
          if not t.text.startswith("memory: ")]
assert len(titles) == 8 * 2 * 32 * 4, len(titles)
# a memory bar under each of the 32 GPUs, one per pipeline rank
assert sum(t.text.startswith("memory: rank ") for t in root.iter("{http://www.w3.org/2000/svg}title")) == 32
assert sum(t.text.startswith("memory: pipeline rank ") for t in root.iter("{http://www.w3.org/2000/svg}title")) == 8
PY

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "plan-schedule: all checks passed"
