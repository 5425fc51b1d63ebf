# shellcheck shell=bash disable=SC2154
# Cases of tests/integration/run.sh for Slurm's block topology as the
# NVLink island source (island_source: slurm-block, nam56r-policy(5) SLURM
# BLOCKS). Sourced by run.sh after versions.sh (slurm_release,
# release_at_least). topology/block exists from Slurm 23.11: on an older
# cluster (the host's 22.05) each case says so and passes without running.
#
# Each case turns the running cluster into a topology/block one for its
# own duration: TopologyPlugin=topology/block in slurm.conf and a
# topology.conf beside it, taken by `scontrol reconfigure` (which restarts
# the daemons in place from 23.11 on; slurmctld is restarted by hand if
# the blocks do not show in `scontrol show topology`), and puts slurm.conf,
# the policy and the daemons back as they were at the end.
#
# The fake GPUs have no topology: each node places with one island of its
# GPUs, and only the blocks can join two nodes into one NVLink domain. The
# jobs run 2 nodes x 4 ranks with tp 8 (pp 1, vpp 1): TP group 0 is ranks
# 0-7, on n1 and n2.

# blocks_wait WANT: slurmctld up, `scontrol show topology` showing WANT
# (nothing of BlockName= when WANT is empty) and every node idle, within
# SECONDS (default 30). 0 when so.
blocks_wait() {
	local want=$1 limit=${2:-30} t0=$SECONDS topo st
	while [ $((SECONDS - t0)) -lt "$limit" ]; do
		if scontrol ping 2>/dev/null | grep -q 'is UP'; then
			topo=$(scontrol show topology 2>&1)
			st=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u)
			if { { [ -n "$want" ] && echo "$topo" | grep -qF -- "$want"; } ||
				{ [ -z "$want" ] && ! echo "$topo" | grep -q 'BlockName='; }; } &&
				[ "$(echo "$st" | grep -c ' idle$')" = "$NNODES" ]; then
				return 0
			fi
		fi
		sleep 0.5
	done
	return 1
}

