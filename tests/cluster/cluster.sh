#!/bin/bash
# A real Slurm cluster on this one machine, for the integration tests, the
# demo and the benchmarks: a private munged, slurmctld and N slurmd (one per
# fake node, each in its own network + UTS namespace), N nodes x G fake GPUs.
# Everything lives under one state dir; nothing in /etc is touched.
#
# Usage: cluster.sh up     [--dir D] [--nodes N] [--gpus G] [--cpus C]
#                          [--plugin SO] [--policy F] [--plugin-arg K=V]...
#                          [--optional] [--mode auto|netns|loopback]
#                          [--plugin-in-place]
#        cluster.sh down   [--dir D] [--purge]
#        cluster.sh status [--dir D]
#        cluster.sh env    [--dir D]      # prints `export ...` lines to eval
#        cluster.sh user   [--dir D] -- CMD [ARGS...]  # run CMD as n56user
#        cluster.sh restart-slurmd [--dir D] --node I   # kill and restart nI
#
# Env defaults: N56_CLUSTER_DIR (default /tmp/n56-cluster-$$ for up, the
# last cluster started for the others), N56_NODES (2), N56_GPUS (8),
# N56_CPUS (8), N56_PLUGIN, N56_POLICY, N56_PLUGIN_ARGS (space separated
# K=V), N56_CLUSTER_MODE (auto), N56_USER (n56user).
# Exit status: 0 ok, 1 failure (with the daemons' logs), 2 usage.
# See tests/cluster/README for the layout of the state dir.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
last_link=/tmp/n56-cluster-last
lock_file=/run/n56-cluster.lock

die() { echo "cluster.sh: $*" >&2; exit 1; }
usage() { sed -n '6,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
say() { echo "cluster.sh: $*"; }

# ---- state --------------------------------------------------------------
# $D/etc      slurm.conf gres.conf plugstack.conf policy.yaml
# $D/munge    munged's key, socket, pid, log (owned by munge)
# $D/run      pid files;  $D/log  daemon logs;  $D/spool/NODE  slurmd spool
# $D/state    slurmctld state;  $D/dev  fake GPUs;  $D/cache  topology cache
# $D/work     writable by the submitting user;  $D/env  exports for clients
# $D/mode     netns|loopback;  $D/netidx  K of bridge n56brK, 10.77.K.0/24

load_state() { # after D is known: read what up wrote
	[ -d "$D" ] || die "no cluster state dir $D"
	mode=$(cat "$D/mode" 2>/dev/null || echo unknown)
	netidx=$(cat "$D/netidx" 2>/dev/null || true)
	nodes=$(cat "$D/nodes" 2>/dev/null || echo 0)
	conf=$D/etc/slurm.conf
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$1" 2>/dev/null | tr -dc 0-9; }

used_ports= # chosen in this run, not listening yet
free_port() { # sets $port: a TCP port nobody listens on, not chosen before
	local p _
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 30000))
		case " $used_ports " in *" $p "*) continue ;; esac
		if ! ss -ltnH "sport = :$p" 2>/dev/null | grep -q .; then
			used_ports="$used_ports $p"
			port=$p; return 0
		fi
	done
	return 1
}

ensure_user() {
	if ! getent passwd "$user" >/dev/null; then
		useradd -m -s /bin/bash "$user" ||
			die "cannot create the submitting user $user (useradd)"
		say "created user $user"
	fi
}

# ---- munge --------------------------------------------------------------
start_munge() {
	local m=$D/munge
	install -d -o munge -g munge -m 0755 "$m" || return 1
	# A key of our own: this cluster never trusts the host's munge key.
	dd if=/dev/urandom of="$m/munge.key" bs=1024 count=1 status=none &&
		chown munge:munge "$m/munge.key" && chmod 0400 "$m/munge.key" ||
		return 1
	runuser -u munge -- /usr/sbin/munged --socket="$m/munge.socket.2" \
		--pid-file="$m/munged.pid" --log-file="$m/munged.log" \
		--seed-file="$m/munged.seed" --key-file="$m/munge.key" \
		>"$D/log/munged.start.log" 2>&1 || {
		cat "$D/log/munged.start.log" "$m/munged.log" >&2 2>/dev/null
		return 1
	}
	local i
	for i in $(seq 1 50); do
		munge -n -S "$m/munge.socket.2" 2>/dev/null |
			unmunge -S "$m/munge.socket.2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "cluster.sh: munged does not answer on $m/munge.socket.2" >&2
	cat "$m/munged.log" >&2 2>/dev/null
	return 1
}

