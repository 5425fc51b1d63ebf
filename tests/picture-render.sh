#!/bin/sh
# plan --picture rendered in headless Chromium: the screenshot of the
# built-in plan and of pp 8 vpp 4 is not blank and shows the chart's
# colours, and every memory bar (under each GPU, per pipeline rank) shows
# its own colour where the SVG puts it. Chromium comes from scripts/deps.sh
# (Debian's chromium).
set -u
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIP: chromium is not installed (scripts/deps.sh installs it)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to read the screenshot"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
bin=${N56_LAUNCH:-${BUILDDIR:-$(pwd)}/nam56r-launch}
[ -x "$bin" ] || bin=$(pwd)/nam56r-launch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# render SVG PNG WIDTH [HEIGHT]: HEIGHT defaults to the picture's own
render() {
	set -- "$1" "$2" "$3" "${4:-$(sed -n 's/^<svg [^>]* height="\([0-9]*\)".*/\1/p' "$1")}"
	profile=$(mktemp -d "$tmp/profile.XXXXXX")
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--no-first-run --user-data-dir="$profile" \
		--window-size="$3,$4" --screenshot="$2" "file://$1" \
		>"$tmp/chromium.log" 2>&1
	[ -s "$2" ] || { fail "chromium wrote no screenshot of $1"; sed 's/^/  | /' "$tmp/chromium.log" | tail -5; }
}

# not_blank PNG [SVG]: decodes the PNG (8-bit RGB or RGBA) and checks that
# at least 5% of the pixels are not white and that forward and backward
# colours of chunk 0 and the idle grey are there; with the SVG, that the
# middle of each memory bar has the bar's fill.
not_blank() {
	python3 - "$@" <<'PY'
import struct, sys, zlib
import xml.etree.ElementTree as ET
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
rows, prev, at = [], bytearray(stride), 0
for y in range(h):
    f = raw[at]; line = bytearray(raw[at + 1:at + 1 + stride]); at += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line)); prev = line
seen, inked = set(), 0
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        seen.add(px)
        inked += px != b"\xff\xff\xff"
share = inked / (w * h)
want = {"forward chunk 0": b"\x9e\xca\xe1", "backward chunk 0": b"\x31\x82\xbd",
        "idle": b"\xd9\xd9\xd9"}
missing = [k for k, v in want.items() if v not in seen]
print("%s: %dx%d, %.1f%% inked, %d colours" % (sys.argv[1], w, h, 100 * share, len(seen)))
assert share >= 0.05, "blank: %.2f%% inked" % (100 * share)
assert not missing, "colours missing: %s" % missing
if len(sys.argv) > 2:
    S = "{http://www.w3.org/2000/svg}"
    bars = [r for r in ET.parse(sys.argv[2]).getroot().iter(S + "rect")
            if r.get("class") in ("mem", "memrow") and float(r.get("width")) >= 3]
    assert bars, "no memory bars in " + sys.argv[2]
    bad, fills = [], set()
    for r in bars:
        x = int(float(r.get("x")) + float(r.get("width")) / 2)
        y = int(float(r.get("y")) + float(r.get("height")) / 2)
        want = bytes.fromhex(r.get("fill")[1:])
        got = rows[y][x * bpp:x * bpp + 3]
        fills.add(r.get("fill"))
        if got != want:
            bad.append("%s at %d,%d is #%s, want %s" % (r.find(S + "title").text, x, y, got.hex(), r.get("fill")))
    print("  %d memory bars in their colours (%s)" % (len(bars) - len(bad), " ".join(sorted(fills))))
    assert not bad, bad[:3]
PY
}

"$bin" plan --picture "$tmp/builtin.svg" >/dev/null || fail "plan --picture"
render "$tmp/builtin.svg" "$tmp/builtin.png" 1200
[ -s "$tmp/builtin.png" ] && { not_blank "$tmp/builtin.png" "$tmp/builtin.svg" || fail "built-in picture"; }

# against a capacity: 150 GB, 2 nodes: pipeline rank 0 at 84% (#d73027),
# rank 1 at 70% (#fdae61)
printf 'schema: 1\nmemory:\n  gpu_memory_gb: 150\n' >"$tmp/p150.yaml"
"$bin" plan --nodes 2 --policy "$tmp/p150.yaml" --picture "$tmp/p150.svg" >/dev/null ||
	fail "plan --picture with a capacity"
{ grep -q 'class="mem" .*fill="#d73027"' "$tmp/p150.svg" && grep -q 'class="mem" .*fill="#fdae61"' "$tmp/p150.svg"; } ||
	fail "p150.svg: the ranks' bars are not #d73027 and #fdae61"
render "$tmp/p150.svg" "$tmp/p150.png" 1200
[ -s "$tmp/p150.png" ] && { not_blank "$tmp/p150.png" "$tmp/p150.svg" || fail "picture with a capacity"; }

sed -e 's/^  pp: 2$/  pp: 8/' -e 's/^  vpp: 2$/  vpp: 4/' \
	-e 's/global_batch_size: 64/global_batch_size: 512/' \
	"$top/examples/nam56r.yaml" >"$tmp/big.yaml"
"$bin" plan --recipe "$tmp/big.yaml" --nodes 4 --picture "$tmp/big.svg" >/dev/null ||
	fail "plan --picture at pp 8 vpp 4"
render "$tmp/big.svg" "$tmp/big.png" 1200
[ -s "$tmp/big.png" ] && { not_blank "$tmp/big.png" "$tmp/big.svg" || fail "pp 8 vpp 4 picture"; }

# a control: an empty page must be found blank
printf '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"/>\n' >"$tmp/empty.svg"
render "$tmp/empty.svg" "$tmp/empty.png" 200 100
[ -s "$tmp/empty.png" ] && not_blank "$tmp/empty.png" >/dev/null 2>&1 && fail "the blank check passes a blank page"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "picture-render: all checks passed"
