#!/usr/bin/env bash
# Connection scale on one machine: for each step (number of connections) and
# each server, starts the server anew and runs `loadgen scale`, which opens
# the connections from worker processes, each from a loopback address of its
# own, makes one verified round trip on each, and measures the time to
# accept them all, the server's resident memory per connection, its CPU over
# an idle window (the default 30 s keepalive pings of ws.Callback fall in
# it) and, for the hub-room server, broadcasts to a room that holds every
# connection. Writes scale.jsonl and SCALE.md beside this script.
#
#   bench/scale.sh                                 1k, 5k, 10k, 19k; hubroom, gorilla, gws; about 12 minutes
#   STEPS="1000 5000" IDLE_WINDOW=10s OUT=/tmp/s.jsonl REPORT=/tmp/S.md bench/scale.sh
#                                                  a short check that leaves the published results alone
#
# Every process here may hold at most `ulimit -n` open files (20,000 on the
# machine these figures come from, and not raisable): the largest step must
# leave the server a few hundred, and the clients are split into processes of
# PER_WORKER connections. The servers are not pinned: they use both CPUs.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=servers.sh
source ./servers.sh

read -r -a STEPS <<<"${STEPS:-1000 5000 10000 19000}"
read -r -a SERVERS <<<"${SERVERS:-hubroom gorilla gws}"
IDLE_WINDOW=${IDLE_WINDOW:-30s}
BROADCASTS=${BROADCASTS:-5}
PER_WORKER=${PER_WORKER:-4800}
OUT=${OUT:-scale.jsonl}
REPORT=${REPORT:-SCALE.md}
APPEND=${APPEND:-0}

reserve_ports
trap 'stop_server; release_ports' EXIT

# Raise the soft limit to the hard one; the hard one stays where it is.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
files=$(ulimit -n)
for n in "${STEPS[@]}"; do
	if ((n + 200 > files)); then
		echo "scale.sh: a step of $n connections needs more than the $files open files a process may hold here (ulimit -n)" >&2
		exit 1
	fi
done
if ((PER_WORKER + 200 > files)); then
	echo "scale.sh: PER_WORKER=$PER_WORKER connections need more than the $files open files a worker may hold" >&2
	exit 1
fi

echo "== building the servers and the load generator"
build_go "${SERVERS[@]}"
for s in "${SERVERS[@]}"; do
	if ! available "$s"; then
		echo "scale.sh: $s is not built" >&2
		exit 1
	fi
done

mkdir -p logs
env_file=logs/env-$(basename "$OUT" .jsonl).txt
if [[ $APPEND == 1 ]]; then
	[[ -f $OUT && -f $env_file ]] || {
		echo "APPEND=1 needs the $OUT and $env_file of an earlier run" >&2
		exit 1
	}
else
	rm -f "$OUT"
	{
		echo "Run: bench/scale.sh, steps ${STEPS[*]}, servers ${SERVERS[*]}, idle window $IDLE_WINDOW, $BROADCASTS broadcasts, $PER_WORKER connections per worker process"
		echo "Limits: open files $files per process (ulimit -n, hard $(ulimit -Hn)), ephemeral ports $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range), somaxconn $(cat /proc/sys/net/core/somaxconn), memory $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
		echo "This checkout: $(git log -1 --format='%h %s' HEAD 2>/dev/null || echo unknown)"
		echo "Started: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	} >"$env_file"
fi

failures=0
# Each step takes loopback addresses of its own, so that the connections a
# step before closed (in TIME_WAIT) hold none of its ports.
source_no=2
for n in "${STEPS[@]}"; do
	for server in "${SERVERS[@]}"; do
		echo "== $server, $n connections"
		"$BIN/loadgen" quiet -below 10 -for 2s -timeout 30s
		broadcasts=0
		[[ $server == hubroom ]] && broadcasts=$BROADCASTS
		start_server "$server"
		"$BIN/loadgen" scale -url "ws://127.0.0.1:$(server_port "$server")/ws" -pid "$SERVER_PID" -server "$server" \
			-server-cmd "$SERVER_CMD" -conns "$n" -per-worker "$PER_WORKER" -idle "$IDLE_WINDOW" \
			-broadcasts "$broadcasts" -first-source "$source_no" -out "$OUT" || failures=$((failures + 1))
		stop_server
		source_no=$((source_no + (n + PER_WORKER - 1) / PER_WORKER))
	done
done
echo "Ended: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" >>"$env_file"
"$BIN/loadgen" scale-report -in "$OUT" -env "$env_file" -md "$REPORT"
echo "== wrote $OUT and $REPORT; $failures failed steps"
((failures == 0))
