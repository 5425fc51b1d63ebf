#!/bin/sh
# nam56r-launch topology from the command line: --help, usage errors (exit 2
# with the message), a bad XML (exit 2), the JSON keys of nam56r-launch(1) and each
# fixture's islands and island_source as ../shared/fixtures/topology/README.md
# gives them (skipped when that folder is absent).
set -u
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to check the JSON"; exit 77; }
top=$(cd "${srcdir:-.}" && pwd)
bin=${N56_LAUNCH:-$(pwd)/nam56r-launch}
[ -x "$bin" ] || { echo "SKIP: $bin not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

expect() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || { fail "exit $got, want $want: $*"; head -5 "$tmp/err"; }
}

stderr_is() {
	printf '%s\n' "$1" | cmp -s - "$tmp/err" || { fail "stderr is not: $1"; head -5 "$tmp/err"; }
}

expect 0 "$bin" topology --help
grep -q -- "--topology XML" "$tmp/out" || fail "--help lacks --topology"
expect 2 "$bin" topology --format yaml
stderr_is "nam56r-launch: topology: --format must be text or json, not 'yaml'"
expect 2 "$bin" topology extra
expect 2 "$bin" topology --topology "$tmp/none.xml"
stderr_is "nam56r-launch: topology: $tmp/none.xml: error: cannot read the topology XML: No such file or directory"
printf '<topology version="2.0"><object' >"$tmp/bad.xml"
expect 2 "$bin" topology --topology "$tmp/bad.xml" --format json
stderr_is "nam56r-launch: topology: $tmp/bad.xml: error: not a valid hwloc XML export (check it with \`lstopo --input $tmp/bad.xml\`)"
[ -s "$tmp/out" ] && fail "output on a bad XML"

# The admin map of a policy (the policy loader wants a root-owned file).
if [ "$(id -u)" = 0 ] && [ -f "$top/../shared/fixtures/topology/README.md" ]; then
	lassen=$top/../shared/fixtures/topology/mpibind_coral-lassen.xml
	cat >"$tmp/policy.yaml" <<'YAML'
schema: 1
topology:
  island_source: admin-map
  islands:
    - {nodes: "lassen[1-795]", gpus: "0-1", domain: s0}
    - {nodes: "lassen[1-795]", gpus: "2-9", domain: s1}
YAML
	chmod 0644 "$tmp/policy.yaml"
	expect 2 "$bin" topology --topology "$lassen" --policy "$tmp/policy.yaml" --hostname lassen7
	stderr_is "nam56r-launch: topology: $tmp/policy.yaml:6:7: error: topology.islands[1].gpus: GPU 9 is not on this node (it has 4 GPUs, 0-3)"
	sed -i 's/"2-9"/"2-3"/' "$tmp/policy.yaml"
	expect 0 "$bin" topology --topology "$lassen" --policy "$tmp/policy.yaml" --hostname lassen7 --format json
	python3 - "$tmp/out" <<'PY' || fail "lassen admin map"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["island_source"] == "admin-map", d["island_source"]
assert sorted(d["islands"]) == [[0, 1], [2, 3]], d["islands"]
assert d["nodes_per_domain"] == 795
PY
fi

# Live: whatever this node has, the JSON has the keys.
expect 0 "$bin" topology --format json
python3 - "$tmp/out" <<'PY' || fail "live JSON keys"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("source", "gpus", "islands", "island_source", "degraded", "facts"):
    assert k in d, k
assert d["source"] == "live"
for g in d["gpus"]:
    for k in ("index", "pci", "numa", "island", "nic"):
        assert k in g, k
PY

fx=$top/../shared/fixtures/topology
if [ ! -f "$fx/README.md" ]; then
	echo "SKIP: $fx absent: fixture islands not checked"
else
	# file, island_source, islands as PCI bus id groups ("one" = a
	# single island of all GPUs, "each" = one per GPU)
	while read -r file src groups; do
		expect 0 "$bin" topology --topology "$fx/$file" --format json
		python3 - "$tmp/out" "$src" "$groups" "$fx/$file" <<'PY' || fail "$file"
import json, sys
d = json.load(open(sys.argv[1]))
src, groups, path = sys.argv[2], sys.argv[3], sys.argv[4]
assert d["source"] == path, d["source"]
assert d["island_source"] == src, (d["island_source"], src)
n = len(d["gpus"])
assert n > 0
assert [g["index"] for g in d["gpus"]] == list(range(n))
assert sorted(g["pci"] for g in d["gpus"]) == [g["pci"] for g in d["gpus"]]
isl = d["islands"]
assert sorted(i for s in isl for i in s) == list(range(n))
if groups == "one":
    assert len(isl) == 1
elif groups == "each":
    assert len(isl) == n and d["degraded"]
else:
    bus = {g["pci"]: g["index"] for g in d["gpus"]}
    want = sorted(sorted(bus[b] for b in grp.split(",")) for grp in groups.split("/"))
    assert sorted(sorted(s) for s in isl) == want, (isl, want)
for g in d["gpus"]:
    assert d["islands"][g["island"]].count(g["index"]) == 1
PY
	done <<'EOF2'
hwloc-v2.14_nvidiaDGX2.xml hwloc-distances one
hwloc-v2.14_power8gpudistances.xml hwloc-distances 0002:01:00.0,0003:01:00.0/000a:01:00.0,000b:01:00.0
hwloc-v2.14_32em64t-2n8c2t-pci-normalio.xml none each
mpibind_eas-tioga.xml hwloc-distances one
mpibind_coral-lassen.xml none each
mpibind_g4dnmetal.xml none each
flux-core_ipa20.xml hwloc-distances one
flux-core_tuo.SPX.xml hwloc-distances one
flux-core_tuo.CPX.xml hwloc-distances one
derived_ipa20-2islands.xml hwloc-distances 0000:5f:00.0,0000:4e:00.0/0000:db:00.0,0000:cb:00.0
derived_dgx2-pcionly.xml pci-switch one
selfmade_h200-vm-2gpu.xml none each
EOF2
fi

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