# blocks_apply WANT: the daemons take slurm.conf and topology.conf as they
# are now; WANT as blocks_wait. Says which way it went.
blocks_apply() {
	local want=$1 pid
	scontrol reconfigure >"$W/blocks.reconfigure" 2>&1 ||
		{ fail "scontrol reconfigure: $(head -3 "$W/blocks.reconfigure")"; return 1; }
	if blocks_wait "$want" 30; then
		BLOCKS_HOW="scontrol reconfigure"
		return 0
	fi
	# Not taken in place: restart slurmctld (its state survives).
	pid=$(tr -dc 0-9 <"$D/run/slurmctld.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	slurmctld -f "$D/etc/slurm.conf" >>"$D/log/slurmctld.start.log" 2>&1 ||
		{ fail "slurmctld did not start again: $(tail -3 "$D/log/slurmctld.start.log")"; return 1; }
	if blocks_wait "$want" 60; then
		BLOCKS_HOW="a restart of slurmctld"
		return 0
	fi
	fail "Slurm $(slurm_release) did not take the topology: scontrol show topology says: $(scontrol show topology 2>&1 | head -3 | tr '\n' ' ')"
	fail "nodes: $(sinfo -h -N -o '%N %T' 2>&1 | tr '\n' ' ')"
	return 1
}

# blocks_begin TOPOLOGY-CONF WANT: topology/block with this topology.conf;
# the policy and slurm.conf are kept to put back. 1 (after saying why)
# when the release has no topology/block (the case then passes), 2 when
# the cluster did not take it (the case fails; blocks_end puts it back).
blocks_begin() {
	BLOCKS_ACTIVE=0
	if ! release_at_least 23.11; then
		echo "    skipped: topology/block needs Slurm 23.11 or later; this cluster runs Slurm $(slurm_release)"
		return 1
	fi
	cp "$D/etc/slurm.conf" "$D/etc/slurm.conf.blocks" &&
		cp "$POLICY" "$D/etc/policy.blocks" ||
		{ fail "cannot save slurm.conf and the policy"; return 2; }
	BLOCKS_ACTIVE=1
	printf '%s\n' "$1" >"$D/etc/topology.conf" &&
		chmod 0644 "$D/etc/topology.conf" &&
		sed -i '/^NodeName=DEFAULT/i TopologyPlugin=topology/block' "$D/etc/slurm.conf" &&
		grep -q '^TopologyPlugin=topology/block$' "$D/etc/slurm.conf" ||
		{ fail "cannot write topology.conf or TopologyPlugin= in slurm.conf"; return 2; }
	blocks_apply "$2" || return 2
	echo "    Slurm $(slurm_release): topology/block taken by $BLOCKS_HOW: $(scontrol show topology 2>&1 | grep -c '^BlockName=') block(s)"
}

# blocks_end: slurm.conf, topology.conf and the policy as before the case,
# taken by the daemons. 1 when the cluster could not be put back.
blocks_end() {
	[ "${BLOCKS_ACTIVE:-0}" = 1 ] || return 0
	BLOCKS_ACTIVE=0
	mv "$D/etc/slurm.conf.blocks" "$D/etc/slurm.conf" &&
		rm -f "$D/etc/topology.conf" &&
		cat "$D/etc/policy.blocks" >"$POLICY" &&
		rm -f "$D/etc/policy.blocks" &&
		policy_restore ||
		{ fail "cannot put slurm.conf and the policy back"; return 1; }
	blocks_apply "" || { fail "the cluster did not leave topology/block"; return 1; }
}

# blocks_policy KEY VALUE...: set these topology keys of the policy
# (island_source, require_tp_in_island), each a line of examples/policy.yaml.
blocks_policy() {
	while [ $# -ge 2 ]; do
		sed -i "s|^  $1: .*\$|  $1: $2|" "$POLICY"
		grep -q "^  $1: $2\$" "$POLICY" ||
			{ fail "examples/policy.yaml has no '  $1:' line"; return 1; }
		shift 2
	done
}

# blocks_recipe FILE TP PP VPP: the example recipe with these sizes.
blocks_recipe() {
	good_recipe "$1" &&
		sed -i -e "s/^  tp: 1\$/  tp: $2/" -e "s/^  pp: 2\$/  pp: $3/" \
			-e "s/^  vpp: 2\$/  vpp: $4/" "$1" &&
		grep -q "^  tp: $2\$" "$1" && grep -q "^  pp: $3\$" "$1" &&
		grep -q "^  vpp: $4\$" "$1" ||
		{ fail "examples/nam56r.yaml has no 'tp: 1', 'pp: 2', 'vpp: 2' lines"; return 1; }
}

# blocks_plan RECIPE OUT: the plan for n[1-2] x 4 against the blocks, as
# the user would ask before submitting (exit status of plan).
blocks_plan() {
	SLURM_CONF=$SLURM_CONF "$BIN/nam56r-launch" plan --recipe "$1" \
		--policy "$POLICY" --nodelist "n[1-$NNODES]" --gpus-per-node 4 \
		--format json >"$2" 2>"$2.err"
}

# blocks_job DIR WANT: 2 x 4 ranks of DIR/r.yaml end in WANT; sets JOB.
blocks_job() {
	JOB=$(as_user "$1" sbatch --parsable -N"$NNODES" --ntasks-per-node=4 \
		--gpus-per-node=4 --nam56r-recipe=r.yaml job.sh 2>"$1/sbatch.err") ||
		{ fail "sbatch: $(cat "$1/sbatch.err")"; return 1; }
	finish_job "$1" "$JOB" "$2"
}

# NAM56R_ISLAND of every rank file in DIR/out, as "COUNT=VALUE" lines.
blocks_islands() {
	cat "$1"/out/* 2>/dev/null | sed -n 's/^NAM56R_ISLAND=//p' | sort | uniq -c |
		awk '{print $1 "=" $2}' | tr '\n' ' ' | sed 's/ $//'
}

# (a) n1 and n2 in one block: tp 8 spans the two nodes and is placed in
# the block's one island, even with require_tp_in_island (which refuses
# the same job when the islands stop at the node: the control).
case_block_one_block() {
	local c rc=0 islands
	c=$(mkcase block_one_block) || return 1
	blocks_begin "BlockName=b1 Nodes=n[1-$NNODES]
BlockSizes=$NNODES" "BlockName=b1 "
	case $? in
	1) return 0 ;;
	2) blocks_end; return 1 ;;
	esac
	{
		blocks_recipe "$c/r.yaml" 8 1 1 &&
			blocks_policy island_source slurm-block require_tp_in_island true
	} || rc=1
	# The plan says the same as the nodes will: one island of 8.
	if [ $rc = 0 ] && ! blocks_plan "$c/r.yaml" "$c/plan.json"; then
		fail "plan --nodelist refused one block: $(head -3 "$c/plan.json.err")"
		rc=1
	fi
	if [ $rc = 0 ] && blocks_job "$c" COMPLETED; then
		check_ranks "$c" --gpn 4 --sha256 "$(sha256_of "$c/r.yaml")" || rc=1
		islands=$(blocks_islands "$c")
		[ "$islands" = "8=0" ] ||
			{ fail "NAM56R_ISLAND on the 8 ranks: $islands, want 8=0 (one block, one island)"; rc=1; }
		[ $rc = 0 ] && echo "    job $JOB: tp 8 over n1 and n2 in block b1, 8 ranks in island 0"
	else
		rc=1
	fi
	# The control: the same job with the islands of each node.
	if [ $rc = 0 ]; then
		blocks_policy island_source auto || rc=1
		rm -rf "$c/out"/*
		if [ $rc = 0 ] && blocks_job "$c" FAILED; then
			grep -q 'nam56r: placement: .*the site policy requires every TP group inside one NVLink island' \
				"$c/slurm-$JOB.out" ||
				{ fail "the control failed without saying why: $(head -3 "$c/slurm-$JOB.out")"; rc=1; }
			[ -z "$(ls "$c/out")" ] || { fail "ranks of the control ran"; rc=1; }
		else
			fail "without the blocks, tp 8 over two nodes was not refused"
			rc=1
		fi
	fi
	blocks_end || rc=1
	return $rc
}

# (b) n1 and n2 in two blocks of one node (BlockSizes=1,2 lets Slurm give a
# 2-node job both): TP group 0 would cross them, so plan --nodelist and the
# step refuse it, naming the blocks and the largest tp a block holds
# (require_tp_in_island stays false); tp 4 keeps every group on one node
# and runs, each node its block's island.
case_block_across_blocks() {
	local c rc=0 want islands
	c=$(mkcase block_across_blocks) || return 1
	blocks_begin "BlockName=b1 Nodes=n1
BlockName=b2 Nodes=n2
BlockSizes=1,2" "BlockName=b2 "
	case $? in
	1) return 0 ;;
	2) blocks_end; return 1 ;;
	esac
	{
		blocks_recipe "$c/r.yaml" 8 1 1 &&
			blocks_policy island_source slurm-block require_tp_in_island false
	} || rc=1
	want="TP group 0 (ranks 0-7, tp 8) would span block b1 (n1) and block b2 (n2), at the job's nodes n1 and n2: the blocks of $D/etc/topology.conf are separate NVLink domains"
	if [ $rc = 0 ]; then
		if blocks_plan "$c/r.yaml" "$c/plan.json"; then
			fail "plan --nodelist n[1-2] accepted tp 8 across two blocks"
			rc=1
		elif ! grep -qF -- "nam56r-launch plan: error: $want" "$c/plan.json.err"; then
			fail "plan said: $(head -3 "$c/plan.json.err")"
			rc=1
		fi
	fi
	if [ $rc = 0 ] && blocks_job "$c" FAILED; then
		grep -qF -- "nam56r: placement: $want" "$c/slurm-$JOB.out" ||
			{ fail "the job's output does not name the blocks: $(head -5 "$c/slurm-$JOB.out")"; rc=1; }
		grep -qF -- "No block holds the 2 nodes a group spans (the largest has 1): make tp at most 4 (1 node of 4 GPUs)" \
			"$c/slurm-$JOB.out" ||
			{ fail "the message does not say what would fit the blocks"; rc=1; }
		[ -z "$(ls "$c/out")" ] || { fail "ranks ran across two blocks"; rc=1; }
		[ "$(job_exit "$JOB")" != 0:0 ] || { fail "job $JOB FAILED with ExitCode=0:0"; rc=1; }
		[ $rc = 0 ] && echo "    job $JOB FAILED: $(grep -m1 -o 'nam56r: placement: TP group 0.*n1 and n2' "$c/slurm-$JOB.out")"
	else
		rc=1
	fi
	# Groups inside a node cross nothing: placed, one island per block.
	if [ $rc = 0 ]; then
		rm -rf "$c/out"/*
		blocks_recipe "$c/r.yaml" 4 2 2 || rc=1
		if [ $rc = 0 ] && ! blocks_plan "$c/r.yaml" "$c/plan.json"; then
			fail "plan --nodelist refused tp 4: $(head -3 "$c/plan.json.err")"
			rc=1
		fi
		if [ $rc = 0 ] && blocks_job "$c" COMPLETED; then
			check_ranks "$c" --gpn 4 --sha256 "$(sha256_of "$c/r.yaml")" || rc=1
			islands=$(blocks_islands "$c")
			[ "$islands" = "4=0 4=1" ] ||
				{ fail "NAM56R_ISLAND on the 8 ranks: $islands, want 4=0 4=1"; rc=1; }
			[ $rc = 0 ] && echo "    job $JOB: tp 4 in each block, ranks in islands 0 (b1) and 1 (b2)"
		else
			rc=1
		fi
	fi
	blocks_end || rc=1
	return $rc
}

# shellcheck disable=SC2034 # run.sh appends these to its ALL_CASES
BLOCK_CASES="block_one_block block_across_blocks"
