#!/bin/sh
# nam56r-launch with Slurm's block topology (island_source slurm-block) from
# the command line: plan --nodelist places a TP group over the nodes of one
# block in one island and refuses one across two blocks (exit 2, the step's
# message); without --nodelist a note; the node list, the topology file and
# its absence as usage errors with their messages; topology.yaml before
# topology.conf; validate leaves the blocks to plan and the plugin; the
# topology command reads the blocks beside $SLURM_CONF.
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

# tp 8 on nodes of 4 GPUs: TP group 0 spans two nodes.
sed -e 's/^  tp: 1$/  tp: 8/' -e 's/^  pp: 2$/  pp: 1/' -e 's/^  vpp: 2$/  vpp: 1/' \
	"$top/examples/nam56r.yaml" >"$tmp/r.yaml"
grep -q '^  tp: 8$' "$tmp/r.yaml" || fail "examples/nam56r.yaml has no 'tp: 1' line"
sed -e 's/^  island_source: auto$/  island_source: slurm-block/' \
	-e 's/^  require_tp_in_island: false$/  require_tp_in_island: true/' \
	"$top/examples/policy.yaml" >"$tmp/p.yaml"
grep -q '^  island_source: slurm-block$' "$tmp/p.yaml" ||
	fail "examples/policy.yaml has no 'island_source: auto' line"
printf 'BlockName=b1 Nodes=n[1-2]\nBlockName=b2 Nodes=n[3-4]\nBlockSizes=2\n' \
	>"$tmp/topology.conf"
SLURM_CONF=$tmp/slurm.conf
export SLURM_CONF
plan() { "$bin" plan --recipe "$tmp/r.yaml" --policy "$tmp/p.yaml" --gpus-per-node 4 "$@"; }

# One block: placed, one island for both nodes.
expect 0 plan --nodelist 'n[1-2]' --format json
python3 - "$tmp/out" "$tmp/topology.conf" <<'PY' || fail "one block: placement"
import json, sys
d = json.load(open(sys.argv[1]))
assert {r["island"] for r in d["placement"]} == {0}, d["placement"][:9]
rep = d["placement_report"]
assert rep["tp_in_island"] and rep["why"] == "", rep
assert rep["source"] == ("assumed: one island per node; NVLink domains: "
                         "the blocks of " + sys.argv[2]), rep["source"]
PY
# Across two blocks: refused with the message the step fails with.
expect 2 plan --nodelist 'n[2-3]'
stderr_is "nam56r-launch plan: error: TP group 0 (ranks 0-7, tp 8) would span block b1 (n[1-2]) and block b2 (n[3-4]), at the job's nodes n2 and n3: the blocks of $tmp/topology.conf are separate NVLink domains. Ask Slurm for whole segments of one block with --segment=2 (or a multiple of 2 that divides the job's 2 nodes; Slurm 24.05+) or for the nodes of one block, or make tp at most 4 (the GPUs of a node)"
[ -s "$tmp/out" ] && fail "a plan printed for nodes across blocks"
# Without the node list the blocks cannot be checked: said, not refused by
# them (the site's require_tp_in_island still refuses the assumed islands).
expect 2 plan --nodes 2
grep -qx "nam56r-launch plan: note: island_source slurm-block: give --nodelist to hold the job's nodes against Slurm's blocks" "$tmp/err" ||
	{ fail "no note without --nodelist"; head -3 "$tmp/err"; }
# The node list as a usage error.
expect 2 plan --nodes 3 --nodelist 'n[1-2]'
stderr_is "nam56r-launch plan: --nodes 3, but --nodelist n[1-2] names 2 nodes: give one of them"
expect 2 plan --nodelist 'n[2-1]'
stderr_is "nam56r-launch plan: --nodelist: bad host list 'n[2-1]': range '2-1' goes down"
expect 2 "$bin" validate --recipe "$tmp/r.yaml" --nodelist 'n[1-2]'
# The topology file: its problems with their place, its absence.
printf 'BlockName=b1 Nodes=n[1-2]\nSwitchName=s1 Nodes=n[3-4]\n' >"$tmp/topology.conf"
expect 2 plan --nodelist 'n[1-2]'
stderr_is "$tmp/topology.conf:2:1: error: SwitchName is topology/tree's: island_source slurm-block reads topology/block's BlockName lines"
rm -f "$tmp/topology.conf"
expect 2 plan --nodelist 'n[1-2]'
stderr_is "$tmp/topology.conf: error: cannot open: no topology.yaml or topology.conf beside $tmp/slurm.conf; island_source slurm-block in $tmp/p.yaml reads Slurm's topology/block configuration (or the file topology.slurm_topology_file names)"
# topology.yaml, as Slurm reads it first: one block of n[1-4].
cat >"$tmp/topology.yaml" <<'YAML'
- topology: fabric
  cluster_default: true
  flat: true
- topology: nvl
  block:
    block_sizes: [4]
    blocks:
      - {block: rack1, nodes: "n[1-4]"}
YAML
printf 'BlockName=b1 Nodes=n[1-2]\nBlockName=b2 Nodes=n[3-4]\n' >"$tmp/topology.conf"
expect 0 plan --nodelist 'n[2-3]'
# validate sees no node list: it leaves the blocks to plan and the plugin,
# where with island_source auto the assumed islands refuse tp 8.
expect 0 "$bin" validate --recipe "$tmp/r.yaml" --policy "$tmp/p.yaml" --nodes 2 --gpus-per-node 4
sed 's/^  island_source: slurm-block$/  island_source: auto/' "$tmp/p.yaml" >"$tmp/auto.yaml"
expect 2 "$bin" validate --recipe "$tmp/r.yaml" --policy "$tmp/auto.yaml" --nodes 2 --gpus-per-node 4
# The topology command: this machine's GPUs (any), the blocks' domain.
rm -f "$tmp/topology.yaml"
expect 0 "$bin" topology --policy "$tmp/p.yaml" --hostname n3 --format json
python3 - "$tmp/out" "$tmp/topology.conf" <<'PY' || fail "topology --policy: the blocks"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["island_source"] == "slurm-block", d["island_source"]
assert d["nodes_per_domain"] == 2, d["nodes_per_domain"]
want = "islands: slurm-block of %s for host 'n3'" % sys.argv[2]
assert any(f.startswith(want) for f in d["facts"]), d["facts"]
PY
SLURM_CONF=$tmp/elsewhere/slurm.conf
expect 2 "$bin" topology --policy "$tmp/p.yaml" --hostname n3
SLURM_CONF=$tmp/slurm.conf
grep -q "^$tmp/elsewhere/topology.conf: error: cannot open: no topology.yaml or topology.conf beside" "$tmp/err" ||
	{ fail "topology --policy without the blocks"; head -3 "$tmp/err"; }

[ "$fails" = 0 ] || exit 1
echo "PASS: block-cli"