# ---- network namespaces ------------------------------------------------
# One bridge n56brK (10.77.K.1/24) per cluster, K the first free index, so
# that several clusters (two helpers, two test runs) can coexist.
netns_name() { echo "n56c${netidx}-n$1"; }

setup_netns() {
	local k i ns veth
	exec 9>"$lock_file" && flock -w 30 9 || return 1
	for k in $(seq 0 254); do
		ip link show "n56br$k" >/dev/null 2>&1 && continue
		ip -o -4 addr show | grep -q " 10\.77\.$k\." && continue
		ip netns list 2>/dev/null | grep -q "^n56c$k-" && continue
		break
	done
	netidx=$k
	echo "$netidx" >"$D/netidx"
	ip link add "n56br$k" type bridge &&
		ip addr add "10.77.$k.1/24" dev "n56br$k" &&
		ip link set "n56br$k" up
	local rc=$?
	flock -u 9; exec 9>&-
	[ $rc = 0 ] || return 1
	for i in $(seq 1 "$nodes"); do
		ns=$(netns_name "$i")
		veth="n56v$k-$i"
		ip netns add "$ns" &&
			ip link add "$veth" type veth peer name eth0 netns "$ns" &&
			ip link set "$veth" master "n56br$k" &&
			ip link set "$veth" up &&
			ip -n "$ns" addr add "10.77.$k.$((10 + i))/24" dev eth0 &&
			ip -n "$ns" link set eth0 up &&
			ip -n "$ns" link set lo up || return 1
	done
	# The bridge forwards only once its ports are up: check node 1 answers.
	for i in $(seq 1 30); do
		ping -c1 -W1 "10.77.$k.11" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	# No ping binary is fine: the slurmd registration checks the path.
	command -v ping >/dev/null || return 0
	return 1
}

teardown_netns() {
	[ -n "$netidx" ] || return 0
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^n56c$netidx-n"); do
		ip netns del "$ns" 2>/dev/null
	done
	ip link del "n56br$netidx" 2>/dev/null
	return 0
}

