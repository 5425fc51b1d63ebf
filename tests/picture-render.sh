#!/bin/sh
# plan --picture rendered in headless Chromium: the screenshot of the
# built-in plan and of pp 8 vpp 4 is not blank and shows the chart's
# colours. Chromium comes from scripts/deps.sh (Debian's chromium).
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

# render SVG PNG WIDTH HEIGHT
render() {
	profile=$(mktemp -d "$tmp/profile.XXXXXX")
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update \
		--no-first-run --user-data-dir="$profile" \
		--window-size="$3,$4" --screenshot="$2" "file://$1" \
		>"$tmp/chromium.log" 2>&1
	[ -s "$2" ] || { fail "chromium wrote no screenshot of $1"; sed 's/^/  | /' "$tmp/chromium.log" | tail -5; }
}

# not_blank PNG: decodes the PNG (8-bit RGB or RGBA) and checks that at
# least 5% of the pixels are not white and that forward and backward
# colours of chunk 0 and the idle grey are there.
not_blank() {
	python3 - "$1" <<'PY'
import struct, sys, zlib
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
PY
}

"$bin" plan --picture "$tmp/builtin.svg" >/dev/null || fail "plan --picture"
render "$tmp/builtin.svg" "$tmp/builtin.png" 1200 300
[ -s "$tmp/builtin.png" ] && { not_blank "$tmp/builtin.png" || fail "built-in picture"; }

sed -e 's/^  pp: 2$/  pp: 8/' -e 's/^  vpp: 2$/  vpp: 4/' \
	-e 's/global_batch_size: 64/global_batch_size: 512/' \
	"$top/examples/nam56r.yaml" >"$tmp/big.yaml"
"$bin" plan --recipe "$tmp/big.yaml" --nodes 4 --picture "$tmp/big.svg" >/dev/null ||
	fail "plan --picture at pp 8 vpp 4"
render "$tmp/big.svg" "$tmp/big.png" 1200 700
[ -s "$tmp/big.png" ] && { not_blank "$tmp/big.png" || fail "pp 8 vpp 4 picture"; }

# a control: an empty page must be found blank
printf '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"/>\n' >"$tmp/empty.svg"
render "$tmp/empty.svg" "$tmp/empty.png" 200 100
[ -s "$tmp/empty.png" ] && not_blank "$tmp/empty.png" >/dev/null 2>&1 && fail "the blank check passes a blank page"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "picture-render: all checks passed"