# ---- configuration ------------------------------------------------------
# fill TEMPLATE NAME VALUE...: the template with @NAME@ replaced (and @D@,
# @MODE@ always), on stdout.
fill() {
	local t=$1 script="s|@D@|$D|g; s|@MODE@|$mode|g"; shift
	while [ $# -ge 2 ]; do
		script="$script; s|@$1@|$2|g"
		shift 2
	done
	[ -f "$t" ] || { echo "cluster.sh: no template $t" >&2; return 1; }
	sed "$script" "$t"
}

write_conf() {
	local host ctld_addr ctld_port slurmd_port i
	host=$(hostname -s)
	free_port || return 1
	ctld_port=$port
	if [ "$mode" = netns ]; then
		ctld_addr=10.77.$netidx.1
		free_port || return 1
		slurmd_port=$port
	else
		ctld_addr=127.0.0.1
	fi
	fill "$here/slurm.conf.in" HOST "$host" CTLD_ADDR "$ctld_addr" \
		CTLD_PORT "$ctld_port" CPUS "$cpus" GPUS "$gpus" >"$conf" || return 1
	for i in $(seq 1 "$nodes"); do
		if [ "$mode" = netns ]; then
			echo "NodeName=n$i NodeAddr=10.77.$netidx.$((10 + i)) Port=$slurmd_port" >>"$conf"
		else
			free_port || return 1
			echo "NodeName=n$i NodeAddr=127.0.0.1 NodeHostname=n$i Port=$port" >>"$conf"
		fi
	done
	echo "PartitionName=debug Nodes=n[1-$nodes] Default=YES MaxTime=INFINITE State=UP" >>"$conf"

	# Fake GPUs: character devices of NVIDIA's major, so that Slurm's gres
	# code accepts them and sets CUDA_VISIBLE_DEVICES.
	mkdir -p "$D/dev"
	for i in $(seq 0 $((gpus - 1))); do
		[ -e "$D/dev/nvidia$i" ] || mknod "$D/dev/nvidia$i" c 195 "$i" || return 1
	done
	fill "$here/gres.conf.in" NODES "$nodes" LASTGPU $((gpus - 1)) \
		>"$D/etc/gres.conf" || return 1
	# No cgroup tree (a chroot of scripts/slurm-chroot.sh): slurmd 23.02+
	# will not start unless its cgroup plugin is off. The host's cgroups
	# are used as they are (no cgroup.conf, as before).
	if ! mountpoint -q /sys/fs/cgroup 2>/dev/null; then
		echo "CgroupPlugin=disabled" >"$D/etc/cgroup.conf" || return 1
	fi
	write_plugstack
}

write_plugstack() { # plugstack.conf: the plugin when asked, else empty
	local p=$D/etc/plugstack.conf
	: >"$p"
	[ -n "$plugin" ] || return 0
	[ -f "$plugin" ] || { echo "cluster.sh: no plugin at $plugin" >&2; return 1; }
	# Slurm loads it as root: keep a private root-owned copy so a rebuild
	# during a run does not change the running cluster's plugin; an
	# installed plugin (--plugin-in-place) is loaded from where it is.
	local so=$D/etc/spank_nam56r.so
	if [ "$plugin_in_place" = 1 ]; then
		so=$plugin
	else
		install -o root -g root -m 0755 "$plugin" "$so" || return 1
	fi
	local args="cache_dir=$D/cache"
	if [ -n "$policy" ]; then
		[ -f "$policy" ] || { echo "cluster.sh: no policy at $policy" >&2; return 1; }
		install -o root -g root -m 0644 "$policy" "$D/etc/policy.yaml" || return 1
		args="policy=$D/etc/policy.yaml $args"
	fi
	[ -n "$plugin_args" ] && args="$args $plugin_args"
	fill "$here/plugstack.conf.in" KIND "$plugin_kind" ARGS "$args" SO "$so" >"$p"
}

# ---- daemons ------------------------------------------------------------
start_slurmd() { # start_slurmd I
	local i=$1 n=n$1
	mkdir -p "$D/spool/$n"
	if [ "$mode" = netns ]; then
		# Not `ip netns exec`: it remounts /sys and slurmd 22.05 dies.
		nsenter --net="/run/netns/$(netns_name "$i")" unshare --uts \
			sh -c "hostname $n && exec slurmd -f '$conf' -N $n" \
			>"$D/log/slurmd-$n.start.log" 2>&1
	else
		slurmd -f "$conf" -N "$n" >"$D/log/slurmd-$n.start.log" 2>&1
	fi
}

dump_logs() {
	local f
	for f in "$D"/log/*.log "$D/munge/munged.log"; do
		[ -s "$f" ] || continue
		echo "---- $f (last 30 lines)" >&2
		tail -30 "$f" >&2
	done
}

wait_ctld() {
	local i
	for i in $(seq 1 100); do
		scontrol ping 2>/dev/null | grep -q 'is UP' && return 0
		sleep 0.2
	done
	echo "cluster.sh: slurmctld is not UP after 20 s" >&2
	return 1
}

wait_idle() {
	local i states
	for i in $(seq 1 150); do
		states=$(sinfo -h -N -o '%N %T' 2>/dev/null | sort -u)
		if [ -n "$states" ] && [ "$(echo "$states" | grep -vc ' idle$')" = 0 ] &&
			[ "$(echo "$states" | wc -l)" = "$nodes" ]; then
			return 0
		fi
		sleep 0.2
	done
	echo "cluster.sh: nodes not all idle after 30 s:" >&2
	echo "$states" >&2
	return 1
}

cmd_up() {
	[ -e "$D" ] && [ -n "$(ls -A "$D" 2>/dev/null)" ] &&
		die "state dir $D is not empty (cluster.sh down --purge --dir $D)"
	case $mode in auto|netns|loopback) ;; *) usage ;; esac
	[[ $nodes =~ ^[1-9][0-9]*$ ]] && [ "$nodes" -le 200 ] || die "--nodes must be 1..200"
	[[ $gpus =~ ^[1-9][0-9]*$ ]] && [ "$gpus" -le 64 ] || die "--gpus must be 1..64"
	[[ $cpus =~ ^[1-9][0-9]*$ ]] || die "--cpus must be a positive number"
	[ -z "$plugin" ] || [ -f "$plugin" ] || die "no plugin at $plugin (build it first)"
	[ -z "$policy" ] || [ -f "$policy" ] || die "no policy at $policy"
	for b in slurmctld slurmd munged scontrol sinfo ip nsenter unshare; do
		command -v "$b" >/dev/null || die "$b not found (run scripts/deps.sh)"
	done
	ensure_user
	install -d -m 0755 "$D" "$D/etc" "$D/run" "$D/log" "$D/state" \
		"$D/spool" "$D/cache" "$D/dev" || die "cannot create $D"
	install -d -m 0755 -o "$user" "$D/work" || die "cannot create $D/work"
	echo "$nodes" >"$D/nodes"
	ln -sfn "$D" "$last_link"
	conf=$D/etc/slurm.conf
	export SLURM_CONF=$conf

	if [ "$mode" != loopback ]; then
		if setup_netns; then
			mode=netns
		elif [ "$mode" = netns ]; then
			teardown_netns; die "network namespaces could not be set up"
		else
			say "network namespaces unavailable: falling back to loopback"
			teardown_netns; rm -f "$D/netidx"; netidx=
			mode=loopback
		fi
	fi
	echo "$mode" >"$D/mode"
	say "mode: $mode ($nodes nodes x $gpus GPUs, state in $D)"
	write_conf || { echo "cluster.sh: writing the configuration failed" >&2; return 1; }
	{
		echo "export SLURM_CONF=$conf"
		echo "export N56_CLUSTER_DIR=$D"
		echo "export N56_CLUSTER_WORK=$D/work"
		echo "export N56_CLUSTER_USER=$user"
		echo "export N56_CLUSTER_MODE=$mode"
	} >"$D/env"
	start_munge || { echo "cluster.sh: munged failed" >&2; return 1; }
	slurmctld -f "$conf" >"$D/log/slurmctld.start.log" 2>&1 ||
		{ echo "cluster.sh: slurmctld failed to start" >&2; dump_logs; return 1; }
	wait_ctld || { dump_logs; return 1; }
	local i
	for i in $(seq 1 "$nodes"); do
		start_slurmd "$i" ||
			{ echo "cluster.sh: slurmd n$i failed to start" >&2; dump_logs; return 1; }
	done
	wait_idle || { dump_logs; return 1; }
	say "up: $(sinfo -h -o '%D nodes %T' | tr '\n' ' ')"
	say "use it with: eval \$($here/cluster.sh env --dir $D)"
}

# Every process that still holds a file, a socket or its cwd in the state
# dir (slurmstepd, a job's tasks) was started by this cluster.
procs_in_dir() {
	local p me=$$ parents=" " q
	q=$me
	while [ -n "$q" ] && [ "$q" != 0 ] && [ "$q" != 1 ]; do
		parents="$parents$q "
		q=$(awk '/^PPid:/{print $2}' "/proc/$q/status" 2>/dev/null)
	done
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		case $parents in *" $p "*) continue ;; esac
		[ -n "$(find "/proc/$p/cwd" "/proc/$p/fd" -maxdepth 1 \
			\( -lname "$D" -o -lname "$D/*" \) -print -quit 2>/dev/null)" ] &&
			echo "$p"
	done
}

kill_wait() { # kill_wait PID...: TERM, up to 5 s, then KILL
	local p i left
	[ $# -gt 0 ] || return 0
	kill -TERM "$@" 2>/dev/null
	for i in $(seq 1 50); do
		left=
		for p in "$@"; do pid_alive "$p" && left="$left $p"; done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
	sleep 0.2
}

cmd_down() {
	[ -d "$D" ] || { say "nothing to stop ($D absent)"; return 0; }
	load_state
	local pids=() f p ns
	for f in "$D"/run/slurmd-*.pid "$D/run/slurmctld.pid"; do
		p=$(pid_of "$f"); pid_alive "$p" && pids+=("$p")
	done
	kill_wait "${pids[@]}"
	# Anything left in a node's namespace (slurmstepd, tasks).
	if [ -n "$netidx" ]; then
		pids=()
		for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^n56c$netidx-n"); do
			for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
		done
		kill_wait "${pids[@]}"
	fi
	# munged last: stepds talk to it while they wind down.
	p=$(pid_of "$D/munge/munged.pid"); pid_alive "$p" && kill_wait "$p"
	# shellcheck disable=SC2046
	kill_wait $(procs_in_dir)
	teardown_netns
	local left
	left=$(procs_in_dir)
	[ -n "$left" ] && echo "cluster.sh: processes still holding $D: $left" >&2
	if [ "$purge" = 1 ]; then
		rm -rf "$D"
		[ "$(readlink "$last_link" 2>/dev/null)" = "$D" ] && rm -f "$last_link"
		say "down, $D removed"
	else
		say "down (logs kept in $D/log)"
	fi
	[ -z "$left" ]
}

cmd_status() {
	load_state
	export SLURM_CONF=$conf
	local f p name
	echo "dir: $D"
	echo "mode: $mode${netidx:+ (bridge n56br$netidx, 10.77.$netidx.0/24)}"
	for f in "$D/munge/munged.pid" "$D/run/slurmctld.pid" "$D"/run/slurmd-*.pid; do
		[ -e "$f" ] || continue
		p=$(pid_of "$f"); name=$(basename "$f" .pid)
		if pid_alive "$p"; then echo "$name: running (pid $p)"; else echo "$name: stopped"; fi
	done
	scontrol ping 2>&1 | sed 's/^/ping: /'
	sinfo -N -o '%N %T %G' 2>&1
}

# ---- main ---------------------------------------------------------------
[ $# -ge 1 ] || usage
cmd=$1; shift
D=${N56_CLUSTER_DIR:-}
nodes=${N56_NODES:-2}
gpus=${N56_GPUS:-8}
cpus=${N56_CPUS:-8}
plugin=${N56_PLUGIN:-}
policy=${N56_POLICY:-}
plugin_args=${N56_PLUGIN_ARGS:-}
plugin_kind=required
plugin_in_place=0
mode=${N56_CLUSTER_MODE:-auto}
user=${N56_USER:-n56user}
purge=0 netidx='' node=''
while [ $# -gt 0 ]; do
	case $1 in
	--dir) D=$2; shift ;;
	--nodes) nodes=$2; shift ;;
	--gpus) gpus=$2; shift ;;
	--cpus) cpus=$2; shift ;;
	--plugin) plugin=$2; shift ;;
	--policy) policy=$2; shift ;;
	--plugin-arg) plugin_args="${plugin_args:+$plugin_args }$2"; shift ;;
	--optional) plugin_kind=optional ;;
	--plugin-in-place) plugin_in_place=1 ;;
	--mode) mode=$2; shift ;;
	--purge) purge=1 ;;
	--node) node=$2; shift ;;
	--) shift; break ;;
	-h|--help) usage ;;
	*) echo "cluster.sh: unknown argument $1" >&2; usage ;;
	esac
	shift
done
[ "$(id -u)" = 0 ] || die "must run as root (it starts slurmd and munged)"
if [ -z "$D" ]; then
	if [ "$cmd" = up ]; then D=/tmp/n56-cluster-$$
	else D=$(readlink "$last_link" 2>/dev/null) || die "no cluster: give --dir or N56_CLUSTER_DIR"
	fi
fi
case $D in /*) ;; *) D=$(pwd)/$D ;; esac
D=${D%/}

case $cmd in
up)
	[ -n "$plugin" ] && plugin=$(readlink -f "$plugin")
	[ -n "$policy" ] && policy=$(readlink -f "$policy")
	if ! cmd_up; then
		echo "cluster.sh: up failed; tearing down what was started" >&2
		purge=0 cmd_down >/dev/null
		exit 1
	fi ;;
down) cmd_down ;;
status) cmd_status ;;
env) load_state; cat "$D/env" ;;
restart-slurmd) # a fault for the soak: slurmd goes, its steps stay
	load_state
	[ -n "$node" ] || usage
	conf=$D/etc/slurm.conf
	pid=$(pid_of "$D/run/slurmd-n$node.pid")
	[ -n "$pid" ] && kill_wait "$pid"
	start_slurmd "$node" || die "slurmd of n$node did not start again" ;;
user)
	load_state
	[ $# -gt 0 ] || usage
	# shellcheck disable=SC1091
	. "$D/env"
	# A clean login-like environment: nothing of root's leaks into jobs.
	home=$(getent passwd "$user" | cut -d: -f6)
	cd "$D/work" && exec runuser -u "$user" -- env -i HOME="$home" \
		USER="$user" LOGNAME="$user" SHELL=/bin/bash LANG=C.UTF-8 \
		PATH=/usr/local/bin:/usr/bin:/bin SLURM_CONF="$SLURM_CONF" "$@" ;;
*) usage ;;
esac
